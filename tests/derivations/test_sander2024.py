"""sander2024: monomial derivations, reduced flows, and every claim with a negative control."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations.sander2024 import claims as cl
from derivations.sander2024 import verify as V
from derivations.sander2024.monomials import MPoly, unitary_state
from derivations.sander2024.reduced import (
    a1_formula,
    augmented_diagonal_model,
    augmented_position_loss,
    augmented_shared_model,
    n1_formula,
    nonaug_model,
    nonaug_row_loss,
)
from dynamics.integrate import integrate


def test_monomial_expectation_rule():
    lam = MPoly.monomial(2, (1, 0))
    assert (lam * lam.conj()).expectation() == 1  # |lambda|^2 = 1
    assert (lam * lam).expectation() == 0  # E lambda^2 = 0
    x = unitary_state(2, 3, [sp.Integer(2), sp.Integer(1)])
    assert sum(v.expected_abs2() for v in x) == 5


@pytest.mark.parametrize("d, t", [(2, 3), (3, 2)])
def test_a1_is_derived_not_typed(d, t):
    a = sp.symbols(f"a1:{d + 1}", real=True)
    b = sp.symbols(f"b1:{d + 1}", real=True)
    r = sp.symbols(f"r1:{d + 1}", positive=True)
    diff = augmented_position_loss(d, t, a, b, r) - a1_formula(d, t, a, b, [x**2 for x in r])
    assert cl.claim_derivation("A1", diff, [(d, t)]).passed
    # negative control: a formula with the wrong cross-term weight is detected
    wrong = a1_formula(d, t, a, b, [x**2 for x in r]) + sp.Rational(1, 10) * a[0] ** 2
    assert not cl.claim_derivation("A1", augmented_position_loss(d, t, a, b, r) - wrong, [(d, t)]).passed


def test_n1_is_derived_not_typed():
    d, n = 3, 3
    C = [[sp.Symbol(f"C{i}_{k}", real=True) for k in range(d)] for i in range(d)]
    p = sp.symbols(f"p0:{n + 1}", real=True)
    derived = nonaug_row_loss(d, n, C, p, expand=True)
    assert cl.claim_derivation("N1", derived - n1_formula(d, n, C, p), [(d, n)]).passed
    # the authors' coded variant double-counts p_q^2 ||C||_F^2 (spec 3.2): it must not match
    coded = n1_formula(d, n, C, p) + p[n - 1] ** 2 * sum(C[i][k] ** 2 for i in range(d) for k in range(d))
    assert not cl.claim_derivation("N1", derived - coded, [(d, n)]).passed


def test_n1_derivation_numerically_matches_quadrature():
    """Exact quadrature on a uniform angle grid equals the derived loss (d = 2, n = 2)."""
    d, n = 2, 2
    rng = np.random.default_rng(0)
    Cv = rng.normal(size=(d, d))
    pv = rng.normal(size=n + 1)
    C = [[sp.Float(Cv[i, k]) for k in range(d)] for i in range(d)]
    derived = float(nonaug_row_loss(d, n, C, [sp.Float(x) for x in pv]))
    g = 2 * np.pi * np.arange(8) / 8
    th = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)  # (64, 2)
    s = np.exp(1j * th[:, None, :] * np.arange(n + 2)[None, :, None])  # (64, n+2, d)
    q = n - 1
    pred = np.einsum("j,ik,mk,mjk,mji->mi", pv, Cv, np.conj(s[:, q]), s[:, : n + 1], s[:, : n + 1])
    quad = float(np.mean(np.sum(np.abs(pred - s[:, n + 1]) ** 2, axis=1)))
    assert quad == pytest.approx(derived, rel=1e-12)


def test_eta_star_single_position():
    m = augmented_diagonal_model(3, 4)
    tr = integrate(m, 0.3 + 0.05 * np.arange(6), t_max=1e4)
    ab = np.array([tr[f"ab{i}"][-1] for i in (1, 2, 3)])
    assert cl.claim_eta_single(3, 4, ab, float(tr.loss[-1])).passed
    assert not cl.claim_eta_single(3, 4, ab, float(tr.loss[-1]), predicted=(1 / 4, 1 / 3)).passed  # eta = 1/t


def test_eta_star_shared_and_balance():
    m = augmented_shared_model(3, 10)
    tr = integrate(m, {"alpha": 0.1, "beta": 0.05}, t_max=1e4)
    assert cl.claim_eta_shared(3, 10, float(tr["eta"][-1]), float(tr.loss[-1])).passed
    assert not cl.claim_eta_shared(3, 10, float(tr["eta"][-1]), float(tr.loss[-1]),
                                  predicted=(3 / 10, float(tr.loss[-1]))).passed
    drift = float(np.max(np.abs(tr["balance"] - tr["balance"][0])))
    assert cl.claim_balance(drift).passed
    assert not cl.claim_balance(float(np.ptp(tr["eta"]))).passed  # alpha*beta is not conserved


def test_nonaugmented_flow_claims():
    d, T = 2, 3
    losses, le, gt, cP, others, q = [], [], [], [], 0.0, 0.0
    for H in (1, 2, 3):
        m = nonaug_model(d, H, T)
        tr = integrate(m, 0.05 * np.random.default_rng(H).normal(size=m.n_state), t_max=1e4)
        losses.append(float(tr.loss[-1]))
        q = max(q, float(np.ptp(tr["Q"])))
        y = tr.y[-1]
        A, B = y[: H * d].reshape(H, d), y[H * d : 2 * H * d].reshape(H, d)
        M = A @ B.T
        (le if H <= d else gt).append(float(np.linalg.norm(M - np.diag(np.diag(M))) / np.linalg.norm(M)))
        if H >= d:
            c = float(np.trace(B.T @ A) / d)
            for t in range(T - 1):
                cP.append(c * float(tr[f"P{t}_{t + 1}"][-1]))
                others = max(others, *(abs(float(tr[f"P{t}_{j}"][-1])) for j in range(t + 1)))
    assert cl.claim_min_loss([1, 2, 3], losses, d, T).passed
    assert not cl.claim_min_loss([1, 2, 3], [losses[0] + 1, *losses[1:]], d, T).passed
    assert cl.claim_heads(le).passed
    assert not cl.claim_heads(gt).passed  # H > d: not orthogonal
    assert cl.claim_pe(cP, others).passed
    assert not cl.claim_pe([2 * x for x in cP], others).passed
    assert cl.claim_conserved(q).passed
    assert not cl.claim_conserved(1e-3).passed


def test_scale_claim_negative_control():
    assert cl.claim_scale([1, 2], [3.0, 1.5], 2, 4).passed
    assert not cl.claim_scale([1, 2], [3.0, 3.0], 2, 4).passed  # |c|^3 = T-1 ignores min(H, d)


def test_augmented_claims_negative_controls():
    from derivations.sander2024.closed_forms import eta_star_shared, isotropic_loss

    e, L = eta_star_shared(2, 6), isotropic_loss(2, 6, eta_star_shared(2, 6))
    assert cl.claim_block_gd("random_phase", e, 1e-15, L, 2, 6).passed
    assert not cl.claim_block_gd("fixed", 0.4569, 0.385, 2.6248, 2, 6).passed  # the fixed-s0 finding
    assert cl.claim_block_gd("fixed", e, 0.0, L, 2, 6).source == "paper"
    assert cl.claim_block_diagonal(L, 2, 6).passed
    assert not cl.claim_block_diagonal(2.6248, 2, 6).passed  # the full block model's lower loss
    assert not cl.claim_block_diagonal(L + 1e-6, 2, 6).passed
    assert cl.claim_unconstrained(2.786, 2.23, 2.786, 2.786).passed
    assert not cl.claim_unconstrained(2.786, 2.786, 2.786, 2.786).passed  # no gain with fixed s0


def test_fixed_s0_finding_is_not_our_measurement():
    """The checks behind findings.py: GD's baseline is the best shared step, L-BFGS from random
    starts finds the same lower minimum 2.62482 (no other), and restricted to diagonal A, B the
    optimum is GD's, so the finding is the model's, not the optimiser's or the baseline's."""
    from derivations.sander2024.closed_forms import (
        best_shared_eta,
        eta_star_shared,
        isotropic_loss,
        one_step_gd_loss,
    )
    from derivations.sander2024.data import quadrature_data
    from derivations.sander2024.direct_augmented import BlockLinearAttention, block_minimise

    d, T = 2, 6
    data = quadrature_data("unitary", d, T, 3 * T - 3)
    gd = isotropic_loss(d, T, eta_star_shared(d, T))
    eta = best_shared_eta(data.S, data.weights)
    assert abs(one_step_gd_loss(data.S, data.weights, eta) - gd) < 1e-12
    for e in (0.9 * eta, 1.1 * eta):  # the least-squares step is the best single step
        assert one_step_gd_loss(data.S, data.weights, e) > gd
    model = BlockLinearAttention(d)
    rng = np.random.default_rng(3)
    losses = [block_minimise(model, data, {"A": 0.5 * rng.standard_normal((d, d)),
                                           "B": 0.5 * rng.standard_normal((d, d))})[1] for _ in range(3)]
    assert max(losses) - min(losses) < 1e-9 and abs(min(losses) - 2.6248197163) < 1e-8
    _, diag, g = block_minimise(model, data, {"A": np.diag([0.4, 0.7]), "B": np.diag([0.8, 0.5])}, diagonal=True)
    assert abs(diag - gd) < 1e-9 and g < 1e-6
    # the same minimiser on random-phase data is GD's (a rotation-invariant s_0 restores the statement)
    rnd = quadrature_data("unitary", d, T, T, "random_phase")
    _, lr, _ = block_minimise(model, rnd, {"A": 0.5 * rng.standard_normal((d, d)),
                                          "B": 0.5 * rng.standard_normal((d, d))})
    assert abs(lr - gd) < 1e-9


def test_findings_are_registered_with_their_claims():
    from derivations.sander2024.findings import FINDINGS

    assert V.derivation.findings == FINDINGS
    assert [f.claim for f in FINDINGS] == ["sander2024.block-equals-gd.fixed"]
    assert all(f.bears_on == "paper" for f in FINDINGS)
    # a finding never makes a holding claim green: if the claim held, the verdict would be fail
    from derivations.sander2024.closed_forms import eta_star_shared, isotropic_loss
    from dynamics.claims import apply_findings

    e = eta_star_shared(2, 6)
    L = isotropic_loss(2, 6, e)
    held, _ = apply_findings([cl.claim_block_gd("fixed", e, 0.0, L, 2, 6)], FINDINGS)
    assert held[0].verdict == "fail"
    found, _ = apply_findings([cl.claim_block_gd("fixed", 0.4569, 0.385, 2.6248, 2, 6)], FINDINGS)
    assert found[0].verdict == "finding"


def test_heads_not_orthogonal_follows_the_haar_law():
    """H > d: the mean of r^2 over seeds is (H-d)/(H+2); wrong laws are rejected."""
    from derivations.sander2024.closed_forms import haar_offdiag_r2_mean, haar_offdiag_r2_sd
    from derivations.sander2024.direct_nonaugmented import n1_gd_batch, offdiag_ratio_batch

    sizes, K = [(2, 3), (3, 5)], 256
    means, sds = [], []
    for i, (d, H) in enumerate(sizes):
        run = n1_gd_batch(d, H, 4, K, np.random.default_rng(100 + i))
        assert run["converged"].all()
        means.append(float(np.mean(offdiag_ratio_batch(run["A"], run["B"]) ** 2)))
        sds.append(haar_offdiag_r2_sd(d, H, np.random.default_rng(i), n=20_000))
    tol = cl.heads_tolerance(sds, K)
    assert 0.02 < tol < 0.03
    assert cl.claim_heads_not_orthogonal(sizes, means, tol, K).passed
    # negative controls: orthogonal heads; the uniform-leverage value (H-d)/H; (H-d)/(H+1)
    for wrong in ([0.0, 0.0], [(H - d) / H for d, H in sizes], [(H - d) / (H + 1) for d, H in sizes]):
        assert not cl.claim_heads_not_orthogonal(sizes, means, tol, K, predicted=wrong).passed
    assert [haar_offdiag_r2_mean(d, H) for d, H in sizes] == [0.2, 2 / 7]


def test_pe_steps_claim_and_negative_controls():
    """PE-only: the number of GD steps to loss < 1e-3 from the spectrum equals the trained count."""
    from derivations.sander2024.closed_forms import pe_only_spectra, pe_only_steps_to
    from derivations.sander2024.data import pe_only_quadrature
    from derivations.sander2024.direct_pe_only import PEOnly, train_until

    T_, mus = 12, [50.0, 200.0]
    model = PEOnly(T=T_)
    pred, meas = [], []
    for mu in mus:
        sp_ = pe_only_spectra(mu, T_)
        pred.append(pe_only_steps_to(sp_, T_, 0.5))
        meas.append(train_until(model, model.init(np.random.default_rng(0)), pe_only_quadrature(mu, T_), lr=0.5)[1])
        assert pe_only_steps_to(sp_, T_, 0.5, reduction="sum") > 100_000  # lr 0.5 on the summed loss diverges
    assert cl.claim_pe_steps(mus, pred, meas).passed
    assert not cl.claim_pe_steps(mus, [k + 1 for k in pred], meas).passed  # off by one step
    half = [pe_only_steps_to(pe_only_spectra(mu, T_), T_, 0.25) for mu in mus]
    assert not cl.claim_pe_steps(mus, half, meas).passed  # half the learning rate: about twice the steps
    assert not cl.claim_pe_steps(mus, pred[::-1], meas).passed


@pytest.mark.slow
def test_verify_sander2024(tmp_path):
    import json

    from dynamics.cli import main

    rc = main(["verify", "sander2024", "--out", str(tmp_path), "--quiet"])
    summary = json.loads((tmp_path / "sander2024" / "summary.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in summary["claims"]}
    assert {k for k, v in verdicts.items() if v != "pass"} == {"sander2024.block-equals-gd.fixed"}
    assert verdicts["sander2024.block-equals-gd.fixed"] == "finding" and rc == 0
    ids = list(verdicts)  # the finding is shown next to the claims that bound its scope
    i = ids.index("sander2024.block-equals-gd.fixed")
    assert ids[i - 1 : i + 3] == ["sander2024.block-equals-gd.random_phase", "sander2024.block-equals-gd.fixed",
                                  "sander2024.block-equals-gd.fixed-diagonal", "sander2024.unconstrained-vs-gd"]
    info = summary["figure_info"]
    for f in ("n0_structure.png", "pe_profiles.png", "augmented_vs_gd.png", "heads_offdiag.png",
              "min_loss_vs_heads.png", "fig3_authors.png", "haar_authors.png"):
        assert (tmp_path / "sander2024" / f).exists()
        assert len(info[f]["caption"]) > 80
        assert set(info[f]["claims"]) <= set(ids)
    assert "sander2024.block-equals-gd.fixed" in info["augmented_vs_gd.png"]["claims"]
    assert {c["source"] for c in summary["claims"]} <= {"paper", "derived", "reconstruction", "calibration"}


def test_direct_claims_negative_controls():
    assert cl.claim_n1_quadrature(3e-16).passed and not cl.claim_n1_quadrature(1e-6).passed
    assert cl.claim_gd_map(1e-15, 10).passed and not cl.claim_gd_map(1e-6, 10).passed
    assert cl.claim_gd_drift(2.1).passed and not cl.claim_gd_drift(4.0).passed
    assert cl.claim_rotation([1, 2], [6.0, 0.0], [-0.5, -0.5], 4, 4).passed
    assert not cl.claim_rotation([1, 2], [6.0, 0.0], [-1.0, -0.5], 4, 4).passed  # wrong trig ratio
    assert cl.claim_pe_frequency([50.0, 100.0], [0.07, 0.03]).passed
    assert not cl.claim_pe_frequency([50.0, 100.0], [0.03, 0.07]).passed


def test_settings_are_the_set_fields_and_refuse_bad_sizes():
    """``--set`` goes through Derivation.make_settings into the one Settings dataclass; a bad size
    is refused naming the field, before any work."""
    from dynamics.registry import SettingsError

    s = V.derivation.make_settings({"d_aug": "3", "n_aug": "20"})
    assert isinstance(s, V.Settings) and (s.d_aug, s.n_aug, s.T_n0) == (3, 20, 4)
    for field, value in (("T_n0", "1"), ("d_n0", "0"), ("d_n0", "4"), ("init_scale", "1.5")):
        with pytest.raises(SettingsError, match=field.split("_")[0]):
            V.derivation.make_settings({field: value})
