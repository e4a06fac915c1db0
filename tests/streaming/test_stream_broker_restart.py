"""A broker restart under a running stream job: the job says so, waits, resumes from its
checkpoint by itself and loses nothing. A private broker (its own ports and data), so the
shared one other tests use is never stopped."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_feature_repo, environment_restored, free_port, run_feast
from tests.streaming.test_stream_job import quarter_hour_base, _events, _publish

pytestmark = pytest.mark.timeout(900)


def _wait(predicate, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.5)


def test_the_job_waits_for_a_restarted_broker_and_loses_nothing(tmp_path: Path, spark) -> None:
    BASE = quarter_hour_base()
    from feast import FeatureStore

    from fresco.platform.services import kafka as broker
    from fresco.platform.streaming.check import check_stream
    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob

    cfg = broker.BrokerConfig(home=tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.start(config=cfg, quiet=True)
    env = {"FRESCO_HOME": str(tmp_path / "state"), "FRESCO_KAFKA_TOPIC_PREFIX": f"test-{uuid.uuid4().hex[:8]}.",
           "FRESCO_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{cfg.port}"}
    try:
        with environment_restored(*env):
            os.environ.update(env)
            repo = copy_feature_repo(tmp_path / "repo")
            done = run_feast(repo, "apply")
            assert done.returncode == 0, done.stdout + done.stderr
            store = FeatureStore(repo_path=str(repo))
            group = stream_group(store, "restaurant_realtime")
            assert group.bootstrap_servers == f"127.0.0.1:{cfg.port}"
            lines: list[str] = []
            job = StreamJob(store, group, spark, trigger_seconds=0.5, say=lines.append).start()
            runner = threading.Thread(target=job.run, kwargs={"max_seconds": 600}, daemon=True)
            runner.start()
            try:
                first, second = _events(100, 41, BASE, 50), _events(80, 42, BASE + timedelta(minutes=50), 40)
                _publish(store, first)
                _wait(lambda: job.status.events_read == 100, "the first 100 events read")

                broker.stop(config=cfg, quiet=True)
                _wait(lambda: any("does not answer" in line for line in lines), "the job noticing the broker")
                broker.start(config=cfg, quiet=True)
                _wait(lambda: any("answers again" in line for line in lines), "the job resuming")
                _publish(store, second)
                _wait(lambda: job.status.events_read == 180, "the next 80 events read")
                assert runner.is_alive()
                job.process_available()  # the windows too: the features query may trail the count
            finally:
                job.stop()
                runner.join(120)
            assert not runner.is_alive()
            waiting = next(line for line in lines if "does not answer" in line)
            assert f"Kafka at 127.0.0.1:{cfg.port} does not answer; waiting for it" in waiting
            both = pd.concat([first, second], ignore_index=True)
            report = check_stream(store, group, spark.createDataFrame(both), BASE - timedelta(minutes=15),
                                  pd.Timestamp.now(tz="UTC").to_pydatetime())
            assert [m.describe() for m in report.mismatches] == []
            assert report.offline_compared > 10 and report.online_compared == 3
    finally:
        broker.stop(config=cfg, quiet=True)
