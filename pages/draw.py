"""Draw page: a canvas, the MNIST-style preprocessing step by step, every stored model's prediction."""
import numpy as np
import streamlit as st

from digitlab import finetune, insight, preprocess, roles, store, viz
from pages.common import active_jobs, error_text, guard, page_params, stored_models, t
from pages.explain_view import loaded_models, why_section
from pages.workshop import (drawings_scope, enabled, is_instructor, kaggle_csv, may_manage, owner_label,
                            participant, room, show_class_toggle, visible)

st.title(t("draw.title"))
st.caption(t("draw.intro"))
CFG = {"displayModeBar": False}
CANVAS = 280
STORE_CHECK_S = 5  # how often an open Draw page looks for models stored by someone else (see watch_store)
SHOW_DRAWINGS = 24  # the newest saved drawings shown under the canvas (all of them are exported)

show_class = show_class_toggle("draw_show_class")  # workshop mode: own models + class defaults, or all

store_seen = insight.store_fingerprint(store.models_dir())  # the store as this run lists it

# ------------------------------------------------------------------ the canvas's own Undo and Clear
# streamlit-drawable-canvas redraws itself from ``initial_drawing`` whenever that changes (and then
# sends the new drawing back): Undo re-sends the drawing without its last stroke, Clear an empty one.
# A revision number makes every re-send a change (an Undo can give the same strokes as an earlier one).


def _reload_canvas(objects: list) -> None:
    rev = st.session_state.get("draw_rev", 0) + 1
    st.session_state["draw_rev"] = rev
    st.session_state["draw_init"] = {"objects": objects, "digitlabRevision": rev}
    st.session_state["draw_objects"] = objects
    st.session_state["draw_reloaded"] = len(objects)  # this run the canvas's last drawing is not on it any more


def _undo() -> None:
    _reload_canvas(list(st.session_state.get("draw_objects") or [])[:-1])


def _clear() -> None:
    _reload_canvas([])


# The component's own toolbar (undo, redo, reset...) shows only on mouse hover: invisible (yet tappable,
# over the canvas's top-right corner) on a phone, and over the slider above it on a desktop. It lives in
# the component's shadow root, out of reach of the page's CSS: this script adds a rule there.
_NO_TOOLBAR_JS = """
export default function ({ data }) {
  let tries = 0, timer = null;
  const hide = () => {
    let found = false;
    for (const host of document.querySelectorAll(data.hosts)) {
      const root = host.shadowRoot;
      if (!root) continue;
      found = true;
      if (!root.querySelector("style[data-dl-no-toolbar]")) {
        const s = document.createElement("style");
        s.setAttribute("data-dl-no-toolbar", "");
        s.textContent = ".dc-toolbar { display: none !important; }";
        root.appendChild(s);
      }
    }
    if (!found && tries++ < 200) timer = setTimeout(hide, 50);
  };
  hide();
  return () => clearTimeout(timer);
}
"""


@st.cache_resource(show_spinner=False)
def _no_toolbar():
    return st.components.v2.component("digitlab_no_canvas_toolbar", js=_NO_TOOLBAR_JS, isolate_styles=False)


if "draw_canvas" not in st.session_state:  # a new canvas (first visit, or back from another page): empty
    st.session_state.pop("draw_init", None)
    st.session_state["draw_objects"] = []
reloaded = st.session_state.pop("draw_reloaded", None)

left, right = st.columns([1, 1.35])

with left:
    stroke = st.slider(t("draw.stroke"), 8, 40, 20, key="draw_stroke")
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as e:  # noqa: BLE001 - the component cannot load (e.g. outside `streamlit run`)
        st_canvas = None
        st.error(t("draw.bad_image", msg=e))
    result = None
    if st_canvas is not None:
        result = st_canvas(stroke_width=stroke, stroke_color="#ffffff", background_color="#000000",
                           width=CANVAS, height=CANVAS, drawing_mode="freedraw", return_image_data=True,
                           initial_drawing=st.session_state.get("draw_init"), key="draw_canvas")
        if reloaded is None:
            st.session_state["draw_objects"] = list((result.json_data or {}).get("objects") or [])
        row = st.container(horizontal=True, gap="small")
        row.button(t("draw.undo"), key="draw_undo", icon=":material/undo:", on_click=_undo,
                   disabled=not st.session_state["draw_objects"])
        row.button(t("draw.clear"), key="draw_clear", icon=":material/delete:", on_click=_clear)
        with row:
            _no_toolbar()(data={"hosts": ".st-key-draw_canvas [data-testid=stBidiComponentIsolated]"},
                          key="draw_no_toolbar", width="content", height="content")
        st.caption(t("draw.canvas_help"))


