"""Activation functions and their derivatives, as plain functions in dicts.

Like scikit-learn's ``neural_network/_base.py``: ``ACTIVATIONS[name](Z) -> A`` and
``DERIVATIVES[name](A, dA) -> dZ``. The derivative is written in terms of the
*output* ``A`` (sigmoid' = A(1-A), tanh' = 1-A², relu' = [A>0]), so a layer only
has to keep its output. Every function keeps the dtype of its input.
"""
from __future__ import annotations

import numpy as np


def identity(Z):
    return Z


def sigmoid(Z):
    """1 / (1 + e^-Z), written as (1 + tanh(Z/2)) / 2: no overflow for any Z."""
    A = np.tanh(Z * Z.dtype.type(0.5))
    A += 1
    A *= Z.dtype.type(0.5)
    return A


def tanh(Z):
    return np.tanh(Z)


def relu(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    """Row-wise softmax over the last axis, shifted by the row max for stability."""
    E = Z - Z.max(axis=-1, keepdims=True)
    np.exp(E, out=E)
    E /= E.sum(axis=-1, keepdims=True)
    return E


def d_identity(A, dA):
    return dA


def d_sigmoid(A, dA):
    return dA * A * (1 - A)


def d_tanh(A, dA):
    return dA * (1 - A * A)


def d_relu(A, dA):
    return dA * (A > 0)  # (a bool mask multiply is ~10x faster than np.where here)


def d_softmax(A, dA):
    """Jacobian-vector product of softmax: A ⊙ (dA - Σ_j dA_j A_j)."""
    return A * (dA - (dA * A).sum(axis=-1, keepdims=True))


ACTIVATIONS = {
    "linear": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "softmax": softmax,
}

DERIVATIVES = {
    "linear": d_identity,
    "sigmoid": d_sigmoid,
    "tanh": d_tanh,
    "relu": d_relu,
    "softmax": d_softmax,
}

#: names offered for hidden layers in the UI (softmax is an output activation)
HIDDEN_ACTIVATIONS = ["relu", "tanh", "sigmoid"]
