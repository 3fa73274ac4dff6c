"""dynamics.batch: the compiled batch integrator (DOP853 / RODAS4 / Rodas5P) against scipy's
ODEPACK at rtol 1e-11, and the Rodas5P tableau's orders and stability."""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import odeint

from dynamics.batch import MAX_STEPS, NON_FINITE, OK, STEP_UNDERFLOW, Crossing, solve_batch
from dynamics.integrate import log_grid
from dynamics.model import ReducedModel
from dynamics.trajectory import Trajectory

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import _problems as BP  # noqa: E402

RTOL, ATOL = 1e-8, 1e-10
#: Accepted global error, in units of the local tolerance atol + rtol |y|. (Measured: at most
#: ~3 for method="auto" and ~1 for "rodas4"; odeint/LSODA at the same rtol reaches ~12.)
AGREE = 10.0


def reference(cm, y0, p, grid):
    """ODEPACK LSODA at rtol 1e-11 with the generated RHS and Jacobian."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = odeint(
            cm.rhs_ode,
            np.asarray(y0, float),
            grid,
            args=(p, cm.data, cm.bounds),
            Dfun=cm.jac_ode,
            rtol=1e-11,
            atol=1e-14,
            mxstep=10**6,
        )
    return y


def scaled_error(res, cm, Y0, P, grid):
    worst = 0.0
    for i in range(P.shape[0]):
        ref = reference(cm, Y0[i], P[i], grid)
        worst = max(worst, float(np.max(np.abs(res.y[i] - ref) / (ATOL + RTOL * np.abs(ref)))))
    return worst


def param_rows(cm, values: list[dict[str, float]]) -> np.ndarray:
    return np.array([cm.pack(v) for v in values])


# ----------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("method", ["auto", "rodas4", "rodas5p"])
@pytest.mark.parametrize("name", BP.SOLVE_PROBLEMS)
def test_benchmark_problems_agree_with_lsoda(name, method):
    prob = BP.problem(name)
    cm = prob.model.compile()
    grid = log_grid(BP.T_MAX, n=60)
    P = param_rows(cm, [{}, {"k": 0.6, "g_0": 0.5}, {"k": -0.2, "g_4": 3.0}])
    Y0 = np.array([prob.y0, 0.05 + 0.01 * np.arange(10), -prob.y0])
    res = solve_batch(cm, Y0, P, grid, rtol=RTOL, atol=ATOL, method=method)
    assert np.all(res.status == OK)
    assert scaled_error(res, cm, Y0, P, grid) < AGREE
    # counters are per point and plausible: one Jacobian per Rosenbrock step attempt; "auto"
    # reuses ||J|| for up to _RHO_REUSE DOP853 steps far inside the stability limit
    assert np.all(res.n_steps > 10)
    if method == "auto":
        from dynamics.batch.kernel import RHO_REUSE

        assert np.all(res.n_jac <= res.n_steps) and res.n_jac.sum() < res.n_steps.sum()
        assert np.all(res.n_jac * (1 + RHO_REUSE) >= res.n_steps)
    else:
        assert np.all(res.n_jac == res.n_steps)
    assert np.all(res.n_rhs >= 5 * res.n_steps)  # the cheapest attempt: a rejected RODAS4 step
    assert res.stats["method"] == method


def test_auto_switching_keeps_the_global_error_on_the_benchmark_points():
    """The 16 first parameter points of the stiff benchmark, where the DOP853/Rodas5P hand-off
    matters: the global error stays within AGREE tolerances (measured <= 2.0). Regression: a
    Jacobian-free stiffness test (Hairer's two-stage estimate) let DOP853 run too close to
    its stability limit and reached 29 tolerances at t ~ 2.4 on these points."""
    prob = BP.problem("logistic-stiff")
    cm = prob.model.compile()
    grid = log_grid(BP.T_MAX, n=200)
    from dynamics.bench import parameter_points

    P = param_rows(cm, parameter_points(prob, 16))
    Y0 = np.tile(prob.y0, (P.shape[0], 1))
    res = solve_batch(cm, Y0, P, grid, rtol=RTOL, atol=ATOL)
    assert np.all(res.status == OK)
    assert scaled_error(res, cm, Y0, P, grid) < AGREE


def test_saxe2014_agrees_and_finds_half_time():
    from derivations import saxe2014_deep_linear as sx

    S, U0 = (3.0, 2.0, 1.0), 1e-3
    cm = sx.reduced_model(3, S).compile()
    t_max = 3 * sx.half_time(1.0, U0)
    grid = np.linspace(0.0, t_max, 101)
    y0 = cm.model.state_vector(sx.balanced_start(3, U0))
    P = param_rows(cm, [{}, {"s1": 2.5, "s2": 1.5}])
    events = [Crossing("u1", 1.5, +1), ("u3", 0.5)]
    res = solve_batch(cm, y0, P, grid, rtol=RTOL, atol=ATOL, events=events)
    assert np.all(res.status == OK)
    assert scaled_error(res, cm, np.tile(y0, (2, 1)), P, grid) < AGREE
    # the closed-form half time of mode 1 (s = 3) and mode 3 (s = 1), on the dense output
    assert res.crossings[0, 0] == pytest.approx(sx.half_time(3.0, U0), rel=1e-6)
    assert res.crossings[0, 1] == pytest.approx(sx.half_time(1.0, U0), rel=1e-6)
    # u(t) = s / (1 + (s/u0 - 1) exp(-2 s t)) reaches 1.5 for s = 2.5 at:
    t15 = math.log((2.5 / U0 - 1) / (2.5 / 1.5 - 1)) / (2 * 2.5)
    assert res.crossings[1, 0] == pytest.approx(t15, rel=1e-6)
    tr = res.trajectory(0)
    assert isinstance(tr, Trajectory) and tr.t.shape == grid.shape
    np.testing.assert_allclose(tr["u1"], tr["a1"] * tr["b1"], rtol=1e-12)
    np.testing.assert_allclose(tr.loss, cm.observables(res.y[0], P[0])["loss"], rtol=1e-12)
    assert tr.stats["events"]["u1"] == [res.crossings[0, 0]]


def test_musat2025_r1_agrees():
    from derivations.musat2025.reduced import r1_model

    cm = r1_model(3).compile()
    grid = log_grid(1e4, n=50)
    P = param_rows(
        cm, [{}, {"n": 6.0, "V": 10.0, "wd": 0.01}, {"pi1": 0.6, "pi2": 0.3, "pi3": 0.1}]
    )
    Y0 = np.array([np.zeros(4), [0.3, -0.2, 0.5, 1.1], [0.0, 0.0, 0.0, 0.5]])
    res = solve_batch(cm, Y0, P, grid, rtol=RTOL, atol=ATOL)
    assert np.all(res.status == OK)
    assert scaled_error(res, cm, Y0, P, grid) < AGREE


# ----------------------------------------------------------------------------- crossings
@pytest.fixture(scope="module")
def toy2():
    """x' = w v + c x^2, v' = -w x - k v (one model, so one kernel compile, for two uses).

    w = 1, c = k = 0: the oscillator x(t) = cos(t - tc) from (cos tc, sin tc).
    w = 0, k = 1: x' = c x^2 blows up at t = 1/(c x0) if c x0 > 0; v = v0 exp(-t).
    """
    x, v = sp.symbols("x v", real=True)
    w, c, k = sp.symbols("w c k", real=True)
    m = ReducedModel.from_field(
        "batch-toy2",
        [x, v],
        [w, c, k],
        [w * v + c * x**2, -w * x - k * v],
        loss=(x**2 + v**2) / 2,
        observables={"xo": x},
        defaults={"w": 1.0, "c": 0.0, "k": 0.0},
    )
    return m.compile()


@pytest.mark.parametrize("method", ["auto", "rodas4", "rodas5p"])
def test_double_crossing_inside_one_step(toy2, method):
    cm = toy2
    tc, half = 0.055, 0.008  # crossings at 0.047 and 0.063: between two samples s = 2/9, 3/9
    level = math.cos(half)
    y0 = np.array([math.cos(tc), math.sin(tc)])
    events = [("x", level, +1), ("x", level, -1), ("xo", level, -1), ("x", level, 0)]
    res = solve_batch(
        cm, y0, cm.pack(), [0.0, 0.2], rtol=1e-3, atol=1e-6, h0=0.2, events=events, method=method
    )
    assert res.status[0] == OK
    assert res.n_steps[0] == 1  # one step, whose ends are both below the level
    assert res.y[0, 0, 0] < level and res.y[0, 1, 0] < level
    up, down, down_obs, first = res.crossings[0]
    assert up == pytest.approx(tc - half, abs=2e-3)
    assert down == pytest.approx(tc + half, abs=2e-3)
    assert up < down
    assert down_obs == pytest.approx(down, abs=1e-12)
    assert first == up


def test_crossing_time_is_accurate(toy2):
    cm = toy2
    grid = np.linspace(0.0, 10.0, 11)
    res = solve_batch(cm, [1.0, 0.0], cm.pack(), grid, events=[("x", 0.0, -1), ("x", 0.5, +1)])
    assert res.crossings[0, 0] == pytest.approx(math.pi / 2, abs=1e-7)
    assert res.crossings[0, 1] == pytest.approx(2 * math.pi - math.pi / 3, abs=1e-7)
    np.testing.assert_allclose(res.y[0, :, 0], np.cos(grid), atol=1e-7)


# ----------------------------------------------------------------------------- Rodas5P
def test_stiff_problem_agrees_with_lsoda_at_tight_tolerance():
    prob = BP.problem("logistic-stiff")
    cm = prob.model.compile()
    grid = log_grid(BP.T_MAX, n=40)
    P = param_rows(cm, [{}, {"k": 0.6, "g_0": 0.5}])
    Y0 = np.array([prob.y0, 0.05 + 0.01 * np.arange(10)])
    rtol, atol = 1e-10, 1e-12
    res = solve_batch(cm, Y0, P, grid, rtol=rtol, atol=atol, method="rodas5p")
    assert np.all(res.status == OK)
    for i in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ref = odeint(
                cm.rhs_ode,
                Y0[i],
                grid,
                args=(P[i], cm.data, cm.bounds),
                Dfun=cm.jac_ode,
                rtol=1e-13,
                atol=1e-16,
                mxstep=10**6,
            )
        assert np.max(np.abs(res.y[i] - ref) / (atol + rtol * np.abs(ref))) < AGREE


@pytest.mark.parametrize(("method", "order"), [("rodas4", 4), ("rodas5p", 5)])
def test_convergence_order_with_fixed_steps(toy2, method, order):
    """x' = x^2 / 2, v' = -v from (1, 1) to t = 1 (x = 2, v = 1/e) with fixed steps h = 1/N
    (loose tolerances, so every step is accepted, h0 = hmax = h)."""
    cm = toy2
    p = cm.pack({"w": 0.0, "c": 0.5, "k": 1.0})
    errs = []
    for N in (20, 40, 80):
        res = solve_batch(
            cm,
            [1.0, 1.0],
            p,
            [0.0, 1.0],
            rtol=1.0,
            atol=1.0,
            h0=1.0 / N,
            hmax=1.0 / N,
            method=method,
        )
        assert res.status[0] == OK and res.n_steps[0] == N
        errs.append(np.max(np.abs(res.y[0, -1] - [2.0, math.exp(-1.0)])))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - order) < 0.3), (errs, rates)


# ----------------------------------------------------------------------------- failures
def test_blow_up_point_does_not_kill_the_batch(toy2):
    cm = toy2
    cs = [0.0, 1.0, -1.0, 0.5]
    P = param_rows(cm, [{"w": 0.0, "k": 1.0, "c": c} for c in cs])
    grid = np.linspace(0.0, 4.05, 10)  # blow-ups at t = 1 and 2 fall between grid points
    res = solve_batch(cm, [1.0, 1.0], P, grid)
    assert res.status[1] in (NON_FINITE, STEP_UNDERFLOW, MAX_STEPS) and res.status[1] != OK
    assert [res.status[i] for i in (0, 2)] == [OK, OK]
    assert res.status[3] != OK  # blows up at t = 2
    for i in (0, 2):
        np.testing.assert_allclose(res.y[i, :, 0], 1.0 / (1.0 - cs[i] * grid), rtol=1e-7)
        np.testing.assert_allclose(res.y[i, :, 1], np.exp(-grid), rtol=1e-7)
    # the failed points keep what they reached (t < blow-up) and are nan after it
    assert np.all(np.isfinite(res.y[1, :3])) and np.all(np.isnan(res.y[1, 3:]))
    np.testing.assert_allclose(res.y[3, :5, 0], 1.0 / (1.0 - 0.5 * grid[:5]), rtol=1e-7)
    assert np.all(np.isnan(res.y[3, 5:]))
    tr = res.trajectory(1)
    assert tr.stats["status"] != "ok" and len(tr) == 3
    assert res.status_names()[0] == "ok"


def test_max_steps_status(toy2):
    res = solve_batch(toy2, [1.0, 1.0], toy2.pack(), [0.0, 100.0], max_steps=5)
    assert res.status[0] == MAX_STEPS and res.n_steps[0] == 5


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y0": np.zeros(3)}, "y0 must have shape"),
        ({"y0": np.zeros((3, 2))}, "different numbers of points"),
        ({"y0": [np.nan, 0.0]}, "y0 contains non-finite"),
        ({"params": np.zeros(5)}, "params must have shape"),
        ({"params": [[np.inf, 0.0, 0.0, 1.0]]}, "params contain non-finite"),
        ({"t_eval": [0.0]}, "at least 2"),
        ({"t_eval": [0.0, 2.0, 1.0]}, "strictly increasing"),
        ({"t_eval": [0.0, np.nan]}, "non-finite"),
        ({"rtol": -1e-8}, "rtol must be"),
        ({"atol": 0.0}, "atol must be"),
        ({"rtol": 1e-16}, "rtol must be >= 1e-14"),
        ({"max_steps": 0}, "max_steps"),
        ({"events": [("nope", 1.0)]}, "unknown name"),
        ({"events": [("x", 1.0, 2)]}, "direction"),
        ({"threads": 0}, "threads"),
        ({"method": "rk4"}, "unknown method"),
    ],
)
def test_input_validation(toy2, kwargs, match):
    args = {"y0": [1.0, 1.0], "params": np.array([[1.0, 0.0, 0.0, 1.0]] * 2), "t_eval": [0.0, 1.0]}
    opts = {k: v for k, v in kwargs.items() if k not in args}
    args.update({k: v for k, v in kwargs.items() if k in args})
    with pytest.raises(ValueError, match=match):
        solve_batch(toy2, args["y0"], args["params"], args["t_eval"], **opts)


def test_needs_numba_backend(toy2):
    cm = toy2.model.compile("numpy")
    with pytest.raises(ValueError, match="backend='numba'"):
        solve_batch(cm, [1.0, 1.0], cm.pack(), [0.0, 1.0])


def test_stale_wrapper_modules_are_removed(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A wrapper written by another version of batch.py is deleted when a new one is written."""
    import sympy as sp

    from dynamics.batch import specialise
    from dynamics.model import ReducedModel

    monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(tmp_path))
    x = sp.Symbol("x", real=True)
    cm = ReducedModel.from_loss("batch-stale-test", [x], [], (x - 1) ** 2 / 2).compile()
    gen = Path(cm.module_path)
    stale = gen.with_name(f"batch_{gen.stem}_000000000000.py")
    stale.write_text("# an old wrapper\n")
    specialise._MODULES.clear()
    res = solve_batch(cm, [0.0], cm.pack(), [0.0, 1.0])
    assert res.ok.all() and abs(res.y[0, -1, 0] - (1 - np.exp(-1.0))) < 1e-7
    assert not stale.exists()
    assert list(gen.parent.glob(f"batch_{gen.stem}_*.py"))  # the current wrapper stays