def canvas_pixels(result):
    """The canvas RGBA array (None before the first stroke is sent)."""
    if result is None:
        return None
    try:
        return result.image_data
    except Exception:  # noqa: BLE001 - no drawing sent yet
        return None


steps = None
with guard():
    # after Clear (or an Undo of the only stroke) the canvas is empty at once; after an Undo that leaves
    # strokes, its new drawing arrives with the next run (the canvas sends it as soon as it has redrawn)
    px = None if reloaded == 0 else canvas_pixels(result)
    if px is not None:
        try:
            steps = preprocess.preprocess(px)
        except preprocess.EmptyDrawing:
            steps = None
        except preprocess.PreprocessError as e:
            st.error(t("draw.bad_image", msg=e))


def render_drawing(steps, px):
    """Sliders, every model's answer, the preprocessing steps and saving, for a non-empty drawing."""
    # ------------------------------------------------------------------ what-if sliders
    with left.expander(t("draw.whatif")):
        st.caption(t("draw.whatif_help"))
        dx = st.slider(t("draw.dx"), -8, 8, 0, key="draw_dx")
        dy = st.slider(t("draw.dy"), -8, 8, 0, key="draw_dy")
        angle = st.slider(t("draw.angle"), -60, 60, 0, step=5, key="draw_angle")
        thicken = st.slider(t("draw.thicken"), 0, 3, 0, key="draw_thicken")
    image = preprocess.transform(steps.image, dx=dx, dy=dy, angle=angle, thicken=thicken)
    st.session_state["draw_image"] = image  # "my last drawing" on the Inspect page (kept when Draw is left)

    # ------------------------------------------------------------------ predictions
    good = []  # the models that answered (none without models)
    with right:
        st.subheader(t("draw.predictions"))
        metas = visible(stored_models(), show_class)
        if not metas:
            jobs = active_jobs()
            st.info(t("draw.training_defaults", what=", ".join(j["name"] or j["kind"] for j in jobs)) if jobs else t("draw.no_models"))
        else:
            answers = insight.predict_all([m["name"] for m in metas], image, store.load)
            good = [a for a in answers if "error" not in a]
            for a in answers:
                if "error" in a:
                    st.warning(t("draw.model_error", name=a["name"], msg=a["error"]))
            cols = st.columns(min(3, max(1, len(good))))
            for i, a in enumerate(good):
                cols[i % len(cols)].metric(a["name"], str(a["digit"]),
                                           help=t("draw.binary_only") if a["classes"] == 2 else None)
            if good:
                st.plotly_chart(viz.prob_matrix([a["name"] for a in good], np.stack([a["proba"] for a in good]),
                                                title=t("draw.prob_title"), x_title=t("draw.prob_x")), config=CFG, key="draw_probs")

    # ------------------------------------------------------------------ why? (closed: nothing computed)
    if good:
        with guard():
            why_section(loaded_models([a["name"] for a in good]), image, key="draw_why")

    # ------------------------------------------------------------------ the preprocessing, step by step
    st.subheader(t("draw.steps"))
    pics = viz.small_images([steps.ink, steps.cropped, steps.fitted, steps.pasted, image, preprocess.naive_resize(px)], 112)
    st.image(pics, caption=[t("draw.step.ink"), t("draw.step.crop"), t("draw.step.fit"), t("draw.step.paste"),
                            t("draw.step.final"), t("draw.step.naive")], width=112)

    st.subheader(t("draw.save"))
    s1, s2 = st.columns([1, 1])
    label = s1.selectbox(t("draw.true_label"), list(range(10)), index=None, key="draw_label", placeholder="0-9")
    if s2.button(t("draw.save_button"), disabled=label is None, key="draw_save", type="primary"):
        try:  # kept on the server with its author (None in single-user mode): reloads and restarts keep it
            room().save_drawing(participant() or None, image.copy(), int(label))
        except roles.RoomError as e:
            st.error(error_text(e))
        else:
            st.toast(t("draw.saved", label=label, n=sum(room().counts_per_digit(participant()))))


