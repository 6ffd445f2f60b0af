"""The model store: trained models on disk, written atomically, loaded without pickle.

Layout (``home()`` is ``$DIGITLAB_HOME``, default ``~/.digitlab``)::

    home()/models/<name>/meta.json              metadata, written last (the commit point)
    home()/models/<name>/weights-<token>.npz    weight arrays (np.savez; loaded with allow_pickle=False)
    home()/models/<name>/model-<token>.keras    keras-cnn only: the Keras model (for the worker; safe mode)
    home()/datasets/<fingerprint>.npz           an uploaded dataset saved for the worker (save_dataset)

A save writes new payload files under fresh names, then replaces ``meta.json``
with ``os.replace`` (atomic on POSIX); a new model is built in a hidden temporary
folder and renamed into place. A crash at any point leaves either the previous
model or no model, never a half-written one; the leftovers of a crash (``.tmp-*``,
``.del-*``, ``.meta.json.*.part``) older than an hour are removed at a process's first use of
the store (:func:`models_dir`). ``meta.json`` records each payload file's SHA-256, so a truncated or
altered file is refused with :class:`CorruptModelError`, as is a folder or file
that is not a DigitLab model.

Inference (:meth:`StoredModel.predict_proba`) is NumPy only, for every kind: no
TensorFlow import, no unpickling (:func:`digitlab.models.build_predictor`).
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import threading
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import data, models, roles
from .files import fsync_dir, fsync_write, sha256_file, write_atomic
from .store_meta import (FORMAT, FORMAT_VERSION, CorruptModelError, ModelExistsError,  # the store's errors
                         ModelNotFoundError, StoreError, read_meta)

NAME_MAX = 64  # the longest model name: check_name accepts it and unique_name never cuts below it
NAME_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}")  # used with fullmatch (no "$" newline)
LEFTOVER_PREFIXES = (".tmp-", ".del-")  # crashed saves (.tmp-<token>, run_job's .tmp-keras-<token>) and deletes
LEFTOVER_MAX_AGE_S = 3600.0  # older leftovers are removed at a process's first use of the store
_lock = threading.RLock()
_cleaned: set[str] = set()  # models folders this process has cleaned of old leftovers


def home() -> Path:
    """The store root: ``$DIGITLAB_HOME``, default ``~/.digitlab`` (``models_dir()`` creates ``models/`` in it)."""
    h = os.environ.get("DIGITLAB_HOME") or os.path.join(os.path.expanduser("~"), ".digitlab")
    return Path(h)


def models_dir() -> Path:
    """``home()/models`` (created); the first use of a store in a process removes its old leftovers."""
    d = home() / "models"
    d.mkdir(parents=True, exist_ok=True)
    key = str(d)
    if key not in _cleaned:
        _cleaned.add(key)
        try:
            _cleanup_dir(d, LEFTOVER_MAX_AGE_S)
        except OSError:
            pass  # clean-up is best effort; the store works without it
    return d


def datasets_dir() -> Path:
    """``home()/datasets``: uploaded datasets saved for the trainer worker (not created here)."""
    return home() / "datasets"


def save_dataset(ds) -> str:
    """Save a dataset (an upload, full MNIST...) where the trainer worker can load it, and return
    its data spec: ``datasets_dir()/<content fingerprint>.npz``, written once per content (atomic,
    :func:`digitlab.data.save_npz`). The worker is another process: it loads the spec with
    :func:`digitlab.data.load`."""
    path = datasets_dir() / f"{data.fingerprint(ds)}.npz"
    if not path.exists():
        data.save_npz(ds, path)
    return str(path)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise StoreError("store.bad_name", name=name, max=NAME_MAX)
    return name


def _path(name: str) -> Path:
    return models_dir() / check_name(name)


def exists(name: str) -> bool:
    return (_path(name) / "meta.json").is_file()


def check_free(name: str) -> str:
    """``name`` if it is a valid name no model (or other entry) uses, else StoreError/ModelExistsError."""
    if (_path(name)).exists():
        raise ModelExistsError("store.name_taken", name=name)
    return name


def unique_name(base: str) -> str:
    """A free valid name made from ``base``: ``base`` itself if free, else ``base-2``, ``base-3``...
    (cut so that the whole name stays within NAME_MAX). For generated names only: a name the
    user chose is used as given (:func:`save` refuses it when taken)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", str(base)).strip("-._") or "model"
    if not base[0].isalnum():
        base = "m" + base
    base = base[:NAME_MAX]
    name, i = base, 2
    while (models_dir() / name).exists():
        suffix = f"-{i}"
        name, i = base[:NAME_MAX - len(suffix)] + suffix, i + 1
    return check_name(name)


