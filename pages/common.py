"""Session state shared by the pages (Streamlit-side; the library knows nothing of it)."""
from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback

import streamlit as st

from digitlab import data, roles, states, texts


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


# What one session keeps of the datasets it loaded (uploads, full MNIST) in ``data_loaded``,
# the Data page's cache of loads (key -> ("ok", Dataset) | ("error", DataError), oldest first):
MAX_KEPT_DATASETS = 2  # datasets held, the one in use included (the shared sample is not counted)
MAX_KEPT_BYTES = 200 * 2**20  # their images and labels together (the one in use is kept whatever its size)
MAX_KEPT_ERRORS = 8  # remembered failed loads (so a bad file is not parsed again on every rerun)


def _nbytes(ds: data.Dataset) -> int:
    return ds.images.nbytes + (0 if ds.labels is None else ds.labels.nbytes)


def loads_cache() -> dict:
    return st.session_state.setdefault("data_loaded", {})


def trim_loads(room: int = 0) -> None:
    """Forget the oldest loads until the datasets this session holds (the cached ones and
    the one in use) are at most ``MAX_KEPT_DATASETS - room`` and ``MAX_KEPT_BYTES``. The
    dataset in use is never forgotten; ``room=1`` makes space before a new load."""
    cache = loads_cache()
    cur = st.session_state.get("dataset")
    errors = [k for k, (status, _) in cache.items() if status != "ok"]
    for k in errors[: max(0, len(errors) - MAX_KEPT_ERRORS)]:
        del cache[k]

    def held() -> list[data.Dataset]:
        found = {id(v): v for status, v in cache.values() if status == "ok"}
        if cur is not None and cur is not sample():
            found[id(cur)] = cur
        return list(found.values())

    for k in [k for k, (status, v) in cache.items() if status == "ok" and v is not cur]:  # oldest first
        h = held()
        if len(h) <= max(1, MAX_KEPT_DATASETS - room) and sum(map(_nbytes, h)) <= MAX_KEPT_BYTES:
            break
        del cache[k]


def lang() -> str:
    return st.session_state.get("lang", "en")


def t(key: str, **fields) -> str:
    """The text ``key`` in the language chosen in the sidebar."""
    return texts.text(lang(), key, **fields)


def model_text(kind: str, setting: str | None = None, attr: str = "label") -> str:
    """A model kind's label/explanation or a setting's help, in the chosen language."""
    try:
        return texts.model_text(lang(), kind, setting, attr)
    except Exception:  # noqa: BLE001 - an unknown kind in an old stored model
        return kind if setting is None else ""


def setting_label(kind: str, setting: str) -> str:
    """A setting's short human label in the chosen language: the field's ``label`` metadata
    (English, :mod:`digitlab.models`) or ``label.<kind>.<setting>`` of ``texts/es_models.py``."""
    from digitlab import models

    try:
        english = next(f for f in models.get_kind(kind).fields() if f.name == setting).metadata.get("label")
    except (StopIteration, models.ConfigError):
        english = None
    english = english or setting.replace("_", " ")
    if lang() == "es":
        return texts.es_models.T.get(f"label.{kind}.{setting}", english)
    return english


def page_params(**extra) -> dict:
    """Query parameters for a link or page switch inside the app: the language (when not the
    default) and ``extra``. Streamlit drops the address's parameters on a page switch."""
    out = {"lang": lang()} if lang() != "en" else {}
    out.update({k: str(v) for k, v in extra.items() if v is not None})
    return out


def md(s) -> str:
    """A participant's text (a name, an owner's or a model's) as literal Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>])", r"\\\1", str(s))


# ------------------------------------------------------------------ errors on a page: one wording, one guard


def error_text(e: BaseException) -> str:
    """What a library error says in the chosen language: a refusal from the room
    (:class:`digitlab.room.RoomError`) its ``ws.err.<reason>`` text, a coded
    :class:`digitlab.errors.DigitLabError` its ``err.<code>`` (:func:`digitlab.texts.error_text`),
    anything else ``str(e)``."""
    if isinstance(e, roles.RoomError):
        try:
            return t(f"ws.err.{e.reason}", name=getattr(e, "name", ""), max=roles.NAME_MAX)
        except KeyError:
            pass
    return texts.error_text(lang(), e)


def failure_text(e: BaseException) -> str:
    """An unexpected exception for the page ("Something went wrong: <type>: <message>"), its
    traceback written to the server log (never shown on the page)."""
    traceback.print_exception(e, file=sys.stderr)
    return t("common.error", msg=f"{type(e).__name__}: {e}")


@contextlib.contextmanager
def guard():
    """The pages' one error guard: an exception in the block is shown as ``st.error`` with its
    reason (:func:`failure_text`), the rest of the page still runs. Streamlit's rerun/stop
    signals (BaseExceptions) pass through. app.py's router runs every page inside one."""
    try:
        yield
    except Exception as e:  # noqa: BLE001
        st.error(failure_text(e))


