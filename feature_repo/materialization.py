"""Materialization into the production online store (Cassandra) from the Spark offline store.

Feast does the work: ``feature_store.production.yaml`` names ``batch_engine: spark.engine``, so
each feature view's rows are read from its Hive table by Spark, reduced to the latest row per
entity, and written to Cassandra from the Spark tasks through Feast's online-store write API
(``mapInArrow`` -> ``CassandraOnlineStore.online_write_batch``). On a cluster that spreads over
the executors; locally it runs on ``local[2]``.

What Fresco adds around it:

* :func:`materialize_incremental` -- Feast's incremental materialization, except for a view's
  first run: Feast starts that at ``now - ttl``, or one year ago for a view without TTL, which
  silently leaves out older rows (a restaurant profile created two years ago). Here the first
  run starts at ``end - ttl``, or at the epoch for a view without TTL. Later runs continue from
  the end Feast recorded in the registry. Re-running a window writes the same values under the
  same keys (Cassandra upserts), so it changes nothing.
* :func:`ensure_keyspace` -- Feast does not create the Cassandra keyspace.
* :func:`check_spark_conf` -- the yaml's Spark settings must resolve to
  :func:`feature_repo.spark.spark_conf`.
* ``python -m feature_repo.materialization`` -- the command line, with progress: Feast's lines
  per view and window, Spark's stage progress bars, and a line per view with its duration.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from feast import FeatureStore

from feature_repo.environment import PRODUCTION_YAML, REPO_DIR

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: spark_conf keys whose value depends on where the process runs, not on Fresco's settings.
_LOCAL_KEYS = {"spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions"}


class MaterializationError(RuntimeError):
    """The production stores are not configured or reachable as materialization needs."""


def _say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(f"[materialize] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- configuration


def load_yaml(yaml_path: Path = PRODUCTION_YAML) -> dict[str, Any]:
    """The yaml as Feast reads it: ``${VAR}`` substituted from the environment."""
    return yaml.safe_load(os.path.expandvars(Path(yaml_path).read_text())) or {}


def check_spark_conf(yaml_path: Path = PRODUCTION_YAML, home: Path | None = None) -> None:
    """Raise :class:`MaterializationError` unless the yaml's ``spark_conf`` agrees with Fresco's.

    Every key of :func:`feature_repo.spark.spark_conf` must be in the yaml with the same value,
    except the machine-dependent ones (master, driver memory, shuffle partitions), which must
    only be present. A metastore URI in the yaml replaces the Derby connection URL.
    """
    from feature_repo.spark import spark_conf

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
            f"{yaml_path} disagrees with feature_repo/spark.py::spark_conf():\n  "
            + "\n  ".join(problems)
        )


def cassandra_settings(yaml_path: Path = PRODUCTION_YAML) -> tuple[list[str], str]:
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
    yaml_path: Path = PRODUCTION_YAML, *, replication_factor: int = 1, timeout: float = 10
) -> str:
    """Create the online store's keyspace (SimpleStrategy) unless it exists; return its name.

    For the local node and tests. On a real cluster create the keyspace once with
    ``NetworkTopologyStrategy`` (see the comment in ``feature_store.production.yaml``).
    Raises ``fresco.services.cassandra.CassandraUnavailable`` naming the hosts when no node
    answers within about ``timeout`` seconds.
    """
    from fresco.services.cassandra import connect

    hosts, keyspace = cassandra_settings(yaml_path)
    session = connect(hosts=hosts, timeout=timeout)
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


def materialize_incremental(
    store: FeatureStore,
    end: datetime,
    views: Sequence[str] | None = None,
    *,
    quiet: bool = False,
) -> dict[str, tuple[datetime | None, datetime]]:
    """Load each view's offline rows up to ``end`` into the online store; return the windows.

    A view materialized before continues from the end Feast recorded (``None`` in the returned
    window); a view never materialized starts at :func:`first_start`. ``end`` must be
    timezone-aware.
    """
    if end.tzinfo is None:
        raise ValueError(f"end must be timezone-aware (UTC), got {end!r}")
    names = list(views) if views is not None else [v.name for v in store.list_feature_views()]
    windows: dict[str, tuple[datetime | None, datetime]] = {}
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        view = store.get_feature_view(name)
        t1 = time.perf_counter()
        if view.most_recent_end_time is None:
            start = first_start(view.ttl, end)
            _say(f"({i}/{len(names)}) {name}: first run, {start:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M}", quiet)
            store.materialize(start_date=start, end_date=end, feature_views=[name])
            windows[name] = (start, end)
        else:
            _say(f"({i}/{len(names)}) {name}: incremental, up to {end:%Y-%m-%d %H:%M}", quiet)
            store.materialize_incremental(end_date=end, feature_views=[name])
            windows[name] = (None, end)
        _say(f"({i}/{len(names)}) {name}: done in {time.perf_counter() - t1:.1f}s", quiet)
    _say(f"{len(names)} view(s) in {time.perf_counter() - t0:.1f}s", quiet)
    return windows


def open_production_store(
    repo_path: Path = REPO_DIR, yaml_path: Path = PRODUCTION_YAML, home: Path | None = None
) -> FeatureStore:
    """The production ``FeatureStore`` with Fresco's Spark session already active.

    Sets ``FRESCO_HOME`` (default: the state dir) so the yaml's ``${FRESCO_HOME}`` resolves,
    checks the yaml's Spark settings, and starts Spark from :mod:`feature_repo.spark` (Feast's
    offline store and Spark engine then use that session).
    """
    from fresco.paths import state_dir
    from feature_repo.spark import spark_session

    home = Path(home or os.environ.get("FRESCO_HOME") or state_dir()).resolve()
    os.environ["FRESCO_HOME"] = str(home)
    os.environ["FEAST_FS_YAML_FILE_PATH"] = str(Path(yaml_path).resolve())
    check_spark_conf(yaml_path, home)
    spark_session("fresco-materialize", home=home)
    return FeatureStore(repo_path=str(repo_path), fs_yaml_file=Path(yaml_path).resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m feature_repo.materialization",
        description="Materialize the production feature views (Spark, Hive) into Cassandra.",
    )
    parser.add_argument("--repo", type=Path, default=REPO_DIR, help="the Feast repository")
    parser.add_argument("--yaml", type=Path, default=None, help="default: <repo>/feature_store.production.yaml")
    parser.add_argument("--end", default=None, help="ISO time, UTC (default: now)")
    parser.add_argument("--view", action="append", default=None, help="only this view (repeatable)")
    parser.add_argument("--prepare", action="store_true",
                        help="only create the Cassandra keyspace if missing (replication 1), then exit")
    args = parser.parse_args(argv)
    yaml_path = (args.yaml or args.repo / "feature_store.production.yaml").resolve()
    if args.prepare:
        keyspace = ensure_keyspace(yaml_path)
        _say(f"keyspace {keyspace} ready on {', '.join(cassandra_settings(yaml_path)[0])}")
        return 0
    end = datetime.fromisoformat(args.end) if args.end else datetime.now(timezone.utc)
    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    store = open_production_store(args.repo, yaml_path)
    materialize_incremental(store, end, args.view)
    return 0


if __name__ == "__main__":
    sys.exit(main())
