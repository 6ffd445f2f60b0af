"""The "Why?" views of the Draw and Inspect pages (issue 17): which pixels made each answer, a nudge
that changes it, the map of a model's last hidden layer. Widgets and rendering only; the computing
is :mod:`digitlab.explain` and :mod:`digitlab.explain_viz`. Nothing here runs unless its section
is open (the callers put it in a lazy ``st.expander``/``st.tabs``), and what runs is cached:

* the saliency maps per (image, digit, models) in ``st.cache_data`` (shared by every session: 40
  people drawing the same digit... rarely, but a rerun of one page always hits);
* a nudge only on the Nudge button, its result kept in the session for that drawing and settings;
* the embedding map once per model and projection in the library's cache, the digits to map once
  per server (``st.cache_resource``).
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from digitlab import embedding, explain, explain_viz, texts
from digitlab.saliency import reading_text
from pages.common import error_text, lang, md, t

CFG = {"displayModeBar": False}
MAX_MODELS = 6  # models explained side by side (the first ones of the page's list)
COLUMNS = 3  # per row on a desktop (a phone stacks them)
MAP_DIGITS = 2000
TSNE_SECONDS = 8  # t-SNE of 2,000 digits on this 2-core server: 4.4 s (an MLP) to 7.4 s (the CNN, a page run) measured
STEPS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1]
BOUNDS = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]


def image_key(image) -> str:
    """A short fingerprint of one image (what the caches and a kept nudge are keyed by)."""
    a = np.ascontiguousarray(image)
    return hashlib.blake2b(a.tobytes() + str((a.dtype, a.shape)).encode(), digest_size=12).hexdigest()


def models_key(models: dict) -> tuple:
    """The models' identities (name, creation time, weights' checksum): a retrained model is a new key."""
    return tuple(embedding.model_key(m) for m in models.values())


def loaded_models(names: list[str]) -> dict:
    """{name: stored model} of ``names`` (the store's cached loads); a model that cannot be loaded is
    left out with a warning."""
    from digitlab import store

    out = {}
    for n in names:
        try:
            out[n] = store.load(n)
        except (store.StoreError, OSError) as e:
            st.warning(t("draw.model_error", name=n, msg=error_text(e)))
    return out


def _flat_error(e: BaseException) -> tuple:
    return getattr(e, "code", None), dict(getattr(e, "params", {}) or {}), f"{type(e).__name__}: {e}"


def _error_words(err: tuple) -> str:
    code, params, fallback = err
    return texts.error_message(lang(), code, params, fallback)


@st.cache_data(max_entries=64, show_spinner=False)
def _explained(img_key: str, digit, keys: tuple, _image, _models: dict) -> dict:
    """:func:`digitlab.explain_viz.explain_models`, cached per (image, digit, models); errors as
    (code, params, text) so the entry pickles."""
    out = explain_viz.explain_models(_models, _image, digit)
    return {n: ({"error": _flat_error(v["error"])} if "error" in v else v) for n, v in out.items()}


def side_by_side(found: dict, words):
    """Each model's entry of ``found`` ({name: dict}) in its column, COLUMNS to a row (a phone stacks
    them): yields (i, name, entry) with the column open; an entry with an "error" is its warning
    (``words(error)``) instead."""
    cols = st.columns(min(COLUMNS, max(1, len(found))))
    for i, (name, v) in enumerate(found.items()):
        with cols[i % len(cols)]:
            if "error" in v:
                st.warning(t("draw.model_error", name=name, msg=words(v["error"])))
                continue
            yield i, name, v


def _first(models: dict) -> dict:
    if len(models) > MAX_MODELS:
        st.caption(t("why.first_models", k=MAX_MODELS, n=len(models)))
    return dict(list(models.items())[:MAX_MODELS])


def _digit_choice(key: str):
    """The digit whose probability is explained: None (each model's own answer) or 0-9."""
    labels = {None: t("why.own_answer"), **{d: t("why.digit_option", digit=d) for d in range(10)}}
    return st.selectbox(t("why.explain_digit"), list(labels), key=key, format_func=labels.get)


def saliency_view(models: dict, image, *, key: str) -> None:
    """Every model's saliency of ``image`` side by side, one kind of map for all (chosen here): a
    heading (its answer), the map, the reading."""
    models = _first(models)
    c1, c2 = st.columns([1, 1])
    with c1:
        digit = _digit_choice(f"{key}_digit")
    shown = {m: t(f"why.panel.{m}") for m in explain_viz.MAPS}  # labels made now (AppTest formats outside the run)
    which = c2.radio(t("why.show"), list(shown), horizontal=True, key=f"{key}_map", format_func=shown.get)
    what = t("why.what_answer") if digit is None else t("why.what_digit", digit=digit)
    st.caption(t(f"why.caption.{which}", what=what))
    found = _explained(image_key(image), digit, models_key(models), image, models)
    for i, name, v in side_by_side(found, _error_words):
        s = v["saliency"]
        p = texts.percent(lang(), float(s.proba[s.answer if digit is None else digit]), 0)
        st.markdown(t("why.head", name=md(name), answer=s.answer, p=p) if digit is None else
                    t("why.head_digit", name=md(name), answer=s.answer, digit=digit, p=p))
        values = explain_viz.saliency_values(v, which)
        if values is None:
            st.caption(t("why.no_cam"))
        else:
            st.plotly_chart(explain_viz.saliency_figure(s.image, values, cam=which == "cam", hover=t("why.hover")),
                            config=CFG, key=f"{key}_sal_{i}")
        st.caption(reading_text(lang(), v["reading"]))


# ------------------------------------------------------------------ the nudge


def nudge_view(models: dict, image, *, key: str) -> None:
    """Step, bound and target; the Nudge button; the kept result for this drawing and these settings."""
    models = _first(models)
    st.caption(t("why.nudge.intro"))
    c1, c2, c3 = st.columns(3)
    step = c1.select_slider(t("why.nudge.step"), STEPS, value=0.01, key=f"{key}_step")
    eps = c2.select_slider(t("why.nudge.eps"), BOUNDS, value=0.3, key=f"{key}_eps")
    towards = {None: t("why.nudge.any"), **{d: str(d) for d in range(10)}}
    target = c3.selectbox(t("why.nudge.target"), list(towards), key=f"{key}_target", format_func=towards.get)
    sig = (image_key(image), models_key(models), step, eps, target)
    if st.button(t("why.nudge.button"), key=f"{key}_go", type="primary", icon=":material/bolt:"):
        with st.spinner(t("why.nudge.running")):
            try:
                st.session_state[f"{key}_result"] = (sig, explain_viz.nudge_each(models, image, step=step, eps=eps,
                                                                                  target=target))
            except explain.ExplainError as e:
                st.session_state[f"{key}_result"] = (sig, e)
    kept = st.session_state.get(f"{key}_result")
    if not kept or kept[0] != sig:  # another drawing or other settings: the old result does not apply
        st.info(t("why.nudge.press"), icon=":material/bolt:")
        return
    found = kept[1]
    if isinstance(found, Exception):
        st.error(error_text(found))
        return
    titles = {"difference": t("why.nudge.difference")}
    for i, name, v in side_by_side(found, error_text):
        if "already" in v:
            st.warning(t("why.nudge.already", name=name, digit=v["already"]))
            continue
        n = v["nudge"]
        st.metric(t("why.nudge.new_answer", name=name), f"{n.original} → {n.digit}" if n.success else str(n.digit),
                  delta=t("why.nudge.size", linf=texts.number(lang(), n.linf, 2), steps=n.steps), delta_color="off",
                  delta_arrow="off")
        st.plotly_chart(explain_viz.nudge_figure(n, titles={**titles, "nudged": t("why.nudge.nudged", digit=n.digit)}),
                        config=CFG, key=f"{key}_nudge_{i}")
        st.caption(reading_text(lang(), n.reading()))
    if any("nudge" in v for v in found.values()):
        st.caption(t("why.nudge.caption"))


# ------------------------------------------------------------------ the embedding map


@st.cache_resource(show_spinner=False)
def map_digits():
    """The digits every map shows (images, labels, from the official test set?), read once per server."""
    from digitlab import evaluation

    images, labels, _ = embedding.map_digits(MAP_DIGITS)
    return images, labels, evaluation.official_test_path() is not None


def map_view(models: dict, image, *, key: str) -> None:
    """A model and a projection; the map of its last hidden layer with the drawing's star; the clicked digit."""
    names = list(models)
    if st.session_state.get(f"{key}_model") not in names:  # a model deleted or hidden since: the first one
        st.session_state.pop(f"{key}_model", None)
    c1, c2 = st.columns([2, 1])
    name = c1.selectbox(t("why.map.model"), names, key=f"{key}_model")
    methods = {m: t(f"explain.map.{m}") for m in embedding.METHODS}
    method = c2.radio(t("why.map.method"), list(methods), horizontal=True, key=f"{key}_method", format_func=methods.get)
    model = models[name]
    images, labels, from_test = map_digits()
    wait = t("why.map.wait_tsne", n=texts.number(lang(), len(images)), s=TSNE_SECONDS) if method == "tsne" else \
        t("why.map.wait_pca", n=texts.number(lang(), len(images)))
    try:
        with st.spinner(wait):
            emb = explain.embedding(model, images, labels, method=method)
    except explain.ExplainError as e:
        st.warning(t("draw.model_error", name=name, msg=error_text(e)))
        return
    star = None if image is None else explain.project(emb, model, image)
    st.caption(t("why.map.intro", n=texts.number(lang(), len(images)), source=t("why.map.source_test" if from_test else "why.map.source_sample"),
                 model=md(name), h=emb.activations.shape[1]))
    if method == "tsne":
        st.caption(t("why.map.tsne_note"))
    if image is None:
        st.caption(t("why.map.no_drawing"))
    chart_key = f"{key}_map_{name}_{method}"
    pts = ((st.session_state.get(chart_key) or {}).get("selection") or {}).get("points") or []
    chosen = next((i for i in map(explain_viz.clicked_index, pts) if i is not None and i < len(images)), None)
    title = t("explain.map.title", model=name, method=t(f"explain.map.{method}"))
    left, right = st.columns([3, 1])
    left.plotly_chart(explain_viz.map_figure(emb, star, lang=lang(), title=title, chosen=chosen,
                                             chosen_name=t("why.map.ring")),
                      config=CFG, key=chart_key, on_select="rerun", selection_mode="points")
    with right:
        if chosen is None:
            st.caption(t("why.map.click_hint"))
        else:
            answer = explain_viz.answer_of(model, images[chosen])
            text = t("why.map.clicked", index=chosen, label=int(labels[chosen]), name=md(name), answer=answer)
            st.plotly_chart(explain_viz.digit_figure(images[chosen], title=""), config=CFG, key=f"{key}_clicked")
            st.markdown(text)


# ------------------------------------------------------------------ the section


def why_section(models: dict, image, *, key: str) -> None:
    """The Draw page's "Why?": a lazy expander (closed: nothing computed) holding three lazy tabs."""
    box = st.expander(t("why.title"), key=key, on_change="rerun", icon=":material/lightbulb:")
    if not box.open:
        return
    with box:
        pixels, push, where = st.tabs([t("why.tab.pixels"), t("why.tab.nudge"), t("why.tab.map")], key=f"{key}_tab",
                                      on_change="rerun")
        if pixels.open:
            with pixels:
                saliency_view(models, image, key=f"{key}_px")
        if push.open:
            with push:
                nudge_view(models, image, key=f"{key}_nudge")
        if where.open:
            with where:
                map_view(models, image, key=f"{key}_map")
