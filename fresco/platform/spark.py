"""One way to start Spark for Fresco: UTC, microsecond Parquet, Hive metastore, and a master
that is local mode unless a setting names a cluster.

Every Spark job (feature groups, training at scale, batch scoring) and the Feast Spark
offline store get their session from here, so they agree on time zone, timestamp precision
and which Hive metastore holds the tables.

The master (:func:`spark_master`) is a model config's ``resources.spark_master``, else
``$FRESCO_SPARK_MASTER``, else ``local[2]``: ``spark://host:7077`` (standalone), ``yarn``
(with ``HADOOP_CONF_DIR``), ``k8s://https://host:443`` (with ``spark.kubernetes.*`` settings in
``spark-defaults.conf``), ``local[N]``. Client mode: the driver is this process.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from fresco.platform.state import state_dir
from fresco.platform.streaming.connector import cached_jars


#: the environment variable naming the Spark master when no config does
MASTER_ENV = "FRESCO_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
#: PySpark's worker daemon with the scoring stack imported before it forks
DAEMON_MODULE = "fresco.platform.spark_daemon"


class SparkMasterError(RuntimeError):
    """This process already runs Spark on another master than the one asked for."""


def spark_master(configured: str | None = None) -> str:
    """The Spark master: ``configured`` (a model config's ``resources.spark_master``), else
    ``$FRESCO_SPARK_MASTER``, else ``local[2]``."""
    return configured or os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def check_master(spark: SparkSession, configured: str | None = None) -> SparkSession:
    """``spark``, when it runs on the master asked for (``configured``, else the environment's);
    :class:`SparkMasterError` naming both otherwise. Nothing asked for: any master will do."""
    asked = configured or os.environ.get(MASTER_ENV)
    running = spark.sparkContext.master
    if asked and asked != running:
        source = "resources.spark_master" if configured else MASTER_ENV
        raise SparkMasterError(f"{source} asks for Spark master {asked!r}, but this process already runs "
                               f"Spark on {running!r}; a process has one Spark driver: run the command in a "
                               "new process (or stop the running session first)")
    return spark


def spark_conf(home: Path | None = None, master: str | None = None) -> dict[str, str]:
    """The Spark settings Fresco relies on, also usable in ``feature_store.production.yaml``.

    ``master`` (else :func:`spark_master`'s) is the master;
    ``FRESCO_HIVE_METASTORE_URI`` points at a real Hive metastore instead of embedded Derby.
    """
    home = home or state_dir()
    warehouse = home / "spark-warehouse"
    metastore = home / "metastore_db"
    conf = {
        "spark.master": spark_master(master),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.shuffle.partitions": os.environ.get("FRESCO_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.sql.catalogImplementation": "hive",
        "spark.ui.enabled": "false",
        "spark.driver.memory": os.environ.get("FRESCO_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
    }
    uri = os.environ.get("FRESCO_HIVE_METASTORE_URI")
    if uri:
        conf["spark.hadoop.hive.metastore.uris"] = uri
    else:
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={metastore};create=true"
        )
    return conf


def spark_session(app_name: str = "fresco", home: Path | None = None, master: str | None = None,
                  *, short_job: bool = False) -> SparkSession:
    """Return the process's Spark session, creating it with :func:`spark_conf` if needed, and
    with Spark's Kafka connector on its classpath once it is in the cache (``fresco stream``
    fetches it; a path of this machine, so not one of the settings a yaml repeats). A running
    session on another master than ``master`` (else the environment's) is refused
    (:func:`check_master`).

    Python workers (UDFs, ``mapInPandas``, Feast's Spark materialization engine) run this
    process's interpreter unless ``PYSPARK_PYTHON`` says otherwise, so they can import Feast.

    A new session's driver JVM maps the class-data archive (:mod:`fresco.platform.spark_cds`);
    with ``short_job`` (see :func:`short_input`) it also compiles with the quick compiler only.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf(home, master).items():
        builder = builder.config(key, value)
    # not one of the settings a yaml repeats: an optimization (fresco.platform.spark_daemon)
    builder = builder.config("spark.python.daemon.module", DAEMON_MODULE)
    jars = cached_jars()
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    builder = builder.enableHiveSupport()
    if _driver_jvm_running():
        return check_master(builder.getOrCreate(), master)
    return check_master(_with_driver_options(builder, [str(j) for j in jars], short_job), master)


# PySpark's public API says neither whether this process's driver JVM is up nor that JVM's process
# id; both are needed to start it with options and to tell spark_cds when its archive is written.
# The two private reads are here alone; tests/platform/test_spark_cds.py starts a session through
# them in a new process and fails if either changes.
def _driver_jvm_running() -> bool:
    return SparkContext._active_spark_context is not None


def _driver_jvm_pid(session: SparkSession) -> int:
    return int(session.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


#: input rows below which a job is short (:func:`short_input`)
SHORT_JOB_ROWS = 1_000_000
#: a short job's driver JVM: C1 only. On two cores the optimizing compiler's threads took 4 of a
#: 30-row batch's 19 s; somewhere between 1M and 10M rows its faster code wins (bench_batch_scoring.py)
QUICK_COMPILER = "-XX:TieredStopAtLevel=1"


def short_input(source: str) -> bool:
    """Whether ``source``, a Parquet file or folder, holds fewer than :data:`SHORT_JOB_ROWS` rows
    (read from the files' footers); a table or anything unreadable: no."""
    import pyarrow.parquet as pq

    try:
        files = pq.ParquetDataset(source).files
        return sum(pq.ParquetFile(f).metadata.num_rows for f in files) < SHORT_JOB_ROWS
    except Exception:  # noqa: BLE001 - not Parquet here: the job reads it and says what is wrong
        return False


def _with_driver_options(builder: SparkSession.Builder, jars: list[str], short_job: bool) -> SparkSession:
    """``builder``'s new session, its driver JVM started with the class-data archive
    (:mod:`fresco.platform.spark_cds`) and, for a ``short_job``, :data:`QUICK_COMPILER`, through
    ``SPARK_SUBMIT_OPTS`` (the launcher's options for the driver JVM; a user's own value is kept
    and ours appended, for this start only)."""
    from fresco.platform.spark_cds import plan_archive

    plan = plan_archive(jars)
    options = " ".join(o for o in (plan.java_options, QUICK_COMPILER if short_job else None) if o)
    if not options:
        return builder.getOrCreate()
    before = os.environ.get("SPARK_SUBMIT_OPTS")
    os.environ["SPARK_SUBMIT_OPTS"] = f"{before} {options}" if before else options
    try:
        session = builder.getOrCreate()
    finally:
        if before is None:
            os.environ.pop("SPARK_SUBMIT_OPTS", None)
        else:
            os.environ["SPARK_SUBMIT_OPTS"] = before
    plan.started(_driver_jvm_pid(session))
    return session


def start_spark_session(app_name: str = "fresco", home: Path | None = None, master: str | None = None,
                        *, warm_workers: bool = False, short_job: bool = False) -> "Future[SparkSession]":
    """:func:`spark_session` in a background thread: Spark's JVM starts (about 3.5 s, in its own
    process) while the caller imports and opens its stores; ``.result()`` is the session. With
    ``warm_workers``, :func:`warm_python_workers` follows as soon as the session is up, so the
    workers' imports overlap the caller's too. The thread is a daemon: a command that fails before
    it needs Spark exits at once."""
    pending: Future[SparkSession] = Future()

    def start() -> None:
        if pending.set_running_or_notify_cancel():
            try:
                session = spark_session(app_name, home, master, short_job=short_job)
                if warm_workers:
                    warm_python_workers(session)
                pending.set_result(session)
            except BaseException as err:  # noqa: BLE001 - handed to the caller of .result()
                pending.set_exception(err)

    threading.Thread(target=start, name="fresco-spark-start", daemon=True).start()
    return pending


def _ready(value):  # type: ignore[no-untyped-def] - runs in a Python worker; hints would make it a pandas UDF
    return value


class WorkerWarmUp(threading.Thread):
    """The background job of :func:`warm_python_workers`; ``error`` is what it raised, if anything."""

    def __init__(self, spark: SparkSession) -> None:
        super().__init__(name="fresco-spark-warm-workers", daemon=True)
        self.spark, self.error = spark, None

    def run(self) -> None:
        try:
            # a SQL job: Spark keeps one daemon per worker environment, and SQL's Python
            # functions (mapInPandas, pandas UDFs, plain UDFs) run under another one than RDD
            # functions. A plain UDF: submitting it needs neither pandas nor pyarrow here, so the
            # job starts at once even while the caller's thread is importing them.
            from pyspark.sql.functions import udf

            self.spark.range(1, numPartitions=1).select(udf(_ready, "long")("id")).collect()
        except Exception as err:  # noqa: BLE001 - the job that needs the workers reports it too
            self.error = err


def warm_python_workers(spark: SparkSession) -> WorkerWarmUp:
    """Start Spark's Python worker daemon for SQL functions (which imports the scoring stack,
    :mod:`fresco.platform.spark_daemon`) with one task in the background, so a job's first
    Python tasks fork from a ready daemon while the caller reads and joins; the other task slots
    stay free for the caller's jobs. A failure is kept on the thread, not raised."""
    warm_up = WorkerWarmUp(spark)
    warm_up.start()
    return warm_up
