"""The :class:`Dataset` every loader returns, the data errors, and the splits and scaling
the trainers use.

A dataset is uint8 images ``(n, 28, 28)`` (0 = background, 255 = ink) and int64 labels
``(n,)``, or ``None`` for an unlabelled Kaggle ``test.csv``. Bad input raises a subclass of
:class:`DataError` whose message says what is wrong and where; it carries a stable code and
params (:mod:`digitlab.errors`), so a page can say it in its language. The loaders are in
:mod:`digitlab.formats` (files) and :mod:`digitlab.data` (the sample, full MNIST, one entry
point).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .errors import DigitLabError

N_PIXELS = 28 * 28
PIXEL_COLUMNS = [f"pixel{i}" for i in range(N_PIXELS)]  # Kaggle's column names


class DataError(DigitLabError, ValueError):
    """Base class: the input is not a usable digit dataset."""


class CSVFormatError(DataError):
    """A CSV file is not in the Kaggle Digit Recognizer format."""


class IDXFormatError(DataError):
    """An IDX file (or its gzip wrapper) is malformed."""


class FileTooLargeError(DataError):
    """A file is larger than the size limit."""


class MNISTUnavailableError(DataError):
    """Full MNIST is neither cached nor downloadable (no network)."""


class NoImagesError(DataError):
    """A well-formed file (or selection) that holds no images: nothing to show, train or predict."""


@dataclass(frozen=True)
class Dataset:
    """Digit images and their labels.

    images : (n, 28, 28) uint8, 0 = background, 255 = ink
    labels : (n,) int64 in 0..9, or None when the data has no labels
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    source: str
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        x = self.images
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise DataError("data.bad_images", shape=str(x.shape), dtype=str(x.dtype))
        if self.labels is not None:
            y = self.labels
            if y.shape != (len(x),):
                raise DataError("data.label_count", images=len(x), labels=len(y))
            if len(y) and (y.min() < 0 or y.max() > 9):
                raise DataError("data.bad_labels")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def class_counts(self) -> list[int]:
        """How many images of each digit 0..9 (all zero when unlabelled)."""
        if self.labels is None:
            return [0] * 10
        return np.bincount(self.labels, minlength=10).tolist()

    def subset(self, idx, name: str | None = None) -> "Dataset":
        """The images (and labels) at ``idx`` (indices or boolean mask)."""
        return Dataset(
            self.images[idx],
            None if self.labels is None else self.labels[idx],
            name or self.name,
            self.source,
            dict(self.meta),
        )

    def summary(self) -> dict:
        """JSON-ready summary: n, class_counts, name, source, has_labels."""
        return {
            "name": self.name,
            "source": self.source,
            "n": len(self),
            "has_labels": self.has_labels,
            "class_counts": self.class_counts(),
            "mean_pixel": round(float(self.images.mean()), 2) if len(self) else 0.0,
        }



def freeze(*arrays):
    """Make loaded arrays read-only: a dataset is shared by every page and job that reads it."""
    for a in arrays:
        if a is not None:
            a.setflags(write=False)


def fingerprint(ds: Dataset) -> str:
    """A short content hash (images and labels)."""
    h = hashlib.sha1(ds.images.tobytes())
    if ds.labels is not None:
        h.update(ds.labels.astype(np.uint8).tobytes())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------- splits and scaling


def stratified_split(ds: Dataset, val_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Seeded split keeping each class's share in both parts."""
    if not ds.has_labels:
        raise DataError("data.split_unlabelled")
    if not 0 < val_fraction < 1:
        raise DataError("data.bad_val_fraction", value=val_fraction)
    rng = np.random.default_rng(seed)
    val = []
    for c in range(10):
        idx = np.flatnonzero(ds.labels == c)
        rng.shuffle(idx)
        val.append(idx[: int(round(len(idx) * val_fraction))])
    val_idx = np.sort(np.concatenate(val))
    mask = np.ones(len(ds), bool)
    mask[val_idx] = False
    train_idx = rng.permutation(np.flatnonzero(mask))
    return ds.subset(train_idx, f"{ds.name} (train)"), ds.subset(rng.permutation(val_idx), f"{ds.name} (val)")


def binary_subset(ds: Dataset, classes=(0, 1)) -> Dataset:
    """Only the digits in ``classes`` (the tutorial's section 2 uses 0 and 1)."""
    if not ds.has_labels:
        raise DataError("data.select_unlabelled")
    keep = np.isin(ds.labels, classes)
    if not keep.any():
        raise NoImagesError("data.no_images_of", name=ds.name, digits=", ".join(map(str, classes[:-1])), last=classes[-1])
    return ds.subset(keep, f"{ds.name} ({' vs '.join(map(str, classes))})")


def sample_indices(ds: Dataset, digit: int | None = None, n: int = 40, seed: int = 0) -> np.ndarray:
    """Up to ``n`` indices of ``ds`` (of the digit ``digit`` only, when given) drawn without
    replacement with ``seed``, in ascending order: the Data page's grid of examples."""
    pool = np.arange(len(ds)) if digit is None else np.flatnonzero(ds.labels == digit)
    if not len(pool):
        return pool
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False))


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 in [0, 1], the scaling every DigitLab model trains on."""
    return np.asarray(images, dtype=np.float32) * np.float32(1 / 255)


def flatten(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) -> (n, 784)."""
    return images.reshape(len(images), -1)


def one_hot(labels: np.ndarray, k: int = 10) -> np.ndarray:
    """(n,) ints -> (n, k) float32."""
    out = np.zeros((len(labels), k), np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out
