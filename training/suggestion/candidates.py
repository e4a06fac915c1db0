"""Which catalog features a set of label rows can be given: every feature whose view's join
keys the rows carry; the others are listed with the keys they would need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fresco.platform.catalog import CatalogEntry, list_catalog
from fresco.platform.views import feature_views

#: Feast value types by how a feature is ranked and drafted.
NUMERIC_TYPES = frozenset({"Int32", "Int64", "Float32", "Float64"})
KINDS = {**dict.fromkeys(NUMERIC_TYPES, "number"), "String": "string", "Bool": "bool"}


@dataclass(frozen=True)
class Candidate:
    """A catalog feature the rows can be given (its view's join keys are among their columns)."""

    entry: CatalogEntry
    join_keys: tuple[str, ...]

    @property
    def ref(self) -> str:
        return self.entry.feature

    @property
    def kind(self) -> str:
        """``number``, ``string`` or ``bool``."""
        return KINDS[self.entry.dtype]


@dataclass(frozen=True)
class Excluded:
    """A catalog feature left out, and why (``needs`` the join keys the rows lack, if that is why)."""

    ref: str
    reason: str
    needs: tuple[str, ...] = ()


def candidates(store: Any, columns: list[str]) -> tuple[list[Candidate], list[Excluded]]:
    """The catalog's features split into those the rows with ``columns`` can be given and the
    rest: other entities' features (``needs`` their keys) and types no model input takes."""
    keys = {view.name: tuple(view.join_keys) for view in feature_views(store)}
    have = set(columns)
    usable: list[Candidate] = []
    excluded: list[Excluded] = []
    for entry in list_catalog(store):
        missing = tuple(k for k in keys[entry.view] if k not in have)
        if missing:
            excluded.append(Excluded(entry.feature, f"not applicable: the rows lack the join key(s) "
                                                    f"{', '.join(missing)} of view {entry.view}", missing))
        elif entry.dtype not in KINDS:
            excluded.append(Excluded(entry.feature, f"type {entry.dtype} is not ranked (numbers, strings "
                                                    "and booleans are)"))
        else:
            usable.append(Candidate(entry, keys[entry.view]))
    return usable, excluded
