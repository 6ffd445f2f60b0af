"""Figures for the app. Pure functions: arrays in, ``go.Figure`` out. (The live view of a running
job is HTML and SVG: :mod:`digitlab.live_html`.)"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

INK = "gray_r"  # digits drawn dark on light, like ink on paper
FONT = dict(family="sans-serif", size=13)


def _layout(fig: go.Figure, title: str, height: int, **kw) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=15)),
        height=height,
        margin=dict(l=8, r=8, t=40, b=8),
        font=FONT,
        **kw,
    )
    return fig


def mosaic(images: np.ndarray, cols: int, gap: int = 2, band: int = 0, fill: float = 0) -> np.ndarray:
    """(n, h, w) -> one array with the images in a grid of ``cols`` columns, ``gap``
    pixels between cells and a ``band`` of empty rows above each image (for a caption)."""
    n, h, w = images.shape
    rows = max(1, -(-n // cols))
    ch, cw = band + h + gap, w + gap
    out = np.full((rows * ch - gap, cols * cw - gap), fill, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * ch + band : r * ch + band + h, c * cw : c * cw + w] = images[i]
    return out


def digit_grid(
    images: np.ndarray,
    labels=None,
    *,
    preds=None,
    cols: int = 10,
    title: str = "Digits",
    captions=None,
    width_hint: int = 560,
) -> go.Figure:
    """A grid of digits (n, h, w); each cell captioned above with its label (and
    ``label→prediction`` in red where they differ). ``captions`` overrides the text.
    ``width_hint`` (px) only sets the figure height so the cells are not letterboxed."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    cols = max(1, min(cols, n)) if n else cols
    rows = max(1, -(-n // cols))
    has_text = captions is not None or labels is not None
    band, gap = (11 if has_text else 0), 4
    big = mosaic(images, cols, gap=gap, band=band, fill=np.nan)
    zmax = 255.0 if n and np.nanmax(images) > 1.5 else 1.0
    fig = go.Figure(go.Heatmap(z=big, colorscale=INK, showscale=False, zmin=0, zmax=zmax, hoverinfo="skip"))
    for i in range(n if has_text else 0):
        r, c = divmod(i, cols)
        if captions is not None:
            text, color = str(captions[i]), "#1f4e9c"
        else:
            text, color = str(int(labels[i])), "#1f4e9c"
            if preds is not None and int(preds[i]) != int(labels[i]):
                text, color = f"{int(labels[i])}→{int(preds[i])}", "#c62828"
        fig.add_annotation(x=c * (w + gap) + (w - 1) / 2, y=r * (band + h + gap) + band / 2 - 1, text=text,
                           showarrow=False, font=dict(size=11, color=color))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    scale = width_hint / (cols * (w + gap))
    title = wrap_title(title, width_hint)  # a Plotly title does not wrap: it is cut off at the figure's edge
    lines = title.count("<br>")
    _layout(fig, title, height=int(50 + 20 * lines + rows * (band + h + gap) * scale), plot_bgcolor="rgba(0,0,0,0)")
    if lines:
        fig.update_layout(margin=dict(t=40 + 20 * lines))
    return fig


def wrap_title(text: str, width_px: float, char_px: float = 8.5) -> str:
    """``text`` broken into lines (``<br>``) at spaces, each about at most ``width_px`` wide
    (``char_px`` per character: the 15 px bold title font, a little generously)."""
    limit = max(10, int(width_px / char_px))
    lines, cur = [], ""
    for word in str(text).split(" "):
        if cur and len(cur) + 1 + len(word) > limit:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    return "<br>".join(lines + [cur])


def class_balance(counts, title: str = "Class balance", x_title: str = "digit (label)", y_title: str = "images") -> go.Figure:
    """Bar chart of images per digit."""
    counts = list(counts)
    total = max(1, sum(counts))
    fig = go.Figure(
        go.Bar(
            x=[str(d) for d in range(len(counts))],
            y=counts,
            text=[f"{c}<br>{100 * c / total:.1f}%" for c in counts],
            textposition="outside",
            marker_color="#3b6fb6",
            hovertemplate=f"{x_title.split(' (')[0]} %{{x}}: %{{y}} {y_title}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text=y_title, range=[0, max(counts + [1]) * 1.25])
    return _layout(fig, title, height=340)


def mean_digits(images: np.ndarray, labels: np.ndarray, title: str = "The average digit of each class") -> go.Figure:
    """The pixel-wise mean image of each class 0..9 in one row."""
    means = np.stack([
        images[labels == d].mean(axis=0) if np.any(labels == d) else np.zeros((28, 28)) for d in range(10)
    ])
    return digit_grid(means, np.arange(10), cols=5, title=title, width_hint=420)


# ---------------------------------------------------------------- training curves

COLORS = {"train": "#3b6fb6", "val": "#d9822b", "batch": "rgba(59,111,182,0.30)"}


def _curve_labels(labels: dict | None) -> dict:
    return {"train": "training", "val": "validation", "batch": "training (per batch)", "epoch": "epoch",
            "loss": "loss (cross-entropy)", "accuracy": "accuracy (%)", **(labels or {})}


def curve_series(epochs: list[dict], batches: list[dict] | None = None, *, metric: str = "loss",
                 labels: dict | None = None, max_batch_points: int = 120) -> list[dict]:
    """The traces of a training curve, shared by the Plotly and the SVG chart: the per-batch values
    (thinned to ``max_batch_points``), then per-epoch training and validation. Each is a dict
    ``role`` ("batch"/"train"/"val"), ``name``, ``x``, ``y``, ``color``, ``width``, ``markers``;
    accuracy in %, points with a missing or non-finite value left out, empty traces dropped."""
    L = _curve_labels(labels)
    pct = 100.0 if metric == "accuracy" else 1.0

    def finite(v):
        return v is not None and np.isfinite(v)

    batches = [b for b in (batches or []) if finite(b.get(metric))]
    if len(batches) > max_batch_points:  # a live chart is re-sent twice a second: keep it light
        batches = [batches[i] for i in np.linspace(0, len(batches) - 1, max_batch_points).round().astype(int)]
    out = [{"role": "batch", "name": L["batch"], "color": COLORS["batch"], "width": 1, "markers": False,
            "x": [(b["epoch"] - 1) + b["batch"] / max(1, b["n_batches"]) for b in batches],
            "y": [float(b[metric]) * pct for b in batches]}]
    for key, role in (("", "train"), ("val_", "val")):
        pts = [(e["epoch"], float(e[key + metric]) * pct) for e in epochs if finite(e.get(key + metric))]
        out.append({"role": role, "name": L[role], "color": COLORS[role], "width": 2, "markers": True,
                    "x": [p[0] for p in pts], "y": [p[1] for p in pts]})
    return [t for t in out if t["x"]]


def training_curve(epochs: list[dict], batches: list[dict] | None = None, *, metric: str = "loss",
                   title: str | None = None, labels: dict | None = None, max_batch_points: int = 120) -> go.Figure:
    """Loss or accuracy against epochs: per-batch values (thin), per-epoch training and
    validation (markers). ``epochs``/``batches`` are progress events (dicts)."""
    L = _curve_labels(labels)
    fig = go.Figure()
    for tr in curve_series(epochs, batches, metric=metric, labels=labels, max_batch_points=max_batch_points):
        fig.add_trace(go.Scatter(x=tr["x"], y=tr["y"], mode="lines+markers" if tr["markers"] else "lines",
                                 name=tr["name"], line=dict(color=tr["color"], width=tr["width"])))
    fig.update_xaxes(title_text=L["epoch"], rangemode="tozero")
    fig.update_yaxes(title_text=L[metric])
    fig.update_layout(legend=dict(orientation="h", y=-0.25, x=0), uirevision=metric)
    return _layout(fig, title or L[metric], height=320)


def compare_curves(runs: dict[str, dict], *, metric: str = "val_accuracy", title: str = "Runs compared",
                   x_title: str = "epoch", y_title: str | None = None) -> go.Figure:
    """Overlay one metric of several stored runs (``curves`` dicts with ``epoch`` and the metric)."""
    pct = 100.0 if metric.endswith("accuracy") else 1.0
    fig = go.Figure()
    for name, c in runs.items():
        ys = c.get(metric) or []
        xs = c.get("epoch") or list(range(1, len(ys) + 1))
        pts = [(x, y * pct) for x, y in zip(xs, ys) if y is not None]
        if pts:
            x, y = zip(*pts)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title or (f"{metric.replace('_', ' ')} (%)" if pct > 1 else metric.replace("_", " ")))
    fig.update_layout(legend=dict(orientation="h", y=-0.25, x=0))
    return _layout(fig, title, height=360)


def prob_bars(probs, *, title: str = "Probabilities", x_title: str = "digit", y_title: str = "probability (%)",
              height: int = 220) -> go.Figure:
    """Bars of a (10,) probability vector, the top class highlighted."""
    p = np.asarray(probs, dtype=float).ravel()
    top = int(np.argmax(p)) if p.size else -1
    fig = go.Figure(go.Bar(
        x=[str(i) for i in range(len(p))], y=p * 100,
        marker_color=["#c62828" if i == top else "#3b6fb6" for i in range(len(p))],
        text=[f"{v * 100:.0f}" if v >= 0.05 else "" for v in p], textposition="outside",
        hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
    ))
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text=y_title, range=[0, 115])
    return _layout(fig, title, height=height)


# ---------------------------------------------------------------- looking inside a model


def weight_grid(images: np.ndarray, *, cols: int = 8, title: str = "Weights", captions=None,
                width_hint: int = 560) -> go.Figure:
    """Kernels or weight images on a diverging scale (red positive, blue negative, white 0),
    each image scaled by its own largest magnitude."""
    w = np.asarray(images, np.float32)
    n, h, ww = w.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    s = np.abs(w).reshape(n, -1).max(1)[:, None, None]
    w = w / np.where(s > 0, s, 1)
    gap = max(1, h // 8)
    big = mosaic(w, cols, gap=gap, fill=np.nan)
    fig = go.Figure(go.Heatmap(z=big, colorscale="RdBu_r", zmin=-1, zmax=1, showscale=False, hoverinfo="skip"))
    if captions is not None:
        for i, c in enumerate(captions[:n]):
            r, k = divmod(i, cols)
            fig.add_annotation(x=k * (ww + gap) + (ww - 1) / 2, y=r * (h + gap) - 0.5, text=str(c), showarrow=False,
                               yanchor="bottom", font=dict(size=9, color="#555"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    scale = width_hint / (cols * (ww + gap))
    return _layout(fig, title, height=int(60 + rows * (h + gap) * scale), plot_bgcolor="rgba(0,0,0,0)")


def feature_maps(maps: np.ndarray, *, cols: int = 8, title: str = "Feature maps", width_hint: int = 560) -> go.Figure:
    """(c, h, w) maps in [0, 1] as a grid (bright = strong response)."""
    m = np.asarray(maps, np.float32)
    c, h, w = m.shape
    cols = max(1, min(cols, c))
    rows = -(-c // cols)
    gap = max(1, h // 10)
    big = mosaic(m, cols, gap=gap, fill=np.nan)
    fig = go.Figure(go.Heatmap(z=big, colorscale="Viridis", zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    scale = width_hint / (cols * (w + gap))
    return _layout(fig, title, height=int(60 + rows * (h + gap) * scale), plot_bgcolor="rgba(0,0,0,0)")


def vector_bars(v: np.ndarray, *, title: str = "Activations", x_title: str = "unit", y_title: str = "activation") -> go.Figure:
    """One layer's activation vector as bars."""
    v = np.asarray(v, float).ravel()
    fig = go.Figure(go.Bar(x=np.arange(len(v)), y=v, marker_color="#3b6fb6",
                           hovertemplate=f"{x_title} %{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return _layout(fig, title, height=240)


def confusion_matrix(cm: np.ndarray, *, title: str = "Confusion matrix", x_title: str = "predicted digit",
                     y_title: str = "true digit", selected: tuple[int, int] | None = None,
                     hover: str = "true %{y}, predicted %{x}: %{text}") -> go.Figure:
    """Counts as coloured squares (a scatter, so a click selects a cell); the diagonal is right.
    ``hover``: the tooltip's template (``%{y}`` true, ``%{x}`` predicted, ``%{text}`` the count)."""
    k = cm.shape[0]
    t_, p_ = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    t_, p_, c = t_.ravel(), p_.ravel(), cm.ravel()
    off = np.where(t_ != p_, c, 0)
    frac = off / max(1, off.max())
    colors = [("#2e7d32" if a == b else f"rgba(198,40,40,{0.08 + 0.92 * f:.3f})") if n else "#f4f4f4"
              for a, b, n, f in zip(t_, p_, c, frac)]
    fig = go.Figure(go.Scatter(
        x=p_.tolist(), y=t_.tolist(), mode="markers", text=[str(n) for n in c],
        marker=dict(symbol="square", size=30, color=colors, line=dict(width=[3 if selected == (a, b) else 0
                    for a, b in zip(t_, p_)], color="#111")),
        # plain lists: a NumPy array would be sent as a typed array, whose rows reach Python as {"0": t, "1": p}
        customdata=np.stack([t_, p_], 1).tolist(), hovertemplate=hover + "<extra></extra>",
        # a clicked cell is outlined: Plotly's selection must not fade the others
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
    ))
    for a, b, n, f in zip(t_, p_, c, frac):  # the counts as annotations: a selection does not fade them
        if n:
            fig.add_annotation(x=int(b), y=int(a), text=str(n), showarrow=False,
                               font=dict(size=11, color="white" if a == b or f > 0.5 else "#333"))
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=list(range(k)), range=[-0.6, k - 0.4], side="top")
    fig.update_yaxes(title_text=y_title, tickmode="array", tickvals=list(range(k)), range=[k - 0.4, -0.6])
    fig.update_layout(dragmode=False, clickmode="event+select", showlegend=False)
    _layout(fig, title, height=500, plot_bgcolor="white")
    # the title at the very top, the top axis (ticks, then its title) below it: they no longer overlap
    fig.update_layout(title=dict(y=1, yref="container", yanchor="top", pad=dict(t=6)),
                      margin=dict(l=8, r=8, t=100, b=8))
    return fig


def confusion_cell(point: dict) -> tuple[int, int] | None:
    """(true, predicted) of a clicked :func:`confusion_matrix` point, as Streamlit's selection
    event gives it: ``customdata`` [t, p] (a list, or {"0": t, "1": p} when it came from a typed
    array), else the point's ``y`` (true) and ``x`` (predicted); None when it holds neither."""
    try:
        cd = point.get("customdata")
        if isinstance(cd, dict):
            cd = [cd.get("0", cd.get(0)), cd.get("1", cd.get(1))]
        if isinstance(cd, (list, tuple)) and len(cd) >= 2 and None not in cd[:2]:
            return int(cd[0]), int(cd[1])
        if point.get("x") is not None and point.get("y") is not None:
            return int(point["y"]), int(point["x"])
    except (TypeError, ValueError, AttributeError):
        pass
    return None


def curves_from_meta(curves: dict) -> list[dict]:
    """A stored run's ``curves`` (lists per key) -> epoch events for :func:`training_curve`."""
    n = len(curves.get("loss") or [])
    ep = curves.get("epoch") or list(range(1, n + 1))
    return [{"epoch": ep[i], **{k: (curves.get(k) or [None] * n)[i] if i < len(curves.get(k) or []) else None
             for k in ("loss", "accuracy", "val_loss", "val_accuracy")}} for i in range(n)]


def prob_matrix(names: list[str], probs: np.ndarray, *, title: str = "Probabilities (%) per model",
                x_title: str = "digit") -> go.Figure:
    """(models, 10) probabilities as a table of shaded cells; each row's top digit outlined.

    Built in one ``go.Figure(data, layout)`` call: the Draw page makes this figure on every
    stroke of every participant, and Plotly validates each ``add_shape``/``update_*`` call
    again (6.6 ms that way, 1.5 ms this way, the same figure; bench/README.md, bench.room)."""
    P = np.asarray(probs, float) * 100
    text = [[f"{v:.0f}" if v >= 0.5 else "" for v in row] for row in P]
    tops = [int(np.argmax(row)) for row in P]
    shapes = [dict(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#c62828", width=2))
              for r, c in enumerate(tops)]
    heatmap = go.Heatmap(z=P, x=[str(d) for d in range(P.shape[1])], y=names, zmin=0, zmax=100, colorscale="Blues",
                         showscale=False, text=text, texttemplate="%{text}", xgap=2, ygap=2,
                         hovertemplate=f"%{{y}}: {x_title} %{{x}} %{{z:.1f}}%<extra></extra>")
    layout = dict(title=dict(text=title, x=0, xanchor="left", font=dict(size=15)), height=110 + 34 * len(names),
                  margin=dict(l=8, r=8, t=40, b=8), font=FONT, shapes=shapes,
                  xaxis=dict(title=dict(text=x_title), type="category"), yaxis=dict(autorange="reversed", automargin=True))
    return go.Figure(data=[heatmap], layout=layout)


def small_images(images: list[np.ndarray], size: int = 112) -> list[np.ndarray]:
    """Grey [0,1] or uint8 images -> uint8 RGB-free arrays upscaled (nearest) to about ``size`` px for st.image."""
    out = []
    for im in images:
        a = np.asarray(im, np.float32)
        if a.max(initial=0) <= 1.0:
            a = a * 255
        h, w = a.shape
        m = max(h, w)  # pad to a square (black) so every picture shows at the same size
        a = np.pad(a, (((m - h) // 2, m - h - (m - h) // 2), ((m - w) // 2, m - w - (m - w) // 2)))
        k = max(1, -(-size // m))
        big = np.kron(np.clip(a, 0, 255), np.ones((k, k), np.float32))
        if big.shape[0] > 2 * size:  # a whole canvas: plain subsampling is enough for a thumbnail
            step = big.shape[0] // size
            big = big[::step, ::step]
        out.append(big.astype(np.uint8))
    return out
