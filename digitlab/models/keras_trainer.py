"""The Keras CNN's trainer: the ONLY module of ``digitlab`` that imports TensorFlow and Keras.

Only the trainer process imports it: the keras-cnn registry entry names it as a string,
``"digitlab.models.keras_trainer:train_keras_cnn"``, resolved when a job of that kind runs
(:meth:`digitlab.models.registry.ModelKind.trainer`). The Streamlit server never does:
importing TensorFlow there made every click cost ~880 ms, and a trained Keras CNN is served
by its same-shaped NumPy twin (:class:`digitlab.models.predictors.NetPredictor`).
``tests/test_import_boundary.py`` holds the line. See docs/architecture.md, "Processes and
what may import what".

The tutorial's section-5 CNN (:func:`keras_tutorial_cnn`), trained with a ``tf.data`` pipeline,
optional augmentation (:func:`augmenter`), optional bfloat16 mixed precision, and
:class:`KerasProgress` reporting batch/epoch events and honouring Stop.
"""
from __future__ import annotations

import math
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported: no C++ info lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from .. import data  # noqa: E402
from ..nn import Sequential  # noqa: E402
from ..store import CorruptModelError, keras_path, payload_file  # noqa: E402
from .config import KerasCNNConfig  # noqa: E402
from .precision import keras_dtype_policy  # noqa: E402
from .predictors import net_arrays  # noqa: E402
from .trained import Base, Trained, cross_entropy, emit, new_history, nhwc, number_or_none, record_epoch  # noqa: E402

OPTIMIZERS = {"adam": keras.optimizers.Adam, "adadelta": keras.optimizers.Adadelta, "sgd": keras.optimizers.SGD}
VALIDATION_BATCH = 500  # images per forward pass when the callback measures validation accuracy


def keras_tutorial_cnn(cfg: KerasCNNConfig) -> keras.Sequential:
    """The tutorial's section-5 CNN (Conv32-Conv64-MaxPool-Dropout-Flatten-Dense128-Dropout-Dense10)."""
    dt = keras_dtype_policy(getattr(cfg, "precision", "float32"))
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu", dtype=dt),
        layers.Conv2D(64, (3, 3), activation="relu", dtype=dt),
        layers.MaxPooling2D((2, 2), dtype=dt),
        layers.Dropout(cfg.dropout1, dtype=dt),
        layers.Flatten(dtype=dt),
        layers.Dense(128, activation="relu", dtype=dt),
        layers.Dropout(cfg.dropout2, dtype=dt),
        layers.Dense(10, activation="softmax", dtype="float32"),  # probabilities and the loss in float32
    ], name="tutorial_cnn")


def augmenter(cfg: KerasCNNConfig, seed: int = 0):
    """Keras preprocessing layers for small random rotations, shifts and zooms (fill with black)."""
    aug = []
    if cfg.rotation > 0:
        aug.append(layers.RandomRotation(cfg.rotation / 360.0, fill_mode="constant", seed=seed))
    if cfg.shift > 0:
        aug.append(layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="constant", seed=seed + 1))
    if cfg.zoom > 0:
        aug.append(layers.RandomZoom(cfg.zoom, fill_mode="constant", seed=seed + 2))
    return keras.Sequential(aug) if aug else (lambda a, training=True: a)


class KerasProgress(keras.callbacks.Callback):
    """Batch and epoch events from Keras's ``logs``; Stop through ``model.stop_training``.

    Validation is measured here, after each finished epoch (a plain forward pass, no dropout),
    so a stopped run does not wait for it."""

    def __init__(self, callback, should_stop, epochs: int, n: int, n_batches: int, val=None):
        super().__init__()
        self.callback, self.should_stop = callback, should_stop
        self.epochs, self.n, self.n_batches, self.val = epochs, n, n_batches, val
        self.history, self.stopped = new_history(), False

    @property
    def finished_epochs(self) -> int:
        return len(self.history["loss"])

    def _validate(self):
        """(loss, accuracy) on the validation set, or (None, None) without one."""
        if self.val is None:
            return None, None
        xv, yv = self.val
        p = np.concatenate([np.asarray(self.model(xv[i:i + VALIDATION_BATCH], training=False), dtype=np.float64)
                            for i in range(0, len(xv), VALIDATION_BATCH)])
        return cross_entropy(p, yv), float(np.mean(p.argmax(1) == yv))

    def on_epoch_begin(self, epoch, logs=None):
        self.t_epoch = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        el = time.perf_counter() - self.t_epoch
        emit(self.callback, {"type": "batch", "epoch": self.finished_epochs + 1, "batch": batch + 1,
                             "n_batches": self.n_batches, "loss": number_or_none(logs.get("loss")),
                             "accuracy": number_or_none(logs.get("accuracy")),
                             "samples_per_s": min(self.n, (batch + 1) * (self.n / self.n_batches)) / max(el, 1e-9)})
        if self.should_stop():
            self.stopped = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped:  # a partial epoch is not recorded (as in digitlab.nn)
            return
        logs = logs or {}
        secs = time.perf_counter() - self.t_epoch
        vl, va = self._validate()
        ev = {"type": "epoch", "epoch": epoch + 1, "epochs": self.epochs, "loss": number_or_none(logs.get("loss")),
              "accuracy": number_or_none(logs.get("accuracy")), "val_loss": vl, "val_accuracy": va,
              "samples_per_s": self.n / max(secs, 1e-9), "seconds": time.perf_counter() - self.t_epoch}
        record_epoch(self.history, ev)
        emit(self.callback, ev)


