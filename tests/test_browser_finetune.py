"""Issue 17 item 4 in headless Chromium: on Inspect, "Fine-tune on our handwriting" opened, a copy
fine-tuned on the saved drawings; the page moves to Train, which follows the job and, when it is
done, shows the before/after table; the copy on Inspect shows it too. Then the same form at phone
width in Spanish, nothing wider than the screen.

One server for the module, on a free port, with its own store: a small NumPy MLP and 60 saved
drawings (sample digits mirrored: a handwriting the model reads badly). Needs /usr/bin/chromium.
"""
import numpy as np
import pytest

from digitlab import data, room
from tests.appserver import app_server
from tests.helpers import digitlab_home
from tests.test_browser_inspect_draw import no_error, open_page, train_into

pytestmark = pytest.mark.browser

BASE = "b17-ft-base"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("browser17ft-home")
    train_into(home, BASE, epochs=2)
    with digitlab_home(home):
        ds = data.load_sample()
        idx = np.random.default_rng(5).choice(len(ds), 60, replace=False)
        rm = room.Room()
        for im, lab in zip(ds.images[idx][:, :, ::-1], ds.labels[idx]):
            rm.save_drawing(None, im.copy(), int(lab))
    with app_server(home) as srv:
        yield srv


def test_fine_tune_a_copy_from_inspect_and_see_before_and_after(page, server):
    main = open_page(page, server, f"/inspect?model={BASE}", "Fine-tune on our handwriting")
    tune = main.locator(".st-key-inspect_finetune")
    assert tune.get_by_text("Fine-tune a copy").count() == 0  # closed: nothing read or drawn
    tune.locator("summary").click()
    tune.get_by_text("drawings this model reads").wait_for(timeout=30000)
    assert tune.get_by_text("60 drawings this model reads").count() == 1
    page.screenshot(path=str(server["home"] / "inspect-finetune.png"), full_page=True)
    tune.get_by_role("button", name="Fine-tune a copy").click()
    page.wait_for_url("**/train?job=*", timeout=30000)
    main.get_by_text(f"Fine-tuning a copy of {BASE} on").wait_for(timeout=30000)
    table = main.locator("[data-testid=stTable]")
    table.get_by_text("held-out drawings").wait_for(timeout=120000)  # the job is done: before and after
    assert table.get_by_text("official test set").count() == 1 and no_error(main)
    cells = table.locator("td").all_inner_texts()
    assert any(c.endswith("points") for c in cells), cells
    page.screenshot(path=str(server["home"] / "train-finetuned.png"), full_page=True)
    main.get_by_role("button", name="Inspect this model").click()  # the copy, on Inspect: the same table
    page.wait_for_url("**/inspect?model=*", timeout=30000)
    main.get_by_text("Held-out accuracy").first.wait_for(timeout=30000)  # the copy's validation: its held-out set
    assert main.get_by_text("Before and after fine-tuning").count() == 1 and no_error(main)
    page.screenshot(path=str(server["home"] / "inspect-copy.png"), full_page=True)


def test_the_form_at_phone_width_in_spanish(browser, server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    try:
        main = open_page(page, server, f"/inspect?model={BASE}&lang=es", "Afinar con nuestra letra")
        tune = main.locator(".st-key-inspect_finetune")
        tune.locator("summary").click()
        tune.get_by_role("button", name="Afinar una copia").wait_for(timeout=30000)
        assert tune.get_by_text("dibujos que este modelo lee").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(server["home"] / "inspect-finetune-es-390.png"), full_page=True)
    finally:
        ctx.close()
