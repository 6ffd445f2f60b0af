"""Hand-worked update steps, seeded short training runs, callbacks/stop, save/load."""
import json

import numpy as np
import pytest

from digitlab import evaluation
from digitlab.data import load_idx, load_sample, to_float
from digitlab.nn import SGD, Adam, Conv2D, Dense, Flatten, MaxPool2D, Momentum, Sequential, mlp, tutorial_cnn
from digitlab.nn.layers import Dropout

DATA = evaluation.test_data_dir()  # $DIGITLAB_TEST_DATA, default ../shared/data
TEST_IMAGES = DATA / "t10k-images-idx3-ubyte.gz"


@pytest.fixture(scope="module")
def sample():
    ds = load_sample()
    return to_float(ds.images)[..., None], ds.labels


@pytest.fixture(scope="module")
def official_test():
    if not TEST_IMAGES.is_file():
        pytest.skip(f"official MNIST test set missing at {TEST_IMAGES}")
    ds = load_idx(TEST_IMAGES)
    return to_float(ds.images)[..., None], ds.labels


def tiny_model():
    m = Sequential([Dense(2, "softmax")], input_shape=(2,))
    m.set_weights([np.array([[0.1, 0.2], [0.3, 0.4]], np.float32), np.zeros(2, np.float32)])
    return m


def test_hand_worked_sgd_step():
    """X = [1, 2], y = 0. Z = X W = [0.7, 1.0]; softmax p = [0.425557, 0.574443];
    dZ = p - [1, 0] = [-0.574443, 0.574443]; dW = Xᵀ dZ; one SGD step with lr 0.1."""
    m = tiny_model()
    m.fit(np.array([[1.0, 2.0]], np.float32), np.array([0]), epochs=1, batch_size=1, optimizer=SGD(lr=0.1))
    W, b = m.get_weights()
    g = 0.574443
    np.testing.assert_allclose(W, [[0.1 + 0.1 * g, 0.2 - 0.1 * g], [0.3 + 0.2 * g, 0.4 - 0.2 * g]], atol=1e-6)
    np.testing.assert_allclose(b, [0.1 * g, -0.1 * g], atol=1e-6)


def test_hand_worked_adam_and_momentum_first_steps():
    # Adam's first step moves every weight by lr · sign(g) (m̂/√v̂ = g/|g|)
    m = tiny_model()
    W0 = m.get_weights()[0]
    m.fit(np.array([[1.0, 2.0]], np.float32), np.array([0]), epochs=1, batch_size=1, optimizer=Adam(lr=0.01))
    np.testing.assert_allclose(m.get_weights()[0] - W0, [[0.01, -0.01], [0.01, -0.01]], atol=1e-6)
    # momentum's first step is an SGD step; L2 adds l2·W to the weights' gradient only
    m = tiny_model()
    m.fit(np.array([[1.0, 2.0]], np.float32), np.array([0]), epochs=1, batch_size=1,
          optimizer=Momentum(lr=0.1, momentum=0.9, l2=0.5))
    W, b = m.get_weights()
    g = 0.574443
    np.testing.assert_allclose(W[0, 0], 0.1 - 0.1 * (-g + 0.5 * 0.1), atol=1e-6)
    np.testing.assert_allclose(b, [0.1 * g, -0.1 * g], atol=1e-6)


