"""Issue 17's page views, in AppTest: the Draw page's "Why?" (every model's saliency map and reading,
Grad-CAM for the CNN, the Nudge, the embedding map with a clicked point), the saliency on Inspect,
in English and Spanish; bad settings are messages, not exceptions. Plus the figures and helpers of
digitlab/explain_viz.py. (The browser proof is tests/test_browser_explain.py.)

The store is tests/test_spanish.py's (its ``home`` fixture): a small model of each NumPy family, trained
through the real job code in seconds: the 0-vs-1 net, an MLP, a CNN (Grad-CAM), a scikit-learn MLP.
"""
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digitlab import data, embedding, explain_viz, store, texts
from digitlab.saliency import reading_text
from digitlab.texts import en_explain, es_explain
from tests.conftest import REPO
from tests.test_app_inspect_draw import canvas_state, drawn
from tests.test_spanish import MODELS, english_in, english_sentences, home, visible_texts  # noqa: F401 (home: the fixture)

TIMEOUT = 120
NAMES_ = [m[0] for m in MODELS]  # the store of tests/test_spanish.py: a model of each NumPy family
BIN, MLP, CNN = "es-bin", "es-mlp", "es-cnn"


def digit(i=0):
    ds = data.load_sample()
    return ds.images[i], int(ds.labels[i])


