"""A drawing (canvas RGBA, or any picture of a digit) -> the 28x28 image a model reads.

MNIST's own recipe (LeCun et al.): the digit was fitted into a 20x20 box keeping its
aspect ratio, anti-aliased to grey levels, then centred in 28x28 by its centre of mass.
Doing the same to a drawing is what makes draw-and-predict work (resizing the whole
canvas to 28x28 scored 47% on drawn digits here; these steps, 97%). Each step is a pure
function so the app can show it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import DigitLabError

INK_THRESHOLD = 0.1  # ink below this (0..1) does not count for the bounding box
BOX = 20             # the longer side of the digit after fitting (MNIST: 20 px)
SIZE = 28
TRANSPARENT = 0.5      # a pixel with alpha below this (0..1) is transparent
ALPHA_INK_SHARE = 0.5  # this share of transparent pixels or more: the background is transparent, alpha is the ink


class PreprocessError(DigitLabError, ValueError):
    """The picture cannot be turned into a digit image (wrong shape or type)."""


class EmptyDrawing(PreprocessError):
    """There is no ink to read."""


def unit_range(a: np.ndarray) -> np.ndarray:
    """Pixel values -> float32 in [0, 1], by their real range: 8-bit /255, 16-bit /65535,
    bool as 0/1. Other integers and floats are read in the smallest of the ranges 0-1,
    0-255 and 0-65535 that holds their largest value (a float picture in 0-1, an 8-bit
    one stored as int32 and a 16-bit PNG read as Pillow's mode "I" all read right)."""
    a = np.asarray(a)
    if a.dtype.kind == "b":
        scale = 1
    elif a.dtype.kind == "u" and a.dtype.itemsize <= 2:
        scale = 255 if a.dtype.itemsize == 1 else 65535
    else:
        top = a.max(initial=0)
        scale = next((s for s in (1, 255) if top <= s), 65535)
    out = a.astype(np.float32)  # one copy, then in place (a 16-megapixel picture is 64 MB)
    out /= np.float32(scale)
    return np.clip(out, 0, 1, out=out)


def ink(img: np.ndarray) -> np.ndarray:
    """(H, W, 4|3|1) or (H, W) picture -> (H, W) float32 ink in [0, 1].

    Values are read by their real range (:func:`unit_range`: 8-bit, 16-bit or float).

    Alpha is the drawing when the background is transparent, i.e. when at least
    ``ALPHA_INK_SHARE`` (half) of the pixels are transparent (alpha < ``TRANSPARENT``):
    the opaque pixels are then the strokes and the ink is the alpha (white, black or
    coloured strokes alike; the canvas draws this way). Any other picture is read by
    luminance, inverted when its background is light (dark ink on paper); its few
    transparent pixels, if any, are first blended onto its background colour (the
    median of its opaque pixels), so a stray transparent pixel is not ink."""
    a = np.asarray(img)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or min(a.shape[:2]) < 2:
        raise PreprocessError("preprocess.bad_shape", shape=str(a.shape))
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise PreprocessError("preprocess.bad_dtype", dtype=str(a.dtype))
    a = unit_range(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3:
        lum = a[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        if a.shape[2] == 4:
            alpha = a[..., 3]
            opaque = alpha >= TRANSPARENT
            if 1 - opaque.mean() >= ALPHA_INK_SHARE:  # transparent background: alpha is the ink
                return np.ascontiguousarray(alpha)
            if not opaque.all():  # opaque picture, a few transparent pixels: blend them onto its background
                lum = alpha * lum + (1 - alpha) * np.median(lum[opaque])
        a = lum
    if np.median(a) > 0.5:  # light background: dark ink on paper
        a = 1.0 - a
    return np.clip(a, 0, 1)


def bbox(x: np.ndarray, threshold: float = INK_THRESHOLD):
    """(top, bottom, left, right) of the ink (bottom/right exclusive), None when empty."""
    rows, cols = np.flatnonzero((x > threshold).any(1)), np.flatnonzero((x > threshold).any(0))
    if rows.size == 0:
        return None
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def crop(x: np.ndarray) -> np.ndarray:
    b = bbox(x)
    if b is None:
        raise EmptyDrawing("preprocess.empty")
    t, btm, l, r = b
    return x[t:btm, l:r]


def fit_box(x: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` px, keeping the aspect ratio, with an
    anti-aliasing filter (Lanczos on floats, clipped back to [0, 1])."""
    h, w = x.shape
    s = box / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    out = np.asarray(Image.fromarray(x.astype(np.float32), mode="F").resize((nw, nh), Image.Resampling.LANCZOS))
    return np.clip(out, 0, 1)


def paste_center(x: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Put ``x`` in the middle of a ``size`` x ``size`` black square."""
    out = np.zeros((size, size), np.float32)
    h, w = x.shape
    t, l = (size - h) // 2, (size - w) // 2
    out[t : t + h, l : l + w] = x
    return out


def center_of_mass(x: np.ndarray) -> tuple[float, float]:
    m = x.sum()
    if m == 0:
        return (x.shape[0] - 1) / 2, (x.shape[1] - 1) / 2
    r, c = np.indices(x.shape)
    return float((r * x).sum() / m), float((c * x).sum() / m)


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Integer shift with zero fill (nothing wraps around)."""
    out = np.zeros_like(x)
    h, w = x.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = x[ys, xs]
    return out


def center_by_mass(x: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift so the centre of mass lands on the centre pixel, never pushing ink off the edge."""
    cy, cx = center_of_mass(x)
    mid = x.shape[0] / 2  # MNIST digits have their centre of mass at (14.0, 14.0), measured
    dy, dx = int(round(mid - cy)), int(round(mid - cx))
    t, b, l, r = bbox(x, 0) or (0, x.shape[0], 0, x.shape[1])
    dy = int(np.clip(dy, -t, x.shape[0] - b))
    dx = int(np.clip(dx, -l, x.shape[1] - r))
    return shift(x, dy, dx), (dy, dx)


@dataclass
class Steps:
    """Every stage, for the app to show. ``image`` is what the models read."""

    ink: np.ndarray      # (H, W) float in [0,1]
    cropped: np.ndarray  # (h, w)
    fitted: np.ndarray   # longer side 20 px
    pasted: np.ndarray   # 28x28, box-centred
    image: np.ndarray    # 28x28 uint8, centred by mass
    offset: tuple[int, int]


def preprocess(img: np.ndarray) -> Steps:
    """Canvas RGBA (or any digit picture) -> :class:`Steps`; raises EmptyDrawing."""
    x = ink(img)
    c = crop(x)
    f = fit_box(c)
    p = paste_center(f)
    final, off = center_by_mass(p)
    return Steps(x, c, f, p, np.rint(final * 255).astype(np.uint8), off)


def to_mnist(img: np.ndarray) -> np.ndarray:
    """Shortcut: the 28x28 uint8 image only."""
    return preprocess(img).image


def naive_resize(img: np.ndarray) -> np.ndarray:
    """What the popular demo does (the whole canvas squashed to 28x28): for comparison."""
    x = ink(img)
    out = np.asarray(Image.fromarray(x.astype(np.float32), mode="F").resize((SIZE, SIZE), Image.Resampling.BILINEAR))
    return np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)


def transform(image: np.ndarray, dx: int = 0, dy: int = 0, angle: float = 0.0, thicken: int = 0) -> np.ndarray:
    """Shift (px), rotate (degrees, counter-clockwise) and thicken (px of dilation) a
    28x28 uint8 digit: the Draw page's sliders, to see which models cope."""
    x = np.asarray(image, np.float32)
    if angle:
        x = np.asarray(Image.fromarray(x, mode="F").rotate(angle, resample=Image.Resampling.BILINEAR))
    for _ in range(int(thicken)):  # 3x3 grey dilation
        p = np.pad(x, 1)
        x = np.max([p[i : i + SIZE, j : j + SIZE] for i in range(3) for j in range(3)], axis=0)
    if dx or dy:
        x = shift(x, int(dy), int(dx))
    return np.rint(np.clip(x, 0, 255)).astype(np.uint8)
