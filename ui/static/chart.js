// Horizontal bar charts drawn as SVG: one series (a model's feature importance) or several
// side by side (compared models), one colour per series (style.css: .series-N).

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
  const legend = names.length > 1
    ? h("p", { class: "legend" }, names.map((name, s) => h("span", { class: `key series-${s % 6}` }, name)))
    : "";
  return h("figure", {}, legend, chart);
}
