"""Benchmark: the example's point-in-time dataset with Fresco's DuckDB store and Feast's own stores.

    python benchmarks/bench_retrieval.py --orders 100000           # all three stores, same data
    python benchmarks/bench_retrieval.py --orders 1000000 --skip-feast   # Feast's DuckDB store only
    python benchmarks/bench_retrieval.py --low-cardinality --skip-feast
    python benchmarks/bench_retrieval.py --orders 10000000 --restaurants 5000 --skip-feast --skip-feast-duckdb \
        --duckdb-memory-limit 2GB   # Fresco's store also with its memory_limit set
    python benchmarks/bench_retrieval.py --orders 10000000 --restaurants 5000 --skip-feast --skip-feast-duckdb \
        --own-process-rows 1000000000   # also with the joins in the caller's process

Prepares a private copy of the example repository: generated orders and the three feature
groups computed by Spark (as ``bench_training.py`` does), or with ``--low-cardinality``
synthetic feature tables of 3 restaurants with 9,000 hourly rows each and 300,000 entity rows.
Then each store builds the dataset of ``delivery_eta_v1`` (3 views) for every order with
``fresco.training.build_training_frame`` -- each in its own child process, so its time and peak
resident memory (``ru_maxrss``) are its own, with beside it the peak of the processes that one
started (``RUSAGE_CHILDREN``: the DuckDB process Fresco's store joins large frames in): Fresco's
store, Feast's DuckDB store (``type: duckdb``, through ibis: the strongest peer) in one query per
view, Feast's file store in its default chunks of 20,000 rows (``fresco.training.config.retrieval_chunk_rows``; ``--skip-feast`` leaves it out).
Each peer's frame is compared with Fresco's (values and dtypes). The last line is
``retrieval: fresco S s (peak P GiB, child processes C GiB), feast duckdb S s (Xx), feast file S s (Yx),
equal yes|no``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRESCO = "fresco.platform.offline_stores.FrescoDuckDBOfflineStore"
SERVICE = "delivery_eta_v1"


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{platform.node()}: {model}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def _yaml_for(repo: Path, store_type: str, settings: dict[str, Any], name: str) -> Path:
    """The repository's yaml (saved as ``feature_store.<name>.yaml``) with ``offline_store.type``
    set to ``store_type`` (Feast's DuckDB store: Feast's own provider and a registry of its own,
    see :func:`_feast_duckdb_store`) and the store's ``settings`` (Fresco's store's
    ``memory_limit``, past which DuckDB spills to disk, or ``own_process_rows``)."""
    import yaml

    config = yaml.safe_load((repo / "feature_store.yaml").read_text())
    config["offline_store"] = {"type": store_type, **settings}
    if store_type == "duckdb":
        config["provider"] = "local"
        config["registry"] = {"path": "data/registry.feast-duckdb.db"}
    path = repo / f"feature_store.{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _example_data(repo: Path, orders: int, restaurants: int, days: int) -> Path:
    """Generated orders and the Spark feature groups; returns the entity rows' Parquet path."""
    from fresco.example.pipelines import generate_raw, run_feature_groups
    from fresco.platform.spark import spark_session

    raw = generate_raw(repo / "data" / "raw", restaurants=restaurants, orders=orders, days=days)
    spark = spark_session("fresco-bench-retrieval", home=repo.parent / "spark-home")
    spark.sparkContext.setLogLevel("ERROR")
    try:
        counts = run_feature_groups(spark, raw.out_dir, repo / "data" / "features", None)
    finally:
        spark.stop()
    print(f"feature groups: {counts}")
    return raw.orders_path


