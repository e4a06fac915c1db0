"""The model repository: every trained model, its record and the tags that point at it.

Where things live, and why
--------------------------
* **Artifacts** go to BentoML's model store (``$BENTOML_HOME``, by default
  ``<state dir>/bentoml``), one BentoML model per trained model, tagged
  ``<model name>:<uuid hex>``, labelled with the Fresco UUID, type and task. Its folder holds
  the trainer's files, the fitted DSL program (``program.json``) and ``fresco.json`` (model
  type, task, label, ordered model inputs, and the ``extensions`` it needs: user DSL
  functions and a custom trainer, each with the distribution that provided it): everything
  serving needs to load and predict without this module's database; and ``reference.parquet``,
  a sample of the test split for monitoring (:mod:`fresco.training.reference`).
* **Records, tags and experiments** live in one SQLite database,
  ``<state dir>/models/repository.db``: the record of each model (author, start and end times,
  full config, dataset reference, metrics, feature importance, learnt parameters, trials,
  fitted program, report paths), the tags, the running experiments (a tag's traffic split
  between models by weight), and the history of every tag move and experiment change.

SQLite because the repository needs what BentoML's store does not give: tags that can be
*moved* (BentoML's tag is ``name:version``, fixed; "latest" is by creation time), a history
of moves, atomic moves, and several processes writing at once. SQLite in WAL mode gives all
of it with transactions: ``BEGIN IMMEDIATE`` takes the write lock before a tag is read and
moved, so two concurrent moves serialise and each leaves its row in the history; records are
single-row inserts keyed by UUID, so two processes training at once cannot overwrite each
other. BentoML's store itself writes each model to a temporary folder and renames it in
place, which is safe for concurrent saves of different versions. A file with a lock around
it would need the same care by hand; a database already has it.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fresco.platform.state import state_dir
from fresco.training.model_refs import resolve_reference

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    model_type TEXT NOT NULL,
    task TEXT NOT NULL,
    label TEXT NOT NULL,
    bento_tag TEXT NOT NULL,
    author TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS models_by_name ON models (name, finished_at);
CREATE TABLE IF NOT EXISTS tags (
    tag TEXT PRIMARY KEY,
    uuid TEXT NOT NULL REFERENCES models (uuid),
    moved_at TEXT NOT NULL,
    moved_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tag_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tag TEXT NOT NULL,
    old_uuid TEXT,
    new_uuid TEXT NOT NULL,
    moved_at TEXT NOT NULL,
    moved_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY,
    tag TEXT NOT NULL UNIQUE,
    arms TEXT NOT NULL,
    key TEXT,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS experiment_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    tag TEXT NOT NULL,
    arms TEXT NOT NULL,
    key TEXT,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
);
"""


class RepositoryError(LookupError):
    """A model or tag is not in the repository, or a request to it is malformed."""


def bentoml_home() -> Path:
    """``$BENTOML_HOME`` when set, otherwise ``<state dir>/bentoml``."""
    return Path(os.environ.get("BENTOML_HOME") or state_dir() / "bentoml")


def _bentoml():
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    os.environ.setdefault("BENTOML_HOME", str(bentoml_home()))
    import bentoml
    from bentoml._internal.models import ModelStore

    home = bentoml_home() / "models"
    home.mkdir(parents=True, exist_ok=True)
    return bentoml, ModelStore(home)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def current_user() -> str:
    try:
        return os.environ.get("FRESCO_USER") or getpass.getuser()
    except Exception:  # no login name (containers)
        return "unknown"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (datetime, Path)):
        return str(value)
    return value


@dataclass
class ModelRecord:
    """What the repository keeps about one trained model."""

    uuid: str
    name: str
    model_type: str
    task: str
    label: str
    inputs: list[str]
    author: str
    started_at: str
    finished_at: str
    config: dict[str, Any]
    dataset: dict[str, Any]
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    feature_importance: dict[str, float]
    learnt_parameters: dict[str, Any]
    program: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    report_html: str = ""
    report_json: str = ""
    #: what the model needs beyond Fresco: ``functions`` (user DSL functions: signature and
    #: provider, by name) and, for a custom trainer, ``trainer`` (type and provider)
    extensions: dict[str, Any] = field(default_factory=dict)
    bento_tag: str = ""
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self.__dict__.copy())

    @property
    def headline(self) -> str:
        """The split of the headline metrics: ``test`` (held out); ``validation`` for records
        trained before there was a test split."""
        return "test" if "test" in self.metrics else "validation"

    def split_label(self, split: str) -> str:
        """The split with its role, rows and dates, e.g. ``test (held out, 600 rows, 2026-10-12..2026-10-14)``."""
        from fresco.training.evaluation import split_label

        span = self.dataset.get("split", {}).get("ranges", {}).get(split, {})
        return split_label(split, int(self.dataset.get(f"{split}_rows") or 0), span.get("min"), span.get("max"))


