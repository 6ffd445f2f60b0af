"""In headless Chromium, issue 13: the language kept in the address (item 3) and the Data page's charts
keeping their size when the source changes (item 12).

One `streamlit run app.py` for the module, on a free port, with an empty model store of its own.
Needs Debian's chromium at /usr/bin/chromium (tools/install-test-deps.sh installs it).
"""
import time

import pytest

from tests.appserver import app_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("browser-lang-home"), DIGITLAB_OFFLINE="1") as srv:
        yield srv


def wait_text(page, text: str, where: str = "[data-testid=stMain]", timeout: int = 60000):
    page.locator(where).get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def wait_url(page, part: str, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while part not in page.url and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return page.url


# ------------------------------------------------------------------ 3: the language in the address


def test_language_from_the_address_survives_reload_new_tab_and_links(browser, page, server):
    page.goto(server["url"] + "/?lang=es")
    wait_text(page, "Entrenar", "[data-testid=stSidebar]")
    wait_text(page, "Un laboratorio")  # the Home page in Spanish
    page.reload()
    wait_text(page, "Un laboratorio")
    assert "lang=es" in page.url
    other = browser.new_page(viewport={"width": 1280, "height": 1000})  # a shared link, in a new tab
    try:
        other.goto(server["url"] + "/train?lang=es")
        wait_text(other, "Empezar a entrenar")
    finally:
        other.close()
    # a page switch in the sidebar keeps it (in the page and in the address)
    page.locator("[data-testid=stSidebarNav]").get_by_text("Datos", exact=True).click()
    wait_text(page, "Balance de clases")
    assert "lang=es" in wait_url(page, "lang=es")
    page.reload()
    wait_text(page, "Balance de clases")


def test_choosing_a_language_puts_it_in_the_address(page, server):
    page.goto(server["url"] + "/train")
    wait_text(page, "Start training")
    side = page.locator("[data-testid=stSidebar]")
    side.locator("[data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="Español").click()
    wait_text(page, "Empezar a entrenar")
    assert "lang=es" in wait_url(page, "lang=es")
    page.reload()
    wait_text(page, "Empezar a entrenar")


# ------------------------------------------------------------------ 12: the Data page's charts keep their size


def plot_areas(page) -> list:
    """(width, height) of each Plotly chart's plot area on the page."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')].map(c => {
        const d = c.querySelector('.nsewdrag'); if (!d) return null;
        const r = d.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; })""")


def settled(page, n: int = 3, timeout_s: float = 30) -> list:
    """The plot areas once the run has finished and every chart is drawn."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        running = page.locator("[data-testid=stStatusWidget]").get_by_text("Running", exact=False).count()
        areas = plot_areas(page)
        if not running and len(areas) == n and all(areas):
            page.wait_for_timeout(700)  # one more frame for Plotly's layout
            return plot_areas(page)
    return plot_areas(page)


def test_data_charts_keep_their_size_when_the_source_changes(page, server):
    page.goto(server["url"] + "/data")
    main = page.locator("[data-testid=stMain]")
    wait_text(page, "Class balance")
    first = settled(page)
    assert len(first) == 3 and all(first), first
    for src in ["Kaggle CSV", "Full MNIST", "MNIST IDX pair", "Full MNIST", "Bundled sample (10k)"]:
        main.get_by_text(src, exact=True).first.click()
        now = settled(page)
        assert now == first, (src, first, now)
