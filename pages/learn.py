import streamlit as st

from pages.common import t

st.title(t("learn.title"))
