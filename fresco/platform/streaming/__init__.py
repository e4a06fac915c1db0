"""Near-real-time feature groups (issue #27, being built): Kafka events, checked and published.

So far: the events' schema (a ``KafkaSource``'s JSON format, written as Spark DDL, read without
Spark: :mod:`~fresco.platform.streaming.events`), which brokers and topic names a stream uses
(:mod:`~fresco.platform.streaming.topics`), and the producer (:mod:`~fresco.platform.streaming.producer`:
checked publishing and the replay of historical events). The stream job, its backfill and
the online + offline writes come next.
"""
