"""Near-real-time feature groups: Kafka events aggregated by Spark Structured Streaming into the
online and the offline store at once, and the same aggregation run in batch as a backfill.

A streaming feature group is declared once, as a Feast ``StreamFeatureView`` over a
``KafkaSource`` (topic, JSON schema as Spark DDL, event-time field, watermark) with
``aggregations`` (one window and slide for all). :mod:`~fresco.platform.streaming.groups` reads
that declaration; :mod:`~fresco.platform.streaming.job` runs it continuously
(``fresco stream run``) and :mod:`~fresco.platform.streaming.backfill` over history
(``fresco stream backfill``), with the one aggregation of
:mod:`~fresco.platform.streaming.aggregate` (as the stream updates it, and as of every moment
for the backfill), and write their rows with :class:`~fresco.platform.streaming.sink.FeatureSink`. Events are published by
:mod:`~fresco.platform.streaming.producer` (``fresco stream replay`` and a small live API).
"""
