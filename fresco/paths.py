"""Where Fresco keeps its local state (never inside git)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FEATURE_REPO = PROJECT_ROOT / "feature_repo"


def state_dir() -> Path:
    """The folder for local state: model store, Spark warehouse, service data.

    ``$FRESCO_HOME`` when set, otherwise ``.fresco/`` at the project root.
    """
    path = Path(os.environ.get("FRESCO_HOME", PROJECT_ROOT / ".fresco"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Downloads that survive ``git clean`` (Cassandra jars): ``$FRESCO_CACHE`` or ``~/.cache/fresco``."""
    path = Path(os.environ.get("FRESCO_CACHE", Path.home() / ".cache" / "fresco"))
    path.mkdir(parents=True, exist_ok=True)
    return path
