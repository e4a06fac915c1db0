"""Benchmark: ``fresco monitor report`` on 100k logged predictions.

    .venv/bin/python benchmarks/bench_monitor_report.py [--predictions 100000] [--orders 30000]

In a temporary state folder: trains a linear model on ``--orders`` synthetic orders (the
training tests' request-only program plus a ``categorical`` input; its reference sample is the
default 5,000 test rows), logs ``--predictions`` predictions of new orders through the prediction
log's Parquet sink (``num_items`` shifted on every other row, so drift is found) with outcomes for
half of them, then runs ``fresco monitor report`` as a child process, as a person would, and
prints the wall time (imports included) and the report's own time (``seconds`` in its JSON).
Nothing is asserted. Issue #29's target: at most 60 s for 100k predictions.
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
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=30_000, help="training rows (test split: a fifth)")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="bench-monitor-report-"))
    os.environ["FRESCO_HOME"] = str(folder / "home")
    os.environ.pop("BENTOML_HOME", None)
    import numpy as np
    import pandas as pd

    from fresco.platform.logs import PredictionRecord, PredictionSink, new_prediction_id
    from fresco.training import load_model, train
    from fresco.training import features as feats
    from tests.training.helpers import REQUEST_PROGRAM, synthetic_orders, write_request_config

    t = time.perf_counter()
    config = write_request_config(folder, n=args.orders,
                                  program=REQUEST_PROGRAM + "size     = categorical(@req.num_items)\n")
    uuid = train(config, reports_dir=folder / "reports").uuid
    print(f"trained {uuid} on {args.orders:,} orders in {time.perf_counter() - t:.1f} s", flush=True)

    t = time.perf_counter()
    model = load_model(uuid)
    orders = synthetic_orders(args.predictions, seed=1)
    orders.loc[orders.index % 2 == 0, "num_items"] += 2
    outputs = feats.apply_program(model.program, orders)
    predictions = model.predict(feats.to_matrix(outputs, model.inputs))
    inputs = outputs[model.inputs].astype(object).where(outputs[model.inputs].notna(), None).to_dict("records")
    start = datetime(2026, 12, 5, tzinfo=timezone.utc)
    records = [PredictionRecord(new_prediction_id(), start + timedelta(seconds=i // 2), uuid, "eta:production",
                                None, None, {"order_id": i}, {"distance_km": d, "num_items": int(n)}, {}, row,
                                float(p), 3.0)
               for i, (d, n, row, p) in enumerate(zip(orders["distance_km"], orders["num_items"], inputs,
                                                      predictions))]
    sink = PredictionSink(folder / "log")
    for i in range(0, len(records), 1000):  # the service writes a file per batch of up to 1,000
        sink.write(records[i:i + 1000])
    labelled = records[::2]
    pd.DataFrame({"prediction_id": [r.prediction_id for r in labelled],
                  "outcome": [r.prediction + float(e) for r, e in
                              zip(labelled, np.random.default_rng(2).normal(0, 3, len(labelled)))],
                  "observed_at": [r.predicted_at + timedelta(hours=1) for r in labelled]}
                 ).to_parquet(folder / "outcomes.parquet")
    print(f"logged {len(records):,} predictions ({len(labelled):,} with outcomes) in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    fresco = Path(sys.executable).with_name("fresco")
    t = time.perf_counter()
    done = subprocess.run([str(fresco), "monitor", "report", uuid, "--log", str(folder / "log"),
                           "--outcomes", str(folder / "outcomes.parquet"), "--out", str(folder / "report")],
                          capture_output=True, text=True, env=os.environ.copy())
    wall = time.perf_counter() - t
    print(done.stdout, end="")
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    figures = json.loads((folder / "report" / "report.json").read_text())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {cpu}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"monitor report: {figures['predictions']:,} predictions, {figures['quality']['outcomes']:,} outcomes: "
          f"{wall:.1f} s wall (command, imports included), {figures['seconds']:.1f} s in the report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
