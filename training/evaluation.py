"""Evaluation reports: the numbers (JSON) and a self-contained HTML page with the same numbers.

The headline is the held-out test split (nothing but the final model saw it); validation and
train figures stand beside it, each labelled with its split, size and dates. Regression: RMSE,
MAE, R^2, RMSLE, next to the baseline that predicts the training mean; residual plot and
predicted vs actual. Binary classification: AUC, log-loss, precision, recall, F1, accuracy next
to the base-rate baseline; ROC and PR curves, confusion matrix (the calibration curve's data in
the JSON only). Both: feature importance and partial dependence of the top features (one input;
two: :func:`partial_dependence_2d`, what ``fresco ui`` draws as a heatmap). Every plot is drawn
from the test split and says so. Every figure's data is in the JSON, the plots are PNGs inlined
as base64 (no CDN, no external file).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.training.metrics import GREATER_IS_BETTER, calibration, compute_metrics, confusion, curves  # sklearn


def baseline_name(task: str) -> str:
    """What the baseline a model is compared with is called (report, record, command output):
    the training label's mean for a regressor, its base rate (share of 1s) for a classifier."""
    return "training mean" if task == "regression" else "training base rate"


def is_better(metric: str, a: float, b: float) -> bool:
    """Whether value ``a`` of ``metric`` beats ``b``."""
    return a > b if metric in GREATER_IS_BETTER else a < b


# -- figure data -------------------------------------------------------------------------------

def _rows(X: np.ndarray, sample: int, seed: int) -> np.ndarray:
    """Up to ``sample`` rows of ``X``, drawn without replacement with ``seed``."""
    rng = np.random.default_rng(seed)
    return X[rng.choice(len(X), size=min(sample, len(X)), replace=False)] if len(X) else X


def dependence_grid(values: np.ndarray, grid_points: int, categorical: bool = False) -> np.ndarray:
    """The values an input is set to: up to ``grid_points`` quantiles (2% to 98%) of its non-null
    ``values``, or, for a ``categorical`` input, its first ``grid_points`` distinct values."""
    values = values[~np.isnan(values)]
    if not len(values):
        return values
    if categorical:
        return np.unique(values)[:grid_points]
    return np.unique(np.quantile(values, np.linspace(0.02, 0.98, grid_points)))


def partial_dependence(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, column: int, grid_points: int = 20,
    sample: int = 2000, seed: int = 0, categorical: bool = False,
) -> dict[str, list[float]]:
    """Mean prediction with one input set to each grid value (:func:`dependence_grid`)."""
    rows = _rows(X, sample, seed)
    grid = dependence_grid(rows[:, column], grid_points, categorical)
    if not len(grid):
        return {"grid": [], "mean_prediction": []}
    stacked = np.repeat(rows[None, :, :], len(grid), axis=0)
    stacked[:, :, column] = grid[:, None]
    preds = predict(stacked.reshape(-1, X.shape[1])).reshape(len(grid), -1).mean(axis=1)
    return {"grid": grid.tolist(), "mean_prediction": preds.tolist()}


def partial_dependence_2d(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, columns: tuple[int, int], grid_points: int = 10,
    sample: int = 500, seed: int = 0, categorical: tuple[bool, bool] = (False, False),
) -> dict[str, Any]:
    """Mean prediction with two inputs set to each pair of their grid values: ``mean_prediction[i][j]``
    at the first input's ``grids[0][i]`` and the second's ``grids[1][j]``."""
    rows = _rows(X, sample, seed)
    (a, b), grids = columns, [dependence_grid(rows[:, c], grid_points, k) for c, k in zip(columns, categorical)]
    if not all(len(g) for g in grids):
        return {"grids": [g.tolist() for g in grids], "mean_prediction": []}
    first, second = np.meshgrid(*grids, indexing="ij")
    stacked = np.repeat(rows[None, :, :], first.size, axis=0)
    stacked[:, :, a] = first.reshape(-1)[:, None]
    stacked[:, :, b] = second.reshape(-1)[:, None]
    preds = predict(stacked.reshape(-1, X.shape[1])).reshape(first.size, -1).mean(axis=1)
    return {"grids": [g.tolist() for g in grids], "mean_prediction": preds.reshape(first.shape).tolist()}


