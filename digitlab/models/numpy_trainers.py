"""Trainers of the from-scratch NumPy networks: the MLP and the CNN (:mod:`digitlab.nn`) and
the tutorial's 0-vs-1 network (:mod:`digitlab.tutorial_binary`). NumPy only.

Each returns a :class:`~digitlab.models.trained.Trained`; the registry names them as
``"digitlab.models.numpy_trainers:train_numpy_mlp"`` and so on.
"""
from __future__ import annotations

import time

import numpy as np

from .. import data, nn, tutorial_binary
from .config import BinaryConfig, NumpyCNNConfig, NumpyMLPConfig
from .predictors import net_arrays, net_from
from .trained import Base, Trained, emit, nhwc, number_or_none

OPTIMIZERS = {"adam": nn.Adam, "momentum": nn.Momentum, "sgd": nn.SGD}


def _fit(net, cfg, train_ds, val_ds, *, seed, callback, should_stop) -> Trained:
    """``net.fit`` with the settings the MLP and the CNN share (:func:`config.numpy_fit_settings`)."""
    val = {}
    if val_ds is not None and len(val_ds):
        val = dict(X_val=nhwc(val_ds.images), y_val=val_ds.labels)
    hist = net.fit(nhwc(train_ds.images), train_ds.labels, epochs=cfg.epochs, batch_size=cfg.batch_size,
                   optimizer=OPTIMIZERS[cfg.optimizer](lr=cfg.lr), seed=seed, callback=callback,
                   should_stop=should_stop, augment=cfg.shift, lr_decay=cfg.lr_decay, **val)
    hist = dict(hist)
    stopped = bool(hist.pop("stopped", False))
    return Trained(net_arrays(net), {"architecture": net.to_config()}, hist, stopped)


def train_numpy_mlp(cfg: NumpyMLPConfig, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None) -> Trained:
    net = nn.mlp(hidden=tuple(cfg.hidden), activation=cfg.activation, seed=seed)
    return _fit(net, cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def train_numpy_cnn(cfg: NumpyCNNConfig, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None) -> Trained:
    net = nn.tutorial_cnn(dropout1=cfg.dropout1, dropout2=cfg.dropout2, seed=seed)
    return _fit(net, cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def finetune_numpy_net(cfg, train_ds, val_ds=None, *, base: Base, seed=0, callback=None, should_stop=None) -> Trained:
    """Fine-tuning an MLP or a CNN: the stored net, rebuilt from its spec and weights, trained on."""
    net = net_from(base.spec, base.arrays)  # a new net: the base's arrays are copied into it
    return _fit(net, cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def finetune_numpy_binary(cfg: BinaryConfig, train_ds, val_ds=None, *, base: Base, seed=0, callback=None,
                          should_stop=None) -> Trained:
    """Fine-tuning the 0-vs-1 net: gradient descent from the stored W1, b1, W2, b2."""
    return train_numpy_binary(cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop,
                              init=base.arrays)


def train_numpy_binary(cfg: BinaryConfig, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None,
                       init: dict | None = None) -> Trained:
    """Full-batch gradient descent on the 0s and 1s; each reported iteration is an "epoch" event.
    ``init``: the W1, b1, W2, b2 to start from (fine-tuning), else random ones."""
    tr = data.binary_subset(train_ds)
    va = data.binary_subset(val_ds) if val_ds is not None else None
    if not len(tr):
        raise data.DataError("data.no_binary_digits")
    every = max(1, cfg.iterations // 100)  # at most ~100 points on the curve
    last = [time.perf_counter()]

    def on_iteration(ev):
        it = int(ev["iteration"])
        if it % every and it != cfg.iterations:
            return
        now = time.perf_counter()
        emit(callback, {"type": "epoch", "epoch": it, "epochs": cfg.iterations, "loss": number_or_none(ev.get("cost")),
                        "accuracy": number_or_none(ev.get("accuracy")), "val_loss": None, "val_accuracy": None,
                        "samples_per_s": len(tr) * every / max(now - last[0], 1e-9), "seconds": now - last[0]})
        last[0] = now

    params, h = tutorial_binary.train_binary(tr.images, tr.labels, preset=cfg.variant, iterations=cfg.iterations,
                                             lr=cfg.lr, seed=seed, n_h=cfg.hidden, callback=on_iteration,
                                             should_stop=should_stop, init=init)
    arrays = {k: np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2", "input_scale")}
    hist = {"loss": [float(c) for c in h.get("cost", [])], "accuracy": [float(a) for a in h.get("accuracy", [])],
            "val_loss": [], "val_accuracy": [], "overflow": bool(h.get("overflow")), "warnings": h.get("warnings", [])}
    if va is not None and len(va):
        p = np.ravel(tutorial_binary.predict_proba_binary(params, va.images))
        hist["val_accuracy"] = [float(np.mean((p > 0.5) == va.labels))]
    return Trained(arrays, {"variant": cfg.variant, "n_h": int(arrays["W1"].shape[0])}, hist, bool(h.get("stopped", False)))
