r"""Claims of Huang, Liang & Yang (2025), each a function of measurements and a prediction.

Every function returns a :class:`~dynamics.claims.Claim`; tests call them with deliberately
wrong predictions (negative controls). Sources: ``paper`` for what the abstract or the paper's
notes state; ``reconstruction`` for details of the spec's reconstruction (and the spec's own
runs of it); ``derived`` for consequences we derived (the exact reduction, the phase-1
expansion, the saddle at zero) and for rates taken from another paper (Soudry et al. 2018 for
logistic regression on separable data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dynamics.claims import Claim, check, check_equal

__all__ = [
    "claim_bridge", "claim_gf_vs_gd", "claim_phase1_linear", "claim_phase1_quadratic",
    "claim_separation", "claim_late_slope", "claim_u_growth", "claim_u_log_onset",
    "claim_direction", "claim_direction_rate", "claim_drift_law", "claim_drift", "claim_frozen",
    "claim_cot_inference", "claim_parity_direct", "claim_cot_training", "claim_joint_embedding",
    "claim_cot_two_phases", "claim_cot_phase2", "cot_phase2_id", "claim_cot_u_log_law", "claim_saddle_stationary", "claim_saddle_escape",
    "claim_lambda_loss_rate", "claim_lambda_direction", "claim_lambda_separable", "claim_lambda8_separation",
    "SPEC_EARLY_SLOPES", "claim_lambda_early_slope", "claim_lambda_sqrt",
]


def claim_bridge(max_dev: float, steps: int) -> Claim:
    return check(
        "huang2025.reduction-exact", f"The 35-coordinate reduced GD map equals full GD on (u, W) "
        f"over {steps} steps (max |difference| of the reduced coordinates).", 0.0, max_dev, tol=1e-10,
        source="derived",
        why="the reduction is exact (spec 2.2); only floating-point round-off separates the two "
            "maps, ~1e-15 per step on O(10) coordinates, far below 1e-10 after a few thousand steps.")


def claim_gf_vs_gd(etas: Sequence[float], errors: Sequence[float], predicted_ratio: float = 2.0) -> Claim:
    e = np.asarray(errors, dtype=float)
    return check(
        "huang2025.flow-vs-gd", "The gradient flow agrees with GD, the max deviation of the reduced "
        "coordinates up to the same flow time halving when eta halves.", predicted_ratio,
        (e[:-1] / e[1:]).tolist(), tol=0.25, source="derived",
        why="GD is the explicit Euler scheme of the flow (global error C*eta + O(eta^2)); with "
            "eta <= 0.1 and O(1) curvature the O(eta^2) term moves each halving ratio by < 12%.",
        details={"etas": list(etas), "max_deviation": e.tolist()})


def claim_phase1_linear(tau: float, p1: float, nu: float, predicted: tuple[float, float] = (0.5, 0.25),
                        where: str = "flow") -> Claim:
    return check(
        f"huang2025.phase1-linear.{where}", "Phase 1: the first-position score grows linearly, "
        "p1 ~ tau/2, and the token score nu ~ tau/4 (tau = eta t); measured p1/tau and nu/tau early.",
        list(predicted), [p1 / tau, nu / tau], tol=0.02, relative=True, source="derived",
        why=f"leading order of the uniform-attention expansion (spec 2.3); at tau = {tau:g} the "
            "neglected terms are O(tau) relative, below 2%.", details={"tau": tau})


def claim_phase1_quadratic(tau: float, p_rest: np.ndarray, predicted_c: np.ndarray, slope: float,
                           where: str = "flow") -> Claim:
    measured_c = -2.0 * np.asarray(p_rest) / tau**2
    return check(
        f"huang2025.phase1-quadratic.{where}", "Phase 1: the non-first position scores fall "
        "quadratically, p_l ~ -c_l tau^2/2 with c_l = sum_{L>=max(l,2)} (1/4L)(1/4 + 1/2L) "
        "(l = 2..L_max); measured -2 p_l / tau^2 early.",
        np.asarray(predicted_c).tolist(), measured_c.tolist(), tol=0.03, relative=True,
        source="derived",
        why=f"leading order of the expansion (spec 2.3); at tau = {tau:g} the next order is O(tau) "
            "relative (a few percent at most); GD adds the t(t-1) vs t^2 factor, which the caller "
            "removes.", details={"tau": tau, "loglog_slope_of_-p": slope})


def claim_separation(separable: bool, t_sep_steps: float, observed: tuple[float, float] = (100.0, 128.0)) -> list[Claim]:
    """Separability at the end of phase 1 (paper), and the time of first 100% accuracy against
    the range the spec's own runs saw (reconstruction)."""
    mid, half = (observed[0] + observed[1]) / 2, (observed[1] - observed[0]) / 2
    return [
        check_equal(
            "huang2025.separable-end-of-phase1", "At the end of phase 1 (t0 steps) the attention "
            "outputs are linearly separable: the hard-margin problem is feasible (Proposition 4.3).",
            True, bool(separable), source="paper",
            why="exact: feasibility is decided by a linear program on the enumerated features."),
        check(
            "huang2025.separation-time", "Training accuracy first reaches 100% after O(100) steps: "
            f"between {observed[0]:g} and {observed[1]:g} steps at the default setting (spec 2.3, the spec's own runs).",
            mid, t_sep_steps, tol=half, source="reconstruction",
            why="the spec's runs bracket the first 100%-accuracy step in this interval (record spacing "
                "of its log grid); the flow's time differs from GD's by O(eta) relative."),
    ]


