"""AppTests of issue 13's Inspect, Draw, Home and Learn items (the browser proofs are in
tests/test_browser_inspect_draw.py)."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from digitlab import data, store, training
from tests.conftest import REPO
from tests.helpers import digitlab_home
from tests.test_app_pages import page

TIMEOUT = 90
MODEL = "tiny-mlp-13"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A model store holding one small trained MLP, shared by this module's tests."""
    h = tmp_path_factory.mktemp("home13")
    with digitlab_home(h):
        job = {"id": "t13", "kind": "numpy-mlp", "preset": "quick", "config": {"epochs": 3},
               "data": "sample", "name": MODEL, "seed": 0}
        final = training.run_job(job, lambda ev: None, lambda: False)
        assert final["type"] == "done" and final["model"] == MODEL
        yield h


def errors(at):
    return [e.value for e in at.error]


def png_url(rgba: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def drawn(digit_image: np.ndarray) -> np.ndarray:
    """A 28x28 MNIST digit drawn big, white on black, on a 280x280 RGBA canvas."""
    big = np.kron(digit_image, np.ones((8, 8), np.uint8))
    c = np.zeros((280, 280, 4), np.uint8)
    c[..., 3] = 255
    c[40:264, 20:244, :3] = big[..., None]
    return c


def path_object(i: int) -> dict:
    """A freehand stroke as Fabric.js serialises it (only what the page passes through)."""
    return {"type": "Path", "version": "6.0.0", "left": 10 * i, "top": 20, "stroke": "#ffffff", "strokeWidth": 20,
            "path": [["M", 10 * i, 20], ["L", 10 * i + 5, 200]]}


def canvas_state(rgba: np.ndarray, n_objects: int = 2) -> dict:
    """What streamlit-drawable-canvas sends after strokes: the Fabric JSON and a PNG data URL."""
    return {"drawing": {"raw": {"version": "6.0.0", "objects": [path_object(i) for i in range(n_objects)],
                                "background": "#000000"}, "data": png_url(rgba)},
            "backgroundFit": None}


def canvas_data(at) -> dict:
    """The data the Draw page sends to the canvas component (what the browser receives)."""
    (el,) = [e for e in at.get("bidi_component") if e.proto.id.endswith("draw_canvas")]
    return json.loads(el.proto.json)


def sample_digit(i=0):
    ds = data.load_sample()
    return ds.images[i], int(ds.labels[i])


# ------------------------------------------------------------------ 1. a click on a confusion-matrix cell


def test_inspect_confusion_cell_click_as_the_browser_sends_it(home):
    """The browser's selection event: Plotly's typed customdata arrives as {"0": t, "1": p} (seen in Chromium)."""
    at = page("pages/inspect.py")
    key = f"inspect_cm_{MODEL}_val"
    at.session_state[key] = {"selection": {
        "points": [{"curve_number": 0, "point_number": 35, "point_index": 35, "x": 5, "y": 3,
                    "customdata": {"0": 3, "1": 5}, "text": "4"}],
        "point_indices": [35], "box": [], "lasso": []}}
    at.run()
    assert not at.exception and not errors(at), errors(at)
    assert (at.selectbox(key="inspect_true").value, at.selectbox(key="inspect_pred").value) == (3, 5)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Confusion matrix" in s for s in specs)  # the matrix is still there
    shown = any("labelled 3 predicted as 5" in s for s in specs)
    none = any("No digit labelled 3 was predicted as 5" in c.value for c in at.caption)
    assert shown != none
    # a list customdata (and none at all: the point's x/y) pick the cell too
    at.session_state[key] = {"selection": {"points": [{"x": 7, "y": 2, "customdata": [2, 7]}],
                                           "point_indices": [27], "box": [], "lasso": []}}
    at.run()
    assert not errors(at) and (at.selectbox(key="inspect_true").value, at.selectbox(key="inspect_pred").value) == (2, 7)
    at.session_state[key] = {"selection": {"points": [{"x": 1, "y": 4}], "point_indices": [41], "box": [], "lasso": []}}
    at.run()
    assert not errors(at) and (at.selectbox(key="inspect_true").value, at.selectbox(key="inspect_pred").value) == (4, 1)


def test_confusion_matrix_sends_plain_lists():
    """customdata as nested lists, so a point's customdata reaches Python as a list, not a typed array."""
    from digitlab import viz

    fig = viz.confusion_matrix(np.eye(10, dtype=np.int64))
    spec = json.loads(fig.to_json())
    assert spec["data"][0]["customdata"][35] == [3, 5]


# ------------------------------------------------------------------ 13. a perfect score: only the message


def test_inspect_perfect_score_shows_only_the_message(home):
    img, _ = sample_digit(0)
    guess = int(store.load(MODEL).predict(img[None])[0])
    at = page("pages/inspect.py")
    from digitlab import room

    drawing = room.Room().save_drawing(None, img.copy(), guess)  # one drawing, read right: a perfect score
    try:
        at.run()
        at.radio(key="inspect_eval").set_value("drawings").run()
        assert not at.exception and not errors(at)
        assert any("No mistakes at all" in s.value for s in at.success)
        specs = [c.proto.spec for c in at.get("plotly_chart")]
        assert not any("predicted as" in s for s in specs), "a 'mistakes' grid next to 'No mistakes at all'"
        assert not any("was predicted as" in c.value for c in at.caption)
    finally:
        room.Room().delete_drawing(drawing, by=None, instructor=True)


# ------------------------------------------------------------------ 2. the Draw page's own Clear and Undo


def test_draw_has_its_own_clear_and_undo(home):
    at = page("pages/draw.py")
    assert at.button(key="draw_undo").disabled and at.button(key="draw_undo").label == "Undo"
    assert at.button(key="draw_clear").label == "Clear"
    assert not any("toolbar" in c.value for c in at.caption)
    img, _ = sample_digit(1)
    at.session_state["draw_canvas"] = canvas_state(drawn(img), n_objects=2)
    at.run()
    assert any(m.label == MODEL for m in at.metric)
    assert not at.button(key="draw_undo").disabled
    # Undo: the canvas is re-sent its drawing without the last stroke
    at.button(key="draw_undo").click().run()
    assert not at.exception
    assert canvas_data(at)["initialDrawing"]["objects"] == [path_object(0)]
    # ... and a second Undo of the same stroke count still re-sends (the canvas only reloads a changed drawing)
    first = canvas_data(at)["initialDrawing"]
    at.session_state["draw_canvas"] = canvas_state(drawn(img), n_objects=2)
    at.run()
    at.button(key="draw_undo").click().run()
    again = canvas_data(at)["initialDrawing"]
    assert again["objects"] == [path_object(0)] and again != first
    # Clear: an empty canvas at once, no answers left
    at.session_state["draw_canvas"] = canvas_state(drawn(img), n_objects=2)
    at.run()
    assert any(m.label == MODEL for m in at.metric)
    at.button(key="draw_clear").click().run()
    assert not at.exception
    assert canvas_data(at)["initialDrawing"]["objects"] == []
    assert not at.metric
    assert any("Draw a digit" in i.value for i in at.info)


def test_draw_clear_and_undo_in_spanish(home):
    at = page("pages/draw.py", lang="es")
    assert at.button(key="draw_undo").label == "Deshacer"
    assert at.button(key="draw_clear").label == "Borrar"
    assert not any("barra" in c.value for c in at.caption)
    assert any("Deshacer" in c.value for c in at.caption)


# ------------------------------------------------------------------ 10. the last drawing outlives the Draw page


def test_last_and_saved_drawings_survive_leaving_draw(home):
    img, label = sample_digit(2)
    at = page("pages/draw.py")
    at.session_state["draw_canvas"] = canvas_state(drawn(img))
    at.run()
    at.selectbox(key="draw_label").set_value(label).run()
    at.button(key="draw_save").click().run()
    page("pages/inspect.py", at=at)
    assert "my last drawing" in at.radio(key="inspect_src").options
    # back to Draw (its canvas starts empty: Streamlit forgets a hidden page's widgets), then Inspect again
    page("pages/draw.py", at=at)
    page("pages/inspect.py", at=at)
    assert "my last drawing" in at.radio(key="inspect_src").options
    at.radio(key="inspect_src").set_value("drawing").run()
    assert not errors(at) and any(m.label == "Prediction" for m in at.metric)
    assert "my drawings (1)" in at.radio(key="inspect_eval").options  # the saved one is still there
    page("pages/draw.py", at=at)
    assert any("My drawings: 1" in m.value for m in at.markdown)


# ------------------------------------------------------------------ 13. Home: the workshop path follows the sidebar


SIDEBAR = ["pages/data.py", "pages/train.py", "pages/inspect.py", "pages/draw.py", "pages/learn.py"]


@pytest.mark.parametrize("lang,names", [("en", ["Data", "Train", "Inspect", "Draw", "Learn"]),
                                        ("es", ["Datos", "Entrenar", "Inspeccionar", "Dibujar", "Aprender"])])
def test_home_workshop_path_matches_the_sidebar_and_links_every_step(home, lang, names):
    at = page("pages/home.py", lang=lang)
    links = at.get("page_link")
    assert [ln.proto.label for ln in links] == names
    assert [ln.proto.page for ln in links] == [p.split("/")[-1].removesuffix(".py") for p in SIDEBAR]
    path = next(m.value for m in at.markdown if m.value.lstrip().startswith("1. "))
    steps = [line.split("**")[1] for line in path.splitlines() if line[:1].isdigit()]
    assert steps == names


# ------------------------------------------------------------------ 13. Learn: the tutorial's derivative


@pytest.mark.parametrize("lang", ["en", "es"])
def test_learn_tutorial_derivative_label(lang):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    page("pages/learn.py", at=at)
    label = at.toggle(key="learn_gd_bug").label
    assert "1 − A1²" in label and "A¹²" not in label, label
