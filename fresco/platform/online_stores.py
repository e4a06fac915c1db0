"""Feast online stores that honour a feature view's TTL at read time.

Feast's SQLite and Cassandra online stores serve the last materialized value however old it
is, while offline point-in-time retrieval treats a value older than the view's TTL as null.
That is training/serving skew: a shop quiet for six hours would be served its
six-hour-old "last hour" statistics. These subclasses (named in ``feature_store*.yaml``) drop a
value whose event time is older than ``now - ttl``, so serving sees what training saw.

The Cassandra store also reads all feature views of one ``get_online_features`` call at once.
Feast's generic ``OnlineStore._read_features_per_fv`` calls ``online_read`` view after view,
and each call is a blocking round trip (all entities of one view run concurrently, the views
do not); :meth:`FrescoCassandraOnlineStore._read_features_per_fv` sends the reads of every
(view, entity) pair through one ``execute_concurrent`` call, then decodes each row exactly as
Feast's ``CassandraOnlineStore.online_read`` does and applies the same TTL rule. Its rows come
back as plain tuples (a clone of Feast's read execution profile with the driver's
``tuple_factory``): the driver's default factory builds a new ``namedtuple`` class for every
result, about 25 µs and a garbage cycle per view per request.

Its writes carry the event time as Cassandra's write time (``USING TIMESTAMP``), so the newest
event wins whatever the order of the writes: re-materializing an older window, or a stream event
arriving late, does not overwrite a newer value. (Two writes with the same event time are
decided by Cassandra's tie-break on the value, not by their order. Rows written before Fresco's
store did this carry their wall-clock write time and can hide newer events written after it;
re-create the online tables when upgrading. The SQLite store keeps Feast's last-write-wins.)

A node that stops answering is retried every ``reconnect_delay_seconds`` (0.5 s), however long
it was gone: the driver's default policy backs off exponentially towards ten minutes, so a node
back after a minute's outage was not used again for tens of seconds. The driver reads its
``Cluster.reconnection_policy`` each time a host goes down, so it is set on the cluster Feast
builds in ``CassandraOnlineStore._get_session`` (a Feast private method, the only place that
creates the cluster; tests/stores/test_cassandra_recovery.py fails if that changes).

It can also be awaited (``FeatureStore.get_online_features_async``, which the HTTP service
uses): the same batch of queries, with the driver's callbacks waking the event loop once when
the last answer is in, so a request never waits in a thread for Cassandra.

The SQLite store follows its file: Feast opens the database once and keeps reading that
file, so a store file replaced on disk (a freshly written database moved over the path: a new
inode) went unnoticed until the process restarted, which kept reading the old, deleted file.
Before each use of the connection the path is ``stat``-ed (about a microsecond) and compared
with the file the connection was opened on (``st_dev``, ``st_ino``); when it names another
file the store opens that one. Requests already reading keep the old connection until they
are done (it is closed when the last one drops it). A path that no longer exists keeps the
current connection (opening it would create an empty database).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from cassandra.cluster import ExecutionProfile, Session, _ConfigMode
from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args
from cassandra.policies import ConstantReconnectionPolicy
from cassandra.query import tuple_factory
from feast import utils
from feast.feature_view import FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.cassandra_online_store.cassandra_online_store import (
    CassandraOnlineStore,
    CassandraOnlineStoreConfig,
)
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.infra.supported_async_methods import SupportedAsyncMethods
from pydantic import Field

from fresco.platform.cassandra_queries import execute_all_async
from fresco.platform.times import utc

if TYPE_CHECKING:
    from feast import FeatureStore

Rows = list[tuple[datetime | None, dict | None]]


def drop_expired(rows: Rows, table: FeatureView, now: datetime | None = None) -> Rows:
    """``rows`` with every value older than ``table``'s TTL (at ``now``) replaced by nothing."""
    ttl = getattr(table, "ttl", None)
    if not ttl or ttl.total_seconds() <= 0:
        return rows
    oldest = (now or datetime.now(timezone.utc)) - ttl
    kept: Rows = []
    for event_ts, values in rows:
        if event_ts is not None:
            if utc(event_ts) < oldest:
                event_ts, values = None, None
        kept.append((event_ts, values))
    return kept


class FrescoSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """Configuration of :class:`FrescoSqliteOnlineStore` (same keys as Feast's SQLite store)."""

    type: Literal["fresco.platform.online_stores.FrescoSqliteOnlineStore"] = (  # type: ignore[assignment]
        "fresco.platform.online_stores.FrescoSqliteOnlineStore"
    )


