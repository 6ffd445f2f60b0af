"""The trainer worker: events in order, queue positions, Stop, errors, a hung job, a dead
process, cheap status, the default-models job. One Worker for the whole module."""
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from digitlab import store, training

TINY = {"epochs": 1, "max_train": 600}


@pytest.fixture(scope="module")
def worker():
    # one trainer: these tests follow one queue and one process (tests/test_pool.py has the pool)
    w = training.Worker(stop_grace=2.0, stop_timeout=8.0, trainers=1)
    yield w
    w.shutdown()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NO_DEFAULTS", "1")
    return tmp_path / "home"


def _training_ended(worker, jid, t0):
    """Seconds from ``t0`` until training ended: the first evaluating/saving phase or final event after Stop."""
    for e in worker.events(jid):
        if e.get("t", 0) >= t0 and (e["type"] in ("done", "stopped", "error") or e.get("phase") in ("evaluating", "saving")):
            return e["t"] - t0
    raise AssertionError("training did not end")


def _store_consistent():
    """Every listed model loads; nothing broken; no leftovers of a save."""
    assert not store.list_models(include_broken=True)[len(store.list_models()):]
    for m in store.list_models():
        store.load(m["name"], cached=False)
    assert not [p for p in store.models_dir().iterdir() if p.name.startswith(".tmp-")]


def test_job_events_arrive_in_order(worker):
    jid = worker.submit("numpy-mlp", {"epochs": 2, "max_train": 1500}, name="ordered", seed=3)
    st = worker.wait(jid, 60)
    assert st["state"] == "done", st["error"]
    assert st["model"] == "ordered" and st["position"] == 0
    evs = worker.events(jid)
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    types = [e["type"] for e in evs]
    assert types[0] == "started" and types[-1] == "done"
    phases = [e["phase"] for e in evs if e["type"] == "phase"]
    assert phases == ["loading data", "training", "evaluating", "saving"]
    assert [e["epoch"] for e in evs if e["type"] == "epoch"] == [1, 2]
    steps = [(e["epoch"], e["batch"]) for e in evs if e["type"] == "batch"]
    assert steps and steps == sorted(steps)
    # every batch event of epoch 1 precedes the epoch-1 event
    first_epoch = types.index("epoch")
    assert all(e["epoch"] == 2 for e in evs[first_epoch:] if e["type"] == "batch")
    assert worker.events(jid, since=3) == evs[3:]
    assert st["epochs"][-1]["val_accuracy"] > 0.5 and st["progress"]["type"] == "epoch"
    assert st["started"] <= st["finished"]
    m = store.load("ordered")
    assert m.meta["seed"] == 3 and m.meta["epochs"] == 2 and len(m.meta["curves"]["loss"]) == 2
    assert m.meta["metrics"]["val_accuracy"] > 0.5 and m.meta["config"]["epochs"] == 2
    assert m.meta["dataset"]["spec"] == "sample" and m.meta["train_seconds"] > 0


def test_queue_positions_and_cancel(worker):
    a = worker.submit("numpy-mlp", TINY, _hook="sleep:30")
    b = worker.submit("numpy-mlp", TINY, name="second")
    c = worker.submit("numpy-mlp", TINY, name="third")
    time.sleep(0.3)
    assert worker.status(a)["state"] == "running" and worker.status(a)["position"] == 0
    assert (worker.status(b)["state"], worker.status(b)["position"]) == ("queued", 1)
    assert worker.status(c)["position"] == 2
    worker.stop(b)  # a queued job is cancelled at once
    assert worker.status(b)["state"] == "stopped" and worker.status(c)["position"] == 1
    worker.stop(a)
    assert worker.wait(a, 10)["state"] == "stopped"
    assert worker.wait(c, 60)["state"] == "done"
    assert worker.status(a)["model"] is None  # stopped before any epoch: nothing saved
    assert store.names() == ["third"]
    assert {j["id"] for j in worker.jobs()} >= {a, b, c}


def test_stop_mid_run_is_fast_and_keeps_a_consistent_store(worker):
    jid = worker.submit("numpy-mlp", {"epochs": 100, "hidden": (256,)}, name="long")
    deadline = time.time() + 60
    while not worker.status(jid)["epochs"] and time.time() < deadline:
        time.sleep(0.05)
    assert worker.status(jid)["epochs"], "no epoch finished"
    t0 = time.time()
    worker.stop(jid)
    st = worker.wait(jid, 10)
    assert st["state"] == "stopped"
    assert _training_ended(worker, jid, t0) < 1.0  # within a batch (then the partial model is evaluated and saved)
    assert time.time() - t0 < 5.0
    # documented behaviour: at least one epoch done -> the partial model is kept, marked stopped
    assert st["model"] == "long"
    m = store.load("long")
    assert m.meta["stopped"] is True and 1 <= m.meta["epochs"] < 100
    _store_consistent()


