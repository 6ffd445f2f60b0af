"""The Class page's content (workshop mode, issue 15 item 4): the leaderboard of every stored
model, the room's numbers, the class's drawings and the best model's confusion on them.

No Streamlit here. The auto-refreshing part of the page is one HTML block
(:func:`panel_html`), served two ways like the live view of a job (:mod:`digitlab.live`):
a small HTTP route that the page's browser component polls (:data:`ROUTE`, answered by
:func:`endpoint` in app.py's ``st.App``: no script run per viewer per refresh), or, where the
route does not exist (AppTest), a Streamlit fragment.

What a refresh costs: each stored model predicts each drawing once (NumPy forward passes;
the predictions are kept per model and drawing id in this process, :data:`_evals`, until the
model's ``meta.json`` changes), so a new drawing costs one forward pass of it per model; a
refresh with nothing new reads the drawings (one SQLite query), stats every ``meta.json``
(:func:`digitlab.insight.store_fingerprint`) and formats HTML. The drawings' stamp is (how
many, the newest id, the database file's inode): SQLite's AUTOINCREMENT never reuses an id,
so any new drawing changes it and any deletion the count; the inode tells a database made anew.
"""
from __future__ import annotations

import html
import os
import sys
import threading
import time
import traceback
import zlib

import numpy as np

from . import insight, models, room as room_mod, states, store, texts, training

ROUTE = "/digitlab/class"  # served by app.py's st.App
ACTIVE_WITHIN_S = 600.0  # a participant seen in the last 10 minutes counts as in the room

_lock = threading.RLock()  # one refresh computes at a time; the others then find the cache warm
_evals: dict[str, dict] = {}  # model name -> its predictions per drawing id and last result (_evaluation)
_listing: tuple = ((), ())  # (store fingerprint, store.list_models() at that fingerprint)


# ---------------------------------------------------------------- the pieces


def _room(room=None):
    return room if room is not None else room_mod.Room()


def drawings(room=None):
    """The class's drawings (a Dataset, maybe empty) and their stamp ``(count, newest id, the
    database file's inode)``: the inode tells a database made anew (ids from 1 again)."""
    r = _room(room)
    ds = r.drawings_dataset()
    ids = ds.meta.get("ids") or []
    try:
        ino = os.stat(r.path).st_ino
    except OSError:
        ino = 0
    return ds, (len(ids), max(ids) if ids else 0, ino)


def newest_by_digit(ds, n: int) -> np.ndarray:
    """Indices of the ``n`` newest drawings of ``ds`` (saved in order, the newest last), ordered by
    digit (the newest's order kept within a digit): the Class page's grid."""
    newest = np.arange(len(ds))[-n:]
    return newest[np.argsort(ds.labels[newest], kind="stable")]


def _models() -> tuple[tuple, list[dict]]:
    """(the store's fingerprint, every stored model's metadata), re-read only when the fingerprint changes."""
    global _listing
    fp = insight.store_fingerprint(store.models_dir())
    with _lock:
        if _listing[0] != fp or not fp:
            try:
                metas = store.list_models()
            except (OSError, store.StoreError):
                metas = []
            _listing = (fp, metas)
        return _listing


def param_count(model) -> int:
    """How many numbers a loaded model learned: the sizes of its weight and bias arrays
    (``StoredModel.predictor``: a digitlab.nn network, scikit-learn's coefficients, or the
    0-vs-1 net's W1, b1, W2, b2; the binary net's input scale is a setting, not counted)."""
    p = model.predictor
    if isinstance(p, models.NetPredictor):
        return int(sum(w.size for w in p.net.get_weights()))
    if isinstance(p, models.SklearnPredictor):
        return int(sum(a.size for a in p.W) + sum(a.size for a in p.b))
    params = getattr(p, "params", None) or {}
    return int(sum(np.asarray(v).size for k, v in params.items() if k != "input_scale"))


def _readable(classes: int, labels: np.ndarray) -> np.ndarray:
    """Which drawings a model reads: all, or for a 0-vs-1 model only the 0s and 1s (as
    :func:`digitlab.evaluation.evaluate` does)."""
    return np.isin(labels, (0, 1)) if classes == 2 else np.ones(len(labels), bool)


