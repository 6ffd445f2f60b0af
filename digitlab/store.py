"""The model store: trained models on disk, written atomically, loaded without pickle.

Layout (``home()`` is ``$DIGITLAB_HOME``, default ``~/.digitlab``)::

    home()/models/<name>/meta.json              metadata, written last (the commit point)
    home()/models/<name>/weights-<token>.npz    weight arrays (np.savez; loaded with allow_pickle=False)
    home()/models/<name>/model-<token>.keras    keras-cnn only: the Keras model (for the worker; safe mode)

A save writes new payload files under fresh names, then replaces ``meta.json``
with ``os.replace`` (atomic on POSIX); a new model is built in a hidden temporary
folder and renamed into place. A crash at any point leaves either the previous
model or no model, never a half-written one; stray temporary files are cleaned up
later. ``meta.json`` records each payload file's SHA-256, so a truncated or
altered file is refused with :class:`CorruptModelError`, as is a folder or file
that is not a DigitLab model.

Inference (:meth:`StoredModel.predict_proba`) is NumPy only, for every kind: no
TensorFlow import, no unpickling (:func:`digitlab.models.build_predictor`).
"""
from __future__ import annotations

import hashlib
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

from . import models

FORMAT = "digitlab-model"
FORMAT_VERSION = 1
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_lock = threading.RLock()


class StoreError(Exception):
    """A store operation failed for a reason the user can act on (bad name, missing model...)."""


class ModelNotFoundError(StoreError, FileNotFoundError):
    """No model of that name."""


class CorruptModelError(StoreError):
    """A stored model is unreadable: truncated, altered, or not a DigitLab model at all."""


def home() -> Path:
    """The store root: ``$DIGITLAB_HOME``, default ``~/.digitlab`` (``models_dir()`` creates ``models/`` in it)."""
    h = os.environ.get("DIGITLAB_HOME") or os.path.join(os.path.expanduser("~"), ".digitlab")
    return Path(h)


def models_dir() -> Path:
    d = home() / "models"
    d.mkdir(parents=True, exist_ok=True)
    return d


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise StoreError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def _path(name: str) -> Path:
    return models_dir() / check_name(name)


def exists(name: str) -> bool:
    return (_path(name) / "meta.json").is_file()


