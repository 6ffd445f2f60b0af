"""What a stored model's ``meta.json`` must hold, checked when it is read.

A model folder is only as good as its ``meta.json``: every page that lists models reads it,
so one bad file must be listed as broken (:class:`CorruptModelError` naming the field),
never break the list. Models stored before a rename are read in today's names.
The rest of the store (saving, loading, listing) is :mod:`digitlab.store`.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import models
from .errors import DigitLabError

FORMAT = "digitlab-model"
FORMAT_VERSION = 1


class StoreError(DigitLabError):
    """A store operation failed for a reason the user can act on (bad name, missing model...).

    A coded error (:mod:`digitlab.errors`): ``code`` ``store.*`` and ``params``; its texts are
    in ``digitlab/texts/en_errors.py`` and ``es_errors.py``."""


class ModelNotFoundError(StoreError, FileNotFoundError):
    """No model of that name."""


class ModelExistsError(StoreError, FileExistsError):
    """A model of that name already exists (also when another save took the name meanwhile)."""

    CODES = ("store.exists", "store.exists_race", "store.name_taken")  # the codes it is raised with


class CorruptModelError(StoreError):
    """A stored model is unreadable: truncated, altered, or not a DigitLab model at all."""


# ---------------------------------------------------------------- meta.json


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num_or_none(v) -> bool:
    return v is None or _is_num(v)


def _list_of_nums(v) -> bool:
    return v is None or (isinstance(v, list) and all(_num_or_none(x) for x in v))


# optional fields the pages and the CLI read: (check, the error code saying what it must be)
_OPTIONAL = {
    "label": (lambda v: isinstance(v, str), "store.meta.not_string"),
    "classes": (_is_int, "store.meta.not_whole"),
    "created": (lambda v: isinstance(v, str), "store.meta.not_string"),
    "preset": (lambda v: v is None or isinstance(v, str), "store.meta.not_string_or_null"),
    "owner": (lambda v: v is None or isinstance(v, str), "store.meta.not_string_or_null"),
    "config": (lambda v: isinstance(v, dict) and _num_or_none(v.get("val_fraction")), "store.meta.bad_config"),
    "dataset": (lambda v: isinstance(v, dict) and all(isinstance(v.get(k), (str, type(None))) for k in ("spec", "name"))
                and all(v.get(k) is None or _is_int(v.get(k)) for k in ("n_train", "n_val")),
                "store.meta.bad_dataset"),
    "seed": (_is_int, "store.meta.not_whole"),
    "epochs": (lambda v: v is None or _is_int(v), "store.meta.not_whole"),
    "train_seconds": (_is_num, "store.meta.not_number"),
    "stopped": (lambda v: isinstance(v, bool), "store.meta.not_bool"),
    "metrics": (lambda v: v is None or (isinstance(v, dict) and all(
        _num_or_none(x) if k.endswith("accuracy") else (x is None or isinstance(x, (str, int, float)))
        for k, x in v.items())), "store.meta.bad_metrics"),
    "curves": (lambda v: v is None or (isinstance(v, dict) and all(_list_of_nums(x) for x in v.values())),
               "store.meta.bad_curves"),
}
# every code _bad_field raises (tests/test_errors.py checks each one has its texts)
BAD_FIELD_CODES = sorted({code for _, code in _OPTIONAL.values()} | {"store.meta.not_object", "store.meta.bad_files"})


def _bad_field(name: str, key: str, value, code: str):
    """CorruptModelError: meta.json field ``key`` holds ``value`` (param ``value``: its repr, 80 characters at most)."""
    raise CorruptModelError(code, name=name, field=key, value=f"{value!r:.80}")


def _check_meta_types(name: str, meta: dict) -> None:
    """CorruptModelError naming the first field of ``meta`` whose type is wrong (so one bad
    ``meta.json`` is listed as broken instead of breaking every page that lists models)."""
    fv = meta.get("format_version", FORMAT_VERSION)
    if not _is_int(fv):
        _bad_field(name, "format_version", fv, "store.meta.not_whole")
    if fv > FORMAT_VERSION:
        raise CorruptModelError("store.newer_format", name=name, version=fv)
    for key in ("kind", "spec", "files"):
        if key not in meta:
            raise CorruptModelError("store.meta.missing", name=name, field=key)
    if not isinstance(meta["kind"], str):
        _bad_field(name, "kind", meta["kind"], "store.meta.not_string")
    if meta["kind"] not in models.REGISTRY:
        raise CorruptModelError("store.meta.unknown_kind", name=name, kind=meta["kind"])
    if not isinstance(meta["spec"], dict):
        _bad_field(name, "spec", meta["spec"], "store.meta.not_object")
    files = meta["files"]
    if not isinstance(files, dict) or not all(
            isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("sha256"), str)
            for e in files.values()):
        _bad_field(name, "files", files, "store.meta.bad_files")
    if "weights" not in files:
        raise CorruptModelError("store.meta.no_weights", name=name)
    for key, (ok, code) in _OPTIONAL.items():
        if key in meta and not ok(meta[key]):
            _bad_field(name, key, meta[key], code)


def read_meta(folder: Path) -> dict:
    """A model folder's ``meta.json``, checked (CorruptModelError saying what is wrong), in today's names,
    with ``name`` set to the folder's name."""
    name = folder.name
    mp = folder / "meta.json"
    if folder.exists() and not folder.is_dir():
        raise CorruptModelError("store.is_a_file", name=name)
    if not mp.is_file():
        raise CorruptModelError("store.no_meta", name=name)
    try:
        meta = json.loads(mp.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptModelError("store.meta.bad_json", name=name, reason=f"{type(e).__name__}: {e}") from None
    except OSError as e:
        raise CorruptModelError("store.meta.unreadable", name=name, reason=f"{type(e).__name__}: {e}") from None
    except RecursionError:
        raise CorruptModelError("store.meta.too_deep", name=name) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptModelError("store.meta.foreign", name=name)
    _check_meta_types(name, meta)
    _current_names(meta)
    meta["name"] = name
    return meta


def _current_names(meta: dict) -> None:
    """Today's names in the meta of a model stored before a rename: the tutorial's preset
    (and numpy-binary's ``variant``) was ``"seed"`` before issue 14, it is ``"tutorial"``."""
    if "preset" in meta:
        meta["preset"] = models.preset_name(meta["preset"])
    for part in ("config", "spec"):
        variant = meta.get(part, {}).get("variant")  # both are dicts when present (_check_meta_types)
        if isinstance(variant, str):
            meta[part]["variant"] = models.OLD_CHOICES.get(variant, variant)