def evaluate_on(model, ds) -> dict:
    """A loaded model on labelled drawings: ``accuracy`` (None when it has none to read), ``n``
    and the ``confusion`` matrix (k x k, k = the model's classes); a 0-vs-1 model reads only
    the 0s and 1s."""
    keep = _readable(model.classes, ds.labels)
    x, y = ds.images[keep], ds.labels[keep]
    pred = np.asarray(model.predict_proba(x)).argmax(1) if len(y) else np.zeros(0, np.int64)
    return insight.scores(y, pred, model.classes)


def _evaluation(name: str, meta_stamp, ds, ds_stamp) -> dict:
    """One model's parameter count and result on the drawings; an unreadable model gives
    ``{"error": ...}``. Cached per model: its predictions per drawing id (a drawing is never
    changed, only saved or deleted), so a new drawing costs each model one forward pass of
    that drawing; all are predicted again when ``meta.json`` changes (the model was replaced)
    or the database was made anew. The result itself is kept for the drawings' stamp."""
    with _lock:
        e = _evals.get(name)
        if e is None or e["meta"] != meta_stamp or e["db"] != ds_stamp[2]:
            e = {"meta": meta_stamp, "db": ds_stamp[2], "drawings": None, "pred": {}, "error": None, "seen": set()}
            try:
                m = store.load(name)
                e["params"], e["classes"] = param_count(m), m.classes
                # a fine-tuned copy is scored only on the drawings it did not train on
                e["seen"] = set((m.meta.get("finetune") or {}).get("trained_ids") or ())
            except Exception as ex:  # noqa: BLE001 - one broken model must not hide the others
                e["error"] = f"{type(ex).__name__}: {ex}"
                e["drawings"] = ds_stamp
                e["ev"] = {"params": None, "classes": None, "accuracy": None, "n": 0, "confusion": None,
                           "error": e["error"]}
            _evals[name] = e
        if e["drawings"] == ds_stamp:
            return e["ev"]
        all_ids = np.asarray(ds.meta.get("ids") or [], np.int64)
        keep = _readable(e["classes"], ds.labels) & np.array([i not in e["seen"] for i in all_ids.tolist()], bool)
        ids = all_ids[keep]
        x, y = ds.images[keep], ds.labels[keep]
        known = e["pred"]
        new = np.array([i not in known for i in ids.tolist()], bool)
        if new.any():
            try:
                got = np.asarray(store.load(name).predict_proba(x[new])).argmax(1)
            except Exception as ex:  # noqa: BLE001 - e.g. its files vanished meanwhile
                e["meta"] = None  # start again next time
                return {"params": e["params"], "classes": e["classes"], "accuracy": None, "n": 0, "confusion": None,
                        "error": f"{type(ex).__name__}: {ex}"}
            known.update(zip(ids[new].tolist(), got.tolist()))
        e["pred"] = known = {i: known[i] for i in ids.tolist()}  # deleted drawings forgotten
        pred = np.array([known[i] for i in ids.tolist()], np.int64)
        e["drawings"] = ds_stamp
        e["ev"] = {"params": e["params"], "classes": e["classes"], **insight.scores(y, pred, e["classes"]), "error": None}
        return e["ev"]


def _sort_key(row: dict):
    acc, dacc = row["accuracy"], row["drawings_accuracy"]
    return (acc is None, -(acc or 0.0), dacc is None, -(dacc or 0.0), row["name"])


