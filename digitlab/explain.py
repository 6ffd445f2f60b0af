"""Explaining a prediction (issue 17): one import for the pages and the CLI.

* :mod:`digitlab.gradients` - every kind's input gradient (its own backward pass), in the [0, 1]
  scale the models read
* :mod:`digitlab.saliency` - saliency maps (gradient, gradient × input), Grad-CAM, the reading
* :mod:`digitlab.adversarial` - the nudge: iterated signed-gradient steps in an L∞ ball
* :mod:`digitlab.embedding` - the last hidden layer of a few thousand digits in 2-D, cached

:func:`explain` does the CLI's ``explain`` command: the answer, the saliency map and a nudge,
as one JSON-ready dict. See docs/architecture.md, "Explaining a prediction".
"""
from __future__ import annotations

import numpy as np

from .adversarial import Nudge, check_settings, nudge
from .embedding import Embedding, embedding, embedding_figure, hidden_activations, map_digits, project
from .gradients import ExplainError, logit_gradient, loss_gradient, model_digits, probability_gradient
from .saliency import Saliency, grad_cam, reading, reading_text, saliency, saliency_all


def explain(model, image, *, target: int | None = None, eps: float = 0.3, step: float = 0.01,
            max_steps: int = 100) -> dict:
    """One model on one 28×28 image, JSON-ready::

        {"digit", "proba" (10), "image" (28×28 in [0, 1]), "saliency" (28×28, ∂p_digit/∂x),
         "reading" ({"code", ...}), "adversarial": {"digit", "original", "target", "success",
         "linf", "steps", "step", "eps", "image" (28×28 in [0, 1]), "reading"}}

    Images are lists of lists of floats in the [0, 1] scale the models read; ``linf`` is in
    that scale. The settings are checked before any work (:class:`ExplainError`)."""
    check_settings(model, step=step, eps=eps, max_steps=max_steps, target=target)
    s = saliency(model, image)
    n = nudge(model, s.image, step=step, eps=eps, max_steps=max_steps, target=target)
    return {"digit": s.answer, "proba": [float(p) for p in s.proba], "image": _grid(s.image),
            "saliency": _grid(s.gradient), "reading": reading(s),
            "adversarial": {"digit": n.digit, "original": n.original, "target": n.target, "success": n.success,
                            "linf": n.linf, "steps": n.steps, "step": n.step, "eps": n.eps, "image": _grid(n.image),
                            "reading": n.reading()}}


def _grid(a) -> list[list[float]]:
    """(28, 28) -> nested lists of floats (float32 values kept exactly)."""
    return np.asarray(a, np.float64).tolist()


__all__ = ["explain", "ExplainError", "Saliency", "saliency", "saliency_all", "grad_cam", "reading", "reading_text",
           "Nudge", "nudge", "check_settings", "Embedding", "embedding", "embedding_figure", "hidden_activations",
           "project", "map_digits", "probability_gradient", "loss_gradient", "logit_gradient", "model_digits"]
