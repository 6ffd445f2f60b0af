"""Inspect page: a stored model's weights, layer outputs for one digit, confusion and mistakes, curves."""
import numpy as np
import streamlit as st

from digitlab import data, evaluation, insight, roles, store, texts, viz
from pages.common import current_dataset, error_text, guard, lang, md, model_text, stored_models, t
from pages.explain_view import loaded_models, saliency_view
from pages.finetune_view import finetune_form, finetune_result
from pages.workshop import (drawings_dataset, drawings_scope, enabled, is_instructor, may_manage, owner_label,
                            participant, show_class_toggle, visible)

st.title(t("inspect.title"))
st.caption(t("inspect.intro"))
CFG = {"displayModeBar": False}

show_class = show_class_toggle("inspect_show_class")  # workshop mode: own models + class defaults, or all
metas = visible(stored_models(), show_class)
if not metas:
    st.info(t("inspect.none"))
    st.page_link("pages/train.py", label=t("inspect.go_train"), icon=":material/model_training:")
    st.stop()

names = [m["name"] for m in metas]
by_name = {m["name"]: m for m in metas}
want = st.query_params.get("model")
if want in by_name and st.session_state.get("inspect_model") != want and "inspect_model_set" not in st.session_state:
    st.session_state["inspect_model"] = want
st.session_state["inspect_model_set"] = True


# the labels are made now (a select's format function may be called outside this run, e.g. by AppTest)
labels = {}
for m in metas:
    acc = (m.get("metrics") or {}).get("val_accuracy")
    who = f" — {owner_label(m.get('owner'))}" if enabled() and not roles.is_owner(m, participant()) else ""
    score = f" — {texts.percent(lang(), acc, 1)}" if acc is not None else ""
    labels[m["name"]] = f"{m['name']} — {model_text(m.get('kind', '?'))}{score}{who}"


def _notice(kind: str, msg: str) -> None:
    st.session_state["inspect_notice"] = (kind, msg)


def _rename(old: str) -> None:
    """The Rename form's callback (before the model select is drawn, so it can select the new name)."""
    ss = st.session_state
    new = (ss.get("inspect_new_name") or "").strip()
    try:
        store.rename(old, new, by=participant(), instructor=is_instructor())
    except (roles.RoomError, store.StoreError, OSError) as e:
        _notice("error", error_text(e))
    else:
        ss["inspect_model"] = new
        st.query_params["model"] = new
        _notice("ok", t("inspect.renamed", name=new))


def _delete(name: str) -> None:
    ss = st.session_state
    try:
        store.delete(name, by=participant(), instructor=is_instructor())
    except (roles.RoomError, store.StoreError, OSError) as e:
        _notice("error", error_text(e))
    else:
        ss.pop("inspect_model", None)
        ss["inspect_delete_ok"] = False
        if "model" in st.query_params:
            del st.query_params["model"]
        _notice("ok", t("inspect.deleted", name=name))


notice = st.session_state.pop("inspect_notice", None)
if notice:
    (st.error if notice[0] == "error" else st.success)(notice[1])


if st.session_state.get("inspect_model") not in by_name:
    st.session_state["inspect_model"] = names[0]
name = st.selectbox(t("inspect.model"), names, format_func=labels.get, key="inspect_model")
st.query_params["model"] = name
meta = by_name[name]
try:
    model = store.load(name)
except store.StoreError as e:
    st.error(error_text(e))
    st.stop()

met = meta.get("metrics") or {}
kind_label = model_text(meta.get("kind", "?"))
by = f" · {t('inspect.by', owner=md(owner_label(meta.get('owner'))))}" if enabled() else ""
st.caption(f"{t('inspect.m.kind')}: **{kind_label}** · {texts.dataset_name(lang(), (meta.get('dataset') or {}).get('name', ''))} · "
           f"{str(meta.get('created', ''))[:16].replace('T', ' ')} UTC{by}")  # minutes are enough
if may_manage(meta):
    with st.expander(t("inspect.manage"), icon=":material/edit:"):
        with st.form("inspect_rename_form", border=False):
            st.text_input(t("inspect.rename_to"), key="inspect_new_name", placeholder=name,
                          help=t("train.name_help"))
            st.form_submit_button(t("inspect.rename"), icon=":material/edit:", on_click=_rename, args=(name,))
        st.checkbox(t("inspect.delete_confirm", name=name), key="inspect_delete_ok")
        st.button(t("inspect.delete"), key="inspect_delete", icon=":material/delete:", type="primary",
                  disabled=not st.session_state.get("inspect_delete_ok"), on_click=_delete, args=(name,))
elif roles.is_class_owner(meta.get("owner")):
    st.caption(t("inspect.not_yours_class"))
else:
    st.caption(t("inspect.not_yours", owner=md(owner_label(meta.get("owner")))))
c = st.columns(4)
c[0].metric(t("finetune.m.heldout_acc" if meta.get("finetune") else "inspect.m.val"),
            texts.percent(lang(), met.get("val_accuracy")))  # a fine-tuned copy's validation: its held-out drawings
