"""The table of model kinds: one :class:`ModelKind` per kind of model DigitLab trains.

An entry says everything about its kind: its texts (English; Spanish in
``digitlab/texts/es_models.py``), its config dataclass and presets, where its trainer lives
and which factory rebuilds a stored model for inference. Nothing outside this table
branches on a kind's name: :func:`build_predictor` calls the entry's ``predictor``, and the
trainer process calls the entry's :meth:`ModelKind.trainer`.

Trainers are named as ``"module:function"`` strings and imported only when a job of the
kind runs, so importing the registry imports no trainer: in particular the Streamlit
server never imports :mod:`digitlab.models.keras_trainer` (TensorFlow). See
docs/architecture.md, "The model registry".
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .config import (BinaryConfig, ConfigError, KerasCNNConfig, NumpyCNNConfig, NumpyMLPConfig, SklearnMLPConfig,
                     UnknownKindError, make_config, settings_info)
from .predictors import BinaryPredictor, NetPredictor, Predictor, SklearnPredictor
from .trained import Trained


@dataclass(frozen=True, kw_only=True)
class ModelKind:
    """One kind of model.

    kind, label, explanation : its name, and what the Train page says of it (English)
    config_cls, presets, default_preset : its settings and the named starting sets of them
    trainer_path   : ``"module:function"`` of its trainer (imported when a job runs)
    finetuner_path : ``"module:function"`` of its finetuner: trains on from a stored model
                     (:class:`~digitlab.models.trained.Base`; :mod:`digitlab.finetune`)
    finetune       : settings a fine-tuning job changes in the base model's own (fewer epochs...)
    predictor      : ``(spec, arrays) -> Predictor``, the NumPy model of a stored one
    classes        : outputs of ``predict_proba`` (numpy-binary: 2)
    uses_tensorflow: its trainer imports TensorFlow (6-10 s the first time in a process)
    blas_threads   : BLAS threads while it trains
    """

    kind: str
    label: str
    explanation: str
    config_cls: type
    presets: dict[str, dict]
    default_preset: str
    trainer_path: str
    finetuner_path: str
    predictor: Callable[[dict, dict], Predictor]
    finetune: dict = dataclasses.field(default_factory=dict)
    classes: int = 10
    uses_tensorflow: bool = False
    # small matrices lose with 2 threads on 2 shared cores; NumPy dense nets measure 1 against 2
    # in fit (digitlab.nn.blas.BlasTuner). See docs/architecture.md, "Threads and BLAS".
    blas_threads: int = 1

    def __post_init__(self):
        for preset in self.presets:  # a typo in a preset fails at import, not in a participant's run
            self.config(preset)
        self.config(None, **self.finetune)  # so does one in the fine-tuning overrides

    def fields(self) -> list[dataclasses.Field]:
        return list(dataclasses.fields(self.config_cls))

    def config(self, preset: str | None = None, **overrides):
        """The kind's config: defaults, then ``preset`` (default: :attr:`default_preset`), then
        ``overrides``; every value type- and range-checked (:class:`ConfigError`)."""
        return make_config(self.kind, self.config_cls, self.presets,
                           self.default_preset if preset is None else preset, overrides)

    def trainer(self) -> Callable[..., Trained]:
        """The kind's trainer function, its module imported now (keras-cnn: TensorFlow)."""
        return _resolve(self.trainer_path)

    def finetuner(self) -> Callable[..., Trained]:
        """The kind's finetuner function, its module imported now (keras-cnn: TensorFlow)."""
        return _resolve(self.finetuner_path)

    def train(self, cfg, train_ds, val_ds=None, *, seed=0, callback=None, should_stop=None) -> Trained:
        """Train a model of this kind (see :mod:`digitlab.models.trained` for the callbacks)."""
        return self.trainer()(cfg, train_ds, val_ds, seed=seed, callback=callback, should_stop=should_stop)


def _resolve(path: str):
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


_NUMPY = "digitlab.models.numpy_trainers"

