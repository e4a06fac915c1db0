"""Fresco installs as one import name, ``fresco``, while its folders stay at the repository's top.

:data:`NAMESPACE` is the one mapping (import name -> folder); every package under a mapped
folder is installed under its import name, for a wheel and an editable install alike (setuptools'
``package_dir``). The rest of the build's metadata is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

#: Import name -> folder in this repository.
NAMESPACE: dict[str, str] = {
    "fresco": "fresco",
    "fresco.dsl": "dsl",
    "fresco.training": "training",
    "fresco.serving": "serving",
    "fresco.monitoring": "monitoring",
    "fresco.ui": "ui",
    "fresco.example": "feature_repo",
}


def _packages() -> list[str]:
    packages = []
    for name, folder in NAMESPACE.items():
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_packages(folder)]
    return sorted(set(packages))


setup(
    package_dir=NAMESPACE,
    packages=_packages(),
    package_data={
        "fresco.dsl": ["grammar.lark"],
        "fresco.serving": ["bentofile.yaml"],
        "fresco.platform": ["templates/project/*", "templates/project/.feastignore",
                            "templates/project/models/*"],
        "fresco.example": ["*.yaml", ".feastignore"],
        "fresco.ui": ["static/*"],
    },
)
