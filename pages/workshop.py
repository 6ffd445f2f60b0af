"""Workshop mode in the pages (Streamlit-side; the rules live in :mod:`digitlab.room`).

Every page asks this module who is using it:

* :func:`participant` - the display name this browser claimed (None in single-user mode);
* :func:`is_instructor` - True once the instructor key was given in the sidebar (single-user
  mode: always True, the one user runs the room);
* :func:`gate` - app.py's router calls it before ``page.run()``: in workshop mode it asks for
  a name on the first visit and stops the page until one is claimed.

The name and a random seat token (``secrets.token_urlsafe(8)``, one per browser session) are
kept in the address (``?name=Ana&seat=...``) so that a reload or a second tab keeps the name:
the room lets the same seat claim its name again. The instructor key is never kept: only the
boolean "this session gave the right key" lives in ``st.session_state``.
"""
from __future__ import annotations

import io
import re
import secrets
import time

import streamlit as st

from digitlab import data, roles, room as roomlib, states
from pages.common import error_text, md, t

SEAT_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
TOUCH_EVERY_S = 60.0  # how often a run refreshes the name's "last seen" (the hold is 30 min)
SS_NAME, SS_SEAT, SS_INSTRUCTOR, SS_TOUCHED = "ws_name", "ws_seat", "ws_instructor", "ws_touched"


# ------------------------------------------------------------------ the room and who is here


def enabled() -> bool:
    """Workshop mode (``DIGITLAB_WORKSHOP=1`` at the server's start)."""
    return roles.workshop_enabled()


@st.cache_resource(show_spinner=False, max_entries=8)
def _room_at(path: str) -> roomlib.Room:
    return roomlib.Room(path)


def room() -> roomlib.Room:
    """The room's database (``$DIGITLAB_HOME/room.sqlite3``), opened once per server."""
    return _room_at(str(roomlib.default_path()))


def participant() -> str | None:
    """This browser's display name in workshop mode; None in single-user mode (or before the gate)."""
    if not enabled():
        return None
    return st.session_state.get(SS_NAME)


def is_instructor() -> bool:
    """Single-user mode: True (the one user acts as the instructor). Workshop mode: True once
    this session gave the instructor key (kept as this boolean only)."""
    if not enabled():
        return True
    return st.session_state.get(SS_INSTRUCTOR) is True


def visible(metas: list[dict], show_class: bool) -> list[dict]:
    """The stored models this viewer sees: their own and the class defaults, or all with
    ``show_class`` (single-user mode: all)."""
    if not enabled():
        return list(metas)
    return roles.visible_models(metas, participant(), show_class=show_class)


def show_class_toggle(key: str) -> bool:
    """The "Show the class's models" switch (workshop mode only; off at first). The choice is
    carried from page to page (a widget's own state is dropped when its page is left)."""
    if not enabled():
        return True
    ss = st.session_state
    if key not in ss:
        ss[key] = bool(ss.get("ws_show_class", False))
    value = st.toggle(t("ws.show_class"), key=key, help=t("ws.show_class_help"))
    ss["ws_show_class"] = value
    return value


def owner_label(owner) -> str:
    """Who made a model or a drawing, for a label: the name, or "class default"."""
    return t("ws.owner_class") if roles.is_class_owner(owner) else str(owner)


def may_manage(meta_or_owner) -> bool:
    """May this viewer rename/delete/stop it (:func:`digitlab.room.can_manage`)?"""
    if not enabled():
        return True
    return roles.can_manage(meta_or_owner, participant(), instructor=is_instructor())


def drawings_scope() -> str | None:
    """Whose drawings this viewer lists: their own (a participant), or everyone's (the
    instructor; single-user mode, where drawings have no owner). None means everyone's."""
    return participant() if enabled() and not is_instructor() else None


def drawings_dataset():
    """The viewer's drawings (:func:`drawings_scope`) as a Dataset, or None when there are none."""
    ds = room().drawings_dataset(drawings_scope())
    return ds if len(ds) else None


def kaggle_csv(owner=None):
    """A function giving the drawings of ``owner`` (None: all) as a Kaggle CSV, for a
    download button (called only when the button is pressed)."""
    r = room()

    def make() -> str:
        buf = io.StringIO()
        data.write_kaggle_csv(r.drawings_dataset(owner), buf)
        return buf.getvalue()

    return make


# ------------------------------------------------------------------ jobs


