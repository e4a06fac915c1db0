"""The options and error handling shared by the ``fresco`` commands (only ``click`` imported)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

REPO_HELP = ("Feature repository (default: $FRESCO_FEATURE_REPO, else the current directory "
             "when it holds a feature_store.yaml).")
YAML_HELP = "feature_store.yaml to use (default: $FEAST_FS_YAML_FILE_PATH, else the repository's)."


def repo_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--repo`` and ``--yaml``; the chosen repository is exported to ``$FRESCO_FEATURE_REPO``
    so everything this command starts (Feast, the state folder, a server) agrees on it."""

    @click.option("--yaml", "yaml_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
                  help=YAML_HELP)
    @click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=None, help=REPO_HELP)
    @wraps(command)
    def wrapper(*args: Any, repo: Path | None, yaml_path: Path | None, **kwargs: Any) -> Any:
        from fresco.platform.repo import chosen_repository

        with chosen_repository(repo, yaml_path):  # restored after: in-process callers keep theirs
            return command(*args, repo=repo, yaml_path=yaml_path, **kwargs)

    return wrapper


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """The platform's errors about a user's input or set-up reach them as one message, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from fresco.platform import ApplyError, InitError, MaterializationError, RepoNotFound

        try:
            return command(*args, **kwargs)
        except (RepoNotFound, InitError, MaterializationError, ApplyError) as err:
            raise click.ClickException(str(err)) from None
        except Exception as err:  # by name: importing their modules would import Feast
            if type(err).__name__ in ("CatalogPolicyError", "KeyspaceMissing"):
                raise click.ClickException(str(err)) from None
            raise

    return wrapper


def parse_utc(text: str | None, name: str) -> datetime | None:
    """Option ``name``'s ISO time as an aware datetime (naive means UTC); None stays None."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"expected an ISO time such as 2026-01-31T00:00:00Z, got {text!r}",
                                 param_hint=name) from None
    from fresco.platform.times import utc

    return utc(moment)  # the command line's naive time is UTC
