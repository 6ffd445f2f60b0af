"""DigitLab: `streamlit run app.py`. Only a router (pages live in pages/)."""
import streamlit as st

st.set_page_config(page_title="DigitLab", page_icon=":material/draw:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
]
st.navigation(pages).run()
