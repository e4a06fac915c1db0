"""Fitted transforms: computing their constants from training data, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import ir
from .errors import DSLFitError
from .types import DType


def fit_constants(node: ir.Fitted, values: np.ndarray, mask: np.ndarray | None) -> dict[str, Any]:
    """Constants for one fitted node from its argument's training values.

    ``values``/``mask`` are the pandas back end's representation of the argument (float
    arrays use NaN for null). Only finite, non-null values are used for numeric statistics.
    """
    if node.kind == "categorical":
        present = values if mask is None else values[~mask]
        if node.arg.dtype is DType.INT:
            counts = Counter(int(v) for v in present.tolist())
        else:
            counts = Counter(present.tolist())
        return categorical_constants(node, counts)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise no_finite_values(node)
    if node.kind == "standardize":
        return standardize_constants(float(np.mean(finite)), float(np.std(finite)))
    if node.kind == "minmax_scale":
        return minmax_constants(float(finite.min()), float(finite.max()))
    if node.kind == "quantile_bucketize":
        return quantile_constants(np.quantile(finite, quantile_levels(node)).tolist())
    raise DSLFitError(f"unknown fitted transform {node.kind!r}")


# The rules from a fitted node's statistics to its constants, shared by every back end that
# fits (pandas on arrays, Spark with aggregates).

def no_finite_values(node: ir.Fitted) -> DSLFitError:
    return DSLFitError(f"{node.kind}() has no finite non-null training values to fit on")


def standardize_constants(mean: float, std: float) -> dict[str, Any]:
    """``standardize``: the mean and the population standard deviation (1 when 0)."""
    return {"mean": mean, "scale": std if std > 0 and np.isfinite(std) else 1.0}


def minmax_constants(low: float, high: float) -> dict[str, Any]:
    """``minmax_scale``: the minimum and the range (1 when 0)."""
    span = high - low
    return {"min": low, "scale": span if span > 0 and np.isfinite(span) else 1.0}


def quantile_levels(node: ir.Fitted) -> list[float]:
    """``quantile_bucketize(x, n)``: the n-1 inner quantile levels, 1/n ... (n-1)/n."""
    n = node.options[0]
    return [i / n for i in range(1, n)]


def quantile_constants(quantiles: list[float]) -> dict[str, Any]:
    """``quantile_bucketize``: the distinct quantiles (linear interpolation) as bucket edges."""
    return {"edges": sorted({float(q) for q in quantiles})}


def categorical_constants(node: ir.Fitted, counts: Mapping[Any, int]) -> dict[str, Any]:
    """``categorical``: values by count (most frequent first, ties by value), the top k kept."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if node.options:
        ranked = ranked[: node.options[0]]
    return {"vocabulary": [k for k, _ in ranked]}


def check_constants(node: ir.Fitted, params: Any) -> dict[str, Any]:
    """Validate constants loaded from an artifact for ``node``."""
    want = {
        "standardize": ("mean", "scale"),
        "minmax_scale": ("min", "scale"),
        "quantile_bucketize": ("edges",),
        "categorical": ("vocabulary",),
    }[node.kind]
    if not isinstance(params, dict) or set(params) != set(want):
        raise DSLFitError(f"fitted constants for {node.key} ({node.kind}) must have keys {want}")
    for k in ("mean", "scale", "min"):
        if k in params:
            v = params[k]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
                raise DSLFitError(f"fitted constant {k} of {node.key} must be a finite number")
            if k == "scale" and v == 0:
                raise DSLFitError(f"fitted scale of {node.key} must not be 0")
            params = {**params, k: float(v)}
    if "edges" in params:
        edges = [float(e) for e in params["edges"]]
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise DSLFitError(f"fitted edges of {node.key} must be strictly increasing")
        params = {"edges": edges}
    if "vocabulary" in params:
        vocab = list(params["vocabulary"])
        kind = str if node.arg.dtype is DType.STRING else int
        if any(type(v) is not kind for v in vocab) or len(set(vocab)) != len(vocab):
            raise DSLFitError(f"fitted vocabulary of {node.key} must be distinct {kind.__name__}s")
        params = {"vocabulary": vocab}
    return params
