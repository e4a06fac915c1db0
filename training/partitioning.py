"""Partitioned models: one logical model over a hierarchy of partitions (say region -> city).

A model config's ``partitioning`` names outputs of the DSL program, from the root of the
hierarchy down, each a ``categorical(...)``: its fitted vocabulary names the partitions. They
are the last columns of the model's input matrix (:func:`fresco.training.features.model_inputs`),
so every path that scores a matrix (the ``Predictor``, ``predict-batch``, the skew detector)
scores a partitioned model as it scores any other, with no second rule for which partition a
row belongs to. :class:`PartitionedTrainer` wraps the configured trainer:

* the root model trains on every training row first, then every partition below it, in
  parallel (worker processes, :mod:`fresco.training.partition_worker`; Spark tasks on ``engine:
  spark``, :mod:`fresco.training.spark_partitions`); a partition with fewer than ``min_rows``
  training rows (or no validation row, or one class only) gets no model of its own;
* then the hierarchy is settled from the top down (:meth:`PartitionedTrainer.assemble`, the one
  rule for both): with ``only_if_better``, a partition keeps its model only when it beats, on
  its own validation rows, the model that would answer them otherwise;
* a row is answered by its most specific trained partition, walking up the hierarchy for a
  null, unknown (out of the vocabulary) or untrained value, down to the root
  (:meth:`PartitionedTrainer.answered_by` names it, e.g. ``region=west/city=sf``, or ``root``).

Every partition trains on rows of the one dataset and the one split (filters over the same
matrices, no copies on disk), with the program fitted once, on the whole training split.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from fresco.training.trainers.base import Progress, Trainer, _quiet, normalise

#: The name of the partition of every row: the hierarchy's top, whose model answers what no
#: partition below does.
ROOT = "root"
#: The file of a partitioned model's artifact that holds its partitions and fallbacks.
PARTITIONS_FILE = "partitions.json"
_MODELS_FOLDER = "partitions"


@dataclass
class Partition:
    """One partition the training split holds: where it sits, its rows, and who answers it."""

    name: str  # ``region=west/city=sf``; :data:`ROOT` for the root
    key: list[int]  # its categorical codes from the top down (``[]`` for the root)
    parent: str | None
    train_rows: int
    validation_rows: int
    answered_by: str  # itself when it has a model, else its nearest ancestor that has one
    reason: str | None = None  # why it has no model of its own
    validation: dict[str, float] = field(default_factory=dict)  # own and parent's, by ``only_if_better``

    @property
    def trained(self) -> bool:
        return self.answered_by == self.name


@dataclass
class PartitionedModel:
    """Every trained partition's model, and the map of which partition answers which rows."""

    columns: list[str]
    vocabularies: list[list[Any]]
    n_inputs: int  # the base model's inputs: the matrix's columns before the partition codes
    partitions: list[Partition]  # the root first, then level by level
    models: dict[str, Any]  # trained partition's name -> its base model

    def __post_init__(self) -> None:
        self.trained = [p.name for p in self.partitions if p.trained]
        index = {name: i for i, name in enumerate(self.trained)}
        self._by_key = {tuple(p.key): index[p.name] for p in self.partitions if p.trained}
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []
        for level in range(1, len(self.columns) + 1):
            mine = [p for p in self.partitions if len(p.key) == level and p.trained]
            ids = np.array([_key_id(p.key, self.sizes) for p in mine], dtype=np.int64)
            order = np.argsort(ids)
            self._levels.append((ids[order], np.array([index[p.name] for p in mine], dtype=np.int64)[order]))

    @property
    def sizes(self) -> list[int]:
        return [len(v) for v in self.vocabularies]

    def answering(self, codes: np.ndarray) -> np.ndarray:
        """Per row (its partition codes, one column per level), the index in :attr:`trained` of
        the partition that answers it: the most specific trained one, else the root (0)."""
        if len(codes) <= _FEW_ROWS:  # a request's few rows: a dictionary walk beats array passes
            return np.array([self._answering_one(row) for row in codes], dtype=np.int64)
        who = np.zeros(len(codes), dtype=np.int64)
        for level, (ids, models) in enumerate(self._levels, start=1):
            if not len(ids):
                continue
            row_ids = level_ids(codes, self.sizes, level)
            at = np.clip(np.searchsorted(ids, row_ids), 0, len(ids) - 1)
            hit = (row_ids >= 0) & (ids[at] == row_ids)
            who[hit] = models[at[hit]]
        return who

    def _answering_one(self, codes: np.ndarray) -> int:
        """:meth:`answering` of one row, down the hierarchy while its codes are known."""
        who, key = 0, ()
        for code, size in zip(codes.tolist(), self.sizes):
            if not (0 <= code < size):  # null (NaN compares false) or out of the vocabulary
                break
            key += (int(code),)
            who = self._by_key.get(key, who)
        return who