#: What each split is for, as the report says it.
SPLIT_ROLES = {"train": "fitting", "validation": "early stopping and search", "test": "held out"}
#: The split the headline metrics and the figures come from.
HEADLINE = "test"


@dataclass
class SplitData:
    """One split: its labels, the final model's predictions on it, and its time range.

    Where the split's figures were computed elsewhere (by Spark, over every row), ``rows``,
    ``metrics`` and ``baseline`` carry them and ``y``/``p`` are a sample (the figures' data)."""

    name: str
    y: np.ndarray
    p: np.ndarray
    start: Any = None
    end: Any = None
    rows: int | None = None
    metrics: dict[str, float] | None = None
    baseline: dict[str, float] | None = None

    @property
    def size(self) -> int:
        return int(len(self.y)) if self.rows is None else self.rows


def split_label(name: str, rows: int, start: Any = None, end: Any = None) -> str:
    """``test (held out, 12,345 rows, 2024-05-20..2024-05-31)``: a split, its role, size and dates."""
    dates = f", {pd.Timestamp(start):%Y-%m-%d}..{pd.Timestamp(end):%Y-%m-%d}" if start is not None else ""
    return f"{name} ({SPLIT_ROLES.get(name, name)}, {rows:,} rows{dates})"


def build_report(
    *,
    task: str,
    splits: dict[str, SplitData],
    y_train_mean: float,
    feature_names: list[str],
    importance: dict[str, float],
    predict: Callable[[np.ndarray], np.ndarray],
    X_test: np.ndarray,
    top_features: int = 3,
    selected: list[str] | None = None,
    breakdown: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything a report shows, as JSON-able data: metrics of every split (the headline,
    figures and partial dependence from the held-out test split, ``X_test`` its inputs), the
    baseline on validation and test, and ``breakdown`` (a partitioned model's test metrics per
    partition, against its parent's and the root's model) when given."""
    data = {name: SplitData(s.name, np.asarray(s.y, dtype=np.float64), np.asarray(s.p, dtype=np.float64),
                            s.start, s.end, s.rows, s.metrics, s.baseline) for name, s in splits.items()}
    held_out = data[HEADLINE]
    order = [HEADLINE, *(n for n in ("validation", "train") if n in data)]
    metrics = {name: data[name].metrics or compute_metrics(task, data[name].y, data[name].p) for name in order}
    keep = selected or list(metrics[HEADLINE])
    baseline = {name: data[name].baseline or compute_metrics(task, data[name].y, np.full(len(data[name].y),
                                                                                          y_train_mean))
                for name in order if name != "train"}
    report: dict[str, Any] = {
        "task": task,
        "headline": HEADLINE,
        "splits": {name: {"rows": data[name].size, "role": SPLIT_ROLES.get(name, name),
                          "start": None if data[name].start is None else pd.Timestamp(data[name].start).isoformat(),
                          "end": None if data[name].end is None else pd.Timestamp(data[name].end).isoformat(),
                          "label": split_label(name, data[name].size, data[name].start, data[name].end)}
                   for name in order},
        "rows": {name: data[name].size for name in order},
        "metrics": {name: {k: values[k] for k in keep if k in values} for name, values in metrics.items()},
        "baseline": {"kind": baseline_name(task),
                     "value": float(y_train_mean),
                     **{name: {k: values[k] for k in keep} for name, values in baseline.items()}},
        "feature_importance": dict(sorted(importance.items(), key=lambda kv: -kv[1])),
        "figures": {"split": HEADLINE, **({"sample_rows": int(len(held_out.y))} if held_out.rows is not None else {}),
                    **figures(task, held_out.y, held_out.p)},
    }
    top = [n for n, v in report["feature_importance"].items() if v > 0][:top_features]
    report["partial_dependence"] = {
        "split": HEADLINE, **({"sample_rows": int(len(X_test))} if held_out.rows is not None else {}),
        "features": {name: partial_dependence(predict, X_test, feature_names.index(name)) for name in top},
    }
    if breakdown is not None:
        report["partitions"] = {"split": HEADLINE, **({"sample_rows": int(len(X_test))} if held_out.rows is not None
                                                       else {}), "rows": breakdown}
    return report


def figures(task: str, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """The data of the task's figures for one split's labels ``y`` and predictions ``p``."""
    rng = np.random.default_rng(0)
    sample = rng.choice(len(y), size=min(2000, len(y)), replace=False) if len(y) else np.array([], int)
    if task == "regression":
        resid = y - p
        counts, edges = np.histogram(resid, bins=40) if len(resid) else (np.array([]), np.array([]))
        # binned predicted vs actual: mean actual per decile of the prediction
        bins = [b for b in np.array_split(np.argsort(p), 10) if len(b)]
        return {
            "residual_histogram": {"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
            "predicted_vs_actual": {
                "predicted": p[sample].tolist(), "actual": y[sample].tolist(),
                "deciles": {"mean_predicted": [float(p[b].mean()) for b in bins],
                            "mean_actual": [float(y[b].mean()) for b in bins]},
            },
            "residuals": {"predicted": p[sample].tolist(), "residual": resid[sample].tolist()},
        }
    return {
        "curves": curves(y, p),
        "calibration": calibration(y, p),
        "confusion_matrix": {"labels": [0, 1], "matrix": confusion(y, p, 0.5), "threshold": 0.5},
    }


# -- rendering ---------------------------------------------------------------------------------

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _drawn_from(report: dict[str, Any], key: str) -> str:
    """`` (drawn from the test split, 1,234 rows)``: where a figure's data comes from."""
    split = report[key]["split"]
    rows = report["splits"][split]["rows"]
    if "sample_rows" in report[key]:
        return f" (drawn from a sample of {report[key]['sample_rows']:,} of the {split} split's {rows:,} rows)"
    return f" (drawn from the {split} split, {rows:,} rows)"


def _plots(report: dict[str, Any]) -> dict[str, str]:
    """Title (naming the split drawn from) -> base64 PNG, for every figure of the report."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    figs = report["figures"]
    source = _drawn_from(report, "figures")
    out: dict[str, str] = {}
    if report["task"] == "regression":
        pva = figs["predicted_vs_actual"]
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.scatter(pva["actual"], pva["predicted"], s=4, alpha=0.4)
        lo = min(pva["actual"] + pva["predicted"] or [0])
        hi = max(pva["actual"] + pva["predicted"] or [1])
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="perfect")
        ax.plot(pva["deciles"]["mean_actual"], pva["deciles"]["mean_predicted"], "o-", color="C3", label="deciles")
        ax.axhline(report["baseline"]["value"], color="grey", lw=1, label=report["baseline"]["kind"])
        ax.set_xlabel("actual"), ax.set_ylabel("predicted"), ax.legend()
        ax.set_title(f"Predicted vs actual ({figs['split']} split)")
        out["Predicted vs actual" + source] = _png(fig)
        res = figs["residuals"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        a1.scatter(res["predicted"], res["residual"], s=4, alpha=0.4)
        a1.axhline(0, color="k", lw=1)
        a1.set_xlabel("predicted"), a1.set_ylabel("actual - predicted")
        a1.set_title(f"Residuals ({figs['split']} split)")
        h = figs["residual_histogram"]
        if h["counts"]:
            a2.stairs(h["counts"], h["edges"], fill=True)
        a2.set_xlabel("actual - predicted"), a2.set_title(f"Residual distribution ({figs['split']} split)")
        out["Residuals" + source] = _png(fig)
    else:
        c = figs["curves"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        a1.plot(c["fpr"], c["tpr"]), a1.plot([0, 1], [0, 1], "k--", lw=1)
        a1.set_xlabel("false positive rate"), a1.set_ylabel("true positive rate")
        a1.set_title(f"ROC ({figs['split']} split)")
        a2.plot(c["recall"], c["precision"])
        a2.set_xlabel("recall"), a2.set_ylabel("precision"), a2.set_title(f"Precision-recall ({figs['split']} split)")
        out["ROC and PR curves" + source] = _png(fig)
        m = np.array(figs["confusion_matrix"]["matrix"])
        fig, ax = plt.subplots(figsize=(4, 3.5))
        ax.imshow(m, cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center")
        ax.set_xticks([0, 1]), ax.set_yticks([0, 1]), ax.set_xlabel("predicted"), ax.set_ylabel("actual")
        ax.set_title(f"Confusion matrix (threshold 0.5, {figs['split']} split)")
        out["Confusion matrix" + source] = _png(fig)
    imp = report["feature_importance"]
    if imp:
        names = list(imp)[:20][::-1]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1))
        ax.barh(names, [imp[n] for n in names])
        ax.set_title("Feature importance (share)")
        out["Feature importance (the model's own measure, no split)"] = _png(fig)
    pd_ = {k: v for k, v in report["partial_dependence"]["features"].items() if v["grid"]}
    if pd_:
        fig, axes = plt.subplots(1, len(pd_), figsize=(4 * len(pd_), 3.5), squeeze=False)
        for ax, (name, d) in zip(axes[0], pd_.items()):
            ax.plot(d["grid"], d["mean_prediction"], "o-")
            ax.set_xlabel(name), ax.set_ylabel("mean prediction")
        fig.suptitle(f"Partial dependence ({report['partial_dependence']['split']} split)")
        out["Partial dependence" + _drawn_from(report, "partial_dependence")] = _png(fig)
    return out


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))


def _metrics_table(report: dict[str, Any]) -> str:
    """Every metric: model and baseline on the headline split, then on the other splits; each
    column names its split."""
    head, metrics, base = report["headline"], report["metrics"], report["baseline"]
    others = [name for name in metrics if name != head]
    columns = [f"model on {head}", f"baseline on {head}", f"beats baseline on {head}"]
    for name in others:
        columns += [f"model on {name}"] + ([f"baseline on {name}"] if name in base else [])
    rows = ""
    for k, v in metrics[head].items():
        cells = [_fmt(v), _fmt(base[head][k]), "yes" if is_better(k, v, base[head][k]) else "no"]
        for name in others:
            cells += [_fmt(metrics[name].get(k, ""))] + ([_fmt(base[name][k])] if name in base else [])
        rows += f"<tr><td>{html.escape(k)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ["metric", *columns])
    return f"<table><tr>{header}</tr>{rows}</table>"


def _partitions_table(report: dict[str, Any]) -> str:
    """A partitioned model's test metrics per partition (the answering model against its
    parent's and the root's on the partition's own test rows); empty for other models."""
    if "partitions" not in report:
        return ""
    part = report["partitions"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r[k])}</td>" for k in ("partition", "test_rows", "answered_by", "model",
                                                             "parent", "parent_model", "root_model")) + "</tr>"
        for r in part["rows"])
    metric = html.escape(part["rows"][0]["metric"]) if part["rows"] else ""
    return (f"<h2>Partitions{_drawn_from(report, 'partitions')}</h2><p>Each partition's own test rows, answered by "
            f"its model (or the ancestor it falls back to), against its parent's and the root's model ({metric}).</p>"
            "<table><tr><th>partition</th><th>test rows</th><th>answered by</th><th>that model</th>"
            f"<th>parent</th><th>parent's model</th><th>root model</th></tr>{rows}</table>")