def _cleared() -> dict:
    return _cleared_state()


@st.cache_resource(show_spinner=False)
def _cleared_state() -> dict:
    """Server-wide: when the instructor last cleared the room (finished jobs before it are hidden)."""
    return {"at": 0.0}


def visible_jobs(worker) -> list[dict]:
    """The jobs this viewer sees in lists: a participant their own, the instructor (and single
    user) all; finished jobs from before the instructor's last "Clear the room" are left out."""
    at = _cleared()["at"]
    jobs = worker.jobs(visible_to=participant(), instructor=is_instructor())
    return [j for j in jobs if states.is_active(j) or (j.get("submitted") or 0) >= at]


# ------------------------------------------------------------------ the gate


def _seat() -> str:
    """This browser session's seat token: from the address (a reload, a second tab), else new."""
    ss = st.session_state
    if SS_SEAT not in ss:
        asked = st.query_params.get("seat")
        ss[SS_SEAT] = asked if isinstance(asked, str) and SEAT_RE.fullmatch(asked) else secrets.token_urlsafe(8)
    return ss[SS_SEAT]


def _claim(name: str) -> str | None:
    """Claim ``name`` for this seat; the error's text on a refusal (kept for the form)."""
    try:
        p = room().claim_name(name, _seat())
    except roles.RoomError as e:
        return error_text(e)
    ss = st.session_state
    ss[SS_NAME], ss[SS_TOUCHED] = p.name, time.monotonic()
    return None


def _keep_in_address() -> None:
    """Write the name and the seat back into the address (Streamlit drops the address's
    parameters on a page switch)."""
    qp = st.query_params
    for k, v in (("name", st.session_state[SS_NAME]), ("seat", st.session_state[SS_SEAT])):
        if qp.get(k) != v:
            qp[k] = v


def _touch() -> None:
    """Keep the name held: refresh its "last seen" at most every TOUCH_EVERY_S (one small write).
    A name taken over after a long absence is claimed again, or the gate asks for a new one."""
    ss = st.session_state
    now = time.monotonic()
    if now - ss.get(SS_TOUCHED, 0.0) < TOUCH_EVERY_S:
        return
    ss[SS_TOUCHED] = now
    if room().touch(_seat()):
        return
    name = ss.pop(SS_NAME)
    if _claim(name) is not None:  # someone else holds it now
        ss["ws_name_lost"] = name


def _name_form() -> None:
    ss = st.session_state
    st.title(t("ws.gate_title"))
    st.markdown(t("ws.gate_intro"))
    lost = ss.pop("ws_name_lost", None)
    if lost:
        st.warning(t("ws.name_lost", name=md(lost)))
    if "ws_name_input" not in ss and st.query_params.get("name"):
        ss["ws_name_input"] = str(st.query_params.get("name"))[:64]
    with st.form("ws_name_form"):
        st.text_input(t("ws.name_label"), key="ws_name_input", max_chars=roles.NAME_MAX + 8,
                      help=t("ws.name_help", max=roles.NAME_MAX), autocomplete="nickname")
        go = st.form_submit_button(t("ws.join"), type="primary")
    if go:
        err = _claim(ss.get("ws_name_input") or "")
        if err is None:
            _keep_in_address()
            st.rerun()
        ss["ws_gate_error"] = err
    if ss.get("ws_gate_error"):
        st.error(ss["ws_gate_error"])


def gate() -> None:
    """Workshop mode: the name on the first visit (the page stops until one is claimed), the
    name and seat kept in the address, the sidebar's "You are" and Instructor box. Single-user
    mode: nothing."""
    if not enabled():
        return
    ss = st.session_state
    _seat()
    if ss.get(SS_NAME) is None and "ws_tried_address" not in ss:
        ss["ws_tried_address"] = True  # a reload or a second tab: the address's name, silently
        asked = st.query_params.get("name")
        if asked:
            err = _claim(asked)
            if err is not None:
                ss["ws_gate_error"] = err
    if ss.get(SS_NAME) is not None:
        _touch()
    if ss.get(SS_NAME) is None:
        _name_form()
        st.stop()
    ss.pop("ws_gate_error", None)
    _keep_in_address()
    st.sidebar.markdown(t("ws.you_are", name=md(ss[SS_NAME])))
    with st.sidebar.expander(t("ws.instructor"), icon=":material/school:"):
        if is_instructor():
            instructor_controls()
        else:
            _key_form()


