"""The trainer pool (issue 16 items 1-2): jobs side by side in warm trainers at a lower priority,
the fair order and one job each in workshop mode, budgets with what fits, queue places and
expected starts, and one slot's Stop or crash leaving the other slot's job alone."""
import os
import signal
import sys
import time

import pytest

from digitlab import costs, engine_local, models, texts, training

TINY = {"epochs": 1, "max_train": 600}


@pytest.fixture(scope="module")
def pool():
    w = training.Worker(stop_grace=2.0, stop_timeout=8.0, trainers=2)
    yield w
    w.shutdown()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NO_DEFAULTS", "1")
    monkeypatch.delenv("DIGITLAB_WORKSHOP", raising=False)
    monkeypatch.delenv("DIGITLAB_JOB_BUDGET_S", raising=False)
    return tmp_path / "home"


@pytest.fixture
def workshop(monkeypatch):
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")


def started(w, jid, timeout=30) -> dict:
    """The job's ``started`` event (waits for it)."""
    deadline = time.time() + timeout
    while True:
        ev = next((e for e in w.events(jid) if e["type"] == "started"), None)
        if ev is not None:
            return ev
        assert time.time() < deadline, w.status(jid)
        time.sleep(0.05)


def stop_all(w, ids):
    for i in ids:
        w.stop(i, instructor=True)
    for i in ids:
        w.wait(i, 30)


def test_two_jobs_run_at_once_in_two_trainers(pool):
    a = pool.submit("numpy-mlp", TINY, _hook="sleep:30")
    b = pool.submit("numpy-mlp", TINY, _hook="sleep:30")
    ea, eb = started(pool, a), started(pool, b)
    assert [pool.status(j)["state"] for j in (a, b)] == ["running", "running"]  # side by side
    assert ea["pid"] != eb["pid"] and {ea["pid"], eb["pid"]} == set(pool.pids)
    assert pool.engine.describe() == {"engine": "local", "slots": 2, "pids": pool.pids, "nice": engine_local.TRAINER_NICE,
                                      "alive": True}
    assert pool.engine.running() == {a, b}
    stop_all(pool, [a, b])
    assert [pool.status(j)["state"] for j in (a, b)] == ["stopped", "stopped"] and pool.engine.running() == set()


def test_trainers_run_at_a_lower_priority_than_the_server(pool):
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert all(os.getpriority(os.PRIO_PROCESS, p) > mine for p in pool.pids)


def test_jobs_take_turns_across_owners_in_workshop_mode(workshop, monkeypatch):
    w = training.Worker(trainers=1)
    try:
        blocker = w.submit("numpy-mlp", TINY, owner="Teacher", instructor=True, _hook="sleep:30")
        started(w, blocker)
        names = {}
        for name, owner in [("t1", "Teacher"), ("t2", "Teacher"), ("t3", "Teacher"), ("d1", None), ("d2", None),
                            ("a1", "Ana")]:
            names[w.submit("numpy-mlp", TINY, name=name, owner=owner, instructor=owner != "Ana")] = name

        def order():
            places = {names[j["id"]]: j["queue_position"] for j in w.jobs(instructor=True) if j["id"] in names}
            return sorted(places, key=places.get)

        # Teacher's job runs: the class defaults and Ana (never served) go first, then turns
        assert order() == ["d1", "a1", "t1", "d2", "t2", "t3"]
        monkeypatch.delenv("DIGITLAB_WORKSHOP")
        assert order() == ["t1", "t2", "t3", "d1", "d2", "a1"]  # single-user mode: as submitted
        monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")
        w.stop(blocker, instructor=True)
        for jid in names:
            assert w.wait(jid, 60)["state"] == "done", w.status(jid)
        ran = sorted(names, key=lambda j: started(w, j)["t"])
        assert [names[j] for j in ran] == ["d1", "a1", "t1", "d2", "t2", "t3"]
    finally:
        w.shutdown()


