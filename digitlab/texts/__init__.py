"""The app's words, one module per language (``en.py`` + ``en_learn.py``, ``es.py`` + ``es_learn.py``), each a flat dict
``T`` of key -> text. Keys are dotted by page (``data.title``, ``learn.neuron.body``).
Texts may hold ``{name}`` fields filled by :func:`text`. English is the default and
the fallback for a key a translation lacks (a test keeps both complete)."""
from __future__ import annotations

from . import en, en_learn, es, es_learn, es_models

LANGS = {"en": "English", "es": "Español"}
_TABLES = {"en": {**en.T, **en_learn.T}, "es": {**es.T, **es_learn.T}}


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
