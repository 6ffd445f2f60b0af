"""Numbers follow the language (issue 13.6): one formatter per language for counts and percentages."""
import math

import pytest

from digitlab.texts import number, percent


@pytest.mark.parametrize("lang, v, decimals, want", [
    ("en", 3000, 0, "3,000"), ("es", 3000, 0, "3.000"), ("es", 10000, 0, "10.000"),
    ("en", 1234567.891, 2, "1,234,567.89"), ("es", 1234567.891, 2, "1.234.567,89"),
    ("en", 0.5, 1, "0.5"), ("es", 0.5, 1, "0,5"), ("es", -1500, 0, "-1.500"),
])
def test_number(lang, v, decimals, want):
    assert number(lang, v, decimals) == want


def test_percent():
    assert percent("en", 0.771) == "77.10%"
    assert percent("es", 0.771) == "77,10\u00a0%"  # Spanish: a (non-breaking) space before %
    assert percent("es", 0.98765, 1) == "98,8\u00a0%"
    assert percent("en", 1.0, 0) == "100%"


def test_missing_values_are_a_dash():
    for f in (number, percent):
        assert f("es", None) == "–" and f("en", math.nan) == "–"


def test_an_unknown_language_formats_as_english():
    assert number("fr", 3000) == "3,000"
