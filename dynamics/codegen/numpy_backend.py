r"""The ``"numpy"`` backend: an independent evaluation path, for checking the generated code.

``sympy.lambdify`` evaluated with numpy, vectorised over table rows; it shares nothing with
the generated source, which is why the tests compare the two (and the benchmarks use it as
the baseline).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from dynamics.model import ReducedModel, RowSum

_Fns = tuple[Callable[..., None], Callable[..., None], Callable[..., None], Callable[..., None]]


def _numpy_functions(model: ReducedModel, slots: Sequence[RowSum]) -> _Fns:
    """rhs/jac/obs/obs_batch evaluated with sympy.lambdify + numpy, vectorised over rows."""
    mods = [{"softplus": lambda x: np.logaddexp(0.0, x), "sigmoid": _np_sigmoid}, "numpy"]
    args = list(model.state) + list(model.params)
    n = model.n_state
    n_par = len(model.params)
    gidx = np.array([model.group_names.index(g) for g in model.groups])

    def lam(exprs: Sequence[sp.Expr], extra: Sequence[sp.Symbol] = ()) -> Callable[..., list[Any]]:
        return sp.lambdify(args + list(extra), list(exprs), modules=mods)

    def summed(f: Callable[..., list[Any]], vals: list[float], tab: np.ndarray) -> np.ndarray:
        cols = [tab[:, j] for j in range(tab.shape[1])]
        res = f(*vals, *cols)
        return np.array([np.sum(np.broadcast_to(np.asarray(v, dtype=float), (tab.shape[0],))) for v in res])

    base, rows = model.flow
    loss_rows = model.loss.rows if model.kind == "loss" else ()
    f_base = lam(base)
    f_rows = [(slots.index(rs), lam(c, rs.row_symbols)) for rs, c in zip(loss_rows, rows, strict=True)]
    j_cache: list[Any] = []

    def j_parts() -> Any:
        # built on first use: the fully expanded Hessian of a large row term is slow to derive
        if not j_cache:
            jb, jr = model.flow_jacobian
            j_cache.append(lam([e for row in jb for e in row]))
            j_cache.append([(slots.index(rs), lam([e for row in m for e in row], rs.row_symbols))
                            for rs, m in zip(loss_rows, jr, strict=True)])
        return j_cache
    names = list(model.observables)
    o_base = lam([model.observables[k].base for k in names])
    o_rows = []
    for k, rs in enumerate(slots):
        idx = [m for m, o in enumerate(names) if any(r is rs for r in model.observables[o].rows)]
        if idx:
            o_rows.append((k, idx, lam([rs.full_term], rs.row_symbols)))

    def tab(data: np.ndarray, bounds: np.ndarray, k: int) -> np.ndarray:
        return data[bounds[k] : bounds[k + 1], : len(slots[k].row_symbols)]

    def rhs(t: float, y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
        vals = list(y) + list(p[:n_par])
        acc = np.array(f_base(*vals), dtype=float)
        for k, f in f_rows:
            acc = acc + summed(f, vals, tab(data, bounds, k))
        out[:] = p[n_par + gidx] * acc

    def jac(t: float, y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
        vals = list(y) + list(p[:n_par])
        j_base, j_rows = j_parts()
        acc = np.array(j_base(*vals), dtype=float)
        for k, f in j_rows:
            acc = acc + summed(f, vals, tab(data, bounds, k))
        out[:, :] = p[n_par + gidx][:, None] * acc.reshape(n, n)

    def obs(y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
        vals = list(y) + list(p[:n_par])
        acc = np.array(o_base(*vals), dtype=float)
        for k, idx, f in o_rows:
            acc[idx] += summed(f, vals, tab(data, bounds, k))[0]
        out[:] = acc

    def obs_batch(Y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
        for i in range(Y.shape[0]):
            obs(Y[i], p, data, bounds, out[i])

    return rhs, jac, obs, obs_batch


def _np_sigmoid(x: Any) -> Any:
    from scipy.special import expit

    return expit(x)
