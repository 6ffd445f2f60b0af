"""The library's errors carry a stable code and params and are said in the page's language
(issue 13 item 5): digitlab.errors, digitlab.texts.error_text, texts/en_errors.py and es_errors.py."""
import ast
import io
import json
import pickle
import re
import string
from pathlib import Path

import numpy as np
import pytest

from digitlab import data, files, inference, models, preprocess, store, store_meta, texts
from digitlab.errors import CODE_RE, DigitLabError
from digitlab.texts import en_errors, es_errors

LIBRARY = Path(data.__file__).resolve().parent

# raises whose code is a variable: where they are and the codes they can raise
DYNAMIC = {
    ("files.py", "check_regular_file"): [c for _, c in files._SPECIAL_FILES] + ["file.special"],
    ("files.py", "too_large"): ["file.too_large", "file.too_large_unpacked"],
    ("store_meta.py", "_bad_field"): store_meta.BAD_FIELD_CODES,
}


def fields(s):
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def _codes_of(arg):
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.IfExp):
        return _codes_of(arg.body) + _codes_of(arg.orelse)
    return None


def raised_codes():
    """{code: [(where, set of param names)]} of every ``raise SomeError("code", k=...)`` in digitlab/."""
    found = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        if "texts" in path.relative_to(LIBRARY).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
                    continue
                call, where = node.exc, f"{path.name}:{node.lineno}"
                params = {k.arg for k in call.keywords}
                codes = _codes_of(call.args[0])
                if codes is None:  # a variable code
                    if not params:
                        continue  # a plain message in a variable
                    codes = DYNAMIC.get((path.name, fn.name))
                    assert codes, f"{where}: a raise with a variable code; list its codes in DYNAMIC"
                for code in codes:
                    if CODE_RE.fullmatch(code):
                        found.setdefault(code, []).append((where, params))
    return found


def test_every_raised_code_has_an_english_and_a_spanish_text_with_its_params():
    raised = raised_codes()
    assert len(raised) > 50, sorted(raised)  # the scan sees the library's raises
    for code, uses in raised.items():
        key = f"err.{code}"
        assert key in en_errors.T, f"{uses[0][0]}: no English text for {code!r}"
        assert key in es_errors.T, f"{uses[0][0]}: no Spanish text for {code!r}"
        for where, params in uses:
            assert fields(en_errors.T[key]) == params, (where, code, params, en_errors.T[key])
            assert fields(es_errors.T[key]) == params, (where, code, params, es_errors.T[key])
    # and the tables hold nothing else: same keys in both languages, each one raised somewhere
    assert set(en_errors.T) == set(es_errors.T)
    assert sorted(k for k in en_errors.T if k[len("err."):] not in raised) == []
    for key, en in en_errors.T.items():  # translated, unless it holds no words ("{file}: {reason}")
        words = "".join(lit for lit, *_ in string.Formatter().parse(en))
        assert es_errors.T[key] != en or not re.search("[a-zA-Z]{3}", words), key


def _bad_csv(tmp_path, row, column, value):
    ds = data.load_sample().subset(np.arange(5))
    p = tmp_path / "train.csv"
    data.write_kaggle_csv(ds, p)
    lines = p.read_text().splitlines()
    cells = lines[row - 1].split(",")
    cells[(["label"] + data.PIXEL_COLUMNS).index(column)] = value
    lines[row - 1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p


def test_a_bad_csv_is_said_in_spanish_with_its_row_and_column(tmp_path):
    p = _bad_csv(tmp_path, row=3, column="pixel5", value="x7")
    with pytest.raises(data.CSVFormatError) as info:
        data.load_kaggle_csv(p)
    e = info.value
    assert e.code == "csv.not_a_number"
    assert e.params == {"file": "train.csv", "row": 3, "column": "pixel5", "value": "x7"}
    json.dumps(e.params)  # JSON-friendly
    es = texts.error_text("es", e)
    assert es == "train.csv: fila 3, columna 'pixel5': 'x7' no es un número"
    assert str(e) == "train.csv: row 3, column 'pixel5' is not a number: 'x7'"

    p = _bad_csv(tmp_path, row=4, column="pixel9", value="300")
    with pytest.raises(data.CSVFormatError) as info:
        data.load_kaggle_csv(p)
    assert texts.error_text("es", info.value) == (
        "train.csv: fila 4, pixel9 = 300; los píxeles deben ser números enteros del 0 al 255")


def _real_errors(tmp_path):
    """One of each kind: a CSV row error, a size (said per language), a model setting, a nested error."""
    out = []
    for call in [
        lambda: data.load_kaggle_csv(_bad_csv(tmp_path, 2, "label", "12")),
        lambda: data.load_kaggle_csv(b"x" * 5000, max_bytes=4000),
        lambda: data.load(str(tmp_path / "nowhere")),
        lambda: models.config_for("numpy-mlp", lr="fast"),
        lambda: models.config_for("nope"),
        lambda: inference.image_file_to_digit(_png(1, 1)),
        lambda: preprocess.crop(np.zeros((8, 8), np.float32)),
    ]:
        with pytest.raises(DigitLabError) as info:
            call()
        out.append(info.value)
    return out


def _png(w, h):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (w, h)).save(buf, "PNG")
    return buf.getvalue()