def leaderboard(lang: str = "en", *, room=None, _snapshot=None) -> list[dict]:
    """A row per stored model, best first (by the accuracy shown, then by the drawings').

    Each row: ``name``, ``owner`` (None for a class default), ``owner_label`` (the owner, or
    the class's label in ``lang``), ``is_class``, ``kind``, ``kind_label``, ``classes`` (2 for
    a 0-vs-1 model), ``accuracy`` (the one shown) and ``accuracy_on``: ``"test"`` (the official
    MNIST test set, metrics ``test_accuracy``), ``"val"`` (the model's held-out split,
    ``val_accuracy``) or None, with ``accuracy_label`` saying which in ``lang``;
    ``test_accuracy``, ``val_accuracy``; ``drawings_accuracy`` (None when no drawing it can
    read) and ``drawings_n``; ``train_seconds``; ``params``; ``stopped``; ``error`` (a model
    that cannot be loaded: its reason)."""
    ds, ds_stamp = _snapshot or drawings(room)
    fp, metas = _models()
    stamps = {n: (mtime, size) for n, mtime, size in fp}
    rows = []
    for meta in metas:
        name = meta["name"]
        met = meta.get("metrics") or {}
        test, val = met.get("test_accuracy"), met.get("val_accuracy")
        on = "test" if test is not None else "val" if val is not None else None
        ev = _evaluation(name, stamps.get(name), ds, ds_stamp)
        owner = meta.get("owner")
        is_class = room_mod.is_class_owner(owner)
        rows.append({
            "name": name, "owner": None if is_class else owner,
            "owner_label": texts.text(lang, "class.owner_class") if is_class else owner, "is_class": is_class,
            "kind": meta.get("kind"), "kind_label": texts.kind_label(lang, meta.get("kind")),
            "classes": ev["classes"] or meta.get("classes"),
            "accuracy": test if on == "test" else val, "accuracy_on": on,
            "accuracy_label": texts.text(lang, f"class.acc.{on}") if on else "",
            "test_accuracy": test, "val_accuracy": val,
            "drawings_accuracy": ev["accuracy"], "drawings_n": ev["n"],
            "train_seconds": meta.get("train_seconds"), "params": ev["params"],
            "stopped": bool(meta.get("stopped")), "error": ev["error"],
        })
    with _lock:  # forget models that are gone
        for gone in set(_evals) - set(stamps):
            _evals.pop(gone, None)
    rows.sort(key=_sort_key)
    return rows


def best_model_confusion(lang: str = "en", *, room=None, rows: list[dict] | None = None) -> dict | None:
    """The confusion matrix of the best model on the class's drawings: the model that reads
    most of them right (ten-digit models first: a 0-vs-1 model reads only the 0s and 1s; ties
    in leaderboard order). A dict: ``name``, ``owner_label``, ``kind_label``, ``accuracy``,
    ``n``, ``classes`` and ``matrix`` ((k, k) counts, rows = true digit); None when no model
    read any drawing."""
    rows = leaderboard(lang, room=room) if rows is None else rows
    measured = [r for r in rows if r["drawings_accuracy"] is not None]
    if not measured:
        return None
    ten = [r for r in measured if r["classes"] != 2]
    pool = ten or measured
    best = max(pool, key=lambda r: (r["drawings_accuracy"], -pool.index(r)))
    with _lock:
        ev = (_evals.get(best["name"]) or {}).get("ev") or {}
    matrix = ev.get("confusion")
    if matrix is None:
        return None
    return {"name": best["name"], "owner_label": best["owner_label"], "kind_label": best["kind_label"],
            "accuracy": best["drawings_accuracy"], "n": best["drawings_n"], "classes": best["classes"],
            "matrix": np.asarray(matrix)}


