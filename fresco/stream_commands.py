"""``fresco stream run|backfill|replay|status``: streaming feature groups from the command line.

The commands compose :mod:`fresco.platform.streaming`; each imports Spark or Kafka only when it
runs, like the rest of the ``fresco`` command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fresco.options import parse_utc, repo_option, user_errors

if TYPE_CHECKING:
    from fresco.platform.streaming.job import StreamStatus


def _stream_errors(call: Callable[..., Any]) -> Callable[..., Any]:
    """A streaming declaration or set-up problem reaches the user as one message."""

    @wraps(call)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from fresco.platform.streaming.events import InvalidEvent
        from fresco.platform.streaming.groups import StreamGroupError
        from fresco.platform.streaming.job import StreamError

        try:
            return call(*args, **kwargs)
        except (StreamGroupError, StreamError, InvalidEvent, FileNotFoundError, ValueError) as err:
            raise click.ClickException(str(err)) from None

    return wrapper


def past_events_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--start``, ``--end`` (the period whose rows are ``what``) and ``--events``."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed((
            click.option("--start", required=True, help="ISO time (UTC): rows stamped after it..."),
            click.option("--end", required=True, help=f"... and at or before it are {what}."),
            click.option("--events", "events_path", default=None,
                         help="A Parquet archive of the events (default: the events on the group's topic now)."),
        )):
            command = option(command)
        return command

    return decorate


def _period(start: str, end: str) -> tuple[datetime, datetime]:
    """``--start`` and ``--end`` as UTC times, the first before the second."""
    since, until = parse_utc(start, "--start"), parse_utc(end, "--end")
    if since is None or until is None or since >= until:
        raise click.BadParameter(f"--start {start} is not before --end {end}", param_hint="--start")
    return since, until


def _past_events(declared: Any, events_path: str | None, purpose: str) -> tuple[Any, str]:
    """The group's past events as a Spark DataFrame, from a Parquet archive or else its topic,
    and where they came from."""
    from fresco.platform.streaming.backfill import archive_events, topic_events

    if events_path:
        from fresco.platform.spark import spark_session

        return archive_events(spark_session(f"fresco-{purpose}-{declared.name}"), declared, events_path), events_path
    from fresco.platform.streaming.job import kafka_session

    return topic_events(kafka_session(f"fresco-{purpose}-{declared.name}"), declared), f"topic {declared.topic}"


@click.group()
def stream() -> None:
    """Streaming feature groups: Kafka events aggregated by Spark Structured Streaming."""


@stream.command("run")
@click.argument("group")
@repo_option
@click.option("--trigger", "trigger_seconds", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Seconds between micro-batches.")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=None,
              help="Stop after this long (default: run until Ctrl-C).")
@click.option("--once", is_flag=True, help="Process every event published so far, then stop.")
@click.option("--metrics-port", type=click.IntRange(min=0), default=0, show_default=True,
              help="Port of the job's Prometheus /metrics (0: a free one; `fresco stream status` shows it).")
@click.option("--from-latest", is_flag=True,
              help="A job without a checkpoint starts at the topic's end (default: its beginning).")
@user_errors
@_stream_errors
def stream_run(group: str, repo: Path | None, yaml_path: Path | None, trigger_seconds: float,
               max_seconds: float | None, once: bool, metrics_port: int, from_latest: bool) -> None:
    """Run GROUP's stream job: online and offline writes per micro-batch, resumable."""
    from fresco.platform import open_store
    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob, kafka_session

    store = open_store(repo, yaml_path)
    declared = stream_group(store, group)
    click.echo(f"{group}: reading {declared.topic} on {declared.bootstrap_servers} "
               f"({declared.window} windows every {declared.slide}, watermark {declared.watermark})", err=True)
    job = StreamJob(store, declared, kafka_session(f"fresco-stream-{group}"), trigger_seconds=trigger_seconds,
                    starting_offsets="latest" if from_latest else "earliest", say=lambda m: click.echo(m, err=True))
    job.start(metrics_port=None if once else metrics_port)
    click.echo(f"{group}: checkpoint and status in {job.home}"
               + (f"; metrics at {job.status.metrics_url}" if job.status.metrics_url else ""), err=True)
    if once:
        try:
            status = job.process_available()
        finally:
            job.stop()
    else:
        status = job.run(max_seconds=max_seconds)
    click.echo(_status_line(status))


@stream.command("backfill")
@click.argument("group")
@repo_option
@past_events_options("written")
@user_errors
@_stream_errors
def stream_backfill(group: str, repo: Path | None, yaml_path: Path | None, start: str, end: str,
                    events_path: str | None) -> None:
    """Run GROUP's aggregation in batch over past events into the offline log."""
    from fresco.platform import open_store
    from fresco.platform.streaming.backfill import backfill
    from fresco.platform.streaming.groups import stream_group

    since, until = _period(start, end)
    store = open_store(repo, yaml_path)
    declared = stream_group(store, group)
    events, origin = _past_events(declared, events_path, "backfill")
    click.echo(f"{group}: aggregating events from {origin} for rows stamped in ({since}, {until}]", err=True)
    rows = backfill(store, declared, events, since, until)
    click.echo(f"{rows:,} rows of {group} appended to its offline log; "
               f"`fresco materialize --view {group}` loads the online store")


