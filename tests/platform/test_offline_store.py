"""Fresco's DuckDB offline store against Feast's file store, on the same repository and data.

Randomized feature tables (seeded numpy, many seeds) for three views keyed on two entities:
ties on event time decided by the created timestamp, TTL edges (exactly ``ttl`` old, one
second more), repeated entity rows, entities without history and rows before any history, a
field-mapped column, and full feature names on and off. Feast's file store answers one view at
a time for the distinct (keys, time) rows (it drops rows without a candidate in the TTL window
and collapses repeats), merged back onto every input row; Fresco's store must give that frame
directly, in input order, with the same values and dtypes.

One exception, checked rather than hidden: where two source rows of an entity share the chosen
event time, Feast's file store is meant to keep the one created last, but it sorts by created
time and then by event time with pandas' default (unstable) sort, so it sometimes keeps another
one. There the expected value is the brute-force oracle's (latest event time, then latest
created time, then last in the file), Feast's answer must be one of the tied rows, and every
other cell must equal Feast's.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource
from feast.repo_config import RepoConfig
from feast.types import Bool, Float64, Int64, String
from feast.value_type import ValueType

from feast.infra.offline_stores.file_source import SavedDatasetFileStorage

from fresco.platform.offline_stores import FrescoDuckDBOfflineStore, OfflineStoreError, parquet_entity_query

FRESCO = "fresco.platform.offline_stores.FrescoDuckDBOfflineStore"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
SEEDS = range(12)

customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
restaurant = Entity(name="restaurant", join_keys=["restaurant_id"], value_type=ValueType.INT64)

TTL = {"customer_stats": timedelta(hours=2), "restaurant_profile": timedelta(0),
       "restaurant_load": timedelta(minutes=30)}
VIEWS = [
    FeatureView(
        name="customer_stats", entities=[customer], ttl=TTL["customer_stats"],
        schema=[Field(name="spend", dtype=Float64), Field(name="orders", dtype=Int64),
                Field(name="tier", dtype=String)],
        source=FileSource(name="customer_stats_src", path="data/customer_stats.parquet",
                          timestamp_field="event_timestamp", created_timestamp_column="created"),
    ),
    FeatureView(
        name="restaurant_profile", entities=[restaurant], ttl=TTL["restaurant_profile"],
        schema=[Field(name="capacity", dtype=Int64), Field(name="open", dtype=Bool)],
        source=FileSource(name="restaurant_profile_src", path="data/restaurant_profile",
                          timestamp_field="event_timestamp", field_mapping={"cap_raw": "capacity"}),
    ),
    FeatureView(
        name="restaurant_load", entities=[restaurant], ttl=TTL["restaurant_load"],
        schema=[Field(name="prep", dtype=Float64), Field(name="queue", dtype=Int64)],
        source=FileSource(name="restaurant_load_src", path="data/restaurant_load.parquet",
                          timestamp_field="event_timestamp", created_timestamp_column="created"),
    ),
]
KEYS = {"customer_stats": ["customer_id"], "restaurant_profile": ["restaurant_id"],
        "restaurant_load": ["restaurant_id"]}
REFS = ["customer_stats:spend", "customer_stats:orders", "customer_stats:tier",
        "restaurant_profile:capacity", "restaurant_profile:open",
        "restaurant_load:prep", "restaurant_load:queue"]


def _config(repo: Path, offline: str, **settings: Any) -> RepoConfig:
    return RepoConfig(
        project="offline_diff", provider="local", repo_path=repo,
        registry=str(repo / "data" / "registry.db"),
        online_store={"type": "sqlite", "path": str(repo / "data" / "online.db")},
        offline_store={"type": offline, **settings}, entity_key_serialization_version=3,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("offline_diff")
    (root / "data" / "restaurant_profile").mkdir(parents=True)
    store = FeatureStore(config=_config(root, "file"))
    store.apply([customer, restaurant, *VIEWS, FeatureService(name="all", features=VIEWS)])
    return root


@pytest.fixture(scope="module")
def stores(repo: Path) -> tuple[FeatureStore, FeatureStore]:
    return FeatureStore(config=_config(repo, "file")), FeatureStore(config=_config(repo, FRESCO))


@pytest.fixture(scope="module")
def own_process_store(repo: Path) -> FeatureStore:
    """Fresco's store joining every entity frame, however small, in a DuckDB process of its own."""
    return FeatureStore(config=_config(repo, FRESCO, own_process_rows=0))


