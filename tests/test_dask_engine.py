"""Jobs on a Dask cluster (issue 16 item 3): digitlab.engine_dask.DaskEngine against a real
LocalCluster of 2 worker processes, 1 thread each. Every kind trains there and is saved in
this process's store; Stop; a worker killed under its job; a dataset the workers do not have;
a job that ignores Stop; the CLI's helper; an unreachable scheduler; no TensorFlow in the server."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import distributed
import numpy as np
import psutil
import pytest

from digitlab import data, jobs, store
from digitlab.engine_dask import TERMINAL, DaskEngine, DaskError, home_env, run_job_on_dask
from digitlab.errors import DigitLabError
from digitlab.evaluation import evaluate, validation_set
from tests.helpers import csv_text, digitlab_home

REPO = Path(__file__).resolve().parent.parent
SAFETY_S = 240  # a hung job fails the test instead of hanging it (not a timing assertion)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with digitlab_home(tmp_path_factory.mktemp("dask-server-home")) as h:
        yield h


@pytest.fixture(scope="module")
def cluster(home):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as c:
        yield c


@pytest.fixture(scope="module")
def engine(cluster):
    e = DaskEngine(cluster.scheduler_address)
    yield e
    e.close(5)


def job(jid, kind, preset, hook=None, data_spec="sample", **config):
    return {"id": jid, "kind": kind, "preset": preset, "config": config, "data": data_spec, "name": None, "seed": 0,
            "test": None, "home": str(store.home()), "owner": None, "_test_hook": hook}


def collect(engine, events, until):
    """Poll ``engine`` into ``events`` (job id -> list) until ``until(events)``."""
    end = time.monotonic() + SAFETY_S
    while not until(events):
        assert time.monotonic() < end, {k: [e["type"] for e in v] for k, v in events.items()}
        for ev in engine.poll(0.5):
            events.setdefault(ev["job"], []).append(ev)
    return events


def finished(*jids):
    return lambda evs: all(evs.get(j) and evs[j][-1]["type"] in TERMINAL for j in jids)


def check_order(evs, phases):
    """Started first, then the job's phases in order, batches and epochs while training, one terminal event last."""
    types = [e["type"] for e in evs]
    assert types[0] == "started" and types[-1] in TERMINAL and sum(t in TERMINAL for t in types) == 1, types
    assert [e["phase"] for e in evs if e["type"] == "phase"] == phases
    training = next(i for i, e in enumerate(evs) if e.get("phase") == "training")
    evaluating = next(i for i, e in enumerate(evs) if e.get("phase") == "evaluating")
    assert all(training < i < evaluating for i, e in enumerate(evs) if e["type"] in ("batch", "epoch"))
    epochs = [e["epoch"] for e in evs if e["type"] == "epoch"]
    assert epochs and epochs == sorted(epochs)
    assert all(e["t"] > 0 for e in evs)


KINDS = [  # (kind, preset, config): tiny runs of every kind; keras-cnn first (its worker imports TensorFlow)
    ("keras-cnn", "adam", {"epochs": 1, "max_train": 300}),
    ("numpy-binary", "fixed", {"iterations": 20, "max_train": 300}),
    ("numpy-mlp", "quick", {"epochs": 1, "max_train": 300}),
    ("numpy-cnn", "quick", {"epochs": 1, "max_train": 300}),
    ("sklearn-mlp", "working", {"epochs": 1, "max_train": 300, "shift_copies": False}),
]


