"""Progress of long Spark work: the running stages' task counts, every few seconds.

``with spark_progress(spark, progress):`` around a Spark action (a write, a fit) starts a
thread that polls Spark's public status tracker and calls ``progress`` with one line per
change, e.g. ``spark: stage 4 (parquet at ...): 12/40 tasks done, 2 running``, at most every
``every`` seconds; it stops when the block ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def stage_lines(spark: Any) -> list[str]:
    """One line per active Spark stage: its id, name and task counts."""
    tracker = spark.sparkContext.statusTracker()
    lines = []
    for stage_id in sorted(tracker.getActiveStageIds()):
        info = tracker.getStageInfo(stage_id)
        if info is None:
            continue
        name = info.name.split("\n", 1)[0][:60]
        lines.append(f"spark: stage {stage_id} ({name}): {info.numCompletedTasks}/{info.numTasks} "
                     f"tasks done, {info.numActiveTasks} running")
    return lines


@contextmanager
def spark_progress(spark: Any, progress: Callable[[str], None], every: float = 5.0) -> Iterator[None]:
    """Report the active stages' progress through ``progress`` while the block runs."""
    done = threading.Event()

    def report() -> None:
        last: list[str] = []
        while not done.wait(every):
            try:
                lines = stage_lines(spark)
            except Exception:  # the context is stopping: nothing to report
                return
            if lines and lines != last:
                for line in lines:
                    progress(line)
                last = lines

    thread = threading.Thread(target=report, name="fresco-spark-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(every + 1)
