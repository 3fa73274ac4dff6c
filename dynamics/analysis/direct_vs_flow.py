r"""Direct runs against the flow: a claim whose tolerance is the direct runs' own noise.

:func:`compare` puts the reduced flow on the time axis of the direct run(s) and asks
whether what is left, direct minus flow, is noise. The noise is measured from the direct
runs themselves:

- **several runs** (seeds) $d^{(1)}, \dots, d^{(k)}$, $k \ge 2$: at each time $t_i$ of the
  window and each compared name, the mean $\bar d_i$ and the standard error of the mean
  $s_i / \sqrt k$ ($s_i$ the seed spread, ddof 1). The statistic is
  $z_i = |\bar d_i - f_i| / \sigma_i$ and the tolerance the two-sided Student-$t$
  quantile with $k - 1$ degrees of freedom at level $\alpha / M$ (Bonferroni over the
  $M$ compared points): under "the flow is the mean of the direct runs", all $M$ points
  stay inside it with probability at least $1 - \alpha$. Correlation between neighbouring
  times only makes this more conservative.
- **one run**: the noise is the scale of the residual's fluctuations from one sample to
  the next, $\sigma^2 = \sum_i (r_{i+1} - r_i)^2 / (2(M-1))$ per name (von Neumann's
  estimator, blind to a smooth trend, so a drift away from the flow is not mistaken for
  noise), and the tolerance is the normal quantile at $\alpha / M$. Noise correlated from
  one recorded step to the next makes $\sigma$ too small: the comparison then fails rather
  than passes. Prefer several seeds.

$\sigma_i$ also carries the error of interpolating the flow linearly between its own
samples, estimated as the difference to a cubic spline through them, and a rounding
floor $10^{-12}(1 + |f_i|)$ so that runs identical to the flow (as at $t = 0$) give
$z = 0$: $\sigma_i^2 = \mathrm{se}_i^2 + e_{\mathrm{interp},i}^2 + \mathrm{floor}_i^2$.

The claim has ``predicted = 0`` (no residual beyond noise), ``measured`` = the largest
$z_i$ and ``tolerance`` = the quantile; its ``why`` states this with the numbers.
``negative_controls`` are wrong flows (e.g. with another parameter value), compared the
same way: each must fail (see :mod:`dynamics.claims`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.interpolate import CubicSpline

from dynamics.analysis._checks import Window, _number
from dynamics.claims import Claim, Source, _with_controls, check
from dynamics.trajectory import Trajectory

__all__ = ["compare"]

_FLOOR = 1e-12  # relative rounding floor of sigma (module docstring)


def _runs(direct: Trajectory | Sequence[Trajectory]) -> list[Trajectory]:
    runs = [direct] if isinstance(direct, Trajectory) else list(direct)
    if not runs or not all(isinstance(r, Trajectory) for r in runs):
        raise ValueError("direct must be a Trajectory or a non-empty sequence of Trajectories")
    return runs


def _flow_on(flow: Trajectory, name: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow's ``name`` at times ``t`` (linear) and the estimated interpolation error."""
    tf, idx = np.unique(flow.t, return_index=True)
    yf = flow[name][idx]
    lin = np.interp(t, tf, yf)
    err = np.abs(CubicSpline(tf, yf)(t) - lin) if tf.size >= 4 else np.zeros_like(t)
    return lin, err


def _measure(runs: list[Trajectory], flow: Trajectory, names: list[str], window: Window,
             alpha: float) -> dict[str, Any]:
    """z statistics of the direct runs against ``flow`` on the first run's time axis."""
    t0 = runs[0].t
    t = t0[(t0 >= window[0]) & (t0 <= window[1])]
    k = len(runs)
    if t.size < (3 if k > 1 else 10):
        raise ValueError(f"window {window} holds {t.size} samples of the direct run; need at least "
                         f"{3 if k > 1 else 10}")
    z = np.empty((len(names), t.size))
    worst_abs: dict[str, float] = {}
    noise: dict[str, float] = {}
    for j, name in enumerate(names):
        d = np.array([np.interp(t, r.t, r[name]) for r in runs])  # (k, T)
        f, e_int = _flow_on(flow, name, t)
        if k > 1:
            mean = d.mean(axis=0)
            se = d.std(axis=0, ddof=1) / math.sqrt(k)
        else:
            mean = d[0]
            r = mean - f
            se = np.full(t.size, math.sqrt(float(np.sum(np.diff(r) ** 2)) / (2.0 * (t.size - 1))))
        sigma = np.sqrt(se**2 + e_int**2 + (_FLOOR * (1.0 + np.abs(f))) ** 2)
        z[j] = np.abs(mean - f) / sigma
        worst_abs[name] = float(np.max(np.abs(mean - f)))
        noise[name] = float(np.median(se))
    m = z.size
    q = 1.0 - alpha / (2.0 * m)
    tol = float(stats.t.ppf(q, k - 1)) if k > 1 else float(stats.norm.ppf(q))
    jw, iw = np.unravel_index(int(np.argmax(z)), z.shape)
    return {"z": float(z.max()), "tol": tol, "M": m, "k": k, "T": int(t.size), "worst_abs": worst_abs,
            "noise": noise, "worst": {"name": names[jw], "t": float(t[iw])}}


