r"""Experiments of Huang, Liang & Yang (2025): the runs whose measurements the claims use.

* :func:`schedule`: the attention step multiplier lambda until tau0 = eta t0 (spec 1.6);
* :func:`flow`: the reduced gradient flow from zero (spec 2.2, reconstructed);
* :func:`direct_run`: full-batch GD on the numpy transformer through :func:`dynamics.direct.train`;
* :func:`reduced_gd`: the reduced GD map theta <- theta + eta * rhs(theta), which must equal
  full GD exactly (the reduction is exact);
* :func:`flow_vs_gd`: the flow against GD at several step sizes;
* :func:`separation_tau`: the first flow time with 100% training accuracy;
* :func:`saddle_experiment`: zero init without the length-1 strings (spec 1.2, P14);
* :func:`lambda_ablation`: the measurements of the lambda ablation on the flows for each lambda;
* :func:`cot_data`: the CoT-training objective the settings select (spec 1.7b, reconstructed);
* :func:`full_flow`: the gradient flow of the full transformer (all of $u$ and $W$), continuing a
  GD run into phase 2 (for data without the a<->b symmetry the reduction needs, e.g. CoT).

The grids of the drift, separation-scaling and saddle experiments are module constants.
Every function takes the paper's :class:`~derivations.huang2025.verify.Settings`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from derivations.huang2025 import measure as M
from derivations.huang2025.closed_forms import features, max_margin_primal
from derivations.huang2025.data import Dataset, cot_dataset, even_pairs_dataset
from derivations.huang2025.direct import OneLayerTransformer
from derivations.huang2025.reduced import W_norm2, u_full
from dynamics.analysis import loglog_slope
from dynamics.codegen import CompiledModel
from dynamics.direct import train
from dynamics.integrate import integrate
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory
from dynamics.validate import positive_float

if TYPE_CHECKING:
    from derivations.huang2025.verify import Settings

__all__ = ["schedule", "flow", "direct_run", "reduced_gd", "flow_vs_gd", "separation_tau", "saddle_experiment",
           "cot_data", "full_flow", "lambda_ablation", "DRIFT_LAMBDAS", "DRIFT_FIT", "SCALING_LAMBDAS", "SADDLE_SCALES"]

#: lambda values of the attention-drift experiment, and the tau window its laws are fitted on.
DRIFT_LAMBDAS = (1.0, 2.0, 4.0, 8.0)
DRIFT_FIT = (1e3, 1e5)
#: lambda values of the separation time against lambda.
SCALING_LAMBDAS = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
#: init scales eps of the saddle-escape experiment.
SADDLE_SCALES = (1e-3, 1e-4, 1e-5, 1e-6)


def schedule(s: Settings, freeze_at: float | None = None) -> Schedule:
    """Attention steps times lambda until tau0 = eta t0 (spec 1.6); optionally frozen from ``freeze_at``."""
    if freeze_at is None:
        return Schedule.switch(s.tau0, before={"attn": s.lam})
    return Schedule((s.tau0, freeze_at), ({"attn": s.lam}, {}, {"attn": 0.0}))


def flow(cm: CompiledModel, s: Settings, *, t_max: float | None = None, t_eval: np.ndarray | None = None,
         freeze_at: float | None = None, n_points: int = 400) -> Trajectory:
    """The reduced gradient flow from zero in tau = eta t."""
    y0 = np.zeros(cm.n_state)
    if t_eval is not None:
        return integrate(cm, y0, {"lambda": s.lam}, t_eval=t_eval, schedule=schedule(s, freeze_at))
    return integrate(cm, y0, {"lambda": s.lam}, t_max=t_max or s.tau_max, t_min=1e-3, n_points=n_points,
                     schedule=schedule(s, freeze_at))


def direct_run(s: Settings, steps: int, data: Any = None, record: Any = "log") -> tuple[Trajectory, dict[str, np.ndarray]]:
    """Full-batch GD on the transformer from zero (spec 1.6), recorded on the reduced coordinates."""
    model = OneLayerTransformer(L_max=s.L_max, lam=s.lam)
    data = data if data is not None else even_pairs_dataset(s.L_max)
    return train(model, model.init(np.random.default_rng(0)), data, lr=s.eta, steps=steps,
                 schedule=schedule(s), record=record, n_record=300)


def reduced_gd(cm: CompiledModel, s: Settings, steps: int) -> np.ndarray:
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


def flow_vs_gd(cm: CompiledModel, s: Settings, etas: tuple[float, ...], tau: float) -> list[float]:
    """Max deviation of the reduced coordinates between GD at each eta (same tau0) and the flow, up to ``tau``."""
    errs = []
    for e in etas:
        se = replace(s, eta=e, t0=int(round(s.tau0 / e)))
        n = int(round(tau / e))
        d, _ = direct_run(se, n, record=max(1, n // 100))
        errs.append(float(np.max(np.abs(d.y - flow(cm, se, t_eval=d.t).y))))
    return errs


def separation_tau(tr: Trajectory, table: np.ndarray, s: Settings) -> float:
    """First recorded flow time with 100% training accuracy at the settings' L_max and lambda."""
    return M.separation_tau(tr, table, s.L_max, s.lam)


