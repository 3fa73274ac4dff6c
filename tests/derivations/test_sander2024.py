"""sander2024: monomial derivations, reduced flows, and every claim with a negative control."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

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
    assert V.claim_derivation("A1", diff, [(d, t)]).passed
    # negative control: a formula with the wrong cross-term weight is detected
    wrong = a1_formula(d, t, a, b, [x**2 for x in r]) + sp.Rational(1, 10) * a[0] ** 2
    assert not V.claim_derivation("A1", augmented_position_loss(d, t, a, b, r) - wrong, [(d, t)]).passed


def test_n1_is_derived_not_typed():
    d, n = 3, 3
    C = [[sp.Symbol(f"C{i}_{k}", real=True) for k in range(d)] for i in range(d)]
    p = sp.symbols(f"p0:{n + 1}", real=True)
    derived = nonaug_row_loss(d, n, C, p, expand=True)
    assert V.claim_derivation("N1", derived - n1_formula(d, n, C, p), [(d, n)]).passed
    # the authors' coded variant double-counts p_q^2 ||C||_F^2 (spec 3.2): it must not match
    coded = n1_formula(d, n, C, p) + p[n - 1] ** 2 * sum(C[i][k] ** 2 for i in range(d) for k in range(d))
    assert not V.claim_derivation("N1", derived - coded, [(d, n)]).passed


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
    assert V.claim_eta_single(3, 4, ab, float(tr.loss[-1])).passed
    assert not V.claim_eta_single(3, 4, ab, float(tr.loss[-1]), predicted=(1 / 4, 1 / 3)).passed  # eta = 1/t


def test_eta_star_shared_and_balance():
    m = augmented_shared_model(3, 10)
    tr = integrate(m, {"alpha": 0.1, "beta": 0.05}, t_max=1e4)
    assert V.claim_eta_shared(3, 10, float(tr["eta"][-1]), float(tr.loss[-1])).passed
    assert not V.claim_eta_shared(3, 10, float(tr["eta"][-1]), float(tr.loss[-1]),
                                  predicted=(3 / 10, float(tr.loss[-1]))).passed
    drift = float(np.max(np.abs(tr["balance"] - tr["balance"][0])))
    assert V.claim_balance(drift).passed
    assert not V.claim_balance(float(np.ptp(tr["eta"]))).passed  # alpha*beta is not conserved


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
    assert V.claim_min_loss([1, 2, 3], losses, d, T).passed
    assert not V.claim_min_loss([1, 2, 3], [losses[0] + 1, *losses[1:]], d, T).passed
    ortho, not_ortho = V.claim_heads(le, gt)
    assert ortho.passed and not_ortho.passed
    assert not V.claim_heads(gt, le)[0].passed
    assert V.claim_pe(cP, others).passed
    assert not V.claim_pe([2 * x for x in cP], others).passed
    assert V.claim_conserved(q).passed
    assert not V.claim_conserved(1e-3).passed


def test_scale_claim_negative_control():
    assert V.claim_scale([1, 2], [3.0, 1.5], 2, 4).passed
    assert not V.claim_scale([1, 2], [3.0, 3.0], 2, 4).passed  # |c|^3 = T-1 ignores min(H, d)


def test_augmented_claims_negative_controls():
    from derivations.sander2024.augmented import eta_star_shared, isotropic_loss

    e, L = eta_star_shared(2, 6), isotropic_loss(2, 6, eta_star_shared(2, 6))
    assert V.claim_block_gd("random_phase", e, 1e-15, L, 2, 6).passed
    assert not V.claim_block_gd("fixed", 0.4569, 0.385, 2.6248, 2, 6).passed  # the fixed-s0 finding
    assert V.claim_unconstrained(2.786, 2.23, 2.786, 2.786).passed
    assert not V.claim_unconstrained(2.786, 2.786, 2.786, 2.786).passed  # no gain with fixed s0


@pytest.mark.slow
def test_verify_sander2024(tmp_path):
    import json

    from dynamics.cli import main

    rc = main(["verify", "sander2024", "--out", str(tmp_path), "--quiet"])
    summary = json.loads((tmp_path / "sander2024" / "summary.json").read_text())
    failed = [c["id"] for c in summary["claims"] if not c["passed"]]
    assert failed == ["sander2024.block-equals-gd.fixed"] and rc == 1  # the documented finding only
    for f in ("n0_structure.png", "pe_profiles.png"):
        assert (tmp_path / "sander2024" / f).exists()


def test_direct_claims_negative_controls():
    assert V.claim_n1_quadrature(3e-16).passed and not V.claim_n1_quadrature(1e-6).passed
    assert V.claim_gd_map(1e-15, 10).passed and not V.claim_gd_map(1e-6, 10).passed
    assert V.claim_gd_drift(2.1).passed and not V.claim_gd_drift(4.0).passed
    assert V.claim_rotation([1, 2], [6.0, 0.0], [-0.5, -0.5], 4, 4).passed
    assert not V.claim_rotation([1, 2], [6.0, 0.0], [-1.0, -0.5], 4, 4).passed  # wrong trig ratio
    assert V.claim_pe_frequency([50.0, 100.0], [0.07, 0.03]).passed
    assert not V.claim_pe_frequency([50.0, 100.0], [0.03, 0.07]).passed
