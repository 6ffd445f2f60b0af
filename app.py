"""DigitLab: `streamlit run app.py`. Only a router (pages live in pages/) and the language choice."""
import streamlit as st

from digitlab.texts import LANGS, text
from pages.common import start_defaults_if_needed

st.set_page_config(page_title="DigitLab", page_icon=":material/draw:", layout="wide")

lang = st.sidebar.selectbox(text("en", "sidebar.language"), list(LANGS), format_func=LANGS.get, key="lang")
PAGES = [  # (file, text key, icon)
    ("pages/home.py", "nav.home", ":material/home:"),
    ("pages/data.py", "nav.data", ":material/dataset:"),
    ("pages/train.py", "nav.train", ":material/model_training:"),
    ("pages/inspect.py", "nav.inspect", ":material/biotech:"),
    ("pages/draw.py", "nav.draw", ":material/draw:"),
    ("pages/learn.py", "nav.learn", ":material/school:"),
]
start_defaults_if_needed()
pages = [st.Page(f, title=text(lang, k), icon=i, default=(n == 0)) for n, (f, k, i) in enumerate(PAGES)]
page = st.navigation(pages)
try:
    page.run()
except Exception as e:  # last line of defence: a reason on the page, the traceback in the server log
    import sys
    import traceback

    traceback.print_exc(file=sys.stderr)
    st.error(text(lang, "common.error", msg=f"{type(e).__name__}: {e}"))