def test_error_is_reported_and_the_worker_goes_on(worker):
    bad = worker.submit("numpy-mlp", TINY, _hook="raise")
    nodata = worker.submit("numpy-mlp", TINY, data="/no/such/file.csv")
    ok = worker.submit("numpy-mlp", TINY, name="after-error")
    st = worker.wait(bad, 30)
    assert st["state"] == "error" and "boom" in st["error"]
    st = worker.wait(nodata, 30)
    assert st["state"] == "error" and "no such file" in st["error"]
    assert worker.wait(ok, 60)["state"] == "done"
    assert store.names() == ["after-error"]


def test_submit_refuses_a_taken_name_at_once(worker):
    a = worker.submit("numpy-mlp", TINY, name="taken", _hook="sleep:30")
    with pytest.raises(store.ModelExistsError):  # a queued/running job holds the name
        worker.submit("numpy-mlp", TINY, name="taken")
    worker.stop(a)
    assert worker.wait(a, 20)["state"] == "stopped"
    done = worker.submit("numpy-mlp", TINY, name="taken")
    assert worker.wait(done, 60)["state"] == "done"
    with pytest.raises(store.ModelExistsError):  # a stored model holds it
        worker.submit("numpy-mlp", TINY, name="taken")


def test_submit_validates_config_at_once(worker):
    from digitlab import models

    with pytest.raises(models.ConfigError):
        worker.submit("numpy-mlp", {"epochs": -1})
    with pytest.raises(models.UnknownKindError):
        worker.submit("gpt", {})
    with pytest.raises(store.StoreError):
        worker.submit("numpy-mlp", TINY, name="../evil")


def test_job_ignoring_stop_is_terminated_and_worker_replaced(worker):
    jid = worker.submit("numpy-mlp", TINY, _hook="hang")
    deadline = time.time() + 20
    while worker.status(jid)["phase"] != "hanging" and time.time() < deadline:
        time.sleep(0.05)
    pid = worker.pid
    t0 = time.time()
    worker.stop(jid)
    st = worker.wait(jid, 20)
    assert st["state"] == "stopped" and st["model"] is None
    assert worker.stop_timeout - 0.5 < time.time() - t0 < worker.stop_timeout + 2  # it acknowledged, then ignored
    assert worker.pid != pid and worker.alive()
    nxt = worker.submit("numpy-mlp", TINY, name="after-hang")
    assert worker.wait(nxt, 60)["state"] == "done"
    _store_consistent()


def _wait_phase(worker, jid, phase, timeout=30):
    deadline = time.time() + timeout
    while worker.status(jid)["phase"] != phase:
        assert time.time() < deadline, worker.status(jid)
        time.sleep(0.05)


