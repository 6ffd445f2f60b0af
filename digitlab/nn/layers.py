"""Layers in NHWC layout (batch, height, width, channels), as Keras does.

Each layer: ``build(input_shape, rng, dtype) -> output_shape`` creates ``params``;
``forward(X, training)`` caches what ``backward`` needs; ``backward(dY)`` fills
``grads`` (same keys as ``params``, written in place) and returns ``dX`` (or None
when ``need_dx`` is False, e.g. for the first layer during training).

Conv2D lowers the convolution to one GEMM per chunk of images: the patches of a few
images (``im2col``, a strided view copied into a small buffer that stays in cache)
times the kernel reshaped (kh·kw·C, F). Keras' kernel layout (kh, kw, C, F) and its
channels-last flatten are used as they are, so Keras weights load unchanged.
"""
from __future__ import annotations

import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activations import ACTIVATIONS, DERIVATIVES
from .init import INITIALIZERS, default_for

CHUNK_BYTES = 3 << 20  # im2col buffer per chunk (~3 MB: stays in L2/L3)
POOL_BYTES = 1 << 20  # pooling input per part (stays in L2 with its gradient)

_POOL = None


def parallel(fn, groups):
    """fn(group) for each group, the first in this thread and the others in a shared
    thread pool (NumPy releases the GIL in copies, ufuncs and BLAS calls)."""
    global _POOL
    if len(groups) == 1:
        return [fn(groups[0])]
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="digitlab-nn")
    futs = [_POOL.submit(fn, g) for g in groups[1:]]
    first = fn(groups[0])
    return [first] + [f.result() for f in futs]


def parallel_for(fn, items, workers: int) -> None:
    """fn(item) for every item, ``workers`` threads pulling items from one shared
    iterator (dynamic scheduling: robust when another process holds a core)."""
    it = iter(items)
    parallel(lambda it: [fn(x) for x in it], [it] * max(1, min(workers, len(items))))