REGISTRY: dict[str, ModelKind] = {k.kind: k for k in [
    ModelKind(
        kind="numpy-binary", label="Tutorial network: 0 vs 1 (NumPy)",
        explanation="The tutorial's first network, written function by function in NumPy: 784 pixels, one small "
        "hidden layer, a sigmoid output saying how sure it is that the digit is a 1. Preset 'tutorial' "
        "keeps the tutorial's mistakes (raw 0-255 pixels and the tanh derivative on a sigmoid layer), "
        "which makes training collapse for some seeds; 'fixed' scales pixels and uses the right derivative.",
        config_cls=BinaryConfig, default_preset="fixed",
        presets={"tutorial": {"variant": "tutorial", "iterations": 10, "lr": 1.2},
                 "fixed": {"variant": "fixed", "iterations": 300},
                 "workshop": {"variant": "fixed", "iterations": 300}},
        trainer_path=f"{_NUMPY}:train_numpy_binary", finetuner_path=f"{_NUMPY}:finetune_numpy_binary",
        finetune={"iterations": 100}, predictor=BinaryPredictor, classes=2),
    ModelKind(
        kind="numpy-mlp", label="Multilayer perceptron (NumPy, from scratch)",
        explanation="A fully connected network written in NumPy: the 28x28 image is flattened to 784 numbers, each "
        "hidden layer multiplies by a weight matrix, adds a bias and applies an activation, and a softmax "
        "turns the last 10 numbers into probabilities. Backpropagation and the optimiser are ours too.",
        config_cls=NumpyMLPConfig, default_preset="default",
        presets={"default": {}, "quick": {"epochs": 2},
                 "wide": {"hidden": (256,), "epochs": 30, "shift": 1, "lr_decay": 0.92},
                 "sgd": {"optimizer": "sgd", "lr": 0.1},
                 "workshop": {"hidden": (256,), "epochs": 12, "shift": 1, "lr_decay": 0.9}},
        trainer_path=f"{_NUMPY}:train_numpy_mlp", finetuner_path=f"{_NUMPY}:finetune_numpy_net",
        finetune={"epochs": 4, "lr_decay": 1.0}, predictor=NetPredictor.from_stored),
    ModelKind(
        kind="numpy-cnn", label="Convolutional network (NumPy, from scratch)",
        explanation="The tutorial's CNN written in NumPy: two 3x3 convolutions learn local stroke detectors, "
        "max-pooling keeps the strongest response in each 2x2 patch, dropout fights over-fitting and two dense "
        "layers classify. Trains at about 0.8x the speed of Keras on 2 cores (bench.nn), and every step is visible.",
        config_cls=NumpyCNNConfig, default_preset="default",
        presets={"default": {}, "quick": {"epochs": 1, "max_train": 2000},
                 "workshop": {"epochs": 2, "max_train": 4000}},
        trainer_path=f"{_NUMPY}:train_numpy_cnn", finetuner_path=f"{_NUMPY}:finetune_numpy_net",
        finetune={"epochs": 2, "lr_decay": 1.0}, predictor=NetPredictor.from_stored, blas_threads=2),
    ModelKind(
        kind="sklearn-mlp", label="Multilayer perceptron (scikit-learn)",
        explanation="scikit-learn's MLPClassifier, as in the tutorial's section 3. The tutorial's settings (preset "
        "'tutorial': 5 hidden units, lbfgs, raw 0-255 pixels) reach only about 20%: unscaled pixels saturate the "
        "network. Scaling pixels to [0, 1], 128 hidden units and adam reach about 95%; adding copies of the "
        "images shifted by one pixel, about 97%.",
        config_cls=SklearnMLPConfig, default_preset="working",
        presets={
            # 20 rounds x 10 lbfgs iterations = scikit-learn's default max_iter=200, with a curve point
            # (and a Stop check) every round
            "tutorial": {"hidden": (5,), "alpha": 1e-5, "solver": "lbfgs", "scale_pixels": False, "epochs": 20,
                         "lbfgs_iters": 10},
            # measured: 96.9% on the official test set (10k sample; 94.7% without the shifted copies)
            "working": {"hidden": (128,), "solver": "adam", "scale_pixels": True, "alpha": 1e-4, "epochs": 15,
                        "shift_copies": True, "val_fraction": 0.05},
            "workshop": {"hidden": (128,), "solver": "adam", "scale_pixels": True, "alpha": 1e-4, "epochs": 8,
                         "shift_copies": True},
        },
        trainer_path="digitlab.models.sklearn_trainer:train_sklearn_mlp",
        finetuner_path="digitlab.models.sklearn_trainer:finetune_sklearn_mlp",
        # lbfgs has no partial_fit (the tutorial's base is fine-tuned with adam); the shifted copies
        # would make 5x the work of a short fine-tuning run
        finetune={"epochs": 4, "solver": "adam", "shift_copies": False}, predictor=SklearnPredictor),
    ModelKind(
        kind="keras-cnn", label="Convolutional network (Keras)",
        explanation="The tutorial's section-5 CNN trained with Keras: Conv32-Conv64-MaxPool-Dropout-Dense128-Dropout-"
        "Dense10 with categorical cross-entropy. The tutorial's `Adadelta()` (preset 'tutorial') now means a "
        "learning rate of 0.001 (Keras 2 used 1.0), which is why it reached only 62.5%; Adam, or Adadelta at 1.0, "
        "fixes it. Augmentation (small shifts, rotations, zooms) helps with drawn digits that are not centred "
        "like MNIST.",
        config_cls=KerasCNNConfig, default_preset="augmented",
        presets={
            "tutorial": {"optimizer": "adadelta", "lr": 0.001, "epochs": 5, "augment": False},
            "adadelta-1.0": {"optimizer": "adadelta", "lr": 1.0, "epochs": 5, "augment": False},
            "adam": {"optimizer": "adam", "lr": 1e-3, "epochs": 5, "augment": False},
            "workshop": {"optimizer": "adam", "lr": 2e-3, "lr_schedule": "cosine", "epochs": 2, "augment": False,
                         "precision": "auto"},
            # bench/zoo.py, 10k sample -> official test set (single runs; run-to-run noise ~0.1%):
            # 20 epochs 98.94-98.96%; 30 epochs 98.92/99.06%; + label smoothing 0.1: 99.13%;
            # + weight decay 0.05: 99.13%. bfloat16 (auto) trains ~2x faster than float32: 30 epochs
            # in ~125-155 s on this 2-core box (float32 ~2x that)
            "augmented": {"optimizer": "adam", "lr": 2e-3, "lr_schedule": "cosine", "epochs": 30, "augment": True,
                          "rotation": 8.0, "shift": 0.08, "zoom": 0.08, "val_fraction": 0.05, "precision": "auto",
                          "label_smoothing": 0.1, "weight_decay": 0.05},
        },
        # the only trainer that imports TensorFlow: named here, imported by the trainer process alone
        trainer_path="digitlab.models.keras_trainer:train_keras_cnn",
        finetuner_path="digitlab.models.keras_trainer:finetune_keras_cnn",
        finetune={"epochs": 3, "lr_schedule": "constant"}, predictor=NetPredictor.from_stored,
        uses_tensorflow=True, blas_threads=2),
]}


