r"""Reduced models written in sympy.

A :class:`ReducedModel` is either

* a **loss** $L(\theta; p)$ over state symbols $\theta$ and parameter symbols $p$, whose
  gradient flow is

  .. math:: \dot\theta_i = -\,\frac{s_{g(i)}(t)}{M_i(p)}\,\frac{\partial L}{\partial\theta_i},

  with a per-coordinate metric $M_i$ (for example the multiplicity of a coordinate in a
  symmetry reduction) and a per-group learning-rate factor $s_g(t)$ that is piecewise
  constant in time (:class:`dynamics.schedule.Schedule`); or
* a **vector field** $\dot\theta_i = s_{g(i)}(t)\, f_i(\theta; p)$ given directly.

A loss (or an observable) may contain :class:`RowSum` terms (:mod:`dynamics.expression`):
one symbolic per-row term and a numeric table, standing for
$\sum_r \ell(\theta; p, \mathrm{row}_r)$. The table is never expanded into the expression:
generated code loops over its rows, which keeps a loss over hundreds of sequences as small
as one sequence's term.

Parameters are runtime inputs: they are never substituted before compiling, so one
compiled model serves a whole phase diagram.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import sympy as sp

from dynamics.expression import Expression, ModelError, RowSum, _check_real_scalar

if TYPE_CHECKING:
    from dynamics.codegen import CompiledModel

__all__ = ["RowSum", "Expression", "ReducedModel", "ModelError"]


def _symbols(xs: Sequence[sp.Symbol] | sp.Symbol, what: str) -> tuple[sp.Symbol, ...]:
    if isinstance(xs, sp.Symbol):
        xs = (xs,)
    out = tuple(xs)
    for s in out:
        if not isinstance(s, sp.Symbol):
            raise ModelError(f"{what} must be sympy Symbols, got {s!r} ({type(s).__name__})")
    if len(set(out)) != len(out):
        raise ModelError(f"{what} contain duplicates: {[str(s) for s in out]}")
    names = [str(s) for s in out]
    same = sorted({n for n in names if names.count(n) > 1})
    if same:
        raise ModelError(
            f"{what} contain distinct symbols with the same name {same} (e.g. created with different "
            "assumptions); names identify coordinates and parameters, so create each symbol once"
        )
    return out


def _real(v: Any, what: str) -> float:
    """``float(v)`` for a real number (Python, numpy or sympy; 0-d arrays too), else
    :class:`ModelError` naming ``what`` and what was given."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, str | bytes | complex | np.complexfloating) or not (
        isinstance(v, numbers.Real | np.number) or (isinstance(v, sp.Basic) and v.is_number)
    ):
        raise ModelError(f"{what} must be a number (a real scalar), got {type(v).__name__} {v!r:.60}")
    try:
        return float(v)
    except (TypeError, ValueError):  # e.g. a complex sympy number
        raise ModelError(f"{what} must be a number (a real scalar), got {type(v).__name__} {v!r:.60}") from None


