"""A real management service for the tests: ``fresco ui`` started as its own process on a free
port, over a ``fresco init`` project with a second feature view (another owner, deprecated),
one view materialized, and basket-value models trained from the project's own config: three
XGBoost models (one partitioned) and a linear one; and a binary classifier of big baskets (the
same config, its label a basket over the median)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import free_port, run_feast, wait_until_answering

TOKEN = "test-secret-token"
HOLDER = "alice"
OWNER = "growth@shop.example"
CRM_OWNER = "crm@shop.example"

#: A second view over the sample's snapshots: another owner, deprecated, used by no service.
SEGMENTS_VIEW = '''

customer_segments = FeatureView(
    name="customer_segments",
    entities=[customer],
    ttl=timedelta(days=30),
    schema=[Field(name="segment", dtype=String, description="The CRM's segment of the customer.")],
    source=parquet_source("customer_segments_source", "data/customer_stats.parquet",
                          "The CRM's segments, from the daily snapshots."),
    online=True,
    owner="crm@shop.example",
    description="Segments as the CRM team assigns them.",
    tags={"freshness_sla": "7d", "deprecated": "true", "domain": "crm"},
)
'''


@dataclass
class Service:
    project: Path
    home: Path
    model_a: str  #: tagged basket_value:production
    model_b: str
    by_segment: str  #: partitioned by the customer's segment; premium answered by the root
    linear: str  #: a linear model: no trees
    binary: str  #: big_basket, a linear binary classifier
    url: str = ""

    @property
    def regressors(self) -> set[str]:
        """The basket-value models."""
        return {self.model_a, self.model_b, self.by_segment, self.linear}

    def env(self) -> dict[str, str]:
        """The environment pointing at this service's state folder."""
        return {"FRESCO_HOME": str(self.home), "BENTOML_HOME": str(self.home / "bentoml")}


def _train(project: Path, settings: dict[str, object] | None = None, **hyperparameters: int) -> str:
    from fresco.training import plan_training, train

    overrides = {f"model.hyperparameters.{k}": v for k, v in hyperparameters.items()}
    overrides["model.hyperparameters.nthread"] = 1
    return train(plan_training(project / "models" / "basket_value.yaml", overrides={**overrides, **(settings or {})})).uuid


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("FRESCO_", "FEAST_", "BENTOML_"))}


@dataclass
class Running:
    """A started ``fresco ui``: its URL and the file its output goes to."""

    url: str
    port: int
    output: Path


