"""Single-image inference of all default models together (target: <= 10 ms).

    python bench/inference.py [--models a,b] [--repeat 200] [--json]

Uses the models in the store (``$DIGITLAB_HOME``); without default models there,
it builds stand-ins of the same shapes in a temporary store (the timing depends
on the shapes, not on the weights). Compare: Keras ``model.predict`` on one image
costs ~80-110 ms.

Measured 2026-11-28 with the trained default models (numpy-mlp 256 + keras-cnn served by
NumPy): median 0.8 ms for both together, p90 1.0 ms on a quiet machine (p90 up to ~9 ms
while other jobs loaded both cores); TensorFlow never imported.
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


def _stand_ins() -> list[str]:
    from digitlab import models, store
    from digitlab.nn import mlp, tutorial_cnn

    os.environ["DIGITLAB_HOME"] = tempfile.mkdtemp(prefix="digitlab-bench-")
    for name, net, kind in [("default-mlp", mlp(hidden=(256,)), "numpy-mlp"),
                            ("default-cnn", tutorial_cnn(), "keras-cnn")]:
        store.save(name, kind=kind, arrays=models.net_arrays(net), spec={"architecture": net.to_config()})
    return ["default-mlp", "default-cnn"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=None, help="comma-separated store names (default: the default models)")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from digitlab import data, inference, store

    names = args.models.split(",") if args.models else inference.default_models()
    source = "store"
    if not names:
        names, source = _stand_ins(), "stand-ins (no default models in the store)"
    loaded = [store.load(n) for n in names]
    img = data.load_sample().images[:1]  # one 28x28 uint8 image, as the Draw page gives
    for m in loaded:  # warm-up (allocations, BLAS init)
        m.predict_proba(img)
    per_model = {}
    for m in loaded:
        t = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            m.predict_proba(img)
            t.append(time.perf_counter() - t0)
        per_model[m.name] = round(1000 * float(np.median(t)), 3)
    tot = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for m in loaded:
            m.predict_proba(img)
        tot.append(time.perf_counter() - t0)
    res = {"models": names, "kinds": [m.kind for m in loaded], "source": source,
           "median_ms_all": round(1000 * float(np.median(tot)), 3),
           "p90_ms_all": round(1000 * float(np.percentile(tot, 90)), 3),
           "median_ms_per_model": per_model, "target_ms": 10.0,
           "tensorflow_imported": "tensorflow" in sys.modules}
    res["meets_target"] = res["median_ms_all"] <= 10.0
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:22s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
