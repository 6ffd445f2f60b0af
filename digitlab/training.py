"""The trainer pool the server shares: :class:`Worker`, its job queue and the jobs' states.

Three modules make training (docs/architecture.md, "Training jobs and the trainer process"):

* :mod:`digitlab.jobs` — one job, load → train → evaluate → save (:func:`run_job`);
* :mod:`digitlab.trainer_process` — the child process that runs jobs, its Stop flag and lifetime;
* this module — the server's side: ``Worker`` owns one trainer process (multiprocessing
  *spawn*), started once and kept warm; only that process imports TensorFlow. Jobs run one
  at a time; later jobs wait in a queue kept here (so positions and cancelling are free).
  The child streams events through a multiprocessing queue; a listener thread folds them
  into per-job state under a lock, so ``status()`` is a dictionary copy (no IPC round trip)
  and every Streamlit session shares one ``Worker``.

Events (dicts, each with ``job`` and a per-job ``seq``):

* ``{"type": "phase", "phase": "loading data" | "importing TensorFlow" | "training" | "evaluating" | "saving"}``
* ``{"type": "batch", "epoch", "batch", "n_batches", "loss", "accuracy", "samples_per_s"}`` (at most ~10/s)
* ``{"type": "epoch", "epoch", "epochs", "loss", "accuracy", "val_loss", "val_accuracy", "samples_per_s", "seconds"}``
* ``{"type": "done" | "stopped", "model": name or None, "metrics": {...}}`` / ``{"type": "error", "error": "...",
  "code": ..., "params": {...}}`` (a :class:`digitlab.errors.DigitLabError`'s code and params, else None and {};
  a page words it with :func:`digitlab.texts.error_message`)

Stop: a shared flag polled by the trainers every batch (numpy, Keras) or every
chunk of ~8 batches (scikit-learn), so a running job ends within about a second. The
child acknowledges the Stop at once (a ``stopping`` event): an acknowledged job is left
to reach its next poll however busy the machine is (an epoch's validation pass can take
seconds under load, and killing it then lost the epoch that had finished), and is
terminated only if it still runs ``stop_timeout`` seconds (60 s) after Stop. A process
that does not even acknowledge within ``stop_grace`` seconds (3 s) is stuck and
terminated. Either way a fresh trainer is spawned and the queue goes on.

Lifetime: the child ends with its parent, by any signal (:mod:`digitlab.trainer_process`).
On SIGTERM/SIGINT the server shuts the worker down from ``app.py``'s lifespan
(:func:`server_lifespan`; uvicorn re-raises the signal after its shutdown, so ``atexit``
alone never ran).

A stopped job **keeps its partial model** when at least one epoch (or, for the
binary net, one reported step) finished: it is saved like any other with
``meta["stopped"] = True``; the job's ``model`` names it. Stopped before that, or
terminated, nothing is saved. Either way the store is consistent (saves are atomic).

Default models: :meth:`Worker.ensure_defaults` queues :data:`digitlab.defaults.DEFAULT_MODELS`
when the store is empty; :func:`get_worker` calls it unless ``DIGITLAB_NO_DEFAULTS=1``.
"""
from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import threading
import time
import uuid

import numpy as np

from . import models, roles, room, store, trainer_process
from .defaults import DEFAULT_MODELS
from .evaluation import official_test_path
from .jobs import run_job
from .states import ACTIVE, ERROR, FINISHED, QUEUED, RUNNING, STATES, STOPPED

__all__ = ["DEFAULT_MODELS", "STATES", "Worker", "current_worker", "defaults_enabled", "get_worker", "is_job_id",
           "official_test_path", "run_job", "server_lifespan"]



def is_job_id(s) -> bool:
    """Is ``s`` a job id as :meth:`Worker.submit` makes them (``j{n}-{6 hex}``, e.g. ``j3-9f1c2a``)?
    The Train page checks an id from the address with it before using or showing it."""
    import re

    return isinstance(s, str) and re.fullmatch(r"j[1-9][0-9]{0,11}-[0-9a-f]{6}", s) is not None


MAX_BATCH_EVENTS = 500
KEPT_BATCHES = 120  # batch events a finished job keeps (its live chart showed at most that many)
MAX_FINISHED_JOBS = 200  # finished jobs remembered (status/events) before the oldest are forgotten

class _Job:
    __slots__ = ("id", "kind", "name", "preset", "config", "data", "seed", "test", "state", "error", "error_code",
                 "error_params", "traceback", "model", "metrics", "progress", "phase", "epochs", "batches", "events",
                 "submitted", "started", "finished", "stop_requested", "stop_seen", "stop_acked", "hook", "owner")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        self.epochs, self.events = [], []
        self.batches = collections.deque(maxlen=MAX_BATCH_EVENTS)


