r"""Measurements of Huang, Liang & Yang (2025) that several claims and the tests share.

* :func:`separation_tau`: the first flow time with 100% training accuracy.
* :func:`one_minus_cos`: $1 - \cos(u_t, \hat u(W_t))$ along a trajectory (spec 2.4).
* :func:`decade_slopes`: local log-log slopes over successive decades.
* :func:`drift`, :func:`law_extrapolation`: the attention drift $D = \lVert W_t - W_{t_0}\rVert$ and
  the out-of-sample test of a growth law: fit on an early window, predict a late value.
* :func:`u_log_onset`: the onset of the logarithmic growth of $\lVert u_t\rVert$ (the paper's
  $t_2 \approx 600$), by the extrapolated-onset construction documented there.
* :func:`saddle_hessian`, :func:`escape_step`: zero init without length-1 strings (spec 1.2, P14).
* :func:`full_params_at`, :func:`one_minus_cos_direct`: the same direction measurement on a
  trajectory of the full model (:func:`~derivations.huang2025.experiments.full_flow`), for CoT.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from derivations.huang2025.closed_forms import accuracy, max_margin, max_margin_direct
from derivations.huang2025.reduced import W_norm2, u_full
from dynamics.trajectory import Trajectory

__all__ = [
    "separation_tau", "one_minus_cos", "decade_slopes", "drift", "LAWS", "law_extrapolation",
    "u_log_onset", "saddle_hessian", "escape_step", "full_params_at", "one_minus_cos_direct",
]


def separation_tau(tr: Trajectory, table: np.ndarray, L_max: int, lam: float) -> float:
    """First recorded flow time with 100% (weighted) training accuracy, or NaN if never."""
    acc = accuracy(tr.y, table, L_max, lam)
    k = int(np.argmax(acc >= 1.0))
    return float(tr.t[k]) if acc[k] >= 1.0 else math.nan


def one_minus_cos(tr: Trajectory, table: np.ndarray, L_max: int, lam: float, idx: np.ndarray,
                  frozen_from: float | None = None) -> np.ndarray:
    r"""$1 - \cos(u_t, \hat u(W_t))$ at the records ``idx``; $\hat u$ is the hard-margin direction of
    the attention outputs at the current $W$. With ``frozen_from`` (the attention frozen from that
    time on, so $\hat u$ is constant there) $\hat u$ is computed once for the records after it."""
    U = u_full(tr.y, L_max)
    out = np.empty(len(idx))
    cached = None
    for i, k in enumerate(idx):
        if frozen_from is not None and tr.t[k] > frozen_from:
            if cached is None:
                cached = max_margin(tr.y[k], table, L_max, lam)
            mm = cached
        else:
            mm = max_margin(tr.y[k], table, L_max, lam)
        out[i] = 1.0 - float(U[k] @ mm.u) / (np.linalg.norm(U[k]) * mm.norm)
    return out


def decade_slopes(x: np.ndarray, y: np.ndarray, t: np.ndarray, decades: list[tuple[float, float]]) -> list[float]:
    """Least-squares slope of ``y`` against ``x`` on each window of ``t`` (a list of (lo, hi))."""
    out = []
    for lo, hi in decades:
        m = (t >= lo * (1 - 1e-9)) & (t <= hi * (1 + 1e-9))
        out.append(float(np.polyfit(x[m], y[m], 1)[0]) if m.sum() >= 3 else math.nan)
    return out


def drift(tr: Trajectory, tau0: float, L_max: int) -> np.ndarray:
    r"""$D(\tau) = \lVert W_\tau - W_{\tau_0}\rVert_F$ (reduced coordinates, zero-gauge manifold)."""
    j = int(np.searchsorted(tr.t, tau0))
    return np.sqrt(W_norm2(tr.y - tr.y[j], L_max))


#: Growth laws for the drift, each as the regressor x(tau) of D = a x + b.
LAWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ln ln tau": lambda t: np.log(np.log(t)),
    "ln tau": np.log,
    "bounded, D_inf - a/ln tau": lambda t: -1.0 / np.log(t),
    "bounded, D_inf - a/ln^2 tau": lambda t: -1.0 / np.log(t) ** 2,
}


def law_extrapolation(t: np.ndarray, D: np.ndarray, law: str, fit: tuple[float, float], at: float,
                      base: float, laws: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None) -> dict[str, Any]:
    r"""Fit $D = a\,x(\tau) + b$ (``LAWS[law]``) on ``fit``, predict $D$ at ``at``.

    ``laws`` replaces :data:`LAWS` as the table of regressors. Returns the coefficients, the prediction, the measured value and the error as a fraction of
    the growth being extrapolated, $(\hat D(\text{at}) - D(\text{at})) / (D(\text{at}) - D(\text{base}))$.
    """
    x = (LAWS if laws is None else laws)[law]
    keep = t > 1.0  # ln ln tau needs tau > 1; the laws are for phase 2 anyway
    t, D = t[keep], D[keep]
    m = (t >= fit[0]) & (t <= fit[1])
    a, b = np.polyfit(x(t[m]), D[m], 1)
    k, kb = int(np.argmin(np.abs(np.log(t / at)))), int(np.argmin(np.abs(np.log(t / base))))
    pred = float(a * x(np.array([t[k]]))[0] + b)
    growth = float(D[k] - D[kb])
    return {"law": law, "a": float(a), "b": float(b), "tau": float(t[k]), "predicted": pred,
            "measured": float(D[k]), "rel_error": (pred - float(D[k])) / growth if growth > 0 else math.nan}


def u_log_onset(steps: np.ndarray, unorm: np.ndarray, late: tuple[float, float]) -> dict[str, Any]:
    r"""Onset of the logarithmic growth of $\lVert u_t\rVert$, in steps.

    Extrapolated-onset construction on the curve $\lVert u\rVert$ against $\ln t$: the tangent at the
    steepest point (the end of phase 1's fast growth, where $d\lVert u\rVert/d\ln t$ peaks) meets
    the late log-line $\lVert u\rVert = s\ln t + c$ fitted on the steps ``late``. Also returned, for
    comparison, two threshold definitions: the first step after which the local slope stays within
    50% of $s$, and after which $\lVert u\rVert$ stays within 5% of the late line.
    """
    lt = np.log(steps)
    g = np.gradient(unorm, lt)
    k = int(np.argmax(g))
    m = (steps >= late[0]) & (steps <= late[1])
    s, c = np.polyfit(lt[m], unorm[m], 1)
    x = (c - unorm[k] + g[k] * lt[k]) / (g[k] - s)
    after = np.arange(steps.size) > k

    def last_violation(bad: np.ndarray) -> float:
        idx = np.nonzero(bad & after & (steps < late[0]))[0]
        return float(steps[idx[-1] + 1]) if idx.size else float(steps[k])

    return {"onset": float(math.exp(x)), "peak_step": float(steps[k]), "peak_slope": float(g[k]),
            "late_slope": float(s), "late_window": list(late),
            "slope_within_50pct": last_violation(g > 1.5 * s),
            "within_5pct_of_late_line": last_violation(np.abs(unorm - (s * lt + c)) > 0.05 * unorm)}


def saddle_hessian(loss_and_grad: Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]],
                   d: int, h: float = 1e-5) -> np.ndarray:
    """Hessian of the loss at (u, W) = 0 by central differences of the analytic gradient,
    symmetrised; shape (d + d^2, d + d^2), u first then W row-major."""
    n = d + d * d

    def grad(x: np.ndarray) -> np.ndarray:
        _, g = loss_and_grad({"u": x[:d], "W": x[d:].reshape(d, d)})
        return np.concatenate([g["u"], g["W"].ravel()])

    H = np.column_stack([(grad(h * e) - grad(-h * e)) / (2 * h) for e in np.eye(n)])
    return (H + H.T) / 2


def escape_step(loss: np.ndarray, saddle_loss: float, drop: float = 0.01) -> float:
    """First step at which the loss is ``drop`` (relative) below its saddle value, NaN if never."""
    below = np.nonzero(loss < (1 - drop) * saddle_loss)[0]
    return float(below[0]) if below.size else math.nan


def full_params_at(tr: Trajectory, k: int, d: int) -> dict[str, np.ndarray]:
    """``{"u", "W"}`` at record ``k`` of a full-model trajectory (state ``u`` then ``W`` row-major)."""
    return {"u": tr.y[k, :d], "W": tr.y[k, d:].reshape(d, d)}


def one_minus_cos_direct(model: Any, data: Any, tr: Trajectory, idx: np.ndarray,
                         frozen: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""$1 - \cos(u_t, \hat u(W_t))$ at the records ``idx`` of a full-model trajectory, and
    $\lVert\hat u(W_t)\rVert$; $\hat u$ is :func:`max_margin_direct` on all of ``data``. With
    ``frozen`` (the attention constant along ``tr``) $\hat u$ is computed once."""
    d = model.d
    out, norms = np.empty(len(idx)), np.empty(len(idx))
    mm = None
    for i, k in enumerate(idx):
        p = full_params_at(tr, int(k), d)
        if mm is None or not frozen:
            mm = max_margin_direct(model, p, data)
            if not mm.separable:
                raise ValueError(f"the attention outputs at tau = {tr.t[k]:g} are not separable")
        out[i] = 1.0 - float(p["u"] @ mm.u) / (np.linalg.norm(p["u"]) * mm.norm)
        norms[i] = mm.norm
    return out, norms
