r"""Calibration model: mode dynamics of a two-layer linear network (Saxe et al. 2014).

Saxe, McClelland & Ganguli, *Exact solutions to the nonlinear dynamics of learning in deep
linear neural networks*, ICLR 2014. A network $\hat y = W_2 W_1 x$ trained by gradient
flow on $L = \frac{1}{2P}\lVert Y - W_2 W_1 X\rVert_F^2$ with whitened inputs
($XX^\top/P = I$) and input-output correlation $\Sigma_{yx} = YX^\top/P = U S V^\top$
decouples, from a decoupled start, into one pair $(a_\alpha, b_\alpha)$ per singular mode:

.. math:: \dot a_\alpha = b_\alpha (s_\alpha - a_\alpha b_\alpha), \qquad
          \dot b_\alpha = a_\alpha (s_\alpha - a_\alpha b_\alpha),

the gradient flow of $L = \tfrac12\sum_\alpha (s_\alpha - a_\alpha b_\alpha)^2$ (Saxe et al.
Eq. 6-7, with $\tau = 1$ and flow time $t = \eta \cdot \mathrm{step}$). From a balanced start
$a = b = \sqrt{u_0}$ the mode strength $u = ab$ is the logistic curve (Eq. 9)

.. math:: u(t) = \frac{s}{1 + (s/u_0 - 1)\,e^{-2st}}, \qquad
          t_{1/2} = \frac{\ln(s/u_0 - 1)}{2s},

and $a^2 - b^2$ is conserved for any start. This closed form calibrates the whole pipeline:
sympy -> numba -> scipy against the formula, and numpy gradient descent against the flow.
Nothing here is a reconstruction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from dynamics.analysis import first_crossing, loglog_slope
from dynamics.claims import Claim, check
from dynamics.direct import Linear, mse, train
from dynamics.integrate import Event, integrate
from dynamics.model import ReducedModel
from dynamics.registry import Derivation
from dynamics.trajectory import Trajectory
from dynamics.verify import VerifyContext

__all__ = ["symbols", "reduced_model", "closed_form_u", "half_time", "DeepLinear", "make_data",
           "direct_setup", "mode_strengths", "balanced_start", "gd_vs_flow", "derivation", "DEFAULTS"]

DEFAULTS: dict[str, Any] = {"s": (3.0, 2.0, 1.0), "u0": 1e-3}


# ----------------------------------------------------------------------------- symbols
def symbols(K: int) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    r"""Mode coordinates $a_\alpha, b_\alpha$ (Eq. 6) and singular values $s_\alpha > 0$."""
    a = sp.symbols(f"a1:{K + 1}", real=True)
    b = sp.symbols(f"b1:{K + 1}", real=True)
    s = sp.symbols(f"s1:{K + 1}", positive=True)
    return a, b, s


# ------------------------------------------------------------------------ reduced model
def reduced_model(K: int = 3, s: tuple[float, ...] | None = None) -> ReducedModel:
    r"""The mode loss $L = \tfrac12\sum_\alpha (s_\alpha - a_\alpha b_\alpha)^2$ (Eq. 6-7).

    State ``a1, b1, ..., aK, bK``; parameters ``s1..sK`` (defaults from ``s``); observables
    ``u1..uK`` (mode strengths $a_\alpha b_\alpha$) and ``c1..cK`` ($a_\alpha^2 - b_\alpha^2$,
    conserved).
    """
    if K < 1:
        raise ValueError(f"need at least one mode, got K={K}")
    s = tuple(s) if s is not None else tuple(DEFAULTS["s"][:K]) + (1.0,) * max(0, K - 3)
    if len(s) != K:
        raise ValueError(f"need {K} singular values, got {len(s)}")
    a, b, ss = symbols(K)
    loss = sum((ss[i] - a[i] * b[i]) ** 2 for i in range(K)) / 2
    obs: dict[str, sp.Expr] = {f"u{i + 1}": a[i] * b[i] for i in range(K)}
    obs.update({f"c{i + 1}": a[i] ** 2 - b[i] ** 2 for i in range(K)})
    state = [x for pair in zip(a, b, strict=True) for x in pair]
    return ReducedModel.from_loss(
        "saxe2014", state, ss, loss, observables=obs,
        defaults={str(ss[i]): float(s[i]) for i in range(K)},
        title="Two-layer linear network, singular-mode dynamics (Saxe et al. 2014)",
    )


# --------------------------------------------------------------------------- closed forms
def closed_form_u(t: np.ndarray, s: float, u0: float) -> np.ndarray:
    r"""$u(t) = s / (1 + (s/u_0 - 1) e^{-2st})$ for a balanced start (Saxe et al. Eq. 9)."""
    t = np.asarray(t, dtype=float)
    return s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * t))


def half_time(s: float, u0: float) -> float:
    r"""$t_{1/2} = \ln(s/u_0 - 1) / (2s)$: the time at which $u = s/2$."""
    return math.log(s / u0 - 1.0) / (2.0 * s)


# ------------------------------------------------------------------ direct model and data
def make_data(s: tuple[float, ...], rng: np.random.Generator, n_in: int = 6, n_out: int = 5,
              P: int = 16) -> dict[str, np.ndarray]:
    r"""Whitened inputs and targets with $\Sigma_{yx} = U\,\mathrm{diag}(s)\,V^\top$.

    ``X`` (P, n_in) has $X^\top X / P = I$ exactly; ``Y = X \Sigma_{yx}^\top``.
    Returns X, Y, U (n_out, K), V (n_in, K).
    """
    K = len(s)
    if not (K <= min(n_in, n_out) and n_in <= P):
        raise ValueError(f"need K <= min(n_in, n_out) and n_in <= P; got K={K}, n_in={n_in}, n_out={n_out}, P={P}")
    Q, _ = np.linalg.qr(rng.standard_normal((P, n_in)))  # (P, n_in), orthonormal columns
    X = math.sqrt(P) * Q  # (P, n_in), X^T X / P = I
    U, _ = np.linalg.qr(rng.standard_normal((n_out, K)))  # (n_out, K)
    V, _ = np.linalg.qr(rng.standard_normal((n_in, K)))  # (n_in, K)
    Syx = U @ np.diag(s) @ V.T  # (n_out, n_in)
    Y = X @ Syx.T  # (P, n_out)
    return {"X": X, "Y": Y, "U": U, "V": V}


@dataclass
class DeepLinear:
    r"""$\hat y = W_2 W_1 x$ from two bias-free :class:`~dynamics.direct.Linear` blocks,
    trained on the half mean squared error; ``reduce`` reads
    $a_\alpha = r_\alpha^\top W_1 v_\alpha$, $b_\alpha = u_\alpha^\top W_2 r_\alpha$."""

    U: np.ndarray  # (n_out, K)
    V: np.ndarray  # (n_in, K)
    R: np.ndarray  # (h, K) orthonormal hidden directions
    groups: dict[str, str] = field(default_factory=dict)
    _lin: Linear = field(default_factory=lambda: Linear(bias=False))

    def init_balanced(self, u0: float) -> dict[str, np.ndarray]:
        """Decoupled, balanced start $a_\\alpha = b_\\alpha = \\sqrt{u_0}$."""
        r = math.sqrt(u0)
        return {"W1": r * self.R @ self.V.T, "W2": r * self.U @ self.R.T}  # (h, n_in), (n_out, h)

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.init_balanced(1e-3)

    def loss_and_grad(self, params: dict[str, np.ndarray], batch: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        h, c1 = self._lin.forward(batch["X"], params["W1"])  # (P, h)
        yhat, c2 = self._lin.forward(h, params["W2"])  # (P, n_out)
        loss, g = mse(yhat, batch["Y"])  # g (P, n_out)
        g2 = self._lin.backward(g, c2)  # W (n_out, h), x (P, h)
        g1 = self._lin.backward(g2["x"], c1)  # W (h, n_in)
        return loss, {"W1": g1["W"], "W2": g2["W"]}

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]:
        a = np.einsum("hk,hi,ik->k", self.R, params["W1"], self.V)  # (K,)
        b = np.einsum("ok,oh,hk->k", self.U, params["W2"], self.R)  # (K,)
        out: dict[str, float] = {}
        for i in range(a.size):
            out[f"a{i + 1}"] = float(a[i])
            out[f"b{i + 1}"] = float(b[i])
        return out


def direct_setup(s: tuple[float, ...], rng: np.random.Generator, hidden: int = 4) -> tuple[DeepLinear, dict[str, np.ndarray]]:
    """A :class:`DeepLinear` and its data for singular values ``s``."""
    data = make_data(s, rng)
    R, _ = np.linalg.qr(rng.standard_normal((hidden, len(s))))  # (h, K)
    return DeepLinear(data["U"], data["V"], R), {"X": data["X"], "Y": data["Y"]}


# ------------------------------------------------------------------------------- claims
def mode_strengths(tr: Trajectory, K: int) -> np.ndarray:
    r"""$u_\alpha = a_\alpha b_\alpha$ along a trajectory, shape (T, K)."""
    return np.column_stack([tr[f"a{i + 1}"] * tr[f"b{i + 1}"] for i in range(K)])  # (T, K)


def claim_closed_form(tr: Trajectory, s: tuple[float, ...], u0: float) -> Claim:
    """Integrated mode strengths against the closed form with singular values ``s``."""
    exact = np.column_stack([closed_form_u(tr.t, si, u0) for si in s])  # (T, K)
    rel = np.abs(mode_strengths(tr, len(s)) - exact) / exact
    return check(
        "saxe2014.closed-form", "The integrated mode strengths u_a(t) = a_a b_a follow the "
        "closed form s/(1 + (s/u0 - 1) exp(-2 s t)) (max relative error over t and modes).",
        0.0, float(rel.max()), tol=1e-8, source="calibration",
        why="LSODA at rtol 1e-11 with the exact Jacobian: the global error of the sigmoidal "
            "transition amplifies the local tolerance by at most ~1e3 (growth factor "
            "exp(2 s t) ~ s/u0 during the rise), so 1e-8 relative is the expected bound.",
        details={"rtol": tr.stats.get("rtol"), "nsteps": tr.stats.get("nsteps")})


def claim_conservation(tr: Trajectory, invariants: list[np.ndarray]) -> Claim:
    r"""Each series in ``invariants`` (e.g. $a_\alpha^2 - b_\alpha^2$) stays at its start value."""
    drift = max(float(np.max(np.abs(c - c[0]))) for c in invariants)
    return check(
        "saxe2014.conservation", "a_a^2 - b_a^2 is conserved along the flow from an unbalanced "
        "start (max drift).", 0.0, drift, tol=1e-9, source="calibration",
        why="exactly conserved by the flow; the integrator's global error at rtol 1e-11 on O(1) "
            "coordinates bounds the numerical drift well below 1e-9.")


def claim_half_time_flow(predicted: np.ndarray, measured: np.ndarray) -> Claim:
    """Half-times located as events on the integrated flow against the closed form."""
    return check(
        "saxe2014.half-time.flow", "Each mode's half-time (u = s/2) on the integrated flow equals "
        "ln(s/u0 - 1)/(2s).", predicted, measured, tol=1e-7, relative=True, source="calibration",
        why="event location by root-finding on the LSODA dense output at rtol 1e-11; its "
            "interpolation error is far below 1e-7 relative for t_1/2 of order 1.")


def claim_direct_follows_flow(lrs: tuple[float, ...], errors: np.ndarray, predicted_ratio: float = 2.0) -> Claim:
    """Halving the learning rate divides the GD-vs-flow deviation by ``predicted_ratio``."""
    errors = np.asarray(errors, dtype=float)
    ratios = errors[:-1] / errors[1:]
    fit = loglog_slope(np.array(lrs), errors)
    return check(
        "saxe2014.direct-follows-flow", "Full-batch GD on the two-layer network follows the reduced "
        "flow, its error shrinking linearly in the learning rate: halving lr halves the max "
        "deviation of the mode strengths.", predicted_ratio, ratios.tolist(), tol=0.2,
        source="calibration",
        why="GD is the explicit Euler scheme of the flow: global error C*lr + O(lr^2). For lr <= 0.04 "
            "and s <= 3 the second-order term moves each halving ratio by a few percent, well inside 10%.",
        details={"learning_rates": list(lrs), "max_error": errors.tolist(), "loglog_slope": fit.slope,
                 "slope_stderr": fit.stderr})


def claim_half_time_direct(traj: Trajectory, s: tuple[float, ...], predicted: np.ndarray, lr: float) -> Claim:
    """Half-times of directly trained GD against the closed form, within O(lr)."""
    u = mode_strengths(traj, len(s))
    measured = np.array([first_crossing(traj.t, u[:, i], s[i] / 2, "up") for i in range(len(s))])
    return check(
        "saxe2014.half-time.direct", f"Each mode's half-time in GD at lr = {lr:g} equals the "
        "closed form ln(s/u0 - 1)/(2s), within the discretisation error.", predicted, measured,
        tol=lr * max(s), relative=True, source="calibration",
        why=f"GD multiplies a small mode by (1 + lr s) per step instead of exp(lr s), which stretches "
            f"the half-time by a relative lr*s/2 to leading order; the tolerance lr*max(s) = "
            f"{lr * max(s):g} is twice that bound (plus the record spacing of a few steps).",
        details={"lr": lr})


def balanced_start(K: int, u0: float) -> dict[str, float]:
    """$a_\\alpha = b_\\alpha = \\sqrt{u_0}$ for every mode."""
    return {f"{c}{i + 1}": math.sqrt(u0) for i in range(K) for c in "ab"}


def gd_vs_flow(cm: Any, dm: DeepLinear, data: dict[str, np.ndarray], u0: float, lr: float,
               t_max: float) -> tuple[Trajectory, Trajectory, float]:
    """Train GD at ``lr`` and integrate the flow on the same times; return both and the max
    deviation of the mode strengths."""
    K = dm.U.shape[1]
    steps = int(round(t_max / lr))
    traj, _ = train(dm, dm.init_balanced(u0), data, lr=lr, steps=steps, record=max(1, steps // 200))
    flow = integrate(cm, balanced_start(K, u0), t_eval=traj.t, rtol=1e-11, atol=1e-14)
    err = float(np.max(np.abs(mode_strengths(traj, K) - mode_strengths(flow, K))))
    return traj, flow, err


def verify(ctx: VerifyContext) -> list[Claim]:
    """Closed form vs integration, GD vs flow (error linear in the learning rate), half-times."""
    import matplotlib.pyplot as plt

    s = tuple(DEFAULTS["s"])
    u0 = float(DEFAULTS["u0"])
    K = len(s)
    lrs = (0.04, 0.02, 0.01) if ctx.quick else (0.04, 0.02, 0.01, 0.005)
    t_half = np.array([half_time(si, u0) for si in s])
    t_max = 3.0 * float(t_half.max())
    ctx.config.update({"s": list(s), "u0": u0, "K": K, "learning_rates": list(lrs), "t_max": t_max,
                       "direct": {"n_in": 6, "n_out": 5, "hidden": 4, "P": 16, "optimizer": "gd"}})
    claims: list[Claim] = ctx.claims  # kept, with the error, if a later stage raises
    with ctx.stage("derive and compile"):
        model = reduced_model(K, s)
        cm = model.compile()
        ctx.config["build"] = cm.build
    y0 = balanced_start(K, u0)
    with ctx.stage("integrate against the closed form"):
        tr = integrate(cm, y0, t_eval=np.linspace(0.0, t_max, 401), rtol=1e-11, atol=1e-14)
        ctx.save_trajectory("flow", tr)
        claims.append(claim_closed_form(tr, s, u0))
        yu = {f"a{i + 1}": 0.05 * (i + 1) for i in range(K)} | {f"b{i + 1}": -0.02 * (i + 1) for i in range(K)}
        tu = integrate(cm, yu, t_max=t_max, rtol=1e-11, atol=1e-14)
        claims.append(claim_conservation(tu, [tu[f"c{i + 1}"] for i in range(K)]))
    with ctx.stage("half-times by event location"):
        def half(i: int) -> Event:
            return Event(f"u{i + 1}=s/2", lambda t, y: float(y[2 * i] * y[2 * i + 1] - s[i] / 2), direction=1.0)

        events = [half(i) for i in range(K)]
        te = integrate(cm, y0, t_max=t_max, rtol=1e-11, atol=1e-14, events=events, method="LSODA")
        claims.append(claim_half_time_flow(t_half, np.array([te.stats["events"][e.name][0] for e in events])))
    with ctx.stage("direct gradient descent at several learning rates"):
        dm, data = direct_setup(s, ctx.rng(0))
        runs = {lr: gd_vs_flow(cm, dm, data, u0, lr, t_max) for lr in lrs}
        for lr, (traj, _, _) in runs.items():
            ctx.save_trajectory(f"direct_lr{lr:g}", traj)
        errs = np.array([runs[lr][2] for lr in lrs])
        claims.append(claim_direct_follows_flow(lrs, errs))
        claims.append(claim_half_time_direct(runs[lrs[-1]][0], s, t_half, lrs[-1]))
    with ctx.stage("figures"):
        fit = loglog_slope(np.array(lrs), errs)
        fig, ax = plt.subplots(1, 3, figsize=(15, 4))
        tfine = np.linspace(0, t_max, 400)
        traj = runs[lrs[0]][0]
        u_flow, u_gd = mode_strengths(tr, K), mode_strengths(traj, K)
        for i in range(K):
            col = f"C{i}"
            ax[0].plot(tr.t, u_flow[:, i], color=col, lw=2, label=f"flow, s={s[i]:g}")
            ax[0].plot(tfine, closed_form_u(tfine, s[i], u0), "k--", lw=1)
            ax[0].plot(traj.t, u_gd[:, i], "o", ms=2.5, color=col, alpha=0.6)
            ax[0].axvline(t_half[i], color=col, ls=":", lw=1)
        ax[0].set(xlabel="flow time t", ylabel="u = a b",
                  title=f"mode strengths: flow (line), closed form (dashed),\nGD lr={lrs[0]:g} (dots), half-times (dotted)")
        ax[0].legend(fontsize=8)
        ax[1].loglog(lrs, errs, "o-", label=f"measured, slope {fit.slope:.3f} ± {fit.stderr:.3f}")
        ax[1].loglog(lrs, errs[-1] * np.array(lrs) / lrs[-1], "k--", label="slope 1")
        ax[1].set(xlabel="learning rate", ylabel="max |u_GD - u_flow|", title="GD vs flow: error linear in lr")
        ax[1].legend(fontsize=8)
        ax[2].semilogy(tr.t, tr.loss, label="flow")
        ax[2].semilogy(traj.t, traj.loss, "--", label=f"GD lr={lrs[0]:g}")
        ax[2].set(xlabel="flow time t", ylabel="loss", title="loss")
        ax[2].legend(fontsize=8)
        ctx.save_figure(
            "modes", fig,
            caption="Left: each mode strength u = ab of the flow (line) lies on the closed form "
                    "(dashed) and crosses s/2 at the predicted half-time (dotted); GD (dots) follows. "
                    "Middle: the GD-flow gap falls with slope 1 in the learning rate. Right: the loss.",
            claims=("saxe2014.closed-form", "saxe2014.half-time.flow", "saxe2014.direct-follows-flow",
                    "saxe2014.half-time.direct"))
    return claims


derivation = Derivation(
    name="saxe2014",
    title="Calibration: two-layer linear network mode dynamics, closed form (Saxe et al. 2014)",
    model=reduced_model,
    verify=verify,
)
