"""The plain maths of the layers, forward and backward: a few lines each, to read.

The layers that train (``layers.py``, ``conv.py``) compute exactly this, but fast: in chunks
that stay in cache, fused with the activation and the pooling, shared by threads. Here is
the same thing written as the formulas, with the same layouts and parameter shapes, so you
can put a trained layer's weights in and get the same numbers (``tests/test_nn_reference.py``
checks each function against the fast layer, and against finite differences).

Layout: images are NHWC, (N, H, W, C): N images of H x W pixels with C channels.
Each ``*_backward`` takes the gradient of the loss with respect to the output (``dY``,
``dZ`` or ``dA``) and returns the gradients with respect to the inputs and parameters.
"""
from __future__ import annotations

import numpy as np

from .activations import softmax  # already the plain formula: P = exp(Z - max) / Σ exp(Z - max)

# ------------------------------------------------------------------ activations: A = g(Z), dZ = dA · g'(Z)


def linear(Z):
    return Z


def linear_backward(Z, dA):
    return dA


def relu(Z):
    return np.maximum(Z, 0)


def relu_backward(Z, dA):
    return dA * (Z > 0)  # relu'(z) = 1 if z > 0 else 0


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def sigmoid_backward(Z, dA):
    s = sigmoid(Z)
    return dA * s * (1 - s)  # σ'(z) = σ(z) (1 - σ(z))


def tanh(Z):
    return np.tanh(Z)


def tanh_backward(Z, dA):
    return dA * (1 - np.tanh(Z) ** 2)  # tanh'(z) = 1 - tanh²(z)


def softmax_backward(Z, dA):
    # Z, dA: (N, K). The Jacobian of one row: ∂p_i/∂z_j = p_i (δ_ij - p_j)
    P = softmax(Z)
    J = P[:, :, None] * (np.eye(Z.shape[1]) - P[:, None, :])  # (N, K, K)
    # dZ_j = Σ_i dA_i ∂p_i/∂z_j
    return np.einsum("nij,ni->nj", J, dA)


ACTIVATIONS = {"linear": (linear, linear_backward), "relu": (relu, relu_backward),
               "sigmoid": (sigmoid, sigmoid_backward), "tanh": (tanh, tanh_backward),
               "softmax": (softmax, softmax_backward)}


# ------------------------------------------------------------------ Dense: Z = X W + b


def dense_forward(X, W, b):
    # X: (N, D), W: (D, U), b: (U,) -> Z: (N, U)
    return X @ W + b


def dense_backward(X, W, dZ):
    # dZ: (N, U) -> dX: (N, D), dW: (D, U), db: (U,)
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


# ------------------------------------------------------------------ padding ('valid' or 'same', as Keras)


