"""Explaining a prediction (issue 17): input gradients of every kind checked against finite
differences, saliency and its reading, Grad-CAM, the adversarial nudge, the embedding map and
its cache, and the CLI's ``explain``.

One tiny stored model per kind, made cheaply: trained through the real job code
(``training.run_job``) on 600 digits of the bundled sample, in the private store of
tests/test_kinds_matrix.py's fixtures (``home``, ``tiny_data``); the
``keras-cnn`` is the tutorial CNN's NumPy twin with seeded random weights stored as that kind
(what the store serves for a Keras CNN is exactly such a twin, so no Keras training is needed).
"""
import copy
import json

import numpy as np
import pytest

from digitlab import adversarial, data, embedding, explain, gradients, saliency, store, texts, training
from digitlab.__main__ import main
from digitlab.models import BinaryPredictor, NetPredictor, SklearnPredictor, net_arrays
from digitlab.nn import Sequential, mlp, tutorial_cnn
from tests.test_kinds_matrix import N_IMAGES, home, tiny_data  # noqa: F401 (module fixtures: a private store, 600 digits)

TINY = {  # per stored model: (kind, preset, settings that keep it to a second or a few)
    "binary": ("numpy-binary", "fixed", {"iterations": 30}),
    "mlp": ("numpy-mlp", "default", {"epochs": 2, "hidden": "32"}),
    "cnn": ("numpy-cnn", "default", {"epochs": 1, "max_train": 300}),
    "sk": ("sklearn-mlp", "working", {"epochs": 2, "hidden": "16", "shift_copies": False}),
}
NAMES = [*TINY, "sk-raw", "keras"]


@pytest.fixture(scope="module")
def stored(home, tiny_data):
    """{name: StoredModel}, one of every kind (two scikit-learn ones: scaled and raw pixels)."""
    for name, (kind, preset, cfg) in TINY.items():
        job = {"id": name, "kind": kind, "preset": preset, "config": dict(cfg), "data": tiny_data[0], "name": name,
               "seed": 0, "test": None}
        final = training.run_job(job, lambda ev: None, lambda: False)
        assert final["type"] == "done", final
    sk = store.load("sk", cached=False).predictor  # sk-raw: the same model reading raw 0-255 pixels (the
    arrays = {"coef0": sk.W[0] / np.float32(255), "intercept0": sk.b[0], "coef1": sk.W[1], "intercept1": sk.b[1]}
    store.save("sk-raw", kind="sklearn-mlp", arrays=arrays,  # tutorial's preset trained so collapses: dead units)
               spec={"activation": "relu", "scale_pixels": False, "n_layers": 2, "classes": list(range(10))})
    net = tutorial_cnn(seed=3)
    store.save("keras", kind="keras-cnn", arrays=net_arrays(net), spec={"architecture": net.to_config()})
    return {n: store.load(n, cached=False) for n in NAMES}


def _digit(ds, label):
    return ds.images[int(np.flatnonzero(ds.labels == label)[0])]


# ------------------------------------------------------------------ gradients against finite differences


def _net64(net):
    """The same net in float64 (the finite differences then see no float32 rounding)."""
    twin = Sequential.from_config({**net.to_config(), "dtype": "float64"})
    twin.set_weights([w.astype(np.float64) for w in net.get_weights()])
    return twin


def _float64_twin(pred):
    """A predictor computing in float64 from its input on (the input itself enters as float32:
    every predict_proba reads images through as_unit_images)."""
    if isinstance(pred, BinaryPredictor):
        return pred  # its params are float64 already
    if isinstance(pred, SklearnPredictor):
        twin = copy.copy(pred)
        twin.W = [w.astype(np.float64) for w in pred.W]
        twin.b = [b.astype(np.float64) for b in pred.b]
        twin._net = _net64(pred.net)  # the twin the gradient goes through, in float64 too
        return twin
    return NetPredictor(_net64(pred.net))


