import numpy as np
import pytest

from sim.validation.fitting import nnls


def test_nnls_recovers_a_nonnegative_solution_exactly():
    rng = np.random.default_rng(0)
    a = rng.random((20, 5))
    x_true = np.array([0.0, 1.5, 0.0, 2.0, 0.3])
    x, r = nnls(a, a @ x_true)
    assert np.allclose(x, x_true, atol=1e-9)
    assert r < 1e-9


def test_nnls_clamps_components_that_want_to_be_negative_and_satisfies_kkt():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 6))
    b = a @ np.array([1.0, -2.0, 0.5, -1.0, 0.0, 3.0]) + 0.01 * rng.normal(size=30)
    x, _ = nnls(a, b)
    assert (x >= 0).all()
    g = a.T @ (a @ x - b)  # gradient of 0.5||ax-b||^2
    assert np.all(g[x > 0] == pytest.approx(0.0, abs=1e-8))
    assert (g[x == 0] >= -1e-8).all()
