r"""The minimal transformer's claims (``yuksel2026.tf-...``; spec 4, 5.2): measurements on the runs
of :mod:`derivations.yuksel2026.tf_suite` in, :class:`~dynamics.claims.Claim` out, one function per
claim. They restate the paper's figures (Figs. 1, 4, 5, 8-9, B; source ``paper``) or the spec's
derivation for the minimal model (source ``derived``). Each prediction is an argument with the
paper's value as default, so a negative control passes a wrong one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from derivations.yuksel2026.closed_forms import PAPER_BOUNDARIES, PAPER_EXCESS
from dynamics.claims import Claim, check, check_equal

#: What the boundary tolerances absorb, in steps (boundary 1, boundary 2), each a ~95% bound,
#: measured on our Fig. 1 runs with teacher/init/data seeds 0-5 (1000 and 800 steps, records
#: every 20; onsets 361-407 and 530-626):
BOUNDARY_SPREAD = {
    # the paper's teacher draw is one draw, ours another: 2 sqrt(2) x the sd over our 6 draws (16.1, 35.7)
    "teacher_draw": (45.5, 101.0),
    # the paper's boundaries read off its figure, +-5% (spec section 4)
    "figure_reading": (16.5, 28.8),
    # where a plateau "ends": departure of ln excess by 1-5% below the plateau's trend instead of the
    # tangent construction (largest difference over the 6 draws)
    "definition": (25.5, 32.7),
    # records every 40 instead of 20 steps (largest change over the 6 draws and both offsets)
    "record_spacing": (13.6, 8.3),
}

#: Independent sources add in quadrature: 56 and 110 steps.
BOUNDARY_TOL = tuple(float(round(math.sqrt(sum(v[k] ** 2 for v in BOUNDARY_SPREAD.values())))) for k in (0, 1))


def claim_tf_stages(seq: list[int], kl_order: list[int]) -> Claim:
    return check_equal(
        "yuksel2026.tf-stages", "Minimal transformer (spans (2,2,2), m = 1.7, 3 heads, query init 1e-9): three "
        "stages after the first drop (structural stage: 1 + older spans that are some head's argmax), and "
        "KL(A*_{1:k} || model) reaches its minimum in the same order k = 1, 2, 3 (the plateaus sit at the "
        "restricted teachers, paper Fig. 1).", {"stages": [1, 2, 3], "kl_minima": [1, 2, 3]},
        {"stages": seq, "kl_minima": kl_order}, source="paper",
        why="exact sequences; a stage counts when it lasts >= 3 records (60 steps), so noise at a crossing "
            "cannot add or remove one.")


def claim_tf_levels(levels: list[float]) -> Claim:
    return check(
        "yuksel2026.tf-plateau-levels", "Minimal transformer: excess validation loss at the middle of plateaus 1 "
        "and 2 against the paper's Fig. 1 / 4-left levels (~0.93, ~0.36).", list(PAPER_EXCESS), levels,
        tol=0.2, relative=True, source="paper",
        why="levels read off the paper's plots (+-5%), and they depend on the teacher draw: the spec's own "
            "reproduction measured 1.01 against the paper's ~0.87 for plateau 1 (16%); 20% covers both.")


def claim_tf_boundary(k: int, onset: float, predicted: float | None = None,
                      details: dict[str, Any] | None = None) -> Claim:
    """Stage boundary ``k`` (1 or 2): the onset of the loss drop that ends plateau ``k``
    (:func:`drop_onsets`) against the paper's step, within :data:`BOUNDARY_TOL`."""
    if k not in (1, 2):
        raise ValueError(f"boundary k must be 1 or 2, got {k}")
    p = PAPER_BOUNDARIES[k - 1] if predicted is None else float(predicted)
    tol = BOUNDARY_TOL[k - 1]
    parts = ", ".join(f"{name.replace('_', ' ')} {v[k - 1]:g}" for name, v in BOUNDARY_SPREAD.items())
    return check(
        f"yuksel2026.tf-boundary-{k}", f"Minimal transformer (Fig. 1 setting, query init 1e-9): stage "
        f"boundary {k}, where plateau {k} ends and the loss starts to drop, at the paper's step "
        f"{PAPER_BOUNDARIES[k - 1]:g}. Onset of a drop: where the tangent at its steepest point (on ln excess "
        "loss, records every 20 steps) meets the level of the plateau before it (at its flattest point).",
        p, onset, tol=tol, source="paper",
        why=f"+-{tol:g} steps adds in quadrature what moves the boundary without contradicting the paper "
            f"({parts}): the spread over teacher draws (the paper's draw is unknown; our draws 0-5 give "
            "onsets 361-407 and 530-626) dominates, then where exactly a plateau 'ends' (a 1-5% departure "
            "from its trend comes up to 26 / 33 steps earlier than the tangent), the reading of the "
            "paper's figure (+-5%) and the record spacing. The structural boundaries (a head's argmax "
            "flips: 400 and 740 in the main run) come mid-drop and fail both (70 and 165 steps off).",
        details=details)


