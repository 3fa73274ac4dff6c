r"""DOP853 (Dormand-Prince 8(5,3), scipy's coefficients): the explicit step of ``"auto"``.

12 stages with FSAL, scipy's error norm (the order-5 estimate damped by the order-3 one),
and a degree-7 dense output from 3 extra stages. The stage combinations exist twice: the
table-driven reference functions here (readable, cached once per machine) and, per model,
copies generated from the same table by :func:`tableau_source` with the coefficients as
literals, zeros dropped and one pass over the coordinates per combination (several times
faster for small systems). :func:`make_step` builds the step from either set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from dynamics.batch.tableaux import DOP853

__all__ = ["RK_TOL", "dop_arg", "dop_new", "dop_err", "dop_dense", "tableau_source", "make_step", "step_jit"]

#: DOP853 steps control the local error to this fraction of the tolerance: at the nominal
#: tolerance its global error on growth phases reached ~20 tolerances (as scipy's does).
RK_TOL = 0.25

_DA, _DB, _DC, _DE3, _DE5, _DD = (np.array(x) for x in (DOP853.a, DOP853.b, DOP853.c, DOP853.e3, DOP853.e5, DOP853.d))


@numba.njit(cache=True)
def _combine(y: np.ndarray, h: float, coef: np.ndarray, m: int, K: np.ndarray, out: np.ndarray) -> None:
    """``out = y + h sum_{q<m} coef[q] K[q]`` with the stages as rows of the flat ``K``."""
    n = out.shape[0]
    for j in range(n):
        out[j] = 0.0
    for q in range(m):
        cf = h * coef[q]
        if cf != 0.0:
            for j in range(n):
                out[j] += cf * K[q * n + j]
    for j in range(n):
        out[j] += y[j]


@numba.njit(cache=True)
def dop_arg(sg: int, y: np.ndarray, h: float, K: np.ndarray, out: np.ndarray) -> None:
    """The argument of stage ``sg`` (1-11; 13-15 are the dense-output stages)."""
    _combine(y, h, _DA[sg], sg, K, out)


@numba.njit(cache=True)
def dop_new(y: np.ndarray, h: float, K: np.ndarray, out: np.ndarray) -> None:
    """The new point (order 8) from the stages ``K[:12]``."""
    _combine(y, h, _DB, 12, K, out)


@numba.njit(cache=True)
def dop_err(
    K: np.ndarray, y: np.ndarray, ynew: np.ndarray, h: float, rtol: float, atol: float, w: np.ndarray
) -> float:
    """scipy's error norm, with the tolerance scaled by :data:`RK_TOL`; ``w`` (2n) receives
    the two unscaled estimates."""
    n = y.shape[0]
    for j in range(n):
        d5 = 0.0
        d3 = 0.0
        for q in range(13):
            d5 += _DE5[q] * K[q * n + j]
            d3 += _DE3[q] * K[q * n + j]
        w[j] = d5
        w[n + j] = d3
    e5 = 0.0
    e3 = 0.0
    for j in range(n):
        sc = RK_TOL * (atol + rtol * max(abs(y[j]), abs(ynew[j])))
        d5 = w[j] / sc
        d3 = w[n + j] / sc
        e5 += d5 * d5
        e3 += d3 * d3
    if e5 > 0.0 or e3 > 0.0:
        return h * e5 / math.sqrt((e5 + 0.01 * e3) * n)
    return 0.0


@numba.njit(cache=True)
def dop_dense(
    y: np.ndarray, ynew: np.ndarray, f0: np.ndarray, f1: np.ndarray, h: float, K: np.ndarray, F: np.ndarray
) -> None:
    """The degree-7 dense-output coefficients ``F`` (7 n) from the stages ``K[:16]``."""
    n = y.shape[0]
    for j in range(n):
        dlt = ynew[j] - y[j]
        F[j] = dlt
        F[n + j] = h * f0[j] - dlt
        F[2 * n + j] = 2.0 * dlt - h * (f1[j] + f0[j])
        for r in range(4):
            acc = 0.0
            for q in range(16):
                acc += _DD[r, q] * K[q * n + j]
            F[(3 + r) * n + j] = h * acc


def terms(n: int, coefs: np.ndarray, cols: Sequence[int] | range | None = None) -> str:
    """``c0 * K[q0 n + j] + ...``: the nonzero coefficients as literals, summed as a
    balanced tree (the stages are a dependency chain: a tree shortens its latency)."""
    qs = range(len(coefs)) if cols is None else cols
    out = [f"{float(coefs[q])!r} * K[{q * n} + j]" for q in qs if coefs[q] != 0.0]
    return balanced_sum(out) if out else "0.0"


def balanced_sum(items: Sequence[str]) -> str:
    """``items`` summed as a balanced tree, ``(t0 + t1) + (t2 + t3)``."""
    if len(items) == 1:
        return items[0]
    mid = (len(items) + 1) // 2
    return f"({balanced_sum(items[:mid])} + {balanced_sum(items[mid:])})"


def tableau_source(n: int, jit: str, tab: object = DOP853) -> str:
    """Source of ``_dop_arg`` (stages 1-11), ``_dop_arg_dense`` (13-15), ``_dop_new``, ``_dop_err``, ``_dop_dense``, ``_dop_interp``
    for a fixed ``n`` from the table ``tab``: the reference functions' combinations with
    literal coefficients. The coordinate loops run to the array's length (a literal trip
    count under 16 with runtime alias checks is not vectorised by LLVM)."""
    A, B, E3, E5, D = (np.asarray(getattr(tab, k)) for k in ("a", "b", "e3", "e5", "d"))

    def loop(arr: str, indent: str = "    ") -> str:
        return f"{indent}for j in range({arr}.shape[0]):"

    src = []
    for name, stages in (("_dop_arg", range(1, 12)), ("_dop_arg_dense", range(13, 16))):
        src += [jit, f"def {name}(sg, y, h, K, out):"]
        for i, sg in enumerate(stages):
            src.append(f"    {'if' if i == 0 else 'elif'} sg == {sg}:")
            src.append(loop("out", " " * 8))
            src.append(f"            out[j] = y[j] + h * ({terms(n, A[sg], range(sg))})")
        src += ["", ""]
    src += [jit, "def _dop_new(y, h, K, out):", loop("out")]
    src.append(f"        out[j] = y[j] + h * ({terms(n, B)})")
    src += ["", "", jit, "def _dop_err(K, y, ynew, h, rtol, atol, w):", loop("y")]
    src += [
        f"        w[j] = {terms(n, E5)}",
        f"        w[{n} + j] = {terms(n, E3)}",
        "    e5 = 0.0",
        "    e3 = 0.0",
        f"    for j in range({n}):",
        f"        sc = {RK_TOL!r} * (atol + rtol * max(abs(y[j]), abs(ynew[j])))",
        "        d5 = w[j] / sc",
        f"        d3 = w[{n} + j] / sc",
        "        e5 += d5 * d5",
        "        e3 += d3 * d3",
        "    if e5 > 0.0 or e3 > 0.0:",
        f"        return h * e5 / math.sqrt((e5 + 0.01 * e3) * {n})",
        "    return 0.0",
    ]
    src += ["", "", jit, "def _dop_dense(y, ynew, f0, f1, h, K, F):", loop("y")]
    src += [
        "        dlt = ynew[j] - y[j]",
        "        F[j] = dlt",
        f"        F[{n} + j] = h * f0[j] - dlt",
        f"        F[{2 * n} + j] = 2.0 * dlt - h * (f1[j] + f0[j])",
    ]
    for r in range(4):
        src += [loop("y"), f"        F[{(3 + r) * n} + j] = h * ({terms(n, D[r])})"]
    src += ["", "", jit, "def _dop_interp(F, y0, s, out):", "    s1 = 1.0 - s", loop("out")]
    src += [
        f"        inner = F[{3 * n} + j] + s * (F[{4 * n} + j] + s1 * (F[{5 * n} + j] + s * F[{6 * n} + j]))",
        f"        out[j] = y0[j] + s * (F[j] + s1 * (F[{n} + j] + s * (F[{2 * n} + j] + s1 * inner)))",
    ]
    return "\n".join(src) + "\n"


@numba.njit(cache=True)
def _size(y: np.ndarray) -> int:
    return y.shape[0]


def step_jit(refcount: bool) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` for a step function; ``refcount=False`` compiles it without numba's
    reference counting (its ``_nrt`` option, not in numba's typed signature)."""
    opts: dict[str, Any] = {"error_model": "numpy", "_nrt": refcount}
    return numba.njit(**opts)


