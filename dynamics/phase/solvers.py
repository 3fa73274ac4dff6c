"""Solvers: how a chunk of sweep points is integrated.

A solver maps (compiled model, y0 (N, n), parameter values (N, P), t_eval, rtol, atol, and
the keyword schedule=None or a Schedule) to one Trajectory or exception per point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory

if TYPE_CHECKING:
    from dynamics.codegen import CompiledModel

__all__ = ["Solver", "integrate_solver", "batch_solver", "default_solver"]

# and the keyword schedule=None or a Schedule) to one Trajectory or exception per point.
Solver = Callable[..., list["Trajectory | Exception"]]


def integrate_solver(
    cm: CompiledModel,
    y0: np.ndarray,
    params: np.ndarray,
    t_eval: np.ndarray,
    rtol: float,
    atol: float,
    schedule: Schedule | None = None,
) -> list[Trajectory | Exception]:
    """One :func:`dynamics.integrate.integrate` per point (``params`` are parameter values)."""
    from dynamics.integrate import integrate

    out: list[Trajectory | Exception] = []
    names = cm.model.param_names
    for yi, pi in zip(y0, params, strict=True):
        try:
            out.append(
                integrate(
                    cm,
                    yi,
                    dict(zip(names, map(float, pi), strict=True)),
                    t_eval=t_eval,
                    rtol=rtol,
                    atol=atol,
                    schedule=schedule,
                )
            )
        except Exception as exc:
            out.append(exc)
    return out


def batch_solver(
    cm: CompiledModel,
    y0: np.ndarray,
    params: np.ndarray,
    t_eval: np.ndarray,
    rtol: float,
    atol: float,
    schedule: Schedule | None = None,
) -> list[Trajectory | Exception]:
    """``dynamics.batch.solve_batch`` over all points at once (one compiled call), with its
    per-point status: a point with status other than ok becomes an exception naming it.

    If the batch call itself raises (e.g. a model compiled without numba), the points are
    solved by :func:`integrate_solver` instead, so a sweep never depends on the batch solver.
    """
    from dynamics.batch import solve_batch  # type: ignore[import-not-found,unused-ignore]

    names = cm.model.param_names
    try:
        packed = np.stack([cm.pack(dict(zip(names, map(float, p), strict=True))) for p in params])
        res = solve_batch(
            cm,
            np.asarray(y0, dtype=float),
            packed,
            t_eval,
            rtol=rtol,
            atol=atol,
            schedule=schedule,
        )
    except Exception:
        return integrate_solver(cm, y0, params, t_eval, rtol, atol, schedule=schedule)
    out: list[Trajectory | Exception] = []
    status = res.status_names()
    for i in range(len(y0)):
        try:
            tr = res.trajectory(i)
            if int(res.status[i]) != 0:
                reached = f" (reached t = {tr.t[-1]:.6g})" if len(tr) else ""
                reason = tr.stats.get("reason", "")
                out.append(RuntimeError(f"batch solver failed: {status[i]}{reached}"
                                        + (f": {reason}" if reason else "")))
            else:
                out.append(tr)
        except Exception as exc:
            out.append(exc)
    return out


def default_solver() -> tuple[str, Solver]:
    """``("batch", batch_solver)`` when ``dynamics.batch.solve_batch`` imports, else integrate."""
    try:
        from dynamics.batch import solve_batch  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return "integrate", integrate_solver
    return "batch", batch_solver


def _get_solver(name: str) -> Solver:
    if name == "auto":
        return default_solver()[1]
    if name == "integrate":
        return integrate_solver
    if name == "batch":
        return batch_solver
    raise ValueError(f"unknown solver {name!r}; choose 'auto', 'integrate' or 'batch'")


