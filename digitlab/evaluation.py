"""Evaluation sets: what a stored model can be measured on, loading them, and measuring.

The sets (:data:`SETS`), in the order the Inspect page offers them:

* ``"val"`` - the model's own validation split, rebuilt from its metadata
  (:func:`validation_set`: the same seeded split the trainer made);
* ``"test"`` - the official MNIST test set (10,000 digits), when its files are there
  (:func:`official_test_path`);
* ``"drawings"`` - saved drawings (a :class:`digitlab.data.Dataset` the caller passes in:
  the room's database belongs to :mod:`digitlab.room`).

A 0-vs-1 model reads only the 0s and 1s of any set (:func:`for_model`).

Settings
--------
``DIGITLAB_TEST_DATA``
    The folder holding the official MNIST test set as IDX files (``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte``, gzipped or raw). Default: ``../shared/data`` beside the
    repository (the folder ``shared/data`` next to the repository's own folder). The set
    counts as there when the folder holds a file whose name contains ``idx3``; otherwise
    the Inspect page offers no "official test set" and trained models get no
    ``test_accuracy``. Read on every call, so a test may set it with ``monkeypatch.setenv``.

No Streamlit here; the Inspect page caches what :func:`predict_set` returns.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import data

if TYPE_CHECKING:  # only for the annotations: models is not needed to measure
    from .models import Predictor

TEST_DATA_ENV = "DIGITLAB_TEST_DATA"
SETS = ("val", "test", "drawings")


def test_data_dir() -> Path:
    """The folder named by ``$DIGITLAB_TEST_DATA``, default ``../shared/data`` beside the
    repository (whether or not it exists)."""
    env = os.environ.get(TEST_DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def official_test_path() -> Path | None:
    """The folder of the official MNIST test set (:func:`test_data_dir`), when it is a folder
    holding an IDX images file; else None."""
    p = test_data_dir()
    return p if p.is_dir() and any("idx3" in q.name for q in p.iterdir()) else None


def evaluate(predictor: "Predictor", ds: data.Dataset) -> dict:
    """accuracy (and n) of a predictor on a labelled dataset; binary models use only 0s and 1s."""
    if predictor.classes == 2:
        ds = data.binary_subset(ds)
    if not len(ds):
        return {"accuracy": None, "n": 0}
    p = predictor.predict_proba(ds.images)
    return {"accuracy": float(np.mean(p.argmax(1) == ds.labels)), "n": len(ds)}


def validation_set(meta: dict) -> data.Dataset:
    """The validation split a stored model was measured on, rebuilt from its metadata
    (dataset spec, seed, val_fraction): the same seeded split the trainer made. A fine-tuned
    copy's validation set is its held-out drawings (:mod:`digitlab.finetune`)."""
    heldout = (meta.get("finetune") or {}).get("heldout")
    if heldout:
        return data.load(str(heldout))
    ds_meta = meta.get("dataset") or {}
    spec = ds_meta.get("spec") or "sample"
    cfg = meta.get("config") or {}
    ds = data.load(spec)
    _, val = data.stratified_split(ds, float(cfg.get("val_fraction", 0.2)), int(meta.get("seed", 0)))
    return val


def available_sets(*, has_drawings: bool) -> list[str]:
    """The sets a model can be measured on now: ``val`` always, ``test`` when the official test
    set is there, ``drawings`` when the viewer has saved some."""
    return ["val"] + (["test"] if official_test_path() else []) + (["drawings"] if has_drawings else [])


def load_set(which: str, meta: dict, drawings: data.Dataset | None = None) -> data.Dataset:
    """The set ``which`` (one of :data:`SETS`) for the model described by ``meta``.

    Raises :class:`digitlab.data.DataError` when it cannot be loaded (e.g. the test set's
    files went away, or no drawings were given)."""
    if which == "val":
        return validation_set(meta)
    if which == "test":
        path = official_test_path()
        if path is None:
            raise data.DataError("data.not_found", spec=str(test_data_dir()))
        return data.load(str(path))
    if which == "drawings":
        if drawings is None:
            raise data.NoImagesError("data.no_images", file="drawings")
        return unseen_drawings(meta, drawings)
    raise ValueError(f"unknown evaluation set {which!r} (one of {', '.join(SETS)})")


def unseen_drawings(meta: dict, drawings: data.Dataset) -> data.Dataset:
    """The drawings a model did not train on: all of them, but for a fine-tuned copy
    (:mod:`digitlab.finetune`) those whose ids it trained on. Scoring a copy on the drawings it
    learnt from would flatter it (the Class page's leaderboard, Inspect's "drawings" set)."""
    seen = set(((meta or {}).get("finetune") or {}).get("trained_ids") or ())
    if not seen or not len(drawings):
        return drawings
    ids = drawings.meta.get("ids") or []
    keep = np.array([i not in seen for i in ids], bool)
    out = drawings.subset(keep)
    out.meta["ids"] = [i for i, k in zip(ids, keep) if k]
    return out


def for_model(ds: data.Dataset, classes: int) -> data.Dataset:
    """What a model with ``classes`` outputs reads of ``ds``: all of it, or a 0-vs-1 model's 0s and 1s."""
    return data.binary_subset(ds) if classes == 2 else ds


def predict_set(model, which: str, meta: dict, drawings: data.Dataset | None = None):
    """``(images, labels, proba)`` of a loaded model (a :class:`digitlab.store.StoredModel`) on the
    set ``which``: the images it reads, their labels and its (n, classes) probabilities."""
    ev = for_model(load_set(which, meta, drawings), model.classes)
    return ev.images, ev.labels, model.predict_proba(ev.images)