def _compile(model, cfg: KerasCNNConfig, steps: int) -> None:
    """The optimiser (constant or cosine learning rate, weight decay, EMA) and the loss."""
    lr = cfg.lr
    if cfg.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(cfg.lr, decay_steps=steps, alpha=0.02)
    options = {"weight_decay": cfg.weight_decay} if cfg.weight_decay > 0 else {}
    if cfg.ema:
        options.update(use_ema=True, ema_momentum=0.99)
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)
    model.compile(loss=loss, optimizer=OPTIMIZERS[cfg.optimizer](learning_rate=lr, **options), metrics=["accuracy"])


def _batches(X, y, cfg: KerasCNNConfig, seed: int):
    """The training pipeline: shuffled every epoch, batched, augmented on the fly, prefetched."""
    ds = tf.data.Dataset.from_tensor_slices((X, data.one_hot(y)))
    ds = ds.shuffle(len(X), seed=seed, reshuffle_each_iteration=True).batch(cfg.batch_size)
    if cfg.augment:
        aug = augmenter(cfg, seed)
        ds = ds.map(lambda a, b: (aug(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def train_keras_cnn(cfg: KerasCNNConfig, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None) -> Trained:
    keras.utils.set_random_seed(seed)
    return _fit(keras_tutorial_cnn(cfg), cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def finetune_keras_cnn(cfg: KerasCNNConfig, train_ds, val_ds=None, *, base: Base, seed=0, callback=None,
                       should_stop=None) -> Trained:
    """Fine-tuning: the base's own ``.keras`` file (its layers, dtypes and weights), compiled
    afresh with ``cfg`` and trained on; the new model is saved as a new ``.keras`` file."""
    keras.utils.set_random_seed(seed)
    model = load_keras_file(base.folder, base.meta, base.name)
    return _fit(model, cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def _fit(model, cfg: KerasCNNConfig, train_ds, val_ds, *, seed, callback, should_stop) -> Trained:
    should_stop = should_stop or (lambda: False)
    X, y = nhwc(train_ds.images), train_ds.labels
    n_batches = math.ceil(len(X) / cfg.batch_size)
    _compile(model, cfg, n_batches * cfg.epochs)
    ds = _batches(X, y, cfg, seed)
    val = (nhwc(val_ds.images), val_ds.labels) if val_ds is not None and len(val_ds) > 0 else None
    progress = KerasProgress(callback, should_stop, cfg.epochs, len(X), n_batches, val)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*shuffle.*")  # the tf.data pipeline shuffles itself
        model.fit(ds, epochs=cfg.epochs, verbose=0, callbacks=[progress])  # validation: in the callback
    net = Sequential.from_keras(model)
    return Trained(net_arrays(net), {"architecture": net.to_config()}, progress.history, progress.stopped,
                   keras_model=without_optimizer(model))


def without_optimizer(model):
    """An uncompiled copy of ``model`` with its weights, to be saved: Keras 3's ``.keras`` file
    keeps a compiled model's optimizer state (Adam's two moments: 14 MB for the tutorial CNN
    against 4.7 MB of weights) and has no ``include_optimizer=False``; nothing reads that state
    (models are loaded with ``compile=False``; fine-tuning compiles a fresh optimiser). Rebuilt
    from its config: ``keras.models.clone_model`` (Keras 3.15) copies the compiled optimiser too."""
    copy = model.__class__.from_config(model.get_config())  # same layers and dtype policies, not compiled
    copy.set_weights(model.get_weights())
    return copy


def load_keras(name: str):
    """The stored Keras model of the keras-cnn ``name``, loaded in safe mode (trainer process and tests)."""
    return _load(keras_path(name), name)


def load_keras_file(folder, meta: dict, name: str):
    """The Keras model in a model folder (read by :func:`digitlab.store.read_folder`), checksum verified."""
    return _load(payload_file(folder, meta, "keras"), name)


def _load(p, name: str):
    try:
        return keras.saving.load_model(p, safe_mode=True, compile=False)
    except Exception as e:
        raise CorruptModelError("store.keras_unloadable", name=name, file=p.name, reason=f"{type(e).__name__}: {e}") from None
