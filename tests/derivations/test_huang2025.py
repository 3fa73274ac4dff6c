"""huang2025: the reduced model against full GD, and every claim with its negative control."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from derivations.huang2025 import claims as C
from derivations.huang2025 import measure as M
from derivations.huang2025.closed_forms import accuracy, c_coefficients, max_margin
from derivations.huang2025.direct import OneLayerTransformer
from derivations.huang2025.experiments import (
    cot_data,
    direct_run,
    flow,
    flow_vs_gd,
    reduced_gd,
    saddle_experiment,
)
from derivations.huang2025.reduced import W_norm2, reduced_model, state_names, u_full
from derivations.huang2025.verify import Settings
from dynamics.analysis import local_slopes, log_growth, loglog_slope

S = Settings()


@pytest.fixture(scope="module")
def cm():
    return reduced_model(S.L_max, lam=S.lam).compile()


@pytest.fixture(scope="module")
def long_flow(cm):
    return flow(cm, S)


@pytest.fixture(scope="module")
def table(cm):
    return cm.model.loss.rows[0].table


def test_names_match_direct_reduce(cm):
    from derivations.huang2025.direct import reduced_names

    assert list(cm.model.state_names) == state_names(6) == list(reduced_names(6))
    assert cm.model.n_state == 35 and cm.model.loss.rows[0].n_rows == 63


def test_reduced_gd_map_equals_full_gd(cm):
    steps = 1200
    tr, _ = direct_run(S, steps, record="all")
    dev = float(np.max(np.abs(reduced_gd(cm, S, steps) - tr.y)))
    assert C.claim_bridge(dev, steps).passed
    assert not C.claim_bridge(dev + 1e-9, steps).passed  # negative control


def test_chain_rule_jacobian_matches_differences(cm):
    rng = np.random.default_rng(0)
    y = rng.normal(scale=0.5, size=35)
    p = cm.pack({"lambda": 2.0}, {"attn": 2.0})
    J = cm.jacobian(p)(0.0, y)
    f = cm.f(p)
    Jfd = np.column_stack([(f(0.0, y + h) - f(0.0, y - h)) / 2e-6 for h in np.eye(35) * 1e-6])
    np.testing.assert_allclose(J, Jfd, rtol=1e-6, atol=1e-8)


def test_rhs_matches_numpy_backend(cm):
    cn = reduced_model(S.L_max, lam=S.lam).compile("numpy")
    y = np.random.default_rng(1).normal(scale=0.5, size=35)
    p = cm.pack({"lambda": 1.5})
    np.testing.assert_allclose(cm.f(p)(0.0, y), cn.f(p)(0.0, y), rtol=1e-11, atol=1e-13)


def test_flow_vs_gd_linear_in_eta(cm):
    etas = (0.1, 0.05, 0.025)
    errs = flow_vs_gd(cm, S, etas, 20.0)
    assert C.claim_gf_vs_gd(etas, errs).passed
    assert not C.claim_gf_vs_gd(etas, errs, predicted_ratio=4.0).passed


def test_phase1_expansion(cm):
    early = flow(cm, S, t_eval=np.concatenate([[0.0], np.geomspace(1e-3, 0.05, 20)]))
    i = int(np.argmin(np.abs(early.t - 0.01)))
    tau = float(early.t[i])
    assert C.claim_phase1_linear(tau, early["p1"][i], early["nu"][i]).passed
    assert not C.claim_phase1_linear(tau, early["p1"][i], early["nu"][i], predicted=(1.0, 0.25)).passed
    p_rest = np.array([early[f"p{l}"][i] for l in range(2, 7)])
    c = c_coefficients(6)
    np.testing.assert_allclose(c, [0.15205, 0.08955, 0.05483, 0.03139, 0.01389], atol=1e-5)  # spec 2.3
    assert C.claim_phase1_quadratic(tau, p_rest, c, 2.0).passed
    assert not C.claim_phase1_quadratic(tau, p_rest, 2 * c, 2.0).passed


def test_separation(cm, long_flow, table):
    j = int(np.searchsorted(long_flow.t, S.tau0))
    mm = max_margin(long_flow.y[j], table, 6, S.lam)
    acc = accuracy(long_flow.y, table, 6, S.lam)
    t_sep = float(long_flow.t[int(np.argmax(acc >= 1.0))]) / S.eta
    sep, when = C.claim_separation(mm.separable, t_sep)
    assert sep.passed and when.passed
    assert not C.claim_separation(mm.separable, t_sep, observed=(200.0, 300.0))[1].passed
    # at zero attention (tau = 0) the features are not separable
    assert not max_margin(long_flow.y[0], table, 6, S.lam).separable


def test_late_loss_rate(long_flow):
    fits = local_slopes(long_flow.t, long_flow.loss, windows=[(10.0**a, 10.0 ** (a + 1)) for a in range(4, 8)])
    c = C.claim_late_slope((1e7, 1e8), fits[-1].slope, fits[-1].stderr, [f.slope for f in fits])
    assert c.passed
    assert not C.claim_late_slope((1e7, 1e8), fits[-1].slope, 0.0, [], predicted=-0.5).passed
    # the slopes approach -1 from below as t grows
    assert all(abs(a.slope + 1) > abs(b.slope + 1) for a, b in zip(fits, fits[1:], strict=False))


def test_u_growth_and_direction(long_flow, table):
    U = u_full(long_flow.y, 6)
    mm = max_margin(long_flow.y[-1], table, 6, S.lam)
    slope = log_growth(long_flow.t, np.linalg.norm(U, axis=1), (1e7, 1e8)).slope
    assert C.claim_u_growth(slope, mm.norm).passed
    assert not C.claim_u_growth(slope, 2 * mm.norm).passed
    one_minus_cos = 1 - float(U[-1] @ mm.u) / (np.linalg.norm(U[-1]) * mm.norm)
    assert C.claim_direction(one_minus_cos).passed
    assert not C.claim_direction(0.2).passed


def test_u_log_onset_near_600_steps(cm):
    """The paper's one number: ||u|| grows logarithmically after t2 ~ 600 steps."""
    tr = flow(cm, S, t_eval=np.concatenate([[0.0], np.geomspace(S.eta, 1e5 * S.eta, 1500)]))
    steps = tr.t[1:] / S.eta
    on = M.u_log_onset(steps, np.linalg.norm(u_full(tr.y[1:], 6), axis=1), (1e4, 1e5))
    c = C.claim_u_log_onset(on["onset"], on)
    assert c.passed and c.source == "paper"
    assert 150 < on["peak_step"] < on["onset"]  # the tangent is taken at the end of phase 1's fast growth
    # negative controls: the phase-1 knee and a later onset are both rejected
    assert not C.claim_u_log_onset(on["onset"], on, predicted=300.0).passed
    assert not C.claim_u_log_onset(on["onset"], on, predicted=1000.0).passed


