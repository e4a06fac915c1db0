"""A draft model from the suggested features: a model config and a DSL program that
``fresco train`` accepts as written."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from fresco.training.suggestion.ranking import FeatureScore

#: Words of the DSL an output cannot be named.
_KEYWORDS = frozenset({"if", "then", "else", "in", "not", "and", "or", "true", "false", "null"})
#: The draft's trainer: XGBoost with early stopping on the validation split.
DRAFT_HYPERPARAMETERS = {"n_estimators": 400, "max_depth": 6, "learning_rate": 0.08, "subsample": 0.9,
                         "colsample_bytree": 0.9, "early_stopping_rounds": 30}


@dataclass(frozen=True)
class DraftSource:
    """Where the draft's entity rows come from: a Parquet path or a Hive table."""

    parquet: Path | None = None
    hive_table: str | None = None


def _identifier(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_") or "feature"
    name = f"f_{name}" if name[0].isdigit() else name
    return f"{name}_" if name in _KEYWORDS else name


def output_names(refs: list[str]) -> dict[str, str]:
    """Feature reference -> the program output reading it: the feature's name, or
    ``view_feature`` where two views' features share a name."""
    names = {ref: _identifier(ref.split(":", 1)[1]) for ref in refs}
    clashes = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {ref: _identifier(ref.replace(":", "_")) if n in clashes else n for ref, n in names.items()}


def _accessor(ref: str) -> str:
    view, feature = ref.split(":", 1)
    return f"@fs.{view}.{feature}"


def draft_program(scores: list[FeatureScore], fill_values: dict[str, float]) -> str:
    """One output per feature: numbers with a null filled by ``fill_values`` (the median where
    ranked), booleans with a null as false, strings as ``categorical`` with a null as ""."""
    names = output_names([s.ref for s in scores])
    lines = ["# Drafted by `fresco features suggest`: one input per suggested feature, best first."]
    width = max((len(n) for n in names.values()), default=0)
    for score in scores:
        read = _accessor(score.ref)
        if score.kind == "string":
            expr = f'categorical(fill({read}, ""))'
        elif score.kind == "bool":
            expr = f"fill({read}, false)"
        else:
            expr = f"fill(float({read}), {float(fill_values.get(score.ref, 0.0))!r})"
        lines.append(f"{names[score.ref].ljust(width)} = {expr}")
    return "\n".join(lines) + "\n"


def _relative(path: Path, folder: Path) -> str:
    return os.path.relpath(path.resolve(), folder.resolve())


def write_draft(folder: Path, *, name: str, task: str, label: str, timestamp_column: str, source: DraftSource,
                repo: Path, store_yaml: Path | None, scores: list[FeatureScore], fill_values: dict[str, float],
                summary: str) -> tuple[Path, Path]:
    """Write ``<name>.yaml`` and ``<name>.dsl`` into ``folder`` (paths relative to it); refuses to
    overwrite either. Returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path, program_path = folder / f"{name}.yaml", folder / f"{name}.dsl"
    for path in (config_path, program_path):
        if path.exists():
            raise FileExistsError(f"{path} exists: choose another --write-config folder or --name")
    data_source = ({"parquet": _relative(source.parquet, folder)} if source.parquet is not None
                   else {"hive_table": source.hive_table})
    features: dict[str, object] = {"repo": _relative(repo, folder)}
    if store_yaml is not None:
        features["store_yaml"] = _relative(store_yaml, folder)
    features["program_file"] = program_path.name
    config = {
        "model": {"name": name, "type": "xgboost", "task": task,
                  "description": f"Drafted from the catalog features suggested for {label}.",
                  "hyperparameters": dict(DRAFT_HYPERPARAMETERS)},
        "data": {"source": data_source, "label": label, "timestamp_column": timestamp_column},
        "features": features,
        "split": {"method": "time", "validation_fraction": 0.2, "test_fraction": 0.2},
    }
    header = "".join(f"# {line}\n" for line in summary.splitlines())
    program_path.write_text(draft_program(scores, fill_values))
    config_path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return config_path, program_path
