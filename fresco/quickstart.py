"""``fresco quickstart``: the platform's main job on the embedded default, end to end.

Generates the example data, computes the feature groups with Spark, registers the catalog
with Feast (catalog policy included), materializes the online store and builds a point-in-time
correct training dataset, then says what it did and where everything is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from fresco.example import REPO_DIR as EXAMPLE_REPO
from fresco.platform import apply_catalog, list_catalog, materialize_incremental, open_store, state_dir
from fresco.platform.repo import chosen_repository
from fresco.platform.state import state_home
from fresco.training import ModelRepository, build_training_frame, train

FEATURE_SERVICE = "delivery_eta_v1"
LABEL = "delivery_duration_min"
REQUEST_FIELDS = ["customer_lat", "customer_lon", "num_items"]
#: The example's model config: in the source checkout, beside the bundled feature repository.
MODEL_CONFIG = EXAMPLE_REPO.parent / "examples" / "delivery_eta.yaml"
#: The same model partitioned by region and city (a model per city where the data allows).
PARTITIONED_CONFIG = EXAMPLE_REPO.parent / "examples" / "delivery_eta_by_city.yaml"
#: The example's alert rules (``fresco monitor check --rules``), beside it.
MONITORING_RULES = EXAMPLE_REPO.parent / "examples" / "monitoring.yaml"
#: Orders served over HTTP (drawn from the test period), then reported with their outcomes.
SERVED_ORDERS = 300
MODEL_TAG = "delivery_eta:production"


@dataclass
class QuickstartReport:
    """What the quickstart produced, for printing and for tests."""

    repo: Path
    raw_dir: Path
    features_dir: Path
    dataset_path: Path
    orders: int
    restaurants: int
    feature_rows: dict[str, int]
    dataset_rows: int
    dataset_columns: list[str]
    null_share: dict[str, float]
    end: datetime
    seconds: dict[str, float] = field(default_factory=dict)
    model_uuid: str = ""
    model_metrics: dict[str, float] = field(default_factory=dict)
    model_baseline: dict[str, float] = field(default_factory=dict)
    model_report: Path | None = None
    predictions: list[dict] = field(default_factory=list)
    monitored: dict[str, float] = field(default_factory=dict)  # logged, with_outcome, mae
    accuracy_path: Path | None = None
    monitoring_report: Path | None = None  #: the drift and data-quality report's HTML
    drifted: list[str] = field(default_factory=list)  #: the inputs it found drifted
    checks: list[str] = field(default_factory=list)  #: `fresco monitor check`'s lines
    checks_breached: int = 0
    streamed: list[dict] = field(default_factory=list)  # with --streaming: one record per live event


def _step(name: str, echo: Callable[[str], None], seconds: dict[str, float]):
    class _Timer:
        def __enter__(self):
            echo(f"==> {name}")
            self.start = time.perf_counter()

        def __exit__(self, *exc):
            seconds[name] = time.perf_counter() - self.start
            if exc[0] is None:
                echo(f"    done in {seconds[name]:.1f}s")

    return _Timer()


class QuickstartFolderError(ValueError):
    """The folder given to run the example in can be neither used nor prepared."""


def example_folder(repo: Path) -> Path:
    """``repo`` ready for the example: as it is when it holds a ``feature_store.yaml``; a new
    or empty folder gets a copy of the example's definitions; anything else is refused, so
    nothing of someone's own is overwritten."""
    from fresco.example import copy_definitions

    if (repo / "feature_store.yaml").is_file():
        return repo
    if repo.exists() and (not repo.is_dir() or any(repo.iterdir())):
        raise QuickstartFolderError(
            f"{repo} is not empty and holds no feature_store.yaml: give a new or empty folder (the "
            "example's repository is copied there) or a copy of the example's repository")
    return copy_definitions(repo)


def run_quickstart(
    repo: Path = EXAMPLE_REPO,
    *,
    orders: int = 60_000,
    restaurants: int = 200,
    days: int = 28,
    seed: int = 7,
    echo: Callable[[str], None] = print,
    streaming: bool = False,
) -> QuickstartReport:
    """Run the quickstart in ``repo`` (a Feast repository using the embedded default).

    Its models, reports and logs go to ``repo``'s state folder (``<repo>/.fresco``, unless
    ``$FRESCO_HOME`` says otherwise): where the commands it suggests look when run from ``repo``.
    With ``streaming``, it then starts Kafka and the stream job and shows live events changing
    a prediction (:func:`stream_live`); without, it starts no server that outlives it.
    """
    repo = example_folder(Path(repo).resolve())
    with chosen_repository(repo):  # its state folder, and the server it starts, follow it
        if streaming:  # before the first Spark session: it must have the Kafka connector
            from fresco.platform.streaming.connector import ensure_connector

            ensure_connector()
        report = _run(repo, orders=orders, restaurants=restaurants, days=days, seed=seed, echo=echo)
        if streaming:
            report.streamed = stream_live(repo, report, echo)
        return report