def claim_late_slope(window: tuple[float, float], slope: float, stderr: float, all_slopes: list[float],
                     predicted: float = -1.0, claim_id: str = "huang2025.loss-rate", task: str = "") -> Claim:
    return check(
        claim_id, f"Phase 2{task}: the local slope of ln L against ln t tends to -1 "
        f"(L = O(1/t)); measured on the late window tau in [{window[0]:g}, {window[1]:g}].",
        predicted, slope, tol=0.05, source="paper",
        why="for a separable logistic problem L ~ C/t up to log corrections of order 1/ln t times "
            "the margin spread; the slow attention drift adds a little; 0.05 is the size of these "
            "at tau ~ 1e4.", details={"stderr": stderr, "successive_window_slopes": all_slopes},
        negative_controls={"L = O(1/sqrt t) (slope -1/2)": -0.5, "L = O(1/t^2) (slope -2)": -2.0})


def claim_u_growth(slope: float, uhat_norm: float) -> Claim:
    return check(
        "huang2025.u-growth", "Phase 2: ||u_t|| grows linearly in ln t with slope tending to the "
        "max-margin norm ||u_hat|| (u_hat of the attention outputs at the current W).", uhat_norm, slope,
        tol=0.1, relative=True, source="derived",
        why="the paper states ||u_t|| >= Omega(log t) (Theorem 4.4); the slope ||u_hat|| is Soudry et "
            "al. 2018's: for logistic regression on fixed separable features u_t = u_hat ln t + O(1), so "
            "the fitted slope over a decade is within a few percent of ||u_hat||; 10% allows the "
            "remaining attention drift.")


def claim_u_log_onset(onset_steps: float, details: dict[str, Any], predicted: float = 600.0) -> Claim:
    return check(
        "huang2025.u-log-onset", "||u_t|| grows logarithmically after t2 ~ 600 steps (the paper's one "
        "number, spec 4 item 5). Onset = where the tangent to ||u|| against ln t at its steepest point "
        "(the end of phase 1's fast growth) meets the late log-line fitted on steps "
        f"[{details['late_window'][0]:g}, {details['late_window'][1]:g}] (extrapolated-onset construction).",
        predicted, onset_steps, tol=0.15, relative=True, source="paper",
        why="two spreads: the paper's value has one significant figure read off a figure (~600, i.e. "
            "550-650: 8%); our onset is a construction on a smooth crossover, and the choice of the "
            "late-line window moves it by up to 5% (528-576 steps for windows from [2e3, 2e4] to "
            "[1e6, 1e7] steps). 15% covers both. Two threshold definitions are in the details (slope "
            "within 50% of its late value; ||u|| within 5% of the late line).", details=details)


def claim_direction(one_minus_cos: float, claim_id: str = "huang2025.direction", task: str = "",
                    details: dict[str, Any] | None = None) -> Claim:
    return check(
        claim_id, f"Phase 2{task}: u_t converges in direction to the max-margin u_hat: "
        "1 - cos(u_t, u_hat) at the end of the horizon.", 0.0, one_minus_cos, tol=0.01, source="paper",
        details=details or {},
        negative_controls={"a fixed 10-degree angle (1 - cos = 0.015)": 1 - math.cos(math.radians(10))},
        why="with 1 - cos = O(1/ln^2 t) (the angle is O(1/ln t)) and ln t ~ 18 at tau = 1e8, the bound "
            "allows ~3e-3 times the constant; 0.01 asks for clear convergence.")


