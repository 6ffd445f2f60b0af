"""Weight initialisers: ``INITIALIZERS[name](shape, fan_in, fan_out, rng, dtype)``.

He (Kaiming) for ReLU layers: Var = 2 / fan_in. Xavier (Glorot) for sigmoid, tanh
and softmax layers: Var = 2 / (fan_in + fan_out). For a conv kernel (kh, kw, cin,
cout), fan_in = kh·kw·cin and fan_out = kh·kw·cout, as in Keras.
"""
from __future__ import annotations

import numpy as np


def he_normal(shape, fan_in, fan_out, rng, dtype=np.float32):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def he_uniform(shape, fan_in, fan_out, rng, dtype=np.float32):
    lim = np.sqrt(6.0 / fan_in)
    return rng.uniform(-lim, lim, shape).astype(dtype)


def xavier_normal(shape, fan_in, fan_out, rng, dtype=np.float32):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def xavier_uniform(shape, fan_in, fan_out, rng, dtype=np.float32):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape).astype(dtype)


def zeros(shape, fan_in=0, fan_out=0, rng=None, dtype=np.float32):
    return np.zeros(shape, dtype)


INITIALIZERS = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,  # = Keras' default glorot_uniform
    "glorot_uniform": xavier_uniform,
    "zeros": zeros,
}


def default_for(activation: str) -> str:
    """He for ReLU, Xavier otherwise."""
    return "he_normal" if activation == "relu" else "xavier_uniform"
