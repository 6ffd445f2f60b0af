"""A workshop room on one real server: simulated participants, two real Chromium pages (issue 16, item 5).

    python -m bench.room [--participants 30] [--minutes 5] [--browsers 2] [--dask ADDRESS] [--keep]

Starts ``streamlit run app.py`` in workshop mode (``DIGITLAB_WORKSHOP=1``, an instructor key, a
temporary ``DIGITLAB_HOME`` holding the default models' architectures, trained first by the CLI),
the way ``bench.ui`` starts it (its ``Server``: Streamlit's own CLI with every script run logged).
Then a room:

* ``--participants`` people are simulated **at the protocol level**: each one is a websocket on
  ``/_stcore/stream`` speaking Streamlit's own messages (the ``streamlit.proto`` classes) as the
  frontend does (read in ``streamlit/static`` and checked against Chromium's frames over CDP):
  subprotocols ``["streamlit", <XSRF token or "PLACEHOLDER_AUTH_TOKEN">]``, then a ``BackMsg``
  ``rerun_script`` whose ``ClientState`` carries the address's query string, ``page_name`` "draw" on
  the first run (``page_script_hash`` from the ``navigation`` message after it), ``context_info`` and
  the widget states. A participant joins through the workshop gate by its address
  (``?name=P07&seat=...``: :func:`pages.workshop.gate` claims the name silently), opens the Draw page,
  and sends a drawing every 3 s: the canvas component's widget state (``json_value``)
  ``{"drawing": {"raw": <fabric.js JSON>, "data": "data:image/png;base64,..."}, "backgroundFit": null}``
  (what ``streamlit_drawable_canvas`` reads back as ``CanvasResult.image_data``), the PNG a real
  digit of ``data/mnist_sample.npz`` drawn white on the opaque black 280x280 RGBA canvas. A Draw run
  is timed from the ``BackMsg`` sent to the run's ``script_finished`` (``ForwardMsg``s between:
  ``new_session``, ``navigation``, ``delta``s, ``auto_rerun``); its deltas must hold every class
  default's prediction (``st.metric`` elements) and no exception or error/warning element. Fragments
  are rerun as the frontend does: each ``auto_rerun`` arms a timer, each full run's ``new_session``
  drops them all (so the Draw page's ``st.fragment(run_every=5)`` seldom fires while its owner draws
  every 3 s).
* In the first minute a third of them (10 of 30) open the Train page in a second tab (the same
  name and seat), choose a model kind and its ``workshop`` preset (the jobs cycle through every
  kind that has one: a room's mix; numpy-mlp ``quick`` where none has), press Start (the form's
  submit button: a ``trigger_value``) and poll the job's live route
  ``/digitlab/live/{job}`` twice a second, as the page's component does; Start -> "running" is
  the job's wait. When the job ends, the tab reruns its page once, as the component does.
* ``--browsers`` real Chromium pages (Playwright) join as participants too and draw a "1" or a "7"
  with the mouse every ~3 s: mouse-up -> every class default's prediction shown, on the page's
  clock (``bench.ui``'s MutationObserver), then the page's own Clear.

Prints ONE JSON object last on stdout (progress goes to stderr). Targets on the 2-core machine,
30 participants: ``draw_run_ms_p95`` <= 300, ``draw_latency_ms_p95`` <= 600, ``errors`` 0,
``job_wait_s_p95`` <= 60, server memory growth <= 200 MB. ``--py-spy`` also samples the server
with py-spy while the room draws and adds where its time went.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.ui import (OBSERVER_JS, ONE, SEVEN, Server, browser_cpu_seconds, cpu_seconds, descendants,  # noqa: E402
                      machine, machine_busy_seconds, our_cpu_seconds, run_stats)
from tools.browser import ARGS, CHROMIUM  # noqa: E402

TARGETS = {"draw_run_ms_p95": 300, "draw_latency_ms_p95": 600, "errors": 0, "job_wait_s_p95": 60,
           "server_rss_growth_mb": 200}
DRAW_EVERY_S = 3.0
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench.room {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def pct(xs, q):
    import numpy as np

    xs = [float(x) for x in xs if x is not None]
    return round(float(np.percentile(xs, q)), 1) if xs else None


def summary(xs) -> dict:
    xs = [float(x) for x in xs if x is not None]
    return {"n": len(xs), "p50": pct(xs, 50), "p90": pct(xs, 90), "p95": pct(xs, 95),
            "max": round(max(xs), 1) if xs else None}


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# ====================================================================== the server


def _serve(argv: list[str]) -> None:
    """bench.ui's instrumented ``streamlit`` (every script run logged), plus a memory report written to
    ``$DIGITLAB_HOME/memory-<n>.json`` on SIGUSR1 (:func:`memory_report`)."""
    from bench import ui

    count = [0]

    def on_usr1(*_):
        count[0] += 1
        path = Path(os.environ["DIGITLAB_HOME"]) / f"memory-{count[0]}.json"
        try:
            rep = memory_report()
        except Exception as e:  # noqa: BLE001 - never break the server for a measurement
            rep = {"error": repr(e)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rep))
        tmp.rename(path)

    signal.signal(signal.SIGUSR1, on_usr1)
    ui._serve(argv)


def memory_report() -> dict:
    """Where the server's memory is, from inside it: glibc's heap (``mallinfo2``: bytes in use and
    free-but-kept, over every arena), Python's small-object blocks, Streamlit's own accounting
    (session state, caches: its stats manager), the media files ``st.image`` keeps, the sessions,
    and the commonest object types the GC tracks."""
    import ctypes
    import gc

    from streamlit.runtime import Runtime

    out: dict = {"rss_mb": rss_mb(os.getpid())}

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    m = libc.mallinfo2()
    mb = lambda b: round(b / 2**20, 1)  # noqa: E731
    out["malloc_mb"] = {"heap": mb(m.arena), "heap_in_use": mb(m.uordblks), "heap_free_kept": mb(m.fordblks),
                        "mmapped": mb(m.hblkhd)}
    out["python_blocks"] = sys.getallocatedblocks()
    rt = Runtime.instance()
    by_cat = collections.Counter()
    for family, stats in rt.stats_mgr.get_stats().items():
        for st in stats:
            by_cat[f"{family}:{getattr(st, 'category_name', '')}"] += getattr(st, "byte_length", 0) or 0
    out["streamlit_stats_mb"] = {k: mb(v) for k, v in by_cat.most_common(12)}
    files = getattr(getattr(rt.media_file_mgr, "_storage", None), "_files_by_id", {}) or {}
    out["media_files"] = {"n": len(files), "mb": mb(sum(len(getattr(f, "content", b"")) for f in files.values()))}
    mgr = rt._session_mgr
    out["sessions"] = {"all": len(mgr.list_sessions()), "active": len(mgr.list_active_sessions())}
    out["threads"] = threading.active_count()
    out["gc_types"] = collections.Counter(type(o).__name__ for o in gc.get_objects()).most_common(15)
    return out


class RoomServer(Server):
    """bench.ui's Server started as ``python -m bench.room _serve run app.py ...`` (the same instrumented
    Streamlit CLI, plus the memory report on SIGUSR1)."""

    def __init__(self, home: Path, options: list[str] = ()):
        from bench.ui import free_port

        self.home, self.port, self.options = home, free_port(), list(options)
        self.runlog = home / "runs.jsonl"
        self.runlog.touch()
        env = {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1",
               "DIGITLAB_BENCH_RUNLOG": str(self.runlog), "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.logf = open(home / "server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.room", "_serve", "run", "app.py", "--server.port", str(self.port),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *self.options],
            cwd=REPO, env=env, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.reports = 0

    async def memory(self, timeout: float = 30.0) -> dict | None:
        """Ask the server for :func:`memory_report` (SIGUSR1) and wait for it."""
        self.reports += 1
        path = self.home / f"memory-{self.reports}.json"
        os.kill(self.proc.pid, signal.SIGUSR1)
        end = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > end:
                return None
            await asyncio.sleep(0.1)
        return json.loads(path.read_text())


# ====================================================================== setup


def train_defaults(home: Path, which: str) -> subprocess.Popen:
    """The class defaults (``digitlab.defaults.DEFAULT_MODELS``' names, kinds and architectures)
    trained by the CLI in the background, owned by nobody, as a workshop's server has them before
    the room arrives. ``quick``: 1 epoch on 3000 digits each (inference costs the same as the
    real ones: the shapes are the same); ``full``: the real presets; ``mlp``: the MLP alone, quick."""
    import shlex

    from digitlab.defaults import DEFAULT_MODELS

    cmds = []
    for name, kind, preset, over in DEFAULT_MODELS:
        if which == "mlp" and kind != "numpy-mlp":
            continue
        sets = [f"{k}={v}" for k, v in over.items()]
        cmd = [sys.executable, "-m", "digitlab", "train", "--model", kind, "--preset", preset, "--name", name, "--quiet"]
        if which != "full":
            cmd += ["--epochs", "1"]
            sets.append("max_train=3000")
        for s in sets:
            cmd += ["--set", s]
        cmds.append(" ".join(map(shlex.quote, cmd)))
    env = {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("DIGITLAB_WORKSHOP", None)
    return subprocess.Popen(["bash", "-c", " && ".join(cmds)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(home / "defaults.log", "w"), start_new_session=True)


def job_plan(kinds: str | None, preset: str | None) -> list[tuple[str, str]]:
    """The jobs the room starts, cycled through by the participants who train: a room's mix, one
    of every kind with a ``workshop`` preset in the registry's order (``--job-kinds`` chooses the
    kinds, ``--job-preset`` another preset); where no kind has one, numpy-mlp's smallest ``quick``."""
    from digitlab import models

    want = [k.strip() for k in kinds.split(",")] if kinds else list(models.REGISTRY)
    for k in want:
        models.get_kind(k)  # an unknown kind fails now, with the registry's message
    if preset:
        return [(k, preset) for k in want]
    plan = [(k, "workshop") for k in want if "workshop" in models.REGISTRY[k].presets]
    if plan:
        return plan
    return [(k, "quick" if "quick" in models.REGISTRY[k].presets else models.REGISTRY[k].default_preset)
            for k in (want if kinds else ["numpy-mlp"])]


