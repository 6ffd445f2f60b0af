"""The embedding map: where a model puts digits in its last hidden layer, flattened to 2-D.

:func:`embedding` runs a model on a few thousand digits, keeps the activations of its last
hidden layer (:func:`hidden_activations`: the input of the output layer) and projects them
to 2-D with scikit-learn:

* ``"pca"`` (default): the two directions of largest variance (``PCA(2)``, full SVD:
  deterministic). A new drawing is placed exactly, with the fitted components.
* ``"tsne"``: ``TSNE(2, init="pca", random_state=seed)``, which keeps neighbours together.
  t-SNE has no transform for new points, so a drawing is placed at the mean of the 2-D points
  of its :data:`NEIGHBOURS` nearest digits in activation space (Euclidean) - an approximation,
  good enough to see which cluster it falls in.

Results are cached in memory (:data:`CACHE_SIZE` maps, least recently used forgotten first),
keyed by the stored model's name, creation time and weights' checksum (a retrained model is
never served a stale map), the method, the seed and the digits' bytes. A map asked for again
while it is being computed (two sessions, one model) is computed once; t-SNEs run one at a time.
:func:`embedding_figure` draws the map with Plotly; :func:`map_digits` chooses the digits.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import tutorial_binary
from .gradients import ExplainError, predictor_of, unit_images
from .models import BinaryPredictor
from .nn import Dropout
from .nn.blas import threadpool_limits

METHODS = ("pca", "tsne")
NEIGHBOURS = 5  # t-SNE: a drawing goes to the mean of this many nearest digits' points
CACHE_SIZE = 8
MIN_IMAGES = 10


@dataclass
class Embedding:
    """A 2-D map of digits in a model's last hidden layer.

    points      : (n, 2) the digits' 2-D points
    labels      : (n,) their labels (-1 when unknown)
    activations : (n, h) their last hidden layer's activations
    method, seed: how it was made
    """

    points: np.ndarray
    labels: np.ndarray
    activations: np.ndarray
    method: str
    seed: int
    pca: object = None  # the fitted sklearn PCA ("pca" only)

    def project(self, activations) -> np.ndarray:
        """(m, h) activations of new digits -> (m, 2) points on this map (see the module)."""
        a = np.atleast_2d(np.asarray(activations, np.float32))
        if self.pca is not None:
            return self.pca.transform(a).astype(np.float32)
        d = ((a[:, None, :] - self.activations[None]) ** 2).sum(-1)  # (m, n) squared distances
        near = np.argsort(d, axis=1, kind="stable")[:, :NEIGHBOURS]  # (m, NEIGHBOURS)
        return self.points[near].mean(axis=1)  # (m, NEIGHBOURS, 2) -> (m, 2)


def hidden_activations(model, images, batch_size: int = 500) -> np.ndarray:
    """(n, h) float32: the last hidden layer of ``model`` for images (uint8 or [0, 1]).

    For a :mod:`digitlab.nn` net (NumPy nets, a Keras CNN's twin, scikit-learn's twin) the
    output of the layer before the output layer, with dropout off; for the tutorial's 0-vs-1
    net its hidden layer A1 (n_h units)."""
    pred = predictor_of(model)
    x = unit_images(images)
    if isinstance(pred, BinaryPredictor):
        scale = 255.0 * float(pred.params.get("input_scale", 1 / 255))  # [0, 1] -> 0-255 -> the net's input
        cols = x.reshape(len(x), 784).T.astype(np.float64) * scale  # (784, n): one digit per column
        with np.errstate(over="ignore"), threadpool_limits(1, user_api="blas"):
            return tutorial_binary.forward_propagation(cols, pred.params)["A1"].T.astype(np.float32)  # (n, n_h)
    net = pred.net
    body = net.layers[:-1]  # every layer but the output layer
    if not any(layer.PARAMS for layer in body):
        raise ExplainError("explain.no_hidden_layer", model=getattr(model, "name", type(pred).__name__))
    out = []
    with threadpool_limits(net._threads(), user_api="blas"):  # as predict_proba: 1 BLAS thread, the conv workers set
        for i in range(0, len(x), batch_size):
            a = np.asarray(x[i : i + batch_size], net.dtype).reshape((-1,) + tuple(net.input_shape))
            for layer in body:
                a = a if isinstance(layer, Dropout) else layer.forward(a, False)
            out.append(a.reshape(len(a), -1))
    return np.concatenate(out).astype(np.float32, copy=False)


def project(emb: Embedding, model, image) -> np.ndarray:
    """(2,) where one drawing (28×28) falls on ``emb``, a map of ``model``."""
    return emb.project(hidden_activations(model, unit_images(image)[:1]))[0]


# ------------------------------------------------------------------ computing and caching


def fit_projection(acts: np.ndarray, method: str, seed: int):
    """(points (n, 2), fitted PCA or None) of activations (n, h) with scikit-learn, on one thread
    (BLAS and OpenMP): on 2 shared cores t-SNE's two OpenMP threads took 66 s for 2,000 digits
    while other processes held the cores, one thread 19 s (as for BLAS: docs/architecture.md,
    "Threads and BLAS")."""
    from threadpoolctl import threadpool_limits as limits  # a fresh scan, after the import: sees its OpenMP

    if method == "pca":
        from sklearn.decomposition import PCA

        with limits(1):
            pca = PCA(n_components=2, svd_solver="full", random_state=seed).fit(acts)
            return pca.transform(acts).astype(np.float32), pca
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(acts) - 1) / 3)  # t-SNE needs perplexity < n
    with limits(1):
        tsne = TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity, learning_rate="auto")
        return tsne.fit_transform(acts).astype(np.float32), None


_cache: "OrderedDict[tuple, tuple[object, Embedding]]" = OrderedDict()
_cache_lock = threading.Lock()
_computing: dict[tuple, threading.Lock] = {}  # one lock per map being computed: asked twice, computed once
# t-SNE holds a core for 19-66 s (2,000 digits): in a room, many people opening the map at once
# would otherwise run as many of them side by side in the server, starving every page's reruns.
# One at a time; the PCA maps (~2 s) do not wait behind them.
TSNE_AT_ONCE = 1
_tsne_slots = threading.BoundedSemaphore(TSNE_AT_ONCE)


def model_key(model) -> tuple:
    """What identifies a model's map: a stored model's name, its meta's ``created`` and weights'
    sha256 (a retrained or replaced model gets a new key); a bare predictor's identity."""
    meta = getattr(model, "meta", None)
    if meta is not None:
        weights = (meta.get("files") or {}).get("weights") or {}
        return ("stored", model.name, meta.get("created"), weights.get("sha256"))
    return ("object", id(model))


