"""What every trainer returns (:class:`Trained`) and the small helpers they share to report progress.

A trainer is ``train(cfg, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None)``:
``callback(event)`` receives ``batch`` and ``epoch`` events (the fields are listed in
:mod:`digitlab.training`), ``should_stop()`` is polled and ends training early (Stop).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import data

Callback = Callable[[dict], None]
ShouldStop = Callable[[], bool]
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")


@dataclass
class Trained:
    """What a trainer returns: everything the store needs to save the model.

    arrays : named NumPy arrays (weights), saved as ``.npz`` without pickle
    spec   : JSON-ready description from which the kind's predictor factory rebuilds the model
    history: per-epoch lists ``loss, accuracy, val_loss, val_accuracy`` (+ ``seconds``)
    stopped: True when Stop ended training early
    keras_model : the Keras model (keras-cnn only), saved as ``.keras`` by the trainer process
    """

    arrays: dict[str, np.ndarray]
    spec: dict
    history: dict
    stopped: bool = False
    keras_model: Any = None


@dataclass(frozen=True)
class Base:
    """A stored model a fine-tuning job starts from, as its trainer reads it
    (:func:`digitlab.store.read_folder`): its name, ``meta.json``, predictor spec and weight
    arrays, and its folder (keras-cnn reads its ``.keras`` file there). A finetuner is
    ``finetune(cfg, train_ds, val_ds=None, *, base, seed=0, callback=None, should_stop=None)``
    and returns a new :class:`Trained`; the base's arrays are never changed."""

    name: str
    meta: dict
    spec: dict
    arrays: dict[str, np.ndarray]
    folder: Path


def new_history() -> dict:
    """Empty per-epoch lists, one per :data:`HISTORY_KEYS`."""
    return {k: [] for k in HISTORY_KEYS}


def record_epoch(history: dict, event: dict) -> None:
    """Append an epoch event's numbers to ``history``."""
    for k in HISTORY_KEYS:
        history[k].append(event[k])


def emit(callback: Callback | None, event: dict) -> None:
    if callback is not None:
        callback(event)


def number_or_none(v):
    return None if v is None else float(v)


def cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of (n, 10) probabilities ``p`` against labels ``y``."""
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0))))


def nhwc(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) images -> float32 (n, 28, 28, 1) in [0, 1], as the CNNs take them."""
    return data.to_float(images)[..., None]
