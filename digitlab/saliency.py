"""Which pixels made the answer: saliency maps, Grad-CAM and a one-line reading of them.

* :func:`saliency` - the gradient of the chosen class's probability with respect to the 28×28
  input, ∂p_c/∂x (where a little more ink would raise p_c: positive; lower it: negative), and
  gradient × input, each ink pixel's first-order share of the push (zero where there is no ink).
* :func:`saliency_all` - the same for several models, side by side.
* :func:`grad_cam` - for nets with a Conv2D: a class-activation map at the last convolution.
* :func:`reading` - where the push came from, as a code and params (``reading_text`` words it).

The gradients come from :mod:`digitlab.gradients` (every kind's own backward pass); all maps are
in the [0, 1] input scale the models read. NumPy only; a page renders what these return.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gradients import last_conv_gradient, predictor_of, probability_gradient, unit_images
from .nn import Conv2D, MaxPool2D

INK = 0.2  # a pixel in [0, 1] above this is ink (for the reading's box)
FLAT = 1e-7  # a total push below this (probability per unit of ink) is "the output does not move"
REGIONS = ("top", "centre", "bottom", "left", "centre", "right")  # the six thirds: 3 across, 3 down


@dataclass
class Saliency:
    """One model's saliency for one image.

    digit    : the class explained (the answer unless another was asked for)
    answer   : the model's answer (its most probable digit)
    proba    : (10,) the model's probabilities
    image    : (28, 28) the input in [0, 1]
    gradient : (28, 28) ∂p_digit/∂x
    """

    digit: int
    answer: int
    proba: np.ndarray
    image: np.ndarray
    gradient: np.ndarray

    @property
    def times_input(self) -> np.ndarray:
        """(28, 28) gradient × input: how much each pixel's ink pushed p_digit (first order)."""
        return self.gradient * self.image


def saliency(model, image, digit: int | None = None) -> Saliency:
    """The saliency of one 28×28 image (uint8 0-255 or float [0, 1]) for ``digit`` (default: the
    model's answer). ``model``: a stored model or a predictor, of any kind."""
    x = unit_images(image)[:1]  # (1, 28, 28)
    P, G = probability_gradient(model, x, digit)  # (1, 10), (1, 28, 28); digit None: the answer
    answer = int(np.argmax(P[0]))
    return Saliency(answer if digit is None else int(digit), answer, P[0], x[0], G[0])


def saliency_all(models: dict, image, digit: int | None = None) -> dict[str, Saliency]:
    """{name: :class:`Saliency`} for every model of ``models`` ({name: stored model or predictor})."""
    return {name: saliency(m, image, digit) for name, m in models.items()}


# ------------------------------------------------------------------ Grad-CAM


def grad_cam(model, image, digit: int | None = None) -> np.ndarray | None:
    """Grad-CAM (Selvaraju et al. 2017) at the net's last Conv2D, (28, 28), ≥ 0; None for a
    model without a convolution.

    A_k (Ho, Wo) is feature map k of the last conv layer and z_c the class's logit:
        w_k = mean over (i, j) of ∂z_c/∂A_k[i, j]      (how much map k matters for c)
        map = ReLU(Σ_k w_k A_k)                        (Ho, Wo): where the maps that matter fire
    upsampled bilinearly to 28×28, each map pixel placed at the centre of its receptive field."""
    if digit is None:
        digit = int(np.argmax(predictor_of(model).predict_proba(unit_images(image)[:1])[0]))
    found = last_conv_gradient(model, image, digit)
    if found is None:
        return None
    layer, A, dA = found  # A, dA: (Ho, Wo, F)
    w = dA.mean(axis=(0, 1))  # (F,)
    cam = np.maximum(A @ w, 0)  # (Ho, Wo, F) @ (F,) -> (Ho, Wo)
    net = predictor_of(model).net
    offset, stride = _receptive_centres(net.layers[: net.layers.index(layer) + 1])
    rows = _interp_matrix(28, cam.shape[0], offset[0], stride[0])  # (28, Ho)
    cols = _interp_matrix(28, cam.shape[1], offset[1], stride[1])  # (28, Wo)
    return (rows @ cam @ cols.T).astype(np.float32)  # (28, Ho) @ (Ho, Wo) @ (Wo, 28)


