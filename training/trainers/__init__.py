"""Trainers behind one small interface; a model type is one module plus one line in ``TRAINERS``,
or a trainer from a user's project.

A trainer turns a float matrix (rows x model inputs, NaN = null) and a label vector into a
fitted model, predicts with it (regression: the value; binary: the probability of class 1),
reports feature importance and learnt parameters, and saves the model into a folder (the
BentoML model's folder) and loads it back. Heavy libraries are imported inside the methods,
so validating a config never imports TensorFlow.

Custom trainers, without editing Fresco (:func:`resolve_trainer` is the one resolution,
used by training and by loading a model for serving):

* an installed distribution's entry point in group ``fresco.trainers``: the entry point's
  name is the model type (``model.type: least_squares``) and it loads a :class:`Trainer`
  instance, e.g. in ``pyproject.toml``::

      [project.entry-points."fresco.trainers"]
      least_squares = "my_project.trainers:TRAINER"

* a module path as the model type: ``model.type: my_project.trainers:TRAINER``.

A model trained with a custom trainer records where it came from (``extensions.trainer`` in
its ``fresco.json`` and record); loading it where that trainer is not installed raises an
:class:`~dsl.ExtensionError` naming the distribution to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from fresco.dsl.registry import (
    ExtensionError,
    Provider,
    entry_point_provider,
    installed_entry_points,
    load_entry_point,
    load_module_object,
)
from fresco.training.trainers.base import Progress, Trainer

#: model type -> module defining ``TRAINER`` (a :class:`Trainer` instance).
TRAINERS: dict[str, str] = {
    "xgboost": "fresco.training.trainers.xgboost_trainer",
    "lightgbm": "fresco.training.trainers.lightgbm_trainer",
    "keras": "fresco.training.trainers.keras_trainer",
    "linear": "fresco.training.trainers.linear_trainer",
}

#: Entry point group of custom trainers: name = model type, object = a Trainer instance.
TRAINERS_GROUP = "fresco.trainers"


class UnknownTrainer(KeyError):
    """No built-in, installed or importable trainer has this model type."""

    def __str__(self) -> str:
        return str(self.args[0])


def trainer_names() -> list[str]:
    """Built-in model types and those of installed ``fresco.trainers`` entry points."""
    return sorted({*TRAINERS, *(ep.name for ep in installed_entry_points(TRAINERS_GROUP))})


def _checked(trainer: Any, provider: Provider) -> Trainer:
    if not isinstance(trainer, Trainer):
        raise ExtensionError(f"{provider.describe()} loads {type(trainer).__name__}, not a "
                             "fresco.training.trainers.Trainer instance")
    return trainer


def resolve_trainer(model_type: str) -> tuple[Trainer, Provider | None]:
    """The trainer of ``model_type`` and where it came from (None: built-in).

    ``model_type`` is a built-in type, the name of an installed ``fresco.trainers`` entry
    point, or ``package.module:attr``. Raises :class:`UnknownTrainer` (a ``KeyError``) naming
    the known types, or :class:`~dsl.ExtensionError` for a broken or ambiguous extension.
    """
    if ":" in model_type:
        trainer, provider = load_module_object(model_type, "TRAINER", "a trainer")
        return _checked(trainer, provider), provider
    points = installed_entry_points(TRAINERS_GROUP, {model_type})
    if model_type in TRAINERS:
        if points:
            provider = entry_point_provider(points[0])
            raise ExtensionError(f"{provider.describe()} is named like the built-in trainer "
                                 f"{model_type!r}: rename the entry point (built-ins cannot be replaced)")
        return importlib.import_module(TRAINERS[model_type]).TRAINER, None
    if len(points) > 1:
        names = "; ".join(entry_point_provider(ep).describe() for ep in points)
        raise ExtensionError(f"model type {model_type!r} is provided by {len(points)} entry points "
                             f"({names}): uninstall all but one")
    if not points:
        raise UnknownTrainer(f"unknown model type {model_type!r}; known: {trainer_names()}")
    trainer, provider = load_entry_point(points[0], "a trainer")
    return _checked(trainer, provider), provider


def get_trainer(model_type: str) -> Trainer:
    """The trainer of ``model_type`` (see :func:`resolve_trainer`)."""
    return resolve_trainer(model_type)[0]


def trainer_manifest(model_type: str, provider: Provider | None) -> dict[str, Any] | None:
    """What a model artifact records of a custom trainer (None for a built-in), from where
    :func:`resolve_trainer` found it."""
    return None if provider is None else {"type": model_type, "provider": provider.to_dict()}


def trainer_for(model_type: str, recorded: Mapping[str, Any] | None) -> Trainer:
    """The trainer of a stored model whose artifact recorded ``recorded`` (its
    :func:`trainer_manifest`); a missing custom trainer is an :class:`~dsl.ExtensionError`
    naming the distribution to install."""
    provider = Provider.from_dict(recorded["provider"]) if recorded and recorded.get("provider") else None
    try:
        return get_trainer(model_type)
    except UnknownTrainer:
        reason = "it is not installed here"
    except ExtensionError as exc:
        if provider is None:
            raise
        reason = f"it cannot be loaded here: {exc}"
    origin = f" from {provider.describe()}" if provider else ""
    hint = provider.install_hint() if provider else "install the package that provides it"
    raise ExtensionError(f"the model was trained with trainer {model_type!r}{origin}, and {reason}; {hint}")


__all__ = ["TRAINERS", "TRAINERS_GROUP", "Progress", "Trainer", "UnknownTrainer", "get_trainer",
           "resolve_trainer", "trainer_for", "trainer_manifest", "trainer_names"]
