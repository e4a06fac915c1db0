"""Outcomes from a pipeline's table, joined by entity key and a time window, equal the join by
prediction id."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from fresco.monitoring import OutcomeSource, join_outcomes, outcomes_to_join, read_outcomes, read_predictions
from tests.monitoring.models import T0, home, log_predictions, trained  # noqa: F401 - fixtures

MAX_DELAY, WINDOW = timedelta(hours=2), timedelta(hours=6)


def _world(uuid: str, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Predictions of orders 0-199 (one every 30 s), orders 0-39 predicted again 4 h later; the
    same outcomes by prediction id and by order id: on time, corrected, late, none."""
    first = log_predictions(uuid, folder / "log", n=200, every=30.0)
    again = log_predictions(uuid, folder / "log", n=40, seed=12, start=T0 + timedelta(hours=4), every=30.0)
    rows = []  # (order, placed at, prediction record, label, observed)

    def observed(order: int, record, label: float, after: timedelta) -> None:
        rows.append((order, pd.Timestamp(record.request["placed_at"]), record.prediction_id, label,
                     record.predicted_at + after))

    for i, record in enumerate(again):  # the latest prediction of orders 0-39
        observed(i, record, record.prediction + 1.0, timedelta(minutes=20))
    for i, record in enumerate(first):
        if i < 10:  # observed before the order was predicted again: the first prediction's
            observed(i, record, record.prediction - 1.0, timedelta(minutes=10))
        elif 40 <= i < 160:
            if i % 10 == 0:  # a wrong first report, corrected later
                observed(i, record, record.prediction + 50.0, timedelta(minutes=5))
            observed(i, record, record.prediction + 2.0, timedelta(minutes=20))
        elif 160 <= i < 180:  # late: observed 3 h after (max delay 2 h, window 6 h)
            observed(i, record, record.prediction, timedelta(hours=3))
    frame = pd.DataFrame(rows, columns=["order_id", "placed_at", "prediction_id", "minutes", "delivered_at"])
    by_id = frame.rename(columns={"minutes": "outcome", "delivered_at": "observed_at"})[
        ["prediction_id", "outcome", "observed_at"]]
    by_key = frame[["order_id", "placed_at", "minutes", "delivered_at"]]
    return read_predictions(folder / "log"), by_id, by_key


def test_outcomes_joined_by_key_and_window_equal_those_joined_by_id(trained, home, tmp_path: Path) -> None:  # noqa: F811
    predictions, by_id, by_key = _world(trained.uuid, tmp_path)
    assert len(predictions) == 240
    by_id.to_parquet(tmp_path / "by_id.parquet")
    by_key.to_parquet(tmp_path / "by_key.parquet")
    keyed = OutcomeSource(tmp_path / "by_key.parquet", column="minutes", time="delivered_at",
                          join_on=("order_id",), window=WINDOW)

    want = join_outcomes(predictions, read_outcomes(tmp_path / "by_id.parquet"), max_delay=MAX_DELAY)
    got = join_outcomes(predictions, outcomes_to_join(keyed, predictions), max_delay=MAX_DELAY)
    assert want.counts() == {"predictions": 240, "outcomes": 40 + 10 + 120 + 12 + 20, "matched": 170,
                             "duplicates": 12, "late": 20, "unmatched": 0}
    assert got.counts() == want.counts()
    columns = ["prediction_id", "prediction", "outcome", "observed_at"]
    pd.testing.assert_frame_equal(got.frame[columns], want.frame[columns])

    # on an entity key and a request field (a time in the table, ISO text in the log) alike
    both = OutcomeSource(tmp_path / "by_key.parquet", column="minutes", time="delivered_at",
                         join_on=("order_id", "placed_at"), window=WINDOW)
    on_both = join_outcomes(predictions, outcomes_to_join(both, predictions), max_delay=MAX_DELAY)
    assert on_both.counts() == want.counts()
    pd.testing.assert_frame_equal(on_both.frame[columns], want.frame[columns])

    # no prediction of the order within the window before the observation: unmatched
    strays = pd.DataFrame({
        "order_id": [99_999, 185, 190],  # never predicted; observed 7 h after; 1 min before
        "placed_at": [pd.Timestamp(T0)] * 3,
        "minutes": [30.0, 31.0, 32.0],
        "delivered_at": [T0, T0 + timedelta(seconds=30 * 185) + timedelta(hours=7),
                         T0 + timedelta(seconds=30 * 190) - timedelta(minutes=1)],
    })
    pd.concat([by_key, strays]).to_parquet(tmp_path / "more.parquet")
    more = join_outcomes(predictions, outcomes_to_join(
        OutcomeSource(tmp_path / "more.parquet", "minutes", "delivered_at", ("order_id",), WINDOW),
        predictions), max_delay=MAX_DELAY)
    assert more.counts() == {**want.counts(), "outcomes": want.outcomes + 3, "unmatched": 3}
    pd.testing.assert_frame_equal(more.frame[columns], want.frame[columns])