# ---------------------------------------------------------------- writing


def _write_meta(path: Path, meta: dict):
    """Write ``meta.json`` atomically and durably (the commit point of a save)."""
    write_atomic(path, lambda f: f.write(json.dumps(meta, indent=1, default=_json_default).encode()))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _write_payload(folder: Path, token: str, arrays: dict, files: dict | None) -> dict:
    """Write ``weights-<token>.npz`` (and copies of ``files``) into ``folder``; return the files table."""
    table = {}
    wname = f"weights-{token}.npz"
    # np.asarray(order="C"), not np.ascontiguousarray: that one turns a 0-d array (numpy-binary's
    # input_scale) into shape (1,); every array's shape must round-trip exactly
    arrays = {k: np.asarray(v, order="C") for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype == object:
            raise StoreError("store.object_array", array=k)
    fsync_write(folder / wname, lambda f: np.savez(f, **arrays))
    table["weights"] = {"file": wname, "sha256": sha256_file(folder / wname)}
    for role, src in (files or {}).items():
        src = Path(src)
        fname = f"{role}-{token}{''.join(src.suffixes[-1:])}"
        shutil.copyfile(src, folder / fname)
        with open(folder / fname, "rb") as f:
            os.fsync(f.fileno())
        table[role] = {"file": fname, "sha256": sha256_file(folder / fname)}
    return table


def save(name: str, *, kind: str, arrays: dict, spec: dict, meta: dict | None = None,
         files: dict | None = None, overwrite: bool = False) -> dict:
    """Save a model atomically and return its metadata.

    arrays : name -> numeric ndarray (the weights)
    spec   : JSON-ready rebuild description (see :func:`digitlab.models.build_predictor`)
    meta   : kind-independent metadata (config, dataset, seed, epochs, metrics, curves, train_seconds...)
    files  : role -> path of an extra file to copy in (``{"keras": "m.keras"}``)
    """
    check_name(name)
    mk = models.get_kind(kind)
    meta = dict(meta or {})
    meta.pop("name", None)
    token = uuid.uuid4().hex[:12]
    with _lock:
        final = models_dir() / name
        if final.exists() and not overwrite:
            raise ModelExistsError("store.exists", name=name)
        record = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "label": mk.label,
            "classes": mk.classes, "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            **meta, "spec": spec,
        }
        if final.exists():
            if not (final / "meta.json").is_file():
                raise StoreError("store.not_a_model_folder", path=str(final))
            old = read_meta(final)
            record["files"] = _write_payload(final, token, arrays, files)
            _write_meta(final / "meta.json", record)  # commit point
            _remove_unreferenced(final, record["files"], old.get("files", {}))
        else:
            tmp = models_dir() / f".tmp-{token}"
            tmp.mkdir()
            try:
                record["files"] = _write_payload(tmp, token, arrays, files)
                _write_meta(tmp / "meta.json", record)
                try:
                    os.rename(tmp, final)  # commit point (fails if a model folder appeared meanwhile)
                except OSError as e:
                    if _taken(e, final):  # another process saved this name first
                        raise ModelExistsError("store.exists_race", name=name) from None
                    raise
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            fsync_dir(final.parent)
        _cache.pop(name, None)
    return {"name": name, **record}


def _taken(e: OSError, dst: Path) -> bool:
    """True when a failed ``os.rename(src, dst)`` means ``dst`` is taken (a non-empty folder or a file)."""
    return e.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR) or os.path.lexists(dst)


def _remove_unreferenced(folder: Path, keep: dict, old: dict):
    keep_files = {v["file"] for v in keep.values()}
    for p in folder.iterdir():
        if p.name != "meta.json" and p.name not in keep_files:
            try:
                p.unlink()
            except OSError:
                pass


