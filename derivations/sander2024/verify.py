r"""Claims and the registered derivation ``sander2024`` (Sander et al. 2024).

What is checked: the sympy monomial derivations of (A1) and (N1) against the closed forms; the
augmented reduced flows (optimal one-step GD step sizes, conservation of $\alpha^2 - \beta^2$);
the trained block-structured attention against one step of GD for two laws of $s_0$, with the
scope of that statement (basis-diagonal parameters, the unconstrained attention); the (N0)
reduced flow for small sizes (minimum loss across $H$, head orthogonality for $H \le d$ and the
law of the off-diagonal ratio for $H > d$, one-hot positional weights with $c\,P_{t,t+1} = 1$,
the conserved quantity); real rotation blocks; the PE-only runs of Fig. 6 (frequency order and
the number of GD steps to loss $< 10^{-3}$).

The paper's body was not available: the setup comes from the authors' public code and the
reduced losses are derivations (spec 3). Each claim's source says which: ``paper`` for the
paper's own statements (from its abstract: one GD step, orthogonal heads), ``derived`` for the
constants, rates and laws we or the spec derived. Registered findings: :mod:`.findings`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from derivations.sander2024.findings import FINDINGS
from derivations.sander2024.reduced import (
    a1_formula,
    augmented_diagonal_model,
    augmented_position_loss,
    augmented_shared_model,
    n1_formula,
    n1_rows,
    nonaug_model,
    nonaug_row_loss,
)
from dynamics.claims import Claim, check, check_equal
from dynamics.integrate import integrate
from dynamics.registry import Derivation
from dynamics.trajectory import Trajectory
from dynamics.verify import VerifyContext

__all__ = ["Setting", "claim_derivation", "claim_eta_single", "claim_eta_shared", "claim_balance",
           "claim_min_loss", "claim_scale", "claim_heads", "claim_heads_not_orthogonal", "heads_tolerance",
           "claim_pe", "claim_pe_steps", "claim_conserved", "claim_block_gd", "claim_block_diagonal",
           "claim_unconstrained", "verify", "derivation"]

IMBALANCE_R2 = 0.005
"""Allowance of :func:`heads_tolerance` for the finite initialisation (scale 0.05): the largest
per-seed shift of r^2 from its balanced value measured over 512 seeds at (d, H) = (2, 3) and
(3, 5) was 0.0045."""

RECONSTRUCTED = (
    "the paper's body was not read: models and losses come from the authors' public code (spec 1) "
    "and the reduced losses (A1), (N1) are derivations (spec 3), re-derived here by monomial expansion",
    "block-structured augmented attention (A0) without 1/t scaling; s_0 = 1/sqrt(d) (augmented) or unit moduli (N0)",
    "(N0) uses the previous token as the query (spec 1.3: the only choice that can represent s_{n+1})",
)


@dataclass(frozen=True)
class Setting:
    """Sizes of the checks (spec 1.1 for the augmented sizes)."""

    d_aug: int = 5
    n_aug: int = 50
    d_diag: int = 3
    t_diag: int = 4
    d_n0: int = 2
    T_n0: int = 4
    init_scale: float = 0.05

    def __post_init__(self) -> None:
        for name in ("d_aug", "n_aug", "d_diag", "t_diag", "d_n0"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.T_n0 < 2:
            raise ValueError(f"T_n0 must be at least 2, got {self.T_n0}")
        if self.d_n0 > 3 or self.T_n0 > 6:
            raise ValueError("d_n0 <= 3 and T_n0 <= 6: the (N0) flow's Hessian is generated symbolically")
        if not 0 < self.init_scale < 1:
            raise ValueError(f"init_scale must be in (0, 1), got {self.init_scale}")


# ------------------------------------------------------------------------------ claims
def claim_derivation(which: str, difference: sp.Expr, sizes: list[tuple[int, int]]) -> Claim:
    return check_equal(
        f"sander2024.{which}-derived", f"The reduced loss ({which}) derived in sympy by monomial "
        f"expansion of the model's expected squared error equals the closed form (sizes {sizes}).",
        "0", str(sp.expand(difference)), source="derived",
        why="exact symbolic identity: the expanded difference of two polynomials must be 0.")


def claim_eta_single(d: int, t: int, ab: np.ndarray, loss: float, predicted: tuple[float, float] | None = None) -> Claim:
    eta, L = predicted if predicted is not None else (d / (t + d - 1), (d - 1) / (t + d - 1))
    return check(
        "sander2024.eta-star-single", f"One position with t = {t} pairs (d = {d}): the learned products "
        "a_i b_i all tend to eta* = d/(t+d-1) and the loss to (d-1)/(t+d-1).",
        [eta] * len(ab) + [L], list(ab) + [loss], tol=1e-6, relative=True, source="derived",
        why="gradient flow on the exact reduced loss to t = 1e4 converges exponentially to the "
            "minimiser (rate ~ the Hessian's smallest eigenvalue, O(1) here); LSODA at rtol 1e-8.")


def claim_eta_shared(d: int, n: int, eta: float, loss: float, predicted: tuple[float, float] | None = None) -> Claim:
    x = 3.0 / (2 * n + 3 * d - 4)
    L = sum((t * x - 1) ** 2 + t * (d - 1) * x**2 for t in range(n))
    eta_p, L_p = predicted if predicted is not None else (d * x, L)
    return check(
        "sander2024.eta-star-shared", f"Positions sharing parameters (d = {d}, n = {n}): alpha*beta tends to "
        "3d/(2n+3d-4) and the summed loss to its value there.", [eta_p, L_p], [eta, loss], tol=1e-6,
        relative=True, source="derived",
        why="exponential convergence of the flow on a strongly convex (in x = alpha beta / d) loss; "
            "the tolerance is set by the integrator (rtol 1e-8) and the horizon.",
        details={"mse_normalised_loss": loss / (n * d)})


def claim_balance(drift: float) -> Claim:
    return check(
        "sander2024.balance-conserved", "alpha^2 - beta^2 is conserved along the gradient flow.", 0.0, drift,
        tol=1e-8, source="derived",
        why="exact invariant (rescaling symmetry); numerical drift is the integrator's global error at "
            "rtol 1e-8 on O(0.1-1) coordinates.")


def claim_min_loss(Hs: list[int], losses: list[float], d: int, T: int) -> Claim:
    pred = [(T - 1) * (d - min(H, d)) for H in Hs]
    return check(
        "sander2024.min-loss-unitary", f"(N0), commuting unitary W: the minimum loss is (T-1)(d - min(H,d)) "
        f"(d = {d}, T = {T}, H = {Hs}).", pred, losses, tol=1e-6, source="derived",
        why="the flow converges to a global minimiser from a small random init (spec 3.2); residual "
            "loss after t = 1e4 is far below 1e-6.")


def claim_heads(ratios_le_d: list[float]) -> Claim:
    return check(
        "sander2024.heads-orthogonal", "For H <= d the heads become orthogonal (the paper's abstract, as "
        "summarised in spec 0), made exact: A B^T = c I_H (off-diagonal norm ratio of A B^T).", [0.0] * len(ratios_le_d),
        ratios_le_d, tol=1e-4, source="paper",
        why="at the minimiser B^T A = c Pi with rank H forces A B^T = c I_H exactly (spec 3.2, derived); the "
            "flow is converged to ~1e-8 in C, so the ratio is ~1e-8; 1e-4 absorbs a slower run.")


def claim_pe(cP: list[float], others: float) -> Claim:
    return check(
        "sander2024.pe-one-hot", "The positional weights become one-hot on the most recent key: "
        "c P_{t,t+1} = 1 for every row, all other entries 0 (max |other|).",
        [1.0] * len(cP) + [0.0], list(cP) + [others], tol=1e-5, source="derived",
        why="every other entry decays exponentially under the flow (spec 3.2); converged flow.")


def claim_scale(Hs: list[int], c_cubed: list[float], d: int, T: int) -> Claim:
    pred = [(T - 1) / min(H, d) for H in Hs]
    return check(
        "sander2024.scale-c", "The scale of B^T A = c Pi from the conservation law, small init: "
        f"|c|^3 = (T-1)/min(H,d) (H = {Hs}).", pred, c_cubed, tol=0.03, relative=True, source="derived",
        why="exact balance 2|c| min(H,d) - 2(T-1)/c^2 = Q0; from an init of scale 0.05, Q0 = O(0.05^2 x "
            "number of parameters) ~ 0.03 shifts |c|^3 by ~Q0 c^2 / (2 (T-1)), under 1%; 3% leaves room.")


def claim_conserved(drift: float) -> Claim:
    return check(
        "sander2024.conserved-Q", "Q = ||A||_F^2 + ||B||_F^2 - 2||P||_F^2 is constant along the flow.",
        0.0, drift, tol=1e-6, source="derived",
        why="exact invariant of the rescaling symmetry (A, B, P) -> (g A, g B, P/g^2); drift is the "
            "integrator's error at rtol 1e-8 on O(1) quantities over a long horizon.")


def claim_n1_quadrature(rel_dev: float) -> Claim:
    return check(
        "sander2024.n0-quadrature-equals-N1", "The exact-quadrature loss of the numpy (N0) model equals "
        "the derived reduced loss (N1) at random parameters (max relative difference).", 0.0, rel_dev,
        tol=1e-12, source="derived",
        why="a uniform grid with more angles than the highest frequency is an exact quadrature for these "
            "trigonometric polynomials; only round-off (~1e-15 relative) separates the two.")


def claim_gd_map(max_dev: float, steps: int) -> Claim:
    return check(
        "sander2024.n0-gd-map", f"Direct GD on the numpy (N0) model equals the Euler map of the reduced "
        f"flow over {steps} steps (max |difference| of A, B, P).", 0.0, max_dev, tol=1e-10, source="derived",
        why="identical maps up to round-off when the data is an exact quadrature: ~1e-15 per step.")


def claim_gd_drift(ratio: float) -> Claim:
    return check(
        "sander2024.conserved-gd-drift", "Under GD the conserved quantity Q drifts by O(lr): halving lr "
        "halves the drift at the same flow time.", 2.0, ratio, tol=0.3, source="derived",
        why="each GD step changes Q by O(lr^2) (the flow conserves it exactly), so the drift after a fixed "
            "flow time is C lr + O(lr^2); the second-order term moves the ratio by < 15% at lr <= 0.02.")


def claim_rotation(Hs: list[int], losses: list[float], ratios: list[float], d: int, T: int) -> Claim:
    pred = [(T - 1) * max(d - 2 * H, 0) for H in Hs]
    return check(
        "sander2024.rotation-blocks", f"(N0), real rotation blocks (d = {d}, T = {T}): minimum loss "
        "(T-1)(d-2H)_+ and the trigonometric positional weights P_{t,t}/P_{t,t+1} = -1/2 "
        f"(H = {Hs}; losses then mean ratios).", pred + [-0.5] * len(ratios), losses + ratios, tol=1e-4,
        source="derived",
        why="GD on exact-quadrature data converged to a global minimiser; the ratio follows from "
            "s_{t+1} + s_{t-1} = 2 cos(theta) s_t (spec 3.3); residual error ~1e-8 after the run.")


def claim_pe_frequency(mus: list[float], freqs: list[float]) -> Claim:
    order = [m for _, m in sorted(zip(freqs, mus, strict=True), reverse=True)]
    return check_equal(
        "sander2024.pe-frequency", "PE-only attention: the oscillation frequency of the learned "
        f"positional profile grows as mu shrinks (mu sorted by decreasing frequency, mu = {mus}; spec 3.4, "
        "derived from the first gradient step, proportional to sinc(4 pi m / mu); the authors' Fig. 6 shows "
        "the profiles, its text was not read).",
        sorted(mus), order, source="derived",
        why="an ordering, compared exactly: neighbouring FFT peak frequencies are at least 0.0038 cycles per "
            "position apart (0.066, 0.032, 0.027, 0.023; details), seven times the FFT resolution "
            "1/(64 L) = 5.4e-4 (L = 29). The mu = 300 profile is a ramp with less than half a cycle, at the "
            "measure's floor ~0.7/L = 0.024: its place in the order says only that it oscillates least.",
        details={"mu": mus, "frequency": freqs})


def claim_block_gd(mode: str, eta: float, pred_dev: float, loss: float, d: int, n: int,
                   details: dict | None = None) -> Claim:
    from derivations.sander2024.augmented import eta_star_shared, isotropic_loss

    law = ("the authors' fixed s_0 = 1/sqrt(d), as in augmented.py" if mode == "fixed"
           else "random-phase s_0, a rotation-invariant law (reconstruction)")
    return check(
        f"sander2024.block-equals-gd.{mode}", "The trained block-structured linear attention (A0) is one "
        f"step of GD on the inner least squares (spec 0, 4 Thm. B; {law}; complex unitary W, d = {d}, "
        f"{n} positions): alpha*beta equals the best shared step 3d/(2n+3d-4) (our derivation, spec 3.1), "
        "the loss equals one-step GD's, and the predictions equal one-step GD's (max |difference|).",
        [eta_star_shared(d, n), isotropic_loss(d, n, eta_star_shared(d, n)), 0.0], [eta, loss, pred_dev],
        tol=1e-3, source="paper",
        why="GD on exact-quadrature data (lr 0.1, 1000-2000 steps) ends with gradient entries below 1e-14 "
            "(details: grad_max), so eta, the loss and the predictions are converged to ~1e-12; 1e-3 only "
            "absorbs a slower run. A structural difference (a different minimiser) is 0.03 or more.",
        details=details)


def claim_block_diagonal(loss_diag: float, d: int, n: int, details: dict | None = None) -> Claim:
    from derivations.sander2024.augmented import eta_star_shared, isotropic_loss

    return check(
        "sander2024.block-equals-gd.fixed-diagonal", "Scope of the GD statement: with the authors' fixed "
        f"s_0 = 1/sqrt(d) but basis-diagonal A, B (spec 3.1 (A1); d = {d}, {n} positions), the lowest "
        "loss of the block model is one-step GD's with the best shared step (lowest over L-BFGS restarts).",
        isotropic_loss(d, n, eta_star_shared(d, n)), loss_diag, tol=1e-8, source="derived",
        why="L-BFGS to gradient 1e-12 on a polynomial loss evaluated by exact quadrature: the minimum is "
            "found to ~1e-12; 1e-8 leaves room for round-off, far below the 0.16 gap of the full block model.",
        details=details)


def claim_unconstrained(gd_fixed: float, la_fixed: float, gd_random: float, la_random_min: float) -> Claim:
    return check(
        "sander2024.unconstrained-vs-gd", "Negative control (spec 3.1 caveat): an unconstrained linear "
        "attention beats one-step GD with fixed s_0 (real rotations: relative gain), while with "
        "random-phase complex s_0 it only matches it (relative gap of its lowest loss).",
        [0.2, 0.0], [(gd_fixed - la_fixed) / gd_fixed, (la_random_min - gd_random) / gd_random], tol=0.15,
        source="derived",
        why="the fixed-s_0 optimum is 8-20% below GD depending on the local minimum Adam reaches "
            "(2.23-2.55 vs 2.79 at d=2, T=6), i.e. 0.2 +- 0.12; with random phases the gap is 0 up "
            "to Adam jitter (1e-5).",
        details={"gd_fixed": gd_fixed, "la_fixed": la_fixed, "gd_random": gd_random, "la_random_min": la_random_min})


def heads_tolerance(sds: list[float], K: int, imbalance: float = IMBALANCE_R2) -> float:
    """Tolerance of :func:`claim_heads_not_orthogonal`: three standard errors of a mean of ``K``
    draws of the Haar law (largest over the sizes) plus the shift ``imbalance`` that the finite
    initialisation can cause per seed."""
    return 3.0 * max(sds) / float(np.sqrt(K)) + imbalance


def claim_heads_not_orthogonal(sizes: list[tuple[int, int]], mean_r2: list[float], tol: float, K: int,
                               predicted: list[float] | None = None, details: dict | None = None) -> Claim:
    from derivations.sander2024.nonaugmented import haar_offdiag_r2_mean

    pred = predicted if predicted is not None else [haar_offdiag_r2_mean(d, H) for d, H in sizes]
    return check(
        "sander2024.heads-not-orthogonal", "For H > d the heads are not orthogonal: A B^T = c U U^T is a "
        "rank-d projector, and the squared off-diagonal ratio r^2 = ||offdiag(A B^T)||^2 / ||A B^T||^2, "
        f"averaged over {K} random initialisations, equals (H-d)/(H+2), its mean for a uniformly random "
        f"head subspace ((d, H) = {sizes}; derived from the O(H) symmetry, see nonaugmented."
        "haar_offdiag_r2_mean).", pred, mean_r2, tol=tol, source="derived",
        why=f"the mean of {K} seeds has the Haar law's standard error sd/sqrt(K) (sd = 0.087 for (2, 3), "
            "0.061 for (3, 5), computed from the exact law in every run): three of them, plus "
            f"{IMBALANCE_R2} for the finite init (scale 0.05 leaves A A^T - B B^T ~ 1e-3, which moved r^2 "
            "of single seeds by at most 0.0045 from the balanced value, over 2 x 512 seeds). Any value "
            "in [0, (H-d)/H] is possible for one seed, so no per-seed prediction is made.",
        details=details)


def claim_pe_steps(mus: list[float], predicted: list[int], measured: list[int],
                   details: dict | None = None) -> Claim:
    return check(
        "sander2024.pe-steps", "PE-only attention (spec 3.4, Fig. 6; the authors' loss, GD from P = 0 at "
        f"lr 0.5, stop at loss < 1e-3): the number of GD updates to loss < 1e-3 for mu = {mus} equals the "
        "count from the spectrum of the population loss (a quadratic in each PE row). The spec gives no "
        "step counts (it gives the stopping rule, lr 0.5 and the cap of 1e5 steps; the authors' script "
        "prints only the loss), so the prediction is ours; our counts lie far below the cap.",
        [float(x) for x in predicted], [float(x) for x in measured], tol=0.0, source="derived",
        why="both sides are GD from 0 on the same quadratic: the trained side on Gauss-quadrature data (exact "
            "to ~1e-13 relative), the predicted side from the eigenvalues of the closed-form Gram matrices. "
            "A count can only move if the loss at the crossing lies within round-off of 1e-3; the smallest "
            "relative distance from 1e-3 on either side of the crossing is recorded (details: margin, "
            "~4e-5 at mu = 200), so the count is exact and the tolerance is 0 steps. The authors' runs used "
            "1000 unseeded Monte-Carlo sequences; the spread of their count over such draws is recorded "
            "(details: mc_*), the allowance a published count would need.",
        details=details)


# ------------------------------------------------------------------------------ verify
def _c_of(tr: Trajectory, d: int, H: int) -> np.ndarray:
    y = tr.y[-1]
    A = y[: H * d].reshape(H, d)  # (H, d)
    B = y[H * d : 2 * H * d].reshape(H, d)  # (H, d)
    return B.T @ A  # (d, d)


def verify(ctx: VerifyContext) -> list[Claim]:
    s = ctx.settings if isinstance(ctx.settings, Setting) else Setting()
    claims: list[Claim] = []
    with ctx.stage("derive (A1) and (N1) by monomial expansion"):
        diff_a = sp.Integer(0)
        for d, t in ((2, 3), (3, 4)):
            a = sp.symbols(f"a1:{d + 1}", real=True)
            b = sp.symbols(f"b1:{d + 1}", real=True)
            r = sp.symbols(f"r1:{d + 1}", positive=True)
            diff_a += augmented_position_loss(d, t, a, b, r) - a1_formula(d, t, a, b, [x**2 for x in r])
        claims.append(claim_derivation("A1", diff_a, [(2, 3), (3, 4)]))
        diff_n = sp.Integer(0)
        for d, n in ((2, 3), (3, 4)):
            C = [[sp.Symbol(f"C{i}_{k}", real=True) for k in range(d)] for i in range(d)]
            p = sp.symbols(f"p0:{n + 1}", real=True)
            diff_n += nonaug_row_loss(d, n, C, p, expand=True) - n1_formula(d, n, C, p)
        claims.append(claim_derivation("N1", diff_n, [(2, 3), (3, 4)]))
        t0 = time.perf_counter()
        n1_rows(10, 20)
        ctx.config["n1_derivation_d10_T20_s"] = time.perf_counter() - t0
    with ctx.stage("augmented: reduced flows"):
        md = augmented_diagonal_model(s.d_diag, s.t_diag)
        rng = ctx.rng(1)
        y0 = 0.3 + 0.1 * rng.random(md.n_state)
        td = integrate(md, y0, t_max=1e4)
        ab = np.array([td[f"ab{i + 1}"][-1] for i in range(s.d_diag)])
        claims.append(claim_eta_single(s.d_diag, s.t_diag, ab, float(td.loss[-1])))
        ms = augmented_shared_model(s.d_aug, s.n_aug)
        tsh = integrate(ms, {"alpha": 0.1, "beta": 0.05}, t_max=1e4)
        ctx.save_trajectory("augmented_shared_flow", tsh)
        claims.append(claim_eta_shared(s.d_aug, s.n_aug, float(tsh["eta"][-1]), float(tsh.loss[-1])))
        claims.append(claim_balance(float(np.max(np.abs(tsh["balance"] - tsh["balance"][0])))))
    with ctx.stage("augmented: numpy models against one-step GD"):
        claims += _augmented_direct(ctx)
    with ctx.stage("non-augmented (N0): reduced flows across H"):
        d, T = s.d_n0, s.T_n0
        Hs = [1, d, d + 1]
        losses: list[float] = []
        c_cubed: list[float] = []
        ratios_le: list[float] = []
        ratios_gt: list[float] = []
        cP: list[float] = []
        others, qdrift = 0.0, 0.0
        for H in Hs:
            m = nonaug_model(d, H, T)
            y0 = s.init_scale * ctx.rng(10 + H).normal(size=m.n_state)
            tr = integrate(m, y0, t_max=1e4)
            ctx.save_trajectory(f"n0_flow_H{H}", tr)
            losses.append(float(tr.loss[-1]))
            qdrift = max(qdrift, float(np.max(np.abs(tr["Q"] - tr["Q"][0]))))
            y = tr.y[-1]
            A = y[: H * d].reshape(H, d)  # (H, d)
            B = y[H * d : 2 * H * d].reshape(H, d)  # (H, d)
            Cm = B.T @ A  # (d, d)
            c_cubed.append(abs(float(np.sum(Cm**2) / np.trace(Cm))) ** 3)
            M = A @ B.T  # (H, H)
            ratio = float(np.linalg.norm(M - np.diag(np.diag(M))) / np.linalg.norm(M))
            (ratios_le if H <= d else ratios_gt).append(ratio)
            if H >= d:
                Cm = B.T @ A  # (d, d)
                c = float(np.trace(Cm) / d)
                for t in range(T - 1):
                    cP.append(c * float(tr[f"P{t}_{t + 1}"][-1]))
                    for j in range(t + 1):
                        others = max(others, abs(float(tr[f"P{t}_{j}"][-1])))
        claims.append(claim_min_loss(Hs, losses, d, T))
        claims.append(claim_scale(Hs, c_cubed, d, T))
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 4))
        Hg = np.arange(1, max(Hs) + 2)
        ax.plot(Hg, [(T - 1) * max(d - int(h), 0) for h in Hg], "k--", label="(T-1)(d - min(H, d))")
        ax.plot(Hs, losses, "o", ms=8, label="reduced flow, t = 1e4")
        ax.set(xlabel="heads H", ylabel="minimum loss", title=f"(N0) unitary W, d = {d}, T = {T}")
        ax.legend(fontsize=8)
        ctx.save_figure(
            "min_loss_vs_heads", fig, claims=("sander2024.min-loss-unitary",),
            caption="The minimum loss of the (N0) reduced flow against the number of heads H (dots) sits on "
                    "(T-1)(d - min(H, d)) (dashed): each head serves one coordinate, and heads beyond d add "
                    "nothing.")
        claims.append(claim_heads(ratios_le))
        claims.append(claim_pe(cP, others))
        claims.append(claim_conserved(qdrift))
        ctx.config["n0_flow_offdiag_ratio_H_gt_d"] = ratios_gt
    with ctx.stage("non-augmented (N0): head structure for H > d over many seeds"):
        claims.append(_heads_many_seeds(ctx, ratios_gt))
    with ctx.stage("non-augmented (N0): numpy model against the reduced flow"):
        claims += _n0_direct(ctx, s)
    with ctx.stage("non-augmented (N0): real rotation blocks"):
        claims.append(_rotation(ctx, s))
    with ctx.stage("PE-only attention against mu"):
        claims += _pe_only(ctx, s)
    with ctx.stage("beyond commuting W: Haar-orthogonal, loss against layers and heads"):
        _haar_report(ctx)
    return claims


def _haar_report(ctx: VerifyContext) -> None:
    """Spec 1.3, 5: report what is seen (the paper's numbers are not known); no claims."""
    import matplotlib.pyplot as plt

    from derivations.sander2024.haar import sweep_heads, sweep_layers

    steps = 800 if ctx.quick else 1500
    lay = sweep_layers(layers=(1, 2, 3), steps=steps, rng=ctx.rng(30))
    hea = sweep_heads(heads=(1, 2, 4, 8), steps=steps, rng=ctx.rng(31))
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    for a_, res, xlabel, title in ((ax[0], lay, "layers L", "augmented linear attention, Haar W"),
                                   (ax[1], hea, "heads H", "diagonal multi-head (N0), Haar W")):
        a_.plot(res.values, res.train, "o-", label="trained (train)")
        a_.plot(res.values, res.test, "s--", label="trained (test)")
        for key, style in (("zero", ":"), ("gd_shared", "-."), ("gd_per_position", "--")):
            a_.axhline(res.baselines_test[key], ls=style, color="gray", lw=1)
            a_.text(res.values[-1], res.baselines_test[key], f" {key}", fontsize=7, va="bottom")
        a_.set(xlabel=xlabel, ylabel="loss (sum over positions)", title=title)
        a_.legend(fontsize=8)
    ctx.save_figure(
        "haar_layers_heads", fig, claims=(),
        caption="Reported, not a claim (the paper's Figs. 5 and 7 numbers are unknown). Left: the augmented "
                "attention's test loss falls with the number of layers and passes below the one-step-GD "
                "baselines (grey lines: zero predictor, best shared step, best step per position). Right: the "
                "(N0) model's loss saturates at H = d and stays far above the GD baselines.")
    ctx.config["haar"] = {
        "layers": {"L": list(lay.values), "train": list(lay.train), "test": list(lay.test),
                   "baselines_test": dict(lay.baselines_test)},
        "heads": {"H": list(hea.values), "train": list(hea.train), "test": list(hea.test),
                  "baselines_test": dict(hea.baselines_test)},
    }
    ctx.note(f"Haar W (d = 3, T = 8, Adam {steps} steps): augmented test loss by layers "
             f"{[round(float(x), 3) for x in lay.test]} against zero {lay.baselines_test['zero']:.2f}, shared-step GD "
             f"{lay.baselines_test['gd_shared']:.3f}, per-position GD {lay.baselines_test['gd_per_position']:.3f}; "
             f"(N0) test loss by heads {[round(float(x), 3) for x in hea.test]} (saturates at H = d, far above the GD "
             f"baselines {hea.baselines_test['gd_shared']:.3f}).")


def _augmented_direct(ctx: VerifyContext) -> list[Claim]:
    """Block model against one-step GD for both laws of s_0, the measurement checks behind the
    fixed-s_0 finding (findings.py), the basis-diagonal scope claim, the unconstrained control,
    and one figure for the four claims."""
    import matplotlib.pyplot as plt

    from derivations.sander2024.augmented import (
        BlockLinearAttention,
        LinearAttention,
        best_shared_eta,
        block_minimise,
        one_step_gd_loss,
        one_step_gd_predict,
    )
    from derivations.sander2024.data import quadrature_data
    from dynamics.direct import train

    d, T = 2, 6
    claims = []
    runs = {}
    fixed_data = None
    for mode, n_angles in (("random_phase", T), ("fixed", 3 * T - 3)):
        data = quadrature_data("unitary", d, T, n_angles, mode)
        model = BlockLinearAttention(d, init_mode="identity", init_scale=0.1)
        tr, p = train(model, model.init(ctx.rng(0)), data, lr=0.1, steps=1000 if mode == "random_phase" else 2000)
        eta = float(model.observables(p)["eta"])
        dev = float(np.max(np.abs(model.predict(p, data.S) - one_step_gd_predict(data.S, eta))))
        # measurement checks: the baseline, convergence, other minima, the grid, the normalisation
        gd_eta = best_shared_eta(data.S, data.weights)
        gd_loss = one_step_gd_loss(data.S, data.weights, gd_eta)
        _, g = model.loss_and_grad(p, data)
        _, polished, _ = block_minimise(model, data, p)
        rng = ctx.rng(40 if mode == "fixed" else 41)
        restarts = [block_minimise(model, data, {"A": 0.5 * rng.standard_normal((d, d)),
                                                 "B": 0.5 * rng.standard_normal((d, d))})[1] for _ in range(8)]
        iso = np.sqrt(gd_eta) * np.eye(d)
        fine = quadrature_data("unitary", d, T, 4 * T + 1, mode)
        per_position = 1.0 + sum(
            one_step_gd_loss(data.S, data.weights, best_shared_eta(data.S, data.weights, [t]), [t]) for t in range(1, T))
        details = {
            "gd_eta": gd_eta, "gd_loss": gd_loss, "grad_max": float(max(np.max(np.abs(v)) for v in g.values())),
            "lbfgs_from_end": polished, "restarts_min": float(min(restarts)), "restarts_max": float(max(restarts)),
            "block_at_isotropy_minus_gd": float(model.loss_and_grad({"A": iso, "B": iso}, data)[0] - gd_loss),
            "fine_grid_loss_minus_loss": float(model.loss_and_grad(p, fine)[0] - tr.loss[-1]),
            "per_position_gd_loss": float(per_position), "A": p["A"].tolist(), "B": p["B"].tolist(),
        }
        claims.append(claim_block_gd(mode, eta, dev, float(tr.loss[-1]), d, T, details=details))
        ctx.save_trajectory(f"augmented_block_{mode}", tr)
        runs[mode] = (tr, p, gd_loss, per_position)
        if mode == "fixed":
            fixed_data, fixed_model = data, model
    assert fixed_data is not None
    diag = [block_minimise(fixed_model, fixed_data, {"A": np.diag(0.5 + 0.3 * r), "B": np.diag(0.5 - 0.3 * r)},
                           diagonal=True) for r in ctx.rng(42).standard_normal((3, d))]
    claims.append(claim_block_diagonal(min(x[1] for x in diag), d, T,
                                       details={"diagonal_losses": [x[1] for x in diag],
                                                "A": [np.diag(x[0]["A"]).tolist() for x in diag],
                                                "B": [np.diag(x[0]["B"]).tolist() for x in diag]}))
    fixed = quadrature_data("rotation", d, T, 6 * T)
    gd_fixed = one_step_gd_loss(fixed.S, fixed.weights, best_shared_eta(fixed.S, fixed.weights))
    la = LinearAttention(d, init_scale=0.1)
    tr_f, _ = train(la, None, fixed, lr=0.01, steps=3000, optimizer="adam", rng=ctx.rng(7))
    rnd = quadrature_data("unitary", d, T, T, "random_phase")
    gd_rnd = one_step_gd_loss(rnd.S, rnd.weights, best_shared_eta(rnd.S, rnd.weights))
    tr_r, _ = train(la, None, rnd, lr=0.01, steps=3000, optimizer="adam", rng=ctx.rng(8))
    claims.append(claim_unconstrained(float(gd_fixed), float(tr_f.loss.min()), float(gd_rnd), float(tr_r.loss.min())))

    fig, ax = plt.subplots(1, 3, figsize=(15, 4), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    for (tr, lr, gd, label, style) in (
            (runs["random_phase"][0], 0.1, runs["random_phase"][2], "block (A0), random-phase s_0, GD", "-"),
            (runs["fixed"][0], 0.1, runs["fixed"][2], "block (A0), fixed s_0, GD", "-"),
            (tr_r, 0.01, gd_rnd, "unconstrained, random-phase s_0, Adam", "--"),
            (tr_f, 0.01, gd_fixed, "unconstrained, fixed s_0 (rotations), Adam", "--")):
        steps = np.maximum(tr.t / lr, 1.0)
        ax[0].semilogx(steps, tr.loss / gd - 1.0, style, label=label)
    ax[0].axhline(0.0, color="k", lw=1)
    ax[0].text(1.2, 0.01, "best single GD step (shared by all positions)", fontsize=8)
    ax[0].axhline(runs["fixed"][3] / runs["fixed"][2] - 1.0, color="gray", ls=":", lw=1)
    ax[0].text(1.2, runs["fixed"][3] / runs["fixed"][2] - 1.0 + 0.01, "GD with a separate step per position",
               fontsize=8, color="gray")
    ax[0].set(xlabel="training step", ylabel="loss / one-step-GD loss - 1", ylim=(-0.25, 0.5),
              title=f"trained attention against one GD step (d = {d}, {T} positions)")
    ax[0].legend(fontsize=7, loc="upper right")
    p_fixed = runs["fixed"][1]
    for a_, key in ((ax[1], "A"), (ax[2], "B")):
        M = p_fixed[key]
        im = a_.imshow(M, cmap="coolwarm", vmin=-np.max(np.abs(M)), vmax=np.max(np.abs(M)))
        for (i, j), v in np.ndenumerate(M):
            a_.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=9)
        a_.set(title=f"{key} after training, fixed s_0", xticks=[], yticks=[])
        fig.colorbar(im, ax=a_)
    ctx.save_figure(
        "augmented_vs_gd", fig,
        claims=("sander2024.block-equals-gd.random_phase", "sander2024.block-equals-gd.fixed",
                "sander2024.block-equals-gd.fixed-diagonal", "sander2024.unconstrained-vs-gd"),
        caption="Left: the loss of each trained model relative to the best single GD step (0 = one GD step). "
                "With random-phase s_0 the block model ends exactly at 0 (it is one GD step) and the "
                "unconstrained model only reaches it; with the authors' fixed s_0 the block model ends 6% "
                "below (the finding) and the unconstrained one lower still. Right: the fixed-s_0 block "
                "matrices have negative off-diagonal entries, i.e. they leave isotropy; restricted to "
                "diagonal matrices the optimum is GD's again (claim fixed-diagonal).")
    return claims


def _heads_many_seeds(ctx: VerifyContext, flow_ratios: list[float]) -> Claim:
    """heads-not-orthogonal: the off-diagonal ratio over many seeds against the Haar law."""
    import matplotlib.pyplot as plt

    from derivations.sander2024.nonaugmented import (
        haar_offdiag_r2_mean,
        haar_offdiag_r2_sd,
        leverage_offdiag_r2,
        n1_gd_batch,
        offdiag_ratio_batch,
    )

    K = 256 if ctx.quick else 512
    sizes = [(2, 3), (3, 5)]
    means: list[float] = []
    sds: list[float] = []
    samples: list[np.ndarray] = []
    info: dict[str, Any] = {}
    for i, (d, H) in enumerate(sizes):
        run = n1_gd_batch(d, H, 4, K, ctx.rng(50 + i), scale=0.05, lr=0.05)
        r2 = offdiag_ratio_batch(run["A"], run["B"]) ** 2
        bal = leverage_offdiag_r2(run["A"])
        sd = haar_offdiag_r2_sd(d, H, ctx.rng(60 + i))
        means.append(float(np.mean(r2)))
        sds.append(sd)
        samples.append(r2)
        info[f"d{d}_H{H}"] = {"haar_mean": haar_offdiag_r2_mean(d, H), "haar_sd": sd, "mean_r2": float(np.mean(r2)),
                              "sem": float(np.std(r2) / np.sqrt(K)), "steps": int(run["steps"]),
                              "converged": int(np.sum(run["converged"])),
                              "imbalance_shift_max": float(np.max(np.abs(r2 - bal))),
                              "imbalance_shift_mean": float(np.mean(r2 - bal)),
                              "range": [float(np.min(r2)), float(np.max(r2))]}
    info["K"] = K
    info["single_reduced_flow_ratio_d2_H3"] = flow_ratios
    tol = heads_tolerance(sds, K)
    fig, ax = plt.subplots(1, len(sizes), figsize=(11, 3.8))
    for a_, (d, H), r2 in zip(ax, sizes, samples, strict=True):
        U, _ = np.linalg.qr(ctx.rng(70).standard_normal((20_000, H, d)))
        haar = 1.0 - np.sum(np.sum(U**2, axis=2) ** 2, axis=1) / d
        bins = np.linspace(0.0, (H - d) / H, 31)
        a_.hist(haar, bins=bins, density=True, histtype="step", color="k", label="uniform head subspace (Haar)")
        a_.hist(r2, bins=bins, density=True, alpha=0.5, label=f"GD on (N1), {K} seeds")
        a_.axvline(haar_offdiag_r2_mean(d, H), color="k", ls="--", label="(H-d)/(H+2)")
        a_.axvline(float(np.mean(r2)), color="C0", label="mean over seeds")
        a_.set(xlabel="r^2 = ||offdiag(A B^T)||^2 / ||A B^T||^2", ylabel="density", title=f"d = {d}, H = {H}, T = 4")
        a_.legend(fontsize=7)
    ctx.save_figure(
        "heads_offdiag", fig, claims=("sander2024.heads-not-orthogonal",),
        caption="For H > d the heads cannot be orthogonal, and how far from orthogonal they end depends on the "
                "seed: the histogram of r^2 over seeds follows the law of a uniformly random head subspace "
                "(black), and its mean (blue line) matches (H-d)/(H+2) (dashed). r^2 = 0 would be orthogonal heads.")
    return claim_heads_not_orthogonal(sizes, means, tol, K, details=info)


def _unit_quadrature(kind: str, d: int, T: int, n: int) -> dict[str, np.ndarray]:
    """Exact quadrature data with unit-modulus s_0 (the (N0) theory's normalisation)."""
    from derivations.sander2024.data import quadrature

    S, w = quadrature(kind, d, T, n)  # (G, T+1, d): s_0 = 1/sqrt(d)
    return {"S": S * np.sqrt(d), "weight": w}


def _n0_direct(ctx: VerifyContext, s: Setting) -> list[Claim]:
    import matplotlib.pyplot as plt

    from derivations.sander2024.nonaugmented import C_matrix, DiagonalMultiHead, conserved
    from dynamics.direct import train

    d, T, H = s.d_n0, s.T_n0, s.d_n0
    data = _unit_quadrature("unitary", d, T, 2 * T + 1)
    model = DiagonalMultiHead(d, H, T)
    cm = nonaug_model(d, H, T).compile()
    rng = ctx.rng(3)
    devs = []
    for _ in range(3):
        params = model.init(rng, scale=0.7)
        direct = model.loss_and_grad(params, data)[0]
        y = np.array(list(model.reduce(params).values()))
        reduced = float(cm.observables(y[None], cm.pack())["loss"][0])
        devs.append(abs(direct - reduced) / abs(reduced))
    claims = [claim_n1_quadrature(max(devs))]
    lr, steps = 0.01, 500
    p0 = model.init(ctx.rng(4), scale=s.init_scale * 2)
    tr, _ = train(model, p0, data, lr=lr, steps=steps, record="all")
    y = np.array(list(model.reduce(p0).values()))
    out = np.empty_like(y)
    ys = [y.copy()]
    for _ in range(steps):
        cm.rhs(0.0, y, cm.pack(), cm.data, cm.bounds, out)
        y = y + lr * out
        ys.append(y.copy())
    claims.append(claim_gd_map(float(np.max(np.abs(np.array(ys) - tr.y))), steps))
    drifts = []
    for lr_ in (0.02, 0.01):
        n = int(round(5.0 / lr_))
        _, pf = train(model, p0, data, lr=lr_, steps=n, record=n)
        drifts.append(abs(conserved(pf)["Q"] - conserved(p0)["Q"]))
    claims.append(claim_gd_drift(drifts[0] / drifts[1]))
    # ODE vs direct GD, and the converged structure (the paper's Fig. 3), d = 3
    flow = integrate(cm, np.array(list(model.reduce(p0).values())), t_max=steps * lr, t_eval=tr.t)
    m3 = DiagonalMultiHead(3, 3, 4)
    data3 = _unit_quadrature("unitary", 3, 4, 7)
    _, p3 = train(m3, m3.init(ctx.rng(5), scale=0.1), data3, lr=0.03, steps=1500, record=1500)
    fig, ax = plt.subplots(1, 5, figsize=(20, 3.6))
    ax[0].semilogy(tr.t[1:], tr.loss[1:], label="direct GD (lr 0.01)")
    ax[0].semilogy(flow.t[1:], flow.loss[1:], "--", label="reduced flow")
    ax[0].set(xlabel="flow time", ylabel="loss", title=f"(N0) d={d}, H={H}, T={T}")
    ax[0].legend(fontsize=8)
    for a_, M, title in ((ax[1], p3["A"], "A"), (ax[2], p3["B"], "B"), (ax[3], C_matrix(p3), "B^T A"),
                         (ax[4], p3["P"] * m3.mask, "P (masked)")):
        im = a_.imshow(M, cmap="cividis")
        a_.set_title(title)
        fig.colorbar(im, ax=a_)
    fig.suptitle("(N0): loss of direct GD vs the reduced flow (left); A, B, B^T A and P at convergence, "
                 "d = 3, H = 3, T = 4 (the paper's Fig. 3 structure)", y=1.03)
    ctx.save_figure(
        "n0_structure", fig, claims=("sander2024.n0-gd-map", "sander2024.heads-orthogonal", "sander2024.pe-one-hot"),
        caption="Left: the loss of direct GD on the numpy (N0) model and of the reduced flow lie on one curve "
                "(d = 2, H = 2, T = 4). Right, an illustration at d = 3, H = 3, T = 4 of the structure the claims "
                "measure at d = 2: B^T A is c I (diagonal, equal entries), and P has a single non-zero "
                "diagonal, the most recent key P[t, t+1] (the authors' Fig. 3, left).")
    ctx.config["n0_d3_final_loss"] = m3.loss_and_grad(p3, data3)[0]
    return claims


def _rotation(ctx: VerifyContext, s: Setting) -> Claim:
    from derivations.sander2024.nonaugmented import DiagonalMultiHead
    from dynamics.direct import train

    d, T = 4, 4
    data = _unit_quadrature("rotation", d, T, 6 * T - 7)
    Hs = [1, 2]
    losses, ratios = [], []
    for H in Hs:
        m = DiagonalMultiHead(d, H, T)
        _, p = train(m, m.init(ctx.rng(20 + H), scale=0.1), data, lr=0.01, steps=3000 if not ctx.quick else 2000,
                     record=3000)
        losses.append(float(m.loss_and_grad(p, data)[0]))
        ratios.append(float(np.mean([p["P"][t, t] / p["P"][t, t + 1] for t in range(T - 1)])))
    return claim_rotation(Hs, losses, ratios, d, T)


def _pe_only(ctx: VerifyContext, s: Setting) -> list[Claim]:
    import matplotlib.pyplot as plt

    from derivations.sander2024.nonaugmented import (
        PEOnly,
        oscillation_frequency,
        pe_only_gd_loss_curve,
        pe_only_profile,
        pe_only_quadrature,
        pe_only_spectra,
        pe_only_steps_to,
        train_until,
    )

    T, lr, tol = 30, 0.5, 1e-3
    mus = [50.0, 100.0, 200.0, 300.0]
    freqs, profiles, steps, predicted, margins, spectra = [], [], [], [], [], []
    mc: dict[str, list[float]] = {"mc_min": [], "mc_median": [], "mc_max": [], "mc_sd": []}
    model = PEOnly(T=T)
    rng = ctx.rng(80)
    for mu in mus:
        data = pe_only_quadrature(mu, T)
        P, k, loss = train_until(model, model.init(ctx.rng(0)), data, lr=lr, tol=tol)
        prof = pe_only_profile(P["P"])
        profiles.append(prof)
        freqs.append(float(oscillation_frequency(prof)))
        steps.append(k)
        sp = pe_only_spectra(mu, T)
        spectra.append(sp)
        kp = pe_only_steps_to(sp, T, lr, tol)
        predicted.append(kp)
        around = pe_only_gd_loss_curve(sp, T, lr, np.array([kp - 1, kp]))
        margins.append(float(np.min(np.abs(around / tol - 1.0))))
        # the authors' protocol: 1000 unseeded Monte-Carlo sequences; the spread of the count over draws
        counts = [pe_only_steps_to(pe_only_spectra(mu, T, rng.uniform(0.0, 2.0 * np.pi, 1000)), T, lr, tol)
                  for _ in range(50)]
        mc["mc_min"].append(float(np.min(counts)))
        mc["mc_median"].append(float(np.median(counts)))
        mc["mc_max"].append(float(np.max(counts)))
        mc["mc_sd"].append(float(np.std(counts)))
    fig, ax = plt.subplots(1, 2, figsize=(13, 4))
    for mu, prof, f in zip(mus, profiles, freqs, strict=True):
        ax[0].plot(prof, label=f"mu = {mu:g} (frequency {f:.3f})")
    ax[0].set(xlabel="key position j", ylabel="P[T-2, j]",
              title="PE-only attention: learned profiles (super-diagonal dropped)")
    ax[0].legend(fontsize=8)
    for i, (mu, sp, k) in enumerate(zip(mus, spectra, steps, strict=True)):
        ks = np.arange(0, int(1.15 * max(predicted)))
        ax[1].semilogy(ks, pe_only_gd_loss_curve(sp, T, lr, ks), color=f"C{i}", label=f"mu = {mu:g}: {k} steps")
        ax[1].plot([k], [tol], "o", color=f"C{i}", mfc="none")
    ax[1].axhline(tol, color="k", lw=1, ls=":")
    ax[1].set(xlabel="GD step", ylabel="loss (the authors' mean)", ylim=(tol / 5, 2),
              title="loss from the spectrum (lines) and where training stops (circles)")
    ax[1].legend(fontsize=8)
    ctx.save_figure(
        "pe_profiles", fig, claims=("sander2024.pe-frequency", "sander2024.pe-steps"),
        caption="Left: the last row of the learned positional weights oscillates, faster for smaller mu (wider "
                "spread of angles), as in the authors' Fig. 6. Right: the loss of GD from P = 0 predicted from "
                "the spectrum of the population loss (lines) crosses 1e-3 (dotted) exactly where the trained "
                "model stops (circles); fewer steps are needed for larger mu.")
    details = {"mu": mus, "margin": margins, "lr": lr, "tol": tol, **mc}
    return [claim_pe_frequency(mus, freqs), claim_pe_steps(mus, predicted, steps, details=details)]


derivation = Derivation(
    name="sander2024",
    title="Sander et al. 2024: in-context autoregressive learning (derived reduced losses and flows)",
    model=augmented_shared_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
    findings=FINDINGS,
)
