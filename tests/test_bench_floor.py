"""bench/mlp_floor.py's hand-written step must train the same network as digitlab.nn, or
the floor it reports says nothing about fit."""
import numpy as np

from bench.mlp_floor import BATCH, LeanMLP
from digitlab.data import load_sample, to_float
from digitlab.nn import SGD, Adam, mlp


def test_the_lean_step_makes_the_same_update_as_fit():
    ds = load_sample()
    X = to_float(ds.images[:BATCH]).reshape(BATCH, -1)
    y = ds.labels[:BATCH].astype(np.int64)
    for make in (lambda: SGD(0.1), lambda: Adam(1e-3)):
        lean = LeanMLP(make(), seed=1)
        net = mlp(seed=0)
        net.set_weights([lean.W1, lean.b1, lean.W2, lean.b2])
        loss, correct = lean.step(X, y, np.arange(BATCH))
        hist = net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=make())
        # the same gradients (both buffers hold kernels then biases: W1, W2, b1, b2), and weights
        np.testing.assert_allclose(lean.G, net._flat_g[0], rtol=1e-4, atol=1e-7)
        for got, want in zip([lean.W1, lean.b1, lean.W2, lean.b2], net.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert abs(loss / BATCH - hist["loss"][0]) < 1e-5
        assert correct / BATCH == hist["accuracy"][0]
        assert not np.array_equal(lean.W1, LeanMLP(make(), seed=1).W1)  # it did move


def test_kernel_info_names_the_blas_that_runs(monkeypatch):
    """A benchmark's JSON says which BLAS kernel ran and whether the environment forced one."""
    from digitlab.nn import blas

    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    info = blas.kernel_info()
    assert info["OPENBLAS_CORETYPE"] == "Haswell"
    assert info["libraries"], "NumPy's BLAS is loaded, so threadpoolctl lists it"
    assert all(set(lib) == {"internal_api", "version", "architecture", "num_threads"} for lib in info["libraries"])
    assert all(lib["num_threads"] >= 1 for lib in info["libraries"])
