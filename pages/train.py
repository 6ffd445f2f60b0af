"""Train page: pick a model kind and preset, set hyperparameters, train live, Stop, compare runs."""
import numpy as np
import streamlit as st

from digitlab import costs, errors, live, models, states, store, texts, training, viz
from pages.common import (current_dataset, dataset_spec, error_text, failure_text, guard, lang, live_component,
                          live_route, md, model_text, page_params, sample, setting_label, stored_models, t, worker)
from pages.finetune_view import finetune_result
from pages.workshop import enabled, is_instructor, participant, room, visible, visible_jobs

st.title(t("train.title"))
st.caption(t("train.intro"))
if enabled() and not is_instructor() and room().paused():  # workshop mode: the instructor paused new training
    st.warning(t("ws.paused_banner"), icon=":material/pause_circle:")

ACTIVE = states.ACTIVE
CHART_CFG = {"displayModeBar": False}


LANG = lang()  # this run's language, bound into format functions (AppTest calls them outside the run)


def field_key(kind: str, preset: str, name: str) -> str:
    return f"train_f_{kind}_{preset}_{name}"


def widget(kind: str, info: dict, key: str):
    """One widget for one config field, from its metadata (label/range/choices/help): a human
    label, and the field's name (as the CLI and the store know it) at the start of the help."""
    name, v = info["name"], info["default"]
    label, help_ = setting_label(kind, name), f"`{name}`: {model_text(kind, name)}"
    if "choices" in info:
        return st.selectbox(label, info["choices"], index=info["choices"].index(v), help=help_, key=key)
    if info["type"] == "bool":
        return st.toggle(label, value=bool(v), help=help_, key=key)
    if info.get("kind") == "layers":
        return st.text_input(label, ",".join(map(str, v)), help=help_, key=key)
    lo, hi = info["range"]
    if info.get("log"):
        grid = sorted({float(f"{x:.0e}") for x in np.geomspace(lo, hi, 40)} | {float(v)})
        return st.select_slider(label, grid, value=float(v), format_func=lambda x: f"{x:g}", help=help_, key=key)
    if info["type"] == "int":
        return st.number_input(label, int(lo), int(hi), int(v), step=int(info.get("step", 1)), help=help_, key=key)
    return st.slider(label, float(lo), float(hi), float(v), step=float(info.get("step", 0.01)), help=help_, key=key)


# ------------------------------------------------------------------ the form

def preset_label(p: str, la: str = LANG) -> str:
    try:
        return texts.text(la, f"train.preset.{p}")
    except KeyError:  # a preset without a text yet: its name
        return p


def name_in_use(name: str) -> bool:
    """Is ``name`` a stored model's, or the name a queued or running job will save under?"""
    return store.exists(name) or any(j["name"] == name and j["state"] in ACTIVE for j in worker().jobs(instructor=True))


def start(kind: str, preset: str, infos: list[dict], spec_of) -> None:
    """The Start button's callback (it runs before the page is drawn, so it may clear the Name
    field): queue the job from the form's values, or keep a message (and the name) to show why not."""
    ss = st.session_state
    values = {i["name"]: ss.get(field_key(kind, preset, i["name"]), i["default"]) for i in infos}
    name = (ss.get("train_name") or "").strip() or None
    ss.pop("train_start_error", None)
    try:
        if name is not None:
            store.check_name(name)
            if name_in_use(name):  # said now, not after the training
                ss["train_start_error"] = t("train.name_taken", name=name)
                return
        jid = worker().submit(kind, values, data=spec_of(ss.get("train_data", "sample")), name=name,
                              seed=int(ss.get("train_seed", 0)), preset=preset, owner=participant(),
                              instructor=is_instructor())
    except PermissionError as e:  # workshop mode: paused by the instructor, or this person's job is still on
        ss["train_start_error"] = error_text(e)
    except store.ModelExistsError:  # taken meanwhile (the worker checks too)
        ss["train_start_error"] = t("train.name_taken", name=name)
    except (models.ConfigError, store.StoreError) as e:
        ss["train_start_error"] = t("train.bad_config", msg=error_text(e))
    except errors.DigitLabError as e:  # workshop mode: over the room's budget (it says what fits)
        ss["train_start_error"] = error_text(e)
    except Exception as e:  # noqa: BLE001 - e.g. the worker cannot start: the reason, not a traceback
        ss["train_start_error"] = failure_text(e)
    else:
        ss["train_job"] = jid
        st.query_params["job"] = jid
        ss["train_name"] = ""  # the next run gets a name of its own


