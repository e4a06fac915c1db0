"""The one prefix rule: literal, long enough, unique; used by the repository and a Bento."""

from __future__ import annotations

import pytest

from fresco.training.model_refs import AmbiguousPrefix, pick_prefix

UUIDS = [f"abcdef{i:02d}-0000-4000-8000-000000000000" for i in range(8)] + [
    "12345678-aaaa-4000-8000-000000000000"]


@pytest.mark.parametrize("ref", ["%%%%%%", "______", "abcde_", "1234567%", "%", "12345"])
def test_wildcards_and_short_prefixes_match_nothing(ref: str) -> None:
    assert pick_prefix(ref, UUIDS) is None


def test_a_unique_prefix_names_its_model() -> None:
    assert pick_prefix("123456", UUIDS) == UUIDS[-1]
    assert pick_prefix("ABCDEF03", UUIDS) == UUIDS[3]


def test_an_ambiguous_prefix_is_refused_listing_a_few_candidates() -> None:
    with pytest.raises(AmbiguousPrefix) as err:
        pick_prefix("abcdef", UUIDS)
    message = str(err.value)
    assert "8 model UUIDs" in message and UUIDS[0] in message and UUIDS[7] not in message


def test_the_repository_and_a_bento_use_the_rule(tmp_path) -> None:
    from fresco.serving.bundle import BundledModels
    from fresco.training import ModelRepository

    repository = ModelRepository(tmp_path)
    with repository._connect() as db:
        for uuid in UUIDS:
            db.execute("INSERT INTO models VALUES (?, 'm', 'xgboost', 'regression', 'y', 'm:x', 'me',"
                       " '', '', '{}')", (uuid,))
    bundle = BundledModels({"models": {u: "m:x" for u in UUIDS}})
    for resolve in (repository.resolve, bundle.resolve):
        assert resolve("123456") == UUIDS[-1]
        for ref in ("%%%%%%", "______"):
            with pytest.raises(LookupError):
                resolve(ref)
        with pytest.raises(AmbiguousPrefix):
            resolve("abcdef")
