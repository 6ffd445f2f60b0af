"""The worker's side of a Dask training job: :func:`run_task`, which a Dask worker runs.

It trains with :func:`digitlab.jobs.train_job` (nothing saved) in a temporary ``DIGITLAB_HOME``
that is removed afterwards (workers need no shared disk), logs the job's events on the engine's
topic of the scheduler, and reads Stop from a ``distributed.Event`` in a thread beside the job.
The server's side is :mod:`digitlab.engine_dask`; docs/architecture.md, "Training on a Dask
cluster", says how each part travels.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
import traceback
from pathlib import Path

from . import jobs, trainer_process
from .errors import DigitLabError, _plain

STOP_WAIT_S = 0.5  # one scheduler-side wait of a task's Stop watcher
_home_lock = threading.Lock()
_homes: list[str] = []  # the DIGITLAB_HOMEs of the home_env blocks open in this process, newest last
_homes_before: list = [None]  # DIGITLAB_HOME before the first of them


def error_event(e: BaseException) -> dict:
    """A job's ``error`` event for ``e``, as the trainer process reports it (code and params of a
    :class:`DigitLabError`, else None and {})."""
    coded = isinstance(e, DigitLabError)
    return {"type": "error", "error": f"{type(e).__name__}: {e}", "code": e.code if coded else None,
            "params": e.params if coded else {}, "traceback": traceback.format_exc(limit=8)}


@contextlib.contextmanager
def home_env(path: str | None):
    """``DIGITLAB_HOME`` is ``path`` inside the block (nothing changes when it already is). The
    environment is the process's: with blocks in several threads (a worker running two tasks),
    it names the newest block's folder and, once all have ended, what it was before."""
    if not path or os.environ.get("DIGITLAB_HOME") == str(path):
        yield
        return
    with _home_lock:
        if not _homes:
            _homes_before[0] = os.environ.get("DIGITLAB_HOME")
        _homes.append(str(path))
        os.environ["DIGITLAB_HOME"] = str(path)
    try:
        yield
    finally:
        with _home_lock:
            _homes.remove(str(path))
            now = _homes[-1] if _homes else _homes_before[0]
            if now is None:
                os.environ.pop("DIGITLAB_HOME", None)
            else:
                os.environ["DIGITLAB_HOME"] = now


class _Topic:
    """A queue-like sink (``put``) that logs each event on the engine's topic of the scheduler."""

    def __init__(self, worker, topic: str):
        self.worker, self.topic = worker, topic

    def put(self, ev: dict):
        self.worker.log_event(self.topic, _plain(ev))  # msgpack-ready: plain numbers, strings, lists


def _watch_stop(stop_ev, flag: threading.Event, done: threading.Event, lock: threading.Lock, sink, jid: str):
    """Beside the task: wait on the job's distributed Event; once set, raise the local flag the
    trainers poll and report ``stopping`` (never after the task has returned)."""
    while not done.is_set():
        try:
            is_set = stop_ev.wait(timeout=STOP_WAIT_S)
        except Exception:  # noqa: BLE001 - a hiccup of the scheduler connection: try again
            is_set = False
            time.sleep(0.2)
        if is_set:
            with lock:
                if not done.is_set():
                    flag.set()
                    sink.put({"type": "stopping", "job": jid, "t": time.time()})
            return


def _unpack(job: dict, shipped: dict, folder: Path) -> dict:
    """The job with its shipped datasets written under ``folder`` and its specs pointing there."""
    job = dict(job)
    for field, ship in shipped.items():
        if not ship:
            continue
        d = folder / f"data-{field}"
        if ship.get("folder"):  # a model's folder keeps its name (its errors say it)
            d = d / ship["folder"]
        d.mkdir(parents=True)
        for name, blob in ship["files"].items():
            (d / name).write_bytes(blob)
        value = str(d / ship["entry"]) if ship["entry"] else str(d)
        outer, _, inner = field.partition(".")  # "finetune.heldout": a field of the job's finetune dict
        if inner:
            job[outer] = {**(job.get(outer) or {}), inner: value}
        else:
            job[field] = value
    return job


def run_task(job: dict, topic: str, stop_name: str, shipped: dict | None = None):
    """One job on a Dask worker: :func:`digitlab.jobs.train_job` in a temporary ``DIGITLAB_HOME``,
    events to ``topic``, Stop from the Event ``stop_name``. Returns ``(final event, payload)``,
    the payload :func:`digitlab.jobs.portable` (no Keras object crosses to the server); any
    exception is the job's error event."""
    import distributed

    worker = distributed.get_worker()
    stop_ev = distributed.Event(stop_name, client=distributed.get_client())
    jid, sink = job["id"], _Topic(worker, topic)
    home = tempfile.mkdtemp(prefix="digitlab-dask-home-")
    flag, done, lock = threading.Event(), threading.Event(), threading.Lock()
    sink.put({"type": "started", "job": jid, "t": time.time(), "pid": os.getpid(), "worker": worker.address,
              "home": home})
    threading.Thread(target=_watch_stop, args=(stop_ev, flag, done, lock, sink, jid), name="digitlab-dask-stop",
                     daemon=True).start()
    final, payload = None, None
    try:
        with home_env(home):
            local = _unpack(job, shipped or {}, Path(home))
            emit = trainer_process._throttled_emit(sink, jid)
            if job.get("_test_hook"):
                emit = trainer_process._test_hook(job["_test_hook"], emit, flag.is_set)
            final, payload = jobs.train_job(local, emit, flag.is_set)
            payload = jobs.portable(payload)
    except BaseException as e:  # noqa: BLE001 - reported as the job's error; the worker goes on
        final, payload = error_event(e), None
    finally:
        with lock:
            done.set()
        shutil.rmtree(home, ignore_errors=True)
    return _plain(final), payload
