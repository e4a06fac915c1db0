"""DSL benchmark: the 8-output example program on each back end. Prints figures; asserts nothing.

Run: .venv/bin/python benchmarks/bench_dsl.py [--rows N] [--requests N] [--spark-rows N] [--no-spark]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fresco.dsl import DType, compile_program  # noqa: E402

SOURCE = """
hour        = hour_of_day(@req.placed_at)
weekend     = day_of_week(@req.placed_at) >= 5
prep_7d     = fill(@fs.restaurant_stats_7d.avg_prep_time_7d, 15.0)
prep_recent = coalesce(@fs.restaurant_realtime.avg_prep_time_1h, prep_7d)
distance_km = haversine(@req.customer_lat, @req.customer_lon, @fs.restaurant_profile.lat, @fs.restaurant_profile.lon)
cuisine     = categorical(@fs.restaurant_profile.cuisine)   # vocabulary fitted at training
prep_z      = standardize(prep_7d)                          # mean and std fitted at training
rush        = if hour in [11, 12, 13, 18, 19, 20] then 1 else 0
"""
TYPES = {
    "placed_at": DType.TIMESTAMP, "customer_lat": DType.FLOAT, "customer_lon": DType.FLOAT,
    "restaurant_stats_7d:avg_prep_time_7d": DType.FLOAT,
    "restaurant_realtime:avg_prep_time_1h": DType.FLOAT,
    "restaurant_profile:lat": DType.FLOAT, "restaurant_profile:lon": DType.FLOAT,
    "restaurant_profile:cuisine": DType.STRING,
}
CUISINES = np.array(["thai", "pizza", "sushi", "indian", "burger", "mexican", "ramen", "greek"],
                    dtype=object)


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    placed = rng.integers(1_600_000_000_000_000, 1_700_000_000_000_000, n).astype("datetime64[us]")
    cuisine = CUISINES[rng.integers(0, len(CUISINES), n)]
    cuisine[rng.random(n) < 0.05] = None
    return pd.DataFrame({
        "placed_at": pd.Series(pd.DatetimeIndex(placed).tz_localize("UTC")),
        "customer_lat": rng.uniform(40.5, 40.9, n),
        "customer_lon": rng.uniform(-74.1, -73.7, n),
        "restaurant_stats_7d__avg_prep_time_7d": np.where(rng.random(n) < 0.1, np.nan,
                                                          rng.uniform(5, 40, n)),
        "restaurant_realtime__avg_prep_time_1h": np.where(rng.random(n) < 0.3, np.nan,
                                                          rng.uniform(5, 40, n)),
        "restaurant_profile__lat": rng.uniform(40.5, 40.9, n),
        "restaurant_profile__lon": rng.uniform(-74.1, -73.7, n),
        "restaurant_profile__cuisine": cuisine,
    })


def best_of(k: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--spark-rows", type=int, default=2_000_000)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()

    print(f"DSL benchmark  {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}")
    program = compile_program(SOURCE, TYPES).fit(frame(100_000, seed=1))
    print(f"program: {len(program.outputs)} outputs, fitted: {sorted(program.fitted)}")

    df = frame(args.rows)
    program.to_pandas(df.head(1000))  # warm up
    seconds = best_of(3, lambda: program.to_pandas(df))
    print(f"pandas back end: {args.rows / seconds / 1e6:.2f} M rows/s "
          f"({args.rows:,} rows in {seconds * 1000:.0f} ms, one core)")

    rows = df.head(args.requests).to_dict("records")
    rows = [{k: (v.to_pydatetime() if isinstance(v, pd.Timestamp) else
                 (None if isinstance(v, float) and v != v else v)) for k, v in r.items()}
            for r in rows]
    evaluate = program.evaluate
    for r in rows[:1000]:
        evaluate(r)
    seconds = best_of(3, lambda: [evaluate(r) for r in rows])
    print(f"per-request evaluator: {seconds / len(rows) * 1e6:.2f} us/request "
          f"(evaluate(), {len(rows):,} requests)")
    batch = rows[:32]
    seconds = best_of(3, lambda: [program.evaluate_many(batch) for _ in range(200)])
    print(f"per-request evaluator, batches of 32: {seconds / 200 * 1e6:.0f} us/batch")

    if args.no_spark:
        return
    from pyspark.sql import functions as F

    from fresco.platform.spark import spark_session

    spark = spark_session("fresco-bench-dsl", home=Path(tempfile.mkdtemp(prefix="bench-dsl-")))
    spark.sparkContext.setLogLevel("ERROR")
    n = args.spark_rows
    cuisines = F.array(*[F.lit(c) for c in CUISINES])
    sdf = spark.range(n).select(
        F.timestamp_seconds(F.lit(1_600_000_000) + (F.rand(1) * 1e8).cast("long")).alias("placed_at"),
        (F.lit(40.5) + F.rand(2) * 0.4).alias("customer_lat"),
        (F.lit(-74.1) + F.rand(3) * 0.4).alias("customer_lon"),
        F.when(F.rand(4) < 0.1, None).otherwise(F.lit(5.0) + F.rand(5) * 35)
        .alias("restaurant_stats_7d__avg_prep_time_7d"),
        F.when(F.rand(6) < 0.3, None).otherwise(F.lit(5.0) + F.rand(7) * 35)
        .alias("restaurant_realtime__avg_prep_time_1h"),
        (F.lit(40.5) + F.rand(8) * 0.4).alias("restaurant_profile__lat"),
        (F.lit(-74.1) + F.rand(9) * 0.4).alias("restaurant_profile__lon"),
        F.element_at(cuisines, (F.rand(10) * len(CUISINES)).cast("int") + 1)
        .alias("restaurant_profile__cuisine"),
    ).cache()
    sdf.count()
    out = program.to_spark(sdf)
    out.write.format("noop").mode("overwrite").save()  # warm up
    seconds = best_of(3, lambda: out.write.format("noop").mode("overwrite").save())
    print(f"\nSpark back end: {n / seconds / 1e6:.2f} M rows/s "
          f"({n:,} cached rows in {seconds:.2f} s, {spark.sparkContext.master})")
    spark.stop()


if __name__ == "__main__":
    main()
