"""A model's reference sample (:mod:`fresco.training.reference`: seeded rows of its held-out test
split, their model inputs, predictions and labels) and the model itself, loaded by
:func:`fresco.training.load_model`, for the evaluation curves and partial dependence; read once
per UUID (a stored model never changes), the last few kept."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from fresco.training import ModelRecord, TrainedModel, load_model
from fresco.training import features as feats
from fresco.training.reference import INPUT, NoReferenceSample, ReferenceSample, read_reference
from fresco.ui.errors import BadRequest
from fresco.ui.sources import Sources

_KEPT = 8
_SAMPLES: dict[str, ReferenceSample] = {}
_MODELS: dict[str, TrainedModel] = {}
_reading = threading.Lock()


def _kept(cache: dict[str, Any], uuid: str, read: Any) -> Any:
    with _reading:
        if uuid not in cache:
            if len(cache) >= _KEPT:
                cache.pop(next(iter(cache)))
            cache[uuid] = read()
        return cache[uuid]


def reference_of(src: Sources, record: ModelRecord, field: str = "ref") -> ReferenceSample:
    """The model's reference sample; a 400 naming ``field`` when it was trained before samples were kept."""
    def read() -> ReferenceSample:
        return read_reference(src.models.artifact_path(record.uuid), f"{record.name} ({record.uuid})")

    try:
        return _kept(_SAMPLES, record.uuid, read)
    except NoReferenceSample as err:
        raise BadRequest(str(err), field=field) from None


def model_of(src: Sources, record: ModelRecord) -> TrainedModel:
    """The model, loaded as every scoring path loads it (:func:`fresco.training.load_model`)."""
    return _kept(_MODELS, record.uuid, lambda: load_model(record.uuid, src.models))


def input_matrix(sample: ReferenceSample, model: TrainedModel) -> np.ndarray:
    """The sample's model inputs as the model's input matrix, in the model's input order
    (:func:`fresco.training.features.to_matrix`)."""
    outputs = sample.frame[[f"{INPUT}{name}" for name in sample.inputs]]
    return feats.to_matrix(outputs.rename(columns=lambda c: c.removeprefix(INPUT)), model.inputs)