def stream_live(repo: Path, report: QuickstartReport, echo: Callable[[str], None],
                preparation_minutes: tuple[float, ...] = (35.0, 42.0, 50.0)) -> list[dict]:
    """Start the local Kafka broker and ``restaurant_realtime``'s stream job on the embedded
    online store, publish live order-ready events for one restaurant (a kitchen slowing down)
    and print the served features and prediction after each, with the event -> online delay.
    Returns one record per event."""
    from fresco.platform.services import kafka
    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob, kafka_session
    from fresco.platform.streaming.producer import EventPublisher
    from fresco.serving import Predictor

    timings: dict[str, float] = {}
    with _step("Streaming restaurant_realtime: Kafka -> Spark Structured Streaming -> the online store",
               echo, timings):
        broker = kafka.status()
        if not broker.running:
            broker = kafka.start(quiet=True)
        echo(f"    {broker.describe()}")
        store = open_store(repo)
        group = stream_group(store, "restaurant_realtime")
        job = StreamJob(store, group, kafka_session("fresco-quickstart"), trigger_seconds=0.5,
                        starting_offsets="latest", say=lambda m: None).start()
        publisher = EventPublisher.for_source(store, "order_ready_events")
        predictor = Predictor(store)
        request = {k: v for k, v in report.predictions[0].items()
                   if k in ("restaurant_id", "placed_at", *REQUEST_FIELDS)}
        restaurant = request["restaurant_id"]
        refs = [f"restaurant_realtime:{a.name}" for a in group.aggregates]

        def served() -> tuple[dict, float]:
            request["placed_at"] = datetime.now(timezone.utc).isoformat()
            row = predictor.predict(MODEL_TAG, [request], return_features=True).rows[0]
            return {ref.split(":")[1]: row.features[ref] for ref in refs}, row.prediction

        try:
            job.wait_ready()
            echo(f"    stream job running from the end of {group.topic}: its windows hold the live events only")
            features, prediction = served()
            echo(f"    restaurant {restaurant} before: {_features_text(features)} -> {prediction:.1f} min")
            records = []
            for i, minutes in enumerate(preparation_minutes, 1):
                sent = datetime.now(timezone.utc)
                publisher.publish({"order_id": 2_000_000_000 + int(sent.timestamp() * 1000) % 1_000_000_000,
                                   "restaurant_id": restaurant, "ready_at": sent, "prep_time_min": minutes})
                publisher.flush()
                deadline = time.monotonic() + 60
                while (seen := served())[0] == features:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the stream job wrote nothing online 60 s after an event; "
                                           f"see {job.home / 'status.json'}: {job.refresh()}")
                    time.sleep(0.1)
                delay = (datetime.now(timezone.utc) - sent).total_seconds()
                features, prediction = seen
                echo(f"    event {i}: an order ready after {minutes:.0f} min -> online in {delay:.1f} s: "
                     f"{_features_text(features)} -> {prediction:.1f} min")
                records.append({"prep_time_min": minutes, "delay_s": delay, "prediction": prediction, **features})
        finally:
            job.stop()
    echo(f"    the stream job keeps its checkpoint in {job.home}; run it yourself with "
         f"`fresco stream run restaurant_realtime` (Kafka still runs: `fresco services stop kafka`)")
    return records


def _features_text(features: dict) -> str:
    return ", ".join(f"{k}={'none' if v is None else (f'{v:.1f}' if isinstance(v, float) else v)}"
                     for k, v in features.items())


