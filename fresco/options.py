"""The options and error handling shared by the ``fresco`` commands (only ``click`` imported)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

#: ``fresco ui``'s port unless ``--port`` says otherwise (also what the quickstart's closing lines name).
UI_PORT = 8010

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
            if type(err).__name__ in ("CatalogPolicyError", "KeyspaceMissing", "RepositoryError"):
                raise click.ClickException(str(err)) from None
            raise

    return wrapper


def echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print ``rows`` under ``header`` as left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def cell_text(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("-" if value is None else str(value))


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


def parse_duration(text: str | None, name: str) -> Any:
    """Option ``name``'s duration (``30min``, ``6h``, ``7d``) as a ``timedelta``; None stays None."""
    if text is None:
        return None
    import pandas as pd

    try:
        return pd.Timedelta(text).to_pytimedelta()
    except ValueError:
        raise click.BadParameter(f"expected a duration such as 30min, 6h or 7d, got {text!r}",
                                 param_hint=name) from None


def _stacked(options: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def outcome_source(outcomes: str | None, column: str, time: str, join_on: str, window: str | None) -> Any:
    """The outcome options as a ``fresco.monitoring.outcomes.OutcomeSource`` (a bad
    combination is the option's error)."""
    from fresco.monitoring.outcomes import OutcomeSource

    keys = tuple(k.strip() for k in join_on.split(","))
    try:
        return OutcomeSource(outcomes, column, time, keys, parse_duration(window, "--join-window"))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--join-on / --join-window") from None


def _with_outcome_source(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command gets ``outcomes`` (an ``OutcomeSource``) instead of the five outcome options."""

    @wraps(command)
    def wrapper(*args: Any, outcomes_table: str | None, outcome_column: str, outcome_time: str,
                join_on: str, join_window: str | None, **kwargs: Any) -> Any:
        source = outcome_source(outcomes_table, outcome_column, outcome_time, join_on, join_window)
        return command(*args, outcomes=source, **kwargs)

    return wrapper


#: The monitoring commands' logs: the outcomes (``--outcomes``, ``--outcome-column``,
#: ``--outcome-time``, ``--join-on``, ``--join-window``, passed together as ``outcomes``, a
#: ``fresco.monitoring.outcomes.OutcomeSource``), ``--log`` and ``--max-delay`` (passed as
#: ``log_folder``, ``max_delay``: text, parsed with :func:`parse_duration`).
log_options = _stacked([
    click.option("--outcomes", "outcomes_table", default=None,
                 help="Outcome table a pipeline writes: a Parquet file or folder, hive:TABLE (read "
                      "with Spark) or kafka:TOPIC (its JSON events) (default: what POST /outcome logged, $FRESCO_OUTCOME_LOG_DIR or "
                      "<state dir>/outcomes)."),
    click.option("--outcome-column", default="outcome", show_default=True,
                 help="The outcome table's column of observed labels."),
    click.option("--outcome-time", default="observed_at", show_default=True,
                 help="The outcome table's column of when each label was observed (UTC)."),
    click.option("--join-on", default="prediction_id", show_default=True,
                 help="Join outcomes on the prediction id, or on KEY[,KEY]: entity keys or request "
                      "fields of the logged predictions (then an outcome matches the latest prediction "
                      "of its key within --join-window before it was observed)."),
    click.option("--join-window", default=None,
                 help="With --join-on KEY: how long before its observation a prediction can be an "
                      "outcome's (30min, 6h, 2d)."),
    _with_outcome_source,
    click.option("--log", "log_folder", type=click.Path(path_type=Path, file_okay=False), default=None,
                 help="The prediction log's folder (default: $FRESCO_PREDICTION_LOG_DIR or "
                      "<state dir>/predictions)."),
    click.option("--max-delay", default="7d", show_default=True,
                 help="Outcomes observed later than this after their prediction are counted as late "
                      "and left out."),
])

#: :data:`log_options` and the period read, ``--since`` and ``--until`` (text, parsed with
#: :func:`parse_utc`).
prediction_log_options = _stacked([
    log_options,
    click.option("--since", default=None, help="Predictions at or after this UTC time (ISO)."),
    click.option("--until", default=None, help="Predictions before this UTC time (ISO)."),
])