@stream.command("check")
@click.argument("group")
@repo_option
@past_events_options("compared")
@click.option("--offline-only", is_flag=True, help="Compare the offline log only, not the online store.")
@click.option("--show", type=click.IntRange(min=0), default=10, show_default=True,
              help="Mismatches printed (all are counted).")
@user_errors
@_stream_errors
def stream_check(group: str, repo: Path | None, yaml_path: Path | None, start: str, end: str,
                 events_path: str | None, offline_only: bool, show: int) -> None:
    """Recompute GROUP by backfill and compare what the stream wrote offline and online.

    Exits 1 when a row differs."""
    from fresco.platform import open_store
    from fresco.platform.streaming.check import check_stream
    from fresco.platform.streaming.groups import stream_group

    since, until = _period(start, end)
    store = open_store(repo, yaml_path)
    declared = stream_group(store, group)
    events, origin = _past_events(declared, events_path, "check")
    click.echo(f"{group}: recomputing from {origin} for ({since}, {until}]", err=True)
    report = check_stream(store, declared, events, since, until, online=not offline_only)
    click.echo(f"offline log: {report.offline_compared:,} closed windows compared")
    if not offline_only:
        click.echo(f"online store: {report.online_compared:,} keys compared, {report.online_not_compared:,} "
                   f"not compared (no online row, or one written outside the period)")
    for mismatch in report.mismatches[:show]:
        click.echo(f"  differs: {mismatch.describe()}")
    if report.differ > show:
        click.echo(f"  ... and {report.differ - show:,} more")
    click.echo(f"stream check: {report.compared:,} rows compared, {report.differ:,} differ")
    if report.differ:
        sys.exit(1)


@stream.command("replay")
@click.argument("source")
@repo_option
@click.option("--events", "events_path", required=True, type=click.Path(path_type=Path, exists=True),
              help="Parquet file or folder of events in SOURCE's schema.")
@click.option("--speedup", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Keep the events' spacing divided by this (60: an hour per minute; default: as fast as possible).")
@click.option("--start", default=None, help="Only events at or after this ISO time (UTC).")
@click.option("--end", default=None, help="Only events before this ISO time (UTC).")
@user_errors
@_stream_errors
def stream_replay(source: str, repo: Path | None, yaml_path: Path | None, events_path: Path,
                  speedup: float | None, start: str | None, end: str | None) -> None:
    """Publish historical events to SOURCE's topic, in event-time order."""
    import pandas as pd

    from fresco.platform import open_store
    from fresco.platform.streaming.producer import EventPublisher, replay

    store = open_store(repo, yaml_path)
    publisher = EventPublisher.for_source(store, source)
    time_field = publisher.required[0]
    events = pd.read_parquet(events_path)
    if time_field not in events.columns:
        raise click.ClickException(f"{events_path} has no column {time_field!r}, {source}'s event time")
    stamps = pd.to_datetime(events[time_field], utc=True)
    since, until = parse_utc(start, "--start"), parse_utc(end, "--end")
    if since is not None:
        events = events[stamps >= since]
    if until is not None:
        events = events[stamps.loc[events.index] < until]
    click.echo(f"publishing {len(events):,} events to {publisher.topic}"
               + (f" at {speedup:g}x their pace" if speedup else ""), err=True)
    count = replay(publisher, events, time_field, speedup=speedup, say=lambda m: click.echo(m, err=True))
    click.echo(f"{count:,} events published to {publisher.topic}")


@stream.command("status")
@click.argument("group")
@repo_option
@user_errors
def stream_status(group: str, repo: Path | None, yaml_path: Path | None) -> None:
    """GROUP's stream job: running or not, its counters and its lag, as it last wrote them."""
    from fresco.platform.services.process import pid_alive
    from fresco.platform.streaming.job import StreamStatus, stream_home

    path = stream_home(group) / "status.json"
    if not path.exists():
        raise click.ClickException(f"no stream job of {group!r} has run here (no {path}); "
                                   f"start one with `fresco stream run {group}`")
    status = StreamStatus.read(path, group, "")
    click.echo(_status_line(status))
    if status.pid is not None and pid_alive(status.pid):
        click.echo(f"  running (pid {status.pid})" + (f", metrics at {status.metrics_url}" if status.metrics_url else ""))
    elif status.pid is not None:
        click.echo(f"  not running: its process (pid {status.pid}) ended without stopping the job; "
                   f"`fresco stream run {group}` resumes it from its checkpoint")
    else:
        click.echo("  not running (stopped cleanly)")
    click.echo(f"  micro-batches: {status.batches:,} written ({status.replayed_batches:,} replayed after a crash, "
               f"written once); last at {status.last_batch_at or 'never'}")
    lag = ", ".join(f"{where} {behind:,}" for where, behind in sorted(status.lag.items())) or "not measured yet"
    click.echo(f"  records behind the topic's end, per partition: {lag}")
    click.echo(f"  updated {status.updated_at}")


def _status_line(status: StreamStatus) -> str:
    return (f"{status.group}: {status.events_read:,} events read from {status.topic}, "
            f"{status.online_rows:,} online rows, {status.offline_rows:,} offline rows, "
            f"{status.pending_windows:,} windows pending, {status.late_rows_dropped:,} late "
            f"(event, window) pairs dropped, {status.dead_letters:,} dead letters")
