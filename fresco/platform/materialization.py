"""Materialization into the online store, on every store (``fresco materialize``).

Feast does the work. On the embedded default its local engine reads the Parquet files; on a
production yaml with ``batch_engine: spark.engine`` each feature view's rows are read from its
Hive table by Spark, reduced to the latest row per entity, and written to Cassandra from the
Spark tasks through Feast's online-store write API (``mapInArrow`` ->
``CassandraOnlineStore.online_write_batch``).

What Fresco adds around it:

* :func:`materialize_incremental` -- Feast's incremental materialization, except for a view's
  first run: Feast starts that at ``now - ttl``, or one year ago for a view without TTL, which
  silently leaves out older rows (a profile created two years ago). Here the first run starts at
  ``end - ttl``, or at the epoch for a view without TTL. Later runs continue from the end Feast
  recorded in the registry. Re-running a window writes the same values under the same keys
  (upserts), so it changes nothing. Each view's window is reported with the number of entities
  it holds offline, and an empty window is said out loud (serving would see nulls).
* :func:`open_materialization_store` -- the store of a yaml, with Fresco's Spark session
  started first when the offline store is Spark.
* :func:`ensure_keyspace` -- Feast does not create the Cassandra keyspace.
* :func:`check_spark_conf` -- the yaml's Spark settings must resolve to
  :func:`fresco.platform.spark.spark_conf`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fresco.platform.times import utc
from fresco.platform.views import feature_view, feature_views, view_features

if TYPE_CHECKING:
    from feast import FeatureStore


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: spark_conf keys whose value depends on where the process runs, not on Fresco's settings.
_LOCAL_KEYS = {"spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions"}


class MaterializationError(RuntimeError):
    """The production stores are not configured or reachable as materialization needs."""


class NothingRegistered(MaterializationError):
    """The repository has no feature view registered (``feast apply`` was never run)."""


def _say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(f"[materialize] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- configuration


def load_yaml(yaml_path: Path) -> dict[str, Any]:
    """The yaml as Feast reads it: ``${VAR}`` substituted from the environment."""
    return yaml.safe_load(os.path.expandvars(Path(yaml_path).read_text())) or {}


def check_spark_conf(yaml_path: Path, home: Path | None = None) -> None:
    """Raise :class:`MaterializationError` unless the yaml's ``spark_conf`` agrees with Fresco's.

    Every key of :func:`fresco.platform.spark.spark_conf` must be in the yaml with the same value,
    except the machine-dependent ones (master, driver memory, shuffle partitions), which must
    only be present. A metastore URI in the yaml replaces the Derby connection URL.
    """
    from fresco.platform.spark import spark_conf

    offline = load_yaml(yaml_path).get("offline_store") or {}
    given = {str(k): str(v) for k, v in (offline.get("spark_conf") or {}).items()}
    unresolved = sorted(k for k, v in given.items() if "${" in v)
    if unresolved:
        raise MaterializationError(
            f"{yaml_path}: spark_conf {unresolved} still hold ${{...}}: export the variables "
            "(FRESCO_HOME, the state dir) before running Feast with this file"
        )
    expected = spark_conf(home)
    if "spark.hadoop.hive.metastore.uris" in given:
        expected.pop("spark.hadoop.javax.jdo.option.ConnectionURL", None)
        expected["spark.hadoop.hive.metastore.uris"] = given["spark.hadoop.hive.metastore.uris"]
    problems = [
        f"{key}: yaml has {given.get(key)!r}, spark.py has {value!r}"
        for key, value in expected.items()
        if key not in given or (key not in _LOCAL_KEYS and given[key] != value)
    ]
    if problems:
        raise MaterializationError(
            f"{yaml_path} disagrees with fresco/platform/spark.py::spark_conf():\n  "
            + "\n  ".join(problems)
        )


def cassandra_settings(yaml_path: Path) -> tuple[list[str], str]:
    """The online store's contact points (``host:port``) and keyspace from the yaml."""
    online = load_yaml(yaml_path).get("online_store") or {}
    kind = str(online.get("type", ""))
    if kind != "cassandra" and not kind.endswith("CassandraOnlineStore"):
        raise MaterializationError(f"{yaml_path}: online_store.type is not cassandra")
    port = int(online.get("port") or 9042)
    hosts = [f"{h}:{port}" for h in online.get("hosts") or []]
    if not hosts:
        raise MaterializationError(f"{yaml_path}: online_store.hosts is empty")
    return hosts, str(online.get("keyspace") or "feast_keyspace")