@contextmanager
def fresco_ui(project: Path, env: dict[str, str], output: Path, timeout: float = 60,
              args: list[str] | None = None) -> Iterator[Running]:
    """``fresco ui --repo PROJECT`` (or ``fresco ui ARGS``) on a free port (its output to
    ``output``) until ``GET /api`` answers; stopped after."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("fresco")), "ui", *(args or ["--repo", str(project)]),
               "--port", str(port)]
    with output.open("w") as log:
        server = subprocess.Popen(command, env={**_clean_env(), **env}, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    running = Running(f"http://127.0.0.1:{port}", port, output)
    try:
        wait_until_answering(server, running.url + "/api", "fresco ui", timeout, output.read_text)
        yield running
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Service:
    """The project, its state folder and models (no service yet)."""
    from fresco.platform import init_project, materialize_incremental, open_store
    from fresco.training import ModelRepository, plan_training, train

    root = tmp_path_factory.mktemp("ui")
    project = init_project(root / "shop", owner=OWNER).path
    with (project / "definitions.py").open("a") as definitions:
        definitions.write(SEGMENTS_VIEW)
    applied = run_feast(project, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    home = root / "home"
    os.environ["FRESCO_HOME"] = str(home)  # restored after the module (tests/conftest.py)
    os.environ["BENTOML_HOME"] = str(home / "bentoml")
    materialize_incremental(open_store(project), datetime.now(timezone.utc), ["customer_stats"], quiet=True)
    model_a = _train(project, n_estimators=30, max_depth=3)
    model_b = _train(project, n_estimators=10, max_depth=2)
    by_segment = _train(project, {"partitioning.columns": ["segment"], "partitioning.min_rows": 800,
                                  "resources.workers": 1}, n_estimators=10, max_depth=2)
    linear = train(plan_training(project / "models" / "basket_value.yaml",
                                 overrides={"model.type": "linear", "model.hyperparameters": {}})).uuid
    ModelRepository().tag("basket_value:production", model_a)
    return Service(project, home, model_a, model_b, by_segment, linear, _train_binary(project))


def _train_binary(project: Path) -> str:
    """``big_basket``: whether a basket is over the median, by a linear (logistic) model."""
    import pandas as pd

    from fresco.training import plan_training, train

    labels = pd.read_parquet(project / "data" / "labels.parquet")
    labels["big_basket"] = (labels["basket_value"] > labels["basket_value"].median()).astype("int64")
    path = project / "data" / "big_baskets.parquet"
    labels.drop(columns=["basket_value"]).to_parquet(path, index=False)
    overrides = {"model.name": "big_basket", "model.type": "linear", "model.task": "binary",
                 "model.hyperparameters": {}, "data.source.parquet": str(path), "data.label": "big_basket"}
    return train(plan_training(project / "models" / "basket_value.yaml", overrides=overrides)).uuid


@pytest.fixture(scope="module")
def service(project: Service) -> Iterator[Service]:
    """``fresco ui`` over the project, with a token whose holder is ``alice``."""
    env = {**project.env(), "FRESCO_API_TOKEN": TOKEN, "FRESCO_API_TOKEN_HOLDER": HOLDER}
    with fresco_ui(project.project, env, project.home.parent / "fresco-ui.log") as running:
        yield replace(project, url=running.url)


def served_and_observed(service: Service, tag: str, count: int = 12, observed: int = 8) -> list[str]:
    """``count`` predictions of ``tag`` through the in-process predictor, logged where the
    service reads them (``<state folder>/predictions``), and outcomes for ``observed`` of them."""
    from datetime import datetime, timezone

    import pandas as pd

    from fresco.platform import open_store
    from fresco.platform.logs import OutcomeRecord, OutcomeSink, PredictionSink
    from fresco.serving import Predictor
    from fresco.serving.prediction_log import AsyncLog
    from fresco.training import ModelRepository

    customers = pd.read_parquet(service.project / "data" / "labels.parquet")["customer_id"].drop_duplicates()
    writer = AsyncLog(PredictionSink(service.home / "predictions"), flush_seconds=0.05)
    predictor = Predictor(open_store(service.project), ModelRepository(service.home / "models"), prediction_log=writer)
    now = datetime.now(timezone.utc)
    answers = [predictor.predict(tag, [{"customer_id": int(c), "ordered_at": now.isoformat(), "channel": "app"}]).rows[0]
               for c in customers[:count]]
    writer.close()
    assert writer.stats().written == count
    OutcomeSink(service.home / "outcomes").write(
        [OutcomeRecord(a.prediction_id, a.prediction + 1.0, now, now) for a in answers[:observed]])
    return [a.prediction_id for a in answers]


#: Rules of ``fresco monitor check`` over the logged predictions of a tag: too few predictions
#: (a breach), and enough outcomes joined (ok).
CHECK_RULES = {"rules": [
    {"name": "too-quiet", "tag": "basket_value:production", "metric": "predictions", "window": "1d", "below": 1000},
    {"name": "joined", "tag": "basket_value:production", "metric": "join_rate", "window": "1d", "above": 0.99,
     "min_count": 1000}], "freshness": "none"}


def reported_and_checked(service: Service, tag: str) -> tuple[dict, list]:
    """``fresco monitor report`` of ``tag``'s logged predictions (logged first when there are none)
    and ``fresco monitor check`` of :data:`CHECK_RULES`, both written where they are by default
    (the state folder's ``monitoring/``): the report's figures and the check's verdicts."""
    from fresco.monitoring.alerts import check, checks_folder, record
    from fresco.monitoring.report import report_from_logs
    from fresco.monitoring.rules import MonitoringConfig
    from fresco.training import ModelRepository

    if not list((service.home / "predictions").rglob("*.parquet")):
        served_and_observed(service, tag)
    report = report_from_logs(tag, repository=ModelRepository(service.home / "models"))
    at = datetime.now(timezone.utc)
    results = check(MonitoringConfig.model_validate(CHECK_RULES), at)
    record(results, checks_folder(), at)
    return report.figures, results


def suggested(service: Service) -> dict:
    """``fresco features suggest`` of the project's basket values, stored where it is by default
    (the state folder's ``suggestions``): its JSON with its folder's ``name``."""
    import json

    from tests.conftest import invoke_fresco

    labels = service.project / "data" / "labels.parquet"
    done = invoke_fresco("features", "suggest", str(labels), "--label", "basket_value", "--repo", str(service.project),
                         cwd=service.home.parent, env=service.env())
    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = [f for f in (service.home / "suggestions").iterdir() if str(f) in done.stdout]
    return {"name": folder.name, **json.loads((folder / "suggestion.json").read_text())}
