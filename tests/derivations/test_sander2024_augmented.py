"""sander2024 augmented setting: data laws, exact quadrature, gradients of the block (A0) and
unconstrained linear attention, and the one-step-GD claims of spec 2 and 3.1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.sander2024.closed_forms import (
    best_shared_eta,
    eta_star,
    eta_star_shared,
    isotropic_loss,
    one_step_gd_loss,
    one_step_gd_predict,
)
from derivations.sander2024.data import (
    MAX_GRID,
    SeqData,
    expect,
    initial_state,
    mc_data,
    quadrature,
    quadrature_data,
    sample_W,
    sequences,
)
from derivations.sander2024.direct_augmented import (
    BlockLinearAttention,
    LinearAttention,
    augment,
    block_to_linear,
)
from dynamics.direct import DirectModel, assert_grad_ok, check_grad, train

T = 6  # positions 0..T-1, i.e. n = T in spec 3.1


# ------------------------------------------------------------------------------ data
@pytest.mark.parametrize("kind,d", [("unitary", 3), ("rotation", 4), ("haar", 3)])
def test_context_matrices_are_orthogonal_or_unitary(kind, d):
    W = sample_W(kind, d, 50, np.random.default_rng(0))  # (50, d, d)
    assert W.shape == (50, d, d)
    assert np.iscomplexobj(W) == (kind == "unitary")
    eye = np.einsum("nji,njk->nik", W.conj(), W)  # (50, d, d)
    assert np.allclose(eye, np.eye(d), atol=1e-12)


def test_haar_matrices_do_not_commute_but_rotations_do():
    rng = np.random.default_rng(1)
    H = sample_W("haar", 3, 2, rng)  # (2, 3, 3)
    R = sample_W("rotation", 4, 2, rng)  # (2, 4, 4)
    assert np.linalg.norm(H[0] @ H[1] - H[1] @ H[0]) > 1e-3
    assert np.allclose(R[0] @ R[1], R[1] @ R[0], atol=1e-12)


@pytest.mark.parametrize("kind,d", [("unitary", 2), ("rotation", 4), ("haar", 3)])
@pytest.mark.parametrize("mode", ["fixed", "random_phase"])
def test_sequences_are_noiseless_autoregressive_with_unit_norm(kind, d, mode):
    S = sequences(kind, d, 5, 40, mode, np.random.default_rng(2))  # (40, 6, d)
    assert S.shape == (40, 6, d)
    assert np.allclose(np.linalg.norm(S, axis=2), 1.0, atol=1e-12)
    s0 = initial_state(kind, d, 3, mode, np.random.default_rng(3))  # (3, d)
    assert np.allclose(np.linalg.norm(s0, axis=1), 1.0)
    if mode == "fixed":
        assert np.allclose(S[:, 0], 1 / math.sqrt(d))
    if kind == "unitary":  # s_{t+1} = lambda * s_t entrywise with |lambda| = 1
        lam = S[:, 1:] / S[:, :-1]  # (40, 5, d)
        assert np.allclose(lam, lam[:, :1], atol=1e-12)


def test_data_argument_errors_are_clear():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown kind"):
        sample_W("orthogonal", 2, 3, rng)
    with pytest.raises(ValueError, match="even d"):
        sample_W("rotation", 3, 3, rng)
    with pytest.raises(ValueError, match="N must be"):
        sample_W("haar", 3, 0, rng)
    with pytest.raises(ValueError, match="T must be"):
        sequences("unitary", 2, 0, 3, "fixed", rng)
    with pytest.raises(ValueError, match="s0_mode"):
        initial_state("unitary", 2, 3, "random", rng)
    with pytest.raises(ValueError, match="exceeds"):
        quadrature("unitary", 4, 3, 40)
    with pytest.raises(ValueError, match="Monte Carlo"):
        quadrature("haar", 3, 3, 5)
    with pytest.raises(ValueError, match="sum to 1"):
        SeqData(np.zeros((2, 3, 1)), np.array([0.2, 0.2]))
    assert 40**4 > MAX_GRID


# ------------------------------------------------------------------------ quadrature
def test_unitary_grid_integrates_trigonometric_monomials_exactly():
    S, w = quadrature("unitary", 2, 1, 7)  # (49, 2, 2), (49,)
    assert math.isclose(w.sum(), 1.0)
    lam = S[:, 1] / S[:, 0]  # (49, 2)
    for k in range(1, 7):  # E lambda^k = 0 for 0 < k < n_angles
        assert abs(expect(lam[:, 0] ** k, w)) < 1e-14
        assert abs(expect(lam[:, 0] ** k * lam[:, 1].conj() ** 3, w)) < 1e-14
    assert abs(expect(lam[:, 0] ** 7, w) - 1.0) < 1e-13  # aliasing at k = n_angles
    assert abs(expect(np.abs(lam[:, 0] + lam[:, 1]) ** 2, w) - 2.0) < 1e-13


def test_rotation_grid_integrates_cos_moments_exactly():
    d = 4
    S, w = quadrature("rotation", d, 1, 5)  # (25, 2, 4), (25,)
    s1 = S[:, 1] * math.sqrt(d)  # (25, 4)  per block (c - s, s + c)
    c = (s1[:, 0::2] + s1[:, 1::2]) / 2  # (25, 2)  cos(theta_m)
    assert abs(expect(c[:, 0] ** 2, w) - 0.5) < 1e-14
    assert abs(expect(c[:, 0] ** 4, w) - 3 / 8) < 1e-14
    assert abs(expect(c[:, 0] ** 2 * c[:, 1] ** 2, w) - 0.25) < 1e-14


def test_random_phase_grid_includes_the_phases():
    S, w = quadrature("unitary", 2, 2, 3, "random_phase")  # 3^2 x 4^2 grid
    assert S.shape == (144, 3, 2) and math.isclose(w.sum(), 1.0)
    phase = S[:, 0] * math.sqrt(2)  # (144, 2)  e^{i phi}
    assert abs(expect(phase[:, 0], w)) < 1e-14
    assert abs(expect(phase[:, 0] ** 3 * phase[:, 1].conj() ** 2, w)) < 1e-14


@pytest.mark.parametrize(
    "model,n_exact",
    [
        (BlockLinearAttention(2, init_scale=0.8), 3 * 4 - 3),
        (LinearAttention(2, init_scale=0.5), 3 * 4 - 2),
    ],
)
def test_quadrature_is_exact_at_the_documented_grid_size(model, n_exact):
    """Unitary, fixed s0, T = 4: losses are trigonometric polynomials of degree 3T - 4
    (block) and 3T - 3 (linear attention); one grid point fewer is not exact."""
    p = model.init(np.random.default_rng(4))
    ref = model.loss_and_grad(p, quadrature_data("unitary", 2, 4, n_exact + 6))[0]
    exact = model.loss_and_grad(p, quadrature_data("unitary", 2, 4, n_exact))[0]
    short = model.loss_and_grad(p, quadrature_data("unitary", 2, 4, n_exact - 1))[0]
    assert abs(exact - ref) < 1e-12 * ref
    assert abs(short - ref) > 1e-8


def test_monte_carlo_loss_agrees_with_quadrature():
    model = BlockLinearAttention(2, init_scale=0.5)
    p = model.init(np.random.default_rng(5))
    exact = model.loss_and_grad(p, quadrature_data("rotation", 2, 4, 24))[0]
    S = sequences("rotation", 2, 4, 20000, "fixed", np.random.default_rng(6))  # (20000, 5, 2)
    per = np.sum(np.abs(model.predict(p, S) - S[:, 1:]) ** 2, axis=(1, 2))  # (20000,)
    assert abs(per.mean() - exact) < 5 * per.std() / math.sqrt(per.size)


# ------------------------------------------------------------------------ structure
def test_augmented_tokens_are_zero_state_previous_state():
    S = sequences("unitary", 2, 3, 4, "random_phase", np.random.default_rng(7))  # (4, 4, 2)
    E = augment(S)  # (4, 4, 6)
    assert E.shape == (4, 4, 6) and np.iscomplexobj(E)
    assert np.all(E[:, :, :2] == 0) and np.all(E[:, 0, 4:] == 0)
    assert np.array_equal(E[:, :, 2:4], S) and np.array_equal(E[:, 1:, 4:], S[:, :-1])


def test_block_model_is_linear_attention_with_two_blocks_and_gd_at_isotropy():
    rng = np.random.default_rng(8)
    S = sequences("haar", 3, 5, 7, "random_phase", rng)  # (7, 6, 3)
    A, B = rng.standard_normal((2, 3, 3))  # (3, 3) each
    block = BlockLinearAttention(3).predict({"A": A, "B": B}, S)  # (7, 5, 3)
    full = LinearAttention(3).predict(block_to_linear(A, B), S)  # (7, 5, 3)
    assert np.allclose(block, full, atol=1e-12)
    assert np.all(block[:, 0] == 0)  # position 0 has no in-context pair
    gd = one_step_gd_predict(S, 0.3 * 1.7)  # (7, 5, 3)
    iso = BlockLinearAttention(3).predict({"A": 0.3 * np.eye(3), "B": 1.7 * np.eye(3)}, S)
    assert np.allclose(gd, iso, atol=1e-12)


def test_models_satisfy_the_direct_model_protocol():
    assert isinstance(BlockLinearAttention(2), DirectModel)
    assert isinstance(LinearAttention(2), DirectModel)
    with pytest.raises(TypeError, match="SeqData"):
        not_data: object = np.zeros((1, 3, 2))
        BlockLinearAttention(2).loss_and_grad({"A": np.eye(2), "B": np.eye(2)}, not_data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        BlockLinearAttention(2, positions=[6]).loss_and_grad(
            {"A": np.eye(2), "B": np.eye(2)}, quadrature_data("unitary", 2, 6, 3)
        )


# ------------------------------------------------------------------------ gradients
_GRAD_MODELS = [
    BlockLinearAttention,
    lambda d: BlockLinearAttention(d, positions=[1, 3], scale="1/t"),
    LinearAttention,
    lambda d: LinearAttention(d, positions=[0, 4], scale="1/(t+1)"),
]


@pytest.mark.parametrize("kind,d", [("unitary", 2), ("rotation", 4), ("haar", 3)])
@pytest.mark.parametrize("mode", ["fixed", "random_phase"])
@pytest.mark.parametrize("make", _GRAD_MODELS)
def test_hand_written_gradients_match_finite_differences(kind, d, mode, make):
    rng = np.random.default_rng(9)
    data = mc_data(kind, d, 5, 12, mode, rng)
    model = make(d)
    p = {k: 0.6 * rng.standard_normal(v.shape) for k, v in model.init(rng).items()}
    assert_grad_ok(lambda q: model.loss_and_grad(q, data), p, atol=1e-8)


def test_gradient_check_catches_wrong_gradients():
    """Negative controls: a 0.1% error in one entry, and the gradient of the 1/t-scaled
    model offered for the unscaled loss, both fail."""
    rng = np.random.default_rng(10)
    data = mc_data("unitary", 2, 5, 12, "random_phase", rng)
    model = BlockLinearAttention(2)
    p = {k: 0.6 * rng.standard_normal(v.shape) for k, v in model.init(rng).items()}
    _, g = model.loss_and_grad(p, data)
    bad = {k: v.copy() for k, v in g.items()}
    bad["A"][0, 1] *= 1.001
    assert not check_grad(lambda q: model.loss_and_grad(q, data)[0], p, bad, atol=1e-8).ok
    _, g_scaled = BlockLinearAttention(2, scale="1/t").loss_and_grad(p, data)
    assert not check_grad(lambda q: model.loss_and_grad(q, data)[0], p, g_scaled, atol=1e-8).ok


# ------------------------------------------------------------------ spec 3.1 claims
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("mode", ["fixed", "random_phase"])
def test_isotropic_block_loss_equals_closed_form(d, mode):
    """Spec 3.1: at A = alpha I, B = beta I the loss is sum_t (t x - 1)^2 + t (d-1) x^2,
    x = alpha beta / d, for |s_0i|^2 = 1/d."""
    n = T if mode == "random_phase" else 3 * T
    data = quadrature_data("unitary", d, T, n, mode)
    model = BlockLinearAttention(d)
    for alpha, beta in [(0.7, 1.3), (-0.4, 0.9), (1.1, 1.1)]:
        loss, _ = model.loss_and_grad({"A": alpha * np.eye(d), "B": beta * np.eye(d)}, data)
        assert abs(loss - isotropic_loss(d, T, alpha * beta)) < 1e-12


def test_isotropic_loss_formula_also_holds_for_real_rotation_blocks():
    data = quadrature_data("rotation", 4, T, 6 * T)
    loss, _ = BlockLinearAttention(4).loss_and_grad({"A": 0.8 * np.eye(4), "B": np.eye(4)}, data)
    assert abs(loss - isotropic_loss(4, T, 0.8)) < 1e-12


@pytest.mark.parametrize(
    "kind,d,n", [("unitary", 2, 3 * T), ("unitary", 3, 3 * T), ("rotation", 4, 6 * T)]
)
def test_best_one_step_gd_step_is_the_closed_form(kind, d, n):
    data = quadrature_data(kind, d, T, n)
    assert abs(best_shared_eta(data.S, data.weights) - eta_star_shared(d, T)) < 1e-12
    for t in (1, 3, T - 1):  # single position with t pairs: eta* = d/(t+d-1), loss (d-1)/(t+d-1)
        eta = best_shared_eta(data.S, data.weights, positions=[t])
        assert abs(eta - eta_star(d, t)) < 1e-12
        loss = one_step_gd_loss(data.S, data.weights, eta, positions=[t])
        assert abs(loss - (d - 1) / (t + d - 1)) < 1e-12


def test_block_gd_converges_to_one_shared_gd_step_with_random_phase_s0():
    """Spec 3.1: GD (lr 0.1, A = B = 0.1 I) on exact random-phase unitary data keeps A, B
    isotropic and drives alpha beta to 3d/(2n+3d-4); the trained model then predicts
    exactly like one GD step with eta = alpha beta."""
    d = 2
    data = quadrature_data("unitary", d, T, T, "random_phase")  # exact for n_angles >= T here
    model = BlockLinearAttention(d, init_mode="identity", init_scale=0.1)
    traj, p = train(model, model.init(np.random.default_rng(0)), data, lr=0.1, steps=1000)
    obs = model.observables(p)
    assert abs(obs["eta"] - eta_star_shared(d, T)) < 1e-3
    assert obs["A_dev"] < 1e-10 and obs["B_dev"] < 1e-10
    assert abs(traj.observables["loss"][-1] - isotropic_loss(d, T, eta_star_shared(d, T))) < 1e-8
    shat = model.predict(p, data.S)  # (G, T, d)
    assert np.allclose(shat, one_step_gd_predict(data.S, obs["eta"]), atol=1e-10)


def test_block_gd_with_fixed_s0_leaves_isotropy_and_beats_gd():
    """Finding: with the authors' fixed s_0 = 1/sqrt(d) the t' = 1 pair exposes the known
    s_0, GD gives A, B = a I + c (J - I) with c < 0, and a lower loss than any one GD
    step (d = 2: 2.62482 < 2.78571, alpha beta = 0.4569 instead of 0.4286)."""
    d = 2
    data = quadrature_data("unitary", d, T, 3 * T - 3)
    model = BlockLinearAttention(d, init_mode="identity", init_scale=0.1)
    traj, p = train(model, model.init(np.random.default_rng(0)), data, lr=0.1, steps=2000)
    gd = isotropic_loss(d, T, eta_star_shared(d, T))
    assert traj.observables["loss"][-1] < gd - 0.15
    assert model.observables(p)["B_dev"] > 0.1
    assert p["A"][0, 1] < 0 and p["B"][0, 1] < 0


def test_linear_attention_beats_one_step_gd_on_fixed_s0_rotations():
    """Spec 3.1 caveat: unconstrained linear attention, fixed s_0, real rotation blocks
    (d = 2, T = 6): Adam reaches about 2.23-2.55 depending on the seed, below 2.7857."""
    data = quadrature_data("rotation", 2, T, 6 * T)
    gd = one_step_gd_loss(data.S, data.weights, best_shared_eta(data.S, data.weights))
    assert abs(gd - isotropic_loss(2, T, eta_star_shared(2, T))) < 1e-12
    model = LinearAttention(2, init_scale=0.1)
    traj, _ = train(
        model, None, data, lr=0.01, steps=3000, optimizer="adam", rng=np.random.default_rng(0)
    )
    assert traj.observables["loss"].min() < gd - 0.3


def test_linear_attention_only_matches_one_step_gd_on_random_phase_unitary():
    """Spec 3.1 caveat: complex unitary W and random-phase s_0 (d = 2, T = 6): Adam on the
    unconstrained model reaches the one-step-GD loss 2.785714... and never goes below."""
    data = quadrature_data("unitary", 2, T, T, "random_phase")
    gd = one_step_gd_loss(data.S, data.weights, best_shared_eta(data.S, data.weights))
    model = LinearAttention(2, init_scale=0.1)
    traj, _ = train(
        model, None, data, lr=0.01, steps=3000, optimizer="adam", rng=np.random.default_rng(1)
    )
    loss = traj.observables["loss"]
    assert loss.min() > gd - 1e-9
    assert loss[-1] - gd < 1e-4
