"""A stream job a team leaves running: killed (-9) and stopped (SIGTERM) mid-stream, started
again, with every event counted once; its status and Prometheus figures while it runs. Child
processes as a user runs them (the last run and the check in this process, from the same
checkpoint), the real broker, real Spark, the embedded stores."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import environment_restored, invoke_fresco, run_fresco
from tests.streaming.test_stream_cli import _project
from tests.streaming.test_stream_job import quarter_hour_base, _events, _publish

pytestmark = pytest.mark.timeout(900)

VIEW = "restaurant_realtime"


def _publish_to(repo: Path, env: dict[str, str], events: pd.DataFrame) -> None:
    from feast import FeatureStore

    with environment_restored(*env):
        os.environ.update(env)
        _publish(FeatureStore(repo_path=str(repo)), events)


def _start(repo: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    fresco = Path(sys.executable).with_name("fresco")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FRESCO_FEATURE_REPO", "FEAST_"))}
    return subprocess.Popen([str(fresco), "stream", "run", VIEW, "--trigger", "0.5"], cwd=repo,
                            env={**base, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own group: kill -9 takes Spark's JVM too


def _status(env: dict[str, str]) -> dict:
    path = Path(env["FRESCO_HOME"]) / "streams" / VIEW / "status.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _wait_for(env: dict[str, str], job: subprocess.Popen, log: Path, events: int, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _status(env)
        if status.get("events_read", 0) >= events and status.get("metrics_url") and status.get("lag"):
            return status
        assert job.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"{events} events not read in {timeout}s: {_status(env)}\n{log.read_text()[-3000:]}")


def test_a_killed_then_stopped_job_resumes_with_every_event_counted_once(tmp_path: Path, kafka: str, spark) -> None:
    BASE = quarter_hour_base()
    repo, env = _project(tmp_path, f"test-{uuid.uuid4().hex[:8]}.")
    first, second, third = (_events(200, 21, BASE, 40), _events(150, 22, BASE + timedelta(minutes=40), 40),
                            _events(100, 23, BASE + timedelta(minutes=80), 30))
    _publish_to(repo, env, first)
    log = tmp_path / "job.log"
    job = _start(repo, env, log)
    try:
        status = _wait_for(env, job, log, 200)
        assert status["events_read"] == 200

        # while it runs: its figures in Prometheus' text format, and `fresco stream status`
        metrics = urllib.request.urlopen(status["metrics_url"], timeout=10).read().decode()
        assert f'fresco_stream_events_read_total{{view="{VIEW}"}} 200.0' in metrics, metrics
        assert re.search(rf'fresco_stream_records_behind\{{partition="\d+",topic="[^"]+orders.ready",view="{VIEW}"\}}',
                         metrics), metrics
        done = run_fresco("stream", "status", VIEW, cwd=repo, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"running (pid {job.pid}), metrics at {status['metrics_url']}" in done.stdout, done.stdout
        assert "records behind the topic's end, per partition: " in done.stdout

        _publish_to(repo, env, second)  # killed while these stream in
        time.sleep(1.5)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=60)
        done = run_fresco("stream", "status", VIEW, cwd=repo, env=env)
        assert f"not running: its process (pid {job.pid}) ended without stopping the job" in done.stdout

        job = _start(repo, env, log)  # resumes from the checkpoint
        _publish_to(repo, env, third)
        _wait_for(env, job, log, 450)
        job.send_signal(signal.SIGTERM)
        assert job.wait(timeout=120) == 0, log.read_text()[-3000:]
        assert f"{VIEW}: stopping; a restart resumes from" in log.read_text()
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    status = _status(env)
    assert status["events_read"] == 450 and status["pid"] is None

    # started once more (in this process, from the same checkpoint): nothing new to read,
    # nothing counted twice
    done = invoke_fresco("stream", "run", VIEW, "--once", cwd=repo, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{VIEW}: 450 events read" in done.stdout

    # every row version written once offline, and the check finds the stream exact
    rows = pd.read_parquet(repo / "data" / "features" / VIEW)
    assert not rows.duplicated().any(), rows[rows.duplicated(keep=False)]
    done = invoke_fresco("stream", "check", VIEW, "--start", (BASE - timedelta(minutes=15)).isoformat(),
                      "--end", pd.Timestamp.now(tz="UTC").isoformat(), cwd=repo, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"stream check: [\d,]+ rows compared, 0 differ\n$", done.stdout), done.stdout
