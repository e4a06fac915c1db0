"""Ranking candidate features by predictive value, honestly in time.

The rows are split by time: the earlier ones are ranked on (univariate figures, the quick
model's fit), the later ones are the hold-out (the quick model's metric and the permutation
importance, so features that only repeat another one's information are not all ranked high).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fresco.dsl import feature_column
from fresco.training.evaluation import baseline_name
from fresco.training.metrics import compute_metrics
from fresco.training.pipeline import cutoff_positions, split_by_time
from fresco.training.suggestion.candidates import Candidate

#: Rows the univariate figures (mutual information is a nearest-neighbour estimate) are drawn from.
UNIVARIATE_ROWS = 20_000
#: Hold-out rows the permutation importance shuffles.
PERMUTATION_ROWS = 20_000
PERMUTATION_REPEATS = 5
#: The quick model: gradient-boosted trees, small and fixed (no search).
QUICK_MODEL = {"n_estimators": 150, "max_depth": 4, "learning_rate": 0.1, "subsample": 0.8,
               "tree_method": "hist"}
#: Each task's headline metric of the quick model, and the scorer its permutation importance uses.
PRIMARY = {"regression": ("rmse", "neg_root_mean_squared_error"), "binary": ("auc", "roc_auc")}


class RankingError(ValueError):
    """The label rows cannot be ranked on (too few rows, a label the task cannot take)."""


@dataclass(frozen=True)
class Period:
    """Rows of a part of the data and the times they span."""

    rows: int
    start: str
    end: str

    @classmethod
    def of(cls, moments: pd.Series) -> "Period":
        return cls(int(len(moments)), moments.min().isoformat(), moments.max().isoformat())


@dataclass(frozen=True)
class FeatureScore:
    """One feature's figures. ``coverage``: share of all rows with a value at their time;
    ``mutual_information`` and ``association`` (AUC, or Spearman's rho in absolute value; None for
    strings) on the rows ranked on; ``permutation``: the hold-out's primary metric lost when the
    feature is shuffled (mean and standard deviation over repeats; 0 when not in the model)."""

    ref: str
    kind: str
    coverage: float
    mutual_information: float
    association: float | None
    permutation: float
    permutation_std: float
    in_model: bool


@dataclass
class Ranking:
    """The ranked features and the figures that say how far to trust them."""

    task: str
    label: str
    scores: list[FeatureScore]
    ranked_on: Period
    holdout: Period
    univariate_rows: int
    association_name: str
    metric: str
    model_metrics: dict[str, float] = field(default_factory=dict)
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    baseline: str = ""
    quick_model: dict[str, Any] = field(default_factory=dict)
    #: a number feature's median on the rows ranked on (what a drafted program fills a null with)
    fill_values: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  #: ``univariate``, ``quick_model``


def infer_task(labels: pd.Series) -> str:
    """``binary`` for a label of booleans or 0/1, ``regression`` for other numbers."""
    values = labels.dropna()
    if pd.api.types.is_bool_dtype(values) or (pd.api.types.is_numeric_dtype(values)
                                              and set(np.unique(values.to_numpy())) <= {0, 1}):
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        return "regression"
    raise RankingError(f"label {labels.name!r} is neither numbers nor booleans ({values.dtype}): "
                       "a regression label is a number, a classification label 0/1 or true/false")


def label_values(labels: pd.Series, task: str) -> np.ndarray:
    """The label as float64, checked against ``task``."""
    if task == "binary":
        if not (pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels)):
            raise RankingError(f"a classification label must be 0/1 or true/false; {labels.name!r} is "
                               f"{labels.dtype}")
        values = labels.astype("float64").to_numpy()
        found = sorted(set(np.unique(values)))
        if not set(found) <= {0.0, 1.0}:
            raise RankingError(f"a classification label must be 0/1 or true/false; {labels.name!r} has "
                               f"{found[:5]}{' ...' if len(found) > 5 else ''}")
        return values
    if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        raise RankingError(f"a regression label must be numbers; {labels.name!r} is {labels.dtype}")
    return labels.to_numpy(dtype="float64")


def encode(frame: pd.DataFrame, features: list[Candidate], fit_rows: np.ndarray) -> np.ndarray:
    """The features as a float matrix with NaN for nulls: numbers as they are, booleans 0/1,
    strings as codes of the values seen in ``fit_rows`` (a value unseen there is NaN)."""
    columns = []
    for candidate in features:
        values = frame[feature_column(candidate.ref)]
        if candidate.kind == "string":
            seen = pd.Index(sorted(values[fit_rows].dropna().astype(str).unique()))
            codes = seen.get_indexer(values.astype("string").fillna("\0"))
            columns.append(np.where(codes < 0, np.nan, codes).astype("float64"))
        else:
            columns.append(pd.to_numeric(values.astype("Float64"), errors="coerce")
                           .to_numpy(dtype="float64", na_value=np.nan))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def _imputed(X: np.ndarray, discrete: np.ndarray) -> np.ndarray:
    """Nulls as the column's median (numbers) or as a value of their own (-1: strings, booleans)."""
    out = X.copy()
    for j in range(X.shape[1]):
        missing = np.isnan(out[:, j])
        if missing.all():
            out[:, j] = 0.0
        elif missing.any():
            out[missing, j] = -1.0 if discrete[j] else np.nanmedian(out[:, j])
    return out