def claim_tf_competitive(spread: float, newest: bool) -> Claim:
    return check(
        "yuksel2026.tf-competitive", "Minimal transformer, competitive phase: until the first boundary the three "
        "heads' span masses agree (largest difference over heads and spans, at 80% of the first boundary, "
        "the onset of the first loss drop after plateau 1) and "
        "all heads attend most to the newest span.", 0.0, spread if newest else float("inf"), tol=0.02,
        source="paper", why="spec 5.2.2: the heads agree to >= 2 decimals before the first boundary (0.02 "
        "allows a last-digit difference); any head on another span fails outright.")


def claim_tf_cooperative(argmax_mid2: list[int], argmax_end: list[int]) -> Claim:
    ok_mid = sorted(argmax_mid2) == [1, 2, 2]
    ok_end = sorted(argmax_end) == [0, 1, 2]
    return check_equal(
        "yuksel2026.tf-cooperative", "Minimal transformer, cooperative phase: on plateau 2 exactly one head has "
        "moved to the middle span (sorted argmax spans [1, 2, 2], 0 = oldest), and at the end the heads cover "
        "the three spans, one each ([0, 1, 2]).", [True, True], [ok_mid, ok_end], source="paper",
        why="argmax of each head's span mass; exact.", details={"plateau2": argmax_mid2, "end": argmax_end})


def claim_tf_init0(excess_end: float, spread: float, plateau1: float) -> Claim:
    return check(
        "yuksel2026.tf-init0", "Minimal transformer with query init exactly 0: the heads stay identical (largest "
        "span-mass difference) and the excess loss stays on plateau 1 (end of run / plateau-1 level of the "
        "main run).", [0.0, 1.0], [spread, excess_end / plateau1], tol=0.1, source="paper",
        why="symmetric heads are an invariant set (Eq. 4's eps = 0); 0.1 allows the plateau's slow creep "
            "(the spec measured 1.571 -> 1.561 over 600 steps) and is far from the next level (~0.36/0.93).")


def claim_tf_value_alignment(align: Sequence[np.ndarray], mass: Sequence[np.ndarray], when: Sequence[str],
                             details: dict[str, Any] | None = None) -> Claim:
    """Each head's value block aligns with the $Q_j$ of the span it attends (spec 5.2.3, Fig. B):
    at each of the records ``when``, for every head, the span of its largest value alignment
    $\\langle \\Pi_d W_V^k \\Pi_d^\\top, Q_j\\rangle_F$ (``align``, (H, K) each) is the span of
    its largest attention mass (``mass``, (H, K) each)."""
    if not len(align) == len(mass) == len(when) or not align:
        raise ValueError("align, mass and when must be non-empty and of equal length")
    pred = [np.asarray(m).argmax(axis=1).tolist() for m in mass]
    meas = [np.asarray(a).argmax(axis=1).tolist() for a in align]
    return check_equal(
        "yuksel2026.tf-value-alignment", "Minimal transformer (Fig. 1 setting): every head's value block "
        "W_V^k (its token-to-token part) is aligned most with the teacher matrix Q_j of the span the head "
        "attends most (paper Fig. B, spec 5.2.3), at " + " and ".join(when) + ": per head, the argmax over "
        "spans of <W_V^k, Q_j>_F equals the argmax of its attention mass.", pred, meas, source="paper",
        why="argmax indices, exact. The Q_j are random orthogonal matrices, <Q_i, Q_j>_F ~ sqrt(d) = 7 "
            "against d = 50 on the diagonal, so a head fitting span j puts its largest inner product on Q_j; "
            "the claim fails if a head's value serves another span than its attention (e.g. a head's value "
            "left behind at a hand-off).",
        details={"when": list(when), "attention_argmax": pred, "value_argmax": meas,
                 "value_alignment": [np.round(np.asarray(a), 1).tolist() for a in align],
                 "span_mass": [np.round(np.asarray(m), 3).tolist() for m in mass]} | dict(details or {}))


