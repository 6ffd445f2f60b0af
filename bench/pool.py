"""The trainer pool measured: how many trainers, at what priority, and what a workshop job costs.

    python -m bench.pool [--kinds numpy-mlp,keras-cnn] [--skip-presets] [--skip-throughput] [--skip-latency] > pool.json

Prints one JSON object (progress on stderr), in three parts (issue 16 items 1-2):

* ``presets``: each kind's ``workshop`` preset alone on one warm trainer (TensorFlow imported
  first), on the bundled sample, tested on the official MNIST test set: ``wall_s`` (the trainer's
  ``started`` to ``done``), ``train_seconds``, ``rate`` = train_seconds / (training images x
  epochs) and ``overhead_s`` = wall - train_seconds (what digitlab/costs.py's tables hold), and
  ``test_accuracy``.
* ``throughput``: per kind, two workshop jobs on one trainer (one after the other) against two
  trainers (side by side): seconds until both are done, and ``speedup`` = one / two. ``room``:
  one job of every kind (a room's mix), likewise.
* ``latency``: what drawing costs in the server meanwhile: one digit predicted by a 784-256-10
  MLP and the Keras CNN's shape (NumPy, as the Draw page does) every 20 ms, and a burst of 64
  digits (tens of ms, like a whole page run) every 100 ms, for ``--window`` s in all, idle and
  while two trainers run NumPy CNN jobs, at nice 0 and at nice 10; median, p90, p99 ms.

Each part uses its own ``training.Worker`` on a ``LocalPool`` in a temporary ``DIGITLAB_HOME``.
Takes about 10 minutes on 2 cores. ``blas``: the BLAS that ran (``digitlab.nn.blas.kernel_info``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

KINDS = ("numpy-binary", "numpy-mlp", "numpy-cnn", "sklearn-mlp", "keras-cnn")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


_names = iter(range(1, 10**6))


def name() -> str:
    """A name of its own for every job: two trainers saving generated names of one kind in the same
    second collide (digitlab.jobs.save), which is not what this measures."""
    return f"bench-{next(_names)}"


def worker(trainers: int, nice: int | None = None):
    from digitlab import engine_local, training

    kw = {} if nice is None else {"nice": nice}
    return training.Worker(engine=engine_local.LocalPool(trainers, **kw))


def warm_keras(w, trainers: int):
    """Import TensorFlow in every trainer (a day's pool does it once), with tiny Keras jobs side by side."""
    ids = [w.submit("keras-cnn", {"epochs": 1, "max_train": 200}, preset="adam", name=name())
           for _ in range(trainers)]
    for i in ids:
        assert w.wait(i, 300)["state"] == "done", w.status(i)


def job_times(w, jid) -> dict:
    evs = w.events(jid)
    started = next(e["t"] for e in evs if e["type"] == "started")
    final = evs[-1]
    return {"wall_s": round(final["t"] - started, 2), "train_seconds": final.get("train_seconds"),
            "pid": next(e.get("pid") for e in evs if e["type"] == "started"), "end": final["t"], "start": started}


def presets(kinds, test) -> dict:
    from digitlab import costs, models

    w = worker(1)
    out = {}
    try:
        if "keras-cnn" in kinds:
            warm_keras(w, 1)
        for kind in kinds:
            jid = w.submit(kind, None, preset="workshop", test=test, name=name())
            st = w.wait(jid, 600)
            assert st["state"] == "done", st
            t = job_times(w, jid)
            cfg = models.config_for(kind, "workshop")
            n = costs.train_images(kind, cfg, costs.SAMPLE_IMAGES)
            epochs = getattr(cfg, costs.epochs_field(kind))
            out[kind] = {"wall_s": t["wall_s"], "train_seconds": t["train_seconds"], "n_train": n, "epochs": epochs,
                         "rate": t["train_seconds"] / (n * epochs * costs.work(kind, cfg)),
                         "overhead_s": round(t["wall_s"] - t["train_seconds"], 2),
                         "test_accuracy": (st["metrics"] or {}).get("test_accuracy"),
                         "val_accuracy": (st["metrics"] or {}).get("val_accuracy")}
            log(kind, out[kind])
    finally:
        w.shutdown()
    return out


def batch_seconds(trainers: int, jobs: list[str]) -> dict:
    """Seconds from submitting ``jobs`` (kinds, workshop preset) until all are done, on ``trainers``."""
    w = worker(trainers)
    try:
        if "keras-cnn" in jobs:
            warm_keras(w, trainers)
        t0 = time.time()
        ids = [w.submit(k, None, preset="workshop", name=name()) for k in jobs]
        for i in ids:
            assert w.wait(i, 900)["state"] == "done", w.status(i)
        times = [job_times(w, i) for i in ids]
        return {"seconds": round(max(t["end"] for t in times) - t0, 2), "job_wall_s": [t["wall_s"] for t in times],
                "pids": sorted({t["pid"] for t in times})}
    finally:
        w.shutdown()


def throughput(kinds) -> dict:
    out = {}
    for kind in kinds:
        one, two = batch_seconds(1, [kind, kind]), batch_seconds(2, [kind, kind])
        out[kind] = {"one_trainer": one, "two_trainers": two, "speedup": round(one["seconds"] / two["seconds"], 2)}
        log(kind, out[kind])
    one, two = batch_seconds(1, list(kinds)), batch_seconds(2, list(kinds))
    out["room"] = {"jobs": list(kinds), "one_trainer": one, "two_trainers": two,
                   "speedup": round(one["seconds"] / two["seconds"], 2)}
    log("room", out["room"])
    return out


def predict_ms(models_, window: float, images: int = 1, pause: float = 0.02) -> dict:
    """Milliseconds to predict ``images`` digits with every model, every ``pause`` s for ``window`` s.
    One image is the Draw page's predictions (~1.5 ms); 64 images are a burst as long as a whole
    Draw page run's CPU time (tens of ms), where the scheduler's share between processes shows."""
    from digitlab import data

    img = data.load_sample().images[:images]
    for m in models_:
        m.predict_proba(img)
    t, end = [], time.monotonic() + window
    while time.monotonic() < end:
        t0 = time.perf_counter()
        for m in models_:
            m.predict_proba(img)
        t.append(1000 * (time.perf_counter() - t0))
        time.sleep(pause)
    return {"n": len(t), "median_ms": round(float(np.median(t)), 3), "p90_ms": round(float(np.percentile(t, 90)), 3),
            "p99_ms": round(float(np.percentile(t, 99)), 3)}


def probes(models_, window: float) -> dict:
    return {"one_digit": predict_ms(models_, window / 2), "burst_64": predict_ms(models_, window / 2, 64, 0.1)}


def latency(window: float) -> dict:
    from bench.inference import _stand_ins
    from digitlab import store

    loaded = [store.load(n) for n in _stand_ins()]  # the default models' shapes
    out = {"idle": probes(loaded, window)}
    log("idle", out["idle"])
    for nice in (0, 10):
        w = worker(2, nice)
        try:
            ids = [w.submit("numpy-cnn", {"epochs": 50}, preset="workshop", name=name()) for _ in range(2)]
            deadline = time.time() + 120
            while not all(w.status(i)["batches"] for i in ids) and time.time() < deadline:
                time.sleep(0.1)
            out[f"two_cnn_trainers_nice_{nice}"] = probes(loaded, window)
            log(nice, out[f"two_cnn_trainers_nice_{nice}"])
            for i in ids:
                w.stop(i)
        finally:
            w.shutdown()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--window", type=float, default=10.0, help="seconds of drawing measured per case")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-presets", action="store_true")
    args = ap.parse_args(argv)
    os.environ["DIGITLAB_HOME"] = tempfile.mkdtemp(prefix="digitlab-bench-pool-")
    os.environ["DIGITLAB_NO_DEFAULTS"] = "1"
    from digitlab.evaluation import official_test_path
    from digitlab.nn import blas

    kinds = [k for k in args.kinds.split(",") if k]
    test = official_test_path()
    out = {"cores": os.cpu_count(), "test_data": str(test) if test else None, "blas": blas.kernel_info()}
    t0 = time.time()
    if not args.skip_presets:
        out["presets"] = presets(kinds, str(test) if test else None)
    if not args.skip_throughput:
        out["throughput"] = throughput(kinds)
    if not args.skip_latency:
        out["latency"] = latency(args.window)
    out["bench_seconds"] = round(time.time() - t0, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
