"""The trainer of scikit-learn's ``MLPClassifier`` (the tutorial's section 3), epoch by epoch.

scikit-learn has no per-epoch callback, so the trainer drives the epochs itself: adam and sgd
run ``partial_fit`` on chunks of about eight batches (Stop is checked and batch events flow
between chunks); lbfgs runs ``fit`` with ``warm_start`` for ``lbfgs_iters`` iterations a round.
The model is kept as its coefficient arrays (:class:`~digitlab.models.predictors.SklearnPredictor`
runs them in NumPy), never pickled.
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings

import numpy as np

from .. import data
from .config import SklearnMLPConfig
from .predictors import ten_class_probabilities
from .trained import Base, Trained, cross_entropy, emit, new_history, record_epoch

TRAIN_ACCURACY_SAMPLE = 2000  # training accuracy is measured on a fixed random subset this big


def pixels(images: np.ndarray, scale: bool) -> np.ndarray:
    """(n, 784) float32 rows; divided by 255 when ``scale`` (the tutorial did not)."""
    x = data.flatten(images).astype(np.float32)
    return x / np.float32(255) if scale else x


def shifted_copies(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images plus copies shifted by one pixel up, down, left and right (zeros enter): 5x the data."""
    out = [images]
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        s = np.roll(images, step, axis=axis)
        edge = 0 if step == 1 else -1
        if axis == 1:
            s[:, edge, :] = 0
        else:
            s[:, :, edge] = 0
        out.append(s)
    return np.concatenate(out), np.tile(labels, 5)


def _classifier(cfg: SklearnMLPConfig, n: int, seed: int):
    from sklearn.neural_network import MLPClassifier

    lbfgs = cfg.solver == "lbfgs"
    return MLPClassifier(hidden_layer_sizes=tuple(cfg.hidden), activation=cfg.activation, solver=cfg.solver,
                         alpha=cfg.alpha, learning_rate_init=cfg.lr, batch_size=min(cfg.batch_size, n),
                         random_state=seed, max_iter=cfg.lbfgs_iters if lbfgs else 1, warm_start=lbfgs, shuffle=True)


def _probabilities(clf, X) -> np.ndarray:
    p = clf.predict_proba(X)
    if p.shape[1] != 10:  # a tiny subset may miss a class: spread to the 10 digits
        p = ten_class_probabilities(p, clf.classes_)
    return p


def _minibatch_epoch(clf, X, y, order, chunk, epoch, callback, should_stop) -> bool:
    """One adam/sgd epoch as ``partial_fit`` on chunks of ``X[order]``, a batch event after each;
    True when Stop ended it early (a partial first epoch still gives a usable, if weak, model)."""
    n_chunks = math.ceil(len(X) / chunk)
    t0 = time.perf_counter()
    for b in range(n_chunks):
        idx = order[b * chunk:(b + 1) * chunk]
        clf.partial_fit(X[idx], y[idx], classes=np.arange(10))
        el = time.perf_counter() - t0
        emit(callback, {"type": "batch", "epoch": epoch + 1, "batch": b + 1, "n_batches": n_chunks,
                        "loss": float(clf.loss_), "accuracy": None,
                        "samples_per_s": min(len(X), (b + 1) * chunk) / max(el, 1e-9)})
        if should_stop():
            return True
    return False


def _epoch_event(clf, cfg, epoch, X, y, sub, val, secs) -> dict:
    p_tr = _probabilities(clf, X[sub])
    ev = {"type": "epoch", "epoch": epoch + 1, "epochs": cfg.epochs, "loss": float(clf.loss_),
          "accuracy": float(np.mean(p_tr.argmax(1) == y[sub])), "val_loss": None, "val_accuracy": None,
          "samples_per_s": len(X) / max(secs, 1e-9), "seconds": secs}
    if val is not None:
        xv, yv = val
        pv = _probabilities(clf, xv)
        ev["val_loss"], ev["val_accuracy"] = cross_entropy(pv, yv), float(np.mean(pv.argmax(1) == yv))
    return ev