def render_html(report: dict[str, Any], header: dict[str, Any]) -> str:
    """The report as one HTML page (plots inlined as base64 PNG); every figure names its split."""
    splits = report["splits"]
    head = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in header.items())
    imp = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" for k, v in report["feature_importance"].items())
    plots = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
        for title, data in _plots(report).items()
    )
    roles = "".join(f"<li>{html.escape(s['label'])}</li>" for s in splits.values())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Evaluation: {html.escape(str(header.get('model', '')))}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:left}}img{{max-width:100%}}</style></head>
<body><h1>Evaluation report</h1>
<table>{head}</table>
<h2>Headline metrics: {html.escape(splits[report['headline']]['label'])}</h2>
<p>The splits:</p><ul>{roles}</ul>
<p>The {html.escape(report['headline'])} split is held out: neither training, early stopping nor the search
saw it; the final model was scored on it once. Baseline: {html.escape(report['baseline']['kind'])} ({report['baseline']['value']:.4f}), from the training split.</p>
{_metrics_table(report)}
<h2>Feature importance</h2><table><tr><th>input</th><th>share</th></tr>{imp}</table>
{_partitions_table(report)}
{plots}
<p>The same numbers are in <code>report.json</code> beside this page.</p>
</body></html>
"""


def write_report(report: dict[str, Any], header: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(json.dumps({"header": header, **report}, indent=1, default=str))
    html_path.write_text(render_html(report, header))
    return html_path, json_path
