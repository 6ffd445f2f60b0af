"""The Streamlit server never imports TensorFlow: only ``digitlab/models/keras_trainer.py`` does.

With TensorFlow imported, Streamlit's per-run clean-up made every click cost ~880 ms (see
docs/architecture.md, "Processes and what may import what"). The server runs ``app.py`` and
the pages, which import ``digitlab`` modules; the trainer process alone imports the Keras
trainer, through the registry's lazy ``trainer_path``.
"""
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KERAS_MODULE = "digitlab.models.keras_trainer"
TF_IMPORT = re.compile(r"^\s*(import\s+(tensorflow|keras)\b|from\s+(tensorflow|keras)\b)", re.M)

# every digitlab module but the Keras trainer (what app.py and the pages may import), imported
# in a fresh interpreter; then neither keras nor tensorflow may be loaded
CHECK = f"""
import importlib, pkgutil, sys
import digitlab
names = sorted(m.name for m in pkgutil.walk_packages(digitlab.__path__, "digitlab.") if m.name != {KERAS_MODULE!r})
for name in names:
    importlib.import_module(name)
assert {{"digitlab.__main__", "digitlab.models.registry", "digitlab.nn", "digitlab.training"}} <= set(names), names
loaded = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print(len(names), "modules;", "loaded:", loaded)
sys.exit(1 if loaded else 0)
"""


def test_importing_every_server_module_leaves_tensorflow_out():
    r = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_only_the_keras_trainer_imports_tensorflow_or_keras():
    found = sorted(str(p.relative_to(REPO)) for p in (REPO / "digitlab").rglob("*.py")
                   if TF_IMPORT.search(p.read_text(encoding="utf-8")))
    assert found == ["digitlab/models/keras_trainer.py"], found


def test_the_keras_trainer_is_named_not_imported_by_the_registry():
    from digitlab import models

    assert models.REGISTRY["keras-cnn"].trainer_path == f"{KERAS_MODULE}:train_keras_cnn"
    assert not hasattr(models, "train_keras_cnn")
