r"""The linear algebra of a Rosenbrock step: LU with partial pivoting and its solve.

:func:`lu` stores the reciprocals of the pivots on U's diagonal and a permutation vector, so
:func:`lu_solve` (several per step) is division- and branch-free. For small systems the
per-model module (:mod:`dynamics.batch.specialise`) uses copies for the model's size: the
solve fully unrolled (:func:`unrolled_solve_source`, straight-line code: short loops of ~10
iterations are bound by loop overhead), the LU with literal trip counts
(:func:`fixed_lu_source`). Both perform the same operations in the same order.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["lu", "lu_solve", "fixed_lu_source", "unrolled_solve_source", "UNROLL_MAX", "FIXED_LU_MAX"]

#: Systems up to this size get an unrolled :func:`lu_solve` (code size grows as n^2).
UNROLL_MAX = 16
#: Systems up to this size get :func:`lu` with literal trip counts.
FIXED_LU_MAX = 32


@numba.njit(cache=True)
def lu(a: np.ndarray, perm: np.ndarray) -> bool:
    """In-place LU with partial pivoting; False if singular or non-finite.

    On return ``a`` holds L (unit lower, below the diagonal), U above it and the *reciprocals*
    of U's diagonal on it, and ``perm`` the row permutation (row ``i`` of ``P A`` is row
    ``perm[i]`` of ``A``).
    """
    n = a.shape[0]
    for i in range(n):
        perm[i] = i
    for k in range(n):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > big:
                big = v
                p = i
        if not (big > 0.0) or not math.isfinite(big):
            return False
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
            tp = perm[k]
            perm[k] = perm[p]
            perm[p] = tp
        inv = 1.0 / a[k, k]
        a[k, k] = inv
        for i in range(k + 1, n):
            f = a[i, k] * inv
            a[i, k] = f
            if f != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= f * a[k, j]
    return True


@numba.njit(cache=True)
def lu_solve(a: np.ndarray, perm: np.ndarray, src: np.ndarray, x: np.ndarray) -> None:
    """``x = A^{-1} src`` from :func:`lu`'s factors (``src`` and ``x`` must not alias).

    Column-oriented substitution, so consecutive updates are independent.
    """
    n = a.shape[0]
    for i in range(n):
        x[i] = src[perm[i]]
    for j in range(n):
        xj = x[j]
        for i in range(j + 1, n):
            x[i] -= a[i, j] * xj
    for j in range(n - 1, -1, -1):
        xj = x[j] * a[j, j]
        x[j] = xj
        for i in range(j):
            x[i] -= a[i, j] * xj


_FIXED_LU = """\
def {name}(a, perm):
    for i in range({n}):
        perm[i] = i
    for k in range({n}):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, {n}):
            v = abs(a[i, k])
            if v > big:
                big = v
                p = i
        if not (big > 0.0) or not math.isfinite(big):
            return False
        if p != k:
            for j in range({n}):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
            tp = perm[k]
            perm[k] = perm[p]
            perm[p] = tp
        inv = 1.0 / a[k, k]
        a[k, k] = inv
        for i in range(k + 1, {n}):
            f = a[i, k] * inv
            a[i, k] = f
            if f != 0.0:
                for j in range(k + 1, {n}):
                    a[i, j] -= f * a[k, j]
    return True
"""


def fixed_lu_source(n: int, name: str = "lu") -> str:
    """Source of :func:`lu` for a fixed ``n``: the same loops with literal trip counts
    (faster than the loops over the array's size; a fully unrolled copy is faster still but
    costs a quarter of the kernel's build time, see benchmarks/README.md)."""
    return _FIXED_LU.format(name=name, n=n)


def unrolled_solve_source(n: int, name: str = "lu_solve") -> str:
    """Source of :func:`lu_solve` for a fixed ``n``, fully unrolled (same operation order)."""
    lines = [f"def {name}(a, perm, src, x):"]
    lines += [f"    x{i} = src[perm[{i}]]" for i in range(n)]
    for j in range(n):
        lines += [f"    x{i} -= a[{i}, {j}] * x{j}" for i in range(j + 1, n)]
    for j in range(n - 1, -1, -1):
        lines.append(f"    x{j} *= a[{j}, {j}]")
        lines += [f"    x{i} -= a[{i}, {j}] * x{j}" for i in range(j)]
    lines += [f"    x[{i}] = x{i}" for i in range(n)]
    return "\n".join(lines) + "\n"
