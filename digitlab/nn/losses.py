"""Losses and their derivatives with respect to the predicted probabilities.

``LOSSES[name](P, Y) -> float`` (mean over the batch) and
``LOSS_DERIVATIVES[name](P, Y) -> dP``. ``Y`` is one-hot (n, k) for the softmax
cross-entropy and (n, 1) or (n,) of 0/1 for the binary one. When the output layer is
softmax (or sigmoid) with its matching cross-entropy, the chained gradient
simplifies to ``(P - Y) / n``: :func:`output_delta` gives it directly, the way
every framework fuses them.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-7  # probabilities are clipped to [EPS, 1-EPS] inside logs (as Keras does)


def _clip(P):
    return np.clip(P, EPS, 1 - EPS)


def binary_cross_entropy(P, Y):
    """-mean(y log p + (1-y) log(1-p))."""
    P = _clip(P)
    return float(-np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P)))


def d_binary_cross_entropy(P, Y):
    P = _clip(P)
    return (P - Y) / (P * (1 - P)) / P.size


def softmax_cross_entropy(P, Y):
    """-mean over rows of Σ_k y_k log p_k (P are softmax probabilities)."""
    return float(-np.sum(Y * np.log(_clip(P))) / len(P))


def d_softmax_cross_entropy(P, Y):
    return -Y / _clip(P) / len(P)


def output_delta(P, y):
    """dL/dZ of the output pre-activation for softmax + cross-entropy, from int labels
    ``y`` (n,): (P - onehot(y)) / n. Also right for sigmoid + binary CE with P (n, 1)."""
    n = len(P)
    D = P.copy()
    if P.shape[1] == 1:
        D[:, 0] -= y
    else:
        D[np.arange(n), y] -= 1
    D *= P.dtype.type(1.0 / n)
    return D


def sparse_cross_entropy(P, y):
    """Mean cross-entropy from int labels: -mean log p[y] (binary when P is (n, 1))."""
    if P.shape[1] == 1:
        p = np.where(y == 1, P[:, 0], 1 - P[:, 0])
    else:
        p = P[np.arange(len(P)), y]
    return float(-np.mean(np.log(np.clip(p, EPS, 1 - EPS))))


LOSSES = {
    "binary_cross_entropy": binary_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
}

LOSS_DERIVATIVES = {
    "binary_cross_entropy": d_binary_cross_entropy,
    "softmax_cross_entropy": d_softmax_cross_entropy,
}
