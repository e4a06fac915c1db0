"""Benchmark: the production stores (Cassandra, Spark on Hive) next to the embedded default.

    .venv/bin/fresco services start                         # the local Cassandra node
    .venv/bin/python benchmarks/bench_stores.py              # small defaults, a few minutes
    .venv/bin/python benchmarks/bench_stores.py --pit-rows 1000000 --skip-online   # the 1M PIT figure

Figures printed (and written as JSON to ``benchmarks/results/``):

1. Materialization into Cassandra of ``restaurant_stats_7d`` (``--entities`` restaurants, one
   row each in the window, 5 features): entities/s and Cassandra rows/s, with the production
   yaml's Spark engine, with Feast's in-process (local) engine, and into SQLite for reference.
2. Online read latency through ``FeatureStore.get_online_features`` for 1 and for 100
   entities (``--reads`` calls each, after warm-up): p50/p95/p99 on Cassandra and on SQLite.
3. Point-in-time retrieval (``get_historical_features(...).to_df()``, one view) for
   ``--pit-rows`` entity rows on the Spark offline store (Hive table) and on the file store.

Everything lives in a temporary folder (Spark warehouse, Derby metastore, Feast repos) and a
private Cassandra keyspace that is dropped at the end. Timings include Feast's own overhead
(registry, type conversion), as a Fresco user sees them. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIEW = "restaurant_stats_7d"
FEATURES = [
    f"{VIEW}:avg_prep_time_7d",
    f"{VIEW}:avg_delivery_time_7d",
    f"{VIEW}:orders_per_hour_7d",
    f"{VIEW}:avg_items_7d",
    f"{VIEW}:order_count_7d",
]


# ------------------------------------------------------------------------------------ machine


def machine() -> dict[str, Any]:
    """Cores, memory, Python, Java, Cassandra and library versions of this run."""
    import feast
    import pyspark

    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    try:
        from fresco.platform.services.cassandra import query_release_version

        cassandra = query_release_version()
    except Exception as exc:  # reported, not fatal: --skip-online needs no node
        cassandra = f"unreachable ({type(exc).__name__})"
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "java": java[0] if java else "?",
        "cassandra": cassandra,
        "feast": feast.__version__,
        "pyspark": pyspark.__version__,
    }


# --------------------------------------------------------------------------------------- data


def stats_rows(entities: int, snapshots: int, end: datetime, seed: int = 11) -> pd.DataFrame:
    """``snapshots`` daily rows per restaurant, the newest strictly before ``end``."""
    rng = np.random.default_rng(seed)
    day0 = (end - timedelta(minutes=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    ids = np.repeat(np.arange(1, entities + 1, dtype=np.int64), snapshots)
    days = np.tile(np.arange(snapshots), entities)
    n = len(ids)
    return pd.DataFrame(
        {
            "restaurant_id": ids,
            "event_timestamp": (pd.Timestamp(day0) - pd.to_timedelta(days, unit="D")).astype(
                "datetime64[us, UTC]"
            ),
            "avg_prep_time_7d": rng.uniform(5, 25, n),
            "avg_delivery_time_7d": rng.uniform(20, 60, n),
            "orders_per_hour_7d": rng.uniform(0.1, 3, n),
            "avg_items_7d": rng.uniform(1, 4, n),
            "order_count_7d": rng.integers(1, 500, n),
        }
    )


def entity_rows(rows: int, entities: int, end: datetime, seed: int = 12) -> pd.DataFrame:
    """``rows`` entity rows: random restaurants at random times over the 3 days before ``end``."""
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, 3 * 86_400, rows)
    return pd.DataFrame(
        {
            "restaurant_id": rng.integers(1, entities + 1, rows).astype(np.int64),
            "event_timestamp": (pd.Timestamp(end) - pd.to_timedelta(offsets, unit="s")).astype(
                "datetime64[us, UTC]"
            ),
        }
    )


# -------------------------------------------------------------------------------------- repos


def feast_apply(repo: Path, yaml_path: Path, env: dict[str, str]) -> None:
    feast = Path(sys.executable).with_name("feast")
    result = subprocess.run(
        [str(feast), "-f", str(yaml_path), "apply", "--skip-source-validation"],
        cwd=repo, env={**os.environ, **env, "FEAST_FS_YAML_FILE_PATH": str(yaml_path)},
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        raise SystemExit(f"feast apply failed in {repo}:\n{(result.stdout + result.stderr)[-3000:]}")


def copy_definitions(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    for name in ("definitions.py", ".feastignore"):
        shutil.copy(ROOT / "feature_repo" / name, repo / name)


def production_repo(tmp: Path, home: Path, keyspace: str, database: str) -> tuple[Path, Path, Path]:
    """A repo applied with the production yaml; returns (repo, spark-engine yaml, local-engine yaml)."""
    from fresco.platform.materialization import ensure_keyspace
    from fresco.platform.services.cassandra import contact_points

    repo = tmp / "production"
    copy_definitions(repo)
    config = yaml.safe_load(
        (ROOT / "feature_repo" / "feature_store.production.yaml").read_text().replace("${FRESCO_HOME}", str(home))
    )
    host, port = contact_points()[0].rsplit(":", 1)
    config["online_store"].update(hosts=[host], port=int(port), keyspace=keyspace)
    config["registry"]["path"] = str(repo / "data" / "registry.production.db")
    spark_yaml = repo / "feature_store.production.yaml"
    spark_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    local_yaml = repo / "feature_store.local-engine.yaml"
    local_yaml.write_text(yaml.safe_dump({**config, "batch_engine": {"type": "local"}}, sort_keys=False))
    ensure_keyspace(spark_yaml)
    feast_apply(repo, spark_yaml, {"FRESCO_HIVE_DATABASE": database})
    return repo, spark_yaml, local_yaml


def embedded_repo(tmp: Path, stats: pd.DataFrame) -> Path:
    """A repo on the embedded default (SQLite, Parquet) holding the same rows."""
    repo = tmp / "embedded"
    copy_definitions(repo)
    shutil.copy(ROOT / "feature_repo" / "feature_store.yaml", repo / "feature_store.yaml")
    folder = repo / "data" / "features" / VIEW
    folder.mkdir(parents=True)
    stats.to_parquet(folder / "part-0.parquet", index=False)
    feast_apply(repo, repo / "feature_store.yaml", {})
    return repo


# ------------------------------------------------------------------------------------ figures


def timed_materialize(store: Any, start: datetime, end: datetime) -> float:
    t0 = time.perf_counter()
    store.materialize(start_date=start, end_date=end, feature_views=[VIEW])
    return time.perf_counter() - t0


def check_served(store: Any, stats: pd.DataFrame, end: datetime) -> None:
    """Fail loudly unless restaurant 1's newest offline value is what the online store serves."""
    newest = stats[(stats["restaurant_id"] == 1) & (stats["event_timestamp"] <= pd.Timestamp(end))]
    want = int(newest.sort_values("event_timestamp")["order_count_7d"].iloc[-1])
    got = store.get_online_features(features=FEATURES, entity_rows=[{"restaurant_id": 1}]).to_dict()
    if got["order_count_7d"] != [want]:
        raise SystemExit(f"online store serves {got['order_count_7d']} for restaurant 1, offline says {want}")


