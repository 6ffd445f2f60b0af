"""The CLI end to end: train tiny, list, evaluate, predict an image, a Kaggle submission,
and one-line errors with exit status 2."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitlab import data
from tests.helpers import csv_text

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    return {**os.environ, "DIGITLAB_HOME": str(home), "DIGITLAB_NO_DEFAULTS": "1", "DIGITLAB_OFFLINE": "1"}


def run(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "digitlab", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-files")
    ds = data.load_sample()
    sel = np.arange(9000, 9300)
    (d / "val.csv").write_text(csv_text(ds.images[sel], ds.labels[sel]))
    (d / "test.csv").write_text(csv_text(ds.images[sel[:25]]))  # Kaggle test.csv: no label column
    big = np.kron(255 - ds.images[9000], np.ones((10, 10), np.uint8))  # dark ink on white paper, 280x280
    Image.fromarray(big).save(d / "digit.png")
    (d / "broken.csv").write_text("label,pixel0\n1,2\n")
    return d, int(ds.labels[9000])


@pytest.fixture(scope="module")
def trained(env):
    r = run(env, "train", "--model", "numpy-mlp", "--epochs", "3", "--set", "max_train=3000", "--name", "tiny",
            "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_train_prints_progress_and_saves(trained, env):
    assert trained["model"] == "tiny" and trained["state"] == "done"
    assert trained["metrics"]["val_accuracy"] > 0.8
    r = run(env, "list", "--json")
    ms = json.loads(r.stdout)
    assert [m["name"] for m in ms] == ["tiny"] and ms[0]["kind"] == "numpy-mlp"
    assert "tiny" in run(env, "list").stdout


def test_evaluate_json_and_text(trained, env, files):
    d, _ = files
    r = run(env, "evaluate", "--model", "tiny", "--data", str(d / "val.csv"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert 0.8 < out["accuracy"] <= 1 and len(out["per_class"]) == 10
    assert sum(c["support"] for c in out["per_class"]) == 300
    assert set(out["per_class"][0]) == {"digit", "precision", "recall", "f1", "support"}
    r = run(env, "evaluate", "--model", "tiny", "--data", str(d / "val.csv"))
    assert r.returncode == 0 and "accuracy" in r.stdout and "precision" in r.stdout


def test_submission(trained, env, files, tmp_path):
    d, _ = files
    out = tmp_path / "submission.csv"
    r = run(env, "submission", "--model", "tiny", "--test", str(d / "test.csv"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["ImageId", "Label"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 26))
    assert all(0 <= int(r[1]) <= 9 for r in rows[1:])


def test_predict_image(trained, env, files):
    d, label = files
    r = run(env, "predict", str(d / "digit.png"), "--model", "tiny", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["tiny"]
    assert out["digit"] == label and len(out["probabilities"]) == 10
    r = run(env, "predict", str(d / "digit.png"))  # default: the newest model
    assert r.returncode == 0 and r.stdout.startswith("tiny:")


@pytest.mark.parametrize("args,match", [
    (["train", "--model", "transformer"], "unknown model kind"),
    (["train", "--model", "numpy-mlp", "--epochs", "0"], "outside"),
    (["train", "--model", "numpy-mlp", "--set", "nonsense"], "KEY=VALUE"),
    (["train", "--model", "numpy-mlp", "--data", "/no/such.csv"], "no such file"),
    (["train", "--model", "numpy-mlp", "--name", "../x"], "invalid model name"),
    (["evaluate", "--model", "missing", "--data", "sample"], "no model named"),
    (["evaluate", "--model", "tiny", "--data", "BROKEN"], "expected 785"),
    (["predict", "/no/such.png"], "no such file"),
    (["predict", "BROKEN"], "not a readable image"),
    (["submission", "--model", "tiny", "--test", "/nope.csv", "--out", "x.csv"], "no such file"),
])
def test_user_errors_exit_2_with_one_line(trained, env, files, args, match):
    d, _ = files
    args = [str(d / "broken.csv") if a == "BROKEN" else a for a in args]
    r = run(env, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and match in lines[0], r.stderr


def test_corrupt_model_is_a_one_line_error(trained, env, files):
    home = Path(env["DIGITLAB_HOME"])
    bad = home / "models" / "junk"
    bad.mkdir()
    (bad / "meta.json").write_text("{ nope")
    r = run(env, "evaluate", "--model", "junk", "--data", str(files[0] / "val.csv"))
    assert r.returncode == 2 and "not valid JSON" in r.stderr and len(r.stderr.strip().splitlines()) == 1
