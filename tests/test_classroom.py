"""The Class page (issue 15 item 4): digitlab.classroom's leaderboard, room numbers, best
model's confusion and HTML panel, the /digitlab/class route, and AppTests of pages/class.py."""
import asyncio
import json

import numpy as np
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from digitlab import classroom, data, room, store, training
from tests.conftest import REPO
from tests.helpers import digitlab_home, write_idx_pair

TIMEOUT = 90
HOSTILE = "<script>alert(1)</script>"
TINY = {"epochs": 1, "max_train": 600}


def train(**job):
    job = {"id": job["name"], "data": "sample", "seed": 0, **job}
    final = training.run_job(job, lambda ev: None, lambda: False)
    assert final["type"] == "done", final


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A store with four owners' models (Ana, Ben with a test-set accuracy, a hostile name's
    0-vs-1 net, a class default) and 60 drawings of the class."""
    h = tmp_path_factory.mktemp("home")
    with digitlab_home(h):
        sample = data.load_sample()
        test_dir = tmp_path_factory.mktemp("testset")
        write_idx_pair(test_dir, sample.images[9000:9500], sample.labels[9000:9500])
        train(kind="numpy-mlp", preset="quick", config=TINY, name="ana-mlp", owner="Ana")
        train(kind="numpy-mlp", preset="quick", config={"epochs": 2, "max_train": 3000}, name="ben-mlp", owner="Ben",
              test=str(test_dir))
        train(kind="numpy-binary", preset="fixed", config={"iterations": 40}, name="odd-binary", owner=HOSTILE)
        train(kind="numpy-mlp", preset="quick", config={"epochs": 1, "max_train": 300, "hidden": [16]}, name="class-mlp",
              owner=None)
        r = room.Room()
        for i in range(9600, 9660):
            r.save_drawing("Ana" if i % 2 else None, sample.images[i], int(sample.labels[i]))
        yield h


@pytest.fixture
def workshop(monkeypatch):
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")


def by_name(rows):
    return {r["name"]: r for r in rows}


# ------------------------------------------------------------------ the library


def test_leaderboard_lists_every_owner_sorted_by_the_accuracy_shown(home):
    rows = classroom.leaderboard("en")
    assert {r["name"] for r in rows} == {"ana-mlp", "ben-mlp", "odd-binary", "class-mlp"}
    shown = [r["accuracy"] for r in rows]
    assert shown == sorted(shown, reverse=True) and None not in shown
    rows_ = by_name(rows)
    assert [rows_[n]["owner_label"] for n in ("ana-mlp", "ben-mlp", "odd-binary", "class-mlp")] == [
        "Ana", "Ben", HOSTILE, "class"]
    assert rows_["class-mlp"]["is_class"] and rows_["class-mlp"]["owner"] is None
    assert rows_["ana-mlp"]["kind_label"] == "Multilayer perceptron (NumPy, from scratch)"
    assert rows_["ana-mlp"]["train_seconds"] > 0


def test_leaderboard_says_which_accuracy_it_shows(home):
    rows = by_name(classroom.leaderboard("en"))
    ben = rows["ben-mlp"]
    meta = store.load_meta("ben-mlp")["metrics"]
    assert ben["accuracy_on"] == "test" and ben["accuracy"] == meta["test_accuracy"] != meta["val_accuracy"]
    assert ben["accuracy_label"] == "MNIST test set"
    for n in ("ana-mlp", "odd-binary", "class-mlp"):
        r = rows[n]
        assert r["accuracy_on"] == "val" and r["test_accuracy"] is None
        assert r["accuracy"] == store.load_meta(n)["metrics"]["val_accuracy"]
        assert r["accuracy_label"] == "held-out split"
    es = by_name(classroom.leaderboard("es"))
    assert es["ben-mlp"]["accuracy_label"] == "prueba de MNIST" and es["class-mlp"]["owner_label"] == "clase"
    assert es["ana-mlp"]["accuracy_label"] == "partición de validación"


def test_drawings_accuracy_matches_a_manual_count(home):
    ds = room.Room().drawings_dataset()
    assert len(ds) == 60
    for r in classroom.leaderboard("en"):
        if r["classes"] == 2:
            continue
        pred = store.load(r["name"]).predict_proba(ds.images).argmax(1)
        right = int(sum(int(p) == int(y) for p, y in zip(pred, ds.labels)))
        assert r["drawings_n"] == 60 and r["drawings_accuracy"] == pytest.approx(right / 60)


def test_a_binary_model_is_measured_on_the_zeros_and_ones_only(home):
    ds = room.Room().drawings_dataset()
    keep = [i for i, y in enumerate(ds.labels) if y in (0, 1)]
    assert 0 < len(keep) < 60
    r = by_name(classroom.leaderboard("en"))["odd-binary"]
    assert r["classes"] == 2 and r["drawings_n"] == len(keep)
    pred = store.load("odd-binary").predict_proba(ds.images[keep]).argmax(1)
    assert r["drawings_accuracy"] == pytest.approx(float(np.mean(pred == ds.labels[keep])))
    assert "0 vs 1 only" in classroom.panel_html("en")


def test_parameter_counts_come_from_the_weights(home):
    rows = by_name(classroom.leaderboard("en"))
    hidden = store.load_meta("class-mlp")["config"]["hidden"]
    assert hidden == [16] and rows["class-mlp"]["params"] == 784 * 16 + 16 + 16 * 10 + 10
    assert rows["ana-mlp"]["params"] == store.load("ana-mlp").net.n_params()
    p = store.load("odd-binary").predictor.params  # W1 (h, 784), b1, W2 (1, h), b2; not the input scale
    h = p["W1"].shape[0]
    assert rows["odd-binary"]["params"] == 784 * h + h + h + 1


def test_a_refresh_predicts_only_new_drawings(home, monkeypatch):
    before = by_name(classroom.leaderboard("en"))
    seen = []  # (model, how many images) of every forward pass
    real = store.load

    def load(name, **kw):
        m = real(name, **kw)
        proxy = type("Spy", (), {"classes": m.classes, "predict_proba": lambda self, x: seen.append((name, len(x)))
                                 or m.predict_proba(x)})()
        return proxy

    monkeypatch.setattr(store, "load", load)
    classroom.leaderboard("en")
    classroom.panel_html("es")
    assert seen == []  # nothing new: no forward pass
    r = room.Room()
    sample = data.load_sample()
    i = r.save_drawing(None, sample.images[0], 5)
    try:
        rows = by_name(classroom.leaderboard("en"))
        # each ten-digit model reads the new drawing alone; the 0-vs-1 model does not read a 5
        assert sorted(seen) == sorted((n, 1) for n in rows if rows[n]["classes"] == 10)
        assert rows["ana-mlp"]["drawings_n"] == 61
        assert rows["odd-binary"]["drawings_n"] == before["odd-binary"]["drawings_n"]
        right = round(before["ana-mlp"]["drawings_accuracy"] * 60)
        right += int(real("ana-mlp").predict(sample.images[:1])[0] == 5)
        assert rows["ana-mlp"]["drawings_accuracy"] == pytest.approx(right / 61)
    finally:
        r.delete_drawing(i, by=None, instructor=True)
    after = by_name(classroom.leaderboard("en"))  # a deletion is seen too, with no forward pass
    assert after["ana-mlp"]["drawings_n"] == 60 and len(seen) == 3
    assert after["ana-mlp"]["drawings_accuracy"] == before["ana-mlp"]["drawings_accuracy"]


def test_best_model_confusion_on_the_drawings(home):
    rows = classroom.leaderboard("en")
    best = classroom.best_model_confusion("en", rows=rows)
    ten = [r for r in rows if r["classes"] == 10]
    assert best["classes"] == 10 and best["accuracy"] == max(r["drawings_accuracy"] for r in ten)
    ds = room.Room().drawings_dataset()
    pred = store.load(best["name"]).predict_proba(ds.images).argmax(1)
    cm = np.zeros((10, 10), int)
    for y, p in zip(ds.labels, pred):
        cm[y, p] += 1
    assert best["matrix"].shape == (10, 10) and (best["matrix"] == cm).all() and best["n"] == 60


def test_room_numbers(home, monkeypatch):
    r = room.Room()
    r.claim_name("Ana", "token-ana")
    r.claim_name("Ben", "token-ben")

    class FakeWorker:
        def jobs(self, **kw):
            assert kw == {"instructor": True}
            return [{"state": s} for s in ("running", "queued", "queued", "done", "error")]

    monkeypatch.setattr(training, "current_worker", lambda: FakeWorker())
    here = {p.name for p in r.participants(active_within_s=classroom.ACTIVE_WITHIN_S)}
    assert {"Ana", "Ben"} <= here
    assert classroom.room_numbers() == {"participants": len(here), "models": 4, "running": 1, "queued": 2,
                                        "drawings": 60}
    monkeypatch.setattr(training, "current_worker", lambda: None)  # no trainer yet: none is started
    assert classroom.room_numbers()["running"] == 0


def test_panel_escapes_participants_names(home):
    h = classroom.panel_html("en")
    assert HOSTILE not in h and "<script" not in h and html_escaped(HOSTILE) in h
    assert 'data-testid="dl-class-table"' in h and "ben-mlp" in h and "MNIST test set" in h
    assert "Leaderboard" in h and 'data-testid="dl-class-counts"' in h
    es = classroom.panel_html("es")
    assert "Clasificación" in es and "partición de validación" in es and "<script" not in es


def html_escaped(s):
    import html

    return html.escape(s)


def call(query=b""):
    from starlette.requests import Request

    scope = {"type": "http", "method": "GET", "path": classroom.ROUTE, "path_params": {}, "query_string": query,
             "headers": []}
    resp = classroom.endpoint(Request(scope))
    if asyncio.iscoroutine(resp):
        resp = asyncio.run(resp)
    return resp, json.loads(resp.body)


def test_route_answers_json_never_cached(home):
    resp, body = call(b"lang=es")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    assert resp.headers["content-type"].startswith("application/json")
    assert "Clasificación" in body["html"] and "<script" not in body["html"] and body["stamp"]
    assert "Leaderboard" in call(b"lang=xx")[1]["html"]  # an unknown language: English
    assert call()[1]["stamp"] == body["stamp"]  # same drawings, same models: same stamp


# ------------------------------------------------------------------ the page


def class_page(lang="en"):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.query_params["name"], at.query_params["seat"] = "Prof", "seat-of-the-prof"  # past the name gate
    at.run()
    at.switch_page("pages/class.py")
    at.run()
    assert not at.exception, at.exception
    return at


def panel_of(at):
    return [h.value for h in at.get("html") if 'data-testid="dl-class"' in h.value]


@pytest.mark.parametrize("lang,title,board", [("en", "The class", "Leaderboard"), ("es", "La clase", "Clasificación")])
def test_class_page_in_workshop_mode(home, workshop, lang, title, board):
    at = class_page(lang)
    assert at.title[0].value == title
    panel = panel_of(at)
    assert len(panel) == 1 and board in panel[0] and "ben-mlp" in panel[0] and "<script" not in panel[0]
    charts = [e for e in at.get("plotly_chart")]
    assert len(charts) == 2  # the drawings grid and the best model's confusion matrix
    captions = " ".join(c.value for c in at.caption)
    assert ("Drawings per digit" if lang == "en" else "Dibujos por dígito") in captions
    assert ("reads" if lang == "en" else "lee bien") in captions
    assert not at.error


def test_class_page_empty_states(tmp_path, monkeypatch, workshop):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "empty"))
    at = class_page("en")
    infos = " ".join(i.value for i in at.info)
    assert "No drawings yet" in infos and "Draw page" in infos and "No models yet" in infos
    assert "No models yet" in panel_of(at)[0]
    assert not at.get("plotly_chart")


def nav_pages(monkeypatch) -> list[str]:
    """The url paths of the pages app.py gives st.navigation (recorded by wrapping it)."""
    seen = []
    real = streamlit.navigation

    def recording(pages, *a, **kw):
        seen[:] = [p.url_path for p in pages]
        return real(pages, *a, **kw)

    monkeypatch.setattr(streamlit, "navigation", recording)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return list(seen)


def test_class_page_only_in_workshop_mode(home, monkeypatch):
    monkeypatch.delenv("DIGITLAB_WORKSHOP", raising=False)
    pages = nav_pages(monkeypatch)
    assert "draw" in pages and "class" not in pages
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")
    pages = nav_pages(monkeypatch)
    assert pages.index("draw") + 1 == pages.index("class") == pages.index("learn") - 1
