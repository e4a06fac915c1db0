"""Benchmark: raw-data generation and the feature-group Spark jobs at several sizes.

    python benchmarks/bench_feature_groups.py                      # 60k and 2M orders
    python benchmarks/bench_feature_groups.py --orders 60000 500000 --hive

For each size: generate the raw data (numpy), then run every feature-group job once on the
shared Spark session (Parquet output; ``--hive`` also writes Hive tables into a private Derby
metastore). The Spark session is started once before the first size and its start-up time is
reported apart. Results are printed and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fresco.example.pipelines.generate import generate_raw  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[60_000, 2_000_000])
    parser.add_argument("--restaurants", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--hive", action="store_true", help="also write Hive tables")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)

    import os

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    from fresco.example.pipelines.feature_groups import run_feature_groups
    from fresco.platform.spark import spark_session

    results = []
    with tempfile.TemporaryDirectory(prefix="fresco-bench-fg-") as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        spark = spark_session("fresco-bench-feature-groups", home=tmp_path / "spark-home")
        spark.sparkContext.setLogLevel("ERROR")
        spark_start_s = time.perf_counter() - t0
        print(f"spark session started in {spark_start_s:.1f}s")
        for n in args.orders:
            raw_dir, out_dir = tmp_path / f"raw-{n}", tmp_path / f"out-{n}"
            t0 = time.perf_counter()
            generate_raw(raw_dir, restaurants=args.restaurants, orders=n, days=args.days)
            generate_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            counts = run_feature_groups(spark, raw_dir, out_dir,
                                        hive_database=f"bench_{n}" if args.hive else None)
            jobs_s = time.perf_counter() - t0
            row = {"orders": n, "restaurants": args.restaurants, "days": args.days, "hive": args.hive,
                   "generate_s": round(generate_s, 2), "feature_groups_s": round(jobs_s, 2),
                   "rows": counts}
            results.append(row)
            print(f"{n:>10,} orders: generate {generate_s:6.1f}s, feature groups {jobs_s:6.1f}s, rows {counts}")
        spark.stop()

    args.results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = args.results / f"feature_groups-{stamp}.json"
    path.write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(),
                                "spark_start_s": round(spark_start_s, 2), "runs": results}, indent=2))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
