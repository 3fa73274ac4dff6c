"""sander2024 non-augmented direct models: gradients, the exact reduced loss (N1), global
minima and head orthogonality under GD, the rotation-block trigonometric PE, and the PE-only
oscillating profiles (spec 1.3, 1.4, 3.2-3.4, 6)."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.sander2024.closed_forms import min_loss_formula, n1_loss, pe_only_population_loss
from derivations.sander2024.data import pe_only_data, pe_only_quadrature
from derivations.sander2024.direct_nonaugmented import (
    C_matrix,
    DiagonalMultiHead,
    c_scale,
    conserved,
    head_offdiag_ratio,
    pe_mask,
)
from derivations.sander2024.direct_pe_only import (
    PEOnly,
    oscillation_frequency,
    pe_only_profile,
    train_until,
)
from dynamics.direct import DirectModel, assert_grad_ok, train

T = 4


# ------------------------------------------------------------------ private data
def unitary_quadrature(d: int, T: int, n: int) -> dict[str, np.ndarray]:
    """$s_t = \\Lambda^t \\mathbf 1$, $\\lambda_k$ on a uniform grid of ``n`` angles per
    coordinate (exact for trigonometric polynomials of degree < n)."""
    g = np.exp(2j * np.pi * np.arange(n) / n)  # (n,)
    lam = np.stack(np.meshgrid(*([g] * d), indexing="ij"), -1).reshape(-1, d)  # (n^d, d)
    S = lam[:, None, :] ** np.arange(T + 1)[None, :, None]  # (n^d, T+1, d)
    return {"S": S, "weight": np.full(len(S), 1.0 / len(S))}


def rotation_quadrature(d: int, T: int, n: int) -> dict[str, np.ndarray]:
    """Real $2\\times2$ rotation blocks, $s_0 = \\mathbf 1$, ``n`` uniform angles per block."""
    m = d // 2
    th = 2 * np.pi * np.arange(n) / n  # (n,)
    grid = np.stack(np.meshgrid(*([th] * m), indexing="ij"), -1).reshape(-1, m)  # (n^m, m)
    ang = grid[:, None, :] * np.arange(T + 1)[None, :, None]  # (n^m, T+1, m)
    S = np.empty((len(grid), T + 1, d))  # (n^m, T+1, d)
    S[:, :, 0::2] = np.cos(ang) - np.sin(ang)  # R(theta)^t (1, 1)
    S[:, :, 1::2] = np.sin(ang) + np.cos(ang)
    return {"S": S, "weight": np.full(len(grid), 1.0 / len(grid))}


def haar_data(d: int, T: int, N: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Haar-orthogonal $W$ per sequence, $s_0 = \\mathbf 1/\\sqrt d$, random weights."""
    Z = rng.standard_normal((N, d, d))  # (N, d, d)
    Q, R = np.linalg.qr(Z)  # (N, d, d)
    W = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]  # (N, d, d)
    S = np.empty((N, T + 1, d))  # (N, T+1, d)
    S[:, 0] = 1 / np.sqrt(d)
    for t in range(T):
        S[:, t + 1] = np.einsum("nij,nj->ni", W, S[:, t])
    return {"S": S, "weight": rng.uniform(0.5, 1.5, N)}


U_DATA = unitary_quadrature(2, T, 2 * T - 1)  # max frequency of |residual|^2 is 2T-2
ROT_DATA = rotation_quadrature(4, T, 6 * T - 7)  # max frequency 6T-8


# ------------------------------------------------------------------- gradients
def test_models_satisfy_direct_model_protocol():
    assert isinstance(DiagonalMultiHead(), DirectModel)
    assert isinstance(PEOnly(), DirectModel)


@pytest.mark.parametrize("H", [1, 2, 3])
def test_gradient_complex_unitary(H):
    m = DiagonalMultiHead(d=2, H=H, T=T)
    p = m.init(np.random.default_rng(H), scale=0.5)
    assert_grad_ok(lambda q: m.loss_and_grad(q, U_DATA), p, atol=1e-8)