def test_every_kind_trains_on_the_cluster_and_is_saved_in_the_servers_store(engine):
    assert engine.slots == 2
    d = engine.describe()
    assert d["engine"] == "dask" and d["address"].startswith("tcp://") and d["slots"] == 2 and d["workers"] == 2
    jids = [f"k{i}-{kind}" for i, (kind, _, _) in enumerate(KINDS)]
    for jid, (kind, preset, cfg) in zip(jids, KINDS):
        engine.start(job(jid, kind, preset, **cfg))
    assert engine.running() == set(jids)
    evs = collect(engine, {}, finished(*jids))
    assert engine.running() == set()

    local = []  # the same job in this process: the same phases
    jobs.run_job(job("local", "numpy-binary", "fixed", iterations=20, max_train=300), local.append, lambda: False)
    local_phases = [e["phase"] for e in local if e["type"] == "phase"]
    assert local_phases == ["loading data", "training", "evaluating", "saving"]
    images = data.load_sample().images[:5]
    for jid, (kind, _, _) in zip(jids, KINDS):
        ev = evs[jid]
        final = ev[-1]
        assert final["type"] == "done", final
        phases = local_phases if kind != "keras-cnn" else ["loading data", "importing TensorFlow"] + local_phases[1:]
        check_order(ev, phases)
        started = ev[0]
        assert started["worker"].startswith("tcp://") and started["pid"] != os.getpid()
        assert not Path(started["home"]).exists()  # the worker's temporary DIGITLAB_HOME is gone
        assert Path(started["home"]) != store.home()
        m = store.load(final["model"])
        assert m.meta["kind"] == kind and m.meta["dataset"]["spec"] == "sample" and m.meta["job"] == jid
        assert final["metrics"] == m.meta["metrics"] and final["metrics"]["val_accuracy"] > 0.15
        # the weights came back intact: this process's predictor scores what the worker measured
        assert evaluate(m, validation_set(m.meta))["accuracy"] == pytest.approx(final["metrics"]["val_accuracy"])
        p = m.predict_proba(images)
        assert p.shape == (5, m.meta["classes"]) and np.allclose(p.sum(1), 1.0, atol=1e-4)
        assert final["train_seconds"] == m.meta["train_seconds"]
    keras_name = evs[jids[0]][-1]["model"]
    keras_file = store.keras_path(keras_name)
    assert keras_file.is_file() and keras_file.read_bytes()[:2] == b"PK"  # the .keras file (a zip) came back


CLI = """
import json, sys
from digitlab.engine_dask import run_job_on_dask
seen = []
final = run_job_on_dask(sys.argv[1], {"kind": "keras-cnn", "preset": "adam", "data": "sample", "name": "cli-keras",
                                      "config": {"epochs": 1, "max_train": 300}}, seen.append)
print(json.dumps({"final": final, "seen": [e["type"] for e in seen],
                  "tensorflow": sorted(m for m in ("tensorflow", "keras") if m in sys.modules)}))
"""


def test_fine_tuning_runs_on_the_cluster_from_the_servers_base_model(engine):
    """A fine-tuning job of each kind (issue 17 item 4): the base model's folder and the held-out
    drawings travel to the worker (it has neither), the copy comes back into this store, and its
    before/after figures are the two models' accuracies recomputed here. The bases are trained on
    the cluster too, so this process never imports TensorFlow."""
    from digitlab import finetune

    had_tf = "tensorflow" in sys.modules  # another test module of this process may have imported it
    ds = data.load_sample()
    idx = np.random.default_rng(5).choice(len(ds), 160, replace=False)
    drawings = data.Dataset(ds.images[idx][:, :, ::-1].copy(), ds.labels[idx], name="drawings", source="room",
                            meta={"ids": list(range(500, 660))})
    bases = {}
    for kind, preset, cfg in KINDS:
        jid = f"ftbase-{kind}"
        engine.start(job(jid, kind, preset, **cfg))
        bases[kind] = collect(engine, {}, finished(jid))[jid][-1]["model"]
    plans = {kind: finetune.plan(name, drawings, epochs=1 if kind != "numpy-binary" else 10)
             for kind, name in bases.items()}
    for kind, p in plans.items():
        engine.start({**job(f"ft-{kind}", kind, None), "config": p["config"], "data": p["data"],
                      "finetune": p["finetune"]})
    away = []  # once the jobs are sent, the server's base folders and held-out files are moved away:
    for p in plans.values():  # the workers can only be using the copies that travelled
        for path in (Path(p["finetune"]["base_dir"]), Path(p["finetune"]["heldout"])):
            if path not in away:  # the 10-class kinds share one held-out file (named by its content)
                path.rename(f"{path}.away")
                away.append(path)
    try:
        evs = collect(engine, {}, finished(*[f"ft-{k}" for k in plans]))
    finally:
        for path in away:
            Path(f"{path}.away").rename(path)
    for kind, p in plans.items():
        final = evs[f"ft-{kind}"][-1]
        assert final["type"] == "done", final
        meta = store.load_meta(final["model"])
        assert final["model"].startswith(f"{bases[kind]}-ft") and meta["finetune"]["base"] == bases[kind]
        held = data.load(p["finetune"]["heldout"])
        assert meta["finetune"]["heldout"] == p["finetune"]["heldout"]  # the server's file, not the worker's copy
        for side, name in (("before", bases[kind]), ("after", final["model"])):
            assert meta["finetune"][side]["heldout_accuracy"] == pytest.approx(evaluate(store.load(name), held)["accuracy"])
    assert had_tf or ("tensorflow" not in sys.modules and "keras" not in sys.modules)


