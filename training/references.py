"""A config's feature names checked against the feature repository, before any work.

A feature service, a ``view:feature`` reference or a program's ``@fs.view.feature`` that the
repository lacks is reported on one line naming the config field (and the program's line and
column), the repository read and what it has: never as a type the DSL cannot infer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fresco.platform.views import feature_views

if TYPE_CHECKING:
    from fresco.training.config import ModelConfig

Errors = list[tuple[str, str]]


def program_field(config: "ModelConfig") -> str:
    """The config field holding the program: ``features.program_file`` or ``features.program``."""
    return "features.program_file" if config.features.program_file else "features.program"


def program_feature_refs(config: "ModelConfig") -> list[Any]:
    """The program's ``@fs`` accessors (none when it does not parse: compiling reports that)."""
    from fresco import dsl

    try:
        return [a for a in dsl.accessors(config.program_source) if a.kind == "fs"]
    except dsl.DSLError:
        return []  # compiling reports the syntax error, with its line and column


def needs_store(config: "ModelConfig", program_refs: list[Any]) -> bool:
    """Whether the config names anything of the feature repository (``program_refs``: its
    program's ``@fs`` accessors, :func:`program_feature_refs`)."""
    return bool(config.features.service or config.features.references or program_refs)


def open_config_store(config: "ModelConfig") -> tuple[Any, Errors]:
    """The Feast store of the config's feature repository (``features.repo``, else the one
    :func:`fresco.platform.resolve_repo` finds), or ``(None, errors)`` naming the field."""
    from fresco.platform import RepoNotFound, open_store

    try:
        return open_store(config.features.repo, config.features.store_yaml), []
    except RepoNotFound as err:
        field = "features.store_yaml" if config.features.store_yaml else "features.repo"
        return None, [(field, str(err))]


def check_references(config: "ModelConfig", store: Any, program_refs: list[Any]) -> Errors:
    """Every feature service, view and feature the config names (``program_refs``: its
    program's accessors), checked in ``store``'s registry.

    Returns ``(field, message)`` pairs, empty when all is well.
    """
    repo = Path(store.repo_path)
    registry = Path(str(store.config.registry.path))
    where = f"the feature repository {repo} (registry {registry if registry.is_absolute() else repo / registry})"
    views = {v.name: v for v in feature_views(store)}
    if not views:
        return [("features.repo", f"{where} has no feature views: run `feast apply` in it first")]
    errors: Errors = []
    service = config.features.service
    if service:
        services = sorted(s.name for s in store.list_feature_services())
        if service not in services:
            errors.append(("features.service",
                           f"no feature service {service!r} in {where}; it has {services or 'none'}"))

    def problem(ref: str) -> str | None:
        view, _, feature = ref.partition(":")
        if view not in views:
            return f"no feature view {view!r} in {where}; it has {sorted(views)}"
        names = [f.name for f in views[view].features]
        if feature not in names:
            return f"feature view {view!r} of {where} has no feature {feature!r}; it has {names}"
        return None

    for i, ref in enumerate(config.features.references):
        message = problem(ref)
        if message:
            errors.append((f"features.references.{i}", message))
    field = program_field(config)
    for access in program_refs:
        message = problem(access.name)
        if message:
            errors.append((field, f"line {access.pos.line}, column {access.pos.column}: {access.text}: {message}"))
    return errors
