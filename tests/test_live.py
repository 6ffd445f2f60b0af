"""The live view of a job (digitlab.live): the HTML panel, and the route the browser polls."""
import asyncio
import base64
import json
import re

from digitlab import live, training


def running(epoch=2, batch=5, n_batches=10, epochs=4):
    evs = [{"epoch": e, "loss": 1 / e, "accuracy": 0.8 + 0.02 * e, "val_loss": 1.1 / e, "val_accuracy": 0.78 + 0.02 * e}
           for e in range(1, epoch)]
    bs = [{"epoch": e, "batch": b, "n_batches": n_batches, "loss": 1 / (e + b / 10), "accuracy": 0.7}
          for e in range(1, epoch + 1) for b in range(1, n_batches + 1) if (e, b) <= (epoch, batch)]
    return {"state": "running", "kind": "numpy-mlp", "config": {"epochs": epochs}, "started": 100.0,
            "progress": {"type": "batch", "epoch": epoch, "batch": batch, "n_batches": n_batches, "loss": 0.4321,
                         "samples_per_s": 12345.6}, "epochs": evs, "batches": bs}


def test_panel_of_a_running_job():
    html = live.panel(running(), "en", now=110.0)
    assert 'data-testid="dl-live"' in html and "Training Multilayer perceptron (NumPy" in html
    assert 'aria-valuenow="38"' in html  # (1 + 5/10 epochs) of 4 = 37.5%
    values = re.findall(r'class="dl-value"[^>]*>([^<]*)<', html)
    assert values == ["2/4", "0.4321", "80.00%", "12,346", "17 s"]  # 10 s for 37.5%: 17 s left
    imgs = re.findall(r'<img alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert [a.split(".")[0] for a, _ in imgs] == ["Loss while training", "Accuracy while training"]
    assert "epoch 1: training 82, validation 80" in imgs[1][0]
    svg = base64.b64decode(imgs[1][1]).decode()
    assert svg.count("<circle") == 2  # one finished epoch: training and validation markers


def test_panel_in_spanish_dark_and_queued_and_ended():
    es = live.panel(running(), "es", dark=True, now=110.0)
    assert "Época" in es and "#fafafa" in base64.b64decode(re.findall(r"base64,([^\"]+)", es)[0]).decode()
    q = live.panel({"state": "queued", "position": 2, "kind": "numpy-mlp"}, "en")
    assert "Queued: place 2" in q and 'data-testid="dl-live"' in q
    assert live.panel({**running(), "state": "done"}, "en") == ""


def test_panel_of_a_fine_tuning_job_names_its_base_and_held_out_drawings():
    """A fine-tuning job (digitlab.finetune): "Fine-tuning a copy of <base>", its validation figure and
    curve are the held-out drawings'; the base's name is a participant's text, escaped."""
    s = {**running(), "finetune": {"base": "ana<b>-mlp", "n_drawings": 30, "n_heldout": 9}}
    html = live.panel(s, "en", now=110.0)
    assert "Fine-tuning a copy of ana&lt;b&gt;-mlp" in html and "<b>" not in html and "Training Multilayer" not in html
    assert "Held-out accuracy" in html and "Validation accuracy" not in html
    imgs = re.findall(r'<img alt="([^"]*)"', html)
    assert "epoch 1: training 82, held-out drawings 80" in imgs[1]
    es = live.panel(s, "es", now=110.0)
    assert "Afinando una copia de ana&lt;b&gt;-mlp" in es and "Exactitud en reservados" in es
    assert "Validation accuracy" in live.panel(running(), "en", now=110.0)  # an ordinary job: as before


def test_panel_before_the_first_batch_and_with_a_diverged_loss():
    s = running()
    s.update(progress={}, epochs=[], batches=[])
    html = live.panel(s, "en", now=101.0)
    assert re.findall(r'class="dl-value"[^>]*>([^<]*)<', html) == ["0/4", "–", "–", "0", "–"]
    s = running()
    s["progress"]["loss"] = float("nan")
    s["batches"][-1]["loss"] = float("inf")
    assert "nan" in live.panel(s, "en", now=110.0)  # the metric says so; the chart leaves the point out


class FakeWorker:
    def __init__(self, statuses):
        self.statuses = statuses

    def status(self, jid):
        return self.statuses[jid]


def call(jid, query=b""):
    from starlette.requests import Request

    scope = {"type": "http", "method": "GET", "path": f"/digitlab/live/{jid}", "path_params": {"jid": jid},
             "query_string": query, "headers": []}
    resp = asyncio.run(live.endpoint(Request(scope)))
    return resp, json.loads(resp.body)


def test_route_answers_the_panel_and_unknown_jobs(monkeypatch):
    monkeypatch.setattr(training, "current_worker", lambda: FakeWorker({"j1": running()}))
    resp, body = call("j1", b"lang=es&dark=1")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    assert body["state"] == "running" and "Época" in body["html"]
    assert body["key"] == "active"  # the page's poller reruns the page once this changes
    assert call("nope")[1] == {"state": "unknown", "html": "", "key": "unknown"}
    assert call("j1", b"lang=xx")[1]["html"].count("Epoch") == 1  # an unknown language: English
    monkeypatch.setattr(training, "current_worker", lambda: None)  # no worker in this process
    assert call("j1")[1]["state"] == "unknown"