class Worker:
    """The trainer worker: one warm child process, one job at a time, a queue in front.

    Thread-safe; ``status``/``events``/``jobs`` read parent-side state only (cheap)."""

    def __init__(self, *, stop_grace: float = 3.0, stop_timeout: float = 60.0, start: bool = True):
        self._ctx = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._queue: list[str] = []
        self._running: str | None = None
        self._proc = self._job_q = self._ev_q = self._stop_ev = None
        self._closed = False
        self._homes: dict[str, str] = {}  # job id -> DIGITLAB_HOME at submit time (the child follows it)
        self.stop_grace = stop_grace  # seconds for the child to acknowledge a Stop
        self.stop_timeout = stop_timeout  # seconds for an acknowledged job to end
        self.pid = None
        self._ids = itertools.count(1)
        if start:
            self._spawn()
        self._listener = threading.Thread(target=self._listen, name="digitlab-worker-listener", daemon=True)
        self._listener.start()

    # ---- process management (listener thread or under the lock)

    def _spawn(self):
        self._job_q, self._ev_q, self._stop_ev = self._ctx.Queue(), self._ctx.Queue(), trainer_process.StopFlag(self._ctx)
        self._proc = trainer_process.spawn(self._ctx, self._job_q, self._ev_q, self._stop_ev)
        self.pid = self._proc.pid

    def _kill(self):
        p = self._proc
        if p is None:
            return
        p.terminate()
        with contextlib.suppress(OSError):
            os.kill(p.pid, signal.SIGCONT)  # a stopped (SIGSTOP) process handles the SIGTERM only once continued
        p.join(2)
        if p.is_alive():
            p.kill()
            p.join(2)
        for q in (self._job_q, self._ev_q):
            try:
                q.cancel_join_thread()
                q.close()
            except Exception:  # noqa: BLE001
                pass
        self._proc = None

    def _dispatch(self):
        if self._closed or self._running or not self._queue:
            return
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._spawn()
        jid = self._queue.pop(0)
        j = self._jobs[jid]
        self._stop_ev.clear()
        j.state, j.started = RUNNING, time.time()
        self._running = jid
        msg = {"id": jid, "kind": j.kind, "preset": j.preset, "config": j.config, "data": j.data, "name": j.name,
               "seed": j.seed, "test": j.test, "home": self._homes.get(jid), "_test_hook": j.hook, "owner": j.owner}
        self._job_q.put(msg)
        self._cond.notify_all()

    def _finish(self, j: _Job, state: str, error: str | None = None):
        j.state, j.finished = state, time.time()
        if error is not None:
            j.error = error
        # a finished job keeps its epochs and a thinned curve of batches, not every batch event:
        # a server running a workshop day would otherwise hold (and garbage-collect) them all
        if len(j.batches) > KEPT_BATCHES:
            keep = np.linspace(0, len(j.batches) - 1, KEPT_BATCHES).round().astype(int)
            j.batches = collections.deque([j.batches[i] for i in keep], maxlen=MAX_BATCH_EVENTS)
        n_batch = sum(e.get("type") == "batch" for e in j.events)
        if n_batch > KEPT_BATCHES:  # thin the batch events too, then renumber (seq stays the list index)
            keep_ids = {id(b) for b in j.batches}
            j.events = [dict(e, seq=i) for i, e in enumerate(
                e for e in j.events if e.get("type") != "batch" or id(e) in keep_ids)]
        if self._running == j.id:
            self._running = None
        self._prune()
        self._cond.notify_all()

    def _prune(self):
        """Forget the oldest finished jobs beyond MAX_FINISHED_JOBS (a long-running server)."""
        done = [j for j in self._jobs.values() if j.state in FINISHED]
        excess = len(done) - MAX_FINISHED_JOBS
        for j in sorted(done, key=lambda j: j.finished or 0)[:max(0, excess)]:
            self._jobs.pop(j.id, None)
            self._homes.pop(j.id, None)

    def _listen(self):
        while True:
            with self._lock:
                if self._closed:
                    return
                q = self._ev_q
            ev = None
            if q is not None:
                try:
                    ev = q.get(timeout=0.05)
                except queue_mod.Empty:
                    pass
                except (EOFError, OSError, ValueError):
                    time.sleep(0.05)
            else:
                time.sleep(0.05)
            with self._lock:
                if self._closed:
                    return
                if ev is not None and q is self._ev_q:
                    self._handle(ev)
                self._watchdog()
                self._dispatch()

    def _handle(self, ev: dict):
        j = self._jobs.get(ev.get("job"))
        if j is None:
            return
        typ = ev.get("type")
        ev = dict(ev, seq=len(j.events))
        j.events.append(ev)
        if typ == "started":
            j.started = ev.get("t", j.started)
        elif typ == "stopping":
            j.stop_seen = ev.get("t", time.time())
        elif typ == "phase":
            j.phase = ev.get("phase")
            if j.stop_requested is not None and j.phase in ("evaluating", "saving"):
                j.stop_acked = True  # training has ended: let it save the partial model
        elif typ == "batch":
            j.batches.append(ev)
            j.progress = ev
        elif typ == "epoch":
            j.epochs.append(ev)
            j.progress = ev
        elif typ in ("done", "stopped"):
            j.model, j.metrics = ev.get("model"), ev.get("metrics")
            self._finish(j, typ)
        elif typ == "error":
            j.traceback, j.error_code, j.error_params = ev.get("traceback"), ev.get("code"), ev.get("params") or {}
            self._finish(j, ERROR, ev.get("error"))
        self._cond.notify_all()

    def _watchdog(self):
        jid = self._running
        if jid is None:
            return
        j = self._jobs[jid]
        alive = self._proc is not None and self._proc.is_alive()
        waited = time.time() - j.stop_requested if j.stop_requested else 0.0
        if j.stop_requested and not j.stop_acked and (
                waited > self.stop_timeout or (j.stop_seen is None and waited > self.stop_grace)):
            self._kill()
            j.events.append({"type": "stopped", "job": jid, "seq": len(j.events), "t": time.time(),
                             "model": None, "terminated": True})
            self._finish(j, STOPPED, None)
            j.phase = "terminated (ignored Stop)"
            self._spawn()
        elif not alive:
            code = self._proc.exitcode if self._proc is not None else None
            self._kill()
            err = f"the trainer process died (exit code {code})"
            j.events.append({"type": "error", "job": jid, "seq": len(j.events), "t": time.time(), "error": err})
            self._finish(j, ERROR, err)
            if not self._closed:
                self._spawn()

    # ---- public API

    def submit(self, kind: str, config: dict | None = None, data: str = "sample", name: str | None = None,
               seed: int = 0, *, preset: str | None = None, test: str | None = None, owner: str | None = None,
               instructor: bool = False, _hook: str | None = None) -> str:
        """Queue a training job; returns its id. The config is validated here (``ConfigError``).

        ``owner``: the participant it is for (workshop mode; None = a class default), saved
        as the model's ``meta["owner"]``. In workshop mode, while the instructor has paused
        training (:meth:`digitlab.room.Room.paused`), only the instructor may submit."""
        if config is not None and not isinstance(config, dict):
            config = models.config_dict(config)
        cfg = models.config_from_dict(kind, config, preset)  # raises ConfigError/UnknownKindError now
        if name is not None:
            store.check_free(name)  # a taken name is refused now, not after the training
        if roles.workshop_enabled() and instructor is not True and room.Room().paused():
            raise roles.NotAllowedError("the instructor has paused training for the room", "paused")
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker has been shut down")
            if name is not None and any(j.name == name and j.state in ACTIVE for j in self._jobs.values()):
                raise store.ModelExistsError(f"a job already trains a model named {name!r}")
            jid = f"j{next(self._ids)}-{uuid.uuid4().hex[:6]}"
            self._jobs[jid] = _Job(id=jid, kind=kind, name=name, preset=preset, config=models.config_dict(cfg),
                                   data=str(data), seed=int(seed), test=test, state=QUEUED, submitted=time.time(),
                                   hook=_hook, owner=owner)
            self._homes[jid] = str(store.home())
            self._queue.append(jid)
            self._dispatch()
            self._cond.notify_all()
            return jid

    def _job(self, job_id) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"no job {job_id!r}") from None

    def status(self, job_id: str) -> dict:
        with self._lock:
            j = self._job(job_id)
            return {
                "id": j.id, "state": j.state, "kind": j.kind, "name": j.name, "error": j.error, "model": j.model,
                "error_code": j.error_code, "error_params": dict(j.error_params or {}),
                "position": self._queue.index(j.id) + 1 if j.state == QUEUED else 0,
                "progress": j.progress, "phase": j.phase, "epochs": list(j.epochs), "batches": list(j.batches),
                "metrics": j.metrics, "started": j.started, "finished": j.finished, "submitted": j.submitted,
                "config": j.config, "data": j.data, "seed": j.seed, "stop_requested": j.stop_requested is not None,
                "owner": j.owner,
            }

    def events(self, job_id: str, since: int = 0) -> list[dict]:
        with self._lock:
            return list(self._job(job_id).events[since:])

    def jobs(self, *, visible_to: str | None = None, instructor: bool = False) -> list[dict]:
        """Every job (newest first), without the batch events. In workshop mode a participant
        (``visible_to``) sees their own jobs and the class defaults'; the instructor (and
        single-user mode) all."""
        mine = roles.workshop_enabled() and instructor is not True
        with self._lock:
            out = []
            for j in sorted(self._jobs.values(), key=lambda j: j.submitted, reverse=True):
                if mine and not (roles.is_class_owner(j.owner) or roles.is_owner(j.owner, visible_to)):
                    continue
                s = self.status(j.id)
                s.pop("batches")
                out.append(s)
            return out

    def stop(self, job_id: str, *, by: str | None = None, instructor: bool = False) -> dict:
        """Queued: cancelled at once. Running: asked to stop (within ~1 s); see the module's text.

        In workshop mode only the job's owner (``by``) or the instructor may stop it: anyone
        else gets :class:`digitlab.roles.NotAllowedError` (a job id read from someone's address
        is not enough). Single-user mode has no owners."""
        with self._lock:
            j = self._job(job_id)
            if roles.workshop_enabled() and not roles.can_manage(j.owner, by, instructor=instructor is True):
                raise roles.NotAllowedError(f"job {job_id} is not yours to stop", "not_yours")
            if j.state == QUEUED:
                self._queue.remove(job_id)
                j.events.append({"type": "stopped", "job": job_id, "seq": len(j.events), "t": time.time(),
                                 "model": None, "cancelled": True})
                self._finish(j, STOPPED)
            elif j.state == RUNNING and j.stop_requested is None:
                j.stop_requested = time.time()
                self._stop_ev.set()
            return self.status(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> dict:
        """Block until the job is done/stopped/error (or ``timeout``); returns its status."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._job(job_id).state in ACTIVE:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(0.2 if left is None else min(left, 0.2))
            return self.status(job_id)

    def ensure_defaults(self, *, force: bool = False, test: str | None = None) -> list[str]:
        """Queue the default models (:data:`DEFAULT_MODELS`) when the store is empty
        (``force``: those whose names are free); returns the job ids queued."""
        with self._lock:
            if not force and not store.is_empty():
                return []
            busy = {j.name for j in self._jobs.values() if j.state in ACTIVE}
            t = test if test is not None else (str(official_test_path()) if official_test_path() else None)
            ids = []
            for name, kind, preset, over in DEFAULT_MODELS:
                if name in busy or store.exists(name):
                    continue
                ids.append(self.submit(kind, over, "sample", name, 0, preset=preset, test=t, instructor=True))
            return ids

    def alive(self) -> bool:
        with self._lock:
            return self._proc is not None and self._proc.is_alive()

    def shutdown(self, timeout: float = 3.0) -> None:
        """Cancel queued jobs, stop the running one, end the process."""
        with self._lock:
            if self._closed:
                return
            for jid in list(self._queue):
                self.stop(jid, instructor=True)
            if self._running:
                self._stop_ev.set()
            self._closed = True
            self._cond.notify_all()
            proc, job_q = self._proc, self._job_q
        try:
            if job_q is not None:
                job_q.put(None)
            if proc is not None:
                proc.join(timeout)
        except Exception:  # noqa: BLE001
            pass
        with self._lock:
            self._kill()
        self._listener.join(1)

    close = shutdown

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()


_singleton: Worker | None = None
_singleton_lock = threading.Lock()


@contextlib.asynccontextmanager
async def server_lifespan(_app):
    """The ASGI server's lifespan (``app.py``): on shutdown (SIGTERM, SIGINT), end the worker.

    uvicorn re-raises the signal once its shutdown is done, so the process dies by it and
    ``atexit`` handlers never run; this is the hook that does. The running job is asked
    to stop (it keeps its finished epochs if it gets there within ``shutdown``'s wait)."""
    import asyncio

    yield None
    w = current_worker()
    if w is not None:
        await asyncio.to_thread(w.shutdown)


def current_worker() -> Worker | None:
    """The process-wide Worker if one was started, else None (never starts one)."""
    w = _singleton
    return None if w is None or w._closed else w


def defaults_enabled() -> bool:
    return os.environ.get("DIGITLAB_NO_DEFAULTS", "") in ("", "0")


def get_worker() -> Worker:
    """The process-wide Worker (started on first call; default models queued when the
    store is empty, unless ``DIGITLAB_NO_DEFAULTS=1``)."""
    global _singleton
    with _singleton_lock:
        if _singleton is None or _singleton._closed:
            _singleton = Worker()
            atexit.register(_singleton.shutdown)
            if defaults_enabled():
                try:
                    _singleton.ensure_defaults()
                except Exception:  # noqa: BLE001 - never block the app on the defaults
                    pass
        return _singleton
