"""The production stores for real: Hive tables on the tests' Spark, a private Cassandra keyspace.

One setup per test run: the hand-made feature groups (``tests/stores/data.py``) go into Hive
tables of a private database, the project's definitions are applied with a copy of
``feature_store.production.yaml`` pointing at a private keyspace of the local node, and the
views are materialized once up to ``groups.end``.

``feast apply`` runs as the stock CLI in a child process with ``--skip-source-validation``:
validating a SparkSource opens the Hive metastore, and embedded Derby admits one process at a
time -- this one, whose Spark session (fixture ``spark``) Feast's offline store and Spark engine
share in-process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import yaml
from feast import FeatureStore

from fresco.example import PRODUCTION_YAML
from fresco.example import REPO_DIR as FEATURE_REPO
from tests.stores.data import Groups, make_groups

REGEX_NAMES = "spark.sql.parser.quotedRegexColumnNames"


def production_yaml_text(home: Path) -> str:
    """``feature_store.production.yaml`` as Feast reads it with ``FRESCO_HOME=home``."""
    return PRODUCTION_YAML.read_text().replace("${FRESCO_HOME}", str(home))


def write_repo(
    target: Path, home: Path, *, keyspace: str, hosts: list[str], registry: Path | None = None
) -> Path:
    """A Feast repo in ``target``: the definitions and a production yaml for ``keyspace``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("definitions.py", ".feastignore"):
        shutil.copy(FEATURE_REPO / name, target / name)
    config = yaml.safe_load(production_yaml_text(home))
    host, port = hosts[0].rsplit(":", 1)
    config["online_store"].update(hosts=[host], port=int(port), keyspace=keyspace)
    if registry is not None:
        config["registry"]["path"] = str(registry)
    path = target / "feature_store.production.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def feast_apply(repo: Path, yaml_path: Path, hive_database: str) -> str:
    """The stock ``feast -f <yaml> apply`` on the production definitions; returns its output."""
    feast = Path(sys.executable).with_name("feast")
    env = dict(
        os.environ,
        FEAST_FS_YAML_FILE_PATH=str(yaml_path),
        FRESCO_HIVE_DATABASE=hive_database,
    )
    result = subprocess.run(
        [str(feast), "-f", str(yaml_path), "apply", "--skip-source-validation"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"feast apply failed:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="session")
def groups() -> Groups:
    return make_groups()


@pytest.fixture(scope="session")
def hive_database(spark, groups: Groups) -> Iterator[str]:
    """A private Hive database holding the three feature-group tables, as the jobs write them."""
    from fresco.example.pipelines.feature_groups import FEATURE_GROUPS, write_hive_table

    database = f"fresco_stores_{uuid.uuid4().hex[:8]}"
    for group, frame in groups.frames().items():
        write_hive_table(
            spark.createDataFrame(frame), f"{database}.{group}", partition_by=FEATURE_GROUPS[group][2]
        )
    yield database
    spark.sql(f"DROP DATABASE IF EXISTS `{database}` CASCADE")


@contextmanager
def _applied_repo(target: Path, spark_home: Path, hive_database: str, cassandra: list[str]
                  ) -> Iterator[tuple[Path, Path]]:
    """(repo, yaml) applied with the production yaml, its online store in a keyspace of its own
    (dropped afterwards) and its registry in ``target``."""
    from fresco.platform.materialization import ensure_keyspace
    from fresco.platform.services.cassandra import connect

    keyspace = f"fresco_test_{uuid.uuid4().hex[:10]}"
    yaml_path = write_repo(target, spark_home, keyspace=keyspace, hosts=cassandra)
    ensure_keyspace(yaml_path)
    feast_apply(target, yaml_path, hive_database)
    try:
        yield target, yaml_path
    finally:
        session = connect(hosts=cassandra)
        try:
            session.execute(f'DROP KEYSPACE IF EXISTS "{keyspace}"', timeout=60)
        finally:
            session.cluster.shutdown()


@pytest.fixture(scope="session")
def production_repo(
    tmp_path_factory: pytest.TempPathFactory, spark_home: Path, hive_database: str,
    cassandra: list[str],
) -> Iterator[tuple[Path, Path]]:
    """(repo, yaml) applied with the production yaml, its online store in a private keyspace.
    Shared: a test that changes what is stored uses :func:`own_materialized`."""
    with _applied_repo(tmp_path_factory.mktemp("production_repo"), spark_home, hive_database,
                       cassandra) as applied:
        yield applied


@pytest.fixture(scope="session")
def production_store(spark, production_repo: tuple[Path, Path]) -> Iterator[FeatureStore]:
    """The ``FeatureStore`` on the production yaml, sharing the tests' Spark session."""
    before = spark.conf.get(REGEX_NAMES, "false")
    repo, yaml_path = production_repo
    yield FeatureStore(repo_path=str(repo), fs_yaml_file=yaml_path)
    spark.conf.set(REGEX_NAMES, before)  # Feast's Spark store turns it on for the session


@pytest.fixture(scope="session")
def materialized(production_store: FeatureStore, groups: Groups) -> FeatureStore:
    """The store after Fresco's incremental materialization up to ``groups.end``."""
    from fresco.platform.materialization import materialize_incremental

    materialize_incremental(production_store, groups.end)
    return production_store


@pytest.fixture
def own_materialized(
    tmp_path: Path, spark, spark_home: Path, hive_database: str, cassandra: list[str], groups: Groups
) -> Iterator[FeatureStore]:
    """Like ``materialized`` but the test's own (keyspace and registry), for a test that
    changes what is stored or the materialization state."""
    from fresco.platform.materialization import materialize_incremental

    before = spark.conf.get(REGEX_NAMES, "false")
    with _applied_repo(tmp_path / "repo", spark_home, hive_database, cassandra) as (repo, yaml_path):
        store = FeatureStore(repo_path=str(repo), fs_yaml_file=yaml_path)
        materialize_incremental(store, groups.end)
        yield store
    spark.conf.set(REGEX_NAMES, before)


def online(store: FeatureStore, features: list[str], ids: list[int]) -> pd.DataFrame:
    """Online values (``view__feature`` columns) for restaurants ``ids``, indexed by id."""
    frame = store.get_online_features(
        features=features, entity_rows=[{"restaurant_id": i} for i in ids], full_feature_names=True
    ).to_df()
    return frame.set_index("restaurant_id")
