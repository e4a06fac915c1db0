"""The monitoring config: alert rules on the prediction log and feature freshness, validated
like model configs (pydantic; errors name the field path), evaluated by
:mod:`fresco.monitoring.alerts` (``fresco monitor check``).

.. code-block:: yaml

    rules:
      - name: churn-rmse                 # unique; names the rule in every line and record
        model: churn:production         # a model reference (tag, UUID or prefix), resolved at check time
        metric: rmse                    # an accuracy metric of the model's task, join_rate,
                                        # drift_share, null_rate, predictions or skew_rate
        window: 1d                      # the period before the check's time
        above: 8.0                      # breach above this (or below: for auc, volume...)
        min_count: 100                  # outcomes (accuracy metrics) or predictions needed
      - name: churn-volume
        tag: churn:production           # predictions logged under this tag, whichever model served them
        metric: predictions
        window: 1h
        below: 10
    freshness: all                      # every feature view against its freshness_sla; none; or a list
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fresco.training.config import ConfigError, field_path
from fresco.training.metrics import BINARY_METRICS, REGRESSION_METRICS

WHAT = "monitoring config"
#: Metrics a rule may watch besides the accuracy metrics of the model's task.
LOG_METRICS = ("join_rate", "drift_share", "null_rate", "predictions")
#: The share of replayed predictions with a training/serving mismatch (``fresco monitor skew``):
#: needs the feature repository.
SKEW_METRIC = "skew_rate"
METRICS = (*REGRESSION_METRICS, *BINARY_METRICS, *LOG_METRICS, SKEW_METRIC)


def parse_window(text: str) -> timedelta:
    """A rule's window (``30min``, ``6h``, ``1d``, ``7d``) as a positive ``timedelta``."""
    import pandas as pd

    try:
        span = pd.Timedelta(text).to_pytimedelta()
    except ValueError:
        raise ValueError(f"{text!r} is not a duration such as 30min, 6h or 7d") from None
    if span <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration")
    return span


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rule(_Strict):
    """One alert rule: a metric of one model's (or one tag's) predictions over a window, against
    a threshold."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=100)
    model: str | None = Field(None, description="A model reference: tag (name:tag), UUID or prefix.")
    tag: str | None = Field(None, description="Predictions logged under this tag, whichever model served them.")
    metric: Literal[METRICS]  # type: ignore[valid-type]
    input: str | None = Field(None, description="null_rate: this model input only (default: the highest).")
    window: str = "1d"
    above: float | None = None
    below: float | None = None
    sample: int | None = Field(None, ge=1, description=(
        "skew_rate: the window's predictions replayed at most (default 1000, drawn at random)."))
    min_count: int | None = Field(None, ge=0, description=(
        "Outcomes (accuracy metrics) or predictions (the others) the window needs before the rule "
        "judges it (default 30; not for predictions)."))

    @field_validator("window")
    @classmethod
    def _window(cls, text: str) -> str:
        parse_window(text)
        return text

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.model is None) == (self.tag is None):
            raise ValueError("give exactly one of model (a model reference) or tag (predictions logged under it)")
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one threshold: above (breach when higher) or below (breach when lower)")
        if self.input is not None and self.metric != "null_rate":
            raise ValueError(f"input is for null_rate, not {self.metric}")
        if self.sample is not None and self.metric != SKEW_METRIC:
            raise ValueError(f"sample is for {SKEW_METRIC}, not {self.metric}")
        if self.metric == "predictions" and self.min_count is not None:
            raise ValueError("min_count does not apply to predictions (the count is the metric)")
        return self

    @property
    def span(self) -> timedelta:
        return parse_window(self.window)

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    @property
    def direction(self) -> str:
        return "above" if self.above is not None else "below"

    @property
    def needed(self) -> int:
        """The count the window needs (0 for ``predictions``)."""
        return 0 if self.metric == "predictions" else (30 if self.min_count is None else self.min_count)

    def breached(self, value: float) -> bool:
        return value > self.threshold if self.above is not None else value < self.threshold


class MonitoringConfig(_Strict):
    """Alert rules and which feature views are checked against their freshness SLA."""

    rules: list[Rule] = Field(default_factory=list)
    freshness: Literal["all", "none"] | list[str] = "all"

    @model_validator(mode="after")
    def _unique(self) -> MonitoringConfig:
        names = [r.name for r in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)} appear more than once")
        return self


def parse_monitoring(data: object, source: str = "<monitoring config>") -> MonitoringConfig:
    """Validate parsed YAML into a :class:`MonitoringConfig` (:class:`ConfigError` naming each
    wrong field by its path, e.g. ``rules.0.window``)."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "a monitoring config is a YAML mapping (rules:, freshness:)")], WHAT)
    try:
        return MonitoringConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(source, [(field_path(e["loc"]), e["msg"].removeprefix("Value error, "))
                                   for e in err.errors()], WHAT) from None


def load_monitoring(path: str | Path) -> MonitoringConfig:
    """Read and validate a monitoring config file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), [("", "file not found")], WHAT)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(str(path), [("", f"not valid YAML: {err}")], WHAT) from None
    return parse_monitoring(data, str(path))