#: Up to this many rows, :meth:`PartitionedModel.answering` walks each row in Python.
_FEW_ROWS = 32


def _key_id(key: list[int], sizes: list[int]) -> int:
    out = 0
    for code, size in zip(key, sizes):
        out = out * size + int(code)
    return out


def level_ids(codes: np.ndarray, sizes: list[int], level: int) -> np.ndarray:
    """Each row's partition id at ``level`` (1: the first column), from its codes down to that
    level; -1 where one of them is null or out of the vocabulary (no partition of that level)."""
    ids = np.zeros(len(codes), dtype=np.int64)
    valid = np.ones(len(codes), dtype=bool)
    for c in range(level):
        column = codes[:, c]
        known = np.isfinite(column) & (column >= 0) & (column < sizes[c])
        valid &= known
        ids = ids * sizes[c] + np.where(known, column, 0).astype(np.int64)
    return np.where(valid, ids, -1)


def partition_name(columns: list[str], vocabularies: list[list[Any]], key: list[int]) -> str:
    """``region=west/city=sf`` for codes ``key`` (:data:`ROOT` for none)."""
    return "/".join(f"{c}={vocabularies[i][code]}" for i, (c, code) in enumerate(zip(columns, key))) or ROOT


class PartitionedTrainer(Trainer):
    """The configured trainer, once per partition of a hierarchy (see the module doc).

    At training it needs the partition columns' fitted vocabularies and the settings; loading a
    stored model needs only the base trainer (the model's ``partitions.json`` holds the rest)."""

    def __init__(self, base: Trainer, *, vocabularies: list[list[Any]] | None = None, min_rows: int = 1,
                 only_if_better: bool = False, primary: str = "rmse", workers: int = 1,
                 parallel_after_seconds: float = 0.0) -> None:
        self.base = base
        self.name = base.name
        self.tasks = base.tasks
        self.Params = base.Params
        self.vocabularies = vocabularies or []
        self.min_rows = min_rows
        self.only_if_better = only_if_better
        self.primary = primary
        self.workers = workers
        self.parallel_after_seconds = parallel_after_seconds

    # -- training ----------------------------------------------------------------------------
    def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress: Progress = _quiet) -> PartitionedModel:
        from fresco.training.metrics import compute_metrics

        depth = len(self.vocabularies)
        n = X.shape[1] - depth
        columns, names = list(feature_names[n:]), list(feature_names[:n])
        codes, codes_val = X[:, n:], X_val[:, n:]
        progress(f"partition {ROOT}: {len(y):,} training rows")
        started = time.perf_counter()
        models = {ROOT: self.base.fit(X[:, :n], y, X_val[:, :n], y_val, params, task=task, feature_names=names,
                                      progress=progress)}
        root_seconds = time.perf_counter() - started
        workers = self.workers if root_seconds >= self.parallel_after_seconds else 1
        if workers < self.workers:
            progress(f"the root trained in {root_seconds:.1f} s: the partitions train in this process "
                     f"(worker processes pay off from partitioning.parallel_after_seconds, {self.parallel_after_seconds:g} s)")
        partitions = [Partition(ROOT, [], None, len(y), len(y_val), ROOT)]
        rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # a partition's training and validation rows
        for level in range(1, depth + 1):
            ids, ids_val = level_ids(codes, self.sizes, level), level_ids(codes_val, self.sizes, level)
            found, first = np.unique(ids[ids >= 0], return_index=True)
            rows_at = np.flatnonzero(ids >= 0)
            for pid, at in zip(found, first):
                mine, mine_val = ids == pid, ids_val == pid
                part = self.partition(columns, [int(c) for c in codes[rows_at[at], :level]], int(mine.sum()),
                                      int(mine_val.sum()), task == "binary" and len(np.unique(y[mine])) < 2)
                partitions.append(part)
                if part.reason is None:
                    rows[part.name] = (mine, mine_val)
        with _Pool(self.base, workers, params, task, names) as pool:
            progress(self.survey_line(partitions, f"trained {pool.where(len(rows))}"))
            models.update(pool.fit({name: (X[r, :n], y[r], X_val[v, :n], y_val[v]) for name, (r, v) in rows.items()},
                                   progress))

        def metric(part: Partition, who: str) -> float:
            at = rows[part.name][1]
            return compute_metrics(task, y_val[at], self.base.predict(models[who], X_val[at, :n]))[self.primary]

        return self.assemble(columns, n, partitions, models, metric, progress)

    @property
    def sizes(self) -> list[int]:
        return [len(v) for v in self.vocabularies]

    def partition(self, columns: list[str], key: list[int], train_rows: int, validation_rows: int,
                  one_class: bool) -> Partition:
        """The partition of codes ``key`` with its rows counted, and why it gets no model of its
        own if it does not (``one_class``: a classifier's training rows of it hold one class only);
        who answers it is settled by :meth:`assemble`."""
        name = partition_name(columns, self.vocabularies, key)
        parent = partition_name(columns, self.vocabularies, key[:-1])
        part = Partition(name, key, parent, train_rows, validation_rows, parent)
        part.reason = self.no_model_reason(part, one_class)
        return part

    def survey_line(self, partitions: list[Partition], where: str) -> str:
        """Progress: how many partitions each level has, how many of them train, and where."""
        levels = [sum(1 for p in partitions if len(p.key) == level) for level in range(1, len(self.vocabularies) + 1)]
        training = sum(1 for p in partitions if p.key and p.reason is None)
        return (f"partitions per level: {', '.join(map(str, levels))}; {training} with at least "
                f"{self.min_rows:,} training rows, {where}")

    def assemble(self, columns: list[str], n_inputs: int, partitions: list[Partition], models: dict[str, Any],
                 metric: Callable[[Partition, str], float], progress: Progress = _quiet) -> PartitionedModel:
        """The partitioned model, settled from the top down: a partition with a trained model (in
        ``models``, by name, the root's too) keeps it, unless ``only_if_better`` and it does not
        beat the model that answers its parent (``metric(partition, name)``: the primary metric of
        that name's model on the partition's validation rows); any other partition is answered by
        its parent's answerer."""
        answerer = {ROOT: ROOT}
        kept = {ROOT: models[ROOT]}
        for part in sorted((p for p in partitions if p.key), key=lambda p: len(p.key)):  # stable: level by level
            part.answered_by = answerer[part.parent or ROOT]
            if part.reason is None and part.name in models:
                if not self.only_if_better or self.beats_its_answerer(part, metric(part, part.name),
                                                                       metric(part, part.answered_by)):
                    kept[part.name] = models[part.name]
                    part.answered_by = part.name
            answerer[part.name] = part.answered_by
        fallbacks = sum(1 for p in partitions if not p.trained)
        progress(f"partitions: {len(kept)} with their own model, {fallbacks} answered by an ancestor")
        return PartitionedModel(columns, self.vocabularies, n_inputs, partitions, kept)

    def no_model_reason(self, part: Partition, one_class: bool) -> str | None:
        """Why ``part`` gets no model of its own (``one_class``: a classifier's training rows
        of it hold one class only), or None."""
        if part.train_rows < self.min_rows:
            return f"{part.train_rows:,} training rows, fewer than min_rows {self.min_rows:,}"
        if not part.validation_rows:
            return "no validation rows"
        if one_class:
            return "its training rows hold one class only"
        return None

    def beats_its_answerer(self, part: Partition, own: float, theirs: float) -> bool:
        """``only_if_better``'s rule: whether ``part``'s model (``own``: the primary metric on its
        validation rows) beats the model that answers it otherwise (``theirs``); recorded in ``part``."""
        from fresco.training.evaluation import is_better

        part.validation = {"own": own, "parent": theirs}
        if is_better(self.primary, own, theirs):
            return True
        part.reason = (f"its model ({self.primary} {own:.4f}) does not beat "
                       f"{part.answered_by}'s ({theirs:.4f}) on its validation rows")
        return False

    # -- predicting ----------------------------------------------------------------------------
    def predict(self, model: PartitionedModel, X: np.ndarray) -> np.ndarray:
        return self.predict_answered(model, X)[0]

    def predict_answered(self, model: PartitionedModel, X: np.ndarray) -> tuple[np.ndarray, list[str]]:
        X = np.asarray(X, dtype=np.float64)
        who = model.answering(X[:, model.n_inputs:])
        return self._predicted(model, X, who), [model.trained[i] for i in who]

    def _predicted(self, model: PartitionedModel, X: np.ndarray, who: np.ndarray) -> np.ndarray:
        """Each row predicted by the partition model ``who`` names."""
        if len(who) and (who == who[0]).all():  # one partition answers every row (a request's few)
            return np.asarray(self.base.predict(model.models[model.trained[who[0]]], X[:, :model.n_inputs]),
                              dtype=np.float64)
        out = np.empty(len(X), dtype=np.float64)
        for index in np.unique(who):
            rows = who == index
            out[rows] = self.base.predict(model.models[model.trained[index]], X[rows, :model.n_inputs])
        return out

    def answered_by(self, model: PartitionedModel, X: np.ndarray) -> list[str]:
        """The partition that answers each row of ``X`` (see the module doc)."""
        who = model.answering(np.asarray(X, dtype=np.float64)[:, model.n_inputs:])
        return [model.trained[i] for i in who]

    def feature_importance(self, model: PartitionedModel, feature_names: list[str]) -> dict[str, float]:
        """The root model's importances (the partition columns themselves count zero)."""
        root = self.base.feature_importance(model.models[ROOT], feature_names[:model.n_inputs])
        return normalise(root, feature_names)

    def learnt_parameters(self, model: PartitionedModel) -> dict[str, Any]:
        return {"partitioning": {"columns": model.columns,
                                 "partitions": [asdict(p) for p in model.partitions]},
                "root": self.base.learnt_parameters(model.models[ROOT])}

    def test_breakdown(self, model: PartitionedModel, X: np.ndarray, y: np.ndarray, task: str) -> list[dict[str, Any]]:
        """Per partition with test rows: the answering model's metrics on its own test rows,
        beside its parent's answerer's and the root's."""
        from fresco.training.metrics import compute_metrics

        codes = np.asarray(X, dtype=np.float64)[:, model.n_inputs:]
        answerer = {p.name: p.answered_by for p in model.partitions}
        table = []
        for level in range(1, len(model.columns) + 1):
            ids = level_ids(codes, model.sizes, level)
            for part in (p for p in model.partitions if len(p.key) == level):
                rows = ids == _key_id(part.key, model.sizes)
                if not rows.any():
                    continue
                parent = answerer[part.parent or ROOT]
                metric = {who: compute_metrics(task, y[rows], self.base.predict(
                              model.models[who], X[rows, :model.n_inputs]))[self.primary]
                          for who in {part.answered_by, parent, ROOT}}
                table.append({"partition": part.name, "test_rows": int(rows.sum()), "answered_by": part.answered_by,
                              "metric": self.primary, "model": metric[part.answered_by],
                              "parent": parent, "parent_model": metric[parent], "root_model": metric[ROOT]})
        return table

    # -- storing -----------------------------------------------------------------------------------
    def save(self, model: PartitionedModel, folder: Path) -> None:
        for i, name in enumerate(model.trained):
            sub = folder / _MODELS_FOLDER / str(i)
            sub.mkdir(parents=True)
            self.base.save(model.models[name], sub)
        (folder / PARTITIONS_FILE).write_text(json.dumps({
            "columns": model.columns, "vocabularies": model.vocabularies, "n_inputs": model.n_inputs,
            "partitions": [asdict(p) for p in model.partitions], "models": model.trained}, default=str))

    def load(self, folder: Path) -> PartitionedModel:
        data = json.loads((folder / PARTITIONS_FILE).read_text())
        models = {name: self.base.load(folder / _MODELS_FOLDER / str(i)) for i, name in enumerate(data["models"])}
        return PartitionedModel(data["columns"], data["vocabularies"], data["n_inputs"],
                                [Partition(**p) for p in data["partitions"]], models)


