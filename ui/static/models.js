// The models: the repository's list (filters, sort by a held-out metric, pick some to compare),
// a model's page (with its evaluation curves and partial dependence), and two or more compared.

import { enc, get } from "./api.js";
import { barChart } from "./chart.js";
import { curveCharts } from "./curves.js";
import { dependenceSection } from "./dependence.js";
import { facts, fmt, go, h, modelLink, problem, short, table, when } from "./dom.js";

export async function modelsPage(params) {
  const filters = Object.fromEntries(["name", "tag", "author", "sort"].map((k) => [k, params.get(k) || ""]));
  const { models } = await get("/api/models", filters);
  const metrics = [...new Set(models.flatMap((m) => Object.keys(m.held_out.metrics)))];
  const sortable = [...new Set([...metrics, filters.sort].filter(Boolean))];
  const input = (name, label) => h("label", {}, label, h("input", { type: "search", name, value: filters[name] }));
  const form = h("form", { class: "filters" },
    input("name", "Name"), input("tag", "Tag"), input("author", "Author"),
    h("label", {}, "Sort by", h("select", { name: "sort" },
      h("option", { value: "" }, "newest first"),
      sortable.map((m) => h("option", { value: m, selected: m === filters.sort }, `${m}, best first`)))),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("models", Object.fromEntries(new FormData(form)));
  });
  const pick = (m) => h("input", { type: "checkbox", name: "compare", value: m.uuid, "aria-label": `compare ${short(m.uuid)}` });
  const compare = h("button", { type: "button", id: "compare-selected" }, "Compare selected");
  const list = table([
    ["", pick], ["Model", (m) => modelLink(m.uuid)], ["Name", (m) => m.name], ["Type", (m) => m.model_type],
    ["Author", (m) => m.author], ["Finished", (m) => when(m.finished_at)], ["Tags", (m) => m.tags.join(", ")],
    ...metrics.map((metric) => [`${metric} (held out)`, (m) => fmt(m.held_out.metrics[metric])]),
  ], models, { id: "models" });
  compare.addEventListener("click", () => {
    const refs = [...list.querySelectorAll("input[name=compare]:checked")].map((box) => box.value);
    go("compare", { ref: refs });
  });
  return h("section", {}, h("h1", {}, "Models"), form,
    h("p", { class: "muted" }, `${models.length} model${models.length === 1 ? "" : "s"}`), list, h("p", {}, compare));
}

function metricsAgainstBaseline(model) {
  const split = model.held_out.split;
  const mine = model.metrics[split] || {};
  const base = (model.baseline[split] || {});
  return table([["Metric", ([k]) => k], [`Model (${split})`, ([, v]) => fmt(v)], ["Baseline", ([k]) => fmt(base[k])]],
    Object.entries(mine), { class: "metrics" });
}

function flatten(value, prefix = "", out = []) {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.push([prefix, value]);
  }
  return out;
}

function importanceChart(importance) {
  const rows = Object.entries(importance).sort((a, b) => b[1] - a[1]).map(([name, v]) => [name, [v]]);
  return rows.length ? barChart(rows) : h("p", { class: "muted" }, "none recorded");
}

function partitionsTable(partitions) {
  return [h("p", {}, `Partitioned by ${partitions.columns.join(", ")}.`),
    table(Object.keys(partitions.partitions[0] || {}).map((key) => [key, (p) => fmt(p[key])]),
      partitions.partitions, { id: "partitions" })];
}

function evaluationSection(m, evaluation) {
  if (evaluation instanceof Error) return problem(evaluation);
  return h("div", { id: "evaluation" },
    h("p", { class: "muted" }, `Drawn from the model's reference sample: ${evaluation.sample_rows} rows of the ` +
      `${evaluation.split} split's ${evaluation.test_rows} (seed ${evaluation.seed}).`),
    curveCharts([{ name: `${short(m.uuid)} ${m.name}`, evaluation }], { rows: true }));
}