def test_adam_many_steps_match_the_textbook_formula():
    # the 10-pass form (scaled moments) against Kingma & Ba in float64, 30 steps, with L2 and
    # gradients that change sign and size (including exact zeros, where the update is 0)
    rng = np.random.default_rng(3)
    shapes = [(7, 5), (5,)]
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ref = [p.astype(np.float64) for p in params]
    m_ref, v_ref = [np.zeros_like(r) for r in ref], [np.zeros_like(r) for r in ref]
    opt = Adam(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-3, l2=0.1)
    b1, b2 = 0.8, 0.99
    for t in range(1, 31):
        grads = [(rng.standard_normal(s) * 10.0 ** rng.integers(-3, 2)).astype(np.float32) for s in shapes]
        grads[0][0] = 0.0
        opt.update(params, grads, [True, False])
        for i, (r, g) in enumerate(zip(ref, grads)):
            g = g.astype(np.float64) + (0.1 * r if i == 0 else 0.0)
            m_ref[i] = b1 * m_ref[i] + (1 - b1) * g
            v_ref[i] = b2 * v_ref[i] + (1 - b2) * g * g
            r -= 0.02 * np.sqrt(1 - b2**t) / (1 - b1**t) * m_ref[i] / (np.sqrt(v_ref[i]) + 1e-3)
        for i in range(2):
            np.testing.assert_allclose(params[i], ref[i], rtol=1e-5, atol=1e-6)
            m, v = opt.moments(i)
            np.testing.assert_allclose(m, m_ref[i], rtol=1e-4, atol=1e-7)
            np.testing.assert_allclose(v, v_ref[i], rtol=1e-4, atol=1e-9)


def test_momentum_second_step():
    p, g = np.array([1.0], np.float32), np.array([2.0], np.float32)
    opt = Momentum(lr=0.1, momentum=0.9)
    opt.update([p], [g])  # v = -0.2, p = 0.8
    opt.update([p], [g])  # v = 0.9·(-0.2) - 0.2 = -0.38, p = 0.42
    np.testing.assert_allclose(p, [0.42], atol=1e-6)


def test_float32_throughout(sample):
    X, y = sample
    m = tutorial_cnn()
    assert all(w.dtype == np.float32 for w in m.get_weights())
    assert m.predict_proba(X[:3]).dtype == np.float32
    assert all(a.dtype == np.float32 for _, a in m.activations(X[:2]))


def test_mlp_trains_seeded(sample):
    X, y = sample
    kw = dict(epochs=3, batch_size=64, X_val=X[8000:9000], y_val=y[8000:9000], seed=1)
    m1, m2 = mlp(seed=3), mlp(seed=3)
    m1.blas_threads = m2.blas_threads = 1  # bits are promised for one fixed thread count (a tuned fit may switch)
    h1, h2 = m1.fit(X[:3000], y[:3000], **kw), m2.fit(X[:3000], y[:3000], **kw)
    assert h1 == h2  # same seeds, same run
    assert h1["val_accuracy"][-1] > 0.88
    assert h1["loss"][-1] < h1["loss"][0]


def test_cnn_trains_on_small_subset(sample, official_test):
    X, y = sample
    Xt, yt = official_test
    m = tutorial_cnn(seed=0)
    h = m.fit(X[:1000], y[:1000], epochs=2, batch_size=32, seed=0)  # 86% measured
    loss, acc = m.evaluate(Xt[:1000], yt[:1000])
    assert acc > 0.8, h
    assert h["loss"][1] < h["loss"][0]


def test_other_architectures_train(sample):
    X, y = sample
    m = Sequential([Conv2D(8, 3, 2, "same", "relu"), MaxPool2D(2), Flatten(), Dropout(0.1), Dense(32, "tanh"),
                    Dense(10, "softmax")], seed=0)
    h = m.fit(X[:2000], y[:2000], epochs=3, batch_size=32, optimizer=Momentum(0.05), X_val=X[9000:],
              y_val=y[9000:])
    assert h["val_accuracy"][-1] > 0.8
    m = mlp((64, 32), activation="sigmoid", seed=0)
    h = m.fit(X[:2000], y[:2000], epochs=4, batch_size=32, optimizer=Adam(1e-2, l2=1e-4), X_val=X[9000:],
              y_val=y[9000:])
    assert h["val_accuracy"][-1] > 0.8


