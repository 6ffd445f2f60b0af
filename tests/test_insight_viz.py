import numpy as np
import pytest

from digitlab import insight, live_html, models, viz
from digitlab.store import StoredModel


def test_confusion_mistakes_worst():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    P = np.zeros((7, 3))
    P[[0, 1, 2, 3, 4, 5, 6], [0, 1, 1, 1, 1, 1, 2]] = [0.9, 0.6, 0.8, 0.7, 0.55, 0.95, 0.9]
    cm = insight.confusion(y, P.argmax(1), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [0, 2, 1]]
    assert insight.worst_confusion(cm) == (2, 1)
    assert insight.mistakes(y, P, 2, 1).tolist() == [5, 4]  # most confident first
    assert insight.worst_confusion(np.eye(3, dtype=int)) is None


def test_normalize_maps_each_channel():
    a = np.stack([np.arange(16.0).reshape(4, 4), np.full((4, 4), 3.0)], axis=-1)
    m = insight.normalize_maps(a)
    assert m.shape == (2, 4, 4)
    assert m[0].min() == 0 and m[0].max() == 1 and np.all(m[1] == 0)


def _sk_model():
    rng = np.random.default_rng(0)
    arrays = {"coef0": rng.normal(size=(784, 6)).astype(np.float32), "intercept0": np.zeros(6, np.float32),
              "coef1": rng.normal(size=(6, 10)).astype(np.float32), "intercept1": np.zeros(10, np.float32)}
    spec = {"activation": "relu", "scale_pixels": True, "n_layers": 2, "classes": list(range(10))}
    return StoredModel("sk", {"kind": "sklearn-mlp"}, models.build_predictor("sklearn-mlp", spec, arrays), None)


def test_sklearn_weights_and_layer_replay():
    m = _sk_model()
    w = insight.first_layer_weights(m)
    assert w.kind == "dense" and w.images.shape == (6, 28, 28)
    img = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    outs = [o for o in insight.layer_outputs(m, img) if not o.name.startswith("flatten")]
    assert [o.value.shape for o in outs] == [(6,), (10,)]
    # the NumPy twin's last layer gives the predictor's probabilities
    assert np.allclose(outs[-1].value, m.predict_proba(img[None])[0], atol=1e-5)


def test_cnn_weights_and_maps():
    from digitlab.nn import tutorial_cnn

    net = tutorial_cnn(seed=0)
    spec = {"architecture": net.to_config()}
    m = StoredModel("c", {"kind": "numpy-cnn"}, models.build_predictor("numpy-cnn", spec, models.net_arrays(net)), None)
    w = insight.first_layer_weights(m)
    assert w.kind == "conv" and w.images.shape == (32, 3, 3)
    outs = insight.layer_outputs(m, np.zeros((28, 28), np.uint8))
    kinds = [(o.kind, o.value.shape) for o in outs]
    assert kinds[0] == ("maps", (26, 26, 32)) and kinds[1] == ("maps", (24, 24, 64))
    assert kinds[-1] == ("vector", (10,))


def test_predict_all_reports_a_broken_model_without_hiding_others():
    good = _sk_model()

    def load(name):
        if name == "bad":
            raise OSError("disk on fire")
        return good

    out = insight.predict_all(["sk", "bad"], np.zeros((28, 28), np.uint8), load)
    assert out[0]["digit"] == int(np.argmax(out[0]["proba"])) and out[0]["proba"].shape == (10,)
    assert "disk on fire" in out[1]["error"]


def test_mosaic_places_images():
    imgs = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    m = viz.mosaic(imgs, cols=2, gap=1, fill=-1)
    assert m.shape == (5, 5)
    assert np.array_equal(m[0:2, 3:5], imgs[1]) and np.array_equal(m[3:5, 0:2], imgs[2])
    assert np.all(m[3:5, 3:5] == -1)


def test_digit_grid_captions_mistakes_in_red():
    imgs = np.zeros((3, 28, 28), np.uint8)
    fig = viz.digit_grid(imgs, np.array([1, 2, 3]), preds=np.array([1, 5, 3]))
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["1", "2→5", "3"]
    assert fig.layout.annotations[1].font.color == "#c62828"


