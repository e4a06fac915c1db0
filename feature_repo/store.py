"""Open, apply and materialize the Feast repository from Python."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from feast import FeatureStore

from feature_repo.environment import REPO_DIR


class ApplyError(RuntimeError):
    """``feast apply`` failed; the message carries Feast's (and the catalog policy's) output."""


def open_store(repo_path: Path = REPO_DIR, yaml_path: Path | None = None) -> FeatureStore:
    """The ``FeatureStore`` of ``repo_path`` with its ``feature_store.yaml`` (or ``yaml_path``)."""
    if yaml_path is not None:
        return FeatureStore(repo_path=str(repo_path), fs_yaml_file=Path(yaml_path).resolve())
    return FeatureStore(repo_path=str(repo_path))


def apply_catalog(repo_path: Path = REPO_DIR, yaml_path: Path | None = None) -> str:
    """Run the stock ``feast apply`` (with Fresco's catalog policy) in ``repo_path``.

    It runs as a child process, exactly as a user would type it: Feast imports the
    repository's definitions as top-level modules, which a long-lived process would cache.
    Returns Feast's output; raises :class:`ApplyError` with it when the apply is refused.
    """
    feast = Path(sys.executable).with_name("feast")
    env = dict(os.environ)
    command = [str(feast)]
    if yaml_path is not None:
        env["FEAST_FS_YAML_FILE_PATH"] = str(Path(yaml_path).resolve())
        command += ["-f", str(Path(yaml_path).resolve())]
    result = subprocess.run(
        [*command, "apply"], cwd=repo_path, env=env, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        last = [line for line in output.splitlines() if line.strip()]
        policy = [line for line in last if "CatalogPolicyError" in line or line.startswith("  - ")]
        raise ApplyError(
            f"feast apply failed in {repo_path}:\n" + "\n".join(policy or last[-15:])
        )
    return output


def materialize(store: FeatureStore, end: datetime) -> None:
    """Load offline values up to ``end`` into the online store, incrementally, with progress.

    See :func:`feature_repo.materialization.materialize_incremental` (imported here lazily so
    ``python -m feature_repo.materialization`` runs without a double import).
    """
    from feature_repo.materialization import materialize_incremental

    materialize_incremental(store, end)
