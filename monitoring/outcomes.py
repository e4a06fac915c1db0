"""Outcomes (labels observed after the prediction) and their join to the prediction log.

Outcomes come from the outcome log (what ``POST /outcome`` logged) or from a table a data
pipeline writes (a Parquet file or folder, a Hive table ``hive:NAME``, or the events on a Kafka
topic ``kafka:TOPIC``, each message a JSON object, read from the earliest offset to the end the
brokers report when it is read), described by an
:class:`OutcomeSource`: which column holds the observed label (a value, or 0/1 for a binary
model; default ``outcome``), which its UTC time (default ``observed_at``), and what it is joined on:

* ``prediction_id`` (the default; the id the answer carried);
* or, when the producer does not know the prediction id, key fields (``join_on``: entity keys
  or request fields, looked up in the logged ``entity_keys_json``, then ``request_json``) and a
  ``window``: an outcome matches the latest logged prediction with the same key values
  predicted at most ``window`` before it was observed (and not after): :func:`match_by_key`,
  the one rule. Key values are compared as text (integral numbers as integers, times as UTC ISO
  8601), among the predictions the command read (its model and period).

Either way the table is then joined by prediction id (:func:`join_outcomes`): several outcomes
for one prediction are a correction (the latest observed counts, the others are counted as
duplicates); an outcome observed more than ``max_delay`` after its prediction is counted as
late and left out; one whose prediction is not in the log read (not logged, sampled out,
outside the time range, or no prediction of its key within the window) is counted as unmatched.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

OUTCOME_COLUMNS = ("prediction_id", "outcome", "observed_at")
#: An outcome table named so is a Hive table (read with Spark), not a path.
HIVE_PREFIX = "hive:"
#: An outcome table named so is a Kafka topic of JSON events (:func:`read_topic`).
KAFKA_PREFIX = "kafka:"


@dataclass(frozen=True)
class OutcomeSource:
    """Where outcomes come from and how they are joined (see the module doc)."""

    table: str | Path | None = None  #: a Parquet file or folder, ``hive:NAME``; None: the outcome log
    column: str = "outcome"
    time: str = "observed_at"
    join_on: tuple[str, ...] = ("prediction_id",)
    window: timedelta | None = None  #: needed when ``join_on`` is not ``prediction_id``

    def __post_init__(self) -> None:
        keys = tuple(k.strip() for k in self.join_on)
        if not keys or any(not k for k in keys):
            raise ValueError(f"join on what? got {','.join(self.join_on)!r}")
        if "prediction_id" in keys and len(keys) > 1:
            raise ValueError("join on prediction_id alone, or on key fields with a window")
        object.__setattr__(self, "join_on", keys)
        if not self.by_id and (self.window is None or self.window <= timedelta(0)):
            raise ValueError(f"joining outcomes on {', '.join(keys)} needs a positive window "
                             "(the longest time from a prediction to its outcome, e.g. 6h)")

    @property
    def by_id(self) -> bool:
        return self.join_on == ("prediction_id",)

    @classmethod
    def of(cls, source: "OutcomeSource | str | Path | None") -> "OutcomeSource":
        """``source`` as an :class:`OutcomeSource` (a path or table name: joined by id)."""
        return source if isinstance(source, OutcomeSource) else cls(table=source)


def no_outcomes() -> pd.DataFrame:
    """An outcome table without rows (what a log joins to when nothing was reported)."""
    return pd.DataFrame({"prediction_id": pd.Series(dtype=str), "outcome": pd.Series(dtype=float),
                         "observed_at": pd.Series(dtype="datetime64[us, UTC]")})


def outcomes_to_join(outcomes: "OutcomeSource | Path | str | None",
                     predictions: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The outcome table the monitoring commands join by prediction id: ``outcomes``' table when
    it names one (it must exist), else what ``POST /outcome`` logged when it logged anything;
    None otherwise. Joined on key fields, each outcome gets the id of the prediction it matches
    among ``predictions`` (:func:`match_by_key`; null when none)."""
    from fresco.platform.logs import outcome_log_folder

    source = OutcomeSource.of(outcomes)
    if source.table is None and not source.by_id:
        raise ValueError(f"outcomes joined on {', '.join(source.join_on)} come from a table a pipeline "
                         "writes (--outcomes); the outcome log's outcomes carry their prediction_id")
    if source.table is not None:
        table = read_outcomes(source.table, column=source.column, time=source.time, keys=source.join_on)
    else:
        folder = outcome_log_folder()
        if not any(folder.rglob("*.parquet")):
            return None
        table = read_outcomes(folder)  # the outcome log's own columns (fresco.platform.logs)
    if source.by_id:
        return table
    if predictions is None:
        raise ValueError("outcomes joined on key fields are matched to predictions: pass them")
    assert source.window is not None
    return match_by_key(predictions, table, source.join_on, source.window)


