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


def test_init_imports_nothing_heavy(tmp_path) -> None:
    """`fresco init` writes templates and a sample dataset (numpy and pyarrow buffers): no Feast,
    no pandas (which pyarrow's `pa.array` would import)."""
    got = _probe(["init", "shop"], tmp_path)
    assert got["exit"] == 0 and "Created project shop" in got["output"], got["output"]
    assert got["heavy"] == []
    assert (tmp_path / "shop" / "data" / "labels.parquet").is_file()


def test_train_help_and_a_failing_command_import_nothing_heavy(tmp_path) -> None:
    got = _probe(["train", "--help"], tmp_path)
    assert got["exit"] == 0 and "--check" in got["output"] and "--yaml" in got["output"]
    assert got["heavy"] == []
    # a user error goes through the CLI's error handling, which must not import Feast to catch it
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "feature_store.yaml").write_text("project: theirs\n")
    got = _probe(["init", str(taken)], tmp_path)
    assert got["exit"] != 0 and "Error" in got["output"] and got["heavy"] == [], got
    assert (taken / "feature_store.yaml").read_text() == "project: theirs\n"


def test_the_service_module_imports_no_feast() -> None:
    """`bentoml serve` imports the service's module in its own process before the worker does:
    Feast (seconds of imports) is loaded only where the worker opens the store."""
    code = ("import sys, fresco.serving.service; "
            "print(sorted(m for m in ('feast', 'pandas', 'pyspark', 'tensorflow', 'xgboost', 'cassandra') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "[]", out.stdout
