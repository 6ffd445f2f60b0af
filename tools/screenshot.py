"""Screenshot pages of a running DigitLab in headless Chromium.

    python tools/screenshot.py http://localhost:8501/data out.png [--width 1280 --height 800]
"""
import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.browser import ARGS, CHROMIUM  # noqa: E402


def shoot(url, out, width=1280, height=800, wait_text=None, full_page=True):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        page.wait_for_selector("[data-testid=stMain]", timeout=60000)
        if wait_text:
            page.get_by_text(wait_text).first.wait_for(timeout=60000)
        page.wait_for_timeout(2500)
        page.screenshot(path=out, full_page=full_page)
        sw = page.evaluate("document.documentElement.scrollWidth")
        b.close()
        return sw


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--wait-text")
    a = ap.parse_args()
    print("scrollWidth", shoot(a.url, a.out, a.width, a.height, a.wait_text))
