r"""Fixed points of a reduced model and their linear stability.

A fixed point $\theta^*$ solves $f(\theta^*; p) = 0$ for the model's right-hand side $f$
(the schedule's group factors multiply rows of $f$ and do not move its zeros; they do
scale the eigenvalues, which are those of the analytic Jacobian $J = \partial f/\partial
\theta$ at $\theta^*$ with the factors given). Near $\theta^*$,
$\theta(t) - \theta^* \approx \sum_k c_k e^{\lambda_k t} v_k$: a saddle is left along its
unstable eigenvectors at the rate of the largest eigenvalue, so the height of a plateau is
an observable at the saddle and its escape rate is ``fixed_point.escape_rate``. For a
gradient flow the gradient of the loss vanishes at $\theta^*$, so the loss leaves its
plateau value quadratically in the deviation: $L^* - L(t) \propto e^{2\lambda_\max t}$.

Search. Each guess is polished by Levenberg-Marquardt
(:func:`scipy.optimize.least_squares`, method ``"lm"``, with the analytic Jacobian) on
the residual $(f(\theta), c(\theta))$, where $c(\theta) = 0$ are the optional subspace
constraints (fixed coordinates or equalities between coordinates). A constrained search
finds the fixed points of the full flow that lie in the subspace: if the subspace is not
invariant there may be none. A result is a fixed point when every residual is at most
``tol``; results closer than ``dedupe_tol`` $\times (1 + \max|\theta|)$ are one point.

Classification from the real parts of the eigenvalues against ``zero_tol`` (relative to
the largest $|\lambda|$): ``"stable"`` (all negative), ``"saddle"`` (some positive, some
negative), ``"unstable"`` (some positive, none negative) and ``"marginal"`` (none
positive, some zero: linearisation does not decide, as on a manifold of minima).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

from dynamics.codegen import CompiledModel
from dynamics.model import ReducedModel
from dynamics.validate import generator, int_at_least, positive_float

__all__ = ["FixedPoint", "fixed_points"]

Kind = Literal["stable", "saddle", "unstable", "marginal"]


@dataclass(frozen=True, eq=False)
class FixedPoint:
    r"""A fixed point with its linearisation.

    Attributes
    ----------
    state : ndarray, shape (n,)
        $\theta^*$, in the model's coordinate order.
    names : tuple of str
        The coordinate names.
    eigenvalues : ndarray, shape (n,)
        Eigenvalues of the Jacobian at $\theta^*$, by decreasing real part; real (float)
        unless some imaginary part exceeds the zero tolerance (then complex).
    eigenvectors : ndarray, shape (n, n)
        Column ``k`` is the unit eigenvector of ``eigenvalues[k]``.
    observables : dict of str to float
        Every observable of the model at $\theta^*$ (``"loss"`` first).
    kind : {"stable", "saddle", "unstable", "marginal"}
    unstable_dim, stable_dim, center_dim : int
        Number of eigenvalues with real part above, below and within the zero tolerance.
    residual : float
        $\max_i |f_i(\theta^*)|$ (and of the constraints).
    zero_tol : float
        The absolute tolerance used for "zero" real parts.
    """

    state: np.ndarray
    names: tuple[str, ...]
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    observables: dict[str, float]
    kind: Kind
    unstable_dim: int
    stable_dim: int
    center_dim: int
    residual: float
    zero_tol: float

    @property
    def coords(self) -> dict[str, float]:
        """$\\theta^*$ by coordinate name."""
        return {k: float(v) for k, v in zip(self.names, self.state, strict=True)}

    @property
    def leading_rate(self) -> float:
        """The largest real part of the eigenvalues (negative at a stable point)."""
        return float(np.real(self.eigenvalues[0]))

    @property
    def escape_rate(self) -> float:
        r"""The rate $\lambda_\max > 0$ at which trajectories leave along the most unstable
        direction; ``nan`` when no direction is unstable."""
        return self.leading_rate if self.unstable_dim else math.nan

    @property
    def unstable_directions(self) -> np.ndarray:
        """Eigenvectors (columns) of the eigenvalues with positive real part, shape (n, k)."""
        return self.eigenvectors[:, : self.unstable_dim]

    def __str__(self) -> str:
        where = ", ".join(f"{k}={v:.6g}" for k, v in self.coords.items())
        lam = ", ".join(f"{complex(x).real:.4g}" + (f"{complex(x).imag:+.3g}j" if np.iscomplexobj(self.eigenvalues)
                                                   else "") for x in self.eigenvalues)
        obs = ", ".join(f"{k}={v:.6g}" for k, v in self.observables.items())
        return f"{self.kind} (unstable dim {self.unstable_dim}) at {where}; eigenvalues [{lam}]; {obs}"


def _as_compiled(model: ReducedModel | CompiledModel, backend: str) -> CompiledModel:
    if isinstance(model, CompiledModel):
        return model
    if isinstance(model, ReducedModel):
        return model.compile(backend=backend)  # type: ignore[arg-type]
    raise TypeError(f"model must be a ReducedModel or CompiledModel, got {type(model).__name__}")


def _constraints(
    m: ReducedModel, subspace: Any, pvals: Mapping[str, float]
) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], int]:
    """The constraints c(theta) = 0 and their Jacobian, from a mapping of fixed coordinates
    or a sequence of sympy expressions / equations / strings in the state symbols."""
    n = m.n_state
    if subspace is None:
        return (lambda y: np.zeros(0)), (lambda y: np.zeros((0, n))), 0
    local = {str(s): s for s in (*m.state, *m.params)}
    exprs: list[sp.Expr] = []
    if isinstance(subspace, Mapping):
        for k, v in subspace.items():
            if k not in m.state_names:
                raise ValueError(f"subspace fixes unknown coordinate {k!r}; coordinates: {list(m.state_names)}")
            try:
                val = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"subspace value of {k!r} must be a number, got {v!r}") from None
            if not math.isfinite(val):
                raise ValueError(f"subspace value of {k!r} must be finite, got {v!r}")
            exprs.append(local[k] - val)
    elif isinstance(subspace, str | sp.Basic) or not isinstance(subspace, Sequence):
        raise ValueError("subspace must be a mapping {coordinate: value} or a sequence of equations "
                         f"(sympy expressions = 0, sympy Eq or strings), got {type(subspace).__name__}")
    else:
        for i, c in enumerate(subspace):
            try:
                e = sp.sympify(c, locals=local) if isinstance(c, str) else sp.sympify(c)
            except (sp.SympifyError, SyntaxError, TypeError):
                raise ValueError(f"subspace[{i}] is not an equation: {c!r}") from None
            if isinstance(e, sp.Equality):
                e = e.lhs - e.rhs
            stray = {str(s) for s in e.free_symbols} - set(local)
            if stray or not isinstance(e, sp.Expr):
                raise ValueError(f"subspace[{i}] = {c!r} uses unknown symbols {sorted(stray)}; "
                                 f"coordinates: {list(m.state_names)}, parameters: {list(m.param_names)}")
            exprs.append(e.subs({local[k]: v for k, v in pvals.items()}))
    if any(not (e.free_symbols & set(m.state)) for e in exprs):
        raise ValueError(f"a subspace equation does not involve any coordinate: {exprs}")
    cfun = sp.lambdify([m.state], exprs, modules="numpy")
    jfun = sp.lambdify([m.state], sp.Matrix(exprs).jacobian(list(m.state)), modules="numpy")
    k = len(exprs)
    return (lambda y: np.asarray(cfun(y), dtype=float).reshape(k)), \
        (lambda y: np.asarray(jfun(y), dtype=float).reshape(k, n)), k


def _guesses(m: ReducedModel, guesses: Any, n_random: int | None, scale: float,
             rng: np.random.Generator) -> np.ndarray:
    n = m.n_state
    rows: list[np.ndarray] = []
    if guesses is None:
        rows.append(np.zeros(n))
        n_random = 16 if n_random is None else n_random
    elif isinstance(guesses, Mapping):
        rows.append(m.state_vector(guesses))
    else:
        items = list(guesses) if not isinstance(guesses, np.ndarray) else list(np.atleast_2d(guesses))
        if items and not isinstance(items[0], Mapping) and np.ndim(items[0]) == 0:
            items = [np.asarray(guesses)]  # one guess as a flat sequence
        for g in items:
            rows.append(m.state_vector(g))
    if n_random:
        rows.extend(rng.normal(0.0, scale, size=(n_random, n)))
    if not rows:
        raise ValueError("fixed_points needs at least one guess (guesses= or n_random > 0)")
    return np.array(rows)


def _linearise(J: np.ndarray, zero_tol: float) -> tuple[np.ndarray, np.ndarray, float, tuple[int, int, int]]:
    w, v = np.linalg.eig(J)
    order = np.lexsort((-np.abs(w.imag), -w.real))
    w, v = w[order], v[:, order]
    tol = zero_tol * max(float(np.max(np.abs(w))) if w.size else 0.0, 1.0)
    if np.all(np.abs(w.imag) <= tol):
        w, v = w.real.copy(), v.real.copy()
        v /= np.maximum(np.linalg.norm(v, axis=0), 1e-300)
    re = np.real(w)
    dims = (int(np.sum(re > tol)), int(np.sum(re < -tol)), int(np.sum(np.abs(re) <= tol)))
    return w, v, tol, dims


def _kind(unstable: int, stable: int, center: int) -> Kind:
    if unstable and stable:
        return "saddle"
    if unstable:
        return "unstable"
    return "marginal" if center else "stable"


def fixed_points(
    model: ReducedModel | CompiledModel,
    params: Mapping[str, float] | None = None,
    guesses: Any = None,
    subspace: Mapping[str, float] | Sequence[Any] | None = None,
    *,
    n_random: int | None = None,
    scale: float = 1.0,
    rng: np.random.Generator | None = None,
    factors: Mapping[str, float] | None = None,
    tol: float = 1e-10,
    dedupe_tol: float = 1e-6,
    zero_tol: float = 1e-8,
    backend: str = "numba",
) -> list[FixedPoint]:
    r"""Fixed points of ``model`` near the guesses, with eigenvalues, eigenvectors,
    observables and their classification (see the module docstring for the method).

    Parameters
    ----------
    model : ReducedModel or CompiledModel
        A :class:`ReducedModel` is compiled with ``backend``.
    params : mapping of str to float, optional
        Parameter values (defaults fill the rest).
    guesses : mapping, sequence of mappings, or array of shape (k, n), optional
        Starting points. Default: the origin plus ``n_random`` random points.
    subspace : mapping or sequence, optional
        Restrict the search to a subspace: ``{"b2": 0.0}`` fixes coordinates; a sequence
        of equations (sympy expressions meaning ``= 0``, ``sympy.Eq``, or strings such as
        ``"a1 - a2"``) in the coordinates and parameters gives equality constraints.
    n_random : int, optional
        Extra random guesses, normal with standard deviation ``scale``, drawn from ``rng``
        (default ``default_rng(0)``). Default 16 when ``guesses`` is None, else 0.
    factors : mapping of str to float, optional
        Learning-rate factor per group (default 1): they scale the eigenvalues.
    tol : float
        Largest residual $\max_i|f_i|$ (and of the constraints) of an accepted point. The
        default $10^{-10}$ lies far above the $10^{-15}$ a converged root of an O(1) field
        reaches and far below any residual of a point that is not a root.
    dedupe_tol : float
        Points closer than ``dedupe_tol * (1 + max|theta|)`` are one point: roots are
        located to about $\sqrt{\mathrm{tol}} = 10^{-5}$ at worst (a double root), to
        $10^{-10}$ or better at a simple root.
    zero_tol : float
        A real part within ``zero_tol`` times $\max(1, \max|\lambda|)$ of 0 is zero. The
        default $10^{-8} \approx \sqrt{\varepsilon_\mathrm{mach}}$ covers the rounding
        sensitivity of a defective (double) eigenvalue.

    Returns
    -------
    list of FixedPoint
        Distinct fixed points, by decreasing loss (the order a descent visits them).

    Examples
    --------
    >>> a, b = sp.symbols("a b", real=True)
    >>> m = ReducedModel.from_loss("net", [a, b], [], (1 - a * b) ** 2 / 2)
    >>> top = fixed_points(m.compile("numpy"), guesses=[[0.0, 0.0]])[0]
    >>> top.kind, top.unstable_dim, top.escape_rate, top.observables["loss"]
    ('saddle', 1, 1.0, 0.5)
    """
    if not isinstance(model, ReducedModel | CompiledModel):
        raise TypeError(f"model must be a ReducedModel or CompiledModel, got {type(model).__name__}")
    m = model.model if isinstance(model, CompiledModel) else model
    pvals = dict(zip(m.param_names, (float(x) for x in m.param_vector(params)), strict=True))
    tol = positive_float("tol", tol)
    dedupe_tol = positive_float("dedupe_tol", dedupe_tol)
    zero_tol = positive_float("zero_tol", zero_tol)
    scale = positive_float("scale", scale)
    if n_random is not None:
        n_random = int_at_least("n_random", n_random, 0)
    rng = np.random.default_rng(0) if rng is None else generator("rng", rng)
    cfun, cjac, _ = _constraints(m, subspace, pvals)
    starts = _guesses(m, guesses, n_random, scale, rng)
    cm = _as_compiled(model, backend)
    p = cm.pack(params, factors)
    f, jac = cm.f(p), cm.jacobian(p)

    def resid(y: np.ndarray) -> np.ndarray:
        return np.concatenate([f(0.0, y), cfun(y)])

    def rjac(y: np.ndarray) -> np.ndarray:
        return np.vstack([jac(0.0, y), cjac(y)])

    found: list[FixedPoint] = []
    for y0 in starts:
        with np.errstate(all="ignore"):
            try:
                sol = least_squares(resid, y0, jac=rjac, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                    max_nfev=200 * (m.n_state + 1))
            except (ValueError, FloatingPointError, OverflowError):  # the field overflowed
                continue
            y = sol.x
            r = resid(y)
        res = float(np.max(np.abs(r))) if r.size else 0.0
        if not (np.all(np.isfinite(y)) and res <= tol):
            continue
        if any(np.max(np.abs(y - q.state)) <= dedupe_tol * (1.0 + np.max(np.abs(y))) for q in found):
            continue
        w, v, ztol, (nu, ns, nc) = _linearise(jac(0.0, y), zero_tol)
        obs = {k: float(x[0]) for k, x in cm.observables(y[None, :], p).items()}
        found.append(FixedPoint(y.copy(), m.state_names, w, v, obs, _kind(nu, ns, nc), nu, ns, nc, res, ztol))
    found.sort(key=lambda q: -q.observables["loss"] if math.isfinite(q.observables["loss"]) else math.inf)
    return found

