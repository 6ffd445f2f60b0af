"""The registry: metadata for widgets, config validation, every kind trains briefly and
beats chance; NumPy inference of a Keras model equals Keras's."""
import dataclasses

import numpy as np
import pytest

from digitlab import data, models, store

KINDS = ["numpy-binary", "numpy-mlp", "numpy-cnn", "sklearn-mlp", "keras-cnn"]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NO_DEFAULTS", "1")


@pytest.fixture(scope="module")
def split():
    """A small seeded split of the sample: 1500 to train, 600 held out."""
    tr, va = data.stratified_split(data.load_sample(), 0.2, seed=1)
    return tr.subset(np.arange(1500)), va.subset(np.arange(600))


def test_registry_entries():
    assert sorted(models.REGISTRY) == sorted(KINDS)
    for kind, mk in models.REGISTRY.items():
        assert mk.kind == kind and mk.label and len(mk.explanation) > 80
        assert dataclasses.is_dataclass(mk.config_cls)
        assert mk.default_preset in mk.presets
        for f in dataclasses.fields(mk.config_cls):
            assert f.metadata.get("help"), (kind, f.name)
            if f.type not in ("bool",):
                assert "range" in f.metadata or "choices" in f.metadata, (kind, f.name)
        for preset in mk.presets:
            cfg = models.config_for(kind, preset)
            assert isinstance(cfg, mk.config_cls)
        assert models.field_info(kind)[0]["name"]


def test_presets_the_issue_names():
    seed = models.config_for("sklearn-mlp", "seed")
    assert (seed.alpha, seed.hidden, seed.solver, seed.scale_pixels) == (1e-5, (5,), "lbfgs", False)
    assert models.config_for("keras-cnn", "seed").optimizer == "adadelta"
    assert models.config_for("keras-cnn", "seed").lr == 0.001
    assert models.config_for("keras-cnn", "adadelta-1.0").lr == 1.0
    assert models.config_for("keras-cnn", "augmented").augment
    assert models.config_for("numpy-binary", "seed").variant == "seed"


def test_overrides_and_coercion():
    cfg = models.config_for("numpy-mlp", hidden="256, 64", epochs="3", lr="0.01")
    assert cfg.hidden == (256, 64) and cfg.epochs == 3 and cfg.lr == 0.01
    assert models.config_for("keras-cnn", augment="true").augment is True
    assert models.config_dict(cfg)["hidden"] == [256, 64]


@pytest.mark.parametrize("kind,kw,match", [
    ("nope", {}, "unknown model kind"),
    ("numpy-mlp", {"epochs": 0}, "outside"),
    ("numpy-mlp", {"epochs": 2.5}, "whole number"),
    ("numpy-mlp", {"lr": "fast"}, "number"),
    ("numpy-mlp", {"activation": "swish"}, "one of"),
    ("numpy-mlp", {"hidden": "12,x"}, "whole numbers"),
    ("numpy-mlp", {"hidden": "0"}, "outside"),
    ("numpy-mlp", {"colour": "red"}, "no setting"),
    ("keras-cnn", {"dropout1": 1.5}, "outside"),
    ("keras-cnn", {"augment": "maybe"}, "true or false"),
    ("sklearn-mlp", {"lr": float("nan")}, "finite"),
])
def test_config_errors(kind, kw, match):
    with pytest.raises(models.ConfigError, match=match):
        models.config_for(kind, **kw)


def test_unknown_preset():
    with pytest.raises(models.ConfigError, match="no preset"):
        models.config_for("numpy-mlp", "turbo")


def _accuracy(kind, trained, ds):
    pred = models.build_predictor(kind, trained.spec, trained.arrays)
    if pred.classes == 2:
        ds = data.binary_subset(ds)
    return float(np.mean(pred.predict_proba(ds.images).argmax(1) == ds.labels))


# (kind, preset, overrides, threshold): chance is 10% (numpy-binary: 50%)
TRAIN_CASES = [
    ("numpy-binary", "fixed", {"iterations": 60}, 0.95),
    ("numpy-mlp", "default", {"epochs": 2}, 0.75),
    ("numpy-cnn", "default", {"epochs": 1}, 0.5),
    ("sklearn-mlp", "working", {"epochs": 3, "hidden": (64,)}, 0.75),
    ("sklearn-mlp", "seed", {"epochs": 1}, 0.0),  # the tutorial's settings: runs, no accuracy promise
]


