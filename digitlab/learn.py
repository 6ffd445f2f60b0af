"""Small pure helpers behind the Learn page: the tiny demos and their figures.

No Streamlit here. Every demo uses the real ``digitlab`` code it teaches: the
activations dict of ``digitlab.nn.activations``, the tutorial's section-2 functions
(``digitlab.tutorial_binary``) for the tiny 2-D network, the plain maths of
``digitlab.nn.reference`` for the convolution and pooling (the page shows that code; the
fast layers compute the same, tests/test_nn_reference.py), ``losses.output_delta`` for the
mini-batch gradients.
Figures take their (translated) titles as arguments.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from digitlab import tutorial_binary
from digitlab.nn import reference
from digitlab.nn.activations import ACTIVATIONS, DERIVATIVES, softmax
from digitlab.nn.losses import binary_cross_entropy, output_delta

BLUE, ORANGE, GREEN, RED = "#3b6fb6", "#d9822b", "#2e9e5b", "#c62828"
FONT = dict(family="sans-serif", size=13)
ACTS = ["sigmoid", "tanh", "relu"]  # the activations the page plots (keys of ACTIVATIONS)
DIVERGING = [[0, "#2166ac"], [0.5, "#f7f7f7"], [1, "#b2182b"]]  # negative blue, 0 white, positive red
INK = "Greys"  # with reversescale: 0 white, 1 black (ink on paper, as viz.digit_grid)


def _fig(data: list, title: str, height: int, layout: dict | None = None) -> go.Figure:
    """A figure from plain dicts, built without plotly's property validation (10x
    faster: the page rebuilds figures on every slider move). The tests validate every
    figure once through ``go.Figure(fig.to_dict())``."""
    lay = {"title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}}, "height": height,
           "margin": {"l": 8, "r": 8, "t": 44, "b": 8}, "font": FONT, **(layout or {})}
    return go.Figure(data=data, layout=lay, _validate=False)


def _legend_below(y: float = -0.22) -> dict:
    return {"orientation": "h", "y": y, "x": 0, "yanchor": "top"}


def _image_axes(n: int, titles, gap: float = 0.05) -> dict:
    """Layout of n side-by-side image panels (square pixels, y down), titled above."""
    w = (1 - gap * (n - 1)) / n
    lay, ann = {}, []
    for i in range(n):
        s = "" if i == 0 else str(i + 1)
        x0 = i * (w + gap)
        lay[f"xaxis{s}"] = {"domain": [x0, x0 + w], "visible": False, "constrain": "domain", "anchor": f"y{s}"}
        lay[f"yaxis{s}"] = {"visible": False, "autorange": "reversed", "scaleanchor": f"x{s}", "constrain": "domain",
                            "anchor": f"x{s}"}
        ann.append({"text": titles[i], "x": x0 + w / 2, "y": 1.0, "xref": "paper", "yref": "paper", "showarrow": False,
                    "xanchor": "center", "yanchor": "bottom", "font": {"size": 12}})
    lay["annotations"] = ann
    lay["plot_bgcolor"] = "rgba(0,0,0,0)"
    return lay


# ------------------------------------------------------------------ the neuron and activations


def neuron(x, w, b: float, activation: str = "sigmoid") -> tuple[float, float]:
    """One neuron: z = w·x + b, a = g(z). Returns (z, a)."""
    z = float(np.dot(np.asarray(w, float), np.asarray(x, float)) + b)
    a = float(ACTIVATIONS[activation](np.array([z]))[0])
    return z, a


def activation_curves(name: str, lo: float = -6.0, hi: float = 6.0, n: int = 241):
    """(z, g(z), g'(z)) on a grid, from the library's ACTIVATIONS/DERIVATIVES dicts
    (the derivative is written in terms of the output A, as a layer keeps it)."""
    z = np.linspace(lo, hi, n)
    a = ACTIVATIONS[name](z)
    return z, a, DERIVATIVES[name](a, np.ones_like(a))


def activation_figure(names, title: str, x_title: str, y_title: str, deriv_word: str = "derivative",
                      lo: float = -6.0, hi: float = 6.0) -> go.Figure:
    """Each activation (solid) and its derivative (dotted), one colour per function."""
    data = []
    for name, col in zip(names, (BLUE, ORANGE, GREEN)):
        z, a, d = activation_curves(name, lo, hi)
        data.append({"type": "scatter", "x": z, "y": a, "name": name, "mode": "lines",
                     "line": {"color": col, "width": 2.5}})
        data.append({"type": "scatter", "x": z, "y": d, "name": f"{name} {deriv_word}", "mode": "lines",
                     "line": {"color": col, "width": 2, "dash": "dot"}})
    top = 2.2 if "relu" in names else 1.2
    return _fig(data, title, 420, {"xaxis": {"title": {"text": x_title}, "zeroline": True},
                                   "yaxis": {"title": {"text": y_title}, "range": [-1.2, top]},
                                   "legend": _legend_below()})


def neuron_figure(w, b: float, activation: str, x, title: str, x_title: str, y_title: str) -> go.Figure:
    """The neuron's output a = g(w1 x1 + w2 x2 + b) over the input plane, the line
    z = 0 and the current input marked."""
    g = np.linspace(-3, 3, 61)
    X1, X2 = np.meshgrid(g, g)
    A = ACTIVATIONS[activation](w[0] * X1 + w[1] * X2 + b)
    heat = {"type": "heatmap", "x": g, "y": g, "z": A, "colorscale": DIVERGING,
            "colorbar": {"title": {"text": "a"}, "thickness": 10, "len": 0.8},
            "hovertemplate": "x1=%{x:.2f}<br>x2=%{y:.2f}<br>a=%{z:.3f}<extra></extra>"}
    if activation != "relu":  # sigmoid: white at 0.5, tanh: white at 0
        heat.update(zmin=0.0, zmax=1.0) if activation == "sigmoid" else heat.update(zmin=-1.0, zmax=1.0)
    data = [heat]
    line = {"type": "scatter", "mode": "lines", "line": {"color": "black", "dash": "dash"}, "showlegend": False,
            "hoverinfo": "skip"}
    if abs(w[1]) > 1e-9:  # the line w1 x1 + w2 x2 + b = 0
        data.append({**line, "x": g, "y": -(w[0] * g + b) / w[1]})
    elif abs(w[0]) > 1e-9:
        data.append({**line, "x": [-b / w[0]] * 2, "y": [-3, 3]})
    data.append({"type": "scatter", "x": [x[0]], "y": [x[1]], "mode": "markers", "showlegend": False, "name": "x",
                 "marker": {"size": 13, "color": "white", "line": {"color": "black", "width": 2}}})
    return _fig(data, title, 380, {"xaxis": {"title": {"text": x_title}, "range": [-3, 3], "constrain": "domain"},
                                   "yaxis": {"title": {"text": y_title}, "range": [-3, 3], "scaleanchor": "x",
                                             "constrain": "domain"}})


# ------------------------------------------------------------------ forward propagation


def forward_net(seed: int = 3, sizes=(2, 3, 1)) -> dict:
    """A fixed small network (W1, b1, W2, b2) in the tutorial's layout (W is (out, in))."""
    rs = np.random.RandomState(seed)
    n_x, n_h, n_y = sizes
    return {"W1": rs.randn(n_h, n_x).round(1), "b1": rs.randn(n_h, 1).round(1),
            "W2": rs.randn(n_y, n_h).round(1), "b2": rs.randn(n_y, 1).round(1)}


def network_figure(params: dict, x, acts: dict, title: str, in_word: str = "input", hid_word: str = "hidden",
                   out_word: str = "output") -> go.Figure:
    """A 2-layer network drawn as nodes and edges: edge width |w|, colour the sign
    (blue +, red -), node labels the activations of one forward pass."""
    W1, W2 = params["W1"], params["W2"]
    cols = [np.asarray(x, float).ravel(), acts["A1"].ravel(), acts["A2"].ravel()]
    pos = [[(float(L), (len(c) - 1) / 2 - i) for i in range(len(c))] for L, c in enumerate(cols)]
    data = []
    for L, W in ((0, W1), (1, W2)):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                (x0, y0), (x1, y1) = pos[L][i], pos[L + 1][j]
                w = float(W[j, i])
                data.append({"type": "scatter", "x": [x0, x1], "y": [y0, y1], "mode": "lines", "hoverinfo": "text",
                             "text": f"w = {w:+.2f}", "showlegend": False,
                             "line": {"color": BLUE if w >= 0 else RED, "width": 1 + 2.5 * min(abs(w), 2)}})
    for L, c in enumerate(cols):
        xs, ys = zip(*pos[L])
        data.append({"type": "scatter", "x": xs, "y": ys, "mode": "markers+text", "showlegend": False,
                     "text": [f"{v:.2f}" for v in c], "textposition": "middle center", "hoverinfo": "skip",
                     "textfont": {"size": 12},
                     "marker": {"size": 44, "color": "#f4f6fa", "line": {"color": "#333", "width": 1.5}}})
    top = max(len(c) for c in cols) / 2 + 0.1
    ann = [{"x": L, "y": top, "text": word, "showarrow": False, "font": {"size": 12, "color": "#555"}}
           for L, word in enumerate((in_word, hid_word, out_word))]
    return _fig(data, title, 300, {"xaxis": {"visible": False, "range": [-0.4, 2.4]},
                                   "yaxis": {"visible": False, "range": [-top - 0.2, top + 0.35]},
                                   "annotations": ann, "plot_bgcolor": "rgba(0,0,0,0)"})


# ------------------------------------------------------------------ error and cost


def log_loss(p: float, y: int) -> float:
    """The loss the code minimises for one example, through the library's function."""
    return binary_cross_entropy(np.array([[p]]), np.array([[y]]))


def log_loss_figure(p: float, y: int, title: str, x_title: str, y_title: str) -> go.Figure:
    """-log p (true label 1) and -log(1-p) (true label 0) against p, current point marked."""
    ps = np.linspace(0.005, 0.995, 199)
    data = [
        {"type": "scatter", "x": ps, "y": -np.log(ps), "name": "y = 1: −log p", "mode": "lines",
         "line": {"color": BLUE, "width": 2.5}},
        {"type": "scatter", "x": ps, "y": -np.log(1 - ps), "name": "y = 0: −log(1−p)", "mode": "lines",
         "line": {"color": ORANGE, "width": 2.5}},
        {"type": "scatter", "x": [p], "y": [log_loss(p, y)], "mode": "markers", "showlegend": False,
         "marker": {"size": 13, "color": BLUE if y == 1 else ORANGE, "line": {"color": "black", "width": 1.5}}},
    ]
    return _fig(data, title, 360, {"xaxis": {"title": {"text": x_title}, "range": [0, 1]},
                                   "yaxis": {"title": {"text": y_title}, "range": [0, 5.5]},
                                   "legend": _legend_below(-0.25)})


# ------------------------------------------------------------------ the tiny 2-D network


def toy_data(kind: str = "moons", n: int = 200, noise: float = 0.15, seed: int = 0):
    """A 2-D two-class problem: X (2, n) in the tutorial's layout (one example per column),
    Y (1, n) of 0/1. ``kind``: moons, circles, xor, blobs."""
    rng = np.random.default_rng(seed)
    h = n // 2
    y = np.r_[np.zeros(h), np.ones(n - h)]
    if kind == "moons":
        t0, t1 = rng.uniform(0, np.pi, h), rng.uniform(0, np.pi, n - h)
        P = np.r_[np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]]
        P = (P - [0.5, 0.25]) * 1.6
    elif kind == "circles":
        t = rng.uniform(0, 2 * np.pi, n)
        r = np.where(y == 1, 0.7, 1.7)
        P = np.c_[r * np.cos(t), r * np.sin(t)]
    elif kind == "xor":
        c = rng.integers(0, 2, (n, 2))
        y = (c[:, 0] ^ c[:, 1]).astype(float)
        P = (c * 2 - 1) * 1.1 + rng.normal(0, 0.35, (n, 2))
    elif kind == "blobs":
        P = np.where(y[:, None] == 1, [1.0, 0.6], [-0.9, -0.7]) + rng.normal(0, 0.6, (n, 2))
    else:
        raise ValueError(f"unknown toy problem {kind!r}")
    P = P + rng.normal(0, noise, P.shape)
    return P.T.copy(), y[None, :]


