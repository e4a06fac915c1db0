"""The catalog policy, exercised through the real ``feast apply`` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import copy_feature_repo, run_feast


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / "definitions.py"
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in definitions.py"
    path.write_text(text.replace(old, new, 1))


def _apply_ok(repo: Path) -> str:
    result = run_feast(repo, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _apply_refused(repo: Path) -> str:
    registry = repo / "data" / "registry.db"
    before = registry.read_bytes() if registry.exists() else None
    result = run_feast(repo, "apply")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # the refusal is the user's message, not a traceback (Feast's own warnings may come first)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors and errors[0].startswith("Error: Fresco catalog policy refused this apply"), output
    if before is None:  # a refused first apply leaves nothing behind
        assert sorted(p.name for p in registry.parent.glob("registry.db*")) == []
    else:
        assert registry.read_bytes() == before, "a refused apply must not change the registry"
    return output


@pytest.fixture(scope="module")
def _applied_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The project's catalog applied once to a fresh copy, and what ``feast apply`` said."""
    repo = copy_feature_repo(tmp_path_factory.mktemp("applied") / "feature_repo")
    return repo, _apply_ok(repo)


@pytest.fixture
def applied_repo(_applied_once: tuple[Path, str], tmp_path: Path) -> Path:
    """A private copy of a repository whose catalog is registered (registry, its history and
    the online store's tables included)."""
    return Path(shutil.copytree(_applied_once[0], tmp_path / "feature_repo"))


def test_the_projects_catalog_applies_cleanly(_applied_once: tuple[Path, str]) -> None:
    output = _applied_once[1]
    assert "Deploying infrastructure for restaurant_stats_7d" in output
    assert "deprecated" not in output


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '    owner=OWNER,\n    description="A restaurant\'s static profile',
            '    description="A restaurant\'s static profile',
            "feature view 'restaurant_profile' has no owner",
        ),
        (
            'description="A restaurant\'s static profile: location, cuisine and kitchen capacity."',
            'description=""',
            "feature view 'restaurant_profile' has no description",
        ),
        (
            'tags={"freshness_sla": "15m", "group": "restaurant"}',
            'tags={"group": "restaurant"}',
            "feature view 'restaurant_realtime' has no freshness SLA",
        ),
        (
            'tags={"freshness_sla": "15m", "group": "restaurant"}',
            'tags={"freshness_sla": "soon", "group": "restaurant"}',
            "feature view 'restaurant_realtime' has an invalid freshness SLA: 'soon'",
        ),
    ],
    ids=["no-owner", "no-description", "no-sla", "bad-sla"],
)
def test_a_view_without_metadata_is_refused(
    feast_repo: Path, old: str, new: str, expected: str
) -> None:
    _edit(feast_repo, old, new)
    output = _apply_refused(feast_repo)
    assert expected in output


def test_changing_a_registered_features_type_is_refused(applied_repo: Path) -> None:
    _edit(applied_repo, 'Field(name="orders_1h", dtype=Int64', 'Field(name="orders_1h", dtype=Float64')
    output = _apply_refused(applied_repo)
    assert "feature 'restaurant_realtime:orders_1h' is registered as INT64" in output
    assert "changes it to DOUBLE" in output
    assert "register a new feature instead" in output


def test_changing_a_registered_views_source_is_refused(applied_repo: Path) -> None:
    _edit(
        applied_repo,
        'source=batch_source("restaurant_stats_7d", "Daily snapshots over the previous 7 days.")',
        'source=batch_source("restaurant_profile", "Something else.")',
    )
    output = _apply_refused(applied_repo)
    assert "feature view 'restaurant_stats_7d' reads its batch source from" in output
    assert "data/features/restaurant_stats_7d" in output
    assert "register a new feature view instead" in output


def test_a_feature_removed_and_re_added_with_another_type_is_refused(applied_repo: Path) -> None:
    line = '            Field(name="orders_1h", dtype=Int64, description="Orders ready in the last hour."),\n'
    _edit(applied_repo, line, "")
    _apply_ok(applied_repo)  # removing a feature is allowed...
    _edit(applied_repo, '        schema=[\n            Field(name="avg_prep_time_1h"',
          '        schema=[\n' + line.replace("Int64", "Float64") + '            Field(name="avg_prep_time_1h"')
    output = _apply_refused(applied_repo)  # ... re-adding it with another meaning is not
    assert "feature 'restaurant_realtime:orders_1h' is registered as INT64" in output
    assert "changes it to DOUBLE" in output


def test_adding_a_new_feature_to_a_registered_view_is_accepted(applied_repo: Path) -> None:
    _edit(
        applied_repo,
        'Field(name="orders_1h", dtype=Int64, description="Orders ready in the last hour."),',
        'Field(name="orders_1h", dtype=Int64, description="Orders ready in the last hour."),\n'
        '            Field(name="orders_1h_v2", dtype=Float64, description="Orders, as a float."),',
    )
    _apply_ok(applied_repo)


def test_a_service_using_a_deprecated_view_is_warned(applied_repo: Path) -> None:
    _edit(
        applied_repo,
        'tags={"freshness_sla": "1d", "group": "restaurant"},\n)\n\n# The order lifecycle',
        'tags={"freshness_sla": "1d", "group": "restaurant", "deprecated": "true",\n'
        '          "deprecation_note": "use restaurant_stats_28d"},\n)\n\n# The order lifecycle',
    )
    output = _apply_ok(applied_repo)
    assert (
        "feature service 'delivery_eta_v1' uses feature view 'restaurant_stats_7d', "
        "which is deprecated: use restaurant_stats_28d" in output
    )
