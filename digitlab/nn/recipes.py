"""The two standard networks (``mlp``, ``tutorial_cnn``) and the standard training recipes:
what "trained on the 10k sample" means for each model kind, reused by the registry, the CLI
and ``bench/nn.py``.

Measured on the official MNIST test set after training on the whole 10k sample
(seed 0, this 2-core box): binary 99.81% (~1 s), MLP 97.44% (~5-10 s), CNN 98.66-98.76%
(12 epochs: ~3-5 min on the shared, busy box; 98.64-98.79% from epoch 10 to 15).
"""
from __future__ import annotations

from .conv import Conv2D, MaxPool2D
from .layers import Dense, Dropout, Flatten, Layer
from .network import Sequential
from .optimizers import OPTIMIZERS


def mlp(hidden=(128,), activation: str = "relu", seed: int = 0, dropout: float = 0.0) -> Sequential:
    """784-hidden...-10 softmax: Flatten, Dense(h, activation) [Dropout] ..., Dense(10, softmax)."""
    layers: list[Layer] = [Flatten()]
    for h in hidden:
        layers.append(Dense(h, activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(10, "softmax"))
    return Sequential(layers, input_shape=(28, 28, 1), seed=seed)


def tutorial_cnn(dropout1: float = 0.25, dropout2: float = 0.5, seed: int = 0) -> Sequential:
    """The tutorial's section-5 CNN (same parameter shapes as its Keras model):
    Conv(32,3x3,relu) - Conv(64,3x3,relu) - MaxPool(2) - Dropout - Flatten -
    Dense(128,relu) - Dropout - Dense(10,softmax)."""
    return Sequential([
        Conv2D(32, 3, activation="relu"),
        Conv2D(64, 3, activation="relu"),
        MaxPool2D(2),
        Dropout(dropout1),
        Flatten(),
        Dense(128, "relu"),
        Dropout(dropout2),
        Dense(10, "softmax"),
    ], input_shape=(28, 28, 1), seed=seed)


RECIPES: dict[str, dict] = {
    # digitlab.tutorial_binary.train_binary(X, y, **RECIPES["binary"]) on the 0/1 digits
    "binary": {"preset": "fixed", "iterations": 300, "lr": 1.2, "seed": 0},
    # 784-128-10 relu, dropout 0.1, ±1 px random shifts, Adam 1e-3, 40 epochs of 128
    "mlp": {"builder": "mlp", "model": {"hidden": [128], "activation": "relu", "dropout": 0.1},
            "optimizer": {"type": "Adam", "lr": 1e-3},
            "fit": {"epochs": 40, "batch_size": 128, "augment": 1, "lr_decay": 1.0}},
    # the tutorial's CNN, ±1 px random shifts, Adam 1e-3 decayed ×0.9 per epoch, 12 epochs
    # (without shifts and decay it plateaus at 98.2-98.3%)
    "cnn": {"builder": "tutorial_cnn", "model": {"dropout1": 0.25, "dropout2": 0.5},
            "optimizer": {"type": "Adam", "lr": 1e-3},
            "fit": {"epochs": 12, "batch_size": 128, "augment": 1, "lr_decay": 0.9}},
}

BUILDERS = {"mlp": mlp, "tutorial_cnn": tutorial_cnn}


def build_recipe_model(kind: str, seed: int = 0) -> Sequential:
    r = RECIPES[kind]
    kw = dict(r["model"])
    if "hidden" in kw:
        kw["hidden"] = tuple(kw["hidden"])
    return BUILDERS[r["builder"]](seed=seed, **kw)


def recipe_optimizer(kind: str):
    cfg = dict(RECIPES[kind]["optimizer"])
    return OPTIMIZERS[cfg.pop("type")](**cfg)


def train_recipe(kind: str, X, y, *, seed: int = 0, epochs: int | None = None, X_val=None, y_val=None,
                 callback=None, should_stop=None) -> tuple[Sequential, dict]:
    """Build and train the ``kind`` ("mlp" or "cnn") model with its standard recipe.
    Returns (model, history). ``epochs`` overrides the recipe's (e.g. for a quick run)."""
    if kind not in ("mlp", "cnn"):
        raise ValueError("train_recipe trains 'mlp' or 'cnn'; the binary net is digitlab.tutorial_binary.train_binary")
    model = build_recipe_model(kind, seed)
    fit = dict(RECIPES[kind]["fit"])
    if epochs is not None:
        fit["epochs"] = int(epochs)
    hist = model.fit(X, y, optimizer=recipe_optimizer(kind), X_val=X_val, y_val=y_val, seed=seed,
                     callback=callback, should_stop=should_stop, **fit)
    return model, hist