def same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """(before, after): the output gets ceil(size / stride) pixels; any odd one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def pad(X, window, stride, padding: str, value=0.0):
    # X: (N, H, W, C) -> Xp: (N, top + H + bottom, left + W + right, C), (top, left)
    if padding == "valid":
        return X, (0, 0)
    t, b = same_padding(X.shape[1], window[0], stride[0])  # rows
    l, r = same_padding(X.shape[2], window[1], stride[1])  # columns
    return np.pad(X, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value), (t, l)


# ------------------------------------------------------------------ Conv2D: a window slides over the image


def conv2d_forward(X, W, b, stride=(1, 1), padding="valid"):
    # X: (N, H, W, C_in), W: (kh, kw, C_in, C_out), b: (C_out,) -> Z: (N, H', W', C_out)
    kh, kw, _, _ = W.shape
    (sh, sw) = stride
    Xp, _ = pad(X, (kh, kw), stride, padding)
    Ho, Wo = (Xp.shape[1] - kh) // sh + 1, (Xp.shape[2] - kw) // sw + 1
    Z = np.zeros((len(X), Ho, Wo, W.shape[3]))
    for r in range(Ho):
        for c in range(Wo):
            # the window under output pixel (r, c): (N, kh, kw, C_in)
            patch = Xp[:, r * sh : r * sh + kh, c * sw : c * sw + kw, :]
            # Σ over kh, kw, C_in of patch · W -> (N, C_out)
            Z[:, r, c, :] = np.tensordot(patch, W, axes=3) + b
    return Z


def conv2d_backward(X, W, dZ, stride=(1, 1), padding="valid"):
    # dZ: (N, H', W', C_out)
    # -> dX: (N, H, W, C_in), dW: (kh, kw, C_in, C_out), db: (C_out,)
    kh, kw, _, _ = W.shape
    (sh, sw) = stride
    Xp, (top, left) = pad(X, (kh, kw), stride, padding)
    dXp, dW = np.zeros(Xp.shape), np.zeros(W.shape)
    for r in range(dZ.shape[1]):
        for c in range(dZ.shape[2]):
            rows, cols = slice(r * sh, r * sh + kh), slice(c * sw, c * sw + kw)
            g = dZ[:, r, c, :]  # (N, C_out): the gradient at output pixel (r, c)
            # every weight met this window: Σ over N -> (kh, kw, C_in, C_out)
            dW += np.tensordot(Xp[:, rows, cols, :], g, axes=(0, 0))
            # every pixel of the window met every weight: (N, kh, kw, C_in)
            dXp[:, rows, cols, :] += np.tensordot(g, W, axes=(1, 3))
    # the padding gets no gradient
    dX = dXp[:, top : top + X.shape[1], left : left + X.shape[2], :]
    return dX, dW, dZ.sum(axis=(0, 1, 2))


# ------------------------------------------------------------------ MaxPool2D: the largest value of each window


def maxpool2d_forward(X, size=(2, 2), stride=(2, 2), padding="valid"):
    # X: (N, H, W, C) -> Y: (N, H', W', C), each channel pooled on its own
    (ph, pw), (sh, sw) = size, stride
    Xp, _ = pad(X, size, stride, padding, value=-np.inf)  # padding never wins the max
    Ho, Wo = (Xp.shape[1] - ph) // sh + 1, (Xp.shape[2] - pw) // sw + 1
    Y = np.zeros((len(X), Ho, Wo, X.shape[3]))
    for r in range(Ho):
        for c in range(Wo):
            window = Xp[:, r * sh : r * sh + ph, c * sw : c * sw + pw, :]
            Y[:, r, c, :] = window.max(axis=(1, 2))
    return Y


def maxpool2d_backward(X, dY, size=(2, 2), stride=(2, 2), padding="valid"):
    # dY: (N, H', W', C) -> dX: (N, H, W, C)
    # each window's gradient goes to its (first) maximum, the rest get 0
    (ph, pw), (sh, sw) = size, stride
    Xp, (top, left) = pad(X, size, stride, padding, value=-np.inf)
    N, _, _, C = X.shape
    dXp = np.zeros(Xp.shape)
    for r in range(dY.shape[1]):
        for c in range(dY.shape[2]):
            rows, cols = slice(r * sh, r * sh + ph), slice(c * sw, c * sw + pw)
            window = Xp[:, rows, cols, :].reshape(N, ph * pw, C)
            first = window.argmax(axis=1)  # (N, C): the first maximum, row by row
            # (N, ph·pw, C): True where the maximum is
            mask = np.arange(ph * pw)[None, :, None] == first[:, None, :]
            dXp[:, rows, cols, :] += (mask * dY[:, r, c, None, :]).reshape(N, ph, pw, C)
    return dXp[:, top : top + X.shape[1], left : left + X.shape[2], :]


# ------------------------------------------------------------------ softmax cross-entropy (the output layer)


def cross_entropy(P, y):
    # P: (N, K) probabilities, y: (N,) labels in 0..K-1 -> the mean of -log p[label]
    return -np.mean(np.log(P[np.arange(len(y)), y]))


def softmax_cross_entropy_backward(Z, y):
    # Z: (N, K) logits -> dL/dZ: (N, K) = (softmax(Z) - onehot(y)) / N
    # (the chain rule: softmax_backward of d(-log p)/dp = -1/p, simplified)
    Y = np.eye(Z.shape[1])[y]
    return (softmax(Z) - Y) / len(Z)
