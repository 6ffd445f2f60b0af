"""The local engine: a pool of warm trainer processes on this machine (:class:`LocalPool`).

:class:`digitlab.training.Worker` keeps the jobs (queue, fairness, states, owners) and hands
a job to an *engine* when one of its slots is free. An engine has this interface (a second
one, ``digitlab.engine_dask.DaskEngine``, runs jobs on a Dask cluster)::

    slots: int                          how many jobs can run at once
    start(job: dict) -> None            run a job (the trainer's job dict); called only when a slot is free
    stop(job_id) -> None                ask a running job to stop (it ends within about a second)
    poll(timeout) -> list[dict]         events since the last poll, waiting up to ``timeout`` s for the first
    running() -> set[str]               ids of the jobs running now
    close(timeout) -> None              end every process
    describe() -> dict                  {"engine": "local", "slots", "pids", ...} for pages and logs

Here each slot is one :func:`digitlab.trainer_process.spawn` child with its own job queue,
event queue and :class:`~digitlab.trainer_process.StopFlag`. Not one event queue shared by
all: a multiprocessing queue's write lock stays taken when a process dies (or is frozen)
while sending, so one killed trainer could silence every other one. A small thread per slot
moves its events into one in-process inbox, which :meth:`LocalPool.poll` waits on.

The engine keeps the one-second Stop promise: a trainer acknowledges a Stop at once (a
``stopping`` event); an acknowledged job is left ``stop_timeout`` seconds (60 s) to reach
its next poll, a trainer that does not acknowledge in ``stop_grace`` seconds (3 s) is stuck.
A stuck trainer is terminated and reported as a ``stopped`` event with ``terminated``; a
trainer that died is reported as its job's ``error``; either way the slot gets a fresh
process. Trainers run at a lower CPU priority (``os.nice``, :data:`TRAINER_NICE`) so that
drawing stays quick while they train, and end with the server (the child's parent watch).
See docs/architecture.md, "Training jobs and the trainer process".
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import threading
import time

from . import trainer_process
from .costs import number_setting

# Niceness of every trainer (0 = the server's; CFS weight 110 against the server's 1024). bench/pool.py:
# beside two trainers a page-sized burst of NumPy predictions took 85 ms at nice 0, 29 ms at nice 10,
# 25 ms with no training (docs/architecture.md, "Training jobs and the trainer process").
TRAINER_NICE = 10
FINAL = ("done", "stopped", "error")


THREADS_PER_JOB = 2  # a job may use two cores: the CNNs' BLAS and worker threads, TensorFlow, the MLP's BlasTuner


def default_trainers(cores: int | None = None) -> int:
    """How many trainers when ``DIGITLAB_TRAINERS`` is not set: one per THREADS_PER_JOB cores.
    Measured (bench/pool.py, 2 shared cores): two workshop jobs side by side in two trainers against
    one after the other in one: numpy-mlp 0.31-0.78x, numpy-cnn 0.44-1.11x, numpy-binary 0.87-0.9x,
    sklearn-mlp 0.77-2.1x, keras-cnn 1.84x (one loaded run): each job's threads fight for the cores,
    and no kind gained reliably. So 1 trainer on 2 cores, 2 on 4, ..."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, cores // THREADS_PER_JOB)


def trainers_setting() -> int:
    """``DIGITLAB_TRAINERS`` (a whole number >= 1), else :func:`default_trainers`."""
    return number_setting("DIGITLAB_TRAINERS", default_trainers(), whole=True)


class _Slot:
    """One trainer process and the job it runs (``job``: its id, or None when idle)."""

    def __init__(self, index: int):
        self.index = index
        self.proc = self.job_q = self.ev_q = self.stop = None
        self.job: str | None = None
        self.stop_requested: float | None = None  # when Stop was asked (time.time())
        self.stop_seen: float | None = None  # when the trainer acknowledged it
        self.stop_acked = False  # training has ended (evaluating/saving): let it save

    def assign(self, job_id: str | None):
        self.job, self.stop_requested, self.stop_seen, self.stop_acked = job_id, None, None, False

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None


