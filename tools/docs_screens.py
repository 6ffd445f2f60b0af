"""Screenshots for the README (a running app with models stored):

    python tools/docs_screens.py http://localhost:8501 docs/
"""
import math
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.browser import ARGS, CHROMIUM, draw  # noqa: E402


def train_live(page, m, url, out):
    """The Train page while the NumPy CNN trains (a job started here and stopped after the shot)."""
    page.goto(url + "/train")
    m.get_by_text("Start training").first.wait_for(timeout=60000)
    m.locator("[data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="Convolutional network (NumPy, from scratch)").click()
    epochs = m.get_by_role("spinbutton", name="epochs", exact=True)
    epochs.wait_for()
    page.wait_for_timeout(1000)
    epochs.fill("10")
    m.get_by_role("textbox", name="Name (optional)").fill("numpy-cnn-live")
    m.get_by_role("button", name="Start training").click()
    live = m.locator("[data-testid=dl-live]")
    live.wait_for(timeout=60000)
    page.wait_for_timeout(25000)  # a few epochs on the curves
    stop = m.get_by_role("button", name="Stop")
    stop.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(600)
    box, main = stop.bounding_box(), m.bounding_box()
    page.screenshot(path=str(out / "train-page.png"),
                    clip={"x": box["x"] - 16, "y": max(0, box["y"] - 16), "width": main["x"] + main["width"] - box["x"] - 40,
                          "height": 500})
    m.get_by_role("button", name="Stop").click()
    m.get_by_text("Stopped").first.wait_for(timeout=30000)


def main(url, out):
    out = Path(out)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_page(viewport={"width": 1280, "height": 1250})
        m = page.locator("[data-testid=stMain]")
        page.goto(url + "/draw")
        canvas = m.locator("canvas.upper-canvas")
        canvas.wait_for(timeout=60000)
        two = [[(85, 90)] + [(140 + 55 * math.cos(a), 95 - 45 * math.sin(a)) for a in [i * math.pi / 8 for i in range(8, -1, -1)]][1:]
               + [(120, 170), (80, 230), (215, 230)]]
        draw(page, canvas, two)
        m.locator("[data-testid=stMetric]").first.wait_for(timeout=30000)
        page.wait_for_timeout(2500)
        page.screenshot(path=str(out / "draw-page.png"))
        page.goto(url + "/inspect")
        m.get_by_role("tab").first.wait_for(timeout=60000)
        page.wait_for_timeout(2500)
        page.screenshot(path=str(out / "inspect-page.png"))
        train_live(page, m, url, out)
        page.goto(url + "/")
        m.get_by_text("A workshop path").first.wait_for(timeout=60000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(out / "home-page.png"))
        b.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
