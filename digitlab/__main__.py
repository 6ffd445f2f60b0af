"""Command line::

    python -m digitlab info --data SOURCE [--json]
    python -m digitlab train --model KIND [--preset P] [--epochs N] [--data SOURCE] [--name NAME] [--set KEY=VALUE ...] [--quiet] [--dask ADDRESS]
    python -m digitlab finetune --model NAME [--drawings room|SOURCE] [--owner NAME] [--epochs N] [--name NAME] [--json] [--dask ADDRESS]
    python -m digitlab evaluate --model NAME --data SOURCE [--json]
    python -m digitlab predict IMAGE.png [--model NAME] [--json]
    python -m digitlab explain IMAGE.png --model NAME [--json] [--target K] [--eps E] [--step S]
    python -m digitlab list [--json]
    python -m digitlab submission --model NAME --test test.csv --out submission.csv

Errors a user can fix (bad paths, bad data, unknown names) print one line to stderr
and exit with status 2; no traceback.

``train`` shows on stderr its phases, a progress bar per epoch (tqdm: batches, rate, time
left, running loss and accuracy; only when stderr is a terminal) and a line per finished
epoch; ``--quiet`` prints only the final result line (stdout). ``--dask tcp://HOST:PORT`` runs the
job on that Dask cluster instead of in this process (same events; the model comes back and is
saved in this machine's store; docs/architecture.md, "Training on a Dask cluster").
"""
from __future__ import annotations

import argparse
import json
import sys

from . import data, models, store
from .gradients import ExplainError
from .engine_dask import DaskError  # distributed itself is imported only by a --dask run
from .errors import DigitLabError


class UsageError(Exception):
    """A CLI error a user can fix; printed as one line, exit status 2."""


def cmd_info(args) -> int:
    ds = data.load(args.data)
    s = ds.summary()
    if args.json:
        print(json.dumps(s))
    else:
        print(f"{s['name']}  ({s['source']})")
        print(f"images: {s['n']}  labels: {'yes' if s['has_labels'] else 'no'}  mean pixel: {s['mean_pixel']}")
        if s["has_labels"]:
            for d, c in enumerate(s["class_counts"]):
                print(f"  {d}: {c:6d}  {'#' * round(60 * c / max(1, max(s['class_counts'])))}")
    return 0


def _parse_sets(pairs) -> dict:
    out = {}
    for p in pairs or []:
        k, eq, v = p.partition("=")
        if not eq or not k.strip():
            raise UsageError(f"--set takes KEY=VALUE, not {p!r}")
        out[k.strip()] = v.strip()
    return out


def cmd_train(args) -> int:
    """Train in this process (the CLI is not the Streamlit server) with the worker's job code."""
    overrides = _parse_sets(args.set)
    if args.epochs is not None:
        field = "iterations" if args.model == "numpy-binary" else "epochs"
        overrides[field] = args.epochs
    cfg = models.config_for(args.model, args.preset, **overrides)  # ConfigError before any work
    if args.name is not None:
        store.check_free(args.name)  # ModelExistsError before any training (the save itself is the guarantee)
    job = {"id": "cli", "kind": args.model, "preset": args.preset, "config": overrides, "data": args.data,
           "name": args.name, "seed": args.seed, "test": args.test}

    final = _run(job, getattr(cfg, "epochs", None), args)
    if final is None:
        return 130
    if args.json:
        print(json.dumps({"model": final["model"], "state": final["type"], "metrics": final["metrics"]}))
    else:
        m = final["metrics"]
        extra = f", test accuracy {m['test_accuracy']:.4f}" if m.get("test_accuracy") is not None else ""
        print(f"saved {final['model']}: validation accuracy {_fmt(m.get('val_accuracy'))}{extra}")
    return 0


def _run(job: dict, epochs: int | None, args) -> dict | None:
    """Run ``job`` here, or on ``args.dask``'s cluster, with the progress printer; its final
    event, or None when Ctrl-C interrupted it (nothing saved)."""
    from . import training

    progress = _ProgressPrinter(epochs, quiet=args.quiet)
    try:
        if args.dask:
            from .engine_dask import run_job_on_dask  # imports distributed only when asked

            return run_job_on_dask(args.dask, job, progress)
        return training.run_job(job, progress, lambda: False)
    except KeyboardInterrupt:
        progress.end_bar()
        print("interrupted; nothing saved", file=sys.stderr)
        return None
    finally:
        progress.end_bar()


