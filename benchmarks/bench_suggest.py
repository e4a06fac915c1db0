"""Benchmark: ``fresco features suggest`` for 100k label rows against the example's whole catalog.

    .venv/bin/python benchmarks/bench_suggest.py [--orders 100000] [--restaurants 200] [--days 28]

In a temporary folder: generates the example's orders, computes its feature groups (Spark),
applies its catalog, labels each order late (delivery time above its 70th percentile), then
runs ``fresco features suggest ORDERS --label late --write-config ...`` as a child process, as a
person would, and prints its wall time (imports included), the breakdown the report records
(point-in-time retrieval, univariate figures, quick model with its permutation importance), the
child's peak RSS and the machine. Nothing is asserted.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--restaurants", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    args = parser.parse_args(argv)

    import pandas as pd

    from fresco.example import copy_definitions
    from fresco.example.pipelines import generate_raw, run_feature_groups
    from fresco.platform import apply_catalog
    from fresco.platform.spark import spark_session

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {platform.node()}: {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}; "
          f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    folder = Path(tempfile.mkdtemp(prefix="bench-suggest-"))
    try:
        os.environ["FRESCO_HOME"] = str(folder / "home")
        t0 = time.perf_counter()
        repo = copy_definitions(folder / "feature_repo")
        raw = generate_raw(repo / "data" / "raw", restaurants=args.restaurants, orders=args.orders, days=args.days)
        spark = spark_session("fresco-bench-suggest", home=folder / "spark-home")
        spark.sparkContext.setLogLevel("ERROR")
        run_feature_groups(spark, raw.out_dir, repo / "data" / "features")
        spark.stop()
        apply_catalog(repo)
        orders = pd.read_parquet(raw.orders_path)
        late = orders["delivery_duration_min"] > orders["delivery_duration_min"].quantile(0.7)
        labels = folder / "late.parquet"
        orders[["order_id", "restaurant_id", "placed_at"]].assign(late=late).to_parquet(labels)
        print(f"prepared {len(orders):,} orders, feature groups and catalog in {time.perf_counter() - t0:.0f}s")

        fresco = Path(sys.executable).with_name("fresco")
        command = [str(fresco), "features", "suggest", str(labels), "--label", "late", "--repo", str(repo),
                   "--output", str(folder / "report"), "--write-config", str(folder / "draft")]
        t1 = time.perf_counter()
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        wall = time.perf_counter() - t1
        if done.returncode:
            raise SystemExit(f"fresco features suggest failed:\n{done.stderr[-3000:]}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        report = json.loads((folder / "report" / "suggestion.json").read_text())
        seconds, ranking = report["seconds"], report["ranking"]
        print(done.stdout)
        print(f"features ranked: {len(report['features'])}, left out: {len(report['excluded'])}; "
              f"quick model auc {ranking['model_metrics']['auc']:.4f} against {ranking['baseline_metrics']['auc']:.4f}")
        print(f"breakdown: retrieval {seconds['retrieval']:.1f} s, univariate {seconds['univariate']:.1f} s, "
              f"quick model and permutation importance {seconds['quick_model']:.1f} s")
        print(f"fresco features suggest: {len(orders):,} label rows in {wall:.1f} s (command, imports included), "
              f"peak RSS {peak:.2f} GiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