def toy_params(n_h: int, seed: int = 0, scale: float = 1.0) -> dict:
    """Parameters for a 2-n_h-1 network in the tutorial's layout. The tutorial multiplies
    randn by 0.01, which on a 2-D problem leaves every hidden unit nearly equal for
    hundreds of steps; ``scale`` 1 breaks that symmetry at once."""
    rs = np.random.RandomState(seed)
    return {"W1": rs.randn(n_h, 2) * scale, "b1": np.zeros((n_h, 1)),
            "W2": rs.randn(1, n_h) * scale, "b2": np.zeros((1, 1))}


def toy_cost(params: dict, X, Y) -> tuple[float, float]:
    """(log loss, accuracy) of the network on X, Y (the tutorial's forward pass)."""
    A2 = tutorial_binary.forward_propagation(X, params)["A2"]
    return binary_cross_entropy(A2, Y), float(np.mean((A2 > 0.5) == (Y > 0.5)))


def gd_steps(params: dict, X, Y, steps: int, lr: float, fixed: bool = True):
    """``steps`` full-batch gradient-descent steps with the tutorial's functions
    (forward_propagation -> backward_propagation -> update_parameters). Returns the new
    params (the input dict is not modified) and the cost before each step."""
    p = {k: np.array(v, dtype=float) for k, v in params.items()}
    costs = []
    for _ in range(int(steps)):
        acts = tutorial_binary.forward_propagation(X, p)
        costs.append(binary_cross_entropy(acts["A2"], Y))
        grads = tutorial_binary.backward_propagation(p, acts, X, Y, fixed=fixed)
        p = tutorial_binary.update_parameters(p, grads, lr)
    return p, costs