def get_kind(kind: str) -> ModelKind:
    try:
        return REGISTRY[kind]
    except (KeyError, TypeError):
        raise UnknownKindError("config.unknown_kind", kind=str(kind), known=", ".join(REGISTRY)) from None


def build_predictor(kind: str, spec: dict, arrays: dict[str, np.ndarray]) -> Predictor:
    """The NumPy predictor of a stored model of ``kind`` (its entry's ``predictor`` factory)."""
    return get_kind(kind).predictor(spec, arrays)


def config_for(kind: str, preset: str | None = None, **overrides):
    """The config dataclass of ``kind``: defaults, then ``preset`` (default: the kind's
    default preset), then ``overrides``; every value type- and range-checked."""
    return get_kind(kind).config(preset, **overrides)


def config_from_dict(kind: str, cfg: dict | None, preset: str | None = None):
    """Like :func:`config_for`, from a dict (e.g. JSON or a page's widget values)."""
    return config_for(kind, preset, **(cfg or {}))


def field_info(kind: str) -> list[dict]:
    """One dict per setting of ``kind``: name, type, default and its metadata (for building widgets)."""
    mk = get_kind(kind)
    return settings_info(mk.config_cls, mk.config())


__all__ = ["ModelKind", "REGISTRY", "get_kind", "build_predictor", "config_for", "config_from_dict", "field_info",
           "ConfigError", "UnknownKindError"]