def saddle_experiment(s: Settings, steps: int = 1000, escape_steps: int = 1500) -> dict[str, Any]:
    """Zero init without the length-1 strings (spec 1.2, P14), direct GD on the full model.

    The gradient at zero (with and without the length-1 strings), the loss of GD from zero over
    ``steps`` steps, the Hessian's smallest eigenvalues at zero, and the escape step (loss 1%
    below 5 ln 2) from eps * xi for each eps in :data:`SADDLE_SCALES`, one fixed xi (seed 0).
    """
    model = OneLayerTransformer(L_max=s.L_max, lam=s.lam)
    data = even_pairs_dataset(s.L_max, include_length_1=False)
    zero = model.init(np.random.default_rng(0))
    saddle_loss, g0 = model.loss_and_grad(zero, data)
    _, g1 = model.loss_and_grad(zero, even_pairs_dataset(s.L_max))
    tr0, _ = train(model, zero, data, lr=s.eta, steps=steps, schedule=schedule(s), record="all")
    H = M.saddle_hessian(lambda p: model.loss_and_grad(p, data), model.d)
    ev = np.linalg.eigvalsh(H)
    xi = OneLayerTransformer(L_max=s.L_max, lam=s.lam, init_scale=1.0).init(np.random.default_rng(0))
    runs: dict[float, tuple[Trajectory, float, float]] = {}
    for eps in SADDLE_SCALES:
        tr, params = train(model, {k: eps * v for k, v in xi.items()}, data, lr=s.eta, steps=escape_steps,
                           schedule=schedule(s), record="all")
        runs[eps] = (tr, M.escape_step(tr.loss, saddle_loss), model.accuracy(params, data))
    x = np.log10(1.0 / np.array(SADDLE_SCALES))
    esc = np.array([runs[e][1] for e in SADDLE_SCALES])
    slope = float(np.polyfit(x, esc, 1)[0]) if np.all(np.isfinite(esc)) else math.nan
    return {"saddle_loss": float(saddle_loss), "five_ln2": 5 * math.log(2),
            "max_grad": max(float(np.max(np.abs(v))) for v in g0.values()),
            "max_grad_with_length_1": max(float(np.max(np.abs(v))) for v in g1.values()),
            "max_loss_dev": float(np.max(np.abs(tr0.loss - 5 * math.log(2)))), "steps": steps,
            "hessian_eigs_lowest": ev[:3].tolist(), "mu": float(-ev[0]), "escape_steps": esc.tolist(),
            "steps_per_decade": slope, "runs": runs}


def cot_data(s: Settings, reg_max_length: int | None = None) -> Dataset:
    """The CoT-training objective (spec 1.7b, reconstructed): the CoT prefixes of length ``s.cot_L0``
    plus ``s.cot_reg_weight`` times the even-pairs loss on lengths 1..``reg_max_length``
    (default ``s.cot_reg_max_length``: 1, the length-1-only regulariser)."""
    k = s.cot_reg_max_length if reg_max_length is None else reg_max_length
    return cot_dataset(s.cot_L0, reg_weight=s.cot_reg_weight, reg_lengths=tuple(range(1, k + 1)), L_max=s.L_max)


