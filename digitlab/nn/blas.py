"""BLAS thread control (threadpoolctl), shared by fit, predict and the trainers, and
``BlasTuner``, which picks a dense net's BLAS thread count during fit by timing both.

What a seeded fit promises (README, "Reproducibility"): the same seed, data and settings
give the same bits **on one machine with one BLAS thread count**. OpenBLAS picks its kernel
by CPU (or ``OPENBLAS_CORETYPE``) and cuts a long inner dimension differently with 1 and 2
threads, so across CPUs, kernels or thread counts a fit agrees only to float32 rounding
(the curves and accuracies agree closely; the bits do not). An earlier version summed
products in K-blocks found by trial to give the same bits with 1 and 2 threads; on another
kernel (Haswell's, forced on an AMD EPYC) the trial's rule did not hold, so it was removed.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import ThreadpoolController

_CONTROLLER = None


def controller() -> ThreadpoolController:
    """threadpoolctl's controller, the library scan done once (0.01 ms instead of 0.4 ms
    per limit: one runs around every predict_proba)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def threadpool_limits(n: int, user_api: str = "blas"):
    """A context manager: at most ``n`` threads in the BLAS libraries, restored on exit."""
    return controller().limit(limits=n, user_api=user_api)


def blas_libs() -> list:
    """The loaded BLAS libraries' controllers (``set_num_threads`` takes ~1 us)."""
    return controller().select(user_api="blas").lib_controllers


def kernel_info() -> dict:
    """Which BLAS ran, for a benchmark's JSON: each library's API, version, kernel
    (``architecture``, e.g. Haswell or Zen) and thread count, and ``OPENBLAS_CORETYPE`` when
    the environment forces a kernel (it slows NumPy, not Keras)."""
    import os

    from threadpoolctl import threadpool_info

    libs = [{k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return {"libraries": libs, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


class BlasTuner:
    """Chooses the BLAS thread count during fit by measuring it, batch after batch.

    Dense nets' GEMMs (128x784x128 for the MLP) are large enough for two OpenBLAS
    threads on a quiet 2-core machine (a training step 740 vs 1010 us), and far slower
    with two when another process holds the second core (docs/architecture.md, "Threads and BLAS"). So the
    candidates take turns for ``block`` batches, ``rounds`` times; the one with the lower
    median time per sample wins for the next ``every`` batches, and then the trial runs
    again (the machine's load changes).
    """

    def __init__(self, candidates=(1, 2), block: int = 4, rounds: int = 2, every: int = 200):
        self.candidates = tuple(candidates)
        self.block, self.rounds, self.every = block, rounds, every
        self.trial = [c for _ in range(rounds) for c in self.candidates for _ in range(block)]
        self.times: dict[int, list[float]] = {c: [] for c in self.candidates}
        self.best = self.candidates[0]
        self.i = 0  # position in the cycle: trial batches, then ``every`` batches at ``best``
        self._libs = None

    def threads(self) -> int:
        """The thread count for the next batch (and sets it)."""
        n = self.trial[self.i] if self.i < len(self.trial) else self.best
        if len(self.candidates) > 1:
            if self._libs is None:
                self._libs = blas_libs()
            for lib in self._libs:  # ~1 us; fit's threadpool_limits restores the count afterwards
                lib.set_num_threads(n)
        return n

    def record(self, n: int, seconds: float, samples: int) -> None:
        if len(self.candidates) == 1:
            return
        if self.i < len(self.trial):
            self.times[n].append(seconds / samples)
        self.i += 1
        if self.i == len(self.trial):
            self.best = min(self.candidates, key=lambda c: float(np.median(self.times[c])))
        elif self.i >= len(self.trial) + self.every:
            self.i = 0
            self.times = {c: [] for c in self.candidates}