@pytest.mark.parametrize("kind,preset,kw,threshold", TRAIN_CASES)
def test_each_kind_trains_and_beats_chance(split, kind, preset, kw, threshold):
    tr, va = split
    if kind == "numpy-cnn":
        tr = tr.subset(np.arange(600))
    cfg = models.config_for(kind, preset, **kw)
    events = []
    trained = models.REGISTRY[kind].train(cfg, tr, va, seed=0, callback=events.append, should_stop=lambda: False)
    assert not trained.stopped
    assert any(e["type"] == "epoch" for e in events)
    acc = _accuracy(kind, trained, va)
    assert acc >= threshold, (kind, acc)
    assert trained.history["loss"]


def test_stop_is_honoured_by_trainers(split):
    tr, va = split
    calls = {"n": 0}

    def stop_after_three():
        calls["n"] += 1
        return calls["n"] > 3

    for kind, kw in [("numpy-mlp", {"epochs": 50}), ("sklearn-mlp", {"epochs": 50, "hidden": (32,)})]:
        calls["n"] = 0
        cfg = models.config_for(kind, **kw)
        trained = models.REGISTRY[kind].train(cfg, tr, va, seed=0, should_stop=stop_after_three)
        assert trained.stopped, kind
        assert len(trained.history["loss"]) < 5


@pytest.fixture(scope="module")
def keras_trained(split):
    tr, va = split
    cfg = models.config_for("keras-cnn", "adam", epochs=1, augment=True, batch_size=64)
    events = []
    trained = models.train_keras_cnn(cfg, tr, va, seed=0, callback=events.append, should_stop=lambda: False)
    return trained, events


def test_keras_cnn_trains_with_augmentation(keras_trained, split):
    trained, events = keras_trained
    kinds = [e["type"] for e in events]
    assert "batch" in kinds and kinds[-1] == "epoch"
    assert events[-1]["val_accuracy"] is not None
    assert _accuracy("keras-cnn", trained, split[1]) > 0.5


def test_numpy_inference_of_keras_equals_keras(keras_trained, split):
    trained, _ = keras_trained
    x = split[1].images[:64]
    pk = trained.keras_model.predict(x[..., None].astype(np.float32) / 255, verbose=0)
    pn = models.build_predictor("keras-cnn", trained.spec, trained.arrays).predict_proba(x)
    assert np.abs(pn - pk).max() < 1e-4


def test_keras_model_round_trips_through_the_store(keras_trained, split, tmp_path):
    trained, _ = keras_trained
    kp = tmp_path / "m.keras"
    trained.keras_model.save(kp)
    store.save("k", kind="keras-cnn", arrays=trained.arrays, spec=trained.spec, files={"keras": kp})
    x = split[1].images[:32]
    km = store.load_keras("k")  # safe mode
    pk = km.predict(x[..., None].astype(np.float32) / 255, verbose=0)
    assert np.abs(store.load("k").predict_proba(x) - pk).max() < 1e-4
    assert store.load("k").net is not None


def test_seed_binary_predictor_shape(split):
    tr, va = split
    cfg = models.config_for("numpy-binary", "seed")
    trained = models.train_numpy_binary(cfg, tr, va, seed=0)
    p = models.build_predictor("numpy-binary", trained.spec, trained.arrays).predict_proba(va.images[:5])
    assert p.shape == (5, 2) and np.allclose(p.sum(1), 1)


@pytest.mark.skipif(not models.cpu_has_bf16(), reason="no native bfloat16 on this CPU")
def test_bfloat16_keras_model_served_in_float32(split):
    """Mixed precision trains in bfloat16; the NumPy twin runs the float32 weights in float32."""
    tr, va = split
    cfg = models.config_for("keras-cnn", "adam", epochs=1, precision="bfloat16")
    trained = models.train_keras_cnn(cfg, tr.subset(np.arange(600)), va, seed=0)
    assert all(w.dtype == np.float32 for w in trained.arrays.values())
    x = va.images[:64]
    pk = trained.keras_model.predict(x[..., None].astype(np.float32) / 255, verbose=0)
    pn = models.build_predictor("keras-cnn", trained.spec, trained.arrays).predict_proba(x)
    assert np.abs(pn - pk).max() < 2e-2
    assert np.mean(pn.argmax(1) == pk.argmax(1)) > 0.95
