"""The audit log: every change made through the API (who, when, what, from what to what), one
JSON object a line in ``<state folder>/audit.jsonl``, appended, never rewritten."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILE_NAME = "audit.jsonl"


def audit_path(state: Path) -> Path:
    """The audit log of the state folder ``state``."""
    return state / FILE_NAME


def record(state: Path, action: str, by: str, **details: Any) -> dict[str, Any]:
    """Append one change (``action``, e.g. ``tag.move``, made by ``by``) and return its entry."""
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="microseconds"), "by": by,
             "action": action, **details}
    with audit_path(state).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")  # one write of one line: appends never interleave
    return entry


def entries(state: Path) -> list[dict[str, Any]]:
    """Every change recorded in the state folder ``state``, oldest first."""
    path = audit_path(state)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