def _check_may_manage(name: str, folder: Path, by: str | None, instructor: bool) -> None:
    """Workshop mode: only the model's owner or the instructor may change it
    (:func:`digitlab.roles.can_manage`); a broken entry only the instructor. Single-user mode: anyone."""

    if not roles.workshop_enabled():
        return
    try:
        owner = read_meta(folder).get("owner")
    except CorruptModelError:
        owner = None  # nobody owns a broken entry: the instructor clears it
    if not roles.can_manage(owner, by, instructor=instructor is True):
        raise roles.NotAllowedError(f"the model {name!r} is not yours", "not_yours")


def rename(old: str, new: str, *, by: str | None = None, instructor: bool = False) -> None:
    """Rename a model (atomic folder rename); StoreError when ``new`` is taken. In workshop
    mode only its owner (``by``) or the instructor may (``roles.NotAllowedError``)."""
    check_name(new)
    with _lock:
        src = _path(old)
        if not (src / "meta.json").is_file():
            raise ModelNotFoundError("store.not_found", name=old)
        _check_may_manage(old, src, by, instructor)
        dst = models_dir() / new
        if dst.exists():
            raise ModelExistsError("store.exists", name=new)
        try:
            os.rename(src, dst)
        except OSError as e:
            if _taken(e, dst):
                raise ModelExistsError("store.exists", name=new) from None
            raise
        fsync_dir(dst.parent)
        _cache.pop(old, None)


def delete(name: str, *, by: str | None = None, instructor: bool = False) -> None:
    """Delete a model (renamed aside first, so it disappears at once). In workshop mode only
    its owner (``by``) or the instructor may (``roles.NotAllowedError``)."""
    with _lock:
        src = _path(name)
        if not src.exists():
            raise ModelNotFoundError("store.not_found", name=name)
        _check_may_manage(name, src, by, instructor)
        trash = models_dir() / f".del-{uuid.uuid4().hex[:8]}"
        os.rename(src, trash)
        shutil.rmtree(trash, ignore_errors=True)
        _cache.pop(name, None)


def _newest_mtime(p: Path) -> float:
    t = p.lstat().st_mtime
    if p.is_dir() and not p.is_symlink():
        for q in p.iterdir():
            try:
                t = max(t, q.lstat().st_mtime)
            except OSError:
                pass
    return t


def _cleanup_dir(d: Path, max_age_s: float) -> int:
    """Old ``.tmp-*``/``.del-*`` entries in ``d`` and old ``.meta.json.*.part`` files in its models."""
    n = 0
    now = time.time()
    for p in d.iterdir():
        try:
            if p.name.startswith(LEFTOVER_PREFIXES):
                if now - _newest_mtime(p) > max_age_s:
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink()
                    n += 1
            elif not p.name.startswith(".") and p.is_dir() and not p.is_symlink():
                for q in p.glob(".meta.json.*.part"):  # a crash inside _write_meta (files.write_atomic)
                    if now - q.lstat().st_mtime > max_age_s:
                        q.unlink()
                        n += 1
        except OSError:  # vanished meanwhile (another process), or not ours to remove
            continue
    return n


# ---------------------------------------------------------------- reading


def payload_file(folder: Path, meta: dict, role: str, verify: bool = True) -> Path:
    entry = meta["files"].get(role)
    if not entry or not isinstance(entry, dict) or "file" not in entry:
        raise CorruptModelError("store.no_payload", name=meta["name"], role=role)
    fname = entry["file"]
    if "/" in fname or "\\" in fname or fname.startswith("."):
        raise CorruptModelError("store.bad_file_name", name=meta["name"], file=fname)
    p = folder / fname
    if not p.is_file():
        raise CorruptModelError("store.file_missing", name=meta["name"], file=fname)
    if verify and sha256_file(p) != entry.get("sha256"):
        raise CorruptModelError("store.checksum", name=meta["name"], file=fname)
    return p


def _load_arrays(p: Path, name: str) -> dict:
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CorruptModelError("store.bad_weights", name=name, file=p.name, reason=f"{type(e).__name__}: {e}") from None


