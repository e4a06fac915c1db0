"""The README's Python API snippet runs as written, in a `fresco init` project."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import copy_project, run_fresco

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _snippet() -> str:
    section = README.split("### The Python API (notebooks and scripts)")[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_api_runs_in_a_project(applied_project: Path, tmp_path: Path) -> None:
    project = copy_project(applied_project, tmp_path / "shop")
    env = {"FRESCO_HOME": str(tmp_path / "home")}
    done = run_fresco("materialize", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FRESCO_", "FEAST_", "BENTOML_"))}
    out = subprocess.run([sys.executable, "-c", _snippet()], cwd=project, env={**clean, **env},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rows, *rest = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(rows) == 6000  # the sample's entity rows, one training row each
    answer = re.search(r"\[([-0-9.e]+)\]$", out.stdout.strip())
    assert answer is not None and float(answer.group(1)) > 0, out.stdout  # a real prediction
