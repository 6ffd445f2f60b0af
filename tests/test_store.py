"""The model store: round trips, atomic saves, corrupt files refused, NumPy-only inference."""
import json
import os
import subprocess
import time
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab import data, models, store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NO_DEFAULTS", "1")
    store._cache.clear()
    return tmp_path / "home"


def _mlp_payload(seed=0, hidden=(16,)):
    from digitlab.nn import mlp

    net = mlp(hidden=hidden, seed=seed)
    return models.net_arrays(net), {"architecture": net.to_config()}


def _sklearn_payload(seed=0, scale=True):
    rng = np.random.default_rng(seed)
    arrays = {"coef0": rng.normal(0, 0.05, (784, 8)).astype(np.float32), "intercept0": np.zeros(8, np.float32),
              "coef1": rng.normal(0, 0.3, (8, 10)).astype(np.float32), "intercept1": np.zeros(10, np.float32)}
    return arrays, {"activation": "relu", "scale_pixels": scale, "n_layers": 2, "classes": list(range(10))}


def _save_mlp(name="m1", seed=0, **kw):
    arrays, spec = _mlp_payload(seed)
    return store.save(name, kind="numpy-mlp", arrays=arrays, spec=spec,
                      meta={"config": {}, "metrics": {"val_accuracy": 0.5}, "epochs": 1}, **kw)


X = data.load_sample().images[:20]


def test_home_from_env(home):
    assert store.home() == home
    assert store.models_dir() == home / "models"


def test_round_trip_and_metadata():
    meta = _save_mlp("alpha")
    m = store.load("alpha")
    assert m.meta["name"] == "alpha" and m.meta["kind"] == "numpy-mlp" and m.meta["metrics"]["val_accuracy"] == 0.5
    assert m.meta["created"] == meta["created"]
    p = m.predict_proba(X)
    assert p.shape == (20, 10) and np.allclose(p.sum(1), 1, atol=1e-5)
    # uint8 and float [0, 1] inputs agree; one image works
    assert np.allclose(m.predict_proba(X.astype(np.float32) / 255), p, atol=1e-6)
    assert m.predict_proba(X[0]).shape == (1, 10)
    assert m.net is not None and m.net.activations(X[:1, ..., None] / 255.0)


def test_list_rename_delete():
    _save_mlp("a")
    _save_mlp("b")
    assert [m["name"] for m in store.list_models()] == ["b", "a"]  # newest first
    store.rename("a", "c")
    assert sorted(store.names()) == ["b", "c"]
    assert store.load("c").meta["name"] == "c"
    with pytest.raises(store.StoreError):
        store.rename("b", "c")  # taken
    with pytest.raises(store.ModelNotFoundError):
        store.rename("zzz", "y")
    store.delete("b")
    assert store.names() == ["c"]
    with pytest.raises(store.ModelNotFoundError):
        store.load("b")
    with pytest.raises(store.StoreError):
        _save_mlp("c")  # no silent overwrite
    assert store.unique_name("c") == "c-2"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 65, "sp ace"])