def boundary_figure(params: dict, X, Y, title: str, x_title: str, y_title: str, n: int = 70) -> go.Figure:
    """P(class 1) of the network over the plane (the 0.5 contour is the decision
    boundary) and the training points."""
    lo, hi = X.min(axis=1) - 0.5, X.max(axis=1) + 0.5
    gx, gy = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    G = np.stack(np.meshgrid(gx, gy)).reshape(2, -1)
    P = tutorial_binary.forward_propagation(G, params)["A2"].reshape(n, n)
    data = [
        {"type": "contour", "x": gx, "y": gy, "z": P, "zmin": 0, "zmax": 1, "colorscale": DIVERGING,
         "opacity": 0.8, "showlegend": False, "contours": {"start": 0, "end": 1, "size": 0.1}, "line": {"width": 0},
         "showscale": False, "hoverinfo": "skip"},  # the caption under the figure explains the colours
        {"type": "contour", "x": gx, "y": gy, "z": P, "showscale": False, "hoverinfo": "skip", "showlegend": False,
         "contours": {"start": 0.5, "end": 0.5, "size": 1, "coloring": "none"}, "line": {"color": "black", "width": 2}},
    ]
    for c, col in ((0, "#1d4f91"), (1, "#b3261e")):
        m = Y[0] == c
        data.append({"type": "scatter", "x": X[0, m], "y": X[1, m], "mode": "markers", "name": f"y = {c}",
                     "showlegend": False, "marker": {"size": 6, "color": col, "line": {"color": "white", "width": 0.8}}})
    return _fig(data, title, 380, {"xaxis": {"title": {"text": x_title}, "range": [lo[0], hi[0]], "constrain": "domain"},
                                   "yaxis": {"title": {"text": y_title}, "range": [lo[1], hi[1]], "scaleanchor": "x",
                                             "constrain": "domain"}})


