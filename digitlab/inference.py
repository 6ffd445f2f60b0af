"""Inference helpers on stored models (NumPy only; never imports TensorFlow).

* :func:`image_file_to_digit` - any image file -> (28, 28) uint8, preprocessed the way a
  drawing is (:func:`digitlab.preprocess.to_mnist`)
* :func:`default_models` - the default models present in the store (CLI ``predict``)
* :func:`classification_report` - accuracy and per-class precision/recall/F1 (CLI ``evaluate``)
* :func:`submission_rows` - the seed's Kaggle output ``ImageId,Label`` (ImageId from 1)
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from . import data, store


class ImageError(data.DataError):
    """An image file could not be read or holds no ink."""


# ---------------------------------------------------------------- image files


def image_file_to_digit(src) -> np.ndarray:
    """An image file (path or bytes; PNG/JPEG/..., any size, dark-on-light or light-on-dark,
    transparent background allowed) -> (28, 28) uint8, preprocessed as a drawing
    (:func:`digitlab.preprocess.to_mnist`)."""
    from PIL import Image, UnidentifiedImageError

    from . import preprocess

    label = "<bytes>" if isinstance(src, (bytes, bytearray)) else str(src)
    try:
        raw = bytes(src) if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
    except FileNotFoundError:
        raise ImageError(f"no such file: {label}") from None
    except IsADirectoryError:
        raise ImageError(f"{label} is a folder, not an image") from None
    try:
        im = Image.open(io.BytesIO(raw))
        im.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"{label}: not a readable image ({e})") from None
    try:
        return preprocess.to_mnist(np.asarray(im.convert("RGBA"), dtype=np.uint8))
    except preprocess.EmptyDrawing:
        raise ImageError(f"{label}: no ink found (an empty picture)") from None
    except preprocess.PreprocessError as e:
        raise ImageError(f"{label}: {e}") from None


# ---------------------------------------------------------------- several models at once


def default_models() -> list[str]:
    """Names of the default models present in the store (see training.DEFAULT_MODELS)."""
    from .training import DEFAULT_MODELS

    return [n for n, *_ in DEFAULT_MODELS if store.exists(n)]


# ---------------------------------------------------------------- reports


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, k: int = 10) -> dict:
    """{"accuracy", "n", "per_class": [{"digit", "precision", "recall", "f1", "support"}], "confusion"}."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    per = []
    for c in range(k):
        tp = cm[c, c]
        prec = tp / cm[:, c].sum() if cm[:, c].sum() else 0.0
        rec = tp / cm[c].sum() if cm[c].sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per.append({"digit": c, "precision": round(float(prec), 4), "recall": round(float(rec), 4),
                    "f1": round(float(f1), 4), "support": int(cm[c].sum())})
    return {"accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else None, "n": int(len(y_true)),
            "per_class": per, "confusion": cm.tolist()}


def submission_rows(model: store.StoredModel, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Predicted labels for a Kaggle test set, in order (ImageId = index + 1)."""
    out = [model.predict_proba(images[i:i + batch]).argmax(1) for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def write_submission(labels: np.ndarray, path) -> None:
    """The seed's Kaggle output: ``ImageId,Label`` with ImageId from 1."""
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    with open(tmp, "w", newline="") as f:
        f.write("ImageId,Label\n")
        for i, lab in enumerate(labels, 1):
            f.write(f"{i},{int(lab)}\n")
    tmp.replace(p)
