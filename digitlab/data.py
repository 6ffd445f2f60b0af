"""Where datasets come from: the bundled sample, full MNIST, and one entry point for any file.

Everything returns a :class:`~digitlab.dataset.Dataset` (uint8 images ``(n, 28, 28)``,
int64 labels ``(n,)`` or ``None``). The pieces live in three modules, all re-exported here
so that ``from digitlab import data`` is the one import a page or a learner needs:

- :mod:`digitlab.dataset`: the Dataset, the errors, splits and scaling;
- :mod:`digitlab.files`: opening a user's file safely (size limits, gzip, no FIFOs);
- :mod:`digitlab.formats`: Kaggle CSV, MNIST IDX and ``.npz``, read and written.
"""
from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np

from .dataset import (N_PIXELS, PIXEL_COLUMNS, CSVFormatError, DataError, Dataset, FileTooLargeError,
                      IDXFormatError, MNISTUnavailableError, NoImagesError, binary_subset, fingerprint, flatten,
                      freeze, one_hot, sample_indices, stratified_split, to_float)
from .files import MAX_BYTES, READ_BLOCK, Source, check_regular_file, open_source, write_atomic
from .formats import (CSV_CHUNK_ROWS, CSV_LINE_LIMIT, find_idx_pair, labels_path_for, load_idx,
                      load_kaggle_csv, load_npz, parse_idx, save_npz, write_kaggle_csv)

__all__ = [  # the names a caller finds here: this module's own, and the re-exported ones
    "DATA_DIR", "SAMPLE_PATH", "MNIST_URL", "MNIST_SHA256", "load_sample", "mnist_cache_path", "load_mnist", "load",
    "N_PIXELS", "PIXEL_COLUMNS", "DataError", "CSVFormatError", "IDXFormatError", "FileTooLargeError",
    "MNISTUnavailableError", "NoImagesError", "Dataset", "binary_subset", "fingerprint", "flatten", "freeze",
    "one_hot", "sample_indices", "stratified_split", "to_float",
    "MAX_BYTES", "READ_BLOCK", "Source", "check_regular_file", "open_source",
    "CSV_CHUNK_ROWS", "CSV_LINE_LIMIT", "find_idx_pair", "labels_path_for", "load_idx", "load_kaggle_csv",
    "load_npz", "parse_idx", "save_npz", "write_kaggle_csv",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_PATH = DATA_DIR / "mnist_sample.npz"

# full MNIST: the file and checksum keras.datasets.mnist uses, and its cache location
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


# ---------------------------------------------------------------- bundled sample


def load_sample() -> Dataset:
    """The bundled 10,000 MNIST training digits (see data/README.md)."""
    with np.load(SAMPLE_PATH) as z:
        x, y = z["images"], z["labels"].astype(np.int64)
    freeze(x, y)
    return Dataset(x, y, "MNIST sample (10k)", "bundled sample: data/mnist_sample.npz")


# ---------------------------------------------------------------- full MNIST


def mnist_cache_path() -> Path:
    """Where keras.datasets.mnist caches ``mnist.npz`` (``$KERAS_HOME`` or ~/.keras)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (fixed https URL)
        return r.read()


def load_mnist(split: str = "train", *, timeout: float = 5.0, offline: bool | None = None) -> Dataset:
    """Full MNIST (60k train or 10k test), the file keras.datasets.mnist uses.

    The download is done here with the same URL, checksum and cache file as
    ``keras.datasets.mnist.load_data`` so that the Streamlit server never has to
    import TensorFlow. Offline (``DIGITLAB_OFFLINE=1`` or no network) and not
    cached, it raises :class:`MNISTUnavailableError` within ``timeout`` seconds.
    """
    if split not in ("train", "test"):
        raise DataError("mnist.bad_split", split=split)
    path = mnist_cache_path()
    if not path.is_file():
        if offline is None:
            offline = os.environ.get("DIGITLAB_OFFLINE", "") not in ("", "0")
        if offline:
            raise MNISTUnavailableError("mnist.offline")
        try:
            raw = _download(MNIST_URL, timeout)
        except Exception as e:  # URLError, timeout, DNS failure, refused connection
            raise MNISTUnavailableError("mnist.download_failed", reason=f"{type(e).__name__}: {e}") from None
        if hashlib.sha256(raw).hexdigest() != MNIST_SHA256:
            raise MNISTUnavailableError("mnist.bad_checksum")
        write_atomic(path, lambda f: f.write(raw))
    try:
        with np.load(path, allow_pickle=False) as z:
            x, y = z[f"x_{split}"], z[f"y_{split}"].astype(np.int64)
    except Exception as e:
        raise DataError("mnist.cache_unreadable", path=str(path), reason=str(e)) from None
    freeze(x, y)
    return Dataset(x, y, f"MNIST {split} ({len(x) // 1000}k)", f"full MNIST ({split}): {path}")


# ---------------------------------------------------------------- one entry point


def load(spec: str, *, max_bytes: int = MAX_BYTES) -> Dataset:
    """Load a dataset named by ``spec``: ``sample``, ``mnist`` / ``mnist-test``,
    a Kaggle CSV path, an IDX images path or a folder holding an IDX pair."""
    if spec == "sample":
        return load_sample()
    if spec in ("mnist", "mnist-train", "mnist-test"):
        return load_mnist("test" if spec.endswith("test") else "train")
    p = Path(spec)
    if p.is_dir():
        return load_idx(*find_idx_pair(p), max_bytes=max_bytes)
    if not os.path.lexists(p):
        raise DataError("data.not_found", spec=spec)
    check_regular_file(p)  # symlink loops, FIFOs, devices: a clear error, never a hang
    if p.suffix.lower() == ".npz":
        return load_npz(p, max_bytes=max_bytes)
    if p.name.lower().endswith((".csv", ".csv.gz")) or p.suffix.lower() == ".txt":
        return load_kaggle_csv(p, max_bytes=max_bytes)
    if "idx" in p.name or "ubyte" in p.name:
        return load_idx(p, max_bytes=max_bytes)
    raise DataError("data.unknown_format", file=p.name)
