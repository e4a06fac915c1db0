"""How Spark's driver JVM starts: the class-data archive (``fresco.platform.spark_cds``), with the
real JDK (one writer at a time, an archive used only once its writer has ended and the JDK maps
it, a truncated one never: it would crash the JVM), and the quick compiler for short inputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fresco.platform.spark_cds import java_executable, plan_archive

JARS = ["/opt/some.jar"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRESCO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FRESCO_SPARK_CDS", raising=False)
    return tmp_path / "cache" / "spark-cds"


def _java(options: str) -> subprocess.CompletedProcess[str]:
    java = java_executable()
    assert java is not None
    return subprocess.run([java, *options.split(), "-version"], capture_output=True, text=True, timeout=120)


def _ended_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_the_first_session_writes_the_archive_and_later_ones_map_it(cache: Path) -> None:
    writing = plan_archive(JARS)
    assert writing.java_options is not None and "-XX:ArchiveClassesAtExit=" in writing.java_options
    # while it writes (its JVM not recorded yet: this process holds the claim) nobody else does
    assert plan_archive(JARS).java_options is None

    jvm = subprocess.Popen([java_executable(), *writing.java_options.split(), "-version"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writing.started(jvm.pid)
    assert plan_archive(JARS).java_options is None  # the JVM still runs
    _, err = jvm.communicate(timeout=120)
    assert jvm.returncode == 0, err
    assert b"cds" not in err  # the JVM's notes about classes it skips are kept quiet

    mapping = plan_archive(JARS)
    archives = list(cache.glob("*.jsa"))
    assert len(archives) == 1 and mapping.java_options == f"-XX:SharedArchiveFile={archives[0]} -Xlog:cds*=off"
    assert "sharing" in _java(mapping.java_options).stderr
    assert not list(cache.glob("*.partial")) and not list(cache.glob("*.writer"))
    # other jars, another archive
    assert "-XX:ArchiveClassesAtExit=" in (plan_archive(["/opt/other.jar"]).java_options or "")


def test_a_truncated_archive_is_never_used(cache: Path) -> None:
    writing = plan_archive(JARS)
    assert writing.java_options is not None
    partial = Path(writing.java_options.split()[0].split("=", 1)[1])
    assert _java(writing.java_options).returncode == 0
    whole = partial.read_bytes()
    partial.write_bytes(whole[: len(whole) // 2])  # as if its JVM had been killed while writing
    writing.started(_ended_pid())

    again = plan_archive(JARS)
    assert not list(cache.glob("*.jsa")) and not partial.exists()
    assert again.java_options is not None and "-XX:ArchiveClassesAtExit=" in again.java_options


def test_the_folder_keeps_the_recent_archives_and_no_unclaimed_ones(cache: Path) -> None:
    """Every virtual environment has its own archive (the class path is in it): a throwaway one
    (a test's) must not leave 190 MB behind each time."""
    import os

    from fresco.platform.spark_cds import KEPT_ARCHIVES

    cache.mkdir(parents=True)
    for n in range(KEPT_ARCHIVES + 1):  # older to newer
        (cache / f"env{n}.jsa").write_bytes(b"archive")
        os.utime(cache / f"env{n}.jsa", (1_000_000 + n, 1_000_000 + n))
    (cache / "gone.0.partial").write_bytes(b"half")  # a writer that ended, never claimed
    (cache / "gone.writer").write_text(f"{_ended_pid()} gone.0.partial")
    (cache / "busy.1.partial").write_bytes(b"half")  # a writer still at work
    (cache / "busy.writer").write_text(f"{os.getpid()} busy.1.partial")

    assert "-XX:ArchiveClassesAtExit=" in (plan_archive(JARS).java_options or "")
    kept = sorted(p.name for p in cache.glob("*.jsa"))
    assert kept == [f"env{n}.jsa" for n in range(2, KEPT_ARCHIVES + 1)], kept  # room for the one now written
    assert not (cache / "gone.0.partial").exists() and not (cache / "gone.writer").exists()
    assert (cache / "busy.1.partial").exists() and (cache / "busy.writer").exists()


def test_it_can_be_turned_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRESCO_SPARK_CDS", "off")
    assert plan_archive(JARS).java_options is None and not cache.exists()


def test_a_new_spark_session_starts_its_driver_jvm_with_the_archive(cache: Path, tmp_path: Path) -> None:
    """The wiring: a session started in a process of its own (this cache's first) asks its JVM to
    write the archive, through the launcher's options, which are the user's again afterwards; a
    short job's JVM compiles with C1 only."""
    import os
    import sys

    code = """
import os
from fresco.platform.spark import spark_session
spark = spark_session("cds-test", short_job=True)
runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
print("ARGS", " ".join(str(a) for a in runtime.getInputArguments()))
print("PID", runtime.getPid())
print("OPTS", os.environ.get("SPARK_SUBMIT_OPTS"), flush=True)
os._exit(0)
"""
    env = {**os.environ, "FRESCO_HOME": str(tmp_path / "home"), "SPARK_SUBMIT_OPTS": "-Dfresco.user.option=1"}
    # output to a file: the JVM writes its archive after this process ends, nobody waits for it
    with open(tmp_path / "out.txt", "w") as out:
        done = subprocess.run([sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=300)
    said = (tmp_path / "out.txt").read_text()
    assert done.returncode == 0, said[-3000:]
    args = next(line for line in said.splitlines() if line.startswith("ARGS"))
    assert f"-XX:ArchiveClassesAtExit={cache}" in args and "-Dfresco.user.option=1" in args, args
    assert "-XX:TieredStopAtLevel=1" in args
    assert "OPTS -Dfresco.user.option=1" in said
    # the writer's record names that JVM: the archive counts as written once it has ended
    pid = next(line.split()[1] for line in said.splitlines() if line.startswith("PID"))
    (writer,) = cache.glob("*.writer")
    assert writer.read_text().split()[0] == pid


def test_a_short_input_is_told_by_its_parquet_footers(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fresco.platform.spark import SHORT_JOB_ROWS, short_input

    small = tmp_path / "small.parquet"
    pq.write_table(pa.table({"id": list(range(30))}), small)
    folder = tmp_path / "rows"
    folder.mkdir()
    half = pa.table({"id": pa.array(range(SHORT_JOB_ROWS // 2), type=pa.int32())})
    pq.write_table(half, folder / "part-0.parquet")
    assert short_input(str(small)) and short_input(str(folder))
    pq.write_table(half, folder / "part-1.parquet")  # the folder now holds SHORT_JOB_ROWS rows
    assert not short_input(str(folder))
    assert not short_input("shop.orders") and not short_input(str(tmp_path / "nowhere.parquet"))
