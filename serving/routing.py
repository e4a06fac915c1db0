"""Model routing: a request's model name -> the UUID that answers it.

A request names a model by UUID (or unique prefix, or BentoML tag ``name:hex``) or by a Fresco
tag such as ``churn:production``. Tags and experiments live in the model repository (the
one place for them); the router keeps the repository's current ``tag -> UUID`` map and running
experiments, and a background thread re-reads them when the repository changed (it polls
SQLite's ``data_version`` every ``refresh_seconds``, off the request path), so a moved tag or a
started, changed or stopped experiment takes effect within that time without a restart. Before
a route changes, the models it needs are loaded (``prepare`` callback), so no request waits
on a load or fails during the switch; requests already running keep the model object they
started with. A UUID prefix is remembered only until the next refresh: a new model can make it
ambiguous, and then it is refused as the repository refuses it.

An :class:`Experiment` splits one tag's traffic between models by weight
(``fresco models experiment start``). The split is sticky: ``sha256`` of the experiment name
and the key values in a canonical encoding (:func:`canonical_key_value`: ``7``, ``7.0`` and
``numpy.int64(7)`` are one key) picks a bucket in [0, 1), and the bucket picks the arm by
cumulative weight, so the same entity always gets the same model while the weights stay the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fresco.serving.errors import BadRequest, UnknownModel, shorten
from fresco.platform.times import utc_timestamp
from fresco.training.model_refs import AmbiguousPrefix, is_uuid_prefix

log = logging.getLogger(__name__)


class Experiment(BaseModel):
    """Split the traffic of ``tag`` between ``arms`` (model UUID or tag -> weight), sticky per key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    tag: str = Field(description="The tag whose requests are split, e.g. churn:production.")
    arms: dict[str, float] = Field(min_length=1, description="Model UUID or tag -> weight (> 0).")
    key: list[str] | None = Field(
        None, description="Row fields that make the split sticky (default: the entity keys)."
    )

    @model_validator(mode="after")
    def _weights(self) -> "Experiment":
        bad = {k: w for k, w in self.arms.items() if not w > 0}
        if bad:
            raise ValueError(f"arm weights must be > 0, got {bad}")
        return self

    def bucket(self, key_values: Sequence[Any]) -> float:
        """Where ``key_values`` fall in [0, 1) for this experiment (stable across processes):
        the same key value gets the same bucket whatever Python type carries it."""
        text = json.dumps([self.name, *map(canonical_key_value, key_values)], separators=(",", ":"))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0**64

    def arm_for(self, key_values: Sequence[Any]) -> str:
        """The arm (as declared) that ``key_values`` are routed to."""
        point = self.bucket(key_values) * sum(self.arms.values())
        total = 0.0
        for arm, weight in self.arms.items():
            total += weight
            if point < total:
                return arm
        return next(reversed(self.arms))