def full_flow(model: OneLayerTransformer, data: Dataset, params: dict[str, np.ndarray], tau_start: float,
              tau_end: float, *, n_points: int = 300, freeze_attention: bool = False) -> Trajectory:
    r"""Gradient flow $\dot u = -\nabla_u\mathcal L$, $\dot W = -\nabla_W\mathcal L$ of the full model
    from ``params`` at flow time ``tau_start`` to ``tau_end`` (after the lambda boost: no schedule).

    Integrated in $s = \ln\tau$ (LSODA, rtol 1e-8), where phase 2 is smooth: $d\theta/ds =
    -\tau\nabla\mathcal L$. Used to continue a GD run into phase 2 when the data has no exact
    reduction; GD's own discretisation error there is $O(\eta\,\lVert\nabla^2\mathcal L\rVert)$,
    which falls like the loss. ``freeze_attention`` keeps $W$ at its start value (the
    frozen-attention control). The state is the flattened ``u`` (names ``u0..``) and ``W``
    (``W<key>_<query>``); observables ``loss``, ``u_norm``, ``W_norm``.
    """
    positive_float("tau_start", tau_start)
    if not tau_end > tau_start:
        raise ValueError(f"tau_end must exceed tau_start={tau_start:g}, got {tau_end:g}")
    from scipy.integrate import solve_ivp

    d = model.d
    x0 = np.concatenate([params["u"], params["W"].ravel()])  # (d + d^2,)

    def unpack(x: np.ndarray) -> dict[str, np.ndarray]:
        return {"u": x[:d], "W": x[d:].reshape(d, d)}

    def rhs(sv: float, x: np.ndarray) -> np.ndarray:
        _, g = model.loss_and_grad(unpack(x), data)
        gw = np.zeros(d * d) if freeze_attention else g["W"].ravel()
        return -math.exp(sv) * np.concatenate([g["u"], gw])

    s_eval = np.linspace(math.log(tau_start), math.log(tau_end), n_points)
    sol = solve_ivp(rhs, (s_eval[0], s_eval[-1]), x0, method="LSODA", t_eval=s_eval, rtol=1e-8, atol=1e-10)
    if sol.status != 0:
        raise RuntimeError(f"full-model flow failed: {sol.message}")
    X = sol.y.T  # (T, d + d^2)
    loss = np.array([model.loss_and_grad(unpack(x), data)[0] for x in X])  # (T,)
    names = tuple(f"u{i}" for i in range(d)) + tuple(f"W{k}_{q}" for k in range(d) for q in range(d))
    return Trajectory(np.exp(sol.t), X, names, {"loss": loss, "u_norm": np.linalg.norm(X[:, :d], axis=1),
                                               "W_norm": np.linalg.norm(X[:, d:], axis=1)},
                      stats={"method": "LSODA", "nfev": int(sol.nfev)},
                      meta={"freeze_attention": freeze_attention, "tau_start": tau_start})


def lambda_ablation(s: Settings, flows: dict[float, Trajectory], table: np.ndarray, direct: Trajectory,
                    flow_default: Trajectory) -> dict[str, Any]:
    """The lambda ablation (spec 4 #6, 2.3, 3) on the reduced flows to ``s.tau_max``, one per lambda
    (``flows``; t0 as in ``s``): separability at t0 and the first 100%-accuracy step, the late loss
    slope, 1 - cos(u, u_hat) at the end, the loss slope on steps [4000, 16000] (the spec's window) and
    the attention drift ||W|| between steps 1024 and 16384 over lambda (the spec's, in logit units).
    ``direct`` and ``flow_default`` (GD and the flow at ``s.lam``) give GD - flow on the early window."""
    lams = sorted(flows)
    early = (4000 * s.eta, 16000 * s.eta)
    late = (s.tau_max / 10, s.tau_max)
    out: dict[str, Any] = {"lambda": lams, "early_window": list(early), "late_window": list(late),
                           "separable_at_t0": [], "t_sep_steps": [], "late_slopes": [], "early_slopes": [],
                           "one_minus_cos": [], "W_drift_logit_1024_16384": []}
    for lam in lams:
        tl, sl = flows[lam], replace(s, lam=lam)
        j = int(np.searchsorted(tl.t, s.tau0))
        out["separable_at_t0"].append(max_margin_primal(*features(tl.y[j], table, s.L_max, lam)[:2]).separable)
        out["t_sep_steps"].append(separation_tau(tl, table, sl) / s.eta)
        out["late_slopes"].append(loglog_slope(tl.t, tl.loss, late).slope)
        out["early_slopes"].append(loglog_slope(tl.t, tl.loss, early).slope)
        mm = max_margin_primal(*features(tl.y[-1], table, s.L_max, lam)[:2])
        U = u_full(tl.y[-1], s.L_max)
        out["one_minus_cos"].append(1.0 - float(U @ mm.u) / (np.linalg.norm(U) * mm.norm) if mm.u is not None else math.nan)
        w1, w2 = np.interp([1024 * s.eta, 16384 * s.eta], tl.t, np.sqrt(W_norm2(tl.y, s.L_max)))
        out["W_drift_logit_1024_16384"].append(float((w2 - w1) / lam))
    if direct.t[-1] >= early[1]:
        out["gd_minus_flow"] = (loglog_slope(direct.t, direct.loss, early).slope
                                - loglog_slope(flow_default.t, flow_default.loss, early).slope)
    else:
        out["gd_minus_flow"] = math.nan
    return out
