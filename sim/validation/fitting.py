"""Small numerical fitting helpers for the validation scripts (no SciPy at run time)."""

from __future__ import annotations

import numpy as np


def nnls(a: np.ndarray, b: np.ndarray, max_iter: int | None = None, tol: float = 1e-12) -> tuple[np.ndarray, float]:
    """Non-negative least squares, ``min ||a x - b||`` subject to ``x >= 0`` (Lawson-Hanson active set).

    Returns ``(x, residual_norm)``; units are whatever ``a`` and ``b`` carry.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    m, n = a.shape
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    max_iter = 3 * n if max_iter is None else max_iter
    w = a.T @ (b - a @ x)
    it = 0
    while (~passive).any() and w[~passive].max(initial=-np.inf) > tol:
        j = int(np.argmax(np.where(passive, -np.inf, w)))
        passive[j] = True
        while True:
            it += 1
            if it > 10 * max_iter + 10:
                raise RuntimeError("nnls did not converge")
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > tol).all():
                x = z
                break
            neg = passive & (z <= tol)
            alpha = np.min(x[neg] / (x[neg] - z[neg]))
            x = x + alpha * (z - x)
            passive &= x > tol
            x[~passive] = 0.0
        w = a.T @ (b - a @ x)
    return x, float(np.linalg.norm(a @ x - b))