def _receptive_centres(layers) -> tuple[np.ndarray, np.ndarray]:
    """Where output pixel i of the last of ``layers`` sits in the input: at offset + i × stride
    (per axis). A window of size k, stride s, padding p maps its output i to the input
    i × s - p + (k - 1) / 2; composed layer by layer."""
    offset, stride = np.zeros(2), np.ones(2)
    for layer in layers:
        if isinstance(layer, (Conv2D, MaxPool2D)):
            k = np.array(layer.kernel_size if isinstance(layer, Conv2D) else layer.pool_size, float)
            s = np.array(layer.strides, float)
            pad = np.array([layer._ph[0], layer._pw[0]], float)  # padding before (0 for 'valid')
            offset = offset + stride * ((k - 1) / 2 - pad)
            stride = stride * s
    return offset, stride


def _interp_matrix(n_out: int, n_in: int, offset: float, stride: float) -> np.ndarray:
    """(n_out, n_in) weights of linear interpolation: input pixel t reads the map at
    u = (t - offset) / stride, between map pixels floor(u) and floor(u) + 1 (clamped at the edges)."""
    u = np.clip((np.arange(n_out) - offset) / stride, 0, n_in - 1)
    lo = np.minimum(np.floor(u).astype(int), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    M = np.zeros((n_out, n_in))
    M[np.arange(n_out), lo] += 1 - (u - lo)
    M[np.arange(n_out), hi] += u - lo
    return M


# ------------------------------------------------------------------ the one-line reading


def reading(s: Saliency) -> dict:
    """Where the push towards ``s.digit`` came from, as a code and params (words:
    :func:`reading_text`):

    * ``{"code": "explain.reading.towards", "region": "top", "digit": 7, "share": 0.46}``: the
      ink's box is cut in thirds across (top, centre, bottom) and down (left, centre, right);
      the third holding the largest part of the positive gradient × input is the region,
      ``share`` that part;
    * ``{"code": "explain.reading.flat", "digit": 7}``: the ink's total push is below
      :data:`FLAT` (a saturated model: its output does not move with the pixels);
    * ``{"code": "explain.reading.no_ink"}``: nothing is drawn."""
    ink = np.argwhere(s.image > INK)  # (m, 2) rows and columns of the ink
    if not len(ink):
        return {"code": "explain.reading.no_ink"}
    push = np.maximum(s.times_input, 0)  # (28, 28): only what pushed towards the digit
    total = float(push.sum())
    if total < FLAT:
        return {"code": "explain.reading.flat", "digit": s.digit}
    (r0, c0), (r1, c1) = ink.min(0), ink.max(0) + 1
    shares = np.concatenate([_thirds(push.sum(1), r0, r1), _thirds(push.sum(0), c0, c1)]) / total  # (6,)
    best = int(np.argmax(shares))
    return {"code": "explain.reading.towards", "region": REGIONS[best], "digit": s.digit,
            "share": round(float(shares[best]), 3)}


def _thirds(profile: np.ndarray, start: int, stop: int) -> np.ndarray:
    """(3,) sums of ``profile`` (28,) over the three thirds of [start, stop); what lies
    before or after counts in the first or last third."""
    third = np.clip((np.arange(len(profile)) - start) * 3 // max(stop - start, 1), 0, 2)
    return np.bincount(third, weights=profile, minlength=3)


def reading_text(lang: str, r: dict) -> str:
    """A :func:`reading` (or :meth:`digitlab.adversarial.Nudge.reading`) as a sentence in ``lang``."""
    from . import texts

    params = {k: v for k, v in r.items() if k != "code"}
    if "region" in params:
        params["region"] = texts.text(lang, f"explain.region.{params['region']}")
    if "share" in params:
        params["share"] = texts.percent(lang, params["share"], 0)
    for k in ("linf", "eps"):
        if k in params:
            params[k] = texts.number(lang, params[k], 2)
    return texts.text(lang, r["code"], **params)