c[1].metric(t("inspect.m.test"), texts.percent(lang(), met.get("test_accuracy")))
c[2].metric(t("inspect.m.epochs"), meta.get("epochs", "–"))
c[3].metric(t("inspect.m.time"), f"{meta.get('train_seconds', 0):.0f} s")
if model.classes == 2:
    st.info(t("inspect.binary_note"))
with guard():
    finetune_result(meta)  # a fine-tuned copy: before and after, on held-out drawings and the test set
    tune = st.expander(t("finetune.title"), key="inspect_finetune", on_change="rerun", icon=":material/tune:")
    if tune.open:  # closed: no drawings read
        with tune:
            finetune_form(name, meta)

tab_digit, tab_w, tab_cm, tab_curves = st.tabs(
    [t("inspect.tab.digit"), t("inspect.tab.weights"), t("inspect.tab.confusion"), t("inspect.tab.curves")])

# ------------------------------------------------------------------ one digit, layer by layer
with tab_digit, guard():
    ds = current_dataset()
    drawing = st.session_state.get("draw_image")
    sources = ["dataset"] + (["drawing"] if drawing is not None else [])
    src_labels = {"dataset": t("inspect.from.dataset", name=texts.dataset_name(lang(), ds.name)),
                  "drawing": t("inspect.from.drawing")}  # made now: AppTest formats outside the run
    src = st.radio(t("inspect.digit_from"), sources, horizontal=True, key="inspect_src", format_func=src_labels.get)
    if src == "dataset":
        k1, k2 = st.columns([3, 1])
        if k2.button(t("inspect.random"), key="inspect_random"):
            st.session_state["inspect_idx"] = int(np.random.default_rng().integers(len(ds)))
        idx = k1.number_input(t("inspect.index"), 0, len(ds) - 1, 0, key="inspect_idx")
        img = ds.images[int(idx)]
        caption = t("inspect.the_digit", label=int(ds.labels[idx]) if ds.has_labels else "?")
    else:
        img, caption = drawing, t("inspect.the_drawing")
    p = model.predict_proba(img[None])[0]
    left, right = st.columns([1, 2])
    left.plotly_chart(viz.digit_grid(img[None], cols=1, title=caption, width_hint=200), config=CFG, key="inspect_img")
    right.metric(t("inspect.prediction"), str(int(np.argmax(p))))
    right.plotly_chart(viz.prob_bars(p, title=t("inspect.probs"), x_title=t("viz.digit_plain"),
                                     y_title=t("viz.probability")), config=CFG, key="inspect_probs")
    why = st.expander(t("why.inspect_title"), key="inspect_why", on_change="rerun", icon=":material/lightbulb:")
    if why.open:  # closed: nothing computed
        with why:
            every = st.toggle(t("why.all_models"), key="inspect_why_all")
            saliency_view(loaded_models([name] + ([n for n in names if n != name] if every else [])), img,
                          key="inspect_why")
    outs = [o for o in insight.layer_outputs(model, img) if not o.name.startswith(("flatten", "dropout"))]
    if not outs:
        st.caption(t("inspect.no_layers"))
    for i, o in enumerate(outs, 1):
        if o.kind == "maps":
            h, w, ch = o.value.shape
            fig = viz.feature_maps(insight.normalize_maps(o.value), cols=8 if ch <= 32 else 16,
                                   title=t("inspect.layer_maps", i=i, name=o.name, c=ch, h=h, w=w))
        else:
            fig = viz.vector_bars(o.value, title=t("inspect.layer_vector", i=i, name=o.name, n=o.value.size),
                                  x_title=t("viz.unit"), y_title=t("viz.activation"))
        st.plotly_chart(fig, config=CFG, key=f"inspect_layer_{i}")

# ------------------------------------------------------------------ weights
with tab_w, guard():
    wts = insight.first_layer_weights(model)
    if wts is None:
        st.caption(t("inspect.no_weights"))
    elif wts.kind == "conv":
        st.plotly_chart(viz.weight_grid(wts.images, cols=8, title=t("inspect.filters", n=len(wts.images)),
                                        captions=[str(i) for i in range(len(wts.images))], width_hint=420),
                        config=CFG, key="inspect_filters")
    else:
        n = min(64, len(wts.images))
        st.plotly_chart(viz.weight_grid(wts.images[:n], cols=8, title=t("inspect.dense_weights", n=n)), config=CFG,
                        key="inspect_dense_w")


# ------------------------------------------------------------------ confusion and mistakes
@st.cache_data(max_entries=6, show_spinner=False)
def predict_set(name: str, created: str, which: str, _model, drawings_key: tuple, _drawings=None):
    """(images, labels, proba) of an evaluation set (:func:`digitlab.evaluation.predict_set`); cached
    per model and set (the drawings' set by whose they are and their ids: ``drawings_key``)."""
    return evaluation.predict_set(_model, which, by_name[name], _drawings)