def worker():
    """The trainer worker process shared by every session of this server (started on first use)."""
    from digitlab import training

    return training.get_worker()


def stored_models() -> list[dict]:
    """Metadata of every stored model, newest first (unreadable entries skipped)."""
    from digitlab import store

    try:
        return store.list_models()
    except (OSError, store.StoreError):
        return []


def dataset_spec(ds: data.Dataset) -> str:
    """A data spec the worker process can load: 'sample', or the dataset saved once for it
    (:func:`digitlab.store.save_dataset`)."""
    from digitlab import store

    return "sample" if ds is sample() else store.save_dataset(ds)


def active_jobs() -> list[dict]:
    """Queued and running jobs, without starting the worker if nothing started it yet."""
    from digitlab import training

    w = training.current_worker()
    if w is None:
        return []
    return [j for j in w.jobs() if states.is_active(j)]


_defaults_checked = False


def start_defaults_if_needed() -> None:
    """At the server's first run: an empty store (and defaults not disabled) starts the
    worker, which queues the default models, so drawing works without training by hand."""
    global _defaults_checked
    if _defaults_checked:
        return
    _defaults_checked = True
    from digitlab import store, training

    try:
        if training.defaults_enabled() and store.is_empty():
            worker()
    except Exception:  # noqa: BLE001 - the app runs without default models
        traceback.print_exc(file=sys.stderr)


# ------------------------------------------------------------------ the live view without reruns

LIVE_ENV = "DIGITLAB_LIVE_ROUTE"  # set by app.py when it serves digitlab.live.ROUTE (st.App)

_LIVE_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let box = parentElement.querySelector(".dl-poll");
  if (!box) {
    box = document.createElement("div");
    box.className = "dl-poll";
    parentElement.appendChild(box);
  }
  box.innerHTML = data.html;
  let stopped = false, timer = null, last = data.html;
  async function tick() {
    if (stopped) return;
    try {
      const r = await fetch(data.url, { cache: "no-store" });
      if (r.ok) {
        const j = await r.json();
        if (j.html && j.html !== last) { box.innerHTML = j.html; last = j.html; }
        if (j.key !== undefined && j.key !== data.key) {  // the job ended, the class changed: one rerun
          stopped = true;
          setTriggerValue("changed", j.key);
          return;
        }
      }
    } catch (e) { /* the server restarts or the network blinks: try again */ }
    timer = setTimeout(tick, data.every_ms);
  }
  timer = setTimeout(tick, data.every_ms);
  return () => { stopped = true; clearTimeout(timer); };
}
"""
_live_component = None


def live_route() -> bool:
    """Does this server answer digitlab.live.ROUTE (the app runs as st.App)?"""
    return bool(os.environ.get(LIVE_ENV))


def polled_html(url: str, html: str, key: str, *, every_ms: int, widget_key: str):
    """An HTML block the browser refreshes from ``url`` (JSON ``{"html", "key"}``) every ``every_ms``,
    with no script run; when the route's ``key`` differs from ``key`` (a job ended, the class's
    drawings changed) it triggers one rerun of the page."""
    global _live_component
    if _live_component is None:
        _live_component = st.components.v2.component("digitlab_poll", js=_LIVE_JS, isolate_styles=False)
    return _live_component(data={"url": url, "every_ms": every_ms, "html": html, "key": key}, key=widget_key,
                           on_changed_change=lambda: None)


def live_component(jid: str, lang_: str, dark: bool, html: str, every_ms: int = 500):
    """The job's live view, refreshed by the browser; one rerun when the job ends."""
    url = os.environ[LIVE_ENV].format(jid=jid) + f"?lang={lang_}&dark={int(dark)}"
    return polled_html(url, html, "active", every_ms=every_ms, widget_key=f"live_{jid}")
