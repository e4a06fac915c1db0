"""Which catalog features each output of a program reads (``feature_lineage``)."""

from __future__ import annotations

import pytest

from fresco.dsl import DSLSyntaxError, feature_lineage


def test_each_output_reads_its_own_features_and_those_of_the_outputs_it_names() -> None:
    source = (
        "hour = hour_of_day(@req.placed_at)\n"
        "prep = fill(@fs.stats.avg_prep, 15.0)\n"
        "recent = coalesce(@fs.live.prep_1h, prep)\n"
        "load = float(fill(@fs.live.orders_1h, 0)) / float(@fs.profile.capacity)\n"
        "busy = if hour in [12, 19] then load * recent else load\n"
    )
    assert feature_lineage(source) == {
        "hour": [],
        "prep": ["stats:avg_prep"],
        "recent": ["live:prep_1h", "stats:avg_prep"],
        "load": ["live:orders_1h", "profile:capacity"],
        "busy": ["live:orders_1h", "profile:capacity", "live:prep_1h", "stats:avg_prep"],
    }


def test_a_syntax_error_is_raised_with_its_place() -> None:
    with pytest.raises(DSLSyntaxError, match="line 2"):
        feature_lineage("a = @fs.v.x\nb = (a +\n")