with tab_cm, guard():
    mine = drawings_dataset()  # the viewer's saved drawings (the instructor's: everyone's), from the room
    opts = evaluation.available_sets(has_drawings=mine is not None)
    drawings_text = "inspect.eval.class_drawings" if enabled() and drawings_scope() is None else "inspect.eval.drawings"
    n_val = (meta.get("dataset") or {}).get("n_val")  # a model stored without its dataset's meta has none
    words = {"val": lambda: t("inspect.eval.val", n="?" if n_val is None else texts.number(lang(), n_val)),
             "test": lambda: t("inspect.eval.test"), "drawings": lambda: t(drawings_text, n=0 if mine is None else len(mine))}
    eval_labels = {o: words[o]() for o in opts}  # made now, for the options shown (AppTest formats outside the run)
    which = st.radio(t("inspect.eval_on"), opts, horizontal=True, key="inspect_eval", format_func=eval_labels.get)
    try:
        with st.spinner(t("inspect.loading_eval")):
            key = (drawings_scope(), tuple(mine.meta["ids"])) if which == "drawings" and mine is not None else ()
            X, y, P = predict_set(name, str(meta.get("created")), which, model, key, mine)
    except data.DataError as e:
        st.error(t("inspect.eval_error", msg=error_text(e)))
        X = None
    if X is not None:
        k = P.shape[1]
        sc = insight.scores(y, P.argmax(1), k)
        cm = sc["confusion"]
        st.markdown(t("inspect.accuracy_on", acc=texts.percent(lang(), sc["accuracy"]), n=texts.number(lang(), sc["n"])))
        chart_key = f"inspect_cm_{name}_{which}"
        if st.session_state.get("inspect_cm_for") != chart_key:  # new model or set: start at the worst confusion
            st.session_state["inspect_cm_for"] = chart_key
            st.session_state["inspect_true"], st.session_state["inspect_pred"] = insight.worst_confusion(cm) or (0, 0)
        perfect = insight.worst_confusion(cm) is None
        pts = ((st.session_state.get(chart_key) or {}).get("selection") or {}).get("points") or []
        cell = viz.confusion_cell(pts[0]) if pts else None  # a click on the matrix picks the cell
        if cell and all(0 <= c < k for c in cell) and st.session_state.get("inspect_last_click") != (chart_key, cell):
            st.session_state["inspect_last_click"] = (chart_key, cell)
            st.session_state["inspect_true"], st.session_state["inspect_pred"] = cell
        left, right = st.columns([1, 1])
        tr = pr = None
        with right:
            if perfect:  # nothing to pick: only the message (not a "mistakes" grid of right answers)
                st.success(t("inspect.perfect"))
            else:
                s1, s2 = st.columns(2)
                tr = s1.selectbox(t("inspect.true"), list(range(k)), key="inspect_true")
                pr = s2.selectbox(t("inspect.pred"), list(range(k)), key="inspect_pred")
                idx = insight.mistakes(y, P, tr, pr)[:40]
                if len(idx):
                    st.plotly_chart(viz.digit_grid(X[idx], cols=8, captions=[texts.percent(lang(), float(P[i, pr]), 0) for i in idx],
                                                   title=t("inspect.mistakes_title", n=int(cm[tr, pr]), t=tr, p=pr),
                                                   width_hint=420), config=CFG, key="inspect_mistakes")
                else:
                    st.caption(t("inspect.no_mistakes", t=tr, p=pr))
        left.plotly_chart(viz.confusion_matrix(cm, title=t("inspect.cm_title"), x_title=t("inspect.cm_x"),
                                               y_title=t("inspect.cm_y"), selected=None if perfect else (tr, pr),
                                               hover=t("inspect.cm_hover")),
                          config=CFG, key=chart_key, on_select="rerun", selection_mode="points")
        if not perfect and len(idx):  # why was this 4 read as a 9? (closed: nothing computed)
            why = st.expander(t("why.mistake_title"), key="inspect_why_mistake", on_change="rerun",
                              icon=":material/lightbulb:")
            if why.open:
                with why:
                    k = st.number_input(t("why.mistake_pick", n=len(idx)), 1, len(idx), 1, key="inspect_why_mistake_k")
                    saliency_view({name: model}, X[idx[min(int(k), len(idx)) - 1]], key="inspect_why_mistake")

# ------------------------------------------------------------------ training curves
with tab_curves, guard():
    ev = viz.curves_from_meta(meta.get("curves") or {})
    if not ev:
        st.caption(t("inspect.no_curves"))
    else:
        labels = {"train": t("viz.training"), "val": t("viz.validation"), "epoch": t("viz.epoch"),
                  "loss": t("viz.loss"), "accuracy": t("viz.accuracy")}
        g1, g2 = st.columns(2)
        g1.plotly_chart(viz.training_curve(ev, metric="loss", title=t("train.loss_title"), labels=labels), config=CFG,
                        key="inspect_curve_loss")
        g2.plotly_chart(viz.training_curve(ev, metric="accuracy", title=t("train.acc_title"), labels=labels), config=CFG,
                        key="inspect_curve_acc")
