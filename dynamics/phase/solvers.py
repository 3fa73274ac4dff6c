"""Solvers: how a chunk of sweep points is integrated.

Two solvers follow the :class:`Solver` contract: :func:`integrate_solver` (one
:func:`dynamics.integrate.integrate` per point) and :func:`batch_solver` (one
``dynamics.batch.solve_batch`` call for the whole chunk). Both take the one
:class:`~dynamics.options.SolveOptions` value the sweep was given; the translation from it to
each solver's arguments is written once (:func:`_integrate_options` makes the output grid
explicit; ``solve_batch`` takes the value as it is).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dynamics.options import SolveOptions
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory

if TYPE_CHECKING:
    from dynamics.codegen import CompiledModel

__all__ = [
    "Solver",
    "Solved",
    "SolverFallbackWarning",
    "integrate_solver",
    "batch_solver",
    "default_solver",
    "get_solver",
    "check_method",
]

SOLVERS = ("auto", "integrate", "batch")


class SolverFallbackWarning(UserWarning):
    """The requested solver could not run and another one solved the points instead."""


@dataclass(frozen=True)
class Solved:
    """What a :class:`Solver` returns.

    ``results`` holds one :class:`~dynamics.trajectory.Trajectory` or one exception per
    point, in order. ``solver`` names the solver that produced them; ``fallback`` is
    ``None``, or ``{"from": ..., "to": ..., "reason": ...}`` when the requested solver
    handed the points to another one.
    """

    results: list[Trajectory | Exception]
    solver: str
    fallback: dict[str, str] | None = field(default=None)


class Solver(Protocol):
    """How the points of a sweep chunk are integrated.

    The contract, which :func:`integrate_solver` and :func:`batch_solver` follow and which a
    user's solver must follow to be used by :func:`dynamics.phase.sweep`:

    1. It is called as ``solver(model, y0, params, options, schedule=None)``: ``model`` a
       :class:`~dynamics.codegen.CompiledModel`; ``y0`` an array ``(N, n_state)`` of initial
       states; ``params`` a sequence of ``N`` mappings of parameter names to values
       (missing names take the model's defaults); ``options`` a
       :class:`~dynamics.options.SolveOptions` (tolerances, budget, method, output grid,
       crossings); ``schedule`` a :class:`~dynamics.schedule.Schedule` or ``None``.
    2. It returns a :class:`Solved` whose ``results`` has exactly ``N`` entries, in the order
       of the points: a :class:`~dynamics.trajectory.Trajectory` on ``options.grid()``, or
       the exception that point failed with (a failed point never stops the others).
    3. Bad arguments (shapes, lengths, unknown names, options the solver does not support)
       raise ``ValueError`` before any point is solved; they are never returned per point.
    4. If it hands the points to another solver, it does so only for a documented reason,
       warns once with :class:`SolverFallbackWarning` naming the reason, and says so in
       ``Solved.fallback``, which the sweep records in its result.
    5. It is picklable (a module-level function), so that worker processes and Dask workers
       can receive it, and it keeps no state between calls that changes its results.
    """

    def __call__(
        self,
        model: CompiledModel,
        y0: np.ndarray,
        params: Sequence[Mapping[str, float]],
        options: SolveOptions,
        schedule: Schedule | None = None,
    ) -> Solved: ...


def _check_points(
    model: CompiledModel, y0: Any, params: Any, options: Any
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Contract item 3: ``y0`` as an ``(N, n_state)`` array and ``params`` as ``N`` dicts."""
    if not isinstance(options, SolveOptions):
        raise ValueError(f"options must be a dynamics.options.SolveOptions, got {type(options).__name__}")
    try:
        y = np.asarray(y0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"y0 must be an array of numbers, got {type(y0).__name__}") from None
    if y.ndim != 2 or y.shape[1] != model.n_state:
        raise ValueError(f"y0 must have shape (n_points, {model.n_state}), got {y.shape}")
    if isinstance(params, Mapping) or not isinstance(params, Sequence):
        raise ValueError(
            f"params must be a sequence of one mapping of parameter values per point, got {type(params).__name__}"
        )
    if len(params) != len(y):
        raise ValueError(f"params has {len(params)} entries for {len(y)} initial states")
    names = set(model.model.param_names)
    rows = []
    for k, p in enumerate(params):
        if not isinstance(p, Mapping):
            raise ValueError(f"params[{k}] must be a mapping of parameter values, got {type(p).__name__}")
        unknown = sorted(set(p) - names)
        if unknown:
            raise ValueError(f"params[{k}]: unknown parameter(s) {unknown}; parameters: {sorted(names)}")
        rows.append({str(n): float(v) for n, v in p.items()})
    return y, rows


BATCH_METHODS = ("auto", "rodas4", "rodas5p")


def check_method(solver: str, options: SolveOptions) -> None:
    """``ValueError`` unless ``options.method`` is a method of the solver called ``solver``
    (``"integrate"`` or ``"batch"``), so a sweep refuses it before any work."""
    if solver == "batch":
        methods: tuple[str, ...] = BATCH_METHODS
    elif solver == "integrate":
        from dynamics.integrate import IVP_METHODS

        methods = ("auto", "odeint", *IVP_METHODS)
    else:
        return
    if options.method not in methods:
        raise ValueError(f"options.method {options.method!r} is not a method of the {solver} "
                         f"solver; choose one of {list(methods)}")


def _integrate_options(options: SolveOptions) -> SolveOptions:
    """``options`` for :func:`dynamics.integrate.integrate` (the one place): the output grid
    made explicit, so that every point is solved on ``options.grid()`` exactly."""
    if options.t_eval is not None:
        return options
    return options.replace(t_eval=tuple(options.grid()))


def integrate_solver(
    model: CompiledModel,
    y0: np.ndarray,
    params: Sequence[Mapping[str, float]],
    options: SolveOptions,
    schedule: Schedule | None = None,
) -> Solved:
    """One :func:`dynamics.integrate.integrate` per point (a :class:`Solver`)."""
    from dynamics.integrate import integrate

    y, rows = _check_points(model, y0, params, options)
    check_method("integrate", options)
    opts = _integrate_options(options)
    out: list[Trajectory | Exception] = []
    for yi, pi in zip(y, rows, strict=True):
        try:
            out.append(integrate(model, yi, pi, options=opts, schedule=schedule))
        except Exception as exc:
            out.append(exc)
    return Solved(out, "integrate")


def _batch_unavailable(model: CompiledModel) -> str | None:
    """Why the batch solver cannot run for ``model`` (its documented fallback reasons), or
    None: ``dynamics.batch`` does not import (numba missing), or the model was not compiled
    with the numba backend."""
    try:
        from dynamics.batch import solve_batch  # noqa: F401
    except ImportError as exc:
        return f"dynamics.batch is not importable ({exc})"
    if model.backend != "numba" or model.module_path is None:
        return f"the model is compiled with backend {model.backend!r}; the batch solver needs 'numba'"
    return None


def _is_compile_error(exc: BaseException) -> bool:
    """An error raised while numba compiles the batch kernel (not a bad argument)."""
    return any(t.__module__.split(".")[0] == "numba" for t in type(exc).__mro__)


def _fall_back(
    model: CompiledModel,
    y: np.ndarray,
    rows: list[dict[str, float]],
    options: SolveOptions,
    schedule: Schedule | None,
    reason: str,
) -> Solved:
    """Solve with :func:`integrate_solver` after announcing why (contract item 4)."""
    if options.method in ("rodas4", "rodas5p"):  # batch-only methods
        reason += f" (method {options.method!r} replaced by 'auto')"
        options = options.replace(method="auto")
    warnings.warn(f"batch solver unavailable, solving with integrate: {reason}",
                  SolverFallbackWarning, stacklevel=3)
    res = integrate_solver(model, y, rows, options, schedule=schedule)
    return Solved(res.results, "integrate", {"from": "batch", "to": "integrate", "reason": reason})


def batch_solver(
    model: CompiledModel,
    y0: np.ndarray,
    params: Sequence[Mapping[str, float]],
    options: SolveOptions,
    schedule: Schedule | None = None,
) -> Solved:
    """``dynamics.batch.solve_batch`` over all points at once (a :class:`Solver`).

    A point whose batch status is not ok becomes a ``RuntimeError`` naming the status, the
    time reached and the status's reason. The points go to :func:`integrate_solver` instead
    only when the batch solver cannot run: ``dynamics.batch`` does not import, the model is
    not compiled with numba, or numba fails to compile the kernel. That fallback is warned
    (:class:`SolverFallbackWarning`) and reported in ``Solved.fallback``; any other error
    (a bad argument) is raised.
    """
    y, rows = _check_points(model, y0, params, options)
    check_method("batch", options)
    reason = _batch_unavailable(model)
    if reason is not None:
        return _fall_back(model, y, rows, options, schedule, reason)
    from dynamics.batch import solve_batch

    packed = np.stack([model.pack(p) for p in rows])
    try:
        res = solve_batch(model, y, packed, options=options, schedule=schedule)
    except Exception as exc:
        if not _is_compile_error(exc):
            raise
        return _fall_back(model, y, rows, options, schedule,
                          f"the batch kernel failed to compile ({type(exc).__name__}: {exc})")
    out: list[Trajectory | Exception] = []
    status = res.status_names()
    for i in range(len(y)):
        try:
            tr = res.trajectory(i)
            if int(res.status[i]) != 0:
                reached = f" (reached t = {tr.t[-1]:.6g})" if len(tr) else ""
                why = tr.stats.get("reason", "")
                out.append(RuntimeError(f"batch solver failed: {status[i]}{reached}"
                                        + (f": {why}" if why else "")))
            else:
                out.append(tr)
        except Exception as exc:
            out.append(exc)
    return Solved(out, "batch")


def default_solver() -> tuple[str, Solver]:
    """``("batch", batch_solver)`` when ``dynamics.batch.solve_batch`` imports, else integrate."""
    try:
        from dynamics.batch import solve_batch  # noqa: F401
    except ImportError:
        return "integrate", integrate_solver
    return "batch", batch_solver


def get_solver(name: str | Solver) -> tuple[str, Solver]:
    """The solver called ``name`` (one of ``"auto"``, ``"integrate"``, ``"batch"``) and its
    resolved name (``"auto"`` becomes the :func:`default_solver`); a :class:`Solver`
    function is returned with its qualified name."""
    if callable(name):
        t: Any = name if hasattr(name, "__qualname__") else type(name)
        return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', repr(t))}", name
    if name == "auto":
        return default_solver()
    if name == "integrate":
        return "integrate", integrate_solver
    if name == "batch":
        return "batch", batch_solver
    raise ValueError(f"unknown solver {name!r}; choose 'auto', 'integrate' or 'batch'")
