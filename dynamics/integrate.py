r"""Integration of reduced models with scipy, producing a :class:`~dynamics.trajectory.Trajectory`.

The default method, ``"odeint"``, is ODEPACK's LSODA (``scipy.integrate.odeint``): it
switches between non-stiff Adams and stiff BDF formulas by itself, uses the generated
analytic Jacobian, and runs its whole step loop in compiled code, so only the compiled RHS
and Jacobian are called back. Long gradient flows (to $t = 10^6$ and beyond) are stiff
late on, which is why an explicit Runge-Kutta default would be a poor choice.

Any ``scipy.integrate.solve_ivp`` method (``"LSODA"``, ``"BDF"``, ``"Radau"``, ``"RK45"``,
``"DOP853"``, ...) can be chosen instead; the implicit ones get the analytic Jacobian.
Events require ``solve_ivp``: with ``method="auto"`` (the default) the integrator uses
``odeint`` without events and ``solve_ivp``'s LSODA with them.

The vocabulary is the one every solver shares (:mod:`dynamics.options`): a
:class:`~dynamics.options.SolveOptions` value carries tolerances, budget, method, time axis
and crossings, and a :class:`~dynamics.options.Crossing` (a coordinate or observable
crossing a level) is located here as by :func:`dynamics.batch.solve_batch`. An
:class:`Event` (any function ``g(t, y)``) is what only this solver adds.

Output is on a log-spaced grid (plus ``t = 0``) unless ``t_eval`` is given. A piecewise
:class:`~dynamics.schedule.Schedule` is integrated piece by piece, restarting the solver
at every switch. Failure raises :class:`IntegrationError`; a partial result is never
returned silently.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import odeint, solve_ivp

from dynamics.codegen import CompiledModel
from dynamics.model import ModelError, ReducedModel
from dynamics.options import Crossing, SolveOptions, as_crossings
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory
from dynamics.validate import positive_float, positive_int

__all__ = ["integrate", "IntegrationError", "Event", "log_grid"]

IVP_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
IMPLICIT = ("Radau", "BDF", "LSODA")


class IntegrationError(RuntimeError):
    """The solver failed; the message says where (flow time) and why."""


@dataclass(frozen=True)
class Event:
    """A scalar event function ``g(t, y)`` whose zero crossings are located.

    For a coordinate or an observable crossing a level, prefer
    :class:`~dynamics.options.Crossing`, which every solver understands; an Event is for any
    other function of the state, and for ending the integration.

    ``terminal=True`` ends the integration at the first crossing (not an error: the
    trajectory then stops there and ``stats["terminated_by"]`` names the event).
    ``direction`` is +1 (upward crossings only), -1 (downward) or 0 (both).
    """

    name: str
    fn: Callable[[float, np.ndarray], float]
    terminal: bool = False
    direction: float = 0.0

    @classmethod
    def crossing(cls, model: ReducedModel, name: str, level: float, *, terminal: bool = False,
                 direction: float = 0.0) -> Event:
        """Event when coordinate ``name`` crosses ``level``."""
        if name not in model.state_names:
            raise ModelError(f"unknown coordinate {name!r} for an event; coordinates: {list(model.state_names)}")
        i = model.state_names.index(name)
        return cls(f"{name}={level:g}", lambda t, y: float(y[i] - level), terminal, direction)


def log_grid(t_max: float, t_min: float | None = None, n: int = 200, extra: Sequence[float] = ()) -> np.ndarray:
    """``[0]`` then ``n`` log-spaced times from ``t_min`` (default ``t_max * 1e-6``, at most 1e-2)
    to ``t_max``, merged with ``extra`` times (sorted, unique)."""
    if not (math.isfinite(t_max) and t_max > 0):
        raise ValueError(f"t_max must be positive and finite, got {t_max!r}")
    if t_min is None:
        t_min = min(1e-2, t_max * 1e-6)
    if not (0 < t_min < t_max):
        raise ValueError(f"need 0 < t_min < t_max, got t_min={t_min!r}, t_max={t_max!r}")
    if n < 2:
        raise ValueError(f"need at least 2 output points, got n={n}")
    g = np.concatenate([[0.0], np.geomspace(t_min, t_max, n), np.asarray(extra, dtype=float)])
    g = np.unique(g[(g >= 0) & (g <= t_max)])
    return g


#: integrate's own defaults for the fields it shares with SolveOptions
_DEFAULTS: dict[str, Any] = {"t_max": None, "t_eval": None, "n_points": 200, "method": "auto", "rtol": 1e-8,
                             "atol": 1e-10, "events": (), "max_steps": 1_000_000}


def _merge_options(options: SolveOptions | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """One value per field: the keyword if given, else what ``options`` sets (other than
    SolveOptions' default), else integrate's default; ValueError if both give one."""
    base = SolveOptions()
    out: dict[str, Any] = {}
    for k, v in given.items():
        o = getattr(options, k) if options is not None else None
        o_set = options is not None and o != getattr(base, k)
        if v is not None and o_set:
            raise ValueError(f"{k} is given twice, in options ({o!r}) and as a keyword ({v!r}): give it once")
        out[k] = v if v is not None else o if o_set else _DEFAULTS[k]
    return out


@dataclass(frozen=True)
class _CrossingEvent:
    """A :class:`Crossing` resolved against a model: coordinate ``index`` of the state, or
    observable ``index`` (``observable=True``)."""

    name: str
    crossing: Crossing
    index: int
    observable: bool

    def bind(self, cm: CompiledModel, p: np.ndarray) -> Event:
        """The crossing as an :class:`Event` of this compiled model at runtime vector ``p``."""
        level, k = self.crossing.level, self.index
        if not self.observable:
            return Event(self.name, lambda t, y: float(y[k] - level), False, float(self.crossing.direction))
        p = cm.check_runtime(p)
        obs, data, bounds = cm.obs, cm.data, cm.bounds
        out = np.empty(len(cm.observable_names))

        def g(t: float, y: np.ndarray) -> float:
            obs(y, p, data, bounds, out)
            return float(out[k] - level)

        return Event(self.name, g, False, float(self.crossing.direction))


def _events(m: ReducedModel, events: Sequence[Any] | None) -> list[Event | _CrossingEvent]:
    """``events`` checked against the model (before any compiling): Events kept, crossings
    resolved to a coordinate or an observable."""
    out: list[Event | _CrossingEvent] = []
    for e in events or ():
        if isinstance(e, Event):
            out.append(e)
            continue
        c = e if isinstance(e, Crossing) else as_crossings([e])[0]
        label = f"{c.name}={c.level:g}"
        if c.name in m.state_names:
            out.append(_CrossingEvent(label, c, m.state_names.index(c.name), False))
        elif c.name in m.observables:
            out.append(_CrossingEvent(label, c, list(m.observables).index(c.name), True))
        else:
            raise ModelError(f"crossing of unknown name {c.name!r}: not a coordinate {list(m.state_names)} "
                             f"nor an observable {list(m.observables)} of model {m.name!r}")
    return out


def _model_of(model: ReducedModel | CompiledModel) -> ReducedModel:
    if isinstance(model, CompiledModel):
        return model.model
    if isinstance(model, ReducedModel):
        return model
    raise TypeError(f"expected a ReducedModel or CompiledModel, got {type(model).__name__}")


_DEVNULL: list[int] = []


@contextmanager
def _quiet_fortran() -> Iterator[None]:
    """Send ODEPACK's Fortran warnings (printed on file descriptor 1) to /dev/null.

    The failure itself is reported through ``odeint``'s ``info["message"]``.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        yield
        return
    if not _DEVNULL:
        _DEVNULL.append(os.open(os.devnull, os.O_WRONLY))
    sys.stdout.flush()
    saved = os.dup(fd)
    os.dup2(_DEVNULL[0], fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _as_compiled(model: ReducedModel | CompiledModel, backend: str) -> CompiledModel:
    if isinstance(model, CompiledModel):
        return model
    if isinstance(model, ReducedModel):
        return model.compile(backend=backend)  # type: ignore[arg-type]
    raise TypeError(f"expected a ReducedModel or CompiledModel, got {type(model).__name__}")


def integrate(
    model: ReducedModel | CompiledModel,
    y0: Mapping[str, float] | Sequence[float] | np.ndarray,
    params: Mapping[str, float] | None = None,
    *,
    options: SolveOptions | None = None,
    t_max: float | None = None,
    t_eval: Sequence[float] | np.ndarray | None = None,
    t_min: float | None = None,
    n_points: int | None = None,
    schedule: Schedule | None = None,
    method: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    events: Sequence[Event | Crossing] | None = None,
    max_steps: int | None = None,
    backend: str = "numba",
) -> Trajectory:
    r"""Integrate a reduced model from ``y0`` and return its :class:`Trajectory`.

    What the solve is asked to do (tolerances, step budget, method, time axis, crossings)
    can be given as one :class:`~dynamics.options.SolveOptions` value, the same one
    :func:`dynamics.batch.solve_batch` and :func:`dynamics.phase.sweep` take, or as the
    keywords below (a keyword left as ``None`` takes its value from ``options``, else the
    default shown). A field that ``options`` sets to other than its default may not also be
    given as a keyword (``ValueError``): there is one value per field.

    Parameters
    ----------
    model : ReducedModel or CompiledModel
        Compiled on demand (``backend``) if not compiled yet.
    y0 : mapping of coordinate name to value, or sequence
        Initial state at $t = 0$.
    params : mapping, optional
        Parameter values (defaults fill the rest).
    options : SolveOptions, optional
        Tolerances, budget, method, time axis and crossings as one value. Its ``h0`` and
        ``hmax`` (first and largest step) are passed to the solver.
    t_max : float
        Final flow time. Output is ``log_grid(t_max, t_min, n_points)`` plus the schedule's
        switch times, unless ``t_eval`` is given (then ``t_max = t_eval[-1]``).
    n_points : int
        Log-spaced output times (default 200).
    schedule : Schedule, optional
        Per-group learning-rate factors; integrated piece by piece.
    method : str
        ``"auto"`` (default), ``"odeint"`` or a ``solve_ivp`` method name.
    rtol, atol : float
        Local error tolerances (default ``1e-8``, ``1e-10``).
    events : sequence of Crossing or Event
        Located with ``solve_ivp``; times are in ``stats["events"]``, keyed by the event's
        name (``"NAME=LEVEL"`` for a crossing). A :class:`~dynamics.options.Crossing` is the
        vocabulary every solver shares: coordinate or observable ``name`` crossing
        ``level`` (its first crossing is recorded; the integration goes on). An
        :class:`Event` is an arbitrary function ``g(t, y)``, for this solver only (all its
        zeros are recorded, and it may end the integration).
    max_steps : int
        Maximum solver steps in total (odeint: per output interval; default 1e6).

    Returns
    -------
    Trajectory
        ``stats`` holds the method, step and evaluation counts and wall time.

    Raises
    ------
    IntegrationError
        If the solver fails or the state becomes non-finite.
    ModelError
        For unknown parameters, an unknown crossing name, a bad initial state, or bad
        options (each names the argument).
    """
    t_start = time.perf_counter()
    # options first (before any compiling): one line naming the argument
    if options is not None and not isinstance(options, SolveOptions):
        raise ValueError(f"options must be a dynamics.options.SolveOptions, got {type(options).__name__}")
    given = {"t_max": t_max, "t_eval": t_eval, "n_points": n_points, "method": method, "rtol": rtol,
             "atol": atol, "events": events, "max_steps": max_steps}
    merged = _merge_options(options, given)
    t_max, t_eval, n_points, method = merged["t_max"], merged["t_eval"], merged["n_points"], merged["method"]
    rtol = positive_float("rtol", merged["rtol"])
    atol = positive_float("atol", merged["atol"])
    max_steps = positive_int("max_steps", merged["max_steps"])
    steps = {"h0": options.h0, "hmax": options.hmax} if options is not None else {}
    m = _model_of(model)
    evs = _events(m, merged["events"])
    cm = _as_compiled(model, backend)
    y = m.state_vector(y0)
    schedule = schedule or Schedule.constant()
    schedule.check_groups(m.group_names)
    if method != "auto" and method != "odeint" and method not in IVP_METHODS:
        raise ModelError(f"unknown method {method!r}; choose 'auto', 'odeint' or one of {list(IVP_METHODS)}")
    if method == "odeint" and evs:
        raise ModelError("events need a solve_ivp method (method='auto' picks LSODA)")
    if method == "auto":
        method = "LSODA" if evs else "odeint"
    pvals = m.param_vector(params)
    bound = [e.bind(cm, cm.pack(pvals)) if isinstance(e, _CrossingEvent) else e for e in evs]

    if t_eval is not None:
        grid = np.asarray(t_eval, dtype=float)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)):
            raise ModelError("t_eval must be a 1-D array of at least 2 finite times")
        if np.any(np.diff(grid) <= 0) or grid[0] < 0:
            raise ModelError("t_eval must be strictly increasing and start at t >= 0")
        if t_max is not None and not math.isclose(t_max, grid[-1]):
            raise ModelError("give either t_max or t_eval, not both")
        t0 = float(grid[0])
    else:
        if t_max is None:
            raise ModelError("give t_max (or t_eval)")
        grid = log_grid(float(t_max), t_min, n_points, [b for b in schedule.breaks if b < t_max])
        t0 = 0.0

    ts: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    stats: dict[str, Any] = {"method": method, "rtol": rtol, "atol": atol, "nfev": 0, "njev": 0,
                             "nsteps": 0, "pieces": 0, "events": {e.name: [] for e in bound}}
    terminated = None
    for a, b, factors in schedule.pieces(t0, float(grid[-1])):
        p = cm.pack(pvals, factors)
        sub = grid[(grid >= a) & (grid <= b)]
        if sub.size == 0 or sub[0] > a:
            sub = np.concatenate([[a], sub])
        if sub[-1] < b:
            sub = np.concatenate([sub, [b]])
        if method == "odeint":
            yt = _odeint_piece(cm, p, y, sub, rtol, atol, max_steps, stats, steps)
            tt = sub
        else:
            tt, yt, terminated = _ivp_piece(cm, p, y, sub, method, rtol, atol, bound, max_steps, stats, steps)
        stats["pieces"] += 1
        # keep grid points only (drop piece boundaries added for restarting)
        keep = np.isin(tt, grid) if terminated is None else np.isin(tt, grid) | (tt == tt[-1])
        if ts:
            keep[0] = False  # boundary already recorded by the previous piece
        ts.append(tt[keep])
        ys.append(yt[keep])
        y = yt[-1].copy()
        if terminated is not None:
            stats["terminated_by"] = terminated
            break
    for e in evs:
        if isinstance(e, _CrossingEvent):
            del stats["events"][e.name][1:]  # a crossing reports its first time only
    t_all = np.concatenate(ts)
    y_all = np.concatenate(ys)
    # observables with the parameter values (factors do not enter observables)
    obs = cm.observables(y_all, cm.pack(pvals))
    stats["wall_s"] = time.perf_counter() - t_start
    meta = {
        "model": m.name,
        "params": dict(zip(m.param_names, map(float, pvals), strict=True)),
        "y0": dict(zip(m.state_names, map(float, m.state_vector(y0)), strict=True)),
        "schedule": schedule.to_dict(),
        "backend": cm.backend,
    }
    return Trajectory(t_all, y_all, m.state_names, obs, stats, meta)


