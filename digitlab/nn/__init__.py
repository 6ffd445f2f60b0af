"""From-scratch NumPy neural networks (no TensorFlow): layers, activations, losses,
initialisers, optimisers and a Sequential model. See ``network.py``."""
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