def test_bad_names(bad):
    with pytest.raises(store.StoreError):
        _save_mlp(bad)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sklearn_forward_matches_sklearn():
    from sklearn.neural_network import MLPClassifier

    ds = data.load_sample()
    clf = MLPClassifier(hidden_layer_sizes=(12,), max_iter=30, random_state=0).fit(
        data.flatten(ds.images[:500]) / 255.0, ds.labels[:500])
    arrays = {}
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        arrays[f"coef{i}"], arrays[f"intercept{i}"] = W, b
    store.save("sk", kind="sklearn-mlp", arrays=arrays,
               spec={"activation": "relu", "scale_pixels": True, "n_layers": 2, "classes": list(range(10))})
    m = store.load("sk")
    p = m.predict_proba(X)
    assert np.allclose(p, clf.predict_proba(data.flatten(X) / 255.0), atol=1e-4)
    # the same weights as a digitlab.nn net (Inspect page's activations)
    assert np.allclose(m.net.predict_proba(X[..., None] / np.float32(255)), p, atol=1e-4)
    names = [n for n, _ in m.net.activations(X[:1, ..., None] / np.float32(255))]
    assert len(names) >= 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sklearn_raw_pixel_model_matches_sklearn():
    from sklearn.neural_network import MLPClassifier

    ds = data.load_sample()
    raw = data.flatten(ds.images[:300]).astype(np.float64)
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", alpha=1e-5, max_iter=20, random_state=18).fit(
        raw, ds.labels[:300])
    arrays = {f"coef{i}": W for i, W in enumerate(clf.coefs_)} | {f"intercept{i}": b for i, b in enumerate(clf.intercepts_)}
    store.save("raw", kind="sklearn-mlp", arrays=arrays,
               spec={"activation": "relu", "scale_pixels": False, "n_layers": 2, "classes": list(range(10))})
    m = store.load("raw")
    want = clf.predict_proba(data.flatten(X).astype(np.float64))
    assert np.allclose(m.predict_proba(X), want, atol=1e-3)
    assert np.allclose(m.net.predict_proba(X[..., None] / np.float32(255)), want, atol=1e-3)


def test_overwrite_is_atomic_under_a_crash(monkeypatch):
    _save_mlp("keep", seed=0)
    before = store.load("keep").predict_proba(X)
    arrays, spec = _mlp_payload(seed=1)

    def crash(*a, **k):
        raise OSError("simulated power cut before the commit")

    real = store._write_meta
    monkeypatch.setattr(store, "_write_meta", crash)
    with pytest.raises(OSError):
        store.save("keep", kind="numpy-mlp", arrays=arrays, spec=spec, overwrite=True)
    monkeypatch.setattr(store, "_write_meta", real)
    store._cache.clear()
    assert np.array_equal(store.load("keep").predict_proba(X), before)  # the previous model, intact
    # and a later overwrite works and cleans the orphaned payload
    store.save("keep", kind="numpy-mlp", arrays=arrays, spec=spec, overwrite=True)
    assert not np.allclose(store.load("keep").predict_proba(X), before)
    assert len(list((store.models_dir() / "keep").glob("weights-*.npz"))) == 1


def test_new_model_crash_leaves_nothing(monkeypatch):
    real_rename = os.rename

    def crash(src, dst):
        if Path(src).name.startswith(".tmp-"):
            raise OSError("simulated crash at the final rename")
        return real_rename(src, dst)

    monkeypatch.setattr(store.os, "rename", crash)
    with pytest.raises(OSError):
        _save_mlp("new")
    monkeypatch.setattr(store.os, "rename", real_rename)
    assert store.list_models(include_broken=True) == []
    assert not [p for p in store.models_dir().iterdir()]  # temp folder removed