def cost_figure(costs, title: str, x_title: str, y_title: str) -> go.Figure:
    data = [{"type": "scatter", "x": np.arange(len(costs)), "y": np.asarray(costs, float),
             "mode": "lines" if len(costs) > 1 else "markers",
             "line": {"color": BLUE, "width": 2}, "hovertemplate": "%{x}: %{y:.4f}<extra></extra>"}]
    return _fig(data, title, 300, {"xaxis": {"title": {"text": x_title}, "rangemode": "tozero"},
                                   "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"}})


# ------------------------------------------------------------------ convolution, stride, pooling

KERNELS = {
    "vertical": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],     # Sobel: vertical edges
    "horizontal": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],   # Sobel: horizontal edges
    "diagonal": [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]],
    "blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}


def conv2d(image, kernel, stride: int = 1, bias: float = 0.0) -> np.ndarray:
    """A 'valid' convolution of image (H, W) with kernel (k, k) -> (Ho, Wo):
    one image, one channel, one filter, through ``reference.conv2d_forward``."""
    X = np.asarray(image, np.float64)[None, :, :, None]  # (1, H, W, 1)
    W = np.asarray(kernel, np.float64)[:, :, None, None]  # (k, k, 1, 1)
    Z = reference.conv2d_forward(X, W, np.array([bias]), (stride, stride))
    return Z[0, :, :, 0]


def max_pool(image, size: int = 2) -> np.ndarray:
    """Max pooling of (H, W) with a size×size window and stride = size (``reference.maxpool2d_forward``)."""
    X = np.asarray(image, np.float64)[None, :, :, None]  # (1, H, W, 1)
    return reference.maxpool2d_forward(X, (size, size), (size, size))[0, :, :, 0]


