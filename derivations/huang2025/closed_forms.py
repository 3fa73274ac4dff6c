r"""Closed forms and oracles for Huang, Liang & Yang (2025).

* Phase-1 early-time expansion (spec 2.3, reconstructed and verified numerically): with $W \approx 0$ attention is uniform,
  $\nu \approx \tau/4$, $p_1 \approx \tau/2$ and $p_\ell \approx -c_\ell\tau^2/2$ for
  $\ell \ge 2$ with $c_\ell = \sum_{L=\max(\ell,2)}^{L_{\max}} \frac{1}{4L}\left(\frac14 +
  \frac{1}{2L}\right)$, where $\tau = \eta t$.
* Phase-2 oracle (spec 2.4, reconstructed): the hard-margin max-margin direction of the attention
  outputs $z_n = \sum_\ell \varphi_\ell x_\ell$ at the current attention, over both token
  copies of every pattern (:func:`features`).
"""

from __future__ import annotations

import numpy as np

from derivations.huang2025.reduced import pattern_outputs
from dynamics.analysis import MaxMargin, max_margin_direction

__all__ = ["c_coefficients", "features", "max_margin", "accuracy"]


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
    return max_margin_direction(z, labels)


def accuracy(Y: np.ndarray, table: np.ndarray, L_max: int, lam: float) -> np.ndarray:
    """Weighted training accuracy (fraction of the loss weight with $y \\mathtt T > 0$) per state."""
    Y = np.atleast_2d(Y)
    out = np.empty(Y.shape[0])
    for i, y in enumerate(Y):
        T, _, _ = pattern_outputs(y, table, L_max, lam)
        out[i] = np.sum(table[:, -1] * (table[:, -2] * T > 0)) / np.sum(table[:, -1])
    return out
