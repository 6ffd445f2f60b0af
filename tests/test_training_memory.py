"""A finished job does not keep every batch event (a server runs all day)."""
from digitlab import training


def test_finished_job_keeps_a_thinned_curve():
    w = training.Worker(start=False)
    try:
        j = training._Job(id="j1", kind="numpy-mlp", name=None, preset=None, config={}, data="sample", seed=0,
                          test=None, state="running", submitted=0.0, hook=None)
        w._jobs["j1"] = j
        with w._lock:  # as the listener thread does
            w._handle({"type": "started", "job": "j1", "t": 1.0})
            for b in range(1, 1001):
                w._handle({"type": "batch", "job": "j1", "epoch": 1 + b // 500, "batch": b % 500 + 1,
                           "n_batches": 500, "loss": 1.0 / b, "accuracy": None})
            w._handle({"type": "epoch", "job": "j1", "epoch": 1, "epochs": 2, "loss": 0.1})
        assert len(w.events("j1")) == 1002
        with w._lock:
            w._finish(j, "done")
        evs = w.events("j1")
        batches = [e for e in evs if e["type"] == "batch"]
        assert len(batches) == training.KEPT_BATCHES
        assert [e["seq"] for e in evs] == list(range(len(evs)))  # still the list index
        assert evs[0]["type"] == "started" and evs[-1]["type"] == "epoch"
        assert batches[-1]["loss"] == 1.0 / 1000  # the curve's end is kept
        assert len(w.status("j1")["batches"]) == training.KEPT_BATCHES
    finally:
        w.shutdown()