def train_sklearn_mlp(cfg: SklearnMLPConfig, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None) -> Trained:
    return _train(cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def finetune_sklearn_mlp(cfg: SklearnMLPConfig, train_ds, val_ds=None, *, base: Base, seed=0, callback=None,
                         should_stop=None) -> Trained:
    """Fine-tuning: an ``MLPClassifier`` set to the stored coefficients, trained on with
    ``partial_fit``. scikit-learn cannot be handed weights, so one ``partial_fit`` on a few images
    builds its arrays, the stored ones are copied into them, and the optimiser built by that call
    is dropped (the next ``partial_fit`` makes a fresh one over the copied weights). lbfgs has no
    ``partial_fit``: a base trained with it is fine-tuned with adam (the registry's overrides)."""
    n = int(base.spec["n_layers"])  # the network's shape and inputs are the base's, whatever its meta's settings say
    cfg = dataclasses.replace(cfg, hidden=tuple(int(base.arrays[f"coef{i}"].shape[1]) for i in range(n - 1)),
                              activation=base.spec["activation"], scale_pixels=bool(base.spec["scale_pixels"]))
    return _train(cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop, start=base.arrays)


def _set_coefficients(clf, arrays: dict, X, y) -> None:
    n = clf.batch_size  # one batch: builds coefs_ / intercepts_ of the right shapes
    clf.partial_fit(X[:n], y[:n], classes=np.arange(10))
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        W[...], b[...] = arrays[f"coef{i}"], arrays[f"intercept{i}"]  # in place: shapes checked by NumPy
    del clf._optimizer  # its moments came from the throw-away step


def _train(cfg: SklearnMLPConfig, train_ds, val_ds, *, seed, callback, should_stop, start=None) -> Trained:
    """The epochs of a new classifier, or of one set to the ``start`` coefficients (fine-tuning)."""
    from sklearn.exceptions import ConvergenceWarning

    should_stop = should_stop or (lambda: False)
    images, y = train_ds.images, train_ds.labels
    if cfg.shift_copies:
        images, y = shifted_copies(images, y)
    X = pixels(images, cfg.scale_pixels)
    val = (pixels(val_ds.images, cfg.scale_pixels), val_ds.labels) if val_ds is not None and len(val_ds) > 0 else None
    clf = _classifier(cfg, len(X), seed)
    rng = np.random.default_rng(seed)
    chunk = max(cfg.batch_size * 8, 1024)
    sub = rng.choice(len(X), min(len(X), TRAIN_ACCURACY_SAMPLE), replace=False)
    hist, stopped = new_history(), False
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*batch_size.*clipped")  # an epoch's last, shorter chunk
        if start is not None:
            _set_coefficients(clf, start, X, y)
        for ep in range(cfg.epochs):
            te = time.perf_counter()
            if cfg.solver == "lbfgs":
                clf.fit(X, y)
            else:
                stopped = _minibatch_epoch(clf, X, y, rng.permutation(len(X)), chunk, ep, callback, should_stop)
            ev = _epoch_event(clf, cfg, ep, X, y, sub, val, time.perf_counter() - te)
            record_epoch(hist, ev)
            emit(callback, ev)
            if stopped or should_stop():
                stopped = True
                break
    hist["train_seconds"] = time.perf_counter() - t0
    return Trained(_coefficients(clf), _spec(cfg, clf), hist, stopped)


def _coefficients(clf) -> dict[str, np.ndarray]:
    arrays = {}
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        arrays[f"coef{i}"], arrays[f"intercept{i}"] = W.astype(np.float32), b.astype(np.float32)
    return arrays


def _spec(cfg: SklearnMLPConfig, clf) -> dict:
    return {"activation": cfg.activation, "scale_pixels": bool(cfg.scale_pixels), "n_layers": len(clf.coefs_),
            "classes": [int(c) for c in clf.classes_]}
