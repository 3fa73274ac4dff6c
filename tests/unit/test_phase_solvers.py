"""Phase solvers: the Solver contract, one SolveOptions value from sweep() to the kernel,
and a fallback to another solver that is announced and recorded, never silent."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import sympy as sp

from dynamics.model import ReducedModel
from dynamics.options import SolveOptions
from dynamics.phase import (
    POINT_DONE,
    POINT_FAILED,
    Solved,
    SolverFallbackWarning,
    batch_solver,
    integrate_solver,
    sweep,
)


def one_mode(name: str) -> ReducedModel:
    """L = (s - ab)^2 / 2: u = ab -> s (as in test_phase; its own name per backend, since a
    sweep's process cache is keyed by the model's content)."""
    a, b = sp.symbols("a b", real=True)
    s = sp.Symbol("s", positive=True)
    return ReducedModel.from_loss(name, [a, b], [s], (s - a * b) ** 2 / 2,
                                  observables={"u": a * b}, defaults={"s": 1.0})


Y0 = np.array([[0.1, 0.1], [0.1, 0.1]])
PARAMS = [{"s": 1.0}, {"s": 2.0}]


@pytest.fixture(scope="module")
def numba_mode():
    return one_mode("phase-solvers-numba").compile()


@pytest.fixture(scope="module")
def numpy_mode():
    return one_mode("phase-solvers-numpy").compile(backend="numpy")


@pytest.mark.parametrize("solver", [integrate_solver, batch_solver])
def test_solvers_follow_the_contract(numba_mode, solver):
    """Item 2: one Trajectory per point, on options.grid(), in order; u = ab -> s."""
    opts = SolveOptions(t_max=50.0, n_points=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverFallbackWarning)  # numba model: no fallback
        out = solver(numba_mode, Y0, PARAMS, opts)
    assert isinstance(out, Solved) and out.fallback is None and len(out.results) == 2
    assert out.solver == ("batch" if solver is batch_solver else "integrate")
    for tr, p in zip(out.results, PARAMS, strict=True):
        np.testing.assert_allclose(tr.t, opts.grid())
        assert tr["u"][-1] == pytest.approx(p["s"], rel=1e-5)


@pytest.mark.parametrize("solver", [integrate_solver, batch_solver])
@pytest.mark.parametrize(
    ("y0", "params", "options", "match"),
    [
        (Y0[:, :1], PARAMS, SolveOptions(t_max=1.0), "y0 must have shape"),
        (Y0, np.array([[1.0], [2.0]]), SolveOptions(t_max=1.0), "params must be a sequence"),
        (Y0, PARAMS[:1], SolveOptions(t_max=1.0), "params has 1 entries for 2"),
        (Y0, [{"s": 1.0}, {"q": 1.0}], SolveOptions(t_max=1.0), r"params\[1\]: unknown parameter"),
        (Y0, PARAMS, {"t_max": 1.0}, "options must be"),
    ],
)
def test_a_bad_argument_raises_and_never_falls_back(numba_mode, solver, y0, params, options, match):
    """Item 3: a programming error is a ValueError before any point is solved (the batch
    solver used to swallow a wrong-shape argument and rerun everything with scipy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverFallbackWarning)
        with pytest.raises(ValueError, match=match):
            solver(numba_mode, y0, params, options)


@pytest.mark.parametrize(("solver", "method"), [(batch_solver, "RK45"), (integrate_solver, "rodas5p")])
def test_a_method_the_solver_does_not_have_raises(numba_mode, solver, method):
    """A method of the other solver is a bad argument: raised, not a reason to fall back,
    and not a failure recorded at every point."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverFallbackWarning)
        with pytest.raises(ValueError, match="options.method"):
            solver(numba_mode, Y0, PARAMS, SolveOptions(t_max=1.0, method=method))


@pytest.mark.parametrize(("solver", "method"), [("batch", "RK45"), ("integrate", "rodas5p")])
def test_sweep_refuses_a_method_of_the_other_solver_before_any_work(numba_mode, tmp_path,
                                                                    solver, method):
    with pytest.raises(ValueError, match="options.method"):
        sweep(numba_mode, "s=0.5:2:2", solver=solver, progress=False, out=tmp_path / "p",
              options=SolveOptions(t_max=1.0, method=method))
    assert not any(tmp_path.iterdir())


def test_batch_solver_falls_back_for_a_model_without_numba(numpy_mode, numba_mode):
    """Item 4: a documented reason (model not compiled with numba): warned, recorded, and
    the points solved by integrate, equal to integrate_solver's."""
    opts = SolveOptions(t_max=50.0, n_points=30)
    with pytest.warns(SolverFallbackWarning, match="backend 'numpy'"):
        out = batch_solver(numpy_mode, Y0, PARAMS, opts)
    assert out.solver == "integrate"
    assert out.fallback is not None and out.fallback["from"] == "batch"
    assert out.fallback["to"] == "integrate" and "numpy" in out.fallback["reason"]
    ref = integrate_solver(numpy_mode, Y0, PARAMS, opts).results
    for a, b in zip(out.results, ref, strict=True):
        np.testing.assert_array_equal(a.y, b.y)


