"""Class page (workshop mode; the instructor projects it): the room's numbers and the leaderboard,
refreshing by themselves, then the class's drawings and the best model's confusion on them."""
import streamlit as st

from digitlab import classroom, texts, viz
from pages.common import guard, lang, live_route, md, polled_html, t

CFG = {"displayModeBar": False}
EVERY_S = 4  # the panel's refresh
GRID_MAX = 200  # drawings shown in the grid (the newest)
LANG = lang()


@st.fragment(run_every=EVERY_S)
def panel_fragment() -> None:
    st.html(classroom.panel_html(LANG))


st.title(t("class.title"))
st.caption(t("class.intro"))

with guard():
    if live_route():  # the browser polls the app's class route: no script run per refresh
        p = classroom.panel(LANG)
        polled_html(f"{classroom.ROUTE}?lang={LANG}", p["html"], p["stamp"], every_ms=EVERY_S * 1000,
                    widget_key="class_panel")  # one rerun when drawings or models change
    else:  # no route (e.g. AppTest): a fragment reruns every few seconds
        panel_fragment()

st.divider()
ds, _ = classroom.drawings()
left, right = st.columns(2, gap="large")
with left, guard():
    st.subheader(t("class.drawings_title"))
    if not len(ds):
        st.info(t("class.no_drawings"))
    else:
        idx = classroom.newest_by_digit(ds, GRID_MAX)
        st.plotly_chart(viz.digit_grid(ds.images[idx], ds.labels[idx], cols=12, width_hint=520,
                                       title=t("class.grid_title", shown=len(idx), n=len(ds)) if len(idx) < len(ds)
                                       else t("class.grid_title_all", n=len(ds))),
                        config=CFG, key="class_grid")
        counts = ds.class_counts()
        st.caption(f"{t('class.counts')}: " + " · ".join(f"**{d}**: {texts.number(LANG, int(c))}"
                                                      for d, c in enumerate(counts)))

with right, guard():
    st.subheader(t("class.cm_section"))
    rows = classroom.leaderboard(LANG)
    best = classroom.best_model_confusion(LANG, rows=rows) if rows and len(ds) else None
    if not rows:
        st.info(t("class.no_models"))
    elif not len(ds):
        st.info(t("class.cm_wait"))
    elif best is None:
        st.info(t("class.cm_none"))
    else:
        st.caption(t("class.cm_caption", name=md(best["name"]), owner=md(best["owner_label"]),
                     kind=best["kind_label"], acc=texts.percent(LANG, best["accuracy"]),
                     n=texts.number(LANG, best["n"])))
        st.plotly_chart(viz.confusion_matrix(best["matrix"], title=t("class.cm_title", name=best["name"]),
                                             x_title=t("inspect.cm_x"), y_title=t("inspect.cm_y"),
                                             hover=t("inspect.cm_hover")),
                        config=CFG, key="class_cm")
