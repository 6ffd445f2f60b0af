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


def test_every_model_text_has_a_spanish_translation():
    from digitlab import models
    from digitlab.texts import es_models

    need = set()
    for kind, mk in models.REGISTRY.items():
        need |= {f"kind.{kind}.label", f"kind.{kind}.explanation"}
        need |= {f"field.{kind}.{f.name}" for f in mk.fields()}
    assert not sorted(need - set(es_models.T)), sorted(need - set(es_models.T))
    assert texts.model_text("es", "keras-cnn") == "Red convolucional (Keras)"
    assert texts.model_text("en", "keras-cnn") == models.REGISTRY["keras-cnn"].label
    assert "255" in texts.model_text("es", "sklearn-mlp", "scale_pixels")