def drawing_values(n: int, seed: int = 0) -> list[tuple[int, str]]:
    """``n`` real digits as the canvas sends them: (label, the widget's JSON value)."""
    import numpy as np
    from PIL import Image

    from digitlab import data

    ds = data.load_sample()
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.choice(len(ds), n, replace=False):
        c = np.zeros((280, 280, 4), np.uint8)
        c[..., 3] = 255  # the canvas's black background is painted: opaque everywhere
        c[28:252, 28:252, :3] = np.kron(ds.images[i], np.ones((8, 8), np.uint8))[..., None]
        buf = io.BytesIO()
        Image.fromarray(c).save(buf, format="PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        raw = {"version": "7.4.0", "objects": [_path_object()], "background": "#000000"}
        out.append((int(ds.labels[i]), json.dumps({"drawing": {"raw": raw, "data": url}, "backgroundFit": None})))
    return out


_FABRIC_PATH = json.loads(
    '{"lockMovementX":false,"lockMovementY":false,"lockRotation":false,"lockScalingX":false,"lockScalingY":false,'
    '"lockSkewingX":false,"lockSkewingY":false,"lockScalingFlip":false,"type":"Path","version":"7.4.0",'
    '"originX":"center","originY":"center","left":140,"top":139.4219,"width":0,"height":190.04,"fill":null,'
    '"stroke":"#ffffff","strokeWidth":20,"strokeDashArray":null,"strokeLineCap":"round","strokeDashOffset":0,'
    '"strokeLineJoin":"round","strokeUniform":false,"strokeMiterLimit":10,"scaleX":1,"scaleY":1,"angle":0,'
    '"flipX":false,"flipY":false,"opacity":1,"shadow":null,"visible":true,"backgroundColor":"","fillRule":"nonzero",'
    '"paintFirst":"fill","globalCompositeOperation":"source-over","skewX":0,"skewY":0}')


def _path_object() -> dict:
    """One free-drawing stroke as fabric.js 7 serialises it (the object a real canvas sent, captured
    from Chromium), its path a vertical line of 30 points."""
    pts = [["M", 140, 44.4]] + [["Q", 140, 44.4 + 6.3 * k, 140, 47.6 + 6.3 * k] for k in range(29)] + [["L", 140, 234.4]]
    return {**_FABRIC_PATH, "path": pts}


# ====================================================================== one Streamlit session over its websocket


class RunFailed(Exception):
    pass


class Session:
    """A browser tab at the protocol level: a websocket on /_stcore/stream, ``BackMsg`` out,
    ``ForwardMsg`` in. :meth:`rerun` sends a ``rerun_script`` and waits for the full run's
    ``script_finished``, returning the elements its deltas drew. The fragments the server asks
    to rerun (``auto_rerun``) are rerun on their interval, as the frontend does."""

    def __init__(self, room: "Room", who: str, query: str):
        self.room, self.who, self.query = room, who, query
        self.ws = None
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.page_hash = ""
        self.session_id = None
        self.run_id = None  # the full run being received
        self.elements: list = []
        self.waiter: asyncio.Future | None = None
        self.sent_at = 0.0
        self.auto: dict[str, asyncio.Task] = {}
        self.reader = None
        self.closed = False
        self.fragment_sent: dict[str, float] = {}
        self.widgets: dict = {}  # widget id -> WidgetState: the values this tab set, sent with every rerun

    async def connect(self):
        from websockets.asyncio.client import connect

        await self.room.http_get("/_stcore/health")  # the frontend checks the server first
        self.ws = await connect(f"ws://127.0.0.1:{self.room.port}/_stcore/stream",
                                subprotocols=["streamlit", "PLACEHOLDER_AUTH_TOKEN"],
                                origin=f"http://127.0.0.1:{self.room.port}", max_size=None, ping_interval=None,
                                open_timeout=60)
        self.reader = asyncio.create_task(self._read())

    async def close(self):
        self.closed = True
        for t in self.auto.values():
            t.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()

    # ---- outgoing

    def _client_state(self, page: str | None, widgets, fragment_id: str | None, auto: bool):
        from streamlit.proto.ClientState_pb2 import ClientState

        cs = ClientState(query_string=self.query, is_auto_rerun=auto, fragment_id=fragment_id or "")
        if page is not None and page in self.pages:
            cs.page_script_hash = self.pages[page]
        elif page is not None:
            cs.page_name = page  # the first run: the page from the address, as the frontend sends it
        else:
            cs.page_script_hash = self.page_hash
        triggers = []
        for w in widgets:
            if w.WhichOneof("value") in ("trigger_value", "json_trigger_value", "string_trigger_value"):
                triggers.append(w)  # a trigger is sent once
            else:
                self.widgets[w.id] = w
        for w in [*self.widgets.values(), *triggers]:
            cs.widget_states.widgets.append(w)
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale, ci.is_embedded, ci.color_scheme = "UTC", 0, "en-US", False, "light"
        ci.url = f"http://127.0.0.1:{self.room.port}/{page or ''}"
        return cs

    async def _send(self, cs):
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.CopyFrom(cs)
        await self.ws.send(msg.SerializeToString())

    async def rerun(self, page: str | None = None, widgets=(), timeout: float = 60.0):
        """A full run (``page``: switch to it); (ms from sending to its script_finished, elements)."""
        if self.waiter is not None:
            raise RunFailed("a run is already awaited")
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        cs = self._client_state(page, widgets, None, False)
        self.sent_at = time.perf_counter()
        self.run_id = None
        await self._send(cs)
        try:
            elements = await asyncio.wait_for(self.waiter, timeout)
        except asyncio.TimeoutError:
            raise RunFailed(f"no script_finished within {timeout:.0f} s") from None
        finally:
            self.waiter = None
        return 1000 * (time.perf_counter() - self.sent_at), elements

    async def _auto_rerun(self, fragment_id: str, interval: float):
        """The frontend's ``setInterval``: a fragment rerun every ``interval`` s, whatever else runs."""
        try:
            while not self.closed:
                await asyncio.sleep(interval)
                if self.closed:
                    break
                self.fragment_sent[fragment_id] = time.perf_counter()
                await self._send(self._client_state(None, (), fragment_id, True))
        except asyncio.CancelledError:
            pass
        except Exception as e:  # noqa: BLE001 - the socket closed under us
            if not self.closed:
                self.room.error(self.who, f"fragment rerun: {e!r}")

    # ---- incoming

    async def _read(self):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self.ws:
                self._on(ForwardMsg.FromString(data))
        except asyncio.CancelledError:
            pass
        except Exception as e:  # noqa: BLE001
            if not self.closed:
                self.room.error(self.who, f"websocket: {e!r}")
                if self.waiter is not None and not self.waiter.done():
                    self.waiter.set_exception(RunFailed(f"websocket closed: {e!r}"))

    def _on(self, msg):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        typ = msg.WhichOneof("type")
        if typ == "new_session":
            ns = msg.new_session
            if ns.initialize.session_id:
                self.session_id = ns.initialize.session_id
            for p in ns.app_pages:
                self.pages[p.url_pathname] = p.page_script_hash
            if not msg.metadata.run.fragment_ids:  # a full run starts: the frontend drops its fragments' timers
                self.run_id = msg.metadata.run.script_run_id
                self.elements = []
                for t in self.auto.values():
                    t.cancel()
                self.auto.clear()
        elif typ == "navigation":
            for p in msg.navigation.app_pages:
                self.pages[p.url_pathname] = p.page_script_hash
            self.page_hash = msg.navigation.page_script_hash
        elif typ == "delta":
            d = msg.delta
            if d.WhichOneof("type") == "new_element":
                self.elements.append(d.new_element)
        elif typ == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif typ == "auto_rerun":
            fid, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and fid not in self.auto:
                self.auto[fid] = asyncio.create_task(self._auto_rerun(fid, every))
        elif typ == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                t = self.auto.pop(fid, None)
                if t is not None:
                    t.cancel()
        elif typ == "session_event":
            ev = msg.session_event
            if ev.WhichOneof("type") == "script_compilation_exception":
                self.room.error(self.who, f"compilation exception: {ev.script_compilation_exception.message}")
        elif typ == "page_not_found":
            self.room.error(self.who, f"page not found: {msg.page_not_found.page_name}")
        elif typ == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                fids = list(msg.metadata.run.fragment_ids)
                for fid in fids or list(self.fragment_sent):
                    t = self.fragment_sent.pop(fid, None)
                    if t is not None:
                        self.room.fragment_ms.append(1000 * (time.perf_counter() - t))
                return
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                self.room.error(self.who, "script finished with a compile error")
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return  # st.rerun() or a newer request: the next run is the one awaited
            if self.waiter is not None and not self.waiter.done() and self.run_id is not None:
                finished_id = msg.metadata.run.script_run_id
                if not finished_id or finished_id == self.run_id:
                    self.waiter.set_result(list(self.elements))


def element_kind(el) -> str:
    return el.WhichOneof("type") or ""


def problems(elements) -> list[str]:
    """Exception elements and error/warning boxes among a run's elements."""
    from streamlit.proto.Alert_pb2 import Alert

    out = []
    for el in elements:
        k = element_kind(el)
        if k == "exception":
            out.append(f"exception: {el.exception.type}: {el.exception.message[:200]}")
        elif k == "alert" and el.alert.format in (Alert.ERROR, Alert.WARNING):
            out.append(f"{Alert.Format.Name(el.alert.format).lower()}: {el.alert.body[:200]}")
    return out


def chosen(box) -> int | None:
    """The option a selectbox element shows: the value the server set, else its default."""
    if box.set_value and box.HasField("raw_value"):
        return list(box.options).index(box.raw_value) if box.raw_value in box.options else None
    return box.default if box.HasField("default") else None


def find_widget(elements, kind: str, key_suffix: str | None = None, pred=None):
    for el in elements:
        if element_kind(el) != kind:
            continue
        w = getattr(el, kind)
        if key_suffix is not None and not w.id.endswith(key_suffix):
            continue
        if pred is not None and not pred(w):
            continue
        return w
    return None


# ====================================================================== the room


class Room:
    def __init__(self, args, server: Server, n_defaults: int):
        self.args, self.server, self.port = args, server, server.port
        self.n_defaults = n_defaults
        self.errors: list[dict] = []
        self.draw_ms: list[float] = []
        self.draw_wall: list[tuple[float, float]] = []  # (wall time sent, ms)
        self.join_ms: list[float] = []
        self.train_ms: list[float] = []
        self.fragment_ms: list[float] = []
        self.reads = collections.Counter()
        self.jobs: list[dict] = []
        self.latency_ms: list[float] = []
        self.browser_reads = collections.Counter()
        self.rss: list[tuple[float, float]] = []
        self.rss_start = self.rss_end = self.rss_after = self.mem_start = self.mem_end = None
        self.skipped = 0  # drawings not sent because the participant's previous run was still late
        self.digits = drawing_values(200, seed=args.seed)
        self.plan = job_plan(args.job_kinds, args.job_preset)

    def error(self, who: str, what: str) -> None:
        self.errors.append({"who": who, "what": what, "t": round(time.monotonic() - T0, 1)})
        log(f"ERROR {who}: {what}")

    async def http_get(self, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
        """A plain HTTP/1.1 GET on the server (as a browser's fetch), (status, body)."""
        async def go():
            r, w = await asyncio.open_connection("127.0.0.1", self.port)
            w.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nConnection: close\r\n\r\n".encode())
            await w.drain()
            raw = await r.read()
            w.close()
            head, _, body = raw.partition(b"\r\n\r\n")
            return int(head.split(b" ", 2)[1]), body

        return await asyncio.wait_for(go(), timeout)

    def query(self, name: str, seat: str) -> str:
        return urllib.parse.urlencode({"name": name, "seat": seat})

    # ---- a participant drawing on the Draw page

    async def drawer(self, i: int, name: str, seat: str, start: float, end: float, offset: float):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        s = Session(self, name, self.query(name, seat))
        try:
            await s.connect()
            ms, els = await s.rerun(page="draw")
            self.join_ms.append(ms)
            canvas = find_widget(els, "bidi_component", "-draw_canvas")
            if canvas is None:
                self.error(name, f"no canvas on the Draw page; it showed {[element_kind(e) for e in els][:20]}")
                return
            k = 0
            while True:
                t_next = start + offset + k * DRAW_EVERY_S
                k += 1
                if t_next >= end:
                    break
                if time.monotonic() > t_next + DRAW_EVERY_S / 2:  # the last run took too long: this drawing is late
                    self.skipped += 1
                    continue
                await asyncio.sleep(max(0.0, t_next - time.monotonic()))
                label, value = self.digits[(i * 7 + k) % len(self.digits)]
                wall = time.time()
                try:
                    ms, els = await s.rerun(widgets=[WidgetState(id=canvas.id, json_value=value)])
                except RunFailed as e:
                    self.error(name, f"draw run: {e}")
                    continue
                self.draw_ms.append(ms)
                self.draw_wall.append((wall, ms))
                for p in problems(els):
                    self.error(name, f"draw run: {p}")
                metrics = [el.metric for el in els if element_kind(el) == "metric"]
                if len(metrics) < self.n_defaults or not all(re.fullmatch(r"[0-9]", m.body) for m in metrics):
                    self.error(name, f"draw run: predictions missing ({[(m.label, m.body) for m in metrics]}, "
                                     f"{self.n_defaults} class default(s) expected)")
                else:
                    for m in metrics:
                        self.reads["right" if m.body == str(label) else "wrong"] += 1
                c = find_widget(els, "bidi_component", "-draw_canvas")
                canvas = c or canvas
        except RunFailed as e:
            self.error(name, f"joining: {e}")
        except Exception as e:  # noqa: BLE001
            self.error(name, f"drawer: {e!r}")
        finally:
            await s.close()

    # ---- a participant starting a job from the Train page (a second tab)

    async def trainer(self, name: str, seat: str, at: float, end: float, kind: str, preset: str):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        from digitlab import models
        from digitlab.texts import text

        job = {"who": name, "kind": kind, "preset": preset, "state": None}
        self.jobs.append(job)
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        s = Session(self, name + " (train tab)", self.query(name, seat))
        try:
            await s.connect()
            ms, els = await s.rerun(page="train")
            self.train_ms.append(ms)
            kinds = list(models.REGISTRY)
            box = find_widget(els, "selectbox", "-train_kind")
            if box is None:
                raise RunFailed("no model-kind select on the Train page")
            want = kinds.index(kind)
            if chosen(box) != want:
                ms, els = await s.rerun(widgets=[WidgetState(id=box.id, string_value=box.options[want])])
                self.train_ms.append(ms)
            presets = list(models.REGISTRY[kind].presets)
            box = find_widget(els, "selectbox", f"-train_preset_{kind}")
            if box is None:
                raise RunFailed(f"no preset select for {kind}")
            want = presets.index(preset)
            if chosen(box) != want:
                ms, els = await s.rerun(widgets=[WidgetState(id=box.id, string_value=box.options[want])])
                self.train_ms.append(ms)
            start_label = text("en", "train.start")
            button = find_widget(els, "button", pred=lambda b: b.is_form_submitter and b.label == start_label)
            if button is None:
                raise RunFailed("no Start button")
            t_start = time.monotonic()
            job["start_t"] = round(t_start - T0, 1)
            ms, els = await s.rerun(widgets=[WidgetState(id=button.id, trigger_value=True)])
            self.train_ms.append(ms)
            for p in problems(els):
                self.error(s.who, f"Start: {p}")
            jid = urllib.parse.parse_qs(s.query).get("job", [None])[0]
            if not jid:
                raise RunFailed(f"Start gave no job id (address: {s.query})")
            job["id"] = jid
            log(f"{name} started {jid} ({kind}, {preset})")
            # the page's live component: GET the route every 500 ms while the job is queued or running
            state = None
            while True:
                status, body = await self.http_get(f"/digitlab/live/{jid}?lang=en&dark=0")
                if status != 200:
                    raise RunFailed(f"live route answered {status}")
                payload = json.loads(body)
                state = payload["state"]
                now = time.monotonic()
                if state == "queued" and "queued_text" not in job:  # the place and the expected start it says
                    job["queued_text"] = re.sub(r"<[^>]+>", "", payload.get("html") or "").strip()[:200]
                if state != "queued" and "wait_s" not in job:
                    job["wait_s"] = round(now - t_start, 2)
                    log(f"{name}'s job {jid}: {state} after {job['wait_s']} s")
                if state not in ("queued", "running"):
                    job["done_s"] = round(now - t_start, 1)
                    job["ended_in_room"] = now <= self.t_end  # before the drawing stopped
                    break
                if now > end:
                    break
                await asyncio.sleep(0.5)
            job["state"] = state
            if state == "error":
                self.error(s.who, f"job {jid} ended in error")
            if state not in ("queued", "running"):  # the component's one rerun when the job ends
                ms, els = await s.rerun()
                self.train_ms.append(ms)
                for p in problems(els):
                    if state != "error":
                        self.error(s.who, f"Train page after the job: {p}")
        except RunFailed as e:
            self.error(s.who, str(e))
        except Exception as e:  # noqa: BLE001
            self.error(s.who, f"trainer: {e!r}")
        finally:
            await s.close()

    # ---- a real Chromium page drawing with the mouse

    async def browser_page(self, browser, name: str, start: float, end: float, offset: float):
        seat = secrets.token_urlsafe(8)
        ctx = await browser.new_context(viewport={"width": 1280, "height": 1400})
        page = await ctx.new_page()
        try:
            await page.goto(f"{self.server.url}/draw?{self.query(name, seat)}")
            main = page.locator("[data-testid=stMain]")
            await main.get_by_text("Draw a digit on the black square").first.wait_for(timeout=120000)
            canvas = main.locator("canvas.upper-canvas")
            await canvas.wait_for(timeout=60000)
            reset = main.locator(".st-key-draw_clear button")
            await page.wait_for_timeout(1000)
            await page.evaluate(OBSERVER_JS)
            k = 0
            while True:
                t_next = start + offset + k * DRAW_EVERY_S
                if t_next >= end:
                    break
                if time.monotonic() > t_next + DRAW_EVERY_S / 2:  # still loading, or the last stroke took long
                    k += 1
                    continue
                await asyncio.sleep(max(0.0, t_next - time.monotonic()))
                digit, strokes = ("1", ONE) if k % 2 == 0 else ("7", SEVEN)
                k += 1
                n_ups = await page.evaluate("window.__bench.ups.length")
                await adraw(page, canvas, strokes)
                try:
                    await page.wait_for_function(
                        "([k, n]) => { const B = window.__bench; if (B.ups.length <= k) return false;"
                        " const up = B.ups[B.ups.length - 1]; return B.changes.some(c => c.t > up && c.v.length >= n); }",
                        arg=[n_ups, self.n_defaults], timeout=20000)
                except Exception:  # noqa: BLE001 - playwright's TimeoutError
                    self.error(name, "browser: the predictions did not show within 20 s of mouse-up")
                    await reset.click()
                    continue
                res = await page.evaluate(
                    "(n) => { const B = window.__bench, up = B.ups[B.ups.length - 1];"
                    " const full = B.changes.find(c => c.t > up && c.v.length >= n);"
                    " return {ms: full.t - up, v: full.v}; }", self.n_defaults)
                self.latency_ms.append(res["ms"])
                for v in res["v"]:
                    self.browser_reads["right" if v.rsplit(" ", 1)[-1] == digit else "wrong"] += 1
                if await main.get_by_text("Something went wrong").count():
                    self.error(name, "browser: 'Something went wrong' on the Draw page")
                await reset.click()
                await page.wait_for_function(
                    "() => { const B = window.__bench; return B.changes.length && "
                    "B.changes[B.changes.length - 1].v.length === 0; }", timeout=20000)
        except Exception as e:  # noqa: BLE001
            self.error(name, f"browser: {e!r}"[:300])
        finally:
            await ctx.close()

    # ---- the whole room

    async def monitor(self, stop: asyncio.Event):
        while not stop.is_set():
            r = rss_mb(self.server.proc.pid)
            if r is not None:
                self.rss.append((time.monotonic(), r))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    async def warm_up(self):
        """One participant opens the Train page and draws three times on the Draw page: the first runs
        import the pages and load the predictors, so the memory figures measure the room."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        s = Session(self, "warm-up", self.query("warm-up", secrets.token_urlsafe(8)))
        await s.connect()
        try:
            _, els = await s.rerun(page="train", timeout=180)
            if problems(els):
                raise RuntimeError(f"the Train page: {problems(els)}")
            _, els = await s.rerun(page="draw", timeout=180)
            canvas = find_widget(els, "bidi_component", "-draw_canvas")
            if canvas is None:
                raise RuntimeError(f"the warm-up found no canvas: {[element_kind(e) for e in els]}; "
                                   f"problems {problems(els)}")
            for k in range(3):
                _, els = await s.rerun(widgets=[WidgetState(id=canvas.id, json_value=self.digits[k][1])], timeout=120)
            n = sum(element_kind(e) == "metric" for e in els)
            if n < self.n_defaults:
                raise RuntimeError(f"the warm-up drawing showed {n} predictions, {self.n_defaults} expected: "
                                   f"{problems(els)}")
        finally:
            await s.close()

    async def run(self) -> dict:
        args = self.args
        await self.warm_up()
        self.mem_start = await self.server.memory()
        self.rss_start = rss_mb(self.server.proc.pid)
        log(f"warm: server RSS {self.rss_start} MB; the room: {args.participants} participants, {args.browsers} "
            f"browsers, {args.minutes} min; jobs cycle through {self.plan}")
        stop = asyncio.Event()
        mon = asyncio.create_task(self.monitor(stop))
        cpu0 = self.cpu()
        now = time.monotonic()
        join_s = min(10.0, args.minutes * 60 / 6)  # people arrive over the first seconds
        start, end = now + join_s, now + join_s + args.minutes * 60
        self.t_start, self.t_end = start, end
        self.wall_start = time.time() + join_s
        rng = random.Random(args.seed)
        n = args.participants
        names = [f"P{i + 1:02d}" for i in range(n)]
        seats = [secrets.token_urlsafe(8) for _ in names]
        tasks = []
        for i, (name, seat) in enumerate(zip(names, seats)):
            async def join(i=i, name=name, seat=seat):
                await asyncio.sleep(join_s * i / max(1, n))
                await self.drawer(i, name, seat, start, end, DRAW_EVERY_S * i / max(1, n))
            tasks.append(asyncio.create_task(join()))
        n_jobs = args.jobs if args.jobs is not None else max(1, n // 3) if n else 0
        window = min(60.0, args.minutes * 60 / 3)
        for j, (name, seat) in enumerate(rng.sample(list(zip(names, seats)), min(n_jobs, n))):
            kind, preset = self.plan[j % len(self.plan)]
            tasks.append(asyncio.create_task(self.trainer(name, seat, start + rng.uniform(0, window), end + args.drain,
                                                          kind, preset)))
        pw = browser = None
        profiler = None
        try:
            if args.browsers:
                from playwright.async_api import async_playwright

                pw = await async_playwright().start()
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for b in range(args.browsers):
                    tasks.append(asyncio.create_task(self.browser_page(
                        browser, f"B{b + 1:02d}", start, end, DRAW_EVERY_S * (b + 0.5) / args.browsers)))
            if args.py_spy:
                profiler = asyncio.create_task(self.profile(start + 15, end - 5))
            drawers = tasks[:n]
            await asyncio.gather(*drawers)
            self.rss_end = rss_mb(self.server.proc.pid)
            self.mem_end = await self.server.memory()
            cpu1 = self.cpu()
            log(f"drawing over: server RSS {self.rss_end} MB; waiting for jobs and browsers (up to {args.drain} s)")
            await asyncio.gather(*tasks[n:])
            await asyncio.sleep(2)
            self.rss_after = rss_mb(self.server.proc.pid)  # every session closed, the jobs done
        finally:
            stop.set()
            await mon
            if browser is not None:
                await browser.close()
            if pw is not None:
                await pw.stop()
        prof = await profiler if profiler is not None else None
        return self.result(cpu0, cpu1, prof)

    def cpu(self) -> dict:
        trainers = [p for p in descendants(self.server.proc.pid)]
        return {"t": time.monotonic(), "server": cpu_seconds([self.server.proc.pid]),
                "trainers": cpu_seconds(trainers, children=True), "bench": sum(os.times()[:2]),
                "chromium": browser_cpu_seconds(), "ours": our_cpu_seconds(), "machine": machine_busy_seconds()}

    async def profile(self, t0: float, t1: float) -> dict | None:
        """py-spy record of the server while the room draws (``--gil``: only the thread holding the GIL
        is sampled, i.e. what the server's Python runs): the share of samples per function."""
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        secs = max(5, int(t1 - time.monotonic()))
        out = self.server.home / "py-spy.txt"
        cmd = ["py-spy", "record", "--pid", str(self.server.proc.pid), "--duration", str(secs), "--rate", "50",
               "--format", "raw", "--nonblocking", "--gil", "--output", str(out)]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), secs + 60)
        except asyncio.TimeoutError:
            proc.kill()
            return {"error": "py-spy did not finish"}
        if proc.returncode != 0 or not out.exists():
            return {"error": f"py-spy exit {proc.returncode}: {err.decode(errors='replace')[-300:]}"}
        return spy_summary(out.read_text())

    def result(self, cpu0: dict, cpu1: dict, prof) -> dict:
        args = self.args
        wall = cpu1["t"] - cpu0["t"]
        runs = self.server.runs(since=self.wall_start)
        draw_runs = [r for r in runs if "draw" in r["page"] and not r["fragment"]]
        waits = [j.get("wait_s") for j in self.jobs]
        started = [w for w in waits if w is not None]
        rss_vals = [r for _, r in self.rss]
        trainers_rss = sum(filter(None, (rss_mb(p) for p in descendants(self.server.proc.pid))))
        res = {
            "participants": args.participants, "browsers": args.browsers, "minutes": args.minutes,
            "draw_runs": len(self.draw_ms), "draws_skipped": self.skipped,
            "draw_run_ms_p50": pct(self.draw_ms, 50), "draw_run_ms_p95": pct(self.draw_ms, 95),
            "draw_latency_ms_p50": pct(self.latency_ms, 50), "draw_latency_ms_p95": pct(self.latency_ms, 95),
            "job_wait_s_p50": pct(started, 50), "job_wait_s_p95": pct(started, 95),
            "jobs_started": len(started), "jobs_done": sum(j["state"] == "done" for j in self.jobs),
            "jobs_done_while_drawing": sum(j["state"] == "done" and j.get("ended_in_room", False) for j in self.jobs),
            "server_rss_mb_start": self.rss_start, "server_rss_mb_end": self.rss_end,
            "server_rss_mb_peak": max(rss_vals) if rss_vals else None,
            "errors": len(self.errors),
            "detail": {
                "draw_run_ms": {**summary(self.draw_ms), "method": "protocol participants: BackMsg rerun_script with "
                                "the canvas's new value sent -> the run's script_finished received"},
                "draw_run_script_ms": {**summary([r["ms"] for r in draw_runs]),
                                       "parts": run_stats(draw_runs),
                                       "method": "the server's script thread, every full Draw run (bench.ui's "
                                       "instrumented ScriptRunner; participants' and browsers' runs): parts are "
                                       "the script body and what follows it (session-state clean-up; no GC: "
                                       "runner.postScriptGC is off)"},
                "draw_run_ms_by_10s": by_window(self.draw_wall, 10),
                "join_run_ms": summary(self.join_ms), "train_page_run_ms": summary(self.train_ms),
                "fragment_run_ms": {**summary(self.fragment_ms), "method": "the Draw page's watch_store "
                                    "fragment (run_every=5): auto rerun sent -> its script_finished"},
                "draw_latency_ms": {**summary(self.latency_ms), "method": "Chromium: mouse-up (window capture "
                                    "listener) -> every class default's st.metric shown (MutationObserver), page "
                                    "clock; strokes '1'/'7', the page's Clear between"},
                "predictions": {"protocol": dict(self.reads), "browsers": dict(self.browser_reads)},
                "jobs": self.jobs, "job_plan": self.plan,
                "job_wait_never_started": sum(w is None for w in waits),
                "class_defaults": self.n_defaults,
                "rss_mb_every_10s": [r for k, (_, r) in enumerate(self.rss) if k % 10 == 0],
                "trainers_rss_mb_end": round(trainers_rss, 1),
                "cpu_cores": {**{k: round((cpu1[k] - cpu0[k]) / wall, 2) for k in
                                 ("server", "trainers", "bench", "chromium", "machine")},
                              "other_processes": round(max(0.0, (cpu1["machine"] - cpu0["machine"])
                                                           - (cpu1["ours"] - cpu0["ours"])) / wall, 2)},
                "cpu_note": "cores used over the drawing phase: the server process, its trainer processes, this "
                            "benchmark (the protocol participants), Chromium, the whole machine, and processes "
                            "outside this benchmark (machine minus this process and everything it started)",
                "server_rss_mb_after_drain": self.rss_after,
                "server_memory": {"start": self.mem_start, "end": self.mem_end,
                                  "method": "reported from inside the server on SIGUSR1 (bench.room.memory_report), "
                                            "after the warm-up and when the drawing stops"},
                "server_gc_objects": gc_objects(self.server),
                "error_samples": self.errors[:30],
            },
            "targets": TARGETS,
        }
        if prof is not None:
            res["detail"]["server_profile"] = prof
        growth = None if self.rss_end is None or self.rss_start is None else self.rss_end - self.rss_start
        res["meets_targets"] = {
            "draw_run_ms_p95": res["draw_run_ms_p95"] is not None and res["draw_run_ms_p95"] <= TARGETS["draw_run_ms_p95"],
            "draw_latency_ms_p95": res["draw_latency_ms_p95"] is not None
            and res["draw_latency_ms_p95"] <= TARGETS["draw_latency_ms_p95"] if args.browsers else None,
            "errors": res["errors"] == 0,
            "job_wait_s_p95": res["job_wait_s_p95"] is not None and res["job_wait_s_p95"] <= TARGETS["job_wait_s_p95"]
            and res["detail"]["job_wait_never_started"] == 0 if self.jobs else None,
            "server_rss_growth_mb": growth is not None and growth <= TARGETS["server_rss_growth_mb"]}
        return res


def code_state() -> dict:
    """The commit the server ran and the files changed in the working tree (it runs the checkout as it is)."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.rstrip("\n")

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified": [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]}


def gc_objects(server: Server) -> dict | None:
    """The objects the server's GC tracks (bench.ui's run log counts them every 20th run): first, last, max."""
    objs = [(r["start"], r["gc_objects"]) for r in server.runs() if "gc_objects" in r]
    return {"first": objs[0][1], "last": objs[-1][1], "max": max(o for _, o in objs), "samples": len(objs)} if objs else None


def by_window(points: list[tuple[float, float]], secs: float) -> list[dict]:
    """p50/p95 of the draw runs per ``secs`` window of the run (to see a job's or a join's effect)."""
    if not points:
        return []
    t0 = min(t for t, _ in points)
    groups = collections.defaultdict(list)
    for t, ms in points:
        groups[int((t - t0) // secs)].append(ms)
    return [{"t": int(k * secs), "n": len(v), "p50": pct(v, 50), "p95": pct(v, 95)} for k, v in sorted(groups.items())]


async def adraw(page, canvas, strokes, steps: int = 8):
    """tools.browser.draw for Playwright's async API."""
    box = await canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.mouse.down()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            for k in range(1, steps + 1):
                await page.mouse.move(box["x"] + x0 + (x1 - x0) * k / steps, box["y"] + y0 + (y1 - y0) * k / steps)
        await page.mouse.up()


