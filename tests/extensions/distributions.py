"""Real installed distributions for extension tests, written by hand into a folder.

A folder holding ``<name>-<version>.dist-info/`` (``METADATA``, ``entry_points.txt``) and the
distribution's modules is exactly what ``pip install --target`` leaves behind: put it on
``sys.path`` (or ``PYTHONPATH``) and :mod:`importlib.metadata` finds its entry points.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def write_distribution(
    root: Path,
    name: str,
    version: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, Mapping[str, str]],
) -> Path:
    """Write distribution ``name`` ``version`` into ``root`` and return ``root`` (the folder to
    put on the path). ``modules`` maps file paths (``my_ext/funcs.py``) to source;
    ``entry_points`` maps group -> entry point name -> ``module:attr``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, source in modules.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{ep} = {value}" for ep, value in points.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    record = [f"{rel},," for rel in modules]
    record += [f"{info.name}/{f},," for f in ("METADATA", "entry_points.txt", "RECORD")]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return root


FUNCTIONS_SOURCE = """
    import numpy as np


    def register(registry):
        @registry.function(["float"], "float")
        def km_to_miles(x):
            return x * 0.621371

        registry.register("items_squared", ["int"], "float", lambda n: (n * n).astype("float64"))
"""

#: the same functions, but version 0.2 changed ``km_to_miles``'s signature
FUNCTIONS_SOURCE_V2 = """
    import numpy as np


    def register(registry):
        registry.register("km_to_miles", ["float", "float"], "float", lambda x, k: x * k)
        registry.register("items_squared", ["int"], "float", lambda n: (n * n).astype("float64"))
"""

TRAINER_SOURCE = """
    import json

    import numpy as np
    from pydantic import Field

    from fresco.training.trainers.base import Trainer, TrainerParams, normalise


    class LeastSquaresParams(TrainerParams):
        ridge: float = Field(0.0, ge=0)


    class LeastSquaresTrainer(Trainer):
        name = "least_squares"
        tasks = ("regression",)
        Params = LeastSquaresParams

        def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress=lambda _: None):
            p = LeastSquaresParams.model_validate(params)
            A = np.column_stack([np.nan_to_num(X), np.ones(len(X))])
            coef = np.linalg.lstsq(A.T @ A + p.ridge * np.eye(A.shape[1]), A.T @ y, rcond=None)[0]
            return {"coef": coef.tolist()}

        def predict(self, model, X):
            A = np.column_stack([np.nan_to_num(X), np.ones(len(X))])
            return A @ np.asarray(model["coef"])

        def feature_importance(self, model, feature_names):
            return normalise(dict(zip(feature_names, np.abs(model["coef"][:-1]))), feature_names)

        def save(self, model, folder):
            (folder / "least_squares.json").write_text(json.dumps(model))

        def load(self, folder):
            return json.loads((folder / "least_squares.json").read_text())


    TRAINER = LeastSquaresTrainer()
"""