def test_callback_events_and_stop(sample):
    X, y = sample
    events = []
    mlp().fit(X[:1000], y[:1000], epochs=2, batch_size=250, X_val=X[1000:1200], y_val=y[1000:1200],
              callback=events.append)
    batch = [e for e in events if e["type"] == "batch"]
    epoch = [e for e in events if e["type"] == "epoch"]
    assert len(batch) == 8 and len(epoch) == 2
    assert set(batch[0]) == {"type", "epoch", "batch", "n_batches", "loss", "accuracy", "samples_per_s"}
    assert (batch[0]["epoch"], batch[0]["batch"], batch[0]["n_batches"]) == (1, 1, 4)
    assert set(epoch[0]) == {"type", "epoch", "epochs", "loss", "accuracy", "val_loss", "val_accuracy",
                             "samples_per_s", "seconds"}
    assert epoch[1]["epochs"] == 2 and 0 <= epoch[1]["val_accuracy"] <= 1
    assert all(isinstance(e["loss"], float) for e in events)

    events.clear()
    h = mlp().fit(X[:1000], y[:1000], epochs=50, batch_size=100, callback=events.append,
                  should_stop=lambda: sum(e["type"] == "batch" for e in events) >= 3)
    assert h["stopped"] is True
    assert sum(e["type"] == "batch" for e in events) == 3 and h["loss"] == []
    h = mlp().fit(X[:100], y[:100], epochs=1)
    assert h["stopped"] is False and h["val_loss"] == [None] and h["val_accuracy"] == [None]


def test_save_load_round_trip(tmp_path, sample):
    X, _ = sample
    m = tutorial_cnn(seed=7)
    m.save(tmp_path / "cnn")
    assert sorted(p.name for p in (tmp_path / "cnn").iterdir()) == ["architecture.json", "weights.npz"]
    with np.load(tmp_path / "cnn" / "weights.npz", allow_pickle=False) as z:
        assert len(z.files) == 8
    json.loads((tmp_path / "cnn" / "architecture.json").read_text())
    m2 = Sequential.load(tmp_path / "cnn")
    np.testing.assert_array_equal(m.predict_proba(X[:20]), m2.predict_proba(X[:20]))
    m3 = Sequential.from_config(m.to_config())
    m3.set_weights(m.get_weights())
    np.testing.assert_array_equal(m.predict_proba(X[:5]), m3.predict_proba(X[:5]))
    assert m2.to_config() == m.to_config()


def test_shapes_names_and_inputs(sample):
    X, _ = sample
    m = tutorial_cnn()
    acts = m.activations(X[:2])
    assert [n for n, _ in acts] == ["conv2d", "conv2d_1", "max_pooling2d", "dropout", "flatten", "dense",
                                    "dropout_1", "dense_1"]
    assert [a.shape for _, a in acts][:3] == [(2, 26, 26, 32), (2, 24, 24, 64), (2, 12, 12, 64)]
    assert [w.shape for w in m.get_weights()] == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (9216, 128),
                                                   (128,), (128, 10), (10,)]
    P = m.predict_proba(X[:300])
    assert P.shape == (300, 10) and np.allclose(P.sum(1), 1, atol=1e-5)
    # uint8 images and (n, 28, 28) are accepted too
    ds = load_sample()
    np.testing.assert_allclose(m.predict_proba(ds.images[:4]), P[:4], atol=1e-6)
    assert mlp().predict_proba(X[:3, :, :, 0]).shape == (3, 10)


