"""The Learn page (AppTest) and its helpers in digitlab/learn.py."""
import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from digitlab import learn as L
from digitlab import tutorial_binary
from digitlab.data import Dataset
from digitlab.nn.activations import softmax
from tests.conftest import REPO

TIMEOUT = 60


def learn_page(lang: str = "en", dataset=None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    if lang != "en":
        at.session_state["lang"] = lang
    if dataset is not None:
        at.session_state["dataset"] = dataset
    at.run()
    at.switch_page("pages/learn.py")
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def at():
    return learn_page()


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


# ------------------------------------------------------------------ the page


def test_page_renders_in_english(at):
    assert at.title[0].value == "Learn"
    assert not at.error, [e.value for e in at.error]
    heads = [h.value for h in at.header]
    assert len(heads) == 11 and heads[0].startswith("1 · The neuron"), heads
    codes = [e for e in at.expander if e.label == "Show the code"]
    assert len(codes) == 10
    assert any("def forward_propagation" in c.value for c in at.code)  # the real seed function
    # the convolution's code is the plain maths of nn/reference.py, not the chunked, threaded fast layer
    assert any("def conv2d_forward(X, W, b" in c.value for c in at.code)
    assert any("def maxpool2d_backward(X, dY" in c.value for c in at.code)
    assert not any("_im2col" in c.value or "parallel(" in c.value for c in at.code)
    assert any("reference.py" in c.value for c in at.caption)
    assert metrics(at)["Steps"] == "0"


def test_page_renders_in_spanish():
    at = learn_page("es")
    assert at.title[0].value == "Aprender"
    assert not at.error, [e.value for e in at.error]
    assert at.header[0].value.startswith("1 · La neurona")
    assert "Ver el código" in {e.label for e in at.expander}
    assert "Suma ponderada z" in metrics(at)


def test_language_switch_keeps_the_page(at):
    # (AppTest does not list app.py's sidebar selectbox after switch_page: set its key)
    at.selectbox(key="learn_gd_kind_en").set_value("xor").run()
    at.slider(key="learn_n_b").set_value(1.0).run()
    at.session_state["lang"] = "es"
    at.run()
    assert not at.exception and at.title[0].value == "Aprender"
    assert "Pasos" in metrics(at)
    assert at.selectbox(key="learn_gd_kind_es").value == "xor"  # the choices survive the switch
    assert at.slider(key="learn_n_b").value == 1.0
    at.selectbox(key="learn_gd_kind_es").set_value("moons").run()
    at.session_state["lang"] = "en"
    at.run()
    assert at.title[0].value == "Learn"


def test_neuron_slider_changes_output(at):
    before = metrics(at)["Weighted sum z"]
    at.slider(key="learn_n_w1").set_value(-2.0).run()
    after = metrics(at)
    assert after["Weighted sum z"] != before
    # z = w1 x1 + w2 x2 + b with the defaults x1=1, x2=-0.5, w2=0.8
    assert after["Weighted sum z"] == f"{-2.0 * 1 + 0.8 * -0.5 + at.slider(key='learn_n_b').value:.3f}"
    at.selectbox(key="learn_n_g").set_value("relu").run()
    assert metrics(at)["Output a = g(z)"] == "0.000"


def test_gradient_descent_cost_decreases(at):
    at.button(key="learn_gd_reset").click().run()
    c0 = float(metrics(at)["Cost (log loss)"])
    at.button(key="learn_gd_s1").click().run()
    c1 = float(metrics(at)["Cost (log loss)"])
    for _ in range(2):
        at.button(key="learn_gd_s100").click().run()
    m = metrics(at)
    c2 = float(m["Cost (log loss)"])
    assert m["Steps"] == "201"
    assert c0 > c1 > c2 and c2 < 0.7 * c0, (c0, c1, c2)
    costs = at.session_state["learn_gd"]["costs"]
    assert len(costs) == 201 and costs[-1] < costs[0]
    # a new problem starts over
    at.selectbox(key="learn_gd_kind_en").set_value("circles").run()
    assert metrics(at)["Steps"] == "0"


def test_tutorial_derivative_toggle_runs(at):
    at.toggle(key="learn_gd_bug").set_value(True).run()
    at.button(key="learn_gd_s10").click().run()
    assert not at.exception and not at.error
    assert metrics(at)["Steps"] == "10"
    at.toggle(key="learn_gd_bug").set_value(False).run()


def test_convolution_controls(at):
    at.slider(key="learn_conv_pos").set_value(0).run()
    assert "(row 0, column 0)" in " ".join(m.value for m in at.markdown)
    at.select_slider(key="learn_conv_stride").set_value(3).run()
    assert at.slider(key="learn_conv_pos").max == 9 * 9 - 1
    at.slider(key="learn_conv_pos").set_value(80).run()
    assert "(row 8, column 8)" in " ".join(m.value for m in at.markdown)
    at.selectbox(key="learn_conv_preset_en").set_value("blur").run()
    at.selectbox(key="learn_conv_digit").set_value(3).run()
    at.number_input(key="learn_conv_nth").set_value(5).run()
    at.select_slider(key="learn_pool_size").set_value(3).run()
    assert not at.exception and not at.error


def test_softmax_sliders(at):
    assert metrics(at)["Most probable: digit 0"]
    at.slider(key="learn_s_z2").set_value(5.0).run()
    m = metrics(at)
    assert "Most probable: digit 2" in m
    p = softmax(np.array([[2.0, 0.5, 5.0, 1.0]]))[0]
    assert m["Most probable: digit 2"] == f"{100 * p[2]:.1f}%"


def test_batch_size_changes_spread(at):
    s16 = metrics(at)["Spread of the direction (RMS angle to the full gradient)"]
    at.select_slider(key="learn_b_size").set_value(1).run()
    s1 = metrics(at)["Spread of the direction (RMS angle to the full gradient)"]
    assert float(s1.rstrip("°")) > float(s16.rstrip("°"))
    at.button(key="learn_b_again").click().run()
    assert not at.exception


def test_unlabelled_and_empty_datasets():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    at = learn_page(dataset=Dataset(imgs, None, "test.csv", "test"))
    assert not at.error
    at.number_input(key="learn_conv_index").set_value(4).run()
    assert not at.exception
    at = learn_page(dataset=Dataset(np.zeros((0, 28, 28), np.uint8), None, "empty", "test"))
    assert at.error and "no images" in at.error[0].value  # shown, not raised


# ------------------------------------------------------------------ digitlab.learn


def direct_conv(img, K, s):
    k = K.shape[0]
    Ho, Wo = (img.shape[0] - k) // s + 1, (img.shape[1] - k) // s + 1
    out = np.zeros((Ho, Wo))
    for r in range(Ho):
        for c in range(Wo):
            out[r, c] = np.sum(img[r * s: r * s + k, c * s: c * s + k] * K)
    return out


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv2d_equals_direct_computation(stride):
    rng = np.random.default_rng(stride)
    img, K = rng.random((28, 28)), rng.normal(size=(3, 3))
    out = L.conv2d(img, K, stride)
    assert out.shape == (L.out_size(28, 3, stride),) * 2
    np.testing.assert_allclose(out, direct_conv(img, K, stride), atol=1e-12)
    np.testing.assert_allclose(L.conv2d(img, K, stride, bias=0.5), out + 0.5, atol=1e-12)


def test_conv_position_matches_the_window():
    r, c, i, j = L.conv_position(30, 13, 2)
    assert (r, c, i, j) == (2, 4, 4, 8)


def test_max_pool_equals_direct():
    x = np.random.default_rng(1).normal(size=(26, 26))
    p = L.max_pool(x, 2)
    assert p.shape == (13, 13) and p[3, 5] == x[6:8, 10:12].max()
    assert L.max_pool(x, 3).shape == (8, 8)


def test_gradient_steps_reduce_the_cost():
    X, Y = L.toy_data("moons")
    p0 = L.toy_params(6)
    keep = {k: v.copy() for k, v in p0.items()}
    p1, costs = L.gd_steps(p0, X, Y, 300, 1.2)
    assert all(np.array_equal(p0[k], keep[k]) for k in p0)  # input untouched
    assert len(costs) == 300 and costs[0] == pytest.approx(L.toy_cost(p0, X, Y)[0])
    J, acc = L.toy_cost(p1, X, Y)
    assert J < costs[0] * 0.5 and acc > 0.85
    assert np.all(np.diff(costs[:50]) < 1e-9)  # full-batch steps with a small lr: monotone at first


def test_tutorial_derivative_learns_worse_on_circles():
    X, Y = L.toy_data("circles")
    p0 = L.toy_params(6)
    good = L.toy_cost(L.gd_steps(p0, X, Y, 400, 1.2, fixed=True)[0], X, Y)[0]
    bad = L.toy_cost(L.gd_steps(p0, X, Y, 400, 1.2, fixed=False)[0], X, Y)[0]
    assert good < 0.5 * bad


@pytest.mark.parametrize("kind", ["moons", "circles", "xor", "blobs"])
def test_toy_data_shapes(kind):
    X, Y = L.toy_data(kind, 100)
    assert X.shape == (2, 100) and Y.shape == (1, 100) and set(np.unique(Y)) == {0.0, 1.0}


def test_neuron_and_activation_derivatives():
    z, a = L.neuron([1.0, -2.0], [0.5, 0.25], 0.3, "sigmoid")
    assert z == pytest.approx(0.3) and a == pytest.approx(1 / (1 + np.exp(-0.3)))
    assert L.neuron([1.0, 1.0], [-1.0, -1.0], 0.0, "relu")[1] == 0.0
    for name in L.ACTS:
        zz, g, d = L.activation_curves(name, -3.0, 3.0, 601)
        num = np.gradient(g, zz)
        mask = np.abs(zz) > 0.02  # relu's kink
        np.testing.assert_allclose(d[mask][1:-1], num[mask][1:-1], atol=2e-3)


def test_softmax_and_log_loss():
    p = softmax(np.array([[1.0, 2.0, 3.0, 4.0]]))[0]
    assert p.sum() == pytest.approx(1) and np.argmax(p) == 3
    np.testing.assert_allclose(softmax(np.array([[101.0, 102.0, 103.0, 104.0]]))[0], p)  # shift-invariant, no overflow
    assert L.log_loss(0.8, 1) == pytest.approx(-np.log(0.8))
    assert L.log_loss(0.8, 0) == pytest.approx(-np.log(0.2))


def test_forward_net_matches_the_seed_shapes():
    params = L.forward_net()
    acts = tutorial_binary.forward_propagation(np.array([[1.0], [0.5]]), params)
    assert acts["A1"].shape == (3, 1) and acts["A2"].shape == (1, 1)


def test_logistic_gradient_matches_finite_differences():
    X, y = L.batch_data(64)
    w = np.array([0.3, -0.7])

    def J(w):
        p = 1 / (1 + np.exp(-(X @ w)))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    num = [(J(w + e) - J(w - e)) / 2e-6 for e in np.eye(2) * 1e-6]
    np.testing.assert_allclose(L.logistic_gradient(w, X, y), num, rtol=1e-5, atol=1e-8)


def test_minibatch_noise_shrinks_with_batch_size():
    X, y = L.batch_data()
    full, g = L.minibatch_gradients(X, y, len(X), 5)
    np.testing.assert_allclose(g, np.repeat(full[None], 5, 0), atol=1e-12)  # the whole set: no noise
    spreads = L.spread_by_batch_size(X, y, [1, 4, 16, 64, 256])
    assert all(a > b for a, b in zip(spreads, spreads[1:])), spreads


def all_figures():
    img = np.random.default_rng(0).random((28, 28))
    out = L.conv2d(img, np.array(L.KERNELS["vertical"], float))
    X, Y = L.toy_data()
    Xb, yb = L.batch_data()
    full, g = L.minibatch_gradients(Xb, yb, 16)
    x = np.array([[1.0], [0.5]])
    net = L.forward_net()
    return [
        L.activation_figure(L.ACTS, "T", "X", "Y"),
        L.neuron_figure([1, 2], 0.1, "tanh", [0, 1], "T", "X", "Y"),
        L.neuron_figure([1, 0], 0.1, "relu", [0, 1], "T", "X", "Y"),
        L.network_figure(net, x, tutorial_binary.forward_propagation(x, net), "T"),
        L.log_loss_figure(0.3, 1, "T", "X", "Y"),
        L.boundary_figure(L.toy_params(4), X, Y, "T", "X", "Y"),
        L.cost_figure([0.7, 0.5], "T", "X", "Y"),
        L.conv_figure(img, out, 100, 1, 3, ["a", "b"], "T"),
        L.maps_figure([out, out[::2, ::2]], ["a", "b"], "T"),
        L.softmax_figure([1, 2, 0, 0], "T", "X", "Y"),
        L.arrows_figure(full, g, "T", "X", "Y", "full", "mini"),
        L.spread_figure([1, 4], [40.0, 20.0], "T", "X", "Y"),
    ]


def test_figures_are_valid_plotly_with_titles():
    for fig in all_figures():
        d = go.Figure(fig.to_dict()).to_dict()  # validates every property
        lay = d["layout"]
        assert lay["title"]["text"] == "T"
        if lay.get("xaxis", {}).get("visible", True) is not False:
            assert lay["xaxis"]["title"]["text"] == "X" and lay["yaxis"]["title"]["text"] == "Y"
