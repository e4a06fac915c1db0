"""A config naming a feature view, feature or service the repository lacks fails at validation,
on one line naming the config file, the field, the repository read and what it has."""

from __future__ import annotations

from pathlib import Path

import pytest

from fresco.training import ConfigError, plan_training

PROGRAM = """\
orders = fill(@fs.customer_stats.orders_30d, 0)
temp   = fill(@fs.weather.temperature, 20.0)
"""


def _config(project: Path, folder: Path, *, program: str = PROGRAM, service: str | None = None,
            references: list[str] | None = None, repo: Path | None = None) -> Path:
    import yaml

    (folder / "model.dsl").write_text(program)
    data = {
        "model": {"name": "m", "type": "linear"},
        "data": {"source": {"parquet": str(project / "data" / "labels.parquet")},
                 "label": "basket_value", "timestamp_column": "ordered_at"},
        "features": {"repo": str(repo or project), "program_file": "model.dsl",
                     **({"service": service} if service else {}),
                     **({"references": references} if references else {})},
    }
    path = folder / "model.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        plan_training(path)
    message = str(err.value)
    assert "\n" not in message, message
    return message


def test_an_unknown_view_in_the_program_names_line_column_repo_and_views(
    applied_project: Path, tmp_path: Path
) -> None:
    message = _error(_config(applied_project, tmp_path))
    assert message.startswith(f"{tmp_path / 'model.yaml'}: features.program_file: line 2, column 15: "
                              "@fs.weather.temperature: no feature view 'weather' in the feature "
                              f"repository {applied_project}")
    assert "type error" not in message and "input_types" not in message
    assert message.endswith("it has ['customer_stats']")


def test_an_unknown_feature_of_a_known_view(applied_project: Path, tmp_path: Path) -> None:
    message = _error(_config(applied_project, tmp_path, program="x = @fs.customer_stats.age\n"))
    assert "features.program_file: line 1, column 5: @fs.customer_stats.age: feature view " \
           "'customer_stats'" in message
    assert "has no feature 'age'; it has ['orders_30d', 'avg_order_value_30d', 'segment']" in message


def test_an_unknown_service_and_reference(applied_project: Path, tmp_path: Path) -> None:
    path = _config(applied_project, tmp_path, program="x = 1\n", service="churn_v9",
                   references=["customer_stats:orders_30d", "clicks:count"])
    with pytest.raises(ConfigError) as err:
        plan_training(path)
    fields = dict(err.value.errors)
    assert fields["features.service"].startswith("no feature service 'churn_v9' in the feature repository")
    assert fields["features.service"].endswith("it has ['basket_value_v1']")
    assert fields["features.references.1"].startswith("no feature view 'clicks'")
    assert "features.references.0" not in fields


def test_a_repository_never_applied_says_to_run_feast_apply(tmp_path: Path) -> None:
    from fresco.platform import init_project

    project = init_project(tmp_path / "fresh").path
    message = _error(_config(project, tmp_path, program="x = @fs.customer_stats.orders_30d\n"))
    assert f"features.repo: the feature repository {project}" in message
    assert "has no feature views: run `feast apply` in it first" in message


def test_a_missing_repository_names_the_field(applied_project: Path, tmp_path: Path) -> None:
    message = _error(_config(applied_project, tmp_path, repo=tmp_path / "nowhere"))
    assert f"features.repo: feature repository {tmp_path / 'nowhere'} does not exist" in message
