"""Bentos that hold their models: build one, and serve from it without the model repository.

``fresco bento build MODEL...`` (:func:`build_bento`) resolves each model name (tag, UUID) in
the model repository and calls BentoML's build API with ``serving/bentofile.yaml``
(service, includes, Python requirements), adding

* the models themselves (BentoML tags ``name:<uuid hex>``), so ``bentoml export`` /
  ``containerize`` carry the artifacts with the service and its DSL programs, and
* a build argument ``fresco_bundle``: the names to route, ``{"tags": {tag: uuid},
  "models": {uuid: bento tag}, "experiments": [...]}``, read back at start with
  ``bentoml.use_arguments()``. An experiment running on a bundled tag comes along, with its
  arms resolved to UUIDs and their models bundled too.

A service started from such a Bento routes through :class:`BundledModels` instead of the
repository's database: the Bento is the unit of deployment, so its tags and experiments are
frozen when it is built (to move a tag or change an experiment in production, build and roll
out a new Bento). The online store is still chosen by the environment
(``FEAST_FS_YAML_FILE_PATH``, ``FRESCO_FEATURE_REPO``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fresco.serving.errors import shorten


if TYPE_CHECKING:
    from fresco.training import ExperimentRecord

BUNDLE_ARGUMENT = "fresco_bundle"
BENTOFILE = Path(__file__).with_name("bentofile.yaml")
#: The packages the prediction service imports: staged as ``fresco/<name>`` in the build context.
SERVICE_PACKAGES = ("platform", "dsl", "training", "serving", "monitoring")


def stage_code(target: Path) -> Path:
    """Copy the service's packages into ``target`` laid out as they import (``fresco/dsl``, ...).

    The packages are taken from where Python imports them (a wheel's site-packages, or the
    checkout's folders for an editable install, whose folders are not laid out as ``fresco/``).
    Returns ``target``, the Bento's build context.
    """
    import importlib
    import shutil

    root = target / "fresco"
    root.mkdir(parents=True, exist_ok=True)
    fresco = importlib.import_module("fresco")
    shutil.copy2(Path(fresco.__file__), root / "__init__.py")
    for name in SERVICE_PACKAGES:
        folder = Path(importlib.import_module(f"fresco.{name}").__file__).parent
        shutil.copytree(folder, root / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return target


def installed_requirements(distribution: str = "fresco") -> list[str]:
    """``distribution``'s requirements pinned to the versions installed here (what the Bento runs)."""
    from importlib.metadata import PackageNotFoundError, requires, version
    from packaging.requirements import Requirement

    pins = []
    for text in requires(distribution) or []:
        req = Requirement(text)
        if req.marker is not None and "extra" in str(req.marker):
            continue
        try:
            pins.append(f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}"
                        f"=={version(req.name)}")
        except PackageNotFoundError:
            pins.append(text)
    return pins


class BundleError(LookupError):
    """A model name is not in the Bento (or the Bento's bundle argument is malformed);
    ``holds`` lists the Bento's tags and UUIDs when a name was not found (told to the client)."""

    def __init__(self, message: str, holds: list[str] | None = None) -> None:
        super().__init__(message)
        self.holds = holds


