"""Small files for tests, written into tmp_path, and a model store to point DIGITLAB_HOME at."""
import contextlib
import gzip
import os
from pathlib import Path

import numpy as np


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file (magic 0x0000080N)."""
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def random_digits(n: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 10
    return x, y


def write_idx_pair(folder: Path, x, y, prefix="t10k", gz=True):
    ext = ".gz" if gz else ""
    xi = folder / f"{prefix}-images-idx3-ubyte{ext}"
    yi = folder / f"{prefix}-labels-idx1-ubyte{ext}"
    enc = gzip.compress if gz else (lambda b: b)
    xi.write_bytes(enc(idx_bytes(x)))
    yi.write_bytes(enc(idx_bytes(np.asarray(y, dtype=np.uint8))))
    return xi, yi


def csv_text(x, y=None) -> str:
    flat = x.reshape(len(x), -1).astype(int)
    cols = [f"pixel{i}" for i in range(784)]
    if y is not None:
        cols = ["label"] + cols
        flat = np.column_stack([y, flat])
    return ",".join(cols) + "\n" + "\n".join(",".join(map(str, r)) for r in flat) + "\n"


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to the array x (perturbed in place)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


@contextlib.contextmanager
def digitlab_home(path):
    """``DIGITLAB_HOME`` set to ``path`` for a block (a module's store), put back afterwards."""
    old = os.environ.get("DIGITLAB_HOME")
    os.environ["DIGITLAB_HOME"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("DIGITLAB_HOME", None)
        else:
            os.environ["DIGITLAB_HOME"] = old
