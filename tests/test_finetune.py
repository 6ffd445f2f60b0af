"""Fine-tuning a copy of a stored model on the room's drawings (issue 17 item 4, digitlab/finetune.py).

For every kind: a small base model, trained through the real job code, is fine-tuned on "drawings"
saved in a room database (sample digits mirrored left to right: a handwriting MNIST's models read
badly), as a job (``jobs.run_job``, and through the Worker's trainer processes). What is promised
and checked: the copy is a new model named after its base and the base is not changed (its files'
checksums); held-out drawings are never trained on and stay held out as more are saved; the
before/after figures are the base's and the copy's accuracies, recomputed here from the stored
models; Stop, a deleted or replaced base, too few drawings are clear outcomes. The Dask engine's
fine-tuning is in tests/test_dask_engine.py.
"""
import hashlib
import json

import numpy as np
import pytest

from digitlab import costs, data, finetune, jobs, models, room, store, training
from digitlab.__main__ import main
from digitlab.evaluation import evaluate, official_test_path
from tests.helpers import digitlab_home

KINDS = list(models.REGISTRY)
TINY = {  # a base in a second or a few (quality does not matter here)
    "numpy-binary": {"iterations": 30},
    "numpy-mlp": {"epochs": 2},
    "numpy-cnn": {"epochs": 1, "max_train": 600},
    "sklearn-mlp": {"epochs": 2, "shift_copies": False},
    "keras-cnn": {"epochs": 1, "max_train": 1000, "augment": False, "precision": "float32"},
}
FT_EPOCHS = {"numpy-binary": 20, "numpy-cnn": 1, "keras-cnn": 1}  # else the kind's fine-tuning default


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with digitlab_home(tmp_path_factory.mktemp("finetune-home")) as h:
        store._cache.clear()
        yield h
    store._cache.clear()


