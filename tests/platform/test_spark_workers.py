"""Spark's Python workers for Fresco's jobs: forked from Fresco's daemon, which has imported the
scoring stack (``spark.python.daemon.module``, a Spark setting this test guards), and started
ahead of a job by ``warm_python_workers``; the session started in the background is the one."""

from __future__ import annotations

import pandas as pd

from fresco.platform.spark import start_spark_session, warm_python_workers
from fresco.platform.spark_daemon import PRELOADED, preload


def _parent(batches):
    import os

    import pyspark

    for _ in batches:
        with open(f"/proc/{os.getppid()}/cmdline") as cmdline:
            yield pd.DataFrame({"parent": [cmdline.read().replace("\0", " ")], "pyspark": [pyspark.__file__]})


def test_sql_python_workers_fork_from_frescos_daemon(spark) -> None:
    import pyspark

    rows = spark.range(2, numPartitions=2).mapInPandas(_parent, "parent string, pyspark string").collect()
    assert rows and all("-m fresco.platform.spark_daemon" in row.parent for row in rows), rows
    # pyspark from the installed package (compiled once), not from Spark's zip of the same files
    assert {row.pyspark for row in rows} == {pyspark.__file__}


def test_the_daemon_imports_every_module_it_names() -> None:
    assert preload() == list(PRELOADED)
    assert preload(("fresco.no_such_module", "numpy")) == ["numpy"]  # a missing one is left to the workers


def test_warming_the_workers_runs_a_python_job(spark) -> None:
    before = set(spark.sparkContext.statusTracker().getJobIdsForGroup(None))
    warm_up = warm_python_workers(spark)
    warm_up.join(timeout=120)
    assert not warm_up.is_alive() and warm_up.error is None
    assert set(spark.sparkContext.statusTracker().getJobIdsForGroup(None)) - before


def test_a_session_started_in_the_background_is_the_process_session(spark) -> None:
    assert start_spark_session("fresco-tests").result(timeout=60) is spark


def test_a_session_started_in_the_background_can_warm_its_workers(spark) -> None:
    import time

    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup(None))
    assert start_spark_session("fresco-tests", warm_workers=True).result(timeout=60) is spark
    deadline = time.monotonic() + 60
    while not set(tracker.getJobIdsForGroup(None)) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(tracker.getJobIdsForGroup(None)) - before, "no warm-up job ran"
