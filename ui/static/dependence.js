// Partial dependence on a model's page: the mean prediction over its reference sample with one
// input (a line) or two (a heatmap) set to each grid value (/api/models/REF/partial-dependence).

import { get, enc } from "./api.js";
import { heatmap, xyChart } from "./chart.js";
import { h, problem } from "./dom.js";

async function drawn(uuid, features) {
  const answer = await get(`/api/models/${enc(uuid)}/partial-dependence`, { feature: features });
  const about = h("p", { class: "muted" }, `Mean prediction over ${answer.rows} of the reference sample's ${answer.sample_rows} rows.`);
  if (features.length === 1) {
    const points = answer.grids[0].map((x, i) => [x, answer.mean_prediction[i]]);
    return [about, xyChart([{ name: "mean prediction", points }], `Partial dependence on ${features[0]}`,
      { xLabel: features[0], yLabel: "mean prediction" })];
  }
  return [about, heatmap(answer.grids[0], answer.grids[1], answer.mean_prediction,
    `Partial dependence on ${features[0]} and ${features[1]}`, { xLabel: features[0], yLabel: features[1] })];
}

// The form (first input, optional second) and the chart; first shown for the two most important inputs.
export function dependenceSection(model) {
  const ranked = [...model.inputs].sort((a, b) => (model.feature_importance[b] || 0) - (model.feature_importance[a] || 0));
  const chart = h("div", { id: "dependence-chart" });
  const select = (name, chosen, none) => h("select", { name },
    none ? h("option", { value: "" }, "none (one input)") : "",
    model.inputs.map((input) => h("option", { value: input, selected: input === chosen }, input)));
  const form = h("form", { class: "filters", id: "dependence-form" },
    h("label", {}, "Input", select("first", ranked[0], false)),
    h("label", {}, "Second input", select("second", "", true)),
    h("button", { type: "submit" }, "Show"));
  const show = async (features) => {
    chart.replaceChildren(h("p", { class: "muted" }, "Computing…"));
    try {
      chart.replaceChildren(...await drawn(model.uuid, features));
    } catch (error) {
      chart.replaceChildren(problem(error));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    show([data.get("first"), data.get("second")].filter(Boolean));
  });
  if (ranked.length) show([ranked[0]]);
  return h("div", {}, form, chart);
}
