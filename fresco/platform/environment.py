"""Which Feast configuration is active, so a repository's definitions can pick matching sources.

Feast imports ``definitions.py`` without telling it which ``feature_store.yaml`` is in use.
Fresco finds it the way the stock CLI does: ``FEAST_FS_YAML_FILE_PATH`` (Feast's own
environment variable), else the ``-f/--feature-store-yaml`` option of the running ``feast``
command, else ``feature_store.yaml`` of the repository (:mod:`fresco.platform.repo`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from fresco.platform.repo import YAML_ENV, YAML_NAME, find_repo


def _yaml_from_argv(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("-f", "--feature-store-yaml") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--feature-store-yaml="):
            return arg.split("=", 1)[1]
    return None


def active_yaml(repo: Path | None = None) -> Path | None:
    """The ``feature_store.yaml`` this process applies or reads (None when there is none)."""
    chosen = os.environ.get(YAML_ENV) or _yaml_from_argv(sys.argv)
    if chosen:
        return Path(chosen).resolve()
    repo = repo or find_repo()
    local = repo / YAML_NAME if repo is not None else None
    return local if local is not None and local.exists() else None


def offline_store_type(path: Path | None = None, repo: Path | None = None) -> str:
    """The active yaml's offline store type: ``file`` (embedded default), ``spark``, or a class path.

    ``file`` when no yaml is found (Feast's own default).
    """
    path = path or active_yaml(repo)
    if path is None:
        return "file"
    config = yaml.safe_load(path.read_text()) or {}
    offline = config.get("offline_store") or {}
    return str(offline.get("type", "file")) if isinstance(offline, dict) else str(offline)
