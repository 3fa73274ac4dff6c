"""Integration: error on closed-form problems in units of the tolerance, stiffness,
piecewise schedules, events, failures, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dynamics.integrate import Event, IntegrationError, integrate, log_grid
from dynamics.model import ModelError, ReducedModel
from dynamics.schedule import Schedule

x = sp.Symbol("x", real=True)
k = sp.Symbol("k", positive=True)


@pytest.fixture(scope="module")
def decay():
    """dx/dt = -k x (gradient flow of k x^2 / 2): x(t) = x0 exp(-k t)."""
    return ReducedModel.from_loss("decay", [x], [k], k * x**2 / 2, groups=["w"], defaults={"k": 1.0}).compile()


@pytest.fixture(scope="module")
def logistic():
    """dx/dt = x (1 - x): x(t) = 1 / (1 + (1/x0 - 1) e^{-t})."""
    return ReducedModel.from_field("logistic", [x], [], [x * (1 - x)], loss=(1 - x) ** 2).compile()


def _err_units(y, exact, rtol, atol):
    return np.max(np.abs(y - exact) / (atol + rtol * np.abs(exact)))


@pytest.mark.parametrize("method", ["odeint", "LSODA", "BDF", "Radau", "DOP853", "RK45"])
def test_linear_decay_error_in_units_of_tolerance(decay, method):
    rtol, atol = 1e-8, 1e-12
    tr = integrate(decay, [1.0], t_max=20.0, method=method, rtol=rtol, atol=atol)
    exact = np.exp(-tr.t)
    # global error = accumulated local errors; over 20 e-foldings a bounded multiple of the
    # local tolerance (the scipy test-suite convention measures in these units too)
    assert _err_units(tr["x"], exact, rtol, atol) < 50


@pytest.mark.parametrize("method", ["odeint", "LSODA", "Radau"])
def test_logistic_error_in_units_of_tolerance(logistic, method):
    rtol, atol = 1e-9, 1e-12
    tr = integrate(logistic, [1e-3], t_max=30.0, method=method, rtol=rtol, atol=atol)
    exact = 1 / (1 + (1 / 1e-3 - 1) * np.exp(-tr.t))
    assert _err_units(tr["x"], exact, rtol, atol) < 100


def test_tighter_tolerance_gives_smaller_error(logistic):
    """Negative control for the unit-of-tolerance measure: a loose run has a larger error."""
    exact = lambda t: 1 / (1 + 999 * np.exp(-t))  # noqa: E731
    e_loose = np.max(np.abs(integrate(logistic, [1e-3], t_max=30.0, rtol=1e-4, atol=1e-8)["x"] - exact(
        integrate(logistic, [1e-3], t_max=30.0, rtol=1e-4, atol=1e-8).t)))
    tr = integrate(logistic, [1e-3], t_max=30.0, rtol=1e-10, atol=1e-13)
    assert np.max(np.abs(tr["x"] - exact(tr.t))) < e_loose / 100


def test_stiff_problem_in_bounded_steps():
    """A gradient flow with Hessian eigenvalues 1e4 and 1e-4, run to t = 1e6.

    An explicit method would need about 1e6 * 1e4 / 3 steps; LSODA switches to BDF.
    """
    a, b = sp.symbols("a b", real=True)
    m = ReducedModel.from_loss("stiff2", [a, b], [], 1e4 * (a - b) ** 2 / 2 + 1e-4 * b**2 / 2).compile()
    tr = integrate(m, [1.0, 0.5], t_max=1e6, rtol=1e-8, atol=1e-12)
    assert tr.stats["nsteps"] < 5000
    # slow mode: a ~ b ~ c exp(-lambda t), lambda ~ 1e-4 / 2 (the mean of a and b decays)
    assert abs(tr["a"][-1]) < 1e-10 and np.all(np.isfinite(tr.y))


def test_log_grid_reaches_large_times(decay):
    tr = integrate(decay, [1.0], t_max=1e8, n_points=50, params={"k": 1e-7})
    assert tr.t[0] == 0.0 and tr.t[-1] == pytest.approx(1e8)
    assert np.allclose(np.diff(np.log10(tr.t[1:])), np.diff(np.log10(tr.t[1:]))[0])
    np.testing.assert_allclose(tr["x"], np.exp(-1e-7 * tr.t), rtol=1e-6)


def test_piecewise_schedule_is_integrated_piece_by_piece(decay):
    sched = Schedule.switch(2.0, before={"w": 3.0})
    tr = integrate(decay, [1.0], t_max=10.0, schedule=sched, rtol=1e-10, atol=1e-14)
    assert 2.0 in tr.t
    exact = np.where(tr.t < 2.0, np.exp(-3 * tr.t), np.exp(-6.0 - (tr.t - 2.0)))
    np.testing.assert_allclose(tr["x"], exact, rtol=1e-7)
    assert tr.stats["pieces"] == 2
    with pytest.raises(ModelError, match="unknown group"):
        integrate(decay, [1.0], t_max=1.0, schedule=Schedule.switch(1.0, before={"attn": 2.0}))


def test_events_are_located(logistic):
    ev = Event("x=0.5", lambda t, y: y[0] - 0.5, direction=1)
    tr = integrate(logistic, [1e-3], t_max=30.0, events=[ev], rtol=1e-10, atol=1e-13)
    assert tr.stats["events"]["x=0.5"][0] == pytest.approx(np.log(999), rel=1e-7)
    term = integrate(logistic, [1e-3], t_max=30.0, events=[Event("stop", lambda t, y: y[0] - 0.5, terminal=True)])
    assert term.t[-1] == pytest.approx(np.log(999), rel=1e-6)
    assert term.stats["terminated_by"] == "stop"


def test_failure_raises_not_partial():
    """dx/dt = x^2 from x0 = 1 blows up at t = 1."""
    m = ReducedModel.from_field("blowup", [x], [], [x**2], loss=x).compile()
    for method in ("odeint", "LSODA", "RK45"):
        with pytest.raises(IntegrationError, match="failed"):
            integrate(m, [1.0], t_max=2.0, method=method)


@pytest.mark.parametrize("kwargs, match", [
    ({"params": {"kk": 1.0}}, "unknown parameter"),
    ({"params": {"k": float("nan")}}, "not finite"),
    ({"method": "Euler"}, "unknown method"),
    ({"rtol": -1.0}, "rtol"),
    ({"t_eval": [0.0, 2.0, 1.0], "t_max": None}, "strictly increasing"),
    ({"t_max": None}, "give t_max"),
])
def test_bad_input_is_named(decay, kwargs, match):
    opts = {"t_max": 1.0} | kwargs
    with pytest.raises((ModelError, ValueError), match=match):
        integrate(decay, [1.0], **opts)


def test_log_grid_validation():
    g = log_grid(1e6, 1e-3, 10, extra=[5.0])
    assert g[0] == 0 and g[-1] == 1e6 and 5.0 in g
    with pytest.raises(ValueError, match="t_max"):
        log_grid(-1.0)


def test_schedule_parse_round_trips_and_names_errors():
    s = Schedule.parse("attn=2, u=0.5 @10 @20 attn=3")
    assert s.breaks == (10.0, 20.0)
    assert [dict(f) for f in s.factors] == [{"attn": 2.0, "u": 0.5}, {}, {"attn": 3.0}]
    assert s.factor("attn", 5.0) == 2.0 and s.factor("attn", 15.0) == 1.0
    assert s.factor("attn", 25.0) == 3.0
    assert Schedule.parse("default=2@0.5") == Schedule.switch(0.5, before={"default": 2.0})
    for bad, words in (("", "non-empty"), ("a=1@-1", "positive"), ("a=1@2@1", "increasing"),
                       ("a=x", "not a number"), ("a@1", "GROUP=FACTOR"), ("a=1@t", "not a time")):
        with pytest.raises(ValueError, match=words):
            Schedule.parse(bad)
