"""dynamics.batch's step functions called directly (small njit right-hand sides, no model
compilation): the real Rosenbrock step (both tableaux) and DOP853 step against exact or
tight reference solutions and their orders, the unstable-direction refusal, the kernel
built from the reference helpers, and the per-model module's numba cache across processes."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

from dynamics.batch import dense, dop853, rosenbrock
from dynamics.batch.kernel import METHODS, KernelOptions, make_kernel, reference_functions
from dynamics.batch.result import OK


@numba.njit
def vdp_rhs(t, y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    """Van der Pol, mu = p[0]."""
    out[0] = y[1]
    out[1] = p[0] * (1.0 - y[0] ** 2) * y[1] - y[0]


@numba.njit
def vdp_jac(t, y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    out[0, 0] = 0.0
    out[0, 1] = 1.0
    out[1, 0] = -2.0 * p[0] * y[0] * y[1] - 1.0
    out[1, 1] = p[0] * (1.0 - y[0] ** 2)


@numba.njit
def lin_rhs(t, y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    """y' = p[0] y (one coordinate)."""
    out[0] = p[0] * y[0]


@numba.njit
def lin_jac(t, y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    out[0, 0] = p[0]


@numba.njit
def logistic_rhs(t, y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    """y' = y (1 - y): y(t) = 1 / (1 + (1/y0 - 1) e^-t)."""
    out[0] = y[0] * (1.0 - y[0])


@numba.njit
def logistic_jac(t, y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    out[0, 0] = 1.0 - 2.0 * y[0]


@numba.njit
def logistic_obs(y, p, data, bounds, out):  # type: ignore[no-untyped-def]
    out[0] = 2.0 * y[0]


def logistic_exact(t, y0):  # type: ignore[no-untyped-def]
    return 1.0 / (1.0 + (1.0 / y0 - 1.0) * np.exp(-t))


_NONE = np.zeros(0)
_ROS = rosenbrock.make_step(vdp_rhs)
_ROS_LIN = rosenbrock.make_step(lin_rhs)
_DOP, _DOP_DENSE = dop853.make_step(vdp_rhs, vdp_rhs)


def ros_step(step, jac, tab, y, h, p):  # type: ignore[no-untyped-def]
    """One call of the real step: (outcome, y_new, embedded solution, stages)."""
    n = y.size
    J = np.empty((n, n))
    jac(0.0, y, p, _NONE, _NONE, J)
    f0 = np.empty(n)
    (vdp_rhs if step is _ROS else lin_rhs)(0.0, y, p, _NONE, _NONE, f0)
    K, ynew = np.zeros(8 * n), np.empty(n)
    outcome, err = step(tab, 0.0, y, h, J, np.empty((n, n)), np.empty(n, np.int64), f0, K,
                        K.reshape((8, n)), np.empty(n), np.empty(n), ynew, p, _NONE, _NONE, 1e-8, 1e-10)
    s = rosenbrock.TABLEAUX[tab].stages
    return outcome, ynew, ynew - K[(s - 1) * n : s * n], K, f0


def vdp_reference(y0, h, mu=1.0):  # type: ignore[no-untyped-def]
    from scipy.integrate import solve_ivp

    def f(t, y):  # type: ignore[no-untyped-def]
        return [y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]]

    return solve_ivp(f, (0, h), y0, method="DOP853", rtol=1e-13, atol=1e-15, dense_output=True)


@pytest.mark.parametrize(("tab", "order"), [(0, 4), (1, 5)])
def test_rosenbrock_step_orders(tab, order):
    """The real step on Van der Pol: local error O(h^(p+1)), embedded solution O(h^p), and
    for Rodas5P its dense output O(h^5) at mid-step."""
    y0, p = np.array([2.0, 0.0]), np.array([1.0])
    errs = []
    for h in (0.1, 0.05, 0.025):
        ref = vdp_reference(y0, h)
        outcome, y1, emb, K, f0 = ros_step(_ROS, vdp_jac, tab, y0, h, p)
        assert outcome == rosenbrock.STEP_OK
        row = [np.linalg.norm(y1 - ref.y[:, -1]), np.linalg.norm(emb - ref.y[:, -1])]
        if tab == 1:
            F, mid = np.empty(6), np.empty(2)
            rosenbrock.ros_dense(K, F)
            f1 = np.empty(2)
            vdp_rhs(0.0, y1, p, _NONE, _NONE, f1)
            dense.interp(dense.RODAS5P_DENSE, F, y0, y1, f0, f1, h, 0.5, mid)
            row.append(np.linalg.norm(mid - ref.sol(0.5 * h)))
        errs.append(row)
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(rates[:, 0] > order + 0.3), rates
    assert np.all(rates[:, 1] > order - 0.8) and np.all(rates[:, 1] < order + 0.8), rates
    if tab == 1:
        assert np.all(rates[:, 2] > 4.2), rates


@pytest.mark.parametrize("tab", [0, 1])
def test_rosenbrock_step_is_l_stable_and_refuses_damped_growth(tab):
    """y' = lam y: for lam -> -inf one step of h = 1 goes to ~0 (L-stability); for lam =
    +1e3 the first stage points against f and the step is refused (UNSTABLE_STEP)."""
    for lam in (-1e6, -1e10):
        outcome, y1, _, _, _ = ros_step(_ROS_LIN, lin_jac, tab, np.ones(1), 1.0, np.array([lam]))
        assert outcome == rosenbrock.STEP_OK and abs(y1[0]) < 20.0 / abs(lam)
    outcome, _, _, _, _ = ros_step(_ROS_LIN, lin_jac, tab, np.ones(1), 1.0, np.array([1e3]))
    assert outcome == rosenbrock.UNSTABLE_STEP
    outcome, y1, _, _, _ = ros_step(_ROS_LIN, lin_jac, tab, np.ones(1), 1e-4, np.array([1e3]))
    assert outcome == rosenbrock.STEP_OK and y1[0] == pytest.approx(math.exp(0.1), rel=1e-4)


def test_dop853_step_order_and_dense_output():
    """The real DOP853 step on Van der Pol: local error O(h^9) (rates 7.5 and 8.5 over h =
    0.4, 0.2, 0.1: still approaching 9 from below), the error norm positive and finite, and the dense output at mid-step O(h^8)."""
    y0, p = np.array([2.0, 0.0]), np.array([1.0])
    errs = []
    for h in (0.4, 0.2, 0.1):
        ref = vdp_reference(y0, h)
        K = np.zeros(32)
        f0 = np.empty(2)
        vdp_rhs(0.0, y0, p, _NONE, _NONE, f0)
        K[:2] = f0
        y1, f1, ytmp = np.empty(2), np.empty(2), np.empty(2)
        err = _DOP(0.0, y0, h, p, _NONE, _NONE, K, K.reshape((16, 2)), ytmp, y1, f1, 1e-8, 1e-10,
                   np.empty(4))
        assert math.isfinite(err) and err > 0.0
        F, mid = np.empty(14), np.empty(2)
        _DOP_DENSE(0.0, y0, y1, f0, f1, h, p, _NONE, _NONE, K, K.reshape((16, 2)), F, ytmp)
        dense.dop_interp(F, y0, 0.5, mid)
        errs.append([np.linalg.norm(y1 - ref.y[:, -1]), np.linalg.norm(mid - ref.sol(0.5 * h))])
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(rates[:, 0] > 7.2) and rates[-1, 0] > 8.2, (errs, rates)
    assert np.all(rates[:, 1] > 6.5), (errs, rates)


@pytest.fixture(scope="module")
def logistic_kernel():
    return make_kernel(reference_functions(logistic_rhs, logistic_jac, logistic_obs, 1))


def _kernel_opts(method, events=(), h0=0.0, max_steps=100_000):  # type: ignore[no-untyped-def]
    kind = np.array([k for k, _, _ in events], dtype=np.int64)
    level = np.array([lv for _, lv, _ in events], dtype=float)
    direction = np.array([d for _, _, d in events], dtype=np.int64)
    return KernelOptions(1e-10, 1e-12, max_steps, h0, math.inf, METHODS[method], 1,
                         kind, np.zeros(len(events), np.int64), level, direction)


@pytest.mark.parametrize("method", ["auto", "rodas4", "rodas5p"])
def test_kernel_from_reference_helpers_solves_the_logistic(logistic_kernel, method):
    """The per-point loop built from the table-driven helpers: the logistic to t = 20 on a
    grid against the closed form, and the crossing y = 1/2 (t = ln 9 from y0 = 0.1) as a
    coordinate and as the observable 2y = 1."""
    T = np.linspace(0.0, 20.0, 41)
    Y0, P = np.array([[0.1], [0.5]]), np.zeros((2, 0))
    opts = _kernel_opts(method, [(0, 0.5, 1), (1, 1.0, 0)])
    Yout, status = np.empty((2, T.size, 1)), np.zeros(2, np.int64)
    counts, tcross = np.zeros((2, 4), np.int64), np.empty((2, 2))
    for i in range(2):
        logistic_kernel(i, Y0, P, _NONE, _NONE, T, opts, Yout, status, counts, tcross)
    assert np.all(status == OK)
    for i in range(2):
        np.testing.assert_allclose(Yout[i, :, 0], logistic_exact(T, Y0[i, 0]), rtol=1e-7)
    assert tcross[0, 0] == pytest.approx(math.log(9.0), rel=1e-8)
    assert tcross[0, 1] == pytest.approx(math.log(9.0), rel=1e-8)
    assert np.all(counts[:, 0] > 5)


def test_kernel_reports_unresolved_growth(logistic_kernel):
    """Negative control on the same loop: y0 = -1e12 runs away (y' ~ -y^2) and fails."""
    T = np.array([0.0, 10.0])
    Yout, status = np.empty((1, 2, 1)), np.zeros(1, np.int64)
    logistic_kernel(0, np.array([[-1e12]]), np.zeros((1, 0)), _NONE, _NONE, T,
                    _kernel_opts("rodas5p"), Yout, status, np.zeros((1, 4), np.int64), np.empty((1, 0)))
    assert status[0] != OK


def test_per_model_module_is_loaded_from_the_cache_by_a_new_process(tmp_path):
    """Two models' kernels, each compiled in its own process, then both loaded from the
    cache in a third: numba cache hits, no compilation, and each model's own numbers (the
    closures of a kernel carry the per-model module's name; with the same names, the second
    model loaded called the first one's steps: nan or a crash). Every process loads the
    per-model LU and solve before the entry point (see dynamics.batch.specialise)."""
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import sympy as sp
        from dynamics.batch import solve_batch
        from dynamics.batch.specialise import wrapper_module
        from dynamics.model import ReducedModel
        x, y = sp.symbols("x y", real=True)
        models = {
            "one": (ReducedModel.from_loss("batch-cache-one", [x], [], (x - 1) ** 2 / 2), [0.0], 1.0),
            "two": (ReducedModel.from_loss("batch-cache-two", [x, y], [], (x - 1) ** 2 / 2 + (y - 3) ** 2),
                    [0.0, 0.0], 3.0),
        }
        for which in sys.argv[1].split(","):
            model, y0, target = models[which]
            cm = model.compile()
            res = solve_batch(cm, y0, cm.pack(), [0.0, 1.0])
            # closed form at t = 1: the last coordinate relaxes at rate 1 (one) or 2 (two)
            rate = 1.0 if which == "one" else 2.0
            good = bool(res.ok.all()) and abs(res.y[0, -1, -1] - target * (1 - np.exp(-rate))) < 1e-6
            mod = wrapper_module(cm)
            st = mod.solve_serial.stats
            helpers = [len(f.signatures) for f in (mod._lu, mod._lu_solve)]
            loaded = sum(sum(f.stats.cache_hits.values()) for f in (mod._lu, mod._lu_solve))
            print(which, int(good), sum(st.cache_hits.values()), sum(st.cache_misses.values()), helpers, loaded)
        """
    )
    env = dict(os.environ, DYNAMICS_CACHE_DIR=str(tmp_path))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")

    def run(which: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-c", script, which], env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout.split()

    # the LU and its solve are loaded at import, with the one signature the kernel calls them
    # with (a second signature would mean the kernel links its own copies, optimised again)
    assert run("one") == ["one", "1", "0", "1", "[1,", "1]", "0"]  # compiled
    assert run("two") == ["two", "1", "0", "1", "[1,", "1]", "0"]  # compiled in another process
    both = run("two,one")  # both loaded, the second after the first
    assert both == ["two", "1", "1", "0", "[1,", "1]", "2", "one", "1", "1", "0", "[1,", "1]", "2"]


def _steps_of(solve_point):  # type: ignore[no-untyped-def]
    """The compiled step functions a kernel closes over (DOP853's step and dense stages, the
    Rosenbrock step)."""
    cells = [c.cell_contents for c in solve_point.py_func.__closure__]
    return [f for f in cells if hasattr(f, "targetoptions") and "make_step" in f.py_func.__qualname__]


def test_steps_without_reference_counting_give_the_same_step_and_no_atomic_calls():
    """``refcount=False`` (what the per-model module uses for an allocation-free RHS): compiled
    without numba's reference counting (the default build is the control), the same numbers
    bit for bit, and no reference-count call in the step's own code."""
    y = np.array([1.5, -0.3])
    p = np.array([1.0])
    n = y.size
    dop, _ = dop853.make_step(vdp_rhs, vdp_rhs, refcount=False)
    ros = rosenbrock.make_step(vdp_rhs, refcount=False)
    for step, counted in ((dop, False), (ros, False), (_DOP, True), (_ROS, True)):
        assert step.targetoptions.get("_nrt", True) is counted

    def dop_call(step):  # type: ignore[no-untyped-def]
        K = np.zeros(16 * n)
        vdp_rhs(0.0, y, p, _NONE, _NONE, K[:n])
        ynew, f1 = np.empty(n), np.empty(n)
        err = step(0.0, y, 0.1, p, _NONE, _NONE, K, K.reshape((16, n)), np.empty(n), ynew, f1, 1e-8, 1e-10,
                   np.empty(2 * n))
        return err, ynew, K

    def ros_call(step):  # type: ignore[no-untyped-def]
        J, f0 = np.empty((n, n)), np.empty(n)
        vdp_jac(0.0, y, p, _NONE, _NONE, J)
        vdp_rhs(0.0, y, p, _NONE, _NONE, f0)
        K, ynew = np.zeros(8 * n), np.empty(n)
        out = step(1, 0.0, y, 0.1, J, np.empty((n, n)), np.empty(n, np.int64), f0, K, K.reshape((8, n)),
                   np.empty(n), np.empty(n), ynew, p, _NONE, _NONE, 1e-8, 1e-10)
        return out, ynew, K

    for counted, free in ((dop_call(_DOP), dop_call(dop)), (ros_call(_ROS), ros_call(ros))):
        for a, b in zip(counted, free, strict=True):
            np.testing.assert_array_equal(a, b)
    for step in (dop, ros):
        ir = "".join(step.inspect_llvm().values())
        own = [f for f in ir.split("\ndefine ") if "make_step" in f.split("(")[0]]  # not its callees'
        assert own and not any("call void @NRT_" in f for f in own)


def test_the_per_model_module_counts_references_only_for_an_allocating_rhs():
    """The per-model steps drop reference counting for a model whose RHS makes no heap
    arrays, and keep it for a chain-rule model's (``RHS_ALLOCATES``), which still solves."""
    from dynamics.batch import solve_batch
    from dynamics.batch.specialise import wrapper_module
    from tests.conftest import toy_chain_model, toy_model

    for model, allocates in ((toy_chain_model(), True), (toy_model(), False)):
        cm = model.compile()
        mod = wrapper_module(cm)
        assert mod._gen.RHS_ALLOCATES is allocates
        steps = _steps_of(mod._solve_point)
        assert sorted(f.py_func.__name__ for f in steps) == ["dense_stages", "step", "step"]
        for f in steps:
            assert f.targetoptions.get("_nrt", True) is allocates
        res = solve_batch(cm, np.full(cm.n_state, 0.1), cm.pack(), [0.0, 0.5, 1.0])
        assert res.ok.all()
