"""Where Fresco keeps local state: never inside the installed code, never inside git.

The state folder holds the model repository and BentoML's model store, training reports and
datasets, the Spark warehouse and Hive metastore, and the local services' data. It is
``$FRESCO_HOME`` when set, else ``.fresco/`` in the project's feature repository (found by
:func:`fresco.platform.repo.find_repo`), else ``.fresco/`` in the current directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fresco.platform.repo import find_repo

HOME_ENV = "FRESCO_HOME"
STATE_FOLDER = ".fresco"


def state_home(repo: Path | None = None) -> Path:
    """The state folder by the rule above (not created); ``repo`` is the feature repository
    when the caller has resolved it already."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (repo or find_repo() or Path.cwd()) / STATE_FOLDER


def state_dir() -> Path:
    """The state folder by the rule above, created if missing."""
    path = state_home()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder under ``<state folder>/scratch`` (Spark's executors and this process
    see it at one path when the state folder is shared), removed when the block ends."""
    root = state_dir() / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-", dir=root, ignore_cleanup_errors=True) as path:
        yield Path(path)


def cache_dir() -> Path:
    """Downloads that survive ``git clean`` (service jars): ``$FRESCO_CACHE`` or ``~/.cache/fresco``."""
    path = Path(os.environ.get("FRESCO_CACHE", Path.home() / ".cache" / "fresco"))
    path.mkdir(parents=True, exist_ok=True)
    return path
