"""saxe2014 calibration: every claim, each with its negative control, plus the bridges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations import saxe2014_deep_linear as sx
from dynamics.direct import assert_grad_ok
from dynamics.integrate import Event, integrate

S = (3.0, 2.0, 1.0)
U0 = 1e-3


@pytest.fixture(scope="module")
def cm():
    return sx.reduced_model(3, S).compile()


@pytest.fixture(scope="module")
def flow(cm):
    t_max = 3 * sx.half_time(1.0, U0)
    return integrate(cm, sx.balanced_start(3, U0), t_eval=np.linspace(0, t_max, 201), rtol=1e-11, atol=1e-14)


def test_flow_matches_closed_form(flow):
    assert sx.claim_closed_form(flow, S, U0).passed
    # negative control: a 1% wrong singular value must fail
    assert not sx.claim_closed_form(flow, (3.03, 2.0, 1.0), U0).passed


def test_a2_minus_b2_is_conserved(cm):
    tu = integrate(cm, {"a1": 0.1, "b1": -0.05, "a2": 0.2, "b2": 0.0, "a3": 0.05, "b3": 0.3}, t_max=10.0,
                   rtol=1e-11, atol=1e-14)
    assert sx.claim_conservation(tu, [tu[f"c{i}"] for i in (1, 2, 3)]).passed
    # negative control: a^2 + b^2 is not conserved
    assert not sx.claim_conservation(tu, [tu["a1"] ** 2 + tu["b1"] ** 2]).passed


def test_half_time_of_the_flow(cm):
    pred = np.array([sx.half_time(s, U0) for s in S])
    ev = [Event(f"u{i}", (lambda t, y, i=i: y[2 * i] * y[2 * i + 1] - S[i] / 2), direction=1) for i in range(3)]
    te = integrate(cm, sx.balanced_start(3, U0), t_max=12.0, events=ev, rtol=1e-11, atol=1e-14)
    meas = np.array([te.stats["events"][f"u{i}"][0] for i in range(3)])
    assert sx.claim_half_time_flow(pred, meas).passed
    # negative control: the half-time without the factor 2 (ln(s/u0 - 1)/s)
    assert not sx.claim_half_time_flow(2 * pred, meas).passed


def test_direct_gd_error_linear_in_lr(cm):
    dm, data = sx.direct_setup(S, np.random.default_rng(0))
    t_max = 3 * sx.half_time(1.0, U0)
    lrs = (0.04, 0.02, 0.01)
    errs = np.array([sx.gd_vs_flow(cm, dm, data, U0, lr, t_max)[2] for lr in lrs])
    assert sx.claim_direct_follows_flow(lrs, errs).passed
    # negative controls: a second-order (ratio 4) or non-converging (ratio 1) prediction fails
    assert not sx.claim_direct_follows_flow(lrs, errs, predicted_ratio=4.0).passed
    assert not sx.claim_direct_follows_flow(lrs, errs, predicted_ratio=1.0).passed


def test_half_time_of_gd(cm):
    dm, data = sx.direct_setup(S, np.random.default_rng(1))
    lr = 0.01
    traj, _, _ = sx.gd_vs_flow(cm, dm, data, U0, lr, 3 * sx.half_time(1.0, U0))
    pred = np.array([sx.half_time(s, U0) for s in S])
    assert sx.claim_half_time_direct(traj, S, pred, lr).passed
    assert not sx.claim_half_time_direct(traj, S, pred * 2, lr).passed


def test_reduced_gd_map_equals_full_gd(cm):
    """The Euler map of the reduced flow equals full-batch GD on the network exactly."""
    from dynamics.direct import train

    dm, data = sx.direct_setup(S, np.random.default_rng(2))
    lr, steps = 0.05, 200
    traj, _ = train(dm, dm.init_balanced(U0), data, lr=lr, steps=steps, record="all")
    y = cm.model.state_vector(sx.balanced_start(3, U0))
    p = cm.pack()
    out = np.empty(6)
    ys = [y.copy()]
    for _ in range(steps):
        cm.rhs(0.0, y, p, cm.data, cm.bounds, out)
        y = y + lr * out
        ys.append(y.copy())
    np.testing.assert_allclose(traj.y, np.array(ys), rtol=0, atol=1e-12)
    # the recorded loss of the network equals the reduced loss (absolute round-off of a sum of
    # O(1)-sized squared residuals is ~1e-15; the loss itself falls to ~1e-12)
    np.testing.assert_allclose(traj.loss, cm.observables(np.array(ys), p)["loss"], rtol=1e-10, atol=1e-14)


def test_deep_linear_gradient_check():
    dm, data = sx.direct_setup(S, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    params = {"W1": rng.normal(size=(4, 6)), "W2": rng.normal(size=(5, 4))}
    assert_grad_ok(lambda p: dm.loss_and_grad(p, data), params)


def test_make_data_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="K <= min"):
        sx.make_data((1.0,) * 7, np.random.default_rng(0))


def test_closed_form_half_time_is_consistent():
    for s in S:
        assert sx.closed_form_u(np.array([sx.half_time(s, U0)]), s, U0)[0] == pytest.approx(s / 2)
    assert math.isclose(sx.closed_form_u(np.array([0.0]), 2.0, U0)[0], U0)


@pytest.mark.slow
def test_verify_end_to_end(tmp_path):
    from dynamics.cli import main

    assert main(["verify", "saxe2014", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "saxe2014" / "modes.png").exists()