def conv_position(k: int, out_w: int, stride: int) -> tuple[int, int, int, int]:
    """Raster position k of the sliding kernel -> (out_row, out_col, in_row, in_col):
    the output pixel and the top-left corner of the window in the input."""
    r, c = divmod(int(k), int(out_w))
    return r, c, r * stride, c * stride


def _frame(h: int, w: int, axes: str = "") -> dict:
    """A thin grey frame around an h×w image panel (white pixels would melt into the page)."""
    return {"type": "rect", "x0": -0.5, "x1": w - 0.5, "y0": -0.5, "y1": h - 0.5, "xref": f"x{axes}",
            "yref": f"y{axes}", "line": {"color": "#bbbbbb", "width": 1}}


def _square(r0, c0, size, axes: str = "", color=RED, width=3) -> dict:
    return {"type": "rect", "x0": c0 - 0.5, "x1": c0 + size - 0.5, "y0": r0 - 0.5, "y1": r0 + size - 0.5,
            "xref": f"x{axes}", "yref": f"y{axes}", "line": {"color": color, "width": width}}


def conv_figure(image, out, k: int, stride: int, ksize: int, titles, title: str) -> go.Figure:
    """Input digit with the kernel window at position k, and the output map filled up
    to position k (raster order, as the kernel slides), current output pixel marked."""
    Ho, Wo = out.shape
    r, c, i0, j0 = conv_position(k, Wo, stride)
    shown = np.full(out.shape, np.nan)
    shown.reshape(-1)[: k + 1] = out.reshape(-1)[: k + 1]
    m = float(np.abs(out).max()) or 1.0
    hover = "row %{y}, col %{x}: %{z:.2f}<extra></extra>"
    data = [
        {"type": "heatmap", "z": image, "colorscale": INK, "reversescale": True, "showscale": False, "zmin": 0,
         "zmax": 1, "hovertemplate": hover, "xaxis": "x", "yaxis": "y"},
        {"type": "heatmap", "z": np.zeros(out.shape), "colorscale": [[0, "#d9d9d9"], [1, "#d9d9d9"]],  # not yet computed
         "showscale": False, "hoverinfo": "skip", "xaxis": "x2", "yaxis": "y2"},
        {"type": "heatmap", "z": shown, "colorscale": DIVERGING, "zmin": -m, "zmax": m,
         "showscale": False, "hovertemplate": hover, "xaxis": "x2", "yaxis": "y2"},
    ]
    lay = _image_axes(2, titles, 0.06)
    lay["shapes"] = [_frame(*np.shape(image)), _frame(Ho, Wo, "2"), _square(i0, j0, ksize), _square(r, c, 1, "2")]
    return _fig(data, title, 330, lay)


def maps_figure(maps, titles, title: str, height: int = 300, diverging: bool = True) -> go.Figure:
    """Several 2-D maps side by side, each with its own scale, square pixels."""
    data = []
    for i, z in enumerate(maps):
        z = np.asarray(z, float)
        m = float(np.abs(z).max()) or 1.0
        s = "" if i == 0 else str(i + 1)
        data.append({"type": "heatmap", "z": z, "colorscale": DIVERGING if diverging else INK,
                     "reversescale": not diverging, "showscale": False, "zmin": -m if diverging else 0, "zmax": m,
                     "hovertemplate": "row %{y}, col %{x}: %{z:.2f}<extra></extra>", "xaxis": f"x{s}", "yaxis": f"y{s}"})
    lay = _image_axes(len(maps), titles)
    lay["shapes"] = [_frame(*np.shape(z), "" if i == 0 else str(i + 1)) for i, z in enumerate(maps)]
    return _fig(data, title, height, lay)


def out_size(n: int, k: int, stride: int, pad: int = 0) -> int:
    """Output size of a convolution or pooling along one axis: (n + 2p - k) // s + 1."""
    return (n + 2 * pad - k) // stride + 1


# ------------------------------------------------------------------ softmax


def softmax_figure(logits, title: str, x_title: str, y_title: str, names=None) -> go.Figure:
    p = softmax(np.asarray(logits, np.float64)[None, :])[0]  # the library's softmax, one row
    names = [str(i) for i in range(len(p))] if names is None else list(names)
    data = [{"type": "bar", "x": names, "y": p, "text": [f"{v:.3f}" for v in p], "textposition": "outside",
             "marker": {"color": [RED if i == int(np.argmax(p)) else BLUE for i in range(len(p))]},
             "hovertemplate": "%{x}: %{y:.3f}<extra></extra>"}]
    return _fig(data, title, 320, {"xaxis": {"title": {"text": x_title}, "type": "category"},
                                   "yaxis": {"title": {"text": y_title}, "range": [0, 1.15]}})


