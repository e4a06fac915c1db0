// Charts drawn as SVG, one colour per series (style.css: .series-N): horizontal bars, one series
// (a model's feature importance) or several side by side (compared models); lines over time
// (a metric per window, one line per model, tag or arm).

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

// series: [{name, points: [[time (ms), value or null]]}], drawn over a shared time axis.
export function lineChart(series, title) {
  const height = 240;
  const [left, right, top, bottom] = [70, 20, 16, 30];
  const points = series.flatMap((s) => s.points.filter(([, v]) => v !== null && v !== undefined));
  const times = points.map(([t]) => t);
  const values = points.map(([, v]) => v);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const [v0, v1] = [Math.min(0, ...values), Math.max(1e-12, ...values)];
  const x = (t) => left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (WIDTH - left - right) : (WIDTH - left - right) / 2);
  const y = (v) => top + (1 - (v - v0) / (v1 - v0)) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, class: "chart", role: "img" },
    svg("title", {}, title),
    svg("line", { x1: left, y1: y(v0), x2: WIDTH - right, y2: y(v0), class: "axis" }),
    svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" }),
    svg("text", { x: left - 6, y: y(v1) + 4, "text-anchor": "end", class: "label" }, fmt(v1)),
    svg("text", { x: left - 6, y: y(v0) + 4, "text-anchor": "end", class: "label" }, fmt(v0)),
    points.length ? svg("text", { x: left, y: height - 8, class: "label" }, new Date(t0).toISOString().slice(0, 16).replace("T", " ")) : "",
    points.length ? svg("text", { x: WIDTH - right, y: height - 8, "text-anchor": "end", class: "label" }, new Date(t1).toISOString().slice(0, 16).replace("T", " ")) : "");
  series.forEach(({ name, points: line }, s) => {
    const shown = line.filter(([, v]) => v !== null && v !== undefined);
    if (shown.length > 1) {
      chart.append(svg("polyline", { points: shown.map(([t, v]) => `${x(t)},${y(v)}`).join(" "), class: `line series-${s % 6}` }));
    }
    for (const [t, v] of shown) {
      chart.append(svg("circle", { cx: x(t), cy: y(v), r: 3, class: `dot series-${s % 6}` },
        svg("title", {}, `${name}: ${new Date(t).toISOString()} ${fmt(v)}`)));
    }
  });
  return h("figure", {}, legend(series.map((s) => s.name)), chart);
}
