"""The settings of each model kind: one dataclass per kind, every field with widget metadata.

A field is made with :func:`setting`: its default, a ``help`` sentence and a short human
``label`` (English; other languages in ``digitlab/texts/*_models.py``), plus either
``range=(lo, hi)`` (with ``step``, and ``log=True`` for learning rates) or
``choices=[...]``; a ``tuple[int, ...]`` field (hidden layer sizes) has ``kind="layers"``.
A choice that was renamed keeps its old spelling working through ``aliases={old: new}``.

:func:`make_config` turns a kind's preset and overrides into its dataclass, checking every
value (:class:`ConfigError` says which value and why). The kind-name entry points
(``config_for``, ``field_info``...) are in :mod:`digitlab.models.registry`, which knows the
kinds and their presets. See docs/architecture.md, "The model registry".
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DigitLabError


class ConfigError(DigitLabError, ValueError):
    """A model kind, preset or config value is not valid (the message says which and why)."""


class UnknownKindError(ConfigError):
    """No model kind of that name."""


# Presets that were renamed: stored models, job files and command lines written before the
# rename still name the old preset ("seed" was the tutorial's settings until issue 14).
PRESET_ALIASES = {"seed": "tutorial"}
# Choices of a setting that were renamed, likewise (numpy-binary's ``variant``: "seed" -> "tutorial")
OLD_CHOICES = {"seed": "tutorial"}


def preset_name(preset: str | None) -> str | None:
    """The current name of ``preset`` (an old name through :data:`PRESET_ALIASES`)."""
    return PRESET_ALIASES.get(preset, preset) if isinstance(preset, str) else preset


# ---------------------------------------------------------------- fields


def setting(default, help: str, **meta):
    """A dataclass field with widget metadata (``help``, ``label``, ``range``/``choices``, ``step``...)."""
    meta["help"] = help
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda d=tuple(default): d, metadata=meta)
    return field(default=default, metadata=meta)


def data_settings(val_default: float = 0.2) -> dict:
    """The two settings every kind has: how much data is held out, and how much is used."""
    return dict(
        val_fraction=setting(val_default, "Share of the data held out to measure validation accuracy.",
                             range=(0.05, 0.5), step=0.05, label="validation share"),
        max_train=setting(0, "Use at most this many training images (0 = all); smaller trains faster.",
                          range=(0, 60000), step=500, label="training images (0 = all)"),
    )


def numpy_fit_settings(batch_max: int) -> dict:
    """The settings of ``digitlab.nn.Sequential.fit`` shared by the NumPy MLP and CNN."""
    return dict(
        optimizer=setting("adam", "How the weights move along the gradient.", choices=["adam", "momentum", "sgd"],
                          label="optimiser"),
        lr=setting(1e-3, "Learning rate.", range=(1e-5, 1.0), log=True, label="learning rate"),
        batch_size=setting(128, "Images per gradient step.", range=(8, batch_max), step=8, label="batch size"),
        shift=setting(0, "Shift each training image by up to this many pixels at random, every epoch (augmentation).",
                      range=(0, 4), step=1, label="random shift (px)"),
        lr_decay=setting(1.0, "Multiply the learning rate by this after every epoch.", range=(0.5, 1.0), step=0.01,
                         label="learning-rate decay per epoch"),
    )


# ---------------------------------------------------------------- one dataclass per kind


@dataclass
class BinaryConfig:
    """The tutorial's section-2 network: one hidden layer, sigmoid output, 0 vs 1."""

    variant: str = setting("fixed", "tutorial: the tutorial as written (raw pixels 0-255, tanh derivative on a "
                           "sigmoid hidden layer); fixed: pixels scaled to [0, 1] and the correct derivative.",
                           choices=["fixed", "tutorial"], aliases=OLD_CHOICES, label="network version")
    hidden: int = setting(10, "Hidden units (the tutorial used 10).", range=(1, 256), step=1, label="hidden units")
    iterations: int = setting(300, "Full-batch gradient descent steps.", range=(1, 3000), step=10, label="gradient steps")
    lr: float = setting(1.2, "Learning rate (the tutorial used 1.2).", range=(0.001, 5.0), step=0.1, label="learning rate")
    val_fraction: float = data_settings()["val_fraction"]
    max_train: int = data_settings()["max_train"]


@dataclass
class NumpyMLPConfig:
    hidden: tuple[int, ...] = setting((128,), "Sizes of the hidden layers, e.g. 128 or 256,128.", kind="layers",
                                      range=(1, 1024), max_layers=4, label="hidden layer sizes")
    activation: str = setting("relu", "Activation of the hidden layers.", choices=["relu", "sigmoid", "tanh"],
                              label="hidden-layer activation")
    optimizer: str = numpy_fit_settings(2048)["optimizer"]
    lr: float = numpy_fit_settings(2048)["lr"]
    epochs: int = setting(5, "Passes over the training data.", range=(1, 100), step=1, label="number of epochs")
    batch_size: int = numpy_fit_settings(2048)["batch_size"]
    shift: int = numpy_fit_settings(2048)["shift"]
    lr_decay: float = numpy_fit_settings(2048)["lr_decay"]
    val_fraction: float = data_settings()["val_fraction"]
    max_train: int = data_settings()["max_train"]


