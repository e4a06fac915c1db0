"""``fresco features suggest``: a new problem's label rows in, the catalog's features ranked out."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd

from fresco.training.datasets import build_training_frame
from fresco.training.feature_usage import FeatureUse, feature_uses
from fresco.training.pipeline import with_utc_times
from fresco.training.suggestion.candidates import Candidate, Excluded, candidates
from fresco.training.suggestion.ranking import FeatureScore, Ranking, RankingError, infer_task, rank

Progress = Callable[[str], None]
#: ``--task`` as people say it -> the model config's task.
TASKS = {"regression": "regression", "classification": "binary", "binary": "binary"}


@dataclass(frozen=True)
class SuggestedFeature:
    """A ranked feature with the catalog's facts beside it."""

    rank: int
    score: FeatureScore
    owner: str
    freshness_sla: str
    deprecated: bool
    description: str
    models: list[FeatureUse]


@dataclass
class Suggestion:
    """What ``suggest_features`` found: the ranking, what was left out, and where the figures
    come from."""

    labels: str
    label: str
    task: str
    timestamp_column: str
    rows: int
    rows_without_label: int
    features: list[SuggestedFeature]
    excluded: list[Excluded]
    ranking: Ranking
    top: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """The whole suggestion as plain JSON values."""
        return asdict(self)


def timestamp_column_of(rows: pd.DataFrame, chosen: str | None) -> str:
    """``chosen`` if the rows have it, else their only timestamp column."""
    if chosen is not None:
        if chosen not in rows.columns:
            raise RankingError(f"--timestamp-column: the rows have no column {chosen!r}; they have "
                               f"{sorted(map(str, rows.columns))}")
        return chosen
    times = [str(c) for c in rows.columns if pd.api.types.is_datetime64_any_dtype(rows[c])]
    if len(times) != 1:
        raise RankingError(f"--timestamp-column: name the column holding each row's time (the rows have "
                           f"{'no timestamp column' if not times else 'several: ' + ', '.join(times)})")
    return times[0]


def draft_name(label: str) -> str:
    """The drafted model's default name: the label's, as a model name may be written."""
    name = re.sub(r"[^a-z0-9_.-]", "_", label.lower()).strip("_.-") or "model"
    return f"{name}_suggested"[:63]


def suggest_features(rows: pd.DataFrame, store: Any, *, label: str, labels: str = "<rows>",
                     timestamp_column: str | None = None, task: str | None = None, top: int = 10,
                     holdout_fraction: float = 0.3, seed: int = 0, workers: int = 2,
                     models: list[Any] | None = None, chunk_rows: int | None = None,
                     progress: Progress | None = None) -> Suggestion:
    """Rank the catalog features of ``store`` that ``rows`` (join keys, a time, ``label``) can be
    given, point in time (the retrieval training uses), on a hold-out later in time.

    ``task``: ``regression`` or ``classification`` (default: from the label's values);
    ``models``: the registered models' records (how many use each feature, its weight there).
    """
    say = progress or (lambda _: None)
    if label not in rows.columns:
        raise RankingError(f"--label: the rows have no column {label!r}; they have {sorted(map(str, rows.columns))}")
    if top < 1:
        raise RankingError(f"--top must be at least 1, got {top}")
    ts = timestamp_column_of(rows, timestamp_column)
    rows = with_utc_times(rows.copy(), ts)
    labelled = rows[rows[label].notna()]
    chosen_task = TASKS[task] if task is not None else infer_task(labelled[label])
    usable, excluded = candidates(store, [str(c) for c in rows.columns])
    if not usable:
        keys = sorted({k for e in excluded for k in e.needs})
        raise RankingError(f"no catalog feature applies to these rows: they carry none of the join keys "
                           f"{', '.join(keys) or '(none registered)'}")
    keys = sorted({k for c in usable for k in c.join_keys})
    # in a fixed order (time, keys, label), so the same rows give the same figures however stored
    labelled = labelled.sort_values([ts, *keys, label], kind="stable")
    say(f"retrieving {len(usable)} features of {len({c.entry.view for c in usable})} views for "
        f"{len(labelled):,} rows, point in time")
    t0 = time.perf_counter()
    frame = build_training_frame(labelled[[*keys, ts, label]].reset_index(drop=True), [c.ref for c in usable],
                                 store, timestamp_column=ts, chunk_rows=chunk_rows, progress=say)
    retrieval_seconds = time.perf_counter() - t0
    ranking = rank(frame, usable, label=label, timestamp_column=ts, task=chosen_task,
                   holdout_fraction=holdout_fraction, seed=seed, workers=workers, progress=say)
    by_ref: dict[str, Candidate] = {c.ref: c for c in usable}
    uses = feature_uses(models or [])
    suggested = [
        SuggestedFeature(i, s, by_ref[s.ref].entry.owner, by_ref[s.ref].entry.freshness_sla,
                         by_ref[s.ref].entry.deprecated, by_ref[s.ref].entry.description, uses.get(s.ref, []))
        for i, s in enumerate(ranking.scores, start=1)
    ]
    # the draft's features: those that improve the hold-out, deprecated ones left to the report
    best = [s.ref for s in ranking.scores
            if s.in_model and s.permutation > 0 and not by_ref[s.ref].entry.deprecated][:top]
    return Suggestion(
        labels=labels, label=label, task=chosen_task, timestamp_column=ts, rows=len(rows),
        rows_without_label=len(rows) - len(labelled), features=suggested, excluded=excluded,
        ranking=ranking, top=best,
        seconds={"retrieval": round(retrieval_seconds, 3), **ranking.seconds},
    )
