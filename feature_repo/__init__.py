"""The bundled example's Feast repository: the delivery-time domain (definitions, yamls, pipelines).

Fresco itself never points here: the platform (``fresco.platform``) works on whatever repository
a command is given (``--repo``, ``FRESCO_FEATURE_REPO``, the current directory). This package is
imported for its definitions' helpers (``sources``), its pipelines and by the quickstart.
"""

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent
DEFAULT_YAML = REPO_DIR / "feature_store.yaml"
PRODUCTION_YAML = REPO_DIR / "feature_store.production.yaml"
#: What a copy of the example's repository needs (its data is generated where it runs).
REPO_FILES = ("feature_store.yaml", "definitions.py", ".feastignore")


def copy_definitions(target: Path) -> Path:
    """Copy the example's repository definitions (not its data) into ``target``."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for name in REPO_FILES:
        shutil.copy(REPO_DIR / name, target / name)
    return target


__all__ = ["DEFAULT_YAML", "PRODUCTION_YAML", "REPO_DIR", "REPO_FILES", "copy_definitions"]
