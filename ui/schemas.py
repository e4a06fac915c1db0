"""The shapes of the management API's answers, as its OpenAPI document publishes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error answer: the prediction service's shape."""

    error: str = Field(description="The kind: bad_request, unauthorized, unknown_model, unknown_feature, "
                                   "not_found (a config, training job or experiment), method_not_allowed, error.")
    message: str = Field(description="What is wrong, and what to do.")
    field: str | None = Field(None, description="The request's field at fault (a query parameter, a path "
                                                "part, a body field as a dotted path).")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers ``statuses`` of an endpoint."""
    meaning = {400: "A bad query or body, naming its field.", 401: "No or a wrong bearer token, or none on the server.",
               404: "No such model, tag, feature view, feature, config, training job or experiment."}
    return {status: {"model": ErrorBody, "description": meaning[status]} for status in statuses}


class ModelUse(BaseModel):
    uuid: str
    name: str


class Freshness(BaseModel):
    freshness_sla_seconds: float | None = Field(description="The view's freshness SLA (null: none).")
    last_written: str | None = Field(description="When the view's online values were last written (ISO, UTC; "
                                                 "null: never).")
    written_by: str | None = Field(description="materialization or stream job.")
    within_sla: bool | None = Field(description="Whether the last write is within the SLA now (null: no SLA).")


class Feature(Freshness):
    ref: str = Field(description="view:feature")
    view: str
    name: str
    type: str
    owner: str
    description: str
    ttl_seconds: float | None = Field(description="The view's TTL (null: values never expire).")
    freshness_sla: str | None = Field(description="The view's freshness_sla tag as written (e.g. 1d).")
    source: str = Field(description="The view's data source.")
    deprecated: bool
    tags: dict[str, str] = Field(description="The view's tags.")
    feature_services: list[str] = Field(description="The feature services using the feature.")
    models: list[ModelUse] = Field(description="The registered models trained on the feature.")


class FeatureList(BaseModel):
    features: list[Feature]


class View(Freshness):
    view: str
    owner: str
    description: str
    entities: list[str]
    ttl_seconds: float | None
    source: str
    tags: dict[str, str]
    deprecated: bool
    features: list[Feature]


class HeldOut(BaseModel):
    split: str = Field(description="test (held out); validation for models trained before there was a test split.")
    metrics: dict[str, float | None]


class ModelSummary(BaseModel):
    uuid: str
    name: str
    model_type: str
    task: str
    label: str
    author: str
    started_at: str
    finished_at: str
    tags: list[str]
    held_out: HeldOut


class ModelList(BaseModel):
    models: list[ModelSummary]


class ModelDetail(ModelSummary):
    inputs: list[str] = Field(description="The model's inputs (the DSL program's outputs), in order.")
    config: dict[str, Any] = Field(description="The training config as trained.")
    dataset: dict[str, Any] = Field(description="The dataset's reference: source, time range, features, "
                                                "rows per split, content hash.")
    metrics: dict[str, dict[str, float | None]] = Field(description="Split -> metric -> value.")
    baseline: dict[str, Any] = Field(description="The baseline's metrics per split.")
    feature_importance: dict[str, float] = Field(description="Input -> importance.")
    partitions: dict[str, Any] | None = Field(description="A partitioned model's columns and partitions.")
    trials: int = Field(description="Search trials run (0: no search).")
    extensions: dict[str, Any] = Field(description="User DSL functions and trainer the model needs.")


class TreeList(BaseModel):
    uuid: str
    partition: str = Field(description="The partition whose trees these are (root: the whole model's).")
    partitions: list[str] = Field(description="The model's trained partitions (root alone: not partitioned).")
    count: int = Field(description="Trees in the ensemble, numbered from 0.")
    best_iteration: int | None = Field(description="Early stopping's best round: later trees do not predict.")


class TreeNode(BaseModel):
    id: int
    cover: float | None = Field(None, description="The training rows' hessian sum reaching the node.")
    leaf: float | None = Field(None, description="A leaf's value (absent on a split).")
    feature: str | None = Field(None, description="The input a split tests.")
    threshold: float | None = Field(None, description="A row goes to yes when its input is below it.")
    gain: float | None = Field(None, description="The split's loss reduction.")
    missing: str | None = Field(None, description="yes or no: where a missing value goes.")
    yes: TreeNode | None = None
    no: TreeNode | None = None


class TreeAnswer(BaseModel):
    uuid: str
    partition: str
    index: int
    count: int
    root: TreeNode


class Comparison(BaseModel):
    models: list[ModelSummary]
    metrics: dict[str, dict[str, Any]] = Field(description="split.metric -> UUID -> value.")
    config_diff: dict[str, dict[str, Any]] = Field(description="Dotted config key -> UUID -> value, the keys "
                                                               "whose values differ.")
    importance: dict[str, dict[str, float]] = Field(description="Input -> UUID -> importance.")


class Evaluation(BaseModel):
    uuid: str
    name: str
    task: str
    split: str = Field(description="The split the reference sample was drawn from (test: held out).")
    sample_rows: int = Field(description="Rows in the model's reference sample (the curves' data).")
    test_rows: int = Field(description="Rows of the test split the sample was drawn from.")
    seed: int = Field(description="The seed the sample was drawn with.")
    metrics: dict[str, float | None] = Field(description="The task's metrics on the sample.")
    curves: dict[str, Any] = Field(description="Regression: predicted_vs_actual (points and deciles), residuals, "
                                               "residual_histogram; binary: curves (ROC fpr/tpr, precision/recall), "
                                               "calibration, confusion_matrix.")


class ComparedCurves(BaseModel):
    task: str
    models: list[ModelSummary]
    evaluations: dict[str, Evaluation] = Field(description="UUID -> its curves, each from its own reference sample.")


class PartialDependence(BaseModel):
    uuid: str
    features: list[str] = Field(description="The one or two inputs varied.")
    kinds: list[str] = Field(description="Each input's kind (numerical: quantile grid; categorical: its values).")
    rows: int = Field(description="Reference sample rows averaged over.")
    sample_rows: int = Field(description="Rows in the model's reference sample.")
    limits: dict[str, int] = Field(description="The largest grid_points and rows a request may ask for.")
    grids: list[list[float]] = Field(description="Each input's grid values.")
    mean_prediction: list[Any] = Field(description="One input: the mean prediction per grid value; two: a list "
                                                   "per value of the first, one entry per value of the second.")


class Arm(BaseModel):
    arm: str = Field(description="The arm as the experiment names it (UUID, prefix or tag).")
    uuid: str
    weight: float


class ExperimentRoute(BaseModel):
    name: str
    key: list[str] | None = Field(description="The row fields the split sticks to (null: the entity keys).")
    arms: list[Arm]


class Route(BaseModel):
    uuid: str | None = Field(description="The model answering the tag's requests (null: an experiment splits them).")
    experiment: ExperimentRoute | None


class Tag(BaseModel):
    tag: str
    uuid: str
    model: str | None = Field(description="The tagged model's name.")
    moved_at: str | None
    moved_by: str | None
    route: Route = Field(description="Where the prediction service sends the tag's requests now.")


class TagList(BaseModel):
    tags: list[Tag]


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    at: str = Field(description="When (ISO, UTC).")
    by: str = Field(description="The token's holder.")
    action: str = Field(description=("What: tag.move (with tag, model, from, to), experiment.start / change / stop "
                                     "(experiment, tag, key, from and to arms), train.start (job, config, overrides)."))


class AuditLog(BaseModel):
    entries: list[AuditEntry]


class TagMoved(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tag: str
    from_: str | None = Field(alias="from", description="The model the tag pointed at (null: a new tag).")
    to: str = Field(description="The model it points at now.")
    moved_at: str
    moved_by: str
    audit: AuditEntry


class ServiceInfo(BaseModel):
    service: str
    repository: str
    state: str
    openapi: str
    changes_enabled: bool


class ConfigSummary(BaseModel):
    name: str = Field(description="The config's name: its file's stem in the repository's models/ folder.")
    path: str
    model: str | None
    type: str | None
    task: str | None
    problem: str | None = Field(description="Why the config cannot be read (null: it can).")


class ConfigList(BaseModel):
    configs: list[ConfigSummary]


class ConfigDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    path: str
    config: dict[str, Any] = Field(description="The config as read (relative paths resolved).")
    schema_: dict[str, Any] = Field(alias="schema", description="The JSON schema of a model config.")
    hyperparameters_schema: dict[str, Any] | None = Field(
        description="The JSON schema of the trainer's hyperparameters (null: the trainer is not found).")


class JobSummary(BaseModel):
    id: str
    config: str
    overrides: dict[str, Any]
    started_at: str
    started_by: str
    returncode: int | None
    finished_at: str | None
    status: Literal["running", "succeeded", "failed"]
    model: str | None = Field(description="The new model's UUID, once it succeeded.")
    error: str | None = Field(description="Why it failed.")


class JobList(BaseModel):
    jobs: list[JobSummary]


class Job(JobSummary):
    progress: list[str] = Field(description="The training's output lines so far.")


class JobStarted(Job):
    audit: AuditEntry


class ExperimentRecord(BaseModel):
    name: str
    tag: str
    arms: dict[str, float] = Field(description="Model (as given) -> weight.")
    key: list[str] | None
    changed_at: str
    changed_by: str
    action: str | None = Field(description="In the history: start, change or stop.")


class ExperimentList(BaseModel):
    experiments: list[ExperimentRecord]
    history: list[ExperimentRecord]


class ExperimentChanged(ExperimentRecord):
    model_config = ConfigDict(populate_by_name=True)

    from_: dict[str, float] | None = Field(alias="from", description="The arms before (null: it was not running).")
    route: Route = Field(description="Where the prediction service sends the tag's requests now.")
    audit: AuditEntry


class AccuracyRow(BaseModel):
    model_config = ConfigDict(extra="allow")  # the task's metrics, e.g. rmse, mae (null: no outcome)

    window_start: str
    model_uuid: str
    model: str | None
    tag: str | None
    experiment: str | None
    arm: str | None
    task: str
    predictions: int
    outcomes: int
    join_rate: float


class JoinCounts(BaseModel):
    predictions: int
    outcomes: int
    matched: int
    duplicates: int
    late: int
    unmatched: int


class Accuracy(BaseModel):
    window: str
    rows: list[AccuracyRow]
    totals: list[GroupCounts] = Field(description="Predictions and outcomes per model / tag / experiment / arm "
                                                  "over every window.")
    counts: JoinCounts | None
    message: str | None = Field(description="Why there are no rows.")


class GroupCounts(BaseModel):
    model_uuid: str
    model: str | None
    tag: str | None
    experiment: str | None
    arm: str | None
    predictions: int
    outcomes: int
    join_rate: float


class DriftSummary(BaseModel):
    model_uuid: str
    model: str | None
    report: str = Field(description="The report's UTC time, its name in the stored reports.")
    written_at: str
    predictions: int
    first_prediction: str
    last_prediction: str
    inputs: int
    drifted: int
    share: float = Field(description="The share of the model's inputs drifted against its reference sample.")
    drifted_inputs: list[str]
    prediction_drifted: bool
    html: str = Field(description="The report's HTML, served by this API.")
    quality_html: str | None = Field(description="The quality report's HTML (null: no outcomes were joined).")


class DriftSummaries(BaseModel):
    reports: list[DriftSummary] = Field(description="Each model's latest report, the newest first.")


class CheckVerdict(BaseModel):
    rule: str
    subject: str = Field(description="model <name> <uuid>, tag <tag> or view <name>.")
    metric: str
    value: float | None
    threshold: float | None
    direction: str
    window_start: str | None
    window_end: str
    count: int
    min_count: int
    status: str = Field(description="breach, ok or insufficient.")
    detail: str
    checked_at: str
    evidence: str = Field(description="The verdict as fresco monitor check printed it.")


class Checks(BaseModel):
    checks: list[CheckVerdict]
    total: int = Field(description="How many recorded verdicts have the status asked for.")


class Bin(BaseModel):
    low: float
    high: float
    count: int


class ValueCount(BaseModel):
    value: str
    count: int


class Distribution(BaseModel):
    ref: str
    source: str
    source_rows: int | None = Field(description="The rows of the view's offline source (null: not sampled).")
    sampled: int = Field(description="The rows sampled (uniformly, at most the rows asked for).")
    kind: Literal["number", "category"] | None = Field(description="number: a histogram; category: top values.")
    nulls: int = Field(description="Sampled rows without a value.")
    bins: list[Bin] | None
    values: list[ValueCount] | None = Field(description="The most frequent values, as text.")
    other: int | None = Field(description="Sampled rows holding a value not listed.")
    min: float | None
    max: float | None
    mean: float | None
    message: str | None = Field(description="Why nothing was sampled.")


class Registration(BaseModel):
    at: str | None = Field(description="When (ISO, UTC; null: registered before the history kept times).")
    source: str = Field(description="The view's batch source then.")
    added: list[str] = Field(description="The features first registered then.")


class HistoryFeatureRow(BaseModel):
    name: str
    type: str = Field(description="Its type when first registered (a registered type never changes).")
    registered_at: str | None
    source: str
    current: bool = Field(description="Whether the view still has it.")


class ViewHistory(BaseModel):
    view: str
    created_at: str | None = Field(description="When the view was first registered (its registry record).")
    last_updated_at: str | None = Field(description="When its registry record last changed (an apply, a materialization).")
    changes: list[Registration] = Field(description="The registrations, oldest first.")
    features: list[HistoryFeatureRow] = Field(description="Every feature ever registered in the view.")
    removed: list[str] = Field(description="Features registered once and no longer in the view.")


class SuggestionSummary(BaseModel):
    name: str = Field(description="The report's folder name in the state folder's suggestions.")
    label: str
    task: str
    labels: str = Field(description="The label rows the ranking ran on (a Parquet path or a Hive table).")
    rows: int
    created_at: str
    top: list[str] = Field(description="The features of the draft: the best that improve the hold-out.")
    metric: str
    model_metric: float | None = Field(description="The quick model's metric on the hold-out.")
    baseline_metric: float | None = Field(description="The label's baseline's metric on the hold-out.")


class SuggestionList(BaseModel):
    suggestions: list[SuggestionSummary] = Field(description="Every stored suggestion, the newest first.")


class Suggestion(BaseModel):
    """A stored suggestion's whole JSON, as ``fresco features suggest`` wrote it."""

    model_config = ConfigDict(extra="allow")

    name: str
    label: str
    task: str
    features: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    ranking: dict[str, Any]
    top: list[str]
