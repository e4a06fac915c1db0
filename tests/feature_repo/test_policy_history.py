"""The catalog's history: a feature or view removed and re-added keeps the meaning it had.

Rules-level (Feast's own objects as protos; the `feast apply` path is in test_policy.py)."""

from __future__ import annotations

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast import ValueType as EntityValueType
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.protos.feast.types.Value_pb2 import ValueType
from feast.types import Float64, Int64

from fresco.platform.policy.rules import evaluate_catalog, merged_history

SHOP = Entity(name="shop", join_keys=["shop_id"], value_type=EntityValueType.INT64)


def view(path: str, **features) -> object:
    """Feature view ``v`` of project ``p`` reading ``path``, with ``features`` (name -> type)."""
    return FeatureView(
        name="v", entities=[SHOP], ttl=timedelta(days=1),
        schema=[Field(name=n, dtype=t) for n, t in features.items()],
        source=FileSource(name=f"src_{path}", path=path, timestamp_field="ts"),
        owner="team@x", description="d", tags={"freshness_sla": "1d"},
    ).to_proto()


def errors(desired: list, history: list, stored: list | None = None) -> list[str]:
    for p in [*desired, *(stored or [])]:
        p.spec.project = "p"
    registry = RegistryProto()
    registry.feature_views.extend(stored or [])
    return evaluate_catalog(registry, desired, project="p", history=history).errors


def registered(*views) -> list:
    history: list = []
    for v in views:
        v.spec.project = "p"
        history = merged_history(history, [v])
    return history


def test_a_removed_view_re_added_with_another_source_is_refused() -> None:
    history = registered(view("a.parquet", f1=Int64))
    assert errors([view("a.parquet", f1=Int64)], history) == []  # the same meaning: fine
    [problem] = errors([view("b.parquet", f1=Int64)], history)  # v is not stored any more
    assert "feature view 'v' reads its batch source from FileSource(a.parquet" in problem
    assert "changes it to FileSource(b.parquet" in problem


def test_a_removed_feature_re_added_with_another_type_is_refused() -> None:
    history = registered(view("a.parquet", f1=Int64, f2=Float64))
    stored_without_f1 = view("a.parquet", f2=Float64)
    [problem] = errors([view("a.parquet", f1=Float64, f2=Float64)], history, [stored_without_f1])
    assert problem.startswith("feature 'v:f1' is registered as INT64; this apply changes it to DOUBLE")


def test_a_view_moved_to_a_new_source_with_new_features_keeps_both_histories() -> None:
    history = registered(view("a.parquet", f1=Int64))
    assert errors([view("b.parquet", g1=Int64)], history) == []  # new features, new source: fine
    history = merged_history(history, [view("b.parquet", g1=Int64)])
    history[-1].spec.project = "p"
    assert len(errors([view("b.parquet", g1=Int64, f1=Int64)], history)) == 1  # f1 came from a
    assert len(errors([view("a.parquet", g1=Int64)], history)) == 1  # g1 comes from b
    assert errors([view("b.parquet", g1=Int64, g2=Float64)], history) == []


def test_the_history_keeps_a_features_first_type_and_forgets_nothing() -> None:
    history = registered(view("a.parquet", f1=Int64), view("a.parquet", f2=Float64))
    assert merged_history(history, []) == history  # nothing registered: nothing forgotten
    [entry] = history
    assert [(f.name, ValueType.Enum.Name(f.value_type)) for f in entry.spec.features] == [
        ("f1", "INT64"), ("f2", "DOUBLE")]
