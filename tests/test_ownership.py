"""Workshop mode's ownership rules, enforced in the library (issue 15.2): jobs and models
record who made them; only the owner or the instructor may stop, rename or delete them;
the instructor's pause stops new training for participants. Single-user mode has no owners."""
import pytest

from digitlab import roles, room, store, training

TINY = {"epochs": 1, "max_train": 600}


@pytest.fixture(scope="module")
def worker():
    w = training.Worker(stop_grace=2.0, stop_timeout=8.0)
    yield w
    w.shutdown()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def workshop(monkeypatch):
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")


def test_a_job_records_its_owner_and_the_model_keeps_it(worker, workshop):
    jid = worker.submit("numpy-mlp", TINY, name="ana-mlp", owner="Ana")
    st = worker.wait(jid, 60)
    assert st["state"] == "done" and st["owner"] == "Ana"
    assert store.load("ana-mlp", cached=False).meta["owner"] == "Ana"
    assert [m["owner"] for m in store.list_models()] == ["Ana"]


def test_only_the_owner_or_the_instructor_stops_a_job(worker, workshop):
    jid = worker.submit("numpy-mlp", TINY, owner="Ana", _hook="sleep:30")
    with pytest.raises(roles.NotAllowedError):
        worker.stop(jid, by="Ben")
    with pytest.raises(roles.NotAllowedError):
        worker.stop(jid)  # no name at all: refused too
    assert worker.status(jid)["state"] in ("queued", "running") and not worker.status(jid)["stop_requested"]
    worker.stop(jid, by="ana")  # names are case-insensitive
    assert worker.wait(jid, 20)["state"] == "stopped"
    other = worker.submit("numpy-mlp", TINY, owner="Ana", _hook="sleep:30")
    worker.stop(other, instructor=True)
    assert worker.wait(other, 20)["state"] == "stopped"


def test_a_participant_sees_only_their_jobs(worker, workshop):
    a = worker.submit("numpy-mlp", TINY, owner="Ana", _hook="sleep:30")
    b = worker.submit("numpy-mlp", TINY, owner="Ben")
    try:
        ids = lambda **kw: {j["id"] for j in worker.jobs(**kw)}  # noqa: E731
        assert a in ids(visible_to="Ana") and b not in ids(visible_to="Ana")
        assert b in ids(visible_to="Ben") and a not in ids(visible_to="Ben")
        assert {a, b} <= ids(instructor=True)
        default = worker.submit("numpy-mlp", TINY, instructor=True)  # a class default (no owner)
        assert default in ids(visible_to="Ana") and default in ids(visible_to="Ben")
        worker.stop(default, instructor=True)
    finally:
        worker.stop(a, instructor=True)
        worker.stop(b, instructor=True)
        worker.wait(b, 30)


def test_only_the_owner_or_the_instructor_renames_or_deletes_a_model(worker, workshop):
    assert worker.wait(worker.submit("numpy-mlp", TINY, name="ben-mlp", owner="Ben"), 60)["state"] == "done"
    with pytest.raises(roles.NotAllowedError):
        store.delete("ben-mlp", by="Ana")
    with pytest.raises(roles.NotAllowedError):
        store.rename("ben-mlp", "stolen", by="Ana")
    store.rename("ben-mlp", "ben-first", by="Ben")
    assert store.names() == ["ben-first"]
    with pytest.raises(roles.NotAllowedError):  # a class default (no owner): the instructor only
        store.delete("ben-first", by=None)
    store.delete("ben-first", instructor=True)
    assert store.names() == []


def test_pause_refuses_participants_not_the_instructor(worker, workshop):
    room.Room().set_paused(True)
    with pytest.raises(roles.NotAllowedError) as e:
        worker.submit("numpy-mlp", TINY, owner="Ana")
    assert e.value.reason == "paused"
    jid = worker.submit("numpy-mlp", TINY, name="by-teacher", instructor=True)
    assert worker.wait(jid, 60)["state"] == "done"
    room.Room().set_paused(False)
    assert worker.wait(worker.submit("numpy-mlp", TINY, owner="Ana"), 60)["state"] == "done"


def test_single_user_mode_has_no_owners(worker, monkeypatch):
    monkeypatch.delenv("DIGITLAB_WORKSHOP", raising=False)
    jid = worker.submit("numpy-mlp", TINY, name="mine", _hook="sleep:30")
    worker.stop(jid)  # nobody to ask
    assert worker.wait(jid, 20)["state"] == "stopped"
    assert worker.wait(worker.submit("numpy-mlp", TINY, name="mine"), 60)["state"] == "done"
    store.rename("mine", "still-mine")
    store.delete("still-mine")
    assert store.names() == []