def claim_direction_rate(slope: float, frozen_slope: float, window: tuple[float, float],
                         details: dict[str, Any] | None = None, predicted: float = -2.0,
                         claim_id: str = "huang2025.direction-rate", task: str = "",
                         frozen_note: str = "(its slope against ln ||u|| reaches -1.997 by tau = 1e15)",
                         controls: Sequence[float] = (-1.0, -3.0)) -> Claim:
    """The asymptotic slope is -2 whatever ``predicted`` says (a negative control passes another
    value): the tolerance is the frozen control's distance from -2 on the same window."""
    tol = abs(frozen_slope + 2.0) if math.isfinite(frozen_slope) else 0.0
    return check(
        claim_id, f"Phase 2{task}: the angle theta between u_t and the max-margin u_hat(W_t) "
        "shrinks like 1/ln t (Soudry et al. 2018), so 1 - cos = theta^2/2 shrinks like 1/ln^2 t: "
        "log-log slope of (1 - cos) against ln tau over tau in "
        f"[{window[0]:g}, {window[1]:g}] is -2.", predicted, slope, tol=tol, source="derived",
        why="u_t = u_hat ln t + rho_t with rho_t converging (Soudry et al.), so theta ~ |rho_perp| / "
            "(|u_hat| ln t + rho_par): the slope against ln ln t is -2 only asymptotically, with "
            "finite-time terms from rho_par / (|u_hat| ln t) and the slow change of rho_perp. Their size "
            "on this window is measured on the frozen-attention control, where Soudry's theorem applies "
            f"exactly {frozen_note}: there the same estimator "
            f"gives {frozen_slope:.3f}, so the tolerance is |{frozen_slope:.3f} + 2| = {tol:.3f}. The "
            "joint run's own decade slopes (details) spread over a similar range.",
        details={"frozen_slope": frozen_slope, **(details or {})},
        negative_controls={{-1.0: "the angle's rate, not that of 1 - cos (-1)", 0.0: "no convergence (0)",
                            -3.0: "1 - cos ~ 1/ln^3 t (-3)"}.get(v, f"{v:g}"): v for v in controls})


def _drift_details(fits: dict[float, dict[str, Any]]) -> dict[str, Any]:
    return {f"lambda={lam:g}": fit for lam, fit in fits.items()}


_DRIFT_WHY = (
    "the law is the leading term only: its local growth per unit ln ln tau still rises by 12-20% "
    "between the decades [1e3, 1e4] and [1e7, 1e8] (details), so a three-decade extrapolation can "
    "miss the extrapolated growth by up to ~0.2 of it. The competing laws fitted on the same window "
    "miss by 0.46-0.75 of it (D ~ ln tau overshoots by ~+0.5, a bounded D_inf - a/ln tau undershoots "
    "by ~-0.5, D_inf - a/ln^2 tau by ~-0.75), so 0.2 still tells them apart."
)


def claim_drift_law(lams: Sequence[float], rel_errors: Sequence[float], fits: dict[float, dict[str, Any]],
                    fit_window: tuple[float, float], at: float) -> Claim:
    return check(
        "huang2025.attention-drift-law", "Phase 2 (our reconstruction): the attention drift "
        "D = ||W_t - W_t0|| grows like c ln ln tau + b, unbounded but doubly logarithmic, for lambda in "
        f"{{{', '.join(f'{v:g}' for v in lams)}}}: the law fitted on tau in [{fit_window[0]:g}, "
        f"{fit_window[1]:g}] predicts D at tau = {at:g}; measured the error as a fraction of the growth "
        "it extrapolates (from the end of the fit window).",
        [0.0] * len(lams), list(rel_errors), tol=0.2, source="derived", why=_DRIFT_WHY,
        details={"fits": _drift_details(fits)})