def test_direction_rate_slope_minus_two(cm, long_flow, table):
    """1 - cos ~ theta^2/2 with theta ~ 1/ln t: slope -2 against ln t, within the frozen control's
    finite-time spread (the joint run subsampled to keep the test fast)."""
    win = (1e4, 1e8)
    t = long_flow.t
    idx = np.nonzero((t >= win[0]) & (t <= win[1]))[0][::8]
    c_free = M.one_minus_cos(long_flow, table, 6, S.lam, idx)
    slope = float(np.polyfit(np.log(np.log(t[idx])), np.log(c_free), 1)[0])
    tf = flow(cm, S, freeze_at=3 * S.tau0)
    idx_f = np.nonzero((tf.t >= win[0]) & (tf.t <= win[1]))[0]
    c_frozen = M.one_minus_cos(tf, table, 6, S.lam, idx_f, frozen_from=3 * S.tau0)
    frozen = float(np.polyfit(np.log(np.log(tf.t[idx_f])), np.log(c_frozen), 1)[0])
    c = C.claim_direction_rate(slope, frozen, win)
    assert c.passed and c.source == "derived"
    assert 0.1 < c.tolerance < 0.5
    # negative control: the old prediction -1 (the angle's rate, not that of 1 - cos) fails
    assert not C.claim_direction_rate(slope, frozen, win, predicted=-1.0).passed
    assert not C.claim_direction_rate(slope, frozen, win, predicted=-3.0).passed


