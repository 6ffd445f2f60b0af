"""digitlab.nn.reference, the plain maths, against the fast layers and against finite differences.

Every comparison is float64 with a stated tolerance, never bit for bit: the fast layers sum in
another order (chunked GEMMs, BLAS kernels that differ between machines).
"""
import numpy as np
import pytest

from digitlab.nn import ACTIVATIONS, DERIVATIVES, Conv2D, Dense, Flatten, MaxPool2D, Sequential
from digitlab.nn import reference as R
from digitlab.nn.losses import output_delta, sparse_cross_entropy
from tests.helpers import numeric_grad

FAST = dict(rtol=1e-9, atol=1e-12)  # reference vs fast layer: float64, different summation order
FD_TOL = 1e-6  # relative error of a backward against central differences


def rel_err(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def built(layer, input_shape, seed=0):
    """The fast layer built in float64 with random (not initialiser-sized) parameters."""
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, np.float64)
    for v in layer.params.values():
        v[...] = rng.normal(size=v.shape) * 0.5
    return layer


# ------------------------------------------------------------------ activations


def test_the_reference_has_every_activation_of_the_library():
    assert set(R.ACTIVATIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_equals_the_library(name):
    rng = np.random.default_rng(1)
    Z, dA = rng.normal(size=(4, 6)) * 2, rng.normal(size=(4, 6))
    g, g_backward = R.ACTIVATIONS[name]
    A = ACTIVATIONS[name](Z)
    np.testing.assert_allclose(g(Z), A, **FAST)
    np.testing.assert_allclose(g_backward(Z, dA), DERIVATIVES[name](A, dA), **FAST)  # the library's is in terms of A


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_backward_against_finite_differences(name):
    rng = np.random.default_rng(2)
    Z, dA = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    Z[np.abs(Z) < 1e-3] = 0.5  # away from relu's kink
    g, g_backward = R.ACTIVATIONS[name]
    assert rel_err(g_backward(Z, dA), numeric_grad(lambda: float(np.sum(g(Z) * dA)), Z)) < FD_TOL


# ------------------------------------------------------------------ Dense


def test_dense_equals_the_fast_layer():
    rng = np.random.default_rng(3)
    layer = built(Dense(4), (6,))
    X, dZ = rng.normal(size=(5, 6)), rng.normal(size=(5, 4))
    W, b = layer.params["W"], layer.params["b"]
    np.testing.assert_allclose(R.dense_forward(X, W, b), layer.forward(X, training=True), **FAST)
    dX, dW, db = R.dense_backward(X, W, dZ)
    np.testing.assert_allclose(dX, layer.backward(dZ), **FAST)
    np.testing.assert_allclose(dW, layer.grads["W"], **FAST)
    np.testing.assert_allclose(db, layer.grads["b"], **FAST)


def test_dense_backward_against_finite_differences():
    rng = np.random.default_rng(4)
    X, W, b, G = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=(3, 2))
    f = lambda: float(np.sum(R.dense_forward(X, W, b) * G))
    for analytic, x in zip(R.dense_backward(X, W, G), (X, W, b)):
        assert rel_err(analytic, numeric_grad(f, x)) < FD_TOL


# ------------------------------------------------------------------ Conv2D

