"""BLAS thread control (threadpoolctl), shared by fit, predict and the trainers.

What a seeded fit promises (README, "Reproducibility"): the same seed, data and settings
give the same bits **on one machine with one BLAS thread count**. OpenBLAS picks its kernel
by CPU (or ``OPENBLAS_CORETYPE``) and cuts a long inner dimension differently with 1 and 2
threads, so across CPUs, kernels or thread counts a fit agrees only to float32 rounding
(the curves and accuracies agree closely; the bits do not). An earlier version summed
products in K-blocks found by trial to give the same bits with 1 and 2 threads; on another
kernel (Haswell's, forced on an AMD EPYC) the trial's rule did not hold, so it was removed.
"""
from __future__ import annotations

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
