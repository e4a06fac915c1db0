"""Fresco's catalog policy, enforced inside the stock ``feast apply``.

Two Feast seams named in ``feature_store.yaml`` call the same rules (:mod:`.rules`):

* :class:`CatalogPolicyProvider` (``provider:``) checks the feature views *before* Feast touches
  the online store's infrastructure, so a refused apply changes nothing there;
* :class:`CatalogPolicyRegistryStore` (``registry.registry_store_type``) checks the whole
  catalog, feature services included, *before* the registry is written, and warns the
  consumers of deprecated feature views.
"""

from fresco.platform.policy.rules import (
    CatalogPolicyError,
    DeprecatedFeatureWarning,
    PolicyReport,
    evaluate_catalog,
    parse_duration,
)

__all__ = [
    "CatalogPolicyError",
    "DeprecatedFeatureWarning",
    "PolicyReport",
    "evaluate_catalog",
    "parse_duration",
]

from fresco.platform.policy.provider import CatalogPolicyProvider  # noqa: E402
from fresco.platform.policy.registry_store import CatalogPolicyRegistryStore  # noqa: E402

__all__ += ["CatalogPolicyProvider", "CatalogPolicyRegistryStore"]

from fresco.platform.policy import cli_message as _cli_message  # noqa: E402

_cli_message.install()
