"""Fine-tuning on the room's handwriting in the pages (issue 17 item 4; the library is tested in
tests/test_finetune.py, the browser proof is tests/test_browser_finetune.py).

Through the pages, as a participant goes: Inspect's "Fine-tune on our handwriting" (closed at
first) says, for a stored model of every kind, how many saved drawings it reads and how many are
held out (a 0-vs-1 net: only the 0s and 1s), refuses plainly when there are too few, and "Fine-tune
a copy" queues an ordinary job that the Train page follows ("fine-tuning a copy of X") and, when
it is done, shows the before/after table; a fine-tuned copy of every kind shows on Inspect the
figures its meta holds, recomputed here from the stored models. In workshop mode a participant
picks their own drawings or the class's, and the copy is theirs. English and Spanish.
"""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digitlab import data, finetune, jobs, models, room, store, training
from digitlab.evaluation import evaluate
from pages.common import md
from tests.helpers import digitlab_home
from tests.test_app_workshop import KEY, new_app, router_runs  # noqa: F401 - every run through app.py's router

KINDS = list(models.REGISTRY)
TINY = {"numpy-binary": {"iterations": 30}, "numpy-mlp": {"epochs": 2}, "numpy-cnn": {"epochs": 1, "max_train": 600},
        "sklearn-mlp": {"epochs": 2, "shift_copies": False},
        "keras-cnn": {"epochs": 1, "max_train": 1000, "augment": False, "precision": "float32"}}
FT_EPOCHS = {"numpy-binary": 20, "numpy-cnn": 1, "keras-cnn": 1}
N_DRAWINGS = 80  # mirrored sample digits: a handwriting the bases read badly


def mirrored(n: int, seed: int = 3):
    ds = data.load_sample()
    idx = np.random.default_rng(seed).choice(len(ds), n, replace=False)
    return ds.images[idx][:, :, ::-1].copy(), ds.labels[idx]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A store with a small base of every kind, a fine-tuned copy of each, and 80 saved drawings."""
    with digitlab_home(tmp_path_factory.mktemp("ft-app-home")) as h:
        store._cache.clear()
        rm = room.Room()
        for im, lab in zip(*mirrored(N_DRAWINGS)):
            rm.save_drawing(None, im, int(lab))
        drawings = rm.drawings_dataset()
        for kind in KINDS:
            job = {"id": f"b-{kind}", "kind": kind, "preset": None, "config": TINY[kind], "data": "sample",
                   "name": f"base-{kind}", "seed": 0, "test": None}
            assert jobs.run_job(job, lambda e: None, lambda: False)["type"] == "done"
            p = finetune.plan(f"base-{kind}", drawings, epochs=FT_EPOCHS.get(kind))
            final = jobs.run_job({"id": f"f-{kind}", "kind": kind, "preset": None, "config": p["config"],
                                  "data": p["data"], "name": None, "seed": 0, "test": None,
                                  "finetune": p["finetune"]}, lambda e: None, lambda: False)
            assert final["type"] == "done" and final["model"] == f"base-{kind}-ft"
        yield h
    store._cache.clear()


def inspect(model: str, lang="en", at=None) -> AppTest:
    at = at or new_app(lang)
    at.switch_page("pages/inspect.py")
    at.query_params["model"] = model
    at.run()
    assert not at.exception, at.exception
    return at


def open_finetune(at) -> AppTest:
    at.session_state["inspect_finetune"] = True  # the expander opened (it reruns on a change)
    at.run()
    assert not at.exception, at.exception
    return at


def texts_of(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info])


def errors(at):
    return [e.value for e in at.error]


def table_rows(at) -> list[list[str]]:
    (tab,) = at.table
    df = tab.value
    return [list(map(str, df.columns))] + [list(map(str, r)) for r in df.itertuples(index=False)]


def expected_split(kind: str, drawings) -> tuple[int, int]:
    train_d, held, _ = finetune.split_drawings(drawings, models.get_kind(kind).classes)
    return len(train_d), len(held)


# ------------------------------------------------------------------ the form, for every kind


@pytest.mark.parametrize("kind", KINDS)
def test_form_counts_the_drawings_each_kind_reads(home, kind):
    """Closed at first (no drawings read); open, it says how many drawings this kind reads, how
    many it would train on and hold out (counted again here), and offers the kind's epochs."""
    at = inspect(f"base-{kind}")
    assert "Fine-tune a copy" not in [b.label for b in at.button]  # closed: nothing drawn inside
    at = open_finetune(at)
    n_train, n_held = expected_split(kind, room.Room().drawings_dataset())
    words = texts_of(at)
    assert f"{n_train + n_held} drawings this model reads: **{n_train}** to train on, **{n_held}** held out" in words
    assert n_held >= finetune.MIN_HELDOUT and n_train >= finetune.MIN_TRAIN
    if kind == "numpy-binary":  # only 0s and 1s
        assert n_train + n_held < N_DRAWINGS and "reads only the drawings of 0 and 1" in words
    else:
        assert n_train + n_held == N_DRAWINGS
    field = "iterations" if kind == "numpy-binary" else "epochs"
    (ep,) = [n for n in at.number_input if n.key == f"ft_epochs_base-{kind}"]
    assert ep.label == field.capitalize() and ep.value == finetune.base_config(store.load_meta(f"base-{kind}"))[field]
    assert "Fine-tune a copy" in [b.label for b in at.button]