def read_topic(topic: str, servers: str | None = None, *, timeout: float = 30.0) -> tuple[pd.DataFrame, int]:
    """Every message on ``topic`` now (each partition from its earliest offset to the end the
    brokers report at the start), each a JSON object, as rows; and how many messages were not
    one (skipped). ``servers``: default the one rule,
    :func:`fresco.platform.streaming.topics.kafka_bootstrap_servers`. ``FileNotFoundError`` for a
    missing topic or brokers that do not answer."""
    import uuid

    from confluent_kafka import Consumer, KafkaException, TopicPartition

    from fresco.platform.streaming.topics import kafka_bootstrap_servers

    servers = servers or kafka_bootstrap_servers()
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"fresco-outcomes-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "allow.auto.create.topics": False})
    try:
        try:
            found = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        except KafkaException as exc:
            raise FileNotFoundError(f"cannot read outcome topic {topic!r}: no Kafka broker answers at "
                                    f"{servers} ({exc})") from None
        if found is None or found.error is not None or not found.partitions:
            raise FileNotFoundError(f"no outcome topic {topic!r} on the Kafka brokers at {servers}")
        ends: dict[int, int] = {}
        starts = []
        for partition in found.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            if high > low:
                ends[partition] = high
                starts.append(TopicPartition(topic, partition, low))
        rows: list[dict[str, Any]] = []
        skipped = 0
        if starts:
            consumer.assign(starts)
        deadline = time.monotonic() + timeout
        while ends:
            message = consumer.poll(0.5)
            if message is None:
                if time.monotonic() > deadline:
                    raise FileNotFoundError(f"outcome topic {topic!r}: no message for {timeout:.0f} s before "
                                            f"the end of partition(s) {sorted(ends)} on {servers}")
                continue
            if message.error() is not None:
                continue
            deadline = time.monotonic() + timeout
            partition = message.partition()
            if partition not in ends or message.offset() >= ends[partition]:
                continue
            try:
                value = json.loads(message.value() or b"")
            except ValueError:
                value = None
            if isinstance(value, dict):
                rows.append(value)
            else:
                skipped += 1
            if message.offset() + 1 >= ends[partition]:
                del ends[partition]
    finally:
        consumer.close()
    return pd.DataFrame.from_records(rows), skipped


def _read_table(table: str | Path) -> tuple[pd.DataFrame, str]:
    """The rows of a Parquet file or folder, a Hive table ``hive:NAME`` or a Kafka topic
    ``kafka:TOPIC``, and its name."""
    text = str(table)
    if text.startswith(KAFKA_PREFIX):
        topic = text[len(KAFKA_PREFIX):]
        frame, skipped = read_topic(topic)
        if skipped:
            log.warning("outcome topic %s: %d message(s) that are not JSON objects skipped", topic, skipped)
        return frame, f"Kafka topic {topic}"
    if text.startswith(HIVE_PREFIX):
        name = text[len(HIVE_PREFIX):]
        from fresco.training.sources import training_spark

        spark = training_spark()
        if not spark.catalog.tableExists(name):
            raise FileNotFoundError(f"no outcome table {name!r} in the Hive metastore "
                                    f"(warehouse {spark.conf.get('spark.sql.warehouse.dir')})")
        return spark.table(name).toPandas(), f"Hive table {name}"
    path = Path(table)
    if not path.exists():
        raise FileNotFoundError(f"no outcome table at {path} (a Parquet file or folder; "
                                f"a Hive table is {HIVE_PREFIX}NAME, a Kafka topic {KAFKA_PREFIX}TOPIC)")
    return pd.read_parquet(path), str(path)


def read_outcomes(path: str | Path, *, column: str = "outcome", time: str = "observed_at",
                  keys: Sequence[str] = ("prediction_id",)) -> pd.DataFrame:
    """An outcome table (a Parquet file or folder, or ``hive:NAME``), checked: the ``keys``
    columns, the label ``column`` (numeric) and the ``time`` column (UTC), as ``outcome`` and
    ``observed_at`` beside the keys. A missing column is named with the table."""
    frame, name = _read_table(path)
    wanted = list(dict.fromkeys([*keys, column, time]))
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"outcome table {name} lacks column(s) {missing}; it has {sorted(frame.columns)}")
    frame = pd.DataFrame({**{k: frame[k] for k in keys}, "outcome": frame[column],
                          "observed_at": frame[time]}).reset_index(drop=True)
    if "prediction_id" in keys:
        frame["prediction_id"] = frame["prediction_id"].astype(str)
    try:
        frame["outcome"] = pd.to_numeric(frame["outcome"]).astype("float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"outcome table {name}: column {column!r} must be numeric ({exc})") from None
    try:
        frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"outcome table {name}: column {time!r} must be a time ({exc})") from None
    return frame


