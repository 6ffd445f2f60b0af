"""The tutorial's section-2 network: its bug reproduced, fixed, gradient-checked."""

import numpy as np
import pytest

from digitlab import evaluation
from digitlab import tutorial_binary as tb
from digitlab.data import binary_subset, load_idx, load_sample
from tests.helpers import numeric_grad

DATA = evaluation.test_data_dir()  # $DIGITLAB_TEST_DATA, default ../shared/data
TEST_IMAGES = DATA / "t10k-images-idx3-ubyte.gz"


@pytest.fixture(scope="module")
def train01():
    return binary_subset(load_sample())


@pytest.fixture(scope="module")
def test01():
    if not TEST_IMAGES.is_file():
        pytest.skip(f"official MNIST test set missing at {TEST_IMAGES}")
    return binary_subset(load_idx(TEST_IMAGES))


def accuracy(params, ds):
    return float(np.mean((tb.predict_proba_binary(params, ds.images) > 0.5) == ds.labels))


def test_shapes_follow_the_tutorial():
    X, Y = np.zeros((784, 5)), np.zeros((1, 5))
    assert tb.network_architecture(X, Y) == (784, 10, 1)
    p = tb.define_network_parameters(784, 10, 1, seed=0)
    assert p["W1"].shape == (10, 784) and p["b1"].shape == (10, 1) and p["W2"].shape == (1, 10)
    assert not p["b1"].any() and abs(p["W1"].std() - 0.01) < 1e-3
    np.random.seed(0)  # the same draws as the tutorial's np.random.randn after np.random.seed(0)
    np.testing.assert_array_equal(p["W1"], np.random.randn(10, 784) * 0.01)
    r = tb.forward_propagation(X, p)
    assert r["A2"].shape == (1, 5) and tb.predict(p, X).shape == (1, 5)


def test_fixed_backward_matches_finite_differences_and_tutorial_does_not():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (6, 8))
    Y = rng.integers(0, 2, (1, 8)).astype(float)
    p = tb.define_network_parameters(6, 4, 1, seed=1)
    for k in p:
        p[k] = p[k] + rng.normal(size=p[k].shape)  # away from the near-linear start

    def cost():
        return tb.compute_error(tb.forward_propagation(X, p)["A2"], Y)

    acts = tb.forward_propagation(X, p)
    good = tb.backward_propagation(p, acts, X, Y, fixed=True)
    bad = tb.backward_propagation(p, acts, X, Y, fixed=False)
    for k in ("W1", "b1", "W2", "b2"):
        num = numeric_grad(cost, p[k])
        err = np.linalg.norm(good["d" + k] - num) / (np.linalg.norm(good["d" + k]) + np.linalg.norm(num))
        assert err < 1e-6, k
    num = numeric_grad(cost, p["W1"])
    assert np.linalg.norm(bad["dW1"] - num) / np.linalg.norm(num) > 0.1  # the tutorial's tanh derivative
    np.testing.assert_allclose(bad["dW2"], good["dW2"])  # the output layer was right


def test_hand_worked_update_step():
    p = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]]), "W2": np.array([[2.0]]), "b2": np.array([[0.0]])}
    X, Y = np.array([[0.0]]), np.array([[1.0]])
    # Z1 = 0, A1 = 0.5; Z2 = 1, A2 = σ(1) = 0.731059; dZ2 = -0.268941
    # dW2 = dZ2·A1 = -0.134471, db2 = -0.268941; dZ1 = W2·dZ2·A1(1-A1) = -0.134471; dW1 = dZ1·X = 0
    d = tb.backward_propagation(p, tb.forward_propagation(X, p), X, Y, fixed=True)
    np.testing.assert_allclose([d["dW2"][0, 0], d["db2"][0, 0], d["db1"][0, 0], d["dW1"][0, 0]],
                               [-0.134471, -0.268941, -0.134471, 0.0], atol=1e-6)
    p = tb.update_parameters(p, d, alpha=1.2)
    np.testing.assert_allclose([p["W2"][0, 0], p["b2"][0, 0], p["b1"][0, 0]],
                               [2 + 1.2 * 0.134471, 1.2 * 0.268941, 1.2 * 0.134471], atol=1e-6)
    d_tutorial = tb.backward_propagation({**p, "W2": np.array([[2.0]]), "b1": np.zeros((1, 1)),
                                      "b2": np.zeros((1, 1))},
                                     tb.forward_propagation(X, {"W1": np.array([[1.0]]), "b1": np.zeros((1, 1)),
                                                                "W2": np.array([[2.0]]), "b2": np.zeros((1, 1))}),
                                     X, Y, fixed=False)
    # the tutorial's 1 - A1² = 0.75 instead of A1(1-A1) = 0.25: three times the step
    np.testing.assert_allclose(d_tutorial["db1"][0, 0], -0.134471 * 3, atol=1e-6)


def test_tutorial_as_written_overflows_and_collapses(train01, test01):
    """The bug reproduced: raw pixels + tanh derivative, lr 1.2, 10 iterations."""
    accs, overflow = [], 0
    for seed in range(20):
        params, hist = tb.train_binary(train01.images, train01.labels, preset="tutorial", seed=seed)
        accs.append(accuracy(params, test01))
        overflow += hist["overflow"]
    share_of_ones = float(np.mean(test01.labels == 1))  # 53.7%: always answering "1"
    collapsed = sum(abs(a - share_of_ones) < 1e-9 or abs(a - (1 - share_of_ones)) < 1e-9 for a in accs)
    assert overflow == 20
    assert collapsed >= 4
    assert 0.85 < float(np.median(accs)) < 0.97


def test_fixed_reaches_998(train01, test01):
    params, hist = tb.train_binary(train01.images, train01.labels, preset="fixed", seed=0)
    assert not hist["overflow"] and len(hist["cost"]) == 300
    assert hist["cost"][-1] < hist["cost"][0]
    assert accuracy(params, test01) >= 0.998


def test_callback_stop_and_save_load(tmp_path, train01):
    events = []
    params, hist = tb.train_binary(train01.images[:200], train01.labels[:200], iterations=50,
                                   callback=events.append, should_stop=lambda: len(events) >= 5)
    assert hist["stopped"] and len(events) == 5 and len(hist["cost"]) == 5
    assert set(events[0]) == {"type", "iteration", "iterations", "cost", "accuracy"}
    tb.save_params(params, tmp_path / "bin", meta={"preset": "fixed"})
    loaded = tb.load_params(tmp_path / "bin")
    np.testing.assert_array_equal(tb.predict_proba_binary(params, train01.images[:50]),
                                  tb.predict_proba_binary(loaded, train01.images[:50]))
    assert float(loaded["input_scale"]) == pytest.approx(1 / 255)


def test_each_fix_on_its_own(train01):
    _, raw = tb.train_binary(train01.images, train01.labels, preset="fixed", iterations=5, scale_inputs=False)
    assert raw["overflow"] and raw["input_scale"] == 1.0 and raw["correct_derivative"]
    _, wrong = tb.train_binary(train01.images, train01.labels, preset="tutorial", scale_inputs=True)
    assert not wrong["overflow"] and not wrong["correct_derivative"]


def test_the_tutorial_presets_old_name_still_works(train01):
    X, y = train01.images[:200], train01.labels[:200]
    p_old, h_old = tb.train_binary(X, y, preset="seed", iterations=3)
    p_new, h_new = tb.train_binary(X, y, preset="tutorial", iterations=3)
    assert h_old["preset"] == "tutorial" and h_old["cost"] == h_new["cost"]
    np.testing.assert_array_equal(p_old["W1"], p_new["W1"])
