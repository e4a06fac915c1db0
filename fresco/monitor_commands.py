"""``fresco monitor metrics|report|check|skew|ingest``: monitoring on the prediction log from the command line.

The commands compose :mod:`fresco.monitoring`; each imports what it needs when it runs, like
the rest of the ``fresco`` command.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from fresco.options import (
    cell_text, log_options, parse_duration, parse_utc, prediction_log_options, repo_option,
)


@click.group()
def monitor() -> None:
    """Monitoring on the prediction log: accuracy over time once outcomes are known, drift and
    data quality against each model's reference sample, alert rules, training/serving skew."""


@monitor.command("metrics")
@prediction_log_options
@click.option("--model", default=None, help="Only this model (UUID, prefix or tag).")
@click.option("--window", default="1h", show_default=True, help="Window length (15min, 1h, 1D...).")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the table here too (Parquet; default: <state dir>/monitoring/accuracy.parquet).")
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also draw the metric and the join rate per window and model / tag / arm (PNG).")
@click.option("--plot-metric", default=None, help="The metric drawn (default: rmse, or auc for binary models).")
@click.option("--by-partition", is_flag=True,
              help="Also per partition of a partitioned model (the partition that answered each prediction).")
def monitor_metrics(outcomes: Any, log_folder: Path | None, since: str | None, until: str | None,
                    model: str | None, window: str, max_delay: str, output: Path | None, plot: Path | None,
                    plot_metric: str | None, by_partition: bool) -> None:
    """Accuracy over time per model, tag and experiment arm: predictions joined to their outcomes
    (by prediction id, or by key fields within a window: --join-on, --join-window)."""
    from fresco.platform.state import state_dir
    from fresco.monitoring import accuracy_from_logs
    from fresco.training import ModelRepository

    repository = ModelRepository()
    try:
        uuid = repository.resolve(model) if model else None
    except LookupError as err:
        raise click.ClickException(str(err)) from None

    def task_of(found: str) -> str:
        try:
            return repository.get(found).task
        except LookupError:
            raise click.ClickException(f"model {found} is in the log but not in the model "
                                       f"repository at {repository.db_path}") from None

    try:
        joined, table = accuracy_from_logs(
            task_of, log_folder=log_folder, outcomes=outcomes, since=parse_utc(since, "--since"),
            until=parse_utc(until, "--until"), model=uuid, window=window,
            max_delay=parse_duration(max_delay, "--max-delay"), by_partition=by_partition)
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    counts = joined.counts()
    click.echo(f"{counts['predictions']:,} predictions, {counts['matched']:,} with an outcome "
               f"({counts['duplicates']:,} corrected, {counts['late']:,} late, "
               f"{counts['unmatched']:,} outcomes matching no prediction in the log)")
    # a metric of another task's models (auc beside regressors) is all null here: not shown
    shown = [c for c in ("rmse", "mae", "r2", "auc", "logloss") if c in table.columns and table[c].notna().any()]
    click.echo("  ".join(["WINDOW (UTC)      ", "MODEL   ", "TAG / ARM", *(["PARTITION"] if by_partition else []),
                          "N", "OUTCOMES", *shown]))
    for row in table.itertuples(index=False):
        label = (row.tag or "-") if row.arm is None else f"{row.experiment}/{row.arm}"
        click.echo("  ".join([f"{row.window_start:%Y-%m-%d %H:%M}", row.model_uuid[:8], str(label),
                              *([row.partition or "-"] if by_partition else []),
                              str(row.predictions), str(row.outcomes),
                              *(cell_text(getattr(row, c)) for c in shown)]))
    output = output or state_dir() / "monitoring" / "accuracy.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(output, index=False)
    click.echo(f"table: {output}")
    if plot is not None:
        from fresco.monitoring.plots import accuracy_png

        try:
            click.echo(f"plot: {accuracy_png(table, plot, plot_metric)}")
        except ValueError as err:
            raise click.ClickException(str(err)) from None


@monitor.command("report")
@click.argument("model")
@prediction_log_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for report.html, report.json (and quality.html) (default: "
                   "<state dir>/monitoring/reports/<model uuid>/<UTC time>/).")
