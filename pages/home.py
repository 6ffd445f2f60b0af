"""Home: what DigitLab is, a workshop path, the default models' state, the tutorial's results next to ours."""
import streamlit as st

from digitlab import defaults, results, texts
from pages.common import active_jobs, current_dataset, lang, model_text, page_params, stored_models, t

st.title(t("home.title"))
st.markdown(t("home.intro"))
ds = current_dataset()
st.info(t("home.dataset", name=texts.dataset_name(lang(), ds.name), n=texts.number(lang(), len(ds))))

left, right = st.columns([1, 1])
with left:
    st.subheader(t("home.path_title"))
    st.markdown(t("home.path"))
    steps = st.container(horizontal=True, gap="small")  # the five steps, in the sidebar's order (app.py)
    for page, key, icon in [("pages/data.py", "nav.data", ":material/dataset:"),
                            ("pages/train.py", "nav.train", ":material/model_training:"),
                            ("pages/inspect.py", "nav.inspect", ":material/biotech:"),
                            ("pages/draw.py", "nav.draw", ":material/draw:"),
                            ("pages/learn.py", "nav.learn", ":material/school:")]:
        steps.page_link(page, label=t(key), icon=icon, query_params=page_params())  # keeps the language


with right:
    st.subheader(t("home.defaults_title"))
    st.caption(t("home.defaults_help"))
    metas = stored_models()
    table = "| {} | {} | {} |\n|---|---|---|\n".format(t("home.col.model"), t("home.col.state"), t("home.col.acc"))
    for d in defaults.default_model_states(active_jobs(), metas):
        met = (d["meta"] or {}).get("metrics") or {}
        val, test = (texts.percent(lang(), met.get(k), 1) for k in ("val_accuracy", "test_accuracy"))
        state = t(f"home.state.{d['state']}")
        table += f"| **{d['name']}**<br>{model_text(d['kind'])} | {state} | {val} / {test} |\n"  # 3 columns: 4 did not fit 390 px
    st.markdown(table, unsafe_allow_html=True)
    others = defaults.other_models(metas)
    st.caption(t("home.stored", n=len(metas)) + (": " + ", ".join(others[:8]) if others else ""))

st.subheader(t("home.seed_title"))
st.caption(t("home.seed_intro"))
table = "| {} | {} | {} | {} |\n|---|---|---|---|\n".format(
    t("home.col.what"), t("home.col.seed"), t("home.col.ours"), t("home.col.why"))
for key, seed, ours, _bench in results.SEED_VS_DIGITLAB:
    seed = t(f"home.row.{key}.seed")  # the tutorial's figure, in words of the chosen language
    table += f"| {t(f'home.row.{key}')} | {seed} | **{t(f'home.row.{key}.ours')}** | {t(f'home.row.{key}.why')} |\n"
st.markdown(table)
