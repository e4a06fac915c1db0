"""A worker process of a partitioned model's training (``python -m fresco.training.partition_worker``).

It reads job folders from stdin, one per line; each holds ``job.pkl`` (the base trainer, the
partition's train and validation arrays, the hyperparameters, the task and the input names).
It trains the model, saves it with the trainer into ``<folder>/model`` and answers ``done`` on
stdout, or ``error: <what went wrong>`` (the traceback goes to stderr). It ends when stdin closes.
"""

from __future__ import annotations

import pickle
import sys
import traceback
from pathlib import Path


def train_job(folder: Path) -> None:
    """Train and save the partition model of the job in ``folder``."""
    with open(folder / "job.pkl", "rb") as job:
        base, (X, y, X_val, y_val), params, task, names = pickle.load(job)
    model = base.fit(X, y, X_val, y_val, params, task=task, feature_names=names)
    (folder / "model").mkdir()
    base.save(model, folder / "model")


def main() -> None:
    for line in sys.stdin:
        try:
            train_job(Path(line.strip()))
        except Exception as err:  # reported to the parent, which names the partition
            traceback.print_exc()
            print(f"error: {type(err).__name__}: {err}".replace("\n", " "), flush=True)
        else:
            print("done", flush=True)


if __name__ == "__main__":
    main()
