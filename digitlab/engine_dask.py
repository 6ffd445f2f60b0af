"""Training jobs on a Dask cluster: :class:`DaskEngine`, the engine the server uses when
``DIGITLAB_DASK_SCHEDULER=tcp://HOST:PORT`` is set (the local pool is the default).

The engine has the local pool's interface (``slots``, ``start``, ``stop``, ``poll``, ``running``,
``close``, ``describe``): the same job dicts run, with the same events and states.
:func:`digitlab.dask_task.run_task` runs on a worker: :func:`digitlab.jobs.train_job` (nothing saved) in a temporary
``DIGITLAB_HOME``, events logged on the engine's topic (``Worker.log_event``), Stop read from a
``distributed.Event`` by a thread beside the job. The payload it returns (arrays, spec, meta, the
``.keras`` file's bytes) is saved in the server's store by :func:`digitlab.jobs.save`, then
``done``/``stopped`` is reported; a worker that dies under a job is that job's ``error``
(``dask.worker_died``), never a silent rerun. How each part travels and why, with the measured
figures: docs/architecture.md, "Training on a Dask cluster".

``distributed`` is imported when an engine is made or a task runs, not with this module.
"""
from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
from pathlib import Path

from . import data, jobs, store
from .dask_task import error_event, home_env, run_task  # the worker's side
from .errors import DigitLabError
from .files import MAX_BYTES, check_regular_file, too_large

ENV = "DIGITLAB_DASK_SCHEDULER"
CONNECT_TIMEOUT_S = 5.0  # an unreachable scheduler is an error after this long
WATCH_INTERVAL_S = 1.0  # how often poll() re-reads the cluster's workers (slots, dead workers)
RESULT_TIMEOUT_S = 120.0  # fetching a finished job's payload from its worker
WORKER_DATA = ("sample", "mnist", "mnist-train", "mnist-test")  # specs a worker loads itself
TERMINAL = ("done", "stopped", "error")


class DaskError(DigitLabError, RuntimeError):
    """The Dask cluster failed a job or could not be reached (codes ``dask.*``)."""


def scheduler_address() -> str | None:
    """``$DIGITLAB_DASK_SCHEDULER`` (``tcp://HOST:PORT``), or None: the local pool."""
    return os.environ.get(ENV, "").strip() or None


# ---------------------------------------------------------------- the server's side


def _connect(address: str, timeout: float):
    import distributed

    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise DaskError("dask.unreachable", address=address, seconds=timeout,
                        reason=f"{type(e).__name__}: {e}") from None


def _files_of(spec) -> tuple[list[Path], str | None] | None:
    """The server's files behind a data spec that the workers cannot have, and the entry the
    spec names (a file name, or None for a folder); None for a spec the workers load themselves."""
    if not spec or str(spec) in WORKER_DATA:
        return None
    p = Path(str(spec))
    if p.is_dir():
        return list(data.find_idx_pair(p)), None
    if not os.path.lexists(p):
        return None  # the worker reports it missing, as the local trainer does
    check_regular_file(p)
    files = [p]
    if "idx3" in p.name:  # an IDX images file: its labels file goes with it
        files.append(data.labels_path_for(p))
    return files, p.name


def _model_files(folder) -> tuple[list[Path], None]:
    """The files of a stored model's folder (``meta.json`` and its payloads), checked as plain files."""
    p = Path(str(folder))
    if not p.is_dir():
        raise store.ModelNotFoundError("store.not_found_in", name=p.name, folder=str(p.parent))
    files = sorted(f for f in p.iterdir() if not f.name.startswith("."))
    for f in files:
        check_regular_file(f)
    return files, None


class _Task:
    __slots__ = ("job", "future", "stop", "worker", "pid", "finished", "stop_requested", "stop_seen", "stop_acked",
                 "lost", "placed", "cancelled")

    def __init__(self, job, stop):
        self.job, self.stop, self.future = job, stop, None
        self.worker = self.pid = self.stop_requested = self.stop_seen = self.lost = self.placed = None
        self.cancelled = False
        self.finished = self.stop_acked = False