def test_fresco_monitor_metrics_joins_a_pipelines_table_by_key(trained, home, tmp_path: Path) -> None:  # noqa: F811
    from click.testing import CliRunner

    from fresco.cli import main

    _, _, by_key = _world(trained.uuid, tmp_path)
    by_key.to_parquet(tmp_path / "deliveries.parquet")
    base = ["monitor", "metrics", "--outcomes", str(tmp_path / "deliveries.parquet"), "--log",
            str(tmp_path / "log"), "--max-delay", "2h", "--output", str(tmp_path / "accuracy.parquet")]
    keyed = [*base, "--outcome-column", "minutes", "--outcome-time", "delivered_at", "--join-on", "order_id",
             "--join-window", "6h"]
    result = CliRunner().invoke(main, keyed)
    assert result.exit_code == 0, result.output
    assert "240 predictions, 170 with an outcome (12 corrected, 20 late, 0 outcomes matching" in result.output

    no_window = CliRunner().invoke(main, [*base, "--outcome-column", "minutes", "--outcome-time", "delivered_at",
                                          "--join-on", "order_id"])
    assert no_window.exit_code == 2 and "needs a positive window" in no_window.output
    missing = CliRunner().invoke(main, [*keyed[:-6], "--outcome-column", "eta", "--outcome-time", "delivered_at",
                                        "--join-on", "order_id", "--join-window", "6h"])
    assert missing.exit_code == 1, missing.output
    assert f"outcome table {tmp_path / 'deliveries.parquet'} lacks column(s) ['eta']" in missing.output


def test_the_outcome_table_can_be_a_hive_table(spark, trained, home, tmp_path: Path) -> None:  # noqa: F811
    predictions, _, by_key = _world(trained.uuid, tmp_path)
    spark.createDataFrame(by_key).write.mode("overwrite").saveAsTable("deliveries_by_order")
    keyed = OutcomeSource("hive:deliveries_by_order", "minutes", "delivered_at", ("order_id",), WINDOW)
    by_key.to_parquet(tmp_path / "by_key.parquet")
    from_parquet = OutcomeSource(tmp_path / "by_key.parquet", "minutes", "delivered_at", ("order_id",), WINDOW)
    got = join_outcomes(predictions, outcomes_to_join(keyed, predictions), max_delay=MAX_DELAY)
    want = join_outcomes(predictions, outcomes_to_join(from_parquet, predictions), max_delay=MAX_DELAY)
    assert got.counts() == want.counts() and got.matched == 170
    with pytest.raises(FileNotFoundError, match="no outcome table 'nowhere' in the Hive metastore"):
        outcomes_to_join(OutcomeSource("hive:nowhere"), predictions)


def test_the_outcomes_can_be_events_on_a_kafka_topic(kafka: str, trained, home, tmp_path: Path) -> None:  # noqa: F811
    """A pipeline's delivered-order events on a topic (JSON, no prediction id), joined by key."""
    import json
    import uuid

    from confluent_kafka import Producer

    predictions, by_id, by_key = _world(trained.uuid, tmp_path)
    topic = f"test-outcomes-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": kafka})
    for i, row in enumerate(by_key.itertuples(index=False)):
        producer.produce(topic, key=str(row.order_id), value=json.dumps({
            "order_id": int(row.order_id), "minutes": float(row.minutes),
            "delivered_at": row.delivered_at.isoformat()}).encode())
        if i == 7:
            producer.produce(topic, value=b"not json")  # a malformed event: skipped, not fatal
    assert producer.flush(30) == 0
    keyed = OutcomeSource(f"kafka:{topic}", "minutes", "delivered_at", ("order_id",), WINDOW)
    by_id.to_parquet(tmp_path / "by_id.parquet")
    want = join_outcomes(predictions, read_outcomes(tmp_path / "by_id.parquet"), max_delay=MAX_DELAY)
    got = join_outcomes(predictions, outcomes_to_join(keyed, predictions), max_delay=MAX_DELAY)
    assert got.counts() == want.counts() and want.counts()["matched"] == 170
    columns = ["prediction_id", "prediction", "outcome", "observed_at"]
    pd.testing.assert_frame_equal(got.frame[columns], want.frame[columns])
    with pytest.raises(FileNotFoundError, match="no outcome topic 'test-outcomes-missing'"):
        outcomes_to_join(OutcomeSource("kafka:test-outcomes-missing", "minutes", "delivered_at", ("order_id",),
                                       WINDOW), predictions)
