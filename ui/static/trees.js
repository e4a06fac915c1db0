// The tree viewer: one tree of an XGBoost model's ensemble (a partition's, for a partitioned
// model), picked by index; each split a collapsible node (<details>), each leaf its value.

import { enc, get } from "./api.js";
import { fmt, go, h, short } from "./dom.js";

function render(node) {
  if (node.leaf !== undefined) {
    return h("div", { class: "leaf" }, `leaf ${fmt(node.leaf)}`, h("span", { class: "muted" }, ` cover ${fmt(node.cover)}`));
  }
  const branch = (answer, child, missing) => h("li", {},
    h("span", { class: `edge ${answer}` }, `${answer}${missing ? ", missing" : ""}`), render(child));
  return h("details", { open: true, class: "split" },
    h("summary", {}, h("strong", {}, node.feature), ` < ${fmt(node.threshold)}`,
      h("span", { class: "muted" }, ` gain ${fmt(node.gain)} · cover ${fmt(node.cover)}`)),
    h("ul", {}, branch("yes", node.yes, node.missing === "yes"), branch("no", node.no, node.missing === "no")));
}

export async function treePage(params, ref, index) {
  const partition = params.get("partition") || "";
  const about = await get(`/api/models/${enc(ref)}/trees`, { partition });
  const at = Math.min(Number(index), Math.max(0, about.count - 1));
  const tree = await get(`/api/models/${enc(ref)}/trees/${at}`, { partition });
  const open = (n) => go(`model/${enc(ref)}/tree/${n}`, { partition });
  const picker = h("form", { class: "filters" },
    h("button", { type: "button", disabled: at === 0, onclick: () => open(at - 1) }, "← previous"),
    h("label", {}, "Tree", h("input", { type: "number", name: "index", min: 0, max: about.count - 1, value: at })),
    h("span", { class: "muted" }, `of ${about.count} (0–${about.count - 1})`),
    h("button", { type: "button", disabled: at >= about.count - 1, onclick: () => open(at + 1) }, "next →"),
    about.partitions.length > 1
      ? h("label", {}, "Partition", h("select", { name: "partition" },
        about.partitions.map((p) => h("option", { value: p, selected: p === about.partition }, p))))
      : "",
    h("button", { type: "submit" }, "Show"));
  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(picker);
    go(`model/${enc(ref)}/tree/${form.get("index") || 0}`, { partition: form.get("partition") || partition });
  });
  const unused = about.best_iteration !== null && at > about.best_iteration;
  return h("section", {},
    h("p", {}, h("a", { href: `#/model/${enc(ref)}` }, `← model ${short(about.uuid)}`)),
    h("h1", {}, `Tree ${at}`, about.partitions.length > 1 ? ` of partition ${about.partition}` : ""),
    picker,
    unused ? h("p", { class: "bad" }, `After early stopping's best round (${about.best_iteration}): this tree does not predict.`) : "",
    h("p", { class: "muted" }, "A row goes to yes when its input is below the threshold; a missing value follows the branch marked missing."),
    h("div", { class: "tree", id: "tree" }, render(tree.root)));
}
