// Monitoring: accuracy over time from the prediction log joined with the outcomes, per model,
// tag, experiment and arm: a metric per window as lines, and each window's counts.

import { get } from "./api.js";
import { lineChart } from "./chart.js";
import { fmt, go, h, modelLink, short, table, when } from "./dom.js";

const WINDOWS = ["15min", "1h", "6h", "1D"];
const COUNTS = ["window_start", "model_uuid", "model", "tag", "experiment", "arm", "task", "predictions", "outcomes", "join_rate"];

const groupName = (r) => [short(r.model_uuid), r.model, r.tag, r.experiment && `${r.experiment}/${r.arm}`].filter(Boolean).join(" ");

export async function monitoringPage(params) {
  const filters = { model: params.get("model") || "", window: params.get("window") || "1h", metric: params.get("metric") || "" };
  const [{ models }, answer] = await Promise.all([get("/api/models"),
    get("/api/monitoring", { model: filters.model, window: filters.window })]);
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
    return h("section", {}, heading, form, h("p", { class: "muted", id: "monitoring-empty" }, answer.message || "No predictions."));
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
      ...metrics.map((m) => [m, (r) => fmt(r[m])])], answer.rows, { id: "accuracy" }));
}
