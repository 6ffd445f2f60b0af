import streamlit as st

from pages.common import current_dataset

st.title("DigitLab")
st.markdown(
    "A lab for **understanding and implementing neural networks from scratch** on handwritten "
    "digits. It grows out of the Spanish tutorial *Comprender e implementar redes neuronales "
    "desde cero*: a NumPy network for 0 vs 1, a scikit-learn MLP and a Keras CNN on the Kaggle "
    "*Digit Recognizer* data — done right, with the reasons shown."
)
ds = current_dataset()
st.info(f"Dataset in use: **{ds.name}** — {len(ds):,} images. Explore it on the Data page.")
st.page_link("pages/data.py", label="Explore the data", icon=":material/dataset:")
