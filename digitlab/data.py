"""Datasets: the bundled sample, Kaggle CSVs, MNIST IDX files and full MNIST.

Everything returns a :class:`Dataset` (uint8 images ``(n, 28, 28)``, int64 labels
``(n,)`` or ``None`` for an unlabelled Kaggle ``test.csv``). Bad input raises a
subclass of :class:`DataError` whose message says what is wrong and where; it carries a
stable code and params (:mod:`digitlab.errors`), so a page can say it in its language.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import math
import os
import re
import stat
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

from .errors import DigitLabError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_PATH = DATA_DIR / "mnist_sample.npz"
MAX_BYTES = 200 * 1024 * 1024  # largest file we accept, also once inflated (Kaggle's train.csv: 73 MB)
READ_BLOCK = 1024 * 1024       # files are read (and gzip inflated) this much at a time
CSV_CHUNK_ROWS = 250           # CSV rows parsed at a time (their float64 copy: 1.5 MB)
CSV_LINE_LIMIT = 64 * 1024     # longest CSV line accepted (a digit row is at most ~3.2 KB)
N_PIXELS = 28 * 28
PIXEL_COLUMNS = [f"pixel{i}" for i in range(N_PIXELS)]

# full MNIST: the file and checksum keras.datasets.mnist uses, and its cache location
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

Source = Union[str, os.PathLike, bytes, BinaryIO]


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


# ---------------------------------------------------------------- helpers


_SPECIAL_FILES = [(stat.S_ISFIFO, "file.fifo"), (stat.S_ISCHR, "file.char_device"),
                  (stat.S_ISBLK, "file.block_device"), (stat.S_ISSOCK, "file.socket")]  # error codes


def check_regular_file(path, error: type[DataError] = DataError) -> os.stat_result:
    """``os.stat(path)`` (symlinks followed) when ``path`` is a regular file; else ``error``
    saying what it is. Checked before opening: opening a FIFO waits for a writer forever,
    a device may never end, and a symlink loop would fail with a bare OSError."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error("file.not_found", file=str(p)) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise error("file.symlink_loop", file=str(p)) from None
        raise error("file.unreadable", file=str(p), reason=e.strerror or str(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise error("file.is_folder", file=str(p))
    if not stat.S_ISREG(st.st_mode):
        code = next((c for is_kind, c in _SPECIAL_FILES if is_kind(st.st_mode)), "file.special")
        raise error(code, file=str(p))
    return st


def _too_large(name: str, size: int, max_bytes: int, code: str = "file.too_large"):
    if size > max_bytes:
        raise FileTooLargeError(code, file=name, size_bytes=size, limit_bytes=max_bytes)


def _raw_stream(src: Source, max_bytes: int, error, stack: contextlib.ExitStack) -> tuple[BinaryIO, str]:
    """A seekable binary stream of ``src`` (bytes, a path or a file-like such as a
    Streamlit upload) and its name; its size is checked when it is known."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        _too_large("<bytes>", len(src), max_bytes)
        return io.BytesIO(src), "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        p = Path(src)
        _too_large(p.name, check_regular_file(p, error).st_size, max_bytes)
        try:
            return stack.enter_context(open(p, "rb")), p.name
        except OSError as e:
            raise error("file.cannot_open", file=str(p), reason=e.strerror or str(e)) from None
    name = _source_name(src)
    if getattr(src, "size", None) is not None:
        _too_large(name, src.size, max_bytes)
    if getattr(src, "seekable", lambda: False)():
        src.seek(0)
        return src, name
    return io.BytesIO(src.read(max_bytes + 1)), name  # a pipe-like object: read once, bounded


class _Bounded(io.RawIOBase):
    """Reads ``inner`` (a file, or a GzipFile inflating one) block by block and refuses to
    give more than ``limit`` bytes, so a gzip bomb stops at the limit instead of filling
    the memory. Gzip errors become ``error`` ("corrupt or truncated gzip file")."""

    def __init__(self, inner, limit: int, name: str, error, gz: bool):
        super().__init__()
        self.inner, self.limit, self.name, self.error, self.gz = inner, limit, name, error, gz
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        try:
            chunk = self.inner.read(min(len(buf), READ_BLOCK))
        except (OSError, EOFError, zlib.error) as e:
            raise self.error("file.bad_gzip" if self.gz else "file.unreadable", file=self.name, reason=str(e)) from None
        self.count += len(chunk)
        if self.count > self.limit:
            raise FileTooLargeError("file.inflates_over_limit" if self.gz else "file.over_limit", file=self.name,
                                    limit_bytes=self.limit)
        buf[: len(chunk)] = chunk
        return len(chunk)


@contextlib.contextmanager
def open_source(src: Source, max_bytes: int = MAX_BYTES, error: type[DataError] = DataError):
    """``with open_source(src) as (f, name):`` a buffered binary stream of ``src``'s
    content, inflated when it is gzip (found by its magic bytes, whatever the name),
    never giving more than ``max_bytes``. Only regular files are opened; an empty
    source raises DataError."""
    with contextlib.ExitStack() as stack:
        raw, name = _raw_stream(src, max_bytes, error, stack)
        start = raw.tell()
        magic = raw.read(2)
        raw.seek(start)
        if not magic:
            raise DataError("file.empty", file=name)
        gz = magic == b"\x1f\x8b"
        inner = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if gz else raw
        f = io.BufferedReader(_Bounded(inner, max_bytes, name, error, gz), READ_BLOCK)
        if not f.peek(1):
            raise DataError("file.empty_inflated", file=name)
        yield f, name


def _read_into(f: BinaryIO, out: np.ndarray) -> int:
    """Fill the uint8 array ``out`` from ``f`` block by block; the number of bytes read."""
    view, got = memoryview(out).cast("B"), 0
    while got < len(view):
        n = f.readinto(view[got : got + READ_BLOCK])
        if not n:
            break
        got += n
    return got


def _require_images(n: int, name: str):
    """A dataset of 0 images is refused where it is loaded, so every page and command says why."""
    if n == 0:
        raise NoImagesError("data.no_images", file=name)


def _stem(name: str) -> str:
    """``train.csv.gz`` -> ``train``."""
    return Path(re.sub(r"\.gz$", "", name, flags=re.IGNORECASE)).stem


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


def load_npz(path, *, max_bytes: int = MAX_BYTES) -> Dataset:
    """A dataset saved by :func:`save_npz` (``images`` uint8 (n,28,28), optional ``labels``).
    Its arrays, as the zip directory states their sizes, must fit in ``max_bytes``."""
    p = Path(path)
    _too_large(p.name, check_regular_file(p).st_size, max_bytes)
    try:
        with zipfile.ZipFile(p) as zf:
            _too_large(p.name, sum(i.file_size for i in zf.infolist()), max_bytes, "file.too_large_unpacked")
        with np.load(p, allow_pickle=False) as z:
            x = z["images"]
            y = z["labels"].astype(np.int64) if "labels" in z.files else None
            name = str(z["name"]) if "name" in z.files else p.stem
    except (OSError, ValueError, KeyError, EOFError, MemoryError, zipfile.BadZipFile) as e:
        raise DataError("npz.unreadable", file=p.name, reason=str(e)) from None
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError("npz.bad_images", file=p.name, shape=str(x.shape), dtype=str(x.dtype))
    _require_images(len(x), p.name)
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
    or ``pixel0..pixel783`` (test.csv, giving a dataset without labels); gzipped or not.

    Read as a stream, :data:`CSV_CHUNK_ROWS` rows at a time into uint8 arrays, so the
    memory needed is about twice the final images (not the ~12x of parsing it whole)."""
    with open_source(src, max_bytes, CSVFormatError) as (f, name):
        header = _csv_header(f, name)
        labelled = header[0] == "label"
        xs, ys = [], []
        for nums, rows in _csv_chunks(f, name):
            px, y = _parse_csv_chunk(nums, rows, header, name)
            xs.append(px)
            ys.append(y)
    if not xs:
        raise CSVFormatError("csv.no_rows", file=name)
    x = np.concatenate(xs).reshape(-1, 28, 28)
    y = np.concatenate(ys) if labelled else None
    _freeze(x, y)
    return Dataset(x, y, _stem(name), f"Kaggle CSV: {name}")


def _csv_header(f: BinaryIO, name: str) -> list[str]:
    """The column names of the first line; CSVFormatError unless Kaggle's."""
    line = f.readline(CSV_LINE_LIMIT)
    if len(line) == CSV_LINE_LIMIT and not line.endswith(b"\n"):
        raise CSVFormatError("csv.header_too_long", file=name, limit_bytes=CSV_LINE_LIMIT)
    header = [c.strip().strip('"') for c in line.decode("utf-8-sig", errors="replace").strip().split(",")]
    if header in (["label"] + PIXEL_COLUMNS, PIXEL_COLUMNS):
        return header
    ncol = len(header)
    if ncol not in (N_PIXELS, N_PIXELS + 1):
        raise CSVFormatError("csv.header_columns", file=name, count=ncol)
    expected = (["label"] + PIXEL_COLUMNS) if ncol == N_PIXELS + 1 else PIXEL_COLUMNS
    bad = next(i for i, (a, b) in enumerate(zip(header, expected)) if a != b)
    raise CSVFormatError("csv.column_name", file=name, column=bad + 1, name=header[bad], expected=expected[bad])


def _csv_chunks(f: BinaryIO, name: str):
    """Yield (line numbers, texts) of up to :data:`CSV_CHUNK_ROWS` non-blank rows at a time
    (the header is line 1). A line longer than :data:`CSV_LINE_LIMIT` is refused."""
    nums, rows, line_no = [], [], 1
    while line := f.readline(CSV_LINE_LIMIT):
        line_no += 1
        if len(line) == CSV_LINE_LIMIT and not line.endswith(b"\n"):
            raise CSVFormatError("csv.row_too_long", file=name, row=line_no, limit_bytes=CSV_LINE_LIMIT)
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            nums.append(line_no)
            rows.append(text)
        if len(rows) == CSV_CHUNK_ROWS:
            yield nums, rows
            nums, rows = [], []
    if rows:
        yield nums, rows


def _parse_csv_chunk(nums: list[int], rows: list[str], header: list[str], name: str):
    """Rows of numbers -> (pixels (k, 784) uint8, labels (k,) int64 or None), checked:
    the errors name the row (its line in the file) and the column."""
    ncol = len(header)
    try:
        arr = np.loadtxt(rows, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        arr = None
    if arr is None or arr.shape[1] != ncol:
        _explain_bad_rows(rows, nums, ncol, name)  # raises with row and column
    if np.isnan(arr).any():
        r, c = np.argwhere(np.isnan(arr))[0]
        raise CSVFormatError("csv.empty_cell", file=name, row=nums[r], column=header[c])
    y = None
    if ncol == N_PIXELS + 1:
        y, arr = arr[:, 0], arr[:, 1:]
        bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y > 9))
        if bad.size:
            raise CSVFormatError("csv.bad_label", file=name, row=nums[bad[0]], value=float(y[bad[0]]))
        y = y.astype(np.int64)
    bad = np.argwhere((arr != np.round(arr)) | (arr < 0) | (arr > 255))
    if bad.size:
        r, c = bad[0]
        raise CSVFormatError("csv.bad_pixel", file=name, row=nums[r], column=PIXEL_COLUMNS[c], value=float(arr[r, c]))
    return arr.astype(np.uint8), y


def _explain_bad_rows(rows: list[str], nums: list[int], ncol: int, name: str):
    """Find the first row that does not parse and raise an error naming it (row and column name)."""
    columns = (["label"] + PIXEL_COLUMNS) if ncol == N_PIXELS + 1 else PIXEL_COLUMNS  # the header, checked
    for num, row in zip(nums, rows):
        cells = row.split(",")
        if len(cells) != ncol:
            raise CSVFormatError("csv.cell_count", file=name, row=num, count=len(cells), expected=ncol)
        for j, cell in enumerate(cells):
            s = cell.strip()
            if s == "" or s.lower() in ("nan", "na"):
                raise CSVFormatError("csv.empty_cell", file=name, row=num, column=columns[j])
            try:
                float(s)
            except ValueError:
                raise CSVFormatError("csv.not_a_number", file=name, row=num, column=columns[j], value=s[:20]) from None
    raise CSVFormatError("csv.unparsable", file=name)


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


def parse_idx(src: Source, name: str | None = None, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Decode an IDX file of unsigned bytes (gzipped or raw; bytes, a path or a file-like)
    into an array.

    The header is read first: a header announcing more than ``max_bytes`` (e.g. 1.5M
    images) is refused before any data is read, and the data is inflated block by block
    into the array the header announces, never further than one byte past its end."""
    with open_source(src, max_bytes, IDXFormatError) as (f, src_name):
        name = name or src_name
        dims = _idx_header(f, name, max_bytes)
        need = math.prod(dims)
        out = np.empty(need, np.uint8)
        got = _read_into(f, out)
        if got < need:
            raise IDXFormatError("idx.truncated", file=name, dims=dims, need=need, got=got)
        if f.read(1):
            raise IDXFormatError("idx.too_long", file=name, dims=dims, need=need)
    return out.reshape(dims)


def _idx_header(f: BinaryIO, name: str, max_bytes: int) -> list[int]:
    """The dimensions in an IDX header (magic 0x00000801 labels or 0x00000803 images),
    checked: 28x28 images and a total size within ``max_bytes``."""
    magic = f.read(4)
    if len(magic) < 4:
        raise IDXFormatError("idx.too_short", file=name, size=len(magic))
    zero, dtype, ndim = int.from_bytes(magic[:2], "big"), magic[2], magic[3]
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise IDXFormatError("idx.bad_magic", file=name, magic=magic.hex())
    raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise IDXFormatError("idx.truncated_header", file=name)
    dims = [int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in range(ndim)]
    if ndim == 3 and tuple(dims[1:]) != (28, 28):
        raise IDXFormatError("idx.not_28x28", file=name, rows=dims[1], cols=dims[2])
    size = 4 + 4 * ndim + math.prod(dims)
    if size > max_bytes:
        raise FileTooLargeError("idx.too_many_images" if ndim == 3 else "idx.too_many_labels", file=name,
                                count=dims[0], size_bytes=size, limit_bytes=max_bytes)
    return dims


def load_idx(images: Source, labels: Source | None = None, *, max_bytes: int = MAX_BYTES) -> Dataset:
    """An MNIST IDX pair. ``images`` may be a path (labels then found beside it by
    the standard name when ``labels`` is None), bytes or an uploaded file."""
    if labels is None and isinstance(images, (str, os.PathLike)):
        labels = labels_path_for(Path(images))
    if labels is None:
        raise DataError("idx.needs_labels")
    x = parse_idx(images, max_bytes=max_bytes)
    xname = _source_name(images)
    y = parse_idx(labels, max_bytes=max_bytes)
    yname = _source_name(labels)
    if x.ndim != 3:
        raise IDXFormatError("idx.labels_not_images", file=xname)
    if y.ndim != 1:
        raise IDXFormatError("idx.images_not_labels", file=yname)
    if len(x) != len(y):
        raise DataError("idx.count_mismatch", images_file=xname, images=len(x), labels_file=yname, labels=len(y))
    _require_images(len(x), xname)
    if y.max() > 9:
        raise IDXFormatError("idx.bad_label", file=yname, label=int(y.max()))
    y = y.astype(np.int64)
    _freeze(x, y)
    return Dataset(x, y, re.sub(r"[-.]images.*", "", xname), f"MNIST IDX: {xname} + {yname}")


def _source_name(src: Source) -> str:
    """The name open_source gives ``src`` (for messages)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    name = getattr(src, "name", None)
    return Path(name).name if isinstance(name, str) and name else "<upload>"


def labels_path_for(images: Path) -> Path:
    """``t10k-images-idx3-ubyte.gz`` -> ``t10k-labels-idx1-ubyte.gz`` (the file must exist)."""
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    cands = [images.with_name(name)]
    cands += [images.with_name(name[:-3])] if name.endswith(".gz") else [images.with_name(name + ".gz")]
    for c in cands:
        if c != images and c.is_file():
            return c
    raise DataError("idx.no_labels_file", file=images.name, expected=cands[0].name)


def find_idx_pair(folder: Path) -> tuple[Path, Path]:
    """The single IDX images file in ``folder`` and its labels file."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and "idx3" in p.name)
    if not found:
        raise DataError("idx.no_images_file", folder=str(folder))
    stems = {re.sub(r"\.gz$", "", p.name) for p in found}
    if len(stems) > 1:
        raise DataError("idx.several_images_files", folder=str(folder), files=", ".join(sorted(stems)))
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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    try:
        with np.load(path, allow_pickle=False) as z:
            x, y = z[f"x_{split}"], z[f"y_{split}"].astype(np.int64)
    except Exception as e:
        raise DataError("mnist.cache_unreadable", path=str(path), reason=str(e)) from None
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
    """Only the digits in ``classes`` (the seed's section 2 uses 0 and 1)."""
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