@dataclass
class NumpyCNNConfig:
    dropout1: float = setting(0.25, "Dropout after the max-pool layer.", range=(0.0, 0.9), step=0.05,
                              label="dropout after pooling")
    dropout2: float = setting(0.5, "Dropout after the 128-unit dense layer.", range=(0.0, 0.9), step=0.05,
                              label="dropout after the dense layer")
    optimizer: str = numpy_fit_settings(1024)["optimizer"]
    lr: float = numpy_fit_settings(1024)["lr"]
    epochs: int = setting(3, "Passes over the training data (a NumPy CNN epoch on 8k images takes ~30 s).",
                          range=(1, 50), step=1, label="number of epochs")
    batch_size: int = numpy_fit_settings(1024)["batch_size"]
    shift: int = numpy_fit_settings(1024)["shift"]
    lr_decay: float = numpy_fit_settings(1024)["lr_decay"]
    val_fraction: float = data_settings()["val_fraction"]
    max_train: int = data_settings()["max_train"]


@dataclass
class SklearnMLPConfig:
    hidden: tuple[int, ...] = setting((128,), "Sizes of the hidden layers (the tutorial used 5).", kind="layers",
                                      range=(1, 1024), max_layers=4, label="hidden layer sizes")
    activation: str = setting("relu", "Activation of the hidden layers.", choices=["relu", "logistic", "tanh", "identity"],
                              label="hidden-layer activation")
    solver: str = setting("adam", "lbfgs is a full-batch quasi-Newton method (the tutorial's); adam and sgd take "
                          "mini-batches.", choices=["adam", "sgd", "lbfgs"], label="optimisation method")
    alpha: float = setting(1e-4, "L2 penalty on the weights.", range=(1e-7, 1.0), log=True, label="L2 penalty")
    lr: float = setting(1e-3, "Initial learning rate (adam and sgd).", range=(1e-5, 1.0), log=True, label="learning rate")
    epochs: int = setting(20, "Passes over the data (lbfgs: rounds of `lbfgs_iters` iterations).", range=(1, 200), step=1,
                          label="number of epochs")
    lbfgs_iters: int = setting(10, "lbfgs iterations per round (20 rounds x 10 = scikit-learn's default 200).",
                               range=(1, 500), step=1, label="lbfgs iterations per round")
    batch_size: int = setting(128, "Images per gradient step (adam and sgd).", range=(8, 2048), step=8, label="batch size")
    scale_pixels: bool = setting(True, "Divide pixels by 255; the tutorial fed raw 0-255 pixels, which is why it got 20%.",
                                 label="scale pixels to [0, 1]")
    shift_copies: bool = setting(False, "Add copies of each training image shifted one pixel up, down, left and right "
                                 "(5x the data: slower epochs, better accuracy).", label="add one-pixel shifted copies")
    val_fraction: float = data_settings()["val_fraction"]
    max_train: int = data_settings()["max_train"]


@dataclass
class KerasCNNConfig:
    optimizer: str = setting("adam", "adadelta with lr 0.001 is the tutorial's `Adadelta()` in Keras 3 (62% there); "
                             "Keras 2's default was lr 1.0.", choices=["adam", "adadelta", "sgd"], label="optimiser")
    lr: float = setting(1e-3, "Learning rate.", range=(1e-5, 2.0), log=True, label="learning rate")
    lr_schedule: str = setting("constant", "cosine: decay the learning rate to 2% of its start over the run.",
                               choices=["constant", "cosine"], label="learning-rate schedule")
    epochs: int = setting(5, "Passes over the training data (~6-10 s each on the 10k sample).", range=(1, 100), step=1,
                          label="number of epochs")
    batch_size: int = setting(128, "Images per gradient step.", range=(8, 1024), step=8, label="batch size")
    dropout1: float = setting(0.25, "Dropout after the max-pool layer.", range=(0.0, 0.9), step=0.05,
                              label="dropout after pooling")
    dropout2: float = setting(0.5, "Dropout after the 128-unit dense layer.", range=(0.0, 0.9), step=0.05,
                              label="dropout after the dense layer")
    augment: bool = setting(False, "Random shifts, rotations and zooms of the training images: drawn digits are not "
                            "MNIST-centred.", label="data augmentation")
    rotation: float = setting(10.0, "Largest random rotation, degrees.", range=(0.0, 45.0), step=1.0,
                              label="largest rotation (degrees)")
    shift: float = setting(0.1, "Largest random shift, fraction of the image.", range=(0.0, 0.3), step=0.01,
                           label="largest shift (fraction)")
    zoom: float = setting(0.1, "Largest random zoom in or out, fraction.", range=(0.0, 0.5), step=0.01,
                          label="largest zoom (fraction)")
    weight_decay: float = setting(0.0, "Decoupled weight decay (AdamW-style; 0 = none).", range=(0.0, 0.1), step=1e-4,
                                  label="weight decay")
    label_smoothing: float = setting(0.0, "Soften the one-hot targets by this much (0 = none).", range=(0.0, 0.3),
                                     step=0.01, label="label smoothing")
    ema: bool = setting(False, "Use a moving average of the weights (momentum 0.99) at the end of training.",
                        label="moving average of the weights")
    precision: str = setting("float32", "bfloat16: mixed precision (float32 weights, bfloat16 maths), about 2x faster "
                             "on CPUs with native bfloat16 (AVX512-BF16/AMX); auto: bfloat16 when the CPU has it.",
                             choices=["float32", "bfloat16", "auto"], label="arithmetic precision")
    val_fraction: float = data_settings(0.1)["val_fraction"]
    max_train: int = data_settings()["max_train"]