def canonical_key_value(value: Any) -> list[Any]:
    """A sticky key value as ``[kind, text]``, equal for equal values of any carrier type:
    ``7``, ``7.0``, ``numpy.int64(7)`` are ``["num", "7"]``; ``"7"`` is ``["str", "7"]``;
    ``True`` is ``["bool", "true"]``; a time is its UTC instant (naive counts as UTC); ``None``
    and NaN are ``["null", ""]``. Raises ``TypeError`` for any other type."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return ["null", ""]
    if isinstance(value, bool | np.bool_):
        return ["bool", "true" if value else "false"]
    if isinstance(value, int | np.integer):
        return ["num", str(int(value))]
    if isinstance(value, float | np.floating):
        number = float(value)
        return ["num", str(int(number)) if number.is_integer() else repr(number)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, datetime | np.datetime64):
        return ["time", utc_timestamp(value).isoformat()]
    raise TypeError(f"a sticky key value must be a number, string, boolean or time, got {type(value).__name__}")


@dataclass(frozen=True)
class Route:
    """Where a request's model name goes: one UUID, or an experiment's arms (arm -> UUID)."""

    ref: str
    uuid: str | None = None
    tag: str | None = None
    experiment: Experiment | None = None
    arms: Mapping[str, str] = field(default_factory=dict)

    def uuid_for(self, key_values: Sequence[Any]) -> str:
        if self.experiment is None:
            assert self.uuid is not None
            return self.uuid
        return self.arms[self.experiment.arm_for(key_values)]


def experiment_of(record: Any) -> Experiment:
    """The :class:`Experiment` a repository record holds (``ValidationError`` when invalid)."""
    return Experiment.model_validate(
        {"name": record.name, "tag": record.tag, "arms": record.arms, "key": record.key})


def current_route(repository: Any, ref: str) -> Route:
    """The route of ``ref`` as the repository holds it now, read once (batch scoring: the
    same tags and experiments a :class:`Router` follows live)."""
    for record in repository.experiments():
        if record.tag == ref:
            experiment = experiment_of(record)
            return Route(ref, tag=ref, experiment=experiment,
                         arms={arm: repository.resolve(arm) for arm in experiment.arms})
    return Route(ref, uuid=repository.resolve(ref), tag=ref if ref in repository.tags() else None)


class Router:
    """Resolves model names against the model repository (see the module doc)."""

    def __init__(
        self,
        repository: Any,
        *,
        refresh_seconds: float = 0.5,
        prepare: Callable[[str], Any] | None = None,
    ) -> None:
        if not refresh_seconds > 0:
            raise ValueError(f"refresh_seconds must be positive, got {refresh_seconds}")
        self.repository = repository
        self.experiments: dict[str, Experiment] = {}  # by the tag they split
        self.refresh_seconds = refresh_seconds
        self.prepare = prepare or (lambda uuid: None)
        self._tags: dict[str, str] = {}
        self._used: set[str] = set()
        self._resolved: dict[str, str] = {}  # UUID-like refs (immutable) -> UUID
        self._lock = threading.Lock()
        counter = getattr(repository, "change_counter", None)
        self._counter: Callable[[], int] | None = counter() if counter is not None else None
        self._seen = self._counter() if self._counter is not None else None
        self._retry = False  # a model of the last refresh failed to load: try again
        self.refresh()
        threading.Thread(target=_follow_repository, args=(weakref.ref(self), refresh_seconds),
                         name="fresco-router-refresh", daemon=True).start()

    # -- the tag and experiment maps -------------------------------------------------------------
    def changed(self) -> bool:
        """Whether the repository may have changed since the last call (always, for a
        repository that cannot tell), or the last refresh has a model load to retry."""
        if self._counter is None:
            return True
        seen, self._seen = self._seen, self._counter()
        return self._seen != seen or self._retry

    def refresh(self) -> None:
        """Re-read the repository's tags and experiments; load the models of moved tags and
        changed experiments, then switch (the refresh thread calls this when :meth:`changed`;
        a request naming an unknown model calls it once)."""
        with self._lock:
            latest = dict(self.repository.tags())
            moved = {t: u for t, u in latest.items() if self._tags.get(t) != u and t in self._used}
            failed: dict[str, str] = {}
            for tag, uuid in moved.items():
                try:
                    self.prepare(uuid)
                except Exception as exc:  # keep the old model until the new one loads
                    log.error("tag %s moved to %s, which cannot be loaded (%s); keeping %s",
                              tag, uuid, exc, self._tags.get(tag))
                    failed[tag] = self._tags.get(tag)  # type: ignore[assignment]
            for tag, old in failed.items():
                if old is None:
                    latest.pop(tag, None)
                else:
                    latest[tag] = old
            for tag in moved.keys() - failed.keys():
                log.info("tag %s now routes to %s", tag, latest[tag])
            self._retry = bool(failed)
            experiments = self._read_experiments(latest)
            self._tags = latest  # one assignment each: readers see the old or the new map
            self.experiments = experiments
            # a new model may make a cached UUID prefix ambiguous: resolve prefixes again
            self._resolved = {r: u for r, u in self._resolved.items() if not is_uuid_prefix(r)}

    def _read_experiments(self, tags: Mapping[str, str]) -> dict[str, Experiment]:
        """The repository's running experiments; a new or changed one is switched to only once
        its arms' models are loaded (until then the previous routing of its tag stays)."""
        latest: dict[str, Experiment] = {}
        for record in self.repository.experiments():
            try:
                experiment = experiment_of(record)
            except ValidationError as exc:
                log.error("experiment %s is invalid, not routed: %s", record.name, exc)
                continue
            if self.experiments.get(experiment.tag) != experiment:
                try:
                    for arm in experiment.arms:
                        self.prepare(tags.get(arm) or self.repository.resolve(arm))
                except Exception as exc:
                    log.error("experiment %s cannot load its models (%s); not switched",
                              experiment.name, exc)
                    self._retry = True
                    if experiment.tag in self.experiments:
                        latest[experiment.tag] = self.experiments[experiment.tag]
                    continue
                log.info("experiment %s now splits %s: %s", experiment.name, experiment.tag,
                         experiment.arms)
            latest[experiment.tag] = experiment
        return latest

    def tags(self) -> dict[str, str]:
        return dict(self._tags)

    # -- resolving ---------------------------------------------------------------------------
    def _uuid(self, ref: str) -> tuple[str, str | None]:
        """(UUID, tag or None) for a model name, or :class:`UnknownModel`."""
        uuid = self._tags.get(ref)
        if uuid is not None:
            self._used.add(ref)
            return uuid, ref
        uuid = self._resolved.get(ref)
        if uuid is not None:
            return uuid, None
        self.refresh()  # perhaps a tag created since the last read
        uuid = self._tags.get(ref)
        if uuid is not None:
            self._used.add(ref)
            return uuid, ref
        try:
            uuid = self.repository.resolve(ref)
        except AmbiguousPrefix as exc:
            raise BadRequest(f"ambiguous model reference: {exc}", field="model") from None
        except LookupError as exc:  # the repository's text names its path: not for the client
            holds = getattr(exc, "holds", None)  # a Bento's models (fresco.serving.bundle.BundleError)
            raise UnknownModel(f"unknown model or tag {shorten(ref)!r}"
                               + (f"; this Bento holds {holds}" if holds else ""),
                               field="model") from None
        self._resolved[ref] = uuid  # a BentoML tag never moves; a prefix is kept until a refresh
        return uuid, None

    def knows(self, ref: str) -> bool:
        """Whether :meth:`route` can answer ``ref`` from memory (no repository read)."""
        if not isinstance(ref, str):
            return False  # route() refuses it
        experiment = self.experiments.get(ref)
        names = experiment.arms if experiment is not None else (ref,)
        return all(n in self._tags or n in self._resolved for n in names)

    def route(self, ref: str) -> Route:
        """The route of model name ``ref`` (tag, UUID, or a tag under an experiment)."""
        if not isinstance(ref, str) or not ref.strip():
            raise BadRequest("'model' must name a model UUID or a tag", field="model")
        experiment = self.experiments.get(ref)
        if experiment is not None:
            arms = {arm: self._uuid(arm)[0] for arm in experiment.arms}
            return Route(ref, tag=ref, experiment=experiment, arms=arms)
        uuid, tag = self._uuid(ref)
        return Route(ref, uuid=uuid, tag=tag)


def _follow_repository(router_ref: "weakref.ref[Router]", seconds: float) -> None:
    """Re-read the repository every ``seconds`` while the router lives (its refresh thread)."""
    while True:
        time.sleep(seconds)
        router = router_ref()
        if router is None:
            return
        try:
            if router.changed():
                router.refresh()
        except Exception as exc:  # the repository is briefly unreadable: keep the current routes
            log.error("cannot re-read tags and experiments: %s", exc)
            router._retry = True
        del router
