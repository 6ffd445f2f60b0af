"""Datasets: the bundled sample, Kaggle CSVs, MNIST IDX files and full MNIST.

Everything returns a :class:`Dataset` (uint8 images ``(n, 28, 28)``, int64 labels
``(n,)`` or ``None`` for an unlabelled Kaggle ``test.csv``). Bad input raises a
subclass of :class:`DataError` whose message says what is wrong and where.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_PATH = DATA_DIR / "mnist_sample.npz"
MAX_BYTES = 200 * 1024 * 1024  # largest file we accept (the Kaggle train.csv is 73 MB)
N_PIXELS = 28 * 28
PIXEL_COLUMNS = [f"pixel{i}" for i in range(N_PIXELS)]

# full MNIST: the file and checksum keras.datasets.mnist uses, and its cache location
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

Source = Union[str, os.PathLike, bytes, BinaryIO]


class DataError(ValueError):
    """Base class: the input is not a usable digit dataset."""


class CSVFormatError(DataError):
    """A CSV file is not in the Kaggle Digit Recognizer format."""


class IDXFormatError(DataError):
    """An IDX file (or its gzip wrapper) is malformed."""


class FileTooLargeError(DataError):
    """A file is larger than the size limit."""


class MNISTUnavailableError(DataError):
    """Full MNIST is neither cached nor downloadable (no network)."""


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
            raise DataError(f"images must be (n, 28, 28) uint8, got {x.shape} {x.dtype}")
        if self.labels is not None:
            y = self.labels
            if y.shape != (len(x),):
                raise DataError(f"{len(x)} images but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() > 9):
                raise DataError("labels must be digits 0-9")

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


# ---------------------------------------------------------------- helpers


def _read_bytes(src: Source, max_bytes: int) -> tuple[bytes, str]:
    """Bytes of a path, bytes object or binary file-like (e.g. a Streamlit upload)."""
    if isinstance(src, (bytes, bytearray)):
        data, name = bytes(src), "<bytes>"
    elif isinstance(src, (str, os.PathLike)):
        p = Path(src)
        if not p.is_file():
            raise DataError(f"no such file: {p}")
        if p.stat().st_size > max_bytes:
            raise FileTooLargeError(
                f"{p.name} is {p.stat().st_size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB"
            )
        data, name = p.read_bytes(), p.name
    else:
        name = getattr(src, "name", "<upload>")
        size = getattr(src, "size", None)
        if size is not None and size > max_bytes:
            raise FileTooLargeError(f"{name} is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB")
        if hasattr(src, "seek"):
            src.seek(0)
        data = src.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"{name} is over the {max_bytes / 2**20:.0f} MB limit")
    if not data:
        raise DataError(f"{name} is empty")
    return data, name


def _freeze(*arrays):
    for a in arrays:
        if a is not None:
            a.setflags(write=False)


# ---------------------------------------------------------------- bundled sample


def load_sample() -> Dataset:
    """The bundled 10,000 MNIST training digits (see data/README.md)."""
    with np.load(SAMPLE_PATH) as z:
        x, y = z["images"], z["labels"].astype(np.int64)
    _freeze(x, y)
    return Dataset(x, y, "MNIST sample (10k)", "bundled sample: data/mnist_sample.npz")


def load_npz(path) -> Dataset:
    """A dataset saved by :func:`save_npz` (``images`` uint8 (n,28,28), optional ``labels``)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            x = z["images"]
            y = z["labels"].astype(np.int64) if "labels" in z.files else None
            name = str(z["name"]) if "name" in z.files else p.stem
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise DataError(f"{p.name}: not a DigitLab dataset file ({e})") from None
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(f"{p.name}: images must be (n, 28, 28) uint8, got {x.shape} {x.dtype}")
    _freeze(x, y)
    return Dataset(x, y, name, f"saved dataset: {p.name}")


