r"""One Rosenbrock stage loop, driven by a :class:`~dynamics.batch.tableaux.RosenbrockTableau`.

Both RODAS4 and Rodas5P run through :func:`make_step`'s step: one Jacobian, one LU of the
Newton matrix ``E = I/(h gamma) - J`` (partial pivoting), one solve per stage. The flow is
autonomous (the generated right-hand sides do not depend on ``t``), so no ``df/dt`` term.
The error norm is the RMS of the last stage in the weights ``atol + rtol max(|y|, |y_new|)``.

A Rosenbrock step along a strongly unstable direction (``h gamma lambda > 1``) damps it
(L-stability: R(z) -> 0 also for z -> +inf) and its error estimate does not see it, so a
trajectory that should grow would stay put and be reported as a success. The step checks
the first stage ``k1 = E^{-1} f``: pointing against ``f`` (``f . k1 < 0`` in the error
weights) it can only be when ``f`` lies mostly along eigenvalues beyond ``1/(h gamma)``,
which cannot happen where J's symmetric part is negative semi-definite. Such a step is
refused (:data:`UNSTABLE_STEP`); the kernel shrinks ``h`` until the growth is resolved.

The stage combinations exist twice, as in :mod:`dynamics.batch.dop853`: table-driven
reference functions (``tab`` 0 RODAS4, 1 Rodas5P) and per-model literal copies from
:func:`tableau_source`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

from dynamics.batch.control import wrms
from dynamics.batch.dop853 import step_jit, terms
from dynamics.batch.linalg import lu, lu_solve
from dynamics.batch.tableaux import RODAS4, RODAS5P, RosenbrockTableau

__all__ = [
    "TABLEAUX",
    "ROS_GAMMA",
    "ros_arg",
    "ros_corr",
    "ros_dense",
    "tableau_source",
    "make_step",
    "STEP_OK",
    "SINGULAR_STEP",
    "UNSTABLE_STEP",
]

#: The tableaux by index (``tab`` argument of the step): 0 RODAS4, 1 Rodas5P.
TABLEAUX: tuple[RosenbrockTableau, ...] = (RODAS4, RODAS5P)
_S = max(t.stages for t in TABLEAUX)
ROS_GAMMA = np.array([t.gamma for t in TABLEAUX])
ROS_STAGES = np.array([t.stages for t in TABLEAUX], dtype=np.int64)
ROS_NARG = np.array([t.n_arg for t in TABLEAUX], dtype=np.int64)
ROS_A = np.zeros((len(TABLEAUX), _S, _S))
ROS_C = np.zeros((len(TABLEAUX), _S, _S))
for _i, _t in enumerate(TABLEAUX):
    ROS_A[_i, : _t.stages, : _t.stages] = _t.a
    ROS_C[_i, : _t.stages, : _t.stages] = _t.c
assert RODAS5P.dense is not None
_P5_H = np.array(RODAS5P.dense)

#: Outcomes of a step attempt (besides its error norm).
STEP_OK, SINGULAR_STEP, UNSTABLE_STEP = 0, 1, 2


@numba.njit(cache=True)
def ros_arg(tab: int, sg: int, y: np.ndarray, K: np.ndarray, out: np.ndarray) -> None:
    """The argument ``y + sum_q a_{sg,q} k_q`` of stage ``sg`` (``1 <= sg < n_arg``)."""
    n = y.shape[0]
    for j in range(n):
        acc = y[j]
        for q in range(sg):
            acc += ROS_A[tab, sg, q] * K[q * n + j]
        out[j] = acc


@numba.njit(cache=True)
def ros_corr(tab: int, sg: int, hinv: float, K: np.ndarray, dy: np.ndarray) -> None:
    """Adds ``sum_q C_{sg,q}/h k_q`` to the right-hand side of stage ``sg``."""
    n = dy.shape[0]
    for j in range(n):
        acc = 0.0
        for q in range(sg):
            acc += ROS_C[tab, sg, q] * K[q * n + j]
        dy[j] += hinv * acc


@numba.njit(cache=True)
def ros_dense(K: np.ndarray, F: np.ndarray) -> None:
    """Rodas5P's dense-output combinations ``F[:3n]`` of its stages ``K[:8n]``."""
    n = F.shape[0] // 3
    for r in range(3):
        for j in range(n):
            acc = 0.0
            for q in range(8):
                acc += _P5_H[r, q] * K[q * n + j]
            F[r * n + j] = acc


