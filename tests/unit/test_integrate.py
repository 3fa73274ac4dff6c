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


# ----------------------------------------------------------------- SolveOptions and Crossing
def test_options_give_the_same_trajectory_as_the_keywords(decay):
    from dynamics.options import SolveOptions

    kw = integrate(decay, [1.0], t_max=5.0, rtol=1e-10, atol=1e-12, n_points=30, method="LSODA")
    op = integrate(decay, [1.0], options=SolveOptions(t_max=5.0, rtol=1e-10, atol=1e-12, n_points=30,
                                                      method="LSODA"))
    np.testing.assert_array_equal(op.t, kw.t)
    np.testing.assert_array_equal(op.y, kw.y)
    assert op.stats["rtol"] == 1e-10 and op.stats["method"] == "LSODA"


def test_a_field_given_in_options_and_as_a_keyword_is_refused(decay):
    from dynamics.options import SolveOptions

    with pytest.raises(ValueError, match="rtol is given twice"):
        integrate(decay, [1.0], options=SolveOptions(t_max=1.0, rtol=1e-6), rtol=1e-7)
    with pytest.raises(ValueError, match="t_max is given twice"):
        integrate(decay, [1.0], options=SolveOptions(t_max=1.0), t_max=2.0)
    # a field options leaves at its default may come as a keyword
    tr = integrate(decay, [1.0], options=SolveOptions(t_max=1.0), rtol=1e-7)
    assert tr.stats["rtol"] == 1e-7
    with pytest.raises(ValueError, match="options must be a dynamics.options.SolveOptions"):
        integrate(decay, [1.0], options={"t_max": 1.0})


def test_crossings_of_a_coordinate_and_of_an_observable_are_located(logistic):
    from dynamics.options import Crossing, SolveOptions

    # x(t) = 1 / (1 + 999 e^-t) reaches 1/2 at t = ln 999, where the loss (1 - x)^2 is 1/4
    opts = SolveOptions(t_max=30.0, rtol=1e-10, atol=1e-13,
                        events=(Crossing("x", 0.5, 1), Crossing("loss", 0.25, -1), Crossing("loss", 0.25, 1)))
    tr = integrate(logistic, [1e-3], options=opts)
    assert tr.stats["events"]["x=0.5"] == [pytest.approx(np.log(999), rel=1e-7)]
    assert tr.stats["method"] == "LSODA"  # crossings need solve_ivp, as events do
    ev = Event("x=0.5", lambda t, y: y[0] - 0.5, direction=1)
    ref = integrate(logistic, [1e-3], t_max=30.0, events=[ev], rtol=1e-10, atol=1e-13)
    assert tr.stats["events"]["x=0.5"] == ref.stats["events"]["x=0.5"]  # the same event, the same time
    both = integrate(logistic, [1e-3], t_max=30.0, rtol=1e-10, atol=1e-13, events=[Crossing("loss", 0.25)])
    assert both.stats["events"]["loss=0.25"] == [pytest.approx(np.log(999), rel=1e-6)]


def test_a_crossing_reports_its_first_time_and_an_event_every_time():
    import sympy as sp

    from dynamics.options import Crossing

    u, v = sp.symbols("u v", real=True)
    rot = ReducedModel.from_field("rotation", [u, v], [], [-v, u], loss=(u**2 + v**2) / 2)  # u = cos t
    tr = integrate(rot, [1.0, 0.0], t_max=9.0, rtol=1e-10, atol=1e-12, backend="python",
                   events=[Crossing("u", 0.0), Event("u zero", lambda t, y: y[0])])
    assert tr.stats["events"]["u=0"] == [pytest.approx(np.pi / 2, rel=1e-7)]
    np.testing.assert_allclose(tr.stats["events"]["u zero"], [np.pi / 2, 3 * np.pi / 2, 5 * np.pi / 2], rtol=1e-7)


def test_a_crossing_of_an_unknown_name_is_refused_before_compiling(monkeypatch):
    from dynamics.options import Crossing

    m = ReducedModel.from_loss("decay-uncompiled", [x], [k], k * x**2 / 2, defaults={"k": 1.0})
    monkeypatch.setattr(ReducedModel, "compile", lambda *a, **kw: pytest.fail("compiled before checking"))
    with pytest.raises(ModelError, match="unknown name 'y'.*coordinate.*observable"):
        integrate(m, [1.0], t_max=1.0, events=[Crossing("y", 0.5)])


def test_largest_step_from_options_reaches_the_solver(decay):
    from dynamics.options import SolveOptions

    free = integrate(decay, [1.0], options=SolveOptions(t_max=1.0, method="RK45"))
    capped = integrate(decay, [1.0], options=SolveOptions(t_max=1.0, method="RK45", hmax=1e-3))
    assert capped.stats["nfev"] >= 6 * 1000 > 10 * free.stats["nfev"]
    lsoda = integrate(decay, [1.0], options=SolveOptions(t_max=1.0, method="odeint", hmax=1e-3))
    assert lsoda.stats["nsteps"] >= 1000
