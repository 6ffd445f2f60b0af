"""The trainer process: the child side of :class:`digitlab.training.Worker`.

The server starts it with :func:`spawn` (multiprocessing *spawn*, so it shares no state
with the server and is the only process that imports TensorFlow). :func:`trainer_main` takes
job dicts from a queue, runs each with :func:`digitlab.jobs.run_job` and puts its events on
another queue; an exception becomes the job's ``error`` event and the process goes on.

Stop: :class:`StopFlag`, one shared byte the trainers poll every batch; a thread beside
the job acknowledges a Stop at once with a ``stopping`` event, so the server can tell a busy
trainer (acknowledged, left to reach its next poll) from a stuck one (terminated).

Lifetime: the process watches its parent's pid twice a second and exits when it changes
(the parent died, SIGKILL included). ``PR_SET_PDEATHSIG`` is not used because it fires when
the *thread* that started the child ends, and the Worker may be started from a short-lived
Streamlit script thread. See docs/architecture.md, "Training jobs and the trainer process".
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback

from .errors import DigitLabError
from .jobs import run_job

BATCH_EVENT_INTERVAL = 0.1  # seconds between forwarded batch events


PARENT_POLL_S = 0.5  # how often the child checks that its parent is alive


def _watch_parent(parent_pid: int):
    """Child side: end this process as soon as its parent is gone (reparented: a new ppid)."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent_pid:
            os._exit(3)  # nothing to save for: the store stays consistent (saves are atomic)


class StopFlag:
    """The Stop request shared by the server and its trainer: one byte of shared memory.

    Not a ``multiprocessing.Event``: its ``set()`` waits for every process sleeping in
    ``wait()`` to wake, and its lock stays taken if a process dies (or is stopped) while
    holding it, so one frozen or killed trainer could hang the server's Stop button.
    A lock-free byte has neither problem: the parent writes it, the child reads it."""

    def __init__(self, ctx):
        self._v = ctx.RawValue("b", 0)

    def set(self):
        self._v.value = 1

    def clear(self):
        self._v.value = 0

    def is_set(self) -> bool:
        return self._v.value == 1


def _acknowledge_stop(stop_flag: StopFlag, ev_q, jid: str, done: threading.Event):
    """Child side: report a Stop the moment it is asked (the trainer honours it at its next poll)."""
    while not done.wait(0.1):
        if stop_flag.is_set():
            ev_q.put({"type": "stopping", "job": jid, "t": time.time()})
            return


def trainer_main(job_q, ev_q, stop_flag: StopFlag, parent_pid: int | None = None, nice: int = 0):
    """The trainer process: take jobs from ``job_q`` until None; events to ``ev_q``.

    ``nice``: how much lower than the server this process runs (``os.nice``), so the server's
    pages (a drawing's predictions) get the cores first while it trains."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal is the parent's business
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="digitlab-parent-watch", daemon=True).start()
    ev_q.put({"type": "ready", "pid": os.getpid()})
    for job in iter(job_q.get, None):
        if job.get("home"):
            os.environ["DIGITLAB_HOME"] = job["home"]  # the store the job was submitted to
        ev_q.put({"type": "started", "job": job["id"], "t": time.time(), "pid": os.getpid()})
        final = _run_one(job, ev_q, stop_flag)
        ev_q.put({**final, "job": job["id"], "t": time.time()})


def _run_one(job: dict, ev_q, stop_flag: StopFlag) -> dict:
    """Run one job with a Stop acknowledger beside it; any exception becomes the job's error event."""
    done = threading.Event()
    threading.Thread(target=_acknowledge_stop, args=(stop_flag, ev_q, job["id"], done), daemon=True).start()
    emit, clock = _timed(_throttled_emit(ev_q, job["id"]))
    try:
        if job.get("_test_hook"):
            emit = _test_hook(job["_test_hook"], emit, stop_flag.is_set)
        final = run_job(job, emit, stop_flag.is_set)
        if "training" in clock:  # the server's cost model learns from it (digitlab.costs)
            final["train_seconds"] = round(clock.get("evaluating", time.perf_counter()) - clock["training"], 3)
        return final
    except BaseException as e:  # noqa: BLE001 - reported as the job's error; the trainer goes on
        coded = isinstance(e, DigitLabError)  # its params are JSON-friendly, so they cross the queue
        return {"type": "error", "error": f"{type(e).__name__}: {e}", "code": e.code if coded else None,
                "params": e.params if coded else {}, "traceback": traceback.format_exc(limit=8)}
    finally:
        done.set()


