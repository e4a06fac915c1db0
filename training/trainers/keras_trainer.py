"""A feed-forward neural network (TensorFlow/Keras) on standardised, mean-imputed DSL outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from fresco.training.trainers.base import Progress, Standardiser, Trainer, TrainerParams, _quiet, normalise


class KerasParams(TrainerParams):
    hidden_units: list[int] = Field(default_factory=lambda: [64, 32], max_length=8)
    activation: str = Field("relu", pattern=r"^(relu|tanh|gelu|elu)$")
    dropout: float = Field(0.0, ge=0, lt=1)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    epochs: int = Field(20, ge=1, le=1000)
    batch_size: int = Field(256, ge=1)
    patience: int | None = Field(5, ge=1)
    seed: int = 0


class KerasModel:
    def __init__(self, net: Any, scaler: Standardiser, task: str, history: dict[str, list[float]]) -> None:
        self.net, self.scaler, self.task, self.history = net, scaler, task, history


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(2)
        tf.config.threading.set_intra_op_parallelism_threads(2)
    except RuntimeError:  # already initialised
        pass
    return tf


class KerasTrainer(Trainer):
    name = "keras"
    Params = KerasParams
    # engine spark keeps the dataset in Spark; Keras trains in one process on arrays in memory
    spark_refusal = ("Keras trains in one process on the whole training set in memory, which "
                     "engine spark never collects to the driver; use resources.engine: local "
                     "(a Spark offline store still does the retrieval), or model.type xgboost or linear on Spark")

    def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress: Progress = _quiet):
        tf = _tf()
        keras = tf.keras
        p = KerasParams.model_validate(params)
        keras.utils.set_random_seed(p.seed)
        scaler = Standardiser.fit(X)
        layers = [keras.Input(shape=(X.shape[1],))]
        for units in p.hidden_units:
            layers.append(keras.layers.Dense(units, activation=p.activation))
            if p.dropout:
                layers.append(keras.layers.Dropout(p.dropout))
        regression = task == "regression"
        layers.append(keras.layers.Dense(1, activation=None if regression else "sigmoid"))
        net = keras.Sequential(layers)
        if regression:  # start the output at the label's mean: faster, steadier training
            net.layers[-1].bias.assign([float(np.mean(y))])
        net.compile(optimizer=keras.optimizers.Adam(p.learning_rate),
                    loss="mse" if regression else "binary_crossentropy")

        class _Report(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                progress(f"epoch {epoch + 1}/{p.epochs} loss={logs.get('loss', float('nan')):.4f} "
                         f"val_loss={logs.get('val_loss', float('nan')):.4f}")

        callbacks: list[Any] = [_Report()]
        if p.patience and len(y_val):
            callbacks.append(keras.callbacks.EarlyStopping(patience=p.patience, restore_best_weights=True))
        fit = net.fit(
            scaler.transform(X), np.asarray(y, dtype=np.float32),
            validation_data=(scaler.transform(X_val), np.asarray(y_val, dtype=np.float32)) if len(y_val) else None,
            epochs=p.epochs, batch_size=p.batch_size, verbose=0, callbacks=callbacks,
        )
        history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
        return KerasModel(net, scaler, task, history)

    def predict(self, model: KerasModel, X):
        Z = model.scaler.transform(X).astype(np.float32)
        return np.asarray(model.net(Z, training=False)).reshape(-1).astype(np.float64)

    def feature_importance(self, model: KerasModel, feature_names):
        # permutation-free and cheap: mean |input gradient| x input spread, on a fixed probe set
        tf = _tf()
        rng = np.random.default_rng(0)
        Z = tf.constant(rng.standard_normal((256, len(feature_names))).astype(np.float32))
        with tf.GradientTape() as tape:
            tape.watch(Z)
            out = model.net(Z, training=False)
        grads = np.abs(np.asarray(tape.gradient(out, Z))).mean(axis=0)
        return normalise(dict(zip(feature_names, grads)), feature_names)

    def learnt_parameters(self, model: KerasModel) -> dict[str, Any]:
        return {
            "layers": [layer.name for layer in model.net.layers],
            "weights": int(model.net.count_params()),
            "epochs_run": len(model.history.get("loss", [])),
            "final_loss": (model.history.get("loss") or [None])[-1],
            "final_val_loss": (model.history.get("val_loss") or [None])[-1],
            "scaler": model.scaler.to_dict(),
        }

    def save(self, model: KerasModel, folder: Path) -> None:
        model.net.save(folder / "model.keras")
        (folder / "keras.json").write_text(json.dumps(
            {"task": model.task, "scaler": model.scaler.to_dict(), "history": model.history}))

    def load(self, folder: Path) -> KerasModel:
        tf = _tf()
        meta = json.loads((folder / "keras.json").read_text())
        net = tf.keras.models.load_model(folder / "model.keras")
        return KerasModel(net, Standardiser(**meta["scaler"]), meta["task"], meta["history"])


TRAINER = KerasTrainer()
