"""`streamlit run app.py` for browser tests: one server on a free port, and a warmed Chromium.

Every browser test module starts its server through :func:`app_server` (its own model store,
no default models, its log in the store's folder) and its browser through :func:`warm_browser`.
"""
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools.browser import ARGS, CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc, port: int, log: Path, timeout: float = 60) -> None:
    """Until the server accepts connections (its log in the failure message)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)


@contextlib.contextmanager
def app_server(home: Path, **env):
    """The app on a free port with ``DIGITLAB_HOME=home`` and ``env``; yields {"url", "proc", "home"}."""
    if not Path(CHROMIUM).exists():
        pytest.fail("headless tests need /usr/bin/chromium: run `bash tools/install-test-deps.sh`")
    port = free_port()
    full_env = {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", **env}
    log_path = home / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1"],
            cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_listening(proc, port, log_path)
            yield {"url": f"http://127.0.0.1:{port}", "proc": proc, "home": home}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def warm_browser(url: str, ready_text: str = "DigitLab"):
    """Headless Chromium, after one page has waited for the server's slow first run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        warm = b.new_page()
        warm.goto(url)
        warm.locator("[data-testid=stMain]").get_by_text(ready_text).first.wait_for(timeout=90000)
        warm.close()
        try:
            yield b
        finally:
            b.close()