@dataclass
class TagMove:
    tag: str
    old_uuid: str | None
    new_uuid: str
    moved_at: str
    moved_by: str


@dataclass
class ExperimentRecord:
    """An experiment: ``tag``'s traffic split between ``arms`` (model UUID or tag -> weight),
    sticky per ``key`` fields (default: the entity keys). ``action`` is set in the history
    (``start``, ``change``, ``stop``)."""

    name: str
    tag: str
    arms: dict[str, float]
    key: list[str] | None
    changed_at: str
    changed_by: str
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "action" or v is not None}


class ModelRepository:
    """Models, records and tags under one state folder (default: Fresco's state dir)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else state_dir() / "models"
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "repository.db"
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=60000")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    # -- writing -------------------------------------------------------------------------------

    @staticmethod
    def new_uuid() -> str:
        return str(uuidlib.uuid4())

    def save(self, record: ModelRecord, trainer: Any, model: Any, program_json: str,
             reference: Any = None) -> ModelRecord:
        """Store the artifact in BentoML's model store, then the record; returns the record.
        ``reference``: the model's reference sample (a ``fresco.training.reference.ReferenceSample``),
        kept in the artifact as ``reference.parquet``."""
        bentoml, store = _bentoml()
        tag = f"{record.name}:{uuidlib.UUID(record.uuid).hex}"
        labels = {"fresco_uuid": record.uuid, "model_type": record.model_type, "task": record.task,
                  "author": record.author}
        metadata = {"label": record.label, "inputs": record.inputs, "started_at": record.started_at,
                    "finished_at": record.finished_at,
                    "metrics_split": record.headline,
                    "metrics": _jsonable(record.metrics.get(record.headline, {}))}
        with bentoml.models.create(tag, labels=labels, metadata=metadata, _model_store=store) as bento:
            folder = Path(bento.path)
            trainer.save(model, folder)
            (folder / "program.json").write_text(program_json)
            (folder / "fresco.json").write_text(json.dumps({
                "uuid": record.uuid, "name": record.name, "model_type": record.model_type,
                "task": record.task, "label": record.label, "inputs": record.inputs,
                "extensions": _jsonable(record.extensions),
                **({"partitioning": record.config["partitioning"]} if record.config.get("partitioning") else {}),
            }))
            if reference is not None:
                from fresco.training.reference import write_reference

                write_reference(reference, folder)
        record.bento_tag = tag
        data = record.to_dict()
        data.pop("tags", None)
        with self._connect() as db:
            db.execute(
                "INSERT INTO models (uuid, name, model_type, task, label, bento_tag, author, started_at,"
                " finished_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.uuid, record.name, record.model_type, record.task, record.label, tag,
                 record.author, record.started_at, record.finished_at, json.dumps(data)),
            )
        return record

    def tag(self, tag: str, ref: str, *, by: str | None = None) -> TagMove:
        """Point ``tag`` (e.g. ``churn:production``) at a model, atomically; the move is recorded."""
        if not tag or any(c.isspace() for c in tag):
            raise RepositoryError(f"a tag is a non-empty word such as 'churn:production', got {tag!r}")
        by = by or current_user()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = self._resolve(db, ref)
                row = db.execute("SELECT uuid FROM tags WHERE tag = ?", (tag,)).fetchone()
                old = row[0] if row else None
                moved_at = _now()
                db.execute(
                    "INSERT INTO tags (tag, uuid, moved_at, moved_by) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (tag) DO UPDATE SET uuid = excluded.uuid,"
                    " moved_at = excluded.moved_at, moved_by = excluded.moved_by",
                    (tag, new, moved_at, by),
                )
                db.execute(
                    "INSERT INTO tag_history (tag, old_uuid, new_uuid, moved_at, moved_by) VALUES (?, ?, ?, ?, ?)",
                    (tag, old, new, moved_at, by),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return TagMove(tag, old, new, moved_at, by)

    def set_experiment(
        self, name: str, tag: str, arms: dict[str, float], *, key: list[str] | None = None,
        by: str | None = None,
    ) -> ExperimentRecord:
        """Start (or change the weights of) experiment ``name``, which splits ``tag``'s traffic
        between ``arms`` (model UUID, prefix or tag -> weight > 0); recorded in the history.
        ``key``: the row fields the split is sticky by (default: the entity keys); a change
        without ``key`` keeps the experiment's."""
        if not name or any(c.isspace() for c in name):
            raise RepositoryError(f"an experiment name is a non-empty word, got {name!r}")
        if not arms:
            raise RepositoryError(f"experiment {name!r} needs at least one arm (model -> weight)")
        bad = {a: w for a, w in arms.items() if not (isinstance(w, (int, float)) and 0 < w < float("inf"))}
        if bad:
            raise RepositoryError(f"experiment {name!r}: arm weights must be positive numbers, got {bad}")
        if tag in arms:
            raise RepositoryError(f"experiment {name!r} splits {tag!r}; an arm cannot be that tag itself")
        by = by or current_user()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for arm in arms:
                    self._resolve(db, arm)  # every arm names a model now
                row = db.execute("SELECT name FROM experiments WHERE tag = ?", (tag,)).fetchone()
                if row and row[0] != name:
                    raise RepositoryError(f"tag {tag!r} is already split by experiment {row[0]!r}; stop it first")
                existing = db.execute("SELECT key FROM experiments WHERE name = ?", (name,)).fetchone()
                if existing and key is None:  # a change of weights keeps the sticky key
                    key = json.loads(existing[0])
                record = ExperimentRecord(name, tag, {a: float(w) for a, w in arms.items()}, key, _now(), by,
                                          "change" if existing else "start")
                db.execute(
                    "INSERT INTO experiments (name, tag, arms, key, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET tag = excluded.tag, arms = excluded.arms,"
                    " key = excluded.key, changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                    (name, tag, json.dumps(record.arms), json.dumps(key), record.changed_at, by),
                )
                self._record_experiment(db, record)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return record

    def stop_experiment(self, name: str, *, by: str | None = None) -> ExperimentRecord:
        """End experiment ``name``: its tag routes to the tag's own model again; recorded."""
        by = by or current_user()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT tag, arms, key FROM experiments WHERE name = ?", (name,)).fetchone()
                if row is None:
                    raise RepositoryError(f"no running experiment {name!r}")
                record = ExperimentRecord(name, row[0], json.loads(row[1]), json.loads(row[2]), _now(), by, "stop")
                db.execute("DELETE FROM experiments WHERE name = ?", (name,))
                self._record_experiment(db, record)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return record

    @staticmethod
    def _record_experiment(db: sqlite3.Connection, record: ExperimentRecord) -> None:
        db.execute(
            "INSERT INTO experiment_history (name, action, tag, arms, key, changed_at, changed_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.name, record.action, record.tag, json.dumps(record.arms), json.dumps(record.key),
             record.changed_at, record.changed_by),
        )

    # -- reading -------------------------------------------------------------------------------

    def _resolve(self, db: sqlite3.Connection, ref: str) -> str:
        def tag(name: str) -> str | None:
            row = db.execute("SELECT uuid FROM tags WHERE tag = ?", (name,)).fetchone()
            return row[0] if row else None

        def with_prefix(prefix: str) -> list[str]:  # literal, no LIKE
            return [r[0] for r in db.execute("SELECT uuid FROM models WHERE substr(uuid, 1, ?) = ?",
                                             (len(prefix), prefix))]

        found = resolve_reference(
            ref, tag=tag, with_prefix=with_prefix,
            exists=lambda uuid: db.execute("SELECT 1 FROM models WHERE uuid = ?", (uuid,)).fetchone() is not None)
        if found is not None:
            return found
        raise RepositoryError(f"no model or tag {ref!r} in the repository ({self.db_path})")

    def resolve(self, ref: str) -> str:
        """The UUID that a UUID, UUID prefix, BentoML tag or Fresco tag refers to."""
        with self._connect() as db:
            return self._resolve(db, ref)

    def get(self, ref: str) -> ModelRecord:
        with self._connect() as db:
            uuid = self._resolve(db, ref)
            (text,) = db.execute("SELECT record FROM models WHERE uuid = ?", (uuid,)).fetchone()
            tags = [r[0] for r in db.execute("SELECT tag FROM tags WHERE uuid = ? ORDER BY tag", (uuid,))]
        return ModelRecord(**json.loads(text), tags=tags)

    def list(self, name: str | None = None) -> list[ModelRecord]:
        """Every model (or every model called ``name``), newest first."""
        query = "SELECT record FROM models"
        args: tuple[Any, ...] = ()
        if name:
            query, args = query + " WHERE name = ?", (name,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY finished_at DESC", args).fetchall()
            tags: dict[str, list[str]] = {}
            for tag, uuid in db.execute("SELECT tag, uuid FROM tags ORDER BY tag"):
                tags.setdefault(uuid, []).append(tag)
        records = [ModelRecord(**json.loads(r[0])) for r in rows]
        for rec in records:
            rec.tags = tags.get(rec.uuid, [])
        return records

    def change_counter(self) -> Callable[[], int]:
        """A function whose value changes whenever another connection commits to the repository
        (SQLite's ``PRAGMA data_version`` on a connection of its own): cheap enough to poll, so a
        reader re-reads tags and experiments only when something changed."""
        db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None,
                             check_same_thread=False)
        return lambda: db.execute("PRAGMA data_version").fetchone()[0]

    def tags(self) -> dict[str, str]:
        with self._connect() as db:
            return dict(db.execute("SELECT tag, uuid FROM tags ORDER BY tag").fetchall())

    def experiments(self) -> list[ExperimentRecord]:
        """The running experiments."""
        with self._connect() as db:
            rows = db.execute("SELECT name, tag, arms, key, changed_at, changed_by FROM experiments"
                              " ORDER BY name").fetchall()
        return [ExperimentRecord(n, t, json.loads(a), json.loads(k), at, by) for n, t, a, k, at, by in rows]

    def experiment_history(self, name: str | None = None) -> list[ExperimentRecord]:
        """Every start, change and stop of experiments (of ``name``), oldest first."""
        query = "SELECT name, tag, arms, key, changed_at, changed_by, action FROM experiment_history"
        args: tuple[Any, ...] = ()
        if name:
            query, args = query + " WHERE name = ?", (name,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [ExperimentRecord(n, t, json.loads(a), json.loads(k), at, by, act) for n, t, a, k, at, by, act in rows]

    def tag_history(self, tag: str | None = None) -> list[TagMove]:
        query = "SELECT tag, old_uuid, new_uuid, moved_at, moved_by FROM tag_history"
        args: tuple[Any, ...] = ()
        if tag:
            query, args = query + " WHERE tag = ?", (tag,)
        with self._connect() as db:
            return [TagMove(*r) for r in db.execute(query + " ORDER BY id", args)]

    def artifact_path(self, ref: str) -> Path:
        """The BentoML model folder of a model."""
        record = self.get(ref)
        _, store = _bentoml()
        return Path(store.get(record.bento_tag).path)


def compare(records: list[ModelRecord]) -> dict[str, dict[str, Any]]:
    """Configs and metrics side by side: ``{row: {uuid: value}}``, config flattened to dotted keys."""

    def flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                flat(f"{prefix}.{k}" if prefix else str(k), v, out)
        else:
            out[prefix] = value

    table: dict[str, dict[str, Any]] = {}
    for rec in records:
        cells: dict[str, Any] = {"name": rec.name, "model_type": rec.model_type, "author": rec.author,
                                 "finished_at": rec.finished_at, "tags": ", ".join(rec.tags),
                                 "dataset.rows": rec.dataset.get("rows"),
                                 "dataset.content_hash": rec.dataset.get("content_hash")}
        for split, values in rec.metrics.items():
            for k, v in values.items():
                cells[f"metrics.{split}.{k}"] = v
        for split, values in rec.baseline.items():
            for k, v in values.items() if isinstance(values, dict) else ():
                cells[f"baseline.{split}.{k}"] = v
        flat("config", rec.config, cells)
        for key, value in cells.items():
            table.setdefault(key, {})[rec.uuid] = value
    return table