def test_a_coded_error_says_its_english_text_and_keeps_its_builtin_bases(tmp_path):
    errs = _real_errors(tmp_path)
    for e in errs:
        assert e.code and str(e) == texts.error_text("en", e) == texts.error_text("xx", e)
        assert texts.error_text("es", e) != str(e), e
        back = pickle.loads(pickle.dumps(e))  # e.g. from the trainer process
        assert type(back) is type(e) and back.code == e.code and back.params == e.params and str(back) == str(e)
    csv_err, size_err, missing, setting, kind, image, empty = errs
    assert isinstance(csv_err, data.CSVFormatError) and isinstance(csv_err, ValueError)
    assert isinstance(kind, models.UnknownKindError) and isinstance(kind, models.ConfigError)
    assert isinstance(image, inference.ImageError) and isinstance(image, data.DataError)
    assert isinstance(empty, preprocess.EmptyDrawing) and isinstance(empty, ValueError)
    assert texts.error_text("es", size_err) == "<bytes> ocupa 4,88 KB; el límite es 3,91 KB"
    assert str(size_err) == "<bytes> is 4.88 KB; the limit is 3.91 KB"
    assert texts.error_text("es", setting) == "numpy-mlp: lr debe ser un número, no 'fast'"
    # a coded error inside another is said in the same language
    assert image.params["reason"]["code"] == "preprocess.bad_shape"
    assert texts.error_text("es", image).startswith("<bytes>: se esperaba una imagen (H, W)")
    assert texts.error_text("es", empty) == "el dibujo está vacío: dibuja un dígito"


def test_a_text_missing_in_spanish_falls_back_to_english(tmp_path, monkeypatch):
    monkeypatch.delitem(texts._TABLES["es"], "err.csv.bad_label")
    e = _real_errors(tmp_path)[0]
    assert e.code == "csv.bad_label" and texts.error_text("es", e) == str(e)
    assert "row 2 has label 12; labels must be digits 0-9" in str(e)


def test_an_uncoded_exception_says_str():
    for e in [KeyError("x"), OSError(2, "No such file or directory"), ValueError("plain"),
              data.DataError("a plain message, no code"), models.ConfigError("set x to 3")]:
        assert texts.error_text("es", e) == texts.error_text("en", e) == str(e)
    plain = data.DataError("a plain message, no code")
    assert plain.code is None and plain.params == {} and str(plain) == "a plain message, no code"


def test_the_mixin_works_with_an_oserror_base():
    """What store.ModelNotFoundError(StoreError, FileNotFoundError) needs once StoreError derives from it."""
    class Missing(DigitLabError, FileNotFoundError):
        pass

    e = Missing("file.not_found", file="models/x")
    assert isinstance(e, FileNotFoundError) and isinstance(e, OSError)
    assert str(e) == "no such file: models/x" and texts.error_text("es", e) == "no existe el archivo: models/x"
    with pytest.raises(FileNotFoundError, match="no such file"):
        raise e


def test_error_message_words_a_code_and_params_in_a_language_with_fallbacks():
    params = {"file": "train.csv", "row": 3, "column": "pixel5", "value": "x7"}
    assert texts.error_message("es", "csv.not_a_number", params) == "train.csv: fila 3, columna 'pixel5': 'x7' no es un número"
    assert texts.error_message("xx", "csv.not_a_number", params) == (
        "train.csv: row 3, column 'pixel5' is not a number: 'x7'")  # an unknown language: English
    assert texts.error_message("es", None, {}, "KeyError: 'x'") == "KeyError: 'x'"  # no code: the fallback
    assert texts.error_message("es", "no.such_code", params, "plain") == "plain"
    assert texts.error_message("es", "csv.not_a_number", {}, "plain") == "plain"  # params that do not fit
    assert texts.error_message("es", "no.such_code", params) is None


def test_a_training_job_on_a_bad_csv_keeps_the_code_and_params_for_the_page(tmp_path, monkeypatch):
    """The trainer process sends the error's code and params; the job's status keeps them, so a
    page words the error in the viewer's language."""
    from digitlab import training

    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NO_DEFAULTS", "1")
    p = _bad_csv(tmp_path, row=3, column="pixel5", value="x7")
    w = training.Worker(stop_grace=2.0, stop_timeout=8.0)
    try:
        bad = w.submit("numpy-mlp", {"epochs": 1, "max_train": 600}, data=str(p))
        plain = w.submit("numpy-mlp", {"epochs": 1, "max_train": 600}, _hook="raise")
        st = w.wait(bad, 60)
        assert st["state"] == "error", st
        assert st["error_code"] == "csv.not_a_number"
        assert st["error_params"] == {"file": "train.csv", "row": 3, "column": "pixel5", "value": "x7"}
        assert st["error"] == "CSVFormatError: train.csv: row 3, column 'pixel5' is not a number: 'x7'"
        assert texts.error_message("es", st["error_code"], st["error_params"], st["error"]) == (
            "train.csv: fila 3, columna 'pixel5': 'x7' no es un número")
        ev = [e for e in w.events(bad) if e["type"] == "error"][-1]
        assert ev["code"] == "csv.not_a_number" and ev["params"] == st["error_params"]
        assert {j["id"]: j["error_code"] for j in w.jobs()}[bad] == "csv.not_a_number"
        # an error without a code: None and {}, and the page says the English text
        st = w.wait(plain, 60)
        assert st["state"] == "error" and st["error_code"] is None and st["error_params"] == {}
        assert texts.error_message("es", st["error_code"], st["error_params"], st["error"]) == st["error"]
    finally:
        w.shutdown()
