"""A log's Kafka topic landed as Parquet: the landing folder is the ingest's offset store.

Each landed file holds consecutive records of one partition and one UTC day, and says which in its
name, ``date=YYYY-MM-DD/part-<topic>-p<partition>-o<first offset>-o<last offset>.parquet``
(:func:`file_name`); it is written under a dot-name and renamed (what readers see is whole), and
a partition's files are renamed in offset order. So whatever moment an ingest is killed at, what
it landed of a partition is a prefix of what it read, and the next one resumes one past the
highest landed offset (:func:`landed_ends`): every record lands exactly once, with no state
besides the files to get out of step with them.
"""

from __future__ import annotations

import fcntl
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fresco.platform.log_topics import LogKind
from fresco.platform.logs import write_day_files

_LANDED = re.compile(r"^part-(?P<topic>.+)-p(?P<partition>\d+)-o(?P<first>\d+)-o(?P<last>\d+)\.parquet$")


def file_name(topic: str, partition: int, first: int, last: int) -> str:
    """The name of the file landing offsets ``first`` to ``last`` of ``topic``'s ``partition``."""
    return f"part-{topic}-p{partition}-o{first:012d}-o{last:012d}.parquet"


def landed_ends(folder: Path, topic: str) -> dict[int, int]:
    """Per partition of ``topic`` landed in ``folder``: one past its highest landed offset."""
    ends: dict[int, int] = {}
    for path in Path(folder).glob("date=*/part-*.parquet"):
        found = _LANDED.match(path.name)
        if found and found["topic"] == topic:
            partition = int(found["partition"])
            ends[partition] = max(ends.get(partition, 0), int(found["last"]) + 1)
    return ends


def remove_unfinished(folder: Path, topic: str) -> int:
    """Remove the dot-files an ingest of ``topic`` killed while writing left; how many."""
    removed = 0
    for path in Path(folder).glob("date=*/.part-*.parquet.tmp"):
        found = _LANDED.match(path.name[1:-len(".tmp")])
        if found and found["topic"] == topic:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def land(folder: Path, kind: LogKind, topic: str, partition: int,
         records: Sequence[tuple[int, date, dict[str, Any]]]) -> int:
    """``records`` (offset, UTC day, row) of one partition, in offset order, as one file per run
    of consecutive records of a day, written in offset order (see the module doc); the number
    of files."""
    files = 0
    for day, run in itertools.groupby(records, key=lambda record: record[1]):
        rows = list(run)
        write_day_files(folder, [(day, row) for _, _, row in rows], kind.schema(),
                        name=file_name(topic, partition, rows[0][0], rows[-1][0]))
        files += 1
    return files


class IngestRunning(RuntimeError):
    """Another ingest lands the same topic into the same folder."""


@contextmanager
def landing_lock(folder: Path, topic: str) -> Iterator[None]:
    """Hold the one lock of landing ``topic`` into ``folder`` (two ingests would land twice)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f".ingest-{topic}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestRunning(f"another `fresco monitor ingest` lands topic {topic} into {folder}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
