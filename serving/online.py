"""Online feature lookup: one batched read per request.

On Fresco's Cassandra store the read is Fresco's own
(:class:`fresco.platform.cassandra_reader.CassandraFeatureReader`, one per feature list: the
same answers as Feast's ``get_online_features`` without its generic conversions); on any other
store it is Feast's ``get_online_features`` (or its async twin).

The lookup reads the features a program declares (``view:feature``) for the entity rows of a
request and returns them keyed by the program's input columns (``view__feature``). It also
knows, from the Feast registry, which entity keys those feature views are keyed by and what
type each key has, so a request missing a key or giving it the wrong type is refused before
the store is asked.

Feast's Cassandra store logs a failed read and answers "no value" (it does not raise), so a
missing value from Cassandra is double-checked against the driver's view of the cluster: when
no host is up the request fails with :class:`~fresco.serving.errors.StoreUnavailable` (503, naming the
hosts) instead of silently predicting on defaults. A SQLite store that cannot be read (locked,
or a corrupt file: any ``sqlite3.DatabaseError``) is a 503 too; Fresco's SQLite store reopens a
file replaced on disk (:class:`fresco.platform.online_stores.FrescoSqliteOnlineStore`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fresco.dsl import feature_column
from fresco.platform.cassandra_client import describe_failure
from fresco.platform.views import feature_view
from fresco.serving.errors import ModelUnavailable, StoreUnavailable
from fresco.serving.values import key_problem

if TYPE_CHECKING:  # Feast is imported where a store is opened, not with the service's module
    from feast import FeatureStore

_UNKNOWN = object()


@dataclass(frozen=True)
class EntityKey:
    """A join key the lookup needs, with the Feast type its values must have."""

    name: str
    feast_type: str

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` as this key (:func:`fresco.serving.values.key_problem`), or None."""
        return key_problem(self.feast_type, value)