class DaskEngine:
    """Jobs on a Dask cluster, with the local pool's interface (see the module's text).

    ``address_or_client``: the scheduler's address (``tcp://HOST:PORT``) or a connected
    ``distributed.Client`` (left open by :meth:`close`). ``connect_timeout``: seconds before an
    unreachable scheduler is a :class:`DaskError`. ``stop_grace``/``stop_timeout``: as the local
    pool's, a job whose task does not acknowledge a Stop in 3 s, or still trains 60 s after it,
    is reported ``stopped`` (``terminated``) and its worker restarted by its nanny."""

    def __init__(self, address_or_client, *, connect_timeout: float = CONNECT_TIMEOUT_S, stop_grace: float = 3.0,
                 stop_timeout: float = 60.0):
        import distributed

        self.stop_grace, self.stop_timeout = stop_grace, stop_timeout
        self._dd = distributed
        if isinstance(address_or_client, distributed.Client):
            self.client, self._own = address_or_client, False
        else:
            self.client, self._own = _connect(str(address_or_client), connect_timeout), True
        self.address = self.client.scheduler.address
        self._uid = uuid.uuid4().hex[:8]
        self._topic = f"digitlab-events-{self._uid}"
        self._events: queue.Queue = queue.Queue()
        self._lock = threading.RLock()
        self._tasks: dict[str, _Task] = {}
        self._ships: dict[tuple, object] = {}  # (path, size, mtime)... -> the scattered bytes' future
        self._workers: dict[str, int] = {}
        self._checked = 0.0
        self._closed = False
        if not self._refresh():
            if self._own:
                self.client.close()
            raise DaskError("dask.unreachable", address=str(address_or_client), seconds=connect_timeout,
                            reason="no answer to the first request")
        self.client.subscribe_topic(self._topic, self._on_topic)

    # ---- the interface

    @property
    def slots(self) -> int:
        """Jobs that can run at once: the cluster's worker threads (re-read at most once a second)."""
        if time.monotonic() - self._checked > WATCH_INTERVAL_S:
            self._refresh()
        return sum(self._workers.values())

    def start(self, job: dict) -> None:
        """Submit ``job`` (the dict :func:`digitlab.jobs.run_job` takes); its events come from :meth:`poll`.
        A dataset the server cannot send becomes the job's error event."""
        jid = job["id"]
        t = _Task(dict(job), self._dd.Event(f"digitlab-stop-{self._uid}-{jid}", client=self.client))
        with self._lock:
            if self._closed:
                raise RuntimeError("the Dask engine has been closed")
            if jid in self._tasks:
                raise ValueError(f"job {jid!r} is already running")
            self._tasks[jid] = t
        try:
            shipped = {"data": self._ship(job.get("data")), "test": self._ship(job.get("test"), lenient=True)}
            ft = job.get("finetune")
            if ft:  # a fine-tuning job: its held-out drawings and its base model's folder travel too
                shipped.update({"finetune.heldout": self._ship(ft.get("heldout")),
                                "finetune.base_dir": self._ship(ft.get("base_dir"), model=True)})
            self._refresh()  # the workers now (a restarted worker comes back under a new address)
            with self._lock:
                t.placed = self._free_worker()
            where = {"workers": [t.placed], "allow_other_workers": True} if t.placed else {}  # loose: a gone
            t.future = self.client.submit(run_task, t.job, self._topic, t.stop.name, shipped, pure=False, retries=0,
                                          key=f"digitlab-{jid}-{uuid.uuid4().hex[:8]}", **where)  # worker's job runs elsewhere
        except Exception as e:  # noqa: BLE001 - a dataset that cannot be sent, a lost scheduler: the job's error
            self._finish(t, error_event(e))
            return
        t.future.add_done_callback(lambda fut, t=t: self._on_done(t, fut))

    def stop(self, job_id: str) -> None:
        """Ask the job to stop (its task sees it at once, the trainer at its next poll). A job no
        worker has started yet is cancelled and reported ``stopped`` at once."""
        with self._lock:
            t = self._tasks.get(job_id)
            if t is None or t.finished or t.stop_requested is not None:
                return
            t.stop_requested = time.time()
            not_started = t.worker is None
        with contextlib.suppress(Exception):
            t.stop.set()
        if not_started:
            t.cancelled = True  # its Event stays set: the task may have started already (its "started"
            # event not here yet) and must still see the Stop, or it would hold its worker to the end
            if self._finish(t, {"type": "stopped", "model": None, "metrics": {}, "cancelled": True}):
                self._cancel(t)

    def poll(self, timeout: float) -> list[dict]:
        """The events since the last poll, waiting up to ``timeout`` seconds for the first."""
        self._watch()
        out = []
        try:
            out.append(self._events.get(timeout=max(0.0, timeout)))
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        for ev in out:
            if ev["type"] in TERMINAL:
                self._forget(ev["job"])
        return out

    def running(self) -> set[str]:
        """The jobs started and not yet finished."""
        with self._lock:
            return {jid for jid, t in self._tasks.items() if not t.finished}

    def close(self, timeout: float = 5.0) -> None:
        """Stop this engine's jobs on the cluster and close the client (the cluster itself is left running)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            tasks = [t for t in self._tasks.values() if not t.finished]
        for t in tasks:  # nobody will read their results: the cluster need not finish them
            with contextlib.suppress(Exception):
                t.stop.set()
            self._cancel(t)
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic(self._topic)
        self._ships.clear()
        if self._own:
            with contextlib.suppress(Exception):
                self.client.close(timeout=timeout)

    def describe(self) -> dict:
        return {"engine": "dask", "address": self.address, "slots": self.slots, "workers": len(self._workers),
                "alive": self.client.status == "running"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- inside

    def _free_worker(self) -> str | None:
        """The worker with the most threads none of this engine's jobs holds, or None when every
        thread is taken. A job is placed there, not left to Dask's choice: Dask may queue a task
        behind a running one on a busy worker (a worker takes up to worker-saturation x threads,
        1.1 x 1 -> 2 tasks) while another worker is idle, so a job would wait a whole job for nothing.
        A loose restriction: a gone worker's job runs elsewhere."""
        busy: dict[str, int] = {}
        for t in self._tasks.values():
            if not t.finished and (t.worker or t.placed):
                w = t.worker or t.placed
                busy[w] = busy.get(w, 0) + 1
        free = {w: n - busy.get(w, 0) for w, n in self._workers.items()}
        best = max(free, key=free.get, default=None)
        return best if best is not None and free[best] > 0 else None

    def _refresh(self) -> bool:
        """Re-read the cluster's workers and their threads; False (the last figures kept) when it does not answer."""
        self._checked = time.monotonic()
        try:
            self._workers = dict(self.client.nthreads())
            return True
        except Exception:  # noqa: BLE001 - a lost scheduler: its jobs' futures say so
            return False

    def _ship(self, spec, *, lenient: bool = False, model: bool = False):
        """The files behind ``spec`` scattered to the cluster (once per file version), or None.
        ``lenient`` (the test set): a set that cannot be sent is left to the worker, whose
        failure to load it costs the job its test metric, not the model (as locally).
        ``model``: ``spec`` is a stored model's folder (a fine-tuning job's base), sent whole."""
        try:
            found = _model_files(spec) if model else _files_of(spec)
        except (DigitLabError, OSError):
            if lenient:
                return None
            raise
        if found is None:
            return None
        files, entry = found
        sig = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
        if sig not in self._ships:
            blobs = {}
            for p in files:
                too_large(p.name, check_regular_file(p).st_size, MAX_BYTES)
                blobs[p.name] = p.read_bytes()
            folder = Path(str(spec)).name if model else None  # the worker's copy keeps the model's name
            [fut] = self.client.scatter([{"files": blobs, "entry": entry, "folder": folder}], hash=False)
            self._ships = {**dict(list(self._ships.items())[-7:]), sig: fut}  # the last few datasets stay
        return self._ships[sig]

    def _on_topic(self, event):
        """The client's event loop: one event of a task (never blocks; no calls to the scheduler)."""
        _ts, ev = event
        if not isinstance(ev, dict):
            return
        with self._lock:
            t = self._tasks.get(ev.get("job"))
            if t is None or t.finished:
                return  # not ours, or after the job's end (a cancelled task still running)
            if ev.get("type") == "started":
                if t.worker is not None:  # a second start: its first worker died and the task was rerun
                    t.lost = t.lost or t.worker
                    return
                t.worker, t.pid = ev.get("worker"), ev.get("pid")
            else:
                ev.pop("worker", None)  # the scheduler adds the sender's address to every event
            if ev.get("type") == "stopping":
                t.stop_seen = time.time()
            elif ev.get("type") == "phase" and ev.get("phase") == "evaluating" and t.stop_requested is not None:
                t.stop_acked = True  # training has ended: let it finish and save the partial model
            self._events.put(ev)

    def _on_done(self, t: _Task, fut):
        """A Dask callback thread: the task's future finished; save its payload, report the end."""
        if t.finished:
            return
        try:
            final, payload = self._result(t, fut)
            if payload is not None:
                self._events.put({"type": "phase", "phase": "saving", "job": t.job["id"], "t": time.time()})
                payload["meta"]["dataset"]["spec"] = t.job.get("data") or "sample"  # not the worker's copy
                if payload["meta"].get("finetune"):  # nor its copy of the held-out drawings
                    payload["meta"]["finetune"]["heldout"] = t.job["finetune"]["heldout"]
                with home_env(t.job.get("home")):
                    final = {**final, "model": jobs.save(t.job, payload)}
                if payload["meta"].get("train_seconds") is not None:
                    final["train_seconds"] = payload["meta"]["train_seconds"]
        except BaseException as e:  # noqa: BLE001 - the job's error, the engine goes on
            final = error_event(e)
        self._finish(t, final)

    def _result(self, t: _Task, fut):
        try:
            return fut.result(timeout=RESULT_TIMEOUT_S)
        except self._dd.KilledWorker:
            raise DaskError("dask.worker_died", worker=str(t.worker or "?"), job=t.job["id"]) from None
        except DigitLabError:
            raise
        except Exception as e:  # noqa: BLE001 - the cluster's failure (the job's own are its error event)
            raise DaskError("dask.task_failed", job=t.job["id"], reason=f"{type(e).__name__}: {e}") from None

    def _finish(self, t: _Task, ev: dict) -> bool:
        """Report the job's one terminal event (False when it already has one)."""
        with self._lock:
            if t.finished:
                return False
            t.finished = True
            self._events.put({**ev, "job": t.job["id"], "t": time.time()})
            return True

    def _forget(self, jid: str):
        with self._lock:
            t = self._tasks.pop(jid, None)
        if t is not None and t.stop_requested is not None and not t.cancelled:
            with contextlib.suppress(Exception):
                t.stop.clear()  # a set Event is kept by the scheduler until cleared

    def _cancel(self, t: _Task):
        if t.future is not None:
            with contextlib.suppress(Exception):
                t.future.cancel()

    def _watch(self):
        """At most once a second: the cluster's workers (slots), and the jobs whose worker is gone."""
        if time.monotonic() - self._checked < WATCH_INTERVAL_S:
            return
        if not self._refresh():
            return
        with self._lock:
            tasks = [t for t in self._tasks.values() if not t.finished]
        for t in tasks:
            try:
                self._check_worker(t)
            except DaskError as e:
                if self._finish(t, error_event(e)):
                    with contextlib.suppress(Exception):
                        t.stop.set()  # a copy the scheduler started again stops at once
                    self._cancel(t)
                continue
            if self._stuck(t) and self._finish(t, {"type": "stopped", "model": None, "metrics": {}, "terminated": True}):
                self._cancel(t)
                if t.worker is not None:  # a task thread cannot be killed: its process is restarted (seconds)
                    threading.Thread(target=self._restart, args=(t.worker,), name="digitlab-dask-restart",
                                     daemon=True).start()

    def _stuck(self, t: _Task) -> bool:
        """Stop asked, and not acknowledged in ``stop_grace`` s or not ended in ``stop_timeout`` s."""
        if t.stop_requested is None or t.stop_acked:
            return False
        waited = time.time() - t.stop_requested
        return waited > self.stop_timeout or (t.stop_seen is None and waited > self.stop_grace)

    def _restart(self, worker: str):
        with contextlib.suppress(Exception):  # no nanny, or already gone: nothing more to do
            self.client.restart_workers([worker], timeout=60)

    def _check_worker(self, t: _Task):
        lost = t.lost or (t.worker if t.worker is not None and t.worker not in self._workers else None)
        if lost is not None:
            raise DaskError("dask.worker_died", worker=str(lost), job=t.job["id"])