IDLE = re.compile(r"^(EpollSelector\.select|_PollLikeSelector\.select|select|Condition\.wait|Event\.wait|sleep|"
                  r"SimpleQueue\.get|Queue\.get|_worker|BaseSelectorEventLoop\._write_to_self|lock\.acquire) ")


PLUMBING = re.compile(r"\((threading|core|cli|bootstrap|_compat|runners|base_events|events|ui|server|starlette_server|"
                      r"script_runner|exec_code|<frozen runpy>)\.?(py)?\)$")


def spy_summary(raw: str, top: int = 40) -> dict:
    """py-spy's raw (collapsed) stacks -> the share of the busy samples in each function: anywhere on
    the stack (``inclusive``) and as the innermost frame. Samples whose innermost frame waits
    (a selector, a condition, a queue) are idle and only counted as ``idle_share``."""
    incl, leaf = collections.Counter(), collections.Counter()
    total = idle = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        n = int(n)
        names = [re.sub(r" \((.*?/)?([^/]*?):\d+\)$", r" (\2)", f) for f in stack.split(";")]
        total += n
        if IDLE.match(names[-1]):
            idle += n
            continue
        for f in set(names):
            if not PLUMBING.search(f):
                incl[f] += n
        leaf[names[-1]] += n
    busy = max(1, total - idle)
    share = lambda c: [(k, round(v / busy, 3)) for k, v in c.most_common(top)]  # noqa: E731
    return {"samples": total, "idle_share": round(idle / max(1, total), 3), "busy_samples": total - idle,
            "inclusive": share(incl), "innermost": share(leaf)}


