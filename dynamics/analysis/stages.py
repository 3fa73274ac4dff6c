r"""Loss stages and crossing times: the rate $-d\ln L/d\ln t$, plateaus and drops, first crossings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from dynamics.analysis._checks import FloatArray, _increasing_time, _number, _pair, _positive

__all__ = ["LOSS_FLOOR", "Stage", "detect_stages", "escape_time", "first_crossing", "log_derivative"]

#: Default floor of :func:`detect_stages`, relative to the largest loss of the curve. An
#: integrated loss that is a sum of O(1) terms carries a round-off of a few machine epsilons
#: ($\approx 10^{-15}$) times its scale, so it can reach $-4\cdot 10^{-15}$ where the true
#: loss is 0. Below $10^{-12}$ of its scale, three decades above that noise, $\ln L$ is no
#: longer a measurement of the dynamics; values under the floor are clipped up to it (and
#: values down to minus the floor are accepted as round-off of a loss that is $\ge 0$).
LOSS_FLOOR = 1e-12


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
    loss_floor: float = LOSS_FLOOR,
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

    Trajectories as integrated are accepted: a first sample at $t = 0$ (where $\ln t$ does
    not exist) is left out, and a loss that reaches zero or round-off below it is clipped
    at the floor $\varepsilon_L$ = ``loss_floor`` $\times \max L$ (see
    :data:`LOSS_FLOOR`). A loss sitting on the floor has $r = 0$: a curve that converges
    to zero ends in a "plateau" whose ``loss_start`` is the floor.

    Parameters
    ----------
    t : array_like, shape (N,)
        Strictly increasing non-negative times, only the first may be 0; $N \ge 3$ after
        leaving out $t = 0$. A log-spaced grid resolves the stages evenly.
    loss : array_like, shape (N,)
        Loss, $\ge -\varepsilon_L$ (more negative values are not round-off and raise).
        $r$ is computed from raw differences, so smooth or subsample a noisy loss first
        (noise makes $r$ flicker around $\tau$).
    threshold : float
        $\tau > 0$.
    min_width_decades : float
        Minimum plateau width in decades, $\ge 0$.
    loss_floor : float
        $\varepsilon_L / \max L$, in $(0, 1)$; default :data:`LOSS_FLOOR` $= 10^{-12}$.

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
    tv, lv = _as_integrated(t, loss, loss_floor)
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


def _as_integrated(
    t: npt.ArrayLike, loss: npt.ArrayLike, loss_floor: float
) -> tuple[FloatArray, FloatArray]:
    """(t, loss) without a leading t = 0 sample, the loss clipped at its round-off floor."""
    tv, lv = _pair("t", t, "loss", loss, min_size=3)
    rel = _number("loss_floor", loss_floor)
    if not 0.0 < rel < 1.0:
        raise ValueError(f"loss_floor must be in (0, 1) (relative to max loss), got {loss_floor!r}")
    if tv[0] == 0.0:
        tv, lv = tv[1:], lv[1:]
        if tv.size < 3:
            raise ValueError("t needs at least 3 points after leaving out t = 0")
    scale = float(lv.max())
    if scale <= 0:
        raise ValueError(f"loss must have a positive value, but its largest is {scale}")
    floor = rel * scale
    if np.any(lv < -floor):
        i = int(np.flatnonzero(lv < -floor)[0])
        raise ValueError(
            f"loss[{i}] = {lv[i]} is negative beyond round-off (floor {floor:.3g} = "
            f"loss_floor x max loss); a loss must be >= 0"
        )
    return tv, np.maximum(lv, floor)


# ------------------------------------------------------------------------------ crossings
def first_crossing(
    t: npt.ArrayLike,
    y: npt.ArrayLike,
    level: float,
    direction: Literal["down", "up", "any"] = "down",
    after: float | None = None,
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
    after : float, optional
        Only the samples with $t \ge$ ``after`` are searched (the series then starts at
        the first of them): e.g. the escape from a plateau found by
        :func:`detect_stages`. Default: all samples.

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
    if after is not None:
        start = _number("after", after)
        keep = tv >= start
        if not np.any(keep):
            raise ValueError(f"after = {start:g} is past the last sample t = {tv[-1]:g}")
        tv, yv = tv[keep], yv[keep]
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


def escape_time(
    t: npt.ArrayLike,
    loss: npt.ArrayLike,
    plateau: Stage,
    fraction: float = 0.5,
) -> float:
    r"""Time at which the loss has escaped a plateau: its first fall below
    ``fraction`` $\times$ the plateau height after the plateau began.

    The plateau height is ``plateau.loss_end``, the loss where the rate $r$ leaves the
    plateau; the escape time is :func:`first_crossing` of
    ``fraction * plateau.loss_end`` downwards, searched from ``plateau.t_start`` on. The
    default one half is a departure no plateau drift (less than 21% per decade of time
    at the default threshold of :func:`detect_stages`) makes within the plateau's own
    span, and it is reached on the steep part of the drop that follows.

    Parameters
    ----------
    t, loss : array_like, shape (N,)
        The curve the plateau was found on (``t = 0`` and round-off allowed).
    plateau : Stage
        A ``"plateau"`` from :func:`detect_stages`.
    fraction : float
        In (0, 1).

    Returns
    -------
    float
        The escape time, ``nan`` if the loss never falls that far.

    Examples
    --------
    >>> t = np.geomspace(1e-2, 1e6, 2000)
    >>> loss = np.exp(-3.0 / (1.0 + np.exp(-4.0 * (np.log(t) - np.log(100.0)))))
    >>> first = detect_stages(t, loss)[0]
    >>> 50.0 < escape_time(t, loss, first) < 100.0
    True
    """
    if not isinstance(plateau, Stage) or plateau.kind != "plateau":
        raise ValueError(f"plateau must be a Stage of kind 'plateau', got {plateau!r:.80}")
    frac = _number("fraction", fraction)
    if not 0.0 < frac < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    return first_crossing(t, loss, frac * plateau.loss_end, "down", after=plateau.t_start)