#: A span is acquired when the heads carry this fraction of its logit scale
#: (:func:`~derivations.yuksel2026.transformer.fitted_fraction`; :func:`claim_tf_reversed`).
ACQUIRED = 0.15


def claim_tf_reversed(first: int, predicted: int = 0, details: dict[str, Any] | None = None) -> Claim:
    """Reversed importance with spans (2, 4, 8) (paper Figs. 8-9): the span the heads learn
    first, in the competitive phase, is the oldest one (index 0), the most important."""
    return check_equal(
        "yuksel2026.tf-reversed", "Minimal transformer, reversed importance with spans (2, 4, 8) (c = (2.89, 1.7, "
        "1), oldest first): the span learned first (the first whose fitted fraction sum_k s_kj <W_V^k, Q_j> / "
        f"(L_j c_j d / tau) reaches {ACQUIRED:g}) is the oldest (0), the most important, although it has the "
        "fewest positions (2 of 14), is the farthest from the query and carries the smallest total weight "
        "L_j c_j (5.8 against 6.8 and 8).", predicted, first, source="paper",
        why=f"an index, exact. {ACQUIRED:g} lies above the 0.10 that the spans not yet learned reach in the first "
            "fall (the shared values first pick up every span in proportion to its attention mass) and below the "
            "0.21-0.23 the first span holds on plateau 1. Recency or total weight would pick the newest (2).",
        details=details)


def claim_tf_reversed_order(order: Sequence[int], predicted: Sequence[int] = (0, 1, 2),
                            details: dict[str, Any] | None = None) -> Claim:
    """Reversed importance with spans (2, 4, 8): the spans are acquired in the order of their
    importance (spec 3.1: by $g_j\\sqrt{L_j}$, 4.1 > 3.4 > 2.8), not by recency or total weight."""
    return check_equal(
        "yuksel2026.tf-reversed-order", "Minimal transformer, reversed importance with spans (2, 4, 8): the spans "
        f"are acquired (fitted fraction reaches {ACQUIRED:g}) in the order oldest, middle, newest: by importance "
        "c_j, as the Frobenius strength c_j sqrt(L_j) = 4.1 > 3.4 > 2.8 predicts (spec 3.1) and the paper's "
        "Figs. 8-9 show, against the order of recency and of total weight L_j c_j (newest first).",
        list(predicted), list(order), source="paper",
        why="an order of acquisition steps, exact; the details give the steps, so how far apart the acquisitions "
            "are can be read (a tie within one record would make the order a coin flip).", details=details)


def claim_tf_init_order(names: Sequence[str], steps: Sequence[float],
                        predicted: Sequence[str] = ("xavier", "1e-3", "1e-6", "1e-9"),
                        details: dict[str, Any] | None = None) -> Claim:
    """Fig. 4 left: the smaller the query init, the later plateau 1 ends (spec 5.2.4). ``steps``:
    per init in ``names``, the step at which the excess crosses below the level between the
    plateaus (:data:`~derivations.yuksel2026.tf_suite.LEVEL_12`); measured: the names ordered by it
    (empty if a run never crosses)."""
    if len(names) != len(steps):
        raise ValueError(f"names and steps must have equal length, got {len(names)} and {len(steps)}")
    order = [names[i] for i in np.argsort(steps)] if all(map(math.isfinite, steps)) else []
    return check_equal(
        "yuksel2026.tf-init-order", "Minimal transformer, query-init sweep (paper Fig. 4 left; value init 0): "
        "plateau 1 ends later the smaller the query init, in the order " + " < ".join(predicted) + " (the step "
        "at which the excess validation loss falls below 0.58, between the paper's plateau levels 0.93 and 0.36).",
        list(predicted), order, source="paper",
        why="an order of crossing steps, exact; the details give the steps (a near-tie would make the order a coin "
            "flip: the paper reads 1e-6 and 1e-9 as about equal, ~320-340). The level lies a factor 1.6 from "
            "either plateau, so the crossing is a point on the steep drop, not on a plateau's creep.",
        details={"names": list(names), "steps": [float(x) for x in steps]} | dict(details or {}))


