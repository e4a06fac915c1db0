"""Benchmark: training-dataset build and XGBoost training time, locally and on Spark local[2].

    python benchmarks/bench_training.py                     # 1M orders
    python benchmarks/bench_training.py --orders 200000 --engines local

Generates the orders, computes the feature groups (Spark), applies the catalog to a private
copy of the Feast repository, then trains the example delivery-time model
(``examples/delivery_eta.yaml``) once per engine: ``local`` applies the DSL with pandas,
``spark`` with Spark column expressions on the shared local[2] session. Per run it reports
the dataset build (Feast point-in-time retrieval, split, content hash), the DSL fit and
apply, the XGBoost training and the evaluation report, with the machine. Results are printed
and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.node()}: {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} "
            f"{platform.machine()}, Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--restaurants", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--engines", nargs="+", default=["local", "spark"], choices=["local", "spark"])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    from feature_repo import apply_catalog
    from feature_repo.pipelines import generate_raw, run_feature_groups
    from feature_repo.spark import spark_session
    from fresco.paths import FEATURE_REPO

    print(f"machine: {_machine()}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="fresco-bench-training-") as tmp:
        tmp_path = Path(tmp)
        os.environ["FRESCO_HOME"] = str(tmp_path / "home")
        repo = tmp_path / "feature_repo"
        repo.mkdir()
        for name in ("feature_store.yaml", "definitions.py", ".feastignore"):
            shutil.copy(FEATURE_REPO / name, repo / name)
        t0 = time.perf_counter()
        raw = generate_raw(repo / "data" / "raw", restaurants=args.restaurants, orders=args.orders, days=args.days)
        spark = spark_session("fresco-bench-training", home=tmp_path / "spark-home")
        spark.sparkContext.setLogLevel("ERROR")
        run_feature_groups(spark, raw.out_dir, repo / "data" / "features")
        apply_catalog(repo)
        print(f"prepared {args.orders:,} orders, features and catalog in {time.perf_counter() - t0:.0f}s")

        from training import train

        for engine in args.engines:
            marks: list[tuple[float, str]] = []
            start = time.perf_counter()

            def progress(message: str) -> None:
                marks.append((time.perf_counter() - start, message))
                print(f"  [{engine} {marks[-1][0]:7.1f}s] {message}", flush=True)

            result = train(ROOT / "examples" / "delivery_eta.yaml", progress=progress, spark=spark, overrides={
                "data.source.parquet": str(raw.orders_path), "features.repo": str(repo),
                "resources.engine": engine,
            })
            at = {m.split("]")[0].strip("["): t for t, m in marks if m.startswith("[")}
            total = time.perf_counter() - start
            run = {
                "engine": engine, "orders": args.orders,
                "dataset_s": round(at["2/5"] - at["1/5"], 1),
                "dsl_s": round(at["3/5"] - at["2/5"], 1),
                "train_s": round(at["4/5"] - at["3/5"], 1),
                "report_and_store_s": round(total - at["4/5"], 1),
                "total_s": round(total, 1),
                "validation": result.record.metrics["validation"],
                "baseline": result.record.baseline["validation"],
            }
            runs.append(run)
            print(json.dumps(run))
    print(f"\n{_machine()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {args.orders:,} orders")
    print(f"{'engine':<7} {'dataset':>9} {'DSL':>7} {'XGBoost':>9} {'report+store':>13} {'total':>8}  RMSE (mean baseline)")
    for r in runs:
        print(f"{r['engine']:<7} {r['dataset_s']:>8.1f}s {r['dsl_s']:>6.1f}s {r['train_s']:>8.1f}s "
              f"{r['report_and_store_s']:>12.1f}s {r['total_s']:>7.1f}s  {r['validation']['rmse']:.3f} "
              f"({r['baseline']['rmse']:.3f})")
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"training-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"machine": _machine(), "runs": runs}, indent=1))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