def test_conv_matches_naive_loops():
    rng = np.random.default_rng(0)
    for strides, padding in [(1, "valid"), (2, "same"), (2, "valid")]:
        layer = Conv2D(4, 3, strides, padding)
        layer.build((7, 8, 3), rng)
        X = rng.normal(size=(2, 7, 8, 3)).astype(np.float32)
        out = layer.forward(X)
        W = layer.params["W"]
        if padding == "same":
            Ho, Wo = -(-7 // strides), -(-8 // strides)
            ph, pw = max((Ho - 1) * strides + 3 - 7, 0), max((Wo - 1) * strides + 3 - 8, 0)
            X = np.pad(X, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
        ref = np.zeros(out.shape, np.float64)
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                patch = X[:, i * strides : i * strides + 3, j * strides : j * strides + 3, :]
                ref[:, i, j] = np.einsum("nhwc,hwcf->nf", patch, W)
        np.testing.assert_allclose(out, ref, atol=1e-5)


def test_blas_tuner_keeps_the_faster_thread_count_and_measures_again():
    from digitlab.nn.blas import BlasTuner
    tuner = BlasTuner((1, 2), block=2, rounds=2, every=5)
    tuner._libs = []  # no BLAS library touched: only the schedule is tested here
    speed = {1: 1.0, 2: 0.5}  # seconds per batch: 2 threads faster

    def run(n_batches):
        used = []
        for _ in range(n_batches):
            n = tuner.threads()
            used.append(n)
            tuner.record(n, speed[n], 128)
        return used

    used = run(8)  # the trial: 1,1,2,2,1,1,2,2
    assert used == [1, 1, 2, 2, 1, 1, 2, 2] and tuner.best == 2
    assert run(5) == [2] * 5
    speed[2] = 3.0  # the other core got busy: the next trial picks 1
    assert run(8) == [1, 1, 2, 2, 1, 1, 2, 2] and tuner.best == 1
    assert run(5) == [1] * 5


def test_fit_tries_one_and_two_blas_threads_for_dense_nets_only(monkeypatch, sample):
    from threadpoolctl import threadpool_info

    from digitlab.nn import network
    monkeypatch.setattr(network, "cpus", lambda: 2)
    X, y = sample
    seen = []
    # NumPy's own OpenBLAS (SciPy, loaded by scikit-learn in other tests, has its own and isn't used here)
    def numpy_blas_threads():
        libs = [i for i in threadpool_info() if i["user_api"] == "blas"]
        return next((i for i in libs if "numpy" in i["filepath"]), libs[0])["num_threads"]

    cb = lambda e: seen.append(numpy_blas_threads()) if e["type"] == "batch" else None
    m = mlp(hidden=(16,), seed=0)
    m.fit(X[:640], y[:640], epochs=2, batch_size=32, callback=cb)
    assert set(seen) == {1, 2} and sum(m.last_fit_threads.values()) == 40
    assert m.last_fit_threads[1] >= 8 and m.last_fit_threads[2] >= 8
    m.fit(X[:320], y[:320], epochs=1, batch_size=32)  # the next fit goes on with the choice, no new trial
    assert sorted(m.last_fit_threads.values()) == [0, 10]
    seen.clear()
    m = mlp(hidden=(16,), seed=0)
    m.blas_threads = 1  # a fixed count is kept
    m.fit(X[:320], y[:320], epochs=1, batch_size=32, callback=cb)
    assert set(seen) == {1} and m.last_fit_threads == {1: 10}
    seen.clear()
    c = Sequential([Conv2D(2, 3, activation="relu"), Flatten(), Dense(10, "softmax")], seed=0)
    c.fit(X[:64], y[:64], epochs=1, batch_size=32, callback=cb)
    assert set(seen) == {1}


def _fit_with_threads(X, y, n, *, tuned):
    """A 784-600-600-10 MLP fitted one epoch (batches of 520, 520, 60: inner dimensions that
    OpenBLAS cuts differently with 1 and 2 threads) with ``n`` BLAS threads, fixed or forced
    through the tuner."""
    from digitlab.nn.blas import BlasTuner
    m = mlp(hidden=(600, 600), seed=0)
    if tuned:
        m._tuner = BlasTuner((1, 2))
        m._tuner.trial, m._tuner.best = [], n
    else:
        m.blas_threads = n
    m.fit(X[:1100], y[:1100], epochs=1, batch_size=520, seed=0)
    assert m.last_fit_threads[n] == 3
    return m.get_weights()


@pytest.mark.parametrize("n", [1, 2])
def test_a_seeded_fit_with_a_fixed_thread_count_gives_the_same_bits(sample, n):
    # the library's promise (README, "Reproducibility"): one machine, one BLAS thread count,
    # the same seed -> the same bits, whatever BLAS kernel the machine runs
    X, y = sample
    a, b = _fit_with_threads(X, y, n, tuned=False), _fit_with_threads(X, y, n, tuned=False)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)


def test_a_tuned_fit_agrees_with_either_thread_count_to_rounding(sample):
    # BlasTuner picks 1 or 2 threads by timing: the weights then differ in the last bits
    # (OpenBLAS sums long inner dimensions differently), never by more than rounding
    X, y = sample
    one, two = _fit_with_threads(X, y, 1, tuned=True), _fit_with_threads(X, y, 2, tuned=True)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_adam_with_lr_zero_leaves_the_weights_alone():
    p = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    opt = Adam(lr=0.0)
    opt.update([p], [np.array([0.0, 1.0, -2.0, 0.0], np.float32)])
    np.testing.assert_array_equal(p, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(opt.moments(0)[0], [0.0, 0.1, -0.2, 0.0], rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, l2=0.01), lambda: Momentum(0.1, 0.9), lambda: Adam(1e-2, l2=0.01)])