@pytest.fixture(scope="module")
def lam_flows(cm, long_flow):
    return {lam: long_flow if lam == S.lam else flow(cm, replace(S, lam=lam)) for lam in (1.0, 2.0, 4.0, 8.0)}


@pytest.fixture(scope="module")
def drift_fits(lam_flows):
    out = {}
    for lam, tl in lam_flows.items():
        D = M.drift(tl, S.tau0, 6)
        out[lam] = {law: M.law_extrapolation(tl.t, D, law, (1e3, 1e5), 1e8, 1e5) for law in M.LAWS}
    return out


def test_drift_follows_ln_ln_tau(drift_fits):
    lams = sorted(drift_fits)
    law = C.claim_drift_law(lams, [drift_fits[v]["ln ln tau"]["rel_error"] for v in lams],
                            {v: drift_fits[v]["ln ln tau"] for v in lams}, (1e3, 1e5), 1e8)
    assert law.passed
    # negative controls: the same test with the other laws fails (ln tau overshoots, bounded undershoots)
    for other in ("ln tau", "bounded, D_inf - a/ln tau", "bounded, D_inf - a/ln^2 tau"):
        errs = [drift_fits[v][other]["rel_error"] for v in lams]
        assert not C.claim_drift_law(lams, errs, {}, (1e3, 1e5), 1e8).passed, other
    # the O(1) claim (Theorem 4.4) does not hold here: a registered finding
    bounded = C.claim_drift(lams, [drift_fits[v]["bounded, D_inf - a/ln tau"]["rel_error"] for v in lams],
                            {}, (1e3, 1e5), 1e8)
    assert not bounded.passed
    assert C.claim_drift(lams, [0.05] * 4, {}, (1e3, 1e5), 1e8).passed  # a bounded drift would pass


def test_lambda_ablation(lam_flows, table, long_flow):
    """The lambda ablation (spec 4 #6, 2.3, 3): the two phases at every lambda, lambda = 8 separating
    late, the spec's early slopes, and the sqrt(lambda) estimate (a finding)."""
    from derivations.huang2025.experiments import lambda_ablation

    ab = lambda_ablation(S, lam_flows, table, long_flow, long_flow)  # the flow as its own GD: the strictest tol
    lams = ab["lambda"]
    assert ab["gd_minus_flow"] == 0.0 and lams == [1.0, 2.0, 4.0, 8.0]
    assert C.claim_lambda_separable(lams, ab["separable_at_t0"], ab["t_sep_steps"]).passed
    assert not C.claim_lambda_separable(lams, ab["separable_at_t0"], [100.0, math.nan, 1.0, 1.0]).passed
    rate = C.claim_lambda_loss_rate(lams, ab["late_slopes"], ab["late_window"])
    assert rate.passed and rate.controls_refuted
    assert not C.claim_lambda_loss_rate(lams, [-1.0, -1.0, -1.0, -0.8], ab["late_window"]).passed
    assert C.claim_lambda_direction(lams, ab["one_minus_cos"]).passed
    assert not C.claim_lambda_direction(lams, [0.0, 0.0, 0.0, 0.02]).passed
    t8 = ab["t_sep_steps"][3]
    assert C.claim_lambda8_separation(t8).passed and max(ab["t_sep_steps"][:3]) < 200 < t8
    assert not C.claim_lambda8_separation(ab["t_sep_steps"][2]).passed  # lambda = 4 separates near t0
    early = C.claim_lambda_early_slope(lams, ab["early_slopes"], ab["gd_minus_flow"])
    assert early.passed and early.controls_refuted
    assert not C.claim_lambda_early_slope(lams, ab["early_slopes"], 0.0, predicted=[-1.03, -1.08, -1.21, -1.6]).passed
    sq = C.claim_lambda_sqrt(0.195, lams, [9.2, 11.5, 13.6, 13.6], 1000)
    assert not sq.passed and sq.controls_refuted  # the registered finding
    assert C.claim_lambda_sqrt(0.52, lams, [], 1000).passed


