"""Layers in NHWC layout (batch, height, width, channels), as Keras does: the base class,
Dense, Flatten and Dropout here; Conv2D and MaxPool2D in ``conv.py``.

Each layer: ``build(input_shape, rng, dtype) -> output_shape`` creates ``params``;
``forward(X, training)`` caches what ``backward`` needs; ``backward(dY)`` fills
``grads`` (same keys as ``params``, written in place) and returns ``dX`` (or None
when ``need_dx`` is False, e.g. for the first layer during training). The plain maths of
every layer, without the fast paths, is in ``reference.py`` (tests check they agree).
"""
from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES
from .init import INITIALIZERS, default_for
from .parallel import batch_parts, parallel_for


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
        parts = batch_parts(n, w, min_rows=8)
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


# ------------------------------------------------------------------ flatten, dropout


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
            # the bytes of uint64 draws: 0.5 ms for the tutorial CNN's 1.2M units, rng.bytes took 2.1
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