def _run(repo: Path, *, orders: int, restaurants: int, days: int, seed: int,
         echo: Callable[[str], None]) -> QuickstartReport:
    from fresco.example.pipelines import generate_raw, run_feature_groups
    from fresco.platform.spark import spark_session

    if not MODEL_CONFIG.is_file():
        raise FileNotFoundError(f"the quickstart runs the bundled example from a source checkout "
                                f"({MODEL_CONFIG} not found); for your own data use `fresco init DIR`")
    raw_dir, features_dir = repo / "data" / "raw", repo / "data" / "features"
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    seconds: dict[str, float] = {}

    with _step(f"Generating {orders:,} orders for {restaurants} restaurants", echo, seconds):
        raw = generate_raw(
            raw_dir, restaurants=restaurants, orders=orders, days=days, seed=seed, end=end
        )
    with _step("Computing the feature groups with Spark (local mode)", echo, seconds):
        spark = spark_session("fresco-quickstart")
        spark.sparkContext.setLogLevel("ERROR")
        feature_rows = run_feature_groups(spark, raw_dir, features_dir)
    with _step("Registering the feature catalog (feast apply, with the catalog policy)", echo, seconds):
        apply_catalog(repo)
    store = open_store(repo)
    with _step("Materializing the online store (SQLite)", echo, seconds):
        materialize_incremental(store, end)
    with _step(f"Building the training dataset from feature service {FEATURE_SERVICE}", echo, seconds):
        entity_rows = pd.read_parquet(raw.orders_path)[
            ["order_id", "restaurant_id", "placed_at", *REQUEST_FIELDS, LABEL]
        ]
        frame = build_training_frame(
            entity_rows, FEATURE_SERVICE, store, timestamp_column="placed_at"
        )
        dataset_path = state_dir() / "datasets" / f"{FEATURE_SERVICE}.parquet"
        dataset_path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(dataset_path, index=False)
    with _step(f"Training the example model ({MODEL_CONFIG.name}) and tagging it {MODEL_TAG}", echo, seconds):
        trained = train(
            MODEL_CONFIG,
            overrides={"data.source.parquet": str(raw.orders_path), "features.repo": str(repo)},
            store=store,
            progress=lambda message: echo(f"    {message}"),
        )
        ModelRepository().tag(MODEL_TAG, trained.uuid)
    with _step(f"Serving {MODEL_TAG} over HTTP (BentoML): predictions, then their outcomes", echo, seconds):
        from fresco.serving.server import serve_and_predict

        # orders of the held-out period (the model's reference sample is drawn from it), so the
        # drift report compares like with like
        recent = pd.read_parquet(raw.orders_path).sort_values("placed_at").tail(raw.orders // 5)
        latest = recent.sample(min(SERVED_ORDERS, len(recent)), random_state=seed).sort_values("placed_at")
        requests = [
            {"restaurant_id": int(o["restaurant_id"]), "placed_at": o["placed_at"].isoformat(),
             **{f: getattr(o[f], "item", lambda v=o[f]: v)() for f in REQUEST_FIELDS}}
            for o in latest.to_dict("records")
        ]
        # the online store loaded up to this moment, as in production: the example's data runs
        # past `end` (orders placed before it are ready after it, and their realtime windows
        # are stamped then), and what serving lacks offline has is skew (`fresco monitor skew`)
        materialize_incremental(store, datetime.now(timezone.utc), quiet=True)
        # the delivery times these orders really took, reported as their outcomes
        predictions = serve_and_predict(MODEL_TAG, requests, repo=repo,
                                        log=state_dir() / "logs" / "quickstart-serve.log",
                                        outcomes=[float(v) for v in latest[LABEL]])
        predictions = [{**p, LABEL: float(y)} for p, y in zip(predictions, latest[LABEL])]  # the outcome sent
    with _step("Monitoring: accuracy on the outcomes, drift against the model's reference sample, "
               "the example's alert rules", echo, seconds):
        from fresco.monitoring import accuracy_from_logs, report_from_logs
        from fresco.monitoring.alerts import BREACH, check, checks_folder, record
        from fresco.monitoring.rules import load_monitoring

        joined, accuracy = accuracy_from_logs(lambda _: trained.record.task, model=trained.uuid,
                                              window="1D")
        accuracy_path = state_dir() / "monitoring" / "accuracy.parquet"
        accuracy_path.parent.mkdir(parents=True, exist_ok=True)
        accuracy.to_parquet(accuracy_path, index=False)
        drift = report_from_logs(MODEL_TAG)
        now = datetime.now(timezone.utc)
        results = check(load_monitoring(MONITORING_RULES), now, store=store)
        record(results, checks_folder(), now)  # where fresco ui reads them
    feature_columns = [c for c in frame.columns if "__" in c]
    report = QuickstartReport(
        repo=repo,
        raw_dir=raw_dir,
        features_dir=features_dir,
        dataset_path=dataset_path,
        orders=raw.orders,
        restaurants=raw.restaurants,
        feature_rows=feature_rows,
        dataset_rows=len(frame),
        dataset_columns=list(frame.columns),
        null_share={c: float(frame[c].isna().mean()) for c in feature_columns},
        end=end,
        seconds=seconds,
        model_uuid=trained.uuid,
        model_metrics=trained.record.metrics["test"],
        model_baseline=trained.record.baseline["test"],
        model_report=trained.report_html,
        predictions=predictions,
        monitored={"logged": joined.predictions, "with_outcome": joined.matched,
                   "mae": float(accuracy.loc[accuracy["outcomes"] > 0, "mae"].mean())},
        accuracy_path=accuracy_path,
        monitoring_report=drift.html,
        drifted=list(drift.figures["drift"]["drifted_inputs"]),
        checks=[r.line() for r in results],
        checks_breached=sum(r.status == BREACH for r in results),
    )
    echo(describe(report, len(list_catalog(store))))
    return report


def next_commands(repo: Path, cwd: Path | None = None) -> list[str]:
    """The commands the quickstart suggests, to run in this order from ``cwd`` (the first one
    goes to the example's repository, where the others find its catalog, models and logs)."""
    cwd = (cwd or Path.cwd()).resolve()
    where = os.path.relpath(repo, cwd) if repo.is_relative_to(cwd) else str(repo)
    return [f"cd {where}", "fresco features", "fresco models list", "fresco models show delivery_eta:production",
            "fresco monitor metrics", "fresco monitor report delivery_eta:production", "fresco serve"]


def ui_command(repo: Path) -> tuple[str, str]:
    """How to open the management pages over the quickstart's repository: the ``fresco ui``
    command (it runs from anywhere) and the address its pages answer at."""
    import shlex

    from fresco.options import UI_PORT
    from fresco.ui.server import urls

    pages, _, _ = urls("127.0.0.1", UI_PORT)
    return f"fresco ui --repo {shlex.quote(str(repo))}", pages


def partitioned_command(repo: Path, orders: Path) -> str:
    """The command that trains the example's partitioned model on the quickstart's data."""
    import shlex

    return (f"fresco train {shlex.quote(str(PARTITIONED_CONFIG))} --repo {shlex.quote(str(repo))} "
            f"--set data.source.parquet={shlex.quote(str(orders))}")


def describe(report: QuickstartReport, features_registered: int) -> str:
    """A short, readable account of a quickstart run."""
    rows = "\n".join(f"      {name:<22} {count:>9,} rows" for name, count in report.feature_rows.items())
    nulls = "\n".join(
        f"      {name:<44} {share:6.1%} null" for name, share in report.null_share.items()
    )
    total = sum(report.seconds.values())
    metrics = "  ".join(
        f"{k}={v:.3f} (mean: {report.model_baseline.get(k, float('nan')):.3f})"
        for k, v in report.model_metrics.items()
    )
    commands = "\n".join(f"  {command}" for command in next_commands(report.repo))
    ui = ui_command(report.repo)
    served = "\n".join(
        f"      restaurant {p['restaurant_id']:>4}  placed {p['placed_at'][:16]}  "
        f"{p['num_items']} items  ->  {p['prediction']:5.1f} min  ({p['model_uuid'][:8]})"
        for p in report.predictions[:3]
    ) + (f"\n      ... and {len(report.predictions) - 3} more" if len(report.predictions) > 3 else "")
    checks = "\n".join(f"      {line}" for line in report.checks)
    return f"""
Fresco quickstart finished in {total:.0f}s.

  Raw data        {report.raw_dir}
                  {report.orders:,} orders, {report.restaurants} restaurants, up to {report.end:%Y-%m-%d %H:%M} UTC
  Feature groups  {report.features_dir}  (Parquet, computed by Spark)
{rows}
  Catalog         {features_registered} features registered in {report.repo / 'data' / 'registry.db'}
                  (list them with: fresco features)
  Online store    {report.repo / 'data' / 'online_store.db'}  (SQLite, materialized up to now)
  Training data   {report.dataset_path}
                  {report.dataset_rows:,} rows, one per order, point-in-time correct; features:
{nulls}
  Model           delivery_eta {report.model_uuid}  (tag {MODEL_TAG})
                  test (held out) {metrics}
                  report: {report.model_report}
  Predictions     POST /predict {{"model": "{MODEL_TAG}", "rows": [...]}}  (fresco serve)
{served}
  Monitoring      {report.monitored.get('logged', 0):,} predictions logged, {report.monitored.get('with_outcome', 0):,} with the outcome reported
                  (POST /outcome); their MAE {report.monitored.get('mae', float('nan')):.1f} min
                  accuracy over time: fresco monitor metrics  (table: {report.accuracy_path})
                  drift and data quality against the model's reference sample (Evidently):
                  {report.monitoring_report}
                  inputs drifted: {', '.join(report.drifted) or 'none'}
                  alert rules ({MONITORING_RULES.name}): {report.checks_breached} breached
{checks}
  Partitioned     the same model, one per region and city where the data allows (about a minute):
                  {partitioned_command(report.repo, report.raw_dir / "orders.parquet")}

Next, from the example's repository (its models, reports and logs are in {state_home(report.repo)}):
{commands}
  (`fresco serve` answers on http://127.0.0.1:3000 once GET /readyz is 200; `feast ui` browses the catalog)
  (Fresco's web pages, the catalog, models, tags, training and monitoring: `{ui[0]}`, then open {ui[1]})
"""
