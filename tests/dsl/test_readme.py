"""dsl/README.md's function table lists every built-in with its documented meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from fresco.dsl.library import BUILTINS

README = (Path(__file__).resolve().parents[2] / "dsl" / "README.md").read_text()
ROWS = [line for line in README.splitlines() if line.startswith("| `")]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_has_a_row_with_its_doc(name: str) -> None:
    rows = [r for r in ROWS if r.startswith(f"| `{name}(")]
    assert len(rows) == 1, f"README function table: {len(rows)} rows for {name}()"
    assert rows[0].rstrip(" |").endswith(BUILTINS[name].doc), rows[0]
