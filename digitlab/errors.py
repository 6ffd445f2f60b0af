"""Errors with a stable code and parameters, so that a page can say them in any language.

    raise CSVFormatError("csv.not_a_number", file="train.csv", row=3, column="pixel5", value="x")

``err.code`` (``"csv.not_a_number"``) and ``err.params`` (JSON-friendly values) never depend
on the language. The words live in one place, the texts table: ``str(err)`` is the English
text ``err.<code>`` (``digitlab/texts/en_errors.py``) filled with the params, and
``digitlab.texts.error_text(lang, err)`` is the same in ``lang`` (``es_errors.py``).

* A param may be a message itself: an OSError's text (``reason=e.strerror``) stays as it is;
  a coded error (``reason=err``) is kept as ``{"code": ..., "params": ...}`` and said in the
  same language as the error holding it.
* Params named ``*_bytes`` are sizes, said the language's way (``1.5 MB``, ``1,5 MB``).
* An error built from a plain message (``DataError("...")``: not a code, no params) still
  works: its ``code`` is None and its text is that message in every language.

Every library error class derives from :class:`DigitLabError` as well as from the builtin it
always was (``DataError`` is a ``ValueError``...), so every ``except`` keeps working.
"""
from __future__ import annotations

import json
import os
import re

CODE_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")


def _plain(v):
    """``v`` as a JSON-friendly value (numpy scalars, paths, tuples, nested errors converted)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, DigitLabError):
        return {"code": v.code, "params": v.params} if v.code else str(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    item = getattr(v, "item", None)  # a numpy scalar
    if callable(item) and getattr(v, "shape", None) == ():
        return _plain(item())
    return str(v)


def _rebuild(cls, code, params, message):
    return cls(code, **params) if code else cls(message)


class DigitLabError(Exception):
    """Base of DigitLab's errors: ``code`` (str, or None for a plain message) and ``params``."""

    def __init__(self, code: str, /, **params):
        if params or (isinstance(code, str) and CODE_RE.fullmatch(code)):
            from .texts import error_message

            self.code = code
            self.params = {k: _plain(v) for k, v in params.items()}
            message = error_message("en", code, self.params)
            if message is None:  # no English text (a test keeps every code covered)
                message = f"{code} {json.dumps(self.params, ensure_ascii=False, default=str)}"
        else:
            self.code, self.params, message = None, {}, str(code)
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # pickle (e.g. across processes) keeps the code and params
        return _rebuild, (type(self), self.code, self.params, self.message)
