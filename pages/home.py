import streamlit as st

from pages.common import current_dataset, t

st.title(t("home.title"))
st.markdown(t("home.intro"))
ds = current_dataset()
st.info(t("home.dataset", name=ds.name, n=len(ds)))
st.page_link("pages/data.py", label=t("home.go_data"), icon=":material/dataset:")