def test_gradient_real_rotation_blocks():
    m = DiagonalMultiHead(d=4, H=2, T=T)
    p = m.init(np.random.default_rng(7), scale=0.5)
    assert_grad_ok(lambda q: m.loss_and_grad(q, ROT_DATA), p, atol=1e-8)


def test_gradient_real_haar_weighted():
    rng = np.random.default_rng(3)
    m = DiagonalMultiHead(d=3, H=2, T=5)
    data = haar_data(3, 5, 40, rng)
    p = m.init(rng, scale=0.5)
    assert_grad_ok(lambda q: m.loss_and_grad(q, data), p)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gradient_pe_only(reduction):
    rng = np.random.default_rng(4)
    m = PEOnly(T=8, reduction=reduction)
    data = pe_only_data(5.0, 8, 64, rng)
    p = m.init(rng, scale=0.3)
    assert_grad_ok(lambda q: m.loss_and_grad(q, data), p)


def test_negative_control_gradient_check_catches_wrong_gradients():
    m = DiagonalMultiHead(d=2, H=2, T=T)
    p = m.init(np.random.default_rng(11), scale=0.5)
    _, g = m.loss_and_grad(p, U_DATA)
    # a plausible bug: dL/dB = A dC instead of A dC^T (dC recovered from dL/dA = B dC)
    dC = np.linalg.solve(p["B"], g["A"])  # (2, 2)
    assert not np.allclose(dC, dC.T)
    wrong = {**g, "B": p["A"] @ dC}
    with pytest.raises(AssertionError, match=r"worst entry B"):
        assert_grad_ok(lambda q: m.loss_and_grad(q, U_DATA)[0], p, grads=wrong, atol=1e-8)
    # a 1e-3 relative error in a single PE entry is caught too
    bumped = {k: v.copy() for k, v in g.items()}
    bumped["P"][1, 2] *= 1.001
    with pytest.raises(AssertionError, match=r"worst entry P\[1, 2\]"):
        assert_grad_ok(lambda q: m.loss_and_grad(q, U_DATA)[0], p, grads=bumped, atol=1e-8)


def test_masked_pe_entries_have_zero_gradient_and_never_move():
    m = DiagonalMultiHead(d=2, H=2, T=T)
    p0 = m.init(np.random.default_rng(0))
    _, g = m.loss_and_grad(p0, U_DATA)
    mask = pe_mask(T)
    assert mask.sum() == sum(t + 2 for t in range(T - 1))
    assert not mask[T - 1].any()  # the last row is never used
    assert np.all(g["P"][~mask] == 0.0)
    _, p = train(m, p0, U_DATA, lr=1e-2, steps=50)
    assert np.array_equal(p["P"][~mask], p0["P"][~mask])
    assert not np.array_equal(p["P"][mask], p0["P"][mask])


