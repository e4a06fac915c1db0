"""Raw example data and the feature-group batch jobs of the delivery-time example.

- :mod:`fresco.example.pipelines.generate`: seeded raw restaurants and orders (Parquet).
- :mod:`fresco.example.pipelines.feature_groups`: one Spark job per feature group, written to
  Parquet (embedded default) or Hive (production).

Names are imported lazily so ``python -m fresco.example.pipelines.<module>`` runs cleanly and
importing the generator does not import Spark.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RawData": "generate",
    "generate_raw": "generate",
    "restaurant_profile": "feature_groups",
    "restaurant_stats_7d": "feature_groups",
    "restaurant_realtime": "feature_groups",
    "write_parquet": "feature_groups",
    "write_hive_table": "feature_groups",
    "run_feature_groups": "feature_groups",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
