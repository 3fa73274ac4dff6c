"""Human-readable (text or LaTeX) listing of a reduced model's derived equations.

Named functions (:func:`dynamics.symbolic.define`) stay applications in the equations, and
each one the equations use is defined once, before them: a field written with Gaussian
integrals $I_3$, $I_4$ prints in their terms rather than expanded.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from dynamics.model import Expression, ReducedModel, RowSum
from dynamics.symbolic import defined_functions

__all__ = ["describe"]


def _fmt(e: sp.Expr, latex: bool) -> str:
    return sp.latex(e) if latex else sp.sstr(e)


def _sum(parts: Sequence[tuple[sp.Expr, RowSum | None]], latex: bool) -> str:
    out = []
    for e, rs in parts:
        if e.is_zero:
            continue
        if rs is None:
            out.append(_fmt(e, latex))
        elif latex:
            out.append(rf"\sum_{{{rs.label}}} \left[{_fmt(e, True)}\right]")
        else:
            out.append(f"sum_{rs.label}[ {_fmt(e, False)} ]")
    return " + ".join(out) if out else "0"


def _expr(x: Expression, latex: bool) -> str:
    return _sum([(x.base, None)] + [(r.term, r) for r in x.rows], latex)


def _compact_row_flow(model: ReducedModel, rs: RowSum) -> list[sp.Expr]:
    """$-\\partial_i \\mathrm{term} / M_i$ per row, by the chain rule through the intermediates
    (which stay as symbols, so the printed equations stay short)."""
    out = []
    for s, m in zip(model.state, model.metric, strict=True):
        g = sp.diff(rs.term, s) + sum((sp.diff(rs.term, z) * sp.diff(e, s) for z, e in rs.intermediates),
                                      sp.Integer(0))
        out.append(-g / m)
    return out


def _definitions(exprs: Sequence[sp.Expr], latex: bool) -> list[str]:
    """One line per named function ``exprs`` use (and those their definitions use): its
    definition, or for a derivative which derivative of which function it is (after it)."""
    out: list[str] = []
    done: set[type] = set()
    for cls in defined_functions(exprs):
        for c in (cls.base, cls):
            if c in done:
                continue
            done.add(c)
            args = c.definition_args
            head = _fmt(c(*args), latex)
            if not c.orders:
                body = _fmt(c.definition, latex)
            elif latex:
                body = _fmt(sp.Derivative(c.base(*args), *[args[i - 1] for i in c.orders]), True)
            else:
                wrt = " ".join(f"d{args[i - 1]}" for i in c.orders)
                n = len(c.orders)
                body = f"d{'' if n == 1 else n} {_fmt(c.base(*args), False)} / {wrt}"
            out.append(f"  {head} = {body}" + (r" \\" if latex else ""))
    return out


def describe(model: ReducedModel, latex: bool = False) -> str:
    """State, parameters, tables and the derived right-hand sides of ``model``."""
    nl = "\n"
    lines: list[str] = []
    title = f"{model.name}: {model.title}" if model.title else model.name
    if latex:
        lines.append(f"% {title}")
    else:
        lines.append(title)
        lines.append("=" * len(title))
    state = ", ".join(_fmt(s, latex) for s in model.state)
    params = ", ".join(
        _fmt(p, latex) + (f" = {model.defaults[str(p)]:g}" if str(p) in model.defaults else "")
        for p in model.params
    )
    lines.append(f"{'% ' if latex else ''}state ({model.n_state}): {state}")
    lines.append(f"{'% ' if latex else ''}parameters ({len(model.params)}): {params or '-'}")
    groups = model.group_names
    if groups != ("default",):
        grp = "; ".join(f"{g}: " + ", ".join(str(s) for s, gg in zip(model.state, model.groups, strict=True) if gg == g) for g in groups)
        lines.append(f"{'% ' if latex else ''}learning-rate groups: {grp}")
    for rs in {id(r): r for e in model.observables.values() for r in e.rows}.values():
        cols = ", ".join(str(c) for c in rs.row_symbols)
        lines.append(f"{'% ' if latex else ''}table {rs.label}: {rs.n_rows} rows of ({cols})")
    lines.append("")
    base, _ = model.flow_parts()
    rowsums = model.loss.rows if model.kind == "loss" else ()
    rows = [_compact_row_flow(model, rs) for rs in rowsums]
    shown = list(base) + [c for comps in rows for c in comps] + [e for rs in rowsums for _, e in rs.intermediates]
    shown += [x.base for x in model.observables.values()] + [r.term for x in model.observables.values() for r in x.rows]
    defs = _definitions(shown, latex)
    if defs:
        lines.append(("% " if latex else "") + "named functions (each defined once):")
        lines += defs
        lines.append("")
    if model.kind == "loss":
        lines.append((r"L = " if latex else "L = ") + _expr(model.loss, latex))
        if any(not m == 1 for m in model.metric):
            lines.append(("% " if latex else "") + "metric M: " + ", ".join(
                f"{s}: {_fmt(m, False)}" for s, m in zip(model.state, model.metric, strict=True)))
        lines.append("")
        lines.append(("% " if latex else "") + "gradient flow  d theta_i/dt = -s_g(t) / M_i * dL/dtheta_i:")
    else:
        lines.append(("% " if latex else "") + "vector field  d theta_i/dt = s_g(t) * f_i:")
    for rs in rowsums:
        for z, e in rs.intermediates:
            lines.append(f"{'% ' if latex else ''}  where {_fmt(z, latex)} = {_fmt(e, latex)}  (per row of {rs.label})")
    for i, s in enumerate(model.state):
        parts: list[tuple[sp.Expr, RowSum | None]] = [(base[i], None)]
        parts += [(comps[i], rs) for rs, comps in zip(rowsums, rows, strict=True)]
        rhs = _sum(parts, latex)
        if latex:
            lines.append(rf"\frac{{d{_fmt(s, True)}}}{{dt}} = {rhs} \\")
        else:
            lines.append(f"d{s}/dt = {rhs}")
    extra = [k for k in model.observables if k != "loss"]
    if extra:
        lines.append("")
        lines.append(("% " if latex else "") + "observables:")
        for k in extra:
            lines.append((rf"\mathrm{{{k}}} = " if latex else f"{k} = ") + _expr(model.observables[k], latex) + (r" \\" if latex else ""))
    return nl.join(lines)
