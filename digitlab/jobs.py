"""One training job, from its description to a saved model: load, train, evaluate, save.

:func:`run_job` is what the trainer process (:mod:`digitlab.training`) runs for every job,
and what the CLI's ``train`` and the tests call directly in their own process. It is
:func:`train_job` (load, train, evaluate: a final event and a payload, nothing saved), then
:func:`save`; a Dask worker runs :func:`train_job` alone and the server saves the payload
(:mod:`digitlab.engine_dask`). A job is a
plain dict (it crosses a process boundary)::

    {"id", "kind", "preset", "config": {...}, "data": "sample", "name": None or "my-mlp",
     "seed": 0, "test": data spec of a labelled test set or None, "owner": participant or None,
     "finetune": None or what digitlab.finetune.plan made (train on from a stored model)}

``emit(event)`` receives the job's events (``phase``, ``batch``, ``epoch``; see
:mod:`digitlab.training` for their fields) and ``should_stop()`` is polled by the trainers.
The return value is the final event: ``{"type": "done" | "stopped", "model", "metrics"}``.
See docs/architecture.md, "Training jobs and the trainer process".
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import data, finetune, models, store
from .evaluation import evaluate

GENERATED_NAME_TRIES = 5  # a generated name taken meanwhile by another trainer's save: try the next
TRAIN_ACCURACY_SAMPLE = 2000  # training accuracy is measured on the first 2,000 training images


@dataclass
class Split:
    """The job's data: the whole dataset, and the training / validation parts of it."""

    full: data.Dataset
    train: data.Dataset
    val: data.Dataset


def run_job(job: dict, emit, should_stop) -> dict:
    """Train one job and save the model; returns the final event (done/stopped)."""
    final, payload = train_job(job, emit, should_stop)
    if payload is None:
        return final
    emit({"type": "phase", "phase": "saving"})
    return {**final, "model": save(job, payload)}


def train_job(job: dict, emit, should_stop) -> tuple[dict, dict | None]:
    """Train and evaluate one job without saving it: ``(final event, payload)``.

    The final event's ``model`` is None (nothing is saved yet). The payload is what
    :func:`save` stores, ``{"kind", "arrays", "spec", "meta", "keras_model"}`` (``keras_model``:
    the trained Keras model for keras-cnn, else None), or None when nothing was learnt (stopped
    before the first epoch). :func:`run_job` saves it in this process; a Dask worker sends it
    back to the server instead (:func:`portable` turns its Keras model into bytes)."""
    kind, seed = job["kind"], int(job.get("seed", 0))
    cfg = models.config_from_dict(kind, job.get("config"), job.get("preset"))  # ConfigError on bad input
    emit({"type": "phase", "phase": "loading data"})
    ft = job.get("finetune")
    base = finetune.load_base(ft, kind) if ft else None  # a fine-tuning job starts from a stored model
    split = Split(*finetune.load_sets(job["data"], ft, seed)) if ft else load_split(job.get("data") or "sample", cfg, seed)
    trained, epochs_seen, seconds = train(kind, cfg, split, seed, emit, should_stop, base)
    stopped = trained.stopped or should_stop()
    if stopped and not epochs_seen:  # stopped before anything was learnt: nothing to keep
        return {"type": "stopped", "model": None, "metrics": {}}, None
    emit({"type": "phase", "phase": "evaluating"})
    metrics = measure(models.build_predictor(kind, trained.spec, trained.arrays), split, job.get("test"))
    meta = describe(job, cfg, split, trained, epochs_seen, metrics, seconds, stopped)
    if ft:
        meta["finetune"] = finetune.before_after(ft, base, split.val, metrics, job.get("test"))
    payload = {"kind": kind, "arrays": trained.arrays, "spec": trained.spec, "meta": meta,
               "keras_model": trained.keras_model}
    return {"type": "stopped" if stopped else "done", "model": None, "metrics": metrics}, payload


# ---------------------------------------------------------------- the four steps


def load_split(spec: str, cfg, seed: int) -> Split:
    """Load the dataset ``spec`` and split it (stratified, ``cfg.val_fraction``); ``cfg.max_train``
    caps the training part. A dataset without labels is a :class:`digitlab.data.DataError`."""
    ds = data.load(spec)
    if not ds.has_labels:
        raise data.DataError(f"{ds.name} has no labels; training needs a labelled dataset")
    train_ds, val_ds = data.stratified_split(ds, cfg.val_fraction, seed)
    if cfg.max_train and cfg.max_train < len(train_ds):
        train_ds = train_ds.subset(np.arange(cfg.max_train))
    return Split(ds, train_ds, val_ds)


