"""AppTests of workshop mode in the pages (issue 15 items 1, 2, 3, 5): the name gate, the
instructor key, who sees and manages which models, jobs and drawings. The browser proof with
several participants on one server is tests/test_browser_workshop.py."""
import base64
import io
import json
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from digitlab import data, roles, room, store, training
from tests.conftest import REPO

TIMEOUT = 90
KEY = "teacher-key-15"
TINY = {"epochs": 1, "max_train": 600}
MODELS = {"ana-mlp": "Ana", "ben-mlp": "Ben", "class-mlp": None}


@pytest.fixture(autouse=True)
def router_runs(monkeypatch):
    """Every run goes through app.py's router, as on a real server. (AppTest starts each run in
    Streamlit's legacy ``pages/`` mode, where a switched-to page runs alone, without the router
    and so without the gate; a real server leaves that mode at its first run.)"""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def no_legacy_pages(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", no_legacy_pages)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One small trained MLP, copied into each test's store under several names and owners."""
    h = tmp_path_factory.mktemp("ws-template")
    mp = pytest.MonkeyPatch()
    mp.setenv("DIGITLAB_HOME", str(h))
    try:
        job = {"id": "tpl", "kind": "numpy-mlp", "preset": "quick", "config": {"epochs": 2},
               "data": "sample", "name": "tpl", "seed": 0}
        assert training.run_job(job, lambda ev: None, lambda: False)["type"] == "done"
    finally:
        mp.undo()
    return h / "models" / "tpl"


def put_models(home, template, models):
    for name, owner in models.items():
        dst = home / "models" / name
        shutil.copytree(template, dst)
        meta = json.loads((dst / "meta.json").read_text())
        meta["owner"] = owner
        (dst / "meta.json").write_text(json.dumps(meta))


@pytest.fixture
def home(tmp_path, monkeypatch, template):
    """Workshop mode on a fresh store holding Ana's, Ben's and a class default model."""
    h = tmp_path / "home"
    monkeypatch.setenv("DIGITLAB_HOME", str(h))
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")
    monkeypatch.setenv("DIGITLAB_INSTRUCTOR_KEY", KEY)
    put_models(h, template, MODELS)
    assert sorted(store.names()) == sorted(MODELS)
    return h


def new_app(lang="en", query=None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def button(at, label):
    return next(b for b in at.button if b.label == label)


def join(name, lang="en") -> AppTest:
    """A new browser session that gives ``name`` at the gate (asserted to be accepted)."""
    at = new_app(lang)
    at.text_input(key="ws_name_input").input(name)
    button(at, "Join" if lang == "en" else "Entrar").click().run()
    assert not at.exception, at.exception
    assert at.session_state["ws_name"] == name, [e.value for e in at.error]
    return at


def go(at, path, query=None) -> AppTest:
    at.switch_page(path)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def reload(at, path=None, lang="en") -> AppTest:
    """A reload of ``at``'s page (``path``): a new session with the same address."""
    query = {k: v for k, v in at.query_params.items()}
    again = new_app(lang, query)
    return go(again, path, query) if path else again


def errors(at):
    return [e.value for e in at.error]


def sidebar_text(at):
    return " ".join(m.value for m in at.sidebar.markdown)


def gate_shown(at) -> bool:
    return any(t.key == "ws_name_input" for t in at.text_input)


def canvas_state(digit: np.ndarray) -> dict:
    """What the canvas sends after strokes: the digit drawn big, white on black, as a PNG."""
    c = np.zeros((280, 280, 4), np.uint8)
    c[..., 3] = 255
    c[40:264, 20:244, :3] = np.kron(digit, np.ones((8, 8), np.uint8))[..., None]
    buf = io.BytesIO()
    Image.fromarray(c).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return {"drawing": {"raw": {"objects": []}, "data": url}, "backgroundFit": None}


def draw_and_save(at, i=0) -> AppTest:
    ds = data.load_sample()
    at.session_state["draw_canvas"] = canvas_state(ds.images[i])
    at.run()
    at.selectbox(key="draw_label").set_value(int(ds.labels[i])).run()
    at.button(key="draw_save").click().run()
    assert not at.exception and not errors(at), errors(at)
    return at


def become_instructor(at, key=KEY) -> AppTest:
    at.text_input(key="ws_key_input").input(key)
    button(at, "Enter").click().run()
    assert not at.exception, at.exception
    return at


# ------------------------------------------------------------------ 1. the name gate


def test_the_gate_asks_for_a_name_and_keeps_it_in_the_address(home):
    at = new_app()
    assert gate_shown(at) and at.title[0].value == "Welcome to the workshop"
    assert not any(t.value == "Draw" for t in at.title)  # the page itself waits
    at = join("Ana")
    assert not gate_shown(at)
    assert "You are: **Ana**" in sidebar_text(at)
    qp = at.query_params
    assert qp["name"] == "Ana" and roles.check_name(qp["name"]) and len(qp["seat"]) >= 8
    assert [p.name for p in room.Room().participants()] == ["Ana"]
    # a page switch keeps them in the address (Streamlit drops the address's parameters on a switch)
    go(at, "pages/draw.py")
    assert at.query_params["name"] == "Ana" and at.query_params["seat"] == qp["seat"]


def test_an_invalid_name_is_refused_with_a_clear_message(home):
    at = new_app()
    for bad, says in [("   ", "Please type a name."), ("a" * 30, "at most 24 characters"),
                      ("Ana<script>", "only letters, digits, spaces"), ("---", "at least one letter or digit"),
                      ("Instructor", "reserved")]:
        at.text_input(key="ws_name_input").input(bad)
        button(at, "Join").click().run()
        assert not at.exception and gate_shown(at), bad
        assert any(says in e for e in errors(at)), (bad, errors(at))
    assert room.Room().participants() == []
    es = new_app("es")  # in Spanish
    es.text_input(key="ws_name_input").input("---")
    button(es, "Entrar").click().run()
    assert any("al menos una letra o un dígito" in e for e in errors(es)), errors(es)


def test_a_name_held_by_another_seat_is_refused(home):
    ana = join("Ana")
    other = new_app()
    other.text_input(key="ws_name_input").input("ANA")  # names are one regardless of case
    button(other, "Join").click().run()
    assert gate_shown(other) and any("already uses the name “Ana”" in e for e in errors(other)), errors(other)
    # the same name with someone else's seat in the address: refused too, the form stays
    forged = new_app(query={"name": "Ana", "seat": "someone-elses-seat"})
    assert gate_shown(forged) and any("already uses the name" in e for e in errors(forged))
    assert "ws_name" not in forged.session_state
    assert "You are: **Ana**" in sidebar_text(ana)


def test_a_reload_or_second_tab_keeps_the_name_silently(home):
    at = go(join("Ana"), "pages/draw.py")
    again = reload(at)
    assert not gate_shown(again) and not errors(again)
    assert again.session_state["ws_name"] == "Ana" and "You are: **Ana**" in sidebar_text(again)
    assert again.query_params["seat"] == at.query_params["seat"]


def test_single_user_mode_has_no_gate(home, monkeypatch):
    monkeypatch.delenv("DIGITLAB_WORKSHOP")
    at = go(new_app(), "pages/inspect.py")
    assert not gate_shown(at) and at.title[0].value == "Inspect"
    assert "You are" not in sidebar_text(at) and not at.sidebar.expander
    assert "name" not in at.query_params and "seat" not in at.query_params
    assert not any(t.key == "inspect_show_class" for t in at.toggle)
    assert model_options(at) == ["ana-mlp", "ben-mlp", "class-mlp"]  # every model
    assert at.button(key="inspect_delete")  # the one user may delete any model
    # drawings go to the room with no owner, and are listed
    at = draw_and_save(go(at, "pages/draw.py"))
    assert [d["owner"] for d in room.Room().drawings()] == [None]
    assert any("My drawings: 1" in m.value for m in at.markdown)
    assert not any("shared with the class" in i.value for i in at.info)


# ------------------------------------------------------------------ 2. visible models, rename, delete


def model_options(at):
    return sorted(o.split(" — ")[0] for o in at.selectbox(key="inspect_model").options)


def test_inspect_and_draw_show_own_models_and_the_defaults_the_toggle_all(home):
    at = go(join("Ana"), "pages/inspect.py")
    assert at.toggle(key="inspect_show_class").value is False
    assert model_options(at) == ["ana-mlp", "class-mlp"]
    at.toggle(key="inspect_show_class").set_value(True).run()
    assert model_options(at) == ["ana-mlp", "ben-mlp", "class-mlp"]
    assert any("ben-mlp" in o and "Ben" in o for o in at.selectbox(key="inspect_model").options)
    # the switch is carried to the Draw page, where it is off again when turned off
    at = go(at, "pages/draw.py")
    assert at.toggle(key="draw_show_class").value is True
    at.session_state["draw_canvas"] = canvas_state(data.load_sample().images[0])
    at.run()
    assert sorted(m.label for m in at.metric) == ["ana-mlp", "ben-mlp", "class-mlp"]
    at.toggle(key="draw_show_class").set_value(False).run()
    assert sorted(m.label for m in at.metric) == ["ana-mlp", "class-mlp"]
    ben = go(join("Ben"), "pages/draw.py")
    ben.session_state["draw_canvas"] = canvas_state(data.load_sample().images[0])
    ben.run()
    assert sorted(m.label for m in ben.metric) == ["ben-mlp", "class-mlp"]


def test_rename_and_delete_own_model(home):
    at = go(join("Ana"), "pages/inspect.py")
    at.selectbox(key="inspect_model").set_value("ana-mlp").run()
    at.text_input(key="inspect_new_name").input("ben-mlp")  # a taken name: the store's reason, worded
    button(at, "Rename").click().run()
    assert any("ben-mlp" in e and "exists" in e for e in errors(at)), errors(at)
    at.text_input(key="inspect_new_name").input("ana-best")
    button(at, "Rename").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert "ana-best" in store.names() and "ana-mlp" not in store.names()
    assert at.selectbox(key="inspect_model").value == "ana-best" and at.query_params["model"] == "ana-best"
    assert any("Renamed to ana-best" in s.value for s in at.success)
    assert at.button(key="inspect_delete").disabled  # a confirmation first
    at.checkbox(key="inspect_delete_ok").check().run()
    at.button(key="inspect_delete").click().run()
    assert not at.exception and not errors(at)
    assert "ana-best" not in store.names() and store.load("ben-mlp", cached=False)
    assert any("Deleted ana-best" in s.value for s in at.success)
    assert model_options(at) == ["class-mlp"]


def test_no_rename_or_delete_on_someone_elses_model(home):
    at = go(join("Ana"), "pages/inspect.py")
    at.toggle(key="inspect_show_class").set_value(True).run()
    for name, says in [("ben-mlp", "Made by Ben: only they or the instructor"),
                       ("class-mlp", "A class default: only the instructor")]:
        at.selectbox(key="inspect_model").set_value(name).run()
        assert not at.exception
        assert not any(b.key == "inspect_delete" for b in at.button), name
        assert not any(t.key == "inspect_new_name" for t in at.text_input), name
        assert any(says in c.value for c in at.caption), [c.value for c in at.caption]
    with pytest.raises(roles.NotAllowedError):  # and the library refuses it whatever the page shows
        store.delete("ben-mlp", by="Ana")
    # the instructor may manage anyone's
    become_instructor(at)
    at.selectbox(key="inspect_model").set_value("ben-mlp").run()
    at.checkbox(key="inspect_delete_ok").check().run()
    at.button(key="inspect_delete").click().run()
    assert "ben-mlp" not in store.names()


# ------------------------------------------------------------------ 3. jobs: owner, Stop, the list, pause


def wait_state(w, jid, states, timeout=60):
    deadline = time.monotonic() + timeout
    while w.status(jid)["state"] not in states:
        assert time.monotonic() < deadline, w.status(jid)
        time.sleep(0.2)


def test_stop_is_refused_on_someone_elses_job(home):
    w = training.get_worker()
    ben_job = w.submit("numpy-mlp", TINY, owner="Ben", _hook="sleep:30")
    try:
        at = go(join("Ana"), "pages/train.py", {"job": ben_job})
        assert at.button(key="train_stop")  # the job is shown...
        at.button(key="train_stop").click().run()
        assert not at.exception
        assert any("This job is not yours" in e for e in errors(at)), errors(at)  # ...its Stop refused
        assert w.status(ben_job)["state"] in ("queued", "running") and not w.status(ben_job)["stop_requested"]
        jobs_table = [d.value for d in at.dataframe]
        assert not any(ben_job in str(df) for df in jobs_table)  # not in Ana's job list
        ben = go(join("Ben"), "pages/train.py", {"job": ben_job})
        assert any(ben_job in str(d.value) for d in ben.dataframe)
        ben.button(key="train_stop").click().run()
        assert not errors(ben) and w.wait(ben_job, 20)["state"] == "stopped"
    finally:
        if w.status(ben_job)["state"] in ("queued", "running"):
            w.stop(ben_job, instructor=True)


def test_a_job_started_on_the_train_page_is_the_participants_and_pause_refuses(home):
    w = training.get_worker()
    at = go(join("Ana"), "pages/train.py")
    at.selectbox(key="train_kind").set_value("numpy-mlp").run()
    epochs = next(n for n in at.number_input if n.key and n.key.startswith("train_f_numpy-mlp_") and
                  n.key.endswith("_epochs"))
    epochs.set_value(1)
    at.text_input(key="train_name").set_value("ana-first")
    button(at, "Start training").click().run()
    assert not at.exception and not errors(at), errors(at)
    jid = at.session_state["train_job"]
    assert w.status(jid)["owner"] == "Ana"
    assert w.wait(jid, 120)["state"] == "done"
    assert store.load("ana-first", cached=False).meta["owner"] == "Ana"
    # the instructor pauses new training: a participant's Start is refused with a clear message
    room.Room().set_paused(True)
    at = go(at, "pages/train.py")
    assert any("paused new training" in w_.value for w_ in at.warning)
    at.text_input(key="train_name").set_value("ana-second")
    button(at, "Start training").click().run()
    assert any("paused new training for the room" in e for e in errors(at)), errors(at)
    assert not store.exists("ana-second")
    room.Room().set_paused(False)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_room_s_rules_on_the_train_page(home, monkeypatch, lang):
    """Issue 16: the workshop preset first, a second job refused, over the budget refused with
    what fits, a queued job's place and expected start."""
    says = {"en": ("already have a training job", "budget", "at most", "place 1 in the queue"),
            "es": ("Ya tienes un entrenamiento", "presupuesto", "como mucho", "lugar 1")}[lang]
    w = training.get_worker()
    blockers = [w.submit("numpy-mlp", TINY, instructor=True, _hook="sleep:30") for _ in range(w.engine.slots)]
    for b in blockers:  # running before Ana's comes (queued together, hers would go first: she has not had a turn)
        wait_state(w, b, ("running",))
    mine = w.submit("numpy-mlp", TINY, owner="Ana")  # queued behind the blockers
    try:
        at = go(join("Ana", lang), "pages/train.py", {"job": mine})
        at.selectbox(key="train_kind").set_value("numpy-mlp").run()
        assert at.selectbox(key="train_preset_numpy-mlp").value == "workshop"
        assert any(says[3] in h.value for h in at.get("html")), [h.value for h in at.get("html")]
        button(at, "Start training" if lang == "en" else "Empezar a entrenar").click().run()
        assert any(says[0] in e and mine in e for e in errors(at)), errors(at)
        w.stop(mine, by="Ana")
        monkeypatch.setenv("DIGITLAB_JOB_BUDGET_S", "5")
        at.number_input(key="train_f_numpy-mlp_workshop_epochs").set_value(100)
        before = len(w.jobs(instructor=True))
        button(at, "Start training" if lang == "en" else "Empezar a entrenar").click().run()
        assert any(says[1] in e and says[2] in e for e in errors(at)), errors(at)
        assert len(w.jobs(instructor=True)) == before
    finally:
        for j in [mine, *blockers]:
            w.stop(j, instructor=True)


# ------------------------------------------------------------------ the instructor


def test_the_instructor_key_wrong_refused_right_shows_the_controls(home):
    at = go(join("Teacher"), "pages/train.py")
    assert not any(b.key == "ws_pause" for b in at.button)
    become_instructor(at, "not-the-key")
    assert any("not the instructor key" in e for e in errors(at))
    assert not any(b.key == "ws_pause" for b in at.button)
    assert "ws_instructor" not in at.session_state or at.session_state["ws_instructor"] is not True
    become_instructor(at)
    assert not at.exception and not errors(at)
    assert any("You are the instructor" in s.value for s in at.success)
    for k in ("ws_pause", "ws_clear", "ws_leave"):
        assert at.button(key=k), k
    assert at.get("download_button")  # export every drawing
    # the key is kept nowhere: not in the address, not in the session (only the boolean)
    assert all(KEY not in str(v) for v in at.query_params.values())
    state = at.session_state._state.filtered_state
    assert state["ws_instructor"] is True
    assert not any(KEY in str(v) for v in state.values()), [k for k, v in state.items() if KEY in str(v)]
    # a reload (a new session) is a participant again until the key is given again
    again = reload(at)
    assert not any(b.key == "ws_pause" for b in again.button)
    # pause and resume new training for the room
    at.button(key="ws_pause").click().run()
    assert room.Room().paused() and at.button(key="ws_resume")
    at.button(key="ws_resume").click().run()
    assert not room.Room().paused()


def test_the_instructor_stops_anyones_job_and_sees_every_job(home):
    w = training.get_worker()
    ben_job = w.submit("numpy-mlp", TINY, owner="Ben", _hook="sleep:30")
    try:
        at = become_instructor(go(join("Teacher"), "pages/train.py"))
        at.run()
        assert at.selectbox(key="ws_stop_pick").value == ben_job
        assert any(ben_job in str(d.value) for d in at.dataframe)  # every job in the list
        at.button(key="ws_stop").click().run()
        assert not errors(at)
        assert w.wait(ben_job, 20)["state"] == "stopped"
    finally:
        if w.status(ben_job)["state"] in ("queued", "running"):
            w.stop(ben_job, instructor=True)


def test_clear_the_room_after_a_confirmation(home):
    draw_and_save(go(join("Ana"), "pages/draw.py"))
    at = become_instructor(go(join("Teacher"), "pages/draw.py"))
    assert at.button(key="ws_clear").disabled
    at.checkbox(key="ws_clear_ok").check().run()
    at.button(key="ws_clear").click().run()
    assert not at.exception and not errors(at)
    assert store.names() == ["class-mlp"]  # the class default stays
    assert room.Room().drawings() == []
    assert any("Room cleared: 2 models and 1 drawings deleted" in i.value for i in at.sidebar.info)


# ------------------------------------------------------------------ drawings in the room


def test_drawings_are_kept_in_the_room_and_survive_a_reload(home):
    at = draw_and_save(go(join("Ana"), "pages/draw.py"))
    assert [(d["owner"], d["label"]) for d in room.Room().drawings()] == [("Ana", int(data.load_sample().labels[0]))]
    assert any("My drawings: 1" in m.value for m in at.markdown)
    assert any("shared with the class" in i.value for i in at.info)
    again = reload(at, "pages/draw.py")  # a new session: the drawing is still there
    assert any("My drawings: 1" in m.value for m in again.markdown)
    assert again.get("download_button")
    # another participant lists only their own; Inspect measures on one's own drawings
    ben = go(join("Ben"), "pages/draw.py")
    assert any("My drawings: 0" in m.value for m in ben.markdown)
    ins = go(again, "pages/inspect.py")
    opts = ins.radio(key="inspect_eval").options
    assert any("my drawings (1)" in o for o in opts), opts
    ins.radio(key="inspect_eval").set_value("drawings").run()  # the option value; its label is checked above
    assert not ins.exception and not errors(ins)
    assert any("on 1 digits" in m.value for m in ins.markdown)
    # delete one's own drawing
    at = go(again, "pages/draw.py")
    (d,) = room.Room().drawings()
    at.button(key=f"draw_del_{d['id']}").click().run()
    assert room.Room().drawings() == [] and any("My drawings: 0" in m.value for m in at.markdown)


def test_the_instructor_lists_everyones_drawings(home):
    draw_and_save(go(join("Ana"), "pages/draw.py"), 0)
    draw_and_save(go(join("Ben"), "pages/draw.py"), 1)
    at = become_instructor(go(join("Teacher"), "pages/draw.py"))
    at.run()
    assert any("All drawings: 2" in m.value for m in at.markdown)
    assert any("Export all drawings (2" in b.proto.label for b in at.get("download_button"))


def test_the_gate_and_the_draw_page_in_spanish(home):
    at = go(join("Ana", lang="es"), "pages/draw.py")
    assert "Eres: **Ana**" in sidebar_text(at)
    assert at.toggle(key="draw_show_class").label == "Ver los modelos de la clase"
    assert any("se comparten con la clase" in i.value for i in at.info)