def run_job_on_dask(address, job: dict, emit, *, connect_timeout: float = CONNECT_TIMEOUT_S,
                    poll_s: float = 0.25) -> dict:
    """Run one job on the Dask cluster at ``address`` (the CLI's ``train --dask ADDRESS``) and save
    the model in this process's store: like :func:`digitlab.jobs.run_job`, ``emit`` gets the job's
    ``phase``/``batch``/``epoch`` events and the final event (done/stopped) is returned; a job's
    error is raised (its code and params kept). Ctrl-C stops the job on the cluster."""
    job = {"home": str(store.home()), **job, "id": job.get("id") or f"cli-{uuid.uuid4().hex[:6]}"}
    with DaskEngine(address, connect_timeout=connect_timeout) as engine:
        engine.start(job)
        try:
            while True:
                for ev in engine.poll(poll_s):
                    if ev["type"] in TERMINAL:
                        return _final(ev)
                    if ev["type"] in ("phase", "batch", "epoch"):
                        emit(ev)
        except KeyboardInterrupt:
            engine.stop(job["id"])
            raise


def _final(ev: dict) -> dict:
    """A terminal event as :func:`digitlab.jobs.run_job` ends: the event, or its error raised."""
    if ev["type"] != "error":
        return {k: v for k, v in ev.items() if k not in ("job", "t")}
    if ev.get("code"):
        err = DigitLabError(ev["code"], **(ev.get("params") or {}))
        raise err
    raise DaskError("dask.job_failed", job=str(ev.get("job")), reason=str(ev.get("error")))
