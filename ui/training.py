"""``/api/configs`` and ``/api/train``: the repository's model configs (the YAML files of its
``models/`` folder, the layout ``fresco init`` makes), each with the JSON schema of a config and
of its trainer's hyperparameters; a training started from them with overrides, checked first by
the plan the CLI uses (:func:`fresco.training.plan_training`: a bad field is a 400 naming it),
then run as ``fresco train`` in a child process (the service stays responsive), its output
captured. A job is a JSON file and a log in ``<state folder>/ui-jobs/``, so a restarted service
still lists it; its status is the child's exit status, or, when the service that started it
has gone, what its log says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid as uuids
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fresco.ui import audit
from fresco.ui.auth import token_holder
from fresco.ui.errors import BadRequest, UnknownName, shorten
from fresco.ui.schemas import ConfigDetail, ConfigList, Job, JobList, JobStarted, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api", tags=["training"])

#: The folder of a repository holding its model configs (``fresco init``'s layout).
CONFIG_FOLDER = "models"
JOB_FOLDER = "ui-jobs"
_JOB_ID = re.compile(r"^[0-9a-f]{12}$")
#: ``fresco train``'s line naming the new model: ``model   NAME UUID``.
_MODEL_LINE = re.compile(r"^model\s+\S+\s+([0-9a-f-]{36})\s*$")


def config_files(repo: Path) -> dict[str, Path]:
    """The model configs of the repository ``repo``: name (the file's stem) -> YAML path."""
    folder = repo / CONFIG_FOLDER
    return {p.stem: p for p in sorted(folder.glob("*.yaml")) if p.is_file()} if folder.is_dir() else {}


def config_path(src: Sources, name: str) -> Path:
    """The config named ``name``: one of :func:`config_files`, else a 404 (a name never becomes a path)."""
    found = config_files(src.repo).get(name)
    if found is None:
        raise UnknownName(f"no model config {shorten(name)!r} in {src.repo / CONFIG_FOLDER}; known: "
                          f"{sorted(config_files(src.repo))}", field="config")
    return found


@router.get("/configs", summary="The repository's model configs", response_model=ConfigList)
def list_configs(src: Sources = Depends(sources)) -> dict[str, Any]:
    """Every YAML config in the repository's ``models/`` folder: its model's name, type and task,
    or the problem reading it."""
    from fresco.training import ConfigError, load_config

    configs = []
    for name, path in config_files(src.repo).items():
        entry: dict[str, Any] = {"name": name, "path": str(path)}
        try:
            model = load_config(path).model
            entry.update(model=model.name, type=model.type, task=model.task, problem=None)
        except ConfigError as err:
            entry.update(model=None, type=None, task=None, problem=str(err))
        configs.append(entry)
    return {"configs": configs}


@router.get("/configs/{name}", summary="A model config and its schemas", response_model=ConfigDetail,
            responses=errors(400, 404))
def get_config(name: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """The config as read (paths resolved), the JSON schema of a model config, and the JSON schema
    of its trainer's hyperparameters (null when the trainer cannot be found)."""
    from fresco.training import ConfigError, load_config
    from fresco.training.config import ModelConfig
    from fresco.training.trainers import resolve_trainer

    path = config_path(src, name)
    try:
        config = load_config(path)
    except ConfigError as err:
        raise BadRequest(str(err), field=_first_field(err)) from None
    try:
        hyperparameters = resolve_trainer(config.model.type)[0].Params.model_json_schema()
    except Exception:  # an unknown or broken trainer: the plan names it when training starts
        hyperparameters = None
    return {"name": name, "path": str(path), "config": config.model_dump(mode="json"),
            "schema": ModelConfig.model_json_schema(), "hyperparameters_schema": hyperparameters}


class TrainRequest(BaseModel):
    """What to train: a config of the repository and overrides of its fields."""

    model_config = ConfigDict(extra="forbid")

    config: str = Field(min_length=1, description="A config's name, as `GET /api/configs` lists it.")
    overrides: dict[str, Any] = Field(default_factory=dict, description=(
        "Field path -> value, as `fresco train --set` takes them, e.g. {\"model.hyperparameters.max_depth\": 4}."))


def _first_field(err: Any) -> str | None:
    return next((path for path, _ in err.errors if path), None)


def _jobs(state: Path) -> Path:
    return state / JOB_FOLDER


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write(path: Path, job: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(job), encoding="utf-8")
    temporary.replace(path)  # readers see the whole old or the whole new file


#: The jobs whose child this process watches (until their exit status is written).
_watched: set[str] = set()


def _running(job: dict[str, Any]) -> bool:
    """Whether the job's child still runs: watched by this process, or (started by an earlier
    one) its pid runs this job's command (not a reused pid)."""
    from fresco.platform.services.process import command_line

    return job["id"] in _watched or command_line(job["pid"]) == job["command"]


def _watch(process: subprocess.Popen, path: Path) -> None:
    """Record the child's exit status in its job file when it ends."""
    code = process.wait()
    job = json.loads(path.read_text(encoding="utf-8"))
    job.update(returncode=code, finished_at=_now())
    _write(path, job)
    _watched.discard(job["id"])


def job_view(state: Path, job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API answers it: status, progress lines, the new model or the error."""
    log = _jobs(state) / f"{job['id']}.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    model = next((m.group(1) for m in map(_MODEL_LINE.match, lines) if m), None)
    code = job.get("returncode")
    if code is None and _running(job):
        status = "running"
    elif code == 0 or (code is None and model):
        status = "succeeded"
    else:
        status = "failed"
    error = None
    if status == "failed":
        said = [line for line in lines if line.startswith("Error:")] or lines[-1:]
        error = said[-1].removeprefix("Error:").strip() if said else (
            "the training ended without a word" if code is not None else "the service stopped while it ran")
    return {**{k: v for k, v in job.items() if k not in ("pid", "command")}, "status": status, "progress": lines,
            "model": model if status == "succeeded" else None, "error": error}


@router.post("/train", status_code=202, summary="Start a training", response_model=JobStarted,
             responses=errors(400, 401, 404))
def start_training(body: TrainRequest, holder: str = Depends(token_holder),
                   src: Sources = Depends(sources)) -> dict[str, Any]:
    """Check the config with the overrides as ``fresco train --check`` does (a bad field is a 400
    naming it), then run ``fresco train`` in the background; answers the job (202). Needs the
    bearer token; recorded in the audit log."""
    from fresco.training import ConfigError, plan_training

    path = config_path(src, body.config)
    try:
        plan_training(path, overrides=dict(body.overrides))
    except ConfigError as err:
        raise BadRequest(str(err), field=_first_field(err)) from None
    folder = _jobs(src.state)
    folder.mkdir(parents=True, exist_ok=True)
    job_id = uuids.uuid4().hex[:12]
    command = [sys.executable, "-c", "from fresco.cli import main; main(prog_name='fresco')", "train", str(path),
               *(f"--set={key}={json.dumps(value)}" for key, value in body.overrides.items())]
    env = {**os.environ, "FRESCO_HOME": str(src.state), "PYTHONUNBUFFERED": "1",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}  # progress lines are for people
    with (folder / f"{job_id}.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, cwd=path.parent, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    job = {"id": job_id, "config": body.config, "overrides": body.overrides, "started_at": _now(),
           "started_by": holder, "pid": process.pid, "command": command, "returncode": None, "finished_at": None}
    _write(folder / f"{job_id}.json", job)
    _watched.add(job_id)
    threading.Thread(target=_watch, args=(process, folder / f"{job_id}.json"), daemon=True,
                     name=f"train-{job_id}").start()
    entry = audit.record(src.state, "train.start", holder, job=job_id, config=body.config, overrides=body.overrides)
    return {**job_view(src.state, job), "audit": entry}


def _read_job(state: Path, job_id: str) -> dict[str, Any] | None:
    path = _jobs(state) / f"{job_id}.json"
    if not _JOB_ID.match(job_id) or not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@router.get("/train", summary="The training jobs", response_model=JobList)
def list_jobs(src: Sources = Depends(sources)) -> dict[str, Any]:
    """Every training started from this API, newest first, without its progress lines."""
    folder = _jobs(src.state)
    jobs = [job for p in folder.glob("*.json") if (job := _read_job(src.state, p.stem))] if folder.is_dir() else []
    views = [{k: v for k, v in job_view(src.state, job).items() if k != "progress"} for job in jobs]
    return {"jobs": sorted(views, key=lambda j: j["started_at"], reverse=True)}


@router.get("/train/{job}", summary="A training job", response_model=Job, responses=errors(404))
def get_job(job: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """A job's status (running, succeeded, failed), its progress lines so far, the new model's
    UUID when it succeeded, the error when it failed."""
    found = _read_job(src.state, job)
    if found is None:
        raise UnknownName(f"no training job {shorten(job)!r}", field="job")
    return job_view(src.state, found)
