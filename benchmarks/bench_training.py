"""Benchmark: training-dataset build and XGBoost training time, locally and on Spark local[2].

    python benchmarks/bench_training.py                     # 1M orders, both engines
    python benchmarks/bench_training.py --orders 100000 --engines local --chunk-rows 20000

Generates the orders, computes the feature groups (Spark), applies the catalog to private
copies of the Feast repository, then trains the example delivery-time model
(``examples/delivery_eta.yaml``) once per engine:

- ``local``: orders from Parquet, the example's embedded offline store (Fresco's DuckDB store,
  one as-of join per view; ``--chunk-rows`` sets the config's ``resources.retrieval_chunk_rows``),
  the DSL applied with pandas;
- ``spark``: orders from a Hive table, Feast's Spark offline store over the feature groups'
  Hive tables (``feature_store.production.yaml``, SQLite online store as nothing is served),
  one point-in-time query per feature view, the DSL as Spark column expressions, all on the
  shared local[2] session (``--spark-store file`` keeps the file store instead);
- with ``--standalone-cluster``, then ``spark`` on a Spark standalone cluster started here from
  pyspark's distribution (a master and two one-core workers on loopback, as
  tests/training/test_spark_cluster.py does): ``fresco train`` in a process of its own with
  ``resources.spark_master`` set, the orders from Parquet and the embedded store (this
  process's Hive metastore is embedded Derby, one process at a time). Its peak RSS is the
  ``fresco`` process's and, with the JVMs, the sum of the cluster's processes too.

Per run it reports the dataset build (entity rows, Feast point-in-time retrieval, split,
content hash), the DSL fit and apply, the XGBoost training and the evaluation report, the
peak resident memory of this Python process and of it with its children (the Spark JVM),
sampled every 0.2 s, and the machine. Results are printed and written as JSON to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HIVE_DATABASE = "fresco"


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.node()}: {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} "
            f"{platform.machine()}, Python {platform.python_version()}")


class PeakMemory:
    """Samples the resident memory of this process and of it plus its children (the JVM)."""

    def __init__(self, every: float = 0.2) -> None:
        import psutil

        self._process = psutil.Process()
        self._every = every
        self._stop = threading.Event()
        self.python_peak = self.total_peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        own = self._process.memory_info().rss
        total = own
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        self.python_peak = max(self.python_peak, own)
        self.total_peak = max(self.total_peak, total)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def __enter__(self) -> "PeakMemory":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def _gib(n: int) -> float:
    return round(n / 2**30, 2)


def _production_repo(tmp: Path, spark_home: Path) -> tuple[Path, Path]:
    """A repo applied with the production yaml (Spark offline store on ``fresco.<group>``), but
    a SQLite online store: point-in-time retrieval never touches the online store."""
    import yaml

    repo = tmp / "feature_repo_spark"
    repo.mkdir()
    for name in ("definitions.py", ".feastignore"):
        shutil.copy(ROOT / "feature_repo" / name, repo / name)
    text = (ROOT / "feature_repo" / "feature_store.production.yaml").read_text()
    config = yaml.safe_load(text.replace("${FRESCO_HOME}", str(spark_home)))
    config["online_store"] = {"type": "sqlite", "path": str(repo / "data" / "online.db")}
    config["registry"]["path"] = str(repo / "data" / "registry.production.db")
    config.pop("batch_engine", None)
    path = repo / "feature_store.production.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    # Sources are not validated: that would start a second Spark driver on the same Derby
    # metastore, which embedded Derby refuses (one process at a time).
    env = {**os.environ, "FEAST_FS_YAML_FILE_PATH": str(path), "FRESCO_HIVE_DATABASE": HIVE_DATABASE}
    feast = Path(sys.executable).with_name("feast")
    result = subprocess.run([str(feast), "-f", str(path), "apply", "--skip-source-validation"],
                            cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"feast apply failed in {repo}:\n{(result.stdout + result.stderr)[-3000:]}")
    return repo, path


def _on_standalone_cluster(tmp: Path, repo: Path, orders: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``fresco train`` on engine spark against a standalone cluster, in a process of its own:
    times from its progress lines, peak RSS of it and of it plus the cluster's processes."""
    import psutil

    from tests.spark_cluster import start_cluster

    cluster = start_cluster(tmp / "cluster", workers=2, memory="3g")
    try:
        fresco = Path(sys.executable).with_name("fresco")
        sets = {"features.repo": repo, "resources.engine": "spark", "data.source.parquet": orders,
                "resources.spark_master": cluster.master}
        command = [str(fresco), "train", str(ROOT / "examples" / "delivery_eta.yaml"),
                   *[a for k, v in sets.items() for a in ("--set", f"{k}={v}")]]
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        marks: list[tuple[float, str]] = []
        peaks = {"python": 0, "total": 0}
        cluster_processes = [psutil.Process(p.pid) for p in cluster.processes]

        def sample() -> None:
            while process.poll() is None:
                try:
                    own = psutil.Process(process.pid)
                    tree = [own, *own.children(recursive=True)]
                    for p in cluster_processes:
                        tree += [p, *p.children(recursive=True)]
                    total = 0
                    for p in tree:
                        try:
                            total += p.memory_info().rss
                        except psutil.Error:
                            pass
                    peaks["python"] = max(peaks["python"], own.memory_info().rss)
                    peaks["total"] = max(peaks["total"], total)
                except psutil.Error:
                    pass
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines = []
        for line in process.stdout or []:
            lines.append(line)
            # the command's lines start with its own clock ("[   7.2s] [1/5] ..."): the step is after it
            marks.append((time.perf_counter() - start, re.sub(r"^\[\s*[\d.]+s\]\s*", "", line.strip())))
            print(f"  [cluster {marks[-1][0]:7.1f}s] {line.strip()[:160]}", flush=True)
        process.wait()
        sampler.join()
        if process.returncode != 0:
            raise SystemExit("fresco train on the cluster failed:\n" + "".join(lines[-40:]))
        total = time.perf_counter() - start
    finally:
        cluster.stop()
    at = {m.split("]")[0].strip("["): t for t, m in marks if m.startswith("[")}
    uuid = next(m.split()[-1] for _, m in marks if m.startswith("model"))
    from fresco.training import ModelRepository

    record = ModelRepository().get(uuid)
    dataset = record.dataset
    return {
        "engine": "spark-cluster", "master": "standalone, 2 workers x 1 core", "orders": args.orders,
        "restaurants": args.restaurants, "days": args.days, "entity_source": dataset["source"],
        "retrieval": dataset.get("retrieval"), "rows": dataset["rows"], "content_hash": dataset["content_hash"],
        "split_rows": [dataset["train_rows"], dataset["validation_rows"], dataset["test_rows"]],
        "dataset_s": round(at["2/5"] - at["1/5"], 1), "dsl_s": round(at["3/5"] - at["2/5"], 1),
        "train_s": round(at["4/5"] - at["3/5"], 1), "report_and_store_s": round(total - at["4/5"], 1),
        "total_s": round(total, 1), "peak_rss_python_gib": _gib(peaks["python"]),
        "peak_rss_with_jvm_gib": _gib(peaks["total"]), "load_1min_at_start": None,
        "validation": record.metrics["validation"], "test": record.metrics["test"],
        "test_baseline": record.baseline["test"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--restaurants", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--engines", nargs="+", default=["local", "spark"], choices=["local", "spark"])
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="entity rows per point-in-time query on the file store (default: the config's)")
    parser.add_argument("--spark-store", choices=["spark", "file"], default="spark",
                        help="offline store of the spark run (default: Feast's Spark store on Hive)")
    parser.add_argument("--standalone-cluster", action="store_true",
                        help="also train on engine spark on a standalone cluster (2 one-core workers)")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    # Feast's Spark store warns "experimental" on every query (and its import puts its own
    # "once" filter first, so ours go in after it); pathspec warns of a deprecation
    import feast.infra.offline_stores.contrib.spark_offline_store.spark  # noqa: F401

    warnings.filterwarnings("ignore", message=r".*experimental feature", category=RuntimeWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from fresco.platform import apply_catalog
    from fresco.example.pipelines import generate_raw, run_feature_groups
    from fresco.platform.spark import spark_session
    from fresco.example import REPO_DIR as FEATURE_REPO

    print(f"machine: {_machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: list[dict[str, Any]] = []
    spark_run = "spark" in args.engines
    with tempfile.TemporaryDirectory(prefix="fresco-bench-training-") as tmp:
        tmp_path = Path(tmp)
        os.environ["FRESCO_HOME"] = str(tmp_path / "home")
        repo = tmp_path / "feature_repo"
        repo.mkdir()
        for name in ("feature_store.yaml", "definitions.py", ".feastignore"):
            shutil.copy(FEATURE_REPO / name, repo / name)
        t0 = time.perf_counter()
        raw = generate_raw(repo / "data" / "raw", restaurants=args.restaurants, orders=args.orders, days=args.days)
        spark_home = tmp_path / "spark-home"
        spark = spark_session("fresco-bench-training", home=spark_home)
        spark.sparkContext.setLogLevel("ERROR")
        hive = HIVE_DATABASE if spark_run and args.spark_store == "spark" else None
        if spark_run:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {HIVE_DATABASE}")
        counts = run_feature_groups(spark, raw.out_dir, repo / "data" / "features", hive)
        apply_catalog(repo)
        spark_repo = spark_yaml = None
        if spark_run:
            spark.read.parquet(str(raw.orders_path)).write.format("parquet").saveAsTable(f"{HIVE_DATABASE}.orders")
        if hive:
            spark_repo, spark_yaml = _production_repo(tmp_path, spark_home)
        print(f"prepared {args.orders:,} orders, feature groups {counts} and catalog "
              f"in {time.perf_counter() - t0:.0f}s")

        from fresco.training import train

        for engine in args.engines:
            marks: list[tuple[float, str]] = []
            start = time.perf_counter()

            def progress(message: str) -> None:
                marks.append((time.perf_counter() - start, message))
                print(f"  [{engine} {marks[-1][0]:7.1f}s] {message}", flush=True)

            overrides: dict[str, Any] = {"features.repo": str(repo), "resources.engine": engine,
                                         "data.source.parquet": str(raw.orders_path)}
            if args.chunk_rows is not None:
                overrides["resources.retrieval_chunk_rows"] = args.chunk_rows
            if engine == "spark":
                overrides["data.source"] = {"hive_table": f"{HIVE_DATABASE}.orders"}
                del overrides["data.source.parquet"]
                if spark_repo is not None:
                    overrides.update({"features.repo": str(spark_repo), "features.store_yaml": str(spark_yaml)})
            load = os.getloadavg()[0]
            with PeakMemory() as memory:
                result = train(ROOT / "examples" / "delivery_eta.yaml", progress=progress, spark=spark,
                               overrides=overrides)
            at = {m.split("]")[0].strip("["): t for t, m in marks if m.startswith("[")}
            total = time.perf_counter() - start
            dataset = result.record.dataset
            run = {
                "engine": engine, "orders": args.orders, "restaurants": args.restaurants, "days": args.days,
                "entity_source": dataset["source"], "retrieval": dataset.get("retrieval"),
                "rows": dataset["rows"], "content_hash": dataset["content_hash"],
                "split_rows": [dataset["train_rows"], dataset["validation_rows"], dataset["test_rows"]],
                "dataset_s": round(at["2/5"] - at["1/5"], 1),
                "dsl_s": round(at["3/5"] - at["2/5"], 1),
                "train_s": round(at["4/5"] - at["3/5"], 1),
                "report_and_store_s": round(total - at["4/5"], 1),
                "total_s": round(total, 1),
                "peak_rss_python_gib": _gib(memory.python_peak),
                "peak_rss_with_jvm_gib": _gib(memory.total_peak),
                "load_1min_at_start": round(load, 2),
                "validation": result.record.metrics["validation"],
                "test": result.record.metrics["test"],  # the headline: held out
                "test_baseline": result.record.baseline["test"],
            }
            runs.append(run)
            print(json.dumps(run))
        if args.standalone_cluster:
            run = _on_standalone_cluster(tmp_path, repo, raw.orders_path, args)
            runs.append(run)
            print(json.dumps(run))
    print(f"\n{_machine()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {args.orders:,} orders, "
          f"{args.restaurants} restaurants, {args.days} days")
    print(f"{'engine':<7} {'store':<6} {'chunk':>7} {'dataset':>9} {'DSL':>7} {'XGBoost':>9} {'report+store':>13} "
          f"{'total':>8} {'peak RSS':>9} {'+JVM':>6}  test RMSE (mean baseline)")
    for r in runs:
        retrieval = r["retrieval"] or {}
        print(f"{r['engine']:<7} {retrieval.get('offline_store', '-'):<6} {retrieval.get('chunk_rows') or '-':>7} "
              f"{r['dataset_s']:>8.1f}s {r['dsl_s']:>6.1f}s {r['train_s']:>8.1f}s "
              f"{r['report_and_store_s']:>12.1f}s {r['total_s']:>7.1f}s {r['peak_rss_python_gib']:>7.2f}G "
              f"{r['peak_rss_with_jvm_gib']:>5.2f}G  {r['test']['rmse']:.3f} ({r['test_baseline']['rmse']:.3f})")
    # the Spark engine's content hash is order-independent, so not the local one's: compare the splits
    if len({json.dumps(r["split_rows"]) for r in runs}) == 1 and len(runs) > 1:
        print(f"every run split the same rows: {runs[0]['split_rows']}")
    elif len(runs) > 1:
        print("the runs split different rows: " + ", ".join(json.dumps(r["split_rows"]) for r in runs))
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"training-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"machine": _machine(), "args": {k: str(v) for k, v in vars(args).items()},
                                "runs": runs}, indent=1))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
