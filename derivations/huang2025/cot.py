r"""CoT training into phase 2 (spec 1.7b and 3 #9): the run behind the ``huang2025.parity-cot-*`` claims.

The abstract says CoT training shows the same two phases as even pairs: a loss $O(1/t)$,
$\lVert u_t\rVert$ growing like $\ln t$ and $u_t$ converging in direction to a max-margin
$u^*_{\rm CoT}$. Phase 2 is reached only if the objective is separable, which depends on the
even-pairs regulariser (reconstructed; ``Settings.cot_reg_max_length``): with the regulariser on
the length-1 strings only (the default, a reconstruction the spec found to work) every group is
fitted; on lengths 1..L0 (the earlier format) lengths 2 and 3 never are.

:func:`cot_phase2` trains the selected objective by GD (the paper's algorithm, phase-1 boost
included), continues it by the full-model gradient flow to ``Settings.cot_tau_max``
(:func:`~derivations.huang2025.experiments.full_flow`; the CoT data has no a<->b symmetry,
so no reduced model), measures the rates, and trains the other regulariser format by GD as the
contrast. $u^*_{\rm CoT}$ is the hard-margin direction of the attention outputs at the
current $W$ (:func:`~derivations.huang2025.closed_forms.max_margin_direct`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from derivations.huang2025 import measure as M
from derivations.huang2025.closed_forms import max_margin_direct
from derivations.huang2025.direct import OneLayerTransformer
from derivations.huang2025.experiments import cot_data, direct_run, full_flow
from dynamics.analysis import detect_stages, log_growth, loglog_slope

if TYPE_CHECKING:
    from derivations.huang2025.verify import Settings

__all__ = ["U_LAWS", "EARLY_FREEZE", "cot_phase2", "group_losses"]

#: Flow time of the second frozen-attention control (the first freezes where the flow starts): at the
#: defaults every group is fitted by tau = 200 (2000 steps), ten times earlier than the flow starts.
EARLY_FREEZE = 200.0

#: Growth laws for ||u_t|| (regressor x(tau) of ||u|| = a x + b): the paper's ln t and two competitors.
U_LAWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ln tau": np.log,
    "ln ln tau": lambda t: np.log(np.log(t)),
    "ln^2 tau": lambda t: np.log(t) ** 2,
}


def group_losses(model: OneLayerTransformer, params: dict[str, np.ndarray], data: Any) -> dict[str, float]:
    """The weighted loss of each group (CoT step k > 0, regulariser length -L < 0)."""
    T, _, _ = model.forward(params, data)  # (N,)
    per = data.weight * np.logaddexp(0.0, -data.y * T)  # (N,)
    return {str(int(g)): float(per[data.group == g].sum()) for g in np.unique(data.group)}


def cot_phase2(s: Settings, steps: int, n_points: int = 300, contrast: bool = True) -> dict[str, Any]:
    """GD for ``steps`` steps on the selected CoT objective, then (if every group is fitted) the
    flow to ``s.cot_tau_max`` with the attention free and frozen; and (``contrast``) GD on the other
    regulariser format.

    Returns the trajectories (``gd``, ``flow``, ``frozen``, ``contrast_gd``), the accuracy and loss
    per group of both formats, the loss stages, and the phase-2 measurements (``None`` when the
    objective is not separated): decade loss slopes, the ||u|| law errors, 1 - cos along both
    flows and the max-margin norms.
    """
    model = OneLayerTransformer(L_max=s.L_max, lam=s.lam)
    data = cot_data(s)
    gd, params = direct_run(s, steps, data=data)
    acc = model.accuracy_by_group(params, data)
    out: dict[str, Any] = {"gd": gd, "accuracy": acc, "group_loss": group_losses(model, params, data),
                           "stages": detect_stages(gd.t[1:], gd.loss[1:]), "steps": steps, "phase2": None}
    if contrast:
        k_other = s.cot_L0 if s.cot_reg_max_length == 1 else 1
        cdata = cot_data(s, reg_max_length=k_other)
        cgd, cparams = direct_run(s, steps, data=cdata)
        out.update(contrast_reg_max_length=k_other, contrast_gd=cgd,
                   contrast_accuracy=model.accuracy_by_group(cparams, cdata),
                   contrast_group_loss=group_losses(model, cparams, cdata))
    if min(acc.values()) < 1.0:
        return out
    tau_s, tau_max = float(gd.t[-1]), s.cot_tau_max
    flow = full_flow(model, data, params, tau_s, tau_max, n_points=n_points)
    frozen = full_flow(model, data, params, tau_s, tau_max, n_points=n_points, freeze_attention=True)
    late = (tau_max / 10, tau_max)
    decades = [(10.0**a, 10.0 ** (a + 1)) for a in range(math.ceil(math.log10(tau_s)), round(math.log10(tau_max)))]
    unorm = flow["u_norm"]
    fit = (max(tau_s, tau_max / 1e4), tau_max / 1e2)
    laws = {law: M.law_extrapolation(flow.t, unorm, law, fit, tau_max, fit[1], laws=U_LAWS) for law in U_LAWS}
    m = (flow.t >= fit[0]) & (flow.t <= fit[1])
    a, b = np.polyfit(np.log(flow.t[m]), np.log(unorm[m]), 1)
    u_fit_end = float(np.interp(fit[1], flow.t, unorm))
    power_pred = math.exp(a * math.log(flow.t[-1]) + b)
    power_err = (power_pred - unorm[-1]) / (unorm[-1] - u_fit_end)
    idx = np.arange(0, len(flow.t), 3)
    if idx[-1] != len(flow.t) - 1:
        idx = np.append(idx, len(flow.t) - 1)
    cos_joint, uhat_norm = M.one_minus_cos_direct(model, data, flow, idx)
    cos_frozen, _ = M.one_minus_cos_direct(model, data, frozen, idx, frozen=True)
    t_cos = flow.t[idx]
    # a second control frozen earlier (GD to EARLY_FREEZE, if every group is fitted there): the
    # estimator's spread on Soudry-exact dynamics depends on where the features are frozen
    early: dict[str, Any] = {}
    n_early = round(EARLY_FREEZE / s.eta)
    if n_early < steps:
        _, p_early = direct_run(s, n_early, data=data)
        if min(model.accuracy_by_group(p_early, data).values()) >= 1.0:
            fe = full_flow(model, data, p_early, EARLY_FREEZE, tau_max, n_points=n_points, freeze_attention=True)
            ie = np.searchsorted(fe.t, t_cos).clip(max=len(fe.t) - 1)
            early = {"t": fe.t[ie], "cos": M.one_minus_cos_direct(model, data, fe, ie, frozen=True)[0]}
    win = (max(tau_s, tau_max / 1e4), tau_max)
    lnln = np.log(np.log(t_cos))
    inw = (t_cos >= win[0] * (1 - 1e-9)) & (t_cos <= win[1] * (1 + 1e-9))
    p_end = M.full_params_at(flow, len(flow.t) - 1, model.d)
    mm_all = max_margin_direct(model, p_end, data)
    mm_cot = max_margin_direct(model, p_end, data, keep=data.group > 0)
    if mm_all.u is None or mm_cot.u is None:
        raise ValueError(f"the CoT attention outputs at tau = {tau_max:g} are not separable")
    out["phase2"] = {
        "flow": flow, "frozen": frozen, "tau_start": tau_s, "late": late,
        "late_slope": loglog_slope(flow.t, flow.loss, late),
        "decade_loss_slopes": [loglog_slope(flow.t, flow.loss, w).slope for w in decades],
        "frozen_late_slope": loglog_slope(frozen.t, frozen.loss, late).slope,
        "u_fit": fit, "u_law_errors": {**{k: v["rel_error"] for k, v in laws.items()}, "power law": float(power_err)},
        "u_law_predictions": {**{k: v["predicted"] for k, v in laws.items()}, "power law": float(power_pred)},
        "u_end": float(unorm[-1]), "u_growth": float(unorm[-1] - u_fit_end),
        "u_law_fits": laws, "u_slope_late": log_growth(flow.t, unorm, late).slope,
        "u_slope_by_decade": M.decade_slopes(np.log(flow.t), unorm, flow.t, decades),
        "t_cos": t_cos, "cos_joint": cos_joint, "cos_frozen": cos_frozen, "uhat_norm": uhat_norm,
        "cos_window": win, "decades": decades,
        "cos_slope_joint": float(np.polyfit(lnln[inw], np.log(cos_joint[inw]), 1)[0]),
        "cos_slope_frozen": float(np.polyfit(lnln[inw], np.log(cos_frozen[inw]), 1)[0]),
        "cos_slope_frozen_early": (float(np.polyfit(np.log(np.log(early["t"][inw])), np.log(early["cos"][inw]), 1)[0])
                                   if early else math.nan),
        "early_freeze": EARLY_FREEZE if early else math.nan, "cos_frozen_early": early.get("cos"),
        "cos_decade_slopes_joint": M.decade_slopes(lnln, np.log(cos_joint), t_cos, decades),
        "cos_decade_slopes_frozen": M.decade_slopes(lnln, np.log(cos_frozen), t_cos, decades),
        "uhat_norm_end": mm_all.norm, "uhat_support_end": mm_all.support.tolist(),
        "one_minus_cos_cot_only_vs_all": 1.0 - float(mm_all.u @ mm_cot.u) / (mm_all.norm * mm_cot.norm),
        "W_drift_end": float(np.linalg.norm(p_end["W"] - params["W"])),
    }
    return out