def monitor_report(model: str, outcomes: Any, log_folder: Path | None, since: str | None,
                   until: str | None, max_delay: str, out_dir: Path | None) -> None:
    """Drift and data quality of MODEL's logged predictions (UUID, prefix or tag) against the
    reference sample kept at training (Evidently; quality where outcomes are joined)."""
    from fresco.monitoring.report import report_from_logs

    try:
        report = report_from_logs(model, log_folder=log_folder, outcomes=outcomes,
                                  since=parse_utc(since, "--since"), until=parse_utc(until, "--until"),
                                  max_delay=parse_duration(max_delay, "--max-delay"), out_dir=out_dir)
    except (LookupError, FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    f = report.figures
    drift = f["drift"]
    click.echo(f"model {f['model']['name']} {f['model']['uuid']}: {f['predictions']:,} predictions "
               f"from {f['first_prediction']} to {f['last_prediction']} against {f['reference_rows']:,} "
               "reference rows")
    click.echo(f"inputs drifted: {drift['drifted']} of {drift['inputs']}"
               + (f" ({', '.join(drift['drifted_inputs'])})" if drift["drifted_inputs"] else "")
               + ("; prediction drifted" if f["prediction"].get("drift", {}).get("drifted") else ""))
    if f["quality"] is not None:
        shown = "  ".join(f"{k}={cell_text(v)}" for k, v in list(f["quality"]["metrics"].items())[:4])
        click.echo(f"quality on {f['quality']['outcomes']:,} outcomes: {shown}")
    click.echo(f"html: {report.html}")
    if report.quality_html is not None:
        click.echo(f"quality html: {report.quality_html}")
    if f.get("accuracy_png"):
        click.echo(f"accuracy over time: {f['accuracy_png']} (also in the html)")
    click.echo(f"json: {report.json}")
    click.echo(f"took {f['seconds']:.1f} s", err=True)


class _CheckNotRun(click.ClickException):
    """``fresco monitor check`` could not evaluate its rules (exit code 2, a breach is 1)."""

    exit_code = 2


@monitor.command("check")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, dir_okay=False), default="monitoring.yaml",
              show_default=True, help="The monitoring config: alert rules, and which views' freshness to check.")
