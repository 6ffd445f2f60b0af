"""Every page in Spanish shows no English (issue 13.5): a walk over what a participant reads.

Each page runs under AppTest in Spanish, with a store holding a model of each NumPy family
(the 0-vs-1 net, an MLP, a CNN, a scikit-learn MLP) and a drawing on the Draw canvas. The
visible text is gathered from every element (titles, markdown, captions, labels, options,
metrics, tables, Plotly titles/axes/legends/hover texts) and checked two ways:

* no English sentence of the app's own texts (``digitlab.texts.en``) appears in it, where
  the Spanish table has a different text for that key;
* no common English word appears in it (a short list of words that are never Spanish).

Names are exempt: model names, kind ids (``numpy-mlp``), file names and field names in code
font are what they are in any language.
"""
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from digitlab import training
from digitlab.texts import en, en_learn, es, es_learn
from tests.conftest import REPO
from tests.helpers import digitlab_home
from tests.test_app_pages import canvas_state, drawn

PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/inspect.py", "pages/draw.py", "pages/learn.py"]
ENGLISH_WORDS = {
    "the", "and", "with", "of", "accuracy", "digit", "digits", "loss", "epoch", "epochs", "training", "validation",
    "probability", "activation", "unit", "units", "predicted", "evaluating", "queued", "running", "stopped",
    "bundled", "hidden", "learning", "rate", "layer", "weights", "filters", "mistakes", "images", "sample",
    "model", "models", "true", "label", "labels", "step", "steps", "test", "value", "per", "input", "output",
}
# names that stay as they are: model names of the fixture, kind ids, dataset ids
NAMES = re.compile(r"`[^`]*`|\b[a-z]+(?:-[a-z0-9]+)+\b|\b\w+\.(?:csv|npz|gz|png|keras)\b"
                   r"|Digit Recognizer|https?://\S+")

MODELS = [  # (name, kind, preset, config)
    ("es-bin", "numpy-binary", "fixed", {"iterations": 30}),
    ("es-mlp", "numpy-mlp", "quick", {"epochs": 1, "max_train": 1000}),
    ("es-cnn", "numpy-cnn", "quick", {"epochs": 1, "max_train": 300}),
    ("es-skl", "sklearn-mlp", "working", {"epochs": 2, "max_train": 1000}),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    h = tmp_path_factory.mktemp("es-home")
    with digitlab_home(h):
        from digitlab import models
        for name, kind, preset, cfg in MODELS:
            fields = {f.name for f in models.get_kind(kind).fields()}
            job = {"id": name, "kind": kind, "preset": preset, "config": {k: v for k, v in cfg.items() if k in fields},
                   "data": "sample", "name": name, "seed": 0}
            assert training.run_job(job, lambda ev: None, lambda: False)["type"] == "done"
        yield h


def english_sentences() -> list[str]:
    """Fragments (12+ characters, between ``{fields}``) of every English text whose Spanish differs."""
    es_t = {**es.T, **es_learn.T}
    spanish = "\n".join(es_t.values())  # an English text may quote Spanish (the tutorial's title)
    out = set()
    for k, v in {**en.T, **en_learn.T}.items():
        if es_t.get(k, v) == v:
            continue
        for frag in re.split(r"\{[^}]*\}|\*\*|[`*_#]", v):
            frag = frag.strip(" .,:;()-–—")
            if len(frag) >= 12 and " " in frag and frag not in spanish:
                out.add(frag)
    return sorted(out)


def _plotly_texts(spec: str) -> list[str]:
    fig = json.loads(spec)
    fig = fig.get("figure", fig) if isinstance(fig, dict) else {}
    out = []
    lay = fig.get("layout", {})
    for k, v in lay.items():
        if isinstance(v, dict) and k.startswith(("xaxis", "yaxis", "title", "coloraxis", "legend")):
            t = v.get("title")
            out.append(t.get("text", "") if isinstance(t, dict) else (t or ""))
            if k == "title":
                out.append(v.get("text", ""))
    for a in lay.get("annotations", []) or []:
        out.append(str(a.get("text", "")))
    for m in lay.get("updatemenus", []) or []:
        out += [str(b.get("label", "")) for b in m.get("buttons", [])]
    for tr in fig.get("data", []):
        out += [str(tr.get(k, "")) for k in ("name", "hovertemplate") if tr.get(k)]
        t = tr.get("text")
        if isinstance(t, str):
            out.append(t)
    return out


def visible_texts(node) -> list[str]:
    out = []
    kids = getattr(node, "children", None)
    if isinstance(kids, dict) and kids:
        if getattr(node, "label", None):
            out.append(str(node.label))
        for k in kids.values():
            out += visible_texts(k)
        return out
    t = type(node).__name__
    if getattr(node, "type", "") == "plotly_chart":  # AppTest shows it as an UnknownElement
        return _plotly_texts(node.proto.spec)
    if t in ("Dataframe", "Table"):
        df = node.value
        return [str(c) for c in df.columns] + [str(v) for v in df.astype(str).to_numpy().ravel()[:400]]
    if t == "Image":
        return [str(getattr(i, "caption", "") or "") for i in getattr(node.proto, "imgs", [])]
    for attr in ("label", "help", "placeholder"):
        v = getattr(node, attr, None)
        if isinstance(v, str):
            out.append(v)
    v = getattr(node, "value", None)
    opts = getattr(node, "options", None)
    shown_as_options = opts is not None and t not in ("Slider",)  # a select/radio shows its options, not its value
    if isinstance(v, str) and not shown_as_options and t not in ("TextInput", "TextArea", "UnknownElement", "Json", "Code"):
        out.append(v)
    if t in ("Metric",):
        out += [str(node.value), str(getattr(node, "delta", "") or "")]
    if opts:
        out += [str(o) for o in opts]
    return out


def english_in(texts: list[str], sentences: list[str]) -> list[str]:
    found = []
    for s in texts:
        plain = NAMES.sub(" ", s)
        for e in sentences:
            if e in plain:
                found.append(f"{e!r} in {s[:120]!r}")
        words = {w.lower() for w in re.findall(r"[^\W\d_]+", plain)}
        for w in sorted(words & ENGLISH_WORDS):
            found.append(f"word {w!r} in {s[:120]!r}")
    return found


def run_page(path: str) -> AppTest:
    from digitlab import data
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["lang"] = "es"
    at.run()
    at.switch_page(path)
    if path == "pages/draw.py":
        at.session_state["draw_canvas"] = canvas_state(drawn(data.load_sample().images[0]))
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_detector_finds_english():
    # the check itself can fail: an English sentence of the app's texts and an English word are caught
    sentences = english_sentences()
    assert sentences
    assert english_in(["Texto: " + sentences[0]], sentences)
    assert english_in(["val accuracy (%)"], sentences)
    assert not english_in(["Precisión de validación (%)", "modelo `numpy-mlp` es-mlp"], sentences)


@pytest.mark.parametrize("path", PAGES)
def test_no_english_on_a_spanish_page(home, path):
    at = run_page(path)
    texts = visible_texts(at._tree)
    assert len(texts) > 5
    found = english_in(texts, english_sentences())
    assert not found, "\n".join(sorted(set(found)))