def claim_drift(lams: Sequence[float], rel_errors: Sequence[float], fits: dict[float, dict[str, Any]],
                fit_window: tuple[float, float], at: float, extra: dict[str, Any] | None = None) -> Claim:
    return check(
        "huang2025.attention-drift", "Phase 2: the attention moves only O(1), ||W_t - W_t0|| stays "
        "bounded (Theorem 4.4): a bounded law D_inf - a/ln tau fitted on tau in "
        f"[{fit_window[0]:g}, {fit_window[1]:g}] predicts D at tau = {at:g} for lambda in "
        f"{{{', '.join(f'{v:g}' for v in lams)}}}; measured the error as a fraction of the growth it "
        "extrapolates.", [0.0] * len(lams), list(rel_errors), tol=0.2, source="paper",
        why="same test and tolerance as attention-drift-law (" + _DRIFT_WHY + ") A bounded drift is "
            "represented by the slowest-converging law of the phase-2 expansions (corrections in powers "
            "of 1/ln tau); a bound approached more slowly, like (ln tau)^-p with p -> 0, cannot be told "
            "from c ln ln tau (its p -> 0 limit) at any feasible horizon.",
        details={"fits": _drift_details(fits), **(extra or {})})


def claim_frozen(tL_rel_change: float, slope: float, tol: float) -> Claim:
    return check(
        "huang2025.frozen-attention", "Control: with the attention frozen after separation, "
        "t L(t) converges (L ~ C/t): relative change of tau L over the last decade, and the late "
        "log-log slope + 1.", [0.0, 0.0], [tL_rel_change, slope + 1.0], tol=tol, source="derived",
        why=f"logistic regression on fixed separable features: u_t = u_hat ln t + rho_t with rho_t "
            f"converging only like 1/ln t (Soudry et al. 2018), so t L(t) changes by O(1/ln t) per "
            f"decade; the tolerance is 1/ln(tau_max) = {tol:.3f}.")


def claim_cot_inference(acc: dict[int, float]) -> Claim:
    lengths = sorted(acc)
    return check(
        "huang2025.parity-cot-inference", "Parity by inference-time truncated chain of thought "
        "with the even-pairs-trained model is 100% accurate on every length 2..L_max.",
        [1.0] * len(lengths), [acc[L] for L in lengths], tol=0.0, source="paper",
        why="the algorithm is exact whenever the EP model is 100% accurate on every window "
            "(spec 1.7a); all 2^L strings are enumerated, so no sampling error.",
        details={"lengths": lengths})


def claim_parity_direct(acc: dict[int, float]) -> Claim:
    lengths = [L for L in sorted(acc) if L >= 2]
    mean = float(np.mean([acc[L] for L in lengths]))
    return check(
        "huang2025.parity-direct", "Training the same transformer directly on parity labels (no "
        "CoT) stays near chance: mean accuracy over lengths 2..L_max (the spec's own runs, 1.7a, the "
        "contrast that motivates CoT).", 0.5, mean, tol=0.15, source="reconstruction",
        why="labels are balanced at every length, so chance is 0.5; the spec's runs of this "
            "reconstruction saw 0.48-0.63 per length after 5000 steps: a budget-limited fit of a few "
            "short strings (one string of length 2 or 3 is 0.25 or 0.125 of its length) moves the mean "
            "over five lengths by up to ~0.1; 0.15 keeps that and rejects a model that learned parity "
            "(mean 1).",
        details={"accuracy_by_length": {str(L): acc[L] for L in sorted(acc)}})


def claim_cot_training(step_acc: dict[int, float], reg_weight: float) -> Claim:
    steps = sorted(step_acc)
    return check(
        "huang2025.parity-cot-training", f"Parity with CoT in training (reconstructed format, EP "
        f"regulariser weight {reg_weight:g}): every CoT step reaches 100% training accuracy.",
        [1.0] * len(steps), [step_acc[k] for k in steps], tol=0.0, source="reconstruction",
        why="each CoT step is an even-pairs-like comparison with a shifted key (spec 1.7b); all "
            "sequences are enumerated, so accuracy is exact.", details={"steps": steps})


def claim_joint_embedding(accuracy: float, slope: float) -> Claim:
    return check(
        "huang2025.joint-embedding", "Sensitivity (spec 1.3, 5.5): with the joint (token, position) "
        "one-hot embedding, direct GD also separates the data: 100% training accuracy.",
        1.0, accuracy, tol=0.0, source="reconstruction",
        why="accuracy is exact on the enumerated data.",
        details={"loglog_slope_tau_50_500": slope})


