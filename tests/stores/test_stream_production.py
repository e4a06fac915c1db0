"""The stream job on the production stores: its offline log in a Hive table (partitioned by
date, as the batch jobs write it), its online rows in Cassandra, the consistency check over both."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feast import FeatureStore

from tests.conftest import environment_restored
from tests.stores.conftest import REGEX_NAMES, _applied_repo
from tests.stores.data import Groups
from tests.streaming.test_stream_job import quarter_hour_base, FEATURES, _as_of, _events, _publish

pytestmark = pytest.mark.timeout(600)

STREAMED = (11, 12, 13)  #: the restaurants of the events (``_events``)


def test_streamed_rows_reach_hive_and_cassandra_and_the_check_agrees(
    tmp_path: Path, spark, spark_home: Path, cassandra: list[str], kafka: str, groups: Groups
) -> None:
    BASE = quarter_hour_base()
    from fresco.example.pipelines.feature_groups import write_hive_table
    from fresco.platform.streaming.check import check_stream
    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob

    database = f"fresco_stream_{uuid.uuid4().hex[:8]}"
    table = f"{database}.restaurant_realtime"
    older = groups.frames()["restaurant_realtime"]  # the batch job's rows, for other restaurants
    older = older[~older["restaurant_id"].isin(STREAMED)]
    write_hive_table(spark.createDataFrame(older), table, partition_by="event_date")
    before = spark.conf.get(REGEX_NAMES, "false")
    try:
        with _applied_repo(tmp_path / "repo", spark_home, database, cassandra) as (repo, yaml_path), \
                environment_restored("FRESCO_HOME", "FRESCO_KAFKA_TOPIC_PREFIX"):
            os.environ["FRESCO_HOME"] = str(tmp_path / "state")
            os.environ["FRESCO_KAFKA_TOPIC_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}."
            store = FeatureStore(repo_path=str(repo), fs_yaml_file=yaml_path)
            group = stream_group(store, "restaurant_realtime")
            events = _events(150, 7, BASE, 100)
            job = StreamJob(store, group, spark, trigger_seconds=0.5).start()
            try:
                _publish(store, events)
                status = job.process_available()
            finally:
                job.stop()
            assert status.events_read == 150 and status.offline_rows > 0

            # the Hive table holds the batch rows and every row the stream wrote, dated
            logged = spark.table(table).toPandas()
            assert len(logged) == len(older) + status.offline_rows
            streamed = logged[logged["restaurant_id"].isin(STREAMED)]
            assert len(streamed) == status.offline_rows
            assert (pd.to_datetime(streamed["event_timestamp"], utc=True).dt.date == streamed["event_date"]).all()

            # Cassandra serves each restaurant its current window over every event so far
            now = pd.Timestamp.now(tz="UTC")
            keys = list(STREAMED)
            online = store.get_online_features(features=FEATURES, entity_rows=[{"restaurant_id": r} for r in keys]
                                               ).to_df().set_index("restaurant_id")
            expected = _as_of(events.assign(ready_at=pd.to_datetime(events["ready_at"], utc=True)),
                              pd.DataFrame({"restaurant_id": keys, "event_timestamp": [now] * 3})
                              ).set_index("restaurant_id")
            assert expected["orders_1h"].gt(0).all()
            assert online.loc[keys, "orders_1h"].tolist() == expected.loc[keys, "orders_1h"].tolist()
            np.testing.assert_allclose(online.loc[keys, "avg_prep_time_1h"], expected.loc[keys, "avg_prep_time_1h"],
                                       rtol=1e-12)

            # the check reads Hive through Feast's Spark store and Cassandra, and agrees
            report = check_stream(store, group, spark.createDataFrame(events), BASE - timedelta(minutes=15),
                                  now.to_pydatetime())
            assert [m.describe() for m in report.mismatches] == []
            assert report.offline_compared > 20 and report.online_compared == 3
    finally:
        spark.conf.set(REGEX_NAMES, before)
        spark.sql(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
