"""Trainer processes end with their parent, by any signal (issue 12.3).

A trainer left behind keeps training and saving models for a server that is gone, and
holds ~1 GB once TensorFlow is in it. The child watches its parent's pid; the server
also shuts its worker down in ``app.py``'s lifespan on SIGTERM/SIGINT.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

GONE_WITHIN_S = 5.0


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    kids = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids, timeout=GONE_WITHIN_S) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


PARENT = textwrap.dedent("""
    import sys, time
    from digitlab import training
    w = training.Worker(trainers=2)  # a pool: every trainer must end with its parent
    jid = w.submit("numpy-mlp", {"epochs": 1, "max_train": 600}, _hook="sleep:120")
    while w.status(jid)["state"] != "running":
        time.sleep(0.05)
    print(*w.pids, flush=True)
    time.sleep(600)
""")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_trainer_ends_with_a_plain_parent(sig, tmp_path):
    env = {**os.environ, "DIGITLAB_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        trainers = [int(p) for p in parent.stdout.readline().split()]
        family = children(parent.pid)
        assert len(trainers) == 2 and all(t in family and alive(t) for t in trainers)
        parent.send_signal(sig)
        parent.wait(10)
        assert wait_gone(family) == [], f"left behind after {sig.name}: {family}"
    finally:
        parent.kill()
        parent.wait()


def _open_train_page(url: str):
    from playwright.sync_api import sync_playwright

    from tools.browser import ARGS, CHROMIUM
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_page()
        page.goto(url + "/train")
        page.locator("[data-testid=stMain]").get_by_text("Start").first.wait_for(timeout=90000)
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_no_trainer_outlives_the_server(sig, tmp_path):
    from tests.appserver import free_port, wait_listening

    port = free_port()
    env = {**os.environ, "DIGITLAB_HOME": str(tmp_path), "DIGITLAB_NO_DEFAULTS": "1"}
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening(server, port, tmp_path / "server.log")
        _open_train_page(f"http://127.0.0.1:{port}")  # the Train page starts the worker
        end = time.monotonic() + 30
        while not (family := children(server.pid)) and time.monotonic() < end:
            time.sleep(0.2)
        assert family, (tmp_path / "server.log").read_text()[-2000:]
        server.send_signal(sig)
        server.wait(20)
        assert wait_gone(family) == [], f"left behind after {sig.name}: {family}"
    finally:
        server.kill()
        server.wait()
        log.close()
