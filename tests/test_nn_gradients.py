"""Finite-difference gradient checks (float64, relative error < 1e-6) for every
activation, loss and layer, and for a whole small network."""
import numpy as np
import pytest

from digitlab.nn import (ACTIVATIONS, DERIVATIVES, LOSS_DERIVATIVES, LOSSES, Conv2D, Dense, Dropout, Flatten,
                         MaxPool2D, Sequential)
from digitlab.nn.losses import output_delta, sparse_cross_entropy
from tests.helpers import numeric_grad

TOL = 1e-6


def rel_err(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative(name):
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(4, 5))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep away from relu's kink
    G = rng.normal(size=Z.shape)
    A = ACTIVATIONS[name](Z)
    analytic = DERIVATIVES[name](A, G)
    numeric = numeric_grad(lambda: float(np.sum(ACTIVATIONS[name](Z) * G)), Z)
    assert rel_err(analytic, numeric) < TOL


def test_activations_keep_dtype_and_sigmoid_does_not_overflow():
    z = np.array([-1000.0, 0.0, 1000.0], np.float32)
    for name, f in ACTIVATIONS.items():
        out = f(z[None, :])
        assert out.dtype == np.float32, name
    with np.errstate(over="raise"):
        s = ACTIVATIONS["sigmoid"](z)
    assert s[0] == 0 and s[1] == 0.5 and s[2] == 1


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_derivative(name):
    rng = np.random.default_rng(2)
    if name == "binary_cross_entropy":
        P = rng.uniform(0.1, 0.9, size=(6, 1))
        Y = rng.integers(0, 2, size=(6, 1)).astype(float)
    else:
        P = ACTIVATIONS["softmax"](rng.normal(size=(6, 4)))
        Y = np.eye(4)[rng.integers(0, 4, 6)]
    analytic = LOSS_DERIVATIVES[name](P, Y)
    numeric = numeric_grad(lambda: LOSSES[name](P, Y), P)
    assert rel_err(analytic, numeric) < TOL


@pytest.mark.parametrize("out", ["softmax", "sigmoid"])
def test_fused_output_delta_is_the_chain_rule(out):
    rng = np.random.default_rng(3)
    k = 4 if out == "softmax" else 1
    Z = rng.normal(size=(5, k))
    y = rng.integers(0, max(k, 2), 5)
    numeric = numeric_grad(lambda: sparse_cross_entropy(ACTIVATIONS[out](Z), y), Z)
    assert rel_err(output_delta(ACTIVATIONS[out](Z), y), numeric) < TOL


def check_layer(layer, input_shape, n=2, seed=0, order="C"):
    """dX and every dParam of sum(layer(X) * G) against central differences."""
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, np.float64)
    for v in layer.params.values():
        v[...] = rng.normal(size=v.shape) * 0.5
    X = np.asarray(rng.normal(size=(n,) + tuple(input_shape)), order=order)
    G = rng.normal(size=(n,) + tuple(layer.output_shape))
    drop_seed = 123

    def f():
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(drop_seed)
        return float(np.sum(layer.forward(X, training=True) * G))

    f()
    dX = layer.backward(G)
    assert dX.shape == X.shape
    assert rel_err(dX, numeric_grad(f, X)) < TOL
    f()
    layer.backward(G)
    for k, p in layer.params.items():
        analytic = layer.grads[k].copy()
        assert rel_err(analytic, numeric_grad(f, p)) < TOL, k


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_dense(activation):
    check_layer(Dense(3, activation), (5,), n=4)


@pytest.mark.parametrize("kernel,strides,padding", [
    (3, 1, "valid"), (3, 1, "same"), (3, 2, "valid"), (3, 2, "same"), ((2, 3), (2, 1), "same"), (1, 1, "valid"),
])
def test_conv2d(kernel, strides, padding):
    check_layer(Conv2D(3, kernel, strides, padding, activation="tanh"), (6, 7, 2))


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("kernel,padding,shape,n,chunk,order", [
    (3, "valid", (6, 7, 5), 3, 1, "C"),  # C >= 4, several chunks, the last one smaller (chunk 2 below)
    (5, "valid", (7, 8, 4), 3, 2, "C"),  # a 5x5 kernel
    (3, "same", (5, 6, 4), 2, None, "F"),  # an input that is not C-ordered
    ((2, 3), "same", (6, 5, 3), 3, 2, "C"),
])
def test_conv2d_dx_both_ways(flat, kernel, padding, shape, n, chunk, order):
    """Stride 1: dX by shifted GEMMs (flat) and by GEMM + col2im agree with finite differences."""
    layer = Conv2D(3, kernel, 1, padding, activation="relu")
    layer.flat_rows_max = 100.0 if flat else 0.0
    layer.chunk = chunk
    check_layer(layer, shape, n=n, order=order)


