// Feature suggestions (`fresco features suggest`): the stored ones, and one's ranking: the
// permutation importance on the hold-out as bars, every ranked feature with its figures and
// catalog facts, the features left out and why.

import { enc, get } from "./api.js";
import { barChart } from "./chart.js";
import { facts, fmt, h, table, when } from "./dom.js";

const featureLink = (ref) => {
  const [view, name] = ref.split(":");
  return h("a", { href: `#/feature/${enc(view)}/${enc(name)}` }, ref);
};

export async function suggestionsPage() {
  const { suggestions } = await get("/api/suggestions");
  const open = (s) => h("a", { href: `#/suggestion/${enc(s.name)}` }, s.label);
  return h("section", {}, h("h1", {}, "Feature suggestions"),
    suggestions.length
      ? table([["Label", open], ["Task", (s) => s.task], ["Rows", (s) => s.rows.toLocaleString("en")],
        ["Quick model", (s) => `${s.metric} ${fmt(s.model_metric)} (baseline ${fmt(s.baseline_metric)})`],
        ["Draft's features", (s) => s.top.length], ["When", (s) => when(s.created_at)]], suggestions, { id: "suggestions" })
      : h("p", { class: "muted", id: "suggestions" },
        "None yet: `fresco features suggest LABELS --label COLUMN` ranks the catalog's features for a new label."));
}

export async function suggestionPage(params, name) {
  const s = await get(`/api/suggestions/${enc(name)}`);
  const r = s.ranking;
  const helping = s.features.filter((f) => f.score.permutation > 0).slice(0, 20);
  const ranked = table([
    ["Rank", (f) => f.rank],
    ["Feature", (f) => [featureLink(f.score.ref), f.deprecated ? " (deprecated)" : "", s.top.includes(f.score.ref) ? " *" : ""]],
    ["Permutation", (f) => `${fmt(f.score.permutation)} ± ${fmt(f.score.permutation_std)}`],
    ["Mutual information", (f) => fmt(f.score.mutual_information)],
    [r.association_name.toUpperCase(), (f) => fmt(f.score.association)],
    ["Coverage", (f) => `${(100 * f.score.coverage).toFixed(1)}%`],
    ["SLA", (f) => f.freshness_sla || "—"], ["Owner", (f) => f.owner || "—"],
    ["Models", (f) => f.models.map((m) => `${m.name}${m.importance_share === null ? "" : ` (${(100 * m.importance_share).toFixed(0)}%)`}`).join(", ") || "—"],
  ], s.features, { id: "ranked" });
  return h("section", {}, h("h1", {}, `Features for ${s.label} (${s.task})`),
    facts([
      ["Label rows", `${s.labels}: ${s.rows.toLocaleString("en")} rows`],
      ["Ranked on", `${r.ranked_on.rows.toLocaleString("en")} rows, ${when(r.ranked_on.start)} .. ${when(r.ranked_on.end)}`],
      ["Hold-out (later)", `${r.holdout.rows.toLocaleString("en")} rows, ${when(r.holdout.start)} .. ${when(r.holdout.end)}`],
      ["Quick model", `${r.metric} ${fmt(r.model_metrics[r.metric])} against ${fmt(r.baseline_metrics[r.metric])} for the ${r.baseline}`],
      ["Report", h("a", { href: `/api/suggestions/${enc(s.name)}/html` }, "HTML")],
    ]),
    h("h2", {}, "Permutation importance on the hold-out"),
    helping.length ? barChart(helping.map((f) => [f.score.ref, [f.score.permutation]]))
      : h("p", { class: "muted" }, "No feature improved the quick model on the hold-out."),
    h("h2", {}, "Ranked features"), ranked,
    h("p", { class: "muted" }, "* the draft's features (--write-config)"),
    h("h2", {}, "Left out"),
    s.excluded.length ? table([["Feature", (e) => e.ref], ["Why", (e) => e.reason]], s.excluded, { id: "excluded" })
      : h("p", { class: "muted", id: "excluded" }, "None: every catalog feature applies to these rows."));
}
