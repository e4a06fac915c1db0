"""Benchmark: partitioned models: training sequential vs parallel, the served model's memory, latency.

    .venv/bin/python benchmarks/bench_partitioned.py [--regions 10] [--cities 5] [--rows-per-city 3000]
        [--memory-regions 20 --memory-cities 10] [--requests 2000] [--sections training,memory,latency]

In a temporary folder, on generated orders whose delivery minutes per km differ by city
(request fields only: no feature store, so the figures are the partitioning's own):

1. **Training** a model partitioned by region then city (``--regions`` x ``--cities`` leaf
   partitions, each with ``--rows-per-city`` orders, XGBoost 100 trees), with
   ``resources.workers: 1`` (every partition in this process, one after another), ``2`` with
   ``parallel_after_seconds: 0`` (the partitions below the root in two worker processes), ``2`` with
   the default (processes only when the root took 5 s or more) and ``engine: spark`` on local[2]
   (the root on one XGBoost worker, the partitions as tasks of one Spark job; the session started
   once, before the runs), in one run, alternating; and the same rows as one unpartitioned model. Seconds of ``train``
   (dataset, fit, report, store).
2. **Memory** of a served partitioned model of ``--memory-regions`` x ``--memory-cities`` cities:
   the resident memory a fresh process gains by loading it (``load_model``), beside an
   unpartitioned model of the same rows, each measured in its own child process.
3. **Latency** of the in-process ``Predictor`` (the HTTP service's scoring path, without HTTP),
   one row per call, the partitioned and the unpartitioned model alternating call by call:
   p50 and p99.

Nothing is asserted; the figures are printed for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROGRAM = """\
distance = @req.distance_km
items    = @req.num_items
hour     = hour_of_day(@req.placed_at)
area     = categorical(@req.region)
town     = categorical(@req.city)
"""


def orders(regions: int, cities: int, rows_per_city: int, seed: int = 0):
    """Orders of ``regions`` x ``cities`` cities over 28 days; minutes per km differ by city."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = regions * cities * rows_per_city
    city = np.repeat(np.arange(regions * cities), rows_per_city)
    slope = rng.uniform(1.5, 9.0, regions * cities)[city]
    distance = rng.gamma(2.0, 1.3, n)
    items = rng.integers(1, 6, n)
    placed = pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 28 * 86400, n), unit="s")
    frame = pd.DataFrame({"placed_at": placed.astype("datetime64[us, UTC]"),
                          "region": [f"r{c // cities:03d}" for c in city], "city": [f"c{c:04d}" for c in city],
                          "distance_km": distance, "num_items": items.astype("int64"),
                          "minutes": 10 + slope * distance + 1.5 * items + rng.normal(0, 1.0, n)})
    return frame.sort_values("placed_at", kind="stable").reset_index(drop=True)


def write_config(folder: Path, data: Path, *, workers: int, partitioned: bool, name: str,
                 parallel_after: float = 5.0, engine: str = "local", early_stopping: bool = True) -> Path:
    body = "\n".join("    " + line for line in PROGRAM.splitlines())
    partitioning = (f"partitioning: {{columns: [area, town], min_rows: 500, parallel_after_seconds: {parallel_after}}}\n"
                    if partitioned else "")
    inputs = "" if partitioned else "  inputs: [distance, items, hour]\n"
    path = folder / f"{name}.yaml"
    stopping = "" if early_stopping else ", early_stopping_rounds: null"
    path.write_text(f"""\
model: {{name: {name}, type: xgboost, task: regression, hyperparameters: {{n_estimators: 100, nthread: 1{stopping}}}}}
data: {{source: {{parquet: {data}}}, label: minutes, timestamp_column: placed_at}}
features:
{inputs}  program: |
{body}
{partitioning}resources: {{workers: {workers}, engine: {engine}}}
""")
    return path


