"""The catalog rules, as pure functions over Feast registry protos.

The rules govern feature views and stream feature views alike (:func:`catalog_views`):

* every feature view has an owner, a description and a freshness SLA (tag ``freshness_sla``,
  a duration such as ``15m``, ``1h``, ``1d``);
* a registered feature keeps its meaning: its type and its view's source cannot change
  (a changed feature is a new feature, registered under a new name), also after it was removed:
  the catalog's history (:func:`merged_history`, every feature ever registered with its type and
  its view's sources) is checked like the registered views;
* a feature service that uses a feature view tagged ``deprecated`` is warned about.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from feast.errors import FeastError
from feast.protos.feast.core.DataSource_pb2 import DataSource as DataSourceProto
from feast.protos.feast.core.FeatureService_pb2 import FeatureService as FeatureServiceProto
from feast.protos.feast.core.FeatureView_pb2 import FeatureView as FeatureViewProto
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.protos.feast.types.Value_pb2 import ValueType

SLA_TAG = "freshness_sla"
DEPRECATED_TAG = "deprecated"
DEPRECATION_NOTE_TAG = "deprecation_note"
#: In the catalog's history, on each feature: when it was first registered there (ISO, UTC).
REGISTERED_AT_TAG = "fresco.registered_at"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class CatalogPolicyError(FeastError):
    """``feast apply`` was refused by Fresco's catalog policy; nothing was changed."""


class DeprecatedFeatureWarning(UserWarning):
    """A feature service uses a feature view that is marked deprecated."""


@dataclass
class PolicyReport:
    """What the policy found: refusals (``errors``) and ``warnings``."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_or_warn(self) -> None:
        """Raise :class:`CatalogPolicyError` listing every refusal, else emit the warnings."""
        if self.errors:
            listing = "\n".join(f"  - {e}" for e in self.errors)
            raise CatalogPolicyError(
                f"Fresco catalog policy refused this apply ({len(self.errors)} problem(s)); "
                f"nothing was changed:\n{listing}"
            )
        for message in self.warnings:
            warnings.warn(message, DeprecatedFeatureWarning, stacklevel=2)


def parse_duration(text: str) -> timedelta:
    """Parse ``15m``, ``1h``, ``7d``, ``30s`` into a timedelta; raise ValueError otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration like '15m', '1h' or '1d'")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def is_deprecated(view: FeatureViewProto) -> bool:
    """True when the view carries the tag ``deprecated: "true"``."""
    return view.spec.tags.get(DEPRECATED_TAG, "").strip().lower() in {"true", "yes", "1"}


def check_metadata(view: FeatureViewProto) -> list[str]:
    """Refusals for a feature view missing its owner, description or freshness SLA."""
    spec, problems = view.spec, []
    if not spec.owner.strip():
        problems.append(f"feature view '{spec.name}' has no owner (set owner='team@company')")
    if not spec.description.strip():
        problems.append(f"feature view '{spec.name}' has no description")
    sla = spec.tags.get(SLA_TAG)
    if sla is None:
        problems.append(
            f"feature view '{spec.name}' has no freshness SLA "
            f"(add tags={{'{SLA_TAG}': '1d'}} or another duration)"
        )
    else:
        try:
            parse_duration(sla)
        except ValueError as err:
            problems.append(f"feature view '{spec.name}' has an invalid freshness SLA: {err}")
    return problems


def _source_identity(source: DataSourceProto) -> tuple:
    """What makes two sources the same data: kind, location and time semantics."""
    location = (
        source.file_options.uri
        or source.spark_options.table
        or source.spark_options.path
        or source.spark_options.query
        or source.custom_options.configuration
        or source.name
    )
    return (
        DataSourceProto.SourceType.Name(source.type),
        location,
        source.timestamp_field,
        tuple(sorted(source.field_mapping.items())),
    )


def describe_source(source: DataSourceProto) -> str:
    """A source as a person reads it: its kind, location and timestamp field."""
    _, location, ts, _ = _source_identity(source)
    kind = source.data_source_class_type.rsplit(".", 1)[-1] or "source"
    loc = location.decode() if isinstance(location, bytes) else location
    return f"{kind}({loc!s}, timestamp={ts})"


