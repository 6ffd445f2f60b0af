"""Issue 17 in headless Chromium: a digit drawn with the mouse, the Draw page's Why? opened, every
model's heat map drawn side by side with its reading; closed again, nothing of it is left on the page.

One server for the module, on a free port, with its own model store holding two small NumPy MLPs
trained here (seconds). Needs Debian's chromium at /usr/bin/chromium.
"""
import pytest

from tests.appserver import app_server
from tests.test_browser_inspect_draw import canvas_of, no_error, open_page, train_into
from tools.browser import draw

pytestmark = pytest.mark.browser

MODELS = ["b17-mlp", "b17-small"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("browser17-home")
    train_into(home, MODELS[0], epochs=2)
    train_into(home, MODELS[1], epochs=1, max_train=500)
    with app_server(home) as srv:
        yield srv


def test_why_shows_every_models_heat_map_for_a_drawn_digit(page, server):
    main = open_page(page, server, "/draw", "Draw a digit on the black square")
    draw(page, canvas_of(main), [[(70, 60), (210, 60), (120, 250)]])  # a 7
    for name in MODELS:
        main.locator("[data-testid=stMetric]").filter(has_text=name).wait_for(timeout=30000)
    why = main.locator(".st-key-draw_why")
    assert why.locator(".js-plotly-plot").count() == 0  # closed: nothing computed or sent
    why.locator("summary").click()
    maps = [why.locator(f".st-key-draw_why_px_sal_{i} .js-plotly-plot") for i in range(len(MODELS))]
    for m in maps:
        m.locator("g.hm image").nth(1).wait_for(timeout=30000)  # the faint digit and the map over it
    assert why.get_by_text("of the ink pushed the answer towards").count() == len(MODELS)
    boxes = [m.bounding_box() for m in maps]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5 and boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"]  # side by side
    assert no_error(main)
    page.screenshot(path=str(server["home"] / "draw-why.png"), full_page=True)
    why.locator("summary").click()  # closed again: the maps go
    main.locator(".st-key-draw_why_px_sal_0").wait_for(state="detached", timeout=15000)
