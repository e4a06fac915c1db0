"""Feast's start-up cost in Fresco's own processes: its runtime type checks are skipped.

Feast decorates its catalog classes (``FeatureView``, ``Entity``, ``Field``, the data sources...)
with typeguard's ``@typechecked``, which re-parses and recompiles every method of those classes
when ``feast`` is imported: about 4.5 s of the 8-9 s ``import feast`` takes on a 2-core machine,
paid by every ``fresco`` command and every prediction-service worker. The checks guard the
arguments of those constructors, which matters where definitions are written: the stock
``feast apply`` (which Fresco does not change) still runs them on a team's ``definitions.py``.
Fresco's processes only rebuild those objects from the registry that ``feast apply`` wrote, so
they skip the instrumentation: :func:`skip_feast_type_checks` replaces typeguard's public
``typechecked`` with a decorator that returns its target unchanged, *before* Feast is imported.

This is the one place that does so; ``tests/platform/test_feast_startup.py`` fails when Feast
stops decorating its classes with typeguard (then this module can go) or when the replacement no
longer takes effect.
"""

from __future__ import annotations

import sys
from typing import Any


def _unchecked(target: Any = None, **_options: Any) -> Any:
    """typeguard's ``typechecked`` signature, instrumenting nothing."""
    if target is None:
        return lambda inner: inner
    return target


def skip_feast_type_checks() -> bool:
    """Make typeguard's ``@typechecked`` a no-op for Feast's modules imported from now on;
    False (and nothing changed) when Feast was already imported in this process."""
    if "feast" in sys.modules:
        return False
    try:
        import typeguard
    except ImportError:  # a Feast without typeguard: nothing to skip
        return False
    typeguard.typechecked = _unchecked
    return True
