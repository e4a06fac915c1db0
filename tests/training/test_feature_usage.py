"""Which models use a catalog feature and its share of their importance (``feature_uses``)."""

from __future__ import annotations

from fresco.dsl import compile_program, DType
from fresco.training.feature_usage import feature_uses
from fresco.training.repository import ModelRecord

PROGRAM = (
    "prep = fill(@fs.stats.avg_prep, 15.0)\n"
    "recent = coalesce(@fs.live.prep_1h, prep)\n"
    "items = @req.num_items\n"
)


def _record(uuid: str, importance: dict[str, float], refs: list[str], program: str = PROGRAM) -> ModelRecord:
    types = {"stats:avg_prep": DType.FLOAT, "live:prep_1h": DType.FLOAT, "num_items": DType.INT}
    return ModelRecord(
        uuid=uuid, name=f"model-{uuid}", model_type="xgboost", task="regression", label="y",
        inputs=list(importance), author="me", started_at="", finished_at="", config={},
        dataset={"feature_refs": refs}, metrics={}, baseline={}, feature_importance=importance,
        learnt_parameters={}, program=compile_program(program, input_types=types).to_json() if program else "")


def test_a_features_share_is_that_of_every_input_reading_it_directly_or_through_another() -> None:
    record = _record("a", {"prep": 0.5, "recent": 0.3, "items": 0.2}, ["stats:avg_prep", "live:prep_1h", "extra:unused"])
    uses = feature_uses([record])
    assert [u.importance_share for u in uses["stats:avg_prep"]] == [0.8]  # prep and recent read it
    assert [u.importance_share for u in uses["live:prep_1h"]] == [0.3]
    assert [u.importance_share for u in uses["extra:unused"]] == [0.0]  # retrieved, read by no input
    assert uses["stats:avg_prep"][0].name == "model-a"


def test_a_model_without_importances_or_program_uses_a_feature_without_a_share() -> None:
    uses = feature_uses([_record("b", {}, ["stats:avg_prep"]), _record("c", {"x": 1.0}, ["stats:avg_prep"], "")])
    assert [(u.uuid, u.importance_share) for u in uses["stats:avg_prep"]] == [("b", None), ("c", None)]
