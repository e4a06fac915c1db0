"""Which registered models use a catalog feature, and how much it weighs in each: **the** rule
(the catalog pages of ``fresco ui`` and ``fresco features suggest`` both read it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FeatureUse:
    """One model that retrieved a feature for its dataset."""

    uuid: str
    name: str
    #: the share of the model's feature importance held by the inputs that read the feature
    #: (directly or through other outputs of its program); None when the model records none
    importance_share: float | None


def _input_refs(record: Any) -> dict[str, list[str]]:
    """The model's program outputs -> the catalog features each reads ({} when unreadable)."""
    from fresco.dsl import DSLError, feature_lineage

    try:
        source = json.loads(record.program)["source"] if record.program else ""
        return feature_lineage(source) if source else {}
    except (ValueError, KeyError, TypeError, DSLError):
        return {}


def feature_uses(records: Iterable[Any]) -> dict[str, list[FeatureUse]]:
    """Feature reference ``view:feature`` -> the models whose dataset retrieved it (their
    records' ``dataset.feature_refs``), each with the feature's share of its importance."""
    uses: dict[str, list[FeatureUse]] = {}
    for record in records:
        importance = {k: float(v) for k, v in (record.feature_importance or {}).items()}
        total = sum(v for v in importance.values() if v > 0)
        lineage = _input_refs(record)
        for ref in record.dataset.get("feature_refs", []):
            share = None
            if total > 0 and lineage:
                share = sum(max(v, 0.0) for name, v in importance.items() if ref in lineage.get(name, [])) / total
            uses.setdefault(ref, []).append(FeatureUse(record.uuid, record.name, share))
    return uses
