"""A class-data-sharing archive for the JVM of Spark's driver (in local mode, its executor too).

At start the JVM loads, parses and verifies some thousands of Spark's classes; on two cores that
is about 4 of the 19 s a 30-row ``fresco predict-batch`` takes end to end. Java's dynamic class
data sharing (JDK 13+) keeps them parsed in a file the JVM maps at start: one session writes it
when its JVM exits (``-XX:ArchiveClassesAtExit``), later ones map it (``-XX:SharedArchiveFile``).
It changes how classes load, not how code runs.

The archive is kept in ``$FRESCO_CACHE/spark-cds``, one per JDK, pyspark and extra jars. One
process at a time writes it, to a file of its own, and records its JVM's process id beside it;
once that JVM has ended, the next session checks the file with the JDK (a truncated archive
would crash a JVM that maps it) and only then puts it in place. The three most recently used
archives are kept (each environment has its own: the class path is part of it), and what an
ended writer of another one left unclaimed is dropped, so the folder does not grow with every
throwaway environment. ``FRESCO_SPARK_CDS=off`` turns it off; a JVM that cannot use an archive
(another JDK build) starts without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from fresco.platform.services.process import pid_exists
from fresco.platform.state import cache_dir

#: ``off`` disables the archive
CDS_ENV = "FRESCO_SPARK_CDS"
#: the JVM's notes on classes it cannot archive, or on an archive it cannot map, are not the user's
_QUIET = "-Xlog:cds*=off"
#: archives kept (the most recently used): each virtual environment has its own (about 190 MB)
KEPT_ARCHIVES = 3


def java_executable() -> str | None:
    """The ``java`` Spark's launcher runs: ``$JAVA_HOME/bin/java``, else the one on ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _archive_folder() -> Path:
    return cache_dir() / "spark-cds"


def _key(java: str, jars: list[str]) -> str:
    import pyspark

    ident = [os.path.realpath(java), pyspark.__version__, pyspark.__file__, sorted(jars)]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def _usable(java: str, archive: Path) -> bool:
    """Whether the JDK maps ``archive`` without crashing (a truncated one aborts the JVM)."""
    done = subprocess.run([java, f"-XX:SharedArchiveFile={archive}", "-Xshare:auto", "-XX:ErrorFile=/dev/null",
                           "-XX:-CreateCoredumpOnCrash", "-version"],
                          capture_output=True, timeout=60, cwd=archive.parent)
    return done.returncode == 0


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:  # another process pruned it this instant: it is mapped or not, as the JVM finds
        pass


def _claim(writer: Path) -> tuple[int, Path] | None:
    """What a writer file records: the writing process's id and the file it writes; None while
    the file is itself being written (or is gone)."""
    try:
        pid_text, partial_name = writer.read_text().split()
        return int(pid_text), writer.parent / partial_name
    except (ValueError, OSError):
        return None


def _prune(folder: Path) -> None:
    """Before another archive is written: keep the :data:`KEPT_ARCHIVES` - 1 most recently used
    archives, and drop what writers that have ended left unclaimed (a one-off environment's)."""
    archives = sorted(folder.glob("*.jsa"), key=lambda a: a.stat().st_mtime, reverse=True)
    for old in archives[KEPT_ARCHIVES - 1:]:
        old.unlink(missing_ok=True)
    for writer in folder.glob("*.writer"):
        claim = _claim(writer)
        if claim is not None and not pid_exists(claim[0]):
            claim[1].unlink(missing_ok=True)
            writer.unlink(missing_ok=True)


class ArchivePlan:
    """What this session's driver JVM does with the archive: map it (``java_options``), write it
    (then :meth:`started` records the JVM), or neither (another process is writing it)."""

    def __init__(self, java_options: str | None = None, writer: Path | None = None,
                 partial: Path | None = None) -> None:
        self.java_options = java_options
        self._writer, self._partial = writer, partial

    def started(self, jvm_pid: int) -> None:
        """Record the writing JVM's process id: the archive is complete once it has ended."""
        if self._writer is not None and self._partial is not None:
            self._writer.write_text(f"{jvm_pid} {self._partial.name}")


def plan_archive(jars: list[str]) -> ArchivePlan:
    """How the driver JVM about to start uses the archive for ``jars`` (see the module doc)."""
    java = java_executable()
    if os.environ.get(CDS_ENV, "").lower() == "off" or java is None:
        return ArchivePlan()
    folder = _archive_folder()
    if any(c.isspace() for c in str(folder)):  # the launcher splits its options on white space
        return ArchivePlan()
    folder.mkdir(parents=True, exist_ok=True)
    key = _key(java, jars)
    archive, writer = folder / f"{key}.jsa", folder / f"{key}.writer"
    if archive.is_file():
        _touch(archive)  # used: the last to be pruned
        return ArchivePlan(f"-XX:SharedArchiveFile={archive} {_QUIET}")
    if writer.is_file():
        claim = _claim(writer)
        if claim is None or pid_exists(claim[0]):  # being claimed, or written, by another process
            return ArchivePlan()
        partial = claim[1]
        if partial.is_file() and _usable(java, partial):
            os.replace(partial, archive)
            writer.unlink(missing_ok=True)
            return ArchivePlan(f"-XX:SharedArchiveFile={archive} {_QUIET}")
        partial.unlink(missing_ok=True)
        writer.unlink(missing_ok=True)
    _prune(folder)
    partial = folder / f"{key}.{uuid.uuid4().hex}.partial"
    try:
        descriptor = os.open(writer, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:  # another process became the writer first
        return ArchivePlan()
    with os.fdopen(descriptor, "w") as out:
        out.write(f"{os.getpid()} {partial.name}")
    return ArchivePlan(f"-XX:ArchiveClassesAtExit={partial} {_QUIET}", writer, partial)