def claim_tf_m_order(ms: Sequence[float], steps: Sequence[float], level: float,
                     predicted: Sequence[float] | None = None, details: dict[str, Any] | None = None) -> Claim:
    """Fig. 4 right: the larger the importance ratio m, the longer the intermediate plateaus and the
    later training ends (spec 5.2.5, Fig. 4 right). ``steps``: per m in ``ms``, the step at which the
    excess crosses below ``level`` (below every intermediate plateau); measured: the m ordered by it."""
    if len(ms) != len(steps):
        raise ValueError(f"ms and steps must have equal length, got {len(ms)} and {len(steps)}")
    pred = sorted(float(m) for m in ms) if predicted is None else [float(m) for m in predicted]
    order = [float(ms[i]) for i in np.argsort(steps)] if all(map(math.isfinite, steps)) else []
    return check_equal(
        "yuksel2026.tf-m-order", "Minimal transformer, importance-ratio sweep (paper Fig. 4 right, m = "
        f"{', '.join(f'{m:g}' for m in pred)}; Xavier init): the larger m, the later the excess validation loss "
        f"falls below {level:g}, a level below every intermediate plateau (the paper's 0.36 at m = 1.7, 0.45 at "
        "1.5, 0.5 at 1.3): larger m, longer plateaus, slower overall.", pred, order, source="paper",
        why="an order of crossing steps, exact; the details give the steps. With m = 1 all spans are equally "
            "important and no plateau separates them; each step up in m widens the gap between the spans' "
            "strengths and lengthens the plateau before the weakest one.",
        details={"m": [float(m) for m in ms], "steps": [float(x) for x in steps], "level": level} | dict(details or {}))


#: The validation minimum's basin: records whose excess is within this fraction of the smallest (the
#: paper's curves are read to +-5%, spec section 0, so inside it a step cannot be told from the minimum).
BASIN = 0.05


def claim_tf_early_stopping_learned(kl_min_steps: Sequence[float], basins: Sequence[tuple[float, float]],
                                    ns: Sequence[int], every: int, details: dict[str, Any] | None = None) -> Claim:
    """Fig. 5 against what the paper compares with: for the run on n sequences, the step at which the
    student is closest to the learned restricted model of the matching rung (1 span for n = 600, 2 for
    2000; smallest KL(learned_k || student), :mod:`derivations.yuksel2026.baselines`) falls in its
    best-validation basin (``basins``: first and last step with excess within :data:`BASIN` of the
    smallest). Measured: how far each step lies outside its basin (0 inside), within one record
    spacing ``every``."""
    if not len(kl_min_steps) == len(basins) == len(ns):
        raise ValueError("kl_min_steps, basins and ns must have equal length")
    outside = [max(lo - float(t), 0.0, float(t) - hi) if math.isfinite(t) else math.inf
               for t, (lo, hi) in zip(kl_min_steps, basins, strict=True)]
    return check(
        "yuksel2026.tf-early-stopping-learned", f"Minimal transformer on n = {list(ns)} training sequences: the "
        "step at which the student is closest to the learned restricted model of the matching rung (a copy of "
        "the student that sees only the newest 1 span for n = 600, 2 spans for n = 2000, trained on the same set; "
        "smallest KL(learned_k || student)) coincides with the best validation step: it lies in the validation "
        f"minimum's basin (excess within {BASIN:.0%} of its minimum) (paper Fig. 5).",
        [0.0] * len(outside), outside, tol=float(every), source="paper",
        why=f"the basin is where the paper's curves, read to +-{BASIN:.0%}, cannot tell a step from the minimum; "
            f"one record spacing ({every} steps) allows for where the minimum of a curve sampled every {every} "
            "steps falls. A KL minimum on another plateau (the 1-span model's for n = 2000 sits on plateau 1) "
            "misses by far more.",
        details={"kl_min_steps": [float(t) for t in kl_min_steps], "basins": [list(b) for b in basins],
                 "steps_outside": outside} | dict(details or {}))


def claim_tf_early_stopping(stages: list[int], ns: list[int]) -> Claim:
    return check_equal(
        "yuksel2026.tf-early-stopping", f"Minimal transformer on n = {ns} training sequences: the best "
        "validation step falls in stage 1 / 2 / 3 (the rung of the ladder matching the sample size).",
        [1, 2, 3], stages, source="paper", why="the structural stage at the best-validation record; exact.")
