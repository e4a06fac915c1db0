"""What a program reads, before it is typed: every accessor with the place it is written.

Callers check these against their catalog (the feature repository's views) before compiling,
so a reference to something missing is reported as such, at its line and column, rather than
as a type the checker cannot infer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from . import syntax as S
from .parser import parse


def _walk(node: object, kind: type = S.Access) -> Iterator[Any]:
    """Every node of type ``kind`` under ``node``, in tree order (an accessor by default)."""
    if isinstance(node, kind):
        yield node
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item, kind)
    elif dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            yield from _walk(getattr(node, field.name), kind)


def accessors(source: str) -> list[S.Access]:
    """Every ``@req``/``@fs`` accessor of ``source`` in reading order (raises ``DSLSyntaxError``).

    ``Access.kind`` is ``"req"`` or ``"fs"``; ``name`` the field or ``"view:feature"``;
    ``text`` as written; ``pos`` its line and column.
    """
    found = list(_walk(parse(source).statements))
    return sorted(found, key=lambda a: (a.pos.line, a.pos.column))


def feature_lineage(source: str) -> dict[str, list[str]]:
    """Output name -> the catalog features (``view:feature``) it reads, directly or through the
    earlier outputs it names, in reading order (raises ``DSLSyntaxError``)."""
    lineage: dict[str, list[str]] = {}
    for statement in parse(source).statements:
        reads = [a.name for a in _walk(statement.expr) if a.kind == "fs"]
        for name in _walk(statement.expr, S.Name):
            reads.extend(lineage.get(name.id, []))
        lineage[statement.name] = list(dict.fromkeys(reads))
    return lineage
