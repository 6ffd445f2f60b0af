"""Files, read safely and written durably.

Reading a user's file: only regular files, never more than a size limit (also once a gzip
is inflated), read block by block. Writing one of ours (a model's ``meta.json``, a saved
dataset, the MNIST cache): to a temporary name, flushed to disk, then renamed into place,
so a crash leaves the old file or the new one, never half of one.

Every loader in :mod:`digitlab.formats` reads through :func:`open_source`, so a FIFO, a
device, a symlink loop or a gzip bomb gets a clear :class:`~digitlab.dataset.DataError`
instead of a hang or a full memory.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import stat
import uuid
import zlib
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

from .dataset import DataError, FileTooLargeError

MAX_BYTES = 200 * 1024 * 1024  # largest file we accept, also once inflated (Kaggle's train.csv: 73 MB)
READ_BLOCK = 1024 * 1024       # files are read (and gzip inflated) this much at a time

Source = Union[str, os.PathLike, bytes, BinaryIO]

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


def too_large(name: str, size: int, max_bytes: int, code: str = "file.too_large"):
    """FileTooLargeError when ``size`` is over ``max_bytes``."""
    if size > max_bytes:
        raise FileTooLargeError(code, file=name, size_bytes=size, limit_bytes=max_bytes)


def _raw_stream(src: Source, max_bytes: int, error, stack: contextlib.ExitStack) -> tuple[BinaryIO, str]:
    """A seekable binary stream of ``src`` (bytes, a path or a file-like such as a
    Streamlit upload) and its name; its size is checked when it is known."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        too_large("<bytes>", len(src), max_bytes)
        return io.BytesIO(src), "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        p = Path(src)
        too_large(p.name, check_regular_file(p, error).st_size, max_bytes)
        try:
            return stack.enter_context(open(p, "rb")), p.name
        except OSError as e:
            raise error("file.cannot_open", file=str(p), reason=e.strerror or str(e)) from None
    name = source_name(src)
    if getattr(src, "size", None) is not None:
        too_large(name, src.size, max_bytes)
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


def read_into(f: BinaryIO, out: np.ndarray) -> int:
    """Fill the uint8 array ``out`` from ``f`` block by block; the number of bytes read."""
    view, got = memoryview(out).cast("B"), 0
    while got < len(view):
        n = f.readinto(view[got : got + READ_BLOCK])
        if not n:
            break
        got += n
    return got


def source_name(src: Source) -> str:
    """The name open_source gives ``src`` (for messages)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    name = getattr(src, "name", None)
    return Path(name).name if isinstance(name, str) and name else "<upload>"


# ---------------------------------------------------------------- writing durably


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read a megabyte at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(READ_BLOCK), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_write(path: Path, write):
    """``write(f)`` into a new binary file at ``path``, then flush it to the disk."""
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(d: Path):
    """Flush a folder's entries (a rename in it) to the disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def write_atomic(path, write) -> Path:
    """``write(f)`` into ``.<name>.<random>.part`` beside ``path``, flushed, then renamed to
    ``path`` (atomic on POSIX). On failure the temporary file is removed and the old ``path``
    (if any) is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        fsync_write(tmp, write)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path
