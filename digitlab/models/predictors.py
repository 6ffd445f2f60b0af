"""Inference of stored models, in NumPy only: no TensorFlow is imported and nothing is unpickled.

A predictor is rebuilt from what the store keeps of a model, its ``spec`` (JSON) and its
named weight ``arrays``, by the factory its registry entry names (``predictor=``):

* :class:`NetPredictor` - a :mod:`digitlab.nn` Sequential: the NumPy nets, and a Keras CNN
  through its same-shaped NumPy twin
* :class:`SklearnPredictor` - scikit-learn's ``MLPClassifier`` forward pass from its coefficients
* :class:`BinaryPredictor` - the tutorial's 0-vs-1 network (:mod:`digitlab.tutorial_binary`)

Every ``predict_proba`` takes uint8 (0-255) or float ([0, 1]) images, (n, 28, 28) or one (28, 28).
See docs/architecture.md, "Inference in the server".
"""
from __future__ import annotations

import numpy as np

from .. import tutorial_binary
from ..nn import Sequential, mlp
from ..nn.activations import softmax
from .config import OLD_CHOICES


def as_unit_images(images) -> np.ndarray:
    """uint8 0-255 or float [0, 1] images -> float32 (n, 28, 28) in [0, 1].

    Accepts (n, 28, 28), (n, 28, 28, 1), (n, 784) or one (28, 28) image."""
    x = np.asarray(images)
    if x.shape == (28, 28):
        x = x[None]
    elif x.ndim == 4 and x.shape[1:] == (28, 28, 1):
        x = x[..., 0]
    elif x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"images must be (n, 28, 28), got {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float32) * np.float32(1 / 255)
    x = x.astype(np.float32, copy=False)
    if x.size and float(x.max()) > 1.0 + 1e-6:
        raise ValueError("float images must be in [0, 1] (pass uint8 for 0-255 pixels)")
    return x


def ten_class_probabilities(p, classes=None) -> np.ndarray:
    """(n, k) probabilities of the digits ``classes`` -> (n, 10), zero for the other digits.

    ``classes`` defaults to the first k digits: a 0-vs-1 net's [P(0), P(1)] lands in slots 0
    and 1. A scikit-learn model trained on a subset that misses a digit names its ``classes_``."""
    p = np.asarray(p)
    classes = np.arange(p.shape[1]) if classes is None else np.asarray(classes)
    full = np.zeros((len(p), 10))
    full[:, classes] = p
    return full


def net_arrays(net) -> dict[str, np.ndarray]:
    """A :mod:`digitlab.nn` net's weights as the store's named arrays (``w000``, ``w001``...)."""
    return {f"w{i:03d}": np.asarray(w) for i, w in enumerate(net.get_weights())}


def net_from(spec: dict, arrays: dict[str, np.ndarray]) -> Sequential:
    """The net that :func:`net_arrays` and ``{"architecture": net.to_config()}`` describe."""
    net = Sequential.from_config(spec["architecture"])
    net.set_weights([arrays[k] for k in sorted(k for k in arrays if k.startswith("w"))])
    return net


class Predictor:
    """``predict_proba(images)``: (n, classes) probabilities. ``net`` is the model as a
    :mod:`digitlab.nn` Sequential when it has one (the Inspect page reads its layers)."""

    net = None
    classes = 10

    def predict_proba(self, images) -> np.ndarray:
        raise NotImplementedError


class NetPredictor(Predictor):
    """A :mod:`digitlab.nn` Sequential taking (n, 28, 28, 1) in [0, 1]."""

    def __init__(self, net):
        self.net = net

    @classmethod
    def from_stored(cls, spec: dict, arrays: dict[str, np.ndarray]) -> "NetPredictor":
        return cls(net_from(spec, arrays))

    def predict_proba(self, images):
        return self.net.predict_proba(as_unit_images(images)[..., None])


# scikit-learn's hidden activations, as its MLPClassifier computes them
_SKLEARN_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0, out=z),
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "identity": lambda z: z,
}
# scikit-learn's activation names -> digitlab.nn's
_NN_ACTIVATION = {"logistic": "sigmoid", "identity": "linear"}


class SklearnPredictor(Predictor):
    """scikit-learn's ``MLPClassifier`` forward pass from its coefficient arrays
    (``SklearnPredictor(spec, arrays)`` is its registry entry's factory)."""

    def __init__(self, spec, arrays):
        n = spec["n_layers"]
        self.W = [np.asarray(arrays[f"coef{i}"], np.float32) for i in range(n)]
        self.b = [np.asarray(arrays[f"intercept{i}"], np.float32) for i in range(n)]
        if spec["activation"] not in _SKLEARN_ACTIVATIONS:
            raise ValueError(f"unknown activation {spec['activation']!r}")
        self.act, self.act_name = _SKLEARN_ACTIVATIONS[spec["activation"]], spec["activation"]
        self.scale = bool(spec["scale_pixels"])
        self.classes_ = np.asarray(spec.get("classes", list(range(10))))

    @property
    def net(self):
        """The same network as a :mod:`digitlab.nn` Sequential (for activations), input in [0, 1]
        (a raw-pixel model gets the 255 folded into its first weights)."""
        if getattr(self, "_net", None) is None:
            net = mlp(hidden=tuple(W.shape[1] for W in self.W[:-1]), activation=_NN_ACTIVATION.get(self.act_name, self.act_name))
            ws = []
            for i, (W, b) in enumerate(zip(self.W, self.b)):
                ws += [W * np.float32(255) if (i == 0 and not self.scale) else W, b]
            net.set_weights(ws)
            self._net = net
        return self._net

    def predict_proba(self, images):
        a = as_unit_images(images).reshape(-1, 784)
        if not self.scale:
            a = a * np.float32(255)  # trained on raw 0-255 pixels
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            a = a @ W + b  # (n, d_in) @ (d_in, d_out) -> (n, d_out)
            if i < len(self.W) - 1:
                a = self.act(a)
        p = softmax(a.astype(np.float64))
        if len(self.classes_) != 10:
            p = ten_class_probabilities(p, self.classes_)
        return p


class BinaryPredictor(Predictor):
    """The tutorial's 0-vs-1 net: ``predict_proba`` gives (n, 2) = [P(0), P(1)]
    (``BinaryPredictor(spec, arrays)`` is its registry entry's factory)."""

    classes = 2

    def __init__(self, spec, arrays):
        self.params = dict(arrays)
        scale = self.params.get("input_scale")
        if scale is not None and np.shape(scale) == (1,):  # older stores saved the scalar as shape (1,)
            self.params["input_scale"] = np.asarray(scale).reshape(())
        variant = spec.get("variant", "fixed")
        self.variant = OLD_CHOICES.get(variant, variant)  # models stored before issue 14 say "seed"

    def predict_proba(self, images):
        x = as_unit_images(images) * np.float32(255)  # tutorial_binary applies its own input_scale to 0-255 pixels
        p1 = np.ravel(tutorial_binary.predict_proba_binary(self.params, x))
        return np.column_stack([1 - p1, p1])