class OnlineFeatures:
    """Feature lookup on one Feast ``FeatureStore`` (SQLite, Cassandra or any online store)."""

    def __init__(self, store: FeatureStore) -> None:
        self.store = store
        self._keys: dict[tuple[str, ...], list[EntityKey]] = {}
        self._lock = threading.Lock()
        self._reads_async: bool | None = None
        self._online: Any = _UNKNOWN  # the online store instance the store reads through
        self._readers: dict[tuple[str, ...], Any] = {}  # refs -> Fresco's own reader, or None

    # -- what a request must carry -----------------------------------------------------------
    def entity_keys(self, refs: Sequence[str]) -> list[EntityKey]:
        """The join keys of the feature views behind ``refs`` (cached; read from the registry)."""
        key = tuple(refs)
        found = self._keys.get(key)
        if found is not None:
            return found
        keys: dict[str, EntityKey] = {}
        for view in dict.fromkeys(ref.split(":", 1)[0] for ref in refs):
            try:
                fv = feature_view(self.store, view)
            except Exception as exc:  # FeatureViewNotFoundException and registry errors
                raise ModelUnavailable(
                    f"the model reads feature view {view!r}, which the feature store's registry "
                    f"does not have ({type(exc).__name__}: {exc})"
                ) from None
            for column in fv.entity_columns:
                keys.setdefault(column.name, EntityKey(column.name, str(column.dtype)))
        found = list(keys.values())
        with self._lock:
            self._keys[key] = found
        return found

    # -- the lookup ----------------------------------------------------------------------------
    def lookup(
        self, refs: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Feature values for each entity row, keyed by ``view__feature`` (None = no value)."""
        if not refs:
            return [{} for _ in entity_rows]
        try:
            reader = self._reader(refs)  # connects the first time: a failure is a 503 too
            if reader is not None:
                rows = reader.read(entity_rows)
            else:
                rows = self._rows(refs, self.store.get_online_features(
                    **_request(refs, entity_rows)).to_dict())
        except Exception as exc:
            raise self._failure(exc) from None
        return self._checked(rows)

    async def lookup_async(
        self, refs: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """:meth:`lookup` for an event loop: awaits the store when it reads asynchronously
        (Fresco's Cassandra store), else runs :meth:`lookup` in a thread (SQLite)."""
        if not refs:
            return [{} for _ in entity_rows]
        if not self.reads_async:
            return await asyncio.to_thread(self.lookup, refs, entity_rows)
        try:
            reader = self._reader(refs)  # connects the first time: a failure is a 503 too
            if reader is not None:
                rows = await reader.read_async(entity_rows)
            else:
                rows = self._rows(refs, (await self.store.get_online_features_async(
                    **_request(refs, entity_rows))).to_dict())
        except Exception as exc:
            raise self._failure(exc) from None
        return self._checked(rows)

    def _reader(self, refs: Sequence[str]) -> Any:
        """Fresco's own reader of ``refs`` (:mod:`fresco.platform.cassandra_reader`) when the
        store is Fresco's Cassandra store, else None: Feast's ``get_online_features``."""
        key = tuple(refs)
        if key not in self._readers:
            from fresco.platform.cassandra_reader import reader_for

            found = reader_for(self.store, self._online_store(), refs)
            with self._lock:
                self._readers.setdefault(key, found)
        return self._readers[key]

    @property
    def reads_async(self) -> bool:
        """Whether the online store's reads can be awaited (Feast's ``async_supported``)."""
        if self._reads_async is None:
            online = self._online_store()
            self._reads_async = bool(online is not None and online.async_supported.read)
        return self._reads_async

    @staticmethod
    def _rows(refs: Sequence[str], response: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
        """Feast's columnar ``to_dict`` answer as one dict per entity row."""
        columns = [feature_column(ref) for ref in refs]
        return [dict(zip(columns, row)) for row in zip(*(response[c] for c in columns))]

    def _checked(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows``, unless a value is missing and the Cassandra driver sees no host up."""
        if any(v is None for row in rows for v in row.values()):
            self._check_hosts()
        return rows

    def _failure(self, exc: Exception) -> Exception:
        """The error to raise for a failed read: 503 when the store is down, else ``exc``."""
        if _is_store_failure(exc):
            return StoreUnavailable(self._unavailable_message(exc))
        return exc

    # -- availability --------------------------------------------------------------------------
    def _online_store(self) -> Any:
        """The online store instance the Feast store reads through (looked up once)."""
        if self._online is _UNKNOWN:
            from fresco.platform.online_stores import online_store_of

            self._online = online_store_of(self.store)
        return self._online

    def _cassandra_store(self) -> Any:
        """That instance when it is Fresco's Cassandra store (health checks), else None."""
        from fresco.platform.online_stores import FrescoCassandraOnlineStore

        online = self._online_store()
        return online if isinstance(online, FrescoCassandraOnlineStore) else None

    def describe(self) -> str:
        """``cassandra at 127.0.0.1:9042 (keyspace k)`` or ``sqlite at <path>``: for messages."""
        config = self.store.config.online_store
        kind = getattr(config, "type", type(config).__name__)
        if _is_cassandra(config):
            port = config.port or 9042
            hosts = ", ".join(f"{h}:{port}" for h in (config.hosts or [])) or "(secure bundle)"
            return f"cassandra at {hosts} (keyspace {config.keyspace})"
        from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

        if isinstance(config, SqliteOnlineStoreConfig):
            return f"sqlite at {self.store.config.online_store.path}"
        return str(kind)

    def _unavailable_message(self, exc: BaseException) -> str:
        return f"the online feature store ({self.describe()}) is unavailable: {describe_failure(exc)[:300]}"

    def _check_hosts(self) -> None:
        """Raise when the store is Fresco's Cassandra store and its driver sees no host up."""
        online = self._cassandra_store()
        if online is not None and online.all_hosts_down():
            raise StoreUnavailable(
                f"the online feature store ({self.describe()}) is unavailable: no Cassandra host "
                "is up"
            )

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the online store cannot be reached (Fresco's
        Cassandra store is asked; an embedded SQLite file is always there)."""
        online = self._cassandra_store()
        if online is not None:
            try:
                online.ping(self.store.config)
            except Exception as exc:
                raise StoreUnavailable(self._unavailable_message(exc)) from None


def _request(refs: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The arguments of Feast's ``get_online_features`` (and its async twin) for a lookup."""
    return {"features": list(refs), "entity_rows": [dict(r) for r in entity_rows],
            "full_feature_names": True}


def _is_store_failure(exc: BaseException) -> bool:
    # sqlite3.DatabaseError: also "file is not a database" (a corrupt or half-copied file)
    if isinstance(exc, (ConnectionError, TimeoutError, sqlite3.DatabaseError)):
        return True
    module = type(exc).__module__ or ""
    return module.startswith("cassandra") or type(exc).__name__ in (
        "NoHostAvailable", "OperationTimedOut", "Unavailable", "ReadTimeout",
    )


def _is_cassandra(config: object) -> bool:
    """Feast's Cassandra online store config, or a subclass (Fresco's TTL-enforcing store)."""
    from feast.infra.online_stores.cassandra_online_store.cassandra_online_store import (
        CassandraOnlineStoreConfig,
    )

    return isinstance(config, CassandraOnlineStoreConfig)