def test_batch_solver_falls_back_when_the_kernel_does_not_compile(numba_mode, monkeypatch):
    """Item 4: numba failing to compile the kernel is the other documented reason."""
    import numba.core.errors

    import dynamics.batch

    def broken(*a, **k):
        raise numba.core.errors.TypingError("cannot type the kernel")

    monkeypatch.setattr(dynamics.batch, "solve_batch", broken)
    with pytest.warns(SolverFallbackWarning, match="failed to compile"):
        out = batch_solver(numba_mode, Y0, PARAMS, SolveOptions(t_max=5.0))
    assert out.fallback is not None and "TypingError" in out.fallback["reason"]
    assert all(not isinstance(r, Exception) for r in out.results)

    def wrong(*a, **k):
        raise ValueError("a bug, not a compile error")

    monkeypatch.setattr(dynamics.batch, "solve_batch", wrong)
    with pytest.raises(ValueError, match="a bug"):
        batch_solver(numba_mode, Y0, PARAMS, SolveOptions(t_max=5.0))


def test_sweep_records_and_saves_a_fallback(numpy_mode, tmp_path):
    """A sweep whose batch solver fell back warns once and says so in its result and file."""
    with pytest.warns(SolverFallbackWarning) as rec:
        res = sweep(numpy_mode, "s=0.5:2:4", t_max=20.0, solver="batch", workers=1,
                    progress=False, out=tmp_path / "p", fixed={"a": 0.1, "b": 0.1})
    assert sum(issubclass(w.category, SolverFallbackWarning) for w in rec) == 1
    assert np.all(res.status == POINT_DONE)
    assert res.config["solver"] == "integrate"
    assert res.config["fallback"]["from"] == "batch" and "numpy" in res.config["fallback"]["reason"]
    meta = json.loads((tmp_path / "p.json").read_text())["meta"]
    assert meta["config"]["fallback"] == res.config["fallback"]
    assert meta["config"]["solver"] == "integrate"


