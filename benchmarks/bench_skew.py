"""Benchmark: ``fresco monitor skew`` on 10k and 100k logged predictions.

    .venv/bin/python benchmarks/bench_skew.py [--predictions 10000 100000] [--customers 5000]

In a temporary folder: ``fresco init`` a project with ``--customers`` customers (the sample
dataset), materialize it, train its sample model, then serve ``max(--predictions)`` requests
through the in-process predictor (the real SQLite online store, 1,000 rows per request),
logged by serving's Parquet writer; then runs ``fresco monitor skew --sample N`` for each N as a
child process, as a person would, and prints the wall time (imports included), the check's own
time (``seconds`` in its JSON) and rows per second. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--customers", type=int, default=5_000)
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="bench-skew-"))
    os.environ["FRESCO_HOME"] = str(folder / "home")
    os.environ.pop("BENTOML_HOME", None)
    from fresco.platform import init_project, materialize_incremental, open_store
    from fresco.platform.logs import PredictionSink
    from fresco.platform.scaffold import write_sample_data
    from fresco.serving import Predictor
    from fresco.serving.prediction_log import AsyncLog
    from fresco.training import ModelRepository, train
    from tests.conftest import run_feast

    t = time.perf_counter()
    project = init_project(folder / "shop").path
    write_sample_data(project / "data", customers=args.customers, orders=20_000)
    assert run_feast(project, "apply").returncode == 0
    store = open_store(project)
    materialize_incremental(store, datetime.now(timezone.utc), quiet=True)
    uuid = train(project / "models" / "basket_value.yaml").uuid
    ModelRepository().tag("bench:production", uuid)
    print(f"project of {args.customers:,} customers materialized, model {uuid} trained in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    total = max(args.predictions)
    t = time.perf_counter()
    log = folder / "predictions"
    writer = AsyncLog(PredictionSink(log), capacity=total + 1, batch_size=10_000)
    predictor = Predictor(store, prediction_log=writer)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for start in range(0, total, 1000):
        rows = [{"customer_id": 1 + i % args.customers, "ordered_at": (now - timedelta(seconds=i)).isoformat(),
                 "channel": "app" if i % 3 else "web"} for i in range(start, min(total, start + 1000))]
        predictor.predict("bench:production", rows)
    writer.close()
    print(f"{writer.stats().written:,} predictions served and logged in {time.perf_counter() - t:.1f} s",
          flush=True)

    fresco = Path(sys.executable).with_name("fresco")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'predictions':>12} {'wall s':>8} {'check s':>8} {'rows/s':>9}  last line")
    for n in args.predictions:
        out = folder / f"skew-{n}"
        t = time.perf_counter()
        done = subprocess.run([str(fresco), "monitor", "skew", "bench:production", "--log", str(log),
                               "--sample", str(n), "--out", str(out), "--repo", str(project)],
                              capture_output=True, text=True)
        wall = time.perf_counter() - t
        if done.returncode not in (0, 1):
            print(done.stdout[-2000:], done.stderr[-4000:])
            return 1
        figures = json.loads((out / "skew.json").read_text())
        print(f"{figures['checked']:>12,} {wall:>8.1f} {figures['seconds']:>8.1f} "
              f"{figures['checked'] / figures['seconds']:>9,.0f}  {done.stdout.strip().splitlines()[-1]}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