def _dyadic(img, seed=0):
    """A digit as float32 pixels k/256 (k ≤ 232), so that x ± h is exact in float32 for the steps h of
    :func:`_step` (and so is 255 (x ± h), which the 0-vs-1 net and a raw-pixel scikit-learn model compute
    in float32): the float32 input every predict_proba reads costs the finite differences nothing. A faint
    random background (k in 1..15) leaves no flat region: there every conv output in a pooling window
    would be equal, and a max over ties has no derivative."""
    noise = np.random.default_rng(seed).integers(1, 16, img.shape)
    return ((np.floor(img * 0.85) + noise) / 256).astype(np.float32)


def _step(pred) -> float:
    """2^-20 (k/256 + 2^-20 is exact in float32); 2^-14 where the predictor computes 255 x in float32
    (255 (k·2^12 + 1) / 2^20 would need 28 bits; 255 (k·2^6 + 1) / 2^14 needs 22)."""
    raw = isinstance(pred, BinaryPredictor) or (isinstance(pred, SklearnPredictor) and not pred.scale)
    return 2.0**-14 if raw else 2.0**-20


def _finite_differences(pred, x, pixels, f):
    """(central, kink) for the given (row, col) pixels of the image x (28, 28), all in one
    predict_proba call: the central differences (f(x + h) - f(x - h)) / 2h of f(P (n, 10)) -> (n,),
    and whether the two one-sided differences disagree, i.e. a ReLU or a max-pool's winner switches
    within ±h of x, where the derivative jumps (on smooth pixels they agree to ~1e-9 here)."""
    h = _step(pred)
    X = np.repeat(x[None], 2 * len(pixels) + 1, axis=0)  # the last one stays x
    for k, (r, c) in enumerate(pixels):
        X[2 * k, r, c] += np.float32(h)
        X[2 * k + 1, r, c] -= np.float32(h)
    v = f(gradients.ten_class(pred, pred.predict_proba(X)))
    plus, minus, at = v[0:-1:2], v[1:-1:2], v[-1]
    central = (plus - minus) / (2 * h)
    one_sided_gap = np.abs((plus - at) - (at - minus)) / h
    return central, one_sided_gap > 1e-5 * np.abs(central).max()


def _pixels(G, n=24, seed=0):
    """The n pixels with the largest |gradient| and n random ones: (2n, 2) rows and columns."""
    top = np.argsort(-np.abs(G).ravel(), kind="stable")[:n]
    rnd = np.random.default_rng(seed).choice(784, n, replace=False)
    return np.array(np.unravel_index(np.concatenate([top, rnd]), (28, 28))).T


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("of", ["probability", "loss"])
def test_input_gradient_matches_finite_differences(stored, tiny_data, name, of):
    """∂p_c/∂x and ∂(-log p_c)/∂x of every kind against central differences of its own
    predict_proba, in float64, for the answer and the runner-up, on 48 pixels. Tolerance 1e-5 of
    the gradient's norm: the central difference's error is O(h²) (h ≤ 6e-5) and float64 rounding
    adds ~1e-16/h; measured agreement ~1e-9. Pixels within ±h of a kink (a ReLU or a max-pool's
    winner switching: the one-sided differences disagree) have no derivative to compare: at most 4
    of the 48 may be such, and the rest must agree."""
    pred = _float64_twin(stored[name].predictor)
    x = _dyadic(tiny_data[1].images[N_IMAGES - 1 - NAMES.index(name)])
    p = gradients.ten_class(pred, pred.predict_proba(x[None]))[0]
    grad = gradients.probability_gradient if of == "probability" else gradients.loss_gradient
    for digit in np.argsort(-p, kind="stable")[:2]:
        _, G = grad(pred, x[None].astype(np.float64), int(digit))
        pix = _pixels(G[0])
        f = (lambda P: P[:, digit]) if of == "probability" else (lambda P: -np.log(P[:, digit]))
        fd, kink = _finite_differences(pred, x, pix, f)
        g = G[0][pix[:, 0], pix[:, 1]]
        assert np.abs(g).max() > 0 and kink.sum() <= 4, (name, digit, kink.sum())
        ok = ~kink
        assert np.linalg.norm(fd[ok] - g[ok]) <= 1e-5 * np.linalg.norm(g[ok]), (name, digit, fd[:5], g[:5])


