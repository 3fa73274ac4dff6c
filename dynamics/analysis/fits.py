r"""Least-squares fits: a line, a power law (log-log slope), exponents per window, growth in ln t."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from dynamics.analysis._checks import Window, _pair, _positive, _window

__all__ = ["Fit", "linear_fit", "local_slopes", "log_growth", "loglog_slope"]


@dataclass(frozen=True)
class Fit:
    r"""Ordinary least-squares line $Y \approx \mathrm{slope}\, X + \mathrm{intercept}$.

    ``X`` and ``Y`` are the fit's own coordinates: $(x, y)$ for :func:`linear_fit`,
    $(\ln t, \ln|y|)$ for :func:`loglog_slope` and $(\ln t, y)$ for :func:`log_growth`.

    Attributes
    ----------
    slope, intercept : float
        OLS estimates.
    stderr : float
        Standard error of the slope from the residuals,
        $\sqrt{\mathrm{SSR}/(n-2) \,/\, \sum_i (X_i - \bar X)^2}$.
    n : int
        Number of points used (at least 3).
    window : tuple of float
        The selection window ``(lo, hi)`` in the caller's coordinate (``x`` or ``t``),
        inclusive at both ends; the data range when no window was given.
    r2 : float
        Coefficient of determination $1 - \mathrm{SSR}/\mathrm{SST}$; ``nan`` when ``Y`` is
        constant in the window ($\mathrm{SST} = 0$).
    """

    slope: float
    intercept: float
    stderr: float
    n: int
    window: Window
    r2: float


def linear_fit(x: npt.ArrayLike, y: npt.ArrayLike, window: Window | None = None) -> Fit:
    r"""Ordinary least squares of ``y`` on ``x`` over the points with ``lo <= x <= hi``.

    Parameters
    ----------
    x, y : array_like, shape (N,)
        Finite data.
    window : (float, float), optional
        Inclusive range of ``x`` to fit, inside the data range. Default: all points.

    Returns
    -------
    Fit
        Slope, intercept, slope standard error, number of points, window and $R^2$.

    Raises
    ------
    ValueError
        Non-finite or mismatched data, a window outside the data, fewer than 3 points in
        the window, or all ``x`` in the window equal.

    Examples
    --------
    >>> f = linear_fit([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0])
    >>> round(f.slope, 12), round(f.intercept, 12), f.n
    (2.0, 1.0, 4)
    """
    xv, yv = _pair("x", x, "y", y)
    mask, win = _window(xv, window, "x")
    xs, ys = xv[mask], yv[mask]  # (n,), (n,)
    n = int(xs.size)
    if n < 3:
        raise ValueError(
            f"window ({win[0]:g}, {win[1]:g}) holds {n} point(s); a fit needs at least 3"
        )
    xm, ym = float(xs.mean()), float(ys.mean())
    dx, dy = xs - xm, ys - ym
    sxx = float(dx @ dx)
    if sxx == 0.0:
        raise ValueError(
            f"all x in window ({win[0]:g}, {win[1]:g}) are equal; the slope is undefined"
        )
    slope = float(dx @ dy) / sxx
    intercept = ym - slope * xm
    resid = ys - (slope * xs + intercept)
    ssr = float(resid @ resid)
    sst = float(dy @ dy)
    stderr = math.sqrt(ssr / (n - 2) / sxx)
    r2 = 1.0 - ssr / sst if sst > 0 else math.nan
    return Fit(slope, intercept, stderr, n, win, r2)


def loglog_slope(t: npt.ArrayLike, y: npt.ArrayLike, window: Window | None = None) -> Fit:
    r"""Power-law exponent: OLS of $\ln|y|$ on $\ln t$ over ``t_lo <= t <= t_hi``.

    For $y = c\, t^{p}$ the slope is $p$ and the intercept $\ln|c|$.

    Parameters
    ----------
    t : array_like, shape (N,)
        Times; those in the window must be > 0 (pass a window to skip ``t = 0``).
    y : array_like, shape (N,)
        Values; those in the window must be nonzero and of one sign.
    window : (float, float), optional
        Inclusive ``(t_lo, t_hi)`` inside the data range. Default: all points.

    Returns
    -------
    Fit
        In coordinates $(\ln t, \ln|y|)$, with ``window`` in ``t``.

    Examples
    --------
    >>> t = np.geomspace(1.0, 1e3, 20)
    >>> round(loglog_slope(t, 5.0 / t, window=(10.0, 1e3)).slope, 12)
    -1.0
    """
    tv, yv = _pair("t", t, "y", y)
    mask, win = _window(tv, window, "t")
    ts, ys = tv[mask], yv[mask]
    _positive("t", ts, "for a log-log fit (choose a window with t_lo > 0)")
    if np.any(ys == 0) or not (np.all(ys > 0) or np.all(ys < 0)):
        raise ValueError(
            f"y must be nonzero and of one sign in window ({win[0]:g}, {win[1]:g}) for a log-log fit"
        )
    return replace(linear_fit(np.log(ts), np.log(np.abs(ys))), window=win)


def local_slopes(
    t: npt.ArrayLike,
    y: npt.ArrayLike,
    n_windows: int | None = None,
    *,
    windows: Sequence[Window] | None = None,
    points_per_window: int | None = None,
) -> list[Fit]:
    r"""Log-log slopes over consecutive windows, to show an exponent settling to its limit.

    Give at most one of the three ways to choose windows (default ``n_windows=8``):

    - ``n_windows``: split the positive part of ``t``, $[\min_{t>0} t, \max t]$, into
      ``n_windows`` consecutive windows of equal width in $\ln t$;
    - ``windows``: an explicit list of ``(t_lo, t_hi)``;
    - ``points_per_window``: consecutive blocks of this many samples with ``t > 0``
      (log-spaced windows on a log-spaced output grid); a remainder of fewer than
      ``points_per_window`` samples joins the last block.

    Windows are inclusive, so a sample exactly on a shared edge is used by both.

    Parameters
    ----------
    t, y : array_like, shape (N,)
        As for :func:`loglog_slope`.

    Returns
    -------
    list of Fit
        One :func:`loglog_slope` fit per window, in the given (time) order.

    Raises
    ------
    ValueError
        More than one way given, a count below 1 (or ``points_per_window`` below 3), or a
        window that :func:`loglog_slope` rejects (e.g. with fewer than 3 points).

    Examples
    --------
    $y = 1/t + 1/t^2$ has exponent $-2$ early and $-1$ late:

    >>> t = np.geomspace(1e-3, 1e3, 200)
    >>> [round(f.slope, 2) for f in local_slopes(t, 1 / t + 1 / t**2, 3)]
    [-1.98, -1.5, -1.02]
    """
    tv, yv = _pair("t", t, "y", y)
    given = sum(a is not None for a in (n_windows, windows, points_per_window))
    if given > 1:
        raise ValueError("give at most one of n_windows, windows and points_per_window")
    if windows is not None:
        return [loglog_slope(tv, yv, w) for w in windows]
    pos = np.flatnonzero(tv > 0)
    if pos.size == 0:
        raise ValueError("t has no positive values; log-spaced windows need t > 0")
    if points_per_window is not None:
        k = int(points_per_window)
        if k < 3:
            raise ValueError(f"points_per_window must be at least 3, got {points_per_window}")
        nblocks = pos.size // k
        if nblocks == 0:
            raise ValueError(
                f"only {pos.size} samples with t > 0; fewer than points_per_window={k}"
            )
        order = pos[np.argsort(tv[pos], kind="stable")]  # samples with t > 0, in time order
        blocks = [order[i * k : (i + 1) * k] for i in range(nblocks - 1)]
        blocks.append(order[(nblocks - 1) * k :])  # the remainder joins the last block
        return [
            replace(loglog_slope(tv[b], yv[b]), window=(float(tv[b].min()), float(tv[b].max())))
            for b in blocks
        ]
    m = 8 if n_windows is None else int(n_windows)
    if m < 1:
        raise ValueError(f"n_windows must be at least 1, got {n_windows}")
    lo, hi = float(tv[pos].min()), float(tv[pos].max())
    if not lo < hi:
        raise ValueError("the positive part of t is a single time; cannot split it into windows")
    edges = np.geomspace(lo, hi, m + 1)
    edges[0], edges[-1] = lo, hi  # exact data ends, so the windows lie inside the data
    return [
        loglog_slope(tv, yv, (float(a), float(b)))
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


def log_growth(t: npt.ArrayLike, y: npt.ArrayLike, window: Window | None = None) -> Fit:
    r"""Growth rate against log-time: OLS of $y$ on $\ln t$ over ``t_lo <= t <= t_hi``.

    For $y = c \ln t + b$ (e.g. a norm diverging logarithmically, $\|u\| \sim c \ln t$) the
    slope is $c$ and the intercept $b$.

    Parameters
    ----------
    t : array_like, shape (N,)
        Times; those in the window must be > 0.
    y : array_like, shape (N,)
        Values.
    window : (float, float), optional
        Inclusive ``(t_lo, t_hi)`` inside the data range. Default: all points.

    Returns
    -------
    Fit
        In coordinates $(\ln t, y)$, with ``window`` in ``t``.

    Examples
    --------
    >>> t = np.geomspace(1.0, 1e6, 30)
    >>> f = log_growth(t, 0.5 * np.log(t) + 2.0)
    >>> round(f.slope, 12), round(f.intercept, 12)
    (0.5, 2.0)
    """
    tv, yv = _pair("t", t, "y", y)
    mask, win = _window(tv, window, "t")
    ts = tv[mask]
    _positive("t", ts, "for a fit against ln t (choose a window with t_lo > 0)")
    return replace(linear_fit(np.log(ts), yv[mask]), window=win)