@pytest.mark.parametrize("kind", KINDS)
def test_a_fine_tuned_copy_shows_its_before_and_after(home, kind):
    """Inspect of a copy: the table's figures are the base's and the copy's accuracy on the
    held-out drawings, recomputed here from the two stored models; no test set here, so "–"."""
    at = inspect(f"base-{kind}-ft")
    meta = store.load_meta(f"base-{kind}-ft")
    held = data.load(meta["finetune"]["heldout"])
    before = evaluate(store.load(f"base-{kind}"), held)["accuracy"]
    after = evaluate(store.load(f"base-{kind}-ft"), held)["accuracy"]
    rows = table_rows(at)
    assert rows[0] == ["Measured on", "Before", "After", "Change"]
    change = 100 * (after - before)
    sign = "+" if change > 0.05 else ("−" if change < -0.05 else "±")
    assert rows[1] == [f"held-out drawings ({len(held)})", f"{100 * before:.1f}%", f"{100 * after:.1f}%",
                       f"{sign}{abs(change):.1f} points"]
    assert rows[2] == ["official test set", "–", "–", "–"]
    words = texts_of(at)
    assert f"A copy of **{md('base-' + kind)}** fine-tuned on {meta['finetune']['n_drawings']} drawings" in words
    assert "not on this server" in words  # forgetting not measured: said
    (m,) = [m for m in at.metric if m.label == "Held-out accuracy"]  # the copy's validation is its held-out set
    assert m.value == f"{100 * after:.2f}%"


def test_a_copy_in_spanish(home):
    at = inspect("base-numpy-mlp-ft", lang="es")
    rows = table_rows(at)
    assert rows[0] == ["Medido con", "Antes", "Después", "Cambio"]
    assert rows[1][0].startswith("dibujos reservados (") and rows[1][1].endswith("\u00a0%")
    assert rows[1][3].endswith(" puntos") and "," in rows[1][1]
    assert "Una copia de **base\\-numpy\\-mlp** afinada con" in texts_of(at)
    at = open_finetune(at)
    assert "Afinar una copia" in [b.label for b in at.button] and "para entrenar" in texts_of(at)


def test_too_few_drawings_says_how_many_and_links_to_draw(tmp_path, home):
    """A store whose room has 6 drawings: the form says the numbers and what it needs, offers
    no button, and links to Draw."""
    import shutil

    h = tmp_path / "few"
    (h / "models").mkdir(parents=True)
    shutil.copytree(home / "models" / "base-numpy-cnn", h / "models" / "base-numpy-cnn")
    with digitlab_home(h):
        store._cache.clear()
        rm = room.Room()
        for im, lab in zip(*mirrored(6)):
            rm.save_drawing(None, im, int(lab))
        for lang, words in (("en", "Not enough drawings yet"), ("es", "Aún no hay bastantes dibujos")):
            at = open_finetune(inspect("base-numpy-cnn", lang=lang))
            info = " ".join(i.value for i in at.info)
            n_train, n_held = expected_split("numpy-cnn", rm.drawings_dataset())
            assert words in info and f"{n_train}" in info and f"{finetune.MIN_TRAIN}" in info, info
            assert not [b for b in at.button if b.key == "ft_start"] and not errors(at)
    store._cache.clear()