# ------------------------------------------------------------------ mini-batch gradient noise


def logistic_gradient(w, X, y) -> np.ndarray:
    """Gradient of the mean log loss of a logistic unit p = sigmoid(X @ w) (no bias)
    with respect to w: X.T @ (p - y) / n, via the library's ``output_delta``.
    X (n, d), y (n,) of 0/1 -> (d,)."""
    P = ACTIVATIONS["sigmoid"](X @ np.asarray(w, float))[:, None]  # (n, d) @ (d,) -> (n, 1)
    return (X.T @ output_delta(P, y))[:, 0]  # (d, n) @ (n, 1) -> (d,)


def batch_data(n: int = 1024, seed: int = 0):
    """The 2-D problem of the batch demo: X (n, 2), y (n,) of 0/1, two overlapping blobs."""
    X, Y = toy_data("blobs", n, noise=0.3, seed=seed)
    return X.T.copy(), Y[0]


W_BATCH = np.array([-0.5, 1.5])  # where the gradients are taken: a weight vector far from the optimum


def minibatch_gradients(X, y, batch_size: int, n_batches: int = 40, w=W_BATCH, seed: int = 0):
    """(full-batch gradient (d,), mini-batch gradients (n_batches, d)): each mini-batch
    drawn at random without replacement, as one step of an epoch would see it."""
    rng = np.random.default_rng(seed)
    full = logistic_gradient(w, X, y)
    b = min(int(batch_size), len(X))
    g = np.stack([logistic_gradient(w, X[idx], y[idx])
                  for idx in (rng.choice(len(X), b, replace=False) for _ in range(n_batches))])
    return full, g


def angle_spread(full, grads) -> float:
    """Root-mean-square angle (degrees) between each mini-batch gradient and the full one."""
    a = np.arctan2(grads[:, 1], grads[:, 0]) - np.arctan2(full[1], full[0])
    a = (a + np.pi) % (2 * np.pi) - np.pi
    return float(np.degrees(np.sqrt(np.mean(a ** 2))))


def spread_by_batch_size(X, y, sizes, n_batches: int = 200, seed: int = 0) -> list[float]:
    return [angle_spread(*minibatch_gradients(X, y, s, n_batches, seed=seed + i)) for i, s in enumerate(sizes)]


def arrows_figure(full, grads, title: str, x_title: str, y_title: str, full_name: str, mini_name: str) -> go.Figure:
    """Gradient vectors from the origin: mini-batch ones (green) and the full batch (blue),
    as in the tutorial's figure."""
    xs, ys = [], []
    for g in grads:
        xs += [0.0, float(g[0]), None]
        ys += [0.0, float(g[1]), None]
    data = [
        {"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": mini_name, "opacity": 0.7, "hoverinfo": "skip",
         "line": {"color": GREEN, "width": 1.5}},
        {"type": "scatter", "x": [0, float(full[0])], "y": [0, float(full[1])], "mode": "lines+markers",
         "name": full_name, "line": {"color": BLUE, "width": 4}, "marker": {"size": [0, 10]}},
    ]
    P = np.vstack([grads, full[None], np.zeros((1, 2))])
    lo, hi = P.min(axis=0), P.max(axis=0)
    pad = 0.08 * float(max(hi - lo)) or 0.1
    return _fig(data, title, 420, {
        "xaxis": {"title": {"text": x_title}, "range": [lo[0] - pad, hi[0] + pad], "zeroline": True,
                  "constrain": "domain"},
        "yaxis": {"title": {"text": y_title}, "range": [lo[1] - pad, hi[1] + pad], "zeroline": True,
                  "scaleanchor": "x", "constrain": "domain"},
        "legend": _legend_below()})


def spread_figure(sizes, spreads, title: str, x_title: str, y_title: str) -> go.Figure:
    data = [{"type": "scatter", "x": [str(s) for s in sizes], "y": list(spreads), "mode": "lines+markers+text",
             "text": [f"{v:.0f}°" for v in spreads], "textposition": "top center", "line": {"color": GREEN, "width": 2}}]
    return _fig(data, title, 320, {"xaxis": {"title": {"text": x_title}, "type": "category"},
                                   "yaxis": {"title": {"text": y_title}, "range": [0, max(spreads) * 1.25 + 1]}})

