"""The default models' list and states (digitlab.defaults) and the job states (digitlab.states)."""
import pytest

from digitlab import defaults, states


def test_default_models_list():
    assert [(n, k, p) for n, k, p, _ in defaults.DEFAULT_MODELS] == [
        ("default-mlp", "numpy-mlp", "wide"), ("default-cnn", "keras-cnn", "augmented")]
    assert defaults.DEFAULT_NAMES == ("default-mlp", "default-cnn")


def test_presets_exist():
    from digitlab import models

    for _name, kind, preset, over in defaults.DEFAULT_MODELS:
        cfg = models.config_for(kind, preset)  # an unknown kind or preset raises ConfigError
        for k, v in over.items():
            assert hasattr(cfg, k) and getattr(cfg, k) != v  # an override changes a real setting


def _states(jobs, metas):
    return {d["name"]: d["state"] for d in defaults.default_model_states(jobs, metas)}


def test_nothing_anywhere_is_missing():
    assert _states([], []) == {"default-mlp": "missing", "default-cnn": "missing"}


def test_stored_is_ready_whatever_the_jobs():
    metas = [{"name": "default-mlp", "metrics": {"val_accuracy": 0.97}}, {"name": "mine"}]
    jobs = [{"name": "default-mlp", "state": "running"}, {"name": "default-cnn", "state": "queued"}]
    out = defaults.default_model_states(jobs, metas)
    assert [d["state"] for d in out] == ["ready", "queued"]
    assert out[0]["meta"] is metas[0] and out[1]["meta"] is None
    assert [d["kind"] for d in out] == ["numpy-mlp", "keras-cnn"]


@pytest.mark.parametrize("job_state, want", [("running", "training"), ("queued", "queued"), ("done", "missing"),
                                             ("stopped", "missing"), ("error", "missing")])
def test_job_state(job_state, want):
    assert _states([{"name": "default-cnn", "state": job_state}], [])["default-cnn"] == want


def test_a_finished_job_does_not_hide_a_running_one():
    jobs = [{"name": "default-cnn", "state": "running"}, {"name": "default-cnn", "state": "error"}]
    assert _states(jobs, [])["default-cnn"] == "training"


def test_other_models():
    metas = [{"name": "a"}, {"name": "default-cnn"}, {"name": "b"}]
    assert defaults.other_models(metas) == ["a", "b"]


def test_defaults_does_not_import_the_trainer():
    import subprocess
    import sys

    code = "import sys, digitlab.defaults; print('digitlab.training' in sys.modules, 'digitlab.store' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_job_states():
    assert states.STATES == ("queued", "running", "done", "stopped", "error")
    assert states.ACTIVE == (states.QUEUED, states.RUNNING)
    assert set(states.ACTIVE) | set(states.FINISHED) == set(states.STATES)
    assert states.is_active({"state": "queued"}) and not states.is_active({"state": "done"})