def _batch_parts(n: int, workers: int, min_rows: int = 16):
    """[(start, stop), ...]: n rows cut into up to ``workers`` contiguous parts."""
    w = max(1, min(workers, n // min_rows))
    cuts = [n * i // w for i in range(w + 1)]
    return list(zip(cuts, cuts[1:]))


class Layer:
    """Base class. ``params``/``grads`` are dicts of arrays; ``PARAMS`` their order."""

    PARAMS: tuple = ()
    KERAS_NAME = "layer"

    def __init__(self, name: str | None = None):
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.need_dx = True
        self.input_shape = self.output_shape = None

    def build(self, input_shape, rng=None, dtype=np.float32):
        self.input_shape = tuple(input_shape)
        self.output_shape = self.input_shape
        self.dtype = np.dtype(dtype)
        return self.output_shape

    def _alloc_grads(self):
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, X, training=False):  # pragma: no cover
        raise NotImplementedError

    def backward(self, dY):  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"type": type(self).__name__, "name": self.name}

    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def flops(self) -> int:
        """Multiply-adds × 2 of the forward pass per sample (GEMM work only)."""
        return 0

    def __repr__(self):
        cfg = {k: v for k, v in self.get_config().items() if k not in ("type", "name")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


# ------------------------------------------------------------------ Dense


class Dense(Layer):
    """A = act(X @ W + b).   X (n, d_in) @ W (d_in, units) -> (n, units)."""

    PARAMS = ("W", "b")
    KERAS_NAME = "dense"

    def __init__(self, units: int, activation: str = "linear", kernel_initializer: str | None = None,
                 name: str | None = None):
        super().__init__(name)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
        self.units, self.activation = int(units), activation
        self.kernel_initializer = kernel_initializer or default_for(activation)
        self.workers = 1  # threads sharing large GEMMs (set by Sequential)

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng, dtype)
        if len(self.input_shape) != 1:
            raise ValueError(f"Dense needs a flat input, got shape {self.input_shape}: add a Flatten first")
        d = self.input_shape[0]
        rng = rng if rng is not None else np.random.default_rng(0)
        init = INITIALIZERS[self.kernel_initializer]
        self.params = {"W": init((d, self.units), d, self.units, rng, dtype), "b": np.zeros(self.units, dtype)}
        self._alloc_grads()
        self.output_shape = (self.units,)
        return self.output_shape

    def _matmul(self, A, B, out=None):
        """A @ B (into ``out``), its rows split over the worker threads when it is large."""
        n, k = A.shape
        m = B.shape[1]
        w = self.workers if n * k * m >= 1 << 22 and n >= 2 * self.workers else 1
        if w == 1:
            return np.matmul(A, B, out=out)
        if out is None:
            out = np.empty((n, m), np.result_type(A, B))
        parts = _batch_parts(n, w, min_rows=8)
        parallel_for(lambda g: np.matmul(A[g[0] : g[1]], B, out=out[g[0] : g[1]]), parts, w)
        return out

    def forward(self, X, training=False):
        Z = self._matmul(X, self.params["W"])  # (n, d) @ (d, u) -> (n, u)
        Z += self.params["b"]
        if self.activation == "relu":
            A = np.maximum(Z, 0, out=Z)
        else:
            A = ACTIVATIONS[self.activation](Z)
        if training:
            self._X, self._A = X, A
        return A

    def backward(self, dY):
        return self.backward_z(DERIVATIVES[self.activation](self._A, dY))

    def backward_z(self, dZ):
        """Backward from dL/dZ (skips the activation: used for softmax + cross-entropy)."""
        self._matmul(self._X.T, dZ, out=self.grads["W"])  # (d, n) @ (n, u) -> (d, u)
        np.sum(dZ, axis=0, out=self.grads["b"])
        return self._matmul(dZ, self.params["W"].T) if self.need_dx else None  # (n, u) @ (u, d)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer}

    def flops(self):
        return 2 * self.input_shape[0] * self.units


# ------------------------------------------------------------------ Conv2D


def _pads(size: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """(pad_before, pad_after, out_size) along one axis, with TF/Keras' rules."""
    if padding == "valid":
        return 0, 0, (size - k) // s + 1
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return total // 2, total - total // 2, out
    raise ValueError(f"padding must be 'valid' or 'same', not {padding!r}")


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as every framework) with stride and padding.

    X (n, H, W, C) -> A (n, Ho, Wo, F);  W (kh, kw, C, F) (Keras' HWIO), b (F,).
    """

    PARAMS = ("W", "b")
    KERAS_NAME = "conv2d"

    def __init__(self, filters: int, kernel_size=3, strides=1, padding: str = "valid",
                 activation: str = "linear", kernel_initializer: str | None = None, name: str | None = None):
        super().__init__(name)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}")
        self.filters = int(filters)
        self.kernel_size = tuple(kernel_size) if np.ndim(kernel_size) else (int(kernel_size),) * 2
        self.strides = tuple(strides) if np.ndim(strides) else (int(strides),) * 2
        self.padding, self.activation = padding, activation
        self.kernel_initializer = kernel_initializer or default_for(activation)
        self.chunk: int | None = None  # images per im2col chunk (None: from CHUNK_BYTES)
        self.flat_rows_max = 1.3  # stride-1 dX by shifted GEMMs up to this (Hp·Wp)/(Ho·Wo), see _backward
        self.workers = 1  # threads sharing the chunks (set by Sequential)

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng, dtype)
        if len(self.input_shape) != 3:
            raise ValueError(f"Conv2D needs (H, W, C) inputs, got {self.input_shape}")
        H, W, C = self.input_shape
        (kh, kw), (sh, sw), F = self.kernel_size, self.strides, self.filters
        self._ph = _pads(H, kh, sh, self.padding)
        self._pw = _pads(W, kw, sw, self.padding)
        Ho, Wo = self._ph[2], self._pw[2]
        if Ho < 1 or Wo < 1:
            raise ValueError(f"input {H}x{W} is smaller than the kernel {kh}x{kw}")
        rng = rng if rng is not None else np.random.default_rng(0)
        init = INITIALIZERS[self.kernel_initializer]
        self.params = {"W": init((kh, kw, C, F), kh * kw * C, kh * kw * F, rng, dtype), "b": np.zeros(F, dtype)}
        self._alloc_grads()
        self.output_shape = (Ho, Wo, F)
        self._K = kh * kw * C
        per_img = Ho * Wo * max(self._K, 4 * F) * self.dtype.itemsize  # im2col rows, or output (C=1: small K)
        self._chunk = self.chunk or max(1, CHUNK_BYTES // per_img)
        return self.output_shape

    # X (n, H, W, C) -> Xp (n, Hp, Wp, C)
    def _pad(self, X):
        (t, b, _), (l, r, _) = self._ph, self._pw
        if t or b or l or r:
            return np.pad(X, ((0, 0), (t, b), (l, r), (0, 0)))
        return X

    def _im2col(self, Xp, buf):
        """Patches of Xp (m, Hp, Wp, C) copied into buf -> (m·Ho·Wo, kh·kw·C). With few
        channels (C < 4: the first layer) the copy is K-major, (K, m·Ho·Wo), runs of Wo
        values instead of C, and the transposed view is returned (BLAS takes either)."""
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        Ho, Wo = self.output_shape[:2]
        C, m = self.input_shape[2], len(Xp)
        v = sliding_window_view(Xp, (kh, kw), axis=(1, 2))  # (m, Hp-kh+1, Wp-kw+1, C, kh, kw) view
        v = v[:, : (Ho - 1) * sh + 1 : sh, : (Wo - 1) * sw + 1 : sw]
        if C < 4:
            out = buf[: m * Ho * Wo * self._K].reshape(kh, kw, C, m, Ho, Wo)
            np.copyto(out, v.transpose(4, 5, 3, 0, 1, 2))
            return out.reshape(self._K, -1).T
        out = buf[: m * Ho * Wo * self._K].reshape(m, Ho, Wo, kh, kw, C)
        np.copyto(out, v.transpose(0, 1, 2, 4, 5, 3))
        return out.reshape(-1, self._K)

    def _buffer(self, m):
        Ho, Wo, _ = self.output_shape
        return np.empty(m * Ho * Wo * self._K, self.dtype)

    def _split(self, n):
        """(chunk size, chunk starts, one shared iterator per worker): the workers pull
        chunks from the same iterator, so a core slowed by another process simply does
        fewer chunks (a static split would make the other core wait)."""
        cs = min(self._chunk, n)
        starts = list(range(0, n, cs))
        it = iter(enumerate(starts))  # next() on a list iterator is atomic under the GIL
        return cs, starts, [it] * max(1, min(self.workers, len(starts)))

    def forward_pool(self, X, training, pool):
        """pool.forward(self.forward(X)), the pool computed chunk by chunk while each
        chunk of this layer's output is still in cache (``pool`` must be unpadded)."""
        return self.forward(X, training, pool)

    def forward(self, X, training=False, pool=None):
        n = len(X)
        Xp = self._pad(X)
        Ho, Wo, F = self.output_shape
        Wm, b = self.params["W"].reshape(self._K, F), self.params["b"]
        act = self.activation
        A = np.empty((n, Ho, Wo, F), self.dtype)
        P = None if pool is None else np.empty((n,) + pool.output_shape, self.dtype)
        cs, _, groups = self._split(n)
        per = Ho * Wo * self._K
        # few channels (the first layer): the patches of the whole batch are small, keep them for backward
        keep = np.empty(n * per, self.dtype) if training and self.input_shape[2] < 4 else None

        def work(chunks):
            buf = self._buffer(cs) if keep is None else None
            for _, k in chunks:
                cols = self._im2col(Xp[k : k + cs], buf if keep is None else keep[k * per :])  # (m·Ho·Wo, K)
                Zc = A[k : k + cs].reshape(-1, F)
                np.matmul(cols, Wm, out=Zc)  # (m·Ho·Wo, K) @ (K, F)
                Zc += b
                if act == "relu":
                    np.maximum(Zc, 0, out=Zc)
                elif act != "linear":
                    Zc[...] = ACTIVATIONS[act](Zc)
                if P is not None:
                    pool.forward_rows(A[k : k + cs], P[k : k + cs])

        parallel(work, groups)
        if training:
            self._Xp, self._A, self._cols = Xp, A, keep
        if P is not None:
            pool.forward(A, training, out=P)
            return P
        return A

    def backward(self, dY):
        return self._backward(dY, activation=True)

    def backward_z(self, dZ):
        return self._backward(dZ, activation=False)

    def backward_pool(self, pool, dP):
        """Backward through ``pool`` (a MaxPool2D fed by this relu layer, see its
        ``fusable``) and this layer, chunk by chunk: the pool's dX = this layer's dZ is
        made in cache, for each chunk, from the pool's output gradient dP."""
        return self._backward(dP, activation=False, pool=pool)

    def _backward(self, dY, activation, pool=None):
        Xp, A = self._Xp, self._A
        n = len(Xp)
        assert pool is None or self.activation == "relu"
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        Ho, Wo, F = self.output_shape
        Wm = self.params["W"].reshape(self._K, F)
        # C-ordered whatever X's layout (each chunk's rows are reshaped as views below)
        dXp = np.empty(Xp.shape, self.dtype) if self.need_dx else None  # each chunk zeroes its rows (in cache)
        cs, starts, groups = self._split(n)
        deriv = DERIVATIVES[self.activation]
        relu = self.activation == "relu"
        dWs = np.empty((len(starts), self._K, F), self.dtype)  # per chunk: summed in a fixed order
        dbs = np.empty((len(starts), F), self.dtype)
        ones = np.ones(cs * Ho * Wo, self.dtype)
        # dX with stride 1: no (m·Ho·Wo, kh·kw·C) patch gradient and no strided col2im. In the
        # padded input's flat pixel order, kernel offset (i, j) moves a pixel by s = i·Wp + j, so
        # dX[s:] += dZ' · W[i, j]ᵀ with dZ' = dZ laid out Wp wide (zeros past column Wo and row Ho
        # keep each image's shifted rows inside that image): kh·kw GEMMs, each added to a
        # contiguous slice of dX (~12% off the seed CNN's conv2 backward, bench/README.md).
        # The GEMMs run over Hp·Wp rows instead of Ho·Wo: worth it while the border is thin
        # (3x3 on 26x26: 1.17x the rows), not for big kernels on small maps (5x5 on 12x12: 2.25x).
        Hp, Wp, C = Xp.shape[1:]
        flat = dXp is not None and (sh, sw) == (1, 1) and Hp * Wp <= self.flat_rows_max * Ho * Wo
        if flat:
            Wt = [[np.ascontiguousarray(self.params["W"][i, j].T) for j in range(kw)] for i in range(kh)]  # (F, C)

        def work(chunks):
            buf = self._buffer(cs)
            dcols = np.empty((cs * Ho * Wo, self._K), self.dtype) if dXp is not None and not flat else None
            zpad = np.zeros((cs, Hp, Wp, F), self.dtype) if flat else None  # borders stay zero
            tmp = np.empty((cs * Hp * Wp, C), self.dtype) if flat else None
            dzbuf = np.empty((cs * Ho * Wo, F), self.dtype) if (activation and relu) or pool else None
            for c, k in chunks:
                dZc = dY[k : k + cs]
                m = len(dZc)
                if pool is not None:  # dZ = the pool's dX (relu' included), made for this chunk
                    dZc = pool.backward_rows(k, k + m, dY, dzbuf[: m * Ho * Wo].reshape(m, Ho, Wo, F), relu=True)
                elif dzbuf is not None:  # relu' = [A > 0], multiplied into a reused buffer
                    dZc = np.multiply(dZc.reshape(-1, F), A[k : k + cs].reshape(-1, F) > 0, out=dzbuf[: m * Ho * Wo])
                elif activation:
                    dZc = deriv(A[k : k + cs], dZc)
                dZc = dZc.reshape(-1, F)
                np.matmul(ones[: len(dZc)], dZc, out=dbs[c])  # db: a GEMV, ~6x faster than sum(axis=0)
                if self._cols is not None:  # kept by forward (see there)
                    cols = self._cols[k * Ho * Wo * self._K : (k + m) * Ho * Wo * self._K].reshape(self._K, -1).T
                else:
                    cols = self._im2col(Xp[k : k + cs], buf)  # recomputed: cheaper than caching
                np.matmul(cols.T, dZc, out=dWs[c])  # (K, m·Ho·Wo) @ (m·Ho·Wo, F)
                if dXp is None:
                    continue
                d = dXp[k : k + cs]
                if flat:
                    zpad[:m, :Ho, :Wo] = dZc.reshape(m, Ho, Wo, F)
                    zf = zpad[:m].reshape(-1, F)  # (m·Hp·Wp, F)
                    df = d.reshape(-1, C)  # (m·Hp·Wp, C)
                    np.matmul(zf, Wt[0][0], out=df)  # offset (0, 0) covers every row: no zero fill
                    rows = len(zf)
                    for i in range(kh):
                        for j in range(kw):
                            if i or j:
                                s = i * Wp + j
                                df[s:] += np.matmul(zf[: rows - s], Wt[i][j], out=tmp[: rows - s])
                    continue
                dc = np.matmul(dZc, Wm.T, out=dcols[: m * Ho * Wo])  # (m·Ho·Wo, F) @ (F, K)
                dc = dc.reshape(m, Ho, Wo, kh, kw, -1)
                d.fill(0)
                for i in range(kh):  # col2im: add each kernel offset's share back
                    for j in range(kw):
                        d[:, i : i + (Ho - 1) * sh + 1 : sh, j : j + (Wo - 1) * sw + 1 : sw] += dc[:, :, :, i, j]

        parallel(work, groups)
        np.sum(dWs, axis=0, out=self.grads["W"].reshape(self._K, F))
        np.sum(dbs, axis=0, out=self.grads["b"])
        if dXp is None:
            return None
        (t, _, _), (l, _, _) = self._ph, self._pw
        H, W, _ = self.input_shape
        return dXp[:, t : t + H, l : l + W]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer}

    def flops(self):
        Ho, Wo, F = self.output_shape
        return 2 * Ho * Wo * F * self._K


# ------------------------------------------------------------------ pooling, flatten, dropout


class MaxPool2D(Layer):
    """Max over pool windows, per channel. The gradient goes to the first maximum of
    each window (as TensorFlow does)."""

    KERAS_NAME = "max_pooling2d"

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", name: str | None = None):
        super().__init__(name)
        self.pool_size = tuple(pool_size) if np.ndim(pool_size) else (int(pool_size),) * 2
        strides = self.pool_size if strides is None else strides
        self.strides = tuple(strides) if np.ndim(strides) else (int(strides),) * 2
        self.padding = padding
        self.workers = 1  # threads sharing the batch (set by Sequential)

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng, dtype)
        H, W, C = self.input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        self._ph, self._pw = _pads(H, ph, sh, self.padding), _pads(W, pw, sw, self.padding)
        self.output_shape = (self._ph[2], self._pw[2], C)
        return self.output_shape

    def _parts(self, Xp):
        """Slices of a few images each (~POOL_BYTES of input): every window offset's
        pass then finds the part still in L2 instead of streaming the batch 4 times."""
        n = len(Xp)
        rows = max(1, min(-(-n // self.workers), POOL_BYTES // max(1, Xp[:1].nbytes)))
        return [(k, min(k + rows, n)) for k in range(0, n, rows)]

    def _windows(self, Xp):
        """Yield the strided view of each offset (i, j) inside the pool window."""
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        Ho, Wo, _ = self.output_shape
        for i in range(ph):
            for j in range(pw):
                yield (slice(None), slice(i, i + (Ho - 1) * sh + 1, sh), slice(j, j + (Wo - 1) * sw + 1, sw))

    def unpadded(self) -> bool:
        return not any(self._ph[:2]) and not any(self._pw[:2])

    def forward_rows(self, x, o):
        """o = the pooled x, for a few rows of an unpadded input."""
        for k, w in enumerate(self._windows(x)):
            np.copyto(o, x[w]) if k == 0 else np.maximum(o, x[w], out=o)

    def forward(self, X, training=False, out=None):
        """With ``out`` given: the pooled X is already in it (made by the layer before,
        see Conv2D.forward_pool); only the caches for backward are set."""
        (t, b, _), (l, r, _) = self._ph, self._pw
        Xp = np.pad(X, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=-np.inf) if (t or b or l or r) else X
        if out is None:
            out = np.empty((len(X),) + self.output_shape, X.dtype)
            parallel_for(lambda g: self.forward_rows(Xp[g[0] : g[1]], out[g[0] : g[1]]), self._parts(Xp),
                         self.workers)
        if training:
            self._Xp, self._out = Xp, out
        return out

    def _fast(self, Xp) -> bool:
        """Non-overlapping windows tiling the input exactly (no padding)."""
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        Ho, Wo, _ = self.output_shape
        return (ph, pw) == (sh, sw) and Xp.shape[1:3] == (Ho * ph, Wo * pw)

    def _backward_rows(self, x, o, dy, dx, relu):
        """dx (written whole) for the rows x, o, dy of the fast case: view x as
        (m, Ho, ph, Wo, pw, C); each window's gradient goes to its first maximum."""
        (ph, pw), (Ho, Wo, C) = self.pool_size, self.output_shape
        if relu:
            dy = dy * (o > 0)
        xr, dxr = x.reshape(len(x), Ho, ph, Wo, pw, C), dx.reshape(len(x), Ho, ph, Wo, pw, C)
        taken, e = np.empty(o.shape, bool), np.empty(o.shape, bool)
        for k, (i, j) in enumerate(np.ndindex(ph, pw)):
            np.equal(xr[:, :, i, :, j], o, out=e if k else taken)
            if k:
                np.greater(e, taken, out=e)  # e & ~taken
                np.logical_or(taken, e, out=taken)
            np.multiply(dy, e if k else taken, out=dxr[:, :, i, :, j])

    def fusable(self, X) -> bool:
        """Can the layer before (whose output is X) pull this layer's backward chunk by
        chunk (``backward_rows``)? Needs the fast case and X as cached, unpadded."""
        return self._Xp is X and self._fast(X)

    def backward_rows(self, a, b, dY, dx, relu=False):
        """dX for the batch rows a:b, written into dx (fast case only, see fusable)."""
        self._backward_rows(self._Xp[a:b], self._out[a:b], dY[a:b], dx, relu)
        return dx

    def backward(self, dY, relu: bool = False):
        """dX; with ``relu`` it is already multiplied by relu'(X) = [X > 0], for a ReLU
        layer in front: the gradient only reaches each window's maximum, where X > 0
        exactly when the pooled output is, so the mask is applied to the 4x smaller dY."""
        Xp, out = self._Xp, self._out
        fast = self._fast(Xp)
        dXp = np.empty_like(Xp) if fast else np.zeros_like(Xp)

        def work(g):
            x, o, dy, dx = Xp[g[0] : g[1]], out[g[0] : g[1]], dY[g[0] : g[1]], dXp[g[0] : g[1]]
            if fast:
                return self._backward_rows(x, o, dy, dx, relu)
            if relu:
                dy = dy * (o > 0)
            taken = np.zeros(o.shape, bool)
            for w in self._windows(x):
                m = x[w] == o
                m &= ~taken
                taken |= m
                dx[w] += dy * m

        parallel_for(work, self._parts(Xp), self.workers)
        (t, _, _), (l, _, _) = self._ph, self._pw
        H, W, _ = self.input_shape
        return dXp[:, t : t + H, l : l + W]

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class Flatten(Layer):
    """(n, h, w, c) -> (n, h·w·c), channels last (the order Keras flattens in)."""

    KERAS_NAME = "flatten"

    def build(self, input_shape, rng=None, dtype=np.float32):
        super().build(input_shape, rng, dtype)
        self.output_shape = (int(np.prod(self.input_shape)),)
        return self.output_shape

    def forward(self, X, training=False):
        return X.reshape(len(X), -1)

    def backward(self, dY):
        return dY.reshape((len(dY),) + self.input_shape)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and
    scale the rest by 1/(1-rate); the identity at inference."""

    KERAS_NAME = "dropout"

    def __init__(self, rate: float = 0.5, name: str | None = None):
        super().__init__(name)
        if not 0 <= rate < 1:
            raise ValueError("dropout rate must be in [0, 1)")
        self.rate = float(rate)
        self.rng = np.random.default_rng(0)

    def forward(self, X, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return X
        t = self.rate * 256
        if t == int(t):  # rate a multiple of 1/256 (0.25, 0.5, ...): one random byte per unit
            # the bytes of uint64 draws: 0.5 ms for the seed CNN's 1.2M units, rng.bytes took 2.1
            words = self.rng.integers(0, 2**64 - 1, -(-X.size // 8), dtype=np.uint64, endpoint=True)
            u = words.view(np.uint8)[: X.size].reshape(X.shape)
            keep = u >= np.uint8(t)  # P(keep) = 1 - rate exactly
        else:
            keep = self.rng.random(X.shape, dtype=np.float32) >= self.rate
        self._mask = mask = np.multiply(keep, X.dtype.type(1 / (1 - self.rate)), dtype=X.dtype)
        return X * mask

    def backward(self, dY):
        return dY if self._mask is None else dY * self._mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


LAYERS = {c.__name__: c for c in (Dense, Conv2D, MaxPool2D, Flatten, Dropout)}


def layer_from_config(cfg: dict) -> Layer:
    cfg = dict(cfg)
    cls = LAYERS[cfg.pop("type")]
    return cls(**cfg)
