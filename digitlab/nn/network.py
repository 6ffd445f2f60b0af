"""Sequential: a stack of layers with fit / predict_proba / save / load.

Inputs are float32 (n, 28, 28, 1) in [0, 1] (uint8 images are scaled by 1/255, and a
(n, 28, 28) or (n, 784) array is reshaped to the model's input shape). Labels are
ints (n,). The output layer is Dense(10, softmax) trained with cross-entropy (or
Dense(1, sigmoid) with binary cross-entropy), whose fused gradient is (P - Y)/n.

All parameters live in one flat float32 buffer (every kernel, then every bias) that the
layers see as views, so an optimiser step is a handful of vectorised operations, whatever
the depth. BLAS runs with one thread in predict (threadpoolctl) and in a conv net's fit; conv
nets use the second core through ``workers`` threads that pull im2col chunks (and pooling /
large dense GEMM slices, optimiser parts) from a shared queue, which degrades gracefully on
a busy box (``parallel.py``). A dense net's fit times 1 against 2 BLAS threads as it goes
(``blas.BlasTuner``). Why: docs/architecture.md, "Threads and BLAS".

Reproducibility (see ``blas.py``): with a fixed ``blas_threads`` a seeded fit gives the same
bits on one machine; a tuned fit (``blas_threads=None``, dense nets) may switch thread count
between batches, and then agrees with a fixed-count fit to float32 rounding, not bit for bit.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .blas import BlasTuner, threadpool_limits
from .conv import Conv2D, MaxPool2D
from .layers import Dense, Dropout, Flatten, Layer
from .losses import output_delta, sparse_cross_entropy
from .optimizers import Adam, Optimizer
from .parallel import cpus

FORMAT = "digitlab.nn.Sequential/1"
LAYERS = {c.__name__: c for c in (Dense, Conv2D, MaxPool2D, Flatten, Dropout)}


def layer_from_config(cfg: dict) -> Layer:
    cfg = dict(cfg)
    cls = LAYERS[cfg.pop("type")]
    return cls(**cfg)


def _auto_workers(layers) -> int:
    """2 worker threads for conv nets (their chunks are ms-long), 1 for dense nets: the
    MLP's sub-ms GEMMs lost to the thread hand-off (117k vs 149k samples/s, busy box)."""
    return min(2, os.cpu_count() or 1) if any(isinstance(l, Conv2D) for l in layers) else 1


