// Charts drawn as SVG, one colour per series (style.css: .series-N): horizontal bars, one series
// (a model's feature importance) or several side by side (compared models); lines and points over
// numeric axes (a model's curves, one series per model) or over time (a metric per window, one line
// per model, tag or arm); a heatmap (a two-way partial dependence).

import { fmt, h, svg } from "./dom.js";

const ROW = 22;
const LABEL = 220;
const WIDTH = 640;

// rows: [label, [value per series]]; names: the series' names (a legend when more than one).
export function barChart(rows, names = [""]) {
  const per = Math.max(1, names.length);
  const band = ROW * per + 8;
  const max = Math.max(1e-12, ...rows.flatMap(([, values]) => values.map((v) => v || 0)));
  const plot = WIDTH - LABEL - 70;
  const height = rows.length * band + 4;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, class: "chart", role: "img" });
  rows.forEach(([label, values], i) => {
    const top = i * band + 4;
    chart.append(svg("text", { x: LABEL - 8, y: top + (ROW * per) / 2 + 4, "text-anchor": "end", class: "label" }, label));
    values.forEach((value, s) => {
      const width = Math.max(0, ((value || 0) / max) * plot);
      const y = top + s * ROW;
      chart.append(svg("rect", { x: LABEL, y, width, height: ROW - 4, class: `bar series-${s % 6}` },
        svg("title", {}, `${names[s] ? `${names[s]}: ` : ""}${label} ${fmt(value)}`)));
      chart.append(svg("text", { x: LABEL + width + 4, y: y + ROW - 9, class: "value" }, value === undefined ? "—" : fmt(value)));
    });
  });
  return h("figure", {}, legend(names), chart);
}

function legend(names) {
  return names.length > 1
    ? h("p", { class: "legend" }, names.map((name, s) => h("span", { class: `key series-${s % 6}` }, name)))
    : "";
}

const minute = (t) => new Date(t).toISOString().slice(0, 16).replace("T", " ");

// series: [{name, points: [[time (ms), value or null]]}], drawn over a shared time axis.
export function lineChart(series, title) {
  return xyChart(series, title, { format: minute, fromZero: true });
}

// series: [{name, points: [[x, y or null]], line (default true), dots (default true)}] over numeric
// axes; options: format (an x value as text), fromZero (the y axis starts at 0 or below), diagonal
// (the line y = x), xLabel, yLabel.
export function xyChart(series, title, { format = fmt, fromZero = false, diagonal = false, xLabel = "", yLabel = "" } = {}) {
  const height = 240;
  const [left, right, top, bottom] = [70, 20, yLabel ? 28 : 16, 30];
  const points = series.flatMap((s) => s.points.filter(([, v]) => v !== null && v !== undefined));
  const xs = points.map(([t]) => t);
  const values = points.map(([, v]) => v);
  const [t0, t1] = [Math.min(...xs), Math.max(...xs)];
  const [v0, v1] = [Math.min(...(fromZero ? [0] : []), ...values), Math.max(1e-12, ...values)];
  const x = (t) => left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (WIDTH - left - right) : (WIDTH - left - right) / 2);
  const y = (v) => top + (v1 > v0 ? 1 - (v - v0) / (v1 - v0) : 0.5) * (height - top - bottom);
  const [d0, d1] = [Math.max(t0, v0), Math.min(t1, v1)];
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, class: "chart", role: "img" },
    svg("title", {}, title),
    svg("line", { x1: left, y1: y(v0), x2: WIDTH - right, y2: y(v0), class: "axis" }),
    svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" }),
    diagonal && points.length && d1 > d0 ? svg("line", { x1: x(d0), y1: y(d0), x2: x(d1), y2: y(d1), class: "axis diagonal" }) : "",
    svg("text", { x: left - 6, y: y(v1) + 4, "text-anchor": "end", class: "label" }, fmt(v1)),
    svg("text", { x: left - 6, y: y(v0) + 4, "text-anchor": "end", class: "label" }, fmt(v0)),
    yLabel ? svg("text", { x: left + 6, y: top - 12, class: "label" }, yLabel) : "",
    xLabel ? svg("text", { x: (left + WIDTH - right) / 2, y: height - 8, "text-anchor": "middle", class: "label" }, xLabel) : "",
    points.length ? svg("text", { x: left, y: height - 8, class: "label" }, format(t0)) : "",
    points.length ? svg("text", { x: WIDTH - right, y: height - 8, "text-anchor": "end", class: "label" }, format(t1)) : "");
  series.forEach(({ name, points: line, line: joined = true, dots = true }, s) => {
    const shown = line.filter(([, v]) => v !== null && v !== undefined);
    if (joined && shown.length > 1) {
      chart.append(svg("polyline", { points: shown.map(([t, v]) => `${x(t)},${y(v)}`).join(" "), class: `line series-${s % 6}` }));
    }
    if (!dots) return;
    for (const [t, v] of shown) {
      chart.append(svg("circle", { cx: x(t), cy: y(v), r: joined ? 3 : 2, class: `dot series-${s % 6}` },
        svg("title", {}, `${name}: ${format(t)} ${fmt(v)}`)));
    }
  });
  return h("figure", {}, legend(series.map((s) => s.name)), chart);
}

// A grid of values (values[i][j] at xs[i], ys[j]) as shaded cells, darker for larger values.
export function heatmap(xs, ys, values, title, { xLabel = "", yLabel = "" } = {}) {
  const [left, top, bottom] = [90, 16, 40];
  const cell = Math.max(8, Math.min(40, Math.floor((WIDTH - left - 20) / Math.max(1, xs.length))));
  const height = top + bottom + cell * ys.length;
  const flat = values.flat();
  const [v0, v1] = [Math.min(...flat), Math.max(...flat)];
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, class: "chart heatmap", role: "img" },
    svg("title", {}, title));
  xs.forEach((xv, i) => ys.forEach((yv, j) => {
    const share = v1 > v0 ? (values[i][j] - v0) / (v1 - v0) : 0.5;
    chart.append(svg("rect", { x: left + i * cell, y: top + (ys.length - 1 - j) * cell, width: cell, height: cell,
      class: "cell", "fill-opacity": (0.08 + 0.92 * share).toFixed(3) },
    svg("title", {}, `${xLabel} ${fmt(xv)}, ${yLabel} ${fmt(yv)}: ${fmt(values[i][j])}`)));
  }));
  const lastY = top + ys.length * cell;
  chart.append(
    svg("text", { x: left - 6, y: lastY - 4, "text-anchor": "end", class: "label" }, fmt(ys[0])),
    svg("text", { x: left - 6, y: top + 12, "text-anchor": "end", class: "label" }, fmt(ys[ys.length - 1])),
    svg("text", { x: left, y: lastY + 14, class: "label" }, fmt(xs[0])),
    svg("text", { x: left + xs.length * cell, y: lastY + 14, "text-anchor": "end", class: "label" }, fmt(xs[xs.length - 1])),
    svg("text", { x: left + (xs.length * cell) / 2, y: lastY + 30, "text-anchor": "middle", class: "label" }, xLabel),
    svg("text", { x: 4, y: top + (ys.length * cell) / 2, class: "label" }, yLabel));
  return h("figure", {}, chart, h("figcaption", { class: "muted" }, `${title}: from ${fmt(v0)} (light) to ${fmt(v1)} (dark)`));
}