def file_identity(path: str) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the file at ``path``, or None when there is none."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


class FrescoSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite online store, serving nothing older than the view's TTL, reading the
    file now at its path (reopened when the file is replaced), and never half of a write.

    Feast shares one connection between threads, and a read on it in the middle of a write's
    transaction sees the rows written so far: one feature of the new row, another of the old
    (a stream job and a ``Predictor`` in one process). Reads and writes of a store therefore
    take turns on its connection (SQLite runs one statement of a connection at a time anyway).
    """

    #: ``(st_dev, st_ino)`` of the file the connection was opened on
    _file: tuple[int, int] | None = None
    _reopen_lock = threading.Lock()
    #: held by a write's whole transaction and by each read
    _use_lock = threading.Lock()

    def _get_conn(self, config: RepoConfig) -> sqlite3.Connection:
        """Feast's connection, opened again when the file at the path is not the one it has
        open (checked on every use: one ``stat``)."""
        conn = self._conn
        now = file_identity(self._get_db_path(config))
        if conn is not None and (now is None or now == self._file):
            return conn
        with self._reopen_lock:
            if self._conn is not None and now is not None and now != self._file:
                # No close(): requests reading right now still hold the old connection; it
                # closes when the last of them lets it go.
                self._conn, self._table_has_value_num = None, None
            if self._conn is None:
                # identified before it is opened: a file replaced in between is opened again
                # on the next use
                self._file = now
            return super()._get_conn(config)

    def online_write_batch(self, config, table, data, progress) -> None:
        with self._use_lock:
            super().online_write_batch(config, table, data, progress)

    def online_read(self, config, table, entity_keys, requested_features=None):
        with self._use_lock:
            rows = super().online_read(config, table, entity_keys, requested_features)
        return drop_expired(rows, table)


#: Feast's insert (``INSERT_CQL_4_TEMPLATE``) with the event time as the write time.
INSERT_AT_EVENT_TIME = (
    "INSERT INTO {fqtable} (feature_name, value, entity_key, event_ts) VALUES (?, ?, ?, ?) "
    "USING TIMESTAMP ?;"
)


def event_time_micros(event_ts: datetime) -> int:
    """An event time as a Cassandra write time: microseconds since the epoch (naive = UTC)."""
    delta = utc(event_ts) - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class FrescoCassandraOnlineStoreConfig(CassandraOnlineStoreConfig):
    """Configuration of :class:`FrescoCassandraOnlineStore` (same keys as Feast's Cassandra store)."""

    type: Literal["fresco.platform.online_stores.FrescoCassandraOnlineStore"] = (  # type: ignore[assignment]
        "fresco.platform.online_stores.FrescoCassandraOnlineStore"
    )
    reconnect_delay_seconds: float = Field(
        0.5, gt=0, description="Seconds between attempts to reach a node that went down (constant).")


class KeyspaceMissing(RuntimeError):
    """The Cassandra online store's keyspace does not exist (the message says how to create it)."""


class FrescoCassandraOnlineStore(CassandraOnlineStore):
    """Feast's Cassandra online store, serving nothing older than the view's TTL, reading all
    feature views of a request concurrently.

    ``concurrent_reads = False`` (on the class or an instance) falls back to Feast's generic
    view-after-view loop over :meth:`online_read`; both paths return the same values.
    """

    concurrent_reads: bool = True

    def online_read(self, config, table, entity_keys, requested_features=None):
        return drop_expired(super().online_read(config, table, entity_keys, requested_features), table)

    def _get_session(self, config: RepoConfig) -> Session:
        """Feast's session, its cluster retrying a down node at a constant delay (module doc).

        A keyspace that does not exist yet is :class:`KeyspaceMissing`, saying how to create it
        (the driver's own error reads as if no node answered)."""
        try:
            session = super()._get_session(config)
        except Exception as exc:
            keyspace = config.online_store.keyspace
            if f"using keyspace '{keyspace}'" in str(exc):
                hosts = ", ".join(config.online_store.hosts or [])
                raise KeyspaceMissing(
                    f"the online store's keyspace {keyspace!r} does not exist on the Cassandra cluster at "
                    f"{hosts}: create it (one local node: `fresco materialize --yaml <this yaml> "
                    "--prepare-keyspace`; a real cluster: CREATE KEYSPACE with NetworkTopologyStrategy), "
                    "then run this again") from None
            raise
        delay = getattr(config.online_store, "reconnect_delay_seconds", 0.5)
        policy = self._cluster.reconnection_policy
        if not (isinstance(policy, ConstantReconnectionPolicy) and policy.delay == delay):
            self._cluster.reconnection_policy = ConstantReconnectionPolicy(delay, max_attempts=None)
        return session

    @property
    def async_supported(self) -> SupportedAsyncMethods:
        """Reads can be awaited (``FeatureStore.get_online_features_async``)."""
        return SupportedAsyncMethods(read=True)

    def ping(self, config: RepoConfig) -> None:
        """Connect (when not yet connected) and run the cheapest query; raises the driver's
        error when no node answers, else :class:`ConnectionError` when no host is up."""
        self._get_session(config).execute("SELECT release_version FROM system.local")
        if self.all_hosts_down():
            raise ConnectionError("no Cassandra host is up")

    def all_hosts_down(self) -> bool:
        """Whether this store's driver session knows its hosts and sees none up (False when
        not connected yet: nothing is known)."""
        session = getattr(self, "_session", None)  # Feast's CassandraOnlineStore keeps it there
        if session is None:
            return False
        hosts = session.cluster.metadata.all_hosts()
        return bool(hosts) and not any(h.is_up for h in hosts)

    def _read_features_per_fv(
        self,
        config: RepoConfig,
        grouped_refs: list,
        join_key_values: dict,
        entity_name_to_join_key_map: dict,
        online_features_response: Any,
        full_feature_names: bool,
        include_feature_view_version_metadata: bool,
    ) -> None:
        """Feast's per-view read (same arguments, same response), with one concurrent batch of
        queries for all views and entities instead of one blocking batch per view."""
        if not self.concurrent_reads:
            super()._read_features_per_fv(
                config, grouped_refs, join_key_values, entity_name_to_join_key_map,
                online_features_response, full_feature_names, include_feature_view_version_metadata,
            )
            return
        session = self._get_session(config)
        plans, statements = self._plan_reads(config, grouped_refs, join_key_values,
                                             entity_name_to_join_key_map)
        # Like Feast's read (execute_concurrent_with_args' default): the first error raises.
        results = execute_concurrent(
            session, statements, concurrency=config.online_store.read_concurrency,
            execution_profile=self._tuple_profile(session),
        ) if statements else []
        self._populate(plans, [result if success else None for success, result in results],
                       online_features_response, full_feature_names,
                       include_feature_view_version_metadata)

    async def _read_features_per_fv_async(
        self,
        config: RepoConfig,
        grouped_refs: list,
        join_key_values: dict,
        entity_name_to_join_key_map: dict,
        online_features_response: Any,
        full_feature_names: bool,
        include_feature_view_version_metadata: bool,
    ) -> None:
        """:meth:`_read_features_per_fv` for an event loop: the same batch of queries, awaited
        (the driver's callbacks wake the loop once, when the last answer is in)."""
        if not self.concurrent_reads:
            await super()._read_features_per_fv_async(
                config, grouped_refs, join_key_values, entity_name_to_join_key_map,
                online_features_response, full_feature_names, include_feature_view_version_metadata,
            )
            return
        session = self._get_session(config)
        plans, statements = self._plan_reads(config, grouped_refs, join_key_values,
                                             entity_name_to_join_key_map)
        results = await execute_all_async(
            session, statements, concurrency=config.online_store.read_concurrency,
            execution_profile=self._tuple_profile(session),
        ) if statements else []
        self._populate(plans, results, online_features_response, full_feature_names,
                       include_feature_view_version_metadata)

    async def online_read_async(self, config, table, entity_keys, requested_features=None):
        """``online_read`` of one view, awaited (Feast's async API for a single view)."""
        session = self._get_session(config)
        version = config.entity_key_serialization_version
        select = self._select_statement(config, table)
        statements = [(select, (serialize_entity_key(key, entity_key_serialization_version=version)
                                .hex(),)) for key in entity_keys]
        results = await execute_all_async(
            session, statements, concurrency=config.online_store.read_concurrency,
            execution_profile=self._tuple_profile(session),
        ) if statements else []
        return drop_expired([decode_rows(rows, requested_features) for rows in results], table)

    def _plan_reads(
        self, config: RepoConfig, grouped_refs: list, join_key_values: dict,
        entity_name_to_join_key_map: dict,
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, tuple[str]]]]:
        """One ``(prepared select, (key,))`` per (view, unique entity), and per view what
        :meth:`_populate` needs to put the answers back in Feast's response."""
        version = config.entity_key_serialization_version
        plans = []
        statements: list[tuple[Any, tuple[str]]] = []
        for table, requested_features in grouped_refs:
            entity_values, idxs, output_len = utils._get_unique_entities(
                table, join_key_values, entity_name_to_join_key_map
            )
            select = self._select_statement(config, table)
            for key in utils._get_entity_key_protos(entity_values):
                key_bin = serialize_entity_key(key, entity_key_serialization_version=version).hex()
                statements.append((select, (key_bin,)))
            plans.append((table, requested_features, idxs, output_len, len(entity_values)))
        return plans, statements

    @staticmethod
    def _populate(
        plans: list[tuple[Any, ...]], results: list[Any], online_features_response: Any,
        full_feature_names: bool, include_feature_view_version_metadata: bool,
    ) -> None:
        """Decode each entity's rows (in :meth:`_plan_reads` order), drop expired values, and
        fill Feast's response as its generic per-view loop does."""
        start = 0
        for table, requested_features, idxs, output_len, count in plans:
            rows = [decode_rows(result, requested_features) for result in results[start:start + count]]
            start += count
            utils._populate_response_from_feature_data(
                requested_features, drop_expired(rows, table), idxs, online_features_response,
                full_feature_names, table, output_len, include_feature_view_version_metadata,
            )

    def _write_rows_concurrently(
        self, config: RepoConfig, project: str, table: FeatureView,
        rows: Iterable[tuple[str, bytes, str, datetime]],
    ) -> None:
        """Feast's concurrent insert of ``(feature_name, value, entity_key, event_ts)`` rows,
        stamped with the event time as the cells' write time (``USING TIMESTAMP``).

        Cassandra keeps the cell with the latest write time, so the newest event wins whatever
        the order of the writes: re-materializing an older window, or a late stream event, no
        longer overwrites a newer value online."""
        session = self._get_session(config)
        fqtable = CassandraOnlineStore._fq_table_name(self._keyspace, project, table)
        text = INSERT_AT_EVENT_TIME.format(fqtable=fqtable)
        statement = self._prepared_statements.get(text)
        if statement is None:
            statement = self._prepared_statements[text] = session.prepare(text)
        execute_concurrent_with_args(
            session, statement, ((*row, event_time_micros(row[3])) for row in rows),
            concurrency=config.online_store.write_concurrency,
            execution_profile=self._write_execution_profile,
        )

    def _tuple_profile(self, session: Session) -> ExecutionProfile | Any:
        """Feast's read execution profile with rows as plain tuples (made once per session).

        A cluster configured with the driver's legacy settings admits no profile but the
        default; the rows are then named tuples, which decode the same way."""
        cached = getattr(self, "_fresco_tuple_profile", None)
        if cached is not None and cached[0] is session:
            return cached[1]
        if session.cluster._config_mode == _ConfigMode.LEGACY:
            profile = self._read_execution_profile
        else:
            profile = session.execution_profile_clone_update(
                self._read_execution_profile, row_factory=tuple_factory)
        self._fresco_tuple_profile = (session, profile)
        return profile

    def _select_statement(self, config: RepoConfig, table: FeatureView) -> Any:
        """The prepared ``SELECT feature_name, value, event_ts`` of Feast's ``online_read``
        (from Feast's own statement cache: prepared once per table)."""
        self._get_session(config)
        fqtable = CassandraOnlineStore._fq_table_name(self._keyspace, config.project, table)
        return self._get_cql_statement(
            config, "select", fqtable=fqtable, columns="feature_name, value, event_ts"
        )


def decode_rows(
    feature_rows: Iterable[Any] | None, requested_features: list[str] | None
) -> tuple[datetime | None, dict[str, ValueProto] | None]:
    """One entity's ``(feature_name, value, event_ts)`` rows -> ``(event_ts, {feature: Value})``
    as ``CassandraOnlineStore.online_read`` builds it: requested features only, the timestamp of
    the last one, ``(None, None)`` if none."""
    values: dict[str, ValueProto] = {}
    event_ts = None
    for feature_name, blob, row_ts in feature_rows or ():
        if requested_features is None or feature_name in requested_features:
            value = ValueProto()
            value.ParseFromString(blob)
            values[feature_name] = value
            event_ts = row_ts
    return (event_ts, values) if values else (None, None)


def online_store_of(store: "FeatureStore") -> Any:
    """The online store instance ``store`` reads through (the one holding its connections), or
    None for a provider without one.

    Feast reaches it only through its private ``FeatureStore._get_provider()``: this is the one
    place Fresco does (tests/stores/test_online_ttl.py fails if Feast changes it).
    """
    return getattr(store._get_provider(), "online_store", None)