def _children_cpu() -> float:
    """CPU seconds of this process's ended children: grows when a retrieval ran a child."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _times(rng: np.random.Generator, n: int, step_s: int, span_steps: int) -> pd.Series:
    return pd.Series(T0 + pd.to_timedelta(rng.integers(0, span_steps, n) * step_s, unit="s"))


def _history(rng: np.random.Generator, keys: int, n: int, step_s: int, span: int) -> pd.DataFrame:
    """``n`` rows for keys ``1..keys`` on a coarse time grid (ties likely), unique created times."""
    frame = pd.DataFrame({"key": rng.integers(1, keys + 1, n), "event_timestamp": _times(rng, n, step_s, span)})
    # every row created after its event, no two rows created at the same time
    frame["created"] = frame["event_timestamp"] + pd.to_timedelta(rng.permutation(n) + 1, unit="s")
    return frame


def write_data(repo: Path, seed: int) -> dict[str, pd.DataFrame]:
    """Random feature tables for ``seed`` (event times microsecond UTC, like Spark's)."""
    rng = np.random.default_rng(seed)
    cust = _history(rng, 6, 40, 600, 60)  # 10-minute grid over 10 hours, TTL 2 hours
    cust = cust.rename(columns={"key": "customer_id"}).assign(
        spend=rng.normal(50, 10, len(cust)).round(2), orders=rng.integers(0, 9, len(cust)),
        tier=rng.choice(["gold", "silver", None], len(cust)))
    prof = _history(rng, 5, 12, 3600, 10).rename(columns={"key": "restaurant_id"}).drop(columns="created")
    prof = prof.assign(cap_raw=rng.integers(1, 9, len(prof)), open=rng.random(len(prof)) < 0.5)
    load = _history(rng, 5, 60, 300, 120)  # 5-minute grid, TTL 30 minutes
    load = load.rename(columns={"key": "restaurant_id"}).assign(
        prep=rng.normal(15, 3, len(load)).round(1), queue=rng.integers(0, 20, len(load)))
    for frame, path in ((cust, "customer_stats.parquet"), (prof, "restaurant_profile/part-0.parquet"),
                        (load, "restaurant_load.parquet")):
        for column in ("event_timestamp", "created"):
            if column in frame:
                frame[column] = frame[column].astype("datetime64[us, UTC]")
        frame.to_parquet(repo / "data" / path, index=False)
    return {"customer_stats": cust, "restaurant_profile": prof.rename(columns={"cap_raw": "capacity"}),
            "restaurant_load": load}


def entity_rows(seed: int, history: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Entity rows: random times on the grids, TTL edges, unknown keys, repeats."""
    rng = np.random.default_rng(1000 + seed)
    n = 60
    rows = pd.DataFrame({
        "customer_id": rng.integers(0, 8, n),  # 0 and 7 have no history
        "restaurant_id": rng.integers(1, 7, n),  # 6 has no history
        "event_timestamp": _times(rng, n, 300, 150) - pd.Timedelta(minutes=30),  # some before any history
    })
    edges = []
    for view in ("customer_stats", "restaurant_load"):
        frame, key, ttl = history[view], KEYS[view][0], TTL[view]
        picked = frame.sample(4, random_state=seed)
        for extra in (timedelta(0), timedelta(seconds=1)):
            edge = rows.sample(4, random_state=seed).reset_index(drop=True)
            edge[key] = picked[key].to_numpy()
            edge["event_timestamp"] = (picked["event_timestamp"] + ttl + extra).to_numpy()
            edges.append(edge)
    rows = pd.concat([rows, *edges], ignore_index=True)
    rows = pd.concat([rows, rows.iloc[::7]], ignore_index=True)  # repeated rows
    rows = rows.sample(frac=1, random_state=seed).reset_index(drop=True)  # not in time order
    rows["label"] = np.arange(len(rows), dtype=float)
    rows["note"] = [f"row {i}" for i in range(len(rows))]
    if seed % 2:
        rows["event_timestamp"] = rows["event_timestamp"].dt.tz_convert(None).astype("datetime64[ns]")
    else:
        rows["event_timestamp"] = rows["event_timestamp"].astype("datetime64[us, UTC]")
    return rows


def feast_reference(store: FeatureStore, rows: pd.DataFrame, refs: list[str], full: bool) -> pd.DataFrame:
    """Feast's file store answer for every input row: per view, per distinct (keys, time)."""
    expected = rows.copy()
    moment = pd.to_datetime(rows["event_timestamp"], utc=True).astype("datetime64[ns, UTC]")
    expected["__ns"] = moment.array.asi8
    ts_dtype = None
    for view in dict.fromkeys(r.split(":")[0] for r in refs):
        keys = KEYS[view]
        view_refs = [r for r in refs if r.startswith(view + ":")]
        query = rows[keys].assign(event_timestamp=rows["event_timestamp"]).drop_duplicates()
        answer = store.get_historical_features(entity_df=query, features=view_refs,
                                               full_feature_names=full).to_df()
        ts_dtype = answer["event_timestamp"].dtype
        answer["__ns"] = pd.to_datetime(answer["event_timestamp"], utc=True).astype(
            "datetime64[ns, UTC]").array.asi8
        names = [r.replace(":", "__") if full else r.split(":")[1] for r in view_refs]
        answer = answer[keys + ["__ns"] + names].drop_duplicates(keys + ["__ns"])
        expected = expected.merge(answer, on=keys + ["__ns"], how="left", validate="many_to_one")
    expected["event_timestamp"] = pd.to_datetime(rows["event_timestamp"], utc=True).astype(ts_dtype)
    return expected.drop(columns="__ns")


def oracle(history: pd.DataFrame, key: str, ttl: timedelta, entity: Any, moment: pd.Timestamp) -> tuple[pd.Series | None, bool]:
    """Brute force: the source row for one entity row, and whether another row ties with it."""
    c = history[(history[key] == entity) & (history["event_timestamp"] <= moment)]
    if ttl:
        c = c[c["event_timestamp"] >= moment - ttl]
    if c.empty:
        return None, False
    order = ["event_timestamp", "created"] if "created" in c else ["event_timestamp"]
    c = c.sort_values(order, kind="stable", na_position="first")
    best = c.iloc[-1]
    return best, int((c["event_timestamp"] == best["event_timestamp"]).sum()) > 1


@pytest.mark.parametrize("route", ["here", "own process"])
@pytest.mark.parametrize("seed", SEEDS)
def test_same_frame_as_feasts_file_store(repo: Path, stores: tuple[FeatureStore, FeatureStore],
                                         own_process_store: FeatureStore, seed: int, route: str) -> None:
    """Both routes of an entity frame: joined in this process, and (``own_process_rows: 0``) in
    a DuckDB process of its own."""
    feast_store, fresco_store = stores
    if route == "own process":
        fresco_store = own_process_store
    history = write_data(repo, seed)
    rows = entity_rows(seed, history)
    full = seed % 3 != 0
    refs = REFS if seed % 4 else REFS[::-1]  # view order follows the references
    children = _children_cpu()
    got = fresco_store.get_historical_features(entity_df=rows, features=refs, full_feature_names=full).to_df()
    assert (_children_cpu() > children) == (route == "own process")
    expected = feast_reference(feast_store, rows, refs, full)
    assert list(got.columns) == list(expected.columns)
    assert got["note"].tolist() == rows["note"].tolist()  # input order, repeats kept
    moments = pd.to_datetime(rows["event_timestamp"], utc=True)
    tied_rows = 0
    for view in dict.fromkeys(r.split(":")[0] for r in refs):
        key = KEYS[view][0]
        features = [r.split(":")[1] for r in refs if r.startswith(view + ":")]
        for i, (entity, moment) in enumerate(zip(rows[key], moments)):
            best, tied = oracle(history[view], key, TTL[view], entity, moment)
            for feature in features:
                name = f"{view}__{feature}" if full else feature
                want = None if best is None else best[feature]
                if want is None or (isinstance(want, float) and np.isnan(want)):
                    assert pd.isna(got.at[i, name]), (view, i, name)
                else:
                    assert got.at[i, name] == want, (view, i, name)
                if tied:  # Feast's unstable sort: any of the tied rows; the oracle's is expected
                    same_time = history[view][(history[view][key] == entity)
                                              & (history[view]["event_timestamp"] == best["event_timestamp"])]
                    feast_value = expected.at[i, name]
                    assert any(v == feast_value or (pd.isna(v) and pd.isna(feast_value))
                               for v in same_time[feature]), (view, i, name, feast_value)
                    expected.at[i, name] = want
            tied_rows += tied
    pd.testing.assert_frame_equal(got, expected, check_dtype=True)
    # the data exercise what they should
    name = "customer_stats__spend" if full else "spend"
    assert got[name].isna().any() and got[name].notna().any()
    assert tied_rows > 0


def _utc_rows(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """``frame`` ordered by ``by``, its times UTC microseconds (for comparing answers)."""
    frame = frame.sort_values(by, kind="stable").reset_index(drop=True)
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    return frame


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_an_entity_query_over_parquet_gives_the_frames_answer(
        repo: Path, stores: tuple[FeatureStore, FeatureStore], tmp_path: Path, seed: int) -> None:
    """Entity rows as Parquet files (how a Spark job hands them over): the same values as the
    same rows given as a frame, in memory and persisted by DuckDB as a Parquet folder."""
    store = stores[1]
    history = write_data(repo, seed)
    rows = entity_rows(seed, history)
    rows.loc[3, "event_timestamp"] = pd.NaT  # a row without a time gets nulls
    full = seed % 3 != 0
    refs = REFS if seed % 4 else REFS[::-1]
    (tmp_path / "rows").mkdir()
    half = len(rows) // 2  # two files, as a Spark job writes
    rows.iloc[:half].to_parquet(tmp_path / "rows" / "part-0.parquet", index=False)
    rows.iloc[half:].to_parquet(tmp_path / "rows" / "part-1.parquet", index=False)
    frame_rows = rows.drop(index=3)
    expected = store.get_historical_features(entity_df=frame_rows, features=refs, full_feature_names=full).to_df()

    job = store.get_historical_features(entity_df=parquet_entity_query(tmp_path / "rows"), features=refs,
                                        full_feature_names=full)
    in_memory = job.to_df()
    job.persist(SavedDatasetFileStorage(path=str(tmp_path / "answer")), allow_overwrite=True)
    persisted = pd.read_parquet(tmp_path / "answer")
    assert len(list((tmp_path / "answer").glob("*.parquet"))) >= 1
    for got in (in_memory, persisted):
        assert sorted(got.columns) == sorted(expected.columns)
        untimed = got[got["event_timestamp"].isna()]
        assert untimed["note"].tolist() == [rows.at[3, "note"]]
        features = [c for c in got.columns if c not in rows.columns]
        assert untimed[features].isna().all().all()
        timed = _utc_rows(got[got["event_timestamp"].notna()][list(expected.columns)], "label")
        pd.testing.assert_frame_equal(timed, _utc_rows(expected, "label"), check_dtype=False)
    name = "customer_stats__spend" if full else "spend"
    assert expected[name].isna().any() and expected[name].notna().any()

    # persisting again replaces the folder; without allow_overwrite it is refused
    job.persist(SavedDatasetFileStorage(path=str(tmp_path / "answer")), allow_overwrite=True)
    assert len(pd.read_parquet(tmp_path / "answer")) == len(rows)
    with pytest.raises(Exception, match="already exists"):
        job.persist(SavedDatasetFileStorage(path=str(tmp_path / "answer")))


def test_a_failed_persist_keeps_the_previous_answer(
        repo: Path, stores: tuple[FeatureStore, FeatureStore], tmp_path: Path) -> None:
    """DuckDB writes beside the answer and replaces it only when done: a join that fails (its
    entity files gone) names the views and DuckDB's reason, and the answer on disk stays whole."""
    store = stores[1]
    history = write_data(repo, 0)
    (tmp_path / "rows").mkdir()
    entity_rows(0, history).to_parquet(tmp_path / "rows" / "part-0.parquet", index=False)
    job = store.get_historical_features(entity_df=parquet_entity_query(tmp_path / "rows"), features=REFS)
    answer = tmp_path / "answer"
    job.persist(SavedDatasetFileStorage(path=str(answer)), allow_overwrite=True)
    before = pd.read_parquet(answer)
    (tmp_path / "rows" / "part-0.parquet").unlink()
    with pytest.raises(OfflineStoreError, match=r"point-in-time retrieval of \[.*'customer_stats'.*\]: .*No files found"):
        job.persist(SavedDatasetFileStorage(path=str(answer)), allow_overwrite=True)
    pd.testing.assert_frame_equal(pd.read_parquet(answer), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answer", "rows"]


@pytest.mark.parametrize("route", ["here", "own process"])
def test_a_failed_join_names_the_views_and_leaves_nothing(
        repo: Path, stores: tuple[FeatureStore, FeatureStore], own_process_store: FeatureStore,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str) -> None:
    """A join DuckDB cannot do (a source file that is not Parquet) is an OfflineStoreError naming
    the view (here, joined one by one) or views (in a process of their own, all in one query) and
    DuckDB's reason; the own process's scratch files are gone."""
    import tempfile

    store = own_process_store if route == "own process" else stores[1]
    history = write_data(repo, 1)
    rows = entity_rows(1, history)
    (repo / "data" / "restaurant_load.parquet").write_bytes(b"not parquet")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # to see the scratch folder
    try:
        names = "'customer_stats', 'restaurant_profile', 'restaurant_load'" if route == "own process" else "'restaurant_load'"
        with pytest.raises(OfflineStoreError, match=rf"point-in-time retrieval of \[{names}\]: .*parquet"):
            store.get_historical_features(entity_df=rows, features=REFS).to_df()
    finally:
        write_data(repo, 1)
    assert list(tmp_path.iterdir()) == []


def test_ttl_edges_and_created_tie_break(repo: Path, stores: tuple[FeatureStore, FeatureStore]) -> None:
    """Hand-made cases, checked by value: the randomized test's anchors."""
    write_data(repo, 0)
    load = pd.DataFrame({
        "restaurant_id": [1, 1, 1, 2],
        "event_timestamp": [T0, T0, T0 + timedelta(minutes=5), T0],
        "created": [T0 + timedelta(seconds=9), T0 + timedelta(seconds=3), T0 + timedelta(minutes=5), T0],
        "prep": [10.0, 11.0, 12.0, 20.0],
        "queue": [1, 2, 3, 4],
    })
    for column in ("event_timestamp", "created"):
        load[column] = load[column].astype("datetime64[us, UTC]")
    load.to_parquet(repo / "data" / "restaurant_load.parquet", index=False)
    rows = pd.DataFrame({
        "restaurant_id": [1, 1, 2, 2, 1, 3, 2],
        "event_timestamp": [T0 + timedelta(minutes=4), T0 - timedelta(microseconds=1), T0 + timedelta(minutes=30),
                            T0 + timedelta(minutes=30, microseconds=1), T0 + timedelta(minutes=4), T0,
                            T0 + timedelta(minutes=30)],
    })
    got = stores[1].get_historical_features(entity_df=rows, features=["restaurant_load:prep"]).to_df()
    # created 9s beats 3s at the same event time; before history: null; exactly 30 min old: kept;
    # 1 µs more: null; repeated rows repeated; unknown restaurant: null
    assert got["prep"].tolist()[:1] == [10.0]
    assert np.isnan(got["prep"][1])
    assert got["prep"][2] == 20.0 and np.isnan(got["prep"][3])
    assert got["prep"][4] == 10.0 and np.isnan(got["prep"][5]) and got["prep"][6] == 20.0
    assert got["restaurant_id"].tolist() == rows["restaurant_id"].tolist()


def test_materialization_reads_match_feasts(repo: Path, stores: tuple[FeatureStore, FeatureStore]) -> None:
    write_data(repo, 3)
    view = next(v for v in VIEWS if v.name == "restaurant_load")
    args = dict(data_source=view.batch_source, join_key_columns=["restaurant_id"],
                feature_name_columns=["prep", "queue"], timestamp_field="event_timestamp",
                created_timestamp_column="created",
                start_date=T0 + timedelta(hours=1), end_date=T0 + timedelta(hours=5))
    feast_store, fresco_store = stores
    for method in ("pull_latest_from_table_or_query", "pull_all_from_table_or_query"):
        want = getattr(feast_store._get_provider().offline_store, method)(config=feast_store.config, **args).to_df()
        got = getattr(FrescoDuckDBOfflineStore, method)(config=fresco_store.config, **args).to_df()
        order = ["restaurant_id", "event_timestamp", "created"]
        want = want[got.columns].sort_values(order).reset_index(drop=True)
        got = got.sort_values(order).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert str(got["event_timestamp"].dtype).endswith("UTC]")


def test_materialize_and_serve_through_the_store(repo: Path, stores: tuple[FeatureStore, FeatureStore]) -> None:
    write_data(repo, 4)
    store = stores[1]
    store.materialize(T0 - timedelta(days=1), T0 + timedelta(days=1), ["restaurant_profile"])
    online = store.get_online_features(["restaurant_profile:capacity"], [{"restaurant_id": 1}]).to_dict()
    raw = pd.read_parquet(repo / "data" / "restaurant_profile")
    latest = raw[raw["restaurant_id"] == 1].sort_values("event_timestamp").iloc[-1]
    assert online["capacity"] == [int(latest["cap_raw"])]


def test_clear_errors(repo: Path, stores: tuple[FeatureStore, FeatureStore]) -> None:
    store = stores[1]
    rows = pd.DataFrame({"customer_id": [1], "when": ["2026-11-01"]})
    with pytest.raises(OfflineStoreError, match="event_timestamp"):
        store.get_historical_features(entity_df=rows, features=["customer_stats:spend"]).to_df()
    rows = pd.DataFrame({"restaurant_id": [1], "event_timestamp": [T0]})
    with pytest.raises(OfflineStoreError, match="lacks \\['customer_id'\\]"):
        store.get_historical_features(entity_df=rows, features=["customer_stats:spend"]).to_df()
    # the same mistakes in an entity query over Parquet
    folder = repo / "entity_query"
    folder.mkdir(exist_ok=True)
    rows.to_parquet(folder / "rows.parquet", index=False)
    with pytest.raises(OfflineStoreError, match="entity query lacks \\['customer_id'\\]"):
        store.get_historical_features(entity_df=parquet_entity_query(folder),
                                      features=["customer_stats:spend"]).to_df()
    rows.assign(moment=T0).to_parquet(folder / "rows.parquet", index=False)
    with pytest.raises(OfflineStoreError, match="exactly one timestamp column"):
        store.get_historical_features(entity_df=parquet_entity_query(folder / "rows.parquet").replace(
            "SELECT *", "SELECT restaurant_id, event_timestamp AS at, moment"),
            features=["restaurant_load:prep"]).to_df()
    with pytest.raises(OfflineStoreError, match="the entity query: .*nowhere"):
        store.get_historical_features(entity_df=parquet_entity_query(repo / "nowhere.parquet"),
                                      features=["restaurant_load:prep"]).to_df()


def test_a_duckdb_process_of_its_own_has_a_memory_limit_by_default(repo: Path) -> None:
    """In a process of its own DuckDB spills beyond OWN_PROCESS_MEMORY_LIMIT unless the store
    sets ``memory_limit`` (then that, in both places); in this process DuckDB's own default holds."""
    from fresco.platform.offline_stores.duckdb_store import OWN_PROCESS_MEMORY_LIMIT, _settings

    default = _config(repo, FRESCO)
    assert f"SET memory_limit = '{OWN_PROCESS_MEMORY_LIMIT}'" in _settings(default, own_process=True)
    assert not any("memory_limit" in s for s in _settings(default))
    limited = _config(repo, FRESCO, memory_limit="1GB")
    for own_process in (False, True):
        assert [s for s in _settings(limited, own_process=own_process) if "memory_limit" in s] == [
            "SET memory_limit = '1GB'"]