def test_fine_tune_a_copy_from_inspect_and_follow_it_on_train(home):
    """The button queues an ordinary job on the worker (the trainer process); the page moves to
    Train with the job in the address, which says what it is; when it is done, the before/after
    table. The base is not changed."""
    base = "base-numpy-binary"
    created = store.load_meta(base)["created"]
    at = open_finetune(inspect(base))
    next(b for b in at.button if b.key == "ft_start").click().run()
    assert not at.exception and not errors(at), errors(at)
    jid = at.query_params.get("job")
    assert at.title[0].value == "Train"  # moved to the Train page, following the job
    assert training.is_job_id(jid) and at.session_state["train_job"] == jid
    w = training.get_worker()
    s = w.status(jid)
    assert s["finetune"]["base"] == base and s["kind"] == "numpy-binary"
    n, held = s["finetune"]["n_drawings"], s["finetune"]["n_heldout"]
    said = f"Fine-tuning a copy of **{md(base)}** on {n} drawings ({held} held out)."
    assert said in texts_of(at)
    assert w.wait(jid, timeout=120)["state"] == "done"
    at = new_app(query={"job": jid})  # the job's address (a reload): the finished job
    at.switch_page("pages/train.py")
    at.query_params["job"] = jid
    at.run()
    assert not at.exception, at.exception
    assert said in texts_of(at)
    model = w.status(jid)["model"]
    assert model.startswith(base + "-ft") and model != base + "-ft"  # the fixture's copy keeps its name
    rows = table_rows(at)
    assert rows[1][0] == f"held-out drawings ({held})"
    assert store.load_meta(base)["created"] == created


# ------------------------------------------------------------------ workshop mode: mine or the class's


def test_workshop_participant_picks_mine_or_the_class(home, monkeypatch):
    """Ana has 6 drawings of her own (too few) and the class 86: "mine" refuses, "the class's"
    counts everyone's and the copy is Ana's, its drawings the class's."""
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")
    monkeypatch.setenv("DIGITLAB_INSTRUCTOR_KEY", KEY)
    rm = room.Room()
    mine = [rm.save_drawing("Ana", im, int(lab)) for im, lab in zip(*mirrored(6, seed=9))]
    try:
        at = new_app()
        at.text_input(key="ws_name_input").input("Ana")
        next(b for b in at.button if b.label == "Join").click().run()
        assert at.session_state["ws_name"] == "Ana"
        at = open_finetune(inspect("base-numpy-mlp", at=at))
        radio = next(r for r in at.radio if r.key == "ft_whose")
        assert list(radio.options) == ["Mine (6)", f"The class's ({N_DRAWINGS + 6})"]
        radio.set_value("mine").run()
        assert "Not enough drawings yet" in " ".join(i.value for i in at.info)
        at.radio(key="ft_whose").set_value("class").run()
        assert f"{N_DRAWINGS + 6} drawings this model reads" in texts_of(at)
        next(b for b in at.button if b.key == "ft_start").click().run()
        assert not errors(at), errors(at)
        jid = at.query_params.get("job")
        w = training.get_worker()
        s = w.status(jid)
        assert s["owner"] == "Ana" and s["finetune"]["owner"] is None
        assert w.wait(jid, timeout=120)["state"] == "done"
        meta = store.load_meta(w.status(jid)["model"])
        assert meta["owner"] == "Ana" and meta["finetune"]["owner"] is None
        at.run()
        assert "the class's" in texts_of(at)
    finally:
        for i in mine:
            rm.delete_drawing(i, by="Ana")
