"""Streaming freshness: event produced -> value readable from the online store, under load.

On the bundled example's stream feature view (``restaurant_realtime``), in a private copy of its
repository (embedded SQLite online store, Parquet offline log), with the local Kafka broker
(started if needed) and a private topic prefix:

* the stream job (``StreamJob``, Spark local[2], micro-batches every ``--trigger`` s) runs in
  this process;
* a background thread publishes ``R`` events/s for 1,000 restaurants (ready now);
* every 100 ms one *timed* event is published for a restaurant of its own; a poller reads the
  online store (Feast's ``get_online_features``, every 20 ms) until that restaurant's count is
  1, and records the delay from just before publishing;
* for each rate in ``--rates``: at least ``--timed`` timed events, then p50 / p95 / p99.

Then the backfill's rows/s (``as_of_rows`` over a generated archive of ``--backfill-events``
events) and the resident memory of the broker and of this job (Python + Spark's JVM). The
peer is the product's target: Michelangelo's 5-minute SLA for near-real-time features, and about
1 s that hosted feature platforms advertise. Prints figures; asserts nothing. Last line:
``streaming: freshness p50 S s p99 S s at R events/s`` (the highest rate whose p99 stayed under
5 s).

Run: .venv/bin/python benchmarks/bench_streaming.py [--rates 1000,2000,4000] [--timed 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

VIEW, SOURCE = "restaurant_realtime", "order_ready_events"
FEATURE = f"{VIEW}:orders_1h"


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Load(threading.Thread):
    """Publishes ``rate`` events/s for restaurants 1..1000 until stopped."""

    def __init__(self, publisher, rate: int) -> None:
        super().__init__(daemon=True)
        self.publisher, self.rate, self.sent = publisher, rate, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        rng = np.random.default_rng(7)
        started = time.monotonic()
        order = 10_000_000
        while not self.stopped.is_set():
            due = int((time.monotonic() - started) * self.rate) - self.sent
            for _ in range(min(due, 5_000)):
                order += 1
                self.publisher.publish({"order_id": order, "restaurant_id": int(rng.integers(1, 1001)),
                                        "ready_at": datetime.now(timezone.utc),
                                        "prep_time_min": float(rng.uniform(5, 30))})
                self.sent += 1
            self.publisher._producer.poll(0)
            time.sleep(0.005)


def measure(store, publisher, rate: int, timed: int, first_id: int) -> tuple[list[float], float]:
    """Freshness delays (s) of ``timed`` events under ``rate`` events/s; and the rate achieved."""
    load = Load(publisher, rate)
    load.start()
    time.sleep(3)  # let the load settle
    sent: dict[int, float] = {}
    delays: dict[int, float] = {}
    lock = threading.Lock()
    done = threading.Event()

    def poll() -> None:
        while not done.is_set() or len(delays) < len(sent):
            with lock:
                waiting = [r for r in sent if r not in delays]
            if waiting:
                values = store.get_online_features(features=[FEATURE], entity_rows=[{"restaurant_id": r}
                                                                                    for r in waiting]).to_dict()
                now = time.monotonic()
                for r, count in zip(values["restaurant_id"], values["orders_1h"]):
                    if count:
                        delays[r] = now - sent[r]
            if done.is_set() and time.monotonic() - last_sent > 60:
                break
            time.sleep(0.02)

    last_sent = time.monotonic()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    t0, sent_before = time.monotonic(), load.sent
    for i in range(timed):
        restaurant = first_id + i
        with lock:
            sent[restaurant] = time.monotonic()
        publisher.publish({"order_id": 90_000_000 + restaurant, "restaurant_id": restaurant,
                           "ready_at": datetime.now(timezone.utc), "prep_time_min": 10.0})
        publisher._producer.poll(0)
        last_sent = time.monotonic()
        time.sleep(0.1)
    achieved = (load.sent - sent_before) / (time.monotonic() - t0)
    done.set()
    poller.join(120)
    load.stopped.set()
    load.join(10)
    publisher.flush()
    return [delays[r] for r in sent if r in delays], achieved


def backfill_rate(spark, group, events: int) -> float:
    from fresco.platform.streaming.aggregate import as_of_rows

    rng = np.random.default_rng(3)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    frame = pd.DataFrame({"order_id": np.arange(events), "restaurant_id": rng.integers(1, 1001, events),
                          "ready_at": pd.to_datetime(start) + pd.to_timedelta(np.sort(rng.uniform(0, 7 * 86400, events)), unit="s"),
                          "prep_time_min": rng.uniform(5, 30, events)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        frame.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        t0 = time.perf_counter()
        rows = as_of_rows(spark.read.parquet(str(path)), group).count()
        seconds = time.perf_counter() - t0
    print(f"backfill: {events:,} events -> {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s, "
          f"{events / seconds:,.0f} events/s)")
    return rows / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="1000,2000,4000", help="Background events/s, comma-separated.")
    parser.add_argument("--timed", type=int, default=200, help="Timed events per rate.")
    parser.add_argument("--trigger", type=float, default=0.5, help="Seconds between micro-batches.")
    parser.add_argument("--backfill-events", type=int, default=1_000_000)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]

    from fresco.example import REPO_DIR
    from fresco.platform.services import kafka

    broker = kafka.status()
    if not broker.running:
        broker = kafka.start()
    work = Path(tempfile.mkdtemp(prefix="fresco-bench-stream-"))
    repo = work / "repo"
    repo.mkdir()
    for name in ("definitions.py", "sources.py", "feature_store.yaml", ".feastignore", "__init__.py"):
        if (REPO_DIR / name).exists():
            shutil.copy(REPO_DIR / name, repo / name)
    os.environ.update({"FRESCO_HOME": str(work / "state"), "FRESCO_KAFKA_TOPIC_PREFIX": f"bench-{uuid.uuid4().hex[:8]}."})
    for name in ("FRESCO_FEATURE_REPO", "FEAST_FS_YAML_FILE_PATH"):
        os.environ.pop(name, None)
    feast = Path(sys.executable).with_name("feast")
    subprocess.run([str(feast), "apply"], cwd=repo, check=True, capture_output=True)

    from feast import FeatureStore

    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob, kafka_session
    from fresco.platform.streaming.producer import EventPublisher

    store = FeatureStore(repo_path=str(repo))
    group = stream_group(store, VIEW)
    spark = kafka_session("fresco-bench-stream")
    spark.sparkContext.setLogLevel("ERROR")
    publisher = EventPublisher.for_source(store, SOURCE)
    job = StreamJob(store, group, spark, trigger_seconds=args.trigger, starting_offsets="latest").start()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}Z, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; Spark local[2], trigger {args.trigger} s, embedded SQLite online store")
    results = []
    try:
        stop = threading.Event()

        def promote() -> None:  # what `fresco stream run`'s loop does between micro-batches
            while not stop.is_set():
                job.sink.promote_due()
                stop.wait(args.trigger)

        threading.Thread(target=promote, daemon=True).start()
        time.sleep(5)
        first_id = 2_000_000
        for rate in rates:
            delays, achieved = measure(store, publisher, rate, args.timed, first_id)
            first_id += args.timed
            missing = args.timed - len(delays)
            p50, p95, p99 = (_percentile(delays, q) for q in (50, 95, 99))
            results.append((rate, achieved, p50, p99))
            print(f"load {rate:,} events/s (achieved {achieved:,.0f}): freshness p50 {p50:.2f} s, p95 {p95:.2f} s, "
                  f"p99 {p99:.2f} s over {len(delays)} timed events" + (f", {missing} never seen" if missing else ""))
            job.refresh()
            for query in job._queries:
                progress = [q for q in query.recentProgress if q.get("numInputRows")]
                if progress:
                    phases = {k: statistics.median(q["durationMs"].get(k, 0) for q in progress)
                              for k in ("triggerExecution", "addBatch", "queryPlanning", "walCommit")}
                    print(f"  {query.name}: {len(progress)} micro-batches with input, median ms "
                          + ", ".join(f"{k} {v:,.0f}" for k, v in phases.items()))
        stop.set()
        jvm = [c for c in _children(os.getpid()) if "java" in (Path(f"/proc/{c}/comm").read_text() if Path(f"/proc/{c}/comm").exists() else "")]
        job_mb = _rss_mb(os.getpid()) + sum(_rss_mb(c) for c in jvm)
        print(f"resident memory: broker {_rss_mb(broker.pid) if broker.pid else float('nan'):,.0f} MB, "
              f"stream job {job_mb:,.0f} MB (Python + Spark's JVM)")
        print(f"status: {job.refresh()}")
    finally:
        job.stop()
    backfill_rate(spark, group, args.backfill_events)
    print("peer: Michelangelo's near-real-time SLA 5 min; hosted feature platforms advertise about 1 s")
    fine = [r for r in results if r[3] < 5]
    best = max(fine, key=lambda r: r[1]) if fine else min(results, key=lambda r: r[3])
    print(f"streaming: freshness p50 {best[2]:.2f} s p99 {best[3]:.2f} s at {best[1]:,.0f} events/s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