# ---------------------------------------------------------------- checking values


def _layer_sizes(f: dataclasses.Field, value, kind: str) -> tuple[int, ...]:
    """Hidden layer sizes from "256, 64", 128, [256, 64]...: whole numbers within the field's range."""
    name, meta = f.name, f.metadata
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
    elif isinstance(value, (int, np.integer)):
        parts = [value]
    else:
        try:
            parts = list(value)
        except TypeError:
            raise ConfigError("config.layers_type", kind=kind, setting=name, value=value) from None
    try:
        sizes = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise ConfigError("config.layers_numbers", kind=kind, setting=name, value=value) from None
    if not sizes:
        raise ConfigError("config.layers_none", kind=kind, setting=name)
    most = meta.get("max_layers", 8)
    if len(sizes) > most:
        raise ConfigError("config.layers_too_many", kind=kind, setting=name, max=most, count=len(sizes))
    lo, hi = meta["range"]
    for s in sizes:
        if not lo <= s <= hi:
            raise ConfigError("config.layer_size", kind=kind, setting=name, size=s, lo=lo, hi=hi)
    return sizes


def _flag(name: str, value, kind: str) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    raise ConfigError("config.not_bool", kind=kind, setting=name, value=value)


def _choice(f: dataclasses.Field, value, kind: str) -> str:
    name, meta = f.name, f.metadata
    if not isinstance(value, str):
        raise ConfigError("config.not_string", kind=kind, setting=name, value=value)
    value = meta.get("aliases", {}).get(value, value)  # a renamed choice, as older configs spell it
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError("config.not_choice", kind=kind, setting=name, choices=", ".join(meta["choices"]), value=value)
    return value


def _number(f: dataclasses.Field, value, kind: str):
    """A whole number (an ``int`` field) or a finite number (a ``float`` field) within the field's range."""
    name, meta = f.name, f.metadata
    if f.type in (int, "int"):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ConfigError("config.not_whole", kind=kind, setting=name, value=value) from None
        if isinstance(value, bool) or not math.isfinite(v) or v != int(v):
            raise ConfigError("config.not_whole", kind=kind, setting=name, value=value)
        value = int(v)
    elif f.type in (float, "float"):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError("config.not_number", kind=kind, setting=name, value=value) from None
        if not math.isfinite(value):
            raise ConfigError("config.not_finite", kind=kind, setting=name, value=value)
    if "range" in meta:
        lo, hi = meta["range"]
        if not lo <= value <= hi:
            raise ConfigError("config.out_of_range", kind=kind, setting=name, value=value, lo=lo, hi=hi)
    return value


def coerce_setting(f: dataclasses.Field, value, kind: str):
    """``value`` (from a widget, JSON or a command line) as field ``f`` of ``kind`` holds it,
    or :class:`ConfigError` saying why it is not valid."""
    if f.type in ("tuple[int, ...]",) or f.metadata.get("kind") == "layers":
        return _layer_sizes(f, value, kind)
    if f.type in (bool, "bool"):
        return _flag(f.name, value, kind)
    if f.type in (str, "str"):
        return _choice(f, value, kind)
    return _number(f, value, kind)


def make_config(kind: str, config_cls: type, presets: dict[str, dict], preset: str, overrides: dict):
    """``config_cls`` from the defaults, then ``presets[preset]`` (an old preset name is
    accepted, see :data:`PRESET_ALIASES`), then ``overrides``; every value checked."""
    preset = preset_name(preset)
    if preset not in presets:
        raise ConfigError("config.unknown_preset", kind=kind, preset=preset, presets=", ".join(presets))
    values = {**presets[preset], **overrides}
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError("config.unknown_setting", kind=kind, settings=", ".join(map(repr, unknown)),
                          known=", ".join(fields))
    return config_cls(**{k: coerce_setting(fields[k], v, kind) for k, v in values.items()})


def config_dict(cfg) -> dict:
    """JSON-ready dict of a config dataclass (tuples become lists)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()}


def settings_info(config_cls: type, default) -> list[dict]:
    """One dict per setting of ``config_cls``: name, type, its value in ``default`` and its
    metadata (what a page builds a widget from)."""
    out = []
    for f in dataclasses.fields(config_cls):
        t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        out.append({"name": f.name, "type": t, "default": getattr(default, f.name), **dict(f.metadata)})
    return out