def draw_page(lang="en", i=0, why=True, tab=None) -> AppTest:
    """The Draw page with digit ``i`` of the sample on its canvas, the Why? section open (or not)."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("pages/draw.py")
    at.session_state["draw_canvas"] = canvas_state(drawn(digit(i)[0]))
    if why:
        at.session_state["draw_why"] = True
    if tab:
        at.session_state["draw_why_tab"] = texts.text(lang, f"why.tab.{tab}")
    at.run()
    assert not at.exception, at.exception
    return at


def drawn_image(at) -> np.ndarray:
    return at.session_state["draw_image"]


def charts(at, prefix: str) -> list:
    return [c for c in at.get("plotly_chart") if re.search(rf"-{prefix}", c.proto.id)]


def errors(at):
    return [e.value for e in at.error]


def loaded():
    return {n: store.load(n) for n in NAMES_}


# ------------------------------------------------------------------ closed by default: nothing computed


def test_why_is_closed_by_default_and_computes_nothing(home, monkeypatch):
    calls = []
    real = explain_viz.explain_models
    monkeypatch.setattr(explain_viz, "explain_models", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = draw_page(why=False)
    assert any(e.label == texts.text("en", "why.title") for e in at.expander)
    assert not charts(at, "draw_why") and not calls
    at.session_state["draw_why"] = True
    at.run()
    assert len(charts(at, "draw_why_px_sal_")) == len(MODELS) and calls  # opened: computed


# ------------------------------------------------------------------ 1. saliency of every model, with its reading


@pytest.mark.parametrize("lang", ["en", "es"])
def test_why_shows_every_models_heat_map_and_reading(home, lang):
    at = draw_page(lang)
    assert not errors(at) and not at.warning, (errors(at), [w.value for w in at.warning])
    assert len(charts(at, "draw_why_px_sal_")) == len(MODELS)  # ∂p/∂x: one map per model
    heads = [m.value for m in at.markdown]
    captions = [c.value for c in at.caption]
    found = explain_viz.explain_models(loaded(), drawn_image(at))
    for name in NAMES_:
        s = found[name]["saliency"]
        assert any(name.replace("-", "\\-") in h and f"**{s.answer}**" in h for h in heads), (name, heads)
        assert reading_text(lang, found[name]["reading"]) in captions, (name, captions)
    assert texts.text(lang, "why.caption.gradient", what=texts.text(lang, "why.what_answer")) in captions
    # the figure: the digit in faint grey under a diverging map centred at 0
    spec = json.loads(charts(at, "draw_why_px_sal_")[0].proto.spec)
    under, heat = spec["data"]
    assert heat["zmin"] == -heat["zmax"] and "rgba(255,255,255,0)" in json.dumps(heat["colorscale"])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_grad_cam_for_the_cnn_only(home, lang):
    at = draw_page(lang)
    at.radio(key="draw_why_px_map").set_value("cam").run()
    assert not at.exception and not errors(at)
    assert len(charts(at, "draw_why_px_sal_")) == 1  # the CNN
    assert [c.value for c in at.caption].count(texts.text(lang, "why.no_cam")) == len(MODELS) - 1
    at.radio(key="draw_why_px_map").set_value("times_input").run()
    assert len(charts(at, "draw_why_px_sal_")) == len(MODELS)


def test_explaining_another_digit(home):
    at = draw_page()
    at.selectbox(key="draw_why_px_digit").set_value(7).run()
    assert not at.exception and not errors(at)
    heads = [m.value for m in at.markdown if "the probability of 7" in m.value]
    assert len(heads) == len(MODELS), [m.value for m in at.markdown]
    # the 0-vs-1 net has no 7: its map is 0 and its reading says the output does not move
    assert texts.text("en", "explain.reading.flat", digit=7) in [c.value for c in at.caption]


# ------------------------------------------------------------------ 2. the nudge


@pytest.mark.parametrize("lang", ["en", "es"])
def test_nudge_shows_the_new_answer_and_the_linf_size(home, lang):
    at = draw_page(lang, tab="nudge")
    assert not charts(at, "draw_why_nudge_")  # nothing before the button
    assert any(texts.text(lang, "why.nudge.press") == i.value for i in at.info)
    at.button(key="draw_why_nudge_go").click().run()
    assert not at.exception and not errors(at)
    metrics = {m.label: (m.value, m.delta) for m in at.metric}
    captions = [c.value for c in at.caption]
    image = drawn_image(at)
    for name in NAMES_:
        value, size = metrics[texts.text(lang, "why.nudge.new_answer", name=name)]
        n = explain_viz.nudge_each({name: store.load(name)}, image, step=0.01, eps=0.3)[name]["nudge"]
        assert value == (f"{n.original} → {n.digit}" if n.success else str(n.digit))
        assert n.linf <= 0.3 + 1e-6
        assert size == texts.text(lang, "why.nudge.size", linf=texts.number(lang, n.linf, 2), steps=n.steps)
        assert reading_text(lang, n.reading()) in captions
    assert len(charts(at, "draw_why_nudge_nudge_")) == len(MODELS)
    # another drawing: the old result is not shown for it
    at.session_state["draw_canvas"] = canvas_state(drawn(digit(5)[0]))
    at.run()
    assert not charts(at, "draw_why_nudge_nudge_")
    assert any(texts.text(lang, "why.nudge.press") == i.value for i in at.info)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_target_the_model_already_answers_or_cannot_answer_is_a_message(home, lang):
    at = draw_page(lang, tab="nudge")
    answers = {n: explain_viz.answer_of(store.load(n), drawn_image(at)) for n in NAMES_}
    target = answers[MLP]
    at.selectbox(key="draw_why_nudge_target").set_value(target).run()
    at.button(key="draw_why_nudge_go").click().run()
    assert not at.exception and not errors(at)
    warnings = [w.value for w in at.warning]
    for name, a in answers.items():
        if a == target:
            assert texts.text(lang, "why.nudge.already", name=name, digit=target) in warnings
    if target not in (0, 1):  # the 0-vs-1 net has no such output: its own message
        assert any(w.startswith(f"{BIN}: ") and "0, 1" in w for w in warnings), warnings
    # a target the 0-vs-1 net cannot reach, the others can: their answers, its message
    far = next(d for d in range(2, 10) if d not in answers.values())
    at.selectbox(key="draw_why_nudge_target").set_value(far).run()
    at.button(key="draw_why_nudge_go").click().run()
    assert not at.exception and not errors(at)
    assert any(w.startswith(f"{BIN}: ") and str(far) in w for w in (w.value for w in at.warning))
    others = {texts.text(lang, "why.nudge.new_answer", name=n) for n in NAMES_ if n != BIN}
    assert len([m for m in at.metric if m.label in others]) == len(others)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_step_larger_than_the_bound_is_one_clear_message(home, lang):
    at = draw_page(lang, tab="nudge")
    at.select_slider(key="draw_why_nudge_step").set_value(0.1)
    at.select_slider(key="draw_why_nudge_eps").set_value(0.05).run()
    at.button(key="draw_why_nudge_go").click().run()
    assert not at.exception
    (msg,) = errors(at)
    assert msg == texts.error_message(lang, "explain.bad_step", {"step": 0.1, "eps": 0.05})
    assert not charts(at, "draw_why_nudge_nudge_")


# ------------------------------------------------------------------ 3. the embedding map


def map_key(name, method="pca"):
    return f"draw_why_map_map_{name}_{method}"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_map_renders_and_a_clicked_point_shows_its_digit(home, lang):
    at = draw_page(lang, tab="map")
    assert not errors(at) and not at.warning
    at.selectbox(key="draw_why_map_model").set_value(CNN).run()
    (chart,) = charts(at, map_key(CNN))
    fig = json.loads(chart.proto.spec)
    traces = fig["data"]
    assert len([t for t in traces if t.get("customdata")]) == 10  # one per digit, clickable
    assert any(t["marker"].get("symbol") == "star" for t in traces)  # the drawing
    assert isinstance(traces[0]["customdata"][0], list)  # plain lists: no typed-array rows
    images, labels, _ = embedding.map_digits(2000)
    i = 123
    # the browser's selection event, customdata as a typed array's row arrives as {"0": i, "1": label}
    at.session_state[map_key(CNN)] = {"selection": {
        "points": [{"curve_number": 3, "point_number": 7, "point_index": 7, "x": 0.1, "y": 0.2,
                    "customdata": {"0": i, "1": int(labels[i])}}], "point_indices": [7], "box": [], "lasso": []}}
    at.run()
    assert not at.exception and not errors(at)
    answer = explain_viz.answer_of(store.load(CNN), images[i])
    want = texts.text(lang, "why.map.clicked", index=i, label=int(labels[i]), name="es\\-cnn", answer=answer)
    assert want in [m.value for m in at.markdown]
    assert charts(at, "draw_why_map_clicked")
    ringed = json.loads(charts(at, map_key(CNN))[0].proto.spec)["data"][-1]
    assert ringed["marker"]["symbol"] == "circle-open"


def test_the_map_with_tsne(home):
    at = draw_page(tab="map")
    at.selectbox(key="draw_why_map_model").set_value(MLP).run()
    at.radio(key="draw_why_map_method").set_value("tsne").run()
    assert not at.exception and not errors(at)
    assert charts(at, map_key(MLP, "tsne"))
    assert texts.text("en", "why.map.tsne_note") in [c.value for c in at.caption]


# ------------------------------------------------------------------ Inspect: the chosen digit's saliency


def inspect_page(lang: str, model: str, **state) -> AppTest:
    """The Inspect page on ``model`` with session ``state`` set before its run."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("pages/inspect.py")
    for k, v in {"inspect_model": model, **state}.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