def test_a_raw_pixel_model_has_the_gradient_of_its_scaled_twin(stored, tiny_data):
    """sk-raw is sk with its first weights divided by 255, reading 0-255 pixels: the same function of
    the [0, 1] input, so the same gradient (the x255 is folded back into its NumPy twin)."""
    x = tiny_data[1].images[40:43]
    _, G = gradients.probability_gradient(stored["sk"], x, 3)
    _, G_raw = gradients.probability_gradient(stored["sk-raw"], x, 3)
    np.testing.assert_allclose(G_raw, G, rtol=1e-4, atol=1e-4 * np.abs(G).max())


@pytest.mark.parametrize("name", NAMES)
def test_the_float32_models_give_the_float64_gradient(stored, tiny_data, name):
    """The real stored predictors (float32 nets, the scikit-learn twin built by the predictor) give
    the gradient of their float64 twins to float32 accuracy (relative 1e-3 of the norm: a few
    hundred float32 operations, each ~6e-8)."""
    m = stored[name]
    x = tiny_data[1].images[10]
    _, G32 = gradients.probability_gradient(m, x[None], 1)
    _, G64 = gradients.probability_gradient(_float64_twin(m.predictor), x[None], 1)
    assert G32.dtype == np.float32 or name == "binary"
    assert np.linalg.norm(G32 - G64) <= 1e-3 * np.linalg.norm(G64)


def test_a_digit_the_binary_net_has_no_output_for_has_a_zero_gradient(stored, tiny_data):
    P, G = gradients.probability_gradient(stored["binary"], tiny_data[1].images[:3], 7)
    assert P.shape == (3, 10) and (P[:, 2:] == 0).all() and (G == 0).all()
    with pytest.raises(gradients.ExplainError) as e:
        gradients.loss_gradient(stored["binary"], tiny_data[1].images[:1], 7)
    assert e.value.code == "explain.bad_target" and e.value.params["digits"] == "0, 1"


# ------------------------------------------------------------------ saliency, reading, Grad-CAM


def test_saliency_of_every_model_side_by_side(stored, tiny_data):
    img = _digit(tiny_data[1], 1)
    out = saliency.saliency_all(stored, img)
    assert list(out) == NAMES
    for name, s in out.items():
        assert s.gradient.shape == s.image.shape == (28, 28) and np.isfinite(s.gradient).all()
        assert s.proba.shape == (10,) and s.digit == s.answer == int(np.argmax(s.proba))
        assert (s.times_input[s.image == 0] == 0).all()
        np.testing.assert_allclose(s.proba, gradients.ten_class(stored[name], stored[name].predict_proba(img[None]))[0],
                                   rtol=1e-5, atol=1e-7)
    s7 = saliency.saliency(stored["mlp"], img, digit=7)
    assert s7.digit == 7 and not np.allclose(s7.gradient, out["mlp"].gradient)


def _saliency_with(push_rows=None, push_cols=None, image=None):
    x = np.zeros((28, 28), np.float32) if image is None else image
    if image is None:
        x[4:25, 8:20] = 1.0  # the ink's box: rows 4-24, columns 8-19
    g = np.zeros((28, 28), np.float32)
    if push_rows is not None:
        g[push_rows, 8:20] = 1.0
    if push_cols is not None:
        g[4:25, push_cols] = 1.0
    return saliency.Saliency(digit=7, answer=7, proba=np.eye(10)[7], image=x, gradient=g)


