"""Reading and writing the dataset files DigitLab knows: Kaggle CSV, MNIST IDX, and the
store's own ``.npz``.

Each reader streams its file through :func:`digitlab.files.open_source` (bounded, gzip or
not) and checks it as it goes: an error names the file, the row or header field, and what
was expected.
"""
from __future__ import annotations

import math
import os
import re
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .dataset import (N_PIXELS, PIXEL_COLUMNS, CSVFormatError, DataError, Dataset, FileTooLargeError,
                      IDXFormatError, NoImagesError, freeze)
from .files import MAX_BYTES, Source, check_regular_file, open_source, read_into, source_name, too_large, write_atomic

CSV_CHUNK_ROWS = 250           # CSV rows parsed at a time (their float64 copy: 1.5 MB)
CSV_LINE_LIMIT = 64 * 1024     # longest CSV line accepted (a digit row is at most ~3.2 KB)


def _require_images(n: int, name: str):
    """A dataset of 0 images is refused where it is loaded, so every page and command says why."""
    if n == 0:
        raise NoImagesError("data.no_images", file=name)


def _stem(name: str) -> str:
    """``train.csv.gz`` -> ``train``."""
    return Path(re.sub(r"\.gz$", "", name, flags=re.IGNORECASE)).stem


# ---------------------------------------------------------------- the store's .npz


def load_npz(path, *, max_bytes: int = MAX_BYTES) -> Dataset:
    """A dataset saved by :func:`save_npz` (``images`` uint8 (n,28,28), optional ``labels``).
    Its arrays, as the zip directory states their sizes, must fit in ``max_bytes``."""
    p = Path(path)
    too_large(p.name, check_regular_file(p).st_size, max_bytes)
    try:
        with zipfile.ZipFile(p) as zf:
            too_large(p.name, sum(i.file_size for i in zf.infolist()), max_bytes, "file.too_large_unpacked")
        with np.load(p, allow_pickle=False) as z:
            x = z["images"]
            y = z["labels"].astype(np.int64) if "labels" in z.files else None
            name = str(z["name"]) if "name" in z.files else p.stem
    except (OSError, ValueError, KeyError, EOFError, MemoryError, zipfile.BadZipFile) as e:
        raise DataError("npz.unreadable", file=p.name, reason=str(e)) from None
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError("npz.bad_images", file=p.name, shape=str(x.shape), dtype=str(x.dtype))
    _require_images(len(x), p.name)
    freeze(x, y)
    return Dataset(x, y, name, f"saved dataset: {p.name}")


def save_npz(ds: Dataset, path) -> Path:
    """Save ``ds`` compressed (atomic: :func:`digitlab.files.write_atomic`)."""
    arrays = {"images": ds.images, "name": np.array(ds.name)}
    if ds.labels is not None:
        arrays["labels"] = ds.labels.astype(np.uint8)
    return write_atomic(path, lambda f: np.savez_compressed(f, **arrays))


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
    freeze(x, y)
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
        got = read_into(f, out)
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
    xname = source_name(images)
    y = parse_idx(labels, max_bytes=max_bytes)
    yname = source_name(labels)
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
    freeze(x, y)
    return Dataset(x, y, re.sub(r"[-.]images.*", "", xname), f"MNIST IDX: {xname} + {yname}")


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