class LocalPool:
    """``slots`` warm trainer processes on this machine (None: :func:`trainers_setting`).

    ``start=False``: no process until the first job (tests of the Worker's bookkeeping)."""

    def __init__(self, slots: int | None = None, *, stop_grace: float = 3.0, stop_timeout: float = 60.0,
                 start: bool = True, nice: int = TRAINER_NICE):
        self.slots = int(slots) if slots is not None else trainers_setting()
        if self.slots < 1:
            raise ValueError("a pool needs at least one trainer")
        self.stop_grace = stop_grace  # seconds for a trainer to acknowledge a Stop
        self.stop_timeout = stop_timeout  # seconds for an acknowledged job to end
        self.nice = nice
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._inbox: queue_mod.SimpleQueue = queue_mod.SimpleQueue()  # (slot, its event queue, event)
        self._slots = [_Slot(i) for i in range(self.slots)]
        self._closed = False
        if start:
            for s in self._slots:
                self._spawn(s)

    # ---- one slot's process

    def _spawn(self, s: _Slot):
        s.job_q, s.ev_q, s.stop = self._ctx.Queue(), self._ctx.Queue(), trainer_process.StopFlag(self._ctx)
        s.proc = trainer_process.spawn(self._ctx, s.job_q, s.ev_q, s.stop, nice=self.nice)
        threading.Thread(target=self._pump, args=(s, s.ev_q), name=f"digitlab-pool-{s.index}", daemon=True).start()

    def _pump(self, s: _Slot, q):
        """Move one process's events into the inbox until that process is replaced or the pool closes."""
        while not self._closed and s.ev_q is q:
            try:
                ev = q.get(timeout=0.2)
            except queue_mod.Empty:
                continue
            except (EOFError, OSError, ValueError):
                break
            self._inbox.put((s, q, ev))
        with contextlib.suppress(Exception):
            q.close()

    @staticmethod
    def _kill(proc, job_q):
        """End a trainer process for good (SIGTERM, then SIGKILL), and drop its job queue."""
        if proc is None:
            return
        proc.terminate()
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGCONT)  # a stopped (SIGSTOP) process handles the SIGTERM only once continued
        proc.join(2)
        if proc.is_alive():
            proc.kill()
            proc.join(2)
        with contextlib.suppress(Exception):
            job_q.cancel_join_thread()  # never wait at exit to feed a dead process
            job_q.close()

    def _replace(self, s: _Slot):
        """Kill the slot's process and start a fresh one (the listener's thread, no lock held
        while it waits for the old process to end)."""
        with self._lock:
            proc, job_q, s.ev_q = s.proc, s.job_q, None  # its pump stops; late events are dropped
            s.proc = None
        self._kill(proc, job_q)
        with self._lock:
            if not self._closed:
                self._spawn(s)

    # ---- the engine interface

    def start(self, job: dict) -> None:
        with self._lock:
            s = next((s for s in self._slots if s.job is None), None)
            if s is None:
                raise RuntimeError("no free trainer slot")  # the Worker starts jobs only when one is free
            fresh = s.proc is None or not s.proc.is_alive()
        if fresh:  # not started yet (start=False), or died while idle
            self._replace(s)
        with self._lock:
            s.stop.clear()  # before the job is known: a Stop asked from now on is kept
            s.assign(job["id"])
            s.job_q.put(job)

    def stop(self, job_id: str) -> None:
        with self._lock:
            s = self._slot_of(job_id)
            if s is not None and s.stop_requested is None:
                s.stop_requested = time.time()
                s.stop.set()

    def running(self) -> set[str]:
        with self._lock:
            return {s.job for s in self._slots if s.job is not None}

    def poll(self, timeout: float) -> list[dict]:
        events = []
        try:
            events.append(self._inbox.get(timeout=timeout))
            while True:
                events.append(self._inbox.get_nowait())
        except queue_mod.Empty:
            pass
        out = [ev for s, q, ev in events if self._take(s, q, ev)]
        return out + self._watchdog()

    def close(self, timeout: float = 3.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            slots = [(s.proc, s.job_q, s.stop) for s in self._slots]
        for proc, job_q, stop in slots:
            if proc is None:
                continue
            stop.set()
            with contextlib.suppress(Exception):
                job_q.put(None)  # the trainer's loop ends
        end = time.monotonic() + timeout
        for proc, job_q, _ in slots:
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.join(max(0.0, end - time.monotonic()))
                self._kill(proc, job_q)

    def describe(self) -> dict:
        with self._lock:
            return {"engine": "local", "slots": self.slots, "pids": [s.pid for s in self._slots], "nice": self.nice,
                    "alive": all(s.proc is not None and s.proc.is_alive() for s in self._slots)}

    # ---- bookkeeping (poll's thread)

    def _slot_of(self, job_id: str) -> _Slot | None:
        return next((s for s in self._slots if s.job == job_id), None)

    def _take(self, s: _Slot, q, ev: dict) -> bool:
        """Note what an event means for its slot; False for one not to pass on (from a replaced
        process, or the trainer's own ``ready``)."""
        with self._lock:
            if q is not s.ev_q or ev.get("job") is None:
                return False
            if ev.get("job") != s.job:
                return True  # not this slot's job: the Worker ignores what it does not know
            typ = ev.get("type")
            if typ == "stopping":
                s.stop_seen = ev.get("t", time.time())
            elif typ == "phase" and s.stop_requested is not None and ev.get("phase") in ("evaluating", "saving"):
                s.stop_acked = True  # training has ended: let it save the partial model
            elif typ in FINAL:
                s.assign(None)
            return True

    def _watchdog(self) -> list[dict]:
        """Events for jobs whose trainer ignored a Stop or died; those slots get a fresh process."""
        out, replace = [], []
        now = time.time()
        with self._lock:
            if self._closed:
                return []
            for s in self._slots:
                if s.proc is None:
                    continue
                waited = now - s.stop_requested if s.stop_requested else 0.0
                stuck = s.job is not None and s.stop_requested is not None and not s.stop_acked and (
                    waited > self.stop_timeout or (s.stop_seen is None and waited > self.stop_grace))
                if stuck:
                    out.append({"type": "stopped", "job": s.job, "t": now, "model": None, "terminated": True})
                elif not s.proc.is_alive():
                    if s.job is not None:
                        err = f"the trainer process died (exit code {s.proc.exitcode})"
                        out.append({"type": "error", "job": s.job, "t": now, "error": err})
                else:
                    continue
                s.assign(None)
                replace.append(s)
        for s in replace:
            self._replace(s)
        return out
