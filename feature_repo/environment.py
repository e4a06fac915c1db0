"""Which Feast configuration is active, so the definitions pick matching batch sources.

Feast imports ``definitions.py`` without telling it which ``feature_store.yaml`` is in use.
Fresco finds it the way the stock CLI does: ``FEAST_FS_YAML_FILE_PATH`` (Feast's own
environment variable), else the ``-f/--feature-store-yaml`` option of the running ``feast``
command, else ``feature_store.yaml`` in the repository.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

REPO_DIR = Path(__file__).resolve().parent
DEFAULT_YAML = REPO_DIR / "feature_store.yaml"
PRODUCTION_YAML = REPO_DIR / "feature_store.production.yaml"


def _yaml_from_argv(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("-f", "--feature-store-yaml") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--feature-store-yaml="):
            return arg.split("=", 1)[1]
    return None


def active_yaml() -> Path:
    """The ``feature_store.yaml`` this process applies or reads."""
    chosen = os.environ.get("FEAST_FS_YAML_FILE_PATH") or _yaml_from_argv(sys.argv)
    if chosen:
        return Path(chosen).resolve()
    local = Path.cwd() / "feature_store.yaml"
    return local if local.exists() else DEFAULT_YAML


def offline_store_type(path: Path | None = None) -> str:
    """``file`` (embedded default) or ``spark`` (production), read from the active yaml."""
    config = yaml.safe_load((path or active_yaml()).read_text()) or {}
    offline = config.get("offline_store") or {}
    return str(offline.get("type", "file")) if isinstance(offline, dict) else str(offline)
