"""Loading a trained model for prediction: from its artifact folder, or from the repository.

An artifact folder is a BentoML model folder written by :meth:`ModelRepository.save`: the
trainer's files, ``program.json`` (the fitted DSL program) and ``fresco.json`` (UUID, name,
type, task, label, ordered inputs, and ``extensions``: the user DSL functions and the custom
trainer the model needs, with the entry point or module and the distribution that provided
each; ``partitioning`` for a partitioned model, whose ``partitions.json`` and ``partitions/``
hold its partitions: :mod:`fresco.training.partitioning`). It is self-contained, so a Bento that bundles the folder serves the model without the
repository's database (:func:`load_artifact`) - as long as the extensions it names are
installed: loading refuses with a ``dsl.ExtensionError`` naming what to install.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.training import features as feats
from fresco.training.partitioning import artifact_trainer, is_partitioned
from fresco.training.repository import ModelRepository
from fresco.training.trainers import trainer_for

ARTIFACT_FILES = ("fresco.json", "program.json")


class ArtifactError(LookupError):
    """A folder is not a Fresco model artifact (or is incomplete)."""


@dataclass
class TrainedModel:
    """A stored model, loaded for prediction (what serving needs)."""

    uuid: str
    name: str
    model_type: str
    task: str
    label: str
    inputs: list[str]
    program_json: str
    path: Path
    _trainer: Any
    _model: Any
    _program: Any = None
    _functions: Any = None  # the user DSL functions the program calls (a FunctionRegistry)

    @property
    def estimator(self) -> Any:
        """The trainer's own model object, to read (an XGBoost ``Booster``; for a partitioned
        model its :class:`~fresco.training.partitioning.PartitionedModel`): the UI's tree viewer."""
        return self._model

    @property
    def program(self) -> Any:
        """The fitted DSL program (statistics frozen at training)."""
        if self._program is None:
            self._program = feats.program_from_json(self.program_json, self._functions)
        return self._program

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Predictions for a matrix whose columns are :attr:`inputs`, in order (NaN = null)."""
        return self._trainer.predict(self._model, np.asarray(matrix, dtype=np.float64))

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """The model-input matrix for a frame of request fields and ``view__feature`` columns."""
        return feats.to_matrix(feats.apply_program(self.program, frame), self.inputs)

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict(self.features(frame))

    def answered_by(self, matrix: np.ndarray) -> list[str] | None:
        """The partition that answers each row of ``matrix`` (a partitioned model), else None."""
        return self._trainer.answered_by(self._model, np.asarray(matrix, dtype=np.float64))

    def predict_answered(self, matrix: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
        """:meth:`predict` and :meth:`answered_by` of ``matrix``, its rows routed once."""
        return self._trainer.predict_answered(self._model, np.asarray(matrix, dtype=np.float64))


def read_artifact_meta(path: str | Path) -> dict[str, Any]:
    """``fresco.json`` of an artifact folder (UUID, name, model type, task, label, inputs)."""
    path = Path(path)
    missing = [f for f in ARTIFACT_FILES if not (path / f).is_file()]
    if missing:
        raise ArtifactError(f"{path} is not a Fresco model artifact: missing {', '.join(missing)}")
    return json.loads((path / "fresco.json").read_text())


def _artifact_functions(meta: dict[str, Any]) -> Any:
    """The user DSL functions an artifact's ``fresco.json`` names, required (``dsl.ExtensionError``
    naming what to install when one is missing or changed)."""
    return feats.functions_for_artifact((meta.get("extensions") or {}).get("functions") or {})


def load_artifact(path: str | Path) -> TrainedModel:
    """Load a model from its artifact folder alone (no repository needed).

    The user functions and custom trainer its ``extensions`` name are required first, so a
    missing or changed one fails here (``dsl.ExtensionError``), not at the first prediction.
    """
    path = Path(path)
    meta = read_artifact_meta(path)
    extensions = meta.get("extensions") or {}
    functions = _artifact_functions(meta)
    trainer = artifact_trainer(trainer_for(meta["model_type"], extensions.get("trainer")), meta)
    program_json = (path / "program.json").read_text()
    return TrainedModel(
        uuid=meta["uuid"], name=meta["name"], model_type=meta["model_type"], task=meta["task"],
        label=meta["label"], inputs=list(meta["inputs"]), program_json=program_json,
        path=path, _trainer=trainer, _model=trainer.load(path),
        _program=feats.program_from_json(program_json, functions), _functions=functions,
    )


def load_model(ref: str, repository: ModelRepository | None = None) -> TrainedModel:
    """Load a model by UUID (or unique prefix), Fresco tag (``churn:production``) or BentoML tag."""
    repository = repository or ModelRepository()
    return load_artifact(repository.artifact_path(repository.resolve(ref)))


@dataclass(frozen=True)
class PortableModel:
    """A stored model for another process or machine (a Spark task): its artifact folder's files
    as bytes, from which the caller reads what it needs before predicting (UUID, inputs, fitted
    program).

    The model itself is loaded on the first :meth:`predict` in the process that calls it, once per
    process, so the process that ships it (a Spark driver) never imports the trainer's library.
    The drift reference sample stays behind: prediction does not read it."""

    files: dict[str, bytes]  # path in the artifact folder -> contents

    @property
    def meta(self) -> dict[str, Any]:
        """The artifact's ``fresco.json``."""
        return json.loads(self.files["fresco.json"])

    @property
    def uuid(self) -> str:
        return str(self.meta["uuid"])

    @property
    def inputs(self) -> list[str]:
        return list(self.meta["inputs"])

    @property
    def program(self) -> Any:
        """The fitted DSL program (its user functions required, as :func:`load_artifact` does)."""
        return feats.program_from_json(self.files["program.json"].decode(), _artifact_functions(self.meta))

    @property
    def partitioned(self) -> bool:
        """Whether the model is partitioned (its answers name their partition)."""
        return is_partitioned(self.meta)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Predictions for a matrix whose columns are :attr:`inputs`, in order (NaN = null)."""
        return _loaded_here(self).predict(matrix)

    def predict_answered(self, matrix: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
        """:meth:`predict` and the partition that answers each row (a partitioned model; else None)."""
        return _loaded_here(self).predict_answered(matrix)


_LOADED_HERE: dict[str, TrainedModel] = {}


def _loaded_here(model: PortableModel) -> TrainedModel:
    """``model`` loaded in this process (from its files, written to a folder that is removed
    once loaded), the first time it is asked for."""
    import tempfile

    if model.uuid not in _LOADED_HERE:
        with tempfile.TemporaryDirectory(prefix="fresco-model-") as folder:
            for name, data in model.files.items():
                (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(folder) / name).write_bytes(data)
            _LOADED_HERE[model.uuid] = load_artifact(folder)
    return _LOADED_HERE[model.uuid]


def portable_model(ref: str, repository: ModelRepository | None = None) -> PortableModel:
    """The model ``ref`` (as :func:`load_model` takes it) as a :class:`PortableModel`, read from
    its artifact folder without loading the model."""
    from fresco.training.reference import REFERENCE_FILE

    repository = repository or ModelRepository()
    path = repository.artifact_path(repository.resolve(ref))
    read_artifact_meta(path)  # a folder that is not an artifact is refused here, by name
    return PortableModel({f.relative_to(path).as_posix(): f.read_bytes() for f in sorted(path.rglob("*"))
                          if f.is_file() and f.relative_to(path).as_posix() != REFERENCE_FILE})
