"""Issue 12 item 15: ``python -m digitlab train`` shows a progress bar per epoch (tqdm, fed
by the job's batch events) on a terminal, none when stderr is not a terminal, and with
``--quiet`` only the final result line."""
import io
import re
import sys

import pytest

from digitlab import __main__ as cli

BAR = re.compile(r"(\d+)/(\d+) \[[^\]]*(batch/s|s/batch)")  # tqdm: "25/25 [00:01<00:00, 9.87batch/s, ...]"


class TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    return tmp_path


def train(monkeypatch, err, *extra):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    rc = cli.main(["train", "--model", "numpy-mlp", "--epochs", "2", "--set", "max_train=1000",
                   "--set", "batch_size=40", *extra])
    assert rc == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


def test_a_terminal_gets_a_bar_per_epoch_with_rate_counts_and_metrics(home, monkeypatch):
    out, err = train(monkeypatch, TTY())
    bars = BAR.findall(err)
    assert bars, err
    assert {int(total) for _, total, _ in bars} == {25}  # 1000 digits / 40 per batch
    assert ("25", "25") in {(n, total) for n, total, _ in bars}  # each bar reaches its end
    assert "epoch 1/2" in err and "epoch 2/2" in err  # the bar's description, then a line per finished epoch
    assert "loss=" in err and "acc=" in err  # the running metrics in the postfix
    lines = [ln for ln in re.split(r"[\r\n]", err) if ln.startswith("epoch ") and "val_acc" in ln]
    assert [ln.split()[1] for ln in lines] == ["1/2", "2/2"]
    assert out.startswith("saved numpy-mlp-") and "validation accuracy" in out


def test_no_bar_when_stderr_is_not_a_terminal(home, monkeypatch):
    out, err = train(monkeypatch, io.StringIO())
    assert not BAR.search(err) and "\r" not in err and "batch/s" not in err, err
    assert "epoch 1/2" in err and "epoch 2/2" in err  # the per-epoch lines stay (logs, CI)
    assert out.startswith("saved numpy-mlp-")


def test_quiet_prints_only_the_final_line(home, monkeypatch):
    out, err = train(monkeypatch, TTY(), "--quiet")
    assert err == "", err
    assert out.count("\n") == 1 and out.startswith("saved numpy-mlp-") and "validation accuracy" in out
