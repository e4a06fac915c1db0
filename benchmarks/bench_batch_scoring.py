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

Run: .venv/bin/python benchmarks/bench_batch_scoring.py [--rows 30] [--runs 3] [--compare OTHER/.venv]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None, help="another environment's .venv (before)")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
