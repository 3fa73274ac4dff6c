"""Input checks shared by the measurements: each raises ValueError naming the argument."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Window = tuple[float, float]


def _vector(name: str, a: npt.ArrayLike, min_size: int = 1) -> FloatArray:
    """``a`` as a finite 1-D float array with at least ``min_size`` entries."""
    v = np.asarray(a, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    if v.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} point(s), got {v.size}")
    bad = ~np.isfinite(v)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite, but {name}[{i}] = {v[i]}")
    return v


def _pair(
    xname: str, x: npt.ArrayLike, yname: str, y: npt.ArrayLike, min_size: int = 1
) -> tuple[FloatArray, FloatArray]:
    xv = _vector(xname, x, min_size)
    yv = _vector(yname, y, min_size)
    if xv.shape != yv.shape:
        raise ValueError(
            f"{xname} and {yname} must have the same length, got {xv.size} and {yv.size}"
        )
    return xv, yv


def _increasing_time(t: FloatArray, strict: bool) -> None:
    dt = np.diff(t)
    bad = dt <= 0 if strict else dt < 0
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        kind = "strictly increasing" if strict else "non-decreasing"
        raise ValueError(f"t must be {kind}, but t[{i}] = {t[i]} and t[{i + 1}] = {t[i + 1]}")


def _number(name: str, v: object) -> float:
    """``v`` as a finite float, or ValueError naming ``name``."""
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return x


def _positive(name: str, v: FloatArray, why: str) -> None:
    if np.any(v <= 0):
        i = int(np.flatnonzero(v <= 0)[0])
        raise ValueError(f"{name} must be > 0 {why}, but {name}[{i}] = {v[i]}")


def _window(
    x: FloatArray, window: Window | None, name: str
) -> tuple[npt.NDArray[np.bool_], Window]:
    """Mask of ``lo <= x <= hi`` for a window lying inside the data range of ``x``.

    ``None`` selects all data. The ends may overshoot the data range by a relative
    $10^{-9}$ to forgive rounding in window ends computed from the data.
    """
    xmin, xmax = float(x.min()), float(x.max())
    if window is None:
        return np.ones(x.shape, dtype=bool), (xmin, xmax)
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be a pair (lo, hi) of numbers, got {window!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"window must be finite with lo < hi, got ({lo}, {hi})")
    slack = 1e-9
    if lo < xmin - slack * abs(xmin) or hi > xmax + slack * abs(xmax):
        raise ValueError(
            f"window ({lo:g}, {hi:g}) is not inside the data range of {name}, [{xmin:g}, {xmax:g}]"
        )
    return (x >= lo) & (x <= hi), (lo, hi)
