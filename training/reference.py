"""A model's reference sample: rows of its held-out test split as the model saw them, kept in
its artifact folder (``reference.parquet``) so monitoring computes drift without the training data.

Columns: ``input.<name>`` per model input (float64: the matrix the model was scored on, NaN =
null), ``raw.<ref>`` per program input (a request field by name, a feature as ``view:feature``,
as the entity rows and Feast gave them), ``prediction`` (the final model's) and ``label``. The
file's Parquet metadata (key ``fresco``) holds the model UUID, the inputs in order, each input's
kind (``categorical``: a ``categorical(...)`` or boolean output; else ``numerical``), the fitted
vocabulary of every ``categorical(...)`` input, the test split's row count and the seed the rows
were drawn with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.training import features as feats

REFERENCE_FILE = "reference.parquet"
INPUT, RAW = "input.", "raw."
_META_KEY = b"fresco"


class NoReferenceSample(LookupError):
    """A model has no reference sample (trained before they were kept)."""


@dataclass
class ReferenceSample:
    """The sampled rows and what describes them (see the module doc)."""

    frame: pd.DataFrame
    inputs: list[str]
    kinds: dict[str, str] = field(default_factory=dict)
    vocabularies: dict[str, list[Any]] = field(default_factory=dict)
    test_rows: int = 0
    seed: int = 0
    model_uuid: str = ""

    def meta(self) -> dict[str, Any]:
        return {"model_uuid": self.model_uuid, "inputs": self.inputs, "kinds": self.kinds,
                "vocabularies": self.vocabularies,
                "test_rows": self.test_rows, "seed": self.seed}


def reference_sample(test: pd.DataFrame, matrix: np.ndarray, predictions: np.ndarray, labels: np.ndarray, *,
                     inputs: list[str], program: Any, rows: int, seed: int,
                     model_uuid: str = "") -> ReferenceSample:
    """Up to ``rows`` rows of the test split (``test``: its frame; ``matrix``: its model inputs),
    drawn without replacement with ``seed``, in the split's order."""
    n = len(test)
    picked = np.sort(np.random.default_rng(seed).choice(n, size=min(rows, n), replace=False))
    columns: dict[str, Any] = {f"{INPUT}{name}": np.asarray(matrix, dtype=np.float64)[picked, i]
                               for i, name in enumerate(inputs)}
    for ref, column in feats.input_columns(program).items():
        columns[f"{RAW}{ref}"] = test[column].iloc[picked].reset_index(drop=True)
    columns["prediction"] = np.asarray(predictions, dtype=np.float64)[picked]
    columns["label"] = np.asarray(labels, dtype=np.float64)[picked]
    vocabularies = {k: v for k, v in feats.categorical_vocabularies(program).items() if k in inputs}
    booleans = feats.boolean_outputs(program)
    kinds = {name: "categorical" if name in vocabularies or name in booleans else "numerical" for name in inputs}
    return ReferenceSample(pd.DataFrame(columns), list(inputs), kinds, vocabularies, n, seed, model_uuid)


def write_reference(sample: ReferenceSample, folder: Path) -> Path:
    """``sample`` as ``folder/reference.parquet``, its description in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(sample.frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), _META_KEY: json.dumps(sample.meta()).encode()}
    path = Path(folder) / REFERENCE_FILE
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def read_reference(folder: Path, model: str) -> ReferenceSample:
    """The reference sample in artifact ``folder``; :class:`NoReferenceSample` naming ``model``
    (its name and UUID) when the model was trained before samples were kept."""
    import pyarrow.parquet as pq

    path = Path(folder) / REFERENCE_FILE
    if not path.is_file():
        raise NoReferenceSample(f"model {model} was trained before reference samples were kept "
                                f"(no {REFERENCE_FILE} in {folder}); retrain it to get drift reports")
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    return ReferenceSample(table.to_pandas(), list(meta.get("inputs", [])), meta.get("kinds", {}),
                           meta.get("vocabularies", {}),
                           int(meta.get("test_rows", 0)), int(meta.get("seed", 0)), meta.get("model_uuid", ""))
