"""The explanations as the pages show them (issue 17): Plotly figures of saliency maps, of a nudge and
of the embedding map, and the few small steps between the library (:mod:`digitlab.explain`) and a page.

* :func:`explain_models` - the saliency (and Grad-CAM, for nets with a convolution) of one image for
  several models, with each one's reading: what the Draw and Inspect pages' "Why?" shows.
* :func:`saliency_figure` - one map of one model (∂p/∂x or gradient × input on a diverging scale
  centred at 0: red pushes towards the digit, blue away, transparent at 0; or Grad-CAM, transparent
  to red) over a faint image of the digit; a page shows one per model, side by side.
* :func:`nudge_each` / :func:`nudge_figure` - the adversarial nudge for several models (a target a
  model already answers is said, not searched) and its picture: the nudged drawing and its
  difference from the drawing, amplified.
* :func:`map_figure` / :func:`clicked_index` - the embedding map ready for a click (plain-list
  ``customdata``, the clicked digit ringed) and the digit a selection event points at.

No Streamlit: figures and dicts out; the pages render them. Figures are built in one constructor call (axis
domains by hand, no ``make_subplots``, no ``update_layout``): ~2 ms, not ~20, per rerun and map.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import adversarial, saliency
from .gradients import ExplainError, model_digits, predictor_of, ten_class, unit_images

# red towards the digit, blue away, transparent at 0 (the faint digit shows through)
DIVERGING = [[0.0, "rgba(33,102,172,1)"], [0.25, "rgba(103,169,207,0.85)"], [0.5, "rgba(255,255,255,0)"],
             [0.75, "rgba(239,138,98,0.85)"], [1.0, "rgba(178,24,43,1)"]]
HEAT = [[0.0, "rgba(255,255,255,0)"], [0.35, "rgba(253,174,97,0.65)"], [1.0, "rgba(215,48,39,1)"]]  # Grad-CAM ≥ 0
FAINT = [[0.0, "#ffffff"], [1.0, "#a8a8a8"]]  # the digit under a map: white paper, light grey ink
INK = [[0.0, "#ffffff"], [1.0, "#111111"]]  # a digit on its own: dark ink on white
FONT = dict(family="sans-serif", size=12)
PANEL_PX = 150  # the height of a row of square panels (the figure adds the titles' band)


# ------------------------------------------------------------------ computing, for the pages


def explain_models(models: dict, image, digit: int | None = None) -> dict:
    """{name: {"saliency": Saliency, "cam": (28, 28) or None, "reading": dict} | {"error": exception}}
    for one 28×28 image and every model of ``models`` ({name: stored model}); ``digit`` None explains
    each model's own answer. One model's failure (a digit it has no output for is not one: its map
    is 0) does not hide the others."""
    out = {}
    for name, m in models.items():
        try:
            s = saliency.saliency(m, image, digit)
            cam = saliency.grad_cam(m, s.image, s.digit) if int(s.digit) in set(map(int, model_digits(m))) else None
            out[name] = {"saliency": s, "cam": cam, "reading": saliency.reading(s)}
        except (ExplainError, ValueError, RuntimeError) as e:
            out[name] = {"error": e}
    return out


def nudge_each(models: dict, image, *, step: float, eps: float, target: int | None = None,
               max_steps: int = 100) -> dict:
    """{name: {"nudge": Nudge} | {"already": digit} | {"error": ExplainError}} for one image.

    The step and the bound are checked once, before any search (an :class:`ExplainError` raised
    for all); a target is checked per model (a 0-vs-1 net has no 7: its error); a model that already
    answers the target is not searched (``already``: nothing to nudge)."""
    if not models:
        return {}
    adversarial.check_settings(next(iter(models.values())), step=step, eps=eps, max_steps=max_steps, target=None)
    out = {}
    for name, m in models.items():
        try:
            adversarial.check_settings(m, step=step, eps=eps, max_steps=max_steps, target=target)
            if target is not None:
                answer = answer_of(m, image)
                if answer == int(target):
                    out[name] = {"already": answer}
                    continue
            out[name] = {"nudge": adversarial.nudge(m, image, step=step, eps=eps, max_steps=max_steps, target=target)}
        except ExplainError as e:
            out[name] = {"error": e}
    return out


def answer_of(model, image) -> int:
    """A model's answer (its most probable digit) for one 28×28 image."""
    return int(np.argmax(ten_class(model, predictor_of(model).predict_proba(unit_images(image)[:1]))[0]))


def clicked_index(point: dict) -> int | None:
    """The mapped digit's index of a clicked :func:`map_figure` point, as Streamlit's selection event
    gives it: ``customdata`` [index, label] (a list, or {"0": index, "1": label} when it came from a
    typed array); None for any other point (the drawing's star, the ring) or a malformed one."""
    try:
        cd = point.get("customdata")
        if isinstance(cd, dict):
            cd = cd.get("0", cd.get(0))
        elif isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is None or isinstance(cd, bool):
            return None
        i = int(cd)
        return i if i >= 0 else None
    except (TypeError, ValueError, AttributeError, IndexError):
        return None


# ------------------------------------------------------------------ figures


