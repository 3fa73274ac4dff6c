r"""Measurements on trajectories: rates, stages, crossing times and max-margin directions.

Pure numpy/scipy functions on plain arrays, so they apply equally to
:class:`~dynamics.trajectory.Trajectory` columns (``tr.t``, ``tr.loss``, ``tr["u"]``) and
to anything else. Every function validates its inputs up front and raises
:class:`ValueError` naming the problem; results are frozen dataclasses.

Contents
--------
- Fits: :func:`linear_fit` (the one OLS routine), :func:`loglog_slope` (power-law exponent,
  $\ln|y|$ on $\ln t$), :func:`local_slopes` (exponents over consecutive log-spaced
  windows), :func:`log_growth` ($y$ on $\ln t$).
- Loss stages: :func:`log_derivative` ($r(t) = -d\ln L/d\ln t$) and :func:`detect_stages`
  (plateaus and drops).
- :func:`first_crossing`: first time a piecewise-linear series crosses a level.
- :func:`max_margin_direction`: hard-margin (no bias) max-margin direction of labelled
  features, the limit direction of gradient flow on separable logistic-type losses.
- :func:`cosine`, :func:`cosine_series`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.optimize

__all__ = [
    "Fit",
    "MaxMargin",
    "Stage",
    "cosine",
    "cosine_series",
    "detect_stages",
    "first_crossing",
    "linear_fit",
    "local_slopes",
    "log_derivative",
    "log_growth",
    "loglog_slope",
    "max_margin_direction",
]

FloatArray = npt.NDArray[np.float64]
Window = tuple[float, float]


# ----------------------------------------------------------------------------- validation
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


# ----------------------------------------------------------------------------------- fits
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


# --------------------------------------------------------------------------- loss stages
def log_derivative(t: npt.ArrayLike, loss: npt.ArrayLike) -> FloatArray:
    r"""Rate $r(t) = -\dfrac{d \ln L}{d \ln t}$ by finite differences in $\ln t$.

    Uses :func:`numpy.gradient` on $(\ln t, \ln L)$: second-order centred differences on the
    (possibly nonuniform) grid inside, one-sided first-order differences at the two ends.
    Exact wherever $\ln L$ is linear in $\ln t$: $L = c\,t^{-p}$ gives $r \equiv p$.

    Parameters
    ----------
    t : array_like, shape (N,)
        Strictly increasing positive times, $N \ge 2$ (drop a ``t = 0`` sample first).
    loss : array_like, shape (N,)
        Positive values.

    Returns
    -------
    ndarray, shape (N,)
        $r$ at each sample.

    Examples
    --------
    >>> t = np.geomspace(1.0, 100.0, 5)
    >>> np.allclose(log_derivative(t, t**-1.5), 1.5)
    True
    """
    tv, lv = _pair("t", t, "loss", loss, min_size=2)
    _positive("t", tv, "for a derivative in ln t")
    _positive("loss", lv, "for a derivative of ln L")
    _increasing_time(tv, strict=True)
    return -np.gradient(np.log(lv), np.log(tv))


@dataclass(frozen=True)
class Stage:
    r"""A plateau or a drop of the loss, found by :func:`detect_stages`.

    Attributes
    ----------
    kind : {"plateau", "drop"}
        Plateau: rate below threshold; drop: rate at or above it (a stage transition).
    t_start, t_end : float
        Ends of the interval: a data end or a time where $r$ crosses the threshold
        (interpolated linearly in $\ln t$).
    loss_start, loss_end : float
        Loss at ``t_start`` and ``t_end`` (interpolated linearly in $(\ln t, \ln L)$).
    peak_rate : float
        Largest sampled $r$ in the interval.
    t_peak : float
        Sample time of ``peak_rate``; for a drop, its steepest point.
    """

    kind: Literal["plateau", "drop"]
    t_start: float
    t_end: float
    loss_start: float
    loss_end: float
    peak_rate: float
    t_peak: float

    @property
    def decades(self) -> float:
        """Width of the interval in decades of time, $\\log_{10}(t_\\mathrm{end}/t_\\mathrm{start})$."""
        return math.log10(self.t_end / self.t_start)


def detect_stages(
    t: npt.ArrayLike,
    loss: npt.ArrayLike,
    threshold: float = 0.1,
    min_width_decades: float = 0.5,
) -> list[Stage]:
    r"""Split a loss curve into plateaus and drops using the rate $r = -d\ln L/d\ln t$.

    Definition. With $r$ from :func:`log_derivative`,

    1. the samples are grouped into maximal runs with $r < \tau$ (low) or $r \ge \tau$
       (high), $\tau$ = ``threshold``; a run ends where $r$ crosses $\tau$, located by
       linear interpolation in $\ln t$ between the two samples either side;
    2. a *plateau* is a low run spanning at least ``min_width_decades`` of $t$,
       $\log_{10}(t_\mathrm{end}/t_\mathrm{start}) \ge$ ``min_width_decades``;
    3. a *drop* (stage transition) is a high run. A shorter low run between two high runs
       is a flicker of the rate, not a plateau: it and its neighbours form one drop. A
       shorter low run at either end of the data is not reported.

    The stages are returned in time order, do not overlap, and cover
    $[t_0, t_{N-1}]$ apart from such short low stretches at the ends (so the list is empty
    when the whole curve is one such stretch).

    Choice of the default $\tau = 0.1$: on a plateau the loss falls more slowly than
    $t^{-0.1}$, i.e. by less than $1 - 10^{-0.1} \approx 21\%$ per decade of time, while the
    rate peaks of stage transitions and power-law decays of order $t^{-1}$ ($r \approx 1$)
    are an order of magnitude above it. A power-law tail $L \propto t^{-p}$ with $p \ge \tau$
    is therefore one drop, not a plateau. ``min_width_decades = 0.5`` asks a plateau to last
    a factor $\sqrt{10} \approx 3.2$ in time.

    Parameters
    ----------
    t : array_like, shape (N,)
        Strictly increasing positive times, $N \ge 3$; a log-spaced grid resolves the
        stages evenly.
    loss : array_like, shape (N,)
        Positive loss. $r$ is computed from raw differences, so smooth or subsample a noisy
        loss first (noise makes $r$ flicker around $\tau$).
    threshold : float
        $\tau > 0$.
    min_width_decades : float
        Minimum plateau width in decades, $\ge 0$.

    Returns
    -------
    list of Stage

    Examples
    --------
    >>> t = np.geomspace(1e-2, 1e6, 2000)
    >>> z = 4.0 * (np.log(t) - np.log(100.0))
    >>> loss = np.exp(-3.0 / (1.0 + np.exp(-z)))  # one sigmoidal drop at t = 100
    >>> [s.kind for s in detect_stages(t, loss)]
    ['plateau', 'drop', 'plateau']
    """
    tv, lv = _pair("t", t, "loss", loss, min_size=3)
    threshold = _number("threshold", threshold)
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    min_width_decades = _number("min_width_decades", min_width_decades)
    if min_width_decades < 0:
        raise ValueError(f"min_width_decades must be >= 0, got {min_width_decades}")
    r = log_derivative(tv, lv)  # (N,)
    lt, ll = np.log(tv), np.log(lv)
    high = r >= threshold  # (N,)
    cuts = np.flatnonzero(high[1:] != high[:-1])  # run boundary between samples i and i + 1
    # crossing of the threshold in ln t between the two samples either side of each cut
    s = (threshold - r[cuts]) / (r[cuts + 1] - r[cuts])
    lt_cut = lt[cuts] + s * (lt[cuts + 1] - lt[cuts])
    run_first = np.concatenate(([0], cuts + 1))  # first sample of each run
    run_last = np.concatenate((cuts, [tv.size - 1]))  # last sample of each run
    run_lt0 = np.concatenate(([lt[0]], lt_cut))
    run_lt1 = np.concatenate((lt_cut, [lt[-1]]))
    nrun = run_first.size

    def at(x: float) -> tuple[float, float]:
        """(time, loss) at an interpolated threshold crossing, ``x`` in ln t."""
        return math.exp(x), math.exp(float(np.interp(x, lt, ll)))

    def stage(kind: Literal["plateau", "drop"], a: int, b: int) -> Stage:
        """Stage over runs a..b inclusive."""
        i0, i1 = int(run_first[a]), int(run_last[b])
        j = i0 + int(np.argmax(r[i0 : i1 + 1]))
        t0, l0 = (float(tv[0]), float(lv[0])) if a == 0 else at(float(run_lt0[a]))
        t1, l1 = (float(tv[-1]), float(lv[-1])) if b == nrun - 1 else at(float(run_lt1[b]))
        return Stage(kind, t0, t1, l0, l1, float(r[j]), float(tv[j]))

    is_plateau = [
        (not high[run_first[k]]) and (run_lt1[k] - run_lt0[k]) / math.log(10) >= min_width_decades
        for k in range(nrun)
    ]
    stages: list[Stage] = []
    k = 0
    while k < nrun:
        if is_plateau[k]:
            stages.append(stage("plateau", k, k))
            k += 1
        elif not high[run_first[k]]:  # short low run at an end (interior ones are absorbed)
            k += 1
        else:  # a drop: absorb following short low runs that have a high run after them
            b = k
            while b + 2 < nrun and not is_plateau[b + 1]:
                b += 2
            stages.append(stage("drop", k, b))
            k = b + 1
    return stages


# ------------------------------------------------------------------------------ crossings
def first_crossing(
    t: npt.ArrayLike,
    y: npt.ArrayLike,
    level: float,
    direction: Literal["down", "up", "any"] = "down",
) -> float:
    r"""First time the piecewise-linear interpolant of ``y`` crosses ``level``.

    A crossing is a change of side of $y - \mathrm{level}$. Between samples on opposite
    sides the time is interpolated linearly, $t^* = t_i + (t_{i+1} - t_i)\,
    (y_i - \mathrm{level})/(y_i - y_{i+1})$, which is exact for linear data. Samples exactly
    at the level:

    - inside the data, a run of such samples between opposite sides is a crossing at the
      first sample of the run; between samples on the same side it is a touch, not a
      crossing;
    - at the start, the series crosses at ``t[0]`` in the direction in which it leaves the
      level (so ``y[0] == level`` followed by smaller values is a ``"down"`` crossing at
      ``t[0]``);
    - at the end, the series crosses where it reaches the level, from the side it came.

    Parameters
    ----------
    t : array_like, shape (N,)
        Non-decreasing times.
    y : array_like, shape (N,)
        Values.
    level : float
        Finite level.
    direction : {"down", "up", "any"}
        ``"down"``: from above to below; ``"up"``: from below to above; ``"any"``: either.

    Returns
    -------
    float
        The crossing time, or ``math.nan`` if ``y`` never crosses ``level`` in the requested
        direction (including when ``y`` starts on the target side and stays there: a loss
        that starts below ``level`` has no ``"down"`` crossing).

    Examples
    --------
    >>> first_crossing([0.0, 1.0, 2.0], [3.0, 1.0, 0.0], 2.0)
    0.5
    >>> math.isnan(first_crossing([0.0, 1.0], [3.0, 2.5], 2.0))
    True
    """
    tv, yv = _pair("t", t, "y", y)
    _increasing_time(tv, strict=False)
    lev = _number("level", level)
    if direction not in ("down", "up", "any"):
        raise ValueError(f"direction must be 'down', 'up' or 'any', got {direction!r}")
    d = yv - lev  # (N,)
    side = np.sign(d)
    nz = np.flatnonzero(side)  # samples off the level
    if nz.size == 0:
        return math.nan

    def wanted(from_side: float) -> bool:
        """Whether a crossing leaving side ``from_side`` (+1 above, -1 below) is requested."""
        return direction == "any" or (from_side > 0) == (direction == "down")

    # start at the level: crossing at t[0], in the direction the series leaves it
    if nz[0] > 0 and wanted(-side[nz[0]]):
        return float(tv[0])
    j, k = nz[:-1], nz[1:]  # consecutive samples off the level
    change = side[j] != side[k]
    if direction != "any":
        change &= (side[j] > 0) == (direction == "down")
    hits = np.flatnonzero(change)
    if hits.size:
        a, b = int(j[hits[0]]), int(k[hits[0]])
        if b > a + 1:  # samples exactly at the level in between
            return float(tv[a + 1])
        frac = d[a] / (d[a] - d[b])
        return float(tv[a] + frac * (tv[b] - tv[a]))
    # end at the level: reached from the side of the last sample off it
    last = int(nz[-1])
    if last < tv.size - 1 and wanted(side[last]):
        return float(tv[last + 1])
    return math.nan


# ------------------------------------------------------------------------------ max margin
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