def test_law_extrapolation_recovers_a_synthetic_law():
    t = np.geomspace(10.0, 1e8, 400)
    for law, x in M.LAWS.items():
        D = 3.0 * x(t) + 1.0
        fit = M.law_extrapolation(t, D, law, (1e3, 1e5), 1e8, 1e5)
        assert fit["a"] == pytest.approx(3.0) and abs(fit["rel_error"]) < 1e-9, law


def test_saddle_without_length_1():
    """Spec P14: zero is a stationary point without the L = 1 strings, and a strict saddle whose
    escape time grows by ln 10 / ln(1 + eta mu) steps per decade of the init scale."""
    sad = saddle_experiment(S, steps=1000, escape_steps=1200)
    st = C.claim_saddle_stationary(sad["max_grad"], sad["max_loss_dev"], sad["steps"], sad["max_grad_with_length_1"])
    assert st.passed
    # negative control: with the length-1 strings the gradient at zero is O(0.1)
    assert sad["max_grad_with_length_1"] > 0.1
    assert not C.claim_saddle_stationary(sad["max_grad_with_length_1"], 0.0, 1000, 0.0).passed
    assert sad["hessian_eigs_lowest"][0] < -0.1  # a strict saddle
    esc = C.claim_saddle_escape(sad["steps_per_decade"], sad["mu"], S.eta, {})
    assert esc.passed
    # negative controls: the flow's rate ln 10 / (eta mu) is within tolerance too (it is the same to
    # 1%), but a 20% wrong mu, or the second unstable eigenvalue, is not
    assert not C.claim_saddle_escape(sad["steps_per_decade"], 1.2 * sad["mu"], S.eta, {}).passed
    assert not C.claim_saddle_escape(sad["steps_per_decade"], -sad["hessian_eigs_lowest"][1], S.eta, {}).passed


def test_frozen_attention_control(cm):
    tf = flow(cm, S, freeze_at=3 * S.tau0)
    W = W_norm2(tf.y, 6)
    assert np.ptp(W[tf.t >= 3 * S.tau0]) < 1e-12  # frozen really is frozen
    tl = tf.t * tf.loss
    a, b = int(np.searchsorted(tf.t, 1e7)), tf.t.size - 1
    tol = 1 / math.log(S.tau_max)
    c = C.claim_frozen(abs(tl[b] / tl[a] - 1), loglog_slope(tf.t, tf.loss, (1e7, 1e8)).slope, tol)
    assert c.passed
    assert not C.claim_frozen(abs(tl[b] / tl[a] - 1), -0.5, tol).passed


def test_joint_and_two_phase_claims_negative_controls():
    assert C.claim_joint_embedding(1.0, -1.8).passed
    assert not C.claim_joint_embedding(125 / 126, -1.0).passed
    assert C.claim_cot_two_phases(["plateau", "drop", "plateau"], 0.1).passed
    assert not C.claim_cot_two_phases(["drop"], 0.1).passed
    assert not C.claim_cot_two_phases(["drop", "plateau"], 0.1).passed


def test_cot_phase2_claim():
    ok = {-4: 1.0, -3: 1.0, -2: 1.0, -1: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}
    assert C.claim_cot_phase2(ok, 0.1, {}, reg_max_length=4).passed
    # negative control: the earlier format's numbers (regulariser lengths 2 and 3 at chance) do not hold
    stalled = {**ok, -3: 0.5, -2: 0.5}
    c = C.claim_cot_phase2(stalled, 0.1, {}, reg_max_length=4)
    assert not c.passed and c.id == "huang2025.parity-cot-phase2.reg-lengths-1-4"
    assert not C.claim_cot_phase2({**ok, 3: 15 / 16}, 0.1, {}).passed  # one sequence wrong is enough
    assert C.claim_cot_phase2({-1: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}, 0.1, {}).id == "huang2025.parity-cot-phase2"


