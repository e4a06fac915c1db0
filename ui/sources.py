"""What the management API reads: one feature repository (its Feast store, opened on first use)
and its state folder's model repository and audit log, fixed when the service starts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from fresco.training import ModelRepository


@dataclass
class Sources:
    """The repository the service manages."""

    repo: Path
    yaml_path: Path
    state: Path  #: the state folder (models, audit log)
    models: ModelRepository
    _store: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def store(self) -> Any:
        """The repository's ``FeatureStore`` (opened once; Feast imported on first use)."""
        with self._lock:
            if self._store is None:
                from fresco.platform import open_store

                self._store = open_store(self.repo, self.yaml_path)
            return self._store


def sources(request: Request) -> Sources:
    """The :class:`Sources` of the app serving ``request`` (a FastAPI dependency)."""
    return request.app.state.sources
