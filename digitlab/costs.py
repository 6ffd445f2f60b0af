"""How long a training job takes on this server: a cost model per kind, and the room's budget.

A job's estimate is a fixed part (start, load, evaluate, save) plus the training itself::

    seconds = overhead[kind] + rate[kind] * work(kind, config) * training images * epochs

``rate`` is seconds per training image per epoch for the kind's ``workshop`` preset, and
``work`` how much more (or less) one image costs with this config: for the MLPs the number of
weights against the preset's (784-128-10 costs half of 784-256-10), scikit-learn's shifted
copies (5 images for one) and lbfgs rounds (``lbfgs_iters`` passes each); the CNNs' layers are
fixed, so their work is 1. The 0-vs-1 net counts every image of the dataset, though it trains
on the 0s and 1s only: its rate is per dataset image.

Where the rates come from: :data:`BUILT_IN_RATES`, measured on this machine (2 cores) by
``bench/pool.py`` (one trainer, the workshop preset on the 10k sample, train_seconds / (images
x epochs)); then every job that finishes on this server moves its kind's rate towards what it
took (an exponential average, :data:`LEARN_WEIGHT`), so a busier or faster machine corrects
the table within a few jobs. See docs/architecture.md, "Training jobs and the trainer process".

Budgets: in workshop mode a participant's job whose estimate is over the room's budget
(``DIGITLAB_JOB_BUDGET_S``, default 60 s) is refused before it queues
(:class:`OverBudgetError`, with the largest epochs and training-set size that fit).
"""
from __future__ import annotations

import math
import os
import sys

from . import models
from .errors import DigitLabError

# seconds per training image per epoch, workshop preset, one trainer on this machine (bench/pool.py)
BUILT_IN_RATES = {"numpy-binary": 5.5e-7, "numpy-mlp": 8.0e-5, "numpy-cnn": 1.8e-3, "sklearn-mlp": 9.0e-5,
                  "keras-cnn": 5.2e-4}
# seconds of a warm trainer outside training: load and split the data, evaluate on the validation
# split, save (bench/pool.py's wall - train_seconds, less its official-test-set pass); a Keras job's
# first run in a trainer also imports TensorFlow (6-10 s), not counted here
OVERHEAD_S = {"numpy-binary": 0.2, "numpy-mlp": 0.6, "numpy-cnn": 2.0, "sklearn-mlp": 0.3, "keras-cnn": 3.0}
LEARN_WEIGHT = 0.3  # how far one finished job moves its kind's rate towards what it took
DEFAULT_BUDGET_S = 60.0
SAMPLE_IMAGES = 10_000  # the bundled sample; also the guess for a dataset whose size is unknown
KNOWN_SIZES = {"sample": SAMPLE_IMAGES, "mnist": 60_000, "mnist-train": 60_000, "mnist-test": 10_000}


class SettingError(DigitLabError, ValueError):
    """A setting (environment variable) holds a value that cannot be used; its default is used."""


class OverBudgetError(DigitLabError, ValueError):
    """The job's estimate is over the room's budget (params: estimate, budget, max_epochs, max_train)."""


# ---------------------------------------------------------------- settings


_said: set[tuple[str, str]] = set()


def number_setting(name: str, default, *, whole: bool = False, minimum: float = 1):
    """The number in environment variable ``name`` (at least ``minimum``; ``whole``: an int), or
    ``default`` when unset. A bad value is said once in the server's log and the default used:
    a typo in a setting should not stop a workshop from starting."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return _parse_number(name, raw, default, whole, minimum)
    except SettingError as e:
        if (name, raw) not in _said:
            _said.add((name, raw))
            print(f"digitlab: {e}", file=sys.stderr)
        return default


def _parse_number(name: str, raw: str, default, whole: bool, minimum: float):
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if whole and not (math.isfinite(v) and v == int(v) and v >= minimum):
        raise SettingError("setting.not_whole", name=name, value=raw, minimum=minimum, default=default)
    if not (math.isfinite(v) and v >= minimum):
        raise SettingError("setting.not_number", name=name, value=raw, minimum=minimum, default=default)
    return int(v) if whole else v


def job_budget_s() -> float:
    """The room's budget for one job, in seconds (``DIGITLAB_JOB_BUDGET_S``, default 60)."""
    return number_setting("DIGITLAB_JOB_BUDGET_S", DEFAULT_BUDGET_S, minimum=1)


# ---------------------------------------------------------------- what a config costs


def _config(kind: str, config):
    return config if not isinstance(config, dict) and config is not None else models.config_from_dict(kind, config)


def epochs_field(kind: str) -> str:
    """The setting that counts passes over the data: ``iterations`` for the 0-vs-1 net, else ``epochs``."""
    return "iterations" if kind == "numpy-binary" else "epochs"


