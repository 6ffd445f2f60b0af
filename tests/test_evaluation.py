"""Evaluation sets (digitlab.evaluation): the official test set's folder (DIGITLAB_TEST_DATA),
which sets a model can be measured on, loading them, measuring."""
from pathlib import Path

import numpy as np
import pytest

from digitlab import data, evaluation
from tests.helpers import random_digits, write_idx_pair

REPO = Path(__file__).resolve().parent.parent


class Fixed:
    """A predictor that answers ``answers[i]`` for the i-th image (probability 1)."""

    def __init__(self, classes=10, answer=None):
        self.classes, self.answer = classes, answer

    def predict_proba(self, images):
        n = len(images)
        p = np.zeros((n, self.classes))
        a = np.zeros(n, int) if self.answer is None else self.answer(images)
        p[np.arange(n), a] = 1
        return p


@pytest.fixture
def test_dir(tmp_path, monkeypatch):
    x, y = random_digits(30)
    write_idx_pair(tmp_path, x, y)
    monkeypatch.setenv("DIGITLAB_TEST_DATA", str(tmp_path))
    return tmp_path


def test_default_folder_is_shared_data_beside_the_repository(monkeypatch):
    monkeypatch.delenv("DIGITLAB_TEST_DATA", raising=False)
    assert evaluation.test_data_dir() == REPO.parent / "shared" / "data"


def test_setting_names_the_folder(test_dir):
    assert evaluation.test_data_dir() == test_dir
    assert evaluation.official_test_path() == test_dir
    assert "test" in evaluation.available_sets(has_drawings=False)
    ds = evaluation.load_set("test", {})
    assert len(ds) == 30 and ds.has_labels


@pytest.mark.parametrize("what", ["missing", "no idx", "a file"])
def test_no_test_set_there(tmp_path, monkeypatch, what):
    target = tmp_path / "nothing"
    if what == "no idx":
        target.mkdir()
        (target / "readme.txt").write_text("no digits here")
    elif what == "a file":
        target.write_text("not a folder")
    monkeypatch.setenv("DIGITLAB_TEST_DATA", str(target))
    assert evaluation.official_test_path() is None
    assert evaluation.available_sets(has_drawings=False) == ["val"]
    assert evaluation.available_sets(has_drawings=True) == ["val", "drawings"]
    with pytest.raises(data.DataError):
        evaluation.load_set("test", {})


def test_empty_setting_means_the_default(monkeypatch):
    monkeypatch.setenv("DIGITLAB_TEST_DATA", "")
    assert evaluation.test_data_dir() == REPO.parent / "shared" / "data"


def test_evaluate_accuracy_and_n():
    x, y = random_digits(30)
    ds = data.Dataset(x, y, "t", "t")
    assert evaluation.evaluate(Fixed(answer=lambda im: y[: len(im)]), ds) == {"accuracy": 1.0, "n": 30}
    assert evaluation.evaluate(Fixed(), ds) == {"accuracy": pytest.approx(3 / 30), "n": 30}  # always 0


def test_evaluate_binary_reads_only_zeros_and_ones():
    x, y = random_digits(30)  # labels 0..9, three of each
    r = evaluation.evaluate(Fixed(classes=2), data.Dataset(x, y, "t", "t"))
    assert r == {"accuracy": 0.5, "n": 6}


def test_validation_set_is_the_trainers_split():
    meta = {"dataset": {"spec": "sample"}, "config": {"val_fraction": 0.1}, "seed": 3}
    val = evaluation.validation_set(meta)
    _, want = data.stratified_split(data.load_sample(), 0.1, 3)
    assert 0 < len(val) == len(want) and np.array_equal(val.images, want.images) and np.array_equal(val.labels, want.labels)


def test_load_set_drawings_and_unknown():
    x, y = random_digits(12)
    mine = data.Dataset(x, y, "drawings", "room")
    assert evaluation.load_set("drawings", {}, mine) is mine
    with pytest.raises(data.DataError):
        evaluation.load_set("drawings", {}, None)
    with pytest.raises(ValueError):
        evaluation.load_set("train", {})


class Model(Fixed):
    """What predict_set needs of a stored model: classes and predict_proba."""


def test_predict_set_binary_subset(test_dir):
    X, y, P = evaluation.predict_set(Model(classes=2), "test", {})
    assert len(X) == len(y) == len(P) == 6 and set(y.tolist()) == {0, 1} and P.shape == (6, 2)
    X, y, P = evaluation.predict_set(Model(), "test", {})
    assert len(y) == 30 and P.shape == (30, 10)


def test_predict_set_with_no_zeros_or_ones_says_so():
    x, y = random_digits(20)
    keep = y >= 2
    mine = data.Dataset(x[keep], y[keep], "drawings", "room")
    with pytest.raises(data.NoImagesError):
        evaluation.predict_set(Model(classes=2), "drawings", {}, mine)