def test_crash_while_writing_weights_keeps_previous(monkeypatch):
    _save_mlp("keep")
    before = store.load("keep").predict_proba(X)
    real = np.savez

    def half_write(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt  # the process is killed mid-write

    monkeypatch.setattr(store.np, "savez", half_write)
    with pytest.raises(KeyboardInterrupt):
        store.save("keep", kind="numpy-mlp", arrays=_mlp_payload(3)[0], spec=_mlp_payload(3)[1], overwrite=True)
    monkeypatch.setattr(store.np, "savez", real)
    store._cache.clear()
    assert np.array_equal(store.load("keep").predict_proba(X), before)


def _weights_file(name):
    return next((store.models_dir() / name).glob("weights-*.npz"))


def test_truncated_weights_refused():
    _save_mlp("t")
    w = _weights_file("t")
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    with pytest.raises(store.CorruptModelError, match="truncated or altered"):
        store.load("t", cached=False)


def test_altered_weights_refused():
    _save_mlp("t")
    w = _weights_file("t")
    b = bytearray(w.read_bytes())
    b[len(b) // 2] ^= 0xFF
    w.write_bytes(bytes(b))
    with pytest.raises(store.CorruptModelError):
        store.load("t", cached=False)


def test_pickled_payload_never_loaded():
    """An npz holding an object array (which would need pickle) is refused even with a matching checksum."""
    _save_mlp("p")
    w = _weights_file("p")
    np.savez(w, w000=np.array([{"evil": 1}], dtype=object))
    meta_p = store.models_dir() / "p" / "meta.json"
    meta = json.loads(meta_p.read_text())
    meta["files"]["weights"]["sha256"] = store.sha256_file(w)
    meta_p.write_text(json.dumps(meta))
    with pytest.raises(store.CorruptModelError, match="not a readable weights file"):
        store.load("p", cached=False)


def test_not_a_zip_refused():
    _save_mlp("z")
    w = _weights_file("z")
    w.write_bytes(b"not a zip at all")
    meta_p = store.models_dir() / "z" / "meta.json"
    meta = json.loads(meta_p.read_text())
    meta["files"]["weights"]["sha256"] = store.sha256_file(w)
    meta_p.write_text(json.dumps(meta))
    with pytest.raises(store.CorruptModelError):
        store.load("z", cached=False)


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", json.dumps({"hello": "world"}).encode(),
                                     json.dumps([1, 2]).encode()])
def test_bad_meta_refused(content):
    _save_mlp("m")
    (store.models_dir() / "m" / "meta.json").write_bytes(content)
    with pytest.raises(store.CorruptModelError):
        store.load("m", cached=False)
    listed = store.list_models(include_broken=True)
    assert listed and "error" in listed[0]
    assert store.list_models() == []


def test_foreign_files_refused():
    d = store.models_dir()
    (d / "stray.txt").write_text("hello")
    (d / "folder").mkdir()
    with pytest.raises(store.CorruptModelError):
        store.load("stray.txt")
    with pytest.raises(store.CorruptModelError, match="no meta.json"):
        store.load("folder")
    assert store.list_models() == []


def test_wrong_shapes_refused():
    _save_mlp("s")
    arrays, _ = _mlp_payload(hidden=(32,))
    _, spec = _mlp_payload(hidden=(16,))
    store.save("s2", kind="numpy-mlp", arrays=arrays, spec=spec)
    with pytest.raises(store.CorruptModelError):
        store.load("s2")


def test_inference_never_imports_tensorflow(tmp_path):
    """The server's path: load every kind from the store and predict, with TF absent from sys.modules."""
    a, s = _mlp_payload()
    store.save("mlp", kind="numpy-mlp", arrays=a, spec=s)
    store.save("cnn", kind="keras-cnn", arrays=a, spec=s)  # a keras-cnn is served by its NumPy twin
    a, s = _sklearn_payload()
    store.save("sk", kind="sklearn-mlp", arrays=a, spec=s)
    code = (
        "import sys, numpy as np\n"
        "from digitlab import store, inference, training, models\n"
        "x = np.zeros((2, 28, 28), np.uint8); x[:, 10:18, 12:15] = 255\n"
        "for n in ('mlp', 'cnn', 'sk'):\n"
        "    assert store.load(n).predict_proba(x).shape == (2, 10)\n"
        "bad = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DIGITLAB_HOME": str(store.home())})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_load_is_cached_until_changed():
    _save_mlp("c")
    a = store.load("c")
    assert store.load("c") is a
    _save_mlp("c", overwrite=True)
    assert store.load("c") is not a


# ---------------------------------------------------------------- issue 12