def ensure_keyspace(
    yaml_path: Path, *, replication_factor: int = 1, timeout: float = 10
) -> str:
    """Create the online store's keyspace (SimpleStrategy) unless it exists; return its name.

    For the local node and tests. On a real cluster create the keyspace once with
    ``NetworkTopologyStrategy`` (see the comment in ``feature_store.production.yaml``).
    Raises :class:`MaterializationError` naming the hosts when no node answers within about
    ``timeout`` seconds.
    """
    from fresco.platform.cassandra_client import CassandraUnavailable, connect

    hosts, keyspace = cassandra_settings(yaml_path)
    try:
        session = connect(hosts, timeout=timeout)
    except CassandraUnavailable as exc:
        raise MaterializationError(f"{yaml_path}: {exc}") from None
    try:
        session.execute(
            f'CREATE KEYSPACE IF NOT EXISTS "{keyspace}" WITH replication = '
            f"{{'class': 'SimpleStrategy', 'replication_factor': {int(replication_factor)}}}",
            timeout=timeout,
        )
    finally:
        session.cluster.shutdown()
    return keyspace


# ----------------------------------------------------------------------------- materialization


def first_start(ttl: timedelta | None, end: datetime) -> datetime:
    """Where a view's first materialization starts: ``end - ttl``, or the epoch without a TTL."""
    if ttl is None or ttl.total_seconds() <= 0:
        return EPOCH
    return end - ttl