class StoredModel:
    """A loaded model: ``.meta``, ``.predict_proba(images)`` (NumPy only) and ``.net``.

    ``predict_proba`` takes uint8 (0-255) or float ([0, 1]) images, (n, 28, 28) or one
    (28, 28), and returns (n, 10) probabilities; for ``numpy-binary`` it returns
    (n, 2) = [P(digit 0), P(digit 1)] (``.classes`` says which).
    """

    def __init__(self, name: str, meta: dict, predictor: models.Predictor, path: Path):
        self.name, self.meta, self.predictor, self.path = name, meta, predictor, path

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def net(self):
        """The :mod:`digitlab.nn` Sequential (numpy-mlp, numpy-cnn, keras-cnn), else None."""
        return self.predictor.net

    @property
    def classes(self) -> int:
        return self.predictor.classes

    def predict_proba(self, images) -> np.ndarray:
        return self.predictor.predict_proba(images)

    def predict(self, images) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)

    def __repr__(self):
        return f"StoredModel({self.name!r}, kind={self.kind!r})"


_cache: dict[str, tuple[tuple, StoredModel]] = {}


def load(name: str, *, cached: bool = True) -> StoredModel:
    """Load a model for inference (checksums verified, nothing unpickled, no TensorFlow).

    With ``cached`` the same object is returned while its ``meta.json`` is unchanged
    (treat it as read-only)."""
    folder = _path(name)
    mp = folder / "meta.json"
    if not folder.exists():
        raise ModelNotFoundError("store.not_found_in", name=name, folder=str(models_dir()))
    try:
        st = mp.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        stamp = None
    with _lock:
        hit = _cache.get(name)
        if cached and hit and stamp and hit[0] == stamp:
            return hit[1]
    meta = read_meta(folder)
    arrays = _load_arrays(payload_file(folder, meta, "weights"), name)
    try:
        predictor = models.build_predictor(meta["kind"], meta["spec"], arrays)
    except CorruptModelError:
        raise
    except Exception as e:  # wrong shapes, missing arrays, bad spec
        raise CorruptModelError("store.weights_mismatch", name=name, reason=f"{type(e).__name__}: {e}") from None
    sm = StoredModel(name, meta, predictor, folder)
    if stamp:
        with _lock:
            _cache[name] = (stamp, sm)
    return sm


def read_folder(folder) -> tuple[dict, dict]:
    """``(meta, arrays)`` of the model folder ``folder`` wherever it is (a fine-tuning job's base,
    shipped to a Dask worker's temporary folder), checked as :func:`load` checks."""
    folder = Path(folder)
    meta = read_meta(folder)
    return meta, _load_arrays(payload_file(folder, meta, "weights"), meta["name"])


def model_folder(name: str) -> Path:
    """The folder of the stored model ``name`` (ModelNotFoundError when there is none)."""
    if not exists(name):
        raise ModelNotFoundError("store.not_found_in", name=name, folder=str(models_dir()))
    return _path(name)


def load_meta(name: str) -> dict:
    return read_meta(_path(name))


def keras_path(name: str) -> Path:
    """The verified ``.keras`` file of a keras-cnn model (loaded by
    :func:`digitlab.models.keras_trainer.load_keras`: TensorFlow stays out of this module)."""
    folder = _path(name)
    return payload_file(folder, read_meta(folder), "keras")


def list_models(*, include_broken: bool = False) -> list[dict]:
    """Metadata of every stored model, newest first. Unreadable entries are skipped, or
    listed as ``{"name", "error"}`` with ``include_broken``."""
    out, broken = [], []
    d = models_dir()
    for p in d.iterdir():
        if p.name.startswith("."):
            continue
        try:
            m = read_meta(p)
        except CorruptModelError as e:
            broken.append({"name": p.name, "error": str(e)})
            continue
        m.pop("spec", None)
        out.append(m)
    out.sort(key=lambda m: (str(m.get("created", "")), m["name"]), reverse=True)
    return out + (broken if include_broken else [])


def names() -> list[str]:
    return [m["name"] for m in list_models()]


def is_empty() -> bool:
    return not list_models()
