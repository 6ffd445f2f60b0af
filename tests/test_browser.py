"""End to end in headless Chromium: `streamlit run app.py` as a person uses it.

One server for the module, on a free port, with its own model store holding a small
Keras CNN trained here (the "CNN" the Draw test reads). Needs Debian's chromium at
/usr/bin/chromium (tools/install-test-deps.sh installs it).
"""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.appserver import app_server
from tools.browser import draw

pytestmark = pytest.mark.browser

CNN = "test-cnn"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("browser-home")
    # a small Keras CNN (3 epochs of Adam on the sample), trained in a subprocess with the store above
    train = subprocess.run(
        [sys.executable, "-m", "digitlab", "train", "--model", "keras-cnn", "--preset", "adam", "--epochs", "3",
         "--name", CNN],
        cwd=REPO, env={**os.environ, "DIGITLAB_HOME": str(home)}, capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-2000:]
    with app_server(home) as srv:
        yield srv


def open_page(page, server, path, ready_text):
    page.goto(server["url"] + path)
    main = page.locator("[data-testid=stMain]")
    main.get_by_text(ready_text).first.wait_for(timeout=60000)
    return main


# ------------------------------------------------------------------ Train, Stop, Inspect


def test_train_live_chart_stop_and_inspect(page, server):
    main = open_page(page, server, "/train", "Start training")
    main.locator("[data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="Multilayer perceptron (NumPy, from scratch)").click()
    epochs = main.get_by_role("spinbutton", name="epochs")
    epochs.wait_for()
    epochs.fill("100")  # the range's top; no Enter: in a form, Enter submits
    main.get_by_role("textbox", name="Name (optional)").fill("browser-mlp")
    main.get_by_role("button", name="Start training").click()
    # the live view (progress, metrics, SVG charts) appears and its charts grow
    live = main.locator("[data-testid=dl-live]")
    live.get_by_role("img", name="Loss while training", exact=False).wait_for(state="attached", timeout=60000)

    def read(fn):  # the live block is replaced twice a second: retry a read that hits a detached node
        for _ in range(20):
            try:
                return fn()
            except Exception:  # noqa: BLE001
                page.wait_for_timeout(100)
        return fn()

    def epoch_now():
        return read(lambda: int(live.locator(".dl-value").first.inner_text(timeout=2000).split("/")[0]))

    def points():  # epoch markers (training and validation) in the accuracy chart's SVG
        src = read(lambda: live.get_by_role("img", name="Accuracy while training").get_attribute("src", timeout=2000))
        return base64.b64decode(src.split(",", 1)[1]).decode().count("<circle")

    first, first_pts = epoch_now(), points()
    deadline = time.monotonic() + 30
    while epoch_now() < first + 3 or points() <= first_pts:
        assert time.monotonic() < deadline, "the live chart did not grow"
        page.wait_for_timeout(300)
    e = epoch_now()  # read before the markers: both only grow
    assert points() >= 2 * (e - 1)  # two markers (training, validation) per finished epoch
    assert "job=" in page.url  # a reload re-attaches to the job
    # the view is refreshed by the browser polling the app's live route (st.App), not by reruns
    assert main.locator(".dl-poll [data-testid=dl-live]").count() == 1
    jid = page.url.split("job=")[1].split("&")[0]
    with urllib.request.urlopen(f"{server['url']}/digitlab/live/{jid}?lang=es", timeout=10) as r:
        body = json.loads(r.read())
    assert body["state"] == "running" and "Época" in body["html"]
    t0 = time.monotonic()
    main.get_by_role("button", name="Stop").click()
    main.get_by_text("Stopped").first.wait_for(timeout=20000)
    assert time.monotonic() - t0 < 10
    assert "browser-mlp" in main.get_by_text("Stopped").first.inner_text()
    page.screenshot(path=str(server["home"] / "train.png"))
    # the model is on the Inspect page
    main = open_page(page, server, "/inspect", "Model")
    main.locator("[data-testid=stSelectbox]").first.click()
    assert page.get_by_role("option").filter(has_text="browser-mlp").count() == 1


# ------------------------------------------------------------------ Draw


STROKES = {  # digit -> strokes, each a list of (x, y) on the 280x280 canvas
    "1": [[(140, 45), (140, 235)]],
    "7": [[(75, 60), (205, 60), (120, 235)]],
    "0": [[(140 + 55 * __import__("math").sin(a / 20 * 6.283), 140 - 85 * __import__("math").cos(a / 20 * 6.283))
           for a in range(21)]],
    "4": [[(165, 45), (80, 165), (210, 165)], [(165, 45), (165, 240)]],
}


def test_draw_digits_cnn_reads_them_then_clear(page, server):
    main = open_page(page, server, "/draw", "Draw a digit on the black square")
    canvas = main.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=30000)
    cnn = main.locator("[data-testid=stMetric]").filter(has_text=CNN)
    reset = main.locator(".st-key-draw_clear button")  # the page's own Clear (the canvas toolbar is hidden)
    for digit, strokes in STROKES.items():
        draw(page, canvas, strokes)
        cnn.wait_for(timeout=30000)  # waits for the model's answer
        value = cnn.locator("[data-testid=stMetricValue]")
        deadline = time.monotonic() + 10
        while value.inner_text().strip() != digit and time.monotonic() < deadline:
            page.wait_for_timeout(200)  # the last stroke's rerun may still be on its way
        if digit == "4":
            page.screenshot(path=str(server["home"] / "draw.png"))
        assert value.inner_text().strip() == digit, f"drew {digit}, the CNN read {value.inner_text()}"
        reset.click()
        main.get_by_text("Draw a digit on the black square").first.wait_for(timeout=15000)
        deadline = time.monotonic() + 10  # the run's end removes the previous answers (stale until then)
        while main.locator("[data-testid=stMetric]").count() and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert main.locator("[data-testid=stMetric]").count() == 0  # an empty canvas predicts nothing


def test_language_switch(page, server):
    open_page(page, server, "/draw", "Draw a digit on the black square")
    side = page.locator("[data-testid=stSidebar]")
    side.locator("[data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="Español").click()
    main = page.locator("[data-testid=stMain]")
    main.get_by_text("Dibuja un dígito en el cuadrado negro").first.wait_for(timeout=20000)
    assert side.get_by_text("Entrenar").count() >= 1
    assert main.locator("h1").first.inner_text().strip() == "Dibujar"


# ------------------------------------------------------------------ no TensorFlow in the server


def test_server_never_loads_tensorflow(page, server):
    for path, ready in [("/", "DigitLab"), ("/data", "Class balance"), ("/train", "Start training"),
                        ("/inspect", "Model"), ("/draw", "Draw a digit"), ("/learn", "Learn")]:
        open_page(page, server, path, ready)
        page.wait_for_timeout(500)
    maps = Path(f"/proc/{server['proc'].pid}/maps").read_text()
    assert "libtensorflow" not in maps and "_pywrap_tensorflow" not in maps
    assert server["proc"].poll() is None
