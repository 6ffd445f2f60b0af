"""The tutorial's section-2 network (0 vs 1), function for function, and fixed.

The tutorial's code, as written, feeds raw pixels (0-255) to a 784-10-1 sigmoid network
and back-propagates the hidden layer with tanh's derivative ``1 - A1**2`` although
the hidden layer is a sigmoid. With raw pixels Z1 is in the hundreds: ``np.exp``
overflows, A1 saturates to exactly 0 or 1, where ``1 - A1**2`` is 0 or 1 — so the
hidden layer learns nothing useful and some seeds collapse to predicting one class.

``fixed=True`` (the default) scales the inputs to [0, 1] and uses the sigmoid
derivative ``A1 (1 - A1)``; ``fixed=False`` keeps the tutorial's behaviour to show it.
Shapes follow the tutorial: X is (n_x, m) with one example per column, Y is (1, m).
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from digitlab.nn.blas import threadpool_limits

PRESETS = {
    # raw pixels, tanh derivative on a sigmoid layer, 10 iterations (the tutorial as written)
    "tutorial": {"fixed": False, "input_scale": 1.0, "iterations": 10},
    # pixels / 255, the sigmoid derivative, 300 iterations
    "fixed": {"fixed": True, "input_scale": 1 / 255, "iterations": 300},
}
OLD_PRESET_NAMES = {"seed": "tutorial"}  # "seed" was the tutorial preset's name until issue 14


# ------------------------------------------------------------------ the tutorial's functions


def sigmoid(z):
    """The tutorial's sigmoid, 1 / (1 + e^-z): overflows in exp for z < -88 (float32) /
    -709 (float64), which raw pixels reach."""
    return 1.0 / (1 + np.exp(-z))


def network_architecture(X, Y, n_h: int = 10):
    """(n_x, n_h, n_y): input size from X (n_x, m), output size from Y (n_y, m)."""
    return X.shape[0], n_h, Y.shape[0]


def define_network_parameters(n_x, n_h, n_y, seed: int | None = 0):
    """W ~ randn × 0.01, b = 0 (the tutorial's initialisation; ``seed`` seeds NumPy's legacy
    generator the way ``np.random.seed(seed)`` would have)."""
    rs = np.random.RandomState(seed)
    W1 = rs.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = rs.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def forward_propagation(X, params):
    Z1 = np.dot(params["W1"], X) + params["b1"]  # (n_h, n_x) @ (n_x, m) -> (n_h, m)
    A1 = sigmoid(Z1)
    Z2 = np.dot(params["W2"], A1) + params["b2"]  # (n_y, n_h) @ (n_h, m) -> (n_y, m)
    A2 = sigmoid(Z2)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def compute_error(Predicted, Actual):
    """Log loss, -mean(y log p + (1-y) log(1-p)) (inf/nan when p saturates to 0 or 1,
    as in the tutorial)."""
    logprobs = np.multiply(np.log(Predicted), Actual) + np.multiply(np.log(1 - Predicted), 1 - Actual)
    cost = -np.sum(logprobs) / Actual.shape[1]
    return float(np.squeeze(cost))


def backward_propagation(params, activations, X, Y, fixed: bool = True):
    """Gradients of the log loss. ``fixed=False`` uses the tutorial's hidden-layer
    derivative ``1 - A1**2`` (tanh's), wrong for its sigmoid layer."""
    m = X.shape[1]
    dZ2 = activations["A2"] - Y  # (1, m)
    dW2 = np.dot(dZ2, activations["A1"].T) / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    A1 = activations["A1"]
    dA1 = np.dot(params["W2"].T, dZ2)  # (n_h, m)
    dZ1 = dA1 * (A1 * (1 - A1)) if fixed else dA1 * (1 - np.power(A1, 2))
    dW1 = np.dot(dZ1, X.T) / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def input_gradient(params, activations, dZ2):
    """dL/dX (n_x, m): how a loss L changes with each input, given dL/dZ2 (1, m) and the forward
    pass's activations. backward_propagation's chain rule carried one layer further, to the
    pixels, instead of stopping at the weights (issue 17: saliency and adversarial nudges). With
    dZ2 = A2 (1 - A2) it is the gradient of A2 = P(digit is 1) itself."""
    A1 = activations["A1"]
    dA1 = np.dot(params["W2"].T, dZ2)  # (n_h, 1) @ (1, m) -> (n_h, m)
    dZ1 = dA1 * (A1 * (1 - A1))  # the sigmoid's derivative (the right one, whatever the preset trained with)
    return np.dot(params["W1"].T, dZ1)  # (n_x, n_h) @ (n_h, m) -> (n_x, m)


def update_parameters(params, derivatives, alpha: float = 1.2):
    for k in ("W1", "b1", "W2", "b2"):
        params[k] = params[k] - alpha * derivatives["d" + k]
    return params


def neural_network(X, Y, n_h: int = 10, num_iterations: int = 100, *, fixed: bool = True, alpha: float = 1.2,
                   seed: int | None = 0, callback=None, should_stop=None, init: dict | None = None):
    """Full-batch gradient descent, as the tutorial: returns the parameters.
    ``callback(i, cost, params, A2)`` is called after each iteration (1-based i; cost
    and A2 are those of the forward pass before the update). ``init``: start from these
    W1, b1, W2, b2 (fine-tuning a trained net) instead of random ones."""
    n_x, _, n_y = network_architecture(X, Y, n_h)
    if init is None:
        params = define_network_parameters(n_x, n_h, n_y, seed)
    else:  # copies: the caller's arrays stay as they were
        params = {k: np.array(init[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")}
    for i in range(num_iterations):
        if should_stop is not None and should_stop():
            break
        results = forward_propagation(X, params)
        error = compute_error(results["A2"], Y)
        derivatives = backward_propagation(params, results, X, Y, fixed=fixed)
        params = update_parameters(params, derivatives, alpha)
        if callback is not None:
            callback(i + 1, error, params, results["A2"])
    return params


def predict(parameters, X):
    """0/1 predictions (1, m): A2 rounded."""
    return np.around(forward_propagation(X, parameters)["A2"])


# ------------------------------------------------------------------ convenient wrappers


def _columns(X, scale: float) -> np.ndarray:
    """Images (n, 28, 28) / (n, 784) / (n, 28, 28, 1) -> (784, n) float64, times scale."""
    X = np.asarray(X)
    return (X.reshape(len(X), -1).astype(np.float64) * scale).T


def train_binary(X, y, *, preset: str = "fixed", iterations: int | None = None, lr: float = 1.2,
                 seed: int = 0, n_h: int = 10, callback=None, should_stop=None,
                 scale_inputs: bool | None = None, correct_derivative: bool | None = None, init: dict | None = None):
    """Train the section-2 network on images X (uint8 0-255, (n, 28, 28) or (n, 784))
    and 0/1 labels y.

    Returns ``(params, history)``: params = {"W1", "b1", "W2", "b2", "input_scale"}
    (float64 arrays; input_scale is what pixels are multiplied by); history =
    {"cost": [...], "accuracy": [...] (training, per iteration, before its update), "overflow": bool
    (np.exp overflowed), "stopped": bool, "preset", "iterations", "seconds"}.
    ``callback(event)`` gets {"type": "iteration", "iteration", "iterations", "cost",
    "accuracy"} after each iteration. ``scale_inputs`` / ``correct_derivative``
    override the preset's two fixes one at a time (to show each bug on its own). The
    preset's old name ``"seed"`` means ``"tutorial"``. ``init``: the parameters to start from
    (fine-tuning; their ``n_h`` wins over ``n_h``).
    """
    preset = OLD_PRESET_NAMES.get(preset, preset)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}")
    cfg = dict(PRESETS[preset])
    if scale_inputs is not None:
        cfg["input_scale"] = 1 / 255 if scale_inputs else 1.0
    if correct_derivative is not None:
        cfg["fixed"] = bool(correct_derivative)
    iterations = cfg["iterations"] if iterations is None else int(iterations)
    Xc = _columns(X, cfg["input_scale"])
    y = np.asarray(y).reshape(1, -1).astype(np.float64)
    hist = {"cost": [], "accuracy": [], "overflow": False, "stopped": False, "preset": preset,
            "iterations": iterations, "lr": lr, "seed": seed, "input_scale": cfg["input_scale"],
            "correct_derivative": cfg["fixed"]}
    t0 = time.perf_counter()

    def on_iter(i, cost, params, A2):
        acc = float(np.mean(np.around(A2) == y))  # of the forward pass of iteration i
        hist["cost"].append(cost)
        hist["accuracy"].append(acc)
        if callback is not None:
            callback({"type": "iteration", "iteration": i, "iterations": iterations, "cost": cost, "accuracy": acc})

    def stop():
        if should_stop is not None and should_stop():
            hist["stopped"] = True
            return True
        return False

    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", divide="warn", invalid="warn"), \
            threadpool_limits(1):  # 2 BLAS threads: 2x faster on an idle box, 40x slower on a busy one
        warnings.simplefilter("always")
        params = neural_network(Xc, y, n_h if init is None else int(np.shape(init["W1"])[0]), iterations,
                                fixed=cfg["fixed"], alpha=lr, seed=seed, callback=on_iter, should_stop=stop, init=init)
    hist["overflow"] = any("overflow" in str(w.message) for w in caught)
    hist["warnings"] = sorted({str(w.message) for w in caught})
    hist["seconds"] = time.perf_counter() - t0
    params["input_scale"] = np.float64(cfg["input_scale"])
    return params, hist


def predict_proba_binary(params, X) -> np.ndarray:
    """P(digit is 1) for images X, shape (n,), with the params' input scaling."""
    with np.errstate(over="ignore"), threadpool_limits(1):
        A2 = forward_propagation(_columns(X, float(params.get("input_scale", 1 / 255))), params)["A2"]
    return A2[0]


def pixel_gradient_binary(params, X, dZ2_of):
    """(A2, dL/dpixel) for images X as :func:`predict_proba_binary` reads them (pixels 0-255):
    A2 (n,) = P(digit is 1) and the gradient (n, 784) of a loss L whose dL/dZ2 (n,) is
    ``dZ2_of(A2)``. The input scaling is part of the chain: X_net = pixels x input_scale, so
    dL/dpixel = dL/dX_net x input_scale."""
    scale = float(params.get("input_scale", 1 / 255))
    Xc = _columns(X, scale)  # (784, n)
    with np.errstate(over="ignore"), threadpool_limits(1):
        acts = forward_propagation(Xc, params)
        A2 = acts["A2"][0]  # (n,)
        dZ2 = np.asarray(dZ2_of(A2), np.float64).reshape(1, -1)  # (1, n)
        dX = input_gradient(params, acts, dZ2)  # (784, n)
    return A2, dX.T * scale


def save_params(params, path_dir, meta: dict | None = None) -> None:
    """``params.npz`` (W1, b1, W2, b2) + ``params.json`` (input_scale, shapes, meta)."""
    d = Path(path_dir)
    d.mkdir(parents=True, exist_ok=True)
    np.savez(d / "params.npz", **{k: np.asarray(params[k]) for k in ("W1", "b1", "W2", "b2")})
    info = {"format": "digitlab.seed_binary/1",  # the module's old name: the format's id stays
            "input_scale": float(params.get("input_scale", 1 / 255)),
            "n_x": int(params["W1"].shape[1]), "n_h": int(params["W1"].shape[0]), "meta": meta or {}}
    (d / "params.json").write_text(json.dumps(info, indent=1))


def load_params(path_dir) -> dict:
    d = Path(path_dir)
    info = json.loads((d / "params.json").read_text())
    with np.load(d / "params.npz", allow_pickle=False) as z:
        params = {k: z[k] for k in ("W1", "b1", "W2", "b2")}
    params["input_scale"] = np.float64(info["input_scale"])
    return params
