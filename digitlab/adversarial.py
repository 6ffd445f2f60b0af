"""The adversarial nudge: the smallest-looking change of a drawing that changes the answer.

Iterated signed-gradient steps (FGSM, Goodfellow et al. 2015, repeated: "basic iterative
method", Kurakin et al. 2016) on the cross-entropy of the current answer (untargeted: uphill,
away from it) or of a target digit k (targeted: downhill, towards it):

    x_{t+1} = clip( x_t ± step · sign(∇_x L(x_t)),  [x_0 - eps, x_0 + eps] ∩ [0, 1] )

each pixel moves by ``step`` per step, never more than ``eps`` from the drawing (the L∞ ball)
and never out of [0, 1], the scale the models read. It stops when the answer has changed (or
reached the target), at ``max_steps``, or when the gradient is exactly zero (a saturated model
gives no direction). The result's ``success`` is decided by predicting the returned image again
from scratch with the model's own ``predict_proba``, not by the search's own forward pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gradients import ExplainError, loss_gradient, model_digits, predictor_of, ten_class, unit_images


@dataclass
class Nudge:
    """The result of :func:`nudge`.

    image    : (28, 28) float32 in [0, 1], the nudged drawing
    start    : (28, 28) float32, the drawing it started from
    digit    : the model's answer for ``image`` (predicted from scratch)
    original : its answer for ``start``
    target   : the digit aimed at, or None (any other digit)
    proba    : (10,) the probabilities for ``image``
    linf     : max |image - start|, in the [0, 1] scale
    steps    : signed-gradient steps taken
    success  : the answer for ``image`` differs from ``original`` (targeted: is ``target``)
    step, eps: the step size and the L∞ bound used
    """

    image: np.ndarray
    start: np.ndarray
    digit: int
    original: int
    target: int | None
    proba: np.ndarray
    linf: float
    steps: int
    success: bool
    step: float
    eps: float

    @property
    def difference(self) -> np.ndarray:
        """(28, 28) image - start, in [-eps, eps] (amplify it to show it)."""
        return self.image - self.start

    def reading(self) -> dict:
        """What happened, as a code and params (:func:`digitlab.saliency.reading_text` words it)."""
        if not self.success:
            return {"code": "explain.nudge.unchanged", "eps": self.eps, "steps": self.steps, "original": self.original}
        code = "explain.nudge.changed" if self.target is None else "explain.nudge.reached"
        return {"code": code, "steps": self.steps, "linf": round(self.linf, 4), "original": self.original,
                "digit": self.digit}


def check_settings(model, *, step: float, eps: float, max_steps: int, target: int | None) -> None:
    """:class:`ExplainError` unless 0 < eps ≤ 1, 0 < step ≤ eps, max_steps ≥ 1 and the target (if
    any) is one of the model's digits."""
    if not (_is_number(eps) and 0 < eps <= 1):
        raise ExplainError("explain.bad_eps", eps=eps)
    if not (_is_number(step) and 0 < step <= eps):
        raise ExplainError("explain.bad_step", step=step, eps=eps)
    if not (isinstance(max_steps, (int, np.integer)) and not isinstance(max_steps, bool) and max_steps >= 1):
        raise ExplainError("explain.bad_max_steps", max_steps=max_steps)
    digits = [int(d) for d in model_digits(model)]
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, np.integer))
                               or int(target) not in digits):
        raise ExplainError("explain.bad_target", target=target, digits=", ".join(map(str, digits)))


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and bool(np.isfinite(v))


def nudge(model, image, *, step: float = 0.01, eps: float = 0.3, max_steps: int = 100,
          target: int | None = None) -> Nudge:
    """Nudge one 28×28 image (uint8 or [0, 1]) until ``model``'s answer changes (``target`` None)
    or becomes ``target``, in steps of ``step`` within ``eps`` of it per pixel (see the module)."""
    check_settings(model, step=step, eps=eps, max_steps=max_steps, target=target)
    pred = predictor_of(model)
    x0 = unit_images(image)[0].astype(np.float32)  # (28, 28)
    lo, hi = np.clip(x0 - np.float32(eps), 0, 1), np.clip(x0 + np.float32(eps), 0, 1)  # the allowed box
    original = int(np.argmax(_fresh(pred, x0)))
    aim = original if target is None else int(target)
    downhill = target is not None  # towards the target: lower its loss; else raise the answer's

    def reached(p) -> bool:
        top = int(np.argmax(p))
        return top != original if target is None else top == target

    x, steps = x0.copy(), 0
    while True:
        P, G = loss_gradient(pred, x[None], aim)  # (1, 10), (1, 28, 28)
        if reached(P[0]) and reached(_fresh(pred, x)):  # the search's pass agrees with a fresh one
            break
        direction = np.sign(G[0]).astype(np.float32)
        if steps == max_steps or not direction.any():
            break
        x = np.clip(x + np.float32(-step if downhill else step) * direction, lo, hi)
        steps += 1
    p = _fresh(pred, x)
    return Nudge(image=x, start=x0, digit=int(np.argmax(p)), original=original,
                 target=None if target is None else int(target), proba=p, linf=float(np.max(np.abs(x - x0))),
                 steps=steps, success=reached(p), step=float(step), eps=float(eps))


def _fresh(pred, x) -> np.ndarray:
    """(10,) the predictor's own probabilities for one image x (28, 28), from scratch."""
    return ten_class(pred, pred.predict_proba(x[None]))[0]
