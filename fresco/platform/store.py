"""Open and apply a feature repository from Python (the repository found by :mod:`.repo`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fresco.platform.repo import YAML_ENV, resolve_repo, resolve_yaml

if TYPE_CHECKING:
    from feast import FeatureStore


class ApplyError(RuntimeError):
    """``feast apply`` failed; the message carries Feast's (and the catalog policy's) output."""


def open_store(repo_path: Path | str | None = None, yaml_path: Path | str | None = None) -> "FeatureStore":
    """The ``FeatureStore`` of the feature repository (``repo_path``, else ``$FRESCO_FEATURE_REPO``,
    else the current directory) with its configuration (``yaml_path``, else
    ``$FEAST_FS_YAML_FILE_PATH``, else the repository's ``feature_store.yaml``)."""
    from feast import FeatureStore

    repo = resolve_repo(repo_path)
    return FeatureStore(repo_path=str(repo), fs_yaml_file=resolve_yaml(repo, yaml_path))


def apply_catalog(repo_path: Path | str | None = None, yaml_path: Path | str | None = None) -> str:
    """Run the stock ``feast apply`` (with Fresco's catalog policy) in the feature repository.

    It runs as a child process, exactly as a user would type it: Feast imports the
    repository's definitions as top-level modules, which a long-lived process would cache.
    Returns Feast's output; raises :class:`ApplyError` with it when the apply is refused.
    """
    repo = resolve_repo(repo_path)
    config = resolve_yaml(repo, yaml_path)
    feast = Path(sys.executable).with_name("feast")
    env = {**os.environ, YAML_ENV: str(config)}
    result = subprocess.run(
        [str(feast), "-f", str(config), "apply"], cwd=repo, env=env, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        lines = [line for line in output.splitlines() if line.strip()]
        raise ApplyError(f"feast apply failed in {repo}:\n" + "\n".join(lines[-15:]))
    return output