def train(kind: str, cfg, split: Split, seed: int, emit, should_stop, base=None):
    """Run the kind's trainer (or, from a ``base`` model, its finetuner) with its BLAS thread
    count; returns (Trained, epoch events, seconds)."""
    mk = models.get_kind(kind)
    if mk.uses_tensorflow and "tensorflow" not in sys.modules:
        emit({"type": "phase", "phase": "importing TensorFlow"})  # 6-10 s, once per trainer process
    if base is None:
        trainer = mk.trainer()  # imports the kind's trainer module (TensorFlow for keras-cnn)
    else:
        trainer = functools.partial(mk.finetuner(), base=base)
    emit({"type": "phase", "phase": "training"})
    epochs_seen: list[dict] = []

    def forward(ev):
        if ev.get("type") == "epoch":
            epochs_seen.append(ev)
        emit(ev)

    t0 = time.perf_counter()
    with threadpool_limits(limits=mk.blas_threads):
        trained = trainer(cfg, split.train, split.val, seed=seed, callback=forward, should_stop=should_stop)
    return trained, epochs_seen, time.perf_counter() - t0


def measure(predictor, split: Split, test_spec) -> dict:
    """Validation and training accuracy, and the test set's when the job names one."""
    sample = split.train.subset(np.arange(min(len(split.train), TRAIN_ACCURACY_SAMPLE)))
    metrics = {"val_accuracy": evaluate(predictor, split.val)["accuracy"],
               "train_accuracy": evaluate(predictor, sample)["accuracy"]}
    if test_spec:
        try:
            test = data.load(str(test_spec))
        except data.DataError as e:  # a missing test set costs the metric, not the model
            metrics["test_error"] = str(e)
            return metrics
        if test.has_labels:
            metrics["test_accuracy"] = evaluate(predictor, test)["accuracy"]
            metrics["test_data"] = test.name
    return metrics


def describe(job: dict, cfg, split: Split, trained, epochs_seen: list, metrics: dict, seconds: float,
             stopped: bool) -> dict:
    """The stored model's ``meta``: how it was trained and what it reached."""
    return {
        "config": models.config_dict(cfg), "preset": job.get("preset"),
        "dataset": {"spec": job.get("data") or "sample", "name": split.full.name, "n_train": len(split.train),
                    "n_val": len(split.val)},
        "seed": int(job.get("seed", 0)), "epochs": int(epochs_seen[-1].get("epoch") or len(epochs_seen)),
        "metrics": metrics, "curves": curves(trained.history, epochs_seen), "train_seconds": round(seconds, 2),
        "stopped": bool(stopped), "job": job.get("id"), "owner": job.get("owner"),
    }


def save(job: dict, payload: dict) -> str:
    """Save a :func:`train_job` payload in the store; returns the model's name. A chosen name
    is used as given (:func:`digitlab.store.save` refuses a taken one); only a generated name
    gets a suffix. Keras's own file comes from the payload's ``keras_model`` (saved here) or
    its ``keras_bytes`` (a :func:`portable` payload, from a process that has Keras)."""
    kind = payload["kind"]
    hint = (job.get("finetune") or {}).get("name_hint")  # a fine-tuned copy: "<base>-ft"
    generate = lambda: store.unique_name(hint or f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")  # noqa: E731
    name = job.get("name") or generate()
    tmpdir, files = None, None
    model, blob = payload.get("keras_model"), payload.get("keras_bytes")
    if model is not None or blob is not None:  # keras-cnn also keeps Keras's own file beside the NumPy arrays
        tmpdir = store.models_dir() / f".tmp-keras-{uuid.uuid4().hex[:8]}"
        tmpdir.mkdir()
        if model is not None:
            model.save(tmpdir / "model.keras")
        else:
            (tmpdir / "model.keras").write_bytes(blob)
        files = {"keras": tmpdir / "model.keras"}
    try:
        for attempt in range(GENERATED_NAME_TRIES):
            try:
                store.save(name, kind=kind, arrays=payload["arrays"], spec=payload["spec"], meta=payload["meta"],
                           files=files)
                break
            except store.ModelExistsError:
                if job.get("name") or attempt == GENERATED_NAME_TRIES - 1:
                    raise  # a chosen name stays as chosen
                # two trainers finishing jobs of one kind in the same second generated the same free
                # name; the other save took it first: the next free one
                name = generate()
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return name


def portable(payload: dict | None) -> dict | None:
    """The payload with its Keras model replaced by the bytes of its ``.keras`` file
    (``keras_bytes``), so that it can go to a process without TensorFlow: a Dask worker saves
    the model to a temporary file and reads it back; the server writes the bytes into its
    store (:func:`save`)."""
    if payload is None or payload.get("keras_model") is None:
        return payload
    with tempfile.TemporaryDirectory(prefix="digitlab-keras-") as d:
        path = os.path.join(d, "model.keras")
        payload["keras_model"].save(path)
        with open(path, "rb") as f:
            blob = f.read()
    return {**payload, "keras_model": None, "keras_bytes": blob}


def curves(history: dict, epochs_seen: list) -> dict:
    """The learning curves to store: from the epoch events when there were any, else the trainer's history."""
    keys = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")
    if epochs_seen:
        return {"epoch": [e.get("epoch") for e in epochs_seen], **{k: [e.get(k) for e in epochs_seen] for k in keys}}
    return {k: list(history.get(k, [])) for k in keys}