def test_sweep_without_fallback_records_none(numba_mode):
    """Negative control: the batch solver on a numba model neither warns nor records one."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverFallbackWarning)
        res = sweep(numba_mode, "s=0.5:2:3", t_max=20.0, solver="batch", workers=1,
                    progress=False, fixed={"a": 0.1, "b": 0.1})
    assert res.config["solver"] == "batch" and "fallback" not in res.config


def test_sweep_options_value_equals_the_keywords_and_is_stored(numba_mode):
    """Item 2: sweep(options=...) is sweep(t_max=..., rtol=..., ...); the value is stored."""
    kw = dict(classify="learnable", workers=1, progress=False, fixed={"a": 0.1, "b": 0.1})
    opts = SolveOptions(t_max=20.0, n_points=50, rtol=1e-9, atol=1e-11)
    a = sweep(numba_mode, "s=0.5:2:4", options=opts, **kw)
    b = sweep(numba_mode, "s=0.5:2:4", t_max=20.0, n_points=50, rtol=1e-9, atol=1e-11, **kw)
    np.testing.assert_array_equal(a.classes, b.classes)
    np.testing.assert_array_equal(a.quantities["loss_ratio"], b.quantities["loss_ratio"])
    assert a.config["options"] == opts.to_dict() == b.config["options"]
    assert a.config["t_max"] == 20.0 and a.config["rtol"] == 1e-9


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"options": SolveOptions(t_max=1.0), "rtol": 1e-6}, "rtol inside options"),
        ({"options": SolveOptions(t_max=1.0), "t_max": 1.0}, "t_max inside options"),
        ({"options": SolveOptions()}, "t_max or t_eval"),
        ({"options": {"t_max": 1.0}}, "options must be"),
        ({}, "t_max is required"),
    ],
)
def test_sweep_options_are_checked_before_any_work(numba_mode, tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        sweep(numba_mode, "s=0.5:2:2", progress=False, out=tmp_path / "p", **kw)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("solver", ["integrate", "batch"])
def test_sweep_options_reach_the_kernel(numba_mode, solver):
    """max_steps from the options value reaches each solver: a budget of 2 steps fails
    every point, naming the budget."""
    opts = SolveOptions(t_max=100.0, max_steps=2)
    res = sweep(numba_mode, "s=0.5:2:2", options=opts, solver=solver, workers=1,
                progress=False, fixed={"a": 0.1, "b": 0.1})
    assert np.all(res.status == POINT_FAILED)
    budget = "max_steps" if solver == "batch" else "Excess work"  # LSODA's words for it
    assert all(budget in e for e in res.errors), res.errors
    ok = sweep(numba_mode, "s=0.5:2:2", options=opts.replace(max_steps=None), solver=solver,
               workers=1, progress=False, fixed={"a": 0.1, "b": 0.1})
    assert np.all(ok.status == POINT_DONE)  # negative control: the default budget suffices


def test_sweep_t_eval_grid_from_options(numba_mode):
    """An explicit output grid: the trajectories end at its last time (t_max from it)."""
    opts = SolveOptions(t_eval=(0.0, 1.0, 10.0, 30.0))
    res = sweep(numba_mode, "s=0.5:2:2", options=opts, workers=1, progress=False,
                fixed={"a": 0.1, "b": 0.1})
    assert np.all(res.status == POINT_DONE) and res.config["t_max"] == 30.0


def halving_solver(model, y0, params, options, schedule=None):
    """A user Solver (module level, so it pickles): integrate at half of each ``s``."""
    halved = [{k: v / 2 for k, v in p.items()} for p in params]
    return integrate_solver(model, y0, halved, options, schedule=schedule)


def list_solver(model, y0, params, options, schedule=None):
    return integrate_solver(model, y0, params, options, schedule=schedule).results


def test_sweep_takes_a_solver_function(numba_mode):
    """A function following the Solver contract is used for every point and named in the
    result; one that breaks it (returns a bare list) is an error, not a failed point."""
    def final_u(tr) -> tuple[int, dict[str, float]]:
        return 0, {"u": float(tr["u"][-1])}

    kw = dict(classify=final_u, t_max=200.0, workers=1, progress=False,
              fixed={"a": 0.1, "b": 0.1})
    res = sweep(numba_mode, "s=1:2:3", solver=halving_solver, **kw)
    np.testing.assert_allclose(res.quantities["u"], res.x / 2, rtol=1e-5)
    assert res.config["solver"].endswith("test_phase_solvers.halving_solver")
    with pytest.raises(TypeError, match="must return dynamics.phase.Solved"):
        sweep(numba_mode, "s=1:2:3", solver=list_solver, **kw)


def test_a_file_from_before_options_resumes(numba_mode, tmp_path):
    """Format compatibility: a result saved without config["options"] (written before sweeps
    stored them) resumes under the same t_max, n_points and tolerances."""
    from dynamics.phase import PhaseResult

    kw = dict(t_max=20.0, workers=1, progress=False, fixed={"a": 0.1, "b": 0.1},
              out=tmp_path / "p")
    sweep(numba_mode, "s=0.5:2:3", **kw)
    old = PhaseResult.load(tmp_path / "p")
    del old.config["options"]
    old.status[1] = 0  # one point left to do
    old.save(tmp_path / "p")
    res = sweep(numba_mode, "s=0.5:2:3", **kw)
    assert res.complete and res.config["options"] == SolveOptions(t_max=20.0).to_dict()
    with pytest.raises(ValueError, match="different configuration"):
        sweep(numba_mode, "s=0.5:2:3", **{**kw, "t_max": 30.0})


def crossing_time(tr) -> tuple[int, dict[str, float]]:
    """The first (only) located crossing, from the trajectory's stats."""
    (times,) = tr.stats["events"].values()
    return int(bool(times)), {"t_cross": times[0] if times else float("nan")}


@pytest.mark.parametrize("solver", ["integrate", "batch"])
def test_sweep_options_events_reach_either_solver(numba_mode, solver):
    """options.events (a Crossing of the observable u = ab) reach either solver, which
    locates it at the closed-form time."""
    from dynamics.options import Crossing

    s = np.array([1.0, 2.0])
    res = sweep(numba_mode, "s=1:2:2", classify=crossing_time, solver=solver, workers=1,
                progress=False, fixed={"a": 0.1, "b": 0.1},
                options=SolveOptions(t_max=20.0, events=(Crossing("u", 0.5, +1),)))
    assert np.all(res.classes == 1)
    # s = 1 crosses 0.5 = s/2; s = 2 crosses 0.5 earlier: u = 0.5 of s/(1 + (s/u0 - 1)e^{-2st})
    expect = np.log((s / 0.01 - 1) / (s / 0.5 - 1)) / (2 * s)
    np.testing.assert_allclose(res.quantities["t_cross"], expect, rtol=1e-5)


def test_batch_method_names_match_the_batch_kernel():
    """check_method's list is the batch kernel's (a sweep refuses other names before work)."""
    from dynamics.batch.kernel import METHODS
    from dynamics.phase.solvers import BATCH_METHODS

    assert set(BATCH_METHODS) == set(METHODS)
