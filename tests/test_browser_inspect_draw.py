"""Issue 13 in headless Chromium: a clicked confusion-matrix cell, the Draw page's own Clear and
Undo (the canvas's hover toolbar hidden, on a desktop and on a phone), the last drawing kept
across pages, a model stored by someone else appearing on Draw by itself.

One server for the module, on a free port, with its own model store holding a small NumPy MLP
trained here (seconds). Needs Debian's chromium at /usr/bin/chromium.
"""
import time
from pathlib import Path

import pytest

from tests.appserver import app_server
from tests.helpers import digitlab_home
from tools.browser import draw

pytestmark = pytest.mark.browser

MODEL = "b13-mlp"
INK_JS = """el => {  // white pixels on the canvas's drawing layer
  const d = el.getContext("2d").getImageData(0, 0, el.width, el.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128 && d[i + 3] > 128) n++;
  return n;
}"""


def touch_draw(page, canvas, strokes, steps: int = 8):
    """Draw ``strokes`` with a finger (CDP touch events: no mouse, so no hover, as on a phone)."""
    cdp = page.context.new_cdp_session(page)
    box = canvas.bounding_box()
    try:
        for stroke in strokes:
            pts = [(box["x"] + x, box["y"] + y) for x, y in stroke]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
            for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
                for k in range(1, steps + 1):
                    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                        {"x": x0 + (x1 - x0) * k / steps, "y": y0 + (y1 - y0) * k / steps}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def train_into(home: Path, name: str, epochs: int = 2, max_train: int | None = None) -> None:
    """A small NumPy MLP saved into the store at ``home`` (in this process: no TensorFlow)."""
    from digitlab import training

    with digitlab_home(home):
        cfg = {"epochs": epochs, **({"max_train": max_train} if max_train else {})}
        final = training.run_job({"id": name, "kind": "numpy-mlp", "preset": "quick", "config": cfg, "data": "sample",
                                  "name": name, "seed": 0}, lambda ev: None, lambda: False)
        assert final["type"] == "done" and final["model"] == name, final


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("browser13-home")
    train_into(home, MODEL, epochs=3)
    with app_server(home) as srv:
        yield srv


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    pg = ctx.new_page()
    yield pg
    ctx.close()


def open_page(page, server, path, ready_text):
    page.goto(server["url"] + path)
    main = page.locator("[data-testid=stMain]")
    main.get_by_text(ready_text).first.wait_for(timeout=60000)
    return main


