"""The bundled example's Feast repository: the delivery-time domain (definitions, yamls, pipelines).

Fresco itself never points here: the platform (``fresco.platform``) works on whatever repository
a command is given (``--repo``, ``FRESCO_FEATURE_REPO``, the current directory). This package is
imported for its definitions' helpers (``sources``), its pipelines and by the quickstart.
"""

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent
DEFAULT_YAML = REPO_DIR / "feature_store.yaml"
PRODUCTION_YAML = REPO_DIR / "feature_store.production.yaml"

__all__ = ["DEFAULT_YAML", "PRODUCTION_YAML", "REPO_DIR"]
