r"""Softmax logits evaluated shifted by their maximum, where that is exact.

:func:`_shift_plan` finds the groups of state coordinates that enter as ``exp(state)`` terms
of one sum and, for each block of generated code, whether the block's expressions are
unchanged by a common shift of a group; :func:`dynamics.codegen.emit.generate_source` then
evaluates those blocks at ``u_i = s_i - max s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynamics.codegen.numpy_backend import _np_sigmoid
from dynamics.codegen.tables import _row_slots
from dynamics.model import ReducedModel

# A block of generated code (the fixed part, or one table's rows) whose expressions do not
# change when a group of state coordinates is shifted by a common constant (softmax logits:
# exp(th_p) / sum_q exp(th_q) and everything derived from it) is evaluated at the shifted
# coordinates ``u_i = s_i - max_group s``: its exponentials are then at most 1, so the RHS
# and the Jacobian stay finite and exact to rounding for logits of any size (without the
# shift they overflow from logits of about 180-360). Groups are the state coordinates that
# appear together as ``exp(state)`` terms of one sum; the invariance is checked numerically
# per block (and per table row) at build time, so the shift is applied only where it is exact.
_SHIFT_POINTS = 2
_SHIFT_RTOL = 1e-9


@dataclass(frozen=True)
class _ShiftPlan:
    """State-index groups shifted by their maximum, and which of them each block uses."""

    groups: tuple[tuple[int, ...], ...] = ()
    base: tuple[int, ...] = ()  # group numbers used by the fixed part of rhs/jac
    rows: tuple[tuple[int, ...], ...] = ()  # per slot (rhs/jac and obs rows)
    obs: tuple[int, ...] = ()  # by the fixed part of obs

    def used(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.base).union(self.obs, *self.rows)))


def _exp_groups(model: ReducedModel) -> list[tuple[int, ...]]:
    """Candidate groups: state coordinates that appear as ``exp(state)`` terms of one sum."""
    index = {s: i for i, s in enumerate(model.state)}
    exprs: list[sp.Expr] = [model.loss.base] if model.kind == "loss" else list(model.vector_field or ())
    for r in _row_slots(model):
        exprs += [r.term] + [e for _, e in r.intermediates]
    exprs += [o.base for o in model.observables.values()]
    found: list[set[int]] = []
    for e in exprs:
        for add in sp.sympify(e).atoms(sp.Add):
            g = set()
            for term in add.args:
                for a in term.atoms(sp.exp):
                    if a.args[0] in index and (term == a or (term.is_Mul and a in term.args)):
                        g.add(index[a.args[0]])
            if len(g) >= 2:
                found.append(g)
    merged: list[set[int]] = []
    for g in found:  # union of overlapping groups
        for m in [m for m in merged if m & g]:
            merged.remove(m)
            g = g | m
        merged.append(g)
    return sorted(tuple(sorted(g)) for g in merged)


def _invariant(model: ReducedModel, exprs: Sequence[sp.Expr], group: Sequence[int],
               row_symbols: Sequence[sp.Symbol] = (), table: np.ndarray | None = None) -> bool:
    """Whether every expr is unchanged (numerically, at random points and every table row)
    when the state coordinates in ``group`` are shifted by a common constant."""
    exprs = [sp.sympify(e) for e in exprs]
    gset = {model.state[i] for i in group}
    if not any(e.free_symbols & gset for e in exprs):
        return False  # nothing to gain
    if any(sp.sympify(m).free_symbols & gset for m in model.metric):
        return False
    args = list(model.state) + list(model.params) + list(row_symbols)
    mods = [{"softplus": lambda x: np.logaddexp(0.0, x), "sigmoid": _np_sigmoid}, "numpy"]
    try:
        f = sp.lambdify(args, list(exprs), modules=mods)
    except Exception:  # noqa: BLE001  (an expression numpy cannot evaluate: no shift)
        return False
    rng = np.random.default_rng(1234)
    rows = np.zeros((1, 0)) if table is None or not len(row_symbols) else np.asarray(table, dtype=float)
    cols = [rows[:, j] for j in range(len(row_symbols))]
    for _ in range(_SHIFT_POINTS):
        x = rng.uniform(-1.0, 1.0, model.n_state)
        q = rng.uniform(0.5, 1.5, len(model.params))
        xs = x.copy()
        xs[list(group)] += rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
        with np.errstate(all="ignore"):
            try:
                a = [np.broadcast_to(np.asarray(v, dtype=float), (rows.shape[0],)) for v in f(*x, *q, *cols)]
                b = [np.broadcast_to(np.asarray(v, dtype=float), (rows.shape[0],)) for v in f(*xs, *q, *cols)]
            except Exception:  # noqa: BLE001
                return False
        for u, v in zip(a, b, strict=True):
            if not (np.all(np.isfinite(u)) and np.all(np.abs(u - v) <= _SHIFT_RTOL * (1.0 + np.abs(u)))):
                return False
    return True


def _shift_plan(model: ReducedModel) -> _ShiftPlan:
    """Which blocks of the generated code are evaluated at max-shifted coordinates."""
    groups = _exp_groups(model)
    if not groups:
        return _ShiftPlan()
    slots = _row_slots(model)
    if model.kind == "loss":
        base_exprs: list[sp.Expr] = [model.loss.base]
    else:
        base_exprs = list(model.vector_field or ())
    base = tuple(g for g, grp in enumerate(groups) if _invariant(model, base_exprs, grp))
    rows = tuple(
        tuple(g for g, grp in enumerate(groups) if _invariant(model, [r.full_term], grp, r.row_symbols, r.table))
        for r in slots)
    obs_exprs = [o.base for o in model.observables.values()]
    obs = tuple(g for g, grp in enumerate(groups) if _invariant(model, obs_exprs, grp))
    return _ShiftPlan(tuple(groups), base, rows, obs)