def save_npz(ds: Dataset, path) -> Path:
    """Save ``ds`` compressed (atomic: temporary file, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".part")
    arrays = {"images": ds.images, "name": np.array(ds.name)}
    if ds.labels is not None:
        arrays["labels"] = ds.labels.astype(np.uint8)
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, p)
    return p


def fingerprint(ds: Dataset) -> str:
    """A short content hash (images and labels)."""
    h = hashlib.sha1(ds.images.tobytes())
    if ds.labels is not None:
        h.update(ds.labels.astype(np.uint8).tobytes())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------- Kaggle CSV


def load_kaggle_csv(src: Source, *, max_bytes: int = MAX_BYTES) -> Dataset:
    """A Kaggle *Digit Recognizer* CSV: ``label,pixel0..pixel783`` (train.csv)
    or ``pixel0..pixel783`` (test.csv, giving a dataset without labels)."""
    raw, name = _read_bytes(src, max_bytes)
    text = raw.decode("utf-8-sig", errors="replace")
    head, _, body = text.partition("\n")
    header = [c.strip().strip('"') for c in head.strip().split(",")]
    if header == ["label"] + PIXEL_COLUMNS:
        labelled = True
    elif header == PIXEL_COLUMNS:
        labelled = False
    else:
        ncol = len(header)
        if ncol not in (N_PIXELS, N_PIXELS + 1):
            raise CSVFormatError(
                f"{name}: header has {ncol} columns; expected 785 (label,pixel0..pixel783) "
                "or 784 (pixel0..pixel783)"
            )
        expected = (["label"] + PIXEL_COLUMNS) if ncol == N_PIXELS + 1 else PIXEL_COLUMNS
        bad = next(i for i, (a, b) in enumerate(zip(header, expected)) if a != b)
        raise CSVFormatError(f"{name}: column {bad + 1} is named {header[bad]!r}; expected {expected[bad]!r}")
    ncol = len(header)
    rows = [r for r in body.splitlines() if r.strip()]
    if not rows:
        raise CSVFormatError(f"{name}: has a header but no rows")
    try:
        arr = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        arr = None
    if arr is None or arr.shape[1] != ncol:
        _explain_bad_rows(rows, ncol, name)  # raises with row and column
    if np.isnan(arr).any():
        r, c = np.argwhere(np.isnan(arr))[0]
        raise CSVFormatError(f"{name}: row {r + 2}, column {header[c]!r} is empty or NaN")
    if labelled:
        y, px = arr[:, 0], arr[:, 1:]
        bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y > 9))
        if bad.size:
            raise CSVFormatError(f"{name}: row {bad[0] + 2} has label {y[bad[0]]:g}; labels must be digits 0-9")
    else:
        y, px = None, arr
    bad = np.argwhere((px != np.round(px)) | (px < 0) | (px > 255))
    if bad.size:
        r, c = bad[0]
        raise CSVFormatError(
            f"{name}: row {r + 2}, {PIXEL_COLUMNS[c]} = {px[r, c]:g}; pixels must be whole numbers 0-255"
        )
    x = px.astype(np.uint8).reshape(-1, 28, 28)
    y = None if y is None else y.astype(np.int64)
    _freeze(x, y)
    return Dataset(x, y, Path(name).stem, f"Kaggle CSV: {name}")


def _explain_bad_rows(rows: list[str], ncol: int, name: str):
    """Find the first row that does not parse and raise an error naming it."""
    for i, row in enumerate(rows):
        cells = row.split(",")
        if len(cells) != ncol:
            raise CSVFormatError(f"{name}: row {i + 2} has {len(cells)} cells; the header has {ncol}")
        for j, cell in enumerate(cells):
            s = cell.strip()
            if s == "" or s.lower() in ("nan", "na"):
                raise CSVFormatError(f"{name}: row {i + 2}, column {j + 1} is empty or NaN")
            try:
                float(s)
            except ValueError:
                raise CSVFormatError(f"{name}: row {i + 2}, column {j + 1} is not a number: {s[:20]!r}") from None
    raise CSVFormatError(f"{name}: could not be read as numbers")


def write_kaggle_csv(ds: Dataset, path_or_buf, with_labels: bool | None = None) -> None:
    """Write ``ds`` as a Kaggle CSV (train format when it has labels)."""
    with_labels = ds.has_labels if with_labels is None else with_labels
    flat = ds.images.reshape(len(ds), -1).astype(np.int64)
    cols = PIXEL_COLUMNS
    if with_labels:
        flat = np.column_stack([ds.labels, flat])
        cols = ["label"] + cols
    own = isinstance(path_or_buf, (str, os.PathLike))
    f = open(path_or_buf, "w", newline="") if own else path_or_buf
    try:
        f.write(",".join(cols) + "\n")
        np.savetxt(f, flat, fmt="%d", delimiter=",")
    finally:
        if own:
            f.close()


# ---------------------------------------------------------------- MNIST IDX


def _ungzip(raw: bytes, name: str) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise IDXFormatError(f"{name}: corrupt or truncated gzip file ({e})") from None


def parse_idx(raw: bytes, name: str = "<idx>") -> np.ndarray:
    """Decode an IDX file (gzipped or raw) of unsigned bytes into an array."""
    data = _ungzip(raw, name)
    if len(data) < 4:
        raise IDXFormatError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    zero, dtype, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise IDXFormatError(
            f"{name}: wrong magic number 0x{data[:4].hex()}; expected 0x00000801 (labels) "
            "or 0x00000803 (images)"
        )
    hdr = 4 + 4 * ndim
    if len(data) < hdr:
        raise IDXFormatError(f"{name}: truncated header")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    need = int(np.prod(dims))
    if len(data) - hdr != need:
        raise IDXFormatError(
            f"{name}: header announces {dims} = {need} bytes of data but the file holds {len(data) - hdr}"
            + (" (truncated)" if len(data) - hdr < need else "")
        )
    if ndim == 3 and tuple(dims[1:]) != (28, 28):
        raise IDXFormatError(f"{name}: images are {dims[1]}x{dims[2]}; DigitLab needs 28x28")
    return np.frombuffer(data, dtype=np.uint8, offset=hdr).reshape(dims)


def load_idx(images: Source, labels: Source | None = None, *, max_bytes: int = MAX_BYTES) -> Dataset:
    """An MNIST IDX pair. ``images`` may be a path (labels then found beside it by
    the standard name when ``labels`` is None), bytes or an uploaded file."""
    if labels is None and isinstance(images, (str, os.PathLike)):
        labels = labels_path_for(Path(images))
    if labels is None:
        raise DataError("an IDX images file needs its labels file")
    xi, xname = _read_bytes(images, max_bytes)
    yi, yname = _read_bytes(labels, max_bytes)
    x, y = parse_idx(xi, xname), parse_idx(yi, yname)
    if x.ndim != 3:
        raise IDXFormatError(f"{xname}: is a labels file (1-D); expected images (magic 0x00000803)")
    if y.ndim != 1:
        raise IDXFormatError(f"{yname}: is an images file; expected labels (magic 0x00000801)")
    if len(x) != len(y):
        raise DataError(f"{xname} has {len(x)} images but {yname} has {len(y)} labels")
    if len(y) and y.max() > 9:
        raise IDXFormatError(f"{yname}: label {int(y.max())} is not a digit 0-9")
    x, y = x.copy(), y.astype(np.int64)
    _freeze(x, y)
    return Dataset(x, y, re.sub(r"[-.]images.*", "", xname), f"MNIST IDX: {xname} + {yname}")


def labels_path_for(images: Path) -> Path:
    """``t10k-images-idx3-ubyte.gz`` -> ``t10k-labels-idx1-ubyte.gz`` (the file must exist)."""
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    cands = [images.with_name(name)]
    cands += [images.with_name(name[:-3])] if name.endswith(".gz") else [images.with_name(name + ".gz")]
    for c in cands:
        if c != images and c.is_file():
            return c
    raise DataError(f"no labels file beside {images.name} (looked for {cands[0].name})")


def find_idx_pair(folder: Path) -> tuple[Path, Path]:
    """The single IDX images file in ``folder`` and its labels file."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and "idx3" in p.name)
    if not found:
        raise DataError(f"{folder} holds no IDX images file (*-images-idx3-ubyte[.gz])")
    stems = {re.sub(r"\.gz$", "", p.name) for p in found}
    if len(stems) > 1:
        raise DataError(f"{folder} holds several IDX images files ({', '.join(sorted(stems))}): name one")
    return found[0], labels_path_for(found[0])


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
        raise DataError(f"split must be 'train' or 'test', not {split!r}")
    path = mnist_cache_path()
    if not path.is_file():
        if offline is None:
            offline = os.environ.get("DIGITLAB_OFFLINE", "") not in ("", "0")
        if offline:
            raise MNISTUnavailableError("full MNIST is not cached and DigitLab is offline (DIGITLAB_OFFLINE is set); the bundled sample works offline")
        try:
            raw = _download(MNIST_URL, timeout)
        except Exception as e:  # URLError, timeout, DNS failure, refused connection
            raise MNISTUnavailableError(
                f"full MNIST could not be downloaded ({type(e).__name__}: {e}); no network? "
                "The bundled 10k sample still works."
            ) from None
        if hashlib.sha256(raw).hexdigest() != MNIST_SHA256:
            raise MNISTUnavailableError("downloaded mnist.npz has the wrong checksum; not used")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    try:
        with np.load(path, allow_pickle=False) as z:
            x, y = z[f"x_{split}"], z[f"y_{split}"].astype(np.int64)
    except Exception as e:
        raise DataError(f"cached {path} is unreadable ({e}); delete it to download again") from None
    _freeze(x, y)
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
    if not p.exists():
        raise DataError(f"no such file or folder: {spec} (or use 'sample' / 'mnist')")
    if p.suffix.lower() == ".npz":
        return load_npz(p)
    if p.name.lower().endswith((".csv", ".csv.gz")) or p.suffix.lower() == ".txt":
        return load_kaggle_csv(p, max_bytes=max_bytes)
    if "idx" in p.name or "ubyte" in p.name:
        return load_idx(p, max_bytes=max_bytes)
    raise DataError(f"{p.name}: not a .csv, .npz or IDX file")


# ---------------------------------------------------------------- splits and scaling


def stratified_split(ds: Dataset, val_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Seeded split keeping each class's share in both parts."""
    if not ds.has_labels:
        raise DataError("cannot split a dataset without labels")
    if not 0 < val_fraction < 1:
        raise DataError("val_fraction must be between 0 and 1")
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
    """Only the digits in ``classes`` (the seed's section 2 uses 0 and 1)."""
    if not ds.has_labels:
        raise DataError("cannot select classes of a dataset without labels")
    return ds.subset(np.isin(ds.labels, classes), f"{ds.name} ({' vs '.join(map(str, classes))})")


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


def summary_json(ds: Dataset) -> str:
    return json.dumps(ds.summary())
