"""From-scratch NumPy neural networks (no TensorFlow is ever imported here).

- layers (NHWC, float32): Dense, Conv2D (stride, valid/same), MaxPool2D, Flatten, Dropout
- ACTIVATIONS / DERIVATIVES, LOSSES / LOSS_DERIVATIVES: name -> function dicts
- INITIALIZERS: He and Xavier (Glorot), normal and uniform
- optimisers with L2: SGD, Momentum, Adam (``update(params, grads)``)
- Sequential: fit (seeded shuffled minibatches, progress callback, stop) /
  predict_proba / activations / save / load / from_keras; builders mlp() and seed_cnn()
- RECIPES / train_recipe: the standard trainings on the 10k sample
"""
from .activations import ACTIVATIONS, DERIVATIVES, HIDDEN_ACTIVATIONS
from .init import INITIALIZERS
from .layers import LAYERS, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D
from .losses import LOSS_DERIVATIVES, LOSSES
from .network import Sequential, load_keras_weights, mlp, random_shift, seed_cnn
from .optimizers import OPTIMIZERS, SGD, Adam, Momentum, Optimizer
from .recipes import RECIPES, build_recipe_model, recipe_optimizer, train_recipe

__all__ = [
    "ACTIVATIONS", "DERIVATIVES", "HIDDEN_ACTIVATIONS", "INITIALIZERS", "LAYERS", "LOSSES", "LOSS_DERIVATIVES",
    "OPTIMIZERS", "RECIPES", "Adam", "Conv2D", "Dense", "Dropout", "Flatten", "Layer", "MaxPool2D", "Momentum",
    "Optimizer", "SGD", "Sequential", "load_keras_weights", "mlp", "random_shift", "seed_cnn", "train_recipe", "build_recipe_model", "recipe_optimizer",
]
