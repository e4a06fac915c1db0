// Tags and where the prediction service routes them; moving a tag asks for the API token (kept
// in this tab's sessionStorage, sent as Authorization: Bearer, never a cookie) and for a
// confirmation that states the change before anything is sent.

import { enc, get, put } from "./api.js";
import { fmt, h, modelLink, short, table, when } from "./dom.js";
import { changeFailed, tokenInput, tokenOf } from "./token.js";

function route(tag) {
  const r = tag.route;
  if (!r.experiment) return r.uuid === tag.uuid ? "its model" : modelLink(r.uuid);
  return [`experiment ${r.experiment.name}: `,
    r.experiment.arms.map((a, i) => [i ? ", " : "", modelLink(a.uuid), ` ${fmt(a.weight * 100)}%`])];
}

export async function tagsPage() {
  const [{ tags }, { models }] = await Promise.all([get("/api/tags"), get("/api/models")]);
  const names = Object.fromEntries(models.map((m) => [m.uuid, m.name]));
  const label = (uuid) => (uuid ? `${short(uuid)} ${names[uuid] || ""}`.trim() : "no model");
  const status = h("div", { id: "move-status", "aria-live": "polite" });
  const token = tokenInput();
  const form = h("form", { class: "filters", id: "move-form" },
    h("label", {}, "Tag", h("input", { name: "tag", list: "tag-names", required: true })),
    h("datalist", { id: "tag-names" }, tags.map((t) => h("option", { value: t.tag }))),
    h("label", {}, "To model", h("select", { name: "model", required: true },
      models.map((m) => h("option", { value: m.uuid }, `${label(m.uuid)} ${m.tags.join(" ")}`)))),
    h("label", {}, "API token", token),
    h("button", { type: "submit" }, "Move…"));
  const tagTable = (list) => table([["Tag", (t) => t.tag], ["Model", (t) => [modelLink(t.uuid), ` ${t.model || ""}`]],
    ["Requests go to", route], ["Moved", (t) => (t.moved_at ? `${when(t.moved_at)} by ${t.moved_by}` : "—")],
    ["", (t) => h("button", { type: "button", onclick: () => pickTag(t.tag) }, "Move…")]],
  list, { id: "tags" });
  function pickTag(tag) {
    form.elements.tag.value = tag;
    form.elements.model.focus();
  }
  const rows = h("div", {}, tagTable(tags));

  // The confirmation states the change as it is now (the tag may have moved since the page opened).
  async function confirmMove(tag, model) {
    const { tags: now } = await get("/api/tags");
    const from = (now.find((t) => t.tag === tag) || {}).uuid;
    rows.replaceChildren(tagTable(now));
    const box = h("div", { class: "confirm", id: "move-confirm", role: "dialog" },
      h("p", {}, `Tag ${tag}: from model ${label(from)} to model ${label(model)}.`),
      from === model ? h("p", { class: "muted" }, "It points there already.") : "",
      h("p", {}, "Prediction services follow within a second; the move is recorded in the audit log."));
    const send = h("button", { type: "button", id: "move-confirm-yes" }, "Move the tag");
    const cancel = h("button", { type: "button" }, "Cancel");
    cancel.addEventListener("click", () => status.replaceChildren());
    send.addEventListener("click", async () => {
      send.disabled = true;
      try {
        const moved = await put(`/api/tags/${enc(tag)}`, { model }, tokenOf(token));
        status.replaceChildren(h("p", { class: "ok", id: "move-done" },
          `Tag ${moved.tag} moved from ${label(moved.from)} to ${label(moved.to)} by ${moved.moved_by}.`));
        rows.replaceChildren(tagTable((await get("/api/tags")).tags));
      } catch (error) {
        status.replaceChildren(changeFailed(error, "move-error"));
      }
    });
    box.append(h("p", {}, send, " ", cancel));
    status.replaceChildren(box);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    confirmMove(String(data.get("tag")).trim(), String(data.get("model")))
      .catch((error) => status.replaceChildren(h("p", { class: "error", role: "alert" }, error.message)));
  });

  return h("section", {}, h("h1", {}, "Tags"), rows, h("h2", {}, "Move a tag"), form, status);
}
