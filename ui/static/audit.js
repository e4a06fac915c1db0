// The audit log: every change made through the API (who, when, what, from what to what), newest first.

import { get } from "./api.js";
import { fmt, h, table, when } from "./dom.js";

const SHOWN = ["at", "by", "action"];

export async function auditPage() {
  const { entries } = await get("/api/audit");
  const details = (e) => Object.entries(e).filter(([k]) => !SHOWN.includes(k))
    .map(([k, v]) => h("div", {}, h("span", { class: "muted" }, `${k}: `), fmt(v)));
  return h("section", {}, h("h1", {}, "Audit log"),
    entries.length ? table([["When", (e) => when(e.at)], ["Who", (e) => e.by], ["What", (e) => e.action], ["Details", details]],
      [...entries].reverse(), { id: "audit" }) : h("p", { class: "muted", id: "audit" }, "No change has been made through the API."));
}
