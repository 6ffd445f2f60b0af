import string

from digitlab import texts


def fields(s):
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def test_both_languages_have_every_key_with_the_same_fields():
    en, es = texts.keys("en"), texts.keys("es")
    assert en == es, (sorted(en - es), sorted(es - en))
    for k in en:
        assert fields(texts.text("en", k)) == fields(texts.text("es", k)), k


def test_text_lookup_and_fallback():
    assert texts.text("es", "data.title") == "Datos"
    assert texts.text("xx", "data.title") == "Data"  # unknown language: English
    assert "7" in texts.text("en", "data.show.class", d=7)
