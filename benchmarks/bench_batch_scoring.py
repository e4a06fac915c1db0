"""Batch scoring's fixed cost: `fresco predict-batch` on a small batch, end to end, as a user runs
it (a new process: Python, Spark's JVM, the Python workers, the write). Prints figures; asserts
nothing.

Set up once in a temporary folder: a project made by `fresco init` (SQLite online store, Parquet
offline store), registered with `feast apply`, its sample model trained with `fresco train`. Then
`fresco predict-batch` scores the first `--rows` label rows (features joined point in time) into
Parquet, `--runs` times, and the time to each progress line is printed (when the command printed
it), so the phases show: start-up until Spark reads, the read and the feature join, the DSL, the
scoring and the write.

With `--compare VENV`, another environment holding an older Fresco (e.g. a worktree of an
earlier commit with its own `.venv`) scores the same rows with the same model, alternating run by
run, so before and after are measured side by side on one machine.

Issue #32's target: 30 rows within 15 s, Spark's start included. The last line is
`predict-batch: N rows end to end, median S s over R runs (this environment)`.

With `--scale N [N ...]` it measures large batches instead: N rows drawn from the project's label
rows (customers and channels sampled with replacement, times uniform over the labels' period,
features joined point in time), one `fresco predict-batch` each, and the peak resident memory of
the driver (the `fresco` Python process), of Spark's JVM, of the Python workers and of the
embedded store's as-of join (a DuckDB process of its own), sampled every 0.2 s. Issue #32's target: the driver's peak within 20% between 1M and 10M rows. Each size
ends with `batch scoring: N rows in S s (R rows/s), driver peak RSS G GiB`.

Run: .venv/bin/python benchmarks/bench_batch_scoring.py [--rows 30] [--runs 3] [--compare OTHER/.venv]
     .venv/bin/python benchmarks/bench_batch_scoring.py --scale 1000000 10000000 [--compare OTHER/.venv]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(sys.executable).parent.parent
PHASES = ("reading ", "retrieving ", "applying the DSL", "scoring and writing")


def _fresco(venv: Path) -> str:
    return str(venv / "bin" / "fresco")


def set_up(work: Path, rows: int) -> tuple[Path, Path, str]:
    """The project, the rows to score and the trained model's UUID (this environment's Fresco)."""
    import pandas as pd

    env = {**os.environ, "FRESCO_HOME": str(work / "home")}
    subprocess.run([_fresco(HERE), "init", str(work / "shop")], check=True, env=env, capture_output=True)
    project = work / "shop"
    subprocess.run([str(HERE / "bin" / "feast"), "apply"], cwd=project, check=True, env=env, capture_output=True)
    done = subprocess.run([_fresco(HERE), "train", "models/basket_value.yaml"], cwd=project, env=env,
                          capture_output=True, text=True, check=True)
    uuid = next(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("model"))
    labels = pd.read_parquet(project / "data" / "labels.parquet").drop(columns=["basket_value"])
    source = work / f"rows{rows}.parquet"
    labels.head(rows).to_parquet(source, index=False)
    return project, source, uuid


def score_once(venv: Path, work: Path, project: Path, source: Path, uuid: str, run: int) -> dict[str, float]:
    """One `fresco predict-batch` in a new process: seconds to each phase's line and in total."""
    env = {**os.environ, "FRESCO_HOME": str(work / "home"), "PYTHONUNBUFFERED": "1"}
    out = work / f"scored-{venv.parent.name}-{run}"
    started = time.perf_counter()
    seen: dict[str, float] = {}
    process = subprocess.Popen([_fresco(venv), "predict-batch", str(source), str(out), "--model", uuid,
                                "--repo", str(project), "--timestamp-column", "ordered_at", "--no-log"],
                               cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        for phase in PHASES:
            if line.startswith(phase) and phase not in seen:
                seen[phase] = time.perf_counter() - started
    if process.wait() != 0:
        raise SystemExit(f"fresco predict-batch failed in {venv}")
    seen["total"] = time.perf_counter() - started
    return seen


def write_rows(project: Path, path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` entity rows like the project's label rows, written in pieces (bounded memory here)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels = pd.read_parquet(project / "data" / "labels.parquet").drop(columns=["basket_value"])
    rng = np.random.default_rng(seed)
    low, high = labels["ordered_at"].min().value // 1000, labels["ordered_at"].max().value // 1000
    piece = 1_000_000
    writer = None
    for start in range(0, rows, piece):
        n = min(piece, rows - start)
        frame = pd.DataFrame({
            "row_id": np.arange(start, start + n, dtype="int64"),
            "customer_id": rng.choice(labels["customer_id"].to_numpy(), n),
            "ordered_at": pd.to_datetime(rng.integers(low, high, n), unit="us", utc=True).astype("datetime64[us, UTC]"),
            "channel": rng.choice(labels["channel"].to_numpy(), n),
        })
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def score_at_scale(venv: Path, work: Path, project: Path, source: Path, uuid: str, rows: int) -> dict[str, float]:
    """One `fresco predict-batch` of ``source``: seconds and peak RSS (GiB) of the driver, the JVM
    and the Python workers, sampled every 0.2 s."""
    import psutil

    env = {**os.environ, "FRESCO_HOME": str(work / "home"), "PYTHONUNBUFFERED": "1"}
    out = work / f"scored-{venv.parent.name}-{rows}"
    started = time.perf_counter()
    process = subprocess.Popen([_fresco(venv), "predict-batch", str(source), str(out), "--model", uuid,
                                "--repo", str(project), "--timestamp-column", "ordered_at", "--no-log"],
                               cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    driver = psutil.Process(process.pid)
    peaks = {"driver": 0.0, "jvm": 0.0, "workers": 0.0, "duckdb": 0.0}
    lines: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            peaks["driver"] = max(peaks["driver"], driver.memory_info().rss)
            jvm = workers = duckdb = 0
            for child in driver.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                    if "java" in child.name():
                        jvm += rss
                    elif "import duckdb" in " ".join(child.cmdline()):  # the store's as-of join
                        duckdb += rss
                    elif "python" in child.name() or "fresco" in child.name():
                        workers += rss
                except psutil.NoSuchProcess:
                    pass
            peaks["jvm"], peaks["workers"] = max(peaks["jvm"], jvm), max(peaks["workers"], workers)
            peaks["duckdb"] = max(peaks["duckdb"], duckdb)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    reader.join()
    if process.returncode != 0:
        raise SystemExit(f"fresco predict-batch failed in {venv}:\n" + "".join(lines[-30:]))
    figures = {name: value / 2**30 for name, value in peaks.items()}
    figures["seconds"] = time.perf_counter() - started
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None, help="another environment's .venv (before)")
    parser.add_argument("--scale", type=int, nargs="+", default=None, help="large batches of these row counts")
    parser.add_argument("--duckdb-memory-limit", default=None,
                        help="the DuckDB store's memory_limit in the project's yaml (e.g. 512MB)")
    args = parser.parse_args()
    if args.scale:
        return main_scale(args)
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; {args.rows} rows, {args.runs} runs each")
    with tempfile.TemporaryDirectory(prefix="fresco-bench-batch-") as tmp:
        work = Path(tmp)
        print("setting up: fresco init, feast apply, fresco train ...", flush=True)
        project, source, uuid = set_up(work, args.rows)
        venvs = [(args.compare.resolve(), "before")] if args.compare else []
        venvs.append((HERE, "this"))
        figures: dict[str, list[dict[str, float]]] = {label: [] for _, label in venvs}
        for run in range(args.runs):
            for venv, label in venvs:
                seen = score_once(venv, work, project, source, uuid, run)
                figures[label].append(seen)
                phases = ", ".join(f"{p.strip()} at {seen[p]:.1f}s" for p in PHASES if p in seen)
                print(f"{label:>6} run {run + 1}: {seen['total']:.1f}s ({phases})", flush=True)
        for _, label in venvs:
            totals = [s["total"] for s in figures[label]]
            print(f"predict-batch: {args.rows} rows end to end, median {statistics.median(totals):.1f} s over "
                  f"{len(totals)} runs ({'this environment' if label == 'this' else 'before: ' + str(args.compare)})")


def limit_duckdb(yaml_path: Path, limit: str) -> None:
    """Set the yaml's ``offline_store.memory_limit`` (Fresco's DuckDB store spills past it)."""
    import yaml

    config = yaml.safe_load(yaml_path.read_text())
    config["offline_store"]["memory_limit"] = limit
    yaml_path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"DuckDB store: memory_limit {limit}")


def main_scale(args: argparse.Namespace) -> None:
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; batches of {', '.join(f'{n:,}' for n in args.scale)} rows")
    with tempfile.TemporaryDirectory(prefix="fresco-bench-batch-") as tmp:
        work = Path(tmp)
        print("setting up: fresco init, feast apply, fresco train ...", flush=True)
        project, _, uuid = set_up(work, 30)
        if args.duckdb_memory_limit:
            limit_duckdb(project / "feature_store.yaml", args.duckdb_memory_limit)
        venvs = [(args.compare.resolve(), "before")] if args.compare else []
        venvs.append((HERE, "this"))
        for rows in args.scale:
            source = work / f"rows-{rows}.parquet"
            write_rows(project, source, rows)
            for venv, label in venvs:
                f = score_at_scale(venv, work, project, source, uuid, rows)
                print(f"{label:>6}: {rows:,} rows in {f['seconds']:.1f} s; peak RSS driver {f['driver']:.2f} GiB, "
                      f"JVM {f['jvm']:.2f} GiB, Python workers {f['workers']:.2f} GiB, "
                      f"DuckDB's join process {f['duckdb']:.2f} GiB", flush=True)
                if label == "this":
                    print(f"batch scoring: {rows:,} rows in {f['seconds']:.1f} s ({rows / f['seconds']:,.0f} rows/s), "
                          f"driver peak RSS {f['driver']:.2f} GiB", flush=True)
            source.unlink()


if __name__ == "__main__":
    main()