def test_a_participant_has_one_job_at_a_time(pool, workshop):
    a = pool.submit("numpy-mlp", TINY, owner="Ana", _hook="sleep:30")
    others = []
    try:
        with pytest.raises(training.OneJobEachError) as e:
            pool.submit("numpy-mlp", TINY, owner="ana")  # names are case-insensitive
        assert e.value.code == "train.one_job_each" and e.value.params == {"job": a}
        assert a in texts.error_text("es", e.value) and "un trabajo" in texts.error_text("es", e.value)
        assert isinstance(e.value, PermissionError)  # the Train page says it like the room's refusals
        others.append(pool.submit("numpy-mlp", TINY, owner="Ben", _hook="sleep:30"))  # someone else may
        others.append(pool.submit("numpy-mlp", TINY, owner="Ana", instructor=True))  # the instructor may
    finally:
        stop_all(pool, [a, *others])
    again = pool.submit("numpy-mlp", TINY, owner="Ana")  # her job ended: she may start one
    assert pool.wait(again, 60)["state"] == "done"


def test_a_job_over_the_budget_is_refused_with_what_fits(pool, workshop, monkeypatch):
    monkeypatch.setenv("DIGITLAB_JOB_BUDGET_S", "20")
    cfg = {"epochs": 100, "hidden": (256,)}
    before = len(pool.jobs(instructor=True))
    with pytest.raises(costs.OverBudgetError) as e:
        pool.submit("numpy-mlp", cfg, owner="Ana")
    assert len(pool.jobs(instructor=True)) == before  # refused before it queued
    p = e.value.params
    assert e.value.code == "train.over_budget" and p["budget"] == 20 and p["estimate"] > 20
    assert 1 <= p["max_epochs"] < 100 and 100 <= p["max_train"] < 8000
    n = costs.train_images("numpy-mlp", models.config_from_dict("numpy-mlp", cfg), costs.SAMPLE_IMAGES)
    est = pool.costs.estimate_seconds
    assert est("numpy-mlp", {**cfg, "epochs": p["max_epochs"]}, n) <= 20  # what it suggests fits
    assert est("numpy-mlp", {**cfg, "epochs": p["max_epochs"] + 1}, n) > 20  # and is the most that does
    assert est("numpy-mlp", cfg, p["max_train"]) <= 20 < est("numpy-mlp", cfg, p["max_train"] + 100)
    assert str(p["max_epochs"]) in texts.error_text("es", e.value) and "presupuesto" in texts.error_text("es", e.value)
    fits = pool.submit("numpy-mlp", {**cfg, "max_train": p["max_train"]}, owner="Ana")  # accepted
    teacher = pool.submit("numpy-mlp", cfg, owner="Teacher", instructor=True)  # the instructor has no budget
    stop_all(pool, [fits, teacher])
    monkeypatch.delenv("DIGITLAB_WORKSHOP")
    stop_all(pool, [pool.submit("numpy-mlp", cfg)])  # nor has single-user mode


def test_largest_fit_fits_for_every_kind():
    for kind in models.REGISTRY:
        cfg = models.config_for(kind, "workshop")
        n = costs.train_images(kind, cfg, costs.SAMPLE_IMAGES)
        budget = costs.OVERHEAD_S[kind] + 0.3 * (costs.estimate_seconds(kind, cfg, n) - costs.OVERHEAD_S[kind])
        fit = costs.largest_fit(kind, cfg, n, budget)
        field = costs.epochs_field(kind)
        if fit["max_epochs"]:
            assert costs.estimate_seconds(kind, {**models.config_dict(cfg), field: fit["max_epochs"]}, n) <= budget
        assert 0 < fit["max_train"] < n and costs.estimate_seconds(kind, cfg, fit["max_train"]) <= budget, kind