class PartitionTrainingError(RuntimeError):
    """A partition's model failed to train in a worker process (its message names the partition)."""


class _Pool:
    """Trains one level's partitions at a time: in ``workers`` processes of their own (each
    runs :mod:`fresco.training.partition_worker`, which imports nothing of the caller's
    ``__main__`` and forks no trainer's threads), each model saved by the base trainer into a
    scratch folder and loaded back here; in this process when there is one worker or one
    partition. The processes serve every level, and end with the pool."""

    def __init__(self, base: Trainer, workers: int, params: dict[str, Any], task: str, names: list[str]) -> None:
        self.base, self.workers, self.params, self.task, self.names = base, workers, params, task, names
        self._processes: list[Any] = []
        self._scratch: Any = None
        self._handed = 0  # jobs handed out so far: each gets its own scratch folder

    def __enter__(self) -> "_Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        import subprocess

        for process in self._processes:
            process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if self._scratch is not None:
            self._scratch.cleanup()

    def _in_process(self, jobs: int) -> bool:
        return self.workers <= 1 or jobs <= 1

    def where(self, jobs: int) -> str:
        """Where ``jobs`` partitions train, as progress says it."""
        return "in this process" if self._in_process(jobs) else f"in {min(self.workers, jobs)} processes"

    def _start(self, count: int) -> None:
        import os
        import subprocess
        import sys
        import tempfile

        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="fresco-partitions-")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the caller's imports
        while len(self._processes) < count:
            self._processes.append(subprocess.Popen(
                [sys.executable, "-m", "fresco.training.partition_worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, env=env, bufsize=1))

    def fit(self, jobs: dict[str, tuple[np.ndarray, ...]], progress: Progress):
        """(name, model) of every job, as each finishes."""
        import pickle
        import selectors

        if self._in_process(len(jobs)):
            for name, (X, y, X_val, y_val) in jobs.items():
                yield name, self.base.fit(X, y, X_val, y_val, self.params, task=self.task, feature_names=self.names)
                progress(f"  {name}: trained on {len(y):,} rows")
            return
        self._start(min(self.workers, len(jobs)))
        waiting = list(jobs)
        folders: dict[str, Path] = {}
        busy: dict[Any, str] = {}
        with selectors.DefaultSelector() as ready:
            def hand_out(process: Any) -> None:
                name = waiting.pop(0)
                folder = Path(self._scratch.name) / str(self._handed)
                self._handed += 1
                folder.mkdir()
                with open(folder / "job.pkl", "wb") as out:
                    pickle.dump((self.base, jobs[name], self.params, self.task, self.names), out,
                                protocol=pickle.HIGHEST_PROTOCOL)
                folders[name], busy[process] = folder, name
                process.stdin.write(f"{folder}\n")
                ready.register(process.stdout, selectors.EVENT_READ, process)

            for process in self._processes:
                if waiting:
                    hand_out(process)
            while busy:
                for key, _ in ready.select():
                    process = key.data
                    ready.unregister(process.stdout)
                    name = busy.pop(process)
                    answer = process.stdout.readline().rstrip("\n")
                    if answer != "done":
                        raise PartitionTrainingError(f"partition {name}: {answer or 'its worker process ended'}")
                    progress(f"  {name}: trained on {len(jobs[name][1]):,} rows")
                    yield name, self.base.load(folders[name] / "model")
                    if waiting:
                        hand_out(process)


def partitioned_trainer(base: Trainer, config: Any, vocabularies: dict[str, list[Any]]) -> PartitionedTrainer:
    """The trainer of a config with ``partitioning`` (its columns' vocabularies, fitted)."""
    settings = config.partitioning
    return PartitionedTrainer(base, vocabularies=[vocabularies[c] for c in settings.columns],
                              min_rows=settings.min_rows, only_if_better=settings.only_if_better,
                              primary=config.evaluation.primary, workers=config.resources.workers,
                              parallel_after_seconds=settings.parallel_after_seconds)


def is_partitioned(meta: dict[str, Any]) -> bool:
    """**The** rule for whether a stored model is partitioned: its ``fresco.json`` says so."""
    return bool(meta.get("partitioning"))


def artifact_trainer(base: Trainer, meta: dict[str, Any]) -> Trainer:
    """**The** trainer that loads a stored model: ``base``, wrapped when it is partitioned."""
    return PartitionedTrainer(base) if is_partitioned(meta) else base