# ----------------------------------------------------------- reduced loss (N1)
@pytest.mark.parametrize("H", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_quadrature_loss_equals_n1(H, seed):
    """Spec 6.1: on unit-modulus unitary data the exact quadrature loss of (N0) is (N1)."""
    m = DiagonalMultiHead(d=2, H=H, T=T)
    p = m.init(np.random.default_rng(seed), scale=0.7)
    loss, _ = m.loss_and_grad(p, U_DATA)
    assert loss == pytest.approx(n1_loss(C_matrix(p), p["P"], T), rel=1e-12, abs=1e-12)
    # a finer grid gives the same value: the quadrature is exact, not just converged
    fine, _ = m.loss_and_grad(p, unitary_quadrature(2, T, 4 * T + 3))
    assert fine == pytest.approx(loss, rel=1e-12)


def test_reduce_names_and_order():
    m = DiagonalMultiHead(d=2, H=3, T=T)
    p = m.init(np.random.default_rng(0))
    red = m.reduce(p)
    assert tuple(red) == m.reduced_names()
    names = list(red)
    assert names[:6] == ["A0_0", "A0_1", "A1_0", "A1_1", "A2_0", "A2_1"]
    assert names[6] == "B0_0" and names[12] == "P0_0"
    assert names[12:] == ["P0_0", "P0_1", "P1_0", "P1_1", "P1_2", "P2_0", "P2_1", "P2_2", "P2_3"]
    assert red["A2_1"] == p["A"][2, 1] and red["P2_3"] == p["P"][2, 3]


def test_min_loss_formula_values():
    assert min_loss_formula("unitary", 2, 1, 4) == 3.0
    assert min_loss_formula("unitary", 2, 3, 4) == 0.0
    assert min_loss_formula("rotation", 4, 1, 4) == 6.0
    assert min_loss_formula("rotation", 4, 3, 4) == 0.0
    assert min_loss_formula("unitary", 10, 4, 20) == 19 * 6


# ------------------------------------------------------------ GD: global minima
@pytest.mark.parametrize("H", [1, 2, 3])
def test_unitary_gd_reaches_min_loss_with_orthogonal_heads(H):
    """Spec 3.2 / 6.2-6.6: loss -> (T-1)(d - min(H,d)), B^T A = c Pi, A B^T = c I_H for
    H <= d, P[t, t+1] = 1/c and the rest of P -> 0, |c|^3 ~ (T-1)/min(H,d) (small init)."""
    d = 2
    m = DiagonalMultiHead(d=d, H=H, T=T)
    p0 = m.init(np.random.default_rng(1))
    traj, p = train(m, p0, U_DATA, lr=1e-2, steps=2000)
    assert traj.loss[-1] == pytest.approx(min_loss_formula("unitary", d, H, T), abs=1e-8)
    c = c_scale(p)
    C = C_matrix(p)
    Pi = C / c
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-6)
    np.testing.assert_allclose(Pi, Pi.T, atol=1e-6)
    assert np.trace(Pi) == pytest.approx(min(H, d), abs=1e-6)
    ratio = head_offdiag_ratio(p)
    if H <= d:
        assert ratio < 1e-8
    else:
        assert ratio > 0.1  # rank(A B^T) <= d < H: cannot be c I_H
    mask = pe_mask(T)
    last = np.array([p["P"][t, t + 1] for t in range(T - 1)])  # (T-1,)
    np.testing.assert_allclose(c * last, 1.0, atol=1e-6)
    rest = p["P"] * mask
    for t in range(T - 1):
        rest[t, t + 1] = 0.0
    assert np.max(np.abs(rest)) < 1e-6
    assert abs(c) ** 3 == pytest.approx((T - 1) / min(H, d), rel=0.03)
    q0, q1 = conserved(p0), conserved(p)
    assert abs(q1["Q"] - q0["Q"]) < 0.05
    for k in q0:
        if k.startswith("D"):
            assert abs(q1[k] - q0[k]) < 0.02