def unique_name(base: str) -> str:
    """``base`` if free, else ``base-2``, ``base-3``..."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")[:56] or "model"
    if not base[0].isalnum():
        base = "m" + base
    name, i = base, 2
    while (models_dir() / name).exists():
        name, i = f"{base}-{i}", i + 1
    return name


# ---------------------------------------------------------------- writing


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_write(path: Path, write):
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _write_json_atomic(path: Path, obj: dict):
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    _fsync_write(tmp, lambda f: f.write(json.dumps(obj, indent=1, default=_json_default).encode()))
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(d: Path):
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


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
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    for k, v in arrays.items():
        if v.dtype == object:
            raise StoreError(f"array {k!r} has dtype object; only numeric arrays are stored")
    _fsync_write(folder / wname, lambda f: np.savez(f, **arrays))
    table["weights"] = {"file": wname, "sha256": _sha256(folder / wname)}
    for role, src in (files or {}).items():
        src = Path(src)
        fname = f"{role}-{token}{''.join(src.suffixes[-1:])}"
        shutil.copyfile(src, folder / fname)
        with open(folder / fname, "rb") as f:
            os.fsync(f.fileno())
        table[role] = {"file": fname, "sha256": _sha256(folder / fname)}
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
            raise StoreError(f"a model named {name!r} already exists")
        record = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "label": mk.label,
            "classes": mk.classes, "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            **meta, "spec": spec,
        }
        if final.exists():
            if not (final / "meta.json").is_file():
                raise StoreError(f"{final} exists and is not a DigitLab model; not overwritten")
            old = _read_meta(final)
            record["files"] = _write_payload(final, token, arrays, files)
            _write_json_atomic(final / "meta.json", record)  # commit point
            _remove_unreferenced(final, record["files"], old.get("files", {}))
        else:
            tmp = models_dir() / f".tmp-{token}"
            tmp.mkdir()
            try:
                record["files"] = _write_payload(tmp, token, arrays, files)
                _write_json_atomic(tmp / "meta.json", record)
                os.rename(tmp, final)  # commit point (fails if a folder appeared meanwhile)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            _fsync_dir(final.parent)
        _cache.pop(name, None)
    return {"name": name, **record}


def _remove_unreferenced(folder: Path, keep: dict, old: dict):
    keep_files = {v["file"] for v in keep.values()}
    for p in folder.iterdir():
        if p.name != "meta.json" and p.name not in keep_files:
            try:
                p.unlink()
            except OSError:
                pass


def rename(old: str, new: str) -> None:
    """Rename a model (atomic folder rename); StoreError when ``new`` is taken."""
    check_name(new)
    with _lock:
        src = _path(old)
        if not (src / "meta.json").is_file():
            raise ModelNotFoundError(f"no model named {old!r}")
        dst = models_dir() / new
        if dst.exists():
            raise StoreError(f"a model named {new!r} already exists")
        os.rename(src, dst)
        _fsync_dir(dst.parent)
        _cache.pop(old, None)


def delete(name: str) -> None:
    """Delete a model (renamed aside first, so it disappears at once)."""
    with _lock:
        src = _path(name)
        if not src.exists():
            raise ModelNotFoundError(f"no model named {name!r}")
        trash = models_dir() / f".del-{uuid.uuid4().hex[:8]}"
        os.rename(src, trash)
        shutil.rmtree(trash, ignore_errors=True)
        _cache.pop(name, None)


def cleanup(max_age_s: float = 3600) -> int:
    """Remove leftovers of crashed saves/deletes older than ``max_age_s``; returns how many."""
    n = 0
    now = time.time()
    for p in models_dir().iterdir():
        if p.name.startswith((".tmp-", ".del-")) and now - p.stat().st_mtime > max_age_s:
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


# ---------------------------------------------------------------- reading


def _read_meta(folder: Path) -> dict:
    name = folder.name
    mp = folder / "meta.json"
    if folder.exists() and not folder.is_dir():
        raise CorruptModelError(f"{name!r} is a file, not a DigitLab model folder")
    if not mp.is_file():
        raise CorruptModelError(f"{name!r} has no meta.json: not a DigitLab model")
    try:
        meta = json.loads(mp.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptModelError(f"{name!r}: meta.json is not valid JSON ({e.__class__.__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptModelError(f"{name!r}: meta.json is not DigitLab model metadata (a foreign file?)")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CorruptModelError(f"{name!r} was saved by a newer DigitLab (format {meta.get('format_version')})")
    for key in ("kind", "spec", "files"):
        if key not in meta:
            raise CorruptModelError(f"{name!r}: meta.json lacks {key!r}")
    if meta["kind"] not in models.REGISTRY:
        raise CorruptModelError(f"{name!r}: unknown model kind {meta['kind']!r}")
    if "weights" not in meta["files"]:
        raise CorruptModelError(f"{name!r}: meta.json names no weights file")
    meta["name"] = name
    return meta


def _payload_path(folder: Path, meta: dict, role: str, verify: bool = True) -> Path:
    entry = meta["files"].get(role)
    if not entry or not isinstance(entry, dict) or "file" not in entry:
        raise CorruptModelError(f"{meta['name']!r} has no {role} file")
    fname = entry["file"]
    if "/" in fname or "\\" in fname or fname.startswith("."):
        raise CorruptModelError(f"{meta['name']!r}: bad file name {fname!r} in meta.json")
    p = folder / fname
    if not p.is_file():
        raise CorruptModelError(f"{meta['name']!r}: {fname} is missing")
    if verify and _sha256(p) != entry.get("sha256"):
        raise CorruptModelError(f"{meta['name']!r}: {fname} is truncated or altered (checksum mismatch)")
    return p


def _load_arrays(p: Path, name: str) -> dict:
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CorruptModelError(f"{name!r}: {p.name} is not a readable weights file ({e.__class__.__name__}: {e})") from None


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
        raise ModelNotFoundError(f"no model named {name!r} (in {models_dir()})")
    try:
        st = mp.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        stamp = None
    with _lock:
        hit = _cache.get(name)
        if cached and hit and stamp and hit[0] == stamp:
            return hit[1]
    meta = _read_meta(folder)
    arrays = _load_arrays(_payload_path(folder, meta, "weights"), name)
    try:
        predictor = models.build_predictor(meta["kind"], meta["spec"], arrays)
    except CorruptModelError:
        raise
    except Exception as e:  # wrong shapes, missing arrays, bad spec
        raise CorruptModelError(f"{name!r}: weights do not fit the model description ({e.__class__.__name__}: {e})") from None
    sm = StoredModel(name, meta, predictor, folder)
    if stamp:
        with _lock:
            _cache[name] = (stamp, sm)
    return sm


def load_meta(name: str) -> dict:
    return _read_meta(_path(name))


def keras_path(name: str) -> Path:
    """The verified ``.keras`` file of a keras-cnn model."""
    folder = _path(name)
    return _payload_path(folder, _read_meta(folder), "keras")


def load_keras(name: str):
    """The Keras model of a keras-cnn (imports TensorFlow: worker and tests only), loaded in safe mode."""
    import keras

    p = keras_path(name)
    try:
        return keras.saving.load_model(p, safe_mode=True, compile=False)
    except Exception as e:
        raise CorruptModelError(f"{name!r}: {p.name} could not be loaded by Keras ({e.__class__.__name__}: {e})") from None


def list_models(*, include_broken: bool = False) -> list[dict]:
    """Metadata of every stored model, newest first. Unreadable entries are skipped, or
    listed as ``{"name", "error"}`` with ``include_broken``."""
    out, broken = [], []
    d = models_dir()
    for p in d.iterdir():
        if p.name.startswith("."):
            continue
        try:
            m = _read_meta(p)
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
