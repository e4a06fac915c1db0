// The pages' router: the part of the address after "#" names the page and its arguments
// (#/catalog?q=..., #/feature/VIEW/NAME, #/models, #/model/REF, #/model/REF/tree/N, #/compare?ref=A&ref=B, #/tags,
// #/train?config=NAME, #/train/JOB, #/monitoring?model=REF&window=1h&metric=NAME, #/audit, #/suggestions, #/suggestion/NAME).

import { auditPage } from "./audit.js";
import { catalogPage, featurePage } from "./catalog.js";
import { problem } from "./dom.js";
import { comparePage, modelPage, modelsPage } from "./models.js";
import { monitoringPage } from "./monitoring.js";
import { suggestionPage, suggestionsPage } from "./suggestions.js";
import { tagsPage } from "./tags.js";
import { jobPage, trainPage } from "./train.js";
import { treePage } from "./trees.js";

const routes = [
  [/^catalog$/, catalogPage, "catalog"],
  [/^feature\/([^/]+)\/([^/]+)$/, featurePage, "catalog"],
  [/^models$/, modelsPage, "models"],
  [/^model\/([^/]+)$/, modelPage, "models"],
  [/^model\/([^/]+)\/tree\/(\d+)$/, treePage, "models"],
  [/^compare$/, comparePage, "compare"],
  [/^tags$/, tagsPage, "tags"],
  [/^train$/, trainPage, "train"],
  [/^monitoring$/, monitoringPage, "monitoring"],
  [/^audit$/, auditPage, "audit"],
  [/^suggestions$/, suggestionsPage, "suggestions"],
  [/^suggestion\/([^/]+)$/, suggestionPage, "suggestions"],
  [/^train\/([0-9a-f]+)$/, jobPage, "train"],
];

let shown = 0;

async function show() {
  const [path, query] = (location.hash.replace(/^#\/?/, "") || "catalog").split("?");
  const params = new URLSearchParams(query || "");
  const main = document.getElementById("page");
  const turn = ++shown;
  for (const [pattern, page, section] of routes) {
    const found = path.match(pattern);
    if (!found) continue;
    for (const link of document.querySelectorAll("nav a[data-page]")) {
      link.classList.toggle("current", link.dataset.page === section);
    }
    try {
      const content = await page(params, ...found.slice(1).map(decodeURIComponent));
      if (turn === shown) main.replaceChildren(content);
    } catch (error) {
      if (turn === shown) main.replaceChildren(problem(error));
    }
    return;
  }
  main.replaceChildren(problem(new Error(`no page ${path}: see the links above`)));
}

window.addEventListener("hashchange", show);
show();