def cmd_finetune(args) -> int:
    """Fine-tune a copy of a stored model on the room's drawings (or a labelled dataset's images)."""
    from . import finetune, room
    from .evaluation import official_test_path

    if args.drawings == "room":
        drawings = room.Room().drawings_dataset(args.owner)
    else:
        drawings = data.load(args.drawings)
        if not drawings.has_labels:
            raise data.DataError(f"{drawings.name} has no labels; fine-tuning needs labelled drawings")
        ids = drawings.meta.get("ids") or list(range(1, len(drawings) + 1))  # held out by row number
        drawings = data.Dataset(drawings.images, drawings.labels, drawings.name, drawings.source,
                                {**drawings.meta, "ids": ids})
    plan = finetune.plan(args.model, drawings, owner=args.owner, epochs=args.epochs)  # errors before any work
    test = args.test if args.test is not None else (str(official_test_path()) if official_test_path() else None)
    job = {"id": "cli", "kind": plan["kind"], "preset": None, "config": plan["config"], "data": plan["data"],
           "name": args.name, "seed": args.seed, "test": test, "finetune": plan["finetune"]}
    final = _run(job, plan["config"].get("epochs"), args)
    if final is None:
        return 130
    ft = store.load_meta(final["model"])["finetune"] if final["model"] else None
    if args.json:
        print(json.dumps({"model": final["model"], "state": final["type"], "finetune": ft}))
    elif ft:
        b, a = ft["before"], ft["after"]
        print(f"saved {final['model']} (from {ft['base']}, {ft['n_drawings']} drawings): held-out drawings "
              f"({ft['n_heldout']}) {_fmt(b['heldout_accuracy'])} -> {_fmt(a['heldout_accuracy'])}, official test set "
              f"{_fmt(b['test_accuracy'])} -> {_fmt(a['test_accuracy'])}")
    else:
        print("stopped before the first epoch; nothing saved")
    return 0


class _ProgressPrinter:
    """The CLI's view of a job's events: a tqdm bar per epoch (fed by batch events: rate, time
    left), then one line per epoch and per phase, on stderr."""

    def __init__(self, epochs: int | None, quiet: bool):
        self.epochs, self.quiet = epochs, quiet
        self.bar = None  # the running epoch's progress bar

    def end_bar(self, finished: bool = False):
        bar, self.bar = self.bar, None
        if bar is not None:
            if finished and not bar.disable:
                bar.update(bar.total - bar.n)
                bar.refresh()  # its last state (count, rate), whatever tqdm's refresh interval
            bar.close()  # leave=False: the epoch's line replaces it

    def __call__(self, ev: dict):
        if self.quiet:
            return
        typ = ev.get("type")
        if typ == "batch":
            self._batch(ev)
        elif typ == "phase" and ev["phase"] != "loading data":
            self.end_bar()
            print(f"[{ev['phase']}]", file=sys.stderr, flush=True)
        elif typ == "epoch":
            self.end_bar(finished=True)
            print(f"epoch {ev['epoch']}/{ev['epochs']}  loss {_fmt(ev.get('loss'))}  acc {_fmt(ev.get('accuracy'))}"
                  f"  val_acc {_fmt(ev.get('val_accuracy'))}  ({_fmt(ev.get('seconds'), 1)} s)",
                  file=sys.stderr, flush=True)

    def _batch(self, ev: dict):
        from tqdm import tqdm

        if self.bar is None or self.bar.epoch != ev["epoch"]:
            self.end_bar()
            desc = f"epoch {ev['epoch']}" + (f"/{self.epochs}" if self.epochs else "")
            self.bar = tqdm(total=ev["n_batches"], desc=desc, unit="batch", file=sys.stderr, disable=None,
                            leave=False, dynamic_ncols=True)  # disable=None: no bar when stderr is not a terminal
            self.bar.epoch = ev["epoch"]
        bar = self.bar
        if not bar.disable:
            bar.set_postfix_str(f"loss={_fmt(ev.get('loss'))}, acc={_fmt(ev.get('accuracy'))}, "
                                f"{ev.get('samples_per_s') or 0:,.0f} samples/s", refresh=False)
            bar.update(max(0, min(ev["batch"], bar.total) - bar.n))


def _fmt(v, nd=4):
    return "-" if v is None else f"{v:.{nd}f}"


