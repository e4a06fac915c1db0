"""Progress lines of a long Spark job, from Spark's real status tracker."""

from __future__ import annotations

import time

from fresco.platform.spark_progress import spark_progress


def test_a_long_job_reports_its_stage_and_tasks(spark) -> None:
    def slow(rows):
        time.sleep(1.5)
        yield from rows

    said: list[str] = []
    with spark_progress(spark, said.append, every=0.5):
        count = spark.sparkContext.parallelize(range(8), 4).mapPartitions(slow).count()
    assert count == 8
    assert said, "no progress while a 3 s job ran"
    assert all(line.startswith("spark: stage ") and "/4 tasks done" in line for line in said), said
    n = len(said)
    time.sleep(1.2)
    assert len(said) == n  # nothing after the block
