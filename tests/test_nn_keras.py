"""Keras-trained weights run through the NumPy forward pass agree with Keras."""
import subprocess
import sys

import numpy as np
import pytest

from digitlab.nn import Sequential, load_keras_weights, mlp, tutorial_cnn


def test_digitlab_nn_does_not_import_tensorflow():
    code = "import sys, digitlab.nn, digitlab.tutorial_binary; assert 'tensorflow' not in sys.modules; " \
           "assert 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def keras():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])


def images(n=16, shape=(28, 28, 1), seed=1):
    return np.random.default_rng(seed).random((n,) + shape, dtype=np.float32)


def test_tutorial_cnn_matches_keras(keras):
    L = keras.layers
    km = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                           L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Dropout(0.25),
                           L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5),
                           L.Dense(10, activation="softmax")])
    randomize(km)
    X = images()
    ref = km.predict(X, verbose=0)
    ours = Sequential.from_keras(km)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in km.get_weights()]
    np.testing.assert_allclose(ours.predict_proba(X), ref, atol=1e-4)
    # same weights into our own tutorial_cnn()
    seq = load_keras_weights(tutorial_cnn(), km.get_weights())
    np.testing.assert_allclose(seq.predict_proba(X), ref, atol=1e-4)
    # intermediate feature maps agree too (conv2d_1 output, NHWC)
    sub = keras.Model(km.inputs, km.layers[1].output)
    np.testing.assert_allclose(dict(seq.activations(X[:4]))["conv2d_1"], sub.predict(X[:4], verbose=0), atol=1e-4)


def test_mlp_matches_keras(keras):
    L = keras.layers
    km = keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(128, activation="relu"),
                           L.Dense(10, activation="softmax")])
    randomize(km, 2)
    X = images()
    np.testing.assert_allclose(Sequential.from_keras(km).predict_proba(X), km.predict(X, verbose=0), atol=1e-4)
    np.testing.assert_allclose(load_keras_weights(mlp(), km.get_weights()).predict_proba(X),
                               km.predict(X, verbose=0), atol=1e-4)


def test_strides_and_same_padding_match_keras(keras):
    L = keras.layers
    km = keras.Sequential([keras.Input((15, 14, 3)), L.Conv2D(5, (3, 3), strides=2, padding="same", activation="tanh"),
                           L.Conv2D(4, (2, 3), strides=(1, 2), padding="same"),
                           L.MaxPooling2D(3, strides=2, padding="same"), L.Flatten(),
                           L.Dense(6, activation="sigmoid")])
    randomize(km, 3)
    X = images(8, (15, 14, 3))
    np.testing.assert_allclose(Sequential.from_keras(km).predict_proba(X), km.predict(X, verbose=0), atol=1e-5)
