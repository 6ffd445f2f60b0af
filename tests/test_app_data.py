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


# ------------------------------------------------------------------ issue 12 item 14: bounded per-session data


def held_datasets(at) -> list:
    """Every distinct Dataset reachable from the session's state (nested dicts, lists, tuples)."""
    from digitlab.data import Dataset

    seen, out = set(), []

    def visit(v):
        if isinstance(v, Dataset):
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        elif isinstance(v, dict):
            for w in v.values():
                visit(w)
        elif isinstance(v, (list, tuple, set)):
            for w in v:
                visit(w)

    for k in list(at.session_state._state._state.filtered_state):
        visit(at.session_state[k])
    return out


def upload_several(at, n, size=12):
    at.radio(key="data_source").set_value("csv").run()
    for k in range(n):
        x, y = random_digits(size + k, seed=k)
        at.file_uploader(key="data_csv").set_value((f"t{k}.csv", csv_text(x, y).encode(), "text/csv")).run()
        assert not at.exception and not at.error
        assert len(at.session_state["dataset"]) == size + k and np.array_equal(at.session_state["dataset"].images, x)


def test_uploads_kept_in_a_session_are_bounded(at):
    upload_several(at, 5)
    uploaded = [d for d in held_datasets(at) if d.name != "MNIST sample (10k)"]
    assert any(d is at.session_state["dataset"] for d in uploaded)  # the one in use is kept
    assert len(uploaded) <= 2, [len(d) for d in uploaded]  # pages.common.MAX_KEPT_DATASETS


def test_uploads_kept_in_a_session_fit_a_byte_budget(at, monkeypatch):
    from pages import common

    one = 20 * 784 + 20 * 8  # a 20-digit dataset: images + int64 labels
    monkeypatch.setattr(common, "MAX_KEPT_BYTES", int(1.5 * one), raising=False)
    upload_several(at, 3, size=20)
    uploaded = [d for d in held_datasets(at) if d.name != "MNIST sample (10k)"]
    assert [len(d) for d in uploaded] == [22]  # only the one in use fits


def test_the_sample_is_shared_by_sessions_not_copied(at):
    other = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    other.run()
    other.switch_page("pages/data.py")
    other.run()
    assert at.session_state["dataset"] is other.session_state["dataset"]  # one object per server
    upload_several(at, 1)
    at.radio(key="data_source").set_value("sample").run()
    assert at.session_state["dataset"] is other.session_state["dataset"]


# ------------------------------------------------------------------ issue 13 item 12


def test_choosing_the_bundled_sample_switches_back_at_once(at):
    upload_several(at, 1)
    assert ds_name(at) != "MNIST sample (10k)"
    at.radio(key="data_source").set_value("sample").run()
    assert not at.exception, at.exception
    assert ds_name(at) == "MNIST sample (10k)"  # no second button to press
    assert {m.label: m.value for m in at.metric}["Images"] == "10,000"
    # and the same upload can be chosen again
    at.radio(key="data_source").set_value("csv").run()
    x, y = random_digits(12)
    at.file_uploader(key="data_csv").set_value(("t0.csv", csv_text(x, y).encode(), "text/csv")).run()
    assert len(at.session_state["dataset"]) == 12


def test_the_source_shown_is_the_dataset_in_use_after_leaving_the_page(at):
    upload_several(at, 1)
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    assert len(at.session_state["dataset"]) == 12  # coming back does not switch the dataset
    assert at.radio(key="data_source").value == "csv"  # and the radio says where it came from


def chart_paths(at) -> list[tuple]:
    """Where each Plotly chart sits in the page's element tree (the browser keeps a chart only
    while its place stays the same; a chart that moves is rebuilt, and was drawn at a third of
    its size)."""
    out = []

    def visit(node, path):
        if getattr(node, "type", None) == "plotly_chart":
            out.append(path)
        for k, c in (getattr(node, "children", None) or {}).items():
            visit(c, path + (k,))

    visit(at._tree, ())
    return out


def test_charts_keep_their_place_whatever_the_source(at):
    first = chart_paths(at)
    assert len(first) == 3  # digits, class balance, average digits
    for src in ["csv", "mnist", "idx", "csv", "sample", "mnist"]:
        at.radio(key="data_source").set_value(src).run()
        assert not at.exception, at.exception
        assert chart_paths(at) == first, src
    at.button[0].click().run()  # Load full MNIST: offline, an error and a note above the charts
    assert at.error
    assert chart_paths(at) == first


def test_an_unlabelled_csv_does_not_promise_labels(at):
    x, _ = random_digits(15)
    at.radio(key="data_source").set_value("csv").run()
    at.file_uploader(key="data_csv").set_value(("test.csv", csv_text(x).encode(), "text/csv")).run()
    assert not at.exception and not at.error
    assert not at.session_state["dataset"].has_labels
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert specs and not any("with their labels" in s for s in specs)
    assert any("15 random digits" in s for s in specs)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_unlabelled_grid_title_in_both_languages(lang):
    from digitlab import texts

    assert texts.text(lang, "data.grid_title_unlabelled", n=3) != texts.text(lang, "data.grid_title", n=3)


def test_a_gzipped_csv_can_be_uploaded(at):
    x, y = random_digits(14)
    at.radio(key="data_source").set_value("csv").run()
    up = at.file_uploader(key="data_csv")
    assert any(t.lstrip(".") == "gz" for t in up.allowed_type), up.allowed_type  # the browser lets .csv.gz through
    up.set_value(("train.csv.gz", gzip.compress(csv_text(x, y).encode()), "application/gzip")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.session_state["dataset"]) == 14 and np.array_equal(at.session_state["dataset"].images, x)
