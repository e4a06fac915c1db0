"""``fresco features [suggest]``: the catalog as a table, and the features it suggests for a new
problem's labels (:mod:`fresco.training.suggestion`)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from fresco.options import echo_table, repo_option, user_errors

#: A Hive table name as a model config accepts it (``db.table`` or ``table``).
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


@click.group(invoke_without_command=True)
@repo_option
@click.pass_context
@user_errors
def features(ctx: click.Context, repo: Path | None, yaml_path: Path | None) -> None:
    """List the feature catalog: type, owner, SLA, consumers, last materialization.

    `fresco features suggest LABELS` ranks the catalog's features for a new label."""
    if ctx.invoked_subcommand is not None:
        return
    from fresco.platform import list_catalog, open_store

    entries = list_catalog(open_store(repo, yaml_path))
    if not entries:
        click.echo("The catalog is empty: run `feast apply` in the feature repository first.")
        return
    header = ("FEATURE", "TYPE", "OWNER", "SLA", "FEATURE SERVICES", "LAST MATERIALIZED")
    rows = [
        (
            e.feature + (" (deprecated)" if e.deprecated else ""),
            e.dtype,
            e.owner,
            e.freshness_sla,
            ", ".join(e.feature_services) or "-",
            f"{e.last_materialized:%Y-%m-%d %H:%M} UTC" if e.last_materialized else "never",
        )
        for e in entries
    ]
    echo_table(header, rows)


def read_labels(labels: str) -> tuple[Any, Any]:
    """LABELS as rows: a Parquet file or folder, else a Hive table. Returns (rows, the draft's source)."""
    import pandas as pd

    from fresco.training.suggestion import DraftSource

    path = Path(labels)
    if path.exists():
        return pd.read_parquet(path), DraftSource(parquet=path)
    if path.suffix == ".parquet" or "/" in labels or not _TABLE.match(labels):
        raise click.BadParameter(f"no such file or folder: {labels}", param_hint="LABELS")
    from fresco.training.sources import training_spark

    spark = training_spark()
    if not spark.catalog.tableExists(labels):
        raise click.BadParameter(f"neither a file nor a Hive table: {labels}", param_hint="LABELS")
    return spark.table(labels).toPandas(), DraftSource(hive_table=labels)


@features.command("suggest")
@click.argument("labels")
@click.option("--label", required=True, help="The column holding the label.")
@click.option("--timestamp-column", default=None,
              help="The column holding each row's time (default: the rows' only timestamp column).")
@click.option("--task", type=click.Choice(["regression", "classification"]), default=None,
              help="Default: classification for a label of 0/1 or true/false, else regression.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1), help="Features in the draft model.")
@click.option("--holdout", default=0.3, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Share of the rows, the latest in time, held out from the ranking.")
@click.option("--write-config", "draft_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write a model config and DSL program of the top features into this folder.")
@click.option("--name", default=None, help="The drafted model's name (default: LABEL_suggested).")
@click.option("--output", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of the report (default: <state folder>/suggestions/<name>-<time>).")
@click.option("--workers", default=2, show_default=True, help="Threads of the quick model.")
@repo_option
@user_errors
def suggest(labels: str, label: str, timestamp_column: str | None, task: str | None, top: int, holdout: float,
            draft_dir: Path | None, name: str | None, output: Path | None, workers: int, repo: Path | None,
            yaml_path: Path | None) -> None:
    """Rank the catalog's features for a new problem's LABELS (a Parquet file or a Hive table of
    entity rows: join keys, a time, the label), point in time, on a hold-out later in time."""
    from fresco.platform import open_store, resolve_repo
    from fresco.training import ModelRepository, TrainingDataError
    from fresco.training.suggestion import (RankingError, draft_name, suggest_features, suggestions_folder,
                                            write_draft, write_report)

    start = time.perf_counter()

    def say(message: str) -> None:
        click.echo(f"[{time.perf_counter() - start:7.1f}s] {message}", err=True)

    rows, source = read_labels(labels)
    store = open_store(repo, yaml_path)
    try:
        found = suggest_features(rows, store, label=label, labels=labels, timestamp_column=timestamp_column,
                                 task=task, top=top, holdout_fraction=holdout, workers=workers,
                                 models=ModelRepository().list(), progress=say)
    except (RankingError, TrainingDataError) as err:
        raise click.ClickException(str(err)) from None
    model_name = name or draft_name(label)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    json_path, html_path = write_report(found, output or suggestions_folder() / f"{model_name}-{stamp}")
    _print(found, top)
    click.echo(f"report  {html_path}\n        {json_path}")
    if draft_dir is not None:
        if not found.top:
            raise click.ClickException("no feature improved the quick model on the hold-out: no draft written")
        scores = [f.score for f in found.features if f.score.ref in found.top]
        repository = resolve_repo(repo)
        summary = (f"Drafted by `fresco features suggest {labels} --label {label}` on {found.created_at}:\n"
                   f"the top {len(scores)} features by permutation importance on a hold-out later in time.\n"
                   f"The report: {html_path}")
        try:
            config_path, program_path = write_draft(
                draft_dir, name=model_name, task=found.task, label=label, timestamp_column=found.timestamp_column,
                source=source, repo=repository, store_yaml=yaml_path, scores=scores,
                fill_values=found.ranking.fill_values, summary=summary)
        except FileExistsError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"draft   {config_path}\n        {program_path}\ntrain it: fresco train {config_path}")


def _print(found: Any, top: int) -> None:
    r = found.ranking
    click.echo(f"{found.label} ({found.task}): ranked on {r.ranked_on.rows:,} rows {r.ranked_on.start[:10]}.."
               f"{r.ranked_on.end[:10]}, hold-out {r.holdout.rows:,} rows {r.holdout.start[:10]}..{r.holdout.end[:10]}")
    click.echo(f"quick model on the hold-out: {r.metric} {r.model_metrics[r.metric]:.4f} against "
               f"{r.baseline_metrics[r.metric]:.4f} for the {r.baseline}")
    header = ("RANK", "FEATURE", "PERMUTATION", "MUTUAL INFO", r.association_name.upper(), "COVERAGE", "SLA",
              "OWNER", "MODELS")
    rows = [(str(f.rank), f.score.ref + (" (deprecated)" if f.deprecated else "") + (" *" if f.score.ref in found.top else ""),
             f"{f.score.permutation:.4f}", f"{f.score.mutual_information:.4f}",
             "-" if f.score.association is None else f"{f.score.association:.3f}", f"{f.score.coverage:.0%}",
             f.freshness_sla or "-", f.owner or "-", str(len(f.models))) for f in found.features]
    echo_table(header, rows)
    click.echo(f"* the draft's features (the top {top} that improve the hold-out)")
    for excluded in found.excluded:
        click.echo(f"left out {excluded.ref}: {excluded.reason}")