class Sequential:
    """A linear stack of layers, built at construction for ``input_shape``.

    Parameters
    ----------
    layers : list of Layer
    input_shape : shape of one sample, default (28, 28, 1)
    seed : seeds the weight initialisation
    dtype : float32 (float64 for gradient checks)
    blas_threads : BLAS threads during fit/predict; None = 1, except that fit measures
                   1 against 2 for nets without Conv2D (``BlasTuner``)
    workers : threads sharing each Conv2D's chunks; None = 2 on a 2+ core machine
    """

    def __init__(self, layers: list[Layer], input_shape=(28, 28, 1), seed: int = 0, dtype=np.float32,
                 blas_threads: int | None = None, workers: int | None = None):
        self.layers = list(layers)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.dtype = np.dtype(dtype)
        self.blas_threads = blas_threads
        self.workers = workers
        self.last_fit_threads: dict[int, int] = {}  # BLAS threads -> batches, of the last fit
        self._tuner: BlasTuner | None = None  # kept across fits (one fit per epoch doesn't re-trial each time)
        rng = np.random.default_rng(seed)
        shape, counts = self.input_shape, {}
        for layer in self.layers:
            shape = layer.build(shape, rng, self.dtype)
            if layer.name is None:
                k = counts.get(layer.KERAS_NAME, 0)
                layer.name = layer.KERAS_NAME + (f"_{k}" if k else "")
            counts[layer.KERAS_NAME] = counts.get(layer.KERAS_NAME, 0) + 1
        self.output_shape = shape
        self._flatten_params()

    # ------------------------------------------------------------ parameters

    def _param_refs(self):
        return [(l, k) for l in self.layers for k in l.PARAMS]

    def _flatten_params(self):
        """Move every parameter (and gradient) into one flat buffer, weights first then biases:
        the optimiser updates it in one go (one set of NumPy calls per step, not one per
        array), and L2 applies to its weights' part (``_decay``)."""
        refs = self._param_refs()
        refs = [r for r in refs if r[1] != "b"] + [r for r in refs if r[1] == "b"]
        size = sum(l.params[k].size for l, k in refs)
        P, G = np.empty(size, self.dtype), np.zeros(size, self.dtype)
        o = n_w = 0
        for l, k in refs:
            a = l.params[k]
            P[o : o + a.size] = a.ravel()
            l.params[k] = P[o : o + a.size].reshape(a.shape)
            l.grads[k] = G[o : o + a.size].reshape(a.shape)
            o += a.size
            n_w += a.size if k != "b" else 0
        self._flat_p, self._flat_g, self._decay = [P], [G], [slice(0, n_w)]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters in Keras' order: per layer, kernel then bias."""
        return [l.params[k].copy() for l, k in self._param_refs()]

    def set_weights(self, weights) -> None:
        refs = self._param_refs()
        if len(weights) != len(refs):
            raise ValueError(f"expected {len(refs)} arrays, got {len(weights)}")
        for (l, k), w in zip(refs, weights):
            w = np.asarray(w)
            if w.shape != l.params[k].shape:
                raise ValueError(f"{l.name}.{k}: expected shape {l.params[k].shape}, got {w.shape}")
            l.params[k][...] = w

    def n_params(self) -> int:
        return sum(l.n_params() for l in self.layers)

    def flops_per_sample(self, training: bool = True) -> int:
        """GEMM FLOPs per sample: forward, or forward + backward (dW, and dX except for
        the first layer with parameters)."""
        fwd = [l.flops() for l in self.layers]
        if not training:
            return int(sum(fwd))
        first = next((i for i, l in enumerate(self.layers) if l.PARAMS), None)
        return int(sum(3 * f for f in fwd) - (fwd[first] if first is not None else 0))

    # ------------------------------------------------------------ forward / backward

    def workers_used(self) -> int:
        return self.workers or _auto_workers(self.layers)

    def _threads(self) -> int:
        w = self.workers_used()
        for layer in self.layers:
            if isinstance(layer, (Conv2D, Dense, MaxPool2D)):
                layer.workers = w
        # BLAS threads outside fit (predict, evaluate) default to 1: with 2 OpenBLAS threads on a
        # shared 2-core box a small GEMM took up to 10x longer whenever another process held the
        # other core. Conv nets use both cores through ``workers``; dense nets choose in fit.
        return self.blas_threads or 1

    def _fit_thread_candidates(self) -> tuple[int, ...]:
        """BLAS thread counts fit tries: the fixed ``blas_threads`` if set; else 1 and 2 for
        nets without Conv2D on a machine with 2+ cores; else the default."""
        t = self._threads()
        if self.blas_threads or cpus() < 2 or any(isinstance(l, Conv2D) for l in self.layers):
            return (t,)
        return (1, 2)

    def _prep(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype == np.uint8:
            X = X.astype(self.dtype) * self.dtype.type(1 / 255)
        X = X.astype(self.dtype, copy=False)
        if X.shape[1:] != self.input_shape:
            if int(np.prod(X.shape[1:])) != int(np.prod(self.input_shape)):
                raise ValueError(f"inputs of shape {X.shape[1:]} do not fit the model's input {self.input_shape}")
            X = X.reshape((len(X),) + self.input_shape)
        return X

    def forward(self, X, training: bool = False) -> np.ndarray:
        layers, i = self.layers, 0
        while i < len(layers):
            layer, nxt = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layer, Conv2D) and isinstance(nxt, MaxPool2D) and nxt.unpadded():
                X = layer.forward_pool(X, training, nxt)  # pooled chunk by chunk, in cache
                i += 2
            else:
                X = layer.forward(X, training)
                i += 1
        return X

    def backward(self, dZ_out) -> np.ndarray | None:
        """Back-propagate dL/dZ of the output layer (pre-activation); fills grads."""
        d = self.layers[-1].backward_z(dZ_out)
        i = len(self.layers) - 2
        while i >= 0 and d is not None:
            layer, prev = self.layers[i], self.layers[i - 1] if i else None
            if isinstance(layer, MaxPool2D) and isinstance(prev, Conv2D) and prev.activation == "relu":
                # ReLU then max-pool: the pool applies relu' on its small dY (see MaxPool2D.backward),
                # inside the conv's chunk loop when it can (the full-size dX never leaves the cache)
                if layer.fusable(prev._A):
                    d = prev.backward_pool(layer, d)
                else:
                    d = prev.backward_z(layer.backward(d, relu=True))
                i -= 2
            else:
                d = layer.backward(d)
                i -= 1
        return d

    def predict_proba(self, X, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (n, k), float32, dropout off."""
        X = self._prep(X)
        out = np.empty((len(X),) + self.output_shape, self.dtype)
        with threadpool_limits(self._threads(), user_api="blas"):
            for i in range(0, len(X), batch_size):
                out[i : i + batch_size] = self.forward(X[i : i + batch_size])
        return out

    def predict(self, X, batch_size: int = 256) -> np.ndarray:
        P = self.predict_proba(X, batch_size)
        return (P[:, 0] > 0.5).astype(np.int64) if P.shape[1] == 1 else P.argmax(1)

    def evaluate(self, X, y, batch_size: int = 256) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) on (X, y)."""
        P = self.predict_proba(X, batch_size)
        y = np.asarray(y)
        pred = (P[:, 0] > 0.5).astype(y.dtype) if P.shape[1] == 1 else P.argmax(1)
        return sparse_cross_entropy(P, y), float(np.mean(pred == y))

    def activations(self, X) -> list[tuple[str, np.ndarray]]:
        """The output of every layer for X (feature maps are (n, h, w, c))."""
        X = self._prep(X)
        out = []
        with threadpool_limits(self._threads(), user_api="blas"):
            for layer in self.layers:
                X = layer.forward(X, False)
                out.append((layer.name, X))
        return out

    # ------------------------------------------------------------ training

    def fit(self, X, y, *, epochs: int, batch_size: int = 128, optimizer: Optimizer | None = None,
            X_val=None, y_val=None, seed: int = 0, callback=None, should_stop=None,
            augment: int = 0, lr_decay: float = 1.0) -> dict:
        """Minibatch training with shuffled batches (seeded) and cross-entropy.

        callback(event) gets ``{"type": "batch", "epoch", "batch", "n_batches", "loss",
        "accuracy", "samples_per_s"}`` after each batch (loss and accuracy are running
        means over the epoch so far) and ``{"type": "epoch", "epoch", "epochs", "loss",
        "accuracy", "val_loss", "val_accuracy", "samples_per_s", "seconds"}`` after each
        epoch. ``should_stop()`` is polled before every batch; when it returns True, fit
        returns at once with ``history["stopped"] = True`` (a partial epoch is not
        recorded in the history). ``augment`` = k shifts each training image by a random
        whole number of pixels in [-k, k] both ways; ``lr_decay`` multiplies the
        learning rate after each epoch of this call (the optimiser's lr is put back when
        fit returns, so one call per epoch does not decay).

        Shuffling and dropout masks are seeded by ``seed``: calling fit several times
        (e.g. one epoch at a time), pass the same optimizer (Adam keeps its moments)
        and a different seed each time.
        """
        run = self._start_fit(X, y, X_val, y_val, seed, batch_size, augment, epochs,
                              optimizer if optimizer is not None else Adam(lr=1e-3), callback, should_stop)
        hist = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "stopped": False}
        lr0 = run.optimizer.lr
        first = next(l for l in self.layers if l.PARAMS)
        first.need_dx = False  # nothing to send back to the inputs
        try:
            with threadpool_limits(run.tuner.candidates[0], user_api="blas"):
                for epoch in range(1, epochs + 1):
                    t0 = time.perf_counter()
                    totals = self._train_epoch(run, epoch, t0)
                    if totals is None:
                        hist["stopped"] = True
                        return hist
                    ev = self._epoch_metrics(run, epoch, totals, t0)
                    for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
                        hist[k].append(ev[k])
                    if callback is not None:
                        callback(ev)
                    run.optimizer.lr *= lr_decay
        finally:
            first.need_dx = True
            run.optimizer.lr = lr0 if lr_decay != 1.0 else run.optimizer.lr
        return hist

    def _start_fit(self, X, y, X_val, y_val, seed, batch_size, augment, epochs, optimizer, callback,
                   should_stop) -> "_FitRun":
        """The inputs as the model reads them (checked), the shuffling and dropout seeded,
        the BLAS thread tuner for this net (kept across fits: one fit per epoch doesn't
        re-trial each time) and the thread counts of this fit reset."""
        X, y = self._prep(X), np.asarray(y, dtype=np.int64)
        if len(X) != len(y) or len(X) == 0:
            raise ValueError(f"{len(X)} samples but {len(y)} labels")
        val = None
        if X_val is not None and y_val is not None:
            val = self._prep(X_val), np.asarray(y_val, dtype=np.int64)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng([seed, i])
        cands = self._fit_thread_candidates()
        if self._tuner is None or self._tuner.candidates != cands:
            self._tuner = BlasTuner(cands)
        self.last_fit_threads = {c: 0 for c in cands}
        return _FitRun(X, y, val, np.random.default_rng(seed), batch_size, augment, epochs, optimizer,
                       self._tuner, callback, should_stop)

    def _train_epoch(self, run: "_FitRun", epoch: int, t0: float) -> tuple[float, int, int] | None:
        """One pass over shuffled minibatches: (summed loss, correct answers, samples), or
        None when ``should_stop`` said so before a batch."""
        batches = _batches(run.rng, len(run.X), run.batch_size)
        loss_sum = correct = seen = 0
        for b, idx in enumerate(batches):
            if run.should_stop is not None and run.should_stop():
                return None
            loss, right = self._train_step(run, idx)
            loss_sum, correct, seen = loss_sum + loss, correct + right, seen + len(idx)
            if run.callback is not None:
                run.callback({"type": "batch", "epoch": epoch, "batch": b + 1, "n_batches": len(batches),
                              "loss": loss_sum / seen, "accuracy": correct / seen,
                              "samples_per_s": seen / max(time.perf_counter() - t0, 1e-9)})
        return loss_sum, correct, seen

    def _train_step(self, run: "_FitRun", idx) -> tuple[float, int]:
        """One minibatch (the rows ``idx``, shifted when augmenting): forward, loss,
        backward, optimiser step, timed for the BLAS tuner at the thread count it set.
        Returns (loss summed over the batch, correct answers)."""
        threads, t0 = run.tuner.threads(), time.perf_counter()
        Xb, yb = run.X[idx], run.y[idx]
        if run.augment:
            Xb = random_shift(Xb, run.augment, run.rng)
        P = self.forward(Xb, training=True)
        loss = sparse_cross_entropy(P, yb) * len(idx)
        pred = (P[:, 0] > 0.5) if P.shape[1] == 1 else P.argmax(1)
        right = int(np.count_nonzero(pred == yb))
        self.backward(output_delta(P, yb))
        run.optimizer.update(self._flat_p, self._flat_g, self._decay, workers=self.workers_used())
        run.tuner.record(threads, time.perf_counter() - t0, len(idx))
        self.last_fit_threads[threads] += 1
        return loss, right

    def _epoch_metrics(self, run: "_FitRun", epoch: int, totals, t0: float) -> dict:
        """The epoch event: training loss and accuracy, validation ones (None without
        validation data), samples per second of the training part, seconds in all."""
        loss_sum, correct, seen = totals
        train_s = time.perf_counter() - t0
        vl, va = self.evaluate(*run.val) if run.val is not None else (None, None)
        return {"type": "epoch", "epoch": epoch, "epochs": run.epochs, "loss": loss_sum / seen,
                "accuracy": correct / seen, "val_loss": vl, "val_accuracy": va,
                "samples_per_s": seen / max(train_s, 1e-9), "seconds": time.perf_counter() - t0}

    # ------------------------------------------------------------ config, save, load

    def to_config(self) -> dict:
        return {"format": FORMAT, "input_shape": list(self.input_shape), "dtype": self.dtype.name,
                "layers": [l.get_config() for l in self.layers]}

    @classmethod
    def from_config(cls, cfg: dict) -> "Sequential":
        if cfg.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} config (format={cfg.get('format')!r})")
        return cls([layer_from_config(c) for c in cfg["layers"]], input_shape=cfg["input_shape"],
                   dtype=cfg.get("dtype", "float32"))

    def save(self, path_dir) -> None:
        """Write ``weights.npz`` (arrays w0, w1, ... in get_weights order) and
        ``architecture.json`` into the folder ``path_dir`` (created if needed)."""
        d = Path(path_dir)
        d.mkdir(parents=True, exist_ok=True)
        ws = self.get_weights()
        np.savez(d / "weights.npz", **{f"w{i}": w for i, w in enumerate(ws)})
        (d / "architecture.json").write_text(json.dumps(self.to_config(), indent=1))

    @classmethod
    def load(cls, path_dir) -> "Sequential":
        d = Path(path_dir)
        model = cls.from_config(json.loads((d / "architecture.json").read_text()))
        with np.load(d / "weights.npz", allow_pickle=False) as z:
            model.set_weights([z[f"w{i}"] for i in range(len(z.files))])
        return model

    @classmethod
    def from_keras(cls, keras_model) -> "Sequential":
        """A NumPy copy of a Keras Sequential of Conv2D / MaxPooling2D / Dropout /
        Flatten / Dense layers (channels-last), with its weights."""
        layers = []
        for kl in keras_model.layers:
            kind, c = type(kl).__name__, kl.get_config()
            if kind == "InputLayer":
                continue
            if c.get("data_format", "channels_last") != "channels_last":
                raise ValueError(f"{kl.name}: only channels_last is supported")
            if kind in ("Conv2D", "Dense") and not c.get("use_bias", True):
                raise ValueError(f"{kl.name}: layers without bias are not supported")
            if kind == "Conv2D":
                if tuple(c.get("dilation_rate", (1, 1))) != (1, 1) or c.get("groups", 1) != 1:
                    raise ValueError(f"{kl.name}: dilation / groups are not supported")
                layers.append(Conv2D(c["filters"], c["kernel_size"], c["strides"], c["padding"], c["activation"]))
            elif kind == "Dense":
                layers.append(Dense(c["units"], c["activation"]))
            elif kind == "MaxPooling2D":
                layers.append(MaxPool2D(c["pool_size"], c["strides"], c["padding"]))
            elif kind == "Flatten":
                layers.append(Flatten())
            elif kind == "Dropout":
                layers.append(Dropout(c["rate"]))
            else:
                raise ValueError(f"Keras layer {kind} ({kl.name}) is not supported")
        model = cls(layers, input_shape=tuple(keras_model.input_shape[1:]))
        model.set_weights(keras_model.get_weights())
        return model

    def __repr__(self):
        return "Sequential([\n  " + ",\n  ".join(map(repr, self.layers)) + f"\n], input_shape={self.input_shape})"