def check_meaning(old: FeatureViewProto, new: FeatureViewProto) -> list[str]:
    """Refusals for changes to the type or source of already registered features."""
    name, problems = new.spec.name, []
    old_types = {f.name: f.value_type for f in old.spec.features}
    for feature in new.spec.features:
        before = old_types.get(feature.name)
        if before is not None and before != feature.value_type:
            problems.append(
                f"feature '{name}:{feature.name}' is registered as {ValueType.Enum.Name(before)}; "
                f"this apply changes it to {ValueType.Enum.Name(feature.value_type)}. A registered "
                f"feature's meaning cannot change: register a new feature instead "
                f"(for example '{feature.name}_v2')"
            )
    kept = sorted(set(old_types) & {f.name for f in new.spec.features})
    for label, before, after in (
        ("batch source", old.spec.batch_source, new.spec.batch_source),
        ("stream source", old.spec.stream_source, new.spec.stream_source),
    ):
        if kept and _source_identity(before) != _source_identity(after):
            problems.append(
                f"feature view '{name}' reads its {label} from {describe_source(before)}; this "
                f"apply changes it to {describe_source(after)}, which changes the meaning of its "
                f"registered features {kept}: register a new feature view instead (for example "
                f"'{name}_v2')"
            )
    return problems


def deprecation_warnings(
    views: Iterable[FeatureViewProto], services: Iterable[FeatureServiceProto]
) -> list[str]:
    """One warning per feature service that uses a deprecated feature view."""
    deprecated = {v.spec.name: v for v in views if is_deprecated(v)}
    messages = []
    for service in services:
        for projection in service.spec.features:
            view = deprecated.get(projection.feature_view_name)
            if view is None:
                continue
            note = view.spec.tags.get(DEPRECATION_NOTE_TAG, "")
            messages.append(
                f"feature service '{service.spec.name}' uses feature view "
                f"'{view.spec.name}', which is deprecated"
                + (f": {note}" if note else "")
                + f" (owner: {view.spec.owner or 'unknown'})"
            )
    return messages


def _sources(view: FeatureViewProto) -> tuple:
    return _source_identity(view.spec.batch_source), _source_identity(view.spec.stream_source)


def merged_history(history: Iterable[FeatureViewProto], views: Iterable[FeatureViewProto],
                   at: datetime | None = None) -> list[FeatureViewProto]:
    """The catalog's history after ``views`` are registered: one entry per (project, view,
    sources) holding every feature first registered there, with the type it had then and, with
    ``at`` (the registration's time), that time: the feature's :data:`REGISTERED_AT_TAG`.

    Entries are feature view protos (name, project, sources, features) so that
    :func:`check_meaning` checks a desired view against each of them as against a stored view.
    """
    entries = [FeatureViewProto.FromString(h.SerializeToString()) for h in history]
    for view in views:
        spec = view.spec
        same_view = [h for h in entries if (h.spec.project, h.spec.name) == (spec.project, spec.name)]
        known = {f.name for h in same_view for f in h.spec.features}
        entry = next((h for h in same_view if _sources(h) == _sources(view)), None)
        if entry is None:
            entry = FeatureViewProto()
            entry.spec.name, entry.spec.project = spec.name, spec.project
            entry.spec.batch_source.CopyFrom(spec.batch_source)
            entry.spec.stream_source.CopyFrom(spec.stream_source)
            entries.append(entry)
        for feature in spec.features:
            if feature.name not in known:
                added = entry.spec.features.add()
                added.CopyFrom(feature)
                if at is not None:
                    added.tags[REGISTERED_AT_TAG] = at.isoformat()
    return [h for h in entries if h.spec.features]


def catalog_views(proto: RegistryProto | None) -> list[FeatureViewProto]:
    """A registry's feature views and stream feature views: the views the policy governs
    (their protos share the spec fields the rules read)."""
    if proto is None:
        return []
    return [*proto.feature_views, *proto.stream_feature_views]


def evaluate_catalog(
    stored: RegistryProto | None,
    views: Iterable[FeatureViewProto],
    services: Iterable[FeatureServiceProto] = (),
    project: str | None = None,
    history: Iterable[FeatureViewProto] = (),
) -> PolicyReport:
    """Check the desired ``views`` and ``services`` against the ``stored`` registry and the
    catalog's ``history`` (:func:`merged_history`: features registered once, removed since)."""
    views = list(views)
    earlier: dict[str, list[FeatureViewProto]] = {}
    for old in [*catalog_views(stored), *history]:
        if project is None or old.spec.project == project:
            earlier.setdefault(old.spec.name, []).append(old)
    report = PolicyReport()
    for view in views:
        report.errors.extend(check_metadata(view))
        for old in earlier.get(view.spec.name, []):
            report.errors.extend(p for p in check_meaning(old, view) if p not in report.errors)
    report.warnings.extend(deprecation_warnings(views, services))
    return report
