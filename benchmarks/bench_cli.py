"""CLI start-up: wall time of Fresco's commands beside `feast --help` (the stock Feast CLI, the
peer) in the same run. Prints figures; asserts nothing.

Timed, in a project `fresco init` made and `feast apply` registered:
`fresco --help`, `fresco train --help`, `fresco init` (a new project), `fresco models list`, a
model config's validation (`fresco train CONFIG --check`: trainer, files, feature repository,
DSL program), and `fresco serve` until `/readyz` answers 200.

With `--compare VENV`, the same commands also run in another environment holding an older
Fresco (e.g. a checkout of an earlier commit with its own `.venv`), alternating run by run, so
before and after are measured side by side on one machine. An environment without
`fresco train --check` validates with its Python API (`load_config`, which validated in full).

Run: .venv/bin/python benchmarks/bench_cli.py [--runs N] [--compare OTHER/.venv] [--no-serve]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(sys.executable).parent.parent


class Environment:
    """One installed Fresco: its commands, and a project made with its own `fresco init`."""

    def __init__(self, venv: Path, label: str, work: Path) -> None:
        self.venv, self.label, self.work = venv, label, work
        self.bin = venv / "bin"
        self.env = {**os.environ, "FRESCO_HOME": str(work / "home")}
        for name in ("FRESCO_FEATURE_REPO", "FEAST_FS_YAML_FILE_PATH", "BENTOML_HOME"):
            self.env.pop(name, None)
        self.project = work / "shop"
        self.has_check = "--check" in self.run([str(self.bin / "fresco"), "train", "--help"], work).stdout

    def run(self, command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"[{self.label}] {' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result

    def prepare(self) -> None:
        """A project of this version, registered, to validate a config and serve in."""
        self.run([str(self.bin / "fresco"), "init", "shop"], self.work)
        self.run([str(self.bin / "feast"), "apply"], self.project)

    def validate_command(self) -> list[str]:
        config = "models/basket_value.yaml"
        if self.has_check:
            return [str(self.bin / "fresco"), "train", config, "--check"]
        code = "import sys; from training import load_config; load_config(sys.argv[1])"
        return [str(self.bin / "python"), "-c", code, config]

    def commands(self) -> dict[str, tuple[list[str], Path]]:
        fresco = str(self.bin / "fresco")
        return {
            "fresco --help": ([fresco, "--help"], self.work),
            "fresco train --help": ([fresco, "train", "--help"], self.work),
            "fresco init (new project, sample data)": ([fresco, "init", "{fresh}"], self.work),
            "fresco models list": ([fresco, "models", "list"], self.project),
            "config validation (train --check)": (self.validate_command(), self.project),
            "feast --help (peer)": ([str(self.bin / "feast"), "--help"], self.work),
        }

    def time_command(self, command: list[str], cwd: Path, run: int) -> float:
        command = [part.replace("{fresh}", f"fresh{run}") for part in command]
        t0 = time.perf_counter()
        self.run(command, cwd)
        elapsed = time.perf_counter() - t0
        if any("fresh" in part for part in command):
            shutil.rmtree(cwd / f"fresh{run}", ignore_errors=True)
        return elapsed

    def time_serve(self) -> float:
        """Seconds from `fresco serve` to the first 200 from `/readyz`."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        t0 = time.perf_counter()
        server = subprocess.Popen([str(self.bin / "fresco"), "serve", "--port", str(port)], cwd=self.project,
                                  env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            while time.perf_counter() - t0 < 300:
                if server.poll() is not None:
                    raise SystemExit(f"[{self.label}] fresco serve exited with {server.returncode}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                        if answer.status == 200:
                            return time.perf_counter() - t0
                except OSError:
                    pass
                time.sleep(0.05)
            raise SystemExit(f"[{self.label}] fresco serve not ready after 300 s")
        finally:
            os.killpg(server.pid, 15)
            server.wait(60)


def _row(name: str, times: list[float]) -> str:
    return f"{name:<48} {statistics.median(times):7.2f}s {min(times):7.2f}s {max(times):7.2f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median reported)")
    parser.add_argument("--compare", type=Path, default=None, help="another environment (a .venv) to time beside")
    parser.add_argument("--no-serve", action="store_true", help="skip `fresco serve` to /readyz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        venvs = [(HERE, "this")] + ([(args.compare.resolve(), "compared")] if args.compare else [])
        envs = []
        for venv, label in venvs:
            work = Path(tmp) / label
            work.mkdir()
            envs.append(Environment(venv, label, work))
        for env in envs:
            env.prepare()
        print(f"CLI start-up, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.runs} runs each")
        for env in envs:
            print(f"  {env.label}: {env.venv}")
        times: dict[tuple[str, str], list[float]] = {}
        names = list(envs[0].commands())
        for run in range(args.runs):
            for name in names:
                for env in envs:  # alternate the environments, run by run
                    command, cwd = env.commands()[name]
                    times.setdefault((env.label, name), []).append(env.time_command(command, cwd, run))
        if not args.no_serve:
            for _ in range(min(args.runs, 3)):
                for env in envs:
                    times.setdefault((env.label, "fresco serve until /readyz is 200"), []).append(env.time_serve())
        print(f"{'command':<48} {'median':>8} {'min':>8} {'max':>8}")
        for env in envs:
            print(f"[{env.label}]")
            for (label, name), values in times.items():
                if label == env.label:
                    print(_row(name, values))


if __name__ == "__main__":
    main()
