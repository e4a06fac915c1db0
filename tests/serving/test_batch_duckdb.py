"""``predict_batch`` on the embedded default's DuckDB store: the rows go Spark -> Parquet ->
DuckDB's as-of joins -> Parquet -> Spark, never through Python, and score exactly as the rows
that Feast's file store joins through pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.training.conftest import EXAMPLE, home, small_repo  # noqa: F401 (fixtures)


def _file_store_yaml(repo: Path) -> Path:
    """The repository's yaml with Feast's file offline store instead of Fresco's DuckDB store."""
    text = (repo / "feature_store.yaml").read_text()
    duckdb_type = "type: fresco.platform.offline_stores.FrescoDuckDBOfflineStore"
    assert duckdb_type in text
    path = repo / "feature_store.file.yaml"
    path.write_text(text.replace(duckdb_type, "type: file"))
    return path


def test_batch_features_joined_in_duckdb_score_as_the_pandas_join(
        small_repo: dict[str, str], home: Path, spark, tmp_path: Path) -> None:  # noqa: F811
    from fresco.platform import open_store
    from fresco.serving import predict_batch
    from fresco.training import train

    repo = Path(small_repo["features.repo"])
    uuid = train(EXAMPLE, overrides={**small_repo, "model.hyperparameters.n_estimators": 10}, spark=spark).uuid
    duckdb_store, file_store = open_store(repo), open_store(repo, _file_store_yaml(repo))
    orders = pd.read_parquet(small_repo["data.source.parquet"]).sample(400, random_state=0)
    source = tmp_path / "orders.parquet"
    orders.to_parquet(source, index=False)

    for as_of in ("placed_at", None):  # each row's time, and now
        said: list[str] = []
        scores = {}
        for name, store in (("duckdb", duckdb_store), ("file", file_store)):
            out = tmp_path / f"{name}-{as_of}"
            result = predict_batch(source, uuid, out, spark=spark, store=store, timestamp_column=as_of,
                                   log=False, progress=said.append if name == "duckdb" else lambda _: None)
            assert result.rows == len(orders)
            scores[name] = pd.read_parquet(out).sort_values("order_id").reset_index(drop=True)
        assert any("in DuckDB" in line and "through Parquet files" in line for line in said), said
        duck, pandas_join = scores["duckdb"], scores["file"]
        features = [c for c in duck.columns if "__" in c]
        assert len(features) >= 5 and sorted(features) == sorted(c for c in pandas_join.columns if "__" in c)
        for column in features:
            pd.testing.assert_series_equal(duck[column], pandas_join[column], check_dtype=False)
        np.testing.assert_array_equal(duck["prediction"].to_numpy(), pandas_join["prediction"].to_numpy())
        if as_of is not None:  # values and nulls both met (as of now, the TTL views are all null)
            assert duck[features].notna().any().all() and duck[features].isna().any().any()

    # the scratch files are gone once the batch is written
    assert not any((home / "scratch").iterdir())