kinds = list(models.REGISTRY)
c1, c2 = st.columns([2, 1])
kind = c1.selectbox(t("train.kind"), kinds, format_func=lambda k: texts.model_text(LANG, k), key="train_kind")
mk = models.REGISTRY[kind]
presets = list(mk.presets)
first = "workshop" if enabled() and "workshop" in presets else mk.default_preset  # a room: the preset that fits
preset = c2.selectbox(t("train.preset"), presets, index=presets.index(first), help=t("train.preset_help"),
                      format_func=preset_label, key=f"train_preset_{kind}")
st.markdown(model_text(kind, attr="explanation"))

ds = current_dataset()
with st.form("train_form"):
    st.markdown(f"**{t('train.settings')}**")
    defaults = models.config_for(kind, preset)
    infos = [{**i, "default": getattr(defaults, i["name"])} for i in models.field_info(kind)]
    cols = st.columns(3)
    for n, info in enumerate(infos):
        with cols[n % 3]:
            widget(kind, info, key=field_key(kind, preset, info["name"]))
    d1, d2, d3 = st.columns([2, 1, 1])
    opts = ["current", "sample"] if ds.has_labels and ds is not sample() else ["sample"]
    current_label = t("train.data.current", name=ds.name, n=texts.number(LANG, len(ds)))
    sample_label = t("train.data.sample")
    d1.radio(t("train.data"), opts, key="train_data",
             format_func=lambda o: current_label if o == "current" else sample_label)
    d2.text_input(t("train.name"), "", help=t("train.name_help"), key="train_name")
    d3.number_input(t("train.seed"), 0, 2**31 - 1, 0, key="train_seed")
    st.form_submit_button(t("train.start"), type="primary", on_click=start,
                          args=(kind, preset, infos, lambda o: dataset_spec(ds) if o == "current" else "sample"))
if "train_start_error" in st.session_state:
    st.error(st.session_state.pop("train_start_error"))
if enabled() and not is_instructor():
    st.caption(t("train.budget", budget=texts.number(LANG, costs.job_budget_s())))
if not ds.has_labels:
    st.info(t("train.unlabelled"))

# ------------------------------------------------------------------ the job being watched

def job_from_address() -> tuple[str | None, bool]:
    """(the job id in the address, or None; was what it held refused?). The address is
    anyone's text: only a well-formed job id is used, and a refused one is shown as plain
    text (st.code), never as Markdown."""
    raw = st.query_params.get("job")
    if not raw:
        return None, False
    if training.is_job_id(raw):
        return raw, False
    st.error(t("train.not_job_id"))
    st.code(raw if len(raw) <= 200 else raw[:200] + "…", language=None, wrap_lines=True)
    return None, True


jid, refused = job_from_address()
if not refused:
    jid = jid or st.session_state.get("train_job")


def dark() -> bool:
    return getattr(getattr(st.context, "theme", None), "type", None) == "dark"


def render_job(jid: str):
    try:
        s = worker().status(jid)
    except KeyError:
        st.info(t("train.job_unknown", job=f"`{jid}`"))  # a checked id, as code: plain text
        return
    state = s["state"]
    ft = s.get("finetune")
    if ft:  # a fine-tuning job (Inspect's "Fine-tune a copy")
        st.markdown(t("finetune.job", base=md(ft.get("base")), n=ft.get("n_drawings"), heldout=ft.get("n_heldout")))
    if state in ACTIVE:  # one HTML block with SVG charts (Plotly redrawn twice a second costs ~0.3 core)
        st.html(live.panel(s, lang(), dark()))
    elif state == states.DONE:
        met = s.get("metrics") or {}
        st.success(t("train.done", model=s["model"], val=texts.percent(LANG, met.get("val_accuracy"))))
        if met.get("test_accuracy") is not None:
            st.caption(t("train.done_test", test=texts.percent(LANG, met["test_accuracy"])))
    elif state == states.STOPPED:
        met = s.get("metrics") or {}
        st.warning(t("train.stopped_kept", model=s["model"], val=texts.percent(LANG, met.get("val_accuracy")))
                   if s.get("model") else t("train.stopped_none"))
    elif state == states.ERROR:
        code = s.get("error_code")
        if s.get("name") and code in store.ModelExistsError.CODES:  # the name was taken while it trained
            st.error(t("train.failed_name_taken", name=s["name"]))
        else:
            st.error(t("train.error", msg=texts.error_message(LANG, code, s.get("error_params"), s.get("error"))))
    if state in (states.DONE, states.STOPPED) and s.get("model"):
        if ft and store.exists(s["model"]):
            finetune_result(store.load_meta(s["model"]))
        next_steps(s["model"])
    if state != states.RUNNING and (s["epochs"] or s["batches"]):  # a finished run: interactive Plotly
        labels = live.curve_labels(lang(), finetune=bool(ft))
        g1, g2 = st.columns(2)
        g1.plotly_chart(viz.training_curve(s["epochs"], s["batches"], metric="loss", title=t("train.loss_title"), labels=labels),
                        config=CHART_CFG, key=f"train_loss_{jid}")
        g2.plotly_chart(viz.training_curve(s["epochs"], s["batches"], metric="accuracy", title=t("train.acc_title"), labels=labels),
                        config=CHART_CFG, key=f"train_acc_{jid}")
    if state not in ACTIVE and st.session_state.get("train_final") != jid:
        st.session_state["train_final"] = jid
        st.rerun(scope="app")  # the job ended: refresh the whole page (Stop button, stored models)


