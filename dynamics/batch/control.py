r"""Step-size control: the error norm and the controller of every method.

Controller (:func:`step_factor`): ``h_new = h clip(0.9 err^{-1/k} G, lo, hi)`` with k = 4
(RODAS4), 5 (Rodas5P), 8 (DOP853), clipped to [0.2, 6] (Rosenbrock) or [0.2, 10]
(DOP853), where ``G = (h / h_last) (err_last / err)^{1/k}`` is Gustafsson's predictive
factor (Hairer & Wanner II, IV.8) when the previous step was accepted and of the same
method (``G = 1`` otherwise). The elementary controller alone lags behind a step size that
grows with t, as on a gradient flow's log-time scale; the predictive factor follows it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["step_factor", "wrms", "initial_step"]


@numba.njit(cache=True)
def step_factor(
    err: float, explicit: bool, r5: bool, predict: bool, h_ratio: float, err_last: float
) -> float:
    """``h_new / h`` after a step with error norm ``err`` (DOP853: ``explicit``; else
    Rodas5P if ``r5``, RODAS4 otherwise); ``predict``: the previous step was accepted and of
    the same method, ``h_ratio = h / h_last``, ``err_last`` its error norm."""
    if explicit:
        inv, lo, hi = 0.125, 0.2, 10.0
    elif r5:
        inv, lo, hi = 0.2, 0.2, 6.0
    else:
        inv, lo, hi = 0.25, 0.2, 6.0
    if err == 0.0:
        return hi
    if predict and err_last > 0.0:
        # one power instead of two; for DOP853 the eighth root as three square roots
        x = err_last / (err * err)
        r = math.sqrt(math.sqrt(math.sqrt(x))) if explicit else x**inv
        fac = 0.9 * h_ratio * r
    else:
        fac = 0.9 * (1.0 / math.sqrt(math.sqrt(math.sqrt(err))) if explicit else err**-inv)
    return min(hi, max(lo, fac))


@numba.njit(cache=True)
def wrms(err: np.ndarray, y: np.ndarray, ynew: np.ndarray, rtol: float, atol: float) -> float:
    """RMS of ``err_i / (atol + rtol max(|y_i|, |ynew_i|))`` (the Rosenbrock error norm)."""
    n = err.shape[0]
    acc = 0.0
    for i in range(n):
        sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
        v = err[i] / sc
        acc += v * v
    return math.sqrt(acc / n)


@numba.njit(cache=True)
def initial_step(
    y: np.ndarray, f0: np.ndarray, t: float, t_end: float, rtol: float, atol: float
) -> float:
    """First step from Hairer & Wanner's heuristic (II.4, first part), at most a thousandth
    of the span; no absolute floor (a flow with a rate of 1e30 needs a first step near
    1e-32)."""
    n = y.shape[0]
    d0 = 0.0
    d1 = 0.0
    for j in range(n):
        sc = atol + rtol * abs(y[j])
        d0 += (y[j] / sc) ** 2
        d1 += (f0[j] / sc) ** 2
    d0 = math.sqrt(d0 / n)
    d1 = math.sqrt(d1 / n)
    h = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h = min(h, 1e-3 * (t_end - t) + 1e-300)
    return max(h, 1e-12 * abs(t) + 1e-300)