def cmd_evaluate(args) -> int:
    from .inference import classification_report

    m = store.load(args.model)
    ds = data.load(args.data)
    if not ds.has_labels:
        raise data.DataError(f"{ds.name} has no labels; evaluate needs a labelled dataset")
    if m.classes == 2:
        ds = data.binary_subset(ds)
    rep = classification_report(ds.labels, m.predict(ds.images), k=m.classes)
    if args.json:
        print(json.dumps({"model": m.name, "data": ds.name, "accuracy": rep["accuracy"], "n": rep["n"],
                          "per_class": rep["per_class"]}))
    else:
        print(f"{m.name} ({m.kind}) on {ds.name}: accuracy {rep['accuracy']:.4f} ({rep['n']} images)")
        print("digit  precision  recall  f1      support")
        for r in rep["per_class"]:
            print(f"{r['digit']:>5}  {r['precision']:9.4f}  {r['recall']:6.4f}  {r['f1']:6.4f}  {r['support']:7d}")
    return 0


def cmd_predict(args) -> int:
    from . import inference

    img = inference.image_file_to_digit(args.image)
    names = [args.model] if args.model else (inference.default_models() or [m["name"] for m in store.list_models()[:1]])
    if not names:
        raise UsageError("no trained models yet: train one with `python -m digitlab train --model numpy-mlp`")
    out = {}
    for n in names:
        p = store.load(n).predict_proba(img)[0]
        out[n] = {"digit": int(p.argmax()), "probabilities": [round(float(v), 4) for v in p]}
    if args.json:
        print(json.dumps(out))
    else:
        for n, r in out.items():
            top = sorted(enumerate(r["probabilities"]), key=lambda t: -t[1])[:3]
            print(f"{n}: {r['digit']}   ({', '.join(f'{d}: {p:.2f}' for d, p in top)})")
    return 0


def cmd_explain(args) -> int:
    """The answer, its saliency map and an adversarial nudge for one image (digitlab.explain)."""
    from . import explain, inference

    m = store.load(args.model)  # a missing model before reading the image
    explain.check_settings(m, step=args.step, eps=args.eps, max_steps=args.max_steps, target=args.target)
    img = inference.image_file_to_digit(args.image)
    out = explain.explain(m, img, target=args.target, eps=args.eps, step=args.step, max_steps=args.max_steps)
    if args.json:
        print(json.dumps({"model": m.name, "kind": m.kind, **out}))
        return 0
    p = out["proba"][out["digit"]]
    print(f"{m.name} ({m.kind}): {out['digit']}  (p = {p:.2f})")
    print(f"saliency of {out['digit']}, dp/dpixel ({SHADES_UP[-1]} pushes towards {out['digit']}, "
          f"{SHADES_DOWN[-1]} away; scaled to the largest):")
    print("\n".join(_char_map(out["saliency"])))
    print(explain.reading_text("en", out["reading"]))
    a = out["adversarial"]
    print(f"nudge (step {a['step']}, L-inf bound {a['eps']}): " + explain.reading_text("en", a["reading"]))
    return 0


SHADES_UP, SHADES_DOWN = ".+#", "-=@"  # a third of the largest |value| each


def _char_map(values) -> list[str]:
    """28 lines of 28 characters: a signed map in a few shades (space: under 10% of the largest)."""
    import numpy as np

    v = np.asarray(values, np.float64)
    top = float(np.abs(v).max())
    lines = []
    for row in (v / top if top > 0 else v):
        level = np.minimum((np.abs(row) * 3).astype(int), 2)  # 0, 1, 2: the thirds of the largest
        lines.append("".join(" " if abs(r) < 0.1 else (SHADES_UP if r > 0 else SHADES_DOWN)[k]
                             for r, k in zip(row, level)))
    return lines


def cmd_list(args) -> int:
    listed = store.list_models(include_broken=True)
    ms = [m for m in listed if "error" not in m]
    broken = [m for m in listed if "error" in m]
    if args.json:
        print(json.dumps(ms))
        for b in broken:  # the JSON stays a list of models; broken entries are reported on stderr
            print(f"broken: {b['name']}: {b['error']}", file=sys.stderr)
        return 0
    if not listed:
        print(f"no models in {store.models_dir()}")
    for m in ms:
        met = m.get("metrics") or {}
        acc = met.get("test_accuracy", met.get("val_accuracy"))
        which = "test" if "test_accuracy" in met else "val"
        print(f"{m['name']:32s} {m['kind']:13s} {which} acc {_fmt(acc)}  epochs {m.get('epochs')}  {m.get('created', '')}")
    for b in broken:
        print(f"{b['name']:32s} broken: {b['error']}")
    return 0


