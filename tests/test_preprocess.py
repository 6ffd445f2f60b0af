import numpy as np
import pytest

from digitlab import data, preprocess as pp


def canvas_from_digit(d: np.ndarray, mode: str = "alpha", size: int = 280, offset=(30, -40)) -> np.ndarray:
    """Draw an MNIST digit big on a canvas, off-centre, the way a person would."""
    big = np.kron(d.astype(np.float32) / 255, np.ones((8, 8), np.float32))  # 224x224
    ink = np.zeros((size, size), np.float32)
    t, l = (size - 224) // 2 + offset[0], (size - 224) // 2 + offset[1]
    big = big[max(0, -t):, max(0, -l):]
    ink[max(t, 0): max(t, 0) + big.shape[0], max(l, 0): max(l, 0) + big.shape[1]] = big[: size - max(t, 0), : size - max(l, 0)]
    u8 = np.rint(ink * 255).astype(np.uint8)
    if mode == "alpha":  # white strokes on a transparent background (the canvas)
        return np.dstack([np.full_like(u8, 255)] * 3 + [u8])
    if mode == "alpha_only":
        return np.dstack([np.zeros_like(u8)] * 3 + [u8])
    if mode == "black_bg":
        return np.dstack([u8] * 3 + [np.full_like(u8, 255)])
    if mode == "paper":  # dark ink on white, opaque RGB
        return np.dstack([255 - u8] * 3)
    raise ValueError(mode)


def corr(a, b):
    a, b = a.astype(float).ravel(), b.astype(float).ravel()
    return np.corrcoef(a, b)[0, 1]


@pytest.mark.parametrize("mode", ["alpha", "alpha_only", "black_bg", "paper"])
def test_drawing_of_an_mnist_digit_comes_back_mnist_like(mode):
    ds = data.load_sample()
    cs = []
    for i in range(20):
        d = ds.images[i]
        out = pp.to_mnist(canvas_from_digit(d, mode))
        assert out.shape == (28, 28) and out.dtype == np.uint8
        cs.append(corr(out, d))
        # the naive whole-canvas resize loses the position and scale
        assert corr(pp.naive_resize(canvas_from_digit(d, mode)), d) < cs[-1]
    # measured: mean 0.996 (MNIST's centre of mass sits at (14.0, 14.0), not 13.5)
    assert np.mean(cs) > 0.97 and min(cs) > 0.75, cs


def test_steps_fit_20px_box_and_centre_of_mass():
    d = data.load_sample().images[3]
    s = pp.preprocess(canvas_from_digit(d))
    assert max(s.fitted.shape) == 20
    cy, cx = pp.center_of_mass(s.image.astype(float))
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert s.ink.shape == (280, 280)
    assert s.cropped.shape[0] > 100  # cropped to the ink, still full resolution


def test_thin_one_keeps_aspect_ratio():
    img = np.zeros((280, 280), np.uint8)
    img[40:240, 135:145] = 255  # a vertical bar: a '1'
    s = pp.preprocess(img)
    assert s.fitted.shape[0] == 20 and s.fitted.shape[1] <= 2


def test_empty_canvas_and_bad_input():
    with pytest.raises(pp.EmptyDrawing):
        pp.preprocess(np.zeros((280, 280, 4), np.uint8))
    with pytest.raises(pp.PreprocessError):
        pp.preprocess(np.zeros((280,), np.uint8))
    with pytest.raises(pp.PreprocessError):
        pp.preprocess(np.zeros((10, 10, 7), np.uint8))
    with pytest.raises(pp.PreprocessError):
        pp.preprocess(np.array([["a", "b"], ["c", "d"]]))


def test_centre_shift_never_pushes_ink_off():
    x = np.zeros((28, 28), np.float32)
    x[0:3, 0:20] = 1  # mass at the top edge
    x[0:20, 0] = 0.05
    y, (dy, dx) = pp.center_by_mass(x)
    assert y.sum() == pytest.approx(x.sum())


def test_transform_sliders():
    d = data.load_sample().images[0]
    assert np.array_equal(pp.transform(d), d)
    moved = pp.transform(d, dx=3)
    assert np.array_equal(moved[:, 3:], d[:, :-3])
    assert pp.transform(d, thicken=1).astype(int).sum() > d.astype(int).sum() * 1.3
    rot = pp.transform(d, angle=30)
    assert rot.shape == (28, 28) and 0.2 < corr(rot, d) < 0.95
