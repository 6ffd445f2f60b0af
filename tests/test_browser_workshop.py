"""Workshop mode end to end in headless Chromium (issue 15): one server started in workshop mode,
three participants and the instructor, each in their own browser context (their own cookies
and sessions, as in separate browsers).

Each participant gives a name and trains a small MLP; each sees only their own model and the
class default on the Draw page; a participant's Stop on someone else's job id is refused; a
saved drawing is still there after a reload; the Class page lists the three models and the
drawing. The server's store starts with one "class default" (a model with no owner).
"""
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.appserver import app_server, warm_browser
from tools.browser import draw

pytestmark = pytest.mark.browser

KEY = "browser-teacher-15"
DEFAULT = "class-mlp"
PEOPLE = ["Ana", "Bruno", "Chen"]
MLP_LABEL = "Multilayer perceptron (NumPy, from scratch)"
ONE = [[(140, 45), (140, 235)]]  # a drawn 1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("workshop-home")
    env = {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1"}
    env.pop("DIGITLAB_WORKSHOP", None)
    train = subprocess.run(  # the class default: trained by nobody in particular (no owner)
        [sys.executable, "-m", "digitlab", "train", "--model", "numpy-mlp", "--preset", "quick", "--name", DEFAULT,
         "--quiet"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr[-2000:]
    # a room budget above the default 60 s: Bruno's long job must outlast the steps that follow it
    with app_server(home, DIGITLAB_WORKSHOP="1", DIGITLAB_INSTRUCTOR_KEY=KEY, DIGITLAB_JOB_BUDGET_S="1000") as srv:
        yield srv
    assert KEY not in (home / "server.log").read_text()  # the key is never logged


@pytest.fixture(scope="module")
def browser(server):
    with warm_browser(server["url"], ready_text="Welcome to the workshop") as b:
        yield b


def settle(page, ms=600):
    """Wait for the page's script run to end (Streamlit's running indicator gone)."""
    page.wait_for_timeout(ms)
    for _ in range(80):
        if page.locator("[data-testid=stStatusWidget]").count() == 0:
            return
        page.wait_for_timeout(250)


def main(page):
    return page.locator("[data-testid=stMain]")


def join(browser, server, name):
    """A new browser context (a separate browser) whose person gives ``name`` at the gate."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = ctx.new_page()
    page.goto(server["url"] + "/")
    box = main(page).get_by_role("textbox", name="Your name")
    box.wait_for(timeout=90000)
    box.fill(name)
    main(page).get_by_role("button", name="Join").click()
    page.locator("[data-testid=stSidebar]").get_by_text("You are:").wait_for(timeout=30000)
    settle(page)
    assert f"name={name}" in page.url and "seat=" in page.url
    return ctx, page


def go(page, label, ready):
    """A page switch from the sidebar (the same session), then wait for ``ready``."""
    page.locator("[data-testid=stSidebarNav]").get_by_text(label, exact=True).first.click()
    main(page).get_by_text(ready).first.wait_for(timeout=60000)
    settle(page)


def pick(page, select, option):
    """Choose ``option`` in a select box (a combo box: typed, then Enter)."""
    combo = select.get_by_role("combobox")
    combo.click()
    combo.press_sequentially(option)
    page.get_by_role("option", name=option, exact=True).first.wait_for(timeout=10000)
    combo.press("Enter")
    settle(page)


def start_training(page, model, epochs=1, max_train=2000):
    m = main(page)
    pick(page, m.locator("[data-testid=stSelectbox]").first, MLP_LABEL)
    m.get_by_role("spinbutton", name=re.compile("epochs", re.I)).fill(str(epochs))
    m.get_by_role("spinbutton", name=re.compile("training images", re.I)).fill(str(max_train))
    m.get_by_role("textbox", name="Name (optional)").fill(model)
    m.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"job=j\d+-"), timeout=30000)
    return re.search(r"job=(j\d+-[0-9a-f]+)", page.url).group(1)


def drawn_model_names(page):
    """The models that answer a drawn 1 on the Draw page."""
    m = main(page)
    canvas = m.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=30000)
    draw(page, canvas, ONE)
    m.locator("[data-testid=stMetric]").first.wait_for(timeout=30000)
    settle(page, 1000)
    return sorted(m.locator("[data-testid=stMetricLabel]").all_inner_texts())


def test_three_participants_and_the_instructor(browser, server):
    people = {n: join(browser, server, n) for n in PEOPLE}
    try:
        # each trains a small model, under their name
        for name, (_, page) in people.items():
            go(page, "Train", "Start training")
            start_training(page, f"{name.lower()}-mlp")
        for name, (_, page) in people.items():
            main(page).get_by_text(re.compile(f"Done: model {name.lower()}-mlp stored")).wait_for(timeout=180000)
        # Draw: one's own model and the class default, nobody else's
        for name, (_, page) in people.items():
            go(page, "Draw", "Draw a digit on the black square")
            assert drawn_model_names(page) == sorted([f"{name.lower()}-mlp", DEFAULT]), name
        # the switch shows the class's models
        ana = people["Ana"][1]
        main(ana).get_by_text("Show the class's models").click()
        settle(ana, 1500)
        assert sorted(main(ana).locator("[data-testid=stMetricLabel]").all_inner_texts()) == sorted(
            [f"{n.lower()}-mlp" for n in PEOPLE] + [DEFAULT])

        # Stop on someone else's job id (from their address): the job is shown, the Stop refused
        bruno = people["Bruno"][1]
        go(bruno, "Train", "Start training")
        long_job = start_training(bruno, "bruno-long", epochs=100, max_train=0)
        main(bruno).locator("[data-testid=dl-live]").first.wait_for(timeout=60000)
        chen = people["Chen"][1]
        seat_query = chen.url.split("?", 1)[1]
        chen.goto(f"{server['url']}/train?{seat_query}&job={long_job}")
        stop = main(chen).get_by_role("button", name="Stop")
        stop.wait_for(timeout=60000)
        settle(chen)
        stop.click()
        main(chen).get_by_text("This job is not yours").wait_for(timeout=20000)
        assert main(chen).get_by_text("Stopped").count() == 0
        main(bruno).locator("[data-testid=dl-live]").first.wait_for(timeout=5000)  # still running for Bruno

        # a drawing saved by one participant is still there after a reload (Ana's 1 is still on her canvas)
        pick(ana, main(ana).locator("[data-testid=stSelectbox]").filter(has_text="It is really a"), "1")
        main(ana).get_by_role("button", name="Save", exact=True).click()
        main(ana).get_by_text("My drawings: 1").wait_for(timeout=20000)
        ana.reload()
        main(ana).get_by_text("My drawings: 1").wait_for(timeout=60000)
        assert main(ana).get_by_role("textbox", name="Your name").count() == 0  # no new name asked
        assert "name=Ana" in ana.url
        go(bruno, "Draw", "Draw a digit on the black square")
        main(bruno).get_by_text("My drawings: 0").wait_for(timeout=20000)  # Ana's are not Bruno's

        # the instructor: a wrong key is refused, the right one gives the controls
        ictx, teacher = join(browser, server, "Teacher")
        side = teacher.locator("[data-testid=stSidebar]")
        side.get_by_text("Instructor", exact=True).click()
        side.get_by_label("Instructor key").fill("wrong")
        side.get_by_role("button", name="Enter").click()
        side.get_by_text("That is not the instructor key.").wait_for(timeout=20000)
        side.get_by_label("Instructor key").fill(KEY)
        side.get_by_role("button", name="Enter").click()
        side.get_by_text("You are the instructor.").wait_for(timeout=20000)
        assert KEY not in teacher.url
        # ... and stops Bruno's job from the sidebar
        settle(teacher)
        side.get_by_role("button", name="Stop this job").click()
        side.get_by_text(f"Stop sent to job {long_job}").wait_for(timeout=20000)
        go(bruno, "Train", "Start training")  # Bruno's page follows his job: stopped
        main(bruno).get_by_text("Stopped").first.wait_for(timeout=30000)
        # the Class page (if this checkout has it) lists the three models and the drawing
        if (REPO / "pages" / "class.py").exists():
            go(teacher, "Class", "Leaderboard")
            body = main(teacher)
            for n in PEOPLE:
                body.get_by_text(f"{n.lower()}-mlp").first.wait_for(timeout=30000)
            body.get_by_text(re.compile(r"All 1 drawings")).first.wait_for(timeout=30000)
        ictx.close()
    finally:
        for ctx, _ in people.values():
            ctx.close()
