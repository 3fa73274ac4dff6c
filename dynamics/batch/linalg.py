r"""The linear algebra of a Rosenbrock step: LU with partial pivoting and its solve.

:func:`lu` stores the reciprocals of the pivots on U's diagonal and a permutation vector, so
:func:`lu_solve` (several per step) is division- and branch-free. For small systems the
per-model module (:mod:`dynamics.batch.specialise`) uses fully unrolled copies generated
by :func:`unrolled_lu_source` and :func:`unrolled_solve_source`: the same operations in the
same order, as straight-line code (short loops of ~10 iterations are bound by loop overhead).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["lu", "lu_solve", "unrolled_lu_source", "unrolled_solve_source", "UNROLL_MAX", "UNROLL_LU_MAX"]

#: Systems up to this size get an unrolled :func:`lu_solve` (code size grows as n^2).
UNROLL_MAX = 16
#: Systems up to this size also get an unrolled :func:`lu` (code size grows as n^3).
UNROLL_LU_MAX = 10


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


def unrolled_lu_source(n: int, name: str = "lu") -> str:
    """Source of :func:`lu` for a fixed ``n``: the same operations in the same order (pivot
    search and row swaps stay dynamic; the eliminations become straight-line code)."""
    out = [f"def {name}(a, perm):"]
    out += [f"    perm[{i}] = {i}" for i in range(n)]
    for k in range(n):
        out += [f"    p = {k}", f"    big = abs(a[{k}, {k}])"]
        for i in range(k + 1, n):
            out += [f"    v = abs(a[{i}, {k}])", "    if v > big:", "        big = v", f"        p = {i}"]
        out += ["    if not (big > 0.0) or not math.isfinite(big):", "        return False"]
        if k < n - 1:
            out += [
                f"    if p != {k}:",
                f"        for j in range({n}):",
                f"            tmp = a[{k}, j]",
                f"            a[{k}, j] = a[p, j]",
                "            a[p, j] = tmp",
                f"        tp = perm[{k}]",
                f"        perm[{k}] = perm[p]",
                "        perm[p] = tp",
            ]
        out += [f"    inv = 1.0 / a[{k}, {k}]", f"    a[{k}, {k}] = inv"]
        for i in range(k + 1, n):
            out += [f"    f = a[{i}, {k}] * inv", f"    a[{i}, {k}] = f"]
            if k + 1 < n:
                out.append("    if f != 0.0:")
                out += [f"        a[{i}, {j}] -= f * a[{k}, {j}]" for j in range(k + 1, n)]
    out.append("    return True")
    return "\n".join(out) + "\n"


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