CONV_CASES = [  # kernel, strides, padding, input (H, W, C), chunk, flat_rows_max: every fast path
    (3, 1, "valid", (6, 7, 2), None, 1.3),  # C < 4: patches kept from forward (K-major)
    (3, 1, "same", (5, 6, 4), 1, 100.0),  # dX by shifted GEMMs, one image per chunk
    (3, 1, "same", (5, 6, 4), 2, 0.0),  # dX by GEMM + col2im
    (3, 2, "valid", (7, 7, 5), None, 1.3),
    (3, 2, "same", (6, 7, 2), 1, 1.3),
    ((2, 3), (2, 1), "same", (6, 5, 4), 2, 1.3),
    (1, 1, "valid", (4, 4, 3), None, 1.3),
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kernel,strides,padding,shape,chunk,flat", CONV_CASES)
def test_conv2d_equals_the_fast_layer(kernel, strides, padding, shape, chunk, flat, workers):
    rng = np.random.default_rng(5)
    layer = Conv2D(3, kernel, strides, padding)
    layer.chunk, layer.flat_rows_max, layer.workers = chunk, flat, workers
    built(layer, shape)
    X = rng.normal(size=(3,) + shape)
    dZ = rng.normal(size=(3,) + layer.output_shape)
    W, b = layer.params["W"], layer.params["b"]
    np.testing.assert_allclose(R.conv2d_forward(X, W, b, layer.strides, padding), layer.forward(X, training=True),
                               **FAST)
    dX, dW, db = R.conv2d_backward(X, W, dZ, layer.strides, padding)
    np.testing.assert_allclose(dX, layer.backward_z(dZ), **FAST)
    np.testing.assert_allclose(dW, layer.grads["W"], **FAST)
    np.testing.assert_allclose(db, layer.grads["b"], **FAST)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_conv2d_with_its_activation_equals_the_fused_layer(activation):
    """The fast layer applies the activation (and its derivative) inside its chunk loop."""
    rng = np.random.default_rng(6)
    layer = built(Conv2D(4, 3, activation=activation), (6, 6, 4))
    X, dA = rng.normal(size=(2, 6, 6, 4)), rng.normal(size=(2, 4, 4, 4))
    g, g_backward = R.ACTIVATIONS[activation]
    W, b = layer.params["W"], layer.params["b"]
    Z = R.conv2d_forward(X, W, b)
    np.testing.assert_allclose(g(Z), layer.forward(X, training=True), **FAST)
    dX, dW, _ = R.conv2d_backward(X, W, g_backward(Z, dA))
    np.testing.assert_allclose(dX, layer.backward(dA), **FAST)
    np.testing.assert_allclose(dW, layer.grads["W"], **FAST)


@pytest.mark.parametrize("strides,padding", [((1, 1), "valid"), ((2, 1), "same")])
def test_conv2d_backward_against_finite_differences(strides, padding):
    rng = np.random.default_rng(7)
    X, W, b = rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3)
    G = rng.normal(size=R.conv2d_forward(X, W, b, strides, padding).shape)
    f = lambda: float(np.sum(R.conv2d_forward(X, W, b, strides, padding) * G))
    for analytic, x in zip(R.conv2d_backward(X, W, G, strides, padding), (X, W, b)):
        assert rel_err(analytic, numeric_grad(f, x)) < FD_TOL


# ------------------------------------------------------------------ MaxPool2D

POOL_CASES = [  # pool, strides, padding, input (H, W, C)
    (2, None, "valid", (4, 6, 2)),  # windows tiling the input: the fast path
    (2, None, "valid", (5, 5, 2)),  # a row and a column left over
    (3, 2, "valid", (7, 7, 1)),  # overlapping windows
    (2, None, "same", (5, 5, 2)),  # padded with -inf
    ((2, 3), (1, 2), "valid", (4, 7, 3)),
]


@pytest.mark.parametrize("pool,strides,padding,shape", POOL_CASES)
def test_maxpool_equals_the_fast_layer(pool, strides, padding, shape):
    rng = np.random.default_rng(8)
    layer = built(MaxPool2D(pool, strides, padding), shape)
    X = rng.normal(size=(3,) + shape)
    dY = rng.normal(size=(3,) + layer.output_shape)
    args = (layer.pool_size, layer.strides, padding)
    np.testing.assert_allclose(R.maxpool2d_forward(X, *args), layer.forward(X, training=True), **FAST)
    np.testing.assert_allclose(R.maxpool2d_backward(X, dY, *args), layer.backward(dY), **FAST)


def test_maxpool_gradient_goes_to_the_first_maximum():
    X = np.array([[3.0, 3.0], [1.0, 3.0]]).reshape(1, 2, 2, 1)  # a tie: three maxima
    dX = R.maxpool2d_backward(X, np.ones((1, 1, 1, 1)))
    assert dX.ravel().tolist() == [1.0, 0.0, 0.0, 0.0]
    layer = built(MaxPool2D(2), (2, 2, 1))
    layer.forward(X, training=True)
    np.testing.assert_allclose(dX, layer.backward(np.ones((1, 1, 1, 1))), **FAST)


