"""UI speed of the Train and Draw pages, in a real ``streamlit run`` server driven by headless Chromium.

    python -m bench.ui [--quick] [--keep]

Prints ONE JSON object on stdout (progress goes to stderr). Targets (issues 5 and 6):

* ``train_rerun_ms``   server time of a full rerun of the Train page while a job runs   <= 150 ms
* ``chart_slowdown``   training time with the Train page open (live chart, 0.5 s) / without, - 1   <= 10 %
* ``draw_rerun_ms``    server time of the Draw page's rerun after a stroke, default models stored   <= 150 ms
* ``draw_latency_ms``  browser: mouse-up -> every model's digit shown in ``[data-testid=stMetric]``   <= 400 ms

How the server time is read: the server is started as ``python -m bench.ui _serve run app.py ...``,
i.e. Streamlit's own CLI in a process where ``ScriptRunner`` is wrapped to log, for every script run,
the time from the start of the run (``_install_event_loop``) to the end of its clean-up
(``_clean_problem_modules``, after ``_on_script_finished``'s post-run GC): everything the script
thread spends on one run. Each line says which page ran and whether it was a fragment rerun. The
same pages are also timed in-process with ``AppTest``; note that AppTest is NOT an upper bound of the
server's time: its LocalScriptRunner skips the post-run ``gc.collect(2)`` that a real server does
(``runner.postScriptGC``), and this process's heap is smaller than the server's.

Everything runs in a private ``DIGITLAB_HOME`` (a temporary folder, deleted unless ``--keep``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tools.browser import ARGS, CHROMIUM, draw  # noqa: E402
TARGETS = {"train_rerun_ms": 150, "chart_slowdown": 0.10, "draw_rerun_ms": 150, "draw_latency_ms": 400}
KERAS_LABEL = "Convolutional network (Keras)"
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[bench.ui {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ====================================================================== the instrumented server


def _serve(argv: list[str]) -> None:
    """``streamlit <argv>`` with every script run's server time appended to $DIGITLAB_BENCH_RUNLOG."""
    import gc

    from streamlit.runtime.scriptrunner import script_runner as sr
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    path = os.environ["DIGITLAB_BENCH_RUNLOG"]
    lock = threading.Lock()
    tl = threading.local()
    install, finished, clean = sr.ScriptRunner._install_event_loop, sr.ScriptRunner._on_script_finished, sr._clean_problem_modules

    def _install_event_loop(self):  # first thing of every run (and of the script thread)
        tl.t0, tl.w0, tl.t_post, tl.gc_ms = time.perf_counter(), time.time(), None, None
        return install(self)

    class _TimedGC:  # script_runner's `gc`: its post-run gc.collect(2), timed
        def __getattr__(self, name):
            return getattr(gc, name)

        @staticmethod
        def collect(*a):
            t = time.perf_counter()
            try:
                return gc.collect(*a)
            finally:
                tl.gc_ms = 1000 * (time.perf_counter() - t)

    n_runs = [0]

    def _on_script_finished(self, *a, **kw):  # the script body has ended: session state clean-up, GC
        tl.t_post = time.perf_counter()
        return finished(self, *a, **kw)

    def _clean_problem_modules():  # last thing of every run
        try:
            clean()
        finally:
            try:
                t1 = time.perf_counter()
                ctx = get_script_run_ctx()
                page = ""
                if ctx is not None:
                    info = ctx.pages_manager.get_pages().get(ctx.page_script_hash) or {}
                    page = info.get("url_pathname") or info.get("page_name") or Path(str(info.get("script_path", ""))).stem
                rec = {"start": tl.w0, "end": time.time(), "ms": 1000 * (t1 - tl.t0),
                       "post_ms": None if tl.t_post is None else 1000 * (t1 - tl.t_post),
                       "gc_ms": getattr(tl, "gc_ms", None), "page": page,
                       "fragment": bool(ctx and ctx.fragment_ids_this_run), "session": ctx and ctx.session_id}
                n_runs[0] += 1
                if n_runs[0] % 20 == 1:  # the size of what the GC walks (outside the timed span)
                    rec["gc_objects"] = len(gc.get_objects())
                with lock, open(path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            except Exception as e:  # noqa: BLE001 - never break the server for a measurement
                print(f"bench.ui runlog: {e!r}", file=sys.stderr)

    sr.gc = _TimedGC()
    sr.ScriptRunner._install_event_loop = _install_event_loop
    sr.ScriptRunner._on_script_finished = _on_script_finished
    sr._clean_problem_modules = _clean_problem_modules
    from streamlit.web import cli

    sys.argv = ["streamlit", *argv]
    cli.main(prog_name="streamlit")


# ====================================================================== small helpers


def stats(xs) -> dict:
    import numpy as np

    xs = [float(x) for x in xs if x is not None]
    if not xs:
        return {"median": None, "p90": None, "n": 0}
    return {"median": round(float(np.median(xs)), 1), "p90": round(float(np.percentile(xs, 90)), 1),
            "min": round(min(xs), 1), "max": round(max(xs), 1), "n": len(xs)}


def run_stats(runs: list[dict]) -> dict:
    """Server time of some script runs: total, and its parts: the script body, what follows it
    (session-state clean-up, ``gc.collect(2)``), and the GC alone."""
    out = stats([r["ms"] for r in runs])
    out["script_body_ms"] = stats([r["ms"] - r["post_ms"] for r in runs if r.get("post_ms") is not None])
    out["post_run_ms"] = stats([r["post_ms"] for r in runs])
    out["gc_collect_ms"] = stats([r.get("gc_ms") for r in runs])
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, comm) of every process we can see."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                raw = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1: raw.rindex(")")]
            out[int(d)] = (int(raw[raw.rindex(")") + 2:].split()[1]), comm)
    return out