def _figure(panels: list, *, gap: float = 0.04, height: int | None = None) -> go.Figure:
    """Square image panels side by side, built in one go (one validation: a rerun stays cheap).
    ``panels``: [(title or "", [heat-map dicts of :func:`_heat`])]; panel i's traces go on axes x{i}/y{i}."""
    n = len(panels)
    width = (1 - gap * (n - 1)) / n
    layout, data, notes = {}, [], []
    for i, (title, traces) in enumerate(panels):
        sx = "" if i == 0 else str(i + 1)
        x0 = i * (width + gap)
        layout[f"xaxis{sx}"] = dict(domain=[x0, x0 + width], visible=False, constrain="domain", range=[-0.5, 27.5])
        layout[f"yaxis{sx}"] = dict(domain=[0, 1], visible=False, autorange="reversed", scaleanchor=f"x{sx}",
                                    constrain="domain")
        if title:  # centred over its panel ("auto" would anchor a left panel's title at its left end)
            notes.append(dict(x=x0 + width / 2, y=1, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                              showarrow=False, text=title, font=dict(size=12)))
        data += [dict(tr, xaxis=f"x{sx}", yaxis=f"y{sx}") for tr in traces]
    top = 4 + (18 if notes else 0)
    layout.update(height=height or PANEL_PX + top + 6, margin=dict(l=2, r=2, t=top, b=4), font=FONT, annotations=notes,
                  showlegend=False, plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)", dragmode=False)
    return go.Figure(data=data, layout=layout)


def _heat(z, colorscale, zmin, zmax, hover: str | None = None) -> dict:
    """A heat map of a 28×28 array, as a trace dict for :func:`_figure`."""
    kw = dict(hovertemplate=hover + "<extra></extra>") if hover else dict(hoverinfo="skip")
    return dict(type="heatmap", z=np.asarray(z, np.float32), colorscale=colorscale, zmin=zmin, zmax=zmax,
                showscale=False, **kw)


def _symmetric(a) -> float:
    """The scale of a signed map: its largest magnitude (1 for an all-zero map)."""
    m = float(np.max(np.abs(a))) if np.size(a) else 0.0
    return m if m > 0 and np.isfinite(m) else 1.0


MAPS = ("gradient", "times_input", "cam")  # what a saliency panel can show


def saliency_values(v: dict, which: str):
    """The (28, 28) values of one :func:`explain_models` entry for ``which`` of :data:`MAPS`; None for
    a Grad-CAM the model does not have (no convolution)."""
    if which == "cam":
        return v.get("cam")
    s = v["saliency"]
    return s.gradient if which == "gradient" else s.times_input


def saliency_figure(image, values, *, cam: bool = False, hover: str | None = None, height: int = 250) -> go.Figure:
    """One saliency map of one digit, a square panel: ``values`` (28, 28) over ``image`` (28, 28, in
    [0, 1]) in faint grey. A signed map (∂p/∂x, gradient × input) on a diverging scale symmetric about
    0 (red > 0 pushes towards the digit, blue < 0 away, transparent at 0); ``cam`` True: a Grad-CAM
    (≥ 0), transparent to red. ``hover``: a template for the value under the pointer (``%{z}``)."""
    m = _symmetric(values)
    return _figure([("", [_heat(image, FAINT, 0, 1), _heat(values, HEAT if cam else DIVERGING, 0 if cam else -m, m, hover)])],
                   height=height)


def nudge_figure(n, *, titles: dict) -> go.Figure:
    """A :class:`digitlab.adversarial.Nudge` as 2 panels: the nudged drawing (dark ink on white) and its
    difference from the drawing on a diverging scale reaching full colour at ±``linf`` (amplified: the
    change itself is at most ``eps``), over the drawing in faint grey. ``titles``: {"nudged", "difference"}."""
    m = max(float(n.linf), 1e-6)
    return _figure([(titles["nudged"], [_heat(n.image, INK, 0, 1)]),
                    (titles["difference"], [_heat(n.start, FAINT, 0, 1), _heat(n.difference, DIVERGING, -m, m)])],
                   gap=0.06)


def digit_figure(image, *, title: str, height: int = 190) -> go.Figure:
    """One 28×28 digit, dark ink on white, titled (the clicked point of the map)."""
    unit = np.asarray(image, np.float32) / (255.0 if np.max(image) > 1.5 else 1.0)
    return _figure([(title, [_heat(unit, INK, 0, 1)])], height=height)


def map_figure(emb, drawing=None, *, lang: str = "en", title: str | None = None, chosen: int | None = None,
               chosen_name: str = "", height: int = 520) -> go.Figure:
    """:func:`digitlab.embedding.embedding_figure` for a page: ``customdata`` as plain lists (a NumPy
    array reaches the page's selection event as {"0": i, "1": label} rows), the legend in a row under
    the map (a phone keeps the map's width), points clickable, and the ``chosen`` digit (an index)
    ringed."""
    from .embedding import embedding_figure

    fig = embedding_figure(emb, drawing, lang=lang, title=title)
    for tr in fig.data:
        if tr.customdata is not None:
            rows = np.asarray(tr.customdata).astype(int).tolist()
            tr.customdata = None  # (assigning a list over an array keeps an array)
            tr.customdata = rows
            tr.selected = dict(marker=dict(opacity=0.9))  # a click must not fade the other points
            tr.unselected = dict(marker=dict(opacity=0.7))
    if chosen is not None and 0 <= chosen < len(emb.points):
        x, y = emb.points[chosen]
        fig.add_trace(go.Scatter(x=[float(x)], y=[float(y)], mode="markers", name=chosen_name, hoverinfo="skip",
                                 marker=dict(symbol="circle-open", size=18, color="black", line=dict(width=2.5))))
    fig.update_layout(height=height, font=FONT, dragmode="pan",
                      title=dict(text=title, x=0, xanchor="left", font=dict(size=14)) if title else None,
                      legend=dict(orientation="h", yanchor="top", y=-0.02, x=0, font=dict(size=11)),
                      margin=dict(l=4, r=4, t=36 if title else 6, b=4), plot_bgcolor="#fbfbfb")
    return fig
