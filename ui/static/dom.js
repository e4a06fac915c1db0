// Small helpers to build the pages' elements: text always goes in as text, never as HTML.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  append(element, children);
  return element;
}

export function fmt(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(3) : value.toPrecision(4).replace(/\.?0+$/, "");
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function seconds(value) {
  if (value === null || value === undefined) return "none";
  const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  for (const [unit, size] of units) if (value >= size && value % size === 0) return `${value / size}${unit}`;
  return `${value}s`;
}

export function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC") : "never";
}

export const short = (uuid) => (uuid ? uuid.slice(0, 8) : "—");

// A table: columns are [title, row => cell] pairs.
export function table(columns, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))));
}

// A two-column table of facts: [label, value] pairs.
export function facts(pairs) {
  return h("table", { class: "facts" }, h("tbody", {},
    pairs.map(([label, value]) => h("tr", {}, h("th", {}, label), h("td", {}, value)))));
}

export function problem(error) {
  return h("p", { class: "error", role: "alert" }, error.message || String(error));
}

export function modelLink(uuid, label) {
  return h("a", { href: `#/model/${encodeURIComponent(uuid)}` }, label || short(uuid));
}

// Go to a page whose query is `params` (empty values left out).
export function go(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of [].concat(value)) if (one) query.append(key, one);
  }
  const text = query.toString();
  location.hash = `#/${path}${text ? `?${text}` : ""}`;
}
