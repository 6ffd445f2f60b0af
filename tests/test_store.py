"""The model store: round trips, atomic saves, corrupt files refused, NumPy-only inference."""
import json
import os
import subprocess
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

    real = store._write_json_atomic
    monkeypatch.setattr(store, "_write_json_atomic", crash)
    with pytest.raises(OSError):
        store.save("keep", kind="numpy-mlp", arrays=arrays, spec=spec, overwrite=True)
    monkeypatch.setattr(store, "_write_json_atomic", real)
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
    meta["files"]["weights"]["sha256"] = store._sha256(w)
    meta_p.write_text(json.dumps(meta))
    with pytest.raises(store.CorruptModelError, match="not a readable weights file"):
        store.load("p", cached=False)


def test_not_a_zip_refused():
    _save_mlp("z")
    w = _weights_file("z")
    w.write_bytes(b"not a zip at all")
    meta_p = store.models_dir() / "z" / "meta.json"
    meta = json.loads(meta_p.read_text())
    meta["files"]["weights"]["sha256"] = store._sha256(w)
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
