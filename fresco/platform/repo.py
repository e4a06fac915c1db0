"""Which feature repository a command works on: the one rule, used everywhere.

Like Feast: the repository given explicitly (``--repo``, a config's ``features.repo``, a
``repo_path`` argument), else ``$FRESCO_FEATURE_REPO``, else the current directory when it holds
a ``feature_store.yaml``. Its configuration is the ``feature_store.yaml`` given explicitly, else
``$FEAST_FS_YAML_FILE_PATH`` (Feast's own variable), else the repository's ``feature_store.yaml``.
Nothing here knows of the bundled example.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ENV = "FRESCO_FEATURE_REPO"
YAML_ENV = "FEAST_FS_YAML_FILE_PATH"
YAML_NAME = "feature_store.yaml"


class RepoNotFound(LookupError):
    """No feature repository was given and none is in the current directory."""


def find_repo(repo: str | os.PathLike[str] | None = None) -> Path | None:
    """The feature repository by the rule above, or None when none is given or found."""
    if repo is not None and str(repo) != "":
        return Path(repo).expanduser().resolve()
    env = os.environ.get(REPO_ENV)
    if env:
        return Path(env).expanduser().resolve()
    cwd = Path.cwd()
    return cwd if (cwd / YAML_NAME).is_file() else None


def resolve_repo(repo: str | os.PathLike[str] | None = None) -> Path:
    """The feature repository by the rule above; raises :class:`RepoNotFound` saying how to give one."""
    found = find_repo(repo)
    if found is None:
        raise RepoNotFound(
            f"no feature repository: {Path.cwd()} has no {YAML_NAME}. Run the command in your "
            f"feature repository, pass --repo DIR, or set {REPO_ENV} (`fresco init DIR` creates one)"
        )
    if not found.exists():
        raise RepoNotFound(f"feature repository {found} does not exist")
    if not found.is_dir():
        raise RepoNotFound(f"feature repository {found} is not a directory")
    return found


def resolve_yaml(repo: Path, yaml_path: str | os.PathLike[str] | None = None) -> Path:
    """The ``feature_store.yaml`` of ``repo`` by the rule above (the file must exist)."""
    chosen = yaml_path if yaml_path not in (None, "") else os.environ.get(YAML_ENV) or None
    path = Path(chosen).expanduser() if chosen else repo / YAML_NAME
    path = path if path.is_absolute() else (Path.cwd() / path)
    if not path.is_file():
        raise RepoNotFound(f"{path} not found (the feature repository's Feast configuration)")
    return path.resolve()


@contextmanager
def chosen_repository(repo: str | os.PathLike[str] | None = None,
                      yaml_path: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """``$FRESCO_FEATURE_REPO`` and ``$FEAST_FS_YAML_FILE_PATH`` name ``repo`` and ``yaml_path``
    (those given) while the block runs, so everything it starts (Feast, the state folder, a
    server) agrees on them; the caller's environment is restored after."""
    chosen = {REPO_ENV: repo, YAML_ENV: yaml_path}
    saved = {name: os.environ.get(name) for name in chosen}
    for name, path in chosen.items():
        if path is not None:
            os.environ[name] = str(Path(path).resolve())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