def test_the_reading_names_the_third_of_the_ink_that_pushed():
    assert saliency.reading(_saliency_with(push_rows=slice(4, 8))) == {
        "code": "explain.reading.towards", "region": "top", "digit": 7, "share": 1.0}
    assert saliency.reading(_saliency_with(push_rows=slice(20, 25)))["region"] == "bottom"
    assert saliency.reading(_saliency_with(push_cols=slice(16, 20)))["region"] == "right"
    assert saliency.reading(_saliency_with(push_cols=slice(8, 11)))["region"] == "left"
    assert saliency.reading(_saliency_with(push_rows=slice(12, 16)))["region"] == "centre"
    assert saliency.reading(_saliency_with()) == {"code": "explain.reading.flat", "digit": 7}
    assert saliency.reading(_saliency_with(image=np.zeros((28, 28), np.float32))) == {"code": "explain.reading.no_ink"}
    r = saliency.reading(_saliency_with(push_rows=slice(4, 8)))
    assert saliency.reading_text("en", r) == "The top third of the ink pushed the answer towards 7 (100% of the push)."
    assert saliency.reading_text("es", r) == "El tercio de arriba del trazo empujó la respuesta hacia el 7 (100\u00a0% del empuje)."


def test_the_reading_of_a_real_model_is_a_sentence_in_both_languages(stored, tiny_data):
    s = saliency.saliency(stored["mlp"], _digit(tiny_data[1], 7))
    r = saliency.reading(s)
    assert r["code"] == "explain.reading.towards" and r["digit"] == s.digit and 0 < r["share"] <= 1
    for lang in ("en", "es"):
        assert str(s.digit) in saliency.reading_text(lang, r)


@pytest.mark.parametrize("name", ["cnn", "keras"])
def test_grad_cam_is_a_non_negative_map_that_depends_on_the_class(stored, tiny_data, name):
    img = _digit(tiny_data[1], 3)
    maps = [saliency.grad_cam(stored[name], img, digit=d) for d in range(10)]
    for m in maps:
        assert m.shape == (28, 28) and m.dtype == np.float32 and np.isfinite(m).all() and (m >= 0).all()
    assert any(m.max() > 0 for m in maps)
    assert any(not np.allclose(maps[0], m) for m in maps[1:])
    default = saliency.grad_cam(stored[name], img)
    answer = int(np.argmax(stored[name].predict_proba(img[None])[0]))
    np.testing.assert_array_equal(default, maps[answer])


def test_grad_cam_is_none_without_a_convolution(stored, tiny_data):
    for name in ("binary", "mlp", "sk"):
        assert saliency.grad_cam(stored[name], tiny_data[1].images[0]) is None


def test_grad_cam_follows_its_formula_and_sits_on_the_receptive_field_centres(stored, tiny_data):
    """The map before upsampling is ReLU(Σ_k mean(∂z_c/∂A_k) A_k), and the tutorial CNN's last conv
    (two valid 3x3 convs: 24x24) lands on input pixels 2..25, one to one."""
    img = _digit(tiny_data[1], 5)
    layer, A, dA = gradients.last_conv_gradient(stored["keras"], img, 5)
    assert A.shape == dA.shape == (24, 24, 64)
    cam = np.maximum(np.einsum("ijk,k->ij", A, dA.mean(axis=(0, 1))), 0)
    up = saliency.grad_cam(stored["keras"], img, digit=5)
    np.testing.assert_allclose(up[2:26, 2:26], cam, rtol=1e-5, atol=1e-6 * cam.max())
    np.testing.assert_allclose(up[0], up[2])  # clamped at the edges
    M = saliency._interp_matrix(28, 12, 1.5, 2.0)
    np.testing.assert_allclose(M.sum(axis=1), 1)


def test_the_logit_gradient_is_what_grad_cam_backpropagates(stored, tiny_data):
    """∂z_c/∂x through the whole net equals the chain from the last conv: a check that the partial
    backward of Grad-CAM stops at the right place (dA · ∂A/∂x by finite differences along dA)."""
    pred = _float64_twin(stored["cnn"].predictor)
    x = tiny_data[1].images[20][None].astype(np.float64) / 255
    _, G = gradients.logit_gradient(pred, x, 4)
    _, A, dA = gradients.last_conv_gradient(pred, x, 4)
    # the first-order change of z_4 along G: ||G||² h, against the change of A weighted by dA
    h = 1e-6
    _, A2, _ = gradients.last_conv_gradient(pred, x + h * G, 4)
    assert abs(float(((A2 - A) * dA).sum()) / h - float((G**2).sum())) <= 1e-4 * float((G**2).sum())