class _Abort(Exception):
    pass


#: odeint is stopped after this many right-hand-side calls in a row without reaching a later
#: time (a healthy LSODA step makes a handful of calls at one time, a Jacobian update a few).
_STALL_CALLS = 10_000


def _check_finite(yt: np.ndarray, tt: np.ndarray) -> None:
    bad = ~np.all(np.isfinite(yt), axis=1)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise IntegrationError(f"state became non-finite at t = {tt[k]:.6g}")


def _odeint_piece(cm: CompiledModel, p: np.ndarray, y: np.ndarray, grid: np.ndarray, rtol: float,
                  atol: float, max_steps: int, stats: dict[str, Any],
                  steps: Mapping[str, float | None]) -> np.ndarray:
    p = cm.check_runtime(p)
    rhs, jac, data, bounds, n = cm.rhs, cm.jac, cm.data, cm.bounds, cm.n_state
    f_out, j_out = np.empty(n), np.empty((n, n))

    # the furthest time reached with a finite state, and the calls since it last advanced:
    # LSODA can sit at one time for millions of calls (a step size collapsed to nothing) and
    # reports a non-finite state as "illegal input" at the wrong time
    reach = [float(grid[0]), 0, 20 * max_steps * (grid.size - 1)]

    # odeint copies what the callbacks return, so one output buffer each is reused: this
    # skips an allocation per call and leaves the compiled call as the only real work
    def f(yv: np.ndarray, t: float) -> np.ndarray:
        rhs(t, yv, p, data, bounds, f_out)
        # one dot product: nan or inf if any entry is (a finite one can overflow: re-checked)
        if not math.isfinite(yv @ f_out) and not (
            np.all(np.isfinite(yv)) and np.all(np.isfinite(f_out))
        ):
            what = "state" if not np.all(np.isfinite(yv)) else "right-hand side"
            raise _Abort(f"the {what} became non-finite near t = {t:.6g} (last time reached "
                         f"with a finite state: t = {reach[0]:.6g}); a blow-up: check the "
                         "parameter values")
        if t > reach[0]:
            reach[0] = t
            reach[1] = 0
        else:
            reach[1] += 1
            if reach[1] > _STALL_CALLS:
                raise _Abort(f"time stopped advancing at t = {reach[0]:.6g} ({_STALL_CALLS} "
                             "right-hand-side calls without progress: the step size collapsed, "
                             "a blow-up or a flow too fast at these parameter values)")
        reach[2] -= 1
        if reach[2] < 0:
            raise _Abort(f"more than {20 * max_steps * (grid.size - 1)} right-hand-side calls "
                         f"(reached t = {reach[0]:.6g}); raise max_steps")
        return f_out

    def J(yv: np.ndarray, t: float) -> np.ndarray:
        jac(t, yv, p, data, bounds, j_out)
        return j_out

    try:
        with _quiet_fortran(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yt, info = odeint(f, y, grid, Dfun=J, rtol=rtol, atol=atol, full_output=True,
                              mxstep=max_steps, printmessg=False,
                              **{k: v for k, v in steps.items() if v is not None})
    except _Abort as exc:
        raise IntegrationError(f"odeint (LSODA) failed: {exc}") from None
    if info["message"] != "Integration successful.":
        # info's per-interval counters and tcur are garbage past the failing interval: the
        # furthest time a call saw (with a finite state) is where it really got to
        msg = str(info["message"])
        if "Illegal input" in msg:
            msg = ("the step size underflowed (LSODA reports 'illegal input'): the flow is too "
                   "fast to follow in double precision at these parameter values")
        raise IntegrationError(f"odeint (LSODA) failed at t = {reach[0]:.6g}: {msg}")
    _check_finite(yt, grid)
    stats["nsteps"] += int(info["nst"][-1])
    stats["nfev"] += int(info["nfe"][-1])
    stats["njev"] += int(info["nje"][-1])
    return np.asarray(yt)


def _ivp_piece(cm: CompiledModel, p: np.ndarray, y: np.ndarray, grid: np.ndarray, method: str,
               rtol: float, atol: float, events: Sequence[Event], max_steps: int,
               stats: dict[str, Any],
               steps: Mapping[str, float | None]) -> tuple[np.ndarray, np.ndarray, str | None]:
    raw = cm.f(p)
    budget = [20 * max_steps]

    def fun(t: float, yv: np.ndarray) -> np.ndarray:
        # guards against solvers that loop forever on a blow-up (LSODA does)
        out = raw(t, yv)
        if not np.all(np.isfinite(out)):
            raise _Abort(f"the right-hand side became non-finite at t = {t:.6g}")
        budget[0] -= 1
        if budget[0] < 0:
            raise _Abort(f"more than {20 * max_steps} right-hand-side evaluations (reached t = {t:.6g})")
        return out

    ev_fns = []
    for e in events:
        def g(t: float, yv: np.ndarray, _e: Event = e) -> float:
            return _e.fn(t, yv)
        g.terminal = e.terminal  # type: ignore[attr-defined]
        g.direction = e.direction  # type: ignore[attr-defined]
        ev_fns.append(g)
    kwargs: dict[str, Any] = {{"h0": "first_step", "hmax": "max_step"}[k]: v
                              for k, v in steps.items() if v is not None}
    if method in IMPLICIT:
        kwargs["jac"] = cm.jacobian(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol = solve_ivp(fun, (float(grid[0]), float(grid[-1])), y, method=method, t_eval=grid,
                            rtol=rtol, atol=atol, events=ev_fns or None, **kwargs)
    except _Abort as exc:
        raise IntegrationError(f"solve_ivp ({method}) failed: {exc}") from None
    if sol.status == -1:
        raise IntegrationError(f"solve_ivp ({method}) failed near t = {float(sol.t[-1]) if sol.t.size else grid[0]:.6g}: {sol.message}")
    yt = sol.y.T
    tt = sol.t
    terminated = None
    for e, te in zip(events, sol.t_events or [], strict=False):
        stats["events"][e.name].extend(float(x) for x in te)
    if sol.status == 1:
        # a terminal event: append the event state as the last point
        for e, te, ye in zip(events, sol.t_events, sol.y_events, strict=True):
            if e.terminal and len(te):
                terminated = e.name
                tt = np.concatenate([tt[tt < te[0]], [te[0]]])
                yt = np.concatenate([yt[: tt.size - 1], ye[:1]])
                break
    _check_finite(yt, tt)
    stats["nfev"] += int(sol.nfev)
    stats["njev"] += int(sol.njev)
    return tt, yt, terminated


class _CallableModule(types.ModuleType):
    """This module, callable as its function :func:`integrate`.

    ``dynamics.integrate`` names both this module and (in ``import dynamics as dy``) the
    function a user calls; the import system binds the package attribute to the module, so
    the module forwards calls: ``dy.integrate(model, y0, t_max=...)`` and
    ``dy.integrate.Event`` both work whatever was imported first.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Trajectory:
        return integrate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
