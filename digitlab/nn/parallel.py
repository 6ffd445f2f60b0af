"""Worker threads for the NumPy nets: one shared thread pool and the ways layers split work over it.

Why threads: NumPy releases the GIL in copies, ufuncs and BLAS calls, so two Python threads
each running a GEMM on their own rows use two cores. Conv nets train with BLAS at one thread
and split their im2col chunks (and pooling parts, large dense GEMMs, optimiser steps) over
``workers`` threads instead; on a shared 2-core machine that degrades gracefully when another
process holds a core, where two OpenBLAS threads made each step wait for the slower one
(docs/architecture.md, "Threads and BLAS"; figures in bench/README.md).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None


def cpus() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def parallel(fn, groups):
    """fn(group) for each group, the first in this thread and the others in a shared
    thread pool (NumPy releases the GIL in copies, ufuncs and BLAS calls)."""
    global _POOL
    if len(groups) == 1:
        return [fn(groups[0])]
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="digitlab-nn")
    futs = [_POOL.submit(fn, g) for g in groups[1:]]
    first = fn(groups[0])
    return [first] + [f.result() for f in futs]


def parallel_for(fn, items, workers: int) -> None:
    """fn(item) for every item, ``workers`` threads pulling items from one shared
    iterator (dynamic scheduling: robust when another process holds a core)."""
    it = iter(items)
    parallel(lambda it: [fn(x) for x in it], [it] * max(1, min(workers, len(items))))


def batch_parts(n: int, workers: int, min_rows: int = 16):
    """[(start, stop), ...]: n rows cut into up to ``workers`` contiguous parts."""
    w = max(1, min(workers, n // min_rows))
    cuts = [n * i // w for i in range(w + 1)]
    return list(zip(cuts, cuts[1:]))


def shared_chunks(n: int, chunk: int, workers: int):
    """(chunk size, chunk starts, one shared iterator per worker): the workers pull
    chunks from the same iterator, so a core slowed by another process simply does
    fewer chunks (a static split would make the other core wait)."""
    cs = min(chunk, n)
    starts = list(range(0, n, cs))
    it = iter(enumerate(starts))  # next() on a list iterator is atomic under the GIL
    return cs, starts, [it] * max(1, min(workers, len(starts)))
