"""PySpark's worker daemon with Fresco's scoring stack imported before it forks workers.

Spark starts one Python daemon per executor (``python -m <spark.python.daemon.module>``), which
forks a worker for each Python task. Each worker used to import what the task's function needs
(pandas, pyarrow, XGBoost, which imports scikit-learn and SciPy): about 3.4 s per worker, paid by
every batch job however small. Imported here, in the daemon, it is paid once per executor and
inherited by every fork. :func:`fresco.platform.spark.spark_session` names this module; Spark's
setting is ``spark.python.daemon.module`` (PySpark's own ``pyspark.daemon`` runs underneath,
unchanged). A module that fails to import is skipped: the worker imports it itself, as before.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

#: imported before the first fork (each optional: a missing one is left to the workers)
PRELOADED = ("numpy", "pandas", "pyarrow", "xgboost", "fresco.dsl", "fresco.platform.logs",
             "fresco.training.features", "fresco.training.artifacts", "fresco.serving.batch")


def prefer_installed_pyspark() -> list[str]:
    """Drop from ``sys.path`` the ``pyspark.zip`` Spark puts first on its workers' path when it
    is the installed pyspark package's own copy (a pip install): the package itself is imported
    instead, from bytecode compiled once, where Python compiles a zip's sources on every start
    (about 1 s per daemon). A Spark distribution elsewhere (``SPARK_HOME`` on a cluster) keeps
    its zip; py4j's small zip stays. Returns the entries dropped."""
    dropped = []
    for entry in list(sys.path):
        zipped = Path(entry)
        if zipped.name == "pyspark.zip" and zipped.parent.name == "lib" and zipped.parent.parent.name == "python":
            package = zipped.parent.parent.parent  # .../site-packages/pyspark
            if (package / "__init__.py").exists() and str(package.parent) in sys.path:
                sys.path.remove(entry)
                dropped.append(entry)
    return dropped


def preload(modules: tuple[str, ...] = PRELOADED) -> list[str]:
    """Import ``modules``; the names that imported."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a worker that needs it raises the real error itself
            continue
        loaded.append(name)
    return loaded


if __name__ == "__main__":
    prefer_installed_pyspark()
    preload()
    from pyspark.daemon import manager

    manager()
