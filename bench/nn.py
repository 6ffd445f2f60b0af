"""NumPy networks vs Keras, side by side: ``python -m bench.nn [--quick]``.

Prints one JSON object: training throughput (samples/s) of the NumPy and Keras MLP
(784-128-10) and the tutorial CNN on the same data, batch 128, Adam; their ratios; the
float32 GEMM peak and the GFLOP/s each NumPy model achieves; and the accuracy on the
official MNIST test set of each model after its standard recipe
(``digitlab.nn.RECIPES``) on the 10k sample. ``cnn_ratio_paired`` / ``mlp_ratio_paired``: the
ratios measured again in alternating blocks (median and quartiles of the per-pair ratios), which
a shared machine's changing load disturbs less than ``cnn_ratio`` / ``mlp_ratio`` (ratios of best
epochs measured minutes apart). A block is 39 steps for the CNN and a whole 10k epoch (78 steps)
for the MLP: Keras spends ~32-35 ms starting each epoch (measured: 5-step epochs 45-55 ms,
78-step epochs 230 ms), which would favour NumPy in short blocks (+4% with 10-step CNN blocks).
--quick: fewer samples/epochs, and the
accuracies come from shortened recipes (flagged by "quick": true).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from digitlab import evaluation, tutorial_binary
from digitlab.data import binary_subset, load_idx, load_sample, to_float
from digitlab.nn import RECIPES, Adam, blas, mlp, tutorial_cnn, train_recipe

TEST_IMAGES = evaluation.test_data_dir() / "t10k-images-idx3-ubyte.gz"  # $DIGITLAB_TEST_DATA
BATCH = 128


def gemm_peak(threads: int, n: int = 2048, reps: int = 5) -> float:
    rng = np.random.default_rng(0)
    A, B = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    with threadpool_limits(threads, user_api="blas"):
        A @ B
        best = min(_time(lambda: A @ B) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _time(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def keras_models():
    import keras
    L = keras.layers
    m = keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(128, activation="relu"),
                          L.Dense(10, activation="softmax")])
    c = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                          L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Dropout(0.25),
                          L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5),
                          L.Dense(10, activation="softmax")])
    for k in (m, c):
        k.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return m, c


def side_by_side(model, kmodel, X, y, rounds: int) -> dict:
    """Training samples/s of the NumPy model and the Keras model (Adam, batch 128),
    one epoch of each in turn, ``rounds`` times after a warm-up epoch of each; the best
    epoch of each counts (the box is shared: the best is the least disturbed). Also
    samples per CPU-second (all threads of the process), a figure that a busy box
    disturbs less: under contention, the process with more threads gets more CPU."""
    import keras

    k_wall: list[float] = []
    k_cpu: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t, self.c = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            k_wall.append(time.perf_counter() - self.t)
            k_cpu.append(time.process_time() - self.c)

    opt, n_wall, n_cpu = Adam(1e-3), [], []
    for r in range(rounds + 1):
        c = time.process_time()
        model.fit(X, y, epochs=1, batch_size=BATCH, optimizer=opt, seed=r,
                  callback=lambda e: n_wall.append(e["seconds"]) if e["type"] == "epoch" else None)
        n_cpu.append(time.process_time() - c)
        kmodel.fit(X, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[Timer()])
    n = len(X)
    return {"numpy": n / min(n_wall[1:]), "keras": n / min(k_wall[1:]),
            "numpy_cpu": n / min(n_cpu[1:]), "keras_cpu": n / min(k_cpu[1:])}


def paired_blocks(model, kmodel, X, y, pairs: int, steps: int = 10) -> dict:
    """Training samples/s of the NumPy and the Keras model measured in alternating short blocks
    (``steps`` batches of 128 each, the same images), ``pairs`` times; the order within a pair
    flips every time. Each pair gives one ratio NumPy/Keras from two blocks a few seconds
    apart, so a change in the machine's load hits both sides of a pair alike: the median and
    quartiles of these ratios are steadier than a ratio of two independent best epochs.
    Both sides time only their training loop: NumPy ``fit``'s epoch, Keras' epoch callbacks."""
    import keras

    k_wall: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            k_wall.append(time.perf_counter() - self.t)

    n = steps * BATCH
    Xb, yb = X[:n], y[:n]
    opt, n_wall = Adam(1e-3), []

    def numpy_block(seed):
        model.fit(Xb, yb, epochs=1, batch_size=BATCH, optimizer=opt, seed=seed,
                  callback=lambda e: n_wall.append(e["seconds"]) if e["type"] == "epoch" else None)

    def keras_block():
        kmodel.fit(Xb, yb, batch_size=BATCH, epochs=1, verbose=0, callbacks=[Timer()])

    numpy_block(0)
    keras_block()  # warm-up of both
    ratios = []
    for p in range(pairs):
        if p % 2:
            keras_block()
            numpy_block(p + 1)
        else:
            numpy_block(p + 1)
            keras_block()
        ratios.append(k_wall[-1] / n_wall[-1])  # (n / numpy time) / (n / keras time)
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return {"median": round(float(med), 3), "q1": round(float(q1), 3), "q3": round(float(q3), 3),
            "min": round(min(ratios), 3), "max": round(max(ratios), 3), "pairs": pairs, "steps_per_block": steps,
            "numpy_samples_per_s_median": round(n / float(np.median(n_wall[1:]))),
            "keras_samples_per_s_median": round(n / float(np.median(k_wall[1:])))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (~1-2 min)")
    ap.add_argument("--no-accuracy", action="store_true", help="skip the standard trainings")
    ap.add_argument("--workers", type=int, default=None, help="force the NumPy models' worker threads")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    q = args.quick
    ds = load_sample()
    X, y = to_float(ds.images)[..., None], ds.labels
    n_mlp, n_cnn = (len(X), 1024) if q else (len(X), 2048)
    out: dict = {"quick": q, "batch_size": BATCH, "cpu_count": os.cpu_count(),
                 "load_avg_start": round(os.getloadavg()[0], 2)}

    m, c = mlp(seed=0), tutorial_cnn(seed=0)
    m.workers = c.workers = args.workers
    out["numpy_worker_threads"] = {"mlp": m.workers_used(), "cnn": c.workers_used()}
    peaks = {t: gemm_peak(t) for t in (1, 2)}

    # -------- throughput, side by side on the same data
    km, kc = keras_models()
    cpu = {}
    for name, a, b, nn, rounds in (("mlp", m, km, n_mlp, 3 if q else 5), ("cnn", c, kc, n_cnn, 2 if q else 3)):
        r = side_by_side(a, b, X[:nn], y[:nn], rounds)
        out[f"numpy_{name}_samples_per_s"], out[f"keras_{name}_samples_per_s"] = round(r["numpy"]), round(r["keras"])
        cpu[name] = {"numpy": round(r["numpy_cpu"]), "keras": round(r["keras_cpu"]),
                     "ratio": round(r["numpy_cpu"] / r["keras_cpu"], 2)}
    peaks = {t: max(p, gemm_peak(t)) for t, p in peaks.items()}  # best of before and after
    out["gemm_peak_gflops_by_threads"] = {t: round(p, 1) for t, p in peaks.items()}
    # BLAS threads: fit measures 1 against 2 for the MLP (BlasTuner); the count most of the
    # last epoch's batches ran with decides which peak is the MLP's
    threads = {k: max(v.last_fit_threads, key=v.last_fit_threads.get) for k, v in (("mlp", m), ("cnn", c))}
    out["numpy_blas_threads"] = threads
    out["numpy_mlp_batches_by_blas_threads"] = m.last_fit_threads
    # the peak of the cores each model uses (BLAS threads x worker threads)
    cores = {"mlp": min(2, threads["mlp"] * m.workers_used()), "cnn": min(2, threads["cnn"] * c.workers_used())}
    out["gemm_peak_gflops"] = round(peaks[cores["mlp"]], 1)
    out["cores_used"] = cores
    out["mlp_ratio"] = round(out["numpy_mlp_samples_per_s"] / out["keras_mlp_samples_per_s"], 2)
    out["cnn_ratio"] = round(out["numpy_cnn_samples_per_s"] / out["keras_cnn_samples_per_s"], 2)
    out["samples_per_cpu_second"] = cpu
    # the CNN ratio again, from alternating short blocks (steadier on a shared machine)
    out["cnn_ratio_paired"] = paired_blocks(c, kc, X, y, pairs=6 if q else 12, steps=39)
    out["mlp_ratio_paired"] = paired_blocks(m, km, X, y, pairs=8 if q else 20, steps=len(X) // BATCH)
    out["numpy_mlp_gflops"] = round(m.flops_per_sample() * out["numpy_mlp_samples_per_s"] / 1e9, 1)
    out["numpy_cnn_gflops"] = round(c.flops_per_sample() * out["numpy_cnn_samples_per_s"] / 1e9, 1)
    out["mlp_peak_fraction"] = round(out["numpy_mlp_gflops"] / peaks[cores["mlp"]], 2)
    out["cnn_peak_fraction"] = round(out["numpy_cnn_gflops"] / peaks[cores["cnn"]], 2)

    # -------- accuracy on the official test set after the standard recipes
    if not args.no_accuracy and TEST_IMAGES.is_file():
        te = load_idx(TEST_IMAGES)
        Xt = to_float(te.images)[..., None]
        t = time.perf_counter()
        tr01, te01 = binary_subset(ds), binary_subset(te)
        params, _ = tutorial_binary.train_binary(tr01.images, tr01.labels, **RECIPES["binary"])
        out["acc_binary"] = round(float(np.mean((tutorial_binary.predict_proba_binary(params, te01.images) > 0.5)
                                                == te01.labels)), 4)
        out["seconds_binary"] = round(time.perf_counter() - t, 1)
        for kind in ("mlp", "cnn"):
            t = time.perf_counter()
            epochs = (5 if kind == "mlp" else 1) if q else None
            model, _ = train_recipe(kind, X, y, seed=0, epochs=epochs)
            out[f"acc_{kind}"] = round(model.evaluate(Xt, te.labels)[1], 4)
            out[f"seconds_{kind}"] = round(time.perf_counter() - t, 1)
        out["recipes"] = {k: (v["fit"]["epochs"] if "fit" in v else v["iterations"]) for k, v in RECIPES.items()}
    out["load_avg_end"] = round(os.getloadavg()[0], 2)
    out["blas"] = blas.kernel_info()  # the kernel that ran (OPENBLAS_CORETYPE may force one)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    sys.exit(main() and 0)
