"""Fine-tuning a copy of a stored model on the room's own handwriting.

A model trained on MNIST reads MNIST's handwriting; a room's drawings (a mouse, a finger,
another culture's 7 and 1) are another. Fine-tuning trains a **copy** of a stored model a
little more on the saved drawings, mixed with the sample so that it does not forget MNIST,
and measures both sides of the trade before and after:

* accuracy on **held-out drawings**: drawings the job never trains on (about a quarter of
  them, chosen by a hash of each drawing's id: a drawing held out once stays held out when
  more are saved, so no fine-tuned copy ever trains on what another was measured on);
* accuracy on the **official test set** (when ``DIGITLAB_TEST_DATA`` has it): what the copy
  forgot of MNIST.

It is an ordinary training job (the same queue, live view, Stop and budget, on either
engine): :func:`plan` (in the server) turns "fine-tune model X on these drawings" into a
job; the trainer (:func:`digitlab.jobs.train_job`) sees its ``finetune`` field, loads the
base with :func:`load_base` and the data with :func:`load_sets`, and calls the kind's
finetuner (:attr:`digitlab.models.ModelKind.finetuner_path`). The base model is never
changed; the copy is a new model whose ``meta["finetune"]`` holds what it came from, the ids of
the drawings it trained on (``trained_ids``: the Class page's leaderboard and Inspect measure
it only on the others, :func:`digitlab.evaluation.unseen_drawings`) and the before/after
figures (:func:`before_after`). See docs/architecture.md, "Fine-tuning on the room's handwriting".
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from . import data, models, store
from .errors import DigitLabError
from .evaluation import evaluate, official_test_path
from .models.trained import Base

HELDOUT_FRACTION = 0.25  # of the drawings (by a hash of their ids), never trained on
MIN_TRAIN, MIN_HELDOUT = 10, 4  # drawings needed on each side (fewer: nothing worth measuring)
MIX_IMAGES = 2000  # sample images mixed in so that the copy keeps reading MNIST
DRAWING_SHARE = 0.3  # the drawings' share of the training set, reached by repeating them...
MAX_REPEAT = 20  # ...at most this many times each (augmentation shifts each copy differently)
LR_FACTOR = 0.3  # fine-tuning steps are smaller than the base's: its learning rate x this


class FineTuneError(DigitLabError, ValueError):
    """A fine-tuning job that cannot be made or run (too few drawings, a changed base...)."""


def drawing_hash(drawing_id: int) -> int:
    """A stable pseudo-random number in [0, 2**32) for a drawing id (the held-out choice depends on nothing else)."""
    return int.from_bytes(hashlib.sha1(f"drawing-{int(drawing_id)}".encode()).digest()[:4], "big")


def heldout_mask(ids, fraction: float = HELDOUT_FRACTION) -> np.ndarray:
    """True for the drawings to hold out: those whose :func:`drawing_hash` falls in the lowest
    ``fraction`` of its range. Each drawing's fate depends on its id alone, so a drawing held
    out once is held out in every later fine-tuning, however many drawings are saved since:
    no copy is ever trained on a drawing another copy was measured on."""
    limit = fraction * 2 ** 32
    return np.array([drawing_hash(i) < limit for i in np.asarray(ids).tolist()], dtype=bool)


def repeats(n_drawings: int, mix_images: int) -> int:
    """How many times each training drawing is repeated so that the drawings make about
    :data:`DRAWING_SHARE` of the training set (``r n / (r n + mix) = share``), 1 to MAX_REPEAT."""
    want = DRAWING_SHARE / (1 - DRAWING_SHARE) * mix_images
    return int(np.clip(np.ceil(want / max(n_drawings, 1)), 1, MAX_REPEAT))


def split_drawings(drawings: data.Dataset, classes: int) -> tuple[data.Dataset, data.Dataset, list[int]]:
    """``(training drawings, held-out drawings, held-out ids)`` of the drawings a model with
    ``classes`` outputs reads (a 0-vs-1 net: the 0s and 1s)."""
    ids = np.asarray(drawings.meta.get("ids", np.arange(len(drawings))))
    if classes == 2 and len(drawings):
        keep = np.isin(drawings.labels, (0, 1))
        drawings, ids = drawings.subset(keep), ids[keep]
    mask = heldout_mask(ids)
    train_d, held = drawings.subset(~mask, "drawings (fine-tuning)"), drawings.subset(mask, "drawings (held out)")
    train_d.meta["ids"], held.meta["ids"] = [int(i) for i in ids[~mask]], [int(i) for i in ids[mask]]
    return train_d, held, held.meta["ids"]


def base_config(meta: dict, epochs: int | None = None) -> dict:
    """The fine-tuning job's settings: the base's own, changed by its kind's ``finetune``
    overrides, a learning rate x :data:`LR_FACTOR` and ``epochs`` when given (checked)."""
    mk = models.get_kind(meta["kind"])
    cfg = models.config_dict(models.config_from_dict(mk.kind, meta.get("config") or {}))
    cfg.update(mk.finetune)
    if "lr" in cfg:
        cfg["lr"] = float(cfg["lr"]) * LR_FACTOR
    if epochs is not None:
        cfg["iterations" if "iterations" in cfg else "epochs"] = int(epochs)
    return models.config_dict(models.config_from_dict(mk.kind, cfg))  # ConfigError for a bad epochs


def plan(base: str, drawings: data.Dataset, *, owner=None, epochs: int | None = None,
         mix_images: int = MIX_IMAGES) -> dict:
    """A fine-tuning job for the stored model ``base`` on ``drawings`` (a room's
    :meth:`~digitlab.room.Room.drawings_dataset`): ``{"kind", "config", "data", "finetune"}``,
    the arguments of :meth:`digitlab.training.Worker.submit`. Run in the server: the two
    drawing sets are saved as datasets the trainer loads (:func:`digitlab.store.save_dataset`).
    ``owner`` is whose drawings they are (None: the room's), kept in the copy's meta.

    Raises ModelNotFoundError / CorruptModelError for the base, :class:`FineTuneError` when
    either side would have too few drawings, ConfigError for bad ``epochs``."""
    folder = store.model_folder(base)  # ModelNotFoundError says "no model named ..."
    meta = store.load_meta(base)
    kind = models.get_kind(meta["kind"])
    train_d, held, held_ids = split_drawings(drawings, kind.classes)
    if len(train_d) < MIN_TRAIN or len(held) < MIN_HELDOUT:
        raise FineTuneError("finetune.too_few_drawings", train=len(train_d),
                            heldout=len(held), need_train=MIN_TRAIN, need_heldout=MIN_HELDOUT,
                            digits="0, 1" if kind.classes == 2 else "0-9")
    r = repeats(len(train_d), mix_images)
    return {
        "kind": kind.kind, "config": base_config(meta, epochs), "data": store.save_dataset(train_d),
        "finetune": {
            "base": base, "base_created": meta.get("created"), "base_dir": str(folder),
            "heldout": store.save_dataset(held), "heldout_ids": held_ids, "trained_ids": train_d.meta["ids"], "mix": "sample", "mix_images": int(mix_images),
            "repeat": r, "owner": owner, "n_drawings": len(train_d), "n_heldout": len(held),
            "n_train": len(train_d) * r + int(mix_images), "name_hint": f"{base}-ft",
        },
    }


def preview(meta: dict, drawings: data.Dataset | None) -> dict:
    """What fine-tuning the stored model ``meta`` on ``drawings`` would use, said before it is
    asked for (the Inspect page's form): ``{"usable", "train", "heldout", "enough", "need_train",
    "need_heldout", "digits", "epochs_field", "epochs", "epochs_range"}``. ``usable``: the
    drawings the model reads (a 0-vs-1 net: the 0s and 1s); ``train``/``heldout``: how
    :func:`split_drawings` divides them; ``epochs``: the default of ``epochs_field`` (``epochs``,
    or ``iterations`` for the 0-vs-1 net) from :func:`base_config`, within ``epochs_range``."""
    kind = models.get_kind(meta["kind"])
    if drawings is None or not len(drawings):
        usable = n_train = n_held = 0
    else:
        train_d, held, _ = split_drawings(drawings, kind.classes)
        usable, n_train, n_held = len(train_d) + len(held), len(train_d), len(held)
    cfg = base_config(meta)
    field = "iterations" if "iterations" in cfg else "epochs"
    lo, hi = next(i["range"] for i in models.field_info(kind.kind) if i["name"] == field)
    return {"usable": usable, "train": n_train, "heldout": n_held,
            "enough": n_train >= MIN_TRAIN and n_held >= MIN_HELDOUT, "need_train": MIN_TRAIN,
            "need_heldout": MIN_HELDOUT, "digits": "0, 1" if kind.classes == 2 else "0-9",
            "epochs_field": field, "epochs": int(cfg[field]), "epochs_range": (int(lo), int(hi))}


def report(meta: dict) -> list[dict]:
    """A fine-tuned copy's before/after table from its meta (``[]`` for a model that is not
    one): a row ``{"set", "n", "before", "after", "change"}`` for the held-out drawings
    (``set`` "heldout") and one for the official test set ("test", ``n`` None); accuracies
    as fractions, ``change`` in percentage points (None when either side was not measured)."""
    ft = meta.get("finetune") or {}
    if not ft:
        return []
    rows = []
    for which, key, n in (("heldout", "heldout_accuracy", ft.get("n_heldout")), ("test", "test_accuracy", None)):
        before, after = (ft.get("before") or {}).get(key), (ft.get("after") or {}).get(key)
        change = None if before is None or after is None else 100.0 * (float(after) - float(before))
        rows.append({"set": which, "n": n, "before": before, "after": after, "change": change})
    return rows


# ---------------------------------------------------------------- the trainer's side


def load_base(ft: dict, kind: str) -> Base:
    """The base model from its folder (the server's store, or a Dask worker's copy of it),
    checked to be the one the job was planned on (not deleted, replaced or of another kind)."""
    try:
        meta, arrays = store.read_folder(ft["base_dir"])
    except (store.ModelNotFoundError, store.CorruptModelError, OSError) as e:
        raise FineTuneError("finetune.base_gone", name=ft.get("base"), reason=e) from None
    if meta.get("kind") != kind or (ft.get("base_created") and meta.get("created") != ft["base_created"]):
        raise FineTuneError("finetune.base_changed", name=ft.get("base"))
    return Base(name=str(ft.get("base")), meta=meta, spec=meta["spec"], arrays=arrays, folder=Path(ft["base_dir"]))


def mixed_training_set(drawings: data.Dataset, repeat: int, mix: data.Dataset, seed: int) -> data.Dataset:
    """The drawings ``repeat`` times, then the ``mix`` images, shuffled (seeded)."""
    images = np.concatenate([np.tile(drawings.images, (repeat, 1, 1)), mix.images])
    labels = np.concatenate([np.tile(drawings.labels, repeat), mix.labels])
    order = np.random.default_rng(seed).permutation(len(labels))
    return data.Dataset(images[order], labels[order], name="drawings + sample", source="finetune")


def load_sets(spec: str, ft: dict, seed: int) -> tuple[data.Dataset, data.Dataset, data.Dataset]:
    """The job's ``(full, train, val)`` (:class:`digitlab.jobs.Split`): the training drawings;
    them repeated and mixed with ``mix_images`` seeded images of the sample; the held-out
    drawings (so the live view's validation curve is the held-out drawings' accuracy)."""
    drawings, held = data.load(spec), data.load(ft["heldout"])
    mix = data.load(ft.get("mix") or "sample")
    n = min(int(ft.get("mix_images", MIX_IMAGES)), len(mix))
    mix = mix.subset(np.sort(np.random.default_rng(seed).choice(len(mix), n, replace=False)))
    return drawings, mixed_training_set(drawings, int(ft.get("repeat", 1)), mix, seed), held


def before_after(ft: dict, base: Base, heldout: data.Dataset, after: dict, test_spec) -> dict:
    """The copy's ``meta["finetune"]``: where it came from and ``before``/``after`` accuracy
    on the held-out drawings and the official test set (None when there is none). The base's
    test accuracy is taken from its meta when it was measured on the same test set."""
    base_pred = models.build_predictor(base.meta["kind"], base.spec, base.arrays)
    before = {"heldout_accuracy": evaluate(base_pred, heldout)["accuracy"], "test_accuracy": None}
    if after.get("test_data"):
        known = base.meta.get("metrics") or {}
        if known.get("test_data") == after["test_data"] and known.get("test_accuracy") is not None:
            before["test_accuracy"] = known["test_accuracy"]
        else:
            before["test_accuracy"] = evaluate(base_pred, data.load(str(test_spec)))["accuracy"]
    keep = ("base", "base_created", "heldout", "heldout_ids", "trained_ids", "mix", "mix_images", "repeat", "owner", "n_drawings", "n_heldout")
    return {**{k: ft.get(k) for k in keep}, "before": before,
            "after": {"heldout_accuracy": after.get("val_accuracy"), "test_accuracy": after.get("test_accuracy")}}


def submit(worker, base: str, drawings: data.Dataset, *, owner=None, drawings_of=None, epochs: int | None = None,
           instructor: bool = False, test: str | None = "official") -> str:
    """Queue the fine-tuning of ``base`` on ``drawings`` as ``owner``'s job on ``worker`` (a
    :class:`digitlab.training.Worker`: the room's rules and budget apply); returns its id.
    ``drawings_of``: whose drawings they are (None: the room's). ``test``: the official test
    set by default, when it is there (None: no test set)."""
    if test == "official":
        path = official_test_path()
        test = str(path) if path else None
    p = plan(base, drawings, owner=drawings_of, epochs=epochs)
    return worker.submit(p["kind"], p["config"], p["data"], owner=owner, instructor=instructor, test=test,
                         finetune=p["finetune"])
