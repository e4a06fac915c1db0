// The catalog: search the features (name or description, owner, view tag) and a feature's page.

import { enc, get } from "./api.js";
import { facts, go, h, modelLink, seconds, table, when } from "./dom.js";

function freshness(feature) {
  if (feature.within_sla === null) return h("span", { class: "muted" }, "no SLA");
  return feature.within_sla
    ? h("span", { class: "ok" }, "within SLA")
    : h("span", { class: "bad" }, feature.last_written ? "late" : "never written");
}

export async function catalogPage(params) {
  const filters = { q: params.get("q") || "", owner: params.get("owner") || "", tag: params.get("tag") || "" };
  const { features } = await get("/api/catalog/features", filters);
  const input = (name, label, hint) => h("label", {}, label,
    h("input", { type: "search", name, value: filters[name], placeholder: hint }));
  const form = h("form", { class: "filters", role: "search" },
    input("q", "Search", "name or description"), input("owner", "Owner", "team@company"),
    input("tag", "Tag", "key or key=value"), h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("catalog", Object.fromEntries(new FormData(form)));
  });
  const link = (f) => h("a", { href: `#/feature/${enc(f.view)}/${enc(f.name)}` }, f.ref);
  return h("section", {},
    h("h1", {}, "Feature catalog"), form,
    h("p", { class: "muted" }, `${features.length} feature${features.length === 1 ? "" : "s"}`),
    table([
      ["Feature", link], ["Type", (f) => f.type], ["Owner", (f) => f.owner],
      ["Description", (f) => f.description], ["SLA", (f) => f.freshness_sla || "—"],
      ["Freshness", freshness], ["Used by", (f) => `${f.feature_services.length} services, ${f.models.length} models`],
      ["", (f) => (f.deprecated ? h("span", { class: "bad" }, "deprecated") : "")],
    ], features, { id: "features" }));
}

export async function featurePage(params, view, name) {
  const f = await get(`/api/catalog/features/${enc(view)}/${enc(name)}`);
  const list = (items, render) => (items.length ? h("ul", {}, items.map((i) => h("li", {}, render(i)))) : "none");
  return h("section", {},
    h("p", {}, h("a", { href: "#/catalog" }, "← catalog")),
    h("h1", {}, f.ref, f.deprecated ? h("span", { class: "badge bad" }, "deprecated") : ""),
    h("p", {}, f.description),
    facts([
      ["View", f.view], ["Type", f.type], ["Owner", f.owner], ["TTL", seconds(f.ttl_seconds)],
      ["Freshness SLA", f.freshness_sla || "none"], ["Last written", `${when(f.last_written)}${f.written_by ? ` (${f.written_by})` : ""}`],
      ["Freshness", freshness(f)], ["Source", f.source],
      ["View tags", Object.entries(f.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "none"],
      ["Feature services", list(f.feature_services, (s) => s)],
      ["Models", list(f.models, (m) => [modelLink(m.uuid), ` ${m.name}`])],
    ]));
}
