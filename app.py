"""DigitLab: `streamlit run app.py`. Only a router (pages live in pages/) and the language choice.

Started by ``streamlit run``, this file is two things. Imported as a module (``__name__`` is
"app"), it is the ASGI app: ``st.App`` with one extra route, the live view of a training job
as HTML, which the Train page's browser component polls instead of rerunning the script twice
a second. Run as the app's script (``__main__``: every rerun, and in AppTest), it is the router.
"""
import streamlit as st


def language(langs: dict) -> str:
    """The sidebar's language select, kept in the address (``?lang=es``) so that a reload, a new
    tab and a shared link keep it. A new session starts from the address; the choice is written
    back on every run, because Streamlit drops the address's parameters on a page switch
    (https://docs.streamlit.io/develop/api-reference/caching-and-state/st.query_params). English,
    the default, leaves the address clean."""
    from digitlab.texts import text

    if "lang" not in st.session_state:
        asked = st.query_params.get("lang")
        st.session_state["lang"] = asked if asked in langs else "en"
    lang = st.sidebar.selectbox(text("en", "sidebar.language"), list(langs), format_func=langs.get, key="lang")
    if lang == "en":
        if "lang" in st.query_params:
            del st.query_params["lang"]
    elif st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang
    return lang


def router() -> None:
    from digitlab.roles import workshop_enabled
    from digitlab.texts import LANGS, text
    from pages.common import guard, start_defaults_if_needed

    st.set_page_config(page_title="DigitLab", page_icon=":material/draw:", layout="wide")

    lang = language(LANGS)
    pages = [  # (file, text key, icon)
        ("pages/home.py", "nav.home", ":material/home:"),
        ("pages/data.py", "nav.data", ":material/dataset:"),
        ("pages/train.py", "nav.train", ":material/model_training:"),
        ("pages/inspect.py", "nav.inspect", ":material/biotech:"),
        ("pages/draw.py", "nav.draw", ":material/draw:"),
        *([("pages/class.py", "nav.class", ":material/groups:")] if workshop_enabled() else []),
        ("pages/learn.py", "nav.learn", ":material/school:"),
    ]
    start_defaults_if_needed()
    nav = [st.Page(f, title=text(lang, k), icon=i, default=(n == 0)) for n, (f, k, i) in enumerate(pages)]
    page = st.navigation(nav)
    from pages.workshop import gate

    gate()  # workshop mode: a display name first (stops the page until one is claimed)
    with guard():  # last line of defence: a reason on the page, the traceback in the server log
        page.run()


if __name__ == "__main__":
    router()
else:  # imported by the ASGI server: the app, with the live route (`streamlit run` finds `app = st.App(...)`)
    import os

    from starlette.routing import Route

    from digitlab import classroom, live, training

    os.environ["DIGITLAB_LIVE_ROUTE"] = live.ROUTE  # pages/train.py mounts the polling component
    app = st.App(__file__, routes=[Route(live.ROUTE, live.endpoint), Route(classroom.ROUTE, classroom.endpoint)],
                 lifespan=training.server_lifespan)
