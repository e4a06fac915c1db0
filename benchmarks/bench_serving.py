"""Benchmark: online predictions over HTTP against Cassandra, Feast's own feature server, and
batch scoring on Spark.

    python benchmarks/bench_serving.py [--requests 2000] [--seconds 10] [--batch-rows 200000]

Sets up a private environment (Feast repo on the local Cassandra node, keyspace
``fresco_bench``; two XGBoost models on the example DSL program with 11 online features), then:

1. ``fresco`` service (BentoML, one worker): one row per request, sequential client ->
   p50/p95/p99 latency; throughput at concurrency 8 and 32 (threads, keep-alive clients);
2. ``feast serve`` on the same repository fetching the same 11 features for one entity, same
   measurements (the reference the service must not be slower than);
3. ``predict_batch`` on Spark local[2] over ``--batch-rows`` rows (features in the table).

Needs the Cassandra node (``fresco services start``). Figures are printed and written as JSON
to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentiles(samples: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.array(samples) * 1e3
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean()), "n": len(a)}


def sequential(url: str, bodies: list[dict], warmup: int = 100) -> dict[str, float]:
    import httpx

    with httpx.Client(timeout=30) as http:
        for body in bodies[:warmup]:
            http.post(url, json=body).raise_for_status()
        samples = []
        for body in bodies:
            t = time.perf_counter()
            http.post(url, json=body).raise_for_status()
            samples.append(time.perf_counter() - t)
    return percentiles(samples)


def throughput(url: str, bodies: list[dict], concurrency: int, seconds: float) -> dict[str, float]:
    import httpx

    counts = [0] * concurrency
    errors = [0] * concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(timeout=60) as http:
            j = i
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    r = http.post(url, json=bodies[j % len(bodies)])
                except httpx.HTTPError:  # connection reset: counted, not fatal
                    errors[i] += 1
                    j += concurrency
                    continue
                latencies[i].append(time.perf_counter() - t)
                if r.status_code == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
                j += concurrency

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    merged = [x for lat in latencies for x in lat]
    return {"concurrency": concurrency, "requests_per_s": sum(counts) / elapsed,
            "errors": sum(errors), **{k: v for k, v in percentiles(merged).items() if k != "n"}}


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("feast serve exited")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("feast serve not ready")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch-rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")

    import numpy as np
    import pandas as pd

    from feature_repo.spark import spark_session
    from fresco.services import cassandra as node
    from serving import predict_batch
    from serving.server import ServerProcess, free_port
    from tests.serving.setup import build_environment

    status = node.status()
    if not status.running:
        print("Cassandra is not running: fresco services start cassandra", file=sys.stderr)
        return 2
    from fresco.paths import state_dir

    (state_dir() / "bench").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="serving-", dir=state_dir() / "bench"))
    spark = spark_session("fresco-bench-serving", home=work / "spark")
    spark.sparkContext.setLogLevel("ERROR")
    t = time.perf_counter()
    env = build_environment(work, status.contact_points[0], spark, keyspace="fresco_bench",
                            restaurants=200, orders=20_000, days=14)
    setup_s = time.perf_counter() - t
    from training import load_model

    program = load_model(env.model_a).program
    refs = list(program.feature_refs)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 201, args.requests + 100)
    fresco_bodies = [{"model": env.tag, "rows": [{
        "restaurant_id": int(i), "placed_at": "2026-11-20T12:30:00+00:00",
        "customer_lat": 37.7 + float(rng.random()) / 10, "customer_lon": -122.45 + float(rng.random()) / 10,
    }]} for i in ids]
    feast_bodies = [{"features": refs, "entities": {"restaurant_id": [int(i)]}} for i in ids]
    results: dict[str, object] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "features": len(refs), "model": "xgboost 40 trees depth 4", "setup_s": setup_s,
    }

    server_env = {**env.env(), "FRESCO_SERVING_PRELOAD": env.tag,
                  "FRESCO_SERVING_WORKERS": str(args.workers)}
    with ServerProcess(server_env, log=work / "fresco.log") as url:
        results["fresco_sequential"] = sequential(url + "/predict", fresco_bodies)
        print("fresco_sequential", json.dumps(results["fresco_sequential"]), flush=True)
        results["fresco_c8"] = throughput(url + "/predict", fresco_bodies, 8, args.seconds)
        print("fresco_c8", json.dumps(results["fresco_c8"]), flush=True)
        results["fresco_c32"] = throughput(url + "/predict", fresco_bodies, 32, args.seconds)
        print("fresco_c32", json.dumps(results["fresco_c32"]), flush=True)

    port = free_port()
    feast = subprocess.Popen(
        [str(Path(sys.executable).with_name("feast")), "-f", str(env.yaml_path), "serve",
         "-h", "127.0.0.1", "-p", str(port), "--no-access-log", "-w", str(args.workers)],
        cwd=env.repo, env={**os.environ, **env.env(), "FEAST_FS_YAML_FILE_PATH": str(env.yaml_path)},
        stdout=(work / "feast.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        feast_url = f"http://127.0.0.1:{port}"
        wait_ready(feast_url + "/health", feast)
        results["feast_sequential"] = sequential(feast_url + "/get-online-features", feast_bodies)
        print("feast_sequential", json.dumps(results["feast_sequential"]), flush=True)
        results["feast_c8"] = throughput(feast_url + "/get-online-features", feast_bodies, 8, args.seconds)
        print("feast_c8", json.dumps(results["feast_c8"]), flush=True)
        results["feast_c32"] = throughput(feast_url + "/get-online-features", feast_bodies, 32, args.seconds)
        print("feast_c32", json.dumps(results["feast_c32"]), flush=True)
    finally:
        import signal

        os.killpg(feast.pid, signal.SIGTERM)
        feast.wait(20)

    # batch: rows with their features already in the table (the Spark part alone)
    stats = pd.read_parquet(env.repo / "data" / "features" / "restaurant_stats_7d")
    latest = stats.sort_values("event_timestamp").groupby("restaurant_id").tail(1)
    profile = pd.read_parquet(env.repo / "data" / "features" / "restaurant_profile")
    n = args.batch_rows
    rows = pd.DataFrame({
        "restaurant_id": rng.integers(1, 201, n).astype("int64"),
        "placed_at": (pd.Timestamp("2026-11-01", tz="UTC")
                      + pd.to_timedelta(rng.integers(0, 14 * 86400, n), unit="s")).astype("datetime64[us, UTC]"),
        "customer_lat": 37.7 + rng.random(n) / 10, "customer_lon": -122.45 + rng.random(n) / 10,
    })
    for frame, view in ((latest, "restaurant_stats_7d"), (profile, "restaurant_profile")):
        cols = [r.split(":")[1] for r in refs if r.startswith(view + ":")]
        rows = rows.merge(frame[["restaurant_id", *cols]].rename(
            columns={c: f"{view}__{c}" for c in cols}), on="restaurant_id", how="left")
    for ref in refs:
        if ref.startswith("restaurant_realtime:"):
            rows[ref.replace(":", "__")] = pd.Series([None] * n, dtype="float64")
    rows["restaurant_realtime__orders_1h"] = rows["restaurant_realtime__orders_1h"].astype("Int64")
    rows["restaurant_stats_7d__order_count_7d"] = rows["restaurant_stats_7d__order_count_7d"].astype("Int64")
    source = work / "batch_rows.parquet"
    rows.to_parquet(source, index=False)
    predict_batch(source, env.tag, work / "warmup.parquet", spark=spark)  # JIT / first job
    result = predict_batch(source, env.tag, work / "scored.parquet", spark=spark)
    results["batch"] = {"rows": result.rows, "seconds": result.seconds,
                        "rows_per_s": result.rows_per_second}

    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"serving-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    fs, fe = results["fresco_sequential"], results["feast_sequential"]
    print(f"\nsequential p50/p95/p99 ms: fresco {fs['p50_ms']:.2f}/{fs['p95_ms']:.2f}/{fs['p99_ms']:.2f}"
          f"   feast serve {fe['p50_ms']:.2f}/{fe['p95_ms']:.2f}/{fe['p99_ms']:.2f}")
    for c in (8, 32):
        print(f"concurrency {c}: fresco {results[f'fresco_c{c}']['requests_per_s']:.0f} req/s, "
              f"feast serve {results[f'feast_c{c}']['requests_per_s']:.0f} req/s")
    print(f"batch: {result.rows:,} rows in {result.seconds:.1f}s = {result.rows_per_second:,.0f} rows/s")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
