"""Every model kind x every preset, end to end: trained tiny through the real save path
(``training.run_job``), loaded back from the store, and used through every face that
reads a stored model: the Draw page's prediction, the Inspect page's layer outputs,
weights and confusion matrix, and the CLI's ``predict``, ``evaluate`` and ``submission``.

Each (kind, preset) cell is trained once per module (a module-scoped, parametrised
fixture) on a 600-image slice of the bundled sample. No accuracy promises: one epoch
on a few hundred digits only has to give a valid model.
"""
import json

import numpy as np
import pytest

from digitlab import data, evaluation, insight, models, store, training, viz
from digitlab.__main__ import main

CELLS = [(kind, preset) for kind, mk in models.REGISTRY.items() for preset in mk.presets]

# per kind: settings that keep each cell to a second or a few (1 epoch, few images)
TINY = {
    "numpy-binary": {"iterations": 5},
    "numpy-mlp": {"epochs": 1},
    "numpy-cnn": {"epochs": 1, "max_train": 300},
    "sklearn-mlp": {"epochs": 1, "lbfgs_iters": 5},
    "keras-cnn": {"epochs": 1, "batch_size": 64},
}
N_IMAGES = 600


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    h = tmp_path_factory.mktemp("matrix-home")
    mp.setenv("DIGITLAB_HOME", str(h))
    mp.setenv("DIGITLAB_NO_DEFAULTS", "1")
    store._cache.clear()
    yield h
    mp.undo()
    store._cache.clear()


@pytest.fixture(scope="module")
def tiny_data(home):
    """A small labelled dataset (.npz, as the Train page hands the worker an upload) and its images."""
    ds = data.load_sample()
    tiny = ds.subset(np.arange(N_IMAGES))
    path = home / "tiny.npz"
    data.save_npz(tiny, path)
    return str(path), tiny


@pytest.fixture(scope="module", params=CELLS, ids=[f"{k}-{p}" for k, p in CELLS])
def cell(request, home, tiny_data):
    """(kind, preset, name): one tiny model of that cell, saved through the worker's job code."""
    kind, preset = request.param
    name = f"{kind}-{preset}"
    job = {"id": name, "kind": kind, "preset": preset, "config": dict(TINY[kind]), "data": tiny_data[0],
           "name": name, "seed": 0, "test": None}
    events = []
    final = training.run_job(job, events.append, lambda: False)
    assert final["type"] == "done" and final["model"] == name, final
    return kind, preset, name


def _digit_image(tiny, label=1):
    """One 28x28 uint8 digit of the tiny set (a 1: binary models know it)."""
    return tiny.images[int(np.flatnonzero(tiny.labels == label)[0])]


def test_loads_back_and_is_listed(cell):
    kind, preset, name = cell
    m = store.load(name, cached=False)
    assert m.kind == kind and m.meta["preset"] == preset
    listed = {x["name"]: x for x in store.list_models(include_broken=True)}
    assert name in listed and "error" not in listed[name]


def test_draw_prediction(cell, tiny_data):
    """What the Draw page does for every stored model: insight.predict_all with store.load."""
    kind, _, name = cell
    store._cache.clear()
    (ans,) = insight.predict_all([name], _digit_image(tiny_data[1]), store.load)
    assert "error" not in ans, ans.get("error")
    assert ans["proba"].shape == (10,) and np.isfinite(ans["proba"]).all()
    assert abs(ans["proba"].sum() - 1) < 1e-4
    assert ans["classes"] == models.REGISTRY[kind].classes
    assert 0 <= ans["digit"] < ans["classes"]
    viz.prob_matrix([name], ans["proba"][None])


