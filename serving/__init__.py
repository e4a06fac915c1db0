"""Fresco serving: predictions online (BentoML HTTP), offline (Spark) and in-process.

Public surface (the CLI and the HTTP service use only this):

- :class:`Predictor` -> :class:`PredictionResult`: the in-process predictor (route, online
  features, DSL program, model); :func:`default_predictor` builds one from the environment
- :class:`Experiment`: a sticky, weighted traffic split of a tag (kept in the model repository)
- :func:`build_bento`: a Bento of the service holding models (``fresco.serving.bundle``)
- :func:`predict_batch`: score a Parquet dataset or Hive table on Spark with the same program
  and model, writing predictions with the model UUID and tag
- errors: :class:`ServingError` and its HTTP-mapped kinds
- the BentoML service lives in ``fresco.serving.service:FrescoService`` (``bentoml serve``)
"""

from fresco.serving.errors import (
    BadRequest,
    ExtensionUnavailable,
    InvalidValue,
    ModelUnavailable,
    ServingError,
    StoreUnavailable,
    UnknownModel,
)
from fresco.serving.predictor import PredictionResult, Predictor, RowPrediction, default_predictor
from fresco.serving.routing import Experiment

__all__ = [
    "BadRequest",
    "Experiment",
    "ExtensionUnavailable",
    "InvalidValue",
    "ModelUnavailable",
    "PredictionResult",
    "Predictor",
    "RowPrediction",
    "ServingError",
    "StoreUnavailable",
    "UnknownModel",
    "build_bento",
    "default_predictor",
]


def __getattr__(name: str):
    if name == "predict_batch":
        from fresco.serving.batch import predict_batch

        return predict_batch
    if name == "build_bento":
        from fresco.serving.bundle import build_bento

        return build_bento
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