export async function modelPage(params, ref) {
  const [m, evaluation] = await Promise.all([get(`/api/models/${enc(ref)}`),
    get(`/api/models/${enc(ref)}/evaluation`).catch((error) => error)]);
  const splits = Object.keys(m.metrics);
  const names = [...new Set(splits.flatMap((s) => Object.keys(m.metrics[s])))];
  return h("section", {},
    h("p", {}, h("a", { href: "#/models" }, "← models")),
    h("h1", {}, `${m.name} `, h("span", { class: "muted" }, short(m.uuid)), m.tags.map((t) => h("span", { class: "badge" }, t))),
    h("p", {},
      m.model_type === "xgboost" ? h("a", { href: `#/model/${enc(m.uuid)}/tree/0`, id: "tree-link" }, "Tree viewer") : "",
      " ", h("a", { href: `#/compare?ref=${enc(m.uuid)}` }, "Compare with…")),
    facts([["UUID", m.uuid], ["Type", `${m.model_type} (${m.task})`], ["Label", m.label], ["Author", m.author],
      ["Trained", `${when(m.started_at)} → ${when(m.finished_at)}`], ["Tags", m.tags.join(", ") || "none"],
      ["Search trials", m.trials]]),
    h("h2", {}, "Held-out metrics against the baseline"), metricsAgainstBaseline(m),
    h("h2", {}, "Every split"),
    table([["Metric", (k) => k], ...splits.map((s) => [s, (k) => fmt(m.metrics[s][k])])], names),
    h("h2", {}, "Feature importance"), importanceChart(m.feature_importance),
    h("h2", {}, "Evaluation curves"), evaluationSection(m, evaluation),
    h("h2", {}, "Partial dependence"), dependenceSection(m),
    m.partitions ? [h("h2", {}, "Partitions"), partitionsTable(m.partitions)] : "",
    h("h2", {}, "Dataset"), facts(flatten(m.dataset).map(([k, v]) => [k, fmt(v)])),
    h("h2", {}, "Config"), facts(flatten(m.config).map(([k, v]) => [k, fmt(v)])));
}

async function pickModels(refs) {
  const { models } = await get("/api/models");
  const form = h("form", { class: "filters" },
    h("label", {}, "Models", h("select", { name: "ref", multiple: true, size: Math.min(8, models.length) },
      models.map((m) => h("option", { value: m.uuid, selected: refs.includes(m.uuid) },
        `${short(m.uuid)} ${m.name} ${m.tags.join(" ")}`)))),
    h("button", { type: "submit" }, "Compare"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("compare", { ref: new FormData(form).getAll("ref") });
  });
  return form;
}

function overlaidCurves(curves) {
  if (curves instanceof Error) return problem(curves);
  return h("div", { id: "compare-curves" },
    h("p", { class: "muted" }, "Each model's curves are drawn from its own reference sample of its test split."),
    curveCharts(curves.models.map((m) => ({ name: `${short(m.uuid)} ${m.name}`, evaluation: curves.evaluations[m.uuid] }))));
}

export async function comparePage(params) {
  const refs = params.getAll("ref");
  const picker = await pickModels(refs);
  if (refs.length < 2) {
    return h("section", {}, h("h1", {}, "Compare models"), picker, h("p", { class: "muted" }, "Pick two or more models."));
  }
  const [c, curves] = await Promise.all([get("/api/compare", { ref: refs }),
    get("/api/compare/curves", { ref: refs }).catch((error) => error)]);
  const uuids = c.models.map((m) => m.uuid);
  const columns = (title) => [[title, ([k]) => k],
    ...c.models.map((m) => [h("span", {}, modelLink(m.uuid), ` ${m.name}`), ([, cells]) => fmt(cells[m.uuid])])];
  const heldOut = Object.entries(c.metrics).filter(([k]) => k.startsWith(`${c.models[0].held_out.split}.`));
  const others = Object.entries(c.metrics).filter(([k]) => !heldOut.some(([h]) => h === k));
  const importance = Object.entries(c.importance)
    .sort((a, b) => Math.max(...Object.values(b[1])) - Math.max(...Object.values(a[1])))
    .map(([name, cells]) => [name, uuids.map((u) => cells[u])]);
  return h("section", {}, h("h1", {}, "Compare models"), picker,
    h("h2", {}, "Held-out metrics"), table(columns("Metric"), heldOut, { id: "compare-metrics" }),
    h("h2", {}, "Config that differs"),
    Object.keys(c.config_diff).length ? table(columns("Setting"), Object.entries(c.config_diff), { id: "config-diff" })
      : h("p", { class: "muted" }, "the same config"),
    h("h2", {}, "Feature importance"),
    importance.length ? barChart(importance, c.models.map((m) => `${short(m.uuid)} ${m.name}`)) : h("p", {}, "none"),
    h("h2", {}, "Curves"), overlaidCurves(curves),
    h("h2", {}, "Other splits"), table(columns("Metric"), others));
}