def _duration(span: timedelta) -> str:
    """``2 days``, ``1 hour``, ``90 minutes``, ``45 seconds``: the largest whole unit."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def window_entities(store: FeatureStore, view_name: str, start: datetime, end: datetime) -> int:
    """How many entities of ``view_name`` have an offline row in ``[start, end)``: what a
    materialization of that window writes (Feast's ``pull_latest_from_table_or_query``, the
    offline store's own materialization read)."""
    from feast.infra.offline_stores.offline_utils import get_offline_store_from_config

    view = feature_view(store, view_name)
    source = view.batch_source
    offline = get_offline_store_from_config(store.config.offline_store)
    job = offline.pull_latest_from_table_or_query(
        config=store.config,
        data_source=source,
        join_key_columns=[c.name for c in view.entity_columns],
        feature_name_columns=[f.name for f in view_features(view)],
        timestamp_field=source.timestamp_field,
        created_timestamp_column=source.created_timestamp_column or None,
        start_date=start,
        end_date=end,
    )
    return int(job.to_arrow().num_rows)


def materialize_incremental(
    store: FeatureStore,
    end: datetime,
    views: Sequence[str] | None = None,
    *,
    start: datetime | None = None,
    quiet: bool = False,
    count: bool = False,
) -> dict[str, tuple[datetime | None, datetime]]:
    """Load each view's offline rows up to ``end`` into the online store; return the windows.

    With ``start``, every view loads ``[start, end)``. Without it, a view materialized before
    continues from the end Feast recorded (``None`` in the returned window) and a view never
    materialized starts at :func:`first_start`. With ``count``, each window's entities are
    counted first and an empty window is reported. A naive time is UTC.
    """
    end = utc(end)
    start = None if start is None else utc(start)
    if start is not None and start >= end:
        raise ValueError(f"start {start:%Y-%m-%d %H:%M} is not before end {end:%Y-%m-%d %H:%M}")
    names = list(views) if views is not None else [v.name for v in feature_views(store)]
    known = {v.name for v in feature_views(store)}
    if not known:
        raise NothingRegistered(f"nothing is registered in the feature repository {store.repo_path}: "
                                   "run `feast apply` in it first")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise MaterializationError(f"no feature view {unknown} in {store.repo_path}; it has {sorted(known)}")
    windows: dict[str, tuple[datetime | None, datetime]] = {}
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        view = feature_view(store, name)
        t1 = time.perf_counter()
        recorded = view.most_recent_end_time
        begin = start or (first_start(view.ttl, end) if recorded is None else recorded)
        kind = "window" if start else ("first run" if recorded is None else "incremental")
        label = f"({i}/{len(names)}) {name}"
        if count:
            entities = window_entities(store, name, begin, end)
            _say(f"{label}: {kind}, {begin:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M}, "
                 f"{entities:,} entities offline", quiet)
            if entities == 0:
                ttl = f" (TTL {_duration(view.ttl)})" if view.ttl and view.ttl.total_seconds() > 0 else ""
                _say(f"{label}: WARNING nothing to load in this window{ttl}: online lookups of "
                     f"{name} will be null. Is the offline data older than the window? --start loads an "
                     "earlier one", quiet)
        else:
            _say(f"{label}: {kind}, {begin:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M}", quiet)
        if start is None and recorded is not None:
            store.materialize_incremental(end_date=end, feature_views=[name])
            windows[name] = (None, end)
        else:
            store.materialize(start_date=begin, end_date=end, feature_views=[name])
            windows[name] = (begin, end)
        _say(f"{label}: done in {time.perf_counter() - t1:.1f}s", quiet)
        expired = expired_online(view.ttl, end)
        if expired:
            _say(f"{label}: WARNING {expired}", quiet)
    _say(f"{len(names)} view(s) in {time.perf_counter() - t0:.1f}s", quiet)
    return windows


def expired_online(ttl: timedelta | None, end: datetime, now: datetime | None = None) -> str | None:
    """Why values loaded up to ``end`` will be null online, or None when they will be served.

    The online store's TTL counts from the time of the read (now), so a window that ended more
    than the view's TTL ago loads values serving always treats as expired; offline point-in-time
    retrieval counts the TTL from each training row's time, so training is unaffected.
    """
    if ttl is None or ttl.total_seconds() <= 0:
        return None
    now = now or datetime.now(timezone.utc)
    if utc(end) + ttl >= now:
        return None
    return (f"the newest value loaded is from before {end:%Y-%m-%d %H:%M} UTC, older than the view's TTL "
            f"({_duration(ttl)}) at {now:%Y-%m-%d %H:%M} UTC: online lookups will read it as null (the TTL "
            "counts from the read). Offline (training) is unaffected: there the TTL counts from each "
            "row's time")


def open_materialization_store(
    repo_path: Path | str | None = None, yaml_path: Path | str | None = None, home: Path | None = None
) -> FeatureStore:
    """The ``FeatureStore`` of a repository, ready for materialization jobs.

    On a Spark offline store it first sets ``FRESCO_HOME`` (default: the state dir) so the
    yaml's ``${FRESCO_HOME}`` resolves, checks the yaml's Spark settings, and starts Spark from
    :mod:`fresco.platform.spark` (Feast's offline store and Spark engine then use that session).
    """
    from fresco.platform.environment import offline_store_type
    from fresco.platform.repo import YAML_ENV, resolve_repo, resolve_yaml

    repo = resolve_repo(repo_path)
    config = resolve_yaml(repo, yaml_path)
    if offline_store_type(config) == "spark":
        os.environ[YAML_ENV] = str(config)  # Spark's Python workers open the same configuration
        from fresco.platform.spark import spark_session
        from fresco.platform.state import state_dir

        home = Path(home or os.environ.get("FRESCO_HOME") or state_dir()).resolve()
        os.environ["FRESCO_HOME"] = str(home)
        check_spark_conf(config, home)
        spark_session("fresco-materialize", home=home)
    from feast import FeatureStore

    return FeatureStore(repo_path=str(repo), fs_yaml_file=config)