# ------------------------------------------------------------------ the instructor


def _check_key() -> None:
    """The key form's callback: remember only whether the key was right, never the key."""
    ss = st.session_state
    given = ss.get("ws_key_input") or ""
    ss["ws_key_input"] = ""  # the widget forgets it too
    if roles.instructor_key_ok(given):
        ss[SS_INSTRUCTOR] = True
        ss.pop("ws_key_refused", None)
    else:
        ss["ws_key_refused"] = True
    del given


def _key_form() -> None:
    ss = st.session_state
    with st.form("ws_key_form", clear_on_submit=True, border=False):
        st.text_input(t("ws.key"), type="password", key="ws_key_input", autocomplete="off")
        st.form_submit_button(t("ws.key_enter"), on_click=_check_key)
    if ss.get("ws_key_refused"):
        wait = roles.key_locked_for()
        st.error(t("ws.key_locked", s=int(wait) + 1) if wait > 0 else t("ws.key_wrong"))


def _leave() -> None:
    st.session_state[SS_INSTRUCTOR] = False


def _set_paused(value: bool) -> None:
    room().set_paused(value)


def _stop_job() -> None:
    from digitlab import training

    jid, w = st.session_state.get("ws_stop_pick"), training.current_worker()
    if not jid or w is None:
        return
    try:
        w.stop(jid, by=participant(), instructor=is_instructor())
    except KeyError:
        pass  # ended and forgotten meanwhile
    st.session_state["ws_notice"] = t("ws.stop_sent", job=jid)


def _clear() -> None:
    """The instructor's "Clear the room" (:func:`digitlab.classroom.clear_room`); finished jobs
    from before it are hidden from the lists (:func:`visible_jobs`)."""
    from digitlab import classroom

    m, d = classroom.clear_room(room(), by=participant())
    _cleared()["at"] = time.time()
    st.session_state["ws_clear_ok"] = False
    st.session_state["ws_notice"] = t("ws.cleared", models=m, drawings=d)


def instructor_controls() -> None:
    """The instructor's box (workshop mode): pause/resume new training, stop any job, export
    every drawing, clear the room."""
    from pages.common import model_text

    ss = st.session_state
    r = room()
    st.success(t("ws.is_instructor"))
    notice = ss.pop("ws_notice", None)
    if notice:
        st.info(notice)
    # pause / resume
    if r.paused():
        st.markdown(t("ws.paused_state"))
        st.button(t("ws.resume"), key="ws_resume", icon=":material/play_arrow:", on_click=_set_paused, args=(False,))
    else:
        st.markdown(t("ws.open_state"))
        st.button(t("ws.pause"), key="ws_pause", icon=":material/pause:", on_click=_set_paused, args=(True,))
    # stop any job
    from digitlab import training

    w = training.current_worker()
    active = [j for j in (w.jobs(instructor=True) if w is not None else []) if states.is_active(j)]
    st.markdown(f"**{t('ws.stop_any')}**")
    if not active:
        st.caption(t("ws.no_active"))
    else:
        labels = {j["id"]: t("ws.job_label", job=j["id"], owner=owner_label(j.get("owner")), kind=model_text(j["kind"]),
                             state=t(f"train.state.{j['state']}")) for j in active}
        if ss.get("ws_stop_pick") not in labels:
            ss["ws_stop_pick"] = next(iter(labels))
        st.selectbox(t("ws.stop_pick"), list(labels), format_func=labels.get, key="ws_stop_pick")
        st.button(t("ws.stop_button"), key="ws_stop", icon=":material/stop:", on_click=_stop_job)
    # export every drawing
    n = sum(r.counts_per_digit())
    st.download_button(t("ws.export_all", n=n), kaggle_csv(None), file_name="class_drawings.csv", mime="text/csv",
                       key="ws_export", disabled=n == 0, icon=":material/download:", on_click="ignore")
    # clear the room
    st.markdown(f"**{t('ws.clear_title')}**")
    st.checkbox(t("ws.clear_confirm"), key="ws_clear_ok")
    st.button(t("ws.clear_button"), key="ws_clear", type="primary", icon=":material/delete_sweep:",
              disabled=not ss.get("ws_clear_ok"), on_click=_clear)
    st.button(t("ws.key_leave"), key="ws_leave", type="tertiary", on_click=_leave)
