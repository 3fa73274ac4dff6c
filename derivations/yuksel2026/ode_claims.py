r"""Claims on Eq. 4 (spec sections 3.4 and 5.1), measured on integrated trajectories.

Every function is pure: it takes trajectories of :mod:`derivations.yuksel2026.reduced` models
(or measured numbers) and returns :class:`~dynamics.claims.Claim` objects with ids
``yuksel2026.ode-...``; the prediction is an argument with the spec's value as default, so a
negative control passes a wrong one. :func:`ode_suite` runs the default experiments and
returns all claims with the numbers behind them.

**Transition time** $t_j$: the first time pattern $j$'s loss contribution
$\ell_j = \tfrac12(g_j - \sum_k V_k(j) s_k(p_j))^2$ falls below half its initial value
(spec 3.4), located by linear interpolation on the output grid (:func:`transition_times`).

Sources (each claim's ``source``): the plateau levels, the number of drops, the
misspecified-head levels, the competitive phase and the scalings of $t_1$ are properties of
Eq. 4 that we derived (spec 3.4, derivation and our own simulations): ``derived``; the
cooperative hand-off is what the authors' own Eq. 4 simulation shows (paper Fig. 10):
``paper``; the J2 slowdown is the spec's simulation of ``ode.py``'s squared form:
``derived``; the agreement with the authors' Euler integrator checks our tool:
``calibration``. The theorems were not read; no claim here restates one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivations.yuksel2026 import reduced as R
from dynamics.analysis import detect_stages, first_crossing, linear_fit, loglog_slope
from dynamics.claims import Claim, check, check_equal
from dynamics.codegen import CompiledModel
from dynamics.integrate import integrate
from dynamics.trajectory import Trajectory

__all__ = [
    "T1_G1",
    "transition_times",
    "plateau_levels",
    "head_spread",
    "run",
    "notebook_euler",
    "claim_plateaus",
    "claim_final_level",
    "claim_drops",
    "claim_order",
    "claim_competitive",
    "claim_competitive_share",
    "claim_t1_scaling",
    "claim_t1_g1",
    "claim_t1_eps",
    "claim_symmetric_start",
    "claim_handoff",
    "claim_j2_slower",
    "J2_SLOWDOWN",
    "J2_TOL",
    "J2_SEEDS",
    "claim_closed_vs_full",
    "claim_notebook_euler",
    "OdeSettings",
    "OdeResults",
    "ode_suite",
]

T1_G1 = 13.4  # spec 5.1.5, from the spec's own simulations: t_1 g_1 at T = 40 (13.2-13.75 over g_1 in [1.44, 6.25])
RECRUIT = 0.25  # a head is recruited by pattern j when its attention on p_j rises by >= 1/4


# ----------------------------------------------------------------------------- measurements
def _K(tr: Trajectory) -> int:
    K = 0
    while f"ell{K + 1}" in tr.observables:
        K += 1
    if K == 0:
        raise ValueError("trajectory has no 'ell1' observable: integrate a yuksel2026 reduced model")
    return K


def transition_times(tr: Trajectory) -> list[float]:
    """$t_j$ for each pattern (``nan`` if $\\ell_j$ never halves within the trajectory)."""
    out = []
    for j in range(1, _K(tr) + 1):
        e = tr[f"ell{j}"]
        out.append(first_crossing(tr.t, e, float(e[0]) / 2, "down"))
    return out


def plateau_levels(g: Sequence[float]) -> list[float]:
    r"""$\mathcal L_k = \tfrac12\sum_{j > k} g_j^2$ for $k = 0..K$, with patterns in the
    order of decreasing strength (the order in which they are learned)."""
    gs = sorted((float(x) for x in g), reverse=True)
    return [0.5 * sum(x * x for x in gs[k:]) for k in range(len(gs) + 1)]


def head_spread(tr: Trajectory) -> np.ndarray:
    r"""$\max_{k,k'} \lVert s_k - s_{k'}\rVert_\infty$ at every output time, shape ``(N,)``."""
    A = R.attention(tr)
    return np.max(A.max(axis=1) - A.min(axis=1), axis=1)


def _t(tr: Trajectory, t: float) -> int:
    """Index of the first output time >= t (the last one if t is beyond the end)."""
    return min(int(np.searchsorted(tr.t, t)), len(tr.t) - 1)


def run(cm: CompiledModel, *, g: Sequence[float] | None = None, eps: float = 1e-6, seed: int = 0,
        T: int | None = None, t_max: float = 1e4, n_points: int = 3000, rtol: float = 1e-8,
        atol: float = 1e-10) -> Trajectory:
    """Integrate ``cm`` from the notebook's start (:func:`reduced.initial_state`) with
    strengths ``g`` (default the model's); ``T`` is required for a closed model."""
    y0 = R.initial_state(cm, eps, seed, T=T)
    return integrate(cm, y0, R.params(cm, g, T=T), t_max=t_max, n_points=n_points, rtol=rtol, atol=atol)


def notebook_euler(g: Sequence[float] = R.strengths(), h: int = 3, T: int = 40, eps: float = 1e-6,
                   seed: int = 0, dt: float = 0.005, steps: int = 100_000,
                   record_every: int = 20) -> dict[str, np.ndarray]:
    """The authors' Fig. 10 integrator, re-implemented in numpy: explicit Euler with step
    ``dt`` on the replicator form, clipping $s$ at $10^{-12}$ and renormalising after every
    step, patterns at positions $1..K$. Returns ``t`` ``(N,)``, ``loss`` ``(N,)`` and ``ell``
    ``(N, K)``. An independent check of the pipeline, not part of it."""
    gv = np.asarray(g, dtype=float)
    K = gv.size
    if K > T or h < 1 or dt <= 0 or steps < 1 or record_every < 1:
        raise ValueError("need K <= T, h >= 1, dt > 0, steps >= 1 and record_every >= 1")
    G = np.zeros((K, T))
    G[np.arange(K), np.arange(K)] = gv
    V = np.zeros((h, K))
    s = R.initial_attention(h, T, eps, seed)
    ts, losses, ells = [], [], []
    for step in range(steps + 1):
        Rm = G - V.T @ s  # (K, T)
        if step % record_every == 0:
            ts.append(step * dt)
            losses.append(0.5 * float(np.sum(Rm * Rm)))
            ells.append(0.5 * np.diag(Rm[:, :K]) ** 2)
        c = V @ Rm  # (h, T): R^T V_k per head
        sdot = s * (c - np.sum(s * c, axis=1, keepdims=True))
        V = V + dt * (Rm @ s.T).T
        s = np.clip(s + dt * sdot, 1e-12, None)
        s /= s.sum(axis=1, keepdims=True)
    return {"t": np.array(ts), "loss": np.array(losses), "ell": np.array(ells)}


# ----------------------------------------------------------------------------- claims
def claim_plateaus(tr: Trajectory, g: Sequence[float], levels: Sequence[float] | None = None) -> Claim:
    """The intermediate plateaus sit at $\\mathcal L_k$, $k = 1..K-1$, measured at the
    geometric mid-points $\\sqrt{t_k t_{k+1}}$ between transitions (relative, 1%)."""
    ts = transition_times(tr)
    K = len(ts)
    if K < 2 or not np.all(np.isfinite(ts)):
        raise ValueError(f"claim_plateaus needs K >= 2 patterns that are all learned; transitions {ts}")
    pred = plateau_levels(g)[1:K] if levels is None else [float(x) for x in levels]
    mids = [math.sqrt(ts[k] * ts[k + 1]) for k in range(K - 1)]
    meas = [float(tr.at(m, "loss")) for m in mids]
    return check(
        "yuksel2026.ode-plateaus",
        f"Eq. 4 ({R.layout(tr).form}): between drops the loss sits at the misspecified optima "
        f"L_k = 1/2 sum_(j>k) g_j^2, k = 1..{K - 1}, measured at the plateau mid-points sqrt(t_k t_k+1).",
        pred, meas, tol=0.01, relative=True, source="derived",
        why="L_k is exact at the saddle where the top k patterns are fitted; at a finite time the heads "
            "still hold attention mass on the background positions (about a quarter of it at the middle "
            "of plateau 1, s(p_1) = 0.74), whose leakage sum_p 1/2 (sum_k V_k s_k(p))^2 lifts the loss by "
            "~0.7% of L_1 there and by <0.1% of L_2 on plateau 2, decaying slowly. 1% is the spec's "
            "tolerance; it is far below the spacing of the levels (factors 3.1 and 3.9 for the default g).",
        details={"transition_times": ts, "midpoints": mids, "levels_all": plateau_levels(g)},
    )


def claim_final_level(tr: Trajectory, g: Sequence[float], level: float | None = None) -> Claim:
    """With $h$ heads the flow ends at $\\mathcal L_{\\min(h, K)}$: stuck at $\\mathcal L_h$
    when $h < K$ (misspecified), at 0 when $h \\ge K$. Measured: the loss at the last time."""
    lay = R.layout(tr)
    n = min(lay.h, lay.K)
    pred = plateau_levels(g)[n] if level is None else float(level)
    return check(
        f"yuksel2026.ode-final-h{lay.h}",
        f"Eq. 4 with h = {lay.h} heads and K = {lay.K} patterns ends at L_min(h,K) = L_{n} = {pred:.4g} "
        f"(loss at t = {tr.t[-1]:.3g}).",
        pred, float(tr.loss[-1]), tol=1e-3, source="derived",
        why="L_min(h,K) is the best fit with min(h,K) heads; the remaining excess is the background "
            "attention mass, which decays like a power of t (measured excess ~1e-5 at t = 1e2 for h < K, "
            "~5e-6 at 1e3 for h = K, <= 1e-7 at 1e4). 1e-3 holds for any t_max >= 1e3 and is 500 times "
            "smaller than the gap to the neighbouring levels (>= 0.5 for g = (2.89, 1.7, 1)).",
        details={"t_max": float(tr.t[-1]), "transition_times": transition_times(tr),
                 "loss_at": {f"{x:g}": float(tr.at(x, "loss")) for x in (1e2, 1e3, 1e4) if x <= tr.t[-1]}},
    )


def claim_drops(trs: Mapping[int, Trajectory], predicted: Sequence[int] | None = None) -> Claim:
    """The number of loss drops (patterns whose $\\ell_j$ halves) is $\\min(h, K)$, for each
    ``h`` in ``trs`` (a mapping h -> trajectory)."""
    hs = sorted(trs)
    Ks = {R.layout(trs[h]).K for h in hs}
    if len(Ks) != 1:
        raise ValueError(f"the trajectories have different K: {sorted(Ks)}")
    K = Ks.pop()
    meas = [int(np.sum(np.isfinite(transition_times(trs[h])))) for h in hs]
    stages = [sum(s.kind == "drop" for s in detect_stages(trs[h].t[1:], trs[h].loss[1:])) for h in hs]
    pred = [min(h, K) for h in hs] if predicted is None else [int(x) for x in predicted]
    return check_equal(
        "yuksel2026.ode-drops",
        f"Eq. 4: the number of loss drops is min(h, K) (K = {K}), for h = {hs}.",
        pred, meas, source="derived",
        why="counts are exact integers: a drop is a pattern whose contribution halves by t_max "
            f"(t_max = {[float(trs[h].t[-1]) for h in hs]}), far beyond the last transition.",
        details={"h": hs, "drop_stages_detected": stages,
                 "transition_times": {str(h): transition_times(trs[h]) for h in hs}},
    )


def _order(ts: Sequence[float]) -> list[int]:
    return [int(i) + 1 for i in np.argsort(ts)] if all(np.isfinite(ts)) else []


def claim_order(tr: Trajectory, g: Sequence[float], predicted: Sequence[int] | None = None,
                id: str = "yuksel2026.ode-order") -> Claim:
    """Patterns are acquired in decreasing strength, whatever their positions (pattern
    indices 1..K in the order of their transition times)."""
    lay = R.layout(tr)
    ts = transition_times(tr)
    pred = [int(i) + 1 for i in np.argsort(-np.asarray(g, dtype=float), kind="stable")] \
        if predicted is None else [int(x) for x in predicted]
    return check_equal(
        id, f"Eq. 4 ({lay.form}): patterns are learned in decreasing strength g = {list(map(float, g))}, not "
            f"by position (positions {list(lay.positions)}).",
        pred, _order(ts), source="derived",
        why="an exact ordering of the measured transition times; positions are exchangeable in Eq. 4, "
            "so only the strengths can order the patterns.",
        details={"transition_times": ts, "positions": list(lay.positions), "g": list(map(float, g)),
                 "order_by_position": [int(i) + 1 for i in np.argsort(lay.positions)]},
    )


def claim_competitive(trs_by_eps: Mapping[float, Trajectory], predicted: float = 1.0) -> Claim:
    """Until the first drop the heads stay identical up to $O(\\varepsilon)$: the largest
    head difference over $t \\le t_1$ scales like $\\varepsilon^1$ (fitted log-log exponent
    over the initial noise levels), so it divided by $\\varepsilon$ stays bounded."""
    eps = sorted(e for e in trs_by_eps if e > 0)
    if len(eps) < 3:
        raise ValueError("claim_competitive needs at least 3 noise levels eps > 0")
    spreads, t1s = [], []
    for e in eps:
        tr = trs_by_eps[e]
        t1 = transition_times(tr)[0]
        d = head_spread(tr)
        spreads.append(float(d[tr.t <= t1].max()))
        t1s.append(t1)
    fit = loglog_slope(eps, spreads)
    ratio = [s / e for s, e in zip(spreads, eps, strict=True)]
    return check(
        "yuksel2026.ode-competitive",
        "Eq. 4, competitive phase: until the first drop t_1 all heads are identical up to O(eps): "
        f"max_(t<=t_1, k,k') |s_k - s_k'|_inf ~ eps^{predicted:g} over eps = {eps} (fitted exponent, "
        f"stderr {fit.stderr:.2g}); the ratio to eps stays at {min(ratio):.4g}..{max(ratio):.4g}.",
        predicted, fit.slope, tol=0.02, source="derived",
        why="the symmetric set {V_k = V, s_k = s} is invariant, so head differences obey the flow "
            "linearised around it and scale exactly like eps while they are small; nonlinear terms are "
            "O(eps * ratio) ~ 1e-2 relative at eps = 1e-4 (ratio ~ 1e2), which moves the exponent by "
            "< 0.01. 0.02 excludes any other power (a square-root law would give 0.5).",
        details={"eps": eps, "max_spread": spreads, "spread_over_eps": ratio, "t1": t1s,
                 "stderr": fit.stderr},
    )


def claim_competitive_share(tr: Trajectory, g: Sequence[float], heads_sharing: int | None = None) -> Claim:
    """At $t = 2 t_1$ every head attends mostly to $p_1$ ($s_k(p_1) > 0.6$) and the heads share
    the strongest pattern: $V_k(1) \\approx g_1/(h\\, s_k(p_1))$ (spec 5.1.4)."""
    lay = R.layout(tr)
    ts = transition_times(tr)
    i = _t(tr, 2 * ts[0])
    A, V = R.attention(tr)[i], R.values(tr)[i]
    j = int(np.argmax(g))
    s1 = A[:, lay.positions[j] - 1] if lay.kind == "full" else A[:, j]
    n = lay.h if heads_sharing is None else int(heads_sharing)
    pred = float(g[j]) / (n * s1)
    return check(
        "yuksel2026.ode-competitive-share",
        f"Eq. 4 at t = 2 t_1 = {tr.t[i]:.3g}: the {lay.h} heads share the strongest pattern equally, "
        f"V_k(1) = g_1/(h s_k(p_1)) with s_k(p_1) = {np.round(s1, 3).tolist()} (all > 0.6).",
        pred, V[:, j], tol=0.05, relative=True, source="derived",
        why="on the invariant symmetric set the heads act as one head with value h V, which fits "
            "g_1 = h V(1) s(p_1) once the first drop is over; at 2 t_1 the pattern-1 residual is a few "
            "1e-3 of g_1. 5% covers that and excludes one head carrying the pattern (factor h).",
        details={"t": float(tr.t[i]), "s_p1": s1.tolist(), "min_s_p1_above_0.6": bool(np.all(s1 > 0.6))},
    )


def claim_t1_scaling(g1s: Sequence[float], t1s: Sequence[float], predicted: float = -1.0) -> Claim:
    """$t_1 \\propto 1/g_1$: fitted log-log exponent of $t_1$ against $g_1$."""
    fit = loglog_slope(g1s, t1s)
    return check(
        "yuksel2026.ode-t1-scaling",
        f"Eq. 4: the first transition time scales like t_1 ~ g_1^{predicted:g} over g_1 = "
        f"{min(g1s):.3g}..{max(g1s):.3g} (fitted exponent, stderr {fit.stderr:.2g}).",
        predicted, fit.slope, tol=0.03, source="derived",
        why="the escape from uniform attention is driven by the log-odds g_1^2 t^2/(2T) (spec 3.4), "
            "so t_1 g_1 is constant at leading order; with g = (m^2, m, 1) the weaker patterns also "
            "change with g_1, which lets t_1 g_1 drift by a few percent over the sweep (the spec: "
            "13.2..13.75), i.e. the exponent by ~0.02. 0.03 allows that and excludes -1/2 or -2.",
        details={"g1": list(map(float, g1s)), "t1": list(map(float, t1s)), "stderr": fit.stderr,
                 "t1_g1": [float(a * b) for a, b in zip(g1s, t1s, strict=True)], "r2": fit.r2},
    )


def claim_t1_g1(g1s: Sequence[float], t1s: Sequence[float], predicted: float = T1_G1, T: int = 40) -> Claim:
    """$t_1 g_1 \\approx 13.4$ at $T = 40$ for every $g_1$ of the sweep (spec 5.1.5, relative 5%)."""
    prod = [float(a * b) for a, b in zip(g1s, t1s, strict=True)]
    return check(
        "yuksel2026.ode-t1-g1",
        f"Eq. 4 at T = {T}: t_1 g_1 = {predicted:g} for every g_1 in {min(g1s):.3g}..{max(g1s):.3g}.",
        predicted, prod, tol=0.05, relative=True, source="derived",
        why="the spec's simulations give 13.2..13.75 at T = 40 (a drift with the weaker patterns, "
            "see ode-t1-scaling) and ask for 5%; the constant depends on T like sqrt(T ln T), so "
            "T = 20 or 80 (t_1 g_1 ~ 9 or ~19) would fail.",
        details={"g1": list(map(float, g1s)), "t1": list(map(float, t1s)), "T": T},
    )


def claim_t1_eps(eps: Sequence[float], t1s: Sequence[float], predicted: Sequence[float] | None = None,
                 eps_ref: float = 1e-6) -> Claim:
    """$t_1$ does not depend on the initial noise: $t_1(\\varepsilon) = t_1(\\varepsilon_{ref})$
    over the sweep (relative 1%)."""
    ev = [float(e) for e in eps]
    if eps_ref not in ev:
        raise ValueError(f"eps must include the reference eps_ref = {eps_ref:g}")
    ref = float(t1s[ev.index(eps_ref)])
    pred = [ref] * len(ev) if predicted is None else [float(x) for x in predicted]
    fit = linear_fit(np.log(1 / np.asarray(ev)), t1s) if len(ev) >= 3 else None
    return check(
        "yuksel2026.ode-t1-eps",
        f"Eq. 4: the first transition time does not depend on the initial noise: t_1(eps) = t_1({eps_ref:g}) "
        f"= {ref:.4g} for eps = {min(ev):.0e}..{max(ev):.0e}.",
        pred, [float(x) for x in t1s], tol=0.01, relative=True, source="derived",
        why="phase 1 is driven by the symmetric signal g_j t/T, not by the asymmetry, so eps enters "
            "t_1 only through O(eps) changes of the start (measured: < 1e-3 relative for eps <= 1e-4). "
            "1% excludes a saddle-escape law t_1 = t_ref + ln(eps_ref/eps)/rate, which would shift t_1 "
            "by several units over these eight decades.",
        details={"eps": ev, "t1": [float(x) for x in t1s],
                 "slope_t1_per_ln_inv_eps": fit.slope if fit is not None else None},
    )


def claim_symmetric_start(tr0: Trajectory, t_check: float, g: Sequence[float], level: float | None = None,
                          eps_min: float = 1e-12) -> Claim:
    """An exactly symmetric start ($\\varepsilon = 0$) stays on plateau 1: the loss at
    ``t_check`` (the second transition time of the smallest tested $\\varepsilon > 0$) is
    still $\\mathcal L_1$."""
    pred = plateau_levels(g)[1] if level is None else float(level)
    d = head_spread(tr0)
    ts = transition_times(tr0)
    i = _t(tr0, t_check)
    return check(
        "yuksel2026.ode-symmetric-start",
        f"Eq. 4 from an exactly symmetric start (eps = 0): no second drop; the loss is still "
        f"L_1 = {pred:.4g} at t = {t_check:.4g}, where even eps = {eps_min:g} has already dropped.",
        pred, float(tr0.at(t_check, "loss")), tol=0.01, relative=True, source="derived",
        why="the symmetric set is invariant, so the exact flow never leaves plateau 1. In floating point "
            "the heads' arithmetic differs at the 1e-16 level and the saddle amplifies it like a start "
            f"with eps ~ 1e-16: the eps = 0 run drops at t = {ts[1]:.4g} (later than every eps > 0). The "
            "claim is therefore checked up to the transition of the smallest eps tested; 1% as for the "
            "plateau levels.",
        details={"transition_times_eps0": ts, "t_check": float(t_check),
                 "head_spread_at_t_check": float(d[i]), "max_head_spread_before_t_check": float(d[: i + 1].max())},
    )


def _drop_windows(tr: Trajectory) -> tuple[list[float], list[tuple[int, int]]]:
    """Transition times and, for each drop j >= 2, (index before, index after): the plateau
    mid-points either side (the last one: the geometric mean of t_K and the final time)."""
    ts = transition_times(tr)
    K = len(ts)
    if K < 2 or not np.all(np.isfinite(ts)):
        raise ValueError(f"the hand-off needs K >= 2 learned patterns; transitions {ts}")
    edges = [*ts, float(tr.t[-1])]
    mids = [math.sqrt(edges[k] * edges[k + 1]) for k in range(K)]
    return ts, [(_t(tr, mids[j - 1]), _t(tr, mids[j])) for j in range(1, K)]


def claim_handoff(tr: Trajectory, predicted: Sequence[int] | None = None) -> Claim:
    """Cooperative hand-off: at each drop $j \\ge 2$ exactly one head is recruited by the new
    pattern (its attention on $p_j$ rises by at least 1/4 across the drop) while the others
    keep theirs (paper Fig. 10; the abstract's "cooperative" phase).

    The recruitment is measured by attention *mass*, not by each head's most attended
    position: in the authors' own Fig. 10 (and here, with the same noise draw) the head
    recruited at the third drop ends split about 0.52 / 0.48 between $p_1$ and $p_3$, so its
    argmax need not change although it carries pattern 3. The argmax positions either side of
    each drop and the final attention on the patterns are kept in ``details``."""
    lay = R.layout(tr)
    ts, wins = _drop_windows(tr)
    A, V = R.attention(tr), R.values(tr)
    col = [(p - 1) if lay.kind == "full" else j for j, p in enumerate(lay.positions)]
    recruits, who, keep_fit, rises = [], [], [], []
    for j, (a, b) in zip(range(1, lay.K), wins, strict=True):
        rise = A[b, :, col[j]] - A[a, :, col[j]]
        rises.append([float(x) for x in rise])
        recruits.append(int(np.sum(rise >= RECRUIT)))
        who.append([int(k) + 1 for k in np.flatnonzero(rise >= RECRUIT)])
        keep_fit.append([float(np.sum(V[b, :, i] * A[b, :, col[i]])) for i in range(j)])
    pred = [1] * (lay.K - 1) if predicted is None else [int(x) for x in predicted]
    others_up = []
    for (a, b), w in zip(wins, who, strict=True):
        rest = [k for k in range(lay.h) if k + 1 not in w and A[a, k, col[0]] > 0.5]
        others_up.append(bool(all(V[b, k, 0] > V[a, k, 0] for k in rest)))
    final = A[-1]
    return check_equal(
        "yuksel2026.ode-handoff",
        f"Eq. 4 ({lay.form}), cooperative phase: at each drop j = 2..{lay.K} exactly one head is recruited "
        f"by pattern j (its attention mass on p_j rises by >= {RECRUIT} between the plateau mid-points "
        "either side), the others keep their patterns (paper Fig. 10: one head moves at each drop).",
        pred, recruits, source="paper",
        why=f"exact counts; the threshold {RECRUIT} lies between the recruited head's rise (~0.45-0.8) and "
            "the others' changes (< 0.02) measured across each drop. Mass, not the most attended position: "
            "the head recruited at the last drop ends split ~0.52 / 0.48 between p_1 and p_3 (as in the "
            "paper's Fig. 10), so its argmax need not change.",
        details={"transition_times": ts, "recruited_heads": who, "rise_on_new_pattern": rises,
                 "fit_of_learned_patterns_after_drop": keep_fit,
                 "other_heads_value_on_pattern1_increases": others_up,
                 "argmax_positions_either_side": [[(A[a].argmax(axis=1) + 1).tolist(),
                                                   (A[b].argmax(axis=1) + 1).tolist()] for a, b in wins],
                 "final_attention_on_patterns": [[float(final[k, c]) for c in col] for k in range(lay.h)]},
    )


#: The spec's sweeps (3.4): the J2 flow is "5-8x slower". As a prediction: that interval, log-centred.
J2_SLOWDOWN = math.sqrt(5.0 * 8.0)
#: Tolerance on log10 of the slowdown (:func:`claim_j2_slower`, where it is derived).
J2_TOL = 0.15
#: Noise draws over which the slowdown is averaged (the notebook's draw is seed 0).
J2_SEEDS = tuple(range(8))


def claim_j2_slower(t_rep: Sequence[Sequence[float]], t_j2: Sequence[Sequence[float]],
                    slowdown: float = J2_SLOWDOWN, tol: float = J2_TOL) -> Claim:
    """The $J^2$ (logit) flow is slower than the replicator flow by the spec's 5-8x at every
    transition: log10 of the geometric mean over noise draws of $t_j^{J2}/t_j^{rep}$ against
    log10 ``slowdown``.

    ``t_rep`` and ``t_j2`` are transition times, one row per noise draw (same draw in both
    rows of a seed), shape (n_draws, K)."""
    a, b = np.asarray(t_rep, dtype=float), np.asarray(t_j2, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"need matching (n_draws >= 2, K) transition times, got {a.shape} and {b.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log10(b / a)  # (n, K); nan if a transition is missing
    mean = lr.mean(axis=0)
    se = lr.std(axis=0, ddof=1) / math.sqrt(lr.shape[0])
    return check(
        "yuksel2026.ode-j2-slower",
        "Eq. 4: the J^2 (softmax-logit) flow is slower than the replicator flow by the spec's 5-8x at every "
        f"transition: log10 of t_j(J2)/t_j(replicator), geometric mean over {lr.shape[0]} noise draws, "
        f"against log10({slowdown:.3g}).",
        math.log10(slowdown), mean.tolist(), tol=tol, source="derived",
        why="the prediction is the spec's interval 5-8x (its own sweeps of Eq. 4, spec 3.4), log-centred at "
            "sqrt(40) = 6.3 with half-width log10(8/5)/2 = 0.10; the measurement adds the standard error of a "
            "mean over 8 noise draws, at most 0.046 (at t_3, whose single-draw ratio ranges 5.2-12.5 because "
            "t_3 depends on how the draw sets up the second hand-off; 0.008 at t_2; t_1's ratio 4.75 is "
            "draw-independent): 0.10 + 0.05 = 0.15, a factor 1.41 either side (ratios 4.5-8.9). It excludes "
            "'not slower' (1), one factor T = 40, and a single draw's 12.5 at t_3.",
        details={"t_replicator": a.tolist(), "t_J2": b.tolist(), "ratio_per_draw": (10 ** lr).tolist(),
                 "geometric_mean_ratio": (10 ** mean).tolist(), "stderr_log10": se.tolist(),
                 "spec_range": [5, 8]},
    )


def claim_closed_vs_full(tr_full: Trajectory, tr_closed: Trajectory, tol: float = 1e-3) -> Claim:
    """The closed form (spec 3.3) reproduces the full system's transition times (relative)."""
    if R.layout(tr_full).kind != "full" or R.layout(tr_closed).kind != "closed":
        raise ValueError("claim_closed_vs_full needs a full and a closed trajectory, in that order")
    a, b = transition_times(tr_full), transition_times(tr_closed)
    common = min(len(tr_full.t), len(tr_closed.t))
    same_grid = np.allclose(tr_full.t[:common], tr_closed.t[:common])
    loss_diff = float(np.max(np.abs(tr_full.loss[:common] - tr_closed.loss[:common]))) if same_grid else math.nan
    return check(
        "yuksel2026.ode-closed-vs-full",
        f"The closed h(2K+1)-dimensional form (spec 3.3, {R.layout(tr_closed).form}) reproduces the transition "
        "times of the full Eq. 4 from the same (projected) start.",
        a, b, tol=tol, relative=True, source="derived",
        why="the closed form is exact when the background positions are equal; the notebook's start "
            "differs from that by O(eps) = 1e-6 relative on the background, which the saddle amplifies "
            "but only into the relevant coordinates (measured < 1e-6 relative); 1e-3 also covers the "
            "integrators' tolerances (rtol 1e-8).",
        details={"t_full": a, "t_closed": b, "max_loss_difference": loss_diff},
    )


def claim_notebook_euler(t_flow: Sequence[float], t_euler: Sequence[float], tol: float = 0.01) -> Claim:
    """The pipeline's flow and the authors' Euler integrator (same noise draw) give the same
    transition times (spec 5.1.9: within 1%)."""
    return check(
        "yuksel2026.ode-notebook-euler",
        "The integrated Eq. 4 and the authors' Fig. 10 integrator (explicit Euler, dt = 0.005, clip and "
        "renormalise, the same noise draw default_rng(0)) agree on every transition time.",
        list(map(float, t_euler)), list(map(float, t_flow)), tol=tol, relative=True, source="calibration",
        why="Euler's global error is O(dt) = 0.5% of a unit rate, and its clip at 1e-12 only touches masses "
            "that are already negligible. 1% is the spec's tolerance for t_1; the later transitions pass "
            "through the saddle's amplification of the same noise draw and agree to the same accuracy.",
        details={"t_flow": list(map(float, t_flow)), "t_euler": list(map(float, t_euler))},
    )


# ----------------------------------------------------------------------------- the suite
@dataclass(frozen=True)
class OdeSettings:
    """Knobs of :func:`ode_suite`: ``T`` positions, hierarchy ratio ``m`` (g = (m^2, m, 1)),
    notebook noise ``eps`` and ``seed``, horizon ``t_max`` and output points, the noise and
    ratio sweeps, the far positions of the order run (default: strongest at ``T``), and
    whether to run the Euler re-implementation of the authors' integrator (~4 s)."""

    T: int = 40
    m: float = R.M_DEFAULT
    eps: float = 1e-6
    seed: int = 0
    t_max: float = 1e5
    n_points: int = 3000
    eps_sweep: tuple[float, ...] = (1e-4, 1e-6, 1e-8, 1e-10, 1e-12)
    m_sweep: tuple[float, ...] = tuple(float(x) for x in np.linspace(1.2, 2.5, 8))
    far_positions: tuple[int, ...] | None = None
    euler: bool = True

    def __post_init__(self) -> None:
        if not 4 <= self.T <= R.MAX_T:
            raise ValueError(f"T must be in [4, {R.MAX_T}], got {self.T}")
        if not (self.m > 1 and self.eps > 0 and self.t_max >= 1e3 and self.n_points >= 200):
            raise ValueError("need m > 1, eps > 0, t_max >= 1e3 and n_points >= 200")
        if self.eps not in self.eps_sweep or len(self.eps_sweep) < 3 or min(self.eps_sweep) <= 0:
            raise ValueError("eps_sweep needs >= 3 positive values including eps")
        if len(self.m_sweep) < 3 or min(self.m_sweep) <= 1:
            raise ValueError("m_sweep needs >= 3 ratios > 1")


@dataclass
class OdeResults:
    """What :func:`ode_suite` measured: the claims, the numbers and the trajectories."""

    claims: list[Claim]
    numbers: dict[str, Any] = field(default_factory=dict)
    trajectories: dict[str, Trajectory] = field(default_factory=dict)


def ode_suite(settings: OdeSettings | None = None, *, quick: bool = False) -> OdeResults:
    """Build, integrate and check every Eq. 4 claim of this module (K = 3 patterns).

    Models: the full replicator system for h = 1, 2, 3, the J2 system (h = 3), a replicator
    system with the strongest pattern at a far position, and the closed form. ``quick``
    thins the sweeps (3 noise levels, 4 ratios), skips the Euler run and checks the order
    with reversed strengths instead of far positions.
    """
    st = settings or OdeSettings()
    T, K = st.T, 3
    g = R.strengths(st.m, K)
    eps_sweep = sorted(st.eps_sweep, reverse=True)
    m_sweep = list(st.m_sweep)
    if quick:
        eps_sweep = sorted({eps_sweep[0], st.eps, eps_sweep[-1]}, reverse=True)
        m_sweep = m_sweep[:: max(1, len(m_sweep) // 4)][:4]
    models = {h: R.eq4_model(h, K, T).compile() for h in (1, 2, 3)}
    cm = models[3]
    trs: dict[str, Trajectory] = {}
    for h in (1, 2, 3):
        trs[f"rep_h{h}"] = run(models[h], g=g, eps=st.eps, seed=st.seed, t_max=st.t_max, n_points=st.n_points)
    main = trs["rep_h3"]
    claims = [claim_plateaus(main, g)]
    claims += [claim_final_level(trs[f"rep_h{h}"], g) for h in (1, 2, 3)]
    claims.append(claim_drops({h: trs[f"rep_h{h}"] for h in (1, 2, 3)}))
    # order: strongest pattern at the farthest position (quick: reversed strengths at
    # positions 1..K, which needs no extra model; positions are exchangeable in Eq. 4)
    if quick:
        g_far, tr_far = g[::-1], run(cm, g=g[::-1], eps=st.eps, seed=st.seed, t_max=st.t_max, n_points=st.n_points)
    else:
        far = st.far_positions or (T, T // 2, 1)
        g_far, tr_far = g, run(R.eq4_model(3, K, T, positions=far).compile(), g=g, eps=st.eps, seed=st.seed,
                               t_max=st.t_max, n_points=st.n_points)
    trs["rep_far"] = tr_far
    claims.append(claim_order(tr_far, g_far))
    # competitive phase and t_1 against eps (plus eps = 0)
    by_eps = {e: (main if e == st.eps else run(cm, g=g, eps=e, seed=st.seed, t_max=1e4, n_points=st.n_points))
              for e in eps_sweep}
    claims.append(claim_competitive(by_eps))
    claims.append(claim_competitive_share(main, g))
    t1_eps = [transition_times(by_eps[e])[0] for e in eps_sweep]
    claims.append(claim_t1_eps(eps_sweep, t1_eps, eps_ref=st.eps))
    tr0 = run(cm, g=g, eps=0.0, t_max=1e4, n_points=st.n_points)
    trs["rep_eps0"] = tr0
    t2_min = transition_times(by_eps[min(eps_sweep)])[1]
    claims.append(claim_symmetric_start(tr0, t2_min, g, eps_min=min(eps_sweep)))
    # t_1 against g_1 = m^2
    g1s, t1s, later = [], [], []
    for m in m_sweep:
        gm = R.strengths(m, K)
        ts = transition_times(run(cm, g=gm, eps=st.eps, seed=st.seed, t_max=3e4, n_points=st.n_points))
        g1s.append(gm[0])
        t1s.append(ts[0])
        later.append(ts)
    claims.append(claim_t1_scaling(g1s, t1s))
    if T == 40:  # the spec's constant is for T = 40 only
        claims.append(claim_t1_g1(g1s, t1s, T=T))
    # cooperative hand-off
    claims.append(claim_handoff(main))
    # J2
    cj2 = R.eq4_model(3, K, T, "J2").compile()
    tr_j2 = run(cj2, g=g, eps=st.eps, seed=st.seed, t_max=st.t_max, n_points=st.n_points)
    trs["j2_h3"] = tr_j2
    claims.append(claim_order(tr_j2, g, id="yuksel2026.ode-j2-order"))
    # the slowdown, over noise draws (~1 s per draw for both forms)
    t_rep_d, t_j2_d = [], []
    for sd in J2_SEEDS:
        same = sd == st.seed
        t_rep_d.append(transition_times(main if same else run(cm, g=g, eps=st.eps, seed=sd, t_max=st.t_max,
                                                             n_points=st.n_points)))
        t_j2_d.append(transition_times(tr_j2 if same else run(cj2, g=g, eps=st.eps, seed=sd, t_max=st.t_max,
                                                              n_points=st.n_points)))
    claims.append(claim_j2_slower(t_rep_d, t_j2_d))
    # closed form against the full system
    cc = R.closed_model(3, K).compile()
    tr_c = run(cc, g=g, eps=st.eps, seed=st.seed, T=T, t_max=st.t_max, n_points=st.n_points)
    trs["closed_h3"] = tr_c
    claims.append(claim_closed_vs_full(main, tr_c))
    numbers: dict[str, Any] = {
        "g": list(g), "levels": plateau_levels(g), "transition_times": transition_times(main),
        "transition_times_J2": transition_times(tr_j2), "j2_seeds": list(J2_SEEDS),
        "transition_times_by_seed": t_rep_d, "transition_times_J2_by_seed": t_j2_d, "transition_times_far": transition_times(tr_far), "g_far": list(g_far),
        "eps": eps_sweep, "t1_eps": t1_eps, "t2_eps": [transition_times(by_eps[e])[1] for e in eps_sweep],
        "transition_times_eps0": transition_times(tr0), "g1": g1s, "t1_g1_sweep": t1s,
        "t1_times_g1": [a * b for a, b in zip(g1s, t1s, strict=True)], "m_sweep_times": later,
        "final_loss": {h: float(trs[f"rep_h{h}"].loss[-1]) for h in (1, 2, 3)},
        "compile_seconds": {f"h{h}": models[h].build["seconds"] for h in (1, 2, 3)},
    }
    if st.euler and not quick and T == 40 and st.m == R.M_DEFAULT:
        eu = notebook_euler(g, 3, T, st.eps, st.seed)
        t_eu = [first_crossing(eu["t"], eu["ell"][:, j], float(eu["ell"][0, j]) / 2) for j in range(K)]
        numbers["transition_times_euler"] = t_eu
        claims.append(claim_notebook_euler(transition_times(main), t_eu))
    for k, v in by_eps.items():
        trs.setdefault(f"rep_eps{k:.0e}", v)
    return OdeResults(claims, numbers, trs)
