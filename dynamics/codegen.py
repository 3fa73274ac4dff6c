r"""Code generation: sympy -> readable Python source -> numba, cached on disk.

For a :class:`~dynamics.model.ReducedModel`, :func:`generate_source` writes one Python
module with four functions sharing one calling convention::

    rhs(t, y, p, data, bounds, out)        # out (n,)      : dtheta/dt
    jac(t, y, p, data, bounds, out)        # out (n, n)    : d rhs_i / d y_j
    obs(y, p, data, bounds, out)           # out (n_obs,)  : observables, loss first
    obs_batch(Y, p, data, bounds, out)     # Y (T, n), out (T, n_obs)

``p`` is the parameter vector followed by one learning-rate factor per group (see
:meth:`CompiledModel.pack`). ``data`` stacks the numeric tables of every
:class:`~dynamics.model.RowSum` (rows of table ``k`` are ``data[bounds[k]:bounds[k+1]]``);
generated code loops over them. Common subexpressions are shared (``sympy.cse``) within
the fixed part and within each row term. Two or more sigmoids in one block are evaluated
together as the lanes of one vectorised loop (:data:`LANE_HELPERS_SOURCE`).

The module is written to ``$DYNAMICS_CACHE_DIR`` (default ``~/.cache/dynamics``) under a
name that hashes the model's symbolic content, and its functions are compiled by numba
with ``cache=True`` and explicit signatures. A second build of the same model, in the same
or a new process, skips differentiation and compilation and imports the cached module.

Extreme values: state coordinates that enter as softmax logits (``exp(state)`` terms of one
sum) are evaluated shifted by their maximum in every block of code whose expressions are
unchanged by a common shift of them (checked numerically per block and per table row at
build time), ``log`` of a sum of exponentials is printed with the max shift, and
``sigmoid' = sigmoid(x) sigmoid(-x)``: the RHS and the Jacobian stay exact to rounding for
logits of 700 and more (tests/unit/test_codegen.py, tests/faults/test_codegen.py).

Cache faults: the last line of a generated module is the SHA-256 of the rest; a module that
is incomplete or altered, or that fails to import, is regenerated, and numba cache files
that fail to load are removed and rebuilt (one warning line each). ``DYNAMICS_CACHE_DIR``
(or a parent) that is a file raises :class:`CacheError` naming it; an unwritable cache
directory falls back to a per-process temporary directory, removed at exit (one warning).

Backends: ``"numba"`` (default), ``"python"`` (the same generated source, interpreted:
for debugging) and ``"numpy"`` (an independent path through ``sympy.lambdify`` evaluated
with numpy, vectorised over table rows: for checking the generated code, and the
baseline of the benchmarks).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from dynamics.model import ModelError, ReducedModel, RowSum
from dynamics.symbolic import SCALAR_HELPERS_SOURCE, sigmoid

__all__ = ["CacheError", "CompiledModel", "compile_model", "generate_source", "cache_dir", "model_key"]

CODEGEN_VERSION = "6"

# numpy's floating-point semantics (1/0 -> inf, not ZeroDivisionError): non-finite values are
# then caught by the integrator's checks, and the division needs no zero test (faster).
_NJIT_OPTS = 'cache=True, error_model="numpy"'

Backend = Literal["numba", "numpy", "python"]

#: Lanes of the vectorised sigmoid: a block of ``k`` sigmoids is padded to a multiple of 8
#: (one AVX-512 vector, two AVX2 vectors of doubles).
LANES = 8
#: The fewest sigmoids in one block worth evaluating as lanes (one stays a scalar call).
MIN_LANE_SIGMOIDS = 2

# Written into every generated module (so numba's cache of a module never outlives a change
# here). ``_lanes(n)`` is a work array of ``n`` doubles: on the stack in compiled code (a heap
# array costs more than the sigmoids it serves), a numpy array when the source is interpreted
# (backend "python"). ``_sigmoid_lanes`` evaluates the logistic sigmoid of ``w[:n]`` in place
# with no libm call, so the loop vectorises: exp(-|x|) by Cody-Waite reduction to
# r in [-ln2/2, ln2/2], the degree-13 Taylor polynomial (truncation below 2e-16 there) in
# Estrin's scheme (depth 4 instead of 13: the RHS is on the critical path of every stage),
# and the power of two built from its bits. The relative error is within 3 units in the
# last place of the exact sigmoid (measured 5.1e-16; tests/unit/test_codegen.py). NaN
# propagates; below x = -744 the result is ~1e-323 instead of the exact < 1e-323.
LANE_HELPERS_SOURCE = '''
from llvmlite import ir as _ir
from numba import types as _types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic as _intrinsic
from numba.extending import overload as _overload


def _lanes(n):
    return np.zeros(n)


@_intrinsic
def _stack_f8(typingctx, n):
    if not isinstance(n, _types.IntegerLiteral):
        return None
    size = n.literal_value

    def codegen(context, builder, sig, args):
        return _cgutils.alloca_once(builder, _ir.DoubleType(), size=size)

    return _types.CPointer(_types.float64)(n), codegen


@_overload(_lanes, inline="always")
def _lanes_on_stack(n):
    if not isinstance(n, _types.IntegerLiteral):
        return None
    size = n.literal_value
    return lambda n: numba.carray(_stack_f8(size), size)


@_intrinsic
def _f8_from_bits(typingctx, b):
    if b != _types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], _ir.DoubleType())

    return _types.float64(_types.int64), codegen


@numba.njit("void(f8[::1], i8)", cache=True, error_model="numpy", fastmath={"contract"})
def _sigmoid_lanes(w, n):
    for i in range(n):
        x = w[i]
        z = -abs(x)
        z = z if z > -744.0 else -744.0
        kf = (z * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0
        r = (z - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10
        r2 = r * r
        r4 = r2 * r2
        q = ((1.0 + r) + (0.5 + 0.16666666666666666 * r) * r2) + (
            (0.041666666666666664 + 0.008333333333333333 * r)
            + (0.001388888888888889 + 0.0001984126984126984 * r) * r2) * r4 + (
            ((2.48015873015873e-05 + 2.7557319223985893e-06 * r)
             + (2.755731922398589e-07 + 2.505210838544172e-08 * r) * r2)
            + (2.08767569878681e-09 + 1.6059043836821613e-10 * r) * r4) * (r4 * r4)
        k = np.int64(kf)
        k1 = k >> 1
        e = q * _f8_from_bits((k1 + 1023) << 52) * _f8_from_bits((k - k1 + 1023) << 52)
        s = 1.0 / (1.0 + e)
        v = s if x >= 0.0 else e * s
        w[i] = v if x == x else x
'''


def cache_dir() -> Path:
    """Directory of generated modules: ``$DYNAMICS_CACHE_DIR`` or ``$XDG_CACHE_HOME/dynamics``."""
    env = os.environ.get("DYNAMICS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dynamics"


# --------------------------------------------------------------------------- slots
def _row_slots(model: ReducedModel) -> list[RowSum]:
    """Every distinct RowSum (by identity) in loss and observables, in a fixed order."""
    slots: list[RowSum] = []
    seen: set[int] = set()
    for e in model.observables.values():
        for r in e.rows:
            if id(r) not in seen:
                seen.add(id(r))
                slots.append(r)
    return slots


def model_key(model: ReducedModel, plan: _ShiftPlan | None = None) -> str:
    """Content hash of everything the generated code depends on (of the table values, only
    which blocks they allow to be evaluated at shifted softmax logits)."""
    import numba

    if plan is None:
        plan = _shift_plan(model)

    h = hashlib.sha256()

    def put(x: object) -> None:
        h.update(repr(x).encode())
        h.update(b"\x00")

    put(("codegen", CODEGEN_VERSION, "numba", numba.__version__))
    # the helpers written into every module: a change to them must not reuse a cached module
    put(("helpers", SCALAR_HELPERS_SOURCE, LANE_HELPERS_SOURCE, LANES, MIN_LANE_SIGMOIDS))
    put((model.name, model.kind, model.state_names, model.param_names, model.groups))
    put([sp.srepr(s) for s in model.state + model.params])
    put([sp.srepr(m) for m in model.metric])
    if model.vector_field is not None:
        put([sp.srepr(f) for f in model.vector_field])
    slots = _row_slots(model)
    for r in slots:
        put(("slot", sp.srepr(r.term), [sp.srepr(s) for s in r.row_symbols],
             [(sp.srepr(z), sp.srepr(e)) for z, e in r.intermediates]))
    for k, e in model.observables.items():
        put(("obs", k, sp.srepr(e.base), [slots.index(r) for r in e.rows]))
    put(("shift", plan))
    return h.hexdigest()[:20]


# --------------------------------------------------------------------------- softmax shift
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


# --------------------------------------------------------------------------- printing
class _Printer(PythonCodePrinter):
    """Python printer with the stable helpers for softplus and sigmoid."""

    def _print_softplus(self, expr: sp.Expr) -> str:
        return f"_softplus({self._print(expr.args[0])})"

    def _print_sigmoid(self, expr: sp.Expr) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"


def _printer() -> _Printer:
    return _Printer({"fully_qualified_modules": True, "standard": "python3"})


@dataclass
class _Block:
    """Accumulated assignments ``target op= expr`` with shared subexpressions."""

    lines: list[str] = field(default_factory=list)


def _shift_logsumexp(e: sp.Expr) -> sp.Expr:
    r"""``log(sum_i c_i exp(a_i))`` (two or more exponentials) as
    ``m + log(sum_i c_i exp(a_i - m))`` with ``m = max_i a_i``: no overflow for large ``a_i``."""

    def lse(x: sp.Expr) -> sp.Expr | None:
        if not isinstance(x, sp.log) or not isinstance(x.args[0], sp.Add):
            return None
        parts = []
        for term in x.args[0].args:
            c, rest = term.as_independent(sp.exp, as_Add=False)
            if not isinstance(rest, sp.exp):
                return None
            parts.append((c, rest.args[0]))
        if len(parts) < 2:
            return None
        m = sp.Max(*[a for _, a in parts], evaluate=False)
        return m + sp.log(sp.Add(*[c * sp.exp(a - m, evaluate=False) for c, a in parts]), evaluate=False)

    if not e.has(sp.log):
        return e
    return e.replace(lambda x: lse(x) is not None, lse)


def _emit(
    printer: _Printer,
    targets: Sequence[str],
    exprs: Sequence[sp.Expr],
    subs: Mapping[sp.Symbol, sp.Symbol],
    tmp_prefix: str,
    op: str,
    indent: str,
) -> list[str]:
    """Lines assigning (or adding) each non-zero expr to its target, with CSE."""
    pairs = [(t, _shift_logsumexp(sp.sympify(e).xreplace(subs))) for t, e in zip(targets, exprs, strict=True)]
    pairs = [(t, e) for t, e in pairs if not e.is_zero]
    if not pairs:
        return []
    # Two or more sigmoids: the lanes of one vectorised call (_sigmoid_lanes). Their arguments
    # come first (with the subexpressions they need), then the call, then what uses them.
    sigmoids = sorted(set().union(*(e.atoms(sigmoid) for _, e in pairs)), key=sp.default_sort_key)
    if len(sigmoids) < MIN_LANE_SIGMOIDS or any(a.args[0].has(sigmoid) for a in sigmoids):
        sigmoids = []  # scalar _sigmoid calls, inline
    names = [sp.Symbol(f"{tmp_prefix}sg{j}") for j in range(len(sigmoids))]
    swap = dict(zip(sigmoids, names, strict=True))
    exprs = [a.args[0] for a in sigmoids] + [e.xreplace(swap) for _, e in pairs]
    reps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols(tmp_prefix), order="none")
    late: set[sp.Symbol] = set(names)
    before, after = [], []
    for s, v in reps:
        if v.free_symbols & late:
            late.add(s)
            after.append(f"{indent}{s} = {printer.doprint(v)}")
        else:
            before.append(f"{indent}{s} = {printer.doprint(v)}")
    lines = before
    if sigmoids:
        width = -(-len(sigmoids) // LANES) * LANES
        w = f"{tmp_prefix}w"
        lines += [f"{indent}{w} = _lanes({width})  # {len(sigmoids)} sigmoids as lanes of one loop"]
        lines += [f"{indent}{w}[{j}] = {printer.doprint(e)}" for j, e in enumerate(reduced[: len(sigmoids)])]
        lines += [f"{indent}{w}[{j}] = 0.0" for j in range(len(sigmoids), width)]
        lines += [f"{indent}_sigmoid_lanes({w}, {width})"]
        lines += [f"{indent}{nm} = {w}[{j}]" for j, nm in enumerate(names)]
    lines += after
    rest = reduced[len(sigmoids):]
    lines += [f"{indent}{t} {op} {printer.doprint(e)}" for (t, _), e in zip(pairs, rest, strict=True)]
    return lines


@dataclass
class _Chain:
    """Chain-rule structure of a RowSum with intermediates (see :class:`RowSum`).

    Inner variables ``v`` = the intermediates, then the state symbols the term uses directly.
    ``F1[a] = df/dv_a``, ``F2[a, b] = d2f/dv_a dv_b``, and the sparse Jacobian of ``v`` with
    respect to the state as ``(a, i, expr)`` triples; ``second`` lists nonzero
    ``d2 z_a / dtheta_i dtheta_j`` for nonlinear intermediates as ``(a, i, j, expr)``.
    """

    inner: list[sp.Symbol]
    F1: list[sp.Expr]
    F2: dict[tuple[int, int], sp.Expr]
    nz: list[tuple[int, int, sp.Expr]]
    second: list[tuple[int, int, int, sp.Expr]]


def _chain(model: ReducedModel, rs: RowSum) -> _Chain:
    zs = [z for z, _ in rs.intermediates]
    zexpr = dict(rs.intermediates)
    direct = [x for x in model.state if x in rs.term.free_symbols]
    inner = zs + direct
    F1 = [sp.diff(rs.term, v) for v in inner]
    F2 = {(a, b): sp.diff(F1[a], inner[b]) for a in range(len(inner)) for b in range(a, len(inner))}
    nz: list[tuple[int, int, sp.Expr]] = []
    second: list[tuple[int, int, int, sp.Expr]] = []
    for a, v in enumerate(inner):
        if v in zexpr:
            for i, x in enumerate(model.state):
                d = sp.diff(zexpr[v], x)
                if not d.is_zero:
                    nz.append((a, i, d))
                    for j in range(i, model.n_state):
                        d2 = sp.diff(d, model.state[j])
                        if not d2.is_zero:
                            second.append((a, i, j, d2))
        else:
            nz.append((a, model.state.index(v), sp.Integer(1)))
    return _Chain(inner, F1, F2, nz, second)


def generate_source(model: ReducedModel, plan: _ShiftPlan | None = None) -> str:
    """The generated Python module for ``model`` (numba-decorated)."""
    if plan is None:
        plan = _shift_plan(model)
    printer = _printer()
    n = model.n_state
    n_par = len(model.params)
    slots = _row_slots(model)
    obs_names = list(model.observables)
    groups = model.group_names
    gidx = [groups.index(g) for g in model.groups]
    loss_rows = model.loss.rows if model.kind == "loss" else ()
    chains = {k: _chain(model, rs) for k, rs in enumerate(slots) if rs.intermediates and rs in loss_rows}

    subs: dict[sp.Symbol, sp.Symbol] = {}
    for i, s in enumerate(model.state):
        subs[s] = sp.Symbol(f"s{i}")
    for i, q in enumerate(model.params):
        subs[q] = sp.Symbol(f"q{i}")

    def shifted(gs: Sequence[int]) -> dict[sp.Symbol, sp.Symbol]:
        """``subs`` with the coordinates of the groups ``gs`` at their shifted values."""
        out = dict(subs)
        for g in gs:
            for i in plan.groups[g]:
                out[model.state[i]] = sp.Symbol(f"u{i}")
        return out

    def unpack_lines(indent: str) -> list[str]:
        out = [f"{indent}s{i} = y[{i}]" for i in range(n)]
        out += [f"{indent}q{i} = p[{i}]" for i in range(n_par)]
        for g in plan.used():
            idx = plan.groups[g]
            out.append(f"{indent}# softmax logits {', '.join(model.state_names[i] for i in idx)}: "
                       "shifted by their maximum (exp <= 1)")
            out.append(f"{indent}mx{g} = s{idx[0]}")
            out += [f"{indent}mx{g} = max(mx{g}, s{i})" for i in idx[1:]]
            out += [f"{indent}u{i} = s{i} - mx{g}" for i in idx]
        return out

    def row_subs(k: int, rs: RowSum) -> dict[sp.Symbol, sp.Symbol]:
        rsubs = shifted(plan.rows[k]) if plan.rows else dict(subs)
        for j, c in enumerate(rs.row_symbols):
            rsubs[c] = sp.Symbol(f"c{j}")
        for a, (z, _) in enumerate(rs.intermediates):
            rsubs[z] = sp.Symbol(f"z{k}_{a}")
        return rsubs

    def row_loop(k: int, rs: RowSum, body: list[str], tail: Sequence[str] = ()) -> list[str]:
        """The loop over slot k's rows: read the row, compute intermediates, then ``body``."""
        if not body and not tail:
            return []
        rsubs = row_subs(k, rs)
        pre = _emit(printer, [f"z{k}_{a}" for a in range(len(rs.intermediates))],
                    [e for _, e in rs.intermediates], rsubs, f"i{k}_", "=", " " * 8) if rs.intermediates else []
        lines = [f"    for r in range(bounds[{k}], bounds[{k + 1}]):"]
        used = "\n".join(pre + body + list(tail))
        lines += [f"        c{j} = data[r, {j}]" for j in range(len(rs.row_symbols)) if f"c{j}" in used]
        return lines + pre + body + list(tail)

    def plain_rows(k: int, rs: RowSum, targets: Sequence[str], exprs: Sequence[sp.Expr]) -> list[str]:
        return row_loop(k, rs, _emit(printer, targets, exprs, row_subs(k, rs), f"r{k}_", "+=", " " * 8))

    def chain_values(k: int, rs: RowSum, ch: _Chain, with_f2: bool) -> list[str]:
        """Per-row assignments of F1_k[a], (F2_k[a, b]) and Jv_k[q]."""
        targets = [f"F1_{k}[{a}]" for a in range(len(ch.inner))]
        exprs = list(ch.F1)
        if with_f2:
            for (a, b), e in ch.F2.items():
                targets.append(f"F2_{k}[{a}, {b}]")
                exprs.append(e)
        targets += [f"Jv_{k}[{q}]" for q in range(len(ch.nz))]
        exprs += [e for _, _, e in ch.nz]
        lines = _emit(printer, targets, exprs, row_subs(k, rs), f"r{k}_", "=", " " * 8)
        if with_f2:
            lines += [f"        F2_{k}[{b}, {a}] = F2_{k}[{a}, {b}]" for (a, b), e in ch.F2.items()
                      if a != b and not e.xreplace(row_subs(k, rs)).is_zero]
        return lines

    src: list[str] = [
        f"# Generated by dynamics.codegen {CODEGEN_VERSION} for model {model.name!r}. Do not edit.",
        f"# state  : {', '.join(model.state_names)}",
        f"# params : {', '.join(model.param_names)}  (then one learning-rate factor per group: {', '.join(groups)})",
        "import math",
        "",
        "import numba",
        "import numpy as np",
        "",
        f"N_STATE = {n}",
        f"N_PARAMS = {n_par}",
        f"GROUPS = {tuple(groups)!r}",
        f"GIDX = np.array({gidx!r}, dtype=np.int64)  # group of each coordinate",
        f"OBS_NAMES = {tuple(obs_names)!r}",
        f"N_SLOTS = {len(slots)}",
    ]
    for k, ch in chains.items():
        src += [
            f"# table {k} ({slots[k].label}): chain rule through {len(slots[k].intermediates)} intermediates,",
            f"# inner variables {', '.join(str(v) for v in ch.inner)}",
            f"JK_{k} = np.array({[a for a, _, _ in ch.nz]!r}, dtype=np.int64)  # inner variable of each Jacobian entry",
            f"JI_{k} = np.array({[i for _, i, _ in ch.nz]!r}, dtype=np.int64)  # state coordinate of each entry",
        ]
    src.append("")
    helpers = SCALAR_HELPERS_SOURCE.replace("\ndef ", f"\n@numba.njit({_NJIT_OPTS})\ndef ")
    src += helpers.strip("\n").splitlines() + ["", ""]
    src += LANE_HELPERS_SOURCE.strip("\n").splitlines() + ["", ""]
    minv_lines = _emit(printer, [f"MINV[{i}]" for i in range(n)], [1 / m for m in model.metric], subs, "m_", "=", "    ")

    # ---- rhs
    base, rows = model.flow_parts()
    acc = [f"a{i}" for i in range(n)]
    src += [
        f'@numba.njit("void(f8, f8[:], f8[:], f8[:, :], i8[:], f8[:])", {_NJIT_OPTS})',
        "def rhs(t, y, p, data, bounds, out):",
        "    # dtheta_i/dt = factor[group(i)] * (fixed part + sum over table rows)",
    ]
    src += unpack_lines("    ")
    src += [f"    {a} = 0.0" for a in acc]
    src += _emit(printer, acc, base, shifted(plan.base), "b_", "+=", "    ")
    if chains:
        src += ["    G = np.zeros(N_STATE)  # gradient of the chain-rule tables", "    MINV = np.empty(N_STATE)"]
        src += minv_lines
    for rs in loss_rows:
        k = slots.index(rs)
        if k in chains:
            ch = chains[k]
            src += [f"    F1_{k} = np.zeros({len(ch.inner)})", f"    Jv_{k} = np.zeros({len(ch.nz)})"]
            src += row_loop(k, rs, chain_values(k, rs, ch, False), [
                f"        for q in range({len(ch.nz)}):",
                f"            G[JI_{k}[q]] += F1_{k}[JK_{k}[q]] * Jv_{k}[q]",
            ])
        else:
            comps = rows[loss_rows.index(rs)]
            assert comps is not None
            src += plain_rows(k, rs, acc, comps)
    if chains:
        src += [f"    a{i} -= G[{i}] * MINV[{i}]" for i in range(n)]
    src += [f"    out[{i}] = p[{n_par + gidx[i]}] * a{i}" for i in range(n)]
    src += ["", ""]

    # ---- jac
    jbase = model.jacobian_base
    plain_slots = [k for k, rs in enumerate(slots) if rs in loss_rows and k not in chains]
    jrows = {k: model.jacobian_rows(loss_rows.index(slots[k])) for k in plain_slots}
    jacc = [f"J{i}_{j}" for i in range(n) for j in range(n)]
    flat = lambda m: [m[i][j] for i in range(n) for j in range(n)]  # noqa: E731
    nonzero = [not e.is_zero for e in flat(jbase)]
    for jr in jrows.values():
        nonzero = [a or not e.is_zero for a, e in zip(nonzero, flat(jr), strict=True)]
    src += [
        f'@numba.njit("void(f8, f8[:], f8[:], f8[:, :], i8[:], f8[:, :])", {_NJIT_OPTS})',
        "def jac(t, y, p, data, bounds, out):",
        "    # out[i, j] = d rhs_i / d y_j",
    ]
    src += unpack_lines("    ")
    keep = [m for m, nz in enumerate(nonzero) if nz]
    src += [f"    {jacc[m]} = 0.0" for m in keep]
    src += _emit(printer, [jacc[m] for m in keep], [flat(jbase)[m] for m in keep], shifted(plan.base), "b_", "+=",
                 "    ")
    for k in plain_slots:
        src += plain_rows(k, slots[k], [jacc[m] for m in keep], [flat(jrows[k])[m] for m in keep])
    if chains:
        src += ["    H = np.zeros((N_STATE, N_STATE))  # Hessian of the chain-rule tables", "    MINV = np.empty(N_STATE)"]
        src += minv_lines
    for k, ch in chains.items():
        rs = slots[k]
        K = len(ch.inner)
        src += [f"    F1_{k} = np.zeros({K})", f"    F2_{k} = np.zeros(({K}, {K}))", f"    Jv_{k} = np.zeros({len(ch.nz)})"]
        # (loop variables end in "_" so they cannot shadow generated names)
        tail = [
            f"        for qa_ in range({len(ch.nz)}):",
            f"            ia_ = JI_{k}[qa_]",
            f"            ka_ = JK_{k}[qa_]",
            f"            va_ = Jv_{k}[qa_]",
            f"            for qb_ in range({len(ch.nz)}):",
            f"                H[ia_, JI_{k}[qb_]] += F2_{k}[ka_, JK_{k}[qb_]] * va_ * Jv_{k}[qb_]",
        ]
        if ch.second:
            f1s = {a: sp.Symbol(f"F1_{k}[{a}]") for a in range(K)}
            names = [f"h{k}_{m}" for m in range(len(ch.second))]
            tail += _emit(printer, names, [f1s[a] * e for a, _, _, e in ch.second], row_subs(k, rs),
                          f"s{k}_", "=", " " * 8)
            for name, (_, i, j, _e) in zip(names, ch.second, strict=True):
                if name in "\n".join(tail):
                    tail.append(f"        H[{i}, {j}] += {name}")
                    if i != j:
                        tail.append(f"        H[{j}, {i}] += {name}")
        src += row_loop(k, rs, chain_values(k, rs, ch, True), tail)
    src += ["    for i in range(N_STATE):", "        for j in range(N_STATE):", "            out[i, j] = 0.0"]
    for m in keep:
        i, j = divmod(m, n)
        src.append(f"    out[{i}, {j}] = p[{n_par + gidx[i]}] * {jacc[m]}")
    if chains:
        src += ["    for i in range(N_STATE):", "        for j in range(N_STATE):",
                f"            out[i, j] -= p[{n_par} + GIDX[i]] * MINV[i] * H[i, j]"]
    src += ["", ""]

    # ---- observables
    oacc = [f"o{k}" for k in range(len(obs_names))]
    src += [
        f'@numba.njit("void(f8[:], f8[:], f8[:, :], i8[:], f8[:])", {_NJIT_OPTS})',
        "def obs(y, p, data, bounds, out):",
        f"    # observables: {', '.join(obs_names)}",
    ]
    src += unpack_lines("    ")
    src += [f"    {o} = 0.0" for o in oacc]
    src += _emit(printer, oacc, [model.observables[k].base for k in obs_names], shifted(plan.obs), "b_", "+=",
                 "    ")
    for k, rs in enumerate(slots):
        targets = [oacc[m] for m, o in enumerate(obs_names) if any(r is rs for r in model.observables[o].rows)]
        if targets:
            src += plain_rows(k, rs, targets, [rs.term] * len(targets))
    src += [f"    out[{k}] = {o}" for k, o in enumerate(oacc)]
    src += ["", ""]
    src += [
        f'@numba.njit("void(f8[:, :], f8[:], f8[:, :], i8[:], f8[:, :])", {_NJIT_OPTS})',
        "def obs_batch(Y, p, data, bounds, out):",
        "    for i in range(Y.shape[0]):",
        "        obs(Y[i], p, data, bounds, out[i])",
        "",
        "",
        "# odeint's calling convention f(y, t, *args) -> new array: no Python layer per call",
        f'@numba.njit("f8[:](f8[:], f8, f8[:], f8[:, :], i8[:])", {_NJIT_OPTS})',
        "def rhs_ode(y, t, p, data, bounds):",
        "    out = np.empty(N_STATE)",
        "    rhs(t, y, p, data, bounds, out)",
        "    return out",
        "",
        "",
        f'@numba.njit("f8[:, :](f8[:], f8, f8[:], f8[:, :], i8[:])", {_NJIT_OPTS})',
        "def jac_ode(y, t, p, data, bounds):",
        "    out = np.empty((N_STATE, N_STATE))",
        "    jac(t, y, p, data, bounds, out)",
        "    return out",
        "",
    ]
    return _with_hash("\n".join(src))


