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
    """An image file could not be read, is too large or holds no ink."""


MAX_PIXELS = 4096 * 4096  # larger images are refused before decoding (a 10000x10000 PNG took 3.5 GB)
WORK_SIDE = 1024          # larger images are shrunk to this longer side before the ink is read


# ---------------------------------------------------------------- image files


def image_file_to_digit(src) -> np.ndarray:
    """An image file (path or bytes; PNG/JPEG/..., dark-on-light or light-on-dark, 8-bit,
    16-bit or float, transparent background allowed) -> (28, 28) uint8, preprocessed as
    a drawing (:func:`digitlab.preprocess.to_mnist`).

    Only regular files are read (a FIFO or a symlink loop is an ImageError). Images over
    :data:`MAX_PIXELS` are refused from their header, before decoding; JPEGs are decoded
    at a reduced scale and any image is shrunk to :data:`WORK_SIDE` px on its longer side."""
    from . import preprocess

    raw, label = _image_bytes(src)
    im = _decode(raw, label)
    try:
        return preprocess.to_mnist(np.asarray(im))
    except preprocess.EmptyDrawing:
        raise ImageError("image.no_ink", file=label) from None
    except preprocess.PreprocessError as e:
        raise ImageError("image.unusable", file=label, reason=e) from None


def _image_bytes(src) -> tuple[bytes, str]:
    """The bytes of an image given as bytes or a path (a regular file up to data.MAX_BYTES)."""
    if isinstance(src, (bytes, bytearray)):
        return bytes(src), "<bytes>"
    label = str(src)
    size = data.check_regular_file(src, ImageError).st_size
    if size > data.MAX_BYTES:
        raise ImageError("file.too_large", file=label, size_bytes=size, limit_bytes=data.MAX_BYTES)
    try:
        return Path(src).read_bytes(), label
    except OSError as e:
        raise ImageError("file.unreadable", file=label, reason=e.strerror or str(e)) from None


def _decode(raw: bytes, label: str):
    """Decode ``raw`` into an 8-bit PIL image (RGBA, or L for 16-bit/float modes), at most
    :data:`WORK_SIDE` px on its longer side; the pixel count is checked before decoding."""
    import struct
    import warnings

    from PIL import Image, UnidentifiedImageError

    broken = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)
    try:
        with warnings.catch_warnings():  # Pillow's own bomb warning: the size is checked below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw))  # reads the header only
    except Image.DecompressionBombError as e:
        raise ImageError("image.too_many_pixels", file=label, reason=str(e)) from None
    except broken as e:
        raise ImageError("image.unreadable", file=label, reason=str(e)) from None
    _check_pixels(im.size, label)
    try:
        im.draft(None, (WORK_SIDE, WORK_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
        im = _to_8bit(im)
        im.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
        return im.convert("RGBA")
    except broken as e:
        raise ImageError("image.unreadable", file=label, reason=str(e)) from None


def _check_pixels(size: tuple[int, int], label: str):
    w, h = size
    if w * h > MAX_PIXELS:
        side = int(MAX_PIXELS**0.5)
        raise ImageError("image.over_pixel_limit", file=label, width=w, height=h, side=side)


def _to_8bit(im):
    """Decode ``im`` into an 8-bit mode: 16-bit and float modes ("I;16", "I", "F") -> "L",
    scaled by their real range (:func:`digitlab.preprocess.unit_range`: 65535 for 16-bit;
    a plain convert would clip them at 255, binarising the picture); L, RGB and RGBA stay;
    any other mode (palette, 1-bit, LA, CMYK...) -> "RGBA", transparency kept."""
    from PIL import Image

    from . import preprocess

    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        unit = preprocess.unit_range(np.asarray(im))
        unit *= 255
        return Image.fromarray(np.rint(unit, out=unit).astype(np.uint8))
    if im.mode in ("L", "RGB", "RGBA"):
        im.load()
        return im
    return im.convert("RGBA")


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
