r"""The claims of ``dynamics verify yuksel2026``: measurements in, :class:`~dynamics.claims.Claim`
out, one function per claim (or per family of claims with one id pattern), in the order of the
paper's stages.

1. Eq. 4 (spec 3.4, 5.1; ids ``yuksel2026.ode-...``), measured on trajectories of
   :mod:`derivations.yuksel2026.reduced` models;
2. the regression bridge (spec 5.3; ``yuksel2026.bridge...``).

The minimal transformer's claims (``yuksel2026.tf-...``) are in
:mod:`derivations.yuksel2026.claims_transformer`.

Each prediction is an argument with the theory's value as default, so a negative control passes a
wrong one. Sources (``Claim.source``): the plateau levels, the number of drops, the
misspecified-head levels, the competitive phase and the scalings of $t_1$ are properties of Eq. 4
that we derived (spec 3.4, derivation and our own simulations): ``derived``; the cooperative
hand-off is what the authors' own Eq. 4 simulation shows (paper Fig. 10): ``paper``; the J2
slowdown is the spec's simulation of ``ode.py``'s squared form: ``derived``; the agreement with
the authors' Euler integrator checks our tool: ``calibration``; the bridge is derived; the
transformer claims restate the paper's figures: ``paper``. The theorems were not read; no claim
restates one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from derivations.yuksel2026 import reduced as R
from derivations.yuksel2026.closed_forms import (
    J2_SLOWDOWN,
    T1_G1,
    plateau_levels,
)
from derivations.yuksel2026.measure import head_spread, index_at, transition_times
from dynamics.analysis import detect_stages, linear_fit, loglog_slope
from dynamics.claims import Claim, check, check_equal
from dynamics.trajectory import Trajectory
from dynamics.validate import nonnegative_float, positive_int

# -------------------------------------------------------------------------------------------- Eq. 4

RECRUIT = 0.25  # a head is recruited by pattern j when its attention on p_j rises by >= 1/4


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
    i = index_at(tr, 2 * ts[0])
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
    i = index_at(tr0, t_check)
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
    return ts, [(index_at(tr, mids[j - 1]), index_at(tr, mids[j])) for j in range(1, K)]


def claim_handoff(tr: Trajectory, predicted: Sequence[int] | None = None) -> Claim:
    """Cooperative hand-off: at each drop $j \\ge 2$ exactly one head is recruited by the new
    pattern (its attention mass on $p_j$ rises by at least 1/4 across the drop) while the others
    keep theirs (paper Fig. 10). Mass, not each head's most attended position: the head recruited
    last ends split about 0.52 / 0.48 between $p_1$ and $p_3$ (as in Fig. 10); the argmax positions
    either side of each drop and the final attention are kept in ``details``."""
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


#: Tolerance on log10 of the slowdown (:func:`claim_j2_slower`, where it is derived).
J2_TOL = 0.15


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


def claim_hK(final: np.ndarray, predicted: np.ndarray) -> Claim:
    dev = float(np.max(np.abs(final - predicted)))
    return check(
        "yuksel2026.ode-heads-patterns", "Eq. 4 over h = 1..4 heads and K = 1..3 patterns: the final loss "
        "is 0.5 * sum_{j > min(h, K)} g_j^2 (min(h, K) patterns are fitted, the rest never): largest "
        "deviation over the 12 cells.", 0.0, dev, tol=1e-3, source="derived",
        why="t = 1e5 is far past every transition of these runs (the slowest, h = K = 3, ends near "
            "t ~ 250); the remaining gap decays exponentially, measured below 1e-6.",
        details={"final": final.tolist(), "predicted": predicted.tolist()})


# ---------------------------------------------------------------------------------- regression bridge

#: Sensitivity of the trajectory to the batch's Monte-Carlo error in units of $\sqrt{Td/B}$ (:func:`claim_bridge_sample`).
MC_SENSITIVITY = 400.0
#: Largest tolerance :func:`claim_bridge_sample` grants (linear response must be small).
TOL_CAP = 0.25


def claim_bridge(lrs: Sequence[float], errors: Sequence[float], *, predicted: float = 1.0, tol: float = 0.15) -> Claim:
    r"""``yuksel2026.bridge``: the GD-vs-flow error (``errors``, :func:`~derivations.yuksel2026.bridge.bridge_error`
    ``"max"`` at >= 3 distinct ``lrs``) shrinks like $\eta^{p}$, $p$ = ``predicted`` = 1 (Euler; 2 for a
    negative control), within ``tol`` on the OLS slope of $\ln e$ on $\ln\eta$. ``details`` hold the
    errors, the slope's standard error and the successive ratios $e(\eta_{i+1})/e(\eta_i)$."""
    lr = np.asarray(lrs, dtype=float)
    err = np.asarray(errors, dtype=float)
    if lr.ndim != 1 or lr.shape != err.shape:
        raise ValueError(f"lrs and errors must be 1-D of equal length, got shapes {lr.shape} and {err.shape}")
    if not (np.all(np.isfinite(lr)) and np.all(lr > 0)):
        raise ValueError(f"learning rates must be positive and finite, got {lr.tolist()}")
    if lr.size < 3 or np.unique(lr).size != lr.size:
        raise ValueError(f"need at least 3 distinct learning rates, got {lr.tolist()}")
    if not (np.all(np.isfinite(err)) and np.all(err > 0)):
        raise ValueError(f"errors must be positive and finite, got {err.tolist()}")
    order = np.argsort(lr)
    fit = loglog_slope(lr[order], err[order])
    ratios = (err[order][1:] / err[order][:-1]).tolist()
    return check(
        "yuksel2026.bridge",
        "Plain GD on the regression variant (position logits + value matrices, exact population "
        "gradient) follows the J2 form of Eq. 4 at t = lr * step: the largest deviation in "
        f"(V, s) over the horizon shrinks like lr^{predicted:g} (log-log slope over lr = "
        f"{lr[order].tolist()}).",
        predicted, fit.slope, tol=tol, source="derived",
        why="GD is explicit Euler on the (theta, W) gradient flow, whose global error on a fixed "
            "horizon is C lr + O(lr^2); the O(lr) correction bends the fitted slope by about "
            "the spread of the successive error ratios around 2 (a few percent here); 0.15 "
            "allows that, while an lr-independent error (a wrong flow: slope 0) or a "
            "second-order one (slope 2) misses by >= 0.85.",
        details={"lrs": lr[order].tolist(), "errors": err[order].tolist(),
                 "stderr": fit.stderr, "r2": fit.r2, "ratios": ratios},
    )