_LOAD = """
import json, sys, psutil
before = psutil.Process().memory_info().rss
from fresco.training import load_model
imported = psutil.Process().memory_info().rss
load_model(sys.argv[1])
print(json.dumps({"imports": imported - before, "model": psutil.Process().memory_info().rss - imported}))
"""


def load_memory(uuid: str) -> dict[str, int]:
    """What a fresh process gains by importing Fresco's loader, then by loading the model."""
    import json

    done = subprocess.run([sys.executable, "-c", _LOAD, uuid], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--cities", type=int, default=5)
    parser.add_argument("--rows-per-city", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=2, help="Training runs per setting (alternating).")
    parser.add_argument("--memory-regions", type=int, default=20)
    parser.add_argument("--memory-cities", type=int, default=10)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--sections", default="training,memory,latency",
                        help="Which sections to run, comma-separated (default: all three).")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))

    folder = Path(tempfile.mkdtemp(prefix="bench-partitioned-"))
    os.environ["FRESCO_HOME"] = str(folder / "home")
    os.environ.pop("BENTOML_HOME", None)
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    data = folder / "orders.parquet"
    frame = orders(args.regions, args.cities, args.rows_per_city)
    frame.to_parquet(data, index=False)
    if "training" in sections:
        training(args, folder, data, frame)
    if "memory" in sections:
        memory(args, folder)
    if "latency" in sections:
        latency(args, folder, data, frame)
    return 0


def training(args: argparse.Namespace, folder: Path, data: Path, frame: Any) -> None:
    import numpy as np

    from fresco.platform.spark import spark_session
    from fresco.training import ModelRepository, train

    leaves = args.regions * args.cities
    print(f"\n1. training: {len(frame):,} orders, {args.regions} regions x {args.cities} cities "
          f"({leaves} cities, {args.regions + leaves + 1} partitions with the root), XGBoost 100 trees", flush=True)
    settings = {"unpartitioned": (1, False, 5.0, "local"), "partitioned, workers 1": (1, True, 5.0, "local"),
                "partitioned, workers 2": (2, True, 0.0, "local"), "partitioned, workers 2 auto": (2, True, 5.0, "local"),
                "partitioned, spark local[2]": (1, True, 5.0, "spark")}
    spark = spark_session("bench-partitioned", master="local[2]", home=folder / "spark")
    spark.sparkContext.setLogLevel("ERROR")
    seconds: dict[str, list[float]] = {name: [] for name in settings}
    uuids: dict[str, str] = {}
    for run in range(args.runs):
        for name, (workers, partitioned, after, engine) in settings.items():
            config = write_config(folder, data, workers=workers, partitioned=partitioned, name=f"bench{run}",
                                  parallel_after=after, engine=engine)
            said: list[str] = []
            t = time.perf_counter()
            result = train(config, progress=said.append, spark=spark)
            seconds[name].append(time.perf_counter() - t)
            uuids[name] = result.uuid
            where = next((line.split(" rows, ")[-1] for line in said if "partitions per level" in line), "")
            print(f"   run {run + 1} {name:<28} {seconds[name][-1]:7.1f} s  {where}", flush=True)
    for name, values in seconds.items():
        print(f"   {name:<28} median {np.median(values):7.1f} s  (runs: {', '.join(f'{v:.1f}' for v in values)})")
    record = ModelRepository().get(uuids["partitioned, workers 2"])
    parts = record.learnt_parameters["partitioning"]["partitions"]
    print(f"   partitioned: {sum(p['answered_by'] == p['name'] for p in parts)} of {len(parts)} partitions "
          f"with their own model; test rmse {record.metrics['test']['rmse']:.3f} against "
          f"{ModelRepository().get(uuids['unpartitioned']).metrics['test']['rmse']:.3f} unpartitioned")


