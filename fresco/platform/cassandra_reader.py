"""Fresco's own read path for a model's features on its Cassandra online store.

``FeatureStore.get_online_features`` is generic: every call resolves the feature references
against the registry, converts each entity value to a protobuf message, builds a
``GetOnlineFeaturesResponse`` of protobuf vectors and converts it back to Python values
(``to_dict``). A served model reads the same features on every request, so
:class:`CassandraFeatureReader` does that resolution once per feature list (again when the
registry's cache expires, so a changed TTL is seen as Feast would see it) and per request only:

- serializes each entity key as Feast does (``serialize_entity_key`` on the protobuf values
  Feast's own conversion gives the entity's type), remembered per key value (a bounded cache);
- sends one prepared ``SELECT feature_name, value, event_ts`` per (view, distinct entity), all at
  once (the same statements and tuple rows as :class:`FrescoCassandraOnlineStore`'s reads);
- decodes each row as Feast's ``online_read`` does (``decode_rows``), applies the view's TTL with
  the store's rule (``drop_expired``), and converts each value as Feast's ``to_dict`` does
  (scalars read straight from the protobuf field, every other kind through Feast's
  ``feast_value_type_to_python_type``).

The answer is what ``get_online_features(..., full_feature_names=True).to_dict()`` gives for the
same rows, keyed by ``view__feature`` (tests/stores/test_cassandra_reader.py compares the two on
randomized rows of every scalar type, lists, TTLs, missing, unknown and repeated keys).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cassandra.concurrent import execute_concurrent
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.type_map import feast_value_type_to_python_type, python_values_to_proto_values
from feast.value_type import ValueType

from fresco.platform.cassandra_queries import execute_all_async
from fresco.platform.online_stores import FrescoCassandraOnlineStore, decode_rows, drop_expired
from fresco.platform.views import feature_view

if TYPE_CHECKING:
    from feast import FeatureStore
    from feast.protos.feast.types.Value_pb2 import Value as ValueProto

#: protobuf fields whose value Feast's ``to_dict`` returns unchanged (whatever the feature type
#: but the UUID ones, which read a string as ``uuid.UUID``)
PLAIN_FIELDS = frozenset({"int32_val", "int64_val", "float_val", "double_val", "bool_val", "bytes_val"})
#: serialized entity keys remembered per view (a request's keys are mostly recurring ones)
KEY_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class _FeatureRead:
    name: str
    column: str  # the program's input column, ``view__feature`` (Feast's full feature name)
    value_type: ValueType


class _ViewRead:
    """One feature view's part of a lookup: its join keys, features, TTL and statement."""

    def __init__(self, store: FeatureStore, online: FrescoCassandraOnlineStore, name: str,
                 features: list[str]) -> None:
        self.view = feature_view(store, name)
        self.join_keys = [(f.name, f.dtype.to_value_type()) for f in self.view.entity_columns]
        types = {f.name: f.dtype.to_value_type() for f in self.view.features}
        self.features = [_FeatureRead(f, f"{name}__{f}", types.get(f, ValueType.UNKNOWN))
                         for f in features]
        self.requested = [f.name for f in self.features]
        self.statement = online._select_statement(store.config, self.view)
        self.version = store.config.entity_key_serialization_version
        self._keys: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    def key(self, row: Mapping[str, Any]) -> tuple[tuple[Any, ...], str]:
        """The row's entity (as a cache key: each value with its type) and its serialized key."""
        values = tuple(row[name] for name, _ in self.join_keys)
        entity = tuple((type(v), v) for v in values)
        found = self._keys.get(entity)
        if found is None:
            protos = [python_values_to_proto_values([v], t)[0]
                      for v, (_, t) in zip(values, self.join_keys)]
            proto = EntityKeyProto(join_keys=[n for n, _ in self.join_keys], entity_values=protos)
            found = serialize_entity_key(proto, entity_key_serialization_version=self.version).hex()
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.popitem(last=False)
            self._keys[entity] = found
        return entity, found