@pytest.mark.parametrize("lang", ["en", "es"])
def test_inspect_shows_the_chosen_digits_saliency(home, lang):
    at = inspect_page(lang, CNN)
    assert not charts(at, "inspect_why_")  # closed
    at.session_state["inspect_why"] = True
    at.number_input(key="inspect_idx").set_value(4).run()
    assert not at.exception and not errors(at)
    assert len(charts(at, "inspect_why_sal_")) == 1
    s = explain_viz.explain_models({CNN: store.load(CNN)}, data.load_sample().images[4])[CNN]
    assert reading_text(lang, s["reading"]) in [c.value for c in at.caption]
    at.toggle(key="inspect_why_all").set_value(True).run()
    assert len(charts(at, "inspect_why_sal_")) == len(MODELS)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_inspect_explains_one_of_a_cells_mistakes(home, lang):
    at = inspect_page(lang, MLP, inspect_why_mistake=True)
    assert len(charts(at, "inspect_why_mistake_sal_")) == 1  # the most confident mistake of the worst cell
    true, pred = at.selectbox(key="inspect_true").value, at.selectbox(key="inspect_pred").value
    heads = [m.value for m in at.markdown if MLP.replace("-", "\\-") in m.value]
    assert any(f"**{pred}**" in h for h in heads), heads  # it answers the wrong digit
    at.selectbox(key="inspect_why_mistake_digit").set_value(true).run()  # and why not the right one?
    assert not at.exception and not errors(at) and len(charts(at, "inspect_why_mistake_sal_")) == 1
    at.number_input(key="inspect_why_mistake_k").set_value(2).run()
    assert not at.exception and not errors(at)


