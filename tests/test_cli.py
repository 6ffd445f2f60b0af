import json
import subprocess
import sys

from digitlab.__main__ import main
from tests.helpers import csv_text, random_digits
from tests.test_data import SAMPLE_COUNTS, TEST_COUNTS


def test_info_json_sample(capsys):
    assert main(["info", "--data", "sample", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 10000 and out["class_counts"] == SAMPLE_COUNTS


def test_info_text_sample(capsys):
    assert main(["info", "--data", "sample"]) == 0
    out = capsys.readouterr().out
    assert "10000" in out and "MNIST sample" in out


def test_info_csv_and_idx_folder(tmp_path, capsys, shared_data):
    x, y = random_digits(13)
    p = tmp_path / "train.csv"
    p.write_text(csv_text(x, y))
    assert main(["info", "--data", str(p), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 13 and sum(out["class_counts"]) == 13
    assert main(["info", "--data", str(shared_data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["class_counts"] == TEST_COUNTS


def test_info_bad_input_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("label,pixel0\n1,2\n")
    for spec in [str(tmp_path / "missing.csv"), str(bad), "mnist"]:  # mnist: offline in tests
        assert main(["info", "--data", spec]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1


def test_cli_subprocess_no_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    r = subprocess.run([sys.executable, "-m", "digitlab", "info", "--data", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "empty" in r.stderr
    r = subprocess.run([sys.executable, "-m", "digitlab", "info", "--data", "sample", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["n"] == 10000
