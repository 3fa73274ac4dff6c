r"""Reference problems and small helpers shared by the benchmark scripts.

The definitions live in :mod:`dynamics.bench` (so that the installed ``dynamics bench``
command has them); this module re-exports them under the names the scripts in
``benchmarks/`` use. See :mod:`dynamics.bench` for the logistic gradient flow, its stiff
variant and the hand-written (lambdified) baseline.
"""

from __future__ import annotations

from dynamics.bench import (
    ATOL,
    RHS_PROBLEMS,
    RTOL,
    SOLVE_PROBLEMS,
    T_MAX,
    Y0_VALUE,
    Problem,
    best_of,
    best_of_interleaved,
    count_rhs_ops,
    environment,
    handwritten,
    logistic_flow,
    machine_line,
    problem,
    table,
    verdict,
    write_json,
)

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
    "T_MAX",
    "RTOL",
    "ATOL",
    "Y0_VALUE",
]