def _proc_state(pid: int) -> str:
    """The state letter of /proc/<pid>/stat (R, S, T for stopped, Z...)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_frozen_trainer_is_terminated_after_the_grace(worker):
    jid = worker.submit("numpy-mlp", TINY, _hook="freeze")
    _wait_phase(worker, jid, "frozen")
    pid = worker.pid
    deadline = time.time() + 10
    while _proc_state(pid) != "T":  # stopped by its SIGSTOP
        assert time.time() < deadline
        time.sleep(0.05)
    t0 = time.time()
    worker.stop(jid)
    st = worker.wait(jid, 20)
    assert st["state"] == "stopped" and st["model"] is None
    assert time.time() - t0 < worker.stop_grace + 4  # no acknowledgement: not the long timeout
    assert worker.pid != pid and worker.alive()


def test_stop_during_a_slow_epoch_end_keeps_the_finished_epoch(worker):
    # issue 12.12: on a busy machine an epoch's end (validation) outlasted the 3 s grace and the
    # trainer was killed, losing the epoch that had finished. Here the end takes 2x the grace.
    jid = worker.submit("numpy-mlp", {"epochs": 3, "max_train": 600}, name="slow-end",
                        _hook=f"slow-epoch-end:{2 * worker.stop_grace}")
    _wait_phase(worker, jid, "epoch end (test delay)")
    worker.stop(jid)
    st = worker.wait(jid, 30)
    assert st["state"] == "stopped" and st["model"] == "slow-end", st
    m = store.load("slow-end", cached=False)
    assert m.meta["stopped"] is True and m.meta["epochs"] == 1
    _store_consistent()


def test_dead_worker_process_is_reported_and_replaced(worker):
    jid = worker.submit("numpy-mlp", TINY, _hook="sleep:30")
    deadline = time.time() + 20
    while worker.status(jid)["state"] != "running" and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    pid = worker.pid
    os.kill(pid, signal.SIGKILL)
    st = worker.wait(jid, 10)
    assert st["state"] == "error" and "died" in st["error"]
    nxt = worker.submit("numpy-mlp", TINY, name="after-crash")
    assert worker.wait(nxt, 60)["state"] == "done"
    assert worker.pid != pid


def test_status_is_cheap_and_thread_safe(worker):
    jid = worker.submit("numpy-mlp", {"epochs": 3, "max_train": 3000}, name="polled")
    errors, counts = [], []

    def poll():
        n = 0
        try:
            while worker.status(jid)["state"] in ("queued", "running"):
                worker.events(jid, since=0)
                worker.jobs()
                n += 1
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        counts.append(n)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    extra = worker.submit("numpy-mlp", TINY, name="extra")  # submitting while others poll
    for t in threads:
        t.join(60)
    assert not errors and min(counts) > 0
    assert worker.wait(extra, 60)["state"] == "done"


def test_ensure_defaults_only_when_store_empty(worker):
    blocker = worker.submit("numpy-mlp", TINY, _hook="sleep:30")  # keep the defaults queued
    ids = worker.ensure_defaults()
    assert len(ids) == len(training.DEFAULT_MODELS)
    assert [worker.status(i)["name"] for i in ids] == [n for n, *_ in training.DEFAULT_MODELS]
    assert worker.ensure_defaults() == []  # already queued
    for i in ids:
        worker.stop(i)
        assert worker.status(i)["state"] == "stopped"
    worker.stop(blocker)
    worker.wait(blocker, 10)
    # with a model in the store, nothing is queued
    jid = worker.submit("numpy-mlp", TINY, name="present")
    worker.wait(jid, 60)
    assert worker.ensure_defaults() == []


def test_get_worker_respects_no_defaults(monkeypatch):
    monkeypatch.setattr(training, "_singleton", None)
    w = training.get_worker()
    try:
        assert training.get_worker() is w
        assert w.jobs() == []  # DIGITLAB_NO_DEFAULTS=1: nothing queued
    finally:
        w.shutdown()
        monkeypatch.setattr(training, "_singleton", None)


def test_keras_job_in_the_worker(worker, home):
    jid = worker.submit("keras-cnn", {"epochs": 1, "max_train": 500, "augment": True}, name="kcnn",
                        preset="adam")
    st = worker.wait(jid, 180)
    assert st["state"] == "done", st["error"]
    phases = [e["phase"] for e in worker.events(jid) if e["type"] == "phase"]
    assert "training" in phases
    m = store.load("kcnn")
    assert m.kind == "keras-cnn" and m.net is not None
    assert m.predict_proba(np.zeros((1, 28, 28), np.uint8)).shape == (1, 10)
    assert store.keras_path("kcnn").suffix == ".keras"
    # saved without Adam's state (3x the weights' size before): about the weights' own size
    weights = store.payload_file(store.model_folder("kcnn"), m.meta, "weights")
    assert store.keras_path("kcnn").stat().st_size < 1.3 * weights.stat().st_size


def test_keras_job_stops_fast(worker):
    """TensorFlow is already imported in the worker (previous test): Stop mid-epoch ends it fast."""
    jid = worker.submit("keras-cnn", {"epochs": 20, "max_train": 3000}, name="kstop", preset="adam")
    deadline = time.time() + 120
    while not worker.status(jid)["batches"] and time.time() < deadline:
        time.sleep(0.05)
    assert worker.status(jid)["batches"], "no batch event"
    t0 = time.time()
    worker.stop(jid)
    st = worker.wait(jid, 15)
    assert st["state"] == "stopped"
    assert _training_ended(worker, jid, t0) < 1.5  # a Keras batch or two on a loaded machine
    if st["epochs"]:
        assert store.load(st["model"]).meta["stopped"] is True
    else:
        assert st["model"] is None and store.names() == []
    _store_consistent()