def _timed(emit):
    """``emit`` that also notes when each phase began (perf_counter seconds, in the dict it returns)."""
    clock: dict[str, float] = {}

    def timed(ev):
        if ev.get("type") == "phase":
            clock.setdefault(ev.get("phase"), time.perf_counter())
        emit(ev)
    return timed, clock


def _throttled_emit(ev_q, jid: str):
    """An ``emit`` that forwards at most one batch event per BATCH_EVENT_INTERVAL (and the last of each epoch)."""
    last = [0.0]

    def emit(ev):
        if ev.get("type") == "batch":
            now = time.monotonic()
            if now - last[0] < BATCH_EVENT_INTERVAL and ev.get("batch") != ev.get("n_batches"):
                return
            last[0] = now
        ev_q.put({**ev, "job": jid, "t": time.time()})
    return emit


def _test_hook(hook: str, emit, should_stop):
    """Misbehaving jobs for the tests: ``raise`` raises, ``hang`` ignores Stop, ``freeze`` stops its
    process (SIGSTOP), ``sleep:S`` sleeps,
    ``slow-epoch-end:S`` spends S seconds (not polling Stop) before reporting its first epoch,
    as a busy machine's validation pass does. Returns the ``emit`` the job then uses."""
    if hook.startswith("slow-epoch-end:"):
        delay, slowed = float(hook.split(":")[1]), []

        def slow_emit(ev):
            if ev.get("type") == "epoch" and not slowed:
                slowed.append(ev)
                emit({"type": "phase", "phase": "epoch end (test delay)"})
                time.sleep(delay)
            emit(ev)
        return slow_emit
    if hook == "raise":
        raise RuntimeError("boom (test hook)")
    if hook == "freeze":  # the whole process stops (SIGSTOP): it cannot even acknowledge a Stop
        emit({"type": "phase", "phase": "frozen"})
        time.sleep(0.5)  # the queue's feeder thread sends the event first
        os.kill(os.getpid(), signal.SIGSTOP)
    if hook == "hang":
        emit({"type": "phase", "phase": "hanging"})
        while True:
            time.sleep(0.05)
    if hook.startswith("sleep:"):
        end = time.monotonic() + float(hook.split(":")[1])
        while time.monotonic() < end and not should_stop():
            time.sleep(0.02)
    return emit


# ---------------------------------------------------------------- starting it (the server's side)


_main_lock = threading.Lock()


@contextlib.contextmanager
def _no_main_reimport():
    """Spawn re-imports the parent's ``__main__`` in the child (Streamlit's launcher, pytest,
    or a script read from stdin, which fails). The child needs only this module, so hide
    ``__main__``'s file and spec while the process starts."""
    main = sys.modules.get("__main__")
    with _main_lock:
        saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
        try:
            if main is not None:
                main.__dict__.pop("__file__", None)
                main.__dict__["__spec__"] = None
            yield
        finally:
            if main is not None:
                main.__dict__.pop("__spec__", None)
                main.__dict__.update(saved)


def spawn(ctx, job_q, ev_q, stop_flag: StopFlag, *, nice: int = 0):
    """Start a trainer process (``ctx``: the *spawn* multiprocessing context) at niceness ``nice``
    above this process's; it ends with this process."""
    proc = ctx.Process(target=trainer_main, args=(job_q, ev_q, stop_flag, os.getpid(), nice), name="digitlab-trainer",
                       daemon=True)
    with _no_main_reimport():
        proc.start()
    return proc