def compare(
    direct: Trajectory | Sequence[Trajectory],
    flow: Trajectory,
    names: str | Sequence[str],
    window: Window | None = None,
    *,
    id: str = "direct-vs-flow",
    statement: str | None = None,
    alpha: float = 0.01,
    source: Source = "derived",
    negative_controls: Mapping[str, Trajectory] | Sequence[Trajectory] | None = None,
    details: Mapping[str, Any] | None = None,
) -> Claim:
    r"""Claim that the direct run(s) follow ``flow`` in ``names`` over ``window``, within
    the direct runs' own noise (method in the module docstring).

    Parameters
    ----------
    direct : Trajectory or sequence of Trajectory
        One run, or several (seeds) on the same flow-time axis (the first run's times in
        the window are the comparison points; the others are interpolated onto them).
    flow : Trajectory
        The integrated reduced model; interpolated onto the direct times.
    names : str or sequence of str
        Coordinates or observables present in both.
    window : (float, float), optional
        Inclusive range of flow time, inside the span of every run and of the flow;
        default the common span.
    id, statement : str
        The claim's id and sentence (a default sentence names the quantities, the window
        and the number of runs).
    alpha : float
        Family-wise false-alarm probability of the comparison, in (0, 1).
    source : str
        The claim's source (default ``"derived"``).
    negative_controls : mapping of str to Trajectory, or sequence of Trajectory
        Wrong flows compared with the same runs, window and level; each must fail.
    details : mapping, optional
        Extra entries for the claim's details.

    Returns
    -------
    Claim
        ``predicted`` 0, ``measured`` the largest $z$, ``tolerance`` the quantile; details
        hold the window, $k$, $M$, the largest absolute residual and the typical noise
        per name, and where the largest $z$ occurred.
    """
    runs = _runs(direct)
    if not isinstance(flow, Trajectory):
        raise ValueError(f"flow must be a Trajectory, got {type(flow).__name__}")
    names_l = [names] if isinstance(names, str) else [str(n) for n in names]
    if not names_l:
        raise ValueError("names must name at least one coordinate or observable")
    for n in names_l:
        for what, tr in [("flow", flow), *[(f"direct[{i}]", r) for i, r in enumerate(runs)]]:
            if n not in tr.keys():
                raise ValueError(f"names: {n!r} is not in {what} (has {tr.keys()})")
    a = _number("alpha", alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    controls = dict(negative_controls) if isinstance(negative_controls, Mapping) else {
        f"control {i}": c for i, c in enumerate(negative_controls or ())}
    if not all(isinstance(c, Trajectory) for c in controls.values()):
        raise ValueError("negative_controls must be Trajectories (wrong flows)")
    lo = max([float(r.t[0]) for r in runs] + [float(flow.t[0])])
    hi = min([float(r.t[-1]) for r in runs] + [float(flow.t[-1])])
    if window is None:
        win: Window = (lo, hi)
    else:
        try:
            win = (float(window[0]), float(window[1]))
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"window must be a pair (lo, hi) of numbers, got {window!r}") from None
        if not (math.isfinite(win[0]) and math.isfinite(win[1]) and win[0] < win[1]):
            raise ValueError(f"window must be finite with lo < hi, got {window!r}")
        if win[0] < lo or win[1] > hi:
            raise ValueError(f"window {win} is not inside the common span [{lo:g}, {hi:g}] of the direct "
                             "run(s) and the flow")
    for label, c in controls.items():
        if c.t[0] > win[0] or c.t[-1] < win[1] or any(n not in c.keys() for n in names_l):
            raise ValueError(f"negative control {label!r} must cover the window and hold {names_l}")
    res = _measure(runs, flow, names_l, win, a)
    k, m = res["k"], res["M"]
    how = (f"the standard error of the mean of the {k} direct runs (seed spread / sqrt {k}); the tolerance is "
           f"the two-sided Student-t quantile with {k - 1} degrees of freedom at alpha/M")
    if k == 1:
        how = ("the fluctuation of the residual from one sample to the next (von Neumann's estimator, blind to "
               "a smooth drift); the tolerance is the two-sided normal quantile at alpha/M")
    why = (f"Measured in units of the direct run's own noise: {how}, with alpha = {a:g} over M = {m} compared "
           f"points (Bonferroni), so under 'the flow is what the direct runs follow' all points stay inside "
           f"with probability >= {1 - a:g}. The noise also absorbs the estimated error of interpolating the "
           f"flow between its samples.")
    sentence = statement or (f"The direct run{'s' if k > 1 else ''} ({k}) follow the reduced flow in "
                             f"{', '.join(names_l)} over t in [{win[0]:g}, {win[1]:g}] within their own noise.")
    info = {"window": list(win), "names": names_l, "runs": k, "points": m, "alpha": a,
            "max_abs_residual": res["worst_abs"], "typical_noise": res["noise"], "worst_z_at": res["worst"],
            **dict(details or {})}
    claim = check(id, sentence, 0.0, res["z"], tol=res["tol"], why=why, source=source, details=info)
    results = []
    for label, c in controls.items():
        r = _measure(runs, c, names_l, win, a)
        results.append({"label": label, "predicted": 0.0, "deviation": r["z"], "refuted": r["z"] > r["tol"]})
    return _with_controls(claim, results)
