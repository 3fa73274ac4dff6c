r"""Reference problems and small helpers shared by the benchmark scripts.

The reference problem is the logistic gradient flow of the issue: $K$ modes with state
$a_0..a_{K-1}, b_0..b_{K-1}$, parameters $g_0..g_{K-1}$ and $k$, margins

.. math:: m_i = g_i a_i b_i + k\, a_{i+1} b_i \quad (\text{no } a_{i+1} \text{ term for the last mode}),

and loss $L = \sum_i \ln(1 + e^{-m_i})$, written with ``softplus(-m_i)``. Its *stiff*
variant adds $(a_0 - 2 b_0)^2 / 2$. With $K = 5$ this is the 10-variable flow solved to
$t = 10^6$ in ``bench_solve.py``; $K = 10$ (20 variables) is the ~300-operation RHS of
``bench_rhs.py``.

The hand-written baseline (:func:`handwritten`) is what a user would write without this
package: the textbook loss $\ln(1 + e^{-m})$ in sympy, ``-grad L`` and its Jacobian
lambdified with ``modules="numpy"``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dynamics.model import ReducedModel
from dynamics.symbolic import softplus

__all__ = [
    "Problem",
    "logistic_flow",
    "problem",
    "SOLVE_PROBLEMS",
    "RHS_PROBLEMS",
    "count_rhs_ops",
    "handwritten",
    "best_of",
    "best_of_interleaved",
    "table",
    "verdict",
    "environment",
    "machine_line",
    "write_json",
]

#: Final time of the solve benchmark and the tolerances (``integrate``'s defaults).
T_MAX = 1e6
RTOL = 1e-8
ATOL = 1e-10
Y0_VALUE = 0.1


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


# ----------------------------------------------------------------------------- timing
def best_of(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Wall time of ``fn()``: best and median of ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best": min(times), "median": statistics.median(times), "repeats": repeats}


def best_of_interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int
) -> dict[str, dict[str, float]]:
    """Like :func:`best_of` for several calls, timed round-robin (one call of each per
    round), so that a burst of load from elsewhere hits every variant alike. No warm-up."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {
        k: {"best": min(v), "median": statistics.median(v), "repeats": repeats}
        for k, v in times.items()
    }


def verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return "PASS" if ok else "MISS"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain left-aligned text table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """Machine and library versions, recorded with every result."""
    import numba
    import scipy

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sympy": sp.__version__,
        "numba": numba.__version__,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def machine_line() -> str:
    """One line naming the machine, the versions and the current load (timings are noisy
    when the load average approaches the number of cores)."""
    e = environment()
    return (
        f"{e['cpu']} ({e['cpu_count']} cores, load {e['loadavg_1min']:.2f}); python {e['python']}, "
        f"numpy {e['numpy']}, scipy {e['scipy']}, sympy {e['sympy']}, numba {e['numba']}"
    )


def write_json(path: str, payload: dict[str, Any]) -> None:
    out = {"environment": environment(), **payload}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2, default=float)
        fh.write("\n")
    print(f"wrote {path}")
