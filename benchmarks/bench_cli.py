"""CLI start-up: wall time of `fresco --help` and `fresco models list` beside `feast --help`
(the stock Feast CLI, the peer) and the old start-up cost (importing Feast), in the same run.
Prints figures; asserts nothing.

Run: .venv/bin/python benchmarks/bench_cli.py [--runs N]
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

BIN = Path(sys.executable).parent


def _time(command: list[str], cwd: Path, env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if result.returncode != 0:
            raise SystemExit(f"{command} failed: {result.stderr[-2000:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = {**os.environ, "FRESCO_HOME": str(cwd / "home")}
        commands = {
            "fresco --help": [str(BIN / "fresco"), "--help"],
            "fresco models list": [str(BIN / "fresco"), "models", "list"],
            "feast --help (peer)": [str(BIN / "feast"), "--help"],
            "python -c 'import feast' (the old start-up)": [sys.executable, "-c", "import feast"],
        }
        print(f"CLI start-up, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.runs} runs each")
        print(f"{'command':<46} {'median':>8} {'min':>8} {'max':>8}")
        for name, command in commands.items():
            times = _time(command, cwd, env, args.runs)
            print(f"{name:<46} {statistics.median(times):7.2f}s {min(times):7.2f}s {max(times):7.2f}s")


if __name__ == "__main__":
    main()
