"""The model registry: one :class:`ModelKind` per kind of model DigitLab trains.

Pages, the CLI, the trainer process and the tests all read this one table::

    from digitlab import models

    mk = models.REGISTRY["keras-cnn"]              # .label / .explanation / .config_cls / .presets
    cfg = models.config_for("keras-cnn", "augmented", epochs=3)       # typed ConfigError on bad input
    trained = mk.train(cfg, train_ds, val_ds, seed=0, callback=cb, should_stop=stop)  # trainer process
    predictor = models.build_predictor("keras-cnn", trained.spec, trained.arrays)     # NumPy only

Every config field carries widget metadata: ``help``, a short human ``label`` (English; other
languages in ``digitlab/texts/*_models.py``) plus either ``range=(lo, hi)`` (with ``step``,
and ``log=True`` for learning rates) or ``choices=[...]``; a field of type
``tuple[int, ...]`` (hidden layer sizes) has ``kind="layers"``. Presets are named starting
sets of settings; the tutorial's own settings are the preset ``tutorial`` (its old name,
``seed``, still works: :data:`PRESET_ALIASES`).

The package:

* :mod:`.config` - the config dataclasses, their fields and the checking of values
* :mod:`.registry` - :class:`ModelKind`, :data:`REGISTRY` and the kind-name entry points
* :mod:`.predictors` - NumPy inference of a stored model (never TensorFlow, never pickle)
* :mod:`.trained` - what a trainer returns, and its progress helpers
* :mod:`.numpy_trainers`, :mod:`.sklearn_trainer`, :mod:`.keras_trainer` - one trainer module per family
* :mod:`.precision` - bfloat16 or float32 for the Keras CNN

Training (``ModelKind.train``) runs in the trainer process (:mod:`digitlab.training`). The
registry names each trainer as a ``"module:function"`` string imported when a job runs, so
:mod:`.keras_trainer`, the only module that imports TensorFlow, is never imported by the
Streamlit server, and this package does not re-export anything from it: import
``digitlab.models.keras_trainer`` itself where it is wanted. Inference (:func:`build_predictor`)
runs a Keras CNN through its same-shaped :mod:`digitlab.nn` net. See docs/architecture.md,
"The model registry" and "Processes and what may import what".
"""
from .config import (OLD_CHOICES, PRESET_ALIASES, BinaryConfig, ConfigError, KerasCNNConfig, NumpyCNNConfig,
                     NumpyMLPConfig, SklearnMLPConfig, UnknownKindError, config_dict, preset_name, setting)
from .numpy_trainers import train_numpy_binary, train_numpy_cnn, train_numpy_mlp
from .precision import cpu_has_bf16, keras_dtype_policy
from .predictors import (BinaryPredictor, NetPredictor, Predictor, SklearnPredictor, as_unit_images, net_arrays,
                         net_from, ten_class_probabilities)
from .registry import REGISTRY, ModelKind, build_predictor, config_for, config_from_dict, field_info, get_kind
from .sklearn_trainer import shifted_copies, train_sklearn_mlp
from .trained import Trained

__all__ = [
    "BinaryConfig", "BinaryPredictor", "ConfigError", "KerasCNNConfig", "ModelKind", "NetPredictor", "NumpyCNNConfig",
    "NumpyMLPConfig", "OLD_CHOICES", "PRESET_ALIASES", "Predictor", "REGISTRY", "SklearnMLPConfig", "SklearnPredictor", "Trained",
    "UnknownKindError", "as_unit_images", "build_predictor", "config_dict", "config_for", "config_from_dict",
    "cpu_has_bf16", "field_info", "get_kind", "keras_dtype_policy", "net_arrays", "net_from", "preset_name",
    "setting", "shifted_copies", "ten_class_probabilities", "train_numpy_binary", "train_numpy_cnn",
    "train_numpy_mlp", "train_sklearn_mlp",
]