def test_array_shapes_round_trip_exactly():
    """0-d, (1,), empty and non-contiguous arrays come back with their own shapes (a 0-d
    array used to come back as (1,): np.ascontiguousarray promotes 0-d arrays)."""
    a, s = _mlp_payload()
    extra = {"scalar": np.float64(0.5), "zero_d": np.array(3.0), "one": np.array([2.0]), "empty": np.zeros((0, 3)),
             "transposed": np.arange(6.0).reshape(2, 3).T, "fortran": np.asfortranarray(np.ones((3, 4)))}
    store.save("shapes", kind="numpy-mlp", arrays={**a, **extra}, spec=s)
    got = store._load_arrays(_weights_file("shapes"), "shapes")
    for k, v in {**a, **extra}.items():
        v = np.asarray(v)
        assert got[k].shape == v.shape and got[k].dtype == v.dtype and np.array_equal(got[k], v), k
    assert store.load("shapes").predict_proba(X).shape == (20, 10)


def _binary_payload(iterations=3):
    ds = data.load_sample()
    cfg = models.config_for("numpy-binary", "fixed", iterations=iterations)
    return models.train_numpy_binary(cfg, ds.subset(np.arange(400)))


def test_binary_model_round_trips_and_predicts():
    tr = _binary_payload()
    store.save("bin", kind="numpy-binary", arrays=tr.arrays, spec=tr.spec)
    got = store._load_arrays(_weights_file("bin"), "bin")
    assert got["input_scale"].shape == ()
    m = store.load("bin", cached=False)
    want = models.build_predictor("numpy-binary", tr.spec, tr.arrays).predict_proba(X)
    p = m.predict_proba(X)
    assert p.shape == (20, 2) and np.allclose(p, want)


def test_binary_model_stored_by_the_old_store_still_loads():
    """A learner's existing store: input_scale saved as shape (1,)."""
    tr = _binary_payload()
    old = {**tr.arrays, "input_scale": np.asarray(tr.arrays["input_scale"]).reshape(1)}
    store.save("old-bin", kind="numpy-binary", arrays=old, spec=tr.spec)
    assert store._load_arrays(_weights_file("old-bin"), "old-bin")["input_scale"].shape == (1,)
    want = models.build_predictor("numpy-binary", tr.spec, tr.arrays).predict_proba(X)
    assert np.allclose(store.load("old-bin", cached=False).predict_proba(X), want)


# one malformed meta.json must not hide the others (item 8)
BAD_META = {
    "kind-list": {"kind": ["numpy-mlp"]},
    "kind-dict": {"kind": {"a": 1}},
    "format_version-str": {"format_version": "1"},
    "format_version-float": {"format_version": 1.5},
    "spec-list": {"spec": [1, 2]},
    "files-str": {"files": "weights.npz"},
    "files-entry-str": {"files": {"weights": "weights.npz"}},
    "files-sha-int": {"files": {"weights": {"file": "w.npz", "sha256": 5}}},
    "created-int": {"created": 12345},
    "metrics-list": {"metrics": [0.5]},
    "metrics-acc-str": {"metrics": {"val_accuracy": "high"}},
    "curves-list": {"curves": [1, 2]},
    "curves-values-str": {"curves": {"loss": "down"}},
    "dataset-str": {"dataset": "sample"},
    "config-list": {"config": [1]},
    "epochs-str": {"epochs": "3"},
    "train_seconds-str": {"train_seconds": "10 s"},
    "seed-str": {"seed": "0"},
}


@pytest.fixture
def store_with_bad_entries():
    _save_mlp("good")
    for bad, change in BAD_META.items():
        _save_mlp(bad)
        mp = store.models_dir() / bad / "meta.json"
        mp.write_text(json.dumps({**json.loads(mp.read_text()), **change}))
    store._cache.clear()
    return set(BAD_META)


def test_bad_meta_types_listed_as_broken(store_with_bad_entries):
    assert [m["name"] for m in store.list_models()] == ["good"]
    assert store.names() == ["good"] and not store.is_empty()
    listed = store.list_models(include_broken=True)
    broken = {m["name"]: m["error"] for m in listed if "error" in m}
    assert set(broken) == store_with_bad_entries
    for bad, err in broken.items():
        field = bad.split("-")[0]
        assert field in err, (bad, err)
    assert store.load("good").predict_proba(X).shape == (20, 10)
    for bad in store_with_bad_entries:
        with pytest.raises(store.CorruptModelError):
            store.load(bad, cached=False)
        with pytest.raises(store.CorruptModelError):
            store.load_meta(bad)