# ------------------------------------------------------------------ the adversarial nudge


@pytest.mark.parametrize("name", NAMES)
def test_the_nudge_stays_in_its_bound_and_really_changes_the_answer(stored, tiny_data, name):
    m = stored[name]
    img = _digit(tiny_data[1], 1)
    n = adversarial.nudge(m, img, step=0.02, eps=0.3, max_steps=60)
    assert n.image.shape == (28, 28) and n.image.dtype == np.float32
    assert np.abs(n.image - n.start).max() <= 0.3 + 1e-6 and n.linf <= 0.3 + 1e-6
    assert n.image.min() >= 0 and n.image.max() <= 1
    assert 0 <= n.steps <= 60
    again = int(np.argmax(gradients.ten_class(m, m.predict_proba(n.image[None]))[0]))  # from scratch
    assert again == n.digit
    assert n.success == (again != n.original)
    if name in ("mlp", "cnn", "sk", "binary"):  # trained models on an easy digit: the push suffices
        assert n.success, (name, n)
    assert n.reading()["code"] == ("explain.nudge.changed" if n.success else "explain.nudge.unchanged")


def test_a_targeted_nudge_reaches_its_target(stored, tiny_data):
    m = stored["mlp"]
    img = _digit(tiny_data[1], 7)
    p = m.predict_proba(img[None])[0]
    target = int(np.argsort(-p)[1])  # the runner-up: an easy target
    n = adversarial.nudge(m, img, target=target, step=0.01, eps=0.3)
    assert n.success and n.digit == target and n.target == target
    assert int(np.argmax(m.predict_proba(n.image[None])[0])) == target
    assert n.reading()["code"] == "explain.nudge.reached" and n.linf <= 0.3 + 1e-6
    assert np.isclose(np.abs(n.difference).max(), n.linf)
    numpy_settings = adversarial.nudge(m, img, target=np.int64(target), step=np.float32(0.01), eps=np.float64(0.3))
    assert numpy_settings.success and numpy_settings.target == target
    same = adversarial.nudge(m, img, target=n.original)  # already there: no step
    assert same.steps == 0 and same.success and same.linf == 0


def test_a_model_with_no_gradient_gives_up_at_once():
    net = mlp(hidden=(8,))
    net.set_weights([np.zeros_like(w) for w in net.get_weights()])  # uniform answers, zero gradient
    n = adversarial.nudge(NetPredictor(net), np.full((28, 28), 128, np.uint8))
    assert n.steps == 0 and not n.success and n.linf == 0


@pytest.mark.parametrize("settings,code", [
    ({"eps": 0}, "explain.bad_eps"), ({"eps": 1.5}, "explain.bad_eps"), ({"eps": float("nan")}, "explain.bad_eps"),
    ({"step": 0}, "explain.bad_step"), ({"max_steps": True}, "explain.bad_max_steps"),
    ({"step": 0.5, "eps": 0.3}, "explain.bad_step"), ({"max_steps": 0}, "explain.bad_max_steps"),
    ({"target": 12}, "explain.bad_target"), ({"target": True}, "explain.bad_target"),
])
def test_bad_nudge_settings_are_coded_errors(stored, tiny_data, settings, code):
    with pytest.raises(explain.ExplainError) as e:
        adversarial.nudge(stored["mlp"], tiny_data[1].images[0], **settings)
    assert e.value.code == code
    assert texts.error_text("es", e.value) != str(e.value)


def test_the_binary_net_can_only_be_nudged_towards_0_or_1(stored, tiny_data):
    with pytest.raises(explain.ExplainError, match=r"\(0, 1\), not 7"):
        adversarial.nudge(stored["binary"], tiny_data[1].images[0], target=7)


# ------------------------------------------------------------------ the embedding map


