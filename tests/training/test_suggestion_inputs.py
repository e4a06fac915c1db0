"""``fresco features suggest`` on a ``fresco init`` project: a regression label ranked, and bad
input refused with a message naming what is wrong (nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import invoke_fresco


def _suggest(project: Path, tmp_path: Path, labels: Path | str, *args: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return invoke_fresco("features", "suggest", str(labels), "--repo", str(project), "--output",
                         str(tmp_path / "report"), *args, cwd=tmp_path, env={"FRESCO_HOME": str(tmp_path / "home")})


def test_a_number_label_is_ranked_as_a_regression_with_spearman(applied_project: Path, tmp_path: Path) -> None:
    result = _suggest(applied_project, tmp_path, applied_project / "data" / "labels.parquet", "--label", "basket_value")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report" / "suggestion.json").read_text())
    assert report["task"] == "regression" and report["ranking"]["association_name"] == "spearman"
    # the sample's basket value is the customer's average order value times a segment lift
    assert report["features"][0]["score"]["ref"] == "customer_stats:avg_order_value_30d"
    assert report["ranking"]["model_metrics"]["rmse"] < report["ranking"]["baseline_metrics"]["rmse"]


@pytest.mark.parametrize("args, change, message", [
    (["--label", "nope"], None, "--label: the rows have no column 'nope'"),
    (["--label", "basket_value", "--task", "classification"], None,
     "a classification label must be 0/1 or true/false; 'basket_value' has"),
    (["--label", "basket_value"], lambda rows: rows.drop(columns=["customer_id"]),
     "no catalog feature applies to these rows: they carry none of the join keys customer_id"),
    (["--label", "basket_value"], lambda rows: rows.head(60), "60 rows with a label: ranking needs at least 100"),
    (["--label", "basket_value", "--timestamp-column", "when"], None, "--timestamp-column: the rows have no column 'when'"),
    (["--label", "basket_value", "--holdout", "1.5"], None, "Invalid value for '--holdout': 1.5 is not in the range 0<x<1"),
])
def test_bad_input_is_refused_naming_what_is_wrong(applied_project: Path, tmp_path: Path, args, change,
                                                    message: str) -> None:
    labels = applied_project / "data" / "labels.parquet"
    if change is not None:
        labels = tmp_path / "labels.parquet"
        change(pd.read_parquet(applied_project / "data" / "labels.parquet")).to_parquet(labels)
    result = _suggest(applied_project, tmp_path, labels, *args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert not (tmp_path / "report").exists()


def test_missing_labels_are_named(applied_project: Path, tmp_path: Path) -> None:
    result = _suggest(applied_project, tmp_path, tmp_path / "absent.parquet", "--label", "basket_value")
    assert result.returncode != 0 and "no such file or folder" in result.stderr and "absent.parquet" in result.stderr


def test_a_draft_never_overwrites_a_config(applied_project: Path, tmp_path: Path) -> None:
    drafts = tmp_path / "models"
    drafts.mkdir()
    (drafts / "basket_value_suggested.yaml").write_text("# mine\n")
    result = _suggest(applied_project, tmp_path, applied_project / "data" / "labels.parquet", "--label",
                      "basket_value", "--write-config", str(drafts))
    assert result.returncode != 0 and "basket_value_suggested.yaml exists" in result.stderr
    assert (drafts / "basket_value_suggested.yaml").read_text() == "# mine\n"
    assert not (drafts / "basket_value_suggested.dsl").exists()


def test_labels_from_a_hive_table_rank_as_the_same_rows_from_parquet(applied_project: Path, spark,
                                                                     tmp_path: Path) -> None:
    import uuid

    import yaml

    labels = applied_project / "data" / "labels.parquet"
    table = f"default.late_baskets_{uuid.uuid4().hex[:8]}"
    # the table's rows in another order than the file's: the ranking must not depend on it
    spark.createDataFrame(pd.read_parquet(labels).sample(frac=1.0, random_state=5)).write.saveAsTable(table)
    from_file = _suggest(applied_project, tmp_path / "file", labels, "--label", "basket_value")
    from_table = _suggest(applied_project, tmp_path / "table", table, "--label", "basket_value",
                          "--write-config", str(tmp_path / "draft"))
    assert from_file.returncode == 0 and from_table.returncode == 0, from_file.stderr + from_table.stderr
    file_report, table_report = (json.loads((tmp_path / side / "report" / "suggestion.json").read_text())
                                 for side in ("file", "table"))
    assert table_report["features"] == file_report["features"] and table_report["top"] == file_report["top"]
    assert table_report["ranking"]["model_metrics"] == file_report["ranking"]["model_metrics"]
    draft = yaml.safe_load((tmp_path / "draft" / "basket_value_suggested.yaml").read_text())
    assert draft["data"]["source"] == {"hive_table": table}