def test_max_margin_primal_matches_the_dual_solver():
    from derivations.huang2025.closed_forms import max_margin_primal
    from dynamics.analysis import max_margin_direction

    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 4))
    w = rng.normal(size=4)
    y = np.where(X @ w > 0, 1.0, -1.0)
    a, b = max_margin_primal(X, y), max_margin_direction(X, y)
    assert a.separable and a.polished
    assert a.norm == pytest.approx(b.norm, rel=1e-8) and np.allclose(a.u, b.u, atol=1e-8)
    assert a.margin == pytest.approx(1.0, abs=1e-9)
    assert not max_margin_primal(np.vstack([X, X[:1]]), np.append(y, -y[0])).separable  # a point and its flip
    with pytest.raises(ValueError, match="labels"):
        max_margin_primal(X, 2 * y)


@pytest.fixture(scope="module")
def cot_run():
    from derivations.huang2025.cot import cot_phase2

    return cot_phase2(S, 20000, n_points=150, contrast=False)  # the default window: the rate needs it


def test_cot_training_reaches_phase2(cot_run):
    """Abstract on CoT training, with the default length-1 regulariser: every group is fitted, then
    the loss falls like 1/t, ||u|| like ln t and u turns to u*_CoT; the earlier format stalls."""
    run, ph = cot_run, cot_run["phase2"]
    assert C.claim_cot_phase2(run["accuracy"], 0.1, {}).passed
    old_format = cot_data(S, reg_max_length=4)  # the earlier format stalls with lengths 2, 3 at chance
    _, p_old = direct_run(S, 3000, data=old_format)
    acc_old = OneLayerTransformer(L_max=6, lam=S.lam).accuracy_by_group(p_old, old_format)
    assert acc_old[-2] == acc_old[-3] == 0.5
    assert not C.claim_cot_phase2(acc_old, 0.1, {}, reg_max_length=4).passed
    f = ph["late_slope"]
    assert C.claim_late_slope(ph["late"], f.slope, f.stderr, [], claim_id="huang2025.parity-cot-loss-rate").passed
    assert abs(ph["frozen_late_slope"] + 1) < 0.05  # Soudry's setting gives the same rate
    assert not C.claim_late_slope(ph["late"], f.slope, f.stderr, [], predicted=-0.5).passed
    args = (ph["u_law_predictions"], ph["u_end"], ph["u_growth"], ph["u_fit"], 1e8, {})
    law = C.claim_cot_u_log_law(*args)
    assert law.passed and len(law.negative_controls) == 3 and law.controls_refuted
    for other in ("ln ln tau", "ln^2 tau", "power law"):  # the competing laws miss by 0.3-0.5 of the growth
        assert not C.claim_cot_u_log_law(*args, law=other).passed, other
        assert abs(ph["u_law_errors"][other]) > 0.25
    assert C.claim_direction(float(ph["cos_joint"][-1]), claim_id="huang2025.parity-cot-direction").passed
    assert ph["cos_joint"][-1] < ph["cos_joint"][0]  # it converges, not just starts close
    assert abs(ph["one_minus_cos_cot_only_vs_all"]) < 1e-6  # the regulariser constraints are inactive
    frozen = max((ph["cos_slope_frozen"], ph["cos_slope_frozen_early"]), key=lambda v: abs(v + 2))
    rate = C.claim_direction_rate(ph["cos_slope_joint"], frozen, ph["cos_window"],
                                  claim_id="huang2025.parity-cot-direction-rate", controls=(-1.0, 0.0))
    assert rate.passed and rate.controls_refuted
    # the loose tolerance does not tell -2 from -3 (docs): with that control the claim cannot hold
    assert not C.claim_direction_rate(ph["cos_slope_joint"], frozen, ph["cos_window"], controls=(-3.0,)).passed
    assert not C.claim_direction_rate(ph["cos_slope_joint"], frozen, ph["cos_window"], predicted=0.0).passed
    assert not C.claim_direction_rate(ph["cos_slope_joint"], frozen, ph["cos_window"], predicted=-1.0).passed