def make_step(
    rhs: Callable[..., None],
    rhs_hot: Callable[..., None],
    arg: Callable[..., None] = dop_arg,
    new: Callable[..., None] = dop_new,
    err_norm: Callable[..., float] = dop_err,
    dense: Callable[..., None] = dop_dense,
    arg_dense: Callable[..., None] = dop_arg,
    size: Callable[[np.ndarray], int] | None = None,
    refcount: bool = True,
) -> tuple[Callable[..., float], Callable[..., None]]:
    """The DOP853 step and its dense-output stages, compiled against the given functions
    (``rhs(t, y, p, data, bounds, out)``; ``rhs_hot`` the same, used at the inner stages;
    ``arg`` forms the arguments of stages 1-11, ``arg_dense`` those of stages 13-15;
    ``size(y)`` the state size, a compile-time constant in the per-model build; default:
    ``y.shape[0]``). ``refcount=False`` compiles both without numba's reference counting:
    no atomic increment and decrement of every array argument per call (numba does not
    prune them across a function this large), which the functions inlined into them must
    allow (no heap arrays).

    ``step(t, y, h, p, data, bounds, K, K2, ytmp, ynew, f1, rtol, atol, w) -> err``: ``K``
    the flat stages (16 n) with ``K[:n]`` the derivative at ``y``, ``K2`` the same memory as
    (16, n) (made once by the caller: a reshape per step costs a runtime call); fills ``ynew``, ``f1 =
    f(ynew)`` (also stage 12) and returns the error norm (``nan`` if not finite).
    ``dense_stages(t, y, ynew, f0, f1, h, p, data, bounds, K, K2, F, ytmp)``: stages 13-15 and
    the dense-output coefficients ``F`` (7 n).
    """

    size = size if size is not None else _size

    @step_jit(refcount)
    def step(t, y, h, p, data, bounds, K, K2, ytmp, ynew, f1, rtol, atol, w):
        n = size(y)
        for sg in range(1, 12):
            arg(sg, y, h, K, ytmp)
            rhs_hot(t + _DC[sg] * h, ytmp, p, data, bounds, K2[sg])
        new(y, h, K, ynew)
        rhs(t + h, ynew, p, data, bounds, f1)
        for j in range(n):
            K[12 * n + j] = f1[j]
        err = err_norm(K, y, ynew, h, rtol, atol, w)
        for j in range(n):
            if not math.isfinite(f1[j]):
                return math.nan
        return err if math.isfinite(err) else math.nan

    @step_jit(refcount)
    def dense_stages(t, y, ynew, f0, f1, h, p, data, bounds, K, K2, F, ytmp):
        for sg in range(13, 16):
            arg_dense(sg, y, h, K, ytmp)
            rhs_hot(t + _DC[sg] * h, ytmp, p, data, bounds, K2[sg])
        dense(y, ynew, f0, f1, h, K, F)

    return step, dense_stages
