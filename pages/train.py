"""Train page: pick a model kind and preset, set hyperparameters, train live, Stop, compare runs."""
import numpy as np
import streamlit as st

from digitlab import live, models, store, training, viz
from pages.common import (current_dataset, dataset_spec, guard, lang, live_component, live_route, mt, sample,
                          stored_models, t, worker)

st.title(t("train.title"))
st.caption(t("train.intro"))

ACTIVE = live.ACTIVE
CHART_CFG = {"displayModeBar": False}


def widget(kind: str, info: dict, key: str):
    """One widget for one config field, from its metadata (range/choices/help)."""
    name, v, help_ = info["name"], info["default"], mt(kind, info["name"])
    label = name.replace("_", " ")
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

kinds = list(models.REGISTRY)
c1, c2 = st.columns([2, 1])
kind = c1.selectbox(t("train.kind"), kinds, format_func=mt, key="train_kind")
mk = models.REGISTRY[kind]
presets = list(mk.presets)
preset = c2.selectbox(t("train.preset"), presets, index=presets.index(mk.default_preset), help=t("train.preset_help"),
                      key=f"train_preset_{kind}")
st.markdown(mt(kind, attr="explanation"))

ds = current_dataset()
with st.form("train_form"):
    st.markdown(f"**{t('train.settings')}**")
    defaults = models.config_for(kind, preset)
    infos = [{**i, "default": getattr(defaults, i["name"])} for i in models.field_info(kind)]
    values = {}
    cols = st.columns(3)
    for n, info in enumerate(infos):
        with cols[n % 3]:
            values[info["name"]] = widget(kind, info, key=f"train_f_{kind}_{preset}_{info['name']}")
    d1, d2, d3 = st.columns([2, 1, 1])
    opts = ["current", "sample"] if ds.has_labels and ds is not sample() else ["sample"]
    which = d1.radio(t("train.data"), opts, key="train_data",
                     format_func=lambda o: t("train.data.current", name=ds.name, n=len(ds)) if o == "current" else t("train.data.sample"))
    name = d2.text_input(t("train.name"), "", help=t("train.name_help"), key="train_name")
    seed = d3.number_input(t("train.seed"), 0, 2**31 - 1, 0, key="train_seed")
    start = st.form_submit_button(t("train.start"), type="primary")
if not ds.has_labels:
    st.info(t("train.unlabelled"))

if start:
    with guard():
        spec = dataset_spec(ds) if which == "current" else "sample"
        try:
            jid = worker().submit(kind, values, data=spec, name=name.strip() or None, seed=int(seed), preset=preset)
        except (models.ConfigError, store.StoreError) as e:
            st.error(t("train.bad_config", msg=e))
        else:
            st.session_state["train_job"] = jid
            st.query_params["job"] = jid

# ------------------------------------------------------------------ the job being watched

# Words this page adds (to move into digitlab/texts with the next edit there).
PAGE_TEXTS = {
    "en": {"train.not_job_id": "The address asks for job= something that is not a job id (ids look like j3-9f1c2a), "
                               "so no job is shown. It was:"},
    "es": {"train.not_job_id": "La dirección pide job= algo que no es un identificador de trabajo (son como "
                               "j3-9f1c2a), así que no se muestra ningún trabajo. Era:"},
}


def pt(key: str) -> str:
    table = PAGE_TEXTS.get(lang(), PAGE_TEXTS["en"])
    return table.get(key) or PAGE_TEXTS["en"][key]


def job_from_address() -> tuple[str | None, bool]:
    """(the job id in the address, or None; was what it held refused?). The address is
    anyone's text: only a well-formed job id is used, and a refused one is shown as plain
    text (st.code), never as Markdown."""
    raw = st.query_params.get("job")
    if not raw:
        return None, False
    if training.is_job_id(raw):
        return raw, False
    st.error(pt("train.not_job_id"))
    st.code(raw if len(raw) <= 200 else raw[:200] + "…", language=None, wrap_lines=True)
    return None, True


jid, refused = job_from_address()
if not refused:
    jid = jid or st.session_state.get("train_job")


fmt_pct = live.fmt_pct


def dark() -> bool:
    return getattr(getattr(st.context, "theme", None), "type", None) == "dark"


def render_job(jid: str):
    try:
        s = worker().status(jid)
    except KeyError:
        st.info(t("train.job_unknown", job=f"`{jid}`"))  # a checked id, as code: plain text
        return
    state = s["state"]
    if state in ACTIVE:  # one HTML block with SVG charts (Plotly redrawn twice a second costs ~0.3 core)
        st.html(live.panel(s, lang(), dark()))
    elif state == "done":
        met = s.get("metrics") or {}
        st.success(t("train.done", model=s["model"], val=fmt_pct(met.get("val_accuracy"))))
        if met.get("test_accuracy") is not None:
            st.caption(t("train.done_test", test=fmt_pct(met["test_accuracy"])))
    elif state == "stopped":
        st.warning(t("train.stopped_kept", model=s["model"]) if s.get("model") else t("train.stopped_none"))
    elif state == "error":
        st.error(t("train.error", msg=s.get("error")))
    if state != "running" and (s["epochs"] or s["batches"]):  # a finished run: interactive Plotly
        labels = live.curve_labels(lang())
        g1, g2 = st.columns(2)
        g1.plotly_chart(viz.training_curve(s["epochs"], s["batches"], metric="loss", title=t("train.loss_title"), labels=labels),
                        config=CHART_CFG, key=f"train_loss_{jid}")
        g2.plotly_chart(viz.training_curve(s["epochs"], s["batches"], metric="accuracy", title=t("train.acc_title"), labels=labels),
                        config=CHART_CFG, key=f"train_acc_{jid}")
    if state not in ACTIVE and st.session_state.get("train_final") != jid:
        st.session_state["train_final"] = jid
        st.rerun(scope="app")  # the job ended: refresh the whole page (Stop button, stored models)


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
                worker().stop(jid)
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
metas = stored_models()
if not metas:
    st.caption(t("train.no_models"))
else:
    names = [m["name"] for m in metas]
    pick = st.multiselect(t("train.compare_pick"), names, default=names[: min(3, len(names))], key="train_compare")
    metric = st.segmented_control(t("train.compare_metric"), ["val_accuracy", "accuracy", "val_loss", "loss"],
                                  default="val_accuracy", key="train_compare_metric") or "val_accuracy"
    runs = {m["name"]: m.get("curves") or {} for m in metas if m["name"] in pick}
    st.plotly_chart(viz.compare_curves(runs, metric=metric, title=t("train.compare_title", metric=metric.replace("_", " ")),
                                       x_title=t("viz.epoch")), config=CHART_CFG)

with st.expander(t("train.jobs")):
    rows = [{"job": j["id"], "model kind": j["kind"], "state": j["state"], "model": j.get("model") or "",
             "val acc": fmt_pct((j.get("metrics") or {}).get("val_accuracy"))} for j in worker().jobs()]
    if rows:
        st.dataframe(rows, hide_index=True)
