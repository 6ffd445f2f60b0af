"""The default models: the two the trainer queues when the model store is empty, and their state.

At the server's first start with an empty store, :meth:`digitlab.training.Worker.ensure_defaults`
queues :data:`DEFAULT_MODELS` (the fast MLP first), so the Draw page works without training by
hand. The Home page shows each one's state (:func:`default_model_states`), worked out from what
the caller passes in (the worker's jobs and the stored models), so this module imports neither
the trainer nor the store.
"""
from __future__ import annotations

from .states import ACTIVE, RUNNING

# (name, kind, preset, overrides): trained in this order, the fast MLP first
DEFAULT_MODELS = [
    ("default-mlp", "numpy-mlp", "wide", {"val_fraction": 0.05}),  # ~7 s; 96.9% on the official test set
    ("default-cnn", "keras-cnn", "augmented", {}),  # ~2-3.5 min; ~99.0% on the official test set
]
DEFAULT_NAMES = tuple(name for name, *_ in DEFAULT_MODELS)

# a default model's state, as the Home page names them (texts ``home.state.<state>``)
READY, TRAINING, QUEUED, MISSING = "ready", "training", "queued", "missing"


def default_model_states(jobs: list[dict], metas: list[dict]) -> list[dict]:
    """Each default model, in :data:`DEFAULT_MODELS`' order: ``name``, ``kind``, ``state`` and
    ``meta`` (its stored metadata, or None).

    ``state`` is ``"ready"`` (stored), else ``"training"`` (a job saving under its name is
    running), ``"queued"`` (one is queued) or ``"missing"``. ``jobs``: the worker's job
    statuses (``name``, ``state``; finished jobs are ignored); ``metas``: the stored models'
    metadata (``name``)."""
    stored = {m["name"]: m for m in metas}
    active = {j["name"]: j for j in jobs if j.get("state") in ACTIVE}
    out = []
    for name, kind, _preset, _overrides in DEFAULT_MODELS:
        meta, job = stored.get(name), active.get(name)
        if meta is not None:
            state = READY
        elif job is not None:
            state = TRAINING if job["state"] == RUNNING else QUEUED
        else:
            state = MISSING
        out.append({"name": name, "kind": kind, "state": state, "meta": meta})
    return out


def other_models(metas: list[dict]) -> list[str]:
    """The names of the stored models that are not default models, in the order given."""
    return [m["name"] for m in metas if m["name"] not in DEFAULT_NAMES]
