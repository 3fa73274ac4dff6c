r"""Batch-throughput benchmark behind ``dynamics bench`` (and ``benchmarks/bench_batch.py``).

The reference problem is the logistic gradient flow: $K$ modes with state
$a_0..a_{K-1}, b_0..b_{K-1}$, parameters $g_0..g_{K-1}$ and $k$, margins

.. math:: m_i = g_i a_i b_i + k\, a_{i+1} b_i \quad (\text{no } a_{i+1} \text{ term for the last mode}),

and loss $L = \sum_i \ln(1 + e^{-m_i})$, written with ``softplus(-m_i)``. Its *stiff*
variant adds $(a_0 - 2 b_0)^2 / 2$. With $K = 5$ this is the 10-variable flow solved to
$t = 10^6$; $K = 10$ (20 variables) is the ~300-operation RHS of ``bench_rhs.py``.

:func:`run` integrates ``n_points`` parameter points (``g_i`` in [0.5, 2], ``k`` in
[-0.3, 0.6], fixed seed; start 0.1 everywhere) of the non-stiff and the stiff 10-variable
problem to t = 1e6 at rtol 1e-8, atol 1e-10 on ``log_grid(1e6)`` with
:func:`dynamics.batch.solve_batch` (one compiled call for the whole batch) and reports

* ``speedup_vs_solve_ivp_{nonstiff,stiff}``: our single-core sweep throughput over that of a
  Python loop of ``solve_ivp(method="LSODA")`` with the lambdified textbook RHS (what a user
  writes without this package, and the issue's definition), timed on the first
  ``baseline_points`` points;
* ``speedup_vs_solve_ivp_{nonstiff,stiff}_with_jacobian``: the same against the stronger
  loop that also passes the lambdified Jacobian (LSODA then skips its finite-difference
  Jacobians: ~9% faster on the stiff problem); reported beside the keys above;
* ``speedup_vs_solve_ivp_{nonstiff,stiff}_all_cores``: the same sweep on every core
  (``threads=2``) over the single-core Python loop, what a user running a sweep sees (extra
  keys, reported beside the one-core ones, never instead of them);
* ``ratio_vs_heyoka_{nonstiff,stiff}``: our single-core throughput over heyoka's batch mode
  (``taylor_adaptive_batch``, SIMD batch width, tol 1e-8), both on the first
  ``heyoka_points`` points of the set and timed round-robin in passes over those points; ``None`` with a ``heyoka_reason`` when heyoka is not importable (it is an optional
  benchmark extra, never a dependency);
* ``parallel_efficiency``: throughput of the whole sweep (both problems, same points) with
  ``threads=2`` over ``threads=1`` (ideal 2.0 on two free cores); ``None`` with a reason on a
  one-CPU machine;
* the load average before and after (``os.getloadavg``), since timings on a shared machine
  are only as good as the load lets them be.

The helpers at the end (timing, tables, environment) are shared with the scripts in
``benchmarks/`` (through ``benchmarks/_problems.py``).
"""

from __future__ import annotations

from dynamics.bench.problems import (
    ATOL,
    KEYS,
    KIND,
    RHS_PROBLEMS,
    RTOL,
    SAME_ANSWER_RTOL,
    SOLVE_PROBLEMS,
    T_MAX,
    TARGET_SPEEDUP,
    Y0_VALUE,
    Problem,
    count_rhs_ops,
    handwritten,
    logistic_flow,
    parameter_points,
    problem,
)
from dynamics.bench.throughput import first_calls, heyoka_unavailable, report, run
from dynamics.bench.timing import (
    best_of,
    best_of_interleaved,
    environment,
    machine_line,
    table,
    verdict,
    write_json,
)

__all__ = [
    "first_calls",
    "heyoka_unavailable",
    "ATOL",
    "KIND",
    "RTOL",
    "SAME_ANSWER_RTOL",
    "T_MAX",
    "TARGET_SPEEDUP",
    "Y0_VALUE",
    "run",
    "report",
    "KEYS",
    "Problem",
    "logistic_flow",
    "problem",
    "parameter_points",
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