@dataclass
class _FitRun:
    """What one call of ``Sequential.fit`` trains on and with."""
    X: np.ndarray
    y: np.ndarray
    val: tuple | None  # (X_val, y_val)
    rng: np.random.Generator  # shuffling and shifts
    batch_size: int
    augment: int
    epochs: int
    optimizer: Optimizer
    tuner: BlasTuner
    callback: object
    should_stop: object


def _batches(rng, n: int, batch_size: int) -> list[np.ndarray]:
    """The rows of one epoch, shuffled, in minibatches (the last one may be smaller)."""
    perm = rng.permutation(n)
    return [perm[b : b + batch_size] for b in range(0, n, batch_size)]


def load_keras_weights(seq: Sequential, keras_weights: list) -> Sequential:
    """Put Keras weights (``keras_model.get_weights()``: HWIO conv kernels, (in, out)
    dense kernels, channels-last flatten) into ``seq`` of the same architecture."""
    seq.set_weights(keras_weights)
    return seq


def random_shift(X, k: int, rng) -> np.ndarray:
    """Shift each image (n, H, W, C) by whole pixels dy, dx in [-k, k] (zeros enter)."""
    n, H, W = X.shape[:3]
    Xp = np.pad(X, ((0, 0), (k, k), (k, k), (0, 0)))
    dy, dx = rng.integers(0, 2 * k + 1, n), rng.integers(0, 2 * k + 1, n)
    out = np.empty_like(X)
    for a in range(2 * k + 1):
        for b in range(2 * k + 1):
            s = np.flatnonzero((dy == a) & (dx == b))
            if s.size:
                out[s] = Xp[s, a : a + H, b : b + W]
    return out