def descendants(pid: int) -> list[int]:
    table = _proc_table()
    kids, todo = [], [pid]
    while todo:
        p = todo.pop()
        for q, (pp, _) in table.items():
            if pp == p:
                kids.append(q)
                todo.append(q)
    return kids


def cpu_seconds(pids, children: bool = False) -> float:
    """user+system CPU seconds of ``pids`` (``children``: plus their reaped children's, so that
    Chromium's closed renderers still count, in their parent's cutime/cstime)."""
    tick = os.sysconf("SC_CLK_TCK")
    tot = 0
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            tot += int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)
        except (OSError, IndexError, ValueError):
            pass
    return tot / tick


def browser_cpu_seconds() -> float:
    """CPU seconds of every Chromium process under this one, living or reaped."""
    table = _proc_table()
    return cpu_seconds([p for p in descendants(os.getpid()) if "chrom" in table.get(p, (0, ""))[1]], children=True)


def our_cpu_seconds() -> float:
    """CPU seconds of this process and everything under it (server, worker, Chromium, reaped or not)."""
    return cpu_seconds([os.getpid()]) + cpu_seconds(descendants(os.getpid()), children=True) + \
        sum(os.times()[2:4])


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all processes, all cores), from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Server:
    """``python -m bench.ui _serve run app.py`` on a free port, in its own process group."""

    def __init__(self, home: Path, options: list[str] = ()):
        self.home, self.port, self.options = home, free_port(), list(options)
        self.runlog = home / "runs.jsonl"
        self.runlog.touch()
        env = {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1",
               "DIGITLAB_BENCH_RUNLOG": str(self.runlog), "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.logf = open(home / "server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ui", "_serve", "run", "app.py", "--server.port", str(self.port),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *self.options],
            cwd=REPO, env=env, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_up(self, timeout=90):
        end = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("the server did not start:\n" + (self.home / "server.log").read_text()[-3000:])
                time.sleep(0.2)

    def runs(self, since: float = 0.0, page: str | None = None, fragment: bool | None = None) -> list[dict]:
        out = []
        for line in self.runlog.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r["start"] >= since and (page is None or page in r["page"]) and (fragment is None or r["fragment"] == fragment):
                out.append(r)
        return out

    def worker_pids(self) -> list[int]:
        return [p for p in descendants(self.proc.pid) if "spawn_main" in cmdline(p)]

    def tensorflow_loaded(self) -> bool:
        maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        return "libtensorflow" in maps or "_pywrap_tensorflow" in maps

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # Streamlit shuts down; the worker (a daemon child) goes with it
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        try:  # anything of ours left in the server's process group (its trainer worker)
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.logf.close()


# ====================================================================== setup: the default models


def train_defaults(home: Path, quick: bool) -> subprocess.Popen:
    """The default MLP and CNN (DEFAULT_MODELS' architectures), trained by the CLI in a background
    shell (MLP, then CNN). Quick: 1 epoch each on part of the sample; full: the real MLP preset and
    3 epochs of the augmented CNN preset (20 would take minutes; inference cost is the same)."""
    from digitlab import training

    cmds = []
    for name, kind, preset, over in training.DEFAULT_MODELS:
        sets = [f"{k}={v}" for k, v in over.items()]
        if quick:
            epochs, sets = 1, sets + ["max_train=3000"]
        else:
            epochs = None if kind == "numpy-mlp" else 3
        cmd = [sys.executable, "-m", "digitlab", "train", "--model", kind, "--preset", preset, "--name", name, "--quiet"]
        cmd += ["--epochs", str(epochs)] if epochs else []
        for s in sets:
            cmd += ["--set", s]
        cmds.append(" ".join(map(_q, cmd)))
    env = {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(["bash", "-c", " && ".join(cmds)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(home / "defaults.log", "w"), start_new_session=True)


def _q(s: str) -> str:
    import shlex

    return shlex.quote(str(s))


# ====================================================================== Draw page


ONE = [[(140, 45), (140, 235)]]
SEVEN = [[(75, 60), (205, 60), (120, 235)]]

OBSERVER_JS = """() => {
  const B = window.__bench = {changes: [], ups: []};
  const read = () => Array.from(document.querySelectorAll('[data-testid=stMain] [data-testid=stMetric]'))
      .map(e => e.innerText.replace(/\\s+/g, ' ').trim());
  let last = JSON.stringify(read());
  new MutationObserver(() => {
    const v = read(), s = JSON.stringify(v);
    if (s !== last) { last = s; B.changes.push({t: performance.now(), v: v}); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  window.addEventListener('mouseup', () => B.ups.push(performance.now()), true);
}"""


def canvas_state(rgba):
    """What streamlit-drawable-canvas sends back after a stroke (as in tests/test_app_pages.py)."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return {"drawing": {"raw": {"objects": []}, "data": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()},
            "backgroundFit": None}


def drawn(img):
    import numpy as np

    c = np.zeros((280, 280, 4), np.uint8)
    c[..., 3] = 255
    c[40:264, 20:244, :3] = np.kron(img, np.ones((8, 8), np.uint8))[..., None]
    return c


def apptest_page(path: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page(path)
    at.run()
    if at.exception:
        raise RuntimeError(f"{path}: {at.exception}")
    return at


def draw_apptest(n: int) -> dict:
    """Draw page reruns after an injected stroke, timed around ``AppTest.run`` (in this process)."""
    from digitlab import data

    ds = data.load_sample()
    at = apptest_page("pages/draw.py")
    times, names = [], None
    for i in range(n + 2):  # 2 warm-up runs
        at.session_state["draw_canvas"] = canvas_state(drawn(ds.images[i]))
        t0 = time.perf_counter()
        at.run()
        dt = 1000 * (time.perf_counter() - t0)
        if at.exception:
            raise RuntimeError(f"draw page: {at.exception}")
        names = [m.label for m in at.metric]
        if i >= 2:
            times.append(dt)
    return {**stats(times), "models_shown": names}


def predict_all_timing(repeat: int = 100) -> dict:
    """NumPy inference of every stored model for one preprocessed image (the page's ``predict_all``)."""
    import numpy as np

    from digitlab import data, insight, preprocess, store

    names = [m["name"] for m in store.list_models()]
    image = preprocess.preprocess(drawn(data.load_sample().images[0])).image
    loaded = [store.load(n) for n in names]
    for m in loaded:
        m.predict_proba(image[None])
    pure, page = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for m in loaded:
            np.asarray(m.predict_proba(image[None]))
        pure.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        insight.predict_all(names, image, store.load)  # as the page calls it (cached loader: stat + lookup)
        page.append(1000 * (time.perf_counter() - t0))
    s = stats(pure)
    return {"median": round(float(np.median(pure)), 2), "p90": round(float(np.percentile(pure, 90)), 2), "n": s["n"],
            "models": names, "kinds": [m.kind for m in loaded],
            "with_store_load_median": round(float(np.median(page)), 2)}


def draw_browser(browser, server: Server, n_strokes: int, n_models: int) -> dict:
    """Strokes on the real canvas: mouse-up -> all metrics shown (MutationObserver, page clock), and the
    server time of the run each stroke caused."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    try:
        page.goto(server.url + "/draw")
        main = page.locator("[data-testid=stMain]")
        main.get_by_text("Draw a digit on the black square").first.wait_for(timeout=90000)
        canvas = main.locator("canvas.upper-canvas")
        canvas.wait_for(timeout=60000)
        reset = main.locator(".st-key-draw_clear button")  # the page's own Clear (the canvas toolbar is hidden)
        page.wait_for_timeout(1000)
        page.evaluate(OBSERVER_JS)
        lat, first, stroke_runs, reads, wrong = [], [], [], [], 0
        for i in range(n_strokes + 1):  # stroke 0 warms up the models' loading
            digit, strokes = ("1", ONE) if i % 2 == 0 else ("7", SEVEN)
            n_ups = page.evaluate("window.__bench.ups.length")
            w_up = time.time()
            draw(page, canvas, strokes)
            page.wait_for_function(
                "([k, n]) => { const B = window.__bench; if (B.ups.length <= k) return false;"
                " const up = B.ups[B.ups.length - 1]; return B.changes.some(c => c.t > up && c.v.length >= n); }",
                arg=[n_ups, n_models], timeout=20000)
            res = page.evaluate(
                "() => { const B = window.__bench, up = B.ups[B.ups.length - 1];"
                " const after = B.changes.filter(c => c.t > up);"
                " const full = after.find(c => c.v.length >= %d);"
                " const o = performance.timeOrigin;"
                " return {first: after[0].t - up, full: full.t - up, v: full.v, up_wall: (o + up) / 1000,"
                " shown_wall: (o + full.t) / 1000}; }" % n_models)
            # the run this stroke caused: a Draw run between mouse-up and the digits showing (same clock)
            # (the digits show while the run goes on: later elements, then the post-run GC)
            end = time.monotonic() + 5
            while not (runs := [r for r in server.runs(since=res["up_wall"] - 0.05, page="draw", fragment=False)
                                if r["start"] <= res["shown_wall"]]) and time.monotonic() < end:
                page.wait_for_timeout(50)
            if not runs:
                near = [(round(r["start"] - res["up_wall"], 3), round(r["end"] - res["up_wall"], 3))
                        for r in server.runs(since=w_up - 2, page="draw")]
                log(f"  no server run matched: runs (start, end) relative to mouse-up: {near}; shown at "
                    f"{res['shown_wall'] - res['up_wall']:.3f}")
            if i > 0:
                lat.append(res["full"])
                first.append(res["first"])
                if runs:
                    stroke_runs.append(runs[0])
                vals = {v.rsplit(" ", 1)[0]: v.rsplit(" ", 1)[-1] for v in res["v"]}
                reads.append({"drew": digit, "read": vals, "server_runs": len(runs)})
                wrong += sum(1 for d in vals.values() if d != digit)
            log(f"draw stroke {i}: '{digit}' -> {res['v']} in {res['full']:.0f} ms"
                f" (server {runs[0]['ms'] if runs else float('nan'):.0f} ms, {len(runs)} run(s))")
            reset.click()
            page.wait_for_function(
                "() => { const B = window.__bench; return B.changes.length && B.changes[B.changes.length - 1].v.length === 0; }",
                timeout=20000)
            page.wait_for_timeout(400)
        return {"latency": {**stats(lat), "first_change": stats(first)}, "server": run_stats(stroke_runs),
                "reads": reads, "wrong_digits": wrong}
    finally:
        page.close()


# ====================================================================== Train page


def open_train_and_submit(browser, server: Server, name: str, epochs: int, max_train: int):
    """A fresh page on /train: Keras CNN, preset adam, epochs and max train set, Start. Returns the page."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(server.url + "/train")
    main = page.locator("[data-testid=stMain]")
    main.get_by_text("Start training").first.wait_for(timeout=90000)
    main.locator("[data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name=KERAS_LABEL).click()
    preset = main.locator("[data-testid=stSelectbox] input").nth(1)  # a combobox: the value is the input's
    ep = main.get_by_role("spinbutton", name="epochs", exact=True)
    _wait(page, lambda: preset.input_value() == "augmented", "the Keras CNN's presets did not appear")
    main.locator("[data-testid=stSelectbox]").nth(1).click()
    page.get_by_role("option", name="adam", exact=True).click()
    _wait(page, lambda: preset.input_value() == "adam" and ep.input_value() == "5", "the adam preset's form did not appear")
    ep.fill(str(epochs))
    main.get_by_role("spinbutton", name="max train", exact=True).fill(str(max_train))
    main.get_by_role("textbox", name="Name (optional)").fill(name)
    main.get_by_role("button", name="Start training").click()
    page.wait_for_url("**job=*", timeout=30000)
    return page


def _wait(page, cond, what: str, timeout: float = 30):
    end = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 - the element is being replaced by a rerun
            pass
        if time.monotonic() > end:
            raise RuntimeError(what)
        page.wait_for_timeout(100)


def wait_model(name: str, timeout: float = 600) -> dict:
    from digitlab import store

    end = time.monotonic() + timeout
    while True:
        try:
            return store.load_meta(name)
        except Exception:  # noqa: BLE001 - not saved yet
            if time.monotonic() > end:
                raise RuntimeError(f"model {name} was not saved within {timeout:.0f} s") from None
            time.sleep(0.25)


def train_job(browser, server: Server, name: str, epochs: int, max_train: int, watch: bool) -> dict:
    """One Keras job submitted from the Train page; ``watch``: the page stays open (live chart),
    else it is closed right after Start. Training time = the worker's ``train_seconds`` (fit only)."""
    chrome0, ours0, busy0 = browser_cpu_seconds(), our_cpu_seconds(), machine_busy_seconds()
    srv0, wk0 = cpu_seconds([server.proc.pid]), cpu_seconds(server.worker_pids())
    w0, t0 = time.time(), time.monotonic()
    from digitlab import store

    page = open_train_and_submit(browser, server, name, epochs, max_train)
    chart_seen = False
    try:
        if not watch:
            page.close()
            page = None
            meta = wait_model(name)
        else:  # watch like a person: once the live charts exist, scroll them into view
            charts = page.locator("[data-testid=stMain] [data-testid=dl-live] img")
            end = time.monotonic() + 600
            while True:
                try:
                    meta = store.load_meta(name)
                    break
                except Exception:  # noqa: BLE001 - not saved yet
                    if time.monotonic() > end:
                        raise RuntimeError(f"model {name} was not saved in time") from None
                if not chart_seen and charts.count():
                    charts.first.scroll_into_view_if_needed()
                    chart_seen = True
                page.wait_for_timeout(250)
        wall = time.monotonic() - t0
    finally:
        if page is not None:
            if watch:
                page.wait_for_timeout(300)
            page.close()
    chrome1, ours1, busy1 = browser_cpu_seconds(), our_cpu_seconds(), machine_busy_seconds()
    frag = server.runs(since=w0, page="train", fragment=True)
    full = server.runs(since=w0, page="train", fragment=False)
    cfg = meta["config"]
    assert cfg["epochs"] == epochs and cfg["max_train"] == max_train and cfg["optimizer"] == "adam", cfg
    res = {"name": name, "browser": watch, "train_seconds": meta["train_seconds"], "wall_s": round(wall, 1),
           "epoch_seconds": [round(x, 3) for x in (meta.get("curves") or {}).get("seconds") or []],
           "server_cpu_s": round(cpu_seconds([server.proc.pid]) - srv0, 1),
           "worker_cpu_s": round(cpu_seconds(server.worker_pids()) - wk0, 1),
           "browser_cpu_s": round(chrome1 - chrome0, 1), "fragment_runs": len(frag), "full_runs": len(full),
           "chart_seen": chart_seen, "other_processes_cpu_s": round(max(0.0, (busy1 - busy0) - (ours1 - ours0)), 1),
           "fragment_runs_log": frag}
    log(f"train job {name} ({'page open' if watch else 'no browser'}): {meta['train_seconds']} s training, "
        f"{len(frag)} fragment runs, server cpu {res['server_cpu_s']} s, browser cpu {res['browser_cpu_s']} s")
    return res


def train_full_reruns(browser, server: Server, n: int, max_train: int) -> dict:
    """Full reruns of the Train page while a Keras job runs: click the compare-metric segmented
    control (a widget outside the form and the fragment) n times, each click a full script run."""
    page = open_train_and_submit(browser, server, "bench-reruns", 20, max_train)
    main = page.locator("[data-testid=stMain]")
    try:
        main.locator("[data-testid=dl-live] img").first.wait_for(timeout=120000)  # the job's live charts
        main.locator("[data-testid=dl-live] img").first.scroll_into_view_if_needed()
        page.wait_for_timeout(2000)  # some batch points on the chart
        done = []
        for i in range(n + 1):
            target = "accuracy" if i % 2 == 0 else "val_accuracy"
            w = time.time()
            main.get_by_role("radio", name=target, exact=True).click()
            end = time.monotonic() + 20
            while not (runs := server.runs(since=w, page="train", fragment=False)):
                if time.monotonic() > end:
                    raise RuntimeError("a click on the Train page caused no server run")
                time.sleep(0.05)
            if i > 0:
                done.append(runs[0])
            page.wait_for_timeout(250)
        route = live_route_timing(server, page.url.split("job=")[1].split("&")[0], n)
        main.get_by_role("button", name="Stop").click()
        main.get_by_text("Stopped").first.wait_for(timeout=30000)
    finally:
        page.close()
    return {**run_stats(done), "live_route_ms": route}


def live_route_timing(server: Server, jid: str, n: int) -> dict:
    """Round trip of GET /digitlab/live/{job} (the live view the browser polls), from this process."""
    import urllib.request

    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{server.url}/digitlab/live/{jid}", timeout=10) as r:
            body = json.loads(r.read())
        times.append(1000 * (time.perf_counter() - t0))
        if body["state"] != "running":
            raise RuntimeError(f"the live route answered {body['state']!r} for a running job")
        time.sleep(0.1)
    return {**stats(times), "method": "client round trip over HTTP while a Keras job runs (JSON with the panel HTML)"}


def train_apptest(n: int) -> dict:
    """AppTest reruns of the Train page attached (session state) to a NumPy MLP job running in
    this process's own worker (its job ids are not the server's)."""
    from digitlab import training

    w = training.get_worker()
    jid = w.submit("numpy-mlp", {"epochs": 100}, "sample", "bench-apptest", 0, preset="default")
    try:
        end = time.monotonic() + 120
        while len(w.status(jid)["batches"]) < 60:
            if time.monotonic() > end:
                raise RuntimeError(f"the AppTest job did not start: {w.status(jid)}")
            time.sleep(0.2)
        at = apptest_page("pages/train.py")
        at.session_state["train_job"] = jid
        times = []
        for i in range(n + 1):
            t0 = time.perf_counter()
            at.run()
            dt = 1000 * (time.perf_counter() - t0)
            if at.exception:
                raise RuntimeError(f"train page: {at.exception}")
            if not any('data-testid="dl-live"' in h.value for h in at.get("html")):
                raise RuntimeError("the Train page does not show the running job")
            if i:
                times.append(dt)
        return {**stats(times), "batch_points": len(w.status(jid)["batches"])}
    finally:
        w.stop(jid)
        w.wait(jid, 10)
        w.shutdown()


# ====================================================================== main


def machine() -> dict:
    import numpy
    import streamlit

    return {"cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "streamlit": streamlit.__version__, "numpy": numpy.__version__, "platform": platform.platform(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and shorter jobs (~3-4 min)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary DIGITLAB_HOME (server log, run log)")
    ap.add_argument("--reps", type=int, default=None, help="pairs of chart-slowdown jobs (default: 2 quick, 3 full)")
    ap.add_argument("--no-post-script-gc", action="store_true",
                    help="diagnostic: run the server with --runner.postScriptGC false (Streamlit's gc.collect(2) after every run)")
    args = ap.parse_args(argv)
    quick = args.quick
    if not Path(CHROMIUM).exists():
        print("bench.ui needs /usr/bin/chromium (bash tools/install-test-deps.sh)", file=sys.stderr)
        return 2

    home = Path(tempfile.mkdtemp(prefix="digitlab-bench-ui-"))
    os.environ.update({"DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1",
                       "TF_CPP_MIN_LOG_LEVEL": "2"})
    sys.path.insert(0, str(REPO))
    res: dict = {"mode": "quick" if quick else "full", "machine": machine()}
    server = defaults = pw = browser = None
    try:
        log(f"store {home}; training the default models ({'quick' if quick else 'full'}) and starting the server")
        defaults = train_defaults(home, quick)
        server = Server(home, ["--runner.postScriptGC", "false"] if args.no_post_script_gc else [])
        res["server_options"] = server.options
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        res["machine"]["chromium"] = browser.version
        server.wait_up()
        warm = browser.new_page()
        warm.goto(server.url)
        warm.locator("[data-testid=stMain]").get_by_text("DigitLab").first.wait_for(timeout=120000)
        warm.close()
        if defaults.wait(900) != 0:
            raise RuntimeError("training the default models failed:\n" + (home / "defaults.log").read_text()[-3000:])
        from digitlab import store

        n_models = len(store.list_models())
        log(f"default models stored: {store.names()}")

        # ---------------------------------------------------------------- Draw
        res["predict_all_ms"] = predict_all_timing()
        log(f"predict_all: {res['predict_all_ms']['median']} ms")
        apt = draw_apptest(10 if quick else 20)
        log(f"draw AppTest reruns: {apt['median']} ms median")
        d = draw_browser(browser, server, 8 if quick else 16, n_models)
        res["draw_rerun_ms"] = {**d["server"],
                                "method": "server script-thread time of the run each browser stroke caused "
                                          "(instrumented ScriptRunner, includes post-run GC)",
                                "apptest": apt}
        res["draw_latency_ms"] = {**d["latency"], "method": "Chromium: mouse-up (window capture listener) to every "
                                  "model's st.metric shown (MutationObserver), page clock; strokes '1'/'7', "
                                  "canvas reset between", "reads": d["reads"], "wrong_digits": d["wrong_digits"]}

        # ---------------------------------------------------------------- Train
        epochs, max_train, reps = (3, 4000, 2) if quick else (2, 0, 3)
        reps = args.reps or reps
        job = {"kind": "keras-cnn", "preset": "adam", "epochs": epochs, "max_train": max_train, "seed": 0,
               "data": "sample"}
        log("train: warm-up job (imports TensorFlow in the worker, first Keras fit)")
        warmup = train_job(browser, server, "bench-warmup", 1, 1000, watch=False)
        jobs = []
        for r in range(reps):
            jobs.append(train_job(browser, server, f"bench-nobrowser-{r}", epochs, max_train, watch=False))
            jobs.append(train_job(browser, server, f"bench-browser-{r}", epochs, max_train, watch=True))
        no = [j["train_seconds"] for j in jobs if not j["browser"]]
        yes = [j["train_seconds"] for j in jobs if j["browser"]]
        frag = [r for j in jobs if j["browser"] for r in j["fragment_runs_log"]]
        for j in jobs:
            j.pop("fragment_runs_log")
        # epochs after the first (which traces the tf.function): the least disturbed epoch of each side
        eno = [x for j in jobs if not j["browser"] for x in j["epoch_seconds"][1:]]
        eyes = [x for j in jobs if j["browser"] for x in j["epoch_seconds"][1:]]
        res["chart_slowdown"] = round(min(eyes) / min(eno) - 1, 4)
        res["chart_slowdown_detail"] = {
            "job": job, "epoch_seconds_no_browser": eno, "epoch_seconds_browser": eyes,
            "median_epoch_ratio": round(statistics.median(eyes) / statistics.median(eno) - 1, 4),
            "best_job_ratio": round(min(yes) / min(no) - 1, 4),
            "train_seconds_no_browser": no, "train_seconds_browser": yes, "pairs": reps,
            "method": "same Keras job submitted from the Train page; 'no browser': the page closed right after "
                      "Start; 'browser': the page open, its live view refreshed every 0.5 s (the browser polls the live "
                      "route; without it, a fragment reruns). chart_slowdown = the fastest "
                      "epoch (2nd and later: the 1st traces the graph) with the page open / without, - 1: on a "
                      "shared box some epochs run ~2x slower with or without a browser, so the least disturbed "
                      "epoch of each side is compared. best_job_ratio: the same with whole fits (model.fit "
                      "time, the worker's train_seconds), as measured before",
            "jobs": jobs, "warmup_train_seconds": warmup["train_seconds"]}
        log(f"chart slowdown {res['chart_slowdown']:+.1%} (fastest epoch {min(eyes)} s vs {min(eno)} s; "
            f"medians {res['chart_slowdown_detail']['median_epoch_ratio']:+.1%}; "
            f"whole fits {res['chart_slowdown_detail']['best_job_ratio']:+.1%}, {min(yes)} s vs {min(no)} s)")
        full = train_full_reruns(browser, server, 12 if quick else 24, 4000)
        res["train_rerun_ms"] = {**full, "method": "server script-thread time (instrumented ScriptRunner, incl. "
                                 "post-run GC) of full reruns of /train caused by clicks in Chromium while a Keras "
                                 "job runs and its live view refreshes"}
        res["train_fragment_rerun_ms"] = {**run_stats(frag),
                                          "method": "server time of the live monitor's "
                                          "st.fragment(run_every=0.5) reruns during the 'browser' jobs; none "
                                          "when the app serves the live route (the browser polls it instead)"}
        log(f"train full reruns: {full['median']} ms median; live route {full['live_route_ms']['median']} ms; "
            f"fragment reruns {res['train_fragment_rerun_ms']['median']} ms")
        at = train_apptest(20 if quick else 30)
        res["train_rerun_ms"]["apptest"] = {**at, "method": "AppTest.from_file(app.py) full reruns of pages/train.py "
                                            "with a running NumPy MLP job's id in session state (no post-run GC: "
                                            "not an upper bound of the server's time)"}
        log(f"train AppTest reruns: {at['median']} ms median")

        objs = [r["gc_objects"] for r in server.runs() if "gc_objects" in r]
        res["server_gc_objects"] = {"first": objs[0], "last": objs[-1], "max": max(objs)} if objs else None
        res["tensorflow_in_server"] = server.tensorflow_loaded()
        res["tensorflow_in_worker"] = any("libtensorflow" in Path(f"/proc/{p}/maps").read_text()
                                          for p in server.worker_pids() if Path(f"/proc/{p}/maps").exists())
        res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        res["targets"] = TARGETS
        res["meets_targets"] = {
            "train_rerun_ms": res["train_rerun_ms"]["median"] <= TARGETS["train_rerun_ms"],
            "chart_slowdown": res["chart_slowdown"] <= TARGETS["chart_slowdown"],
            "draw_rerun_ms": res["draw_rerun_ms"]["median"] is not None and res["draw_rerun_ms"]["median"] <= TARGETS["draw_rerun_ms"],
            "draw_latency_ms": res["draw_latency_ms"]["median"] <= TARGETS["draw_latency_ms"],
            "no_tensorflow_in_server": not res["tensorflow_in_server"]}
        res["seconds"] = round(time.monotonic() - T0, 1)
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
        if server is not None:
            server.stop()
        if defaults is not None and defaults.poll() is None:
            os.killpg(defaults.pid, 9)
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
