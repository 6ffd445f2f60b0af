"""How fast can NumPy train the 784-128-10 MLP here at all? ``python -m bench.mlp_floor [--quick]``

Issue 3 asks the NumPy MLP for at least 50% of the GEMM peak of the cores it uses. This
measures the leanest training step NumPy can run, as a floor to compare
``digitlab.nn``'s ``fit`` with. The step is written out by hand: every buffer is
preallocated, there are no layer objects and no callbacks, and it makes ~25 NumPy calls
plus the optimiser's update. It uses the same batch (128), data (the 10k sample, shuffled
each epoch), FLOP count and optimisers (``digitlab.nn.Adam`` / ``SGD``) as
``bench.nn``.

For 1 and 2 BLAS threads, and for Adam and plain SGD, it prints in one JSON object:
- samples/s (the median over epochs);
- GFLOP/s and the fraction of the GEMM peak with the same thread count;
- ``digitlab.nn``'s own ``fit`` run the same way (fixed thread count), for comparison.

Every configuration runs one epoch per round, in turns, so that a load change on a
shared machine hits all of them alike.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench.nn import gemm_peak
from digitlab.data import load_sample, to_float
from digitlab.nn import SGD, Adam, blas, mlp
from digitlab.nn.blas import threadpool_limits

BATCH = 128


class LeanMLP:
    """784-128-10 (relu, softmax), cross-entropy, one flat parameter buffer; step() trains
    on one batch and returns (summed loss, correct count), as fit reports them."""

    def __init__(self, optimizer, seed: int = 0):
        f = np.float32
        self.opt = optimizer
        sizes = [784 * 128, 128 * 10, 128, 10]
        offs = np.cumsum([0] + sizes)
        self.P, self.G = np.zeros(offs[-1], f), np.zeros(offs[-1], f)
        self.decay = slice(0, offs[2])  # L2 (if any) on the kernels only, as fit does
        view = lambda A, i, shape: A[offs[i] : offs[i + 1]].reshape(shape)  # noqa: E731
        shapes = [(784, 128), (128, 10), (128,), (10,)]
        self.W1, self.W2, self.b1, self.b2 = (view(self.P, i, s) for i, s in enumerate(shapes))
        self.dW1, self.dW2, self.db1, self.db2 = (view(self.G, i, s) for i, s in enumerate(shapes))
        rng = np.random.default_rng(seed)
        self.W1[...] = rng.standard_normal((784, 128)) * np.sqrt(2 / 784)
        self.W2[...] = rng.standard_normal((128, 10)) * np.sqrt(2 / 128)
        self.xb = np.empty((BATCH, 784), f)
        self.Z1, self.dA = np.empty((BATCH, 128), f), np.empty((BATCH, 128), f)
        self.Z2, self.D = np.empty((BATCH, 10), f), np.empty((BATCH, 10), f)
        self.mx, self.sm = np.empty((BATCH, 1), f), np.empty((BATCH, 1), f)
        self.rows = np.arange(BATCH)

    def step(self, X, y, idx):
        xb, Z1, Z2, D, dA, rows = self.xb, self.Z1, self.Z2, self.D, self.dA, self.rows
        np.take(X, idx, axis=0, out=xb)
        yb = y[idx]
        np.matmul(xb, self.W1, out=Z1)
        Z1 += self.b1
        np.maximum(Z1, 0, out=Z1)
        np.matmul(Z1, self.W2, out=Z2)
        Z2 += self.b2
        np.max(Z2, axis=1, keepdims=True, out=self.mx)
        Z2 -= self.mx
        np.exp(Z2, out=Z2)
        np.sum(Z2, axis=1, keepdims=True, out=self.sm)
        Z2 /= self.sm
        loss = float(-np.log(np.maximum(Z2[rows, yb], 1e-7)).sum())
        correct = int(np.count_nonzero(Z2.argmax(1) == yb))
        np.copyto(D, Z2)
        D[rows, yb] -= 1
        D *= np.float32(1 / BATCH)
        np.matmul(Z1.T, D, out=self.dW2)
        np.sum(D, axis=0, out=self.db2)
        np.matmul(D, self.W2.T, out=dA)
        dA *= Z1 > 0
        np.matmul(xb.T, dA, out=self.dW1)
        np.sum(dA, axis=0, out=self.db1)
        self.opt.update([self.P], [self.G], [self.decay])
        return loss, correct


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (~30 s)")
    args = ap.parse_args(argv)
    ds = load_sample()
    X = to_float(ds.images).reshape(len(ds.images), -1)
    y = ds.labels.astype(np.int64)
    n = len(X) - len(X) % BATCH  # whole batches only: the lean step has fixed buffers
    rounds = 5 if args.quick else 12
    flops = mlp().flops_per_sample()
    configs = {}
    for threads in (1, 2):
        for name, make in (("adam", lambda: Adam(1e-3)), ("sgd", lambda: SGD(0.1))):
            configs[f"lean_{name}_{threads}"] = ("lean", threads, LeanMLP(make()), None)
            net = mlp(seed=0)
            net.blas_threads = threads
            configs[f"fit_{name}_{threads}"] = ("fit", threads, net, make())
    rates = {k: [] for k in configs}
    rng = np.random.default_rng(0)
    for r in range(rounds + 1):  # round 0 warms up (buffers, BLAS threads, caches)
        for k, (kind, threads, model, opt) in configs.items():
            if kind == "fit":
                t = time.perf_counter()
                model.fit(X[:n], y[:n], epochs=1, batch_size=BATCH, optimizer=opt, seed=r)
                dt = time.perf_counter() - t
            else:
                with threadpool_limits(threads):
                    perm = rng.permutation(len(X))
                    t = time.perf_counter()
                    for b in range(n // BATCH):
                        model.step(X, y, perm[b * BATCH : (b + 1) * BATCH])
                    dt = time.perf_counter() - t
            if r:
                rates[k].append(n / dt)
    peaks = {t: gemm_peak(t) for t in (1, 2)}
    out: dict = {"quick": args.quick, "batch_size": BATCH, "rounds": rounds, "flops_per_sample": flops,
                 "gemm_peak_gflops_by_threads": {t: round(p, 1) for t, p in peaks.items()}}
    for k, (kind, threads, _, _) in configs.items():
        sps = float(np.median(rates[k]))
        gf = flops * sps / 1e9
        out[k] = {"samples_per_s": round(sps), "us_per_step": round(1e6 * BATCH / sps),
                  "gflops": round(gf, 1), "peak_fraction": round(gf / peaks[threads], 3)}
    out["blas"] = blas.kernel_info()  # the kernel that ran (OPENBLAS_CORETYPE may force one)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