def _low_cardinality_data(repo: Path, keys: int = 3, hours: int = 9_000, rows: int = 300_000) -> Path:
    """``keys`` restaurants with ``hours`` hourly rows in each view; ``rows`` random entity rows."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    start = pd.Timestamp("2025-12-01", tz="UTC")
    grid = pd.DataFrame({"restaurant_id": np.repeat(np.arange(1, keys + 1), hours),
                         "event_timestamp": np.tile(start + pd.to_timedelta(np.arange(hours), unit="h"), keys)})
    n = len(grid)
    tables = {
        "restaurant_profile": pd.DataFrame({
            "restaurant_id": np.arange(1, keys + 1), "event_timestamp": [start] * keys,
            "lat": rng.normal(37.7, 0.1, keys), "lon": rng.normal(-122.4, 0.1, keys),
            "cuisine": rng.choice(["pizza", "sushi", "thai"], keys), "kitchen_capacity": rng.integers(2, 9, keys)}),
        "restaurant_stats_7d": grid.assign(
            avg_prep_time_7d=rng.normal(15, 3, n), avg_delivery_time_7d=rng.normal(30, 5, n),
            orders_per_hour_7d=rng.random(n) * 10, avg_items_7d=rng.random(n) * 4, order_count_7d=rng.integers(0, 900, n)),
        "restaurant_realtime": grid.assign(avg_prep_time_1h=rng.normal(15, 3, n), orders_1h=rng.integers(0, 30, n)),
    }
    for name, table in tables.items():
        folder = repo / "data" / "features" / name
        folder.mkdir(parents=True, exist_ok=True)
        table["event_timestamp"] = table["event_timestamp"].astype("datetime64[us, UTC]")
        table.to_parquet(folder / "part-0.parquet", index=False)
    seconds = rng.integers(0, hours * 3600, rows)
    entity = pd.DataFrame({"order_id": np.arange(1, rows + 1), "restaurant_id": rng.integers(1, keys + 1, rows),
                           "placed_at": (start + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us, UTC]")})
    path = repo / "data" / "raw" / "orders.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    entity.to_parquet(path, index=False)
    print(f"low cardinality: {keys} restaurants x {hours:,} hourly rows per view, {rows:,} entity rows")
    return path


def child(repo: Path, yaml_path: Path, rows_path: Path, out: Path) -> None:
    """Build the dataset with the yaml's offline store; print one JSON line of figures."""
    import pandas as pd
    from feast import FeatureStore

    from fresco.training import build_training_frame
    from fresco.training.config import retrieval_chunk_rows

    rows = pd.read_parquet(rows_path, columns=["order_id", "restaurant_id", "placed_at"])
    store = FeatureStore(repo_path=str(repo), fs_yaml_file=yaml_path)
    if str(store.config.offline_store.type) == "duckdb":
        store = _feast_duckdb_store(repo, store)
    kind = str(store.config.offline_store.type)
    chunk = retrieval_chunk_rows(kind)
    start = time.perf_counter()
    frame = build_training_frame(rows, SERVICE, store, timestamp_column="placed_at", chunk_rows=chunk)
    seconds = time.perf_counter() - start
    frame.to_parquet(out, index=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    # the largest ended child's peak (the DuckDB process of Fresco's store; 0: none started)
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"store": kind, "seconds": seconds, "peak_bytes": peak, "child_peak_bytes": child_peak,
                      "rows": len(frame), "chunk_rows": chunk}))


def _feast_duckdb_store(repo: Path, store: Any) -> Any:
    """Feast's DuckDB store over the same catalog and data: its reader (ibis) takes a Parquet
    source only by a path ending in ``.parquet``, so the catalog's folder sources are registered
    (in this store's own registry) as ``<folder>/*.parquet``, the same files."""
    from feast import FeatureStore, FileSource

    catalog = FeatureStore(repo_path=str(repo), fs_yaml_file=repo / "feature_store.yaml")
    views = [*catalog.list_feature_views(), *catalog.list_stream_feature_views()]
    for view in views:
        source = view.batch_source
        if isinstance(source, FileSource) and not source.path.endswith(".parquet"):
            source.file_options.uri = str((repo / source.path).resolve() / "*.parquet")
    store.apply([*catalog.list_entities(), *views, *catalog.list_feature_services()])
    return store


