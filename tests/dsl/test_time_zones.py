"""Local time in an IANA zone: daylight saving, date and year boundaries, odd offsets, the
ends of the timestamp range; the same on every back end. Expected values are wall-clock times
worked out from the zones' published rules."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fresco.dsl import DSLTypeError, DType, compile_program

ZONES = ["America/New_York", "Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Lord_Howe", "Asia/Tokyo", "UTC"]
PARTS = ["year", "month", "day_of_month", "hour_of_day", "day_of_week"]
SOURCE = "\n".join(f"{fn}_{k} = {fn}(@req.t, {zone!r})" for k, zone in enumerate(ZONES)
                   for fn in PARTS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# (instant, zone, local (year, month, day, hour), day of week 0 = Monday)
CASES = [
    # New York springs forward at 02:00 EST = 07:00Z on 2024-03-10 (a Sunday)
    (utc(2024, 3, 10, 6, 59, 59), "America/New_York", (2024, 3, 10, 1), 6),
    (utc(2024, 3, 10, 7, 0, 0), "America/New_York", (2024, 3, 10, 3), 6),
    # ... and falls back at 02:00 EDT = 06:00Z on 2024-11-03: 01:xx happens twice
    (utc(2024, 11, 3, 5, 30), "America/New_York", (2024, 11, 3, 1), 6),
    (utc(2024, 11, 3, 6, 30), "America/New_York", (2024, 11, 3, 1), 6),
    (utc(2024, 11, 3, 7, 0), "America/New_York", (2024, 11, 3, 2), 6),
    # Paris falls back at 03:00 CEST = 01:00Z on 2024-10-27 (a Sunday)
    (utc(2024, 10, 27, 0, 59, 59), "Europe/Paris", (2024, 10, 27, 2), 6),
    (utc(2024, 10, 27, 1, 0, 0), "Europe/Paris", (2024, 10, 27, 2), 6),
    (utc(2024, 10, 27, 2, 0, 0), "Europe/Paris", (2024, 10, 27, 3), 6),
    # ... and springs forward at 02:00 CET = 01:00Z on 2024-03-31
    (utc(2024, 3, 31, 0, 59, 59), "Europe/Paris", (2024, 3, 31, 1), 6),
    (utc(2024, 3, 31, 1, 0, 0), "Europe/Paris", (2024, 3, 31, 3), 6),
    # the local date differs from the UTC date
    (utc(2024, 3, 10, 4, 30), "America/New_York", (2024, 3, 9, 23), 5),
    (utc(2024, 1, 1, 3, 0), "America/New_York", (2023, 12, 31, 22), 6),
    (utc(2023, 12, 31, 18, 30), "Asia/Kolkata", (2024, 1, 1, 0), 0),  # +05:30
    (utc(2023, 12, 31, 18, 14, 59), "Asia/Kathmandu", (2023, 12, 31, 23), 6),  # +05:45
    # Lord Howe Island: +11 in summer, +10:30 after 02:00 local on 2024-04-07 (= 15:00Z)
    (utc(2024, 4, 6, 14, 59, 59), "Australia/Lord_Howe", (2024, 4, 7, 1), 6),
    (utc(2024, 4, 6, 15, 29, 59), "Australia/Lord_Howe", (2024, 4, 7, 1), 6),
    (utc(2024, 4, 6, 15, 30, 0), "Australia/Lord_Howe", (2024, 4, 7, 2), 6),
    # the ends of the range: local mean time of New York (-04:56:02) before year 1 begins,
    # and Tokyo already in year 10000
    (utc(1, 1, 1, 0, 0, 0), "America/New_York", (0, 12, 31, 19), 6),
    (datetime.max.replace(tzinfo=timezone.utc), "Asia/Tokyo", (10000, 1, 1, 8), 5),
    (utc(1969, 12, 31, 23, 0), "UTC", (1969, 12, 31, 23), 2),
]


def test_local_time_follows_the_zone_rules(backend) -> None:
    name, run = backend
    program = compile_program(SOURCE, {"t": DType.TIMESTAMP})
    rows = [{"t": t} for t, _, _, _ in CASES] + [{"t": None}]
    got = run(program, rows)
    failures = []
    for (t, zone, (y, mo, d, h), dow), out in zip(CASES, got):
        k = ZONES.index(zone)
        have = tuple(out[f"{fn}_{k}"] for fn in PARTS)
        if have != (y, mo, d, h, dow):
            failures.append(f"{t} in {zone}: {have} (expected {(y, mo, d, h, dow)})")
    assert not failures, f"{name}:\n" + "\n".join(failures)
    assert set(got[-1].values()) == {None}


def test_spark_session_time_zone_does_not_matter(spark) -> None:
    from .helpers import run

    program = compile_program(SOURCE, {"t": DType.TIMESTAMP})
    rows = [{"t": t} for t, _, _, _ in CASES]
    want = run(program, "rowwise", rows)
    before = spark.conf.get("spark.sql.session.timeZone")
    try:
        for session_zone in ("America/Los_Angeles", "Asia/Kathmandu"):
            spark.conf.set("spark.sql.session.timeZone", session_zone)
            assert run(program, "spark", rows, spark) == want, session_zone
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)


def _type_error(source: str) -> DSLTypeError:
    with pytest.raises(DSLTypeError) as err:
        compile_program(source, {"t": DType.TIMESTAMP, "s": DType.STRING})
    return err.value


def test_unknown_zone_is_refused_where_it_is_written() -> None:
    e = _type_error('a = 1\nb = hour_of_day(@req.t,  "America/New_Yrok")')
    assert e.message == "unknown time zone 'America/New_Yrok'"
    assert (e.line, e.column) == (2, 26)
    assert "did you mean 'America/New_York'?" in str(e)
    assert '   2 | b = hour_of_day(@req.t,  "America/New_Yrok")' in str(e)


@pytest.mark.parametrize("source, message", [
    ('a = month(@req.t, "europe/paris")', "unknown time zone 'europe/paris'"),
    ('a = month(@req.t, "localtime")', "unknown time zone 'localtime'"),
    ('a = year(@req.t, @req.s)', "the time zone of year() must be a literal string"),
    ('a = year(@req.t, 5)', "the time zone of year() must be a literal string"),
    ('a = minutes_between(@req.t, @req.t, "UTC")', "minutes_between() takes 2 arguments"),
    ('a = day_of_week(@req.t, "UTC", "UTC")', "day_of_week() takes 1 to 2 arguments, found 3"),
])
def test_bad_zone_arguments(source: str, message: str) -> None:
    e = _type_error(source)
    assert message in e.message and e.line == 1 and "^" in str(e)


@pytest.fixture
def zone_only_python_knows(tmp_path):
    """A zone name Python's tz database lists and the JVM's cannot know: a copy of UTC's rules
    under a made-up name, on a TZPATH of the test's own (``zoneinfo.reset_tzpath``)."""
    import importlib.resources
    import zoneinfo

    from fresco.dsl.timezones import _zone, zone_names

    name = "Fresco_Test/Nowhere"
    (tmp_path / "Fresco_Test").mkdir()
    utc_rules = importlib.resources.files("tzdata.zoneinfo").joinpath("UTC").read_bytes()
    (tmp_path / name).write_bytes(utc_rules)
    zoneinfo.reset_tzpath(to=[str(tmp_path), *zoneinfo.TZPATH])
    zone_names.cache_clear()
    _zone.cache_clear()
    yield name
    zoneinfo.reset_tzpath()
    zone_names.cache_clear()
    _zone.cache_clear()


def test_zone_unknown_to_the_jvm_is_refused_by_spark(spark, zone_only_python_knows: str) -> None:
    from fresco.dsl import DSLRuntimeError

    from .helpers import run

    zone = zone_only_python_knows
    program = compile_program(f"h = hour_of_day(@req.t, {zone!r})", {"t": DType.TIMESTAMP})
    assert run(program, "pandas", [{"t": utc(2024, 1, 1, 5)}])[0]["h"] == 5  # Python knows it
    with pytest.raises(DSLRuntimeError, match=f"time zone '{zone}' is not known to Spark"):
        run(program, "spark", [{"t": utc(2024, 1, 1)}], spark)