def test_cli_list_with_bad_meta(store_with_bad_entries, capsys):
    from digitlab.__main__ import main

    assert main(["list"]) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    assert any(line.split()[0] == "good" and "numpy-mlp" in line for line in lines)
    for bad in store_with_bad_entries:  # each broken entry shown once, with its reason
        (line,) = [line for line in lines if line.split()[0] == bad]
        assert "broken" in line and bad.split("-")[0] in line
    assert "Traceback" not in cap.err
    assert main(["list", "--json"]) == 0
    cap = capsys.readouterr()
    assert [m["name"] for m in json.loads(cap.out)] == ["good"]  # the JSON list stays models only
    assert all(bad in cap.err for bad in store_with_bad_entries)  # broken ones reported on stderr
    # the other commands still work for the good model
    assert main(["evaluate", "--model", "good", "--data", "sample", "--json"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", "kind-list", "--data", "sample"]) == 2
    assert "kind" in capsys.readouterr().err


# two saves of one name (item 9)


def test_save_race_on_the_final_rename_is_a_typed_error(monkeypatch):
    """Another save commits the same name between the exists check and the rename."""
    real = store._write_payload
    arrays, spec = _mlp_payload()

    def racing(folder, token, arrays_, files):
        monkeypatch.setattr(store, "_write_payload", real)
        store.save("race", kind="numpy-mlp", arrays=arrays, spec=spec)  # the other save wins meanwhile
        return real(folder, token, arrays_, files)

    monkeypatch.setattr(store, "_write_payload", racing)
    with pytest.raises(store.ModelExistsError, match="already exists"):
        store.save("race", kind="numpy-mlp", arrays=arrays, spec=spec)
    assert store.names() == ["race"] and store.load("race").predict_proba(X).shape == (20, 10)
    assert [p.name for p in store.models_dir().iterdir()] == ["race"]  # no leftovers


def _save_in_process(home, name, barrier, results):
    """Child process: save ``name`` once both children have written their payloads."""
    os.environ["DIGITLAB_HOME"] = home
    from digitlab import store as st

    real = st._write_payload

    def payload_then_wait(*a):
        table = real(*a)
        barrier.wait(30)  # both are past the exists check: the rename decides
        return table

    st._write_payload = payload_then_wait
    arrays, spec = _mlp_payload(seed=os.getpid() % 7, hidden=(64,))
    try:
        st.save(name, kind="numpy-mlp", arrays=arrays, spec=spec)
        results.put(("ok", ""))
    except st.StoreError as e:
        results.put((type(e).__name__, str(e)))
    except BaseException as e:  # noqa: BLE001 - reported to the test
        results.put(("untyped " + type(e).__name__, str(e)))


def test_two_processes_save_one_name_at_once():
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_save_in_process, args=(str(store.home()), "same", barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    got = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
    assert [g[0] for g in got] == ["ModelExistsError", "ok"], got
    assert "'same' already exists" in got[0][1]
    assert store.list_models(include_broken=True)[0]["name"] == "same"
    assert len(store.list_models(include_broken=True)) == 1
    assert store.load("same", cached=False).predict_proba(X).shape == (20, 10)
    assert [p.name for p in store.models_dir().iterdir()] == ["same"]  # no .tmp-* left
    assert len(list((store.models_dir() / "same").iterdir())) == 2  # meta.json + one weights file


def test_threads_saving_one_name_at_once():
    import threading

    arrays, spec = _mlp_payload()
    out, start = [], threading.Barrier(4)

    def go():
        start.wait(10)
        try:
            store.save("t", kind="numpy-mlp", arrays=arrays, spec=spec)
            out.append("ok")
        except store.StoreError as e:
            out.append(type(e).__name__)

    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert sorted(out) == ["ModelExistsError"] * 3 + ["ok"]
    assert [p.name for p in store.models_dir().iterdir()] == ["t"]


def _binary_job(name=None):
    return {"id": "t", "kind": "numpy-binary", "preset": "fixed", "config": {"iterations": 2, "max_train": 500},
            "data": "sample", "name": name, "seed": 0, "test": None}


def test_run_job_never_renames_a_chosen_name(monkeypatch):
    from digitlab import training

    first = training.run_job(_binary_job("mine"), lambda ev: None, lambda: False)
    assert first["model"] == "mine"
    created = store.load_meta("mine")["created"]
    with pytest.raises(store.ModelExistsError, match="'mine' already exists"):
        training.run_job(_binary_job("mine"), lambda ev: None, lambda: False)
    assert store.names() == ["mine"] and store.load_meta("mine")["created"] == created
    assert not [p for p in store.models_dir().iterdir() if p.name.startswith(".")]
    # generated names get a unique suffix when two jobs end in the same second (the clock is held still here:
    # two real jobs may cross a second boundary, which gave two different names and no suffix to test)
    from digitlab import jobs
    monkeypatch.setattr(jobs.time, "strftime", lambda fmt, *a: "20261203-014609")
    a = training.run_job(_binary_job(), lambda ev: None, lambda: False)["model"]
    b = training.run_job(_binary_job(), lambda ev: None, lambda: False)["model"]
    assert a == "numpy-binary-20261203-014609" and b != a and b.startswith(a)


def test_cli_train_refuses_a_taken_name_before_training(capsys):
    from digitlab.__main__ import main

    _save_mlp("taken")
    assert main(["train", "--model", "numpy-binary", "--epochs", "2", "--name", "taken"]) == 2
    err = capsys.readouterr().err
    assert "'taken' already exists" in err and "[training]" not in err and "Traceback" not in err
    assert store.names() == ["taken"]


# crash leftovers (item 10)


def _leftover(path: Path, age_s: float, payload=True):
    path.mkdir(parents=True)
    if payload:
        (path / "weights-x.npz").write_bytes(b"x" * 1000)
    t = time.time() - age_s
    for p in [*path.iterdir(), path]:
        os.utime(p, (t, t))
    return path


def test_old_leftovers_removed_at_first_use(home):
    d = home / "models"
    old = [_leftover(d / ".tmp-0123456789ab", 2 * 3600), _leftover(d / ".tmp-keras-1a2b3c4d", 5 * 3600),
           _leftover(d / ".del-deadbeef", 26 * 3600, payload=False)]
    fresh = [_leftover(d / ".tmp-fresh0000000", 5), _leftover(d / ".tmp-keras-fresh", 60)]
    (d / "model").mkdir()  # a model folder with a stale meta.json part from a crash
    part = d / "model" / ".meta.json.1234abcd.part"
    part.write_text("{")
    os.utime(part, (time.time() - 7200,) * 2)
    assert store.list_models(include_broken=True) == [{"name": "model", "error": store.list_models(
        include_broken=True)[0]["error"]}]
    assert not any(p.exists() for p in old) and not part.exists()
    assert all(p.exists() for p in fresh)  # a save in progress elsewhere is never removed
    # once per process: later leftovers wait for the next process (no scan on every call)
    late = _leftover(d / ".tmp-late00000000", 7200)
    store.list_models()
    store.models_dir()
    assert late.exists()
    store._cleaned.clear()  # as in a new process: its first use of the store cleans them
    store.models_dir()
    assert not late.exists()


def test_first_use_through_load_cleans_too(home):
    old = _leftover(home / "models" / ".tmp-abcdefabcdef", 7200)
    with pytest.raises(store.ModelNotFoundError):
        store.load("nothing")
    assert not old.exists()


# names (item 11)


@pytest.mark.parametrize("bad", ["abc\n", "abc\r", "a\nb", "\nabc", "abc\n\n", "x" * 65])
def test_check_name_rejects_newlines_and_long_names(bad):
    with pytest.raises(store.StoreError, match="invalid model name"):
        store.check_name(bad)
    with pytest.raises(store.StoreError):
        _save_mlp(bad)


def test_name_limit_is_one_constant():
    longest = "a" * store.NAME_MAX
    assert store.check_name(longest) == longest
    assert store.unique_name(longest) == longest  # a valid free name is not cut
    _save_mlp(longest)
    assert store.load(longest).name == longest
    second = store.unique_name(longest)
    assert second == "a" * (store.NAME_MAX - 2) + "-2" and store.check_name(second) == second
    _save_mlp(second)
    third = store.unique_name(longest)
    assert len(third) == store.NAME_MAX and third.endswith("-3") and not store.exists(third)
    # generated names from anything are valid and within the limit
    for base in ["x" * 200, "-weird name!\n", "...", "ü" * 70]:
        n = store.unique_name(base)
        assert store.check_name(n) == n and len(n) <= store.NAME_MAX


def test_save_dataset_for_the_worker(home):
    x = data.load_sample().images[:50]
    ds = data.Dataset(x, np.arange(50) % 10, "upload.csv", "Kaggle CSV: upload.csv")
    spec = store.save_dataset(ds)
    assert Path(spec).parent == home / "datasets" and Path(spec).name == f"{data.fingerprint(ds)}.npz"
    back = data.load(spec)  # what the worker does with the spec
    assert np.array_equal(back.images, ds.images) and np.array_equal(back.labels, ds.labels)
    mtime = os.stat(spec).st_mtime_ns
    assert store.save_dataset(ds) == spec and os.stat(spec).st_mtime_ns == mtime  # written once per content
    other = data.Dataset(x[:10], np.arange(10), "other", "other")
    assert store.save_dataset(other) != spec


def test_write_atomic_leaves_the_old_file_or_the_new_one_and_no_temporary(tmp_path):
    """files.write_atomic, used for meta.json, saved datasets and the MNIST cache: a writer that
    fails halfway leaves the previous content and no ``.part`` file; one that succeeds replaces it."""
    from digitlab import files

    target = tmp_path / "sub" / "f.bin"
    files.write_atomic(target, lambda f: f.write(b"old"))
    assert target.read_bytes() == b"old"

    def half_then_fail(f):
        f.write(b"new but cut")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.bin"]
    files.write_atomic(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new" and files.sha256_file(target) == __import__("hashlib").sha256(b"new").hexdigest()


def test_a_generated_name_taken_by_another_trainer_meanwhile_gets_the_next_one(monkeypatch):
    """Two trainers finishing unnamed jobs of one kind in the same second: both were given the
    same free name; the second save found it taken (store.exists_race / exists) and failed the
    job. Now jobs.save takes the next free name; a name the user chose still fails."""
    from digitlab import jobs

    arrays, spec = _mlp_payload(seed=3)
    payload = {"kind": "numpy-mlp", "arrays": arrays, "spec": spec, "meta": {"config": {}, "epochs": 1}}
    _save_mlp("taken-by-the-other-trainer")
    real, calls = store.unique_name, []

    def stale_then_real(base):  # the first answer was free when computed, and taken since
        calls.append(base)
        return "taken-by-the-other-trainer" if len(calls) == 1 else real(base)

    monkeypatch.setattr(store, "unique_name", stale_then_real)
    name = jobs.save({"name": None}, payload)
    assert name != "taken-by-the-other-trainer" and name.startswith("numpy-mlp-") and len(calls) == 2
    assert store.load(name, cached=False).meta["kind"] == "numpy-mlp"
    with pytest.raises(store.ModelExistsError):
        jobs.save({"name": "taken-by-the-other-trainer"}, payload)
