"""Input gradients of every stored model: how its answer changes with each pixel of the input.

Every model reads 28×28 images in [0, 1] (:func:`digitlab.models.as_unit_images`), and every
gradient here is taken with respect to that input, whatever the model does inside:

* NumPy nets (``numpy-mlp``, ``numpy-cnn``) and a Keras CNN's NumPy twin (``keras-cnn``): the
  net's own backward pass, :meth:`digitlab.nn.Sequential.backward`, as ``fit`` calls it, carried
  down to the input instead of stopping at the weights.
* scikit-learn's MLP (``sklearn-mlp``): the same, through its :mod:`digitlab.nn` twin
  (``SklearnPredictor.net``), which reads [0, 1] too: a model trained on raw 0-255 pixels has
  the ×255 folded into its first weights, so the chain rule's ×255 is already there.
* the tutorial's 0-vs-1 net (``numpy-binary``): :func:`digitlab.tutorial_binary.pixel_gradient_binary`
  gives the gradient per 0-255 pixel (its own ``input_scale`` included); one [0, 1] step is 255
  of those, so it is multiplied by 255 here.

One form for all: every kind's probabilities are a softmax of logits Z (n, k). For the binary
net [P(0), P(1)] = [1 - σ(z2), σ(z2)] = softmax([0, z2]). A caller says what it differentiates
by giving dL/dZ as a function of the probabilities, ``dlogits(P) -> dZ`` (:func:`backprop`):

* the probability of digit c: ∂p_c/∂z_j = p_c (δ_cj - p_j)  (:func:`probability_gradient`)
* the cross-entropy -log p_c: ∂/∂z_j = p_j - δ_cj          (:func:`loss_gradient`)
* the logit z_c itself: e_c                                 (Grad-CAM's class score)

No Streamlit, no TensorFlow: NumPy only. See docs/architecture.md, "Explaining a prediction".
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from . import tutorial_binary
from .errors import DigitLabError
from .models import BinaryPredictor, as_unit_images, ten_class_probabilities
from .nn import Conv2D, Dropout
from .nn.blas import threadpool_limits


class ExplainError(DigitLabError, ValueError):
    """A bad request to the explanations (a target the model cannot answer, a bound out of range...)."""


def predictor_of(model):
    """The NumPy predictor of a :class:`digitlab.store.StoredModel`, or ``model`` itself."""
    return getattr(model, "predictor", model)


def model_digits(model) -> np.ndarray:
    """The digits of a model's k outputs, in order: 0-9, a 0-vs-1 net's [0, 1], or the
    ``classes_`` of a scikit-learn model trained on some digits only."""
    pred = predictor_of(model)
    digits = getattr(pred, "classes_", None)
    return np.asarray(digits if digits is not None else np.arange(pred.classes))


def ten_class(model, P) -> np.ndarray:
    """A model's (n, k) probabilities as (n, 10): a digit it has no output for gets 0."""
    P = np.asarray(P)
    return P if P.shape[1] == 10 else ten_class_probabilities(P, model_digits(model))


def unit_images(images) -> np.ndarray:
    """Images as the models read them: (n, 28, 28) floats in [0, 1] (uint8 pixels / 255).

    Like :func:`digitlab.models.as_unit_images` (same shapes, same checks), but float64
    input stays float64, so a finite-difference check can perturb it finely."""
    x = np.asarray(images)
    unit = as_unit_images(x)
    if x.dtype == np.float64:
        return x.reshape(unit.shape)
    return unit


def _one_hot_index(model, digits, n: int) -> np.ndarray:
    """(n,) position of each wanted digit among the model's outputs, -1 where it has none."""
    where = {int(d): i for i, d in enumerate(model_digits(model))}
    return np.array([where.get(int(d), -1) for d in np.broadcast_to(digits, (n,))])


# ------------------------------------------------------------------ what is differentiated


def probability_gradient(model, images, digit=None) -> tuple[np.ndarray, np.ndarray]:
    """(P, G): the 10-class probabilities (n, 10) and ∂p_digit/∂x (n, 28, 28), x in [0, 1].

    ``digit`` is one digit, one per image, or None: each image's answer (taken from the same
    forward pass). A digit the model has no output for (a 0-vs-1 net's 7) has probability 0
    whatever the pixels: its gradient is 0."""
    x = unit_images(images)
    j = None if digit is None else _one_hot_index(model, digit, len(x))

    def dlogits(P):  # P (n, k) -> dZ (n, k) = p_c (e_c - P), zero where there is no class c
        nonlocal j
        if j is None:
            j = np.argmax(P, axis=1)  # the answer
        E = _one_hot(P, j)  # (n, k): e_c
        pc = (E * P).sum(axis=1, keepdims=True)  # (n, 1): p_c
        return pc * (E - P)

    return backprop(model, x, dlogits)


def loss_gradient(model, images, digit) -> tuple[np.ndarray, np.ndarray]:
    """(P, G): the 10-class probabilities (n, 10) and the gradient of the cross-entropy
    -log p_digit with respect to x (n, 28, 28): the direction that makes ``digit`` less likely.
    ``digit`` must be one of the model's outputs (:func:`model_digits`)."""
    x = unit_images(images)
    j = _one_hot_index(model, digit, len(x))
    if (j < 0).any():
        raise ExplainError("explain.bad_target", target=int(np.broadcast_to(digit, (len(x),))[np.argmin(j)]),
                           digits=", ".join(str(int(d)) for d in model_digits(model)))

    def dlogits(P):  # dZ = P - e_c: softmax and cross-entropy fused, as in training
        D = P.copy()
        D[np.arange(len(P)), j] -= 1
        return D

    return backprop(model, x, dlogits)


