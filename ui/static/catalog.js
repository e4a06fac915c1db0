// The catalog: search the features (name or description, owner, view tag) and a feature's page
// (its facts, its distribution in a sample of the offline store, its view's history in the catalog).

import { enc, get } from "./api.js";
import { barChart } from "./chart.js";
import { facts, fmt, go, h, modelLink, problem, seconds, table, when } from "./dom.js";

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

function distributionSection(d) {
  const heading = h("h2", {}, "Distribution in the offline store");
  if (d instanceof Error) return [heading, problem(d)];
  if (!d.sampled) return [heading, h("p", { class: "muted", id: "distribution-empty" }, d.message || "No rows.")];
  const rows = d.kind === "number"
    ? d.bins.map((b) => [`${fmt(b.low)} – ${fmt(b.high)}`, [b.count]])
    : [...d.values.map((v) => [v.value, [v.count]]), ...(d.other ? [["(other values)", [d.other]]] : [])];
  const range = d.kind === "number" ? `; min ${fmt(d.min)}, mean ${fmt(d.mean)}, max ${fmt(d.max)}` : "";
  return [heading,
    h("p", { class: "muted", id: "distribution-about" },
      `${d.sampled} rows sampled of ${d.source_rows} in ${d.source}; ${d.nulls} without a value${range}.`),
    h("div", { id: "distribution-chart" }, barChart(rows))];
}

function historySection(history, view, name) {
  const heading = h("h2", {}, `History of view ${view} in the catalog`);
  if (history instanceof Error) return [heading, problem(history)];
  const added = (c) => c.added.map((f, i) => [i ? ", " : "", f === name ? h("strong", {}, f) : f]);
  return [heading,
    h("p", { class: "muted" }, `Created ${when(history.created_at)}; its record last changed ${when(history.last_updated_at)}.`,
      history.removed.length ? ` Registered once and removed since: ${history.removed.join(", ")}.` : ""),
    table([["When", (c) => (c.at ? when(c.at) : "before the history kept times")], ["Source", (c) => c.source],
      ["Features first registered", added]], history.changes, { id: "history" })];
}

export async function featurePage(params, view, name) {
  const path = `/api/catalog/features/${enc(view)}/${enc(name)}`;
  const [f, distribution, history] = await Promise.all([get(path),
    get(`${path}/distribution`).catch((e) => e), get(`/api/catalog/views/${enc(view)}/history`).catch((e) => e)]);
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
    ]),
    distributionSection(distribution), historySection(history, view, name));
}
