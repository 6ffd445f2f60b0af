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
    tutorial = models.config_for("sklearn-mlp", "tutorial")
    assert (tutorial.alpha, tutorial.hidden, tutorial.solver, tutorial.scale_pixels) == (1e-5, (5,), "lbfgs", False)
    assert models.config_for("keras-cnn", "tutorial").optimizer == "adadelta"
    assert models.config_for("keras-cnn", "tutorial").lr == 0.001
    assert models.config_for("keras-cnn", "adadelta-1.0").lr == 1.0
    assert models.config_for("keras-cnn", "augmented").augment
    assert models.config_for("numpy-binary", "tutorial").variant == "tutorial"


@pytest.mark.parametrize("kind", ["numpy-binary", "sklearn-mlp", "keras-cnn"])
def test_the_tutorial_presets_old_name_still_works(kind):
    """Job files, command lines and stored models written before the rename say preset "seed"."""
    assert "seed" not in models.REGISTRY[kind].presets
    assert models.config_for(kind, "seed") == models.config_for(kind, "tutorial")
    assert models.config_from_dict(kind, {}, "seed") == models.config_for(kind, "tutorial")


def test_the_binary_variants_old_name_still_works():
    assert models.config_for("numpy-binary", "fixed", variant="seed").variant == "tutorial"
    with pytest.raises(models.ConfigError, match="one of"):
        models.config_for("numpy-binary", variant="sead")


def test_registry_entries_are_keyword_only():
    mk = models.REGISTRY["numpy-mlp"]
    with pytest.raises(TypeError):
        models.ModelKind(mk.kind, mk.label, mk.explanation, mk.config_cls, mk.presets, mk.default_preset,
                         mk.trainer_path, mk.predictor)


def test_a_bad_preset_fails_when_the_entry_is_made():
    mk = models.REGISTRY["numpy-mlp"]
    with pytest.raises(models.ConfigError, match="outside"):
        models.ModelKind(kind="x", label="x", explanation="x", config_cls=mk.config_cls, presets={"bad": {"epochs": 0}},
                         default_preset="bad", trainer_path=mk.trainer_path, finetuner_path=mk.finetuner_path,
                         predictor=mk.predictor)


def test_a_bad_finetune_override_fails_when_the_entry_is_made():
    mk = models.REGISTRY["numpy-mlp"]
    with pytest.raises(models.ConfigError):
        models.ModelKind(kind="x", label="x", explanation="x", config_cls=mk.config_cls, presets=mk.presets,
                         default_preset=mk.default_preset, trainer_path=mk.trainer_path,
                         finetuner_path=mk.finetuner_path, predictor=mk.predictor, finetune={"epoch": 3})


def test_an_old_stored_model_with_preset_seed_loads_as_tutorial(split):
    """A model stored before the rename: meta preset "seed", config and spec variant "seed"."""
    import json

    tr, va = split
    trained = models.train_numpy_binary(models.config_for("numpy-binary", "tutorial"), tr, seed=0)
    old_spec = {**trained.spec, "variant": "seed"}
    store.save("old-bin", kind="numpy-binary", arrays=trained.arrays, spec=old_spec,
               meta={"preset": "seed", "config": {**models.config_dict(models.config_for("numpy-binary", "tutorial")),
                                                  "variant": "seed"}})
    meta_file = store.models_dir() / "old-bin" / "meta.json"
    assert json.loads(meta_file.read_text())["preset"] == "seed"  # as an old DigitLab wrote it
    m = store.load("old-bin", cached=False)
    assert m.meta["preset"] == "tutorial" and m.meta["config"]["variant"] == "tutorial"
    assert m.predictor.variant == "tutorial"
    listed = {x["name"]: x for x in store.list_models()}["old-bin"]
    assert listed["preset"] == "tutorial"
    assert models.config_from_dict("numpy-binary", m.meta["config"], m.meta["preset"]).variant == "tutorial"
    want = models.build_predictor("numpy-binary", trained.spec, trained.arrays).predict_proba(va.images[:20])
    np.testing.assert_array_equal(m.predict_proba(va.images[:20]), want)


def test_ten_class_probabilities_pads_the_missing_digits():
    p = np.array([[0.25, 0.75]])
    np.testing.assert_array_equal(models.ten_class_probabilities(p), [[0.25, 0.75] + [0.0] * 8])
    np.testing.assert_array_equal(models.ten_class_probabilities(p, [3, 7])[0, [3, 7]], [0.25, 0.75])


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
    ("sklearn-mlp", "tutorial", {"epochs": 1}, 0.0),  # the tutorial's settings: runs, no accuracy promise
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
def keras_trainer():
    """The Keras trainer module (it imports TensorFlow: only the tests that need it ask for it)."""
    from digitlab.models import keras_trainer

    return keras_trainer


@pytest.fixture(scope="module")
def keras_trained(split, keras_trainer):
    tr, va = split
    cfg = models.config_for("keras-cnn", "adam", epochs=1, augment=True, batch_size=64)
    events = []
    trained = keras_trainer.train_keras_cnn(cfg, tr, va, seed=0, callback=events.append, should_stop=lambda: False)
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


def test_keras_model_round_trips_through_the_store(keras_trained, keras_trainer, split, tmp_path):
    trained, _ = keras_trained
    kp = tmp_path / "m.keras"
    trained.keras_model.save(kp)
    store.save("k", kind="keras-cnn", arrays=trained.arrays, spec=trained.spec, files={"keras": kp})
    x = split[1].images[:32]
    km = keras_trainer.load_keras("k")  # safe mode
    pk = km.predict(x[..., None].astype(np.float32) / 255, verbose=0)
    assert np.abs(store.load("k").predict_proba(x) - pk).max() < 1e-4
    assert store.load("k").net is not None


def test_tutorial_binary_predictor_shape(split):
    tr, va = split
    cfg = models.config_for("numpy-binary", "tutorial")
    trained = models.train_numpy_binary(cfg, tr, va, seed=0)
    p = models.build_predictor("numpy-binary", trained.spec, trained.arrays).predict_proba(va.images[:5])
    assert p.shape == (5, 2) and np.allclose(p.sum(1), 1)


@pytest.mark.skipif(not models.cpu_has_bf16(), reason="no native bfloat16 on this CPU")
def test_bfloat16_keras_model_served_in_float32(split, keras_trainer):
    """Mixed precision trains in bfloat16; the NumPy twin runs the float32 weights in float32."""
    tr, va = split
    cfg = models.config_for("keras-cnn", "adam", epochs=1, precision="bfloat16")
    trained = keras_trainer.train_keras_cnn(cfg, tr.subset(np.arange(600)), va, seed=0)
    assert all(w.dtype == np.float32 for w in trained.arrays.values())
    x = va.images[:64]
    pk = trained.keras_model.predict(x[..., None].astype(np.float32) / 255, verbose=0)
    pn = models.build_predictor("keras-cnn", trained.spec, trained.arrays).predict_proba(x)
    assert np.abs(pn - pk).max() < 2e-2
    assert np.mean(pn.argmax(1) == pk.argmax(1)) > 0.95