def wait_until(page, cond, timeout_s=20.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(150)


def no_error(main):
    return main.get_by_text("Something went wrong").count() == 0


# ------------------------------------------------------------------ 1 and 13: Inspect's confusion matrix


def open_confusion(page, server):
    main = open_page(page, server, f"/inspect?model={MODEL}", "Confusion and mistakes")
    main.get_by_role("tab", name="Confusion and mistakes").click()
    chart = main.locator(f".st-key-inspect_cm_{MODEL}_val")
    chart.locator("g.points path").nth(99).wait_for(timeout=30000)
    return main, chart


def test_clicking_a_confusion_cell_shows_its_digits(page, server):
    main, chart = open_confusion(page, server)
    true_box = main.get_by_role("combobox", name="True digit")
    pred_box = main.get_by_role("combobox", name="Predicted as")

    def chosen():
        return true_box.input_value(), pred_box.input_value()

    cell = (3, 5) if chosen() != ("3", "5") else (2, 7)  # a cell that is not selected already
    chart.locator("g.points path").nth(cell[0] * 10 + cell[1]).click(force=True)  # points: row (true) by row
    wait_until(page, lambda: not no_error(main) or chosen() == tuple(map(str, cell)),
               what="the clicked cell in the selectboxes")
    assert no_error(main), main.get_by_text("Something went wrong").first.inner_text()
    assert chart.locator("g.points path").count() == 100  # the matrix is still there
    t_, p_ = cell
    mistakes = main.get_by_text(f"labelled {t_} predicted as {p_}")
    none = main.get_by_text(f"No digit labelled {t_} was predicted as {p_}")
    wait_until(page, lambda: mistakes.count() + none.count() > 0, what="the cell's digits or the 'none' note")
    page.screenshot(path=str(server["home"] / "inspect-click.png"), full_page=True)


def test_confusion_matrix_title_clear_of_the_axis_title(page, server):
    _, chart = open_confusion(page, server)
    title = chart.locator(".gtitle").bounding_box()
    axis = chart.locator(".xtitle").bounding_box()
    assert title and axis
    assert title["y"] + title["height"] <= axis["y"], (title, axis)  # the title ends above "predicted digit"


# ------------------------------------------------------------------ 2: the Draw page's own Clear and Undo


def canvas_of(main):
    c = main.locator("canvas.upper-canvas")
    c.wait_for(timeout=30000)
    return c


def ink(main) -> int:
    return main.locator("canvas.dc-canvas.lower-canvas").evaluate(INK_JS)


def ink_picture(main):
    """The source of the page's first preprocessing picture ("1 · your ink"), None while there is none."""
    img = main.locator("[data-testid=stImage] img").first
    return img.get_attribute("src", timeout=2000) if img.count() else None


def test_draw_clear_and_undo_buttons_no_hover_toolbar(page, server):
    main = open_page(page, server, "/draw", "Draw a digit on the black square")
    canvas = canvas_of(main)
    assert main.locator(".dc-toolbar").count() == 1 and main.locator(".dc-toolbar").is_hidden()
    assert "toolbar" not in main.inner_text()
    answer = main.locator("[data-testid=stMetric]").filter(has_text=MODEL)
    draw(page, canvas, [[(140, 45), (140, 235)]])
    answer.wait_for(timeout=30000)
    one = ink(main)
    seen = ink_picture(main)
    draw(page, canvas, [[(80, 60), (200, 60)]])
    wait_until(page, lambda: ink(main) > one * 1.2, what="the second stroke")
    two = ink(main)
    # the page has read the second stroke once its "your ink" picture changes
    wait_until(page, lambda: ink_picture(main) not in (seen, None), what="the page reading the second stroke")
    canvas.hover(position={"x": 270, "y": 10})  # the hover toolbar would appear here
    assert main.locator(".dc-toolbar").is_hidden()
    main.locator(".st-key-draw_undo button").click()
    wait_until(page, lambda: abs(ink(main) - one) <= 0.05 * one, what="the second stroke undone")
    assert ink(main) < two
    answer.wait_for(timeout=15000)  # the undone drawing is read again
    assert no_error(main)
    main.locator(".st-key-draw_clear button").click()
    wait_until(page, lambda: ink(main) == 0, what="an empty canvas")
    main.get_by_text("Draw a digit on the black square").first.wait_for(timeout=15000)
    wait_until(page, lambda: main.locator("[data-testid=stMetric]").count() == 0, what="no answers")


def test_phone_tap_in_the_top_right_corner_keeps_the_drawing(phone, server):
    main = open_page(phone, server, "/draw", "Draw a digit on the black square")
    canvas = canvas_of(main)
    touch_draw(phone, canvas, [[(140, 45), (140, 235)]])
    main.locator("[data-testid=stMetric]").filter(has_text=MODEL).wait_for(timeout=30000)
    before = ink(main)
    assert before > 0
    box = canvas.bounding_box()
    phone.touchscreen.tap(box["x"] + box["width"] - 14, box["y"] + 6)  # where the invisible "clear" sat
    phone.wait_for_timeout(1500)
    assert ink(main) >= before, "a tap in the corner wiped the drawing"
    for key in ("draw_undo", "draw_clear"):
        b = main.locator(f".st-key-{key} button")
        assert b.count() == 1 and b.is_visible()
        bb = b.bounding_box()
        assert bb["x"] >= 0 and bb["x"] + bb["width"] <= 390
    phone.screenshot(path=str(server["home"] / "draw-phone.png"), full_page=True)


# ------------------------------------------------------------------ 10: the last drawing on Inspect


def test_last_drawing_still_on_inspect_after_visiting_draw_again(page, server):
    main = open_page(page, server, "/draw", "Draw a digit on the black square")
    draw(page, canvas_of(main), [[(140, 45), (140, 235)]])
    main.locator("[data-testid=stMetric]").filter(has_text=MODEL).wait_for(timeout=30000)
    side = page.locator("[data-testid=stSidebar]")
    for _ in range(2):
        side.get_by_role("link", name="Inspect").click()
        main.get_by_text("Digit from").first.wait_for(timeout=30000)
        main.get_by_text("my last drawing").first.wait_for(timeout=15000)
        side.get_by_role("link", name="Draw").click()
        canvas_of(main)
        page.wait_for_timeout(500)


# ------------------------------------------------------------------ 11: a model stored by someone else


def test_draw_shows_a_new_model_without_a_touch(page, server):
    main = open_page(page, server, "/draw", "Draw a digit on the black square")
    draw(page, canvas_of(main), [[(140, 45), (140, 235)]])
    main.locator("[data-testid=stMetric]").filter(has_text=MODEL).wait_for(timeout=30000)
    train_into(server["home"], "b13-late", epochs=1, max_train=500)  # "someone else" stores a model
    main.locator("[data-testid=stMetric]").filter(has_text="b13-late").wait_for(timeout=60000)
    assert no_error(main)
