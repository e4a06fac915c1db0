"""Training and batch scoring on a real Spark standalone cluster (a master and two one-core workers
on loopback, started from pyspark's distribution), as a user runs them: ``fresco train`` with
``resources.spark_master``, ``fresco predict-batch`` with ``FRESCO_SPARK_MASTER``. The model and
the scores must be the ones ``local[2]`` gives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_fresco
from tests.spark_cluster import StandaloneCluster, start_cluster
from tests.training.conftest import EXAMPLE, training_sets


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    started = start_cluster(tmp_path_factory.mktemp("spark-cluster"), workers=2)
    yield started
    started.stop()


def _applications(cluster: StandaloneCluster) -> list[str]:
    state = cluster.state()
    return [app["name"] for app in state.get("completedapps", []) + state.get("activeapps", [])]


def test_training_and_scoring_on_a_standalone_cluster_match_local_mode(
        small_repo: dict[str, str], cluster: StandaloneCluster, spark, home: Path, tmp_path: Path) -> None:
    from fresco.serving import predict_batch
    from fresco.training import ModelRepository, load_model, train

    # no row or column sampling: each XGBoost worker draws its samples by its rank in the
    # collective, which on a cluster depends on which executor reaches the tracker first
    settings = {**small_repo, "model.hyperparameters.n_estimators": 30, "model.hyperparameters.subsample": 1.0,
                "model.hyperparameters.colsample_bytree": 1.0, "resources.engine": "spark", "resources.workers": 2}
    on_cluster = {"FRESCO_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}  # the same model repository

    # training: the master is the config's setting
    done = run_fresco("train", str(EXAMPLE), *training_sets({**settings, "resources.spark_master": cluster.master}),
                      cwd=tmp_path, env=on_cluster)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:] + cluster.logs()
    uuid = re.search(r"model\s+delivery_eta ([0-9a-f-]{36})", done.stdout).group(1)
    assert "xgboost.spark: 2 workers" in done.stdout + done.stderr
    assert "fresco-training" in _applications(cluster)
    repository = ModelRepository()

    local = train(EXAMPLE, overrides=settings, spark=spark)
    assert spark.sparkContext.master == "local[2]"
    # the same model: the same held-out metrics and the same answers on any input
    assert repository.get(uuid).metrics["test"] == pytest.approx(local.record.metrics["test"], rel=1e-9)
    trained, here = load_model(uuid), load_model(local.uuid)
    assert trained.inputs == here.inputs
    probe = np.random.default_rng(0).normal(size=(500, len(trained.inputs))) * 10
    np.testing.assert_allclose(trained.predict(probe), here.predict(probe), rtol=1e-6)

    # batch scoring: the master is the environment's; the rows equal local mode's
    scored = tmp_path / "cluster-scores"
    done = run_fresco("predict-batch", small_repo["data.source.parquet"], str(scored), "--model", uuid,
                      "--repo", small_repo["features.repo"], "--timestamp-column", "placed_at", "--no-log",
                      cwd=tmp_path, env={**on_cluster, "FRESCO_SPARK_MASTER": cluster.master})
    assert done.returncode == 0, done.stdout + done.stderr[-4000:] + cluster.logs()
    assert "fresco-predict-batch" in _applications(cluster)
    from fresco.platform import open_store

    predict_batch(small_repo["data.source.parquet"], uuid, tmp_path / "local-scores", spark=spark,
                  store=open_store(small_repo["features.repo"]), repository=repository, timestamp_column="placed_at",
                  log=False)
    key = ["order_id"]
    both = pd.read_parquet(scored).merge(pd.read_parquet(tmp_path / "local-scores"), on=key,
                                         suffixes=("", "_local"))
    assert len(both) == len(pd.read_parquet(small_repo["data.source.parquet"])) == 3_000
    np.testing.assert_allclose(both["prediction"], both["prediction_local"], rtol=1e-6)


def test_a_process_running_spark_elsewhere_refuses_another_master(spark, monkeypatch: pytest.MonkeyPatch) -> None:
    from fresco.platform.spark import SparkMasterError, spark_session
    from fresco.training.sources import training_spark

    with pytest.raises(SparkMasterError, match=r"resources.spark_master asks for Spark master "
                                               r"'spark://127.0.0.1:1'.*already runs Spark on 'local\[2\]'"):
        training_spark(spark, "spark://127.0.0.1:1")
    monkeypatch.setenv("FRESCO_SPARK_MASTER", "yarn")
    with pytest.raises(SparkMasterError, match="FRESCO_SPARK_MASTER asks for Spark master 'yarn'"):
        spark_session("fresco-tests")
    monkeypatch.delenv("FRESCO_SPARK_MASTER")
    assert spark_session("fresco-tests") is spark