def cmd_submission(args) -> int:
    from . import inference

    m = store.load(args.model)
    if m.classes != 10:
        raise UsageError(f"{m.name} is a {m.classes}-class model; a Kaggle submission needs a 10-class model")
    ds = data.load(args.test)
    labels = inference.submission_rows(m, ds.images)
    inference.write_submission(labels, args.out)
    print(f"wrote {len(labels)} predictions to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m digitlab", description="DigitLab command line")
    sub = p.add_subparsers(dest="command", required=True)
    q = sub.add_parser("info", help="summarise a dataset")
    q.add_argument("--data", default="sample", help="sample | mnist | a Kaggle CSV | an IDX images file | a folder with an IDX pair")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_info)

    q = sub.add_parser("train", help="train a model and save it in the store")
    q.add_argument("--model", required=True, help="model kind: " + ", ".join(models.REGISTRY))
    q.add_argument("--preset", default=None, help="preset of that kind (default: its default preset)")
    q.add_argument("--epochs", type=int, default=None, help="epochs (numpy-binary: iterations)")
    q.add_argument("--data", default="sample", help="training data (as for info)")
    q.add_argument("--name", default=None, help="store name (default: KIND-DATE-TIME)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--test", default=None, help="labelled test data to measure test accuracy on")
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config setting (repeatable)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.add_argument("--quiet", action="store_true", help="no progress bar or lines: only the final result")
    q.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="train on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT)")
    q.set_defaults(func=cmd_train)

    q = sub.add_parser("finetune", help="train a copy of a stored model on the room's drawings")
    q.add_argument("--model", required=True, help="store name of the model to copy (it is not changed)")
    q.add_argument("--drawings", default="room", help="'room' (the saved drawings, default) or labelled data")
    q.add_argument("--owner", default=None, help="only this participant's drawings (default: everyone's)")
    q.add_argument("--epochs", type=int, default=None, help="epochs (numpy-binary: iterations); default: the kind's")
    q.add_argument("--name", default=None, help="store name of the copy (default: MODEL-ft)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--test", default=None, help="labelled test data (default: the official test set when there)")
    q.add_argument("--json", action="store_true", help='one JSON object: {"model", "state", "finetune"}')
    q.add_argument("--quiet", action="store_true", help="no progress bar or lines: only the final result")
    q.add_argument("--dask", default=None, metavar="ADDRESS", help="run it on the Dask cluster at ADDRESS")
    q.set_defaults(func=cmd_finetune)

    q = sub.add_parser("evaluate", help="accuracy and per-class report of a stored model")
    q.add_argument("--model", required=True, help="store name")
    q.add_argument("--data", required=True, help="labelled data (as for info)")
    q.add_argument("--json", action="store_true", help="one JSON object with accuracy and per_class")
    q.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("predict", help="predict the digit in an image file (preprocessed as a drawing)")
    q.add_argument("image", help="PNG/JPEG/... of any size")
    q.add_argument("--model", default=None, help="store name (default: the default models, else the newest)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_predict)

    q = sub.add_parser("explain", help="why a model answers what it does: saliency map and adversarial nudge")
    q.add_argument("image", help="PNG/JPEG/... of any size (preprocessed as a drawing)")
    q.add_argument("--model", required=True, help="store name")
    q.add_argument("--json", action="store_true", help='one JSON object: {"digit", "saliency", "adversarial", ...}')
    q.add_argument("--target", type=int, default=None, help="nudge towards this digit (default: any other answer)")
    q.add_argument("--eps", type=float, default=0.3, help="L-inf bound of the nudge, in the [0, 1] pixel scale")
    q.add_argument("--step", type=float, default=0.01, help="size of each signed-gradient step")
    q.add_argument("--max-steps", type=int, default=100, help="steps at most")
    q.set_defaults(func=cmd_explain)

    q = sub.add_parser("list", help="list stored models")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("submission", help="write a Kaggle submission (ImageId,Label)")
    q.add_argument("--model", required=True, help="store name")
    q.add_argument("--test", required=True, help="Kaggle test.csv (or any dataset)")
    q.add_argument("--out", required=True, help="output CSV")
    q.set_defaults(func=cmd_submission)
    return p


# errors that mean "the user's input is wrong": one line, exit 2
USER_ERRORS: tuple[type[BaseException], ...] = (data.DataError, UsageError, FileNotFoundError, models.ConfigError,
                                                store.StoreError, IsADirectoryError, PermissionError, ExplainError,
                                                DaskError, DigitLabError)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