def test_specialisation_reads_no_source_text(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The per-model module is built from data and compiled functions, never from the
    kernel's source text: with inspect.getsource broken, a fresh module builds and solves,
    and its text names the kernel builder instead of containing the kernel."""
    import inspect

    import sympy as sp

    from dynamics.batch import specialise
    from dynamics.model import ReducedModel

    monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(tmp_path))
    x = sp.Symbol("x", real=True)
    cm = ReducedModel.from_loss("batch-source-test", [x], [], (x - 2) ** 2 / 2).compile()
    monkeypatch.setattr(inspect, "getsource", lambda obj: "def edited_since(:\n")
    specialise._MODULES.clear()
    res = solve_batch(cm, [0.0], cm.pack(), [0.0, 1.0])
    assert res.ok.all() and abs(res.y[0, -1, 0] - 2 * (1 - np.exp(-1.0))) < 1e-7
    text = Path(specialise.wrapper_module(cm).__file__).read_text()
    assert "make_kernel(" in text and "def _solve_point" not in text and "while st == OK" not in text


# ------------------------------------------------------------- linear algebra of the steps
@pytest.mark.parametrize("n", [1, 3, 6])
def test_unrolled_lu_and_solve_match_the_loops_and_numpy(n):
    """The per-model LU (literal trip counts) and straight-line solve (generated for small
    n) perform the loop versions' operations: same factors bit for bit, solutions equal to numpy's to 1e-12, and
    the same refusals (singular, non-finite)."""
    import math

    from dynamics.batch import linalg as B

    ns = {"math": math}
    exec(B.fixed_lu_source(n, "_lu"), ns)
    exec(B.unrolled_solve_source(n, "_lu_solve"), ns)
    lu_u, solve_u = numba.njit(ns["_lu"]), numba.njit(ns["_lu_solve"])
    rng = np.random.default_rng(n)
    for trial in range(20):
        A = rng.normal(size=(n, n))
        if trial % 2 and n > 1:
            A[0, 0] = 0.0  # forces a row swap
        b = rng.normal(size=n)
        a1, a2 = A.copy(), A.copy()
        p1, p2 = np.empty(n, np.int64), np.empty(n, np.int64)
        assert B.lu(a1, p1) and lu_u(a2, p2)
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(p1, p2)
        x1, x2 = np.empty(n), np.empty(n)
        B.lu_solve(a1, p1, b, x1)
        solve_u(a2, p2, b, x2)
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_allclose(A @ x1, b, atol=1e-12 * max(1.0, np.abs(b).max()))
    for bad in (np.zeros((n, n)), np.full((n, n), np.nan)):
        p = np.empty(n, np.int64)
        assert not B.lu(bad.copy(), p) and not lu_u(bad.copy(), p)


def _generated_tableau(n, dop_table=None):
    from dynamics.batch import dop853, rosenbrock

    jit = "@numba.njit(error_model='numpy', fastmath={'contract'})"
    ns = {"math": math, "numba": numba}
    exec(dop853.tableau_source(n, jit, *([dop_table] if dop_table is not None else [])), ns)
    exec(rosenbrock.tableau_source(n, jit), ns)
    return ns


def _reference_helpers():
    from dynamics.batch import dense, dop853, rosenbrock

    return {
        "_dop_arg": dop853.dop_arg,
        "_dop_arg_dense": dop853.dop_arg,
        "_dop_new": dop853.dop_new,
        "_dop_err": dop853.dop_err,
        "_dop_dense": dop853.dop_dense,
        "_dop_interp": dense.dop_interp,
        "_ros_arg": rosenbrock.ros_arg,
        "_ros_corr": rosenbrock.ros_corr,
        "_ros_dense": rosenbrock.ros_dense,
    }


def _tableau_outputs(fns, n, seed=0):
    """Every tableau helper of ``fns`` on the same random stages; a flat vector of results."""
    from dynamics.batch.rosenbrock import TABLEAUX

    rng = np.random.default_rng(seed)
    K = rng.normal(size=16 * n)  # flat: stage q is K[q n : (q + 1) n]
    y, ynew, f0, f1 = (rng.normal(size=n) for _ in range(4))
    h, hinv = 0.37, 1.0 / 0.37
    out = []
    for sg in [*range(1, 12), 13, 14, 15]:
        o = np.empty(n)
        fns["_dop_arg" if sg < 12 else "_dop_arg_dense"](sg, y, h, K, o)
        out.append(o)
    o = np.empty(n)
    fns["_dop_new"](y, h, K, o)
    out.append(o)
    w = np.empty(2 * n)
    out.append(np.array([fns["_dop_err"](K, y, ynew, h, 1e-8, 1e-10, w)]))
    out.append(w)
    F = np.empty(7 * n)
    fns["_dop_dense"](y, ynew, f0, f1, h, K, F)
    out.append(F)
    for s in (0.0, 0.3, 1.0):
        o = np.empty(n)
        fns["_dop_interp"](F, y, s, o)
        out.append(o)
    for tab, tb in enumerate(TABLEAUX):
        for sg in range(1, tb.n_arg):
            o = np.empty(n)
            fns["_ros_arg"](tab, sg, y, K, o)
            out.append(o)
        for sg in range(1, tb.stages):
            o = f0.copy()
            fns["_ros_corr"](tab, sg, hinv, K, o)
            out.append(o)
    F = np.empty(3 * n)
    fns["_ros_dense"](K, F)
    out.append(F)
    return np.concatenate(out)


@pytest.mark.parametrize("n", [1, 10, 17])
def test_generated_tableau_helpers_match_the_table_driven_reference(n):
    """The per-model copies of the step's tableau combinations (literal coefficients) give
    the reference versions' results to rounding; negative control: one coefficient of the
    DOP853 weights changed before generating, and the results differ."""
    import dataclasses

    from dynamics.batch import dense
    from dynamics.batch.tableaux import DOP853

    want = _tableau_outputs(_reference_helpers(), n)
    got = _tableau_outputs(_generated_tableau(n), n)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    # the flat dense output is interp's DOP853 polynomial on the same coefficients
    rng = np.random.default_rng(1)
    F, y0 = rng.normal(size=7 * n), rng.normal(size=n)
    a, b = np.empty(n), np.empty(n)
    dense.dop_interp(F, y0, 0.37, a)
    dense.interp(dense.DOP853_DENSE, F, y0, y0, y0, y0, 1.0, 0.37, b)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14)
    wrong = np.array(DOP853.b)
    wrong[5] *= 1.001
    bad = _tableau_outputs(_generated_tableau(n, dataclasses.replace(DOP853, b=wrong)), n)
    assert not np.allclose(bad, want, rtol=1e-6, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize(("explicit", "r5", "k"), [(True, False, 8), (False, True, 5), (False, False, 4)])
def test_predictive_controller_follows_a_step_that_grows_with_t(explicit, r5, k):
    """Model of a log-time flow: the error of a step is ``(h / (0.2 t))^k``. The predictive
    controller settles at the target error ``0.9^k`` (steps as large as the tolerance
    allows); the elementary one lags at well under half of it (the behaviour measured on
    the benchmarks, where it cost ~10-20% more steps)."""
    from dynamics.batch.control import step_factor as _step_factor

    def settle(predict):
        t, h, h_last, err_last = 1.0, 1e-3, 0.0, 0.0
        for _ in range(400):
            err = (h / (0.2 * t)) ** k
            assert err <= 1.0  # no rejection on this smooth model
            ratio = h / h_last if h_last else 1.0
            fac = _step_factor(err, explicit, r5, predict and h_last > 0.0, ratio, err_last)
            h_last, err_last, t, h = h, err, t + h, h * fac
        return err

    assert settle(True) == pytest.approx(0.9**k, rel=1e-6)
    assert settle(False) < 0.65 * 0.9**k
    # after a rejection the step shrinks, clipped like the elementary controller
    assert _step_factor(1e6, explicit, r5, False, 1.0, 0.0) == pytest.approx(0.2)


def test_rejected_rosenbrock_tries_back_off():
    """On the stiff benchmark's first 16 points, a DOP853 step growing past its stability
    limit used to be followed by a rejected Rodas5P try, over and over (18.7 rejected
    attempts per solve, measured before the back-off); now a rejected try sends DOP853 back
    to its stability limit for 1, 2, 4, ... steps (measured: 5.5 per solve, at most 7)."""
    from dynamics.bench import parameter_points

    prob = BP.problem("logistic-stiff")
    cm = prob.model.compile()
    P = param_rows(cm, parameter_points(prob, 16))
    res = solve_batch(cm, prob.y0, P, log_grid(BP.T_MAX, n=200), rtol=RTOL, atol=ATOL)
    assert np.all(res.status == OK)
    assert res.n_rejected.mean() < 10.0
    assert np.all(res.n_rejected < res.n_steps)
    traj = res.trajectory(0)
    assert traj.stats["nrejected"] == res.n_rejected[0]


# ------------------------------------------------------------------ piecewise schedules
def test_schedule_is_integrated_piece_by_piece_against_the_closed_form():
    """dx/dt = -c(t) k f x with c = 3 before t = 2, 1 until t = 5, then 0.5 (group "w"), per
    point k and row factor f: the closed form at every grid point (the breaks are not grid
    points), the crossing x = 1e-3 in whichever piece it falls (or none), a point failing in
    piece 1 staying failed, and the negative control (the schedule ignored) far off."""
    from dynamics.schedule import Schedule

    x, k = sp.Symbol("x", real=True), sp.Symbol("k", positive=True)
    cm = ReducedModel.from_loss(
        "batch-sched-decay", [x], [k], k * x**2 / 2, groups=["w"], defaults={"k": 1.0}
    ).compile()
    sched = Schedule((2.0, 5.0), ({"w": 3.0}, {}, {"w": 0.5}))
    grid = np.linspace(0.0, 9.0, 31)
    assert not np.isin([2.0, 5.0], grid).any()
    kf = [(2.0, 1.0), (0.5, 2.0), (0.7, 1.0), (0.25, 1.0)]  # rates r = k f: 2, 1, 0.7, 0.25
    P = np.array([cm.pack({"k": kv}, {"w": f}) for kv, f in kf])
    res = solve_batch(cm, [1.0], P, grid, rtol=1e-10, atol=1e-14, schedule=sched,
                      events=[("x", 1e-3, -1)])
    assert res.stats["pieces"] == 3 and np.all(res.status == OK)

    def exponent(t, r):
        return np.where(
            t < 2, 3 * r * t, np.where(t < 5, 6 * r + r * (t - 2), 9 * r + 0.5 * r * (t - 5))
        )

    def crossing(r):  # E(t) = ln 1000, piece by piece
        e = np.log(1e3)
        for lo, hi, base, slope in ((0, 2, 0, 3 * r), (2, 5, 6 * r, r), (5, 9, 9 * r, 0.5 * r)):
            t = lo + (e - base) / slope
            if lo <= t < hi:
                return t
        return np.nan

    pieces_hit = set()
    for i, (kv, f) in enumerate(kf):
        r = kv * f
        np.testing.assert_allclose(res.y[i, :, 0], np.exp(-exponent(grid, r)), rtol=1e-7,
                                   atol=1e-13)
        tc = crossing(r)
        if np.isnan(tc):
            assert np.isnan(res.crossings[i, 0])
        else:
            assert res.crossings[i, 0] == pytest.approx(tc, rel=1e-8)
            pieces_hit.add(int(tc >= 2) + int(tc >= 5))
    assert pieces_hit == {0, 1, 2}  # one crossing in each piece, and one point without
    plain = solve_batch(cm, [1.0], P, grid, rtol=1e-10, atol=1e-14)
    assert np.max(np.abs(plain.y[1, :, 0] - np.exp(-exponent(grid, 1.0)))) > 0.1  # control
    # a point that blows up in the first piece keeps its failure (and nan) through the rest
    y, s2 = sp.Symbol("y", real=True), sp.Symbol("s", real=True)
    blow = ReducedModel.from_loss(
        "batch-sched-blow", [y], [s2], -s2 * y**4 / 4, groups=["w"], defaults={"s": 0.0}
    ).compile()
    Pb = np.array([blow.pack({"s": 1.0}), blow.pack({"s": 0.0})])
    rb = solve_batch(blow, [1.0], Pb, grid, schedule=sched, max_steps=2000)
    assert rb.status[0] != OK and rb.status[1] == OK
    assert np.isnan(rb.y[0, -1, 0]) and rb.y[1, -1, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown group"):
        solve_batch(cm, [1.0], P, grid, schedule=Schedule.switch(1.0, before={"attn": 2.0}))


def test_threads_give_the_same_numbers_as_serial(toy2):
    """threads > 1 runs chunks of points on Python threads (the entry point releases the
    GIL): the same arrays bit for bit as one thread, for more threads than chunks too."""
    cm = toy2
    P = param_rows(cm, [{"w": 1.0 + 0.1 * i, "k": 0.05 * i} for i in range(7)])
    grid = np.linspace(0.0, 5.0, 11)
    one = solve_batch(cm, [1.0, 0.5], P, grid, events=[("x", 0.0, 0)])
    for th in (2, 3, 16):
        many = solve_batch(cm, [1.0, 0.5], P, grid, events=[("x", 0.0, 0)], threads=th)
        np.testing.assert_array_equal(many.y, one.y)
        np.testing.assert_array_equal(many.crossings, one.crossings)
        np.testing.assert_array_equal(many.n_steps, one.n_steps)
        assert many.stats["threads"] == th


def test_options_value_params_by_name_and_a_reduced_model(toy2):
    """One vocabulary: the options as a SolveOptions value (the old keywords merged; one
    field given twice is an error), params as a mapping or a list of mappings, and a
    ReducedModel accepted in place of its compiled model."""
    from dynamics.options import SolveOptions

    cm = toy2
    grid = [0.0, 1.0, 2.0]
    ref = solve_batch(cm, [1.0, 0.0], cm.pack({"w": 2.0}), grid, rtol=1e-9, method="rodas5p")
    opts = SolveOptions(rtol=1e-9, method="rodas5p")
    by_value = solve_batch(cm.model, [1.0, 0.0], {"w": 2.0}, grid, options=opts)
    np.testing.assert_array_equal(by_value.y, ref.y)
    rows = solve_batch(cm, [1.0, 0.0], [{"w": 2.0}, {"w": 1.0}], grid, options=opts)
    np.testing.assert_array_equal(rows.y[0], ref.y[0])
    assert rows.params.shape == (2, 4)
    with pytest.raises(ValueError, match="rtol given both"):
        solve_batch(cm, [1.0, 0.0], {"w": 2.0}, grid, options=opts, rtol=1e-6)
    on_grid = solve_batch(cm, [1.0, 0.0], {"w": 2.0}, options=opts.replace(t_eval=tuple(grid)))
    np.testing.assert_array_equal(on_grid.y, ref.y)