class BundledModels:
    """The models a Bento holds, in the shape the router and :func:`fresco.training.load_model` use
    (``tags()``, ``resolve(ref)``, ``artifact_path(uuid)``); read-only."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        from fresco.training import ExperimentRecord

        try:
            self.models: dict[str, str] = {str(u): str(t) for u, t in bundle["models"].items()}
            self._tags: dict[str, str] = {str(k): str(u) for k, u in bundle.get("tags", {}).items()}
            self._experiments = [ExperimentRecord(
                e["name"], e["tag"], dict(e["arms"]), e.get("key"), e["changed_at"], e["changed_by"])
                for e in bundle.get("experiments", [])]
        except (KeyError, AttributeError, TypeError) as exc:
            raise BundleError(f"malformed {BUNDLE_ARGUMENT} build argument: {exc!r}") from None
        unknown = {t: u for t, u in self._tags.items() if u not in self.models}
        unknown.update({e.name: a for e in self._experiments for a in e.arms if a not in self.models})
        if not self.models or unknown:
            raise BundleError(f"{BUNDLE_ARGUMENT}: no models, or tags naming models not bundled: {unknown}")

    @classmethod
    def from_arguments(cls) -> "BundledModels | None":
        """The bundle of the Bento this process serves, or None (not a Bento with models)."""
        import bentoml

        raw = getattr(bentoml.use_arguments(), BUNDLE_ARGUMENT, None)
        if not raw:
            return None
        return cls(json.loads(raw) if isinstance(raw, str) else raw)

    def names(self) -> list[str]:
        """Every name worth preloading: the tags, then the UUIDs no tag points at."""
        tagged = set(self._tags.values())
        return [*self._tags, *(u for u in self.models if u not in tagged)]

    def tags(self) -> dict[str, str]:
        return dict(self._tags)

    def experiments(self) -> list[ExperimentRecord]:
        """The experiments frozen into the Bento (arms by UUID)."""
        return list(self._experiments)

    def resolve(self, ref: str) -> str:
        """The UUID of a bundled model named by tag, UUID, unique UUID prefix or BentoML tag."""
        from fresco.training.model_refs import resolve_reference

        found = resolve_reference(ref, tag=self._tags.get, exists=self.models.__contains__,
                                  with_prefix=lambda prefix: [u for u in self.models if u.startswith(prefix)])
        if found is not None:
            return found
        holds = sorted(self._tags) + sorted(self.models)
        raise BundleError(f"no model or tag {shorten(ref)!r} in this Bento; it holds {holds}", holds)

    def artifact_path(self, ref: str) -> Path:
        """The folder of a bundled model in BentoML's model store (the Bento's, once imported)."""
        import bentoml

        return Path(bentoml.models.get(self.models[self.resolve(ref)]).path)


@dataclass
class BuiltBento:
    tag: str
    path: Path
    bundle: dict[str, Any]
    exported: Path | None = None


def bundle_for(refs: Sequence[str], repository: Any = None) -> dict[str, Any]:
    """The bundle argument for model names resolved in the repository (tags stay routable)."""
    from fresco.training import ModelRepository

    repository = repository or ModelRepository()
    if not refs:
        raise BundleError("name at least one model (tag or UUID) to put in the Bento")
    current_tags = repository.tags()
    running = {e.tag: e for e in repository.experiments()}
    tags: dict[str, str] = {}
    models: dict[str, str] = {}
    experiments: list[dict[str, Any]] = []

    def add(ref: str) -> str:
        record = repository.get(ref)
        models[record.uuid] = record.bento_tag
        return record.uuid

    for ref in refs:
        if ref in running:
            e = running[ref]
            arms = {add(arm): weight for arm, weight in e.arms.items()}
            experiments.append({"name": e.name, "tag": e.tag, "arms": arms, "key": e.key,
                                "changed_at": e.changed_at, "changed_by": e.changed_by})
            if ref not in current_tags:
                continue
        uuid = add(ref)
        if ref in current_tags:
            tags[ref] = uuid
    return {"tags": tags, "models": models, "experiments": experiments}


def build_bento(
    refs: Sequence[str], *, repository: Any = None, version: str | None = None,
    export: Path | None = None, bentofile: Path = BENTOFILE,
) -> BuiltBento:
    """Build a Bento of the prediction service holding the models ``refs`` (tags or UUIDs).

    The build options come from ``bentofile`` (the project's); the models and the bundle are
    added. With ``export``, the Bento is also written to that file (``bentoml export``),
    models included, ready for ``bentoml import`` on another machine.
    """
    from fresco.training.repository import bentoml_home

    bundle = bundle_for(refs, repository)
    os.environ.setdefault("BENTOML_HOME", str(bentoml_home()))  # where the models are
    import bentoml

    options = yaml.safe_load(Path(bentofile).read_text()) or {}
    options.setdefault("python", {}).setdefault("packages", installed_requirements())
    service = options.pop("service")
    options.pop("models", None)
    options.pop("args", None)
    with tempfile.TemporaryDirectory(prefix="fresco-bento-") as context:
        bento = bentoml.bentos.build(
            service, **options, version=version, build_ctx=str(stage_code(Path(context))),
            models=sorted(set(bundle["models"].values())),
            args={BUNDLE_ARGUMENT: json.dumps(bundle, sort_keys=True)},
        )
    built = BuiltBento(str(bento.tag), Path(bento.path), bundle)
    if export is not None:
        export = Path(export)
        export.parent.mkdir(parents=True, exist_ok=True)
        built.exported = Path(bentoml.bentos.export_bento(bento.tag, str(export)))
    return built