def test_cot_settings_validation():
    from derivations.huang2025.verify import parity
    from dynamics.registry import SettingsError

    assert parity.make_settings({"cot_reg_max_length": "4"}).cot_reg_max_length == 4
    with pytest.raises(SettingsError, match="cot_reg_max_length"):
        parity.make_settings({"cot_reg_max_length": "0"})
    with pytest.raises(SettingsError, match="cot_tau_max"):
        parity.make_settings({"cot_tau_max": "1e5"})


def test_findings_registered_and_documented():
    """Each registered finding explains a claim of its own model and is listed, word for word, in
    the Findings section of docs/huang2025.md."""
    from pathlib import Path

    from derivations.huang2025.findings import FINDINGS
    from derivations.huang2025.verify import even_pairs, parity

    assert {f.claim for f in even_pairs.findings} == {"huang2025.attention-drift",
                                                      "huang2025.lambda-ablation.separation-sqrt"}
    assert {f.claim for f in parity.findings} == {"huang2025.parity-cot-phase2.reg-lengths-1-4"}
    assert len(FINDINGS) == len(even_pairs.findings) + len(parity.findings)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "huang2025.md").read_text()
    section = docs.split("## Findings", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    for f in FINDINGS:
        for text in (f.claim, f.summary, f.shows, f.ruled_out, f"bears on: {f.bears_on}"):
            assert " ".join(text.split()) in flat, (f.claim, text[:60])


def test_settings_override_and_validation():
    from derivations.huang2025.verify import even_pairs
    from dynamics.registry import SettingsError

    s = even_pairs.make_settings({"lam": "4", "t0": "50"})
    assert s.lam == 4.0 and s.t0 == 50 and s.eta == S.eta
    with pytest.raises(SettingsError, match="unknown setting"):
        even_pairs.make_settings({"lamda": "4"})
    with pytest.raises(SettingsError, match="expected a float"):
        even_pairs.make_settings({"lam": "big"})
    with pytest.raises(SettingsError, match="L_max"):
        even_pairs.make_settings({"L_max": "12"})


def test_parity_claims_negative_controls():
    assert C.claim_cot_inference({2: 1.0, 3: 1.0}).passed
    assert not C.claim_cot_inference({2: 1.0, 3: 0.75}).passed
    assert C.claim_parity_direct({2: 0.5, 3: 0.6}).passed
    assert not C.claim_parity_direct({2: 1.0, 3: 1.0}).passed
    assert not C.claim_cot_training({1: 1.0, 2: 0.5}, 1.0).passed


@pytest.mark.slow
def test_verify_even_pairs_writes_report(tmp_path):
    import json

    from dynamics.cli import main

    rc = main(["verify", "huang2025-even-pairs", "huang2025-parity", "--out", str(tmp_path), "--quiet"])
    assert rc == 0  # every claim passes or is a registered finding
    for f in ("loss_loglog.png", "phase_diagram.png", "lambda_ablation.png", "attention_drift.png", "saddle.png", "summary.json", "flow.npz"):
        assert (tmp_path / "huang2025-even-pairs" / f).exists()
    assert (tmp_path / "huang2025-parity" / "parity.png").exists()
    verdicts = {}
    for name in ("huang2025-even-pairs", "huang2025-parity"):
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        verdicts.update({c["id"]: c["verdict"] for c in summary["claims"]})
        assert all(info["caption"] for info in summary["figure_info"].values())
        assert not summary["unmatched_findings"]
    assert {k for k, v in verdicts.items() if v == "finding"} == {
        "huang2025.attention-drift", "huang2025.lambda-ablation.separation-sqrt",
        "huang2025.parity-cot-phase2.reg-lengths-1-4"}
    assert all(v in ("pass", "finding") for v in verdicts.values())