def _data_key(images, labels) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in (images, labels):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def embedding(model, images, labels=None, *, method: str = "pca", seed: int = 0, cache: bool = True) -> Embedding:
    """The 2-D map of ``images`` (n, 28, 28) in ``model``'s last hidden layer (see the module),
    computed once per (model, method, seed, images) and then served from the cache (the same
    object: treat it as read-only). ``model``: a stored model or a predictor; ``labels`` (n,)
    colour the map (None: -1)."""
    if method not in METHODS:
        raise ExplainError("explain.bad_method", method=method, methods=", ".join(METHODS))
    images = np.asarray(images)
    labels = np.full(len(images), -1) if labels is None else np.asarray(labels)
    if len(images) < MIN_IMAGES:
        raise ExplainError("explain.too_few_images", n=len(images), min=MIN_IMAGES)
    key = (model_key(model), method, int(seed), _data_key(images, labels))
    if not cache:
        return _compute(model, images, labels, method, int(seed))
    hit = _cached(key)
    if hit is not None:
        return hit
    with _cache_lock:
        computing = _computing.setdefault(key, threading.Lock())
    with computing:  # a second session asking for the same map waits for the first's, then reads it
        hit = _cached(key)
        if hit is not None:
            return hit
        try:
            emb = _compute(model, images, labels, method, int(seed))
            with _cache_lock:  # the entry keeps the model: a bare predictor's id stays its own
                _cache[key] = (model, emb)
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
        finally:
            with _cache_lock:
                _computing.pop(key, None)
    return emb


def _cached(key) -> Embedding | None:
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit[1]
    return None


def _compute(model, images, labels, method: str, seed: int) -> Embedding:
    acts = hidden_activations(model, images)
    if method == "tsne":
        with _tsne_slots:  # one t-SNE at a time in this process (see TSNE_AT_ONCE)
            points, pca = fit_projection(acts, method, seed)
    else:
        points, pca = fit_projection(acts, method, seed)
    return Embedding(points, labels.copy(), acts, method, seed, pca)


def map_digits(n: int = 2000, seed: int = 0):
    """(images (n, 28, 28) uint8, labels (n,), source name): ``n`` digits to map, drawn (seeded)
    from the official MNIST test set when it is there (:func:`digitlab.evaluation.official_test_path`),
    else from the bundled sample's validation part (the seeded 20% split)."""
    from . import data, evaluation

    path = evaluation.official_test_path()
    ds = data.load(str(path)) if path is not None else data.stratified_split(data.load_sample(), 0.2, 0)[1]
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False))
    return ds.images[idx], ds.labels[idx], ds.name


# ------------------------------------------------------------------ the figure


def embedding_figure(emb: Embedding, drawing=None, *, lang: str = "en", title: str | None = None):
    """The map as a Plotly figure: one trace per digit (coloured by class, legend "digit k"),
    each point's ``customdata`` = [index into the mapped images, label] (a page shows the
    clicked digit from it), hover "digit k · image #i"; ``drawing`` (2,) is drawn as a star."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    from . import texts

    fig = go.Figure()
    hover = texts.text(lang, "explain.map.hover", digit="%{customdata[1]}", index="%{customdata[0]}")
    for k in np.unique(emb.labels):
        idx = np.flatnonzero(emb.labels == k)
        fig.add_trace(go.Scatter(
            x=emb.points[idx, 0], y=emb.points[idx, 1], mode="markers",
            name=texts.text(lang, "explain.map.digit", digit=int(k)) if k >= 0 else "?",
            marker={"size": 5, "opacity": 0.7, "color": qualitative.D3[int(k) % 10] if k >= 0 else "grey"},
            # plain lists: a NumPy array reaches Streamlit's selection event as {"0": i, "1": label} rows
            customdata=np.column_stack([idx, emb.labels[idx]]).tolist(), hovertemplate=hover + "<extra></extra>"))
    if drawing is not None:
        fig.add_trace(go.Scatter(
            x=[float(drawing[0])], y=[float(drawing[1])], mode="markers", name=texts.text(lang, "explain.map.drawing"),
            marker={"symbol": "star", "size": 18, "color": "black", "line": {"width": 1.5, "color": "white"}},
            hoverinfo="name"))
    fig.update_layout(title=title, xaxis={"showticklabels": False, "zeroline": False},
                      yaxis={"showticklabels": False, "zeroline": False, "scaleanchor": "x"},
                      margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, legend={"itemsizing": "constant"},
                      clickmode="event+select")
    return fig