class CassandraFeatureReader:
    """Reads a fixed list of ``view:feature`` references for entity rows from Fresco's Cassandra
    online store, answering as ``get_online_features(...).to_dict()`` does (module doc)."""

    def __init__(self, store: FeatureStore, online: FrescoCassandraOnlineStore,
                 refs: Sequence[str]) -> None:
        self.store = store
        self.online = online
        self.refs = list(refs)
        ttl = getattr(store.config.registry, "cache_ttl_seconds", 600)
        self._refresh_seconds = float(ttl) if ttl and ttl > 0 else None
        self._views: list[_ViewRead] = []
        self._expires = 0.0
        self._plan()

    def _plan(self) -> list[_ViewRead]:
        """The views to read (resolved from the registry again once its cache has expired)."""
        now = time.monotonic()
        if self._views and (self._refresh_seconds is None or now < self._expires):
            return self._views
        by_view: dict[str, list[str]] = {}
        for ref in self.refs:
            view, feature = ref.split(":", 1)
            by_view.setdefault(view, []).append(feature)
        self._views = [_ViewRead(self.store, self.online, v, fs) for v, fs in by_view.items()]
        self._expires = now + (self._refresh_seconds or 0.0)
        return self._views

    def _statements(self, entity_rows: Sequence[Mapping[str, Any]]) -> tuple[
            list[_ViewRead], list[tuple[Any, tuple[str]]], list[list[int]]]:
        """One statement per (view, distinct entity); per view, each row's statement index."""
        views = self._plan()
        statements: list[tuple[Any, tuple[str]]] = []
        slots: list[list[int]] = []
        for view in views:
            seen: dict[tuple[Any, ...], int] = {}
            positions = []
            for row in entity_rows:
                entity, key = view.key(row)
                at = seen.get(entity)
                if at is None:
                    at = seen[entity] = len(statements)
                    statements.append((view.statement, (key,)))
                positions.append(at)
            slots.append(positions)
        return views, statements, slots

    @staticmethod
    def _answer(views: list[_ViewRead], results: Sequence[Any], slots: list[list[int]],
                n: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [{} for _ in range(n)]
        decoded: dict[int, dict[str, Any] | None] = {}
        for view, positions in zip(views, slots):
            for at in dict.fromkeys(positions):
                ((_, values),) = drop_expired([decode_rows(results[at], view.requested)], view.view)
                decoded[at] = values
            for row, at in zip(rows, positions):
                values = decoded[at]
                for f in view.features:
                    value = None if values is None else values.get(f.name)
                    row[f.column] = None if value is None else python_value(value, f.value_type)
        return rows

    def read(self, entity_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Feature values for each entity row, keyed by ``view__feature`` (None = no value)."""
        views, statements, slots = self._statements(entity_rows)
        session, options = self._driver()
        results = execute_concurrent(session, statements, **options) if statements else []
        return self._answer(views, [result for _, result in results], slots, len(entity_rows))

    async def read_async(self, entity_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """:meth:`read` for an event loop: the queries awaited, the loop never blocked on them."""
        views, statements, slots = self._statements(entity_rows)
        session, options = self._driver()
        results = await execute_all_async(session, statements, **options) if statements else []
        return self._answer(views, results, slots, len(entity_rows))

    def _driver(self) -> tuple[Any, dict[str, Any]]:
        """The store's session and the options of its reads (concurrency, tuple rows)."""
        session = self.online._get_session(self.store.config)
        return session, {"concurrency": self.store.config.online_store.read_concurrency,
                         "execution_profile": self.online._tuple_profile(session)}


def python_value(value: ValueProto, value_type: ValueType) -> Any:
    """``value`` as Feast's ``OnlineResponse.to_dict`` gives it for a feature of ``value_type``."""
    kind = value.WhichOneof("val")
    if kind in PLAIN_FIELDS:
        return getattr(value, kind)
    if kind == "string_val" and value_type not in (ValueType.UUID, ValueType.TIME_UUID):
        return value.string_val
    return feast_value_type_to_python_type(value, value_type)


def reader_for(store: FeatureStore, online: Any, refs: Sequence[str]) -> CassandraFeatureReader | None:
    """A reader for ``refs`` when ``online`` is Fresco's Cassandra store reading concurrently and
    every view has join keys; else None (the caller reads through Feast)."""
    if not isinstance(online, FrescoCassandraOnlineStore) or not online.concurrent_reads:
        return None
    reader = CassandraFeatureReader(store, online, refs)
    if any(not view.join_keys for view in reader._views):
        return None
    return reader