def test_optimizers_give_the_same_bits_with_two_workers(make):
    # large arrays are cut into parts updated by two threads: elementwise, so nothing may change
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(300_001).astype(np.float32), rng.standard_normal(7).astype(np.float32)]
    out = []
    for workers in (1, 2):
        ps, opt = [p.copy() for p in params], make()
        for t in range(3):
            grads = [np.random.default_rng(t).standard_normal(p.size).astype(np.float32) for p in ps]
            opt.update(ps, grads, [True, False], workers=workers)
        out.append(ps)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(out[0][0], params[0])


@pytest.mark.parametrize("make", [lambda: SGD(0.1, l2=0.05), lambda: Momentum(0.1, l2=0.05), lambda: Adam(0.01, l2=0.05)])
def test_l2_on_a_slice_of_one_flat_array_equals_l2_on_the_weights_array(make):
    """A model's parameters are one flat buffer (weights, then biases) with decay=[slice]:
    L2 must reach exactly the weights' part, as with separate arrays and [True, False]."""
    rng = np.random.default_rng(3)
    w, b = rng.standard_normal(40).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    flat = np.concatenate([w, b])
    two, one = make(), make()
    for _ in range(5):
        gw, gb = rng.standard_normal(40).astype(np.float32), rng.standard_normal(6).astype(np.float32)
        two.update([w, b], [gw, gb], [True, False])
        g = np.concatenate([gw, gb])
        one.update([flat], [g], [slice(0, 40)])
        np.testing.assert_array_equal(g, np.concatenate([gw, gb]))  # the gradient itself is left alone
    np.testing.assert_array_equal(flat, np.concatenate([w, b]))


def test_a_model_keeps_its_parameters_in_one_buffer_and_decays_only_kernels():
    net = mlp(hidden=(16,), seed=0)
    (P,), (G,), (decay,) = net._flat_p, net._flat_g, net._decay
    assert P.size == net.n_params()
    kernels = [l.params["W"] for l in net.layers if l.PARAMS]
    biases = [l.params["b"] for l in net.layers if l.PARAMS]
    assert all(np.shares_memory(a, P) for a in kernels + biases)
    assert decay == slice(0, sum(k.size for k in kernels))
    assert all(np.shares_memory(k, P[decay]) for k in kernels)
    assert not any(np.shares_memory(b, P[decay]) for b in biases)
    assert all(np.shares_memory(l.grads[k], G) for l in net.layers for k in l.PARAMS)