def claim_cot_two_phases(stage_kinds: list[str], reg_weight: float) -> Claim:
    return check_equal(
        "huang2025.parity-cot-two-phases", f"CoT training (EP regulariser weight {reg_weight:g}): the "
        "loss first plateaus, then drops (the first two stages of -d ln L / d ln t, threshold 0.1). "
        "This checks the plateau of phase 1 and the drop that ends it, not that phase 2 is reached "
        "(that is huang2025.parity-cot-phase2).", ["plateau", "drop"], stage_kinds[:2], source="paper",
        why="stage detection on the recorded loss; the kinds are compared exactly.",
        details={"all_stages": stage_kinds})


def cot_phase2_id(reg_max_length: int) -> str:
    """The id of the phase-2 claim for the regulariser on lengths 1..``reg_max_length``: the
    default format (length 1 only) has the plain id, any other format its own."""
    return "huang2025.parity-cot-phase2" + ("" if reg_max_length == 1 else f".reg-lengths-1-{reg_max_length}")


def claim_cot_phase2(group_acc: dict[int, float], reg_weight: float, details: dict[str, Any],
                     reg_max_length: int = 1) -> Claim:
    groups = sorted(group_acc)
    names = [f"CoT step {g}" if g > 0 else f"EP regulariser L={-g}" for g in groups]
    return check(
        cot_phase2_id(reg_max_length), f"CoT training (EP regulariser weight {reg_weight:g} on lengths "
        f"1..{reg_max_length}) reaches "
        "phase 2: every group of the objective, the CoT steps and the even-pairs regulariser lengths, "
        "is fitted (100% training accuracy), the separability from which the O(1/t) loss and the "
        f"max-margin limit follow; accuracy per group ({', '.join(names)}).",
        [1.0] * len(groups), [group_acc[g] for g in groups], tol=0.0, source="paper",
        why="accuracy is exact on the enumerated sequences; a group below 100% is not separated, and "
            "its loss cannot fall like 1/t.",
        details={"groups": groups, **details})


def claim_cot_u_log_law(predictions: dict[str, float], measured: float, growth: float, fit: tuple[float, float],
                        at: float, details: dict[str, Any], law: str = "ln tau") -> Claim:
    """``predictions``: ||u|| at ``at`` from each law fitted on ``fit``; ``law`` is the claim's, the others
    are its negative controls. ``growth``: ||u|| at ``at`` minus at the end of ``fit``."""
    tol = 0.1 * growth
    return check(
        "huang2025.parity-cot-u-growth", "Phase 2 of CoT training: ||u_t|| grows like ln t: the law "
        f"||u|| = a ln tau + b fitted on tau in [{fit[0]:g}, {fit[1]:g}] predicts ||u|| at tau = {at:g}.",
        predictions[law], measured, tol=tol, source="paper" if law == "ln tau" else "derived",
        why="Soudry et al. 2018: u_t = u_hat ln t + rho_t for fixed separable features, so the slope "
            "d||u||/d ln t tends to ||u_hat||; here u_hat(W_t) moves with the attention drift (its norm "
            "falls by ~20% over the run, details), which bends the line by at most about half that over "
            f"the extrapolated decades: tol = 0.1 x the growth being extrapolated ({growth:.2f}) = {tol:.3f}. "
            "The competing laws fitted on the same window (ln ln tau, ln^2 tau, a power law) are the "
            "negative controls.",
        details={"growth_extrapolated": growth, "predictions": predictions, **details},
        negative_controls={f"||u|| ~ {k}": v for k, v in predictions.items() if k != law})


def claim_saddle_stationary(max_grad: float, max_loss_dev: float, steps: int, with_length_1: float) -> Claim:
    return check(
        "huang2025.saddle-stationary", "Without the length-1 strings, zero is a stationary point (spec "
        "1.2, P14): the gradient at theta = 0 vanishes, positives and negatives of every length L >= 2 "
        "having the same uniform-attention features, and GD from zero stays at the loss 5 ln 2 for "
        f"{steps} steps; measured [max |grad L(0)|, max_t |L_t - 5 ln 2|].", [0.0, 0.0],
        [max_grad, max_loss_dev], tol=1e-12, source="derived",
        why="an exact cancellation: only round-off remains (sums of ~120 terms of size <= 1/4, ~1e-17 "
            "per entry); it seeds the saddle's unstable mode, which grows tenfold every ~170 steps "
            "(huang2025.saddle-escape), so after 1000 steps it is ~1e-11 in the parameters and ~1e-22 in "
            "the loss, whose own evaluation carries ~1e-15 of round-off: both far below 1e-12. With the length-1 strings the gradient at zero is "
            f"{with_length_1:.3g}.", details={"max_grad_with_length_1": with_length_1})