def clear_room(room=None, *, by: str | None = None, wait_s: float = 10.0) -> tuple[int, int]:
    """The instructor's "Clear the room": every model but the class defaults, every drawing, the
    participants' queued and running jobs (stopped; each stopped run is given up to ``wait_s``
    in all to save its finished epochs, then its model is deleted too) and the trainer's finished
    jobs (forgotten). ``by``: the instructor's display name. Returns (models deleted, drawings
    deleted)."""
    w = training.current_worker()
    stopped = []
    for j in (w.jobs(instructor=True) if w is not None else []):  # participants' queued and running jobs
        if states.is_active(j) and not room_mod.is_class_owner(j.get("owner")):
            try:
                w.stop(j["id"], instructor=True)
                stopped.append(j["id"])
            except KeyError:
                pass
    deadline = time.monotonic() + wait_s  # a stopped run keeps its finished epochs: let it save, then delete
    for jid in stopped:
        try:
            w.wait(jid, max(0.1, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - forgotten or still stopping: its model is deleted next time
            pass
    n_models = 0
    for meta in store.list_models():
        if not room_mod.is_class_owner(meta.get("owner")):
            try:
                store.delete(meta["name"], by=by, instructor=True)
                n_models += 1
            except (OSError, store.StoreError):
                pass  # gone meanwhile
    n_drawings = _room(room).clear_drawings()
    forget = getattr(w, "forget_finished", None)  # the trainer may free them for real
    if callable(forget):
        forget()
    return n_models, n_drawings


def room_numbers(*, room=None, n_models: int | None = None, n_drawings: int | None = None) -> dict:
    """The room's numbers: ``participants`` (seen within :data:`ACTIVE_WITHIN_S`), ``models``,
    ``running`` and ``queued`` jobs (this process's trainer, never started here) and ``drawings``."""
    r = _room(room)
    w = training.current_worker()
    jobs = w.jobs(instructor=True) if w is not None else []
    return {
        "participants": len(r.participants(active_within_s=ACTIVE_WITHIN_S)),
        "models": len(_models()[1]) if n_models is None else n_models,
        "running": sum(j["state"] == states.RUNNING for j in jobs),
        "queued": sum(j["state"] == states.QUEUED for j in jobs),
        "drawings": sum(r.counts_per_digit()) if n_drawings is None else n_drawings,
    }


# ---------------------------------------------------------------- the HTML


def fmt_seconds(lang: str, s) -> str:
    """A training time: ``0.4 s``, ``42 s``, ``2.5 min`` (the language's decimal mark); "–" for none."""
    if s is None or not np.isfinite(s):
        return "–"
    if s < 90:
        return f"{texts.number(lang, s, 1 if s < 10 else 0)} s"
    return f"{texts.number(lang, s / 60, 1)} min"


_E = html.escape
_MUTED = "opacity:.7;font-size:0.8rem;white-space:nowrap"
_WIDE = ' class="dl-wide"'
_STYLE = ("<style>.dl-class .dl-narrow{display:none}@media (max-width:640px){.dl-class .dl-wide{display:none}"
          ".dl-class .dl-narrow{display:block}.dl-class td,.dl-class th{padding:0.25rem 0.3rem!important;"
          "font-size:0.85rem}}</style>")
_CELL = "padding:0.3rem 0.6rem;border-bottom:1px solid rgba(128,128,128,0.25);text-align:{a};vertical-align:top"


def _numbers_html(lang: str, nums: dict) -> str:
    t = lambda k: texts.text(lang, k)  # noqa: E731
    cells = "".join(
        f'<div style="flex:1 1 7rem;min-width:0"><div style="font-size:0.875rem;opacity:.8">{_E(t(f"class.n.{k}"))}</div>'
        f'<div class="dl-value" data-testid="dl-class-{k}" style="font-size:1.75rem;line-height:1.5">'
        f'{_E(texts.number(lang, nums[k]))}</div></div>'
        for k in ("participants", "models", "running", "queued", "drawings"))
    return f'<div style="display:flex;flex-wrap:wrap;gap:0.5rem 1rem;margin:0 0 1rem">{cells}</div>'


def _table_html(lang: str, rows: list[dict]) -> str:
    t = lambda k, **f: texts.text(lang, k, **f)  # noqa: E731
    if not rows:
        return f'<p data-testid="dl-class-no-models">{_E(t("class.no_models"))}</p>'
    # (text, align, wide-only): on a narrow screen the kind goes under the model's name and the
    # training time and parameters are left out, so the accuracies fit without scrolling
    heads = [("class.col.rank", "right", 0), ("class.col.owner", "left", 0), ("class.col.model", "left", 0),
             ("class.col.kind", "left", 1), ("class.col.acc", "right", 0), ("class.col.drawings", "right", 0),
             ("class.col.time", "right", 1), ("class.col.params", "right", 1)]
    wide = [w for _, _, w in heads]
    head = "".join(f'<th{_WIDE if w else ""} style="{_CELL.format(a=a)};font-weight:600;vertical-align:bottom">'
                   f'{_E(t(k))}</th>' for k, a, w in heads)
    body = []
    for i, r in enumerate(rows, 1):
        owner = _E(r["owner_label"] or "")
        if r["is_class"]:
            owner = f'<span style="opacity:.7">{owner}</span>'
        kind = _E(r["kind_label"])
        if r["classes"] == 2:
            kind += f'<div style="{_MUTED}">{_E(t("class.binary"))}</div>'
        model = (f'<span style="white-space:nowrap">{_E(r["name"])}</span>'
                 f'<div class="dl-narrow" style="{_MUTED};white-space:normal">{kind}</div>')
        if r["error"]:
            model += f'<div style="{_MUTED};color:#c62828">{_E(t("class.broken"))}</div>'
        elif r["stopped"]:
            model += f'<div style="{_MUTED}">{_E(t("class.stopped"))}</div>'
        acc = _E(texts.percent(lang, r["accuracy"]))
        if r["accuracy_on"]:
            acc += f'<div style="{_MUTED}">{_E(r["accuracy_label"])}</div>'
        if r["drawings_accuracy"] is None:
            dr = "–"
        else:
            dr = (f'{_E(texts.percent(lang, r["drawings_accuracy"]))}'
                  f'<div style="{_MUTED}">{_E(t("class.of_n", n=texts.number(lang, r["drawings_n"])))}</div>')
        cells = [(str(i), "right"), (owner, "left"), (model, "left"), (kind, "left"), (acc, "right"), (dr, "right"),
                 (_E(fmt_seconds(lang, r["train_seconds"])), "right"), (_E(texts.number(lang, r["params"])), "right")]
        body.append("<tr>" + "".join(f'<td{_WIDE if w else ""} style="{_CELL.format(a=a)}">{c}</td>'
                                     for (c, a), w in zip(cells, wide)) + "</tr>")
    return (f'{_STYLE}<div style="overflow-x:auto"><table data-testid="dl-class-table" style="border-collapse:collapse;'
            f'width:100%;font-size:0.95rem"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f'<p style="opacity:.7;font-size:0.8rem;margin-top:0.4rem">{_E(t("class.acc_note"))}</p>')


def _counts_html(lang: str, counts: list[int]) -> str:
    t = lambda k: texts.text(lang, k)  # noqa: E731
    top = max(counts) or 1
    cells = "".join(
        f'<div style="flex:1 1 0;min-width:0;text-align:center">'
        f'<div style="height:3rem;display:flex;align-items:flex-end;justify-content:center">'
        f'<div style="width:60%;height:{100 * c / top:.0f}%;min-height:2px;background:#3b6fb6;border-radius:2px 2px 0 0">'
        f'</div></div><div style="font-weight:600">{d}</div><div style="{_MUTED}">{_E(texts.number(lang, c))}</div></div>'
        for d, c in enumerate(counts))
    return (f'<div style="margin-top:1rem"><div style="font-size:0.875rem;opacity:.8;margin-bottom:0.25rem">'
            f'{_E(t("class.counts"))}</div><div data-testid="dl-class-counts" style="display:flex;gap:0.25rem">'
            f'{cells}</div></div>')


def panel(lang: str = "en", *, room=None) -> dict:
    """``{"html", "stamp"}``: the panel (:func:`panel_html`) and a stamp of what it shows
    beyond the room's numbers (the drawings and the store), so a page knows when its own
    drawings grid and confusion matrix are out of date."""
    if lang not in texts.LANGS:
        lang = "en"
    r = _room(room)
    with _lock:
        snap = drawings(r)
        ds, ds_stamp = snap
        rows = leaderboard(lang, room=r, _snapshot=snap)
        fp = _listing[0]
    counts = ds.class_counts()
    nums = room_numbers(room=r, n_models=len(rows), n_drawings=len(ds))
    body = (f'<div class="dl-class" data-testid="dl-class">{_numbers_html(lang, nums)}'
            f'<div style="font-size:1.1rem;font-weight:600;margin:0.25rem 0 0.5rem">'
            f'{_E(texts.text(lang, "class.leaderboard"))}</div>'
            f'{_table_html(lang, rows)}{_counts_html(lang, counts)}</div>')
    return {"html": body, "stamp": f"{ds_stamp[0]}-{ds_stamp[1]}-{zlib.crc32(repr((ds_stamp, fp)).encode()):08x}"}


def panel_html(lang: str = "en", *, room=None) -> str:
    """The Class page's auto-refreshing block as one HTML string: the room's numbers, the
    leaderboard and the drawings per digit. Every participant-given string (names of owners
    and models) is escaped."""
    return panel(lang, room=room)["html"]


def endpoint(request):
    """The route's handler (Starlette): ``GET /digitlab/class?lang=..`` -> JSON ``{"html", "stamp", "key"}``,
    never cached. A plain function, so Starlette runs it in its thread pool: a cold leaderboard
    (every model evaluated on the drawings) never holds up the server's event loop."""
    from starlette.responses import JSONResponse

    try:
        payload = panel(request.query_params.get("lang", "en"))
    except Exception as e:  # noqa: BLE001 - the reason in the server log; the page keeps its last panel
        traceback.print_exc(file=sys.stderr)
        return JSONResponse({"html": "", "stamp": "", "error": type(e).__name__}, status_code=500,
                            headers={"Cache-Control": "no-store"})
    # "key": what the page's poller compares with the stamp it was drawn with (one rerun on a change)
    return JSONResponse({**payload, "key": payload["stamp"]}, headers={"Cache-Control": "no-store"})