def _weights(hidden) -> int:
    sizes = [784, *hidden, 10]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def work(kind: str, config) -> float:
    """How much one image costs with ``config`` against the kind's workshop preset (1.0)."""
    cfg, ref = _config(kind, config), models.config_for(kind, "workshop")
    if kind in ("numpy-mlp", "sklearn-mlp"):
        w = _weights(cfg.hidden) / _weights(ref.hidden)
        if kind == "sklearn-mlp":
            w *= (5 if cfg.shift_copies else 1) / (5 if ref.shift_copies else 1)
            w *= cfg.lbfgs_iters if cfg.solver == "lbfgs" else 1  # a round of lbfgs: that many full passes
        return w
    return 1.0


def dataset_images(spec: str) -> int:
    """How many images the data spec holds: the known sources' sizes, a saved ``.npz``'s label
    count (read without loading the images), else :data:`SAMPLE_IMAGES`."""
    if spec in KNOWN_SIZES:
        return KNOWN_SIZES[spec]
    if str(spec).endswith(".npz") and os.path.isfile(spec):
        import numpy as np

        try:
            with np.load(spec, allow_pickle=False) as z:
                return int(z["labels"].shape[0]) if "labels" in z.files else SAMPLE_IMAGES
        except (OSError, ValueError, KeyError):
            pass
    return SAMPLE_IMAGES


def train_images(kind: str, config, n_images: int) -> int:
    """Training images of a job on ``n_images``: less the validation share, at most ``max_train``."""
    cfg = _config(kind, config)
    n = n_images - round(n_images * cfg.val_fraction)
    return min(n, cfg.max_train) if cfg.max_train else n


class CostModel:
    """Per-kind rates (:data:`BUILT_IN_RATES`, then learnt from finished jobs) and what they predict.
    Not locked: the Worker calls it under its own lock."""

    def __init__(self, rates: dict[str, float] | None = None):
        self.rates = dict(BUILT_IN_RATES if rates is None else rates)
        self.learnt: dict[str, int] = {}  # kind -> finished jobs it learnt from

    def estimate_seconds(self, kind: str, config, n_train: int) -> float:
        cfg = _config(kind, config)
        passes = getattr(cfg, epochs_field(kind))
        return OVERHEAD_S.get(kind, 1.0) + self.rates[kind] * work(kind, cfg) * n_train * passes

    def largest_fit(self, kind: str, config, n_train: int, budget_s: float) -> dict:
        """``{"max_epochs", "max_train"}``: the most epochs with ``n_train`` images, and the most
        training images (a multiple of 100) with the config's epochs, that fit in ``budget_s``
        (0: even one does not)."""
        cfg = _config(kind, config)
        left = budget_s - OVERHEAD_S.get(kind, 1.0)
        per_image = self.rates[kind] * work(kind, cfg)
        if left <= 0 or per_image <= 0:
            return {"max_epochs": 0, "max_train": 0}
        most_epochs = next(i["range"][1] for i in models.field_info(kind) if i["name"] == epochs_field(kind))
        max_epochs = min(int(left // (per_image * max(1, n_train))), int(most_epochs))
        max_train = int(left // (per_image * getattr(cfg, epochs_field(kind))))
        max_train = min(max_train - max_train % 100 if max_train >= 100 else max_train, n_train)
        return {"max_epochs": max_epochs, "max_train": max_train}

    def check_budget(self, kind: str, config, n_train: int, budget_s: float) -> float:
        """The estimate, or :class:`OverBudgetError` when it is over ``budget_s``."""
        est = self.estimate_seconds(kind, config, n_train)
        if est > budget_s:
            fit = self.largest_fit(kind, config, n_train, budget_s)
            raise OverBudgetError("train.over_budget", estimate=math.ceil(est), budget=round(budget_s),
                                  max_epochs=fit["max_epochs"], max_train=fit["max_train"])
        return est

    def learn(self, kind: str, config, n_train: int, train_seconds: float) -> None:
        """A job of ``kind`` trained ``n_train`` images for its epochs in ``train_seconds``."""
        cfg = _config(kind, config)
        units = work(kind, cfg) * n_train * getattr(cfg, epochs_field(kind))
        if kind not in self.rates or units <= 0 or not train_seconds or train_seconds <= 0:
            return
        self.rates[kind] += LEARN_WEIGHT * (train_seconds / units - self.rates[kind])
        self.learnt[kind] = self.learnt.get(kind, 0) + 1


MODEL = CostModel()  # the table alone, for callers without a Worker (the CLI, bench)


def estimate_seconds(kind: str, config, n_train: int) -> float:
    """Seconds a job of ``kind`` with ``config`` (dict or dataclass) on ``n_train`` training images takes here."""
    return MODEL.estimate_seconds(kind, config, n_train)


def largest_fit(kind: str, config, n_train: int, budget_s: float) -> dict:
    """The largest epochs and training-set size that fit in ``budget_s`` (:meth:`CostModel.largest_fit`)."""
    return MODEL.largest_fit(kind, config, n_train, budget_s)
