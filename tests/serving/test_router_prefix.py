"""A UUID prefix the router has answered stays under the repository's rule: once a new model
makes it ambiguous, the router refuses it too (it used to keep routing it to the first model)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fresco.serving.errors import BadRequest
from fresco.serving.routing import Router
from tests.model_records import save_tiny_model as _save
from fresco.training.repository import ModelRepository

FIRST = "abcdef12-0000-4000-8000-000000000001"
SECOND = "abcdef34-0000-4000-8000-000000000002"


def test_a_prefix_that_becomes_ambiguous_is_refused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    repository = ModelRepository(tmp_path / "models")
    _save(repository, FIRST)
    router = Router(repository, refresh_seconds=0.1)
    assert router.route("abcdef").uuid == FIRST
    assert router.route(FIRST).uuid == FIRST

    _save(repository, SECOND)
    with pytest.raises(LookupError):  # the repository's own answer now
        repository.resolve("abcdef")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            router.route("abcdef")
        except BadRequest as exc:
            assert "ambiguous" in exc.message and FIRST in exc.message and SECOND in exc.message
            break
        time.sleep(0.05)
    else:
        pytest.fail("the router still routes the now-ambiguous prefix 'abcdef' to the first model")
    # full UUIDs and longer prefixes still answer
    assert router.route(FIRST).uuid == FIRST
    assert router.route("abcdef34").uuid == SECOND
