"""sander2024 Haar setting: gradients of the multi-layer linear attention, the ordering of
the one-step-GD baselines, and a tiny layer / head sweep."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.sander2024.closed_forms import baselines, per_position_etas
from derivations.sander2024.data import mc_data
from derivations.sander2024.direct_augmented import LinearAttention
from derivations.sander2024.haar import MultiLayerLinearAttention, sweep_heads, sweep_layers
from dynamics.direct import DirectModel, assert_grad_ok

DATA = mc_data("haar", 2, 4, 7, "fixed", np.random.default_rng(0))


@pytest.mark.parametrize("L", [1, 2])
def test_multilayer_gradient_matches_finite_differences(L):
    m = MultiLayerLinearAttention(2, L, init_scale=0.5)
    assert isinstance(m, DirectModel)
    p = m.init(np.random.default_rng(L))
    assert_grad_ok(lambda q: m.loss_and_grad(q, DATA), p, atol=1e-8)


@pytest.mark.parametrize("L", [1, 2])
def test_negative_control_gradient_check_catches_a_wrong_layer_gradient(L):
    m = MultiLayerLinearAttention(2, L, init_scale=0.5)
    p = m.init(np.random.default_rng(10 + L))
    _, g = m.loss_and_grad(p, DATA)
    wrong = dict(g)
    wrong["K0"] = g["K0"].T  # first layer: error must propagate back through layer 2
    with pytest.raises(AssertionError, match="gradient check failed"):
        assert_grad_ok(lambda q: m.loss_and_grad(q, DATA)[0], p, grads=wrong, atol=1e-8)


def test_gradient_with_positions_subset():
    m = MultiLayerLinearAttention(2, 2, init_scale=0.5, positions=(1, 3))
    p = m.init(np.random.default_rng(3))
    assert_grad_ok(lambda q: m.loss_and_grad(q, DATA), p, atol=1e-8)


def test_one_layer_equals_augmented_linear_attention():
    d = 2
    m = MultiLayerLinearAttention(d, 1)
    p = m.init(np.random.default_rng(4))
    la = {"V": p["V0"][:d, d:], "K": p["K0"][d:, d:]}  # scratch block is 0 in the input
    assert np.allclose(m.predict(p, DATA.S), LinearAttention(d).predict(la, DATA.S), atol=1e-14)


@pytest.mark.parametrize("positions", [None, (1, 2, 3), (0, 2)])
def test_baselines_are_ordered_and_zero_is_the_mean_squared_norm(positions):
    b = baselines(DATA, positions)
    pos = list(range(DATA.T)) if positions is None else list(positions)
    sq = np.sum(DATA.S[:, 1:] ** 2, axis=2)[:, pos].sum(axis=1)  # (N,)
    assert b["zero"] == pytest.approx(float(DATA.weights @ sq), rel=1e-12)
    assert b["zero"] == pytest.approx(len(pos), rel=1e-12)  # unit-norm states
    assert b["gd_per_position"] <= b["gd_shared"] + 1e-12
    assert b["gd_shared"] <= b["zero"] + 1e-12
    assert b["gd_per_position"] < b["zero"]  # strictly: the GD steps help


def test_per_position_steps_minimise_each_position():
    data = mc_data("haar", 3, 5, 40, "fixed", np.random.default_rng(5))
    eta = per_position_etas(data)  # (T,)
    assert eta[0] == 0.0
    for t in range(1, data.T):
        here = baselines(data, (t,))
        assert here["gd_per_position"] == pytest.approx(here["gd_shared"], rel=1e-10)
        assert here["eta_shared"] == pytest.approx(eta[t], rel=1e-10)


def test_tiny_sweeps_run_and_one_layer_beats_the_zero_predictor():
    rl = sweep_layers(d=2, T=4, N=32, layers=(1, 2), steps=150, rng=np.random.default_rng(6))
    rh = sweep_heads(d=2, T=4, N=32, heads=(1, 2), steps=150, rng=np.random.default_rng(7))
    for r in (rl, rh):
        assert np.all(np.isfinite(r.train)) and np.all(np.isfinite(r.test))
        assert r.train.shape == r.test.shape == (2,)
    assert rl.train[0] <= rl.baselines_train["zero"]
    assert rl.baselines_train["zero"] == pytest.approx(4.0)
    assert rh.baselines_train["zero"] == pytest.approx(3.0)  # rows t = 0..T-2
    assert rh.train[0] <= rh.baselines_train["zero"]