def _association(task: str, x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    if np.ptp(x) == 0 or len(np.unique(y)) < 2:
        return None
    if task == "binary":
        auc = float(roc_auc_score(y, x))
        return max(auc, 1.0 - auc)
    rho = spearmanr(x, y).statistic
    return None if np.isnan(rho) else float(abs(rho))


def univariate(task: str, X: np.ndarray, y: np.ndarray, kinds: list[str], seed: int
               ) -> tuple[np.ndarray, list[float | None], int]:
    """Mutual information with the label and the task's association, per column, on at most
    :data:`UNIVARIATE_ROWS` rows drawn with ``seed``; and how many rows that was."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(y), size=min(UNIVARIATE_ROWS, len(y)), replace=False))
    discrete = np.array([k != "number" for k in kinds], dtype=bool)
    Xs, ys = _imputed(X[take], discrete), y[take]
    if not X.shape[1]:
        return np.zeros(0), [], len(take)
    if task == "binary":
        mi = mutual_info_classif(Xs, ys.astype(int), discrete_features=discrete, random_state=seed)
    else:
        mi = mutual_info_regression(Xs, ys, discrete_features=discrete, random_state=seed)
    assoc = [None if kinds[j] == "string" else _association(task, Xs[:, j], ys) for j in range(X.shape[1])]
    return mi, assoc, len(take)


def quick_model(task: str, seed: int, workers: int) -> Any:
    """The small gradient-boosted model the multivariate ranking is measured with."""
    import xgboost

    cls = xgboost.XGBClassifier if task == "binary" else xgboost.XGBRegressor
    return cls(**QUICK_MODEL, random_state=seed, n_jobs=workers)


def rank(frame: pd.DataFrame, features: list[Candidate], *, label: str, timestamp_column: str, task: str,
         holdout_fraction: float = 0.3, seed: int = 0, workers: int = 2,
         progress: Any = None) -> Ranking:
    """Rank ``features`` (columns ``view__feature`` of ``frame``) for ``label``: the earlier
    rows are ranked on, the latest ``holdout_fraction`` of them (in time) are held out."""
    import time

    from sklearn.inspection import permutation_importance

    say = progress or (lambda _: None)
    frame = frame[frame[label].notna()].reset_index(drop=True)
    moment = frame[timestamp_column]
    positions = cutoff_positions(len(frame), 0.0, holdout_fraction)
    if len(frame) < 100 or positions["test"] < 50 or len(frame) - positions["test"] < 50:
        raise RankingError(f"{len(frame):,} rows with a label: ranking needs at least 100, 50 of them "
                           f"before and 50 in the hold-out (the latest {holdout_fraction:.0%})")
    cutoff = moment.sort_values(kind="stable").iloc[positions["test"]]
    masks = split_by_time(moment, {"validation": cutoff, "test": cutoff})
    early, late = masks["train"], masks["test"]
    if not early.any() or not late.any():
        raise RankingError(f"every row is at one time ({cutoff}): a hold-out later in time needs rows at "
                           "several times")
    y = label_values(frame[label], task)
    if task == "binary":
        for name, mask in (("the rows ranked on", early), ("the hold-out", late)):
            if len(np.unique(y[mask])) < 2:
                raise RankingError(f"{name} hold only one class of {label!r}: a classification needs both")

    X = encode(frame, features, early)
    coverage = 1.0 - np.isnan(X).mean(axis=0) if len(X) else np.zeros(len(features))
    kinds = [c.kind for c in features]
    say(f"univariate figures of {len(features)} features on {int(early.sum()):,} rows")
    t0 = time.perf_counter()
    X_early, y_early = X[early], y[early]
    mi, assoc, univariate_rows = univariate(task, X_early, y_early, kinds, seed)
    t1 = time.perf_counter()

    in_model = ~np.isnan(X_early).all(axis=0)
    metric, scorer = PRIMARY[task]
    used = np.flatnonzero(in_model)
    model = quick_model(task, seed, workers)
    say(f"quick model on {len(used)} features with a value before the hold-out, {int(early.sum()):,} rows")
    model.fit(X_early[:, used], y_early)
    X_late, y_late = X[late][:, used], y[late]
    predict = (lambda M: model.predict_proba(M)[:, 1]) if task == "binary" else model.predict
    model_metrics = compute_metrics(task, y_late, predict(X_late))
    baseline_value = float(np.mean(y_early))
    baseline_metrics = compute_metrics(task, y_late, np.full(len(y_late), baseline_value))

    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(y_late), size=min(PERMUTATION_ROWS, len(y_late)), replace=False))
    say(f"permutation importance on {len(take):,} hold-out rows, {PERMUTATION_REPEATS} repeats")
    permuted = permutation_importance(model, X_late[take], y_late[take], scoring=scorer,
                                      n_repeats=PERMUTATION_REPEATS, random_state=seed, n_jobs=1)
    perm_mean = np.zeros(len(features))
    perm_std = np.zeros(len(features))
    perm_mean[used], perm_std[used] = permuted.importances_mean, permuted.importances_std
    t2 = time.perf_counter()

    scores = [FeatureScore(c.ref, c.kind, float(coverage[j]), float(mi[j]), assoc[j], float(perm_mean[j]),
                           float(perm_std[j]), bool(in_model[j])) for j, c in enumerate(features)]
    scores.sort(key=lambda s: (-s.permutation, -s.mutual_information, s.ref))
    return Ranking(
        task=task, label=label, scores=scores, ranked_on=Period.of(moment[early]),
        holdout=Period.of(moment[late]), univariate_rows=univariate_rows,
        association_name="auc" if task == "binary" else "spearman", metric=metric,
        model_metrics=model_metrics, baseline_metrics=baseline_metrics, baseline=baseline_name(task),
        quick_model={"type": "xgboost", **QUICK_MODEL, "features": len(used),
                     "permutation_rows": len(take), "permutation_repeats": PERMUTATION_REPEATS},
        fill_values={c.ref: float(np.nanmedian(X_early[:, j])) for j, c in enumerate(features)
                     if c.kind == "number" and in_model[j]},
        seconds={"univariate": round(t1 - t0, 3), "quick_model": round(t2 - t1, 3)},
    )