def test_queue_places_and_expected_starts(pool):
    blockers = [pool.submit("numpy-mlp", TINY, _hook="sleep:30") for _ in range(2)]
    for b in blockers:
        started(pool, b)
    time.sleep(max(pool.status(b)["estimate_s"] for b in blockers))  # their estimated time is over: "any moment"
    job = {"epochs": 5, "max_train": 4000}
    queued = [pool.submit("numpy-mlp", job) for _ in range(4)]
    try:
        st = [pool.status(q) for q in queued]
        assert [s["queue_position"] for s in st] == [1, 2, 3, 4] and [s["position"] for s in st] == [1, 2, 3, 4]
        e = st[0]["estimate_s"]
        assert e == pytest.approx(pool.costs.estimate_seconds("numpy-mlp", job, 4000))
        # two slots: the first two start as the blockers end, the next two when those are done
        assert [s["expected_start_s"] for s in st] == pytest.approx([0, 0, e, e], abs=0.05)
        listed = {j["id"]: (j["queue_position"], j["expected_start_s"]) for j in pool.jobs()}
        assert [listed[q][0] for q in queued] == [1, 2, 3, 4]
        assert [listed[q][1] for q in queued] == pytest.approx([0, 0, e, e], abs=0.05)
        running = pool.status(blockers[0])
        assert running["queue_position"] is None and running["expected_start_s"] is None and running["position"] == 0
        pool.stop(queued[0])
        assert [pool.status(q)["queue_position"] for q in queued[1:]] == [1, 2, 3]
        assert pool.status(queued[0])["queue_position"] is None
    finally:
        stop_all(pool, queued + blockers)


def test_stopping_a_job_in_one_slot_leaves_the_other_slots_job(pool):
    keeps = pool.submit("numpy-mlp", TINY, name="keeps-going", _hook="sleep:8")
    frozen = pool.submit("numpy-mlp", TINY, _hook="freeze")  # cannot even acknowledge: terminated after the grace
    keeps_pid = started(pool, keeps)["pid"]
    frozen_pid = started(pool, frozen)["pid"]
    deadline = time.time() + 20
    while pool.status(frozen)["phase"] != "frozen":
        assert time.time() < deadline
        time.sleep(0.05)
    pool.stop(frozen)
    assert pool.wait(frozen, 20)["state"] == "stopped"
    assert pool.status(keeps)["state"] == "running"
    st = pool.wait(keeps, 60)
    assert st["state"] == "done" and st["model"] == "keeps-going" and not st["stop_requested"]
    assert keeps_pid in pool.pids and frozen_pid not in pool.pids  # that slot got a fresh trainer


def test_a_killed_trainer_is_its_jobs_error_and_the_other_job_finishes(pool):
    survivor = pool.submit("numpy-mlp", TINY, name="survivor", _hook="sleep:3")
    victim = pool.submit("numpy-mlp", TINY, _hook="sleep:30")
    survivor_pid, victim_pid = started(pool, survivor)["pid"], started(pool, victim)["pid"]
    os.kill(victim_pid, signal.SIGKILL)
    st = pool.wait(victim, 20)
    assert st["state"] == "error" and "died" in st["error"]
    assert pool.wait(survivor, 60)["state"] == "done"
    deadline = time.time() + 20
    while not pool.alive():  # the slot is replaced
        assert time.time() < deadline
        time.sleep(0.05)
    assert survivor_pid in pool.pids and victim_pid not in pool.pids
    nxt = [pool.submit("numpy-mlp", TINY) for _ in range(2)]
    assert [pool.wait(j, 60)["state"] for j in nxt] == ["done", "done"]