def read_latencies(store: Any, entities: int, batch: int, reads: int, seed: int = 13) -> dict[str, float]:
    """p50/p95/p99 (ms) of ``reads`` online reads of ``batch`` random restaurants."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(reads + 20):  # 20 warm-up calls
        ids = rng.integers(1, entities + 1, batch)
        rows = [{"restaurant_id": int(r)} for r in ids]
        t0 = time.perf_counter()
        store.get_online_features(features=FEATURES, entity_rows=rows).to_dict()
        if i >= 20:
            samples.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2)}


def timed_pit(store: Any, rows: pd.DataFrame) -> tuple[float, int]:
    t0 = time.perf_counter()
    frame = store.get_historical_features(entity_df=rows, features=FEATURES).to_df()
    return time.perf_counter() - t0, len(frame)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000, help="restaurants materialized")
    parser.add_argument("--snapshots", type=int, default=3, help="daily rows per restaurant")
    parser.add_argument("--reads", type=int, default=300, help="online reads per batch size and store")
    parser.add_argument("--pit-rows", type=int, default=100_000, help="entity rows of the PIT retrieval")
    parser.add_argument("--skip-online", action="store_true", help="only the PIT figures (no Cassandra)")
    parser.add_argument("--skip-pit", action="store_true", help="no PIT figures")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    from feast import FeatureStore

    from fresco.example.pipelines.feature_groups import write_hive_table
    from fresco.platform.spark import spark_session
    from fresco.platform.services.cassandra import connect

    info = machine()
    print("date {date}  host {host}  cores {cores}  RAM {ram_gib} GiB  python {python}".format(**info))
    print("{java}  cassandra {cassandra}  feast {feast}  pyspark {pyspark}".format(**info))
    results: dict[str, Any] = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}}
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=1)  # the window holds each restaurant's newest row only
    keyspace = f"bench_{uuid.uuid4().hex[:8]}"
    database = "bench_stores"

    with tempfile.TemporaryDirectory(prefix="fresco-bench-stores-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "spark-home"
        t0 = time.perf_counter()
        spark = spark_session("fresco-bench-stores", home=home)
        spark.sparkContext.setLogLevel("ERROR")
        print(f"spark session started in {time.perf_counter() - t0:.1f}s")

        stats = stats_rows(args.entities, args.snapshots, end)
        t0 = time.perf_counter()
        write_hive_table(spark.createDataFrame(stats), f"{database}.{VIEW}")
        print(f"{len(stats):,} offline rows -> Hive {database}.{VIEW} in {time.perf_counter() - t0:.1f}s")
        embedded = FeatureStore(repo_path=str(embedded_repo(tmp, stats)))
        session = None
        try:
            if not args.skip_online:
                repo, spark_yaml, local_yaml = production_repo(tmp, home, keyspace, database)
                session = connect()
                cassandra = FeatureStore(repo_path=str(repo), fs_yaml_file=spark_yaml)
                local = FeatureStore(repo_path=str(repo), fs_yaml_file=local_yaml)
                cells = args.entities * len(FEATURES)
                mat = {}
                for name, store in (("cassandra_spark_engine", cassandra),
                                    ("cassandra_local_engine", local), ("sqlite_local_engine", embedded)):
                    seconds = timed_materialize(store, start, end)
                    check_served(store, stats, end)
                    mat[name] = {"seconds": round(seconds, 2), "entities_per_s": round(args.entities / seconds),
                                 "rows_per_s": round(cells / seconds)}
                    print(f"materialize {args.entities:,} entities x {len(FEATURES)} features, {name}: "
                          f"{seconds:.1f}s = {args.entities / seconds:,.0f} entities/s, "
                          f"{cells / seconds:,.0f} online rows/s")
                results["materialization"] = mat
                reads = {}
                for name, store in (("cassandra", cassandra), ("sqlite", embedded)):
                    for batch in (1, 100):
                        lat = read_latencies(store, args.entities, batch, args.reads)
                        reads[f"{name}_{batch}"] = lat
                        print(f"online read, {batch:>3} entities, {name:<9}: p50 {lat['p50_ms']:7.2f} ms  "
                              f"p95 {lat['p95_ms']:7.2f} ms  p99 {lat['p99_ms']:7.2f} ms  ({args.reads} reads)")
                results["online_reads"] = reads
            if not args.skip_pit:
                if args.skip_online:
                    repo, spark_yaml, _ = production_repo_offline_only(tmp, home, database)
                    cassandra = FeatureStore(repo_path=str(repo), fs_yaml_file=spark_yaml)
                rows = entity_rows(args.pit_rows, args.entities, end)
                pit = {}
                for name, store in (("spark_hive", cassandra), ("file", embedded)):
                    seconds, count = timed_pit(store, rows)
                    pit[name] = {"seconds": round(seconds, 2), "rows_in": len(rows), "rows_out": count}
                    print(f"point-in-time retrieval, {len(rows):,} entity rows, {name:<10}: "
                          f"{seconds:6.1f}s ({count:,} rows out)")
                results["pit"] = pit
        finally:
            if session is not None:
                session.execute(f'DROP KEYSPACE IF EXISTS "{keyspace}"', timeout=120)
                session.cluster.shutdown()
            spark.stop()

    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"stores-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}")
    return 0


def production_repo_offline_only(tmp: Path, home: Path, database: str) -> tuple[Path, Path, Path]:
    """The production repo without Cassandra: its online store is never touched by PIT retrieval,
    but ``feast apply`` creates online tables, so the offline-only run uses SQLite online."""
    repo = tmp / "production-offline"
    copy_definitions(repo)
    config = yaml.safe_load(
        (ROOT / "feature_repo" / "feature_store.production.yaml").read_text().replace("${FRESCO_HOME}", str(home))
    )
    config["online_store"] = {"type": "sqlite", "path": str(repo / "data" / "online.db")}
    config["registry"]["path"] = str(repo / "data" / "registry.production.db")
    path = repo / "feature_store.production.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    feast_apply(repo, path, {"FRESCO_HIVE_DATABASE": database})
    return repo, path, path


if __name__ == "__main__":
    raise SystemExit(main())
