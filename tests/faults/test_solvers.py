"""Fault injection for the numerical solvers (issue 15, "wrong results reported as success").

- The batch solver at extreme parameters: a Rosenbrock step that would damp a strongly
  unstable direction is rejected; a point is either solved right or failed with a status
  and a reason, never a wrong trajectory with status ok.
- ``integrate`` (odeint): a blow-up is reported at the time it happens with its real cause;
  a step size that collapses stops the solve at once instead of after millions of calls;
  bad rtol / atol / max_steps are refused up front with the argument's name.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy as sp

from dynamics.batch import OK, STATUS, STATUS_REASON, UNSTABLE, solve_batch
from dynamics.integrate import IntegrationError, integrate, log_grid
from dynamics.model import ReducedModel

# two uncoupled Saxe modes: d(ab)/dt = (a^2 + b^2)(s - ab); u = ab learns s from u0 = 1e-4
_a1, _b1, _a2, _b2 = sp.symbols("a1 b1 a2 b2", real=True)
_s1, _s2 = sp.symbols("s1 s2", positive=True)
_x = sp.Symbol("x", real=True)
_k = sp.Symbol("k", positive=True)


@pytest.fixture(scope="module")
def modes():
    loss = ((_s1 - _a1 * _b1) ** 2 + (_s2 - _a2 * _b2) ** 2) / 2
    return ReducedModel.from_loss(
        "faults_modes", [_a1, _b1, _a2, _b2], [_s1, _s2], loss, defaults={"s1": 2.0, "s2": 1.0}
    ).compile()


@pytest.fixture(scope="module")
def blowup():
    """dx/dt = k x^2: from x0 the solution blows up at t = 1 / (k x0)."""
    return ReducedModel.from_field("faults_blowup", [_x], [_k], [_k * _x**2], loss=_x**2,
                                   defaults={"k": 1.0}).compile()


def _pack(cm, rows):
    return np.stack([cm.pack({"s1": a, "s2": b}) for a, b in rows])


def _u(y: np.ndarray) -> tuple[float, float]:
    return float(y[0] * y[1]), float(y[2] * y[3])


# ------------------------------------------------------------------ batch: unstable directions
@pytest.mark.parametrize("method", ["auto", "rodas4", "rodas5p"])
@pytest.mark.parametrize("s2", [1e21, 1e30])
def test_batch_never_reports_a_damped_growth_as_ok(modes, method, s2):
    """Issue 15's case: s2 huge. Before the fix every method returned status ok with mode 2
    damped to u2 = 0 (a Rosenbrock step of h lambda >> 1 on the growing direction)."""
    T = log_grid(10.0)
    P = _pack(modes, [(s1, s2) for s1 in (0.5, 2.0, 4.0)])
    res = solve_batch(modes, np.full(4, 0.01), P, T, method=method)
    for i, s1 in enumerate((0.5, 2.0, 4.0)):
        if res.status[i] == OK:
            u1, u2 = _u(res.y[i, -1])
            assert u2 == pytest.approx(s2, rel=1e-6), (method, s1, res.status_names()[i])
            assert np.isfinite(u1) and u1 > 0.1 * min(s1, 1.0)
        else:  # failed honestly: a status, a reason, the grid after the failure is nan
            assert STATUS[int(res.status[i])] != "ok"
            assert STATUS_REASON[int(res.status[i])]
            assert np.isnan(res.y[i, -1]).all()
            assert res.trajectory(i).stats["reason"] == STATUS_REASON[int(res.status[i])]


def test_batch_auto_solves_the_issue_case_right(modes):
    """Not just refused: the default method follows the growth (LSODA's answer)."""
    T = log_grid(10.0)
    res = solve_batch(modes, np.full(4, 0.01), _pack(modes, [(0.5, 1e30), (4.0, 1e30)]), T)
    assert res.status.tolist() == [OK, OK]
    for i, s1 in enumerate((0.5, 4.0)):
        u1, u2 = _u(res.y[i, -1])
        assert u2 == pytest.approx(1e30, rel=1e-6)
        ref = integrate(modes, np.full(4, 0.01), {"s1": s1, "s2": 1e30}, t_eval=T)
        assert u1 == pytest.approx(float(ref.y[-1, 0] * ref.y[-1, 1]), rel=1e-5)


def test_batch_normal_point_unchanged(modes):
    """Negative control: ordinary parameters, still ok and right (the check is not
    rejecting the normal path), with few rejected steps."""
    T = log_grid(10.0)
    res = solve_batch(modes, np.full(4, 0.01), _pack(modes, [(2.0, 1.0)]), T)
    assert res.status[0] == OK
    u1, u2 = _u(res.y[0, -1])
    assert u1 == pytest.approx(2.0, rel=1e-6) and u2 == pytest.approx(1.0, rel=1e-3)
    assert res.n_rejected[0] < 0.3 * res.n_steps[0]


def test_batch_unresolvable_growth_is_a_recorded_failure(modes):
    """Growth at rate 1e30 starting at t = 1e10, where the smallest step (1e-14 t) is far
    too long: the point fails with status 'unresolved unstable direction', not ok."""
    T = 1e10 + np.array([0.0, 1.0, 2.0])
    res = solve_batch(modes, np.full(4, 0.01), _pack(modes, [(2.0, 1e30)]), T, method="rodas5p")
    assert res.status[0] == UNSTABLE, res.status_names()
    assert "unstable direction" in STATUS_REASON[UNSTABLE]
    assert np.isnan(res.y[0, -1]).all()



def test_sweep_records_the_failure_reason_of_a_point(modes):
    """A sweep's recorded error for a failed point carries the status and its reason."""
    from dynamics.options import SolveOptions
    from dynamics.phase import batch_solver

    T = 1e10 + np.array([0.0, 1.0, 2.0])
    params = [{"s1": 2.0, "s2": 1e30}, {"s1": 2.0, "s2": 1.0}]
    out = batch_solver(modes, np.full((2, 4), 0.01), params, SolveOptions(t_eval=tuple(T))).results
    assert isinstance(out[0], RuntimeError)
    assert "unresolved unstable direction" in str(out[0]) and STATUS_REASON[UNSTABLE] in str(out[0])
    assert not isinstance(out[1], Exception)  # control: an ordinary point is solved


# ---------------------------------------------------------------------- integrate: odeint faults
def test_odeint_blowup_reported_where_it_happens(blowup):
    """x' = x^2 from 1/0.94 blows up at t = 0.94; it used to be reported at t = 0."""
    t0 = time.perf_counter()
    with pytest.raises(IntegrationError) as exc:
        integrate(blowup, [1 / 0.94], t_max=10.0, method="odeint")
    msg = str(exc.value)
    assert "t = 0.94" in msg and "t = 0 " not in msg and "Illegal input" not in msg
    assert time.perf_counter() - t0 < 20


def test_odeint_huge_parameter_fails_fast_with_cause(blowup):
    t0 = time.perf_counter()
    with pytest.raises(IntegrationError, match="too fast") as exc:
        integrate(blowup, [1.0], {"k": 1e300}, t_max=10.0, method="odeint")
    assert "Illegal input" not in str(exc.value)
    assert time.perf_counter() - t0 < 20


def test_odeint_ok_control(blowup):
    """Negative control: no blow-up before t_max, no error (x = 1/(1/x0 - t))."""
    tr = integrate(blowup, [0.5], t_max=1.0, method="odeint")
    assert tr.y[-1, 0] == pytest.approx(1 / (2.0 - 1.0), rel=1e-6)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"rtol": -1.0}, "rtol"),
        ({"rtol": float("nan")}, "rtol"),
        ({"atol": float("inf")}, "atol"),
        ({"atol": 0.0}, "atol"),
        ({"rtol": True}, "rtol"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": -5}, "max_steps"),
        ({"max_steps": 2.5}, "max_steps"),
    ],
)
def test_integrate_refuses_bad_options(blowup, kw, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        integrate(blowup, [0.5], t_max=1.0, **kw)


def test_integrate_max_steps_is_honoured(blowup):
    """max_steps=1 used to be ignored on the odeint path only if 0; a small budget fails."""
    with pytest.raises(IntegrationError):
        integrate(blowup, [0.5], t_eval=[0.0, 1.0], max_steps=1, method="odeint")


@pytest.mark.parametrize("kw, name", [({"rtol": -1.0}, "rtol"), ({"atol": float("nan")}, "atol"),
                                      ({"max_steps": 0}, "max_steps")])
def test_solve_batch_refuses_bad_options(modes, kw, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        solve_batch(modes, np.full(4, 0.01), _pack(modes, [(2.0, 1.0)]), [0.0, 1.0], **kw)


@pytest.mark.parametrize("kw, name", [({"rtol": -1.0}, "rtol"), ({"atol": float("nan")}, "atol")])
def test_sweep_refuses_bad_tolerances_before_any_work(modes, kw, name, tmp_path):
    """sweep(rtol=-1) used to run with every point failed; now one ValueError, no file."""
    from dynamics.phase import sweep

    with pytest.raises(ValueError, match=name):
        sweep(modes, "s1=0.5:4:2", t_max=1.0, out=tmp_path / "p", progress=False, **kw)
    assert not any(tmp_path.iterdir())