@pytest.mark.parametrize("name,width", [("binary", 10), ("mlp", 32), ("cnn", 128), ("sk", 16), ("keras", 128)])
def test_hidden_activations_are_the_last_hidden_layer(stored, tiny_data, name, width):
    a = embedding.hidden_activations(stored[name], tiny_data[1].images[:7])
    assert a.shape == (7, width) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_allclose(embedding.hidden_activations(stored[name], tiny_data[1].images[3:4])[0], a[3], rtol=1e-5,
                               atol=1e-6)


def test_the_mlp_hidden_layer_is_relu_of_the_first_dense(stored, tiny_data):
    net = stored["mlp"].net
    x = tiny_data[1].images[:4].reshape(4, 784) / np.float32(255)
    W, b = net.layers[1].params["W"], net.layers[1].params["b"]
    np.testing.assert_allclose(embedding.hidden_activations(stored["mlp"], tiny_data[1].images[:4]),
                               np.maximum(x @ W + b, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method,n", [("pca", 300), ("tsne", 60)])
def test_the_projection_is_deterministic_for_a_seed(stored, tiny_data, method, n):
    imgs, labels = tiny_data[1].images[:n], tiny_data[1].labels[:n]
    a = embedding.embedding(stored["mlp"], imgs, labels, method=method, seed=1, cache=False)
    b = embedding.embedding(stored["mlp"], imgs, labels, method=method, seed=1, cache=False)
    assert a is not b and a.points.shape == (n, 2) and np.isfinite(a.points).all()
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.labels, labels)


def test_the_drawing_is_placed_by_the_pca_transform(stored, tiny_data):
    m, imgs = stored["cnn"], tiny_data[1].images[:200]
    emb = embedding.embedding(m, imgs, tiny_data[1].labels[:200], cache=False)
    drawing = tiny_data[1].images[450]
    np.testing.assert_allclose(embedding.project(emb, m, drawing),
                               emb.pca.transform(embedding.hidden_activations(m, drawing[None]))[0], rtol=1e-6)
    np.testing.assert_allclose(embedding.project(emb, m, imgs[17]), emb.points[17], rtol=1e-4, atol=1e-5)


def test_a_tsne_drawing_goes_to_its_nearest_digits(stored, tiny_data):
    m, imgs = stored["mlp"], tiny_data[1].images[:60]
    emb = embedding.embedding(m, imgs, tiny_data[1].labels[:60], method="tsne", cache=False)
    acts = embedding.hidden_activations(m, tiny_data[1].images[500:501])
    near = np.argsort(((emb.activations - acts) ** 2).sum(1), kind="stable")[: embedding.NEIGHBOURS]
    np.testing.assert_allclose(emb.project(acts)[0], emb.points[near].mean(0))


def test_the_cache_serves_the_same_map_without_recomputing(stored, tiny_data, monkeypatch):
    calls = []
    real = embedding.fit_projection
    monkeypatch.setattr(embedding, "fit_projection", lambda *a: calls.append(a[1:]) or real(*a))
    monkeypatch.setattr(embedding, "_cache", type(embedding._cache)())
    imgs, labels = tiny_data[1].images[:100], tiny_data[1].labels[:100]
    first = embedding.embedding(stored["mlp"], imgs, labels)
    assert embedding.embedding(stored["mlp"], imgs, labels) is first and len(calls) == 1
    assert embedding.embedding(stored["mlp"], imgs, labels, seed=2) is not first and len(calls) == 2
    assert embedding.embedding(stored["sk"], imgs, labels) is not first and len(calls) == 3
    assert embedding.embedding(stored["mlp"], imgs[1:], labels[1:]) is not first and len(calls) == 4
    for seed in range(3, 3 + embedding.CACHE_SIZE):
        embedding.embedding(stored["mlp"], imgs, labels, seed=seed)
    assert len(embedding._cache) == embedding.CACHE_SIZE  # bounded: the oldest went first
    embedding.embedding(stored["mlp"], imgs, labels)
    assert len(calls) == 5 + embedding.CACHE_SIZE  # the first map was forgotten, so computed again


def test_a_map_asked_for_by_many_sessions_at_once_is_computed_once_and_tsnes_take_turns(stored, tiny_data,
                                                                                         monkeypatch):
    """A room opening one model's map together: one computation, everyone gets its result; and
    t-SNEs of different maps never run side by side in the server (they hold a core for 20-60 s)."""
    import threading
    import time

    calls, running, most = [], [0], [0]
    lock = threading.Lock()

    def slow_fit(acts, method, seed):
        with lock:
            calls.append((method, seed))
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return np.zeros((len(acts), 2), np.float32), None

    monkeypatch.setattr(embedding, "fit_projection", slow_fit)
    monkeypatch.setattr(embedding, "_cache", type(embedding._cache)())
    imgs, labels = tiny_data[1].images[:50], tiny_data[1].labels[:50]
    got = [None] * 6

    def ask(i, seed):
        got[i] = embedding.embedding(stored["mlp"], imgs, labels, method="tsne", seed=seed)

    threads = [threading.Thread(target=ask, args=(i, 0)) for i in range(4)]  # four sessions, one map
    threads += [threading.Thread(target=ask, args=(4 + i, 10 + i)) for i in range(2)]  # two other maps
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(calls) == [("tsne", 0), ("tsne", 10), ("tsne", 11)]  # each map computed once
    assert all(g is got[0] for g in got[:4]) and got[4] is not got[0]
    assert most[0] == embedding.TSNE_AT_ONCE == 1  # never two t-SNEs at once
    assert not embedding._computing  # nothing left behind


def test_a_retrained_model_gets_a_new_cache_key(stored):
    m = stored["keras"]
    net = tutorial_cnn(seed=4)
    store.save("keras2", kind="keras-cnn", arrays=net_arrays(net), spec={"architecture": net.to_config()})
    old = store.load("keras2", cached=False)
    store.save("keras2", kind="keras-cnn", arrays=net_arrays(tutorial_cnn(seed=5)), spec={"architecture": net.to_config()},
               overwrite=True)
    new = store.load("keras2", cached=False)
    assert embedding.model_key(old) != embedding.model_key(new) and embedding.model_key(old)[1] == "keras2"
    assert embedding.model_key(m) == embedding.model_key(store.load("keras", cached=False))


def test_the_map_figure_has_a_trace_per_class_the_drawing_and_clickable_indices(stored, tiny_data):
    imgs, labels = tiny_data[1].images[:150], tiny_data[1].labels[:150]
    emb = embedding.embedding(stored["mlp"], imgs, labels, cache=False)
    fig = embedding.embedding_figure(emb, embedding.project(emb, stored["mlp"], imgs[0]), lang="es")
    digits, star = fig.data[:-1], fig.data[-1]
    assert [t.name for t in digits] == [f"dígito {d}" for d in np.unique(labels)]
    assert star.marker.symbol == "star" and star.name == "tu dibujo"
    for t in digits:
        cd = np.asarray(t.customdata)
        np.testing.assert_array_equal(labels[cd[:, 0].astype(int)], cd[:, 1])
        np.testing.assert_allclose(np.column_stack([t.x, t.y]), emb.points[cd[:, 0].astype(int)])
    assert sum(len(t.x) for t in digits) == 150


def test_bad_map_requests_are_coded_errors(stored, tiny_data):
    with pytest.raises(explain.ExplainError) as e:
        embedding.embedding(stored["mlp"], tiny_data[1].images[:50], method="umap")
    assert e.value.code == "explain.bad_method"
    with pytest.raises(explain.ExplainError) as e:
        embedding.embedding(stored["mlp"], tiny_data[1].images[:3])
    assert e.value.code == "explain.too_few_images"
    flat = NetPredictor(mlp(hidden=()))
    with pytest.raises(explain.ExplainError) as e:
        embedding.hidden_activations(flat, tiny_data[1].images[:3])
    assert e.value.code == "explain.no_hidden_layer"


def test_map_digits_come_from_the_test_set_or_the_sample(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_TEST_DATA", str(tmp_path))  # no test set there: the sample's validation part
    x, y, source = embedding.map_digits(100, seed=0)
    assert x.shape == (100, 28, 28) and x.dtype == np.uint8 and y.shape == (100,) and "sample" in source
    x2, _, _ = embedding.map_digits(100, seed=0)
    np.testing.assert_array_equal(x, x2)


# ------------------------------------------------------------------ explain() and the CLI


def _png(tmp_path, img, name="digit.png"):
    from PIL import Image

    p = tmp_path / name
    Image.fromarray(np.kron(255 - img, np.ones((8, 8), np.uint8))).save(p)  # dark ink on white, 224x224
    return p


@pytest.mark.parametrize("name", ["mlp", "cnn", "binary"])
def test_cli_explain_json(stored, tiny_data, tmp_path, capsys, name):
    p = _png(tmp_path, _digit(tiny_data[1], 0))
    assert main(["explain", str(p), "--model", name, "--json", "--eps", "0.25", "--step", "0.02"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"digit", "saliency", "adversarial"} <= set(out) and out["model"] == name
    assert out["digit"] in range(10) and len(out["proba"]) == 10
    sal, image = np.array(out["saliency"]), np.array(out["image"])
    assert sal.shape == image.shape == (28, 28) and np.isfinite(sal).all() and 0 <= image.min() <= image.max() <= 1
    adv = out["adversarial"]
    assert {"digit", "linf", "steps", "image"} <= set(adv)
    a = np.array(adv["image"], np.float32)
    assert a.shape == (28, 28) and a.min() >= 0 and a.max() <= 1
    assert adv["linf"] <= 0.25 + 1e-6 and np.isclose(np.abs(a - image).max(), adv["linf"])
    m = stored[name]
    assert int(np.argmax(m.predict_proba(a[None])[0])) == adv["digit"]  # the JSON image, predicted again
    assert adv["success"] == (adv["digit"] != out["digit"]) and adv["original"] == out["digit"]


def test_cli_explain_text(stored, tiny_data, tmp_path, capsys):
    p = _png(tmp_path, _digit(tiny_data[1], 4))
    assert main(["explain", str(p), "--model", "cnn", "--target", "9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cnn (numpy-cnn): ")
    grid = lines[2:30]
    assert len(grid) == 28 and all(len(r) == 28 and set(r) <= set(" .+#-=@") for r in grid)
    assert lines[30].endswith(".") and lines[31].startswith("nudge (step 0.01, L-inf bound 0.3): ")


@pytest.mark.parametrize("args,match", [
    (["--model", "nope"], "no model named"),
    (["--model", "mlp", "--target", "12"], "not 12"),
    (["--model", "binary", "--target", "7"], "(0, 1), not 7"),
    (["--model", "mlp", "--eps", "0"], "eps"),
    (["--model", "mlp", "--eps", "0.1", "--step", "0.5"], "step"),
    (["--model", "mlp", "IMAGE=text"], "not a readable image"),
    (["--model", "mlp", "IMAGE=missing"], "no such file"),
])
def test_cli_explain_bad_input_exits_2_with_one_line(stored, tiny_data, tmp_path, capsys, args, match):
    p = _png(tmp_path, _digit(tiny_data[1], 0))
    (tmp_path / "text.png").write_text("not a picture")
    image = {"IMAGE=text": str(tmp_path / "text.png"), "IMAGE=missing": str(tmp_path / "missing.png")}
    image_arg = next((image[a] for a in args if a in image), str(p))
    assert main(["explain", image_arg, *[a for a in args if a not in image]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err, err


def test_cli_explain_in_a_fresh_process_never_shows_a_traceback(stored, home, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "DIGITLAB_HOME": str(home)}
    p = _png(tmp_path, np.zeros((28, 28), np.uint8))  # no ink
    r = subprocess.run([sys.executable, "-m", "digitlab", "explain", str(p), "--model", "mlp"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "no ink" in r.stderr, r.stderr