def test_run_job_on_dask_saves_a_keras_model_in_a_server_without_tensorflow(cluster, home):
    r = subprocess.run([sys.executable, "-c", CLI, cluster.scheduler_address], cwd=REPO, capture_output=True,
                       text=True, timeout=SAFETY_S, env={**os.environ, "DIGITLAB_HOME": str(home)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["tensorflow"] == []  # the weights and the .keras file came back as bytes
    assert out["final"]["type"] == "done" and out["final"]["model"] == "cli-keras"
    assert "epoch" in out["seen"] and "started" not in out["seen"]  # the events run_job's emit gets
    m = store.load("cli-keras")
    assert m.meta["kind"] == "keras-cnn" and store.keras_path("cli-keras").is_file()


def test_run_job_on_dask_raises_a_jobs_error_with_its_code(cluster):
    with pytest.raises(DigitLabError) as info:
        run_job_on_dask(cluster.scheduler_address, {"kind": "numpy-mlp", "config": {"epochs": 0}}, lambda ev: None)
    assert info.value.code == "config.out_of_range" and info.value.params["setting"] == "epochs"


def test_stop_a_running_job_a_sleeping_one_and_one_not_started(engine):
    long = job("s-long", "numpy-mlp", "default", epochs=100, max_train=4000)
    sleeper = job("s-sleep", "numpy-binary", "fixed", hook="sleep:200", iterations=300)
    queued = job("s-queued", "numpy-mlp", "quick")
    for j in (long, sleeper, queued):
        engine.start(j)
    evs = collect(engine, {}, lambda e: any(x["type"] == "epoch" for x in e.get("s-long", []))
                  and any(x["type"] == "started" for x in e.get("s-sleep", [])))
    assert "s-queued" not in evs  # both workers are busy: the third job waits in the scheduler
    engine.stop("s-queued")
    asked = time.monotonic()
    engine.stop("s-long")
    engine.stop("s-sleep")
    collect(engine, evs, finished("s-long", "s-sleep", "s-queued"))
    stop_delay = time.monotonic() - asked
    print(f"stop delay (request -> stopped event, both jobs): {stop_delay:.2f} s")

    assert [e["type"] for e in evs["s-queued"]] == ["stopped"] and evs["s-queued"][0]["cancelled"]
    ev = evs["s-long"]
    types = [e["type"] for e in ev]
    assert "stopping" in types and types[-1] == "stopped", types
    assert types.index("stopping") < types.index("stopped")
    m = store.load(ev[-1]["model"])  # an epoch had finished: the partial model is kept
    assert m.meta["stopped"] is True and 1 <= m.meta["epochs"] < 100
    ev = evs["s-sleep"]
    assert [e["type"] for e in ev][:2] == ["started", "stopping"]  # seen while the job slept
    assert ev[-1]["type"] == "stopped" and ev[-1]["model"] is None  # stopped before it learnt anything
    assert engine.running() == set()


def test_a_killed_worker_is_its_jobs_error_and_the_other_job_finishes(engine, cluster):
    engine.start(job("w-victim", "numpy-binary", "fixed", hook="sleep:200"))
    evs = collect(engine, {}, lambda e: bool(e.get("w-victim")))
    started = evs["w-victim"][0]
    assert started["type"] == "started"
    engine.start(job("w-other", "numpy-mlp", "default", epochs=3, max_train=3000))
    collect(engine, evs, lambda e: any(x["type"] == "epoch" for x in e.get("w-other", [])))
    assert evs["w-other"][0]["worker"] != started["worker"]
    os.kill(started["pid"], signal.SIGKILL)
    collect(engine, evs, finished("w-victim", "w-other"))

    victim = evs["w-victim"][-1]
    assert victim["type"] == "error" and victim["code"] == "dask.worker_died", victim
    assert victim["params"] == {"worker": started["worker"], "job": "w-victim"}
    assert [e["type"] for e in evs["w-victim"]].count("started") == 1  # not run again elsewhere
    other = evs["w-other"][-1]
    assert other["type"] == "done" and store.exists(other["model"])
    # the cluster goes on: the nanny restarts the worker and the engine's next job runs
    engine.start(job("w-after", "numpy-binary", "fixed", iterations=10, max_train=300))
    after = collect(engine, {}, finished("w-after"))["w-after"]
    assert after[-1]["type"] == "done"
    assert engine.running() == set()


def test_a_job_that_ignores_stop_is_terminated_and_its_worker_restarted(cluster):
    with DaskEngine(cluster.scheduler_address, stop_timeout=2.0) as e:
        assert (e.stop_grace, e.stop_timeout) == (3.0, 2.0)
        e.start(job("h-hang", "numpy-binary", "fixed", hook="hang"))
        evs = collect(e, {}, lambda x: any(ev.get("phase") == "hanging" for ev in x.get("h-hang", [])))
        pid = evs["h-hang"][0]["pid"]
        e.stop("h-hang")
        collect(e, evs, finished("h-hang"))
        types = [ev["type"] for ev in evs["h-hang"]]
        assert "stopping" in types  # acknowledged by the task's watcher, but the job never ended
        final = evs["h-hang"][-1]
        assert final["type"] == "stopped" and final["terminated"] is True and final["model"] is None
        end = time.monotonic() + SAFETY_S
        while psutil.pid_exists(pid):  # the hung worker process is restarted by its nanny
            assert time.monotonic() < end
            time.sleep(0.2)
        e.start(job("h-after", "numpy-binary", "fixed", iterations=10, max_train=300))
        assert collect(e, {}, finished("h-after"))["h-after"][-1]["type"] == "done"


def test_a_dataset_file_on_the_server_is_sent_to_the_workers(engine, tmp_path):
    ds = data.load_sample()
    src = tmp_path / "upload.csv"
    src.write_text(csv_text(ds.images[:400], ds.labels[:400]))
    engine.start(job("f-csv", "numpy-mlp", "quick", data_spec=str(src), epochs=1))
    src.unlink()  # the bytes were read at start: the worker trains on its own copy
    ev = collect(engine, {}, finished("f-csv"))["f-csv"]
    assert ev[-1]["type"] == "done", ev[-1]
    meta = store.load(ev[-1]["model"]).meta
    assert meta["dataset"]["spec"] == str(src) and meta["dataset"]["name"] == "upload"
    assert meta["dataset"]["n_train"] + meta["dataset"]["n_val"] == 400

    engine.start(job("f-missing", "numpy-mlp", "quick", data_spec=str(tmp_path / "nothing.csv")))
    ev = collect(engine, {}, finished("f-missing"))["f-missing"]
    assert ev[-1]["type"] == "error" and ev[-1]["code"] == "data.not_found"


def test_an_unreachable_scheduler_is_a_clear_error_not_a_hang():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DaskError) as info:
        DaskEngine(f"tcp://127.0.0.1:{port}", connect_timeout=1.0)
    e = info.value
    assert e.code == "dask.unreachable" and e.params["address"] == f"tcp://127.0.0.1:{port}" and e.params["seconds"] == 1.0
    assert f"127.0.0.1:{port}" in str(e)


def test_importing_the_dask_engine_imports_neither_tensorflow_nor_distributed():
    code = ("import sys, digitlab.engine_dask; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'distributed') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_a_workers_temporary_homes_nest_and_interleave(monkeypatch):
    """Two tasks on one worker process share its environment: DIGITLAB_HOME names the newest
    task's folder, and what it was before once both have ended."""
    monkeypatch.setenv("DIGITLAB_HOME", "/before")
    a, b = home_env("/task-a"), home_env("/task-b")
    a.__enter__()
    b.__enter__()
    assert os.environ["DIGITLAB_HOME"] == "/task-b"
    a.__exit__(None, None, None)  # the first task ends before the second
    assert os.environ["DIGITLAB_HOME"] == "/task-b"
    b.__exit__(None, None, None)
    assert os.environ["DIGITLAB_HOME"] == "/before"
    with home_env("/before"):  # already there: nothing changes
        assert os.environ["DIGITLAB_HOME"] == "/before"


def test_the_train_pages_worker_runs_jobs_on_the_cluster(cluster):
    from digitlab import training

    w = training.Worker(engine=DaskEngine(cluster.scheduler_address))
    try:
        a = w.submit("numpy-binary", {"iterations": 20, "max_train": 300}, preset="fixed", _hook="sleep:200")
        b = w.submit("numpy-binary", {"iterations": 20, "max_train": 300}, preset="fixed", _hook="sleep:200")
        c = w.submit("numpy-mlp", {"epochs": 1, "max_train": 2000}, preset="quick")
        end = time.monotonic() + SAFETY_S
        while [w.status(j)["state"] for j in (a, b)] != ["running", "running"]:  # the listener starts them
            assert time.monotonic() < end
            time.sleep(0.02)
        assert w.status(c)["state"] == "queued" and w.status(c)["position"] == 1  # the 2 slots are taken
        seen = ["queued"]
        w.stop(a)  # a's slot frees: c starts there
        while w.status(c)["state"] not in ("done", "stopped", "error"):
            assert time.monotonic() < end
            if w.status(c)["state"] != seen[-1]:
                seen.append(w.status(c)["state"])
            time.sleep(0.02)
        seen.append(w.status(c)["state"])
        assert seen == ["queued", "running", "done"]
        s = w.status(c)
        assert store.exists(s["model"]) and s["metrics"]["val_accuracy"] > 0.5 and s["epochs"]
        assert w.wait(a, SAFETY_S)["state"] == "stopped"
        w.stop(b)
        assert w.wait(b, SAFETY_S)["state"] == "stopped"
        assert [e["type"] for e in w.events(c)][0] == "started"
    finally:
        w.shutdown()


def test_the_setting_makes_get_worker_use_the_cluster(cluster, monkeypatch):
    from digitlab import training

    monkeypatch.setenv("DIGITLAB_DASK_SCHEDULER", cluster.scheduler_address)
    monkeypatch.setattr(training, "_singleton", None)
    w = training.get_worker()
    try:
        assert isinstance(w.engine, DaskEngine)
        d = w.engine.describe()
        assert d["engine"] == "dask" and d["address"] == cluster.scheduler_address and d["slots"] == 2
        jid = w.submit("numpy-binary", {"iterations": 10, "max_train": 300}, preset="fixed")
        assert w.wait(jid, SAFETY_S)["state"] == "done"
    finally:
        w.shutdown()


def test_cli_train_dask_runs_the_job_on_the_cluster_and_saves_it_here(cluster, home):
    """``python -m digitlab train --dask ADDRESS``: the job runs on the cluster, the model lands in
    this machine's store; an address where no scheduler listens is one error line and exit 2."""
    env = {**os.environ, "DIGITLAB_HOME": str(store.home())}
    cmd = [sys.executable, "-m", "digitlab", "train", "--model", "numpy-mlp", "--preset", "quick", "--name", "cli-dask",
           "--set", "max_train=300", "--json", "--quiet", "--dask", cluster.scheduler_address]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=SAFETY_S)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["model"] == "cli-dask" and result["state"] == "done"
    stored = store.load("cli-dask", cached=False)
    assert stored.meta["kind"] == "numpy-mlp" and stored.predict_proba(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad_cmd = [a if a != "cli-dask" else "cli-dask-2" for a in cmd[:-1]] + [f"tcp://127.0.0.1:{port}"]
    bad = subprocess.run(bad_cmd, cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=SAFETY_S)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("error:") and f"127.0.0.1:{port}" in bad.stderr