@dataclass(frozen=True, eq=False)
class ReducedModel:
    r"""A reduced gradient flow (or vector field) in sympy.

    Build with :meth:`from_loss` or :meth:`from_field`; compile with :meth:`compile`.

    Attributes
    ----------
    name : str
        Short identifier (used in cache keys and reports).
    state, params : tuple of sympy.Symbol
        State coordinates $\theta$ and runtime parameters $p$.
    kind : {"loss", "field"}
    loss : Expression or None
        The loss for ``kind == "loss"``; for a field model, the ``loss`` observable.
    vector_field : tuple of sympy expressions, or None
        $f(\theta; p)$ for ``kind == "field"``.
    metric : tuple of sympy expressions
        $M_i(p)$, one per coordinate (1 by default). Must not depend on the state.
    groups : tuple of str
        Learning-rate group of each coordinate (``"default"`` by default).
    observables : dict of str to Expression
        Named scalar observables; ``"loss"`` is always first.
    defaults : dict of str to float
        Default parameter values.
    """

    name: str
    state: tuple[sp.Symbol, ...]
    params: tuple[sp.Symbol, ...]
    kind: Literal["loss", "field"]
    loss: Expression
    vector_field: tuple[sp.Expr, ...] | None
    metric: tuple[sp.Expr, ...]
    groups: tuple[str, ...]
    observables: dict[str, Expression]
    defaults: dict[str, float] = field(default_factory=dict)
    title: str = ""
    description: str = ""

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_loss(
        cls,
        name: str,
        state: Sequence[sp.Symbol],
        params: Sequence[sp.Symbol],
        loss: sp.Expr | RowSum | Expression | Iterable[sp.Expr | RowSum],
        *,
        metric: Sequence[sp.Expr | float] | Mapping[sp.Symbol, sp.Expr | float] | None = None,
        groups: Sequence[str] | Mapping[sp.Symbol, str] | None = None,
        observables: Mapping[str, sp.Expr | RowSum | Expression | Iterable[sp.Expr | RowSum]] | None = None,
        defaults: Mapping[str, float] | None = None,
        title: str = "",
        description: str = "",
    ) -> ReducedModel:
        r"""A gradient flow $\dot\theta = -S(t) M^{-1}\nabla L$.

        Examples
        --------
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b", real=True)
        >>> s = sp.Symbol("s", positive=True)
        >>> m = ReducedModel.from_loss("toy", [a, b], [s], (s - a * b) ** 2 / 2)
        >>> m.rhs_expressions()[0]
        b*(-a*b + s)
        """
        state_t = _symbols(state, "state symbols")
        params_t = _symbols(params, "parameter symbols")
        lossx = Expression.of(loss, "loss")
        return cls._build(
            name, state_t, params_t, "loss", lossx, None, metric, groups, observables,
            defaults, title, description,
        )

    @classmethod
    def from_field(
        cls,
        name: str,
        state: Sequence[sp.Symbol],
        params: Sequence[sp.Symbol],
        field: Sequence[sp.Expr],
        *,
        loss: sp.Expr | RowSum | Expression | Iterable[sp.Expr | RowSum],
        groups: Sequence[str] | Mapping[sp.Symbol, str] | None = None,
        observables: Mapping[str, sp.Expr | RowSum | Expression | Iterable[sp.Expr | RowSum]] | None = None,
        defaults: Mapping[str, float] | None = None,
        title: str = "",
        description: str = "",
    ) -> ReducedModel:
        r"""A vector field $\dot\theta_i = s_{g(i)}(t) f_i(\theta; p)$ given directly.

        ``loss`` is required: it is recorded as the ``loss`` observable.
        """
        state_t = _symbols(state, "state symbols")
        params_t = _symbols(params, "parameter symbols")
        if isinstance(field, sp.MatrixBase | np.ndarray) and min(getattr(field, "shape", (1, 1))) > 1:
            # a column or row of components is fine, a matrix is not
            raise ModelError(f"field must be one expression per state symbol, got a matrix of shape {field.shape}")
        fld = tuple(
            _check_real_scalar(sp.sympify(f), f"field component {i}") for i, f in enumerate(field)
        )
        if len(fld) != len(state_t):
            raise ModelError(f"field has {len(fld)} components for {len(state_t)} state symbols")
        return cls._build(
            name, state_t, params_t, "field", Expression.of(loss, "loss"), fld, None, groups,
            observables, defaults, title, description,
        )

    @classmethod
    def _build(
        cls,
        name: str,
        state: tuple[sp.Symbol, ...],
        params: tuple[sp.Symbol, ...],
        kind: Literal["loss", "field"],
        loss: Expression,
        fld: tuple[sp.Expr, ...] | None,
        metric: Any,
        groups: Any,
        observables: Any,
        defaults: Any,
        title: str,
        description: str,
    ) -> ReducedModel:
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise ModelError(f"model name must be non-empty and use [A-Za-z0-9-_.], got {name!r}")
        if not state:
            raise ModelError("a model needs at least one state symbol")
        overlap = set(state) & set(params)
        if overlap:
            raise ModelError(f"symbols are both state and parameter: {sorted(map(str, overlap))}")
        overlap_names = {str(s) for s in state} & {str(p) for p in params}
        if overlap_names:
            raise ModelError(
                f"a state coordinate and a parameter share the name(s) {sorted(overlap_names)}; "
                "names identify values (--set, params=, y0=), so rename one of them"
            )
        n = len(state)
        # metric
        if metric is None:
            metric_t: tuple[sp.Expr, ...] = (sp.Integer(1),) * n
        elif isinstance(metric, Mapping):
            unknown = set(metric) - set(state)
            if unknown:
                raise ModelError(f"metric given for unknown state symbols {sorted(map(str, unknown))}")
            metric_t = tuple(sp.sympify(metric.get(s, 1)) for s in state)
        else:
            metric_t = tuple(sp.sympify(m) for m in metric)
            if len(metric_t) != n:
                raise ModelError(f"metric has {len(metric_t)} entries for {n} state symbols")
        if fld is not None and metric is not None:
            raise ModelError("a vector-field model takes no metric")
        for s, m in zip(state, metric_t, strict=True):
            if m.free_symbols & set(state):
                raise ModelError(f"metric of {s} depends on the state; it may depend on parameters only")
            if m.is_zero:
                raise ModelError(f"metric of {s} is zero")
        # groups
        if groups is None:
            groups_t = ("default",) * n
        elif isinstance(groups, Mapping):
            unknown = set(groups) - set(state)
            if unknown:
                raise ModelError(f"groups given for unknown state symbols {sorted(map(str, unknown))}")
            groups_t = tuple(str(groups.get(s, "default")) for s in state)
        else:
            groups_t = tuple(str(g) for g in groups)
            if len(groups_t) != n:
                raise ModelError(f"groups has {len(groups_t)} entries for {n} state symbols")
        # observables
        obs: dict[str, Expression] = {"loss": loss}
        for k, v in (observables or {}).items():
            if k == "loss":
                raise ModelError("'loss' is reserved: it is the model's loss")
            if not k.isidentifier():
                raise ModelError(f"observable name must be an identifier, got {k!r}")
            if k in {str(s) for s in state}:
                raise ModelError(f"observable {k!r} has the name of a state coordinate")
            obs[k] = Expression.of(v, f"observable {k!r}")
        # free symbols
        known = set(state) | set(params)
        exprs: list[tuple[str, set[sp.Symbol]]] = [(f"observable {k!r}", e.free_symbols()) for k, e in obs.items()]
        exprs += [(f"metric of {s}", m.free_symbols) for s, m in zip(state, metric_t, strict=True)]
        if fld is not None:
            exprs += [(f"field component {s}", f.free_symbols) for s, f in zip(state, fld, strict=True)]
        by_name = {str(s): s for s in known}
        for what, fs in exprs:
            stray = fs - known
            twins = sorted(str(s) for s in stray if str(s) in by_name)
            if twins:
                raise ModelError(
                    f"{what} uses a symbol named {twins[0]!r} that is not the declared one "
                    f"({by_name[twins[0]]!r} has other assumptions); use the same sympy Symbol object"
                )
            if stray:
                raise ModelError(
                    f"{what} uses symbols that are neither state nor parameters: "
                    f"{sorted(map(str, stray))} (declare them as params, or as RowSum row symbols)"
                )
        # defaults
        defs: dict[str, float] = {}
        pnames = {str(p) for p in params}
        for k, v in (defaults or {}).items():
            if k not in pnames:
                raise ModelError(f"default given for unknown parameter {k!r}; parameters: {sorted(pnames)}")
            defs[k] = float(v)
        return cls(name, state, params, kind, loss, fld, metric_t, groups_t, obs, defs, title, description)

    # --------------------------------------------------------------- names etc
    @cached_property
    def state_names(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.state)

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self.params)

    @cached_property
    def group_names(self) -> tuple[str, ...]:
        """Distinct learning-rate groups, in order of first appearance."""
        return tuple(dict.fromkeys(self.groups))

    @property
    def n_state(self) -> int:
        return len(self.state)

    # --------------------------------------------------------------- calculus
    @cached_property
    def gradient(self) -> tuple[tuple[sp.Expr, ...], tuple[tuple[sp.Expr, ...], ...]]:
        r"""$\partial L/\partial\theta_i$ as (base part, per-RowSum per-row parts)."""
        if self.kind != "loss":
            raise ModelError("a vector-field model has no gradient")
        base = tuple(sp.diff(self.loss.base, s) for s in self.state)
        rows = tuple(tuple(sp.diff(r.full_term, s) for s in self.state) for r in self.loss.rows)
        return base, rows

    def flow_parts(self) -> tuple[tuple[sp.Expr, ...], list[tuple[sp.Expr, ...] | None]]:
        """Like :attr:`flow`, but the per-row parts of RowSums with intermediates are ``None``
        (code generation differentiates those by the chain rule instead)."""
        if self.kind == "field":
            return self.flow[0], []
        minv = [1 / m for m in self.metric]
        base = tuple(-g * w for g, w in zip(self.gradient_base, minv, strict=True))
        rows: list[tuple[sp.Expr, ...] | None] = []
        for rs in self.loss.rows:
            if rs.intermediates:
                rows.append(None)
            else:
                rows.append(tuple(-sp.diff(rs.term, s) * w for s, w in zip(self.state, minv, strict=True)))
        return base, rows

    @cached_property
    def gradient_base(self) -> tuple[sp.Expr, ...]:
        r"""$\partial L/\partial\theta_i$ of the fixed (non-row) part of the loss."""
        return tuple(sp.diff(self.loss.base, s) for s in self.state)

    @cached_property
    def flow(self) -> tuple[tuple[sp.Expr, ...], tuple[tuple[sp.Expr, ...], ...]]:
        r"""The right-hand side without the schedule factor, as (base, per-RowSum per-row).

        For a loss model, component $i$ is $-\partial_i L / M_i$; for a field model, $f_i$.
        """
        if self.kind == "field":
            assert self.vector_field is not None
            return self.vector_field, ()
        base, rows = self.gradient
        minv = [1 / m for m in self.metric]
        return (
            tuple(-g * w for g, w in zip(base, minv, strict=True)),
            tuple(tuple(-g * w for g, w in zip(rg, minv, strict=True)) for rg in rows),
        )

    def _hessian(self, g: Sequence[sp.Expr]) -> tuple[tuple[sp.Expr, ...], ...]:
        r"""$-\partial_j g_i / M_i$, differentiating once per pair $i \le j$ (the Hessian is symmetric)."""
        n = len(g)
        h: list[list[sp.Expr]] = [[sp.Integer(0)] * n for _ in range(n)]
        for i in range(n):
            for j in range(i, n):
                h[i][j] = h[j][i] = sp.diff(g[i], self.state[j])
        return tuple(tuple(-hij / m for hij in hi) for hi, m in zip(h, self.metric, strict=True))

    @cached_property
    def jacobian_base(self) -> tuple[tuple[sp.Expr, ...], ...]:
        r"""$\partial \dot\theta_i/\partial\theta_j$ of the fixed (non-row) part, schedule factor 1."""
        if self.kind == "loss":
            return self._hessian(self.gradient_base)
        base = self.flow[0]
        return tuple(tuple(sp.diff(f, s) for s in self.state) for f in base)

    def jacobian_rows(self, k: int) -> tuple[tuple[sp.Expr, ...], ...]:
        r"""The per-row Jacobian of loss RowSum ``k``, fully expanded (no chain rule).

        Can be large: code generation uses the chain rule for RowSums with intermediates
        and only the numpy checking backend calls this for them.
        """
        return self._hessian(self.gradient[1][k])

    @property
    def flow_jacobian(self) -> tuple[tuple[tuple[sp.Expr, ...], ...], tuple[tuple[tuple[sp.Expr, ...], ...], ...]]:
        r"""$\partial \dot\theta_i/\partial\theta_j$ (without schedule factor), as (base, per-RowSum)."""
        rows = tuple(self.jacobian_rows(k) for k in range(len(self.loss.rows))) if self.kind == "loss" else ()
        return self.jacobian_base, rows

    def rhs_expressions(self) -> list[sp.Expr]:
        """Explicit right-hand sides (schedule factor 1), with RowSums expanded.

        Expands every table: meant for display and checks on small models.
        """
        base, rows = self.flow
        out = list(base)
        for rs, comps in zip(self.loss.rows if self.kind == "loss" else (), rows, strict=True):
            for i, c in enumerate(comps):
                out[i] = out[i] + RowSum(c, rs.row_symbols, rs.table, rs.label).expand()
        return [sp.simplify(e) if len(sp.srepr(e)) < 2000 else e for e in out]

    # ------------------------------------------------------------- parameters
    def param_vector(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Parameter values in model order, from defaults overridden by ``values``.

        Raises :class:`ModelError` naming any unknown, missing or non-finite parameter.
        """
        values = dict(values or {})
        unknown = set(values) - set(self.param_names)
        if unknown:
            raise ModelError(
                f"unknown parameter(s) {sorted(unknown)} for model {self.name!r}; "
                f"parameters: {list(self.param_names)}"
            )
        out = np.empty(len(self.params))
        for i, p in enumerate(self.param_names):
            if p in values:
                v = values[p]
            elif p in self.defaults:
                v = self.defaults[p]
            else:
                raise ModelError(f"no value for parameter {p!r} of model {self.name!r} (and no default)")
            fv = _real(v, f"parameter {p!r} of model {self.name!r}")
            if not math.isfinite(fv):
                raise ModelError(f"parameter {p!r} is not finite: {v!r}")
            out[i] = fv
        return out

    def state_vector(self, values: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
        """A state vector from a mapping of coordinate names (all required) or a sequence."""
        if isinstance(values, Mapping):
            names = self.state_names
            unknown = set(values) - set(names)
            if unknown:
                raise ModelError(f"unknown state coordinate(s) {sorted(unknown)}; coordinates: {list(names)}")
            missing = [n for n in names if n not in values]
            if missing:
                raise ModelError(f"initial value missing for coordinate(s) {missing}")
            y = np.array([_real(values[n], f"initial value of coordinate {n!r}") for n in names])
        else:
            if isinstance(values, str | bytes):
                raise ModelError(f"state must be {self.n_state} numbers (coordinates "
                                 f"{list(self.state_names)}), got a string {values!r:.60}")
            try:
                arr = np.asarray(values)
            except ValueError:  # ragged
                arr = np.asarray(values, dtype=object)
            if arr.ndim == 1 and arr.size == self.n_state and arr.dtype.kind not in "biuf":
                items = list(arr) if isinstance(values, np.ndarray) else list(values)
                y = np.array([_real(v, f"initial value of coordinate {n!r}")
                              for n, v in zip(self.state_names, items, strict=True)])
            elif arr.shape != (self.n_state,):
                raise ModelError(f"state must have shape ({self.n_state},) for coordinates "
                                 f"{list(self.state_names)}, got shape {arr.shape}")
            else:
                y = arr.astype(float)
        bad = [n for n, v in zip(self.state_names, y, strict=True) if not math.isfinite(v)]
        if bad:
            raise ModelError(f"initial value of coordinate(s) {bad} is non-finite: "
                             f"{[float(y[self.state_names.index(n)]) for n in bad]}")
        return y

    # --------------------------------------------------------------- compile
    def compile(self, backend: Literal["numba", "numpy", "python"] = "numba") -> CompiledModel:
        """Generate and compile RHS, Jacobian and observables (see :mod:`dynamics.codegen`)."""
        from dynamics.codegen import compile_model

        return compile_model(self, backend=backend)

    # --------------------------------------------------------------- display
    def describe(self, latex: bool = False) -> str:
        """State, parameters and the derived equations, as text or LaTeX."""
        from dynamics.display import describe

        return describe(self, latex=latex)
