"""Benchmark: online predictions over HTTP against Cassandra, Feast's own feature server, and
batch scoring on Spark.

    python benchmarks/bench_serving.py [--requests 5000] [--seconds 10] [--batch-rows 200000]
                                       [--store fresco|stock] [--omp-threads N] [--no-batch]
                                       [--wait-load 1.0] [--wait-max 600]

Sets up a private environment (Feast repo on the local Cassandra node, keyspace
``fresco_bench``; two XGBoost models on the example DSL program with 11 online features), then:

1. ``fresco`` service (BentoML, one worker) and ``feast serve`` (one worker) on the same
   repository, both running: a sequential client sends one-row requests (``POST /predict`` vs
   ``/get-online-features`` for the same 11 features of the same entity) to each alone, in
   blocks of 250 taking turns, then alternates request by request, so both see the same
   machine load -> p50/p95/p99 latency of each (a keep-alive ``http.client`` posting bodies
   encoded in advance, so that the client's own work is not timed);
2. throughput of each at concurrency 8 and 32 (threads, keep-alive clients), one after the other;
3. ``predict_batch`` on Spark local[2] over ``--batch-rows`` rows (features in the table).

The Fresco service's own phase timings (``fresco_request_phase_seconds`` on its ``/metrics``:
parse, checks, routing, lookup, program, model, log, response, total) are read before and after
the sequential part and each throughput run, and their p50/p99 printed beside the totals.

The Fresco service reads Cassandra through Fresco's online store
(``fresco.platform.online_stores.FrescoCassandraOnlineStore``, as ``feature_store.production.yaml``:
TTL at read time, all views of a request read concurrently) or, with ``--store stock``, through
Feast's own ``cassandra`` store; ``feast serve`` always uses Feast's own store, the reference.

Needs the Cassandra node (``fresco services start``). Figures (and the load average before and
after) are printed and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import http.client
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
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FRESCO_STORE = "fresco.platform.online_stores.FrescoCassandraOnlineStore"


def percentiles(samples: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.array(samples) * 1e3
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean()), "n": len(a)}


class JsonPoster:
    """A keep-alive HTTP/1.1 client (the standard library's) posting bodies encoded in advance,
    so that a latency is the server's and the loopback's, not the client library's: httpx,
    used before, added about 0.5 ms at p50 and 1 ms at p99 to every request it timed."""

    HEADERS = {"Content-Type": "application/json"}

    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.path = parts.path
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def post(self, body: bytes) -> int:
        """POST ``body``; the status (the answer is read in full)."""
        try:
            self.connection.request("POST", self.path, body, self.HEADERS)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnects on the next request
            raise
        return response.status

    def post_ok(self, body: bytes) -> None:
        status = self.post(body)
        if status != 200:
            raise RuntimeError(f"POST {self.path}: HTTP {status}")

    def close(self) -> None:
        self.connection.close()


def encoded(bodies: list[dict]) -> list[bytes]:
    return [json.dumps(b).encode() for b in bodies]


def alternating(
    targets: dict[str, tuple[str, list[bytes]]], warmup: int = 100
) -> dict[str, dict[str, float]]:
    """One sequential client per target, their requests interleaved (a, b, a, b, ...): each
    target's latency percentiles, measured under the same machine load."""
    clients = {name: JsonPoster(url) for name, (url, _) in targets.items()}
    samples: dict[str, list[float]] = {name: [] for name in targets}
    try:
        n = min(len(bodies) for _, bodies in targets.values())
        for i in range(n + warmup):
            for name, (_, bodies) in targets.items():
                t = time.perf_counter()
                clients[name].post_ok(bodies[i % n])
                if i >= warmup:
                    samples[name].append(time.perf_counter() - t)
    finally:
        for client in clients.values():
            client.close()
    return {name: percentiles(s) for name, s in samples.items()}


def alone_in_blocks(
    targets: dict[str, tuple[str, list[bytes]]], block: int = 250, warmup: int = 100
) -> dict[str, dict[str, float]]:
    """Each target alone (the others idle), in blocks of ``block`` requests taking turns
    (a x 250, b x 250, a x 250, ...), so that neither is measured only while the node is still
    busy from the setup: each target's latency percentiles."""
    clients = {name: JsonPoster(url) for name, (url, _) in targets.items()}
    samples: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for name, (_, bodies) in targets.items():
            for body in bodies[:warmup]:
                clients[name].post_ok(body)
        n = min(len(bodies) for _, bodies in targets.values())
        for start in range(0, n, block):
            for name, (_, bodies) in targets.items():
                for body in bodies[start:start + block]:
                    t = time.perf_counter()
                    clients[name].post_ok(body)
                    samples[name].append(time.perf_counter() - t)
    finally:
        for client in clients.values():
            client.close()
    return {name: percentiles(s) for name, s in samples.items()}


def throughput(url: str, bodies: list[bytes], concurrency: int, seconds: float) -> dict[str, float]:
    counts = [0] * concurrency
    errors = [0] * concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    stop = threading.Event()

    def client(i: int) -> None:
        poster = JsonPoster(url, timeout=60)
        j = i
        try:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    status = poster.post(bodies[j % len(bodies)])
                except (OSError, http.client.HTTPException):  # reset: counted, not fatal
                    errors[i] += 1
                    j += concurrency
                    continue
                latencies[i].append(time.perf_counter() - t)
                if status == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
                j += concurrency
        finally:
            poster.close()

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


def phase_buckets(url: str) -> dict[str, list[tuple[float, float]]]:
    """The Fresco service's ``fresco_request_phase_seconds`` histogram now: phase -> cumulative
    (upper bound, count) pairs, as ``/metrics`` shows them."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from fresco.serving.phases import METRIC

    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    found: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        for sample in family.samples:
            if sample.name == METRIC + "_bucket":
                found.setdefault(sample.labels["phase"], []).append((float(sample.labels["le"]), sample.value))
    return {phase: sorted(pairs) for phase, pairs in found.items()}


def phase_quantiles(before: dict[str, list[tuple[float, float]]], after: dict[str, list[tuple[float, float]]],
                    quantiles: tuple[float, ...] = (0.5, 0.99)) -> dict[str, dict[str, float]]:
    """Per phase, the requests between two :func:`phase_buckets` and the quantiles of their
    durations in ms, interpolated inside a bucket as Prometheus' ``histogram_quantile`` does."""
    out: dict[str, dict[str, float]] = {}
    for phase, pairs in after.items():
        earlier = dict(before.get(phase, []))
        counts = [(le, n - earlier.get(le, 0.0)) for le, n in pairs]
        total = counts[-1][1]
        if total <= 0:
            continue
        figures = {"n": total}
        for q in quantiles:
            rank, low, below = q * total, 0.0, 0.0
            for le, n in counts:
                if n >= rank:
                    upper = le if le != float("inf") else low
                    share = (rank - below) / (n - below) if n > below else 1.0
                    figures[f"p{round(q * 100)}_ms"] = (low + (upper - low) * share) * 1e3
                    break
                low, below = le, n
        out[phase] = figures
    return out


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


def wait_for_load(below: float, at_most: float) -> None:
    """Sleep until the 1-minute load average is under ``below`` (or ``at_most`` seconds passed)."""
    deadline = time.monotonic() + at_most
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f} >= {below}: waiting", flush=True)
        time.sleep(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000,
                        help="sequential requests to each server, alone and alternating")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch-rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--store", choices=("fresco", "stock"), default="fresco",
                        help="online store of the Fresco service: Fresco's Cassandra store "
                             "(production) or Feast's own (feast serve always uses Feast's)")
    parser.add_argument("--no-batch", action="store_true", help="skip the Spark batch part")
    parser.add_argument("--wait-load", type=float, default=None, metavar="LOAD",
                        help="after the setup, wait (at most --wait-max s) until the 1-minute "
                             "load average is below LOAD before measuring")
    parser.add_argument("--wait-max", type=float, default=600.0)
    parser.add_argument("--omp-threads", type=int, default=None,
                        help="OMP_NUM_THREADS for the Fresco service (default: unset; loaded "
                             "XGBoost models predict on one thread either way)")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")

    import numpy as np
    import pandas as pd

    from fresco.platform.spark import spark_session
    from fresco.platform.services import cassandra as node
    from fresco.serving import predict_batch
    from fresco.serving.server import ServerProcess, free_port
    from tests.serving.setup import build_environment

    status = node.status()
    if not status.running:
        print("Cassandra is not running: fresco services start cassandra", file=sys.stderr)
        return 2
    from fresco.platform.state import state_dir

    (state_dir() / "bench").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="serving-", dir=state_dir() / "bench"))
    spark = spark_session("fresco-bench-serving", home=work / "spark")
    spark.sparkContext.setLogLevel("ERROR")
    t = time.perf_counter()
    env = build_environment(work, status.contact_points[0], spark, keyspace="fresco_bench",
                            restaurants=200, orders=20_000, days=14)
    setup_s = time.perf_counter() - t
    from fresco.training import load_model

    program = load_model(env.model_a).program
    refs = list(program.feature_refs)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 201, args.requests + 100)
    fresco_bodies = [{"model": env.tag, "rows": [{
        "restaurant_id": int(i), "placed_at": "2026-11-20T12:30:00+00:00",
        "customer_lat": 37.7 + float(rng.random()) / 10, "customer_lon": -122.45 + float(rng.random()) / 10,
    }]} for i in ids]
    feast_bodies = [{"features": refs, "entities": {"restaurant_id": [int(i)]}} for i in ids]
    if args.wait_load is not None:
        wait_for_load(args.wait_load, args.wait_max)
    results: dict[str, object] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "features": len(refs), "model": "xgboost 40 trees depth 4", "setup_s": setup_s,
        "fresco_store": args.store, "omp_threads": args.omp_threads,
        "client": "http.client keep-alive, bodies encoded in advance",
        "load_average_before": os.getloadavg(),
    }

    # Feast's own Cassandra store for feast serve; the Fresco service's yaml names its store.
    fresco_text = env.yaml_path.read_text()
    if f"type: {FRESCO_STORE}\n" not in fresco_text:
        raise RuntimeError(f"{env.yaml_path} does not name Fresco's Cassandra online store")
    stock_yaml = env.yaml_path.with_name("feature_store.stock.yaml")
    stock_yaml.write_text(fresco_text.replace(f"type: {FRESCO_STORE}\n", "type: cassandra\n", 1))
    fresco_yaml = env.yaml_path if args.store == "fresco" else stock_yaml
    server_env = {**env.env(), "FEAST_FS_YAML_FILE_PATH": str(fresco_yaml),
                  "FRESCO_SERVING_PRELOAD": env.tag, "FRESCO_SERVING_WORKERS": str(args.workers)}
    if args.omp_threads is not None:
        server_env["OMP_NUM_THREADS"] = str(args.omp_threads)
    port = free_port()
    feast = subprocess.Popen(
        [str(Path(sys.executable).with_name("feast")), "-f", str(stock_yaml), "serve",
         "-h", "127.0.0.1", "-p", str(port), "--no-access-log", "-w", str(args.workers),
         # its default recycles the worker every ~1,000 requests (resets a connection, stalls)
         "--max-requests", "100000000"],
        cwd=env.repo, env={**os.environ, **env.env(), "FEAST_FS_YAML_FILE_PATH": str(stock_yaml)},
        stdout=(work / "feast.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        with ServerProcess(server_env, log=work / "fresco.log") as url:
            feast_url = f"http://127.0.0.1:{port}"
            wait_ready(feast_url + "/health", feast)
            fresco_raw, feast_raw = encoded(fresco_bodies), encoded(feast_bodies)
            targets = {"fresco": (url + "/predict", fresco_raw),
                       "feast": (feast_url + "/get-online-features", feast_raw)}
            buckets = phase_buckets(url)
            for name, figures in alone_in_blocks(targets).items():  # each alone, taking turns
                results[f"{name}_sequential_alone"] = figures
                print(f"{name}_sequential_alone", json.dumps(figures), flush=True)
            paired = alternating(targets)
            results["fresco_sequential"], results["feast_sequential"] = paired["fresco"], paired["feast"]
            results["load_average_after_sequential"] = os.getloadavg()
            print("fresco_sequential", json.dumps(results["fresco_sequential"]), flush=True)
            print("feast_sequential", json.dumps(results["feast_sequential"]), flush=True)
            results["fresco_phases_sequential"] = phase_quantiles(buckets, buckets := phase_buckets(url))
            for c in (8, 32):
                results[f"fresco_c{c}"] = throughput(url + "/predict", fresco_raw, c, args.seconds)
                results[f"fresco_phases_c{c}"] = phase_quantiles(buckets, buckets := phase_buckets(url))
                print(f"fresco_c{c}", json.dumps(results[f"fresco_c{c}"]), flush=True)
                results[f"feast_c{c}"] = throughput(feast_url + "/get-online-features", feast_raw,
                                                    c, args.seconds)
                print(f"feast_c{c}", json.dumps(results[f"feast_c{c}"]), flush=True)
    finally:
        import signal

        os.killpg(feast.pid, signal.SIGTERM)
        feast.wait(20)
    results["load_average_after"] = os.getloadavg()
    if args.no_batch:
        return report(results, args.results, None)

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
    return report(results, args.results, result)


def report(results: dict[str, object], folder: Path, batch: object | None) -> int:
    """Print the figures and write them as JSON to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"serving-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    def figures(r: dict[str, float]) -> str:
        return f"{r['p50_ms']:.2f}/{r['p95_ms']:.2f}/{r['p99_ms']:.2f}"

    print()
    for label, suffix in (("alone", "_alone"), ("alternating", "")):
        print(f"sequential {label} p50/p95/p99 ms: fresco {figures(results['fresco_sequential' + suffix])}"
              f"   feast serve {figures(results['feast_sequential' + suffix])}")
    for c in (8, 32):
        print(f"concurrency {c}: fresco {results[f'fresco_c{c}']['requests_per_s']:.0f} req/s, "
              f"feast serve {results[f'feast_c{c}']['requests_per_s']:.0f} req/s")
    from fresco.serving.phases import PHASES

    for part in ("sequential", "c8", "c32"):
        phases = results.get(f"fresco_phases_{part}") or {}
        if phases:
            print(f"fresco phases, {part} (p50/p99 ms, from /metrics): " + "  ".join(
                f"{p} {phases[p]['p50_ms']:.2f}/{phases[p]['p99_ms']:.2f}" for p in PHASES if p in phases))
    if batch is not None:
        print(f"batch: {batch.rows:,} rows in {batch.seconds:.1f}s = {batch.rows_per_second:,.0f} rows/s")
    print(f"load average before / after the sequential part / at the end: "
          f"{results['load_average_before']} / {results['load_average_after_sequential']} / "
          f"{results['load_average_after']}")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
