"""The CLI starts without importing what only some commands need (Feast, Spark, TensorFlow...).

Not a timing test (benchmarks/bench_cli.py prints the times): it checks which modules a
command's start-up imports, which is what makes it fast or slow.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("feast", "pyspark", "tensorflow", "xgboost", "lightgbm", "bentoml", "pandas", "sklearn")

PROBE = """
import json, sys
from click.testing import CliRunner
from fresco.cli import main
result = CliRunner().invoke(main, {args!r})
print(json.dumps({{"exit": result.exit_code, "output": result.output,
                   "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _probe(args: list[str], cwd) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], cwd=cwd,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_imports_nothing_heavy(tmp_path) -> None:
    got = _probe(["--help"], tmp_path)
    assert got["exit"] == 0 and "materialize" in got["output"] and "init" in got["output"]
    assert got["heavy"] == []


def test_models_list_imports_nothing_heavy(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    got = _probe(["models", "list"], tmp_path)
    assert got["exit"] == 0 and "No models yet" in got["output"]
    assert got["heavy"] == []
