"""The suggestion's report: ``suggestion.json`` and ``suggestion.html`` (a ranked table and an
importance chart drawn as inline SVG), side by side in one folder."""

from __future__ import annotations

import html
import json
from pathlib import Path

from fresco.training.suggestion.suggest import Suggestion


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _models(feature) -> str:  # noqa: ANN001 - a SuggestedFeature
    if not feature.models:
        return "-"
    return ", ".join(f"{html.escape(m.name)} ({'-' if m.importance_share is None else f'{m.importance_share:.0%}'})"
                     for m in feature.models)


def _chart(suggestion: Suggestion, bars: int = 20) -> str:
    """Horizontal bars of the permutation importance of the best ``bars`` features."""
    shown = [f for f in suggestion.features if f.score.permutation > 0][:bars]
    if not shown:
        return "<p>No feature improved the quick model's hold-out metric.</p>"
    top = max(f.score.permutation for f in shown)
    row, label_width, bar_width = 22, 300, 420
    parts = []
    for i, f in enumerate(shown):
        width = max(1.0, bar_width * f.score.permutation / top)
        y = i * row
        parts.append(f"<text x='{label_width - 6}' y='{y + 15}' text-anchor='end'>{html.escape(f.score.ref)}</text>"
                     f"<rect x='{label_width}' y='{y + 4}' width='{width:.1f}' height='{row - 8}' fill='#3b7dd8'/>"
                     f"<text x='{label_width + width + 4:.1f}' y='{y + 15}'>{f.score.permutation:.4f}</text>")
    return (f"<svg role='img' aria-label='permutation importance' width='{label_width + bar_width + 80}' "
            f"height='{len(shown) * row}' font-size='12'>{''.join(parts)}</svg>")


def render_html(suggestion: Suggestion) -> str:
    """The report as one self-contained HTML page."""
    r = suggestion.ranking
    metric = r.metric
    rows = "".join(
        f"<tr><td>{f.rank}</td><td>{html.escape(f.score.ref)}{' (deprecated)' if f.deprecated else ''}</td>"
        f"<td>{f.score.kind}</td><td>{_num(f.score.permutation)} &plusmn; {_num(f.score.permutation_std)}</td>"
        f"<td>{_num(f.score.mutual_information)}</td><td>{_num(f.score.association, 3)}</td>"
        f"<td>{f.score.coverage:.1%}</td><td>{html.escape(f.freshness_sla or '-')}</td>"
        f"<td>{html.escape(f.owner or '-')}</td><td>{len(f.models)}</td><td>{_models(f)}</td></tr>"
        for f in suggestion.features)
    excluded = "".join(f"<tr><td>{html.escape(e.ref)}</td><td>{html.escape(e.reason)}</td></tr>"
                       for e in suggestion.excluded)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Features suggested for {html.escape(suggestion.label)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:left}}</style></head>
<body><h1>Features suggested for {html.escape(suggestion.label)} ({html.escape(suggestion.task)})</h1>
<p>Label rows: {html.escape(suggestion.labels)}, {suggestion.rows:,} rows ({suggestion.rows_without_label:,} without a
label, left out). Every feature value is the one its view held at the row's {html.escape(suggestion.timestamp_column)}
(point in time, the retrieval training uses).</p>
<ul><li>Ranked on: {r.ranked_on.rows:,} rows, {r.ranked_on.start} .. {r.ranked_on.end} (mutual information and
{r.association_name} on {r.univariate_rows:,} of them; the quick model's fit)</li>
<li>Hold-out, later in time: {r.holdout.rows:,} rows, {r.holdout.start} .. {r.holdout.end} (the quick model's
metric; permutation importance on {r.quick_model.get('permutation_rows', 0):,} of them,
{r.quick_model.get('permutation_repeats', 0)} repeats)</li></ul>
<p>Quick model (XGBoost, {r.quick_model.get('features', 0)} features) on the hold-out: {metric}
{_num(r.model_metrics.get(metric))} against {_num(r.baseline_metrics.get(metric))} for the {html.escape(r.baseline)}.</p>
<h2>Permutation importance on the hold-out ({metric} lost when the feature is shuffled)</h2>
{_chart(suggestion)}
<h2>Ranked features</h2>
<table><tr><th>rank</th><th>feature</th><th>kind</th><th>permutation</th><th>mutual information</th>
<th>{r.association_name}</th><th>coverage</th><th>freshness SLA</th><th>owner</th><th>models</th>
<th>its share of their importance</th></tr>{rows}</table>
<h2>Left out</h2><table><tr><th>feature</th><th>why</th></tr>{excluded or '<tr><td colspan=2>none</td></tr>'}</table>
<p>The same figures are in <code>suggestion.json</code> beside this page.</p>
</body></html>
"""


def suggestions_folder() -> Path:
    """Where reports go by default: ``<state folder>/suggestions``, a folder per run in it."""
    from fresco.platform.state import state_dir

    return state_dir() / "suggestions"


def stored_suggestions(root: Path | None = None) -> list[Path]:
    """The report folders under ``root`` (default :func:`suggestions_folder`) holding a
    ``suggestion.json``, newest first. Only what is there is listed: a name given by someone else
    is looked up in it, never made into a path."""
    root = suggestions_folder() if root is None else root
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and (p / "suggestion.json").is_file()]
    return sorted(found, key=lambda p: ((p / "suggestion.json").stat().st_mtime, p.name), reverse=True)


def write_report(suggestion: Suggestion, folder: Path) -> tuple[Path, Path]:
    """Write ``suggestion.json`` and ``suggestion.html`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "suggestion.json", folder / "suggestion.html"
    json_path.write_text(json.dumps(suggestion.to_dict(), indent=2, default=str))
    html_path.write_text(render_html(suggestion))
    return json_path, html_path
