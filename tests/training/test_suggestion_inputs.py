"""``fresco features suggest`` on a ``fresco init`` project: a regression label ranked, and bad
input refused with a message naming what is wrong (nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import invoke_fresco


def _suggest(project: Path, tmp_path: Path, labels: Path, *args: str):
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