@pytest.mark.parametrize("H", [1, 2])
def test_rotation_gd_reaches_min_loss_with_trigonometric_pe(H):
    """Spec 3.3 / 6.2, 6.4: loss -> (T-1)(d-2H)_+, P[t,t]/P[t,t+1] -> -1/2, c P[t,t+1] -> 1,
    B^T A = c blockdiag(J_2) on the H served planes."""
    d = 4
    m = DiagonalMultiHead(d=d, H=H, T=T)
    traj, p = train(m, m.init(np.random.default_rng(1)), ROT_DATA, lr=1e-2, steps=3000)
    assert traj.loss[-1] == pytest.approx(min_loss_formula("rotation", d, H, T), abs=1e-8)
    P = p["P"]
    for t in range(T - 1):
        assert P[t, t] / P[t, t + 1] == pytest.approx(-0.5, abs=1e-6)
        assert c_scale(p, "rotation") * P[t, t + 1] == pytest.approx(1.0, abs=1e-6)
    C = C_matrix(p)
    blocks = [C[2 * b : 2 * b + 2, 2 * b : 2 * b + 2] for b in range(d // 2)]
    served = [b for b in blocks if np.abs(b).max() > 1e-3]
    assert len(served) == H
    for b in served:
        np.testing.assert_allclose(b, b[0, 0] * np.ones((2, 2)), atol=1e-6)
    off = C.copy()
    off[:2, :2] = off[2:, 2:] = 0.0
    assert np.abs(off).max() < 1e-6


# ---------------------------------------------------------------------- PE-only
def test_pe_only_quadrature_matches_closed_form_and_n0():
    T_ = 8
    rng = np.random.default_rng(0)
    P = rng.standard_normal((T_, T_)) * 0.3
    for mu in (1.0, 7.0, 50.0):
        data = pe_only_quadrature(mu, T_, 64)
        for red in ("mean", "sum"):
            loss, _ = PEOnly(T=T_, reduction=red).loss_and_grad({"P": P}, data)
            assert loss == pytest.approx(pe_only_population_loss(P, mu, red), rel=1e-12)
    # the uniform grid is exact on the full circle (mu = 1) only
    uni, _ = PEOnly(T=T_).loss_and_grad({"P": P}, pe_only_quadrature(1.0, T_, 64, "uniform"))
    assert uni == pytest.approx(pe_only_population_loss(P, 1.0), rel=1e-12)
    # PE-only with reduction "sum" is (N0) with d = 1 and a = b = 1
    data = pe_only_data(20.0, T_, 32, rng)
    one = {"A": np.ones((1, 1)), "B": np.ones((1, 1)), "P": P}
    l_n0, g_n0 = DiagonalMultiHead(d=1, H=1, T=T_).loss_and_grad(one, data)
    l_pe, g_pe = PEOnly(T=T_, reduction="sum").loss_and_grad({"P": P}, data)
    assert l_pe == pytest.approx(l_n0, rel=1e-13)
    np.testing.assert_allclose(g_pe["P"], g_n0["P"], rtol=1e-12, atol=1e-14)


def test_pe_only_frequency_grows_as_mu_shrinks():
    """Spec 3.4 / 6.9: GD from P = 0 at lr 0.5, stopped at loss < 1e-3, learns an
    oscillating profile whose frequency grows as mu shrinks; the population minimum is 0
    at P[t, t+1] = 1 but the learned super-diagonal is far from 1."""
    T_ = 12
    model = PEOnly(T=T_)
    freq = {}
    for mu in (50.0, 200.0):
        data = pe_only_quadrature(mu, T_, 64)
        p, steps, loss = train_until(model, model.init(np.random.default_rng(0)), data, lr=0.5)
        assert loss < 1e-3 and 0 < steps < 2000
        prof = pe_only_profile(p["P"])
        assert prof.shape == (T_ - 1,)
        freq[mu] = oscillation_frequency(prof)
        assert oscillation_frequency(prof, "sign") > 0
        assert abs(p["P"][T_ - 2, T_ - 1] - 1.0) > 0.3
    assert freq[50.0] > 1.2 * freq[200.0]


# ------------------------------------------------------- many seeds and step counts
def test_n1_gd_batch_step_is_the_gradient_of_n1():
    """One update of the batched GD equals A - lr grad n1_loss (central differences)."""
    from derivations.sander2024.direct_nonaugmented import n1_gd_batch

    d, H, T_, K, s, lr = 2, 3, 4, 2, 0.3, 1e-3
    rng = np.random.default_rng(7)
    A0 = s * rng.standard_normal((K, H, d))
    B0 = s * rng.standard_normal((K, H, d))
    P0 = s * rng.standard_normal((K, T_ - 1, T_)) * pe_mask(T_)[: T_ - 1]
    out = n1_gd_batch(d, H, T_, K, np.random.default_rng(7), scale=s, lr=lr, tol=-1.0, chunk=1, max_steps=1)
    assert out["steps"] == 1
    for k in range(K):
        x0 = np.concatenate([A0[k].ravel(), B0[k].ravel(), P0[k].ravel()])

        def f(x, k=k):
            A = x[: H * d].reshape(H, d)
            B = x[H * d : 2 * H * d].reshape(H, d)
            P = np.zeros((T_, T_))
            P[: T_ - 1] = x[2 * H * d :].reshape(T_ - 1, T_)
            return n1_loss(B.T @ A, P, T_)

        g = np.array([(f(x0 + 1e-6 * e) - f(x0 - 1e-6 * e)) / 2e-6 for e in np.eye(x0.size)])
        g[2 * H * d :] *= pe_mask(T_)[: T_ - 1].ravel()
        x1 = np.concatenate([out["A"][k].ravel(), out["B"][k].ravel(), out["P"][k].ravel()])
        np.testing.assert_allclose(x1, x0 - lr * g, atol=1e-10)
        assert out["loss"][k] == pytest.approx(f(x1), rel=1e-12)


def test_haar_offdiag_mean_and_balanced_identity():
    from derivations.sander2024.closed_forms import haar_offdiag_r2_mean, leverage_offdiag_r2
    from derivations.sander2024.direct_nonaugmented import offdiag_ratio_batch

    rng = np.random.default_rng(0)
    for d, H in ((2, 3), (2, 6), (4, 5)):
        U, _ = np.linalg.qr(rng.standard_normal((40_000, H, d)))
        r2 = leverage_offdiag_r2(U)
        assert abs(r2.mean() - haar_offdiag_r2_mean(d, H)) < 4 * r2.std() / 200
        assert abs(r2.mean() - (H - d) / H) > 0.03  # the uniform-leverage value is not the mean
        # balanced minimiser A = B = sqrt(c) U: the ratio of A B^T is the leverage formula
        np.testing.assert_allclose(offdiag_ratio_batch(U[:50], U[:50]) ** 2, r2[:50], atol=1e-12)
    with pytest.raises(ValueError):
        haar_offdiag_r2_mean(3, 2)


def test_pe_only_loss_curve_matches_gd_and_monte_carlo_counts():
    """The closed-form GD loss curve equals the loss of actual GD iterates, with population
    moments on quadrature data and with empirical moments on Monte-Carlo data."""
    from derivations.sander2024.closed_forms import (
        pe_only_gd_loss_curve,
        pe_only_spectra,
        pe_only_steps_to,
    )

    T_, mu, lr = 8, 20.0, 0.5
    model = PEOnly(T=T_)
    p = model.init(np.random.default_rng(0))
    losses = []
    for _ in range(30):
        loss, g = model.loss_and_grad(p, pe_only_quadrature(mu, T_))
        losses.append(loss)
        p = {"P": p["P"] - lr * g["P"]}
    curve = pe_only_gd_loss_curve(pe_only_spectra(mu, T_), T_, lr, np.arange(30))
    np.testing.assert_allclose(curve, losses, rtol=1e-10)
    data = pe_only_data(mu, T_, 200, np.random.default_rng(1))
    sp_mc = pe_only_spectra(mu, T_, data["theta"])
    k_mc = pe_only_steps_to(sp_mc, T_, lr, tol=1e-2)
    assert train_until(model, model.init(np.random.default_rng(0)), data, lr=lr, tol=1e-2)[1] == k_mc


def test_train_until_is_the_authors_stopping_rule_bit_for_bit():
    """train_until (run by dynamics.direct.train with stop_when) equals the plain loop: GD,
    loss checked before each update, stop without updating at the first loss < tol."""
    T_, mu, lr, tol = 12, 50.0, 0.5, 1e-2
    model = PEOnly(T=T_)
    data = pe_only_quadrature(mu, T_)
    theta = {"P": np.zeros((T_, T_))}
    loss, grads = model.loss_and_grad(theta, data)
    k = 0
    while loss >= tol:
        theta = {"P": theta["P"] - lr * grads["P"]}
        k += 1
        loss, grads = model.loss_and_grad(theta, data)
    p, steps, end_loss = train_until(model, model.init(np.random.default_rng(0)), data, lr=lr, tol=tol)
    assert k > 10 and steps == k and end_loss == loss
    assert np.array_equal(p["P"], theta["P"])
    # negative control: a cap below the crossing stops at the cap with the loss still above tol
    _, capped, capped_loss = train_until(model, model.init(np.random.default_rng(0)), data, lr=lr, tol=tol,
                                         max_steps=k - 1)
    assert capped == k - 1 and capped_loss >= tol