def test_conv2d_relu_chunked():
    """Several im2col chunks (tiny chunk size) give the same gradients."""
    layer = Conv2D(2, 3, activation="relu")
    layer.chunk = 1
    check_layer(layer, (5, 5, 2), n=3)


@pytest.mark.parametrize("pool,strides,padding,shape", [
    (2, None, "valid", (4, 6, 2)), (2, None, "valid", (5, 5, 2)), (3, 2, "valid", (7, 7, 1)),
    (2, None, "same", (5, 5, 2)), (2, 1, "valid", (4, 4, 3)),
])
def test_maxpool(pool, strides, padding, shape):
    check_layer(MaxPool2D(pool, strides, padding), shape)
    layer = MaxPool2D(pool, strides, padding)
    layer.workers = 2
    check_layer(layer, shape, n=32)  # batch split over two threads


def test_flatten():
    check_layer(Flatten(), (3, 4, 2))


def test_dropout():
    check_layer(Dropout(0.4), (10,), n=5)


def test_whole_network_gradients():
    """A small CNN with every layer kind, softmax + cross-entropy, float64."""
    model = Sequential([Conv2D(2, 3, 2, "same", "relu"), Conv2D(3, 2, activation="tanh"), MaxPool2D(2),
                        Flatten(), Dense(5, "sigmoid"), Dense(4, "softmax")],
                       input_shape=(8, 8, 1), seed=0, dtype=np.float64)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3, 8, 8, 1))
    y = np.array([0, 3, 1])

    def f():
        return sparse_cross_entropy(model.forward(X, training=True), y)

    model.backward(output_delta(model.forward(X, training=True), y))
    for layer in model.layers:
        for k, p in layer.params.items():
            analytic = layer.grads[k].copy()
            assert rel_err(analytic, numeric_grad(f, p)) < TOL, (layer.name, k)