def key_text(value: Any) -> str | None:
    """A key value as the text keys are compared by: None for a missing value, integral numbers
    as integers (``7`` and ``7.0`` alike), times as UTC ISO 8601 (naive: UTC), else ``str``."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        moment = pd.Timestamp(value)
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        return moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _logged_keys(predictions: pd.DataFrame, keys: Sequence[str], times: set[str]) -> pd.DataFrame:
    """Each prediction's values of ``keys`` (from its entity keys, else its request) as text;
    those of ``times`` (a time in the outcome table, ISO text in the log) read as times."""
    def parsed(column: str) -> list[dict[str, Any]]:
        if column not in predictions.columns:
            return [{} for _ in range(len(predictions))]
        return [json.loads(t) if isinstance(t, str) else {} for t in predictions[column]]

    def value(key: str, entity: dict[str, Any], request: dict[str, Any]) -> str | None:
        found = entity[key] if key in entity else request.get(key)
        if key in times and isinstance(found, str):
            found = pd.to_datetime(found, utc=True, errors="coerce")
        return key_text(found)

    entity, request = parsed("entity_keys_json"), parsed("request_json")
    return pd.DataFrame({k: [value(k, e, r) for e, r in zip(entity, request)] for k in keys},
                        index=predictions.index)


def match_by_key(predictions: pd.DataFrame, outcomes: pd.DataFrame, keys: Sequence[str],
                 window: timedelta) -> pd.DataFrame:
    """``outcomes`` (the ``keys`` columns, ``outcome``, ``observed_at``) with the
    ``prediction_id`` each matches: the latest of ``predictions`` with the same key values
    predicted in ``[observed_at - window, observed_at]``; null when none (then counted as
    unmatched by :func:`join_outcomes`). The one rule for outcomes joined without an id."""
    keys = list(keys)
    table = outcomes.reset_index(drop=True)
    wanted = pd.DataFrame({k: table[k].map(key_text) for k in keys})
    wanted["observed_at"] = pd.to_datetime(table["observed_at"], utc=True).astype("datetime64[us, UTC]")
    wanted["__row"] = range(len(table))
    times = {k for k in keys if pd.api.types.is_datetime64_any_dtype(table[k])}
    logged = _logged_keys(predictions, keys, times)
    logged["predicted_at"] = pd.to_datetime(predictions["predicted_at"], utc=True).astype("datetime64[us, UTC]")
    logged["__id"] = predictions["prediction_id"].astype(str)
    logged = logged.dropna(subset=keys)
    found = wanted.dropna(subset=[*keys, "observed_at"])
    ids = pd.Series(None, index=range(len(table)), dtype=object)
    if len(found) and len(logged):
        matched = pd.merge_asof(
            found.sort_values("observed_at", kind="stable"),
            logged.sort_values("predicted_at", kind="stable"),
            left_on="observed_at", right_on="predicted_at", by=keys, direction="backward",
            tolerance=pd.Timedelta(window), allow_exact_matches=True)
        ids.loc[matched["__row"].to_numpy()] = matched["__id"].to_numpy()
    out = table.drop(columns=[k for k in keys if k in table.columns and k != "prediction_id"])
    out.insert(0, "prediction_id", ids.where(ids.notna(), None).to_numpy())
    return out


@dataclass
class JoinedOutcomes:
    """Predictions with their ``outcome`` and ``observed_at`` (null when none), and the counts."""

    frame: pd.DataFrame
    predictions: int
    outcomes: int  # rows in the outcome table
    matched: int  # predictions that got an outcome
    duplicates: int  # extra outcomes for a prediction that had one (the latest observed counts)
    late: int  # outcomes observed more than max_delay after their prediction
    unmatched: int  # outcomes for predictions not in the log read

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in
                ("predictions", "outcomes", "matched", "duplicates", "late", "unmatched")}


def join_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame, *,
                  max_delay: timedelta | None = None) -> JoinedOutcomes:
    """``predictions`` (the log) with ``outcomes`` joined by prediction id (see the module doc;
    an outcome without an id is unmatched)."""
    outcomes = outcomes[list(OUTCOME_COLUMNS)].sort_values("observed_at", kind="stable")
    known = outcomes["prediction_id"].isin(predictions["prediction_id"])
    unmatched = int((~known).sum())
    outcomes = outcomes[known]
    latest = outcomes.drop_duplicates("prediction_id", keep="last")
    duplicates = len(outcomes) - len(latest)
    when = predictions.set_index("prediction_id")["predicted_at"]
    late = pd.Series(False, index=latest.index)
    if max_delay is not None:
        late = latest["observed_at"] - latest["prediction_id"].map(when) > pd.Timedelta(max_delay)
    kept = latest[~late]
    frame = predictions.merge(kept, on="prediction_id", how="left", validate="one_to_one")
    return JoinedOutcomes(frame, len(predictions), unmatched + len(outcomes), int(kept.shape[0]),
                          duplicates, int(late.sum()), unmatched)