def mirrored(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sample digits mirrored left to right, and their labels (every digit several times)."""
    ds = data.load_sample()
    idx = np.random.default_rng(seed).choice(len(ds), n, replace=False)
    return ds.images[idx][:, :, ::-1].copy(), ds.labels[idx]


@pytest.fixture(scope="module")
def drawings(home):
    """A room with 120 mirrored drawings by two participants; its drawings as a dataset."""
    rm = room.Room()
    images, labels = mirrored(120)
    for i, (im, lab) in enumerate(zip(images, labels)):
        rm.save_drawing("Ana" if i % 2 else "Ben", im, int(lab))
    return rm.drawings_dataset()


def official_test():
    """The official test set's data spec, or None when it is not here."""
    return str(official_test_path()) if official_test_path() else None


@pytest.fixture(scope="module", params=KINDS)
def base(request, home):
    """(kind, name) of a small stored base model of each kind, measured on the official test set when there."""
    kind = request.param
    final = jobs.run_job({"id": f"base-{kind}", "kind": kind, "preset": None, "config": TINY[kind], "data": "sample",
                          "name": f"base-{kind}", "seed": 0, "test": official_test()}, lambda e: None, lambda: False)
    assert final["type"] == "done"
    return kind, final["model"]


def folder_digest(name: str) -> dict:
    """{file: sha256} of a stored model's folder: what "the base is not changed" means."""
    folder = store.model_folder(name)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run(plan: dict, *, stop=lambda: False, test="default"):
    job = {"id": "ft", "kind": plan["kind"], "config": plan["config"], "data": plan["data"], "name": None, "seed": 0,
           "test": official_test() if test == "default" else test, "finetune": plan["finetune"]}
    events = []
    return jobs.run_job(job, events.append, stop), events


# ---------------------------------------------------------------- every kind, end to end


def test_every_kind_fine_tunes_a_copy_and_says_before_and_after(base, drawings):
    kind, name = base
    before_files = folder_digest(name)
    plan = finetune.plan(name, drawings, epochs=FT_EPOCHS.get(kind))
    final, events = run(plan)
    assert final["type"] == "done", final
    copy = final["model"]
    assert copy.startswith(f"{name}-ft") and copy != name
    assert folder_digest(name) == before_files  # the base is untouched
    meta = store.load_meta(copy)
    ft = meta["finetune"]
    assert meta["kind"] == kind and ft["base"] == name

    # the figures are the two models' accuracies on the held-out drawings, recomputed here
    held = data.load(plan["finetune"]["heldout"])
    base_model, copy_model = store.load(name), store.load(copy)
    assert ft["before"]["heldout_accuracy"] == pytest.approx(evaluate(base_model.predictor, held)["accuracy"])
    assert ft["after"]["heldout_accuracy"] == pytest.approx(evaluate(copy_model.predictor, held)["accuracy"])
    assert meta["metrics"]["val_accuracy"] == ft["after"]["heldout_accuracy"]  # the live view's curve ends there
    from digitlab.evaluation import validation_set  # Inspect's "validation" set of a copy: its held-out drawings
    assert np.array_equal(validation_set(meta).images, held.images)
    if official_test():
        test = data.load(official_test())
        assert ft["before"]["test_accuracy"] == pytest.approx(evaluate(base_model.predictor, test)["accuracy"])
        assert ft["after"]["test_accuracy"] == pytest.approx(evaluate(copy_model.predictor, test)["accuracy"])

    # it learnt: its weights moved; its epochs were reported on the held-out drawings
    moved = [not np.array_equal(base_model_arrays, copy_arrays) for base_model_arrays, copy_arrays in
             zip(store.read_folder(store.model_folder(name))[1].values(), store.read_folder(store.model_folder(copy))[1].values())]
    assert any(moved)
    epochs = [e for e in events if e["type"] == "epoch"]
    assert epochs and all(e["loss"] is not None for e in epochs)
    if kind != "numpy-binary":  # the 0-vs-1 net measures its validation set once, at the end
        assert epochs[-1]["val_accuracy"] == pytest.approx(ft["after"]["heldout_accuracy"])

    # the copy is an ordinary stored model: the CLI reads it like any other
    assert main(["evaluate", "--model", copy, "--data", plan["finetune"]["heldout"]]) == 0


def test_the_copy_trains_only_on_the_training_drawings_and_the_sample(base, drawings):
    kind, name = base
    plan = finetune.plan(name, drawings)
    ft = plan["finetune"]
    train_d, held = data.load(plan["data"]), data.load(ft["heldout"])
    # no held-out drawing among the training ones (compared by pixels)
    train_keys = {im.tobytes() for im in train_d.images}
    assert not any(im.tobytes() in train_keys for im in held.images)
    assert len(train_d) == ft["n_drawings"] and len(held) == ft["n_heldout"] == len(ft["heldout_ids"])
    if models.get_kind(kind).classes == 2:  # a 0-vs-1 net: only the 0s and 1s
        assert set(np.unique(train_d.labels)) <= {0, 1} and set(np.unique(held.labels)) <= {0, 1}
    else:
        assert len(train_d) + len(held) == len(drawings)
    full, mixed, val = finetune.load_sets(plan["data"], ft, seed=0)
    assert len(mixed) == ft["n_train"] == len(train_d) * ft["repeat"] + ft["mix_images"]
    share = len(train_d) * ft["repeat"] / len(mixed)
    assert 0.1 < share <= finetune.DRAWING_SHARE + 0.05


def test_settings_are_the_bases_with_smaller_steps_and_the_chosen_epochs(base, drawings):
    kind, name = base
    meta = store.load_meta(name)
    cfg = finetune.plan(name, drawings, epochs=3)["config"]
    mk = models.get_kind(kind)
    field = costs.epochs_field(kind)
    assert cfg[field] == 3
    assert cfg["lr"] == pytest.approx(meta["config"]["lr"] * finetune.LR_FACTOR)
    for k, v in meta["config"].items():  # the rest is the base's own, but for the kind's overrides
        if k not in (field, "lr") and k not in mk.finetune:
            assert cfg[k] == v, k
    with pytest.raises(models.ConfigError):
        finetune.plan(name, drawings, epochs=0)


# ---------------------------------------------------------------- the held-out drawings


def test_held_out_drawings_stay_held_out_when_more_are_saved():
    ids = np.arange(1, 401)
    first = finetune.heldout_mask(ids[:100])
    later = finetune.heldout_mask(ids)
    assert np.array_equal(later[:100], first)  # each drawing's fate depends on its id alone
    assert 0.18 < later.mean() < 0.32  # about a quarter
    assert np.array_equal(finetune.heldout_mask(ids[::-1]), later[::-1])  # not on the order either


def test_preview_says_what_plan_will_use_and_report_what_the_copy_measured(base, drawings):
    """finetune.preview (Inspect's form) agrees with finetune.plan on the counts and settings, for
    every kind; finetune.report (the before/after table) is the copy's meta, the change in points."""
    kind, name = base
    meta = store.load_meta(name)
    pv = finetune.preview(meta, drawings)
    plan = finetune.plan(name, drawings)
    assert (pv["train"], pv["heldout"]) == (plan["finetune"]["n_drawings"], plan["finetune"]["n_heldout"])
    assert pv["enough"] and pv["usable"] == pv["train"] + pv["heldout"]
    assert pv["epochs"] == plan["config"][pv["epochs_field"]]
    assert pv["epochs_field"] == ("iterations" if kind == "numpy-binary" else "epochs")
    lo, hi = pv["epochs_range"]
    assert lo <= pv["epochs"] <= hi
    nothing = finetune.preview(meta, None)
    assert (nothing["usable"], nothing["train"], nothing["heldout"], nothing["enough"]) == (0, 0, 0, False)
    assert finetune.report(meta) == []  # a base is not a copy
    copy = {"finetune": {"n_heldout": 9, "before": {"heldout_accuracy": 0.25, "test_accuracy": 0.9},
                         "after": {"heldout_accuracy": 0.75, "test_accuracy": None}}}
    held, test = finetune.report(copy)
    assert held == {"set": "heldout", "n": 9, "before": 0.25, "after": 0.75, "change": pytest.approx(50.0)}
    assert test["set"] == "test" and test["change"] is None  # one side not measured: no change to say


def test_too_few_drawings_is_a_clear_error_saying_how_many(home, base):
    kind, name = base
    images, labels = mirrored(6, seed=3)
    few = data.Dataset(images, labels, name="drawings", source="room", meta={"ids": list(range(1, 7))})
    with pytest.raises(finetune.FineTuneError) as e:
        finetune.plan(name, few)
    p = e.value.params
    assert e.value.code == "finetune.too_few_drawings" and p["need_train"] == finetune.MIN_TRAIN
    assert p["train"] + p["heldout"] <= 6
    from digitlab import texts
    assert str(finetune.MIN_TRAIN) in texts.error_text("es", e.value) and "dibujos" in texts.error_text("es", e.value)


def test_a_binary_base_uses_only_the_zeros_and_ones(home):
    images, labels = mirrored(200, seed=4)
    keep = labels >= 2  # no 0 and no 1 at all
    ds = data.Dataset(images[keep], labels[keep], name="drawings", source="room",
                      meta={"ids": list(range(1, int(keep.sum()) + 1))})
    final = jobs.run_job({"id": "b", "kind": "numpy-binary", "config": {"iterations": 5}, "data": "sample",
                          "name": "bin-nozero", "seed": 0, "test": None}, lambda e: None, lambda: False)
    with pytest.raises(finetune.FineTuneError) as e:
        finetune.plan(final["model"], ds)
    assert e.value.params["digits"] == "0, 1" and e.value.params["train"] == 0


# ---------------------------------------------------------------- what can go wrong between plan and run


def test_a_base_deleted_or_replaced_after_planning_is_the_jobs_clear_error(home, drawings):
    def new_base(name):
        return jobs.run_job({"id": name, "kind": "numpy-mlp", "config": {"epochs": 1}, "data": "sample", "name": name,
                             "seed": 0, "test": None}, lambda e: None, lambda: False)["model"]

    gone = new_base("base-gone")
    plan = finetune.plan(gone, drawings)
    store.delete(gone)
    with pytest.raises(finetune.FineTuneError) as e:
        run(plan, test=None)
    assert e.value.code == "finetune.base_gone"

    swapped = new_base("base-swapped")
    plan = finetune.plan(swapped, drawings)
    store.delete(swapped)
    import time
    time.sleep(0.01)  # "created" is a timestamp: the replacement's differs
    new_base("base-swapped")
    with pytest.raises(finetune.FineTuneError) as e:
        run(plan, test=None)
    assert e.value.code == "finetune.base_changed"
    assert not [n for n in store.names() if n.startswith("base-swapped-ft")]  # nothing saved


def test_stop_before_the_first_epoch_saves_nothing_and_keeps_the_base(home, drawings):
    name = jobs.run_job({"id": "s", "kind": "numpy-mlp", "config": {"epochs": 1}, "data": "sample", "name": "base-stop",
                         "seed": 0, "test": None}, lambda e: None, lambda: False)["model"]
    digest = folder_digest(name)
    final, _ = run(finetune.plan(name, drawings), stop=lambda: True, test=None)
    assert final == {"type": "stopped", "model": None, "metrics": {}}
    assert folder_digest(name) == digest and not [n for n in store.names() if n.startswith("base-stop-ft")]


# ---------------------------------------------------------------- it helps with the room's handwriting


def test_fine_tuning_on_mirrored_digits_reads_held_out_mirrored_digits_better(home):
    """The point of the feature, with a margin no BLAS kernel's rounding could close: a base that
    reads mirrored digits badly reads held-out ones far better after fine-tuning on 300 of them."""
    images, labels = mirrored(400, seed=7)
    ds = data.Dataset(images, labels, name="drawings", source="room", meta={"ids": list(range(1000, 1400))})
    name = jobs.run_job({"id": "m", "kind": "numpy-mlp", "config": {"epochs": 3}, "data": "sample", "name": "base-mirror",
                         "seed": 0, "test": None}, lambda e: None, lambda: False)["model"]
    final, _ = run(finetune.plan(name, ds), test=None)
    ft = store.load_meta(final["model"])["finetune"]
    assert ft["n_heldout"] >= 60
    assert ft["after"]["heldout_accuracy"] > ft["before"]["heldout_accuracy"] + 0.15, ft


def test_a_base_stored_without_its_settings_fine_tunes_in_its_own_shape(home, drawings):
    """A model saved by hand (a notebook, a benchmark) has no config in its meta: the defaults
    would say 128 hidden units; the copy takes the base's shape from its weights."""
    trained = models.get_kind("sklearn-mlp").train(models.config_for("sklearn-mlp", None, hidden=(24,), epochs=1),
                                                   data.load_sample().subset(np.arange(1500)))
    store.save("bare-sklearn", kind="sklearn-mlp", arrays=trained.arrays, spec=trained.spec)
    final, _ = run(finetune.plan("bare-sklearn", drawings, epochs=1), test=None)
    assert final["type"] == "done"
    assert store.read_folder(store.model_folder(final["model"]))[1]["coef0"].shape == (784, 24)


def test_the_class_page_and_inspect_score_a_copy_only_on_drawings_it_did_not_train_on(home, drawings):
    from digitlab import classroom, evaluation

    name = jobs.run_job({"id": "lb", "kind": "numpy-mlp", "config": {"epochs": 1}, "data": "sample", "name": "base-lb",
                         "seed": 0, "test": None}, lambda e: None, lambda: False)["model"]
    final, _ = run(finetune.plan(name, drawings), test=None)
    ft = store.load_meta(final["model"])["finetune"]
    assert sorted(ft["trained_ids"] + ft["heldout_ids"]) == sorted(drawings.meta["ids"])
    rows = {r["name"]: r for r in classroom.leaderboard(room=room.Room())}
    assert rows[name]["drawings_n"] == len(drawings)  # the base never saw them
    assert rows[final["model"]]["drawings_n"] == ft["n_heldout"]  # the copy: only the held-out ones
    copy_model = store.load(final["model"])
    unseen = evaluation.load_set("drawings", copy_model.meta, drawings)
    assert sorted(unseen.meta["ids"]) == sorted(ft["heldout_ids"])
    assert rows[final["model"]]["drawings_accuracy"] == pytest.approx(ft["after"]["heldout_accuracy"])
    assert len(evaluation.load_set("drawings", store.load(name).meta, drawings)) == len(drawings)


# ---------------------------------------------------------------- the CLI


def test_cli_finetune_on_the_rooms_drawings_and_on_a_file(home, drawings, tmp_path, capsys):
    name = jobs.run_job({"id": "c", "kind": "numpy-mlp", "config": {"epochs": 1}, "data": "sample", "name": "base-cli",
                         "seed": 0, "test": None}, lambda e: None, lambda: False)["model"]
    assert main(["finetune", "--model", name, "--json", "--quiet", "--test", ""]) == 0  # the room's drawings
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == "done" and out["finetune"]["base"] == name and out["finetune"]["n_drawings"] > 0
    assert out["finetune"]["after"]["test_accuracy"] is None  # --test "": none measured
    assert store.load_meta(out["model"])["finetune"] == out["finetune"]

    assert main(["finetune", "--model", name, "--owner", "ana", "--quiet", "--name", "cli-copy", "--epochs", "2"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("saved cli-copy (from base-cli, ") and "held-out drawings" in line
    meta = store.load_meta("cli-copy")
    assert meta["epochs"] == 2 and meta["finetune"]["owner"] == "ana"
    assert meta["finetune"]["n_drawings"] + meta["finetune"]["n_heldout"] == 60  # Ana's half of the room's 120

    images, labels = mirrored(60, seed=9)
    path = tmp_path / "scans.npz"
    data.save_npz(data.Dataset(images, labels, name="scans", source="file"), path)
    assert main(["finetune", "--model", name, "--drawings", str(path), "--json", "--quiet", "--test", ""]) == 0
    assert json.loads(capsys.readouterr().out)["finetune"]["n_heldout"] >= finetune.MIN_HELDOUT


def test_cli_finetune_errors_are_one_line_and_status_2(home, capsys, tmp_path):
    assert main(["finetune", "--model", "no-such-model", "--quiet"]) == 2
    assert "no model named 'no-such-model'" in capsys.readouterr().err
    name = "base-cli" if store.exists("base-cli") else jobs.run_job(
        {"id": "c", "kind": "numpy-mlp", "config": {"epochs": 1}, "data": "sample", "name": "base-cli", "seed": 0,
         "test": None}, lambda e: None, lambda: False)["model"]
    images, labels = mirrored(5, seed=9)
    path = tmp_path / "few.npz"
    data.save_npz(data.Dataset(images, labels, name="few", source="file"), path)
    assert main(["finetune", "--model", name, "--drawings", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: fine-tuning needs at least 10 drawings") and err.count("\n") == 1


# ---------------------------------------------------------------- through the Worker's trainer processes


@pytest.fixture(scope="module")
def worker(home):
    w = training.Worker(stop_grace=2.0, stop_timeout=8.0, trainers=1)
    yield w
    w.shutdown()


def test_a_fine_tuning_job_runs_in_the_trainer_process_as_an_ordinary_job(worker, home, drawings):
    name = jobs.run_job({"id": "w", "kind": "sklearn-mlp", "config": {"epochs": 1}, "data": "sample",
                         "name": "base-worker", "seed": 0, "test": None}, lambda e: None, lambda: False)["model"]
    jid = finetune.submit(worker, name, drawings, owner="Ana", drawings_of=None, test=None)
    st = worker.status(jid)
    assert st["finetune"]["base"] == name and st["finetune"]["n_heldout"] >= finetune.MIN_HELDOUT
    assert st["estimate_s"] > 0 and st["owner"] == "Ana"
    done = worker.wait(jid, 120)
    assert done["state"] == "done", done
    meta = store.load_meta(done["model"])
    assert meta["owner"] == "Ana" and meta["finetune"]["base"] == name  # the participant owns the copy
    assert [e["epoch"] for e in done["epochs"]] == list(range(1, models.get_kind("sklearn-mlp").finetune["epochs"] + 1))


def test_the_rooms_rules_apply_to_fine_tuning(worker, home, drawings, monkeypatch):
    monkeypatch.setenv("DIGITLAB_WORKSHOP", "1")
    name = "base-worker" if store.exists("base-worker") else jobs.run_job(
        {"id": "w", "kind": "sklearn-mlp", "config": {"epochs": 1}, "data": "sample", "name": "base-worker", "seed": 0,
         "test": None}, lambda e: None, lambda: False)["model"]
    monkeypatch.setenv("DIGITLAB_JOB_BUDGET_S", "1")
    with pytest.raises(costs.OverBudgetError):  # the budget, on the fine-tuning's own size
        finetune.submit(worker, name, drawings, owner="Ben", drawings_of="Ben", epochs=200, test=None)
    monkeypatch.setenv("DIGITLAB_JOB_BUDGET_S", "600")
    other = worker.submit("numpy-mlp", {"epochs": 1}, owner="Ben", _hook="sleep:30")
    try:
        with pytest.raises(training.OneJobEachError):  # one job each, fine-tuning or not
            finetune.submit(worker, name, drawings, owner="ben", test=None)
    finally:
        worker.stop(other, instructor=True)
        worker.wait(other, 30)
