r"""sympy -> readable Python source: the generated module of a reduced model.

:func:`generate_source` writes ``rhs``, ``jac``, ``obs``, ``obs_batch`` and odeint's
``rhs_ode``/``jac_ode`` (the calling convention is in :mod:`dynamics.codegen`), numba-decorated
with explicit signatures. Common subexpressions are shared (``sympy.cse``) within the fixed
part and within each row term; tables with intermediates are differentiated through the
chain rule (:class:`_Chain`) instead of expanding the term; ``log`` of a sum of exponentials
is printed with the max shift. The text ends with its own SHA-256, so a damaged copy in the
cache is detected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from dynamics.codegen.lanes import LANE_HELPERS_SOURCE, LANES, MIN_LANE_SIGMOIDS
from dynamics.codegen.shift import _shift_plan, _ShiftPlan
from dynamics.codegen.tables import _row_slots
from dynamics.model import ReducedModel, RowSum
from dynamics.symbolic import SCALAR_HELPERS_SOURCE, DefinedFunction, defined_functions, sigmoid
from dynamics.symbolic import _derivative as _derivative_class

__all__ = ["CODEGEN_VERSION", "generate_source"]

#: Written into every generated module and hashed into its key: bump it (and say why) when
#: the generated text changes (tests/unit/test_codegen.py pins the text of one model).
#: 7: the sigmoid lanes' work array is a stack pointer (no reference counting), and
#: ``RHS_ALLOCATES`` says whether ``rhs`` makes heap arrays (dynamics.batch inlines an
#: allocation-free RHS into step functions compiled without reference counting).
CODEGEN_VERSION = "7"

#: Hashed into the key of models that use named functions only (the text of the others, and
#: so their keys, are unchanged by it): bump it when their helpers or calls change.
#: 2: first partials at one argument tuple come from one ``_fn_NAME__grad`` call.
NAMED_FUNCTIONS_REVISION = "2"

# numpy's floating-point semantics (1/0 -> inf, not ZeroDivisionError): non-finite values are
# then caught by the integrator's checks, and the division needs no zero test (faster).
_NJIT_OPTS = 'cache=True, error_model="numpy"'


class _Printer(PythonCodePrinter):
    """Python printer with the stable helpers for softplus and sigmoid, and a call of its
    generated helper ``_fn_NAME`` for each named function (:func:`dynamics.symbolic.define`),
    recorded in ``used``."""

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__(settings)
        self.used: dict[Any, None] = {}
        self.grads: dict[Any, None] = {}  # named functions whose gradient helper is called

    def _print_Function(self, expr: sp.Expr) -> str:
        if not isinstance(expr, DefinedFunction):
            return super()._print_Function(expr)
        self.used[type(expr)] = None
        return f"_fn_{type(expr).__name__}({', '.join(self._print(a) for a in expr.args)})"

    def _print_softplus(self, expr: sp.Expr) -> str:
        return f"_softplus({self._print(expr.args[0])})"

    def _print_sigmoid(self, expr: sp.Expr) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"


def _printer() -> _Printer:
    return _Printer({"fully_qualified_modules": True, "standard": "python3"})


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
    grad_lines, pairs = _gradient_calls(printer, pairs, tmp_prefix, indent)
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
    lines = grad_lines + before
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


def _gradient_calls(printer: _Printer, pairs: list[tuple[str, sp.Expr]], tmp_prefix: str,
                    indent: str) -> tuple[list[str], list[tuple[str, sp.Expr]]]:
    """First derivatives of one named function at one argument tuple, when two or more of
    them occur (a Jacobian's chain rule), as one call of its gradient helper
    ``_fn_NAME__grad`` that returns every first partial (their shared subexpressions computed
    once); the derivatives in ``pairs`` become the temporaries it assigns. Arguments must be
    free of named functions and sigmoids (they are printed before everything else)."""
    groups: dict[tuple[Any, tuple[sp.Expr, ...]], set[int]] = {}
    for _, e in pairs:
        for a in e.atoms(DefinedFunction):
            cls = type(a)
            if len(cls.orders) == 1 and not any(x.has(DefinedFunction, sigmoid) for x in a.args):
                groups.setdefault((cls.base, a.args), set()).add(cls.orders[0])
    lines: list[str] = []
    swap: dict[sp.Expr, sp.Symbol] = {}
    for g, ((base, args), ks) in enumerate(sorted(groups.items(), key=lambda kv: sp.default_sort_key(kv[0][0](*kv[0][1])))):
        if len(ks) < 2:
            continue
        n = len(base.definition_args)
        names = [sp.Symbol(f"{tmp_prefix}g{g}_{k}") for k in range(1, n + 1)]
        for k in ks:
            swap[_derivative_class(base, k)(*args)] = names[k - 1]
        printer.grads[base] = None
        call = ", ".join(printer.doprint(x) for x in args)
        lines.append(f"{indent}{', '.join(map(str, names))} = _fn_{base.__name__}__grad({call})")
    if not swap:
        return [], pairs
    return lines, [(t, e.xreplace(swap)) for t, e in pairs]


def _function_helpers(printer: _Printer) -> list[str]:
    """One compiled helper ``_fn_NAME(a0, a1, ...)`` per named function the printed code
    called, each after the helpers it calls, its body CSE'd: a call site evaluates the
    definition once (and ``sympy.cse`` has already merged equal calls in a block). Then one
    ``_fn_NAME__grad`` per gradient call (:func:`_gradient_calls`), returning every first
    partial with their shared subexpressions computed once."""
    grads: list[str] = []
    for base in printer.grads:  # printed first: their bodies may call other named functions
        args = [sp.Symbol(f"a{i}") for i in range(len(base.definition_args))]
        e = base.definition.xreplace(dict(zip(base.definition_args, args, strict=True)))
        reps, red = sp.cse([sp.diff(e, a) for a in args], symbols=sp.numbered_symbols("t"), order="none")
        grads += [f"@numba.njit({_NJIT_OPTS})", f"def _fn_{base.__name__}__grad({', '.join(map(str, args))}):"]
        grads += [f"    {v} = {printer.doprint(x)}" for v, x in reps]
        grads += [f"    return {', '.join(printer.doprint(x) for x in red)}", "", ""]
    out: list[str] = []
    for cls in defined_functions(f(*f.definition_args) for f in list(printer.used)):
        args = [sp.Symbol(f"a{i}") for i in range(len(cls.definition_args))]
        e = _shift_logsumexp(cls.definition.xreplace(dict(zip(cls.definition_args, args, strict=True))))
        reps, (red,) = sp.cse([e], symbols=sp.numbered_symbols("t"), order="none")
        out += [f"@numba.njit({_NJIT_OPTS})",
                f"def _fn_{cls.__name__}({', '.join(map(str, args))}):"]
        out += [f"    {v} = {printer.doprint(x)}" for v, x in reps]
        out += [f"    return {printer.doprint(red)}", "", ""]
    return out + grads


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
        f"RHS_ALLOCATES = {bool(chains)}  # rhs makes heap arrays (the chain-rule tables' work arrays)",
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
    at_helpers = len(src)  # the named functions' helpers go here, once the code using them is printed
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
    if printer.used or printer.grads:
        src[at_helpers:at_helpers] = ["# named functions (dynamics.symbolic.define), one helper each"] + \
            _function_helpers(printer)
    return _with_hash("\n".join(src))


#: The last line of every generated module: the SHA-256 of everything before it, so a
#: truncated or edited module in the cache is detected and regenerated.
#: truncated or edited module in the cache is detected and regenerated.
_HASH_PREFIX = "# content-sha256: "


def _with_hash(src: str) -> str:
    body = src if src.endswith("\n") else src + "\n"
    return f"{body}{_HASH_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}\n"
