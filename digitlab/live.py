"""The live view of a job (HTML with SVG charts), built from the worker's status.

One function serves both ways the Train page refreshes it: a Streamlit fragment that reruns
twice a second, and, when the app runs as ``st.App`` (``streamlit run app.py``), a small HTTP
route that a browser component polls, with no script run at all (``live_route``).
No Streamlit here: ``lang`` and ``dark`` come from the caller.
"""
from __future__ import annotations

import html
import time

import numpy as np

from . import live_html, states, texts, viz

ROUTE = "/digitlab/live/{jid}"  # served by app.py's st.App
ACTIVE = states.ACTIVE  # the states a live view polls in


def fmt_secs(s) -> str:
    return "–" if s is None or not np.isfinite(s) else (f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min")


def curve_labels(lang: str, finetune: bool = False) -> dict:
    """The curves' words; a fine-tuning job's validation curve is its held-out drawings'."""
    t = lambda k: texts.text(lang, k)  # noqa: E731
    return {"train": t("viz.training"), "val": t("finetune.heldout_curve" if finetune else "viz.validation"),
            "batch": t("viz.per_batch"),
            "epoch": t("viz.epoch"), "loss": t("viz.loss"), "accuracy": t("viz.accuracy")}


PHASES = {"loading data": "train.phase.loading", "importing TensorFlow": "train.phase.tensorflow",
          "evaluating": "train.phase.evaluating", "saving": "train.phase.saving"}  # the worker's phases -> texts


def phase_label(lang: str, phase: str) -> str:
    """A job's phase (digitlab.training's English word) in ``lang``; an unknown one as it is."""
    key = PHASES.get(phase)
    return texts.text(lang, key) if key else phase


SOON_S = 5  # an expected start closer than this is "in a moment"


def queued_text(s: dict, lang: str) -> str:
    """A queued job's place and, when the worker estimates it, when it should start."""
    pos, start = s.get("queue_position") or s.get("position"), s.get("expected_start_s")
    if start is None:
        return texts.text(lang, "train.queued", pos=pos)
    if start < SOON_S:
        return texts.text(lang, "train.queued_soon", pos=pos)
    return texts.text(lang, "train.queued_eta", pos=pos, start=fmt_secs(start))


def live_chart(s: dict, metric: str, epochs: int, lang: str, dark: bool = False) -> str:
    """A running job's loss or accuracy curve as an SVG image with alt text."""
    labels = curve_labels(lang, finetune=bool(s.get("finetune")))
    title = texts.text(lang, "train.loss_title" if metric == "loss" else "train.acc_title")
    traces = viz.curve_series(s["epochs"], s["batches"], metric=metric, labels=labels)
    svg = live_html.svg_chart(traces, title=title, x_title=labels["epoch"], y_title=labels[metric], x_max=epochs,
                        y_range=(0, 100) if metric == "accuracy" else (0, float("inf")),
                        ink="#fafafa" if dark else "#31333f")
    summary = live_html.curve_summary(traces, labels["epoch"])
    return live_html.svg_img(svg, f"{title}. {summary}" if summary else title)


def panel(s: dict, lang: str = "en", dark: bool = False, now: float | None = None) -> str:
    """HTML for a queued or running job (``Worker.status`` dict): the queue place, or progress,
    five metrics and the two curves. Other states: "" (the page shows them itself)."""
    t = lambda k, **f: texts.text(lang, k, **f)  # noqa: E731
    if s["state"] == states.QUEUED:
        return (f'<div class="dl-live" data-testid="dl-live" style="padding:0.75rem 1rem;border-radius:0.5rem;'
                f'background:rgba(28,131,225,0.1)">{html.escape(queued_text(s, lang))}</div>')
    if s["state"] != states.RUNNING:
        return ""
    p = s.get("progress") or {}
    cfg = s.get("config") or {}
    epochs = cfg.get("epochs") or cfg.get("iterations") or p.get("epochs") or 1
    if p.get("type") == "batch":
        frac = ((p["epoch"] - 1) + p["batch"] / max(1, p["n_batches"])) / epochs
    elif p.get("type") == "epoch":
        frac = p["epoch"] / max(1, p.get("epochs") or epochs)
    else:
        frac = 0.0
    frac = float(min(max(frac, 0.0), 1.0))
    now = time.time() if now is None else now
    elapsed = now - (s.get("started") or now)
    left = elapsed * (1 - frac) / frac if frac > 0.01 else None
    label = texts.kind_label(lang, s["kind"])
    phase = s.get("phase") or "training"
    ft = s.get("finetune")
    last_epoch = s["epochs"][-1] if s["epochs"] else {}
    metrics = [(t("train.m.epoch"), f"{p.get('epoch', 0)}/{epochs}"),
               (t("train.m.loss"), "–" if p.get("loss") is None else f"{p['loss']:.4f}"),
               (t("finetune.m.heldout_acc" if ft else "train.m.val_acc"), texts.percent(lang, last_epoch.get("val_accuracy"))),
               (t("train.m.speed"), texts.number(lang, p.get("samples_per_s") or 0)),
               (t("train.m.left"), fmt_secs(left))]
    if ft:  # "Fine-tuning a copy of X" (the base's name: plain text, the panel is escaped HTML)
        label = t("finetune.running", base=ft.get("base"))
    status = (t("train.phase", kind=label, phase=phase_label(lang, phase)) if phase != "training"
              else (label if ft else t("train.running", kind=label)))
    return live_html.live_panel(status=status, fraction=frac, metrics=metrics,
                          charts=[live_chart(s, "loss", epochs, lang, dark), live_chart(s, "accuracy", epochs, lang, dark)])


def route_payload(worker, jid: str, lang: str = "en", dark: bool = False) -> dict:
    """What the live route answers: ``{"state", "html", "key"}``; state "unknown" for a job id the
    worker does not know (or no worker). ``key`` is "active" while the job is queued or running,
    else its state: the page's poller reruns the page once when it changes."""
    if lang not in texts.LANGS:
        lang = "en"
    try:
        s = worker.status(jid) if worker is not None else None
    except KeyError:
        s = None
    if s is None:
        return {"state": "unknown", "html": "", "key": "unknown"}
    key = "active" if s["state"] in ACTIVE else s["state"]
    return {"state": s["state"], "html": panel(s, lang, dark), "key": key}


async def endpoint(request):
    """The route's handler (Starlette): ``GET /digitlab/live/{jid}?lang=..&dark=0|1`` ->
    JSON ``{"state", "html"}`` from this process's worker (never starts one)."""
    from starlette.responses import JSONResponse

    from . import training

    q = request.query_params
    payload = route_payload(training.current_worker(), request.path_params["jid"], q.get("lang", "en"),
                            q.get("dark") == "1")
    return JSONResponse(payload, headers={"Cache-Control": "no-store"})