def claim_saddle_escape(steps_per_decade: float, mu: float, eta: float, details: dict[str, Any],
                        predicted: float | None = None) -> Claim:
    pred = math.log(10.0) / math.log1p(eta * mu) if predicted is None else predicted
    return check(
        "huang2025.saddle-escape", "Without the length-1 strings zero is a strict saddle that a small "
        "random init eps xi escapes (spec P14): the escape step (loss 1% below 5 ln 2) grows by "
        "ln 10 / ln(1 + eta mu) steps per decade of 1/eps, mu = -(smallest eigenvalue of the Hessian "
        f"at 0) = {mu:.4f}; measured the slope of the escape step against log10(1/eps).",
        pred, steps_per_decade, tol=0.05, relative=True, source="derived",
        why="the linearised GD map at the saddle multiplies the unstable mode by 1 + eta mu per step. "
            "The second unstable eigenvalue (details) also grows, and its share, which depends on the "
            "random direction xi, falls only by ~0.64 per decade of eps, so the per-decade escape time "
            "moves by up to ~6% at the largest eps (seen: 160-173 steps over seeds and thresholds) and "
            "~3% on a fit over three decades; 5% covers it. The same xi is used at every eps, so the "
            "offset (nonlinear exit, threshold) cancels.", details=details)


# ------------------------------------------------------------------ the lambda ablation (spec 4 #6)
def _lams(lams: Sequence[float]) -> str:
    return "{" + ", ".join(f"{v:g}" for v in lams) + "}"


def claim_lambda_loss_rate(lams: Sequence[float], slopes: Sequence[float], window: tuple[float, float]) -> Claim:
    return check(
        "huang2025.lambda-ablation.loss-rate", "The two phases are consistent across lambda (the paper's "
        f"ablation): for lambda in {_lams(lams)} (t0 = 100 steps) the late slope of ln L against ln t on "
        f"tau in [{window[0]:g}, {window[1]:g}] is -1 (L = O(1/t)).", [-1.0] * len(lams), list(slopes),
        tol=0.05, source="paper",
        why="as for huang2025.loss-rate: log corrections of order 1/ln t and the attention drift, which grows "
            "with lambda (larger lambda moves W more, the loss falls a little faster than 1/t); 0.05 is their "
            "size at tau ~ 1e7-1e8.",
        negative_controls={"L = O(1/sqrt t) (slope -1/2)": [-0.5] * len(lams),
                           "L = O(1/t^2) (slope -2)": [-2.0] * len(lams)})


def claim_lambda_direction(lams: Sequence[float], one_minus_cos: Sequence[float]) -> Claim:
    return check(
        "huang2025.lambda-ablation.direction", f"For lambda in {_lams(lams)} (t0 = 100 steps) u_t converges in "
        "direction to the max-margin u_hat(W_t): 1 - cos(u_t, u_hat) at tau = 1e8.", [0.0] * len(lams),
        list(one_minus_cos), tol=0.01, source="paper",
        why="as for huang2025.direction: 1 - cos = O(1/ln^2 t), ~3e-3 times the constant at tau = 1e8; 0.01 "
            "asks for clear convergence at every lambda.",
        negative_controls={"a fixed 10-degree angle (1 - cos = 0.015)": [1 - math.cos(math.radians(10))] * len(lams)})


def claim_lambda_separable(lams: Sequence[float], separable: Sequence[bool], t_sep_steps: Sequence[float]) -> Claim:
    return check_equal(
        "huang2025.lambda-ablation.separable-end-of-phase1", f"For lambda in {_lams(lams)} the attention "
        "outputs are linearly separable at the end of phase 1 (t0 = 100 steps; Proposition 4.3) and training "
        "accuracy reaches 100% (the end of phase 1).", [True] * len(lams),
        [bool(v) and math.isfinite(t) for v, t in zip(separable, t_sep_steps, strict=True)], source="paper",
        why="exact: feasibility by a linear program on the enumerated features, accuracy on every string.",
        details={"t_sep_steps": list(t_sep_steps)})


