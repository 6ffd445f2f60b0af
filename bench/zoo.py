"""Targets benchmark: train model kinds on the 10k sample, test on the official MNIST test set.

    python bench/zoo.py                      # the two targets (keras-cnn augmented, sklearn-mlp working)
    python bench/zoo.py --all                # every kind and preset of interest
    python bench/zoo.py --only keras-cnn:augmented,numpy-mlp:wide [--json] [--out results.json]
    python bench/zoo.py --defaults           # the default-models job, through the worker process

Targets (issue 4): keras-cnn with augmentation >= 99.0% in <= 180 s of training on this
machine; sklearn-mlp (working preset) >= 96%. The official test set is
``$DIGITLAB_TEST_DATA`` (default ``../shared/data`` beside the repository); the benchmark needs it. Models go to a
temporary store unless ``--home`` is given. Not a test: it takes minutes.

Measured 2026-11-28 (2 shared cores, AVX512-BF16, other jobs running at times):
  keras-cnn augmented (30 epochs, bfloat16): 99.14% in 123 s via the worker (--defaults);
      single runs of the preset family 98.77-99.14% (run-to-run noise ~0.15%; median ~99.05%);
      float32 is ~2x slower per epoch
  sklearn-mlp working: 96.91% in 25 s;  tutorial preset: 20.4%
  numpy-mlp wide (default-mlp): 96.95% in ~5 s;  numpy-binary fixed: 100% of 0/1 test digits, tutorial: 90.7%
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# (kind, preset, overrides, target test accuracy or None, max train seconds or None)
TARGETS = [
    ("keras-cnn", "augmented", {}, 0.990, 180.0),
    ("sklearn-mlp", "working", {}, 0.960, None),
]
OTHERS = [
    ("numpy-binary", "tutorial", {}, None, None),
    ("numpy-binary", "fixed", {}, None, None),
    ("sklearn-mlp", "tutorial", {}, None, None),
    ("numpy-mlp", "wide", {}, None, None),
    ("keras-cnn", "tutorial", {}, None, None),
    ("keras-cnn", "adam", {}, None, None),
    ("numpy-cnn", "default", {}, None, None),
]


def run_one(kind, preset, over, test) -> dict:
    from digitlab import store, training

    epochs = []
    t0 = time.perf_counter()
    job = {"id": f"bench-{kind}-{preset}", "kind": kind, "preset": preset, "config": over, "data": "sample",
           "name": f"bench-{kind}-{preset}", "seed": 0, "test": test}
    final = training.run_job(job, lambda ev: epochs.append(ev) if ev.get("type") == "epoch" else None, lambda: False)
    wall = time.perf_counter() - t0
    meta = store.load_meta(final["model"])
    return {"kind": kind, "preset": preset, "overrides": over, "test_accuracy": final["metrics"].get("test_accuracy"),
            "val_accuracy": final["metrics"].get("val_accuracy"), "train_seconds": meta["train_seconds"],
            "wall_seconds": round(wall, 1), "epochs": meta["epochs"], "n_train": meta["dataset"]["n_train"],
            "model": final["model"]}


def run_defaults(test) -> list[dict]:
    from digitlab import store, training

    w = training.Worker()
    try:
        t0 = time.perf_counter()
        ids = w.ensure_defaults(test=test)
        out = []
        for jid in ids:
            st = w.wait(jid)
            m = store.load_meta(st["model"]) if st["model"] else {}
            out.append({"name": st["name"], "kind": st["kind"], "state": st["state"], "error": st["error"],
                        "test_accuracy": (st["metrics"] or {}).get("test_accuracy"),
                        "val_accuracy": (st["metrics"] or {}).get("val_accuracy"),
                        "train_seconds": m.get("train_seconds"), "ready_after_s": round(time.perf_counter() - t0, 1)})
        return out
    finally:
        w.shutdown()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="also the other kinds and presets")
    ap.add_argument("--only", default=None, help="comma-separated KIND:PRESET")
    ap.add_argument("--defaults", action="store_true", help="run the default-models job through the worker")
    ap.add_argument("--home", default=None, help="model store to write to (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)

    os.environ["DIGITLAB_HOME"] = args.home or tempfile.mkdtemp(prefix="digitlab-zoo-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from digitlab import evaluation

    test = evaluation.official_test_path()
    if test is None:
        print(f"error: the official MNIST test set is not in {evaluation.test_data_dir()} (set DIGITLAB_TEST_DATA)", file=sys.stderr)
        return 2
    results = {"home": os.environ["DIGITLAB_HOME"], "test": str(test), "cpus": os.cpu_count(),
               "load_avg_start": os.getloadavg()[0]}
    if args.defaults:
        results["defaults"] = run_defaults(str(test))
    else:
        cases = TARGETS + (OTHERS if args.all else [])
        if args.only:
            want = [tuple(s.split(":", 1)) for s in args.only.split(",")]
            known = {(k, p): (k, p, o, t, s) for k, p, o, t, s in TARGETS + OTHERS}
            cases = [known.get((k, p), (k, p, {}, None, None)) for k, p in want]
        rows = []
        for kind, preset, over, target, max_s in cases:
            r = run_one(kind, preset, over, str(test))
            r["target"], r["max_train_seconds"] = target, max_s
            r["meets_target"] = None if target is None else bool(
                r["test_accuracy"] >= target and (max_s is None or r["train_seconds"] <= max_s))
            rows.append(r)
            if not args.json:
                print(f"{kind:13s} {preset:12s} test {r['test_accuracy']:.4f}  val {r['val_accuracy']:.4f}  "
                      f"train {r['train_seconds']:7.1f} s  epochs {r['epochs']:3d}"
                      + ("" if target is None else f"  target {target:.3f}: {'OK' if r['meets_target'] else 'MISSED'}"),
                      flush=True)
        results["runs"] = rows
    results["load_avg_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(results))
    elif args.defaults:
        for r in results["defaults"]:
            print(r)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
