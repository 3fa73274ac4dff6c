r"""Claims and the registered derivation ``sander2024`` (Sander et al. 2024).

What is checked in this version: the sympy monomial derivations of (A1) and (N1) against the
closed forms; the augmented reduced flows (optimal one-step GD step sizes, conservation of
$\alpha^2 - \beta^2$); the (N0) reduced flow for small sizes (minimum loss across $H$, head
orthogonality, one-hot positional weights with $c\,P_{t,t+1} = 1$, the conserved quantity).
The paper's body was not available: every claim here is labelled ``derived`` (our derivation,
checked numerically in the spec) and the setup comes from the authors' public code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sympy as sp

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
           "claim_min_loss", "claim_scale", "claim_heads", "claim_pe", "claim_conserved", "verify", "derivation"]

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


def claim_heads(ratios_le_d: list[float], ratios_gt_d: list[float]) -> list[Claim]:
    return [
        check("sander2024.heads-orthogonal", "For H <= d the heads become orthogonal: A B^T = c I_H "
              "(off-diagonal norm ratio of A B^T).", [0.0] * len(ratios_le_d), ratios_le_d, tol=1e-4,
              source="derived",
              why="at the minimiser B^T A = c Pi with rank H forces A B^T = c I_H exactly; the flow "
                  "is converged to ~1e-8 in C."),
        check("sander2024.heads-not-orthogonal", "For H > d the heads are not orthogonal (ratio well "
              "above 0).", [0.5] * len(ratios_gt_d), ratios_gt_d, tol=0.45, source="derived",
              why="only B^T A = c I_d holds; A B^T has rank d < H and cannot be diagonal with equal "
                  "entries, so the ratio is O(1) (any value in (0.05, 0.95) counts)."),
    ]


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
        f"positional profile grows as mu shrinks (mu sorted by decreasing frequency, mu = {mus}).",
        sorted(mus), order, source="paper",
        why="exact ordering of measured FFT peak frequencies (spec 3.4: the first gradient step is "
            "sinc(4 pi m / mu)).", details={"mu": mus, "frequency": freqs})


def claim_block_gd(mode: str, eta: float, pred_dev: float, loss: float, d: int, n: int, source: str = "paper") -> Claim:
    from derivations.sander2024.augmented import eta_star_shared, isotropic_loss

    return check(
        f"sander2024.block-equals-gd.{mode}", f"The trained block-structured linear attention (A0) is one "
        f"step of GD on the inner least squares (s_0 {mode.replace('_', ' ')}): alpha*beta = 3d/(2n+3d-4), "
        "the loss equals one-step GD's, and predictions equal one-step GD's (max |difference|).",
        [eta_star_shared(d, n), isotropic_loss(d, n, eta_star_shared(d, n)), 0.0], [eta, loss, pred_dev],
        tol=1e-3, source=source,  # type: ignore[arg-type]
        why="GD on exact-quadrature data for 1000-2000 steps converges to ~1e-6 in eta; a mismatch of "
            "0.03 or more (as with fixed s_0) is structural, not numerical.")


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
        ctx.save_figure("min_loss_vs_heads", fig)
        claims += claim_heads(ratios_le, ratios_gt)
        claims.append(claim_pe(cP, others))
        claims.append(claim_conserved(qdrift))
    with ctx.stage("non-augmented (N0): numpy model against the reduced flow"):
        claims += _n0_direct(ctx, s)
    with ctx.stage("non-augmented (N0): real rotation blocks"):
        claims.append(_rotation(ctx, s))
    with ctx.stage("PE-only attention against mu"):
        claims.append(_pe_only(ctx, s))
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
    ctx.save_figure("haar_layers_heads", fig)
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
    from derivations.sander2024.augmented import (
        BlockLinearAttention,
        LinearAttention,
        best_shared_eta,
        one_step_gd_loss,
        one_step_gd_predict,
    )
    from derivations.sander2024.data import quadrature_data
    from dynamics.direct import train

    d, T = 2, 6
    claims = []
    for mode, n_angles in (("random_phase", T), ("fixed", 3 * T - 3)):
        data = quadrature_data("unitary", d, T, n_angles, mode)
        model = BlockLinearAttention(d, init_mode="identity", init_scale=0.1)
        tr, p = train(model, model.init(ctx.rng(0)), data, lr=0.1, steps=1000 if mode == "random_phase" else 2000)
        eta = float(model.observables(p)["eta"])
        dev = float(np.max(np.abs(model.predict(p, data.S) - one_step_gd_predict(data.S, eta))))
        claims.append(claim_block_gd(mode, eta, dev, float(tr.loss[-1]), d, T,
                                     source="paper" if mode == "random_phase" else "reconstruction"))
        ctx.save_trajectory(f"augmented_block_{mode}", tr)
    fixed = quadrature_data("rotation", d, T, 6 * T)
    gd_fixed = one_step_gd_loss(fixed.S, fixed.weights, best_shared_eta(fixed.S, fixed.weights))
    la = LinearAttention(d, init_scale=0.1)
    tr_f, _ = train(la, None, fixed, lr=0.01, steps=3000, optimizer="adam", rng=ctx.rng(7))
    rnd = quadrature_data("unitary", d, T, T, "random_phase")
    gd_rnd = one_step_gd_loss(rnd.S, rnd.weights, best_shared_eta(rnd.S, rnd.weights))
    tr_r, _ = train(la, None, rnd, lr=0.01, steps=3000, optimizer="adam", rng=ctx.rng(8))
    claims.append(claim_unconstrained(float(gd_fixed), float(tr_f.loss.min()), float(gd_rnd), float(tr_r.loss.min())))
    ctx.note("Finding: with the authors' fixed s_0 = 1/sqrt(d), GD on the block model leaves isotropy "
             "(A, B = a I + c (J - I), c < 0) and beats every single GD step, so 'trained model = one GD "
             "step' holds with random-phase s_0 (claim block-equals-gd.random_phase) but not with fixed s_0 "
             "(claim block-equals-gd.fixed, reported as not supported).")
    return claims


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
    ctx.save_figure("n0_structure", fig)
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


def _pe_only(ctx: VerifyContext, s: Setting) -> Claim:
    import matplotlib.pyplot as plt

    from derivations.sander2024.nonaugmented import (
        PEOnly,
        oscillation_frequency,
        pe_only_profile,
        pe_only_quadrature,
        train_until,
    )

    T = 30
    mus = [50.0, 100.0, 200.0, 300.0]
    freqs, profiles = [], []
    model = PEOnly(T=T)
    for mu in mus:
        data = pe_only_quadrature(mu, T)
        P, steps, loss = train_until(model, model.init(ctx.rng(0)), data, lr=0.5, tol=1e-3)
        prof = pe_only_profile(P["P"])
        profiles.append(prof)
        freqs.append(float(oscillation_frequency(prof)))
    fig, ax = plt.subplots(figsize=(7, 4))
    for mu, prof, f in zip(mus, profiles, freqs, strict=True):
        ax.plot(prof, label=f"mu = {mu:g} (frequency {f:.3f})")
    ax.set(xlabel="key position j", ylabel="P[T-2, j]", title="PE-only attention: learned profiles (super-diagonal dropped)")
    ax.legend(fontsize=8)
    ctx.save_figure("pe_profiles", fig)
    return claim_pe_frequency(mus, freqs)


derivation = Derivation(
    name="sander2024",
    title="Sander et al. 2024: in-context autoregressive learning (derived reduced losses and flows)",
    model=augmented_shared_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
)