def logit_gradient(model, images, digit) -> tuple[np.ndarray, np.ndarray]:
    """(P, G) with G = ∂z_digit/∂x (n, 28, 28), the gradient of the class's logit (its score
    before the softmax)."""
    x = unit_images(images)
    j = _one_hot_index(model, digit, len(x))

    return backprop(model, x, lambda P: _one_hot(P, j))  # dz_c/dZ = e_c


def _one_hot(P, j) -> np.ndarray:
    """(n, k) like P: 1 at (i, j_i), a row of zeros where j_i is -1 (no such class)."""
    E = np.zeros_like(P)
    rows = np.flatnonzero(j >= 0)
    E[rows, j[rows]] = 1
    return E


# ------------------------------------------------------------------ backpropagation to the pixels


def backprop(model, images, dlogits) -> tuple[np.ndarray, np.ndarray]:
    """Forward, then back to the input: ``(P, dL/dx)``.

    P (n, 10) are the 10-class probabilities (a 0-vs-1 net's two in slots 0 and 1);
    ``dlogits(P_k) -> dL/dZ`` (n, k) is called with the model's own k probabilities;
    dL/dx is (n, 28, 28), with respect to the [0, 1] pixels the model reads."""
    pred = predictor_of(model)
    x = unit_images(images)
    if isinstance(pred, BinaryPredictor):
        Pk, dx = _binary_backprop(pred, x, dlogits)
    else:
        Pk, dx = _net_backprop(pred.net, x, dlogits)
    return ten_class(pred, Pk), dx


def _binary_backprop(pred, x, dlogits):
    """The 0-vs-1 net: its logits are [0, z2] (the first is a constant), so dL/dz2 = dZ[:, 1]."""
    n = len(x)
    pixels = x.reshape(n, 784) * 255.0  # the 0-255 pixels the tutorial's net reads (BinaryPredictor)
    A2, dpixel = tutorial_binary.pixel_gradient_binary(
        pred.params, pixels, lambda a2: dlogits(np.column_stack([1 - a2, a2]))[:, 1])
    # one step of a [0, 1] pixel is 255 steps of a 0-255 pixel
    return np.column_stack([1 - A2, A2]), (dpixel * 255.0).reshape(n, 28, 28)


_locks: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_locks_lock = threading.Lock()


def net_lock(net) -> threading.Lock:
    """One lock per net: a backward pass keeps its inputs in the layers (``_X``, ``_A``...), so two
    sessions of the server explaining with the same cached model take turns."""
    with _locks_lock:
        lock = _locks.get(net)
        if lock is None:
            lock = _locks[net] = threading.Lock()
        return lock


def forward_keeping(net, X) -> tuple[np.ndarray, list[np.ndarray]]:
    """The forward pass of ``net`` on X (n, 28, 28, 1) with each layer keeping what its backward
    needs (``training=True``), except Dropout, which stays the identity of inference.
    Returns (P, every layer's output). Call it holding :func:`net_lock`."""
    outs = []
    for layer in net.layers:
        X = layer.forward(X, training=not isinstance(layer, Dropout))
        outs.append(X)
    return X, outs


def _net_input(net, x) -> np.ndarray:
    """(n, 28, 28) in [0, 1] -> the net's input, (n, 28, 28, 1) in its dtype."""
    return np.asarray(x, net.dtype).reshape((len(x),) + tuple(net.input_shape))


def _net_backprop(net, x, dlogits):
    """A :mod:`digitlab.nn` Sequential: forward keeping the caches, then ``net.backward`` from
    dL/dZ of the output layer (as ``fit`` does), which returns dL/dX."""
    if not next(l for l in net.layers if l.PARAMS).need_dx:  # only a net in the middle of fit has it off
        raise RuntimeError("the net is training (its first layer sends no gradient to the input)")
    X = _net_input(net, x)
    with net_lock(net), threadpool_limits(1, user_api="blas"):
        P, _ = forward_keeping(net, X)
        dX = net.backward(np.asarray(dlogits(P), net.dtype))  # (n, 28, 28, 1)
    return P, dX.reshape(x.shape)


def last_conv_gradient(model, image, digit: int):
    """For Grad-CAM: ``(layer, A, dA)`` with A (Ho, Wo, F) the output of the net's last Conv2D for
    one image and dA = ∂z_digit/∂A its gradient (z: the class's logit); None for a net without
    Conv2D (or a model without a net)."""
    pred = predictor_of(model)
    net = None if isinstance(pred, BinaryPredictor) else pred.net
    convs = [i for i, l in enumerate(getattr(net, "layers", [])) if isinstance(l, Conv2D)]
    if not convs:
        return None
    last, (j,) = convs[-1], _one_hot_index(pred, digit, 1)
    X = _net_input(net, unit_images(image)[:1])
    with net_lock(net), threadpool_limits(1, user_api="blas"):
        P, outs = forward_keeping(net, X)
        d = net.layers[-1].backward_z(_one_hot(P, np.array([j])))  # dz_c/dZ = e_c
        for layer in reversed(net.layers[last + 1 : -1]):  # down to the last conv's output
            d = layer.backward(d)
    return net.layers[last], outs[last][0], d[0]
