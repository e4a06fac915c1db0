// Monitoring: accuracy over time from the prediction log joined with the outcomes, per model,
// tag, experiment and arm: a metric per window as lines, each window's counts and each group's
// totals; each model's latest drift report (a link to its HTML) and the rule breaches recorded by
// `fresco monitor check`.

import { get } from "./api.js";
import { lineChart } from "./chart.js";
import { fmt, go, h, modelLink, short, table, when } from "./dom.js";

const WINDOWS = ["15min", "1h", "6h", "1D"];
const COUNTS = ["window_start", "model_uuid", "model", "tag", "experiment", "arm", "task", "predictions", "outcomes", "join_rate"];

const groupName = (r) => [short(r.model_uuid), r.model, r.tag, r.experiment && `${r.experiment}/${r.arm}`].filter(Boolean).join(" ");

export async function monitoringPage(params) {
  const filters = { model: params.get("model") || "", window: params.get("window") || "1h", metric: params.get("metric") || "" };
  const [{ models }, answer, drift, breaches] = await Promise.all([get("/api/models"),
    get("/api/monitoring", { model: filters.model, window: filters.window }),
    get("/api/monitoring/drift", { model: filters.model }), get("/api/monitoring/checks", { status: "breach" })]);
  const recorded = [driftSection(drift.reports), breachSection(breaches)];
  const metrics = [...new Set(answer.rows.flatMap((r) => Object.keys(r).filter((k) => !COUNTS.includes(k) && typeof r[k] !== "string")))];
  const metric = metrics.includes(filters.metric) ? filters.metric : metrics[0];
  const form = h("form", { class: "filters", id: "monitoring-form" },
    h("label", {}, "Model", h("select", { name: "model" }, h("option", { value: "" }, "all served models"),
      models.map((m) => h("option", { value: m.uuid, selected: m.uuid === filters.model }, `${short(m.uuid)} ${m.name} ${m.tags.join(" ")}`)))),
    h("label", {}, "Window", h("select", { name: "window" }, WINDOWS.map((w) => h("option", { value: w, selected: w === filters.window }, w)))),
    h("label", {}, "Metric", h("select", { name: "metric" }, metrics.map((m) => h("option", { value: m, selected: m === metric }, m)))),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("monitoring", Object.fromEntries(new FormData(form)));
  });
  const heading = h("h1", {}, "Monitoring");
  if (!answer.rows.length) {
    return h("section", {}, heading, form, h("p", { class: "muted", id: "monitoring-empty" }, answer.message || "No predictions."),
      recorded);
  }
  const groups = new Map();
  for (const row of answer.rows) {
    const name = groupName(row);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push([Date.parse(row.window_start), row[metric]]);
  }
  const series = [...groups].map(([name, points]) => ({ name, points }));
  const c = answer.counts;
  return h("section", {}, heading, form,
    h("h2", {}, `${metric} per ${filters.window} window (predictions with an outcome)`),
    h("div", { id: "accuracy-chart" }, lineChart(series, `${metric} over time`)),
    h("p", { class: "muted", id: "monitoring-counts" },
      `${c.predictions} predictions, ${c.outcomes} outcomes: ${c.matched} matched, ${c.late} late, ${c.duplicates} duplicates, ${c.unmatched} unmatched.`),
    table([["Window", (r) => when(r.window_start)], ["Model", (r) => [modelLink(r.model_uuid), ` ${r.model || ""}`]],
      ["Tag", (r) => r.tag || "—"], ["Experiment / arm", (r) => (r.experiment ? `${r.experiment} / ${r.arm}` : "—")],
      ["Predictions", (r) => r.predictions], ["Outcomes", (r) => r.outcomes], ["Join rate", (r) => fmt(r.join_rate)],
      ...metrics.map((m) => [m, (r) => fmt(r[m])])], answer.rows, { id: "accuracy" }),
    h("h2", {}, "Predictions and outcomes per model, tag and arm"),
    table([["Model", (r) => [modelLink(r.model_uuid), ` ${r.model || ""}`]], ["Tag", (r) => r.tag || "—"],
      ["Experiment / arm", (r) => (r.experiment ? `${r.experiment} / ${r.arm}` : "—")],
      ["Predictions", (r) => r.predictions], ["Outcomes", (r) => r.outcomes], ["Join rate", (r) => fmt(r.join_rate)]],
    answer.totals, { id: "monitoring-totals" }),
    recorded);
}

const percent = (share) => `${Math.round(share * 1000) / 10}%`;

function driftSection(reports) {
  const heading = h("h2", {}, "Drift: each model's latest report");
  if (!reports.length) {
    return [heading, h("p", { class: "muted", id: "drift-empty" }, "No report yet: fresco monitor report MODEL writes one.")];
  }
  const links = (r) => [h("a", { href: r.html, target: "_blank", rel: "noopener" }, "report"),
    r.quality_html ? [" · ", h("a", { href: r.quality_html, target: "_blank", rel: "noopener" }, "quality")] : ""];
  return [heading, table([["Model", (r) => [modelLink(r.model_uuid), ` ${r.model || ""}`]], ["Written", (r) => when(r.written_at)],
    ["Predictions", (r) => r.predictions], ["Inputs drifted", (r) => `${r.drifted} of ${r.inputs} (${percent(r.share)})`],
    ["Drifted inputs", (r) => r.drifted_inputs.join(", ") || "none"],
    ["Prediction drifted", (r) => (r.prediction_drifted ? h("span", { class: "bad" }, "yes") : "no")], ["HTML", links]],
  reports, { id: "drift" })];
}

function breachSection({ checks, total }) {
  const heading = h("h2", {}, "Rule breaches recorded by fresco monitor check");
  if (!checks.length) return [heading, h("p", { class: "muted", id: "breaches-empty" }, "No breach recorded.")];
  return [heading,
    total > checks.length ? h("p", { class: "muted" }, `The latest ${checks.length} of ${total}.`) : "",
    table([["Checked", (c) => when(c.checked_at)], ["Rule", (c) => c.rule], ["Subject", (c) => c.subject],
      ["Value", (c) => `${c.metric} ${fmt(c.value)} (${c.direction} ${fmt(c.threshold)} breaches)`],
      ["Evidence", (c) => c.evidence]], checks, { id: "breaches" })];
}