def _run(repo: Path, yaml_path: Path, rows_path: Path, out: Path) -> dict:
    env = {**os.environ, "FEAST_FS_YAML_FILE_PATH": str(yaml_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, __file__, "--child", str(repo), str(yaml_path), str(rows_path), str(out)],
                            env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{yaml_path.name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _equal(a: Path, b: Path) -> tuple[bool, str]:
    import pandas as pd

    left, right = pd.read_parquet(a), pd.read_parquet(b)
    try:
        pd.testing.assert_frame_equal(left, right, check_dtype=True)
    except AssertionError as err:
        return False, str(err).splitlines()[0]
    return True, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--restaurants", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--low-cardinality", action="store_true",
                        help="3 restaurants, 9,000 hourly rows each per view, 300,000 entity rows (no Spark)")
    parser.add_argument("--skip-feast", action="store_true", help="without Feast's file store (for large runs)")
    parser.add_argument("--skip-feast-duckdb", action="store_true", help="without Feast's DuckDB store")
    parser.add_argument("--duckdb-memory-limit", default=None,
                        help="also run Fresco's store with this memory_limit (e.g. 2GB)")
    parser.add_argument("--own-process-rows", type=int, default=None,
                        help="also run Fresco's store with this own_process_rows (frames of at least this "
                             "many rows joined in a DuckDB process of their own; e.g. 1000000000: never)")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)

    from fresco.example import REPO_DIR
    from fresco.platform import apply_catalog

    print(f"machine: {_machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="fresco-bench-retrieval-") as tmp:
        repo = Path(tmp) / "feature_repo"
        repo.mkdir()
        os.environ["FRESCO_HOME"] = str(Path(tmp) / "home")
        for name in ("feature_store.yaml", "definitions.py", ".feastignore"):
            shutil.copy(REPO_DIR / name, repo / name)
        t0 = time.perf_counter()
        rows_path = (_low_cardinality_data(repo) if args.low_cardinality
                     else _example_data(repo, args.orders, args.restaurants, args.days))
        apply_catalog(repo)
        print(f"prepared in {time.perf_counter() - t0:.0f} s")
        runs = {}
        variants = [("fresco", FRESCO, {})]
        if args.duckdb_memory_limit:
            variants.append((f"fresco memory_limit {args.duckdb_memory_limit}", FRESCO,
                             {"memory_limit": args.duckdb_memory_limit}))
        if args.own_process_rows is not None:
            variants.append((f"fresco own_process_rows {args.own_process_rows}", FRESCO,
                             {"own_process_rows": args.own_process_rows}))
        variants += [] if args.skip_feast_duckdb else [("feast duckdb", "duckdb", {})]
        variants += [] if args.skip_feast else [("feast file", "file", {})]
        for n, (label, kind, settings) in enumerate(variants):
            yaml_path = _yaml_for(repo, kind, settings, f"run{n}")
            runs[label] = _run(repo, yaml_path, rows_path, Path(tmp) / f"{label.replace(' ', '_')}.parquet")
            r = runs[label]
            chunks = f"chunks of {r['chunk_rows']:,}" if r["chunk_rows"] else "one query per view"
            print(f"{label}: {r['seconds']:.1f} s, peak RSS {r['peak_bytes'] / 2**30:.2f} GiB, its child "
                  f"processes' peak {r['child_peak_bytes'] / 2**30:.2f} GiB, {r['rows']:,} rows ({chunks})",
                  flush=True)
        equal = None
        for label in runs:
            if label == "fresco":
                continue
            same, why = _equal(Path(tmp) / "fresco.parquet", Path(tmp) / f"{label.replace(' ', '_')}.parquet")
            equal = same if equal is None else equal and same
            if why:
                print(f"frames differ ({label} against fresco): {why}")
    args.results.mkdir(parents=True, exist_ok=True)
    name = "low-cardinality" if args.low_cardinality else f"{args.orders}"
    (args.results / f"retrieval-{name}.json").write_text(json.dumps(
        {"machine": _machine(), "date": datetime.now(timezone.utc).isoformat(), "runs": runs, "equal": equal}, indent=2))
    fresco = runs["fresco"]["seconds"]
    peaks = (f"peak {runs['fresco']['peak_bytes'] / 2**30:.2f} GiB, "
             f"child processes {runs['fresco']['child_peak_bytes'] / 2**30:.2f} GiB")
    peers = [f"{label} {r['seconds']:.1f} s ({r['seconds'] / fresco:.1f}x)" if label in runs else f"{label} skipped"
             for label, r in ((label, runs.get(label)) for label in ("feast duckdb", "feast file"))]
    print(f"retrieval: fresco {fresco:.1f} s ({peaks}), {', '.join(peers)}, "
          f"equal {'n/a' if equal is None else 'yes' if equal else 'no'}")
    return 0 if equal in (True, None) else 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(*(Path(a) for a in sys.argv[2:]))
    else:
        raise SystemExit(main())