# ------------------------------------------------------------------ Spanish: no English in the open views


def test_no_english_in_the_spanish_why_views(home):
    es = {**es_explain.T}
    sentences = english_sentences() + sorted({
        frag for k, v in en_explain.T.items() if es.get(k, v) != v
        for frag in (f.strip(" .,:;()-–—") for f in re.split(r"\{[^}]*\}|\*\*|[`*_#]", v))
        if len(frag) >= 12 and " " in frag})
    seen = []
    for tab in ("pixels", "nudge", "map"):
        at = draw_page("es", tab=tab)
        if tab == "nudge":
            at.button(key="draw_why_nudge_go").click().run()
        if tab == "map":
            _, labels, _ = embedding.map_digits(2000)
            at.session_state[map_key(BIN)] = {"selection": {"points": [{"customdata": [3, int(labels[3])]}],
                                                               "point_indices": [3], "box": [], "lasso": []}}
            at.run()
        assert not at.exception and not errors(at)
        seen += visible_texts(at._tree)
    found = english_in(seen, sentences)
    assert not found, "\n".join(sorted(set(found)))


# ------------------------------------------------------------------ explain_viz on its own


def test_clicked_index_reads_every_form_of_a_point():
    assert explain_viz.clicked_index({"customdata": [5, 3]}) == 5
    assert explain_viz.clicked_index({"customdata": {"0": 7, "1": 1}}) == 7
    assert explain_viz.clicked_index({"customdata": (2.0, 9)}) == 2
    for bad in ({}, {"customdata": None}, {"customdata": []}, {"customdata": ["x"]}, {"customdata": [-1, 2]},
                {"customdata": True}, {"x": 1, "y": 2}, "garbage"):
        assert explain_viz.clicked_index(bad) is None, bad


def test_saliency_figure_of_a_flat_map_and_the_nudge_figure(home):
    img = np.zeros((28, 28), np.float32)
    fig = explain_viz.saliency_figure(img, np.zeros((28, 28)))
    heat = fig.data[1]
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)  # an all-zero map: a scale, no division by zero
    cam = explain_viz.saliency_figure(img, np.full((28, 28), 2.0), cam=True)
    assert (cam.data[1].zmin, cam.data[1].zmax) == (0, 2.0)
    m = store.load(MLP)
    n = explain_viz.nudge_each({MLP: m}, digit(0)[0], step=0.02, eps=0.3)[MLP]["nudge"]
    fig = explain_viz.nudge_figure(n, titles={"nudged": "a", "difference": "b"})
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    assert fig.data[-1].zmax == pytest.approx(max(n.linf, 1e-6))


def test_nudge_each_checks_the_settings_once_and_the_target_per_model(home):
    from digitlab.explain import ExplainError

    ms = loaded()
    img = digit(0)[0]
    with pytest.raises(ExplainError) as e:
        explain_viz.nudge_each(ms, img, step=0.5, eps=0.1)
    assert e.value.code == "explain.bad_step"
    out = explain_viz.nudge_each(ms, img, step=0.02, eps=0.3, target=explain_viz.answer_of(ms[MLP], img))
    assert "already" in out[MLP]
    far = next(d for d in range(2, 10) if d != explain_viz.answer_of(ms[CNN], img))
    out = explain_viz.nudge_each(ms, img, step=0.02, eps=0.3, target=far)
    assert out[BIN]["error"].code == "explain.bad_target" and "nudge" in out[CNN]
    assert explain_viz.nudge_each({}, img, step=0.01, eps=0.3) == {}
