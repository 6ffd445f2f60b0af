"""The live view of a running job, as HTML with inline SVG charts (no Plotly).

While a job runs the Train page redraws its progress twice a second. Plotly figures cost the
browser about 0.3 of a core at that rate (bench/README.md), which a Keras job on the same two
cores pays for; one HTML block with inline SVG costs about as little as an empty rerun. The
traces are :func:`digitlab.viz.curve_series` dicts.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import numpy as np


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """About ``n`` round tick values (steps 1, 2, 2.5, 5 x 10^k) inside [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [float(lo)] if np.isfinite(lo) else []
    raw = (hi - lo) / max(1, n)
    mag = 10.0 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag * (1 + 1e-9))
    if integer:
        step = max(1.0, float(np.ceil(step)))
    first = np.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-6, step)
    # rounded to the step's own precision (0.30000000000000004 -> 0.3); + 0.0: no -0
    return [float(f"{np.round(v / step) * step:.12g}") + 0.0 for v in ticks]


_CONTROL = dict.fromkeys(i for i in range(32) if chr(i) not in "\t\n\r")


def _esc(text) -> str:
    """Text for HTML/SVG: escaped, and without control characters (invalid in XML)."""
    return html.escape(str(text).translate(_CONTROL), quote=True)


def svg_chart(traces: list[dict], *, title: str, x_title: str, y_title: str, x_max: float | None = None,
              y_range: tuple[float, float] | None = None, width: int = 360, height: int = 250,
              fmt: str = "{:.4g}", ink: str = "#31333f") -> str:
    """A line chart as an inline ``<svg>`` (scales to its container's width): title, both axes with
    round ticks and their titles, a legend, one polyline per trace (``curve_series`` dicts) and
    markers where ``markers`` (each with a ``<title>``: a tooltip where the SVG is inline or opened).
    ``x_max`` fixes the x axis (e.g. all the epochs of a job), ``y_range`` clips the y axis (e.g.
    0-100 %). ``ink``: the colour of the text (the theme's)."""
    left, right, top, bottom = 46, 10, 30, 62
    xs = [x for t in traces for x in t["x"]]
    x0, x1 = 0.0, float(max(xs + [x_max or 0.0, 1.0]))
    y0, y1 = _y_extent([y for t in traces for y in t["y"]], y_range)
    pw, ph = width - left - right, height - top - bottom
    box = _Box(left, top, pw, ph, x0, x1, y0, y1)
    o = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{_esc(title)}" '
         f'xmlns="http://www.w3.org/2000/svg" style="max-width:{2 * width}px;font-family:sans-serif;'
         f'font-size:11px;color:{ink}">',
         f'<text x="2" y="15" font-size="14" font-weight="600" fill="currentColor">{_esc(title)}</text>']
    o += _axes(box, x_title, y_title)
    o += _series(box, traces, x_title, fmt)
    legend, bottom_y = _legend(traces, left, width, height - 8)
    o += legend
    if bottom_y > height - 8:  # extra legend rows: a taller picture
        o[0] = o[0].replace(f'viewBox="0 0 {width} {height}"', f'viewBox="0 0 {width} {bottom_y + 8}"', 1)
    o.append("</svg>")
    return "".join(o)


def _y_extent(ys: list[float], y_range) -> tuple[float, float]:
    """The y axis's range: the data padded by 6 % (a nearly flat curve still gets a range),
    clipped to ``y_range`` if data are left inside it."""
    if not ys:
        if y_range and not np.isfinite(y_range[1]):
            return y_range[0], y_range[0] + 1.0
        return y_range or (0.0, 1.0)
    y0, y1 = float(min(ys)), float(max(ys))
    pad = max(0.06 * (y1 - y0), 1e-3 * max(abs(y0), abs(y1)), 1e-12)
    y0, y1 = y0 - pad, y1 + pad
    if y_range is not None and max(y0, y_range[0]) < min(y1, y_range[1]):
        y0, y1 = max(y0, y_range[0]), min(y1, y_range[1])
    return y0, y1


@dataclass(frozen=True)
class _Box:
    """The plot area in pixels (left, top, width, height) and the data range it shows."""

    left: float
    top: float
    pw: float
    ph: float
    x0: float
    x1: float
    y0: float
    y1: float

    def X(self, v):  # noqa: N802 (the maths' name: a data x -> a pixel x)
        return self.left + (v - self.x0) / (self.x1 - self.x0) * self.pw

    def Y(self, v):  # noqa: N802
        return self.top + self.ph - (v - self.y0) / (self.y1 - self.y0) * self.ph


def _axes(b: _Box, x_title: str, y_title: str) -> list[str]:
    """Grid lines at round ticks, the tick labels and both axis titles."""
    yt = [v for v in nice_ticks(b.y0, b.y1, 4) if b.y0 <= v <= b.y1]
    xt = [v for v in nice_ticks(b.x0, b.x1, 5, integer=True) if b.x0 <= v <= b.x1]
    o = ['<g class="dl-grid" stroke="rgba(128,128,128,0.25)" stroke-width="1">']
    o += [f'<line x1="{b.left}" x2="{b.left + b.pw}" y1="{b.Y(v):.1f}" y2="{b.Y(v):.1f}"/>' for v in yt]
    o += [f'<line x1="{b.X(v):.1f}" x2="{b.X(v):.1f}" y1="{b.top}" y2="{b.top + b.ph}"/>' for v in xt]
    o.append('</g><g fill="currentColor" opacity="0.75">')
    o += [f'<text x="{b.left - 5}" y="{b.Y(v) + 4:.1f}" text-anchor="end">{v:g}</text>' for v in yt]
    o += [f'<text x="{b.X(v):.1f}" y="{b.top + b.ph + 14}" text-anchor="middle">{v:g}</text>' for v in xt]
    o.append("</g>")
    o.append(f'<text x="{b.left + b.pw / 2:.1f}" y="{b.top + b.ph + 30}" text-anchor="middle" fill="currentColor">'
             f'{_esc(x_title)}</text>')
    o.append(f'<text transform="translate(11 {b.top + b.ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
             f'fill="currentColor">{_esc(y_title)}</text>')
    return o


