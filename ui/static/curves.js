// The evaluation report's curves, drawn from each model's reference sample (/api/models/REF/evaluation):
// one series per model, so the model page (one model, its rows too) and the compare page (overlaid)
// draw the same charts.

import { xyChart } from "./chart.js";
import { h } from "./dom.js";

const zip = (xs, ys) => xs.map((x, i) => [x, ys[i]]);

function residualShares(histogram) {
  const total = histogram.counts.reduce((a, b) => a + b, 0) || 1;
  return histogram.counts.map((count, i) => [(histogram.edges[i] + histogram.edges[i + 1]) / 2, count / total]);
}

const chart = (id, title, series, options) => h("div", { id: `curve-${id}` }, h("h3", {}, title), xyChart(series, title, options));

// models: [{name, evaluation}]; rows: also draw each sample's rows (one model's page).
export function curveCharts(models, { rows = false } = {}) {
  if (models[0].evaluation.task === "regression") {
    const versus = models.flatMap(({ name, evaluation: { curves } }) => [
      ...(rows ? [{ name: `${name}: rows`, points: zip(curves.predicted_vs_actual.actual, curves.predicted_vs_actual.predicted), line: false }] : []),
      { name: rows ? `${name}: mean per decile of the prediction` : name,
        points: zip(curves.predicted_vs_actual.deciles.mean_actual, curves.predicted_vs_actual.deciles.mean_predicted) }]);
    return [
      chart("predicted-vs-actual", "Predicted vs actual", versus, { diagonal: true, xLabel: "actual", yLabel: "predicted" }),
      rows ? chart("residuals", "Residuals against the prediction",
        models.map(({ name, evaluation: { curves } }) => ({ name, points: zip(curves.residuals.predicted, curves.residuals.residual), line: false })),
        { xLabel: "predicted", yLabel: "actual − predicted" }) : "",
      chart("residual-distribution", "Residual distribution",
        models.map(({ name, evaluation: { curves } }) => ({ name, points: residualShares(curves.residual_histogram) })),
        { fromZero: true, xLabel: "actual − predicted", yLabel: "share of rows" }),
    ];
  }
  const each = (pick) => models.map(({ name, evaluation: { curves } }) => ({ name, points: pick(curves) }));
  return [
    chart("roc", "ROC", each((c) => zip(c.curves.fpr, c.curves.tpr)), { diagonal: true, xLabel: "false positive rate", yLabel: "true positive rate" }),
    chart("precision-recall", "Precision-recall", each((c) => zip(c.curves.recall, c.curves.precision)), { xLabel: "recall", yLabel: "precision" }),
    chart("calibration", "Calibration", each((c) => zip(c.calibration.mean_predicted, c.calibration.fraction_positive)),
      { diagonal: true, xLabel: "mean predicted probability", yLabel: "share of positives" }),
  ];
}
