"""Screenshots for the README (a running app with models stored):

    python tools/docs_screens.py http://localhost:8501 docs/
"""
import math
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.browser import ARGS, CHROMIUM, draw  # noqa: E402


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
        page.goto(url + "/")
        m.get_by_text("A workshop path").first.wait_for(timeout=60000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(out / "home-page.png"))
        b.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