def next_steps(model: str) -> None:
    """A finished run's next steps: this model on Inspect (selected there) or on Draw."""
    row = st.container(horizontal=True)  # buttons as wide as their words, side by side when they fit
    if row.button(t("train.go_inspect"), icon=":material/biotech:", key="train_go_inspect"):
        st.session_state["inspect_model"] = model  # Inspect's model select, set before it is drawn
        st.switch_page("pages/inspect.py", query_params=page_params(model=model))
    if row.button(t("train.go_draw"), icon=":material/draw:", key="train_go_draw"):
        st.switch_page("pages/draw.py", query_params=page_params())


live_fragment = st.fragment(run_every=0.5)(render_job)
if jid:
    with guard():
        try:
            status = worker().status(jid)
        except KeyError:
            status = None
        if status is not None and status["state"] in ACTIVE:
            st.session_state.pop("train_final", None)
            if st.button(t("train.stop"), type="secondary", icon=":material/stop:", key="train_stop"):
                try:  # workshop mode: only the job's owner or the instructor (room.NotAllowedError)
                    worker().stop(jid, by=participant(), instructor=is_instructor())
                except PermissionError:
                    st.error(t("ws.stop_refused"))
            if live_route():  # the browser polls the app's live route: no script run per update
                live_component(jid, lang(), dark(), live.panel(status, lang(), dark()))
            else:  # no route (e.g. AppTest): a fragment reruns twice a second
                live_fragment(jid)
        else:
            st.session_state["train_final"] = jid
            render_job(jid)

# ------------------------------------------------------------------ compare stored runs

st.divider()
st.subheader(t("train.compare"))
metas = visible(stored_models(), st.session_state.get("ws_show_class", False))  # workshop: own + class defaults
if not metas:
    st.caption(t("train.no_models"))
else:
    names = [m["name"] for m in metas]
    newest = names[: min(3, len(names))]
    ss = st.session_state
    chosen = ss.get("train_compare")
    if chosen is None or chosen == ss.get("train_compare_auto"):  # untouched by the user: follow the newest runs
        ss["train_compare"] = newest
    else:
        ss["train_compare"] = [n for n in chosen if n in names]  # a deleted model leaves the selection
    ss["train_compare_auto"] = newest
    pick = st.multiselect(t("train.compare_pick"), names, key="train_compare")
    metric_names = {m: t(f"train.metric.{m}") for m in ("val_accuracy", "accuracy", "val_loss", "loss")}
    metric = st.segmented_control(t("train.compare_metric"), list(metric_names), format_func=metric_names.get,
                                  default="val_accuracy", key="train_compare_metric") or "val_accuracy"
    curves = {m["name"]: m.get("curves") or {} for m in metas if m["name"] in pick}
    drawable = {n: c for n, c in curves.items() if any(v is not None for v in c.get(metric) or [])}
    what = metric_names[metric]
    st.plotly_chart(viz.compare_curves(drawable, metric=metric, title=t("train.compare_title", metric=what),
                                       x_title=t("viz.epoch"),
                                       y_title=what + (" (%)" if metric.endswith("accuracy") else "")),
                    config=CHART_CFG, key="train_compare_chart")
    missing = [n for n in pick if n not in drawable]
    if missing:
        st.caption(t("train.compare_missing", metric=what, names=", ".join(f"`{n}`" for n in missing)))

with st.expander(t("train.jobs")):
    rows = [{t("train.col.job"): j["id"], t("train.col.kind"): model_text(j["kind"]),
             t("train.col.state"): t(f"train.state.{j['state']}"), t("train.col.model"): j.get("model") or "",
             t("train.col.val"): texts.percent(LANG, (j.get("metrics") or {}).get("val_accuracy"))} for j in visible_jobs(worker())]
    if rows:
        st.dataframe(rows, hide_index=True)
