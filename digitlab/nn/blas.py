"""BLAS thread control, and matrix products that give the same bits with 1 and 2 threads.

OpenBLAS cuts a long inner dimension K into blocks, and on this machine's kernel it cuts
them differently with 1 and 2 threads once K > 448 (a 128x784x128 product differs in the
last bits; every K <= 448 gave the same bits). ``BlasTuner`` switches between 1 and 2
threads in the middle of a fit, so a seeded fit would stop being reproducible. ``matmul``
below makes both give the same bits. Per shape and layout it finds once, by trying a few
small products (the rule depends on the CPU's kernel, so it is not assumed):
- preferably a K-block size with which one thread, summing K in those blocks, gives the
  bits of the plain two-thread product. Then two threads (the faster choice on a quiet
  machine) run the plain product, at no cost; one thread sums in blocks. Here 784 gives
  2 x 392.
- otherwise a block size that both counts sum alike, used with either count.
The first rule relies on the count ``matmul`` reads (NumPy's OpenBLAS, ``numpy_blas``) being
the count the product runs with. That holds for OpenBLAS's pthreads build, whose count is
process-wide, with the count set between products (as ``BlasTuner`` does, between batches).
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import ThreadpoolController

_CONTROLLER = None
_NUMPY_LIB = None
_BLOCKS: dict[tuple, int] = {}


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


def _blocked(A, B, kb: int, out=None, product=np.matmul):
    """A @ B with K summed in blocks of at most kb, in a fixed order."""
    K = A.shape[1]
    if kb >= K:
        return product(A, B, out=out)
    parts = -(-K // kb)
    cuts = [K * i // parts for i in range(parts + 1)]
    Z = product(A[:, : cuts[1]], B[: cuts[1]], out=out)
    tmp = np.empty_like(Z)
    for a, e in zip(cuts[1:-1], cuts[2:]):
        Z += product(A[:, a:e], B[a:e], out=tmp)
    return Z


def _like(M, rng):
    """Random numbers with M's shape, dtype and memory order (C or Fortran)."""
    R = rng.standard_normal(M.shape).astype(M.dtype)
    return R if M.flags.c_contiguous or not M.flags.f_contiguous else np.asfortranarray(R)


def numpy_blas():
    """The controller of NumPy's own BLAS (SciPy may load a second OpenBLAS, with its own
    thread count); ``.num_threads`` reads its count (~0.5 us)."""
    global _NUMPY_LIB
    if _NUMPY_LIB is None:
        libs = blas_libs()
        _NUMPY_LIB = next((lib for lib in libs if "numpy" in lib.filepath), libs[0])
    return _NUMPY_LIB


def _plan(A, B) -> tuple[int, bool]:
    """(K-block, two_plain) for A @ B: see the module's text. Tried once per shape, dtype
    and layout, then remembered."""
    key = (A.shape, B.shape, A.dtype.str, A.flags.f_contiguous and not A.flags.c_contiguous,
           B.flags.f_contiguous and not B.flags.c_contiguous)
    plan = _BLOCKS.get(key)
    if plan is None:
        rng = np.random.default_rng(0)
        a, b = _like(A, rng), _like(B, rng)
        K = A.shape[1]
        with threadpool_limits(2):
            two_plain = np.matmul(a, b)
        plan = (K, False)  # if no block size gives the same bits, none is used (not met so far)
        for parts in range(1, K + 1):
            size = -(-K // parts)
            if size < 32:
                break
            with threadpool_limits(1):
                one = _blocked(a, b, size)
            if np.array_equal(one, two_plain):
                plan = (size, size < K)
                break
            with threadpool_limits(2):
                two = _blocked(a, b, size)
            if np.array_equal(one, two):
                plan = (size, False)
                break
        _BLOCKS[key] = plan
    return plan


def same_bits_block(A, B) -> int:
    """The K-block size ``matmul`` uses for A @ B (K itself: no blocks)."""
    return _plan(A, B)[0]


def matmul(A, B, out=None, product=np.matmul):
    """A @ B (into ``out``), the same bits with 1 and 2 BLAS threads (see the module's text).
    ``product`` does each block's product (e.g. a layer's split over worker threads)."""
    kb, two_plain = _plan(A, B)
    if two_plain and numpy_blas().num_threads == 2:
        return product(A, B, out=out)
    return _blocked(A, B, kb, out=out, product=product)