def test_inspect_layer_outputs_and_weights(cell, tiny_data):
    """The Inspect page's digit tab and weights tab."""
    kind, _, name = cell
    m = store.load(name, cached=False)
    img = _digit_image(tiny_data[1])
    p = m.predict_proba(img[None])[0]
    assert p.shape == (m.classes,) and np.isfinite(p).all()
    viz.prob_bars(p)
    outs = insight.layer_outputs(m, img)
    if kind == "numpy-binary":
        assert outs == []  # the page says "no layers" for the tutorial's net
    else:
        assert outs and outs[-1].value.shape == (10,)
    for o in outs:
        assert np.isfinite(o.value).all(), o.name
        if o.name.startswith(("flatten", "dropout")):
            continue
        if o.kind == "maps":
            viz.feature_maps(insight.normalize_maps(o.value), cols=8)
        else:
            viz.vector_bars(o.value)
    w = insight.first_layer_weights(m)
    assert w is not None
    assert w.kind == ("conv" if kind in ("numpy-cnn", "keras-cnn") else "dense")
    assert len(w.images) and np.isfinite(w.images).all()
    viz.weight_grid(w.images[:64], cols=8)


def test_inspect_confusion_matrix(cell):
    """The Inspect page's confusion tab on the validation split, rebuilt from the listed metadata."""
    _, _, name = cell
    meta = {x["name"]: x for x in store.list_models()}[name]
    m = store.load(name, cached=False)
    ev = evaluation.validation_set(meta)
    if m.classes == 2:
        ev = data.binary_subset(ev)
    assert len(ev) == meta["dataset"]["n_val"] or m.classes == 2
    P = m.predict_proba(ev.images)
    assert P.shape == (len(ev), m.classes)
    cm = insight.confusion(ev.labels, P.argmax(1), P.shape[1])
    assert cm.sum() == len(ev)
    t, pr = insight.worst_confusion(cm) or (0, 0)
    insight.mistakes(ev.labels, P, t, pr)
    viz.confusion_matrix(cm, selected=(t, pr))
    viz.training_curve(viz.curves_from_meta(meta.get("curves") or {}), metric="loss")


def test_cli_predict_png(cell, tiny_data, tmp_path, capsys):
    from PIL import Image

    kind, _, name = cell
    img = 255 - _digit_image(tiny_data[1])  # dark ink on white, bigger than 28x28, as a photo would be
    png = tmp_path / "digit.png"
    Image.fromarray(img).resize((112, 112), Image.NEAREST).save(png)
    store._cache.clear()
    assert main(["predict", str(png), "--model", name, "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)[name]
    assert 0 <= out["digit"] < models.REGISTRY[kind].classes
    assert len(out["probabilities"]) == models.REGISTRY[kind].classes
    assert main(["predict", str(png), "--model", name]) == 0
    assert capsys.readouterr().out.startswith(f"{name}: ")


def test_cli_evaluate(cell, tiny_data, capsys):
    kind, _, name = cell
    assert main(["evaluate", "--model", name, "--data", tiny_data[0], "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["model"] == name and 0.0 <= rep["accuracy"] <= 1.0
    assert len(rep["per_class"]) == models.REGISTRY[kind].classes
    assert main(["evaluate", "--model", name, "--data", tiny_data[0]]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_cli_submission(cell, tiny_data, tmp_path, capsys):
    from tests.helpers import csv_text

    kind, _, name = cell
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(csv_text(tiny_data[1].images[:25]))  # Kaggle test.csv: pixels only
    out = tmp_path / "submission.csv"
    rc = main(["submission", "--model", name, "--test", str(test_csv), "--out", str(out)])
    cap = capsys.readouterr()
    if models.REGISTRY[kind].classes != 10:  # a 0-vs-1 net cannot make a Kaggle submission: a clean refusal
        assert rc == 2 and "10-class" in cap.err and "Traceback" not in cap.err
        return
    assert rc == 0, cap.err
    lines = out.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 26
    assert [int(r.split(",")[0]) for r in lines[1:]] == list(range(1, 26))
    assert all(0 <= int(r.split(",")[1]) <= 9 for r in lines[1:])


def test_cli_list(cell, capsys):
    _, _, name = cell
    assert main(["list"]) == 0
    assert any(line.split()[0] == name for line in capsys.readouterr().out.splitlines() if line.strip())
