r"""Dense output inside an accepted step, and the turning points the crossing search samples.

Rosenbrock steps use the cubic Hermite interpolant of the values and derivatives at both
ends (the derivative at the new point is the next step's first stage, so it costs nothing);
Rodas5P steps use their own 4th-order interpolant for the output grid; DOP853 steps their
degree-7 polynomial (three extra stages, computed only when the step has output or events).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["hermite", "interp", "dop_interp", "turning_points", "HERMITE", "DOP853_DENSE", "RODAS5P_DENSE"]

#: ``kind`` values of :func:`interp`.
HERMITE, DOP853_DENSE, RODAS5P_DENSE = 0, 1, 2


@numba.njit(cache=True)
def hermite(
    y0: np.ndarray, y1: np.ndarray, f0: np.ndarray, f1: np.ndarray, h: float, s: float, out: np.ndarray
) -> None:
    """Cubic Hermite interpolant at fraction ``s`` of a step of length ``h``."""
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    for i in range(y0.shape[0]):
        out[i] = h00 * y0[i] + h10 * h * f0[i] + h01 * y1[i] + h11 * h * f1[i]


@numba.njit(cache=True)
def dop_interp(F: np.ndarray, y0: np.ndarray, s: float, out: np.ndarray) -> None:
    """DOP853's dense output at fraction ``s``, from the flat coefficients ``F`` (7 n)."""
    n = y0.shape[0]
    s1 = 1.0 - s
    for j in range(n):
        inner = F[3 * n + j] + s * (F[4 * n + j] + s1 * (F[5 * n + j] + s * F[6 * n + j]))
        out[j] = y0[j] + s * (F[j] + s1 * (F[n + j] + s * (F[2 * n + j] + s1 * inner)))


@numba.njit(cache=True)
def interp(
    kind: int,
    F: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    f0: np.ndarray,
    f1: np.ndarray,
    h: float,
    s: float,
    out: np.ndarray,
) -> None:
    """Dense output at fraction ``s``: ``kind`` :data:`HERMITE`, :data:`DOP853_DENSE` (``F``
    the flat polynomial coefficients) or :data:`RODAS5P_DENSE` (``F[:3n]`` the dense-output
    combinations of its stages)."""
    if kind == HERMITE:
        hermite(y0, y1, f0, f1, h, s, out)
        return
    if kind == RODAS5P_DENSE:
        n = y0.shape[0]
        s1 = 1.0 - s
        for i in range(n):
            out[i] = s1 * y0[i] + s * (
                y1[i] + s1 * (F[i] + s * (F[n + i] + s * F[2 * n + i]))
            )
        return
    dop_interp(F, y0, s, out)


@numba.njit(cache=True)
def turning_points(y0: float, y1: float, d0: float, d1: float, out: np.ndarray, m: int) -> int:
    """Append to ``out[m:]`` the fractions in (0, 1) where the Hermite cubic with end values
    ``y0, y1`` and scaled end slopes ``d0 = h f0, d1 = h f1`` has zero slope; the new count."""
    # p(s) = a s^3 + b s^2 + d0 s + y0 ; p'(s) = 3a s^2 + 2b s + d0
    a = 2.0 * y0 - 2.0 * y1 + d0 + d1
    b = -3.0 * y0 + 3.0 * y1 - 2.0 * d0 - d1
    qa, qb, qc = 3.0 * a, 2.0 * b, d0
    if qa == 0.0:
        if qb != 0.0:
            r = -qc / qb
            if 0.0 < r < 1.0:
                out[m] = r
                m += 1
        return m
    disc = qb * qb - 4.0 * qa * qc
    if disc < 0.0:
        return m
    sq = math.sqrt(disc)
    q = -0.5 * (qb + math.copysign(sq, qb))
    for r in (q / qa, qc / q if q != 0.0 else -1.0):
        if 0.0 < r < 1.0:
            out[m] = r
            m += 1
    return m
