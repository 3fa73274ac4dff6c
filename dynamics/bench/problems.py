r"""The benchmark problems: the logistic gradient flow (see :mod:`dynamics.bench`), its stiff
variant, the hand-written baseline and the parameter points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynamics.model import ReducedModel
from dynamics.symbolic import softplus

__all__ = ["Problem", "logistic_flow", "problem", "parameter_points", "count_rhs_ops", "handwritten", "SOLVE_PROBLEMS", "RHS_PROBLEMS", "T_MAX", "RTOL", "ATOL", "Y0_VALUE"]

#: Final time of the solve benchmark and the tolerances (``integrate``'s defaults).
T_MAX = 1e6
RTOL = 1e-8
ATOL = 1e-10
Y0_VALUE = 0.1

TARGET_SPEEDUP = 100.0
SAME_ANSWER_RTOL = 1e-5
KIND = {"logistic": "nonstiff", "logistic-stiff": "stiff"}
#: The flat result keys of :func:`run` (the ratios of the issue).
KEYS = (
    "speedup_vs_solve_ivp_nonstiff",
    "speedup_vs_solve_ivp_stiff",
    "ratio_vs_heyoka_nonstiff",
    "ratio_vs_heyoka_stiff",
    "parallel_efficiency",
)


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: the model, the textbook loss for baselines, and a start."""

    name: str
    model: ReducedModel
    textbook_loss: sp.Expr  # the same loss with log(1 + exp(.)) instead of softplus
    y0: np.ndarray  # (n,)
    description: str


def _symbols(n_modes: int) -> tuple[tuple[sp.Symbol, ...], ...]:
    a = sp.symbols(f"a_0:{n_modes}", real=True)
    b = sp.symbols(f"b_0:{n_modes}", real=True)
    g = sp.symbols(f"g_0:{n_modes}", positive=True)
    k = (sp.Symbol("k", real=True),)
    return a, b, g, k


def _margins(n_modes: int) -> list[sp.Expr]:
    a, b, g, (k,) = _symbols(n_modes)
    return [
        g[i] * a[i] * b[i] + (k * a[i + 1] * b[i] if i + 1 < n_modes else 0) for i in range(n_modes)
    ]


def _loss(n_modes: int, stiff: bool, textbook: bool) -> sp.Expr:
    a, b, _, _ = _symbols(n_modes)
    if textbook:
        loss = sum(sp.log(1 + sp.exp(-m)) for m in _margins(n_modes))
    else:
        loss = sum(softplus(-m) for m in _margins(n_modes))
    if stiff:
        loss = loss + (a[0] - 2 * b[0]) ** 2 / 2
    return sp.sympify(loss)


def logistic_flow(n_modes: int = 5, stiff: bool = False) -> ReducedModel:
    r"""The logistic gradient flow with ``n_modes`` modes ($2 \cdot$ ``n_modes`` variables).

    Defaults: $g_i = 1 + 0.2 i$, $k = 0.3$.
    """
    a, b, g, (k,) = _symbols(n_modes)
    defaults = {str(gi): 1.0 + 0.2 * i for i, gi in enumerate(g)}
    defaults[str(k)] = 0.3
    name = f"bench-logistic{n_modes}" + ("-stiff" if stiff else "")
    return ReducedModel.from_loss(
        name,
        list(a) + list(b),
        list(g) + [k],
        _loss(n_modes, stiff, textbook=False),
        defaults=defaults,
        title=f"{n_modes}-mode logistic gradient flow" + (" (stiff variant)" if stiff else ""),
    )


def problem(name: str) -> Problem:
    """``"logistic"``, ``"logistic-stiff"`` (10 variables) or ``"logistic20"`` (20 variables)."""
    n_modes, stiff = {
        "logistic": (5, False),
        "logistic-stiff": (5, True),
        "logistic20": (10, False),
    }[name]
    model = logistic_flow(n_modes, stiff)
    desc = f"{2 * n_modes}-variable logistic flow, {n_modes} modes" + (
        ", plus (a_0 - 2 b_0)^2/2" if stiff else ""
    )
    return Problem(
        name, model, _loss(n_modes, stiff, textbook=True), np.full(2 * n_modes, Y0_VALUE), desc
    )


SOLVE_PROBLEMS = ("logistic", "logistic-stiff")
RHS_PROBLEMS = ("logistic", "logistic20")  # logistic20 is the ~300-operation RHS


def count_rhs_ops(model: ReducedModel) -> dict[str, int]:
    """``sympy.count_ops`` of the RHS expressions: as derived, and after ``sympy.cse``
    (what the generated code evaluates; each sigmoid counts as one operation)."""
    base, rows = model.flow
    if any(rows):
        raise ValueError("count_rhs_ops expects a model without RowSum terms")
    reps, reduced = sp.cse(list(base))
    return {
        "raw": int(sum(sp.count_ops(e) for e in base)),
        "after_cse": int(
            sum(sp.count_ops(v) for _, v in reps) + sum(sp.count_ops(e) for e in reduced)
        ),
    }


def handwritten(
    prob: Problem, params: dict[str, float] | None = None
) -> tuple[Callable[[float, np.ndarray], np.ndarray], Callable[[float, np.ndarray], np.ndarray]]:
    """The hand-written baseline: ``f(t, y) = -grad L`` and its Jacobian from ``sympy.lambdify``.

    Uses the textbook loss ``log(1 + exp(-m))`` and ``modules="numpy"``, with parameters
    as lambdified arguments bound in a closure. Returns ``(fun, jac)`` in ``solve_ivp``'s
    ``(t, y)`` convention; for ``odeint`` wrap them as ``lambda y, t: fun(t, y)``.
    """
    m = prob.model
    state, pars = list(m.state), list(m.params)
    rhs = [-sp.diff(prob.textbook_loss, s) for s in state]
    jac = sp.Matrix(rhs).jacobian(state)
    f_rhs = sp.lambdify((state, pars), rhs, modules="numpy")
    f_jac = sp.lambdify((state, pars), jac, modules="numpy")
    p = list(m.param_vector(params))

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        return np.array(f_rhs(y, p))

    def jacobian(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(f_jac(y, p), dtype=float)

    return fun, jacobian


# ----------------------------------------------------------------------------- the benchmark
def parameter_points(prob: Problem, n_points: int, seed: int = 0) -> list[dict[str, float]]:
    """``n_points`` parameter points: ``g_i`` uniform in [0.5, 2], ``k`` in [-0.3, 0.6]."""
    rng = np.random.default_rng(seed)
    names = prob.model.param_names
    pts = []
    for _ in range(n_points):
        d = {nm: float(rng.uniform(0.5, 2.0)) for nm in names if nm.startswith("g_")}
        d["k"] = float(rng.uniform(-0.3, 0.6))
        pts.append(d)
    return pts

