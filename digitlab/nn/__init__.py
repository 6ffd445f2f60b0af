"""From-scratch NumPy neural networks (no TensorFlow is ever imported here).

- layers.py (the base class, Dense, Flatten, Dropout) and conv.py (Conv2D with stride and
  valid/same padding, MaxPool2D): NHWC, float32, the fast versions
- reference.py: the same maths written plainly, forward and backward (tests check both agree)
- ACTIVATIONS / DERIVATIVES, LOSSES / LOSS_DERIVATIVES: name -> function dicts
- INITIALIZERS: He and Xavier (Glorot), normal and uniform
- optimisers with L2: SGD, Momentum, Adam (``update(params, grads)``)
- Sequential: fit (seeded shuffled minibatches, progress callback, stop) /
  predict_proba / activations / save / load / from_keras
- recipes.py: the builders mlp() and tutorial_cnn(), and RECIPES / train_recipe, the
  standard trainings on the 10k sample
- parallel.py (worker threads) and blas.py (BLAS threads): how training uses the cores
"""
from .activations import ACTIVATIONS, DERIVATIVES, HIDDEN_ACTIVATIONS
from .conv import Conv2D, MaxPool2D
from .init import INITIALIZERS
from .layers import Dense, Dropout, Flatten, Layer
from .losses import LOSS_DERIVATIVES, LOSSES
from .network import LAYERS, Sequential, load_keras_weights, random_shift
from .optimizers import OPTIMIZERS, SGD, Adam, Momentum, Optimizer
from .recipes import RECIPES, build_recipe_model, mlp, recipe_optimizer, train_recipe, tutorial_cnn

__all__ = [
    "ACTIVATIONS", "DERIVATIVES", "HIDDEN_ACTIVATIONS", "INITIALIZERS", "LAYERS", "LOSSES", "LOSS_DERIVATIVES",
    "OPTIMIZERS", "RECIPES", "Adam", "Conv2D", "Dense", "Dropout", "Flatten", "Layer", "MaxPool2D", "Momentum",
    "Optimizer", "SGD", "Sequential", "build_recipe_model", "load_keras_weights", "mlp", "random_shift",
    "recipe_optimizer", "train_recipe", "tutorial_cnn",
]