def memory(args: argparse.Namespace, folder: Path) -> None:
    from fresco.training import ModelRepository, train

    print(f"\n2. memory: {args.memory_regions} regions x {args.memory_cities} cities", flush=True)
    big = folder / "big.parquet"
    orders(args.memory_regions, args.memory_cities, 1000, seed=1).to_parquet(big, index=False)
    for name, partitioned in (("unpartitioned", False), ("partitioned", True)):
        uuid = train(write_config(folder, big, workers=2, partitioned=partitioned, name=f"mem_{name}")).uuid
        parts = ModelRepository().get(uuid).learnt_parameters.get("partitioning", {}).get("partitions", [])
        gained = load_memory(uuid)
        own = sum(p["answered_by"] == p["name"] for p in parts) if parts else 1
        print(f"   {name:<14} {own:4d} models: loading adds {gained['model'] / 2**20:7.1f} MiB "
              f"(Fresco's imports {gained['imports'] / 2**20:.0f} MiB)", flush=True)


def latency(args: argparse.Namespace, folder: Path, data: Path, frame: Any) -> None:
    """Two models of 100 trees each (no early stopping: every partition's model and the
    unpartitioned one the same size, so the difference is the partitioning's, not the trees')."""
    import numpy as np

    from fresco.serving import Predictor
    from fresco.training import train

    print(f"\n3. latency: in-process Predictor, one row per call, {args.requests:,} calls each, alternating; "
          f"every model 100 trees", flush=True)
    models = {name: train(write_config(folder, data, workers=1, partitioned=partitioned, name=f"lat_{name}",
                                       early_stopping=False)).uuid
              for name, partitioned in (("unpartitioned", False), ("partitioned", True))}
    predictor = Predictor(object(), prediction_log=None)
    rows = frame.sample(args.requests, random_state=2)
    requests = [{"placed_at": r.placed_at.isoformat(), "distance_km": float(r.distance_km),
                 "num_items": int(r.num_items), "region": r.region, "city": r.city} for r in rows.itertuples()]
    latency: dict[str, list[float]] = {"unpartitioned": [], "partitioned": []}
    for name, uuid in models.items():  # loaded, and warm
        for request in requests[:50]:
            predictor.predict(uuid, [request])
    for request in requests:
        for name, uuid in models.items():
            t = time.perf_counter()
            predictor.predict(uuid, [request])
            latency[name].append((time.perf_counter() - t) * 1000)
    for name, values in latency.items():
        print(f"   {name:<14} p50 {np.percentile(values, 50):6.3f} ms  p99 {np.percentile(values, 99):6.3f} ms")
    boosters(models, frame)


def boosters(models: dict[str, str], frame: Any, calls: int = 5000) -> None:
    """Where the partitioned model's extra time goes: one XGBoost booster called over and over,
    against the same number of boosters as the partitioned model has, called in turn: copies of
    the unpartitioned one (the same trees, elsewhere in memory), then the partition models."""
    import timeit

    import numpy as np

    from fresco.training import load_model

    partitioned, single = load_model(models["partitioned"]), load_model(models["unpartitioned"])
    trainer, count = single._trainer, len(partitioned._model.trained)
    copies = [load_model(models["unpartitioned"])._model for _ in range(count)]
    parts = [partitioned._model.models[name] for name in partitioned._model.trained]
    row = frame.iloc[0]
    X = np.array([[float(row.distance_km), float(row.num_items), float(row.placed_at.hour)]])
    turns = iter(range(10**9))
    arms = {"one booster, every call": lambda: trainer.predict(copies[0], X),
            f"{count} copies of it, in turn": lambda: trainer.predict(copies[next(turns) % count], X),
            f"the {count} partition models, in turn": lambda: trainer.predict(parts[next(turns) % count], X)}
    print(f"   XGBoost's predict of one row, {calls:,} calls each (us per call):")
    for name, call in arms.items():
        print(f"     {name:<38} {timeit.timeit(call, number=calls) / calls * 1e6:7.1f} us", flush=True)


if __name__ == "__main__":
    sys.exit(main())