def test_the_trainers_setting(monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_TRAINERS", "3")
    assert engine_local.trainers_setting() == 3
    for bad in ("zero", "0", "1.5", "-2"):
        monkeypatch.setenv("DIGITLAB_TRAINERS", bad)
        assert engine_local.trainers_setting() == engine_local.default_trainers()
        assert "DIGITLAB_TRAINERS" in capsys.readouterr().err  # said in the server's log
    monkeypatch.delenv("DIGITLAB_TRAINERS")
    assert engine_local.trainers_setting() == engine_local.default_trainers() >= 1
    monkeypatch.setenv("DIGITLAB_JOB_BUDGET_S", "90")
    assert costs.job_budget_s() == 90.0
    monkeypatch.setenv("DIGITLAB_JOB_BUDGET_S", "soon")
    assert costs.job_budget_s() == costs.DEFAULT_BUDGET_S


def test_the_cost_model_learns_from_finished_jobs():
    m = costs.CostModel()
    cfg = models.config_for("numpy-mlp", "workshop")
    before = m.estimate_seconds("numpy-mlp", cfg, 8000)
    m.learn("numpy-mlp", cfg, 8000, 2 * (before - costs.OVERHEAD_S["numpy-mlp"]))  # it took twice as long
    after = m.estimate_seconds("numpy-mlp", cfg, 8000)
    assert before < after < 2 * before and m.learnt == {"numpy-mlp": 1}
    narrow = models.config_for("numpy-mlp", "workshop", hidden=(128,))  # the preset has 256
    assert costs.work("numpy-mlp", narrow) == pytest.approx(0.5, rel=0.01)  # half the weights: half the work


def test_a_dask_scheduler_without_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DIGITLAB_DASK_SCHEDULER", "tcp://127.0.0.1:1")
    monkeypatch.setitem(sys.modules, "digitlab.engine_dask", None)  # its import fails
    with pytest.raises(training.EngineError) as e:
        training.engine_from_settings()
    assert e.value.code == "engine.dask_unavailable" and "tcp://127.0.0.1:1" in texts.error_text("es", e.value)
    monkeypatch.delenv("DIGITLAB_DASK_SCHEDULER")
    assert training.engine_from_settings() is None  # the local pool


class ScriptedEngine:
    """An engine with the interface and no processes: records what the Worker starts, and ends a job
    when the test says so (its events come out of the next poll)."""

    def __init__(self, slots=1):
        self.slots, self.started, self.stopped, self.out, self.closed = slots, [], [], [], False
        self.finished: set[str] = set()

    def start(self, job):
        self.started.append(job)
        self.out.append({"type": "started", "job": job["id"], "t": time.time(), "pid": 0})

    def stop(self, job_id):
        self.stopped.append(job_id)

    def poll(self, timeout):
        time.sleep(min(timeout, 0.01))
        out, self.out = self.out, []
        return out

    def running(self):
        ended = {e["job"] for e in self.out if e["type"] in ("done", "stopped", "error")}
        return {j["id"] for j in self.started} - self.finished - ended

    def finish(self, jid, **ev):
        self.out.append({"type": "done", "job": jid, "t": time.time(), "model": None, "metrics": {}, **ev})
        self.finished.add(jid)

    def close(self, timeout):
        self.closed = True

    def describe(self):
        return {"engine": "scripted", "slots": self.slots}


def test_the_worker_needs_only_the_engine_interface():
    eng = ScriptedEngine(slots=1)
    w = training.Worker(engine=eng)
    try:
        assert w.pids == [] and w.pid is None and w.alive()
        a, b = w.submit("numpy-mlp", TINY, name="first"), w.submit("numpy-mlp", TINY)
        started(w, a)
        assert [j["id"] for j in eng.started] == [a] and w.status(b)["queue_position"] == 1
        job = eng.started[0]  # the dict the trainer receives
        assert {k: job[k] for k in ("kind", "name", "seed", "owner", "_test_hook")} == {
            "kind": "numpy-mlp", "name": "first", "seed": 0, "owner": None, "_test_hook": None}
        assert job["home"] and job["config"]["max_train"] == 600
        w.stop(a)
        assert eng.stopped == [a] and w.status(a)["state"] == "running"  # the engine ends it, not the Worker
        eng.finish(a, train_seconds=1.0)
        assert w.wait(a, 10)["state"] == "done"
        started(w, b)  # the free slot takes the next job
        assert w.costs.learnt == {"numpy-mlp": 1}  # a finished job taught the cost model
    finally:
        w.shutdown()
    assert eng.closed