def tableau_source(n: int, jit: str) -> str:
    """Source of ``_ros_arg``, ``_ros_corr`` and ``_ros_dense`` for a fixed ``n``: the
    reference combinations of every tableau in :data:`TABLEAUX`, coefficients as literals."""

    def loop(arr: str, indent: str) -> str:
        return f"{indent}for j in range({arr}.shape[0]):"

    src = [jit, "def _ros_arg(tab, sg, y, K, out):"]
    for ti, t in enumerate(TABLEAUX):
        src.append(f"    {'if' if ti == 0 else 'elif'} tab == {ti}:")
        for sg in range(1, t.n_arg):
            src.append(f"        {'if' if sg == 1 else 'elif'} sg == {sg}:")
            src.append(loop("out", " " * 12))
            src.append(f"                out[j] = y[j] + {terms(n, t.a[sg], range(sg))}")
    src += ["", "", jit, "def _ros_corr(tab, sg, hinv, K, dy):"]
    for ti, t in enumerate(TABLEAUX):
        src.append(f"    {'if' if ti == 0 else 'elif'} tab == {ti}:")
        for sg in range(1, t.stages):
            src.append(f"        {'if' if sg == 1 else 'elif'} sg == {sg}:")
            src.append(loop("dy", " " * 12))
            src.append(f"                dy[j] += hinv * ({terms(n, t.c[sg], range(sg))})")
    src += ["", "", jit, "def _ros_dense(K, F):"]
    for r in range(3):
        src += [f"    for j in range({n}):", f"        F[{r * n} + j] = {terms(n, _P5_H[r])}"]
    return "\n".join(src) + "\n"


@numba.njit(cache=True)
def _size(y: np.ndarray) -> int:
    return y.shape[0]


def make_step(
    rhs: Callable[..., None],
    factor: Callable[..., bool] = lu,
    solve: Callable[..., None] = lu_solve,
    arg: Callable[..., None] = ros_arg,
    corr: Callable[..., None] = ros_corr,
    size: Callable[[np.ndarray], int] | None = None,
    refcount: bool = True,
) -> Callable[..., tuple[int, float]]:
    """The Rosenbrock step compiled against ``rhs(t, y, p, data, bounds, out)`` and the
    given LU / solve / stage-combination functions.

    ``step(tab, t, y, h, J, E, perm, f0, K, K2, ytmp, dy, ynew, p, data, bounds, rtol, atol)
    -> (outcome, err)``: ``tab`` indexes :data:`TABLEAUX`, ``J`` the Jacobian at ``y``,
    ``f0 = f(y)``; ``E`` (n x n), ``perm``, ``K`` (flat, at least ``stages n``) with ``K2``
    the same memory as rows of ``n``, ``ytmp`` and ``dy`` are work arrays. ``size(y)``
    gives the state size, a compile-time constant in the per-model build (default:
    ``y.shape[0]``); ``refcount=False`` compiles it without numba's reference counting (as
    :func:`dynamics.batch.dop853.make_step`). Fills ``ynew`` and returns :data:`STEP_OK` with the error
    norm (``nan`` if not finite), :data:`SINGULAR_STEP` (singular or non-finite Newton
    matrix), or :data:`UNSTABLE_STEP` (see the module docstring).
    """

    size = size if size is not None else _size

    @step_jit(refcount)
    def step(tab, t, y, h, J, E, perm, f0, K, K2, ytmp, dy, ynew, p, data, bounds, rtol, atol):
        n = size(y)
        s = ROS_STAGES[tab]
        n_arg = ROS_NARG[tab]
        fac = 1.0 / (h * ROS_GAMMA[tab])
        for a in range(n):
            for b in range(n):
                E[a, b] = -J[a, b]
            E[a, a] += fac
        if not factor(E, perm):
            return SINGULAR_STEP, math.nan
        solve(E, perm, f0, K2[0])
        qf = 0.0
        for j in range(n):
            sc = atol + rtol * abs(y[j])
            qf += K2[0, j] * f0[j] / (sc * sc)
        if qf < 0.0:
            return UNSTABLE_STEP, math.nan
        hinv = 1.0 / h
        for sg in range(1, s):
            if sg < n_arg:
                arg(tab, sg, y, K, ytmp)
            else:
                for j in range(n):
                    ytmp[j] += K2[sg - 1, j]
            rhs(t, ytmp, p, data, bounds, dy)
            corr(tab, sg, hinv, K, dy)
            solve(E, perm, dy, K2[sg])
        for j in range(n):
            ynew[j] = ytmp[j] + K2[s - 1, j]
        return STEP_OK, wrms(K2[s - 1], y, ynew, rtol, atol)

    return step
