"""Looking inside a stored model: weights, per-layer activations, confusion, mistakes.

(The sets a model is measured on, its validation split among them, are :mod:`digitlab.evaluation`'s.)

Works on :class:`digitlab.store.StoredModel` (any kind) through its predictor, with
NumPy only. Pure functions; the Inspect page renders what they return.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .models import as_unit_images, ten_class_probabilities


@dataclass
class Weights:
    """First-layer weights as pictures: ``kind`` "conv" -> (F, kh, kw) kernels (first
    input channel); "dense" -> (units, 28, 28), one image per hidden unit."""

    kind: str
    images: np.ndarray


def first_layer_weights(model) -> Weights | None:
    """The first layer that looks at pixels, as pictures (None when there is none)."""
    pred = model.predictor
    net = getattr(pred, "net", None)
    if net is not None:
        for layer in net.layers:
            W = getattr(layer, "params", {}).get("W")
            if W is None:
                continue
            if W.ndim == 4:  # (kh, kw, C, F) HWIO
                return Weights("conv", np.moveaxis(W[:, :, 0, :], -1, 0))
            if W.ndim == 2 and W.shape[0] == 784:  # (784, units)
                return Weights("dense", W.T.reshape(-1, 28, 28))
            return None
    if hasattr(pred, "params") and "W1" in pred.params:  # the seed's (n_h, 784)
        return Weights("dense", np.asarray(pred.params["W1"]).reshape(-1, 28, 28))
    return None


@dataclass
class LayerOutput:
    name: str
    kind: str          # "maps" (h, w, c) | "vector" (units,)
    value: np.ndarray


def layer_outputs(model, image: np.ndarray) -> list[LayerOutput]:
    """Every layer's output for one 28x28 digit (uint8 or [0,1] float), for models with a
    :mod:`digitlab.nn` network (NumPy nets, Keras CNNs and scikit-learn MLPs through
    their NumPy twins); [] for the tutorial's 0-vs-1 net."""
    net = getattr(model.predictor, "net", None)
    if net is None:
        return []
    x = as_unit_images(image)  # (1, 28, 28)
    out = []
    for name, a in net.activations(x[..., None]):
        a = np.asarray(a)[0]
        out.append(LayerOutput(name, "maps" if a.ndim == 3 else "vector", a))
    return out


def confusion(y: np.ndarray, pred: np.ndarray, k: int = 10) -> np.ndarray:
    """(k, k) counts: rows = true label, columns = prediction."""
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (np.asarray(y), np.asarray(pred)), 1)
    return cm


def scores(y: np.ndarray, pred: np.ndarray, k: int = 10) -> dict:
    """``accuracy`` (None when there is nothing to score), ``n`` and the ``confusion`` matrix
    (:func:`confusion`) of predictions ``pred`` against the labels ``y``."""
    y, pred = np.asarray(y), np.asarray(pred)
    if not len(y):
        return {"accuracy": None, "n": 0, "confusion": np.zeros((k, k), np.int64)}
    return {"accuracy": float(np.mean(pred == y)), "n": int(len(y)), "confusion": confusion(y, pred, k)}


def mistakes(y: np.ndarray, proba: np.ndarray, true: int, predicted: int) -> np.ndarray:
    """Indices of digits labelled ``true`` and predicted ``predicted``, most confident first."""
    pred = proba.argmax(1)
    idx = np.flatnonzero((np.asarray(y) == true) & (pred == predicted))
    return idx[np.argsort(-proba[idx, predicted], kind="stable")]


def worst_confusion(cm: np.ndarray) -> tuple[int, int] | None:
    """The (true, predicted) off-diagonal cell with most digits, None when all are right."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    if off.max() == 0:
        return None
    t, p = np.unravel_index(np.argmax(off), off.shape)
    return int(t), int(p)


def normalize_maps(a: np.ndarray) -> np.ndarray:
    """(h, w, c) feature maps -> (c, h, w) each scaled to [0, 1] on its own (for display)."""
    m = np.moveaxis(np.asarray(a, np.float32), -1, 0)
    lo = m.min(axis=(1, 2), keepdims=True)
    hi = m.max(axis=(1, 2), keepdims=True)
    return (m - lo) / np.where(hi - lo > 1e-12, hi - lo, 1)


def predict_all(names: list[str], image: np.ndarray, load) -> list[dict]:
    """Every named model's answer for one 28x28 digit: dicts with name, kind, classes,
    proba (10,) (a 0-vs-1 model's two probabilities in slots 0 and 1), digit, or error.
    ``load(name)`` returns a StoredModel (the store's cached loader)."""
    out = []
    for n in names:
        try:
            m = load(n)
            full = ten_class_probabilities(m.predict_proba(image[None]))[0]
            out.append({"name": n, "kind": m.kind, "classes": m.classes, "proba": full, "digit": int(np.argmax(full))})
        except Exception as e:  # noqa: BLE001 - one broken model must not hide the others
            out.append({"name": n, "error": f"{type(e).__name__}: {e}"})
    return out


def store_fingerprint(models_dir) -> tuple:
    """A cheap stamp of a model store's ``models/`` folder: (name, meta.json mtime_ns, size) of
    every entry, sorted. It changes when a model is stored, replaced, renamed or deleted (a save
    ends by renaming ``meta.json`` or the model's folder into place). One scandir and one stat
    per model: about 0.1 ms for 24 models here, against ~0.2 ms per model to read every
    ``meta.json`` (``store.list_models``)."""
    out = []
    try:
        with os.scandir(models_dir) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                try:
                    s = os.stat(os.path.join(e.path, "meta.json"))
                    out.append((e.name, s.st_mtime_ns, s.st_size))
                except OSError:
                    out.append((e.name, 0, 0))
    except OSError:
        return ()
    return tuple(sorted(out))
