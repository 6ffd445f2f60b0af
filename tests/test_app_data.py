"""AppTest of the Data page (and the router)."""
import gzip

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO
from tests.helpers import csv_text, idx_bytes, random_digits

TIMEOUT = 60


@pytest.fixture
def at():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    return at


def ds_name(at):
    return at.session_state["dataset"].name


def test_data_page_shows_sample(at):
    assert at.title[0].value == "Data"
    assert ds_name(at) == "MNIST sample (10k)"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "10,000"
    assert not at.error


def test_bad_csv_upload_keeps_dataset(at):
    at.radio(key="data_source").set_value("csv").run()
    at.file_uploader(key="data_csv").set_value(("bad.csv", b"label,pixel0\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert at.error and "header has 2 columns" in at.error[0].value
    assert ds_name(at) == "MNIST sample (10k)"


def test_good_csv_upload_is_used(at):
    x, y = random_digits(20)
    at.radio(key="data_source").set_value("csv").run()
    at.file_uploader(key="data_csv").set_value(("train.csv", csv_text(x, y).encode(), "text/csv")).run()
    assert not at.exception and not at.error
    ds = at.session_state["dataset"]
    assert len(ds) == 20 and np.array_equal(ds.images, x)
    assert {m.label: m.value for m in at.metric}["Images"] == "20"


def test_idx_pair_upload_and_bad_pair(at):
    x, y = random_digits(15)
    at.radio(key="data_source").set_value("idx").run()
    at.file_uploader(key="data_idx_images").set_value(("i.gz", gzip.compress(idx_bytes(x)), "application/gzip")).run()
    assert at.info  # asks for the second file
    at.file_uploader(key="data_idx_labels").set_value(("l", idx_bytes(y[:10].astype(np.uint8)), "application/octet-stream")).run()
    assert at.error and "15 images" in at.error[0].value
    assert ds_name(at) == "MNIST sample (10k)"
    at.file_uploader(key="data_idx_labels").set_value(("l2", idx_bytes(y.astype(np.uint8)), "application/octet-stream")).run()
    assert not at.error and len(at.session_state["dataset"]) == 15


def test_full_mnist_offline_message(at):
    at.radio(key="data_source").set_value("mnist").run()
    at.button[0].click().run()
    assert not at.exception
    assert at.error and "offline" in at.error[0].value
    assert ds_name(at) == "MNIST sample (10k)"
