r"""Closed forms and oracles for Huang, Liang & Yang (2025).

* Phase-1 early-time expansion (spec 2.3, reconstructed and verified numerically): with $W \approx 0$ attention is uniform,
  $\nu \approx \tau/4$, $p_1 \approx \tau/2$ and $p_\ell \approx -c_\ell\tau^2/2$ for
  $\ell \ge 2$ with $c_\ell = \sum_{L=\max(\ell,2)}^{L_{\max}} \frac{1}{4L}\left(\frac14 +
  \frac{1}{2L}\right)$, where $\tau = \eta t$.
* Phase-2 oracle (spec 2.4, reconstructed): the hard-margin max-margin direction of the attention
  outputs $z_n = \sum_\ell \varphi_\ell x_\ell$ at the current attention, over both token
  copies of every pattern (:func:`features`).
* The CoT max-margin direction $u^*_{\rm CoT}$ (spec 1.7b, 3 #9; the program reconstructed as for
  even pairs): the same hard-margin SVM on the full model's attention outputs of the CoT data
  (:func:`max_margin_direct`), which has no exact reduction. It is solved in the primal
  (:func:`max_margin_primal`): $d = 8$ unknowns, while the attention outputs are nearly
  collinear late in phase 2, which makes the dual (one variable per sample) slow to converge.
  The even-pairs oracle :func:`max_margin` uses the same solver.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.optimize

from derivations.huang2025.reduced import pattern_outputs
from dynamics.analysis import MaxMargin

__all__ = ["c_coefficients", "features", "max_margin", "max_margin_direct", "max_margin_primal", "accuracy"]


def c_coefficients(L_max: int) -> np.ndarray:
    r"""$c_\ell$ for $\ell = 2..L_{\max}$ (spec 2.3, a reconstruction)."""
    return np.array([sum(1.0 / (4 * L) * (0.25 + 1.0 / (2 * L)) for L in range(max(l, 2), L_max + 1))
                     for l in range(2, L_max + 1)])


def features(y: np.ndarray, table: np.ndarray, L_max: int, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attention outputs of both a/b copies of every pattern: z (2R, d), labels (2R,), weights (2R,)."""
    _, _, z = pattern_outputs(y, table, L_max, lam)  # (R, d), query token a
    swap = np.concatenate([[1, 0], np.arange(2, z.shape[1])])
    zz = np.vstack([z, z[:, swap]])  # (2R, d)
    return zz, np.concatenate([table[:, -2]] * 2), np.concatenate([table[:, -1]] * 2) / 2


def max_margin(y: np.ndarray, table: np.ndarray, L_max: int, lam: float) -> MaxMargin:
    r"""$\hat u = \arg\min \lVert u\rVert^2$ s.t. $y_n u^\top z_n \ge 1$ at the attention of state ``y``."""
    z, labels, _ = features(y, table, L_max, lam)
    return max_margin_primal(z, labels)


def max_margin_primal(X: np.ndarray, y: np.ndarray) -> MaxMargin:
    r"""$\hat u = \arg\min \lVert u\rVert^2$ s.t. $y_n u^\top x_n \ge 1$, solved in the primal.

    A feasibility LP (HiGHS) decides separability and gives a start; SLSQP (analytic
    gradients) solves the QP; the result is polished on its active set $S$ (margins within
    $10^{-6}$ of 1): $u = Z_S^\top (Z_S Z_S^\top)^+ \mathbf 1$, kept if feasible with
    non-negative multipliers. Same contract as :func:`dynamics.analysis.max_margin_direction`,
    for few features and many samples.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],) or not np.all(np.isfinite(X)):
        raise ValueError(f"X must be a finite (N, d) array and y of shape (N,), got {X.shape}, {y.shape}")
    if not np.all(np.abs(y) == 1):
        raise ValueError("labels y must all be -1 or +1")
    Z = y[:, None] * X  # (N, d)
    n, d = Z.shape
    empty = np.zeros(0, dtype=np.intp)
    lp = scipy.optimize.linprog(np.zeros(d), A_ub=-Z, b_ub=-np.ones(n), bounds=[(None, None)] * d, method="highs")
    if lp.status == 2:
        return MaxMargin(None, math.nan, math.nan, empty, False, False)
    if lp.status != 0:
        raise RuntimeError(f"separability LP failed: {lp.message}")
    res = scipy.optimize.minimize(lambda u: (0.5 * float(u @ u), u), lp.x, jac=True, method="SLSQP",
                                  constraints=[{"type": "ineq", "fun": lambda u: Z @ u - 1.0, "jac": lambda u: Z}],
                                  options={"ftol": 1e-15, "maxiter": 1000})
    u = res.x / min(1.0, float(np.min(Z @ res.x)))  # feasible even if SLSQP stopped a hair short
    polished = False
    S = np.flatnonzero(Z @ u <= 1.0 + 1e-6)
    if S.size:
        a = np.linalg.pinv(Z[S] @ Z[S].T) @ np.ones(S.size)  # (S,)
        up = Z[S].T @ a  # (d,)
        if np.min(Z @ up) >= 1.0 - 1e-9 and np.min(a) >= -1e-9 and np.linalg.norm(up) <= np.linalg.norm(u) * (1 + 1e-9):
            u, polished = up, True
    m = Z @ u  # (N,)
    return MaxMargin(u, float(np.linalg.norm(u)), float(m.min()), np.flatnonzero(m <= 1.0 + 1e-7), True, polished)


def max_margin_direct(model: Any, params: Mapping[str, np.ndarray], data: Any,
                      keep: np.ndarray | None = None) -> MaxMargin:
    r"""$\arg\min \lVert u\rVert^2$ s.t. $y_n u^\top z_n \ge 1$ over the samples ``keep`` (default all)
    of ``data``, $z_n$ the attention outputs of ``model`` (a
    :class:`~derivations.huang2025.direct.OneLayerTransformer`) at ``params``; the CoT
    direction $u^*_{\rm CoT}$ when ``data`` is the CoT objective."""
    _, _, z = model.forward(params, data)  # (N, d)
    keep = np.ones(len(data), dtype=bool) if keep is None else np.asarray(keep)
    return max_margin_primal(z[keep], data.y[keep])


def accuracy(Y: np.ndarray, table: np.ndarray, L_max: int, lam: float) -> np.ndarray:
    """Weighted training accuracy (fraction of the loss weight with $y \\mathtt T > 0$) per state."""
    Y = np.atleast_2d(Y)
    out = np.empty(Y.shape[0])
    for i, y in enumerate(Y):
        T, _, _ = pattern_outputs(y, table, L_max, lam)
        out[i] = np.sum(table[:, -1] * (table[:, -2] * T > 0)) / np.sum(table[:, -1])
    return out
