"""``fresco predict-batch`` as a user types it: its errors come as one message, before the work."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_fresco


def test_an_unknown_model_is_one_message_not_a_traceback(tmp_path: Path) -> None:
    done = run_fresco("predict-batch", str(tmp_path / "rows.parquet"), str(tmp_path / "out"),
                      "--model", "nosuch:production", cwd=tmp_path, env={"FRESCO_HOME": str(tmp_path / "home")})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Error: no model or tag 'nosuch:production' in the repository" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
