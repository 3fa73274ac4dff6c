"""huang2025 direct model: gradients, the exact symmetry reduction, training and the
truncated chain of thought (spec 1.4-1.7a, 2.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.huang2025.data import (
    PATTERN_COLUMNS,
    even_pairs_dataset,
    match_pattern,
    parity_dataset,
    pattern_table,
)
from derivations.huang2025.direct import (
    OneLayerTransformer,
    cot_parity,
    cot_parity_accuracy,
    ep_token,
    reduced_names,
)
from dynamics.direct import DirectModel, assert_grad_ok, train
from dynamics.schedule import Schedule

L_MAX = 6
LR = 0.1
PHASE1 = Schedule.switch(10.0, before={"attn": 2.0})  # t0 = 100 steps at eta = 0.1, lam = 2
STEPS = 3000


def _random_params(model: OneLayerTransformer, seed: int, scale: float = 0.7):
    return OneLayerTransformer(model.L_max, model.embedding, model.lam, scale).init(
        np.random.default_rng(seed)
    )


@pytest.fixture(scope="module")
def model() -> OneLayerTransformer:
    return OneLayerTransformer(L_max=L_MAX, embedding="additive", lam=2.0)


@pytest.fixture(scope="module")
def ep_data():
    return even_pairs_dataset(L_MAX)


@pytest.fixture(scope="module")
def ep_trained(model, ep_data):
    traj, params = train(
        model, model.init(np.random.default_rng(0)), ep_data, lr=LR, steps=STEPS, schedule=PHASE1
    )
    return traj, params


@pytest.fixture(scope="module")
def parity_trained(model):
    data = parity_dataset(L_MAX)
    _, params = train(
        model, model.init(np.random.default_rng(0)), data, lr=LR, steps=STEPS, schedule=PHASE1
    )
    return data, params


# ---------------------------------------------------------------------------- gradients
def test_model_satisfies_direct_model_protocol(model):
    assert isinstance(model, DirectModel)
    assert model.groups == {"u": "u", "W": "attn"}


def test_gradients_match_finite_differences_additive(model, ep_data):
    params = _random_params(model, 1)
    assert_grad_ok(lambda p: model.loss_and_grad(p, ep_data), params, atol=1e-8)


def test_gradients_match_finite_differences_joint():
    m = OneLayerTransformer(L_max=L_MAX, embedding="joint")
    data = even_pairs_dataset(L_MAX, embedding="joint")
    params = _random_params(m, 2)
    assert params["W"].shape == (2 * L_MAX, 2 * L_MAX)
    assert_grad_ok(lambda p: m.loss_and_grad(p, data), params, atol=1e-8)


def test_gradient_check_catches_a_wrong_gradient(model, ep_data):
    """Negative control: a gradient 1% off fails the same check."""
    params = _random_params(model, 3)
    loss, g = model.loss_and_grad(params, ep_data)
    bad = {"u": 1.01 * g["u"], "W": g["W"]}
    with pytest.raises(AssertionError):
        assert_grad_ok(lambda p: model.loss_and_grad(p, ep_data), params, grads=bad, atol=1e-8)


def test_loss_at_zero_init_is_Lmax_ln2(model, ep_data):
    loss, _ = model.loss_and_grad(model.init(np.random.default_rng(0)), ep_data)
    assert loss == pytest.approx(L_MAX * math.log(2), rel=1e-14)


# ---------------------------------------------------------------------------- reduction
def test_reduce_names_and_order(model):
    names = tuple(model.reduce(model.init(np.random.default_rng(0))))
    assert names == reduced_names(L_MAX)
    assert len(names) == 35
    assert names[:2] == ("nu", "p1") and names[7:9] == ("kappa", "delta1")
    assert names[14:20] == ("P1_1", "P1_2", "P2_2", "P1_3", "P2_3", "P3_3")


def test_reduce_inverts_full_params(model):
    rng = np.random.default_rng(4)
    r = dict(zip(reduced_names(L_MAX), rng.standard_normal(35).tolist(), strict=True))
    back = model.reduce(model.full_params(r))
    assert list(back) == list(r)
    np.testing.assert_allclose(list(back.values()), list(r.values()), rtol=0, atol=1e-15)


def test_joint_embedding_reduces_to_generic_norms_and_trains():
    """The reduction is derived for the additive embedding only; the joint one records
    ||u|| and ||W|| and can be trained (spec 5.5 sensitivity)."""
    from dynamics.direct import train
    from dynamics.schedule import Schedule

    m = OneLayerTransformer(embedding="joint")
    params = {"u": np.arange(12.0), "W": np.ones((12, 12))}
    assert m.reduce(params) == {"norm_u": float(np.linalg.norm(params["u"])), "norm_W": 12.0}
    data = even_pairs_dataset(6, embedding="joint")
    tr, fitted = train(m, m.init(np.random.default_rng(0)), data, lr=0.1, steps=300,
                       schedule=Schedule.switch(10.0, before={"attn": 2.0}))
    assert tr.names == ("norm_u", "norm_W") and tr.loss[-1] < tr.loss[0]


def test_reduced_formula_equals_forward_on_every_sample(model, ep_data):
    r"""$\mathtt T(m) = \nu + \sum_\ell \varphi_\ell p_\ell$ with
    $\varphi = \mathrm{softmax}((\kappa m_\ell + \delta_\ell + P_{\ell L})/\lambda)$ (spec 2.2),
    evaluated from the pattern table, equals the full model on each of the 126 strings."""
    rng = np.random.default_rng(5)
    r = dict(zip(reduced_names(L_MAX), rng.standard_normal(35).tolist(), strict=True))
    table = pattern_table(ep_data)  # (R, 3 L_max + 2)
    cols = PATTERN_COLUMNS(L_MAX)
    assert table.shape[1] == len(cols)
    M = table[:, :L_MAX]  # (R, L_max)
    E = table[:, L_MAX : 2 * L_MAX].astype(bool)  # (R, L_max)
    H = table[:, 2 * L_MAX : 3 * L_MAX]  # (R, L_max)
    y, wt = table[:, -2], table[:, -1]  # (R,), (R,)
    Ls = H.argmax(axis=1) + 1  # (R,)
    p = np.array([r[f"p{i}"] for i in range(1, L_MAX + 1)])  # (L_max,)
    delta = np.array([r[f"delta{i}"] for i in range(1, L_MAX + 1)])  # (L_max,)
    P = np.zeros((len(table), L_MAX))  # (R, L_max)  P_{l, L} of each row's L
    for i, L in enumerate(Ls):
        P[i, :L] = [r[f"P{ell}_{L}"] for ell in range(1, L + 1)]
    s = (r["kappa"] * M + delta[None, :] + P) / model.lam  # (R, L_max)
    s = np.where(E, s, -np.inf)  # (R, L_max)
    phi = np.exp(s - s.max(axis=1, keepdims=True))  # (R, L_max)
    phi /= phi.sum(axis=1, keepdims=True)
    T_red = r["nu"] + phi @ p  # (R,)
    lookup = {(tuple(M[i].astype(int)), int(Ls[i])): T_red[i] for i in range(len(table))}

    T, _, _ = model.forward(model.full_params(r), ep_data)  # (N,)
    for n in range(len(ep_data)):
        L = int(ep_data.query[n]) + 1
        m = np.zeros(L_MAX, dtype=int)
        m[:L] = match_pattern(ep_data.tokens[n, :L])
        assert T[n] == pytest.approx(lookup[(tuple(m), L)], abs=1e-13)
    # the loss summed over the pattern table is the full loss
    loss_red = float(np.sum(wt * np.logaddexp(0.0, -y * T_red)))
    assert model.loss_and_grad(model.full_params(r), ep_data)[0] == pytest.approx(
        loss_red, abs=1e-13
    )


def test_zero_init_gd_keeps_the_ab_symmetry(model, ep_data):
    """GD from zero stays on the a<->b-symmetric, zero-gauge manifold (spec 2.2)."""
    _, th = train(
        model, model.init(np.random.default_rng(0)), ep_data, lr=LR, steps=50, schedule=PHASE1
    )
    u, W = th["u"], th["W"]  # (d,), (d, d)
    assert abs(u[0] - u[1]) < 1e-12 and abs(u[0]) > 1e-3
    assert abs(W[0, 0] - W[1, 1]) < 1e-12 and abs(W[0, 1] - W[1, 0]) < 1e-12
    assert abs(W[0, 0] + W[0, 1]) < 1e-12
    assert np.max(np.abs(W[0:2, 2:])) < 1e-12
    np.testing.assert_allclose(W[2:, 0], W[2:, 1], rtol=0, atol=1e-12)
    # negative control: the reduced coordinates did move
    assert abs(model.reduce(th)["kappa"]) > 1e-4


# ------------------------------------------------------------------ training and CoT
def test_even_pairs_training_reaches_full_accuracy(model, ep_data, ep_trained):
    traj, params = ep_trained
    assert model.accuracy(params, ep_data) == 1.0
    assert all(a == 1.0 for a in model.accuracy_by_group(params, ep_data).values())
    assert traj["loss"][-1] < traj["loss"][0]
    # negative control: the zero-init model is not accurate
    assert model.accuracy(model.init(np.random.default_rng(0)), ep_data) < 0.5


def test_truncated_cot_solves_parity_with_the_even_pairs_model(model, ep_trained):
    """Spec 1.7a: the EP model gives 100% parity on every length 2..6 by truncated CoT."""
    _, params = ep_trained
    acc = cot_parity_accuracy(model, params, L_MAX)
    assert list(acc) == [2, 3, 4, 5, 6]
    assert all(a == 1.0 for a in acc.values()), acc
    # single-string API agrees
    w = np.array([1, 0, 1, 1, 0])
    assert ep_token(model, params, w) == 1 and ep_token(model, params, [0, 1, 1, 0]) == 0
    assert cot_parity(model, params, w) == 1 and cot_parity(model, params, [1]) == 1
    # negative control: the untrained (zero) model does not
    acc0 = cot_parity_accuracy(model, model.init(np.random.default_rng(0)), L_MAX)
    assert not all(a == 1.0 for a in acc0.values()), acc0


def test_direct_parity_training_stalls(model, parity_trained):
    """Spec 1.7a: training directly on parity labels with the same budget fails."""
    data, params = parity_trained
    acc = model.accuracy_by_group(params, data)
    assert all(acc[L] < 0.8 for L in range(2, L_MAX + 1)), acc
    assert model.loss_and_grad(params, data)[0] > 2.0
