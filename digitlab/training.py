"""The trainer pool the server shares: :class:`Worker`, its job queue and the jobs' states.

Four modules make training (docs/architecture.md, "Training jobs and the trainer process"):

* :mod:`digitlab.jobs` — one job, load → train → evaluate → save (:func:`run_job`);
* :mod:`digitlab.trainer_process` — the child process that runs jobs, its Stop flag and lifetime;
* :mod:`digitlab.engine_local` — the *engine*: :class:`~digitlab.engine_local.LocalPool`, N warm
  trainer processes (multiprocessing *spawn*; only they import TensorFlow), at a lower CPU
  priority than the server; Stop's watchdog; a dead trainer reported and replaced. (Or
  ``digitlab.engine_dask.DaskEngine`` when ``DIGITLAB_DASK_SCHEDULER`` is set.)
* this module — the server's side: ``Worker`` keeps every job, the queue (so places and
  cancelling cost no IPC), the fair order, owners, the room's rules and each job's state. Its
  listener thread folds the engine's events into per-job state under a lock, so ``status()``
  is a dictionary copy, and starts the next queued job whenever the engine has a free slot.
  Every Streamlit session shares one ``Worker``.

The room's rules (workshop mode, not for the instructor): jobs start round-robin across owners
(the class defaults count as one owner); a participant has at most one job queued or running
(:class:`OneJobEachError`); a job estimated over the room's budget is refused before it queues
(:class:`digitlab.costs.OverBudgetError`). Single-user mode: first come, first served. A queued
job's status says its ``queue_position`` and ``expected_start_s`` (from :mod:`digitlab.costs`).

Events (dicts, each with ``job`` and a per-job ``seq``):

* ``{"type": "phase", "phase": "loading data" | "importing TensorFlow" | "training" | "evaluating" | "saving"}``
* ``{"type": "batch", "epoch", "batch", "n_batches", "loss", "accuracy", "samples_per_s"}`` (at most ~10/s)
* ``{"type": "epoch", "epoch", "epochs", "loss", "accuracy", "val_loss", "val_accuracy", "samples_per_s", "seconds"}``
* ``{"type": "done" | "stopped", "model": name or None, "metrics": {...}, "train_seconds"}`` / ``{"type": "error", "error": "...",
  "code": ..., "params": {...}}`` (a :class:`digitlab.errors.DigitLabError`'s code and params, else None and {};
  a page words it with :func:`digitlab.texts.error_message`)

Stop: a shared flag polled by the trainers every batch (numpy, Keras) or every
chunk of ~8 batches (scikit-learn), so a running job ends within about a second. The
child acknowledges the Stop at once (a ``stopping`` event): an acknowledged job is left
to reach its next poll however busy the machine is (an epoch's validation pass can take
seconds under load, and killing it then lost the epoch that had finished), and is
terminated only if it still runs ``stop_timeout`` seconds (60 s) after Stop. A process
that does not even acknowledge within ``stop_grace`` seconds (3 s) is stuck and
terminated. Either way a fresh trainer is spawned and the queue goes on (the engine's
watchdog, :mod:`digitlab.engine_local`; the other slots' jobs are not touched).

Lifetime: the children end with their parent, by any signal (:mod:`digitlab.trainer_process`).
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
import os
import sys
import threading
import time
import traceback
import uuid

import numpy as np

from . import costs, models, queueing, roles, room, store
from .defaults import DEFAULT_MODELS
from .engine_local import LocalPool
from .errors import DigitLabError
from .evaluation import official_test_path
from .jobs import run_job
from .states import ACTIVE, ERROR, FINISHED, QUEUED, RUNNING, STATES, STOPPED

__all__ = ["DEFAULT_MODELS", "STATES", "EngineError", "OneJobEachError", "Worker", "current_worker", "defaults_enabled", "get_worker", "is_job_id",
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
                 "submitted", "started", "finished", "stop_requested", "hook", "owner", "n_train", "estimate",
                 "finetune")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        self.epochs, self.events = [], []
        self.batches = collections.deque(maxlen=MAX_BATCH_EVENTS)


class OneJobEachError(DigitLabError, PermissionError):
    """Workshop mode: the participant has a job queued or running already (param ``job``: its id)."""


class EngineError(DigitLabError, RuntimeError):
    """The engine the settings ask for cannot be used."""


class Worker:
    """The server's trainer pool: the jobs, their queue and states, in front of an engine that
    runs them (:class:`digitlab.engine_local.LocalPool` by default: ``trainers`` warm processes,
    None = ``DIGITLAB_TRAINERS`` or one per core).

    Thread-safe; ``status``/``events``/``jobs`` read parent-side state only (cheap)."""

    def __init__(self, *, stop_grace: float = 3.0, stop_timeout: float = 60.0, start: bool = True, engine=None,
                 trainers: int | None = None):
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._jobs: dict[str, _Job] = {}
        self._queue: list[str] = []  # queued job ids in submission order (the fair order is worked out from it)
        self._served: dict[str, int] = {}  # owner key -> the turn its last job started (round-robin)
        self._turns = itertools.count(1)
        self._closed = False
        self._homes: dict[str, str] = {}  # job id -> DIGITLAB_HOME at submit time (the trainer follows it)
        self.costs = costs.CostModel()
        self.engine = engine if engine is not None else LocalPool(trainers, stop_grace=stop_grace,
                                                                   stop_timeout=stop_timeout, start=start)
        self._ids = itertools.count(1)
        self._listener = threading.Thread(target=self._listen, name="digitlab-worker-listener", daemon=True)
        self._listener.start()

    @property
    def stop_grace(self) -> float | None:
        return getattr(self.engine, "stop_grace", None)

    @property
    def stop_timeout(self) -> float | None:
        return getattr(self.engine, "stop_timeout", None)

    @property
    def pids(self) -> list:
        """The trainer processes' pids (None for one not started); an engine without local processes: []."""
        return list(self.engine.describe().get("pids") or [])

    @property
    def pid(self):
        """The first trainer's pid."""
        pids = self.pids
        return pids[0] if pids else None

    # ---- the listener thread: events in, jobs out

    def _listen(self):
        while not self._closed:
            try:
                events = self.engine.poll(0.05)
            except Exception:  # noqa: BLE001 - an engine's hiccup is logged; the room's jobs go on
                traceback.print_exc(file=sys.stderr)
                time.sleep(0.5)
                events = []
            with self._lock:
                if self._closed:
                    return
                for ev in events:
                    self._handle(ev)
                self._dispatch()

    def _dispatch(self):
        """Start queued jobs, in the fair order, while the engine has a free slot."""
        while not self._closed and self._queue and len(self.engine.running()) < self.engine.slots:
            jid = self._fair_order()[0]
            self._queue.remove(jid)
            j = self._jobs[jid]
            j.state, j.started = RUNNING, time.time()
            self._served[queueing.owner_key(j.owner)] = next(self._turns)
            msg = {"id": jid, "kind": j.kind, "preset": j.preset, "config": j.config, "data": j.data, "name": j.name,
                   "seed": j.seed, "test": j.test, "home": self._homes.get(jid), "_test_hook": j.hook,
                   "owner": j.owner, "finetune": j.finetune}
            try:
                self.engine.start(msg)
            except Exception as e:  # noqa: BLE001 - e.g. a remote engine is unreachable: this job's error
                coded = isinstance(e, DigitLabError)
                self._handle({"type": "error", "job": jid, "t": time.time(), "error": f"{type(e).__name__}: {e}",
                              "code": e.code if coded else None, "params": e.params if coded else {}})
            self._cond.notify_all()

    def _fair_order(self) -> list[str]:
        """The queued jobs in the order they will start (:func:`digitlab.queueing.fair_order`)."""
        return queueing.fair_order(self._queue, {jid: self._jobs[jid].owner for jid in self._queue}, self._served,
                                   round_robin=roles.workshop_enabled())

    def _schedule(self) -> dict[str, tuple[int, float]]:
        """{queued job id: (place, seconds until it starts)} (:func:`digitlab.queueing.expected_starts`)."""
        now = time.time()
        left = [(j.estimate or 0.0) - (now - (j.started or now)) for j in self._jobs.values() if j.state == RUNNING]
        estimates = {jid: self._jobs[jid].estimate for jid in self._queue}
        return queueing.expected_starts(self._fair_order(), estimates, left, self.engine.slots)

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
        self._prune()
        self._cond.notify_all()

    def _prune(self):
        """Forget the oldest finished jobs beyond MAX_FINISHED_JOBS (a long-running server)."""
        done = [j for j in self._jobs.values() if j.state in FINISHED]
        excess = len(done) - MAX_FINISHED_JOBS
        for j in sorted(done, key=lambda j: j.finished or 0)[:max(0, excess)]:
            self._jobs.pop(j.id, None)
            self._homes.pop(j.id, None)

    def _handle(self, ev: dict):
        """Fold one event from the engine into its job's state (a finished job's late events are dropped)."""
        j = self._jobs.get(ev.get("job"))
        if j is None or j.state in FINISHED:
            return
        typ = ev.get("type")
        ev = dict(ev, seq=len(j.events))
        j.events.append(ev)
        if typ == "started":
            j.started = ev.get("t", j.started)
        elif typ == "phase":
            j.phase = ev.get("phase")
        elif typ == "batch":
            j.batches.append(ev)
            j.progress = ev
        elif typ == "epoch":
            j.epochs.append(ev)
            j.progress = ev
        elif typ in ("done", "stopped"):
            j.model, j.metrics = ev.get("model"), ev.get("metrics")
            if typ == "done" and not j.hook and ev.get("train_seconds"):  # the cost model learns how long it took
                self.costs.learn(j.kind, j.config, j.n_train or 0, ev["train_seconds"])
            self._finish(j, typ)
            if ev.get("terminated"):
                j.phase = "terminated (ignored Stop)"
        elif typ == "error":
            j.traceback, j.error_code, j.error_params = ev.get("traceback"), ev.get("code"), ev.get("params") or {}
            self._finish(j, ERROR, ev.get("error"))
        self._cond.notify_all()

    # ---- public API

    def submit(self, kind: str, config: dict | None = None, data: str = "sample", name: str | None = None,
               seed: int = 0, *, preset: str | None = None, test: str | None = None, owner: str | None = None,
               instructor: bool = False, finetune: dict | None = None, _hook: str | None = None) -> str:
        """Queue a training job; returns its id. The config is validated here (``ConfigError``).
        ``finetune``: train on from a stored model (:func:`digitlab.finetune.plan` makes it
        and the ``kind``, ``config`` and ``data`` that go with it).

        ``owner``: the participant it is for (workshop mode; None = a class default), saved
        as the model's ``meta["owner"]``. In workshop mode, for everyone but the instructor:
        while the instructor has paused training (:meth:`digitlab.room.Room.paused`) nothing
        is queued; a participant with a job queued or running gets :class:`OneJobEachError`;
        a job estimated over the room's budget gets :class:`digitlab.costs.OverBudgetError`."""
        if config is not None and not isinstance(config, dict):
            config = models.config_dict(config)
        cfg = models.config_from_dict(kind, config, preset)  # raises ConfigError/UnknownKindError now
        if name is not None:
            store.check_free(name)  # a taken name is refused now, not after the training
        workshop = roles.workshop_enabled() and instructor is not True
        if workshop and room.Room().paused():
            raise roles.NotAllowedError("the instructor has paused training for the room", "paused")
        n_train = int(finetune["n_train"]) if finetune else costs.train_images(kind, cfg, costs.dataset_images(str(data)))
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker has been shut down")
            if name is not None and any(j.name == name and j.state in ACTIVE for j in self._jobs.values()):
                raise store.ModelExistsError(f"a job already trains a model named {name!r}")
            if workshop and not roles.is_class_owner(owner):
                self._check_one_job_each(owner)
            if workshop:
                self.costs.check_budget(kind, cfg, n_train, costs.job_budget_s())
            jid = f"j{next(self._ids)}-{uuid.uuid4().hex[:6]}"
            self._jobs[jid] = _Job(id=jid, kind=kind, name=name, preset=preset, config=models.config_dict(cfg),
                                   data=str(data), seed=int(seed), test=test, state=QUEUED, submitted=time.time(),
                                   hook=_hook, owner=owner, n_train=n_train, finetune=finetune,
                                   estimate=self.costs.estimate_seconds(kind, cfg, n_train))
            self._homes[jid] = str(store.home())
            self._queue.append(jid)
            self._cond.notify_all()
            return jid

    def _check_one_job_each(self, owner):
        """A participant has at most one job queued or running: the room's trainers are shared."""
        for j in self._jobs.values():
            if j.state in ACTIVE and not roles.is_class_owner(j.owner) and queueing.owner_key(j.owner) == queueing.owner_key(owner):
                raise OneJobEachError("train.one_job_each", job=j.id)

    def _job(self, job_id) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"no job {job_id!r}") from None

    def status(self, job_id: str, _schedule: dict | None = None) -> dict:
        """A job's state. A queued job's ``queue_position`` (1-based, in the order jobs will start)
        and ``expected_start_s`` (seconds from now, from the cost model); None when not queued.
        ``position`` is the same place, 0 when not queued."""
        with self._lock:
            j = self._job(job_id)
            place, start = (None, None)
            if j.state == QUEUED:
                place, start = (_schedule if _schedule is not None else self._schedule()).get(j.id, (None, None))
            return {
                "id": j.id, "state": j.state, "kind": j.kind, "name": j.name, "error": j.error, "model": j.model,
                "error_code": j.error_code, "error_params": dict(j.error_params or {}),
                "position": place or 0, "queue_position": place, "expected_start_s": start, "estimate_s": j.estimate,
                "progress": j.progress, "phase": j.phase, "epochs": list(j.epochs), "batches": list(j.batches),
                "metrics": j.metrics, "started": j.started, "finished": j.finished, "submitted": j.submitted,
                "config": j.config, "data": j.data, "seed": j.seed, "stop_requested": j.stop_requested is not None,
                "owner": j.owner, "finetune": j.finetune,
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
            schedule, out = self._schedule(), []
            for j in sorted(self._jobs.values(), key=lambda j: j.submitted, reverse=True):
                if mine and not (roles.is_class_owner(j.owner) or roles.is_owner(j.owner, visible_to)):
                    continue
                s = self.status(j.id, schedule)
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
                self.engine.stop(job_id)
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
        """Is every trainer up (a remote engine: is it reachable, as far as it says)?"""
        return not self._closed and bool(self.engine.describe().get("alive", True))

    def shutdown(self, timeout: float = 3.0) -> None:
        """Cancel queued jobs, stop the running ones, end the engine's processes."""
        with self._lock:
            if self._closed:
                return
            for jid in list(self._queue):
                self.stop(jid, instructor=True)
            self._closed = True
            self._cond.notify_all()
        with contextlib.suppress(Exception):
            self.engine.close(timeout)
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


def engine_from_settings():
    """The engine the settings ask for: ``DIGITLAB_DASK_SCHEDULER`` set, a
    ``digitlab.engine_dask.DaskEngine`` on that scheduler (imported only then); else None,
    which makes the Worker a :class:`digitlab.engine_local.LocalPool`."""
    address = os.environ.get("DIGITLAB_DASK_SCHEDULER", "").strip()
    if not address:
        return None
    try:
        from .engine_dask import DaskEngine
    except ImportError as e:
        raise EngineError("engine.dask_unavailable", address=address, reason=str(e)) from e
    return DaskEngine(address)


def get_worker() -> Worker:
    """The process-wide Worker (started on first call; default models queued when the
    store is empty, unless ``DIGITLAB_NO_DEFAULTS=1``)."""
    global _singleton
    with _singleton_lock:
        if _singleton is None or _singleton._closed:
            _singleton = Worker(engine=engine_from_settings())
            atexit.register(_singleton.shutdown)
            if defaults_enabled():
                try:
                    _singleton.ensure_defaults()
                except Exception:  # noqa: BLE001 - never block the app on the defaults
                    pass
        return _singleton
