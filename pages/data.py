"""Data page: choose a source, see the digits, the class balance and a summary."""
import numpy as np
import streamlit as st

from digitlab import data, texts, viz
from pages.common import current_dataset, lang, loads_cache, sample, t, trim_loads, use_dataset

st.title(t("data.title"))
st.caption(t("data.intro"))

SOURCES = ["sample", "csv", "idx", "mnist"]
SRC_LABELS = {s: t(f"data.src.{s}") for s in SOURCES}  # format functions read dicts made in the run
# (AppTest calls a widget's format function outside the run, where the language is unknown)


def source_changed():
    """Choosing the bundled sample uses it at once (the other sources wait for a file or a press)."""
    if st.session_state.get("data_source") == "sample":
        use_dataset(sample())
        st.session_state.pop("data_last_key", None)  # the same upload can be chosen again


if "data_source" not in st.session_state:  # first visit, or back from another page: the source in use
    st.session_state["data_source"] = "sample" if current_dataset() is sample() else st.session_state.get(
        "data_source_in_use", "csv")
src = st.radio(t("data.source"), SOURCES, format_func=SRC_LABELS.get, horizontal=True, key="data_source",
               on_change=source_changed)


def try_load(key, loader, *args):
    """Load once per distinct input; on failure show why and keep the dataset in use.
    The session keeps only a few loads (pages.common.trim_loads), the newest."""
    cache = loads_cache()
    if key in cache:
        cache[key] = cache.pop(key)  # used again: the newest
    else:
        trim_loads(room=1)
        try:
            with st.spinner(t("data.reading")):
                cache[key] = ("ok", loader(*args))
        except data.DataError as e:
            cache[key] = ("error", e)  # said in the language of the page that shows it
    status, value = cache[key]
    if status == "error":
        st.error(t("data.load_error", msg=texts.error_text(lang(), value)))
        st.info(t("data.still_using", name=texts.dataset_name(lang(), current_dataset().name)))
    elif st.session_state.get("data_last_key") != key:
        use_dataset(value)
        st.session_state["data_last_key"] = key
        st.session_state["data_source_in_use"] = key[0]  # what the source radio shows on the next visit
        st.toast(t("data.now_using", name=texts.dataset_name(lang(), value.name)))
    trim_loads()


# The source's own controls sit in one container, so that the elements below keep their place in
# the page whichever source is chosen (a chart that moves is rebuilt by the browser, and was drawn
# at a third of its size).
with st.container():
    if src == "csv":
        f = st.file_uploader(t("data.csv_label"), type=["csv", "gz"], key="data_csv")
        if f is not None:
            try_load(("csv", f.file_id), data.load_kaggle_csv, f)
    elif src == "idx":
        c1, c2 = st.columns(2)
        fi = c1.file_uploader(t("data.idx_images"), key="data_idx_images")
        fl = c2.file_uploader(t("data.idx_labels"), key="data_idx_labels")
        if fi is not None and fl is not None:
            try_load(("idx", fi.file_id, fl.file_id), data.load_idx, fi, fl)
        elif fi is not None or fl is not None:
            st.info(t("data.idx_both"))
    elif src == "mnist":
        split_labels = {s: t(f"data.split.{s}") for s in ("train", "test")}
        split = st.selectbox(t("data.split"), list(split_labels), format_func=split_labels.get, key="data_split")
        if st.button(t("data.load_mnist"), type="primary"):
            loads_cache().pop(("mnist", split), None)  # retry on every press
            try_load(("mnist", split), data.load_mnist, split)

ds = current_dataset()
st.divider()
st.subheader(texts.dataset_name(lang(), ds.name))
st.caption(texts.dataset_name(lang(), ds.source))
counts = ds.class_counts()
c = st.columns(4)
num = lambda v, d=0: texts.number(lang(), v, d)  # noqa: E731 - en 10,000 / es 10.000
c[0].metric(t("data.m.images"), num(len(ds)))
c[1].metric(t("data.m.labelled"), t("data.yes") if ds.has_labels else t("data.no"))
c[2].metric(t("data.m.smallest"), f"{int(np.argmin(counts))} ({num(min(counts))})" if ds.has_labels else "–")
c[3].metric(t("data.m.mean"), f"{num(float(ds.images.mean()), 1)} / 255" if len(ds) else "–")
if not ds.has_labels:
    st.warning(t("data.unlabelled"))

left, right = st.columns([3, 2])
with left:
    opts = ["all"] + (list(range(10)) if ds.has_labels else [])
    k1, k2 = st.columns([2, 1])
    cls_labels = {o: t("data.show.all") if o == "all" else t("data.show.class", d=o) for o in opts}
    cls = k1.selectbox(t("data.show"), opts, format_func=cls_labels.get, key="data_cls")
    if k2.button(t("data.shuffle"), help=t("data.shuffle_help")):
        st.session_state["data_seed"] = st.session_state.get("data_seed", 0) + 1
    pick = data.sample_indices(ds, None if cls == "all" else cls, 40, st.session_state.get("data_seed", 0))
    st.plotly_chart(
        viz.digit_grid(ds.images[pick], None if ds.labels is None else ds.labels[pick],
                       title=t("data.grid_title" if ds.has_labels else "data.grid_title_unlabelled", n=len(pick))),
        width="stretch", config={"displayModeBar": False}, key="data_grid",
    )
with right:
    if ds.has_labels:
        st.plotly_chart(viz.class_balance(counts, title=t("data.balance_title"), x_title=t("viz.digit"), y_title=t("viz.images")), width="stretch",
                        config={"displayModeBar": False}, key="data_balance")
        st.plotly_chart(viz.mean_digits(ds.images, ds.labels, title=t("data.mean_title")), width="stretch",
                        config={"displayModeBar": False}, key="data_means")

with st.expander(t("data.json")):
    st.json(ds.summary())
