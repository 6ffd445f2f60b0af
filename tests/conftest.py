"""Test-wide settings: no network, no default-model training, a private model store."""
import os
import tempfile
from pathlib import Path

import pytest

from digitlab import evaluation

os.environ["DIGITLAB_OFFLINE"] = "1"
os.environ["DIGITLAB_NO_DEFAULTS"] = "1"
os.environ.setdefault("DIGITLAB_HOME", tempfile.mkdtemp(prefix="digitlab-test-home-"))
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="digitlab-test-keras-")  # never a real MNIST cache
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = evaluation.test_data_dir()  # $DIGITLAB_TEST_DATA, default ../shared/data


@pytest.fixture
def shared_data() -> Path:
    """The official MNIST test set (IDX): ``$DIGITLAB_TEST_DATA``, default ../shared/data."""
    if not (SHARED_DATA / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the official MNIST test set is not in {SHARED_DATA} (set DIGITLAB_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _fresh_instructor_key_limit():
    """Each test starts with no wrong instructor keys counted (digitlab.room's limit is per process)."""
    from digitlab import roles
    roles._key_failures.clear()
    yield


# ---- browser tests: a module defines ``server`` (tests.appserver.app_server); these use it


@pytest.fixture(scope="module")
def browser(server):
    """Headless Chromium for the module's server, warmed by one page."""
    from tests.appserver import warm_browser

    with warm_browser(server["url"]) as b:
        yield b


@pytest.fixture
def page(browser):
    """A desktop-sized page (1280 px)."""
    pg = browser.new_page(viewport={"width": 1280, "height": 1400})
    yield pg
    pg.close()
