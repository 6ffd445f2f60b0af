"""Fine-tuning on a room's handwriting (issue 17 item 4), measured: ``python -m bench.finetune``.

What a room gets from "Fine-tune a copy": for each kind, a base trained with its ``workshop``
preset on the bundled sample, fine-tuned (``digitlab.finetune``, the job code the trainers run)
on n "drawings" in a room style, for n in ``--drawings`` (40 100 200). The style stands in for
mouse- and finger-drawn digits: sample digits turned into solid strokes, thickened by 2 px,
slanted 15 degrees and put back through the Draw page's MNIST preprocessing. Reported per run:

* ``heldout_before`` / ``heldout_after``: accuracy on the job's own held-out drawings (about one
  in four; what the app shows);
* ``styled_before`` / ``styled_after``: accuracy on 1,000 *other* digits in the same style (the
  official test set's last 1,000, styled): the same question with less noise than a few dozen
  held-out drawings;
* ``test_before`` / ``test_after``: the official test set (10,000, as they are): what was forgotten;
* ``train_s`` (the fine-tuning's training) and ``job_s`` (the whole job: loading, training,
  measuring, saving) in seconds.

Needs the official test set (``$DIGITLAB_TEST_DATA``). Runs in a temporary store and room.
Prints one JSON object last, with the BLAS that ran (NumPy's kernel matters for the NumPy kinds).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

STYLE = {"angle": -15.0, "thicken": 2}
STYLED_N = 1000


def room_style(images: np.ndarray) -> np.ndarray:
    """Digits as a room draws them: solid strokes, 2 px thicker, slanted, preprocessed like a drawing."""
    from digitlab import preprocess

    solid = np.where(images > 80, 255, 0).astype(np.uint8)
    return np.stack([preprocess.to_mnist(preprocess.transform(im, **STYLE)) for im in solid])


def train_base(kind: str, test: str) -> str:
    from digitlab import jobs

    final = jobs.run_job({"id": f"base-{kind}", "kind": kind, "preset": "workshop", "config": None, "data": "sample",
                          "name": f"base-{kind}", "seed": 0, "test": test}, lambda e: None, lambda: False)
    return final["model"]


def one_run(base: str, drawings, styled, test: str) -> dict:
    from digitlab import data, finetune, jobs, store
    from digitlab.evaluation import evaluate

    plan = finetune.plan(base, drawings)
    t = time.perf_counter()
    final = jobs.run_job({"id": "ft", "kind": plan["kind"], "config": plan["config"], "data": plan["data"],
                          "name": None, "seed": 0, "test": test, "finetune": plan["finetune"]},
                         lambda e: None, lambda: False)
    job_s = time.perf_counter() - t
    meta = store.load_meta(final["model"])
    ft = meta["finetune"]
    b, a = store.load(base), store.load(final["model"])
    store.delete(final["model"])
    r3 = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
    return {"drawings": len(drawings), "trained_on": ft["n_drawings"], "heldout": ft["n_heldout"],
            "repeat": ft["repeat"], "epochs": meta["epochs"],
            "heldout_before": r3(ft["before"]["heldout_accuracy"]), "heldout_after": r3(ft["after"]["heldout_accuracy"]),
            "styled_before": r3(evaluate(b, styled)["accuracy"]), "styled_after": r3(evaluate(a, styled)["accuracy"]),
            "test_before": r3(ft["before"]["test_accuracy"]), "test_after": r3(ft["after"]["test_accuracy"]),
            "train_s": round(meta["train_seconds"], 2), "job_s": round(job_s, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drawings", type=int, nargs="+", default=[40, 100, 200])
    ap.add_argument("--kinds", nargs="+", default=None, help="default: every kind")
    args = ap.parse_args(argv)
    os.environ["DIGITLAB_HOME"] = tempfile.mkdtemp(prefix="digitlab-bench-finetune-")
    from digitlab import data, finetune, models, room
    from digitlab.evaluation import official_test_path
    from digitlab.nn import blas

    test_path = official_test_path()
    if test_path is None:
        raise SystemExit("bench.finetune needs the official test set ($DIGITLAB_TEST_DATA)")
    test = data.load(str(test_path))
    styled = data.Dataset(room_style(test.images[-STYLED_N:]), test.labels[-STYLED_N:], name="styled test digits", source="bench")
    sample = data.load_sample()
    order = np.random.default_rng(3).permutation(len(sample))
    runs = []
    for kind in args.kinds or list(models.REGISTRY):
        t = time.perf_counter()
        base = train_base(kind, str(test_path))
        base_s = round(time.perf_counter() - t, 1)
        for n in args.drawings:
            rm = room.Room(os.path.join(os.environ["DIGITLAB_HOME"], f"room-{kind}-{n}.sqlite3"))
            for i in order[:n]:
                rm.save_drawing("ana", room_style(sample.images[i:i + 1])[0], int(sample.labels[i]))
            try:
                run = {"kind": kind, "base_s": base_s, **one_run(base, rm.drawings_dataset(), styled, str(test_path))}
            except finetune.FineTuneError as e:  # the 0-vs-1 net with few 0s and 1s among n drawings
                run = {"kind": kind, "drawings": n, "error": e.code, "params": e.params}
            runs.append(run)
            print(json.dumps(run), flush=True)
    print(json.dumps({"bench": "finetune", "style": STYLE, "runs": runs, "load_average": os.getloadavg(),
                      "blas": blas.kernel_info()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