@pytest.mark.parametrize("pool,strides,padding,shape", [POOL_CASES[0], POOL_CASES[2], POOL_CASES[3]])
def test_maxpool_backward_against_finite_differences(pool, strides, padding, shape):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(2,) + shape)  # no ties: the max is differentiable there
    size = (pool, pool)
    stride = size if strides is None else (strides, strides)
    G = rng.normal(size=R.maxpool2d_forward(X, size, stride, padding).shape)
    f = lambda: float(np.sum(R.maxpool2d_forward(X, size, stride, padding) * G))
    assert rel_err(R.maxpool2d_backward(X, G, size, stride, padding), numeric_grad(f, X)) < FD_TOL


# ------------------------------------------------------------------ softmax cross-entropy


def test_softmax_cross_entropy_equals_the_library():
    rng = np.random.default_rng(10)
    Z, y = rng.normal(size=(6, 4)) * 2, rng.integers(0, 4, 6)
    P = R.softmax(Z)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, **FAST)
    np.testing.assert_allclose(R.cross_entropy(P, y), sparse_cross_entropy(P, y), **FAST)
    np.testing.assert_allclose(R.softmax_cross_entropy_backward(Z, y), output_delta(P, y), **FAST)


def test_softmax_cross_entropy_backward_is_the_chain_rule():
    """Against finite differences, and against softmax_backward of d(-mean log p[y])/dP."""
    rng = np.random.default_rng(11)
    Z, y = rng.normal(size=(5, 3)), rng.integers(0, 3, 5)
    dZ = R.softmax_cross_entropy_backward(Z, y)
    assert rel_err(dZ, numeric_grad(lambda: R.cross_entropy(R.softmax(Z), y), Z)) < FD_TOL
    dP = -np.eye(3)[y] / R.softmax(Z) / len(Z)
    np.testing.assert_allclose(R.softmax_backward(Z, dP), dZ, **FAST)


# ------------------------------------------------------------------ a whole small CNN


def test_a_small_cnn_equals_the_reference_chain():
    """Conv(relu) - MaxPool - Flatten - Dense(softmax) through Sequential, which fuses the pool
    into the conv's chunk loop forward and backward (two workers), against the plain chain."""
    rng = np.random.default_rng(12)
    model = Sequential([Conv2D(3, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(4, "softmax")],
                       input_shape=(10, 10, 2), seed=0, dtype=np.float64, workers=2)
    model.layers[0].chunk = 2
    model.layers[0].build((10, 10, 2), rng, np.float64)  # chunk 2 of 5 images: several chunks per worker
    X, y = rng.normal(size=(5, 10, 10, 2)), rng.integers(0, 4, 5)
    conv, dense = model.layers[0], model.layers[3]
    P = model.forward(X, training=True)
    model.backward(output_delta(P, y))

    Z1 = R.conv2d_forward(X, conv.params["W"], conv.params["b"])  # (5, 8, 8, 3)
    A1 = R.relu(Z1)
    A2 = R.maxpool2d_forward(A1)  # (5, 4, 4, 3)
    Z3 = R.dense_forward(A2.reshape(5, -1), dense.params["W"], dense.params["b"])
    np.testing.assert_allclose(R.softmax(Z3), P, **FAST)
    dA2, dW3, db3 = R.dense_backward(A2.reshape(5, -1), dense.params["W"], R.softmax_cross_entropy_backward(Z3, y))
    dZ1 = R.relu_backward(Z1, R.maxpool2d_backward(A1, dA2.reshape(A2.shape)))
    _, dW1, db1 = R.conv2d_backward(X, conv.params["W"], dZ1)
    for ref, fast in ((dW3, dense.grads["W"]), (db3, dense.grads["b"]), (dW1, conv.grads["W"]),
                      (db1, conv.grads["b"])):
        np.testing.assert_allclose(ref, fast, **FAST)
