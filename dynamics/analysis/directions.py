r"""Directions: the hard-margin max-margin direction of labelled features, and cosines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.optimize

from dynamics.analysis._checks import FloatArray

__all__ = ["MaxMargin", "cosine", "cosine_series", "max_margin_direction"]


@dataclass(frozen=True)
class MaxMargin:
    r"""Hard-margin (no bias) max-margin solution, from :func:`max_margin_direction`.

    Attributes
    ----------
    u : ndarray of shape (d,) or None
        $\hat u = \arg\min \|u\|^2$ s.t. $y_i\, u \cdot x_i \ge 1$; ``None`` when the data
        are not linearly separable through the origin.
    norm : float
        $\|\hat u\|$ (the geometric margin is $1/\|\hat u\|$); ``nan`` if not separable.
    margin : float
        $\min_i y_i\, \hat u \cdot x_i$, which is 1 up to solver tolerance; ``nan`` if not
        separable.
    support : ndarray of int
        Indices of the active constraints, $y_i\, \hat u \cdot x_i \le 1 + 10^{-7}$
        (empty if not separable).
    separable : bool
        Whether some $u$ satisfies $y_i\, u \cdot x_i > 0$ for all $i$.
    polished : bool
        Whether ``u`` is the exact solution on the support set (``True``) or the rescaled
        dual solution (``False``, the fallback); ``False`` if not separable.
    """

    u: FloatArray | None
    norm: float
    margin: float
    support: npt.NDArray[np.intp]
    separable: bool
    polished: bool

    @property
    def direction(self) -> FloatArray | None:
        """The unit vector $\\hat u / \\|\\hat u\\|$, or ``None`` if not separable."""
        return None if self.u is None else self.u / self.norm


def _polish(z: FloatArray, support: npt.NDArray[np.intp]) -> FloatArray | None:
    r"""Exact solution on a guessed active set, or ``None`` if KKT fails.

    $u = Z_S^\top (Z_S Z_S^\top)^+ \mathbf 1$ is the least-norm solution of $Z_S u = 1$;
    it is optimal iff it is feasible and $u = Z_S^\top a$ for some $a \ge 0$ (checked by
    non-negative least squares).
    """
    if support.size == 0:
        return None
    zs = z[support]  # (S, d)
    a = np.linalg.pinv(zs @ zs.T) @ np.ones(support.size)  # (S,)
    u = zs.T @ a  # (d,)
    unorm = float(np.linalg.norm(u))
    if not math.isfinite(unorm) or unorm == 0:
        return None
    m = z @ u  # (N,)
    if np.max(np.abs(m[support] - 1.0)) > 1e-9 or np.min(m) < 1.0 - 1e-9:
        return None  # Z_S u = 1 inconsistent, or a constraint outside S violated
    _, resid = scipy.optimize.nnls(zs.T, u)
    if resid > 1e-8 * unorm:
        return None  # no non-negative multipliers: not the optimum
    return u


def max_margin_direction(X: npt.ArrayLike, y: npt.ArrayLike) -> MaxMargin:
    r"""Hard-margin max-margin direction without bias.

    Solves $\hat u = \arg\min_u \|u\|^2$ subject to $y_i\, u \cdot x_i \ge 1$ for all $i$:

    1. separability: a linear-programming feasibility problem
       (:func:`scipy.optimize.linprog`, HiGHS) for $Z u \ge \mathbf 1$ with $Z = \mathrm{diag}(y) X$;
    2. the dual, $\min_{a \ge 0} \tfrac12 a^\top G a - \mathbf 1^\top a$ with
       $G = Z Z^\top$, by L-BFGS-B with the analytic gradient $G a - \mathbf 1$ and tight
       tolerances, giving $u = Z^\top a$ (features are scaled to unit maximum norm for the
       solve and scaled back);
    3. polish: on the active set $S$ guessed from the dual, $u = Z_S^\top (Z_S Z_S^\top)^+
       \mathbf 1$, accepted if it is feasible and satisfies KKT (non-negative multipliers);
       otherwise the dual solution, rescaled so its smallest margin is exactly 1.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Finite features.
    y : array_like, shape (N,)
        Labels in $\{-1, +1\}$.

    Returns
    -------
    MaxMargin
        With ``separable=False`` and ``u=None`` when no $u$ satisfies the constraints (for
        example a point and its own copy with opposite labels, or a zero feature vector).

    Raises
    ------
    ValueError
        Bad shapes, non-finite features or labels other than $\pm 1$.
    RuntimeError
        If the LP solver fails for a reason other than infeasibility.

    Examples
    --------
    >>> mm = max_margin_direction([[1.0, 0.0], [0.0, 1.0]], [1, -1])
    >>> np.round(mm.u, 9).tolist(), mm.support.tolist()
    ([1.0, -1.0], [0, 1])
    """
    Xv = np.asarray(X, dtype=float)
    if Xv.ndim != 2 or Xv.shape[0] < 1 or Xv.shape[1] < 1:
        raise ValueError(f"X must have shape (N, d) with N, d >= 1, got {Xv.shape}")
    if not np.all(np.isfinite(Xv)):
        raise ValueError("X must be finite")
    yv = np.asarray(y, dtype=float)
    if yv.shape != (Xv.shape[0],):
        raise ValueError(f"y must have shape ({Xv.shape[0]},) to match X, got {yv.shape}")
    if not np.all((yv == 1) | (yv == -1)):
        raise ValueError("labels y must all be -1 or +1")
    n, dim = Xv.shape
    z = yv[:, None] * Xv  # (N, d) rows y_i x_i
    scale = float(np.max(np.linalg.norm(z, axis=1)))
    empty = np.zeros(0, dtype=np.intp)
    not_separable = MaxMargin(None, math.nan, math.nan, empty, False, False)
    if scale == 0:
        return not_separable
    zs = z / scale  # (N, d), solve for u_s = scale * u

    lp = scipy.optimize.linprog(
        np.zeros(dim), A_ub=-zs, b_ub=-np.ones(n), bounds=[(None, None)] * dim, method="highs"
    )
    if lp.status == 2:
        return not_separable
    if lp.status != 0:
        raise RuntimeError(f"separability LP failed: {lp.message}")

    g = zs @ zs.T  # (N, N)
    ones = np.ones(n)

    def fun(a: FloatArray) -> tuple[float, FloatArray]:
        ga = g @ a
        return 0.5 * float(a @ ga) - float(a.sum()), ga - ones

    res = scipy.optimize.minimize(
        fun,
        np.zeros(n),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * n,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 100_000, "maxfun": 1_000_000},
    )
    alpha = np.maximum(res.x, 0.0)  # (N,)
    u_dual = zs.T @ alpha  # (d,)
    m_dual = zs @ u_dual  # (N,)

    candidates: list[npt.NDArray[np.intp]] = []
    if alpha.max() > 0:
        candidates.append(np.flatnonzero(alpha > 1e-8 * alpha.max()))
    for tol in (1e-8, 1e-6, 1e-4, 1e-3, 1e-2):
        candidates.append(np.flatnonzero(m_dual <= 1.0 + tol))
    u_s: FloatArray | None = None
    seen: set[tuple[int, ...]] = set()
    for sup in candidates:
        key = tuple(int(i) for i in sup)
        if key in seen:
            continue
        seen.add(key)
        u_s = _polish(zs, sup)
        if u_s is not None:
            break
    polished = u_s is not None
    if u_s is None:
        mmin = float(m_dual.min())
        if not mmin > 0:
            raise RuntimeError("max-margin dual solve failed to produce a separating direction")
        u_s = u_dual / mmin
    u = u_s / scale  # (d,)
    margins = z @ u  # (N,)
    return MaxMargin(
        u,
        float(np.linalg.norm(u)),
        float(margins.min()),
        np.flatnonzero(margins <= 1.0 + 1e-7),
        True,
        polished,
    )


# ------------------------------------------------------------------------------- cosines
def cosine(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    r"""Cosine similarity $a \cdot b / (\|a\|\,\|b\|)$, clipped to $[-1, 1]$.

    Raises
    ------
    ValueError
        Shapes differ, entries are not finite, or either vector is zero (the cosine is
        undefined).

    Examples
    --------
    >>> cosine([1.0, 0.0], [1.0, 1.0]) == 1 / math.sqrt(2)
    True
    """
    av = np.asarray(a, dtype=float).ravel()
    bv = np.asarray(b, dtype=float).ravel()
    if np.shape(a) != np.shape(b):
        raise ValueError(f"a and b must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    if not (np.all(np.isfinite(av)) and np.all(np.isfinite(bv))):
        raise ValueError("a and b must be finite")
    na, nb = float(np.linalg.norm(av)), float(np.linalg.norm(bv))
    if na == 0 or nb == 0:
        which = "a" if na == 0 else "b"
        raise ValueError(f"cosine is undefined for a zero vector ({which} is zero)")
    return float(np.clip((av / na) @ (bv / nb), -1.0, 1.0))


def cosine_series(U: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    r"""Cosine of each row of ``U`` with ``b``, e.g. alignment of $u(t)$ with $\hat u$.

    Parameters
    ----------
    U : array_like, shape (T, d)
        Rows are vectors over time (e.g. ``tr.select(names)``).
    b : array_like, shape (d,)
        Nonzero reference vector.

    Returns
    -------
    ndarray, shape (T,)
        Cosines clipped to $[-1, 1]$; ``nan`` for zero rows of ``U`` (trajectories often
        start at the origin), where :func:`cosine` would raise.

    Raises
    ------
    ValueError
        Bad shapes, non-finite entries, or ``b`` zero.
    """
    Uv = np.asarray(U, dtype=float)
    bv = np.asarray(b, dtype=float)
    if Uv.ndim != 2:
        raise ValueError(f"U must have shape (T, d), got {Uv.shape}")
    if bv.shape != (Uv.shape[1],):
        raise ValueError(f"b must have shape ({Uv.shape[1]},) to match U, got {bv.shape}")
    if not (np.all(np.isfinite(Uv)) and np.all(np.isfinite(bv))):
        raise ValueError("U and b must be finite")
    nb = float(np.linalg.norm(bv))
    if nb == 0:
        raise ValueError("cosine is undefined for a zero vector (b is zero)")
    nu = np.linalg.norm(Uv, axis=1)  # (T,)
    out = np.full(Uv.shape[0], np.nan)
    ok = nu > 0
    out[ok] = np.clip((Uv[ok] / nu[ok, None]) @ (bv / nb), -1.0, 1.0)
    return out
