"""A catalog-policy refusal reaches a ``feast apply`` user as its message, not a traceback.

Feast's CLI catches no error of a provider or registry store except ``FeastProviderLoginError``,
which it prints and then exits 0: a refused apply would look like a success. So the policy
keeps raising :class:`~fresco.platform.policy.rules.CatalogPolicyError` (exit status 1, and
Python callers of ``FeatureStore.apply`` can catch it), and in the ``feast`` command only,
Python's own seam for uncaught exceptions (``sys.excepthook``) prints the refusal's message
alone; so is a missing Cassandra keyspace (:class:`~fresco.platform.online_stores.KeyspaceMissing`,
which says how to create it). Every other error keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType


def _is_feast_cli() -> bool:
    return bool(sys.argv) and Path(sys.argv[0]).name == "feast"


def install() -> None:
    """Install the hook (once) when this process is the ``feast`` command."""
    from fresco.platform.online_stores import KeyspaceMissing
    from fresco.platform.policy.rules import CatalogPolicyError

    if not _is_feast_cli() or getattr(sys.excepthook, "fresco_policy", False):
        return
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if isinstance(value, (CatalogPolicyError, KeyspaceMissing)):
            print(f"Error: {value}", file=sys.stderr)
        else:
            previous(kind, value, tb)

    hook.fresco_policy = True  # type: ignore[attr-defined]
    sys.excepthook = hook
