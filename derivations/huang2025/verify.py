r"""Experiments, figures and the two registered derivations of Huang, Liang & Yang (2025).

``huang2025-even-pairs``: the reduced flow (exact symmetry reduction) and direct GD on the
one-layer transformer, checked against every recoverable claim (phases, rates, implicit bias,
attention drift, frozen-attention control, separation time and its scaling).
``huang2025-parity``: parity by inference-time CoT with the even-pairs model, direct parity
training without CoT, and CoT training in the reconstructed format (spec 1.7).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from derivations.huang2025 import claims as C
from derivations.huang2025.closed_forms import accuracy, c_coefficients, max_margin
from derivations.huang2025.data import cot_dataset, even_pairs_dataset, parity_dataset
from derivations.huang2025.direct import OneLayerTransformer, cot_parity_accuracy
from derivations.huang2025.reduced import W_norm2, pattern_outputs, reduced_model, u_full
from dynamics.analysis import detect_stages, local_slopes, log_growth, loglog_slope
from dynamics.claims import Claim
from dynamics.codegen import CompiledModel
from dynamics.direct import train
from dynamics.integrate import integrate
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory
from dynamics.verify import VerifyContext

__all__ = ["Setting", "schedule", "flow", "direct_run", "reduced_gd", "flow_vs_gd", "verify_even_pairs", "verify_parity", "RECONSTRUCTED"]

RECONSTRUCTED = (
    "embeddings: one-hot token + one-hot position, d = 2 + L_max (spec 1.3 [R]); the joint "
    "(token, position) one-hot is an option of the direct model",
    "labels +1 for 'even'; all strings of lengths 1..L_max enumerated; zero initialisation (spec 1.1-1.6 [R])",
    "the exact symmetry reduction to 35 coordinates and its match-pattern loss (spec 2.2 [R], verified here)",
    "phase-1 expansion constants c_l and the separation-time estimate tau_sep ~ sqrt(lambda) (spec 2.3 [R])",
    "max-margin problem: hard-margin SVM without bias on the attention outputs at the current W (spec 3, claim 7 [R])",
    "truncated-CoT inference algorithm (spec 1.7a [R]); CoT training format and EP regulariser (spec 1.7b [R])",
)


@dataclass(frozen=True)
class Setting:
    """The defaults of spec section 4 (every one configurable)."""

    L_max: int = 6
    eta: float = 0.1
    lam: float = 2.0
    t0: int = 100
    tau_max: float = 1e8
    direct_steps: int = 20000
    cot_L0: int = 4
    cot_reg_weight: float = 0.1

    def __post_init__(self) -> None:
        if not 2 <= self.L_max <= 8:
            raise ValueError(f"L_max must be in 2..8 (the table has 2^L_max - 1 patterns), got {self.L_max}")
        for name in ("eta", "lam", "tau_max"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be positive and finite, got {v}")
        if self.t0 < 1 or self.direct_steps < 1:
            raise ValueError("t0 and direct_steps must be positive")
        if self.tau_max < 1e5:
            raise ValueError(f"tau_max must be at least 1e5 (the late windows start at 1e4), got {self.tau_max:g}")
        if not 2 <= self.cot_L0 or 2 * self.cot_L0 - 2 > self.L_max:
            raise ValueError(f"cot_L0 must satisfy 2 <= cot_L0 and 2 cot_L0 - 2 <= L_max, got {self.cot_L0}")

    @property
    def tau0(self) -> float:
        return self.eta * self.t0


def schedule(s: Setting, freeze_at: float | None = None) -> Schedule:
    """Attention steps times lambda until tau0 = eta t0 (spec 1.6); optionally frozen from ``freeze_at``."""
    if freeze_at is None:
        return Schedule.switch(s.tau0, before={"attn": s.lam})
    return Schedule((s.tau0, freeze_at), ({"attn": s.lam}, {}, {"attn": 0.0}))


def flow(cm: CompiledModel, s: Setting, *, t_max: float | None = None, t_eval: np.ndarray | None = None,
         freeze_at: float | None = None, n_points: int = 400) -> Trajectory:
    """The reduced gradient flow from zero in tau = eta t."""
    y0 = np.zeros(cm.n_state)
    if t_eval is not None:
        return integrate(cm, y0, {"lambda": s.lam}, t_eval=t_eval, schedule=schedule(s, freeze_at))
    return integrate(cm, y0, {"lambda": s.lam}, t_max=t_max or s.tau_max, t_min=1e-3, n_points=n_points,
                     schedule=schedule(s, freeze_at))


def direct_run(s: Setting, steps: int, data: Any = None, record: Any = "log") -> tuple[Trajectory, dict[str, np.ndarray]]:
    """Full-batch GD on the transformer from zero (spec 1.6), recorded on the reduced coordinates."""
    model = OneLayerTransformer(L_max=s.L_max, lam=s.lam)
    data = data if data is not None else even_pairs_dataset(s.L_max)
    return train(model, model.init(np.random.default_rng(0)), data, lr=s.eta, steps=steps,
                 schedule=schedule(s), record=record, n_record=300)


def reduced_gd(cm: CompiledModel, s: Setting, steps: int) -> np.ndarray:
    """The reduced GD map theta <- theta + eta * rhs(theta) from zero, states (steps + 1, 35)."""
    sch = schedule(s)
    y = np.zeros(cm.n_state)
    out = np.empty(cm.n_state)
    ys = [y.copy()]
    for k in range(steps):
        cm.rhs(0.0, y, cm.pack({"lambda": s.lam}, sch.factors[sch.piece_index(s.eta * k)]), cm.data, cm.bounds, out)
        y = y + s.eta * out
        ys.append(y.copy())
    return np.array(ys)


def flow_vs_gd(cm: CompiledModel, s: Setting, etas: tuple[float, ...], tau: float) -> list[float]:
    """Max deviation of the reduced coordinates between GD at each eta (same tau0) and the flow, up to ``tau``."""
    errs = []
    for e in etas:
        se = replace(s, eta=e, t0=int(round(s.tau0 / e)))
        n = int(round(tau / e))
        d, _ = direct_run(se, n, record=max(1, n // 100))
        errs.append(float(np.max(np.abs(d.y - flow(cm, se, t_eval=d.t).y))))
    return errs


def _separation_tau(tr: Trajectory, table: np.ndarray, s: Setting) -> float:
    acc = accuracy(tr.y, table, s.L_max, s.lam)
    k = int(np.argmax(acc >= 1.0))
    return float(tr.t[k]) if acc[k] >= 1.0 else math.nan


# --------------------------------------------------------------------------- even pairs
def verify_even_pairs(ctx: VerifyContext) -> list[Claim]:
    s = ctx.settings if isinstance(ctx.settings, Setting) else Setting()
    late = (s.tau_max / 10, s.tau_max)
    ctx.config.update({"setting": asdict(s), "embedding": "additive", "init": "zero"})
    claims: list[Claim] = []
    with ctx.stage("derive and compile the reduced model"):
        model = reduced_model(s.L_max, lam=s.lam)
        cm = model.compile()
        table = model.loss.rows[0].table
        ctx.config["build"] = cm.build
    with ctx.stage("exact reduction: reduced GD map vs full GD"):
        steps = 1500
        tr_d, _ = direct_run(s, steps, record="all")
        claims.append(C.claim_bridge(float(np.max(np.abs(reduced_gd(cm, s, steps) - tr_d.y))), steps))
    with ctx.stage("gradient flow vs GD at three step sizes"):
        etas = (0.1, 0.05, 0.025)
        claims.append(C.claim_gf_vs_gd(etas, flow_vs_gd(cm, s, etas, 30.0)))
    with ctx.stage("phase 1: early-time expansion"):
        te = np.concatenate([[0.0], np.geomspace(1e-3, 0.05, 30)])
        early = flow(cm, s, t_eval=te)
        i = int(np.argmin(np.abs(early.t - 0.01)))
        tau = float(early.t[i])
        claims.append(C.claim_phase1_linear(tau, float(early["p1"][i]), float(early["nu"][i])))
        p_rest = np.array([early[f"p{l}"][i] for l in range(2, s.L_max + 1)])
        slope = loglog_slope(early.t, -early["p2"], (2e-3, 0.05)).slope
        claims.append(C.claim_phase1_quadratic(tau, p_rest, c_coefficients(s.L_max), slope))
        # direct GD at a small step: p1(t) = eta t/2 and p_l(t) = -c_l eta^2 t(t-1)/2
        sd = replace(s, eta=0.005, t0=2000)
        dd, _ = direct_run(sd, 4, record="all")
        t_steps = 4
        claims.append(C.claim_phase1_linear(sd.eta * t_steps, float(dd["p1"][t_steps]), float(dd["nu"][t_steps]),
                                            where="direct"))
        p_rest_d = np.array([dd[f"p{l}"][t_steps] for l in range(2, s.L_max + 1)])
        # -c eta^2 t(t-1)/2 = -c tau_eff^2/2 with tau_eff^2 = eta^2 t (t - 1)
        claims.append(C.claim_phase1_quadratic(sd.eta * math.sqrt(t_steps * (t_steps - 1)), p_rest_d,
                                               c_coefficients(s.L_max), math.nan, where="direct"))
    with ctx.stage("the flow to tau = 1e8 and direct GD to tau = 2000"):
        tr = flow(cm, s)
        ctx.save_trajectory("flow", tr)
        direct, params = direct_run(s, s.direct_steps)
        ctx.save_trajectory("direct", direct)
        ctx.config["direct_final_accuracy"] = OneLayerTransformer(L_max=s.L_max, lam=s.lam).accuracy(
            params, even_pairs_dataset(s.L_max))
    with ctx.stage("end of phase 1: separation"):
        tau_sep = _separation_tau(tr, table, s)
        j = int(np.searchsorted(tr.t, s.tau0))
        mm = max_margin(tr.y[j], table, s.L_max, s.lam)
        sep_claims = C.claim_separation(mm.separable, tau_sep / s.eta)
        claims.append(sep_claims[0])
        if s == Setting():  # the observed range is for the default setting only
            claims.append(sep_claims[1])
        else:
            ctx.note(f"first 100% accuracy at step {tau_sep / s.eta:.0f} (the spec's range 100-128 is for the defaults)")
        lams = (1.0, 2.0, 4.0)
        taus = [_separation_tau(flow(cm, replace(s, lam=lam_), t_max=1e3), table, replace(s, lam=lam_)) for lam_ in lams]
        claims.append(C.claim_separation_scaling(lams, taus))
    with ctx.stage("phase 2: rate, growth, direction, drift"):
        n_dec = int(round(math.log10(s.tau_max))) - 2
        fits = local_slopes(tr.t, tr.loss, windows=[(s.tau_max / 10.0 ** (n_dec - a), s.tau_max / 10.0 ** (n_dec - a - 1))
                                                    for a in range(n_dec)])
        claims.append(C.claim_late_slope(late, fits[-1].slope, fits[-1].stderr, [f.slope for f in fits]))
        d_end = float(direct.t[-1])
        d_slope = loglog_slope(direct.t, direct.loss, (d_end / 10, d_end)).slope
        f_slope = loglog_slope(tr.t, tr.loss, (d_end / 10, d_end)).slope
        ctx.note(f"Direct GD (eta = {s.eta:g}) to tau = {d_end:g}: late log-log loss slope {d_slope:.3f} on "
                 f"[{d_end / 10:g}, {d_end:g}], the flow's {f_slope:.3f} on the same window.")
        ctx.config["direct_late_slope"] = d_slope
        U = u_full(tr.y, s.L_max)
        unorm = np.linalg.norm(U, axis=1)
        k_end = tr.t.size - 1
        mm_end = max_margin(tr.y[k_end], table, s.L_max, s.lam)
        claims.append(C.claim_u_growth(log_growth(tr.t, unorm, late).slope, mm_end.norm))
        late_idx = np.nonzero(tr.t >= 100.0)[0][::4]
        cos = np.array([float(U[k] @ max_margin(tr.y[k], table, s.L_max, s.lam).u)
                        / (unorm[k] * max_margin(tr.y[k], table, s.L_max, s.lam).norm) for k in late_idx])
        t_cos = tr.t[late_idx]
        claims.append(C.claim_direction(float(1 - cos[-1])))
        rate_fit = loglog_slope(np.log(t_cos), 1 - cos, (np.log(1e4), np.log(t_cos[-1])))
        claims.append(C.claim_direction_rate(rate_fit.slope))
        drift_by_lam = []
        for lam_ in (1.0, 2.0, 4.0):
            tl = tr if lam_ == s.lam else flow(cm, replace(s, lam=lam_))
            D = np.sqrt(W_norm2(tl.y - tl.y[int(np.searchsorted(tl.t, s.tau0))], s.L_max))
            a, b = int(np.searchsorted(tl.t, late[0])), tl.t.size - 1
            drift_by_lam.append((lam_, float(D[b]), float((D[b] - D[a]) / np.log(tl.t[b] / tl.t[a])), tl.t, D))
        rate = next(r for lam_, _, r, _, _ in drift_by_lam if lam_ == s.lam)
        claims.append(C.claim_drift(rate, [d[0] for d in drift_by_lam], [d[1] for d in drift_by_lam]))
    with ctx.stage("frozen-attention control"):
        tf = flow(cm, s, freeze_at=3 * s.tau0)
        ctx.save_trajectory("flow_frozen", tf)
        tl_ = tf.t * tf.loss
        a, b = int(np.searchsorted(tf.t, late[0])), tf.t.size - 1
        claims.append(C.claim_frozen(float(abs(tl_[b] / tl_[a] - 1)), loglog_slope(tf.t, tf.loss, late).slope,
                                     tol=1.0 / math.log(s.tau_max)))
    with ctx.stage("sensitivity: the joint (token, position) embedding"):
        joint = OneLayerTransformer(L_max=s.L_max, lam=s.lam, embedding="joint")
        jdata = even_pairs_dataset(s.L_max, embedding="joint")
        jtr, jparams = train(joint, joint.init(np.random.default_rng(0)), jdata, lr=s.eta, steps=5000,
                             schedule=schedule(s), n_record=200)
        ctx.save_trajectory("direct_joint_embedding", jtr)
        jslope = loglog_slope(jtr.t, jtr.loss, (50.0, 500.0)).slope
        claims.append(C.claim_joint_embedding(joint.accuracy(jparams, jdata), jslope))
        ctx.note(f"Joint embedding: the loss falls faster than 1/t early in phase 2 (log-log slope {jslope:.2f} "
                 "on tau in [50, 500]), the attention still moving; there is no reduced model for it here.")
    with ctx.stage("phase diagram over (lambda, eta)"):
        lam_grid = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
        eta_grid = np.array([0.025, 0.05, 0.1, 0.2, 0.4])
        tsep = np.full((lam_grid.size, eta_grid.size), np.nan)
        late_slope = np.full_like(tsep, np.nan)
        for i_l, lam_ in enumerate(lam_grid):
            for i_e, e in enumerate(eta_grid):
                se = replace(s, lam=float(lam_), eta=float(e))
                tp = flow(cm, se, t_max=1e5, n_points=200)
                tsep[i_l, i_e] = _separation_tau(tp, table, se) / e
                late_slope[i_l, i_e] = loglog_slope(tp.t, tp.loss, (1e4, 1e5)).slope
        np.savez(ctx.out_dir / "phase_diagram.npz", lam=lam_grid, eta=eta_grid, t_sep_steps=tsep, late_slope=late_slope)
        ctx.config["phase_diagram"] = {"lambda": lam_grid.tolist(), "eta": eta_grid.tolist(),
                                       "t_sep_steps": tsep.tolist(), "late_slope_1e4_1e5": late_slope.tolist()}
    with ctx.stage("figures"):
        _figures(ctx, s, tr, direct, tf, table, fits, t_cos, cos, drift_by_lam, lam_grid, eta_grid, tsep, late_slope)
    ctx.note(f"1 - cos(u_t, u_hat) falls faster than 1/ln t here (log-log slope {rate_fit.slope:.2f} "
             "against ln t): consistent with the O(1/ln t) bound, not with it being the rate.")
    ctx.note("The attention drift ||W_t - W_t0|| keeps growing over tau = 1e2..1e8 (rate per ln t "
             "falling from ~1.2 to ~0.45 at lambda = 2), so the O(1) bound of Theorem 4.4 is not "
             "seen over this horizon; the spec's own runs saw the same.")
    return claims


def _figures(ctx: VerifyContext, s: Setting, tr: Trajectory, direct: Trajectory, tf: Trajectory,
             table: np.ndarray, fits: list[Any], t_cos: np.ndarray, cos: np.ndarray, drift_by_lam: list[Any],
             lam_grid: np.ndarray, eta_grid: np.ndarray, tsep: np.ndarray, late_slope: np.ndarray) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.loglog(tr.t[1:], tr.loss[1:], label="reduced flow")
    ax.loglog(direct.t[1:], direct.loss[1:], "--", label=f"direct GD (eta={s.eta:g})")
    ax.loglog(tf.t[1:], tf.loss[1:], ":", label="flow, attention frozen at 3 tau0")
    f = fits[-1]
    tt = np.geomspace(1e5, 1e8, 10)
    ax.loglog(tt, np.exp(f.intercept) * tt**f.slope, "k-", lw=3, alpha=0.4, label=f"fit on [1e7, 1e8]: slope {f.slope:.4f}")
    ax.axvline(s.tau0, color="gray", ls=":", lw=1)
    ax.set(xlabel="flow time tau = eta t", ylabel="loss", title="even pairs: loss (phase 1 boost ends at the dotted line)")
    ax.legend(fontsize=8)
    ctx.save_figure("loss_loglog", fig)

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    for name in ["nu"] + [f"p{l}" for l in range(1, s.L_max + 1)]:
        ax[0].semilogx(tr.t[1:], tr[name][1:], label=name)
    for name in ["p1", "p2"]:
        ax[0].semilogx(direct.t[1:], direct[name][1:], "k:", lw=1)
    ax[0].set(xlabel="tau", ylabel="score", title="token score nu and position scores p_l (direct GD dotted)")
    ax[0].legend(fontsize=7, ncol=2)
    # attention on the first position, positives vs negatives, at L = L_max
    rowsL = table[:, 3 * s.L_max - 1] == 1
    pos = rowsL & (table[:, -2] > 0)
    neg = rowsL & (table[:, -2] < 0)
    a_pos, a_neg = [], []
    for yv in tr.y:
        _, phi, _ = pattern_outputs(yv, table, s.L_max, s.lam)
        a_pos.append(np.average(phi[pos, 0], weights=table[pos, -1]))
        a_neg.append(np.average(phi[neg, 0], weights=table[neg, -1]))
    ax[1].semilogx(tr.t[1:], a_pos[1:], label="positive samples")
    ax[1].semilogx(tr.t[1:], a_neg[1:], label="negative samples")
    ax[1].set(xlabel="tau", ylabel="attention on position 1", title=f"attention on the first position (L = {s.L_max})")
    ax[1].legend(fontsize=8)
    ctx.save_figure("scores_attention", fig)

    fig, ax = plt.subplots(1, 3, figsize=(16, 4.2))
    U = np.linalg.norm(u_full(tr.y, s.L_max), axis=1)
    ax[0].plot(np.log(tr.t[1:]), U[1:], label="flow")
    ax[0].plot(np.log(direct.t[1:]), np.linalg.norm(u_full(direct.y, s.L_max), axis=1)[1:], "--", label="direct GD")
    ax[0].set(xlabel="ln tau", ylabel="||u||", title="||u|| against ln t")
    ax[0].legend(fontsize=8)
    ax[1].semilogx(t_cos, 1 - cos)
    ax[1].set(yscale="log", xlabel="tau", ylabel="1 - cos(u, u_hat)", title="direction to the max-margin u_hat")
    for lam_, _, _, tl, D in drift_by_lam:
        after = tl > s.tau0
        ax[2].semilogx(tl[after], D[after], label=f"lambda = {lam_:g}")
    ax[2].set(xlabel="tau", ylabel="||W_t - W_t0||", title="attention drift in phase 2")
    ax[2].legend(fontsize=8)
    ctx.save_figure("implicit_bias", fig)

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    for a_, Z, title, cmap in ((ax[0], np.log10(tsep), "log10 separation time (steps)", "viridis"),
                               (ax[1], late_slope, "late loss slope on tau in [1e4, 1e5]", "coolwarm")):
        im = a_.imshow(Z, origin="lower", aspect="auto", cmap=cmap)
        a_.set_xticks(range(eta_grid.size), [f"{e:g}" for e in eta_grid])
        a_.set_yticks(range(lam_grid.size), [f"{v:g}" for v in lam_grid])
        a_.set(xlabel="eta", ylabel="lambda", title=title)
        for (i, j), v in np.ndenumerate(Z):
            a_.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w")
        fig.colorbar(im, ax=a_)
    ctx.save_figure("phase_diagram", fig)


# --------------------------------------------------------------------------- parity
def verify_parity(ctx: VerifyContext) -> list[Claim]:
    import matplotlib.pyplot as plt

    s = ctx.settings if isinstance(ctx.settings, Setting) else Setting()
    steps = 3000 if ctx.quick else 5000
    ctx.config.update({"setting": asdict(s), "steps": steps, "cot": {"L0": 4, "reg_weights": [0.1, 1.0]}})
    claims: list[Claim] = []
    model = OneLayerTransformer(L_max=s.L_max, lam=s.lam)
    with ctx.stage("even pairs training, then parity by truncated CoT"):
        ep, params = direct_run(s, steps)
        ctx.save_trajectory("even_pairs_direct", ep)
        acc = cot_parity_accuracy(model, params)
        claims.append(C.claim_cot_inference(acc))
    with ctx.stage("direct parity training without CoT"):
        pdata = parity_dataset(s.L_max)
        par, pparams = direct_run(s, steps, data=pdata)
        ctx.save_trajectory("parity_direct", par)
        claims.append(C.claim_parity_direct(model.accuracy_by_group(pparams, pdata)))
    runs = {}
    with ctx.stage("parity with CoT in training (reconstructed format)"):
        cot_steps = 20000 if not ctx.quick else 10000
        for rw in (s.cot_reg_weight, 1.0):
            cdata = cot_dataset(s.cot_L0, reg_weight=rw, reg_lengths=tuple(range(1, s.cot_L0 + 1)), L_max=s.L_max)
            tr, cparams = direct_run(s, cot_steps, data=cdata)
            by = model.accuracy_by_group(cparams, cdata)
            runs[rw] = (tr, {k: v for k, v in by.items() if k > 0})
            ctx.save_trajectory(f"cot_training_reg{rw:g}", tr)
        claims.append(C.claim_cot_training(runs[s.cot_reg_weight][1], s.cot_reg_weight))
        stages = detect_stages(runs[s.cot_reg_weight][0].t[1:], runs[s.cot_reg_weight][0].loss[1:])
        claims.append(C.claim_cot_two_phases([st.kind for st in stages]))
        ctx.config["cot_training_stages_reg0.1"] = [asdict(st) for st in stages]
        ctx.config["cot_step_accuracy"] = {str(rw): {str(k): v for k, v in r[1].items()} for rw, r in runs.items()}
        ctx.note(f"CoT training (reconstruction): with EP regulariser weight 0.1 the CoT steps reach "
                 f"accuracies {runs[s.cot_reg_weight][1]}; with weight 1 they reach {runs[1.0][1]} "
                 f"(the spec saw steps 2-3 stall at chance with weight 1). Loss stages found with weight 0.1: "
                 + "; ".join(f"{st.kind} {st.t_start:.3g}-{st.t_end:.3g}" for st in stages))
    with ctx.stage("figures"):
        fig, ax = plt.subplots(1, 3, figsize=(16, 4.2))
        Ls = sorted(acc)
        ax[0].bar([L - 0.2 for L in Ls], [acc[L] for L in Ls], width=0.4, label="CoT inference (EP model)")
        pacc = model.accuracy_by_group(pparams, pdata)
        ax[0].bar([L + 0.2 for L in Ls], [pacc[L] for L in Ls], width=0.4, label="direct parity training")
        ax[0].axhline(0.5, color="k", ls=":")
        ax[0].set(xlabel="length", ylabel="parity accuracy", title="parity", ylim=(0, 1.05))
        ax[0].legend(fontsize=8)
        ax[1].loglog(ep.t[1:], ep.loss[1:], label="even pairs")
        ax[1].loglog(par.t[1:], par.loss[1:], label="parity (no CoT)")
        ax[1].set(xlabel="tau", ylabel="loss", title="direct training")
        ax[1].legend(fontsize=8)
        for rw, (tr, _) in runs.items():
            ax[2].loglog(tr.t[1:], tr.loss[1:], label=f"CoT training, EP weight {rw:g}")
        ax[2].set(xlabel="tau", ylabel="loss", title="parity with CoT in training [R]")
        ax[2].legend(fontsize=8)
        ctx.save_figure("parity", fig)
    return claims