def claim_bridge_sample(dev: float, batch: int, *, euler: float, T: int = 8, d: int = 6, tol: float | None = None,
                        details: dict[str, Any] | None = None) -> Claim:
    r"""``yuksel2026.bridge-sample``: sample-mode GD on one fixed batch of ``batch`` $= B$ windows
    stays within its Monte-Carlo tolerance of the $J^2$ flow (``dev``: largest deviation in
    $(V, s)$, :func:`derivations.yuksel2026.bridge.sample_deviation`). Predicted 0; tolerance
    $\tau = \min(S\sqrt{Td/B} + e_{\rm Euler}, \tau_{\max})$, $S$ = ``MC_SENSITIVITY``,
    $\tau_{\max}$ = ``TOL_CAP`` (``tol`` overrides it, for a negative control), with ``euler`` the
    population-GD error at the same step. The claim's ``why`` derives it: the batch moment's
    Monte-Carlo error moves the trajectory linearly, amplified by the saddle escapes; the
    sensitivity was measured on 104 independent Wishart draws (r.m.s. ~80, largest 208)."""
    batch, T, d = positive_int("batch", batch), positive_int("T", T), positive_int("d", d)
    euler = nonnegative_float("euler", euler)
    mc = MC_SENSITIVITY * math.sqrt(T * d / batch)
    tau = min(mc + euler, TOL_CAP) if tol is None else nonnegative_float("tol", tol)
    return check(
        "yuksel2026.bridge-sample",
        f"Sample-mode GD (one fixed batch of B = {batch:.3g} windows, empirical MSE with "
        "hand-written backward) stays close to the J2 form of Eq. 4 at t = lr * step: largest "
        "deviation in (V, s) over the horizon.",
        0.0, float(dev), tol=tau, source="derived",
        why=f"Monte-Carlo error of the batch moment Sigma_B (entries ~ 1/sqrt(B)) moves the trajectory linearly, "
            f"amplified by the saddle escapes (a rate change becomes a time shift of a fast transition): "
            f"sensitivity dev * sqrt(B/Td) is B- and lr-independent, rms ~80 and at most 208 over 104 independent "
            f"draws, so {MC_SENSITIVITY:g} * sqrt(Td/B) = {mc:.3g}, plus the population-GD (Euler) error "
            f"{euler:.3g} at the same step; capped at {TOL_CAP:g}, beyond which the response is no longer small.",
        details={"batch": batch, "mc_tolerance": mc, "euler": euler, "cap": TOL_CAP} | dict(details or {}),
    )


def claim_pipeline_bridge(dev: dict[str, float], tol: float = 1e-5) -> Claim:
    """``yuksel2026.bridge-pipeline``: the pipeline's compiled J2 model against the gradient
    flow of the regression model itself (``dev``:
    :func:`derivations.yuksel2026.bridge.gradient_flow_deviation`)."""
    worst = max(dev.values())
    return check(
        "yuksel2026.bridge-pipeline", "The J2 form of Eq. 4 derived and compiled by the pipeline reproduces the "
        "gradient flow of the regression model itself (its exact population gradient in (theta, W), hand-written "
        "backward, integrated by scipy; same teacher, same start, same time axis): largest difference in V, s "
        "and the loss over t in [0, 300].", 0.0, worst, tol=tol, source="derived",
        why="two integrations of the same flow at rtol 1e-10: differences well below 1e-5 are integrator "
            "error; a wrong sign, factor or form (replicator vs J2) gives O(1).", details=dev)