if steps is None:  # "draw_image", the last drawing, stays for the Inspect page
    with right:
        st.info(t("draw.empty"), icon=":material/draw:")
else:
    render_drawing(steps, px)

# ------------------------------------------------------------------ my drawings (in the room's database)


def _delete_drawing(drawing_id: int) -> None:
    try:
        room().delete_drawing(drawing_id, by=participant(), instructor=is_instructor())
    except roles.RoomError as e:
        st.session_state["draw_notice"] = ("error", error_text(e))
    else:
        st.session_state["draw_notice"] = ("ok", t("draw.deleted"))


def _forget_mine() -> None:
    for r in room().drawings(participant()):  # one's own only (single-user mode: every drawing)
        try:
            room().delete_drawing(r["id"], by=participant(), instructor=is_instructor())
        except roles.RoomError:
            pass  # deleted meanwhile


def my_drawings_section() -> None:
    """The viewer's saved drawings (the instructor: everyone's), newest first, with Delete,
    the Kaggle CSV export and "Forget my drawings"."""
    scope = drawings_scope()
    rows = room().drawings(scope)
    n = len(rows)
    st.markdown(t("draw.all_drawings", n=n) if enabled() and scope is None else t("draw.mine", n=n))
    st.caption(t("draw.mine_help") + " " + t("draw.kept"))
    if enabled():
        st.info(t("ws.drawings_shared"), icon=":material/groups:")
    notice = st.session_state.pop("draw_notice", None)
    if notice:
        (st.error if notice[0] == "error" else st.toast)(notice[1])
    if not rows:
        return
    newest = rows[::-1][:SHOW_DRAWINGS]
    pics = viz.small_images([r["image"] for r in newest], 56)
    grid = st.container(horizontal=True, gap="small", key="draw_mine_grid")
    for r, pic in zip(newest, pics):
        cell = grid.container(width=64, gap=None, horizontal_alignment="center")
        who = f" · {owner_label(r['owner'])}" if enabled() and scope is None else ""  # plain text: a caption
        cell.image(pic, caption=f"{r['label']}{who}", width=56)
        if may_manage(r["owner"]):
            cell.button("", icon=":material/close:", key=f"draw_del_{r['id']}", help=t("draw.delete_one"),
                        type="tertiary", on_click=_delete_drawing, args=(r["id"],))
    if n > len(newest):
        st.caption(t("draw.newest", k=len(newest), n=n))
    own = n if scope == participant() else sum(room().counts_per_digit(participant()))
    c1, c2 = st.columns([1, 1])
    file_name = "class_drawings.csv" if enabled() and scope is None else "my_drawings.csv"
    c1.download_button(t("draw.download"), kaggle_csv(scope), file_name=file_name, mime="text/csv", key="draw_download",
                       icon=":material/download:", on_click="ignore")
    if own:
        with c2.popover(t("draw.clear_mine"), icon=":material/delete:"):
            st.button(t("draw.clear_mine_confirm", n=own), key="draw_clear_mine", type="primary",
                      on_click=_forget_mine)
    if n >= finetune.MIN_TRAIN + finetune.MIN_HELDOUT and store_seen:  # enough to fine-tune a stored model on
        st.caption(t("finetune.after_draw", n=n))
        st.page_link("pages/inspect.py", label=t("finetune.go_inspect"), icon=":material/tune:",
                     query_params=page_params())


with guard():
    my_drawings_section()


# ------------------------------------------------------------------ models stored by someone else


@st.fragment(run_every=STORE_CHECK_S)
def watch_store(seen: tuple) -> None:
    """Every STORE_CHECK_S seconds, while the page is open: rerun the page when the model store's
    fingerprint differs from the one this page was drawn with (a model stored, replaced or deleted
    by anyone). The check costs one scandir and a stat per model (about 0.1 ms for 24 models); with the
    fragment's round trip, an idle open Draw page cost the server about 1 ms of CPU per second more than
    an idle Home page (4 tabs, 40 s, this 2-core machine): ~5% of a core for 40 participants. Nothing is
    drawn; the page reruns only on a change."""
    if insight.store_fingerprint(store.models_dir()) != seen:
        st.rerun()


watch_store(store_seen)
