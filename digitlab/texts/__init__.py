"""The app's words, one module per language (``en.py`` + ``en_learn.py``, ``es.py`` + ``es_learn.py``), each a flat dict
``T`` of key -> text. Keys are dotted by page (``data.title``, ``learn.neuron.body``).
Texts may hold ``{name}`` fields filled by :func:`text`. English is the default and
the fallback for a key a translation lacks (a test keeps both complete).
The library's errors say their code's text ``err.<code>`` (``en_errors.py``, ``es_errors.py``):
:func:`error_text`."""
from __future__ import annotations

from . import en, en_errors, en_explain, en_learn, es, es_errors, es_explain, es_learn, es_models

LANGS = {"en": "English", "es": "Español"}
_TABLES = {"en": {**en.T, **en_learn.T, **en_explain.T, **en_errors.T},
           "es": {**es.T, **es_learn.T, **es_explain.T, **es_errors.T}}


def text(lang: str, key: str, **fields) -> str:
    table = _TABLES.get(lang, _TABLES["en"])
    s = table.get(key, _TABLES["en"].get(key))
    if s is None:
        raise KeyError(f"no text for {key!r}")
    return s.format(**fields) if fields else s


def keys(lang: str) -> set[str]:
    return set(_TABLES[lang])


def model_text(lang: str, kind: str, setting: str | None = None, attr: str = "label") -> str:
    """A model kind's label or explanation, or a setting's help, in ``lang``. English
    comes from the registry (:mod:`digitlab.models`); other languages from their
    ``*_models`` table, falling back to English."""
    from .. import models

    mk = models.get_kind(kind)
    if setting is None:
        english, key = getattr(mk, attr), f"kind.{kind}.{attr}"
    else:
        f = next(f for f in mk.fields() if f.name == setting)
        english, key = f.metadata.get("help", ""), f"field.{kind}.{setting}"
    if lang == "es":
        return es_models.T.get(key, english)
    return english


def kind_label(lang: str, kind) -> str:
    """A model kind's label in ``lang`` (:func:`model_text`); an unknown kind (an old stored
    model's, a job's from a newer version) as it is written."""
    try:
        return model_text(lang, kind)
    except Exception:  # noqa: BLE001 - an unknown kind
        return str(kind)


# ---------------------------------------------------------------- the library's errors


def error_text(lang: str, exc: BaseException) -> str:
    """What ``exc`` says in ``lang``: a :class:`digitlab.errors.DigitLabError` with a code
    says its text ``err.<code>`` filled with its params (English when ``lang`` lacks it);
    any other exception (or an error built from a plain message) says ``str(exc)``."""
    from ..errors import DigitLabError

    if isinstance(exc, DigitLabError) and exc.code:
        return error_message(lang, exc.code, exc.params, str(exc))
    return str(exc)


def error_message(lang: str, code: str | None, params: dict | None = None, fallback: str | None = None) -> str | None:
    """The text ``err.<code>`` of ``lang`` filled with ``params``: the English one when ``lang``
    lacks it (or it does not fit the params), else ``fallback`` (also for a ``code`` of None).

    For an error known only by its code and params, e.g. a training job's::

        st = worker.status(job_id)  # state "error"
        texts.error_message(lang, st["error_code"], st["error_params"], st["error"])
    """
    if isinstance(code, str) and code:
        for la in dict.fromkeys((lang, "en")):
            s = _error_format(la, code, params or {})
            if s is not None:
                return s
    return fallback


def _error_format(lang: str, code: str, params: dict) -> str | None:
    """The text ``err.<code>`` of ``lang`` (English for an unknown ``lang``) filled with ``params``;
    None when there is none (or it does not fit the params)."""
    s = _TABLES.get(lang, _TABLES["en"]).get(f"err.{code}")
    if s is None:
        return None
    try:
        return s.format(**{k: _error_param(lang, k, v) for k, v in params.items()})
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return None


def _error_param(lang: str, name: str, v):
    if isinstance(v, dict) and isinstance(v.get("code"), str) and isinstance(v.get("params"), dict):
        # a coded error inside this one: said in the same language
        return error_message(lang, v["code"], v["params"], v["code"])
    if name.endswith("_bytes") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return _size(lang, v)
    return v


def _size(lang: str, n: float) -> str:
    """A size in bytes, 3 significant digits at most: ``512 B``, ``4.88 KB``, ``200 MB`` (es ``4,88 KB``)."""
    if n < 1024:
        return f"{n:.0f} B"
    value, unit = (n / 2**20, "MB") if n >= 2**20 else (n / 1024, "KB")
    decimals = 0 if value >= 100 else 1 if value >= 10 else 2
    s = f"{value:.{decimals}f}"
    if decimals:
        s = s.rstrip("0").rstrip(".")
    return (s.replace(".", ",") if lang == "es" else s) + " " + unit


# ---------------------------------------------------------------- numbers, the language's way

_SEPARATORS = {"en": (",", "."), "es": (".", ",")}  # (thousands, decimal)


def number(lang: str, v, decimals: int = 0) -> str:
    """``v`` with the language's separators: en ``3,000.5``, es ``3.000,5``; "–" for None/NaN.

    (Spanish: the RAE writes no separator in 4-digit numbers; DigitLab writes one anyway, so
    that 3.000 and 10.000 line up in a table.)"""
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    thousands, dec = _SEPARATORS.get(lang, _SEPARATORS["en"])
    s = f"{v:,.{decimals}f}"
    return s.replace(",", "\0").replace(".", dec).replace("\0", thousands)


def percent(lang: str, fraction, decimals: int = 2) -> str:
    """A fraction as a percentage: en ``77.10%``, es ``77,10 %`` (Spanish puts a space before %)."""
    if fraction is None or (isinstance(fraction, float) and fraction != fraction):
        return "–"
    return number(lang, 100 * fraction, decimals) + ("\u00a0%" if lang == "es" else "%")


# ---------------------------------------------------------------- the library's dataset names, per language

_DATASET_WORDS = {  # the names and sources digitlab.data gives its datasets -> Spanish
    "es": [
        (r"^MNIST sample \((\w+)\)$", r"muestra de MNIST (\1)"),
        (r"^MNIST train \((\w+)\)$", r"MNIST entrenamiento (\1)"),
        (r"^MNIST test \((\w+)\)$", r"MNIST prueba (\1)"),
        (r"^bundled sample: ", "muestra incluida: "),
        (r"^saved dataset: ", "datos guardados: "),
        (r"^Kaggle CSV: ", "CSV de Kaggle: "),
        (r"^MNIST IDX: ", "IDX de MNIST: "),
        (r"^full MNIST \(train\): ", "MNIST completo (entrenamiento): "),
        (r"^full MNIST \(test\): ", "MNIST completo (prueba): "),
    ],
}


def dataset_name(lang: str, name) -> str:
    """A dataset's ``name`` or ``source`` as :mod:`digitlab.data` gives it (English), in ``lang``;
    a user's own name (an uploaded file's) is kept as it is."""
    import re

    out = str(name)
    for pattern, repl in _DATASET_WORDS.get(lang, []):
        out = re.sub(pattern, repl, out)
    return out
