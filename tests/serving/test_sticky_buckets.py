"""An experiment's sticky bucket depends on the key's value, not on the Python type carrying it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from fresco.serving.routing import Experiment, canonical_key_value

EXPERIMENT = Experiment(name="eta-ab", tag="eta:production", arms={"a": 1, "b": 1})


@pytest.mark.parametrize("same", [
    [7, 7.0, np.int64(7), np.int32(7), np.float32(7.0), np.float64(7.0)],
    [2**62, np.int64(2**62), np.uint64(2**62)],
    [0.25, np.float64(0.25), np.float32(0.25)],
    [True, np.bool_(True)],
    ["7", np.str_("7")],
    [datetime(2026, 1, 1, 8, tzinfo=timezone.utc), datetime(2026, 1, 1, 8),
     datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=1))),
     pd.Timestamp("2026-01-01T08:00:00Z"), np.datetime64("2026-01-01T08:00:00")],
    [None, float("nan"), np.float64("nan")],
], ids=["int", "big-int", "float", "bool", "str", "time", "null"])
def test_equal_values_share_a_bucket_whatever_their_type(same: list) -> None:
    buckets = {EXPERIMENT.bucket([v]) for v in same}
    assert len(buckets) == 1, [(type(v).__name__, EXPERIMENT.bucket([v])) for v in same]


def test_different_values_and_kinds_are_different_keys() -> None:
    keys = [7, 8, "7", True, 1, 7.5, None, "", datetime(2026, 1, 1, tzinfo=timezone.utc)]
    assert len({EXPERIMENT.bucket([v]) for v in keys}) == len(keys)
    assert EXPERIMENT.bucket([1, 23]) != EXPERIMENT.bucket([12, 3])  # no collision by joining
    assert EXPERIMENT.bucket(["a|b"]) != EXPERIMENT.bucket(["a", "b"])


def test_buckets_spread_evenly_and_depend_on_the_experiment() -> None:
    buckets = np.array([EXPERIMENT.bucket([i]) for i in range(4000)])
    assert np.histogram(buckets, bins=4, range=(0, 1))[0].min() > 850  # 1000 expected per bin
    other = Experiment(name="eta-ab-2", tag="eta:production", arms={"a": 1, "b": 1})
    assert [other.bucket([i]) for i in range(20)] != list(buckets[:20])


def test_a_value_of_another_type_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="got dict"):
        canonical_key_value({"id": 7})
