"""Session state shared by the pages (Streamlit-side; the library knows nothing of it)."""
from __future__ import annotations

import streamlit as st

from digitlab import data, texts


def _leave_legacy_pages_mode() -> None:
    """Streamlit runs the very first script run of a fresh server in the legacy
    ``pages/`` mode (each file as its own page, app.py skipped) until some run has
    called ``st.navigation``. A page then finds itself running alone: switch the
    flag off and rerun, so app.py's router (layout, page list) takes over."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # internal module moved: nothing to fix
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()


@st.cache_resource(show_spinner=False)
def sample() -> data.Dataset:
    """The bundled sample, loaded once per server (read-only arrays)."""
    return data.load_sample()


def current_dataset() -> data.Dataset:
    """The dataset in use in this session (the bundled sample until another loads)."""
    if "dataset" not in st.session_state:
        st.session_state["dataset"] = sample()
    return st.session_state["dataset"]


def use_dataset(ds: data.Dataset) -> None:
    st.session_state["dataset"] = ds


def lang() -> str:
    return st.session_state.get("lang", "en")


def t(key: str, **fields) -> str:
    """The text ``key`` in the language chosen in the sidebar."""
    return texts.text(lang(), key, **fields)