def _series(b: _Box, traces: list[dict], x_title: str, fmt: str) -> list[str]:
    """One polyline per trace (clipped to the plot area), with markers and their tooltips."""
    o = [f'<defs><clipPath id="dl-clip"><rect x="{b.left}" y="{b.top - 4}" width="{b.pw + 4}" '
         f'height="{b.ph + 8}"/></clipPath></defs><g clip-path="url(#dl-clip)">']
    for t in traces:
        pts = " ".join(f"{b.X(x):.1f},{b.Y(y):.1f}" for x, y in zip(t["x"], t["y"]))
        o.append(f'<g class="dl-series dl-{_esc(t.get("role", "line"))}">'
                 f'<polyline points="{pts}" fill="none" stroke="{t["color"]}" stroke-width="{t["width"]}" '
                 f'stroke-linejoin="round"/>')
        if t.get("markers"):
            o += [f'<circle cx="{b.X(x):.1f}" cy="{b.Y(y):.1f}" r="3" fill="{t["color"]}"><title>{_esc(t["name"])}, '
                  f'{_esc(x_title)} {x:g}: {fmt.format(y)}</title></circle>' for x, y in zip(t["x"], t["y"])]
        o.append("</g>")
    o.append("</g>")
    return o


def _legend(traces: list[dict], left: float, width: float, y: float) -> tuple[list[str], float]:
    """The legend under the x axis title, wrapping onto more rows; its parts and its last row's y."""
    o, lx, ly = [], left, y
    for t in traces:
        w = 30 + 6 * len(str(t["name"]))  # ~6 px per character at 11 px
        if lx > left and lx + w - 10 > width:
            lx, ly = left, ly + 15
        o.append(f'<line x1="{lx}" x2="{lx + 16}" y1="{ly - 4}" y2="{ly - 4}" stroke="{t["color"]}" '
                 f'stroke-width="{max(2, t["width"])}"/><text x="{lx + 20}" y="{ly}" fill="currentColor">'
                 f'{_esc(t["name"])}</text>')
        lx += w
    return o, ly


def curve_summary(traces: list[dict], x_title: str = "epoch", fmt: str = "{:.4g}") -> str:
    """The last point of each per-epoch trace, for an image's alt text:
    "epoch 3: training 0.21, validation 0.25" ("" before the first epoch)."""
    last = [t for t in traces if t.get("markers") and t["x"]]
    if not last:
        return ""
    x = max(t["x"][-1] for t in last)
    vals = ", ".join(f"{t['name']} {fmt.format(t['y'][-1])}" for t in last if t["x"][-1] == x)
    return f"{x_title} {x:g}: {vals}"


def svg_img(svg: str, alt: str) -> str:
    """An ``<img>`` of an SVG as a data URI: ``st.html``'s sanitiser removes inline ``<svg>``."""
    return (f'<img alt="{_esc(alt)}" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}" '
            f'style="width:100%;height:auto;display:block">')


def live_panel(*, status: str, fraction: float, metrics: list[tuple[str, str]], charts: list[str]) -> str:
    """One HTML block for a running job: a status line, a progress bar, a row of metrics
    (label, value) and charts (HTML, e.g. ``svg_img``) side by side, wrapping on narrow screens."""
    fraction = float(fraction) if np.isfinite(fraction) else 0.0
    pct = 100 * min(max(fraction, 0.0), 1.0)
    cells = "".join(f'<div style="flex:1 1 7.5rem;min-width:0"><div style="font-size:0.875rem;opacity:.8">{_esc(k)}'
                    f'</div><div class="dl-value" style="font-size:1.75rem;line-height:1.6;white-space:nowrap;'
                    f'overflow:hidden;text-overflow:ellipsis">{_esc(v)}</div></div>' for k, v in metrics)
    figs = "".join(f'<div style="flex:1 1 300px;min-width:0">{c}</div>' for c in charts)
    return (f'<div class="dl-live" data-testid="dl-live">'
            f'<div style="font-size:0.875rem;margin-bottom:0.35rem">{_esc(status)}</div>'
            f'<div role="progressbar" aria-label="{_esc(status)}" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{pct:.0f}" style="height:0.5rem;border-radius:0.25rem;background:rgba(128,128,128,0.2);'
            f'overflow:hidden"><div style="height:100%;width:{pct:.1f}%;background:#3b6fb6"></div></div>'
            f'<div style="display:flex;flex-wrap:wrap;gap:0.5rem 1rem;margin:1rem 0">{cells}</div>'
            f'<div style="display:flex;flex-wrap:wrap;gap:1rem 1.5rem">{figs}</div></div>')