def claim_lambda8_separation(t_sep_steps: float, observed: tuple[float, float] = (512.0, 1024.0)) -> Claim:
    mid, half = (observed[0] + observed[1]) / 2, (observed[1] - observed[0]) / 2
    return check(
        "huang2025.lambda-ablation.separation-time-lambda8", "With t0 = 100 steps, lambda = 8 separates "
        "late: first 100% training accuracy 'only at about 1024' steps (the spec's own runs, 2.3), i.e. "
        f"between {observed[0]:g} and {observed[1]:g} steps; lambda = 1, 2, 4 separate near t0.",
        mid, t_sep_steps, tol=half, source="reconstruction",
        why="the spec reports first-seen steps on a power-of-two record grid (its lambda = 2 value, 'between "
            "100 and 128', is bracketed by the t0 record and 2^7), so 'about 1024' is the first record after "
            "separation: the interval (512, 1024]. The flow's time differs from GD's by O(eta) relative.",
        negative_controls={"separation near t0 like lambda <= 4 (128 steps)": 128.0,
                           "the sqrt(lambda) estimate from lambda = 2 (2 x 112 steps)": 224.0})


#: The spec's slopes of ln L against ln t over steps [4000, 16000] (spec 3, its own runs of the reconstruction).
SPEC_EARLY_SLOPES = {1.0: -1.03, 2.0: -1.08, 4.0: -1.21, 8.0: -1.47}


def claim_lambda_early_slope(lams: Sequence[float], slopes: Sequence[float], gd_minus_flow: float,
                             predicted: Sequence[float] | None = None) -> Claim:
    pred = [SPEC_EARLY_SLOPES[v] for v in lams] if predicted is None else list(predicted)
    tol = 0.005 + 0.005 + abs(gd_minus_flow)
    return check(
        "huang2025.lambda-ablation.early-slope", "Early in phase 2 the attention is still moving and the loss "
        "falls faster than 1/t, the more so the larger lambda: the slope of ln L against ln t over steps "
        f"[4000, 16000] for lambda in {_lams(lams)} is the spec's {pred} (its own runs, spec 3).", pred,
        list(slopes), tol=tol, source="reconstruction",
        why=f"the spec gives two decimals (rounding 0.005); the slopes are measured on the reduced flow, which "
            f"differs from the spec's GD by O(eta): the run measures GD - flow = {gd_minus_flow:+.4f} at the "
            f"default lambda on the same window, and another 0.005 allows it to differ at other lambda (GD - "
            f"flow is -0.0017 at lambda = 4 and -0.0037 at lambda = 8, measured once with direct GD). "
            f"tol = 0.005 + 0.005 + |GD - flow| = {tol:.4f}.",
        details={"gd_minus_flow_default_lambda": gd_minus_flow},
        negative_controls={"slope -1 at every lambda (attention frozen)": [-1.0] * len(lams),
                           "the lambda = 2 slope at every lambda": [SPEC_EARLY_SLOPES[2.0]] * len(lams)})


def claim_lambda_sqrt(exponent: float, lams: Sequence[float], tau_sep: Sequence[float], t0_steps: int,
                      predicted: float = 0.5) -> Claim:
    return check(
        "huang2025.lambda-ablation.separation-sqrt", "The phase-1 length grows like sqrt(lambda) (the spec's "
        "estimate, 2.3: tau_sep ~ sqrt(lambda ln L_max / 0.06)) when the lambda-boost lasts past separation "
        f"(t0 = {t0_steps} steps): the least-squares exponent of tau_sep against lambda over lambda in "
        f"{_lams(lams)}.", predicted, exponent, tol=0.1, source="reconstruction",
        why="the estimate is a leading-order scaling, tau_sep = A sqrt(lambda) with A set by its threshold (a "
            "logit ~ ln L_max) and by the phase-1 law kappa ~ 0.06 tau^2, both O(1) approximations; if A drifts "
            "by 25% across lambda = 1..8 the fitted exponent moves by ln 1.25 / ln 8 = 0.11, so 0.1 allows "
            "the estimate's own slack and still tells sqrt(lambda) from a weaker or stronger law.",
        details={"lambda": list(lams), "tau_sep": list(tau_sep)},
        negative_controls={"independent of lambda (exponent 0)": 0.0, "linear in lambda (exponent 1)": 1.0})
