"""Data page: choose a source, see the digits, the class balance and a summary."""
import numpy as np
import streamlit as st

from digitlab import data, viz
from pages.common import current_dataset, sample, use_dataset

st.title("Data")
st.caption(
    "Every model in DigitLab trains on the dataset chosen here. The bundled sample (the first 10,000 "
    "MNIST training digits) works offline; a Kaggle *Digit Recognizer* CSV or an MNIST IDX pair can be "
    "uploaded; full MNIST (60,000 digits) downloads when there is a network."
)

SOURCES = {
    "sample": "Bundled sample (10k)",
    "csv": "Kaggle CSV",
    "idx": "MNIST IDX pair",
    "mnist": "Full MNIST",
}
src = st.radio("Source", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="data_source")


def try_load(key, loader, *args):
    """Load once per distinct input; on failure show why and keep the dataset in use."""
    cache = st.session_state.setdefault("data_loaded", {})
    if key not in cache:
        try:
            with st.spinner("Reading…"):
                cache[key] = ("ok", loader(*args))
        except data.DataError as e:
            cache[key] = ("error", str(e))
    status, value = cache[key]
    if status == "error":
        st.error(f"Could not load this data: {value}")
        st.info(f"Still using **{current_dataset().name}**.")
    elif st.session_state.get("data_last_key") != key:
        use_dataset(value)
        st.session_state["data_last_key"] = key
        st.toast(f"Now using {value.name}")


if src == "sample":
    if current_dataset() is not sample():
        if st.button("Use the bundled sample", type="primary"):
            use_dataset(sample())
            st.session_state.pop("data_last_key", None)
elif src == "csv":
    f = st.file_uploader(
        "Kaggle CSV: train.csv (label,pixel0..pixel783) or test.csv (pixels only)",
        type=["csv"], key="data_csv",
    )
    if f is not None:
        try_load(("csv", f.file_id), data.load_kaggle_csv, f)
elif src == "idx":
    c1, c2 = st.columns(2)
    fi = c1.file_uploader("Images (…-images-idx3-ubyte[.gz])", key="data_idx_images")
    fl = c2.file_uploader("Labels (…-labels-idx1-ubyte[.gz])", key="data_idx_labels")
    if fi is not None and fl is not None:
        try_load(("idx", fi.file_id, fl.file_id), data.load_idx, fi, fl)
    elif fi is not None or fl is not None:
        st.info("Upload both files of the pair.")
elif src == "mnist":
    split = st.selectbox("Split", ["train", "test"], format_func=lambda s: {"train": "training (60,000)", "test": "test (10,000)"}[s])
    if st.button("Load full MNIST", type="primary"):
        st.session_state.get("data_loaded", {}).pop(("mnist", split), None)  # retry on every press
        try_load(("mnist", split), data.load_mnist, split)

ds = current_dataset()
st.divider()
st.subheader(ds.name)
st.caption(ds.source)
counts = ds.class_counts()
c = st.columns(4)
c[0].metric("Images", f"{len(ds):,}")
c[1].metric("Labelled", "yes" if ds.has_labels else "no")
c[2].metric("Smallest class", f"{int(np.argmin(counts))} ({min(counts):,})" if ds.has_labels else "–")
c[3].metric("Mean pixel", f"{ds.images.mean():.1f} / 255" if len(ds) else "–")
if not ds.has_labels:
    st.warning("This file has no labels (a Kaggle test.csv): models can predict it, but not train or be scored on it.")

left, right = st.columns([3, 2])
with left:
    opts = ["all"] + (list(range(10)) if ds.has_labels else [])
    k1, k2 = st.columns([2, 1])
    cls = k1.selectbox("Show digits", opts, format_func=lambda o: "of every class" if o == "all" else f"labelled {o}", key="data_cls")
    if k2.button("Shuffle", help="Draw another random set of digits"):
        st.session_state["data_seed"] = st.session_state.get("data_seed", 0) + 1
    pool = np.arange(len(ds)) if cls == "all" else np.flatnonzero(ds.labels == cls)
    rng = np.random.default_rng(st.session_state.get("data_seed", 0))
    pick = np.sort(rng.choice(pool, size=min(40, len(pool)), replace=False)) if len(pool) else pool
    st.plotly_chart(
        viz.digit_grid(ds.images[pick], None if ds.labels is None else ds.labels[pick], title=f"{len(pick)} random digits with their labels"),
        width="stretch", config={"displayModeBar": False},
    )
with right:
    if ds.has_labels:
        st.plotly_chart(viz.class_balance(counts, title="Class balance: images per digit"), width="stretch",
                        config={"displayModeBar": False})
        st.plotly_chart(viz.mean_digits(ds.images, ds.labels), width="stretch", config={"displayModeBar": False})

with st.expander("Summary as JSON (what `python -m digitlab info --json` prints)"):
    st.json(ds.summary())