@click.option("--at", "at_text", default=None, help="Check as of this UTC time (ISO; default: now).")
@log_options
@repo_option
@click.option("--record-to", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of the checks table (default: <state dir>/monitoring/checks).")
def monitor_check(rules_path: Path, at_text: str | None, outcomes: Any, log_folder: Path | None,
                  max_delay: str, repo: Path | None, yaml_path: Path | None, record_to: Path | None) -> None:
    """Evaluate every alert rule of the monitoring config, and every feature view's freshness
    against its SLA; print each verdict with its evidence, record them, and exit 1 when any rule
    is breached (2 when the check cannot run), so a scheduler can page on it."""
    from fresco.monitoring.alerts import BREACH, INSUFFICIENT, check, checks_folder, record
    from fresco.monitoring.rules import SKEW_METRIC, load_monitoring
    from fresco.training.config import ConfigError

    at = parse_utc(at_text, "--at") or datetime.now(timezone.utc)
    try:
        config = load_monitoring(rules_path)
        store = None
        skew = [r.name for r in config.rules if r.metric == SKEW_METRIC]
        if config.freshness != "none" or skew:
            from fresco.platform import RepoNotFound, open_store

            try:
                store = open_store(repo, yaml_path)
            except RepoNotFound as err:
                needs = (f"rule(s) {', '.join(skew)} replay predictions through it" if skew else
                         f"the freshness of feature views needs the catalog (or set freshness: none in "
                         f"{rules_path})")
                raise ValueError(f"{err}; {needs}") from None
        results = check(config, at, store=store, log_folder=log_folder, outcomes=outcomes,
                        max_delay=parse_duration(max_delay, "--max-delay"))
    except (ConfigError, LookupError, FileNotFoundError, ValueError) as err:
        raise _CheckNotRun(str(err)) from None
    for result in results:
        click.echo(result.line())
    table = record(results, record_to or checks_folder(), at) if results else None
    breached = sum(r.status == BREACH for r in results)
    unjudged = sum(r.status == INSUFFICIENT for r in results)
    if table is not None:
        click.echo(f"recorded: {table}")
    click.echo(f"monitor check: {len(results)} checked at {at:%Y-%m-%dT%H:%M:%S}Z, {breached} breached, "
               f"{unjudged} not judged (too little data)")
    if breached:
        sys.exit(1)


class _SkewNotRun(click.ClickException):
    """``fresco monitor skew`` could not replay (exit code 2; too much skew is 1)."""

    exit_code = 2


@monitor.command("skew")
@click.argument("model")
@click.option("--log", "log_folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The prediction log's folder (default: $FRESCO_PREDICTION_LOG_DIR or <state dir>/predictions).")
@click.option("--since", default=None, help="Predictions at or after this UTC time (ISO).")
@click.option("--until", default=None, help="Predictions before this UTC time (ISO).")
@click.option("--sample", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Logged predictions replayed (drawn at random with --seed).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--tolerance", default=1e-6, show_default=True, type=click.FloatRange(min=0),
              help="Numbers within this (relative or absolute) are the same.")
@click.option("--max-mismatch-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Exit 1 when a larger share of the replayed predictions has a mismatch.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for skew.html and skew.json (default: <state dir>/monitoring/skew/<model uuid>/<UTC time>/).")
@repo_option
def monitor_skew(model: str, log_folder: Path | None, since: str | None, until: str | None, sample: int,
                 seed: int, tolerance: float, max_mismatch_rate: float, out_dir: Path | None,
                 repo: Path | None, yaml_path: Path | None) -> None:
    """Training/serving skew of MODEL (UUID, prefix or tag): a sample of its logged predictions
    replayed offline at the moment each was served (the features retrieved as training
    retrieves them, the program and the model run again) and compared with what serving used,
    per feature, input and prediction, each difference with its cause. Exit 1 above
    --max-mismatch-rate, 2 when the check cannot run."""
    from fresco.monitoring.skew import CAUSES, check_skew
    from fresco.platform import RepoNotFound, open_store

    try:
        store = open_store(repo, yaml_path)
        report = check_skew(model, store=store, log_folder=log_folder, since=parse_utc(since, "--since"),
                            until=parse_utc(until, "--until"), sample=sample, seed=seed, tolerance=tolerance,
                            threshold=max_mismatch_rate, out_dir=out_dir, progress=click.echo)
    except (RepoNotFound, LookupError, FileNotFoundError, ValueError) as err:
        raise _SkewNotRun(str(err)) from None
    f = report.figures
    for row in f["features"] + f["inputs"]:
        if row["mismatches"]:
            name = row.get("feature") or f"input {row['input']}"
            causes = row.get("causes") or {"transformation": row["transformation"],
                                           "explained by the features": row["mismatches"] - row["transformation"]}
            why = ", ".join(f"{c} {n}" for c, n in causes.items() if n)
            first = row["largest"][0]
            click.echo(f"  {name}: {row['mismatches']:,} of {row['checked']:,} differ ({why}); e.g. "
                       f"prediction {first['prediction_id']}")
    if f["prediction"]["mismatches"]:
        click.echo(f"  prediction: {f['prediction']['mismatches']:,} differ, the largest by "
                   f"{f['prediction']['max_difference']:.6g}")
    by_cause = ", ".join(f"{c} {f['rows_by_cause'][c]:,}" for c in CAUSES if f["rows_by_cause"][c])
    if by_cause:
        click.echo(f"predictions by cause: {by_cause}")
    click.echo(f"html: {report.html}")
    click.echo(f"json: {report.json}")
    click.echo(report.line())
    if not f["passed"]:
        sys.exit(1)


@monitor.command("ingest")
@click.option("--kind", type=click.Choice(["predictions", "outcomes"]), default="predictions", show_default=True,
              help="Which log the topic carries.")
@click.option("--topic", default=None, help="The topic (default: the service's, $FRESCO_PREDICTION_LOG_TOPIC or "
                                            "fresco.predictions, $FRESCO_OUTCOME_LOG_TOPIC or fresco.outcomes, "
                                            "after $FRESCO_KAFKA_TOPIC_PREFIX).")
@click.option("--to", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The landing folder (default: the log's, where the monitoring commands read it).")
@click.option("--until-caught-up/--follow", "caught_up", default=True, show_default=True,
              help="Stop at the end offsets seen at start, or keep landing until SIGTERM or Ctrl-C.")
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Land every N records (and whenever the topic goes quiet).")
@click.option("--hive-table", default=None, help="Also register the landing folder as this external table of "
                                                 "the Hive metastore ([database.]table, partitioned by date; "
                                                 "Spark's session), adding the days landed.")
def monitor_ingest(kind: str, topic: str | None, folder: Path | None, caught_up: bool, batch: int,
                   hive_table: str | None) -> None:
    """Land the service's Kafka log (FRESCO_PREDICTION_LOG=kafka, FRESCO_OUTCOME_LOG=kafka) as the
    Parquet log the other monitoring commands read, by UTC day; each record exactly once, however
    often it is stopped and started again."""
    import signal
    import threading

    from fresco.monitoring.ingest import ingest
    from fresco.monitoring.landing import IngestRunning
    from fresco.platform.log_topics import KINDS
    from fresco.platform.streaming.topics import kafka_bootstrap_servers

    log_kind = KINDS[kind]
    stop = threading.Event()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            handlers[number] = signal.signal(number, lambda *_: stop.set())
    try:
        summary = ingest(log_kind, topic or log_kind.topic(), folder or log_kind.folder(None),
                         kafka_bootstrap_servers(), follow=not caught_up, batch=batch, stop=stop, echo=click.echo)
    except (ConnectionError, IngestRunning) as err:
        raise click.ClickException(str(err)) from None
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if hive_table is not None:
        from fresco.monitoring.log_table import register_log_table
        from fresco.platform.spark import spark_session

        try:
            days = register_log_table(spark_session("fresco-monitor-ingest"), hive_table, summary.folder, log_kind)
        except ValueError as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"table {hive_table}: {len(days)} day(s), {days[0] if days else '-'} to {days[-1] if days else '-'}")
    click.echo(f"monitor ingest: {summary.line()}")
