"""Accuracy over time as a picture: one line per model / tag / arm across the windows of
:func:`fresco.monitoring.accuracy_over_time`, the metric above and the join rate below (PNG)."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd

from fresco.training.metrics import metric_names


def default_metric(table: pd.DataFrame) -> str:
    """The first metric of the table's task (``rmse`` for regression, ``auc`` for binary)."""
    tasks = sorted(set(table["task"]))
    return metric_names(tasks[0])[0] if tasks else "rmse"


def _label(row: pd.Series) -> str:
    parts = [f"{row['model_uuid'][:8]}"]
    parts += [f"{k} {row[k]}" for k in ("tag", "arm") if isinstance(row.get(k), str) and row[k]]
    return " / ".join(parts)


def accuracy_png(table: pd.DataFrame, path: Path, metric: str | None = None) -> Path:
    """Draw ``metric`` (default :func:`default_metric`) and the join rate per window for every
    model / tag / arm of ``table`` (``accuracy_over_time``'s rows) into ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    metric = metric or default_metric(table)
    if metric not in table.columns:
        raise ValueError(f"no metric {metric!r} in the accuracy table (its metrics: "
                         f"{', '.join(c for c in table.columns if c not in _NOT_METRICS)})")
    frame = table.assign(series=table.apply(_label, axis=1)).sort_values("window_start")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=[3, 1])
    for name, rows in frame.groupby("series", sort=True):
        top.plot(rows["window_start"], rows[metric], marker="o", markersize=3, label=name)
        bottom.plot(rows["window_start"], rows["join_rate"], marker="o", markersize=3, label=name)
    top.set_ylabel(metric)
    top.set_title(f"{metric} per window on the predictions with an outcome")
    top.legend(fontsize=8, loc="best")
    top.grid(alpha=0.3)
    bottom.set_ylabel("join rate")
    bottom.set_ylim(0, 1.05)
    bottom.grid(alpha=0.3)
    bottom.set_xlabel("window start (UTC)")
    fig.autofmt_xdate()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


_NOT_METRICS = {"window_start", "model_uuid", "tag", "experiment", "arm", "task", "predictions", "outcomes",
                "join_rate", "series"}


def embed_png(html: Path, png: Path, title: str) -> None:
    """Add ``png`` (inlined as base64, no external file) under ``title`` at the end of the
    HTML page ``html``."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    section = (f'<section style="font-family:sans-serif;margin:24px"><h2>{title}</h2>'
               f'<img alt="{title}" src="data:image/png;base64,{data}"/></section>')
    text = Path(html).read_text()
    at = text.rfind("</body>")
    Path(html).write_text(text[:at] + section + text[at:] if at >= 0 else text + section)