def test_training_curve_and_prob_matrix():
    ev = [{"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.75},
          {"epoch": 2, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.85}]
    fig = viz.training_curve(ev, [{"epoch": 1, "batch": 5, "n_batches": 10, "accuracy": 0.7}], metric="accuracy")
    names = [t.name for t in fig.data]
    assert names == ["training (per batch)", "training", "validation"]
    assert list(fig.data[2].y) == pytest.approx([75, 85]) and fig.data[0].x[0] == pytest.approx(0.5)
    assert fig.layout.yaxis.title.text == "accuracy (%)"
    pm = viz.prob_matrix(["a", "b"], np.eye(10)[[3, 7]])
    assert [s.x0 + 0.5 for s in pm.layout.shapes] == [3, 7]
    # the layout the Draw page shows (built in one call): title, rows top-down, digits as categories
    assert pm.layout.title.text == "Probabilities (%) per model" and pm.layout.height == 110 + 34 * 2
    assert pm.layout.yaxis.autorange == "reversed" and pm.layout.xaxis.type == "category"
    assert pm.layout.xaxis.title.text == "digit" and list(pm.data[0].y) == ["a", "b"]
    assert pm.data[0].text[0][3] == "100" and pm.data[0].text[0][0] == ""
    assert viz.curves_from_meta({"loss": [1, 0.5], "val_accuracy": [0.5, 0.7]})[1] == {
        "epoch": 2, "loss": 0.5, "accuracy": None, "val_loss": None, "val_accuracy": 0.7}


# ---------------------------------------------------------------- the live view (SVG in HTML)

SVG_NS = "{http://www.w3.org/2000/svg}"


def _svg_tree(svg: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_nice_ticks_are_round_and_inside():
    assert live_html.nice_ticks(0, 5, 5, integer=True) == [0, 1, 2, 3, 4, 5]
    assert live_html.nice_ticks(47, 100, 4) == [60, 80, 100]
    assert live_html.nice_ticks(0.12, 0.9, 4) == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert live_html.nice_ticks(0, 30, 5, integer=True) == [0, 10, 20, 30]
    assert live_html.nice_ticks(0, 3, 5, integer=True) == [0, 1, 2, 3]  # epochs: whole numbers only
    assert all(str(v) != "-0.0" for v in live_html.nice_ticks(-1e-12, 1, 4))
    assert live_html.nice_ticks(2, 2) == [2.0] and live_html.nice_ticks(float("nan"), 1) == []


def test_curve_series_drops_non_finite_points_and_thins_batches():
    ev = [{"epoch": 1, "loss": 0.5, "val_loss": float("nan")}, {"epoch": 2, "loss": float("inf"), "val_loss": 0.4}]
    bs = [{"epoch": 1, "batch": b, "n_batches": 500, "loss": 1.0 / b} for b in range(1, 501)]
    tr = {t["role"]: t for t in viz.curve_series(ev, bs, metric="loss", max_batch_points=50)}
    assert len(tr["batch"]["x"]) == 50 and tr["batch"]["x"][0] == pytest.approx(1 / 500) and tr["batch"]["x"][-1] == 1.0
    assert tr["train"]["x"] == [1] and tr["val"]["x"] == [2]  # nan and inf left out
    assert viz.curve_series([], [], metric="accuracy") == []  # nothing yet: no empty traces


def test_svg_chart_draws_every_point_with_title_axes_and_legend():
    ev = [{"epoch": e, "accuracy": 0.5 + 0.1 * e, "val_accuracy": 0.45 + 0.1 * e} for e in (1, 2, 3)]
    bs = [{"epoch": 1, "batch": b, "n_batches": 4, "accuracy": 0.1 * b} for b in range(1, 5)]
    svg = live_html.svg_chart(viz.curve_series(ev, bs, metric="accuracy"), title="Accuracy <while> training",
                        x_title="epoch", y_title="accuracy (%)", x_max=10, y_range=(0, 100), ink="#fafafa")
    root = _svg_tree(svg)
    texts = [t.text for t in root.iter(SVG_NS + "text")]
    assert "Accuracy <while> training" in texts  # escaped in the markup, intact in the document
    assert {"epoch", "accuracy (%)", "training (per batch)", "training", "validation"} <= set(texts)
    assert "10" in texts and "0" in texts  # the x axis spans every epoch of the job, not only those done
    lines = {g.get("class"): g for g in root.iter(SVG_NS + "g") if (g.get("class") or "").startswith("dl-series")}
    assert len(lines["dl-series dl-batch"].find(SVG_NS + "polyline").get("points").split()) == 4
    assert len(lines["dl-series dl-val"].findall(SVG_NS + "circle")) == 3
    tips = [c.find(SVG_NS + "title").text for c in lines["dl-series dl-val"].findall(SVG_NS + "circle")]
    assert tips[-1] == "validation, epoch 3: 75"
    assert "#fafafa" in root.get("style")
    # y: a higher value is drawn higher (smaller y), x: later is further right
    pts = [tuple(map(float, p.split(","))) for p in lines["dl-series dl-train"].find(SVG_NS + "polyline").get("points").split()]
    assert pts[0][0] < pts[1][0] < pts[2][0] and pts[0][1] > pts[1][1] > pts[2][1]


def test_svg_chart_without_data_and_with_one_point():
    _svg_tree(live_html.svg_chart([], title="Loss", x_title="epoch", y_title="loss"))
    one = live_html.svg_chart(viz.curve_series([{"epoch": 1, "loss": 0.7}], metric="loss"), title="Loss",
                        x_title="epoch", y_title="loss", y_range=(0, float("inf")))
    assert len(list(_svg_tree(one).iter(SVG_NS + "circle"))) == 1


def test_live_panel_progress_metrics_and_chart_images():
    import base64
    import html.parser

    svg = live_html.svg_chart([], title="Loss", x_title="epoch", y_title="loss")
    out = live_html.live_panel(status="Training <CNN>", fraction=1.7, metrics=[("Epoch", "2/5"), ("Loss", "0.1234")],
                         charts=[live_html.svg_img(svg, "Loss while training")])

    class P(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.bar, self.imgs, self.values, self._in_value, self.text = None, [], [], False, []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if a.get("role") == "progressbar":
                self.bar = a
            if tag == "img":
                self.imgs.append(a)
            self._in_value = a.get("class") == "dl-value"

        def handle_data(self, data):
            self.text.append(data)
            if self._in_value:
                self.values.append(data)
                self._in_value = False

    p = P()
    p.feed(out)
    assert p.bar["aria-valuenow"] == "100"  # clipped to 0-100 %
    assert p.values == ["2/5", "0.1234"] and "Training <CNN>" in p.text
    assert p.imgs[0]["alt"] == "Loss while training"
    assert base64.b64decode(p.imgs[0]["src"].split(",", 1)[1]).decode() == svg


def test_svg_chart_legend_wraps_instead_of_overflowing():
    long = [{"role": r, "name": f"{r} with a rather long legend label", "x": [1, 2], "y": [1.0, 0.5],
             "color": "#000", "width": 1, "markers": False} for r in ("batch", "train", "val")]
    root = _svg_tree(live_html.svg_chart(long, title="t", x_title="epoch", y_title="loss", width=360, height=250))
    legend = [t for t in root.iter(SVG_NS + "text") if (t.text or "").endswith("legend label")]
    assert len({t.get("y") for t in legend}) > 1  # more than one row
    assert all(float(t.get("x")) + 6 * len(t.text) <= 360 + 10 for t in legend)
    assert float(root.get("viewBox").split()[3]) > 250  # the picture grew to hold the rows
    short = live_html.svg_chart(long[:1], title="t", x_title="epoch", y_title="loss", width=360, height=250)
    assert _svg_tree(short).get("viewBox") == "0 0 360 250"


def test_svg_edge_values_tiny_flat_negative_and_control_characters():
    assert len(set(live_html.nice_ticks(1e-12, 3e-12, 4))) >= 2  # tiny losses still get ticks
    flat = viz.curve_series([{"epoch": e, "loss": 0.3 + 1e-9 * e} for e in (1, 2, 3)], metric="loss")
    root = _svg_tree(live_html.svg_chart(flat, title="t", x_title="epoch", y_title="loss", y_range=(0, float("inf"))))
    labels = [t.text for t in root.iter(SVG_NS + "text") if t.get("text-anchor") == "end"]
    assert len(labels) >= 2 and len(set(labels)) == len(labels)  # no "0.3, 0.3, 0.3"
    neg = [{"role": "train", "name": "x\x01y", "x": [1, 2, 3], "y": [-3.0, -2.0, -1.0], "color": "#000", "width": 2,
            "markers": True}]
    root = _svg_tree(live_html.svg_chart(neg, title="t\x02", x_title="epoch", y_title="loss", y_range=(0, float("inf"))))
    ys = [float(c.get("cy")) for c in root.iter(SVG_NS + "circle")]
    assert len(set(ys)) == 3  # outside the range: the range gives way, the points stay apart
    assert live_html.curve_summary(neg) == "epoch 3: x\x01y -1"
    assert 'alt="epoch 3: xy -1"' in live_html.svg_img("<svg/>", live_html.curve_summary(neg))  # escaped, no control chars
    assert live_html.curve_summary([]) == ""
    out = live_html.live_panel(status="s", fraction=float("nan"), metrics=[], charts=[])
    assert 'aria-valuenow="0"' in out and "nan" not in out