# --------------------------------------------------------------------------- loading
class CacheError(ModelError):
    """The cache directory cannot be used (one line naming it and the remedy)."""


#: The last line of every generated module: the SHA-256 of everything before it, so a
#: truncated or edited module in the cache is detected and regenerated.
_HASH_PREFIX = "# content-sha256: "


def _with_hash(src: str) -> str:
    body = src if src.endswith("\n") else src + "\n"
    return f"{body}{_HASH_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}\n"


def _intact(path: Path) -> bool:
    """Whether the generated module at ``path`` is complete (its content hash matches)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return False
    i = text.rfind("\n" + _HASH_PREFIX)
    if i < 0 or not text.endswith("\n"):
        return False
    body, digest = text[: i + 1], text[i + 1 + len(_HASH_PREFIX) : -1]
    return hashlib.sha256(body.encode()).hexdigest() == digest


def _warn(msg: str) -> None:
    print(f"dynamics: warning: {msg}", file=sys.stderr, flush=True)


def _cache_root() -> Path:
    """:func:`cache_dir`, created; :class:`CacheError` if it (or a parent) is a file."""
    d = cache_dir()
    var = "DYNAMICS_CACHE_DIR" if os.environ.get("DYNAMICS_CACHE_DIR") else "the default cache directory"
    for q in (d, *d.parents):
        if q.exists() and not q.is_dir():
            raise CacheError(f"{var} {str(d)!r} cannot be used: {str(q)!r} is a file, not a directory; "
                             "set DYNAMICS_CACHE_DIR to a directory (or unset it)")
    return d


_TEMP_CACHE: list[Path] = []


def _temp_cache() -> Path:
    """A per-process temporary cache directory (removed at exit), for an unwritable cache."""
    if not _TEMP_CACHE:
        import atexit
        import shutil
        import tempfile

        d = Path(tempfile.mkdtemp(prefix="dynamics-cache-"))
        atexit.register(shutil.rmtree, d, True)
        _TEMP_CACHE.append(d)
    return _TEMP_CACHE[0]


def _clear_numba_cache(path: Path) -> None:
    """Remove numba's cache files (index and data) of the generated module at ``path``."""
    pyc = path.parent / "__pycache__"
    for f in pyc.glob(f"{path.stem}.*.nb[ic]") if pyc.is_dir() else ():
        try:
            f.unlink()
        except FileNotFoundError:
            pass


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_module(path: str | os.PathLike[str]) -> ModuleType:
    """Import a generated module from its file (what sweep workers do)."""
    path = Path(path)
    modname = _modname(path)
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import generated module {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[modname]
        raise
    return mod


def _pack_tables(slots: Sequence[RowSum]) -> tuple[np.ndarray, np.ndarray]:
    kmax = max([len(r.row_symbols) for r in slots] + [1])
    total = sum(r.n_rows for r in slots)
    data = np.zeros((max(total, 1), kmax))
    bounds = np.zeros(len(slots) + 1, dtype=np.int64)
    pos = 0
    for k, r in enumerate(slots):
        data[pos : pos + r.n_rows, : r.table.shape[1]] = r.table
        pos += r.n_rows
        bounds[k + 1] = pos
    return data, bounds


# --------------------------------------------------------------------------- numpy backend
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


# --------------------------------------------------------------------------- public
@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A reduced model with its compiled functions and packed row tables.

    Attributes
    ----------
    model : ReducedModel
    backend : {"numba", "numpy", "python"}
    rhs, jac, obs, obs_batch : callables
        The generated functions (calling convention in the module docstring).
    rhs_ode, jac_ode : callables
        ``f(y, t, p, data, bounds) -> array``: odeint's convention, compiled end to end.
    data, bounds : ndarray
        The packed RowSum tables and their row ranges.
    module_path : Path or None
        The generated source file (numba and python backends).
    build : dict
        ``{"cache": "hit"|"miss"|"none", "seconds": float, "key": str}``.
    """

    model: ReducedModel
    backend: str
    rhs: Callable[..., None]
    jac: Callable[..., None]
    obs: Callable[..., None]
    obs_batch: Callable[..., None]
    rhs_ode: Callable[..., np.ndarray]
    jac_ode: Callable[..., np.ndarray]
    data: np.ndarray
    bounds: np.ndarray
    module_path: Path | None
    build: dict[str, Any]

    @property
    def n_state(self) -> int:
        return self.model.n_state

    @property
    def observable_names(self) -> tuple[str, ...]:
        return tuple(self.model.observables)

    def pack(self, params: Mapping[str, float] | np.ndarray | None = None,
             factors: Mapping[str, float] | None = None) -> np.ndarray:
        """The runtime vector ``p``: parameter values then one factor per group.

        ``params`` is a mapping (defaults fill the rest) or an already ordered vector;
        ``factors`` maps group names to learning-rate factors (default 1).
        """
        if isinstance(params, np.ndarray):
            pv = np.asarray(params, dtype=float)
            if pv.shape != (len(self.model.params),):
                raise ModelError(f"parameter vector must have shape ({len(self.model.params)},), got {pv.shape}")
            if not np.all(np.isfinite(pv)):
                raise ModelError("parameter vector contains non-finite values")
        else:
            pv = self.model.param_vector(params)
        factors = dict(factors or {})
        groups = self.model.group_names
        unknown = set(factors) - set(groups)
        if unknown:
            raise ModelError(f"learning-rate factor for unknown group(s) {sorted(unknown)}; groups: {list(groups)}")
        fv = np.array([float(factors.get(g, 1.0)) for g in groups])
        return np.concatenate([pv, fv])

    def check_runtime(self, p: np.ndarray) -> np.ndarray:
        """Validate a runtime vector from :meth:`pack` (the compiled code does no bounds checks)."""
        p = np.ascontiguousarray(p, dtype=float)
        size = len(self.model.params) + len(self.model.group_names)
        if p.shape != (size,):
            raise ModelError(f"runtime vector must have shape ({size},) (parameters then group factors; "
                             f"use CompiledModel.pack), got {p.shape}")
        return p

    def f(self, p: np.ndarray) -> Callable[[float, np.ndarray], np.ndarray]:
        """``f(t, y) -> dy/dt`` bound to the runtime vector ``p`` (for scipy).

        ``y`` must have shape ``(n_state,)``: the returned function does not check it.
        """
        p = self.check_runtime(p)
        rhs, data, bounds, n = self.rhs, self.data, self.bounds, self.n_state

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            out = np.empty(n)
            rhs(t, y, p, data, bounds, out)
            return out

        return fun

    def jacobian(self, p: np.ndarray) -> Callable[[float, np.ndarray], np.ndarray]:
        """``J(t, y) -> (n, n)`` bound to the runtime vector ``p`` (``y`` is not checked)."""
        p = self.check_runtime(p)
        jac, data, bounds, n = self.jac, self.data, self.bounds, self.n_state

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            out = np.empty((n, n))
            jac(t, y, p, data, bounds, out)
            return out

        return fun

    def observables(self, Y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
        """All observables along states ``Y`` of shape (T, n)."""
        p = self.check_runtime(p)
        Y = np.ascontiguousarray(np.atleast_2d(np.asarray(Y, dtype=float)))
        if Y.ndim != 2 or Y.shape[1] != self.n_state:
            raise ModelError(f"states must have shape (T, {self.n_state}), got {Y.shape}")
        out = np.empty((Y.shape[0], len(self.observable_names)))
        self.obs_batch(Y, p, self.data, self.bounds, out)
        return {k: out[:, i].copy() for i, k in enumerate(self.observable_names)}

    def with_tables(self, tables: Mapping[int, np.ndarray]) -> CompiledModel:
        """A copy using other numeric tables for some RowSum slots (no recompilation)."""
        slots = _row_slots(self.model)
        new = []
        for k, rs in enumerate(slots):
            new.append(RowSum(rs.term, rs.row_symbols, tables[k], rs.label, rs.intermediates) if k in tables else rs)
        if self.backend != "numpy" and _exp_groups(self.model):
            # the generated code evaluates some tables at shifted softmax logits, which was
            # checked to be exact for the tables it was built with: check the new ones
            plan = _shift_plan(self.model)
            for k in tables:
                for g in plan.rows[k]:
                    if not _invariant(self.model, [new[k].full_term], plan.groups[g], new[k].row_symbols, new[k].table):
                        raise ModelError(
                            f"the new table {k} ({slots[k].label}) changes the loss under a common shift of the softmax "
                            f"logits {[self.model.state_names[i] for i in plan.groups[g]]}, which the generated code "
                            "assumes: compile a model built with this table instead")
        data, bounds = _pack_tables(new)
        return dataclasses.replace(self, data=data, bounds=bounds)


def compile_model(model: ReducedModel, backend: Backend = "numba") -> CompiledModel:
    """Generate, cache and compile ``model`` (see the module docstring)."""
    if backend not in ("numba", "numpy", "python"):
        raise ModelError(f"unknown backend {backend!r}; choose 'numba', 'numpy' or 'python'")
    t0 = time.perf_counter()
    slots = _row_slots(model)
    data, bounds = _pack_tables(slots)
    if backend == "numpy":
        rhs, jac, obs, obs_batch = _numpy_functions(model, slots)
        return CompiledModel(model, backend, rhs, jac, obs, obs_batch, *_ode_wrappers(rhs, jac, model.n_state),
                             data, bounds, None, {"cache": "none", "seconds": time.perf_counter() - t0, "key": ""})
    plan = _shift_plan(model)
    key = model_key(model, plan)
    mod, path, hit = _load_cached(model, plan, key)
    rhs, jac, obs, obs_batch, rhs_ode, jac_ode = (getattr(mod, k) for k in _GENERATED)
    if backend == "python":
        rhs, jac, obs, obs_batch = (f.py_func for f in (rhs, jac, obs, obs_batch))
        rhs_ode, jac_ode = _ode_wrappers(rhs, jac, model.n_state)
    return CompiledModel(model, backend, rhs, jac, obs, obs_batch, rhs_ode, jac_ode, data, bounds, path,
                         {"cache": "hit" if hit else "miss", "seconds": time.perf_counter() - t0, "key": key})


_GENERATED = ("rhs", "jac", "obs", "obs_batch", "rhs_ode", "jac_ode")


def _modname(path: Path) -> str:
    return "_dynamics_gen_" + path.stem.replace("-", "_").replace(".", "_")


def _load_cached(model: ReducedModel, plan: _ShiftPlan, key: str) -> tuple[ModuleType, Path, bool]:
    """The generated module of ``model`` from the cache: written if missing, rewritten if
    incomplete (content hash) or if it fails to import; numba's cache files of a module
    that fails to load are removed and rebuilt. An unwritable cache directory falls back to
    a temporary one (one warning line). Returns (module, path, cache hit)."""
    name = f"{model.name.replace('-', '_').replace('.', '_')}_{key}.py"
    root = _cache_root()
    path = root / name
    source: list[str] = []

    def src() -> str:
        if not source:
            source.append(generate_source(model, plan))
        return source[0]

    def write(p: Path) -> Path:
        try:
            _write_atomic(p, src())
            return p
        except OSError as exc:
            if p.parent in _TEMP_CACHE:
                raise CacheError(f"cannot write generated code to the temporary directory {str(p.parent)!r}: "
                                 f"{exc.strerror or exc}") from exc
            _warn(f"cache directory {str(p.parent)!r} is not writable ({exc.strerror or exc}); building model "
                  f"{model.name!r} in a temporary directory (set DYNAMICS_CACHE_DIR to a writable directory "
                  "to keep builds)")
            return write(_temp_cache() / name)

    loaded = sys.modules.get(_modname(path))
    loaded_file = getattr(loaded, "__file__", None)
    if loaded is not None and loaded_file:
        return loaded, Path(loaded_file), True  # (possibly from a temporary directory)
    hit, fresh = False, False
    if path.exists() and not _intact(path):
        _warn(f"cached module {str(path)!r} is incomplete or altered; regenerating it")
        path, fresh = write(path), True
    elif path.exists():
        hit = True
    else:
        path, fresh = write(path), True
    try:
        return load_module(path), path, hit
    except Exception as exc:  # noqa: BLE001  (corrupt numba cache, or a module that does not import)
        first = exc
    # recovery: numba's cache files first (the module itself may be intact), then the module
    stale = (path.parent / "__pycache__").is_dir() and any((path.parent / "__pycache__").glob(f"{path.stem}.*.nb[ic]"))
    if fresh and not stale:
        raise ModelError(f"generated code for model {model.name!r} failed to compile ({path}): "
                         f"{type(first).__name__}: {first}") from first
    _warn(f"cached build of model {model.name!r} failed to load ({type(first).__name__}: {first}); rebuilding it")
    _clear_numba_cache(path)
    try:
        return load_module(path), path, False
    except Exception as exc:  # noqa: BLE001
        first = exc
    if not fresh:
        _clear_numba_cache(path)
        path = write(path)
        try:
            return load_module(path), path, False
        except Exception as exc:  # noqa: BLE001
            first = exc
    raise ModelError(f"generated code for model {model.name!r} failed to compile ({path}): "
                     f"{type(first).__name__}: {first}") from first


def _ode_wrappers(rhs: Callable[..., None], jac: Callable[..., None],
                  n: int) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    def rhs_ode(y: np.ndarray, t: float, p: np.ndarray, data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        out = np.empty(n)
        rhs(t, y, p, data, bounds, out)
        return out

    def jac_ode(y: np.ndarray, t: float, p: np.ndarray, data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        out = np.empty((n, n))
        jac(t, y, p, data, bounds, out)
        return out

    return rhs_ode, jac_ode


__all__ += ["load_module"]
