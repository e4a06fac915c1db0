"""Benchmark: the prediction log's cost on serving latency and throughput (logging on vs off).

    python benchmarks/bench_prediction_log.py [--requests 5000] [--seconds 10] [--rows 1]
                                              [--sink parquet|kafka]

Sets up the serving benchmark's environment (Feast repo on the local Cassandra node, keyspace
``fresco_bench_log``; the example's XGBoost model with 11 online features) and starts two
Fresco services on it, one with ``FRESCO_PREDICTION_LOG=off`` and one logging every row to
Parquet (the default) or, with ``--sink kafka``, to a topic of the local Kafka broker (a new
topic per run; ``fresco services start kafka``). Then, under the same machine load:

1. a sequential client sends one-request-at-a-time bodies to each, alternating request by
   request -> p50/p95/p99 latency of each, and the difference (issue #16's target: at most
   0.3 ms added at p99);
2. throughput of each at concurrency 8, in four runs of half ``--seconds`` (off, on, on, off:
   no order effect), averaged (target: no loss);
3. what the logging service wrote (records on disk; on Kafka, landed by ``fresco monitor
   ingest``) and dropped (its ``/metrics``), and the records logged per second at concurrency 8;

and first the sink alone: milliseconds per 1,000 records (``--writer-only``: just that).

Needs the Cassandra node (``fresco services start``). Figures are printed; the last line is
``prediction log: p99 +X ms, throughput at c8 Y% of off, written N, dropped M``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_serving import alternating, encoded, throughput  # noqa: E402  (the same client)


def writer_ms_per_1000(sink_kind: str = "parquet", topic: str = "", rounds: int = 20) -> float:
    """The sink alone (Parquet, or ``topic`` on Kafka): milliseconds to write 1,000 records
    shaped like the example's (11 features, 12 inputs), averaged over ``rounds`` batches."""
    from fresco.platform.logs import PredictionRecord, PredictionSink, new_prediction_id

    now = datetime.now(timezone.utc)
    features = {f"view{i % 3}:feature_{i}": 1.5 * i for i in range(10)}
    features["restaurant_profile:cuisine"] = "thai"
    records = [PredictionRecord(
        new_prediction_id(), now, "3f2a0000-0000-4000-8000-000000000001", "eta:production", None,
        None, {"restaurant_id": i}, {"placed_at": "2026-11-20T12:30:00+00:00", "customer_lat": 37.7,
                                     "customer_lon": -122.4},
        features, {f"in{j}": float(j) if j % 5 else float("nan") for j in range(12)}, 31.5, 4.2)
        for i in range(1000)]
    if sink_kind == "kafka":
        from fresco.platform.log_topics import PREDICTIONS, topic_sink

        sink = topic_sink(PREDICTIONS, {"FRESCO_PREDICTION_LOG_TOPIC": topic})
    else:
        sink = PredictionSink(Path(tempfile.mkdtemp(prefix="prediction-log-writer-")))
    sink.write(records)  # imports, first file (first connection)
    t = time.perf_counter()
    for _ in range(rounds):
        sink.write(records)
    return (time.perf_counter() - t) / rounds * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="sequential requests per service")
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput run")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--sink", choices=("parquet", "kafka"), default="parquet",
                        help="where the logging service writes (kafka: the local broker)")
    parser.add_argument("--writer-only", action="store_true",
                        help="only time the sink (no services, no Cassandra)")
    args = parser.parse_args(argv)
    import uuid

    topic = f"bench.predictions.{uuid.uuid4().hex[:8]}"
    writer = writer_ms_per_1000(args.sink, f"{topic}.writer")
    said = "one JSON message a record, delivered" if args.sink == "kafka" else "JSON columns and one Parquet file"
    print(f"writer ({args.sink}): {writer:.1f} ms per 1,000 records ({said})", flush=True)
    if args.writer_only:
        return 0

    import httpx
    import numpy as np
    import pandas as pd

    from fresco.platform.services import cassandra as node
    from fresco.platform.spark import spark_session
    from fresco.platform.state import state_dir
    from fresco.platform.logs import prediction_schema
    from fresco.serving.server import ServerProcess
    from tests.serving.setup import build_environment

    status = node.status()
    if not status.running:
        print("Cassandra is not running: fresco services start cassandra", file=sys.stderr)
        return 2
    (state_dir() / "bench").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="prediction-log-", dir=state_dir() / "bench"))
    spark = spark_session("fresco-bench-log", home=work / "spark")
    spark.sparkContext.setLogLevel("ERROR")
    env = build_environment(work, status.contact_points[0], spark, keyspace="fresco_bench_log",
                            restaurants=200, orders=20_000, days=14)
    rng = np.random.default_rng(0)
    bodies = encoded([{"model": env.tag, "rows": [{
        "restaurant_id": int(rng.integers(1, 201)), "placed_at": "2026-11-20T12:30:00+00:00",
        "customer_lat": 37.7 + float(rng.random()) / 10, "customer_lon": -122.45 + float(rng.random()) / 10,
    } for _ in range(args.rows)]} for _ in range(args.requests + 100)])
    log_dir = work / "predictions"
    # the logging service gets a BentoML home of its own (its /metrics apart), the same models
    shutil.copytree(Path(env.env()["BENTOML_HOME"]) / "models", work / "bentoml-on" / "models")
    base = {**env.env(), "FRESCO_SERVING_PRELOAD": env.tag}
    results: dict[str, object] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "rows_per_request": args.rows, "load_average_before": os.getloadavg(),
    }
    with ServerProcess({**base, "FRESCO_PREDICTION_LOG": "off"}, log=work / "off.log") as off, \
            ServerProcess({**base, "FRESCO_PREDICTION_LOG_DIR": str(log_dir),
                           "FRESCO_PREDICTION_LOG": args.sink, "FRESCO_PREDICTION_LOG_TOPIC": topic,
                           "BENTOML_HOME": str(work / "bentoml-on")}, log=work / "on.log") as on:
        paired = alternating({"off": (off + "/predict", bodies), "on": (on + "/predict", bodies)})
        for name in ("off", "on"):
            results[f"sequential_{name}"] = paired[name]
            print(f"sequential_{name}", json.dumps(paired[name]), flush=True)
        runs: dict[str, list[dict]] = {"off": [], "on": []}
        for name, url in (("off", off), ("on", on), ("on", on), ("off", off)):  # no order effect
            runs[name].append(throughput(url + "/predict", bodies, 8, args.seconds / 2))
        for name, both in runs.items():
            results[f"c8_{name}"] = {
                "requests_per_s": sum(r["requests_per_s"] for r in both) / len(both),
                "p99_ms": max(r["p99_ms"] for r in both), "errors": sum(r["errors"] for r in both),
                "runs": both}
            print(f"c8_{name}", json.dumps({k: v for k, v in results[f"c8_{name}"].items() if k != "runs"}),
                  flush=True)
        time.sleep(2)  # the log writes every second
        metrics = httpx.get(on + "/metrics", timeout=10).text
    counts = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^fresco_prediction_log_records_total\{outcome="(\w+)"\} (\S+)$', metrics, re.M)}
    if args.sink == "kafka":  # landed as the monitoring commands read it
        import subprocess

        t = time.perf_counter()
        landed = subprocess.run([str(Path(sys.executable).with_name("fresco")), "monitor", "ingest", "--topic",
                                 topic, "--to", str(log_dir)], capture_output=True, text=True)
        results["ingest"] = {"seconds": time.perf_counter() - t, "last_line": landed.stdout.strip()[-300:]}
        print(f"ingest: {results['ingest']['last_line'].splitlines()[-1] if landed.stdout.strip() else landed.stderr[-500:]}"
              f" in {results['ingest']['seconds']:.1f} s", flush=True)
    files = [p for p in log_dir.rglob("part-*.parquet")]
    written = sum(len(pd.read_parquet(p, schema=prediction_schema())) for p in files)
    results.update({"sink": args.sink, "written_on_disk": written, "files": len(files), "counters": counts,
                    "writer_ms_per_1000": writer,
                    "load_average_after": os.getloadavg()})
    p99 = (paired["on"]["p99_ms"] - paired["off"]["p99_ms"])
    share = results["c8_on"]["requests_per_s"] / results["c8_off"]["requests_per_s"]  # type: ignore[index]
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"prediction_log-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps(results, indent=2, default=str))
    print(f"prediction log: p99 {p99:+.2f} ms, p50 {paired['on']['p50_ms'] - paired['off']['p50_ms']:+.2f} ms, "
          f"throughput at c8 {share:.0%} of off "
          f"({results['c8_on']['requests_per_s'] * args.rows:,.0f} records/s logged to {args.sink}), "  # type: ignore[index]
          f"written {written:,}, "
          f"dropped {counts.get('dropped_queue_full', 0) + counts.get('dropped_sink_error', 0):,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
