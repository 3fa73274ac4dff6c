r"""Claims of Musat (2025), each a function of measurements and a prediction.

Every function returns a :class:`~dynamics.claims.Claim` (or a list of them); the tests call
them with deliberately wrong measurements (negative controls). One function per claim group,
in the order :mod:`.verify` produces them: the task generator and the paper's depth bound; the
reduced model R1 (order, scaling in n, merging, learnability boundary); the hand-set
constructive circuit; the trained transformer.

Sources (``Claim.source``): ``paper`` for what the paper states (the layer bound, "only under
an implicit curriculum", "always in a specific sequence"); ``derived`` for predictions of our
own derivations (R1's order, rates, merging and boundary; the bridge from R1 to the
transformer); ``reconstruction`` for checks of what we reconstructed (the task generator, the
hand-set circuit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from derivations.musat2025.construct import constructive_depth
from derivations.musat2025.data import min_layers
from dynamics.analysis import loglog_slope
from dynamics.claims import Claim, check, check_equal

__all__ = [
    "LEARNED", "SCALING_TOL", "SCALING_WHY", "DEPTH_BOUND_D",
    "claim_generator", "claim_depth_bound", "claim_order", "claim_scaling", "claim_merge",
    "claim_boundary", "claim_constructive", "claim_bridge_order", "ALPHA",
    "claim_curriculum", "claim_hop_order", "claim_starve", "claim_depth_trained", "claim_stacked",
    "STACKED_FRACTION",
]

#: Final hardest-query accuracy that counts as "learned" (see :func:`claim_curriculum`).
LEARNED = 0.9

#: Tolerance of the R1 scaling exponents, and why (both regimes; see :data:`SCALING_WHY`).
SCALING_TOL = 0.15
SCALING_WHY = {
    "curriculum": (
        "Leading order (our derivation; it corrects spec 5.2): before head 1 escapes, a_1' ~ c w e^{a_1} and "
        "w' ~ c e^{a_1} with c = (1 - 1/V) sum_j pi_j n^{-j} ~ pi_1/n, so in the time c t the escape is a "
        "finite-time blow-up whose time does not depend on n: t_1 ~ 1/c ~ n, exponent 1. (The spec's extra "
        "sqrt(2 ln n), from a_1 ~ c^2 t^2/2 reaching ln n without the feedback of a_1 on p_1, would give "
        "1.18 over n = 8..32.) What remains are corrections of relative order 1/n (the pi_2/n^2 and "
        "pi_3/n^3 drive, n - 1 against n, the saturation of p_1): 1/(8 - 1) = 0.14 at the smallest n; in "
        "the early-time estimate sqrt(2 (1 - 1/n))/c they move the exponent by +0.11; reading the crossings off "
        "the output grid (2.3% of t) adds at most 0.02. Tolerance 0.15: "
        "corrections of that size pass, the sqrt(ln n) law and any other integer exponent fail."),
    "hard-only": (
        "Leading order (our derivation; it corrects spec 5.2): with pi_m = 1 every head obeys "
        "a' ~ c w e^{m a}, w' ~ c e^{m a} with c = (1 - 1/V) n^{-m}, a blow-up in the time c t, so "
        "t ~ n^m, exponent m. (The spec's extra sqrt(2 ln n) would give m + 0.18 over n = 8..32.) What "
        "remains are corrections of relative order 1/n, 1/(8 - 1) = 0.14 at the smallest n: the "
        "early-time estimate sqrt(2/(m (1 - 1/n)))/c moves the exponent by -0.04, the saturation of the "
        "p_i after the blow-up by a similar amount that vanishes as n grows (local exponents 2.88, 2.93, "
        "2.97 for n = 8-16, 16-32, 32-64 with m = 3, measured once outside the run). Tolerance 0.15: these "
        "pass, the sqrt(ln n) law and m - 1, m + 1 fail."),
}


# ----------------------------------------------------------------- task generator and depth bound
#: Depths D at which the paper's layer bound is compared with its floating-point form.
DEPTH_BOUND_D = (1, 2, 4, 5, 13, 14, 40, 41)


def claim_generator(correct: float) -> Claim:
    """Fraction of generated IC-A queries that resolve to their label (spec 2.2, reconstructed)."""
    return check("musat2025.generator", "Every generated query resolves, by following the links, "
                 "to its labelled answer (256 IC-A examples, 4 chains of depth 6).", 1.0, correct,
                 tol=0.0, source="reconstruction", why="exact: the oracle follows the statements.")


def claim_depth_bound(Ds: tuple[int, ...] = DEPTH_BOUND_D) -> Claim:
    """The paper's layer lower bound $t \\ge \\log_3(2D)$ (spec 1.1): :func:`~.data.min_layers`
    (integer arithmetic) against $\\lceil\\log_3(2D)\\rceil$ in floating point."""
    D_list = list(Ds)
    return check_equal(
        "musat2025.depth-bound", "The paper's layer lower bound t >= log_3(2D) (spec 1.1, read in the "
        f"sciencestack TL;DR) as the smallest integer t: our min_layers (integer arithmetic) for D = {D_list} "
        "against ceil(log_3(2D)) in floating point.", [math.ceil(math.log(2 * D) / math.log(3)) for D in D_list],
        [min_layers(D) for D in D_list], source="paper",
        why="integers compared exactly; 2D is never a power of 3, and log_3(2D) is at least 0.01 from an "
            "integer for these D, far above floating-point error.")


# ------------------------------------------------------------------------------ reduced model R1
def claim_order(times: list[float]) -> Claim:
    """R1 (spec 5.2, the spec's proposal): the heads cross $p_i = 1/2$ in dependency order $1..m$
    (our derivation)."""
    order = [i + 1 for i in np.argsort(times)] if all(np.isfinite(times)) else []
    return check_equal(
        "musat2025.r1-order", "R1 with a curriculum (uniform pi): the stacked heads emerge one by one in "
        "dependency order 1, 2, ..., m.", list(range(1, len(times) + 1)), [int(i) for i in order],
        source="derived", why="exact ordering of the measured emergence times; at n = 8 they are 20-30% of t "
        "apart, ten times the output grid spacing (2.3% of t: 800 log-spaced points over 1e-2..1e6), so no tie "
        "tolerance is needed.",
        details={"emergence_times": times})


def claim_scaling(kind: str, ns: list[float], times: list[float], predicted: float, tol: float, why: str) -> Claim:
    """R1: the fitted log-log exponent of the emergence time against $n$ (``kind`` ``"curriculum"``:
    predicted 1; ``"hard-only"``: predicted $m$; our derivation, :data:`SCALING_WHY`)."""
    fit = loglog_slope(np.asarray(ns), np.asarray(times))
    return check(
        f"musat2025.r1-scaling.{kind}", f"R1: the emergence time grows like n^{predicted:g} "
        f"({'with a curriculum' if kind == 'curriculum' else 'with hard data only'}): fitted log-log "
        f"exponent over n = {ns} (stderr {fit.stderr:.3f}).", predicted, fit.slope, tol=tol,
        source="derived", why=why, details={"n": ns, "times": times, "stderr": fit.stderr})


def claim_merge(times_gap: list[float]) -> Claim:
    r"""R1 with $\pi_2 = 0$: heads 2 and 3 cross together, $(t_3 - t_2)/(t_2 - t_1) = 0$ (our derivation)."""
    t1, t2, t3 = times_gap[:3]
    return check(
        "musat2025.r1-merge", "R1: a gap in the mixture (pi_2 = 0) merges stages 2 and 3 into one jump: "
        "(t3 - t2)/(t2 - t1).", 0.0, (t3 - t2) / (t2 - t1), tol=1e-6, source="derived",
        why="with pi_2 = 0 heads 2 and 3 enter the loss only through the classes that need both, so they obey "
            "the same equation from the same start and cross 1/2 at the same time exactly (measured: equal to "
            "the last digit); the only spread is rounding in the generated right-hand side, amplified by the "
            "integrator, far below 1e-6 of the stage gap. With the uniform mixture the ratio is about 0.9.",
        details={"times": times_gap})


def claim_boundary(agreement: float, n_cells: int, n_edge: int) -> Claim:
    """R1 with weight decay: the learnability boundary from integration agrees with the stability of
    the near-zero fixed point, up to the ``n_edge`` cells next to the boundary (our derivation)."""
    return check(
        "musat2025.r1-learnability", "R1 with weight decay: the learnability boundary in (pi_1, weight decay) "
        "from integration (the flow leaves the near-zero state by t_max: some head's p_i > 1/2) agrees with "
        "the stability of the near-zero fixed point (Jacobian eigenvalues): fraction of grid cells where "
        "both say the same.", 1.0, agreement, tol=n_edge / n_cells, source="derived",
        why=f"both classify the same bifurcation; they can differ only where the fixed point is unstable "
            f"but so weakly that the flow escapes after t_max: the unstable cells one grid step from the "
            f"stability boundary, {n_edge} of {n_cells} here. Tolerance = that fraction, {n_edge}/{n_cells}.",
        details={"edge_cells": n_edge})


# ----------------------------------------------------------------------- constructive circuit
def claim_constructive(table: dict[int, dict[int, float]]) -> list[Claim]:
    """The hand-set circuit (spec 1.3, reconstructed): exact up to $L - 1$ hops, and the measured
    constructive depth (deeper queries fail)."""
    exact = min(a for L, row in table.items() for k, a in row.items() if k <= constructive_depth(L))
    measured = []
    for _L, row in sorted(table.items()):
        k = 0
        while k + 1 in row and row[k + 1] == 1.0:
            k += 1
        measured.append(k)
    return [
        check("musat2025.construct-exact", "The hand-set circuit (no training) answers every query of depth "
              "k <= L-1 at the query position: smallest accuracy over L = 1..5 and those k.", 1.0, exact, tol=0.0,
              source="reconstruction", why="exact: the attention margin argument makes every argmax correct "
              "(construct.py); a single wrong example fails.", details={"accuracy": table}),
        check_equal("musat2025.construct-depth", "Largest depth answered exactly by the L-layer circuit, "
                    "L = 1..5 (L - 1: a previous-token layer, then one hop per layer; never fewer layers than "
                    "the bound ceil(log_3(2D))).", [constructive_depth(L) for L in sorted(table)], measured,
                    source="reconstruction", why="integer; deeper queries must fall below 100% (both ways).",
                    details={"accuracy": table}),
    ]


# ---------------------------------------------------------------------- trained transformer
def claim_bridge_order(first_before: list[bool], times: list[list[float]], resolution: float) -> Claim:
    """Bridge from R1 to the transformer (spec 5.4, our derivation): per seed, 1-hop queries are
    learned before 2-hop queries (``first_before`` from :func:`~.units.staircase`)."""
    frac = float(np.mean(first_before)) if first_before else float("nan")
    return check(
        "musat2025.bridge-order", "Bridge to R1 (dependency order): in the transformer the 1-hop queries are "
        "learned before the 2-hop queries, as R1's head 1 (needed by every class) emerges first: fraction of "
        "seeds (a stage is learned when its query accuracy crosses (1 + 1/C)/2; one not reached within the "
        "budget counts as later).", 1.0, frac, tol=0.0, source="derived",
        why="an ordering per seed; every seed must agree (R1 predicts it without exception). The crossings "
            f"are interpolated between snapshots {resolution:g} steps apart; the gaps are in the details.",
        details={"crossings": times, "resolution": resolution},
        negative_controls={"2-hop queries first in every seed": 0.0})


#: Significance level of the one-sided tests of the curriculum and intervention claims.
ALPHA = 0.05
ALPHA_WHY = ("the conventional one-sided 5% level: with 8 seeds a regime passes against a never-learning "
             "control from 3 learned seeds (p = 0.027), and equal rates (p = 0.5) fail; the test, not the "
             "tolerance, absorbs the seed-to-seed spread.")


def claim_curriculum(learned: dict[str, list[bool]], final: dict[str, list[float]]) -> list[Claim]:
    """Spec 3.1 "learning occurs only under an implicit curriculum", over seeds per regime.

    ``learned[regime]`` per seed: final $D$-hop query accuracy >= :data:`LEARNED`; regimes
    ``"none"``, ``"IC-A"``, ``"IC-B"``. Claims: no ``none`` seed learns; each curriculum's
    learned rate exceeds ``none``'s (one-sided pooled two-proportion z-test at :data:`ALPHA`).
    """
    from derivations.musat2025.measure import two_proportion_p

    rates = {r: (int(sum(v)), len(v)) for r, v in learned.items()}
    details = {"learned_seeds": rates, "final_query_accuracy_by_hop": final, "threshold": LEARNED}
    k0, n0 = rates["none"]
    out = [check(
        "musat2025.curriculum.none", f"Transformer, no curriculum (D-hop queries only): no seed of {n0} learns "
        f"the D-hop queries within the budget (spec 3.1: learning occurs *only* under an implicit curriculum); "
        f"learned = final D-hop query accuracy >= {LEARNED}: fraction of seeds.", 0.0, k0 / n0, tol=0.0,
        source="paper", why=f"'only' admits no seed; {LEARNED} is above the ~0.8 partial-shortcut plateau a model "
        "too shallow for the full retrieval reaches (measured on 2-layer models), so it means the retrieval.",
        details=details, negative_controls={"half the seeds learn without a curriculum": 0.5})]
    for reg in ("IC-A", "IC-B"):
        k, n = rates[reg]
        p = two_proportion_p(k, n, k0, n0)
        out.append(check(
            f"musat2025.curriculum.{reg}", f"Transformer, {reg}: learns the D-hop queries (final accuracy >= "
            f"{LEARNED}) in more seeds than without a curriculum (spec 3.1): learned {k}/{n} with {reg} against "
            f"{k0}/{n0} with none; one-sided pooled two-proportion z-test of rate({reg}) > rate(none), p = {p:.3g}; "
            f"the claim holds when p < alpha = {ALPHA} (predicted p 0, tolerance alpha).", 0.0, p, tol=ALPHA,
            source="paper", why=ALPHA_WHY,
            details=details | {"p_value": p}, negative_controls={"no difference between the rates (p = 1/2)": 0.5}))
    return out


#: Fraction of a curriculum regime's seeds in which every hop level has its own stacked unit for the
#: order to be tested where the phenomenon occurs (issue 17: "at least 6 of 8").
STACKED_FRACTION = 0.75


def claim_stacked(regime: str, units: Sequence[Sequence[tuple[int, int] | None]], where: str,
                  by_pattern: list[bool] | None = None, with_above: list[bool | None] | None = None,
                  by_layer: list[bool] | None = None) -> Claim:
    """Stacked retrieval units form (the paper's circuits, spec 1.3) in most seeds of ``regime``.

    ``units[seed]``: the unit of each hop level (:func:`~.units.level_heads`; ``None``: that
    level has none). A seed is *stacked* when every level has a unit of its own. Predicted: every
    seed; holds when at least :data:`STACKED_FRACTION` do. With site units
    (:func:`~.ablation.site_levels`) the text counts the two circuit families: hop 2 at the query
    (one lookup per layer) or at the statements below the read-out (link heads). Cross-checks of
    the measurement, reported beside it: ``by_pattern[seed]``, the query-side stack read off the
    attention patterns alone (:func:`~.units.pattern_stacked`); ``with_above[seed]``, whole
    layers zeroed with every layer above (:func:`~.units.stacked_with_above`);
    ``by_layer[seed]``, the first reconstruction's whole-layer criterion (``unit=layer``); given,
    it marks ``units`` as found by the site criterion (:func:`~.units.level_heads` with
    ``unit="site"``), whose rule the text then states.
    """
    from derivations.musat2025.ablation import CONTEXT_SITE, QUERY_SITE

    full = [all(u is not None for u in row) for row in units]
    n, k = len(full), int(sum(full))
    sites = any(u is not None and u[1] in (QUERY_SITE, CONTEXT_SITE) for row in units for u in row)
    if by_layer is not None and where == "statements":
        how = ("; a unit is a whole layer: hop 1 the layer whose dst reads its own src and which, zeroed with the "
               "layers above it, removes the 1-hop labels; hop 2 a layer needed for the 2-hop labels but not the "
               "1-hop ones, reading the parent's dst or the chain's statements")
    elif by_layer is not None or sites:
        greedy = sum(1 for row, f in zip(units, full, strict=True)
                     if f and all(u is not None and u[1] == QUERY_SITE for u in row))
        how = (f"; a unit is a layer's heads at the query, at the statements, or both, confirmed by zeroing it there "
               f"and by its attention: {greedy} of the stacked seeds look the chain up one hop per layer at the "
               f"query, {k - greedy} do the later hops below a read-out at the query (at the statements, spec 1.3's "
               f"link heads, or split between the statements and the query)")
    else:
        how = "; a unit carries its level by ablation and attends to its lookup's positions more than a uniform row"

    checks = [f"{name}: {int(sum(bool(x) for x in xs))} of {len(xs)}" for name, xs in (
        ("by the attention patterns alone, a layer per level in order with lookup excess >= 0.5", by_pattern),
        ("whole layers zeroed with every layer above them (backup heads cannot mask a carrier)", with_above),
        ("the first reconstruction's whole-layer criterion (each level's layer above the last)", by_layer))
        if xs is not None and None not in xs]

    return check(
        f"musat2025.stacked.{regime}", f"Transformer, {regime}: stacked retrieval units form, one per hop level "
        f"(spec 1.3, the paper's reverse-engineered circuits), in most seeds: {k} of {n} seeds have a unit for every "
        f"level (levels read at the {where}{how})"
        + (f". Cross-checks of the measurement: {'; '.join(checks)}" if checks else "")
        + "; the claim holds when at least "
        f"{STACKED_FRACTION:.0%} of the seeds do (fraction predicted 1, tolerance {1 - STACKED_FRACTION:g}).",
        1.0, k / n, tol=1.0 - STACKED_FRACTION, source="paper",
        why="The paper reports stacked heads in its trained models without a rate; the order claim needs them to "
            "form to be tested, and issue 17 sets the bar at most seeds, 6 of 8 (0.75), so the tolerance is 0.25. "
            "A seed whose circuit answers without a unit of its own per level (e.g. through the query marker) "
            "counts against the claim, as it must: those are circuits the paper's mechanism does not describe.",
        details={"units": [[None if u is None else list(u) for u in row] for row in units], "where": where,
                 "stacked_by_attention_pattern_alone": by_pattern, "stacked_zeroing_layers_above": with_above,
                 "stacked_by_whole_layer_criterion": by_layer},
        negative_controls={"stacked units in a quarter of the seeds": 0.25})


def claim_hop_order(steps: dict[str, np.ndarray], resolution: float) -> Claim:
    """Spec 3.1 "heads always emerge in a specific sequence", read as: the hop-$k$ retrieval head
    (:mod:`.ablation`) emerges before the hop-$(k+1)$ head in every seed where both form.

    ``steps[regime]`` (n_seeds, D) from :class:`~.units.Emergence`. Per seed the Kendall tau
    over untied pairs (:func:`~.measure.order_gamma`); the claim is its minimum over every seed
    of every regime with at least one untied pair, predicted 1.
    """
    from derivations.musat2025.measure import order_gamma

    per: dict[str, list[object]] = {}
    gammas: list[float] = []
    ties = 0
    for reg, arr in steps.items():
        for row in np.asarray(arr, dtype=float):
            g, c, d, t = order_gamma(row)
            per.setdefault(reg, []).append({"gamma": g, "concordant": c, "discordant": d, "tied": t})
            ties += t
            if math.isfinite(g):
                gammas.append(g)
    worst = min(gammas) if gammas else float("nan")
    return check(
        "musat2025.order", "Transformer: in every seed (all regimes) the hop-k retrieval head emerges before the "
        "hop-(k+1) head where both form (spec 3.1 'always emerge in a specific sequence'): smallest Kendall "
        f"tau over untied level pairs, over the {len(gammas)} seeds with one; emergence = first snapshot at "
        f"which the level's head carries it by ablation, snapshots {resolution:g} steps apart; "
        f"{ties} tied pairs (same snapshot) left out.", 1.0, worst, tol=0.0, source="paper",
        why="'always' admits no reversed pair; a reversal by one snapshot is resolved (the emergence is the "
            "first snapshot at which the criterion holds, so two levels in different snapshots are ordered) "
            "and a tie (same snapshot) is the grid's tie tolerance, not counted either way.",
        details={"per_seed": per, "resolution": resolution,
                 "steps": {k: np.asarray(v).tolist() for k, v in steps.items()}},
        negative_controls={"the reverse order in every seed": -1.0, "no fixed order (tau 0)": 0.0})


def claim_starve(level: int, uniform: np.ndarray, starved: np.ndarray, r1_ratio: float,
                 weights: tuple[list[float], list[float]]) -> Claim:
    """P1' (spec 5.5): reweighting the mixture to starve hop level ``level`` delays its emergence,
    as R1 predicts (``r1_ratio``: R1's emergence time of that head, starved over uniform).

    ``uniform``, ``starved`` (n_seeds,) emergence steps of the level, paired by seed (same
    initial weights); ``nan`` = not within the budget (later than any finite step). One-sided
    sign test over the pairs that differ.
    """
    from derivations.musat2025.measure import sign_test_p

    u, st = np.asarray(uniform, dtype=float), np.asarray(starved, dtype=float)
    later = sum(1 for a, b in zip(u, st, strict=True) if (np.isnan(b) and not np.isnan(a)) or b > a)
    earlier = sum(1 for a, b in zip(u, st, strict=True) if (np.isnan(a) and not np.isnan(b)) or b < a)
    p = sign_test_p(later, earlier)
    return check(
        f"musat2025.p1-starve.hop{level}", f"P1' intervention: starving hop level {level} in the IC-B mixture "
        f"(weights {weights[1]} against {weights[0]}) delays its emergence in the transformer, as R1 predicts "
        f"(R1: {r1_ratio:.2f} times later): later in {later}, earlier in {earlier} of {u.size} seeds (same "
        "initial weights; not formed = later than the budget; ties and seeds where neither forms left out); "
        f"one-sided sign test of 'later', p = {p:.3g}; the claim holds when p < alpha = {ALPHA} (predicted p 0, "
        "tolerance alpha).", 0.0, p, tol=ALPHA, source="derived", why=ALPHA_WHY + " R1 predicts the direction; Adam "
        "steps are not calibrated to R1's time, so the factor is reported, not compared.",
        details={"uniform": u.tolist(), "starved": st.tolist(), "r1_ratio": r1_ratio,
                 "median_ratio": float(np.nanmedian(st) / np.nanmedian(u)) if np.any(np.isfinite(st))
                 and np.any(np.isfinite(u)) else float("nan")},
        negative_controls={"no effect of the reweighting (p = 1/2)": 0.5})


def claim_depth_trained(acc: dict[int, list[float]], chance: float) -> Claim:
    """The depth bound on trained models, below and above it: where the paper's bound forbids it
    ($L < \\lceil\\log_3(2k)\\rceil$, spec 1.1) $k$-hop queries are not learned; where the
    constructive circuit exists ($L \\ge k + 1$, :func:`~.construct.constructive_depth`) they are.

    ``acc[L]`` is the final query accuracy per hop of the best seed trained with $L$ layers.
    Cells in between (the bound allows, the constructive circuit does not) carry no prediction.
    """
    thr = 0.5 * (1.0 + chance)
    below = [(L, k + 1) for L, row in sorted(acc.items()) for k in range(len(row)) if L < min_layers(k + 1)]
    above = [(L, k + 1) for L, row in sorted(acc.items()) for k in range(len(row)) if constructive_depth(L) >= k + 1]
    got = {f"L={L},k={k}": bool(acc[L][k - 1] >= thr) for L, k in below + above}
    want = {f"L={L},k={k}": (L, k) in above for L, k in below + above}
    return check_equal(
        "musat2025.depth-trained",
        f"Transformer (IC-B), L = {min(acc)}..{max(acc)} layers: below the paper's bound ceil(log_3(2k)) "
        f"(spec 1.1) k-hop queries are not learned, and with L >= k + 1 layers (a constructive circuit "
        f"exists) they are, within the budget (best seed per L): cells {', '.join(got) or 'none'}.",
        want, got, source="paper",
        why=f"learned = final accuracy >= {thr:.2f} (midway between in-context chance and 1); compared exactly "
            "per cell, both ways. The full table is in the details and depth.png.",
        details={"final_accuracy": acc, "constructive_depth": {L: constructive_depth(L) for L in acc}},
        negative_controls={"no depth effect (every cell learned)": {key: True for key in got},
                           "nothing learned": {key: False for key in got}})