# ====================================================================== main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=30, help="protocol-level participants (default 30)")
    ap.add_argument("--minutes", type=float, default=5.0, help="how long the room draws (default 5)")
    ap.add_argument("--browsers", type=int, default=2, help="real Chromium pages drawing too (default 2)")
    ap.add_argument("--jobs", type=int, default=None, help="participants who start a job (default: a third)")
    ap.add_argument("--job-kinds", default=None, help="comma-separated kinds the jobs cycle through (default: every "
                    "kind with a 'workshop' preset)")
    ap.add_argument("--job-preset", default=None, help="preset of the jobs (default: 'workshop', else the smallest)")
    ap.add_argument("--drain", type=float, default=300.0,
                    help="seconds to wait for the queued jobs after the drawing ends (default 300)")
    ap.add_argument("--dask", default=None, metavar="ADDRESS", help="train on a Dask cluster (DIGITLAB_DASK_SCHEDULER)")
    ap.add_argument("--models", choices=("quick", "full", "mlp"), default="quick",
                    help="the class defaults: both architectures trained briefly (default), fully, or the MLP alone")
    ap.add_argument("--py-spy", action="store_true", help="sample the server with py-spy while the room draws")
    ap.add_argument("--malloc-arena-max", type=int, default=None,
                    help="diagnostic: the server with MALLOC_ARENA_MAX=N (glibc's per-thread heaps)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the temporary DIGITLAB_HOME (server log, run log)")
    args = ap.parse_args(argv)
    if args.browsers and not Path(CHROMIUM).exists():
        print("bench.room needs /usr/bin/chromium for --browsers (bash tools/install-test-deps.sh)", file=sys.stderr)
        return 2

    def _term(*_):
        raise KeyboardInterrupt  # the finally blocks below end every process this started

    signal.signal(signal.SIGTERM, _term)
    home = Path(tempfile.mkdtemp(prefix="digitlab-bench-room-"))
    env = {"DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           "DIGITLAB_WORKSHOP": "1", "DIGITLAB_INSTRUCTOR_KEY": secrets.token_urlsafe(12)}
    if args.dask:
        env["DIGITLAB_DASK_SCHEDULER"] = args.dask
    if args.malloc_arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    os.environ.update(env)  # bench.ui.Server passes this process's environment to the server
    from digitlab.nn import blas

    res: dict = {}
    mach = machine()  # with the load average at the start
    server = defaults = None
    try:
        log(f"store {home}; training the class defaults ({args.models}) and starting the server (workshop mode)")
        defaults = train_defaults(home, args.models)
        server = RoomServer(home)
        server.wait_up()
        if defaults.wait(900) != 0:
            raise RuntimeError("training the default models failed:\n" + (home / "defaults.log").read_text()[-3000:])
        from digitlab import store

        n_defaults = len(store.list_models())
        log(f"class defaults stored: {store.names()}; server pid {server.proc.pid} on {server.url}")
        room = Room(args, server, n_defaults)
        res = asyncio.run(room.run())
        res["blas"] = blas.kernel_info()
        res["code"] = code_state()
        res["machine"] = {**mach, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
        res["server"] = {"options": server.options, "env": {k: v for k, v in env.items() if k != "DIGITLAB_INSTRUCTOR_KEY"},
                         "tensorflow_loaded": server.tensorflow_loaded()}
        res["seconds"] = round(time.monotonic() - T0, 1)
    finally:
        if server is not None:
            server.stop()
        if defaults is not None and defaults.poll() is None:
            try:
                os.killpg(defaults.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in descendants(os.getpid()):  # anything else this run started (Playwright's driver, Chromium)
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if args.keep:
            log(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve(sys.argv[2:])
    else:
        sys.exit(main())