def test_conv_worker_threads_give_the_same_results():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 10, 10, 3))
    G = rng.normal(size=(9, 8, 8, 4))
    out = []
    for workers in (1, 2):
        layer = Conv2D(4, 3, activation="relu")
        layer.chunk, layer.workers = 2, workers
        layer.build((10, 10, 3), np.random.default_rng(1), np.float64)
        A = layer.forward(X, training=True)
        out.append((A, layer.backward(G), layer.grads["W"].copy(), layer.grads["b"].copy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_dense_split_gemm_gives_the_same_results():
    rng = np.random.default_rng(0)
    X, G = rng.normal(size=(64, 300)), rng.normal(size=(64, 300))
    out = []
    for workers in (1, 2):
        layer = Dense(300, "relu")
        layer.workers = workers
        layer.build((300,), np.random.default_rng(1), np.float64)
        A = layer.forward(X, training=True)
        out.append((A, layer.backward(G), layer.grads["W"].copy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("workers,size", [(1, 10), (2, 10), (2, 9)])
def test_conv_relu_pool_fused_gradients(workers, size):
    """Conv(relu) then MaxPool, the path tutorial_cnn trains with: the pool's backward (relu' on its
    small dY) runs inside the conv's chunk loop when the windows tile the map (10: an 8x8 map),
    and separately when they don't (9: 7x7). Gradients by finite differences."""
    model = Sequential([Conv2D(3, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(4, "softmax")],
                       input_shape=(size, size, 2), seed=0, dtype=np.float64, workers=workers)
    model.layers[0].chunk = 2
    model.layers[0].build((size, size, 2), np.random.default_rng(0), np.float64)
    model._flatten_params()
    model._threads()
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5, size, size, 2))
    y = np.array([0, 3, 1, 2, 1])

    def f():
        return sparse_cross_entropy(model.forward(X, training=True), y)

    model.backward(output_delta(model.forward(X, training=True), y))
    assert model.layers[1].fusable(model.layers[0]._A) == (size == 10)
    for layer in model.layers:
        for k, p in layer.params.items():
            analytic = layer.grads[k].copy()
            assert rel_err(analytic, numeric_grad(f, p)) < TOL, (layer.name, k)


def test_pool_gradient_goes_to_the_first_maximum_of_a_tie():
    """Conv(relu) + pool (relu' applied on the pooled dY) and a linear conv + pool send a tied
    window's gradient to the same, first, position (TensorFlow's choice)."""
    X = np.zeros((2, 4, 4, 3), np.float32)  # relu(0 + 1) everywhere: every window a 4-way tie
    X[0, 1, 1, 0] = 5.0  # one window with a single maximum in the last position
    grads = []
    for fused in (True, False):
        conv = Conv2D(3, 1, activation="relu" if fused else "linear")
        pool = MaxPool2D(2)
        conv.build((4, 4, 3), None, np.float32)
        pool.build(conv.output_shape)
        conv.params["W"][...] = np.eye(3, dtype=np.float32)
        conv.params["b"][...] = 1.0
        P = conv.forward_pool(X, True, pool)
        dP = np.arange(1, P.size + 1, dtype=np.float32).reshape(P.shape)
        dX = pool.backward(dP, relu=fused)
        grads.append(dX)
        assert np.count_nonzero(dX) == P.size  # one position per window and channel
        assert dX[0, 0, 0, 0] == 0 and dX[0, 1, 1, 0] == dP[0, 0, 0, 0]  # the strict maximum
        assert dX[0, 0, 0, 1] == dP[0, 0, 0, 1]  # a tie: the first position
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("rate", [0.25, 0.5, 0.3])  # 0.25, 0.5: one random byte per unit; 0.3: floats
def test_dropout_drops_its_rate_and_scales_the_rest(rate):
    layer = Dropout(rate)
    layer.build((13, 7, 3))  # 273 units per sample: not a multiple of 8
    X = np.ones((200, 13, 7, 3), np.float32)
    layer.rng = np.random.default_rng(4)
    A = layer.forward(X, training=True)
    n = A.size
    dropped = np.count_nonzero(A == 0) / n
    assert abs(dropped - rate) < 4 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(np.unique(A), [0.0, 1 / (1 - rate)], rtol=1e-6)
    # every position is dropped sometimes and kept sometimes (no stuck bytes)
    assert A.min(axis=0).max() == 0 and A.max(axis=0).min() > 0
    G = np.random.default_rng(5).random(X.shape, dtype=np.float32)
    np.testing.assert_array_equal(layer.backward(G) == 0, A == 0)  # the same mask backward
    layer.rng = np.random.default_rng(4)
    np.testing.assert_array_equal(layer.forward(X, training=True), A)  # seeded
    assert layer.forward(X, training=False) is X


@pytest.mark.parametrize("flat,padding,workers,first_act", [
    (True, "valid", 1, "relu"), (True, "valid", 2, "relu"), (False, "valid", 2, "relu"),
    (True, "same", 2, "relu"), (False, "same", 1, "tanh"),
])
def test_conv_conv_pool_gradients_as_trained(flat, padding, workers, first_act):
    """tutorial_cnn's shape, Conv - Conv(relu) - MaxPool - ..., as fit runs it (the first conv
    sends no dX back; the second conv's chunks apply the pool's backward): finite
    differences, and the same numbers when the first conv does compute its dX."""
    def build():
        m = Sequential([Conv2D(3, 3, activation=first_act), Conv2D(4, 3, padding=padding, activation="relu"),
                        MaxPool2D(2), Flatten(), Dense(3, "softmax")],
                       input_shape=(10, 10, 1) if padding == "valid" else (8, 8, 1), seed=1, dtype=np.float64,
                       workers=workers)
        m._threads()
        m.layers[1].chunk, m.layers[1].flat_rows_max = 2, (100.0 if flat else 0.0)
        m.layers[1]._chunk = 2
        return m

    rng = np.random.default_rng(7)
    model = build()
    X = rng.normal(size=(5,) + model.input_shape)
    y = np.array([0, 2, 1, 2, 0])

    def f():
        return sparse_cross_entropy(model.forward(X, training=True), y)

    model.layers[0].need_dx = False
    model.backward(output_delta(model.forward(X, training=True), y))
    fused = [l.grads[k].copy() for l in model.layers for k in l.PARAMS]
    for layer in model.layers:
        for k, p in layer.params.items():
            assert rel_err(layer.grads[k].copy(), numeric_grad(f, p)) < TOL, (layer.name, k)
    model.layers[0].need_dx = True  # the first conv sends dX back: nothing fused
    model.backward(output_delta(model.forward(X, training=True), y))
    for a, (l, k) in zip(fused, model._param_refs()):
        np.testing.assert_allclose(a, l.grads[k], rtol=1e-10, atol=1e-12)
