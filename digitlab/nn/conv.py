"""Conv2D and MaxPool2D: the image layers (NHWC), with their fast paths.

Conv2D lowers the convolution to one GEMM per chunk of images: the patches of a few
images (``im2col``, a strided view copied into a small buffer that stays in cache)
times the kernel reshaped (kh·kw·C, F). Keras' kernel layout (kh, kw, C, F) and its
channels-last flatten are used as they are, so Keras weights load unchanged. The chunks
are shared by ``workers`` threads (``parallel.py``); a ReLU Conv2D followed by a MaxPool2D
pools (and back-propagates the pool) chunk by chunk while the chunk is in cache.

The same maths written plainly, a few lines per function, is ``reference.py``.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activations import ACTIVATIONS, DERIVATIVES
from .init import INITIALIZERS, default_for
from .layers import Layer
from .parallel import parallel, parallel_for, shared_chunks

CHUNK_BYTES = 3 << 20  # im2col buffer per chunk (~3 MB: stays in L2/L3)
POOL_BYTES = 1 << 20  # pooling input per part (stays in L2 with its gradient)


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
        self.flat_rows_max = 1.3  # stride-1 dX by shifted GEMMs up to this (Hp·Wp)/(Ho·Wo), see _flat_dx_pays
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
        cs, _, groups = shared_chunks(n, self._chunk, self.workers)
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

    # ---- backward, chunk by chunk: dZ, then db and dW, then dX (by shifted GEMMs or by col2im)

    def _backward(self, dY, activation, pool=None):
        """dX (None without need_dx) and grads["W"], grads["b"] from dY: dA (``activation``),
        dZ, or the pool's output gradient dP (``pool``). Each worker pulls chunks of images
        and keeps its own scratch buffers (``_scratch``)."""
        assert pool is None or self.activation == "relu"
        n, (Ho, Wo, F) = len(self._Xp), self.output_shape
        cs, starts, groups = shared_chunks(n, self._chunk, self.workers)
        dWs = np.empty((len(starts), self._K, F), self.dtype)  # per chunk: summed in a fixed order
        dbs = np.empty((len(starts), F), self.dtype)
        # C-ordered whatever X's layout (each chunk's rows are reshaped as views below)
        dXp = np.empty(self._Xp.shape, self.dtype) if self.need_dx else None  # each chunk writes its rows whole
        flat = dXp is not None and self._flat_dx_pays()
        Wt = self._kernel_slices_t() if flat else None
        ones = np.ones(cs * Ho * Wo, self.dtype)
        relu_mask = (activation and self.activation == "relu") or pool is not None

        def work(chunks):
            s = self._scratch(cs, relu_mask, dXp is not None and not flat, flat)
            for c, k in chunks:
                dZ = self._dz_chunk(dY, k, cs, activation, pool, s["dz"])  # (m·Ho·Wo, F)
                np.matmul(ones[: len(dZ)], dZ, out=dbs[c])  # db: a GEMV, ~6x faster than sum(axis=0)
                cols = self._cols_chunk(k, len(dZ) // (Ho * Wo), s["cols"])  # (m·Ho·Wo, K)
                np.matmul(cols.T, dZ, out=dWs[c])  # (K, m·Ho·Wo) @ (m·Ho·Wo, F)
                if flat:
                    self._dx_shifted(dZ, dXp[k : k + cs], Wt, s["zpad"], s["tmp"])
                elif dXp is not None:
                    self._dx_col2im(dZ, dXp[k : k + cs], s["dcols"])

        parallel(work, groups)
        np.sum(dWs, axis=0, out=self.grads["W"].reshape(self._K, F))
        np.sum(dbs, axis=0, out=self.grads["b"])
        if dXp is None:
            return None
        (t, _, _), (l, _, _) = self._ph, self._pw
        H, W, _ = self.input_shape
        return dXp[:, t : t + H, l : l + W]

    def _flat_dx_pays(self) -> bool:
        """dX by shifted GEMMs (``_dx_shifted``)? Only with stride 1, and while the padded map
        has few more pixels than the output: the GEMMs run over Hp·Wp rows instead of Ho·Wo,
        worth it while the border is thin (3x3 on 26x26: 1.17x the rows), not for big kernels
        on small maps (5x5 on 12x12: 2.25x)."""
        Hp, Wp, _ = self._Xp.shape[1:]
        Ho, Wo, _ = self.output_shape
        return self.strides == (1, 1) and Hp * Wp <= self.flat_rows_max * Ho * Wo

    def _kernel_slices_t(self):
        """W[i, j].T, contiguous, for each kernel offset (i, j): [[(F, C)] * kw] * kh."""
        kh, kw = self.kernel_size
        return [[np.ascontiguousarray(self.params["W"][i, j].T) for j in range(kw)] for i in range(kh)]

    def _scratch(self, cs: int, relu_mask: bool, col2im: bool, flat: bool) -> dict:
        """One worker's buffers for chunks of ``cs`` images (None where not needed)."""
        Ho, Wo, F = self.output_shape
        Hp, Wp, C = self._Xp.shape[1:]
        return {"cols": self._buffer(cs),
                "dz": np.empty((cs * Ho * Wo, F), self.dtype) if relu_mask else None,
                "dcols": np.empty((cs * Ho * Wo, self._K), self.dtype) if col2im else None,
                "zpad": np.zeros((cs, Hp, Wp, F), self.dtype) if flat else None,  # borders stay zero
                "tmp": np.empty((cs * Hp * Wp, C), self.dtype) if flat else None}

    def _dz_chunk(self, dY, k: int, cs: int, activation: bool, pool, buf):
        """dL/dZ of the images k:k+cs as (m·Ho·Wo, F): the pool's dX made for this chunk
        (relu' included), dA times the activation's derivative (relu' = [A > 0] multiplied
        into ``buf``), or dY itself when it already is dZ."""
        Ho, Wo, F = self.output_shape
        dZ = dY[k : k + cs]
        m = len(dZ)
        if pool is not None:
            dZ = pool.backward_rows(k, k + m, dY, buf[: m * Ho * Wo].reshape(m, Ho, Wo, F), relu=True)
        elif buf is not None:
            dZ = np.multiply(dZ.reshape(-1, F), self._A[k : k + cs].reshape(-1, F) > 0, out=buf[: m * Ho * Wo])
        elif activation:
            dZ = DERIVATIVES[self.activation](self._A[k : k + cs], dZ)
        return dZ.reshape(-1, F)

    def _cols_chunk(self, k: int, m: int, buf):
        """The patches of images k:k+m, (m·Ho·Wo, K): kept by forward for the first layer
        (see there), else recomputed into ``buf`` (cheaper than caching them)."""
        if self._cols is None:
            return self._im2col(self._Xp[k : k + m], buf)
        per = int(np.prod(self.output_shape[:2])) * self._K
        return self._cols[k * per : (k + m) * per].reshape(self._K, -1).T

    def _dx_shifted(self, dZ, d, Wt, zpad, tmp) -> None:
        """dX of one chunk with stride 1, into d (m, Hp, Wp, C), with no (m·Ho·Wo, K) patch
        gradient and no strided col2im. In the padded input's flat pixel order, kernel offset
        (i, j) moves a pixel by s = i·Wp + j, so dX[s:] += dZ' · W[i, j]ᵀ with dZ' = dZ laid out
        Wp wide (zeros past column Wo and row Ho keep each image's shifted rows inside that
        image): kh·kw GEMMs, each added to a contiguous slice of dX (~12% off the tutorial
        CNN's conv2 backward, bench/README.md)."""
        (kh, kw), (Ho, Wo, F) = self.kernel_size, self.output_shape
        m, _, Wp, C = d.shape
        zpad[:m, :Ho, :Wo] = dZ.reshape(m, Ho, Wo, F)
        zf = zpad[:m].reshape(-1, F)  # (m·Hp·Wp, F)
        df = d.reshape(-1, C)  # (m·Hp·Wp, C), a view: d is a C-ordered slice of rows
        np.matmul(zf, Wt[0][0], out=df)  # offset (0, 0) covers every row: no zero fill
        rows = len(zf)
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    s = i * Wp + j
                    df[s:] += np.matmul(zf[: rows - s], Wt[i][j], out=tmp[: rows - s])

    def _dx_col2im(self, dZ, d, dcols) -> None:
        """dX of one chunk, any stride, into d (m, Hp, Wp, C): the patch gradient
        dZ @ Wᵀ (m·Ho·Wo, K), each kernel offset's share added back where it came from."""
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        Ho, Wo, F = self.output_shape
        m = len(d)
        dc = np.matmul(dZ, self.params["W"].reshape(self._K, F).T, out=dcols[: m * Ho * Wo])  # (m·Ho·Wo, F) @ (F, K)
        dc = dc.reshape(m, Ho, Wo, kh, kw, -1)
        d.fill(0)
        for i in range(kh):
            for j in range(kw):
                d[:, i : i + (Ho - 1) * sh + 1 : sh, j : j + (Wo - 1) * sw + 1 : sw] += dc[:, :, :, i, j]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer}

    def flops(self):
        Ho, Wo, F = self.output_shape
        return 2 * Ho * Wo * F * self._K


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
