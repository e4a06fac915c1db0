"""``installed``: put a hand-written distribution on ``sys.path`` for one test."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.extensions.distributions import write_distribution

Install = Callable[[str, str, Mapping[str, str], Mapping[str, Mapping[str, str]]], Path]


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """``installed(name, version, modules, entry_points)`` writes the distribution into a
    folder of its own, prepends it to ``sys.path`` and returns the folder; the path and the
    modules it imported are gone after the test."""
    tops: set[str] = set()

    def install(name: str, version: str, modules: Mapping[str, str],
                entry_points: Mapping[str, Mapping[str, str]]) -> Path:
        root = write_distribution(tmp_path / f"site-{name}-{version}", name, version, modules,
                                  entry_points)
        tops.update(Path(rel).parts[0].removesuffix(".py") for rel in modules)
        monkeypatch.syspath_prepend(str(root))
        return root

    yield install
    for mod in [m for m in sys.modules if m.split(".")[0] in tops]:
        del sys.modules[mod]
