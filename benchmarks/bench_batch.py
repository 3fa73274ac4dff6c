"""Batch throughput: many parameter points of the 10-variable logistic flow to t = 1e6.

Run ``python benchmarks/bench_batch.py [--points N ...] [--json FILE] [--quick]``, or
``dynamics bench``. This script is a thin wrapper over :mod:`dynamics.bench` (where the
problems, the baseline, the heyoka comparison and the report live; see its docstring).

For the non-stiff and stiff reference problems, ``n_points`` parameter points are
integrated to t = 1e6 at rtol 1e-8, atol 1e-10 with ``dynamics.batch.solve_batch`` (one
thread, and two threads for ``parallel_efficiency``), against a Python loop of
``solve_ivp(method="LSODA")`` with the lambdified RHS (and, as a stronger second
baseline, also its lambdified Jacobian) on a subset
(``baseline_points``) and, if installed, heyoka's batch mode. Reported:
``speedup_vs_solve_ivp_{nonstiff,stiff}`` (target >= 100),
``ratio_vs_heyoka_{nonstiff,stiff}`` (> 1 means we are faster; ``None`` without heyoka),
``parallel_efficiency`` and the load average. The final states of the batch and of the
baseline must agree to 1e-5 relative on the subset, otherwise ``same_answer_ok`` is False
(the script exits 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from dynamics import bench
from dynamics.bench import KIND, TARGET_SPEEDUP, parameter_points  # noqa: F401  (re-exported)

SAME_ANSWER_RTOL = bench.SAME_ANSWER_RTOL


def run_benchmark(
    n_points: int = 256,
    json_path: str | None = None,
    *,
    baseline_points: int = 16,
    repeats: int = 3,
    verbose: bool = True,
) -> dict[str, Any]:
    """:func:`dynamics.bench.run` with these settings; the result also has a ``summary``
    (the flat keys, ``solves_per_s_{nonstiff,stiff}``, ``same_answer_ok``, ``n_points``)."""
    result = bench.run(
        n_points,
        json_path=json_path,
        progress=print if verbose else None,
        baseline_points=baseline_points,
        repeats=repeats,
    )
    keys = [*bench.KEYS, "solves_per_s_nonstiff", "solves_per_s_stiff", "same_answer_ok"]
    result["summary"] = {"n_points": n_points, **{k: result[k] for k in keys}}
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--baseline-points", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="best of 1, 4 baseline points")
    ap.add_argument("--json", metavar="FILE", help="write the numbers to FILE")
    args = ap.parse_args(argv)
    ok = True
    results = {}
    for n in args.points:
        print(
            f"\n== {n} parameter points to t = {bench.T_MAX:g}, rtol {bench.RTOL:g}, "
            f"atol {bench.ATOL:g}"
        )
        r = run_benchmark(
            n,
            None,
            baseline_points=4 if args.quick else args.baseline_points,
            repeats=1 if args.quick else 3,
        )
        results[str(n)] = r
        ok = ok and r["same_answer_ok"]
    if args.json:
        bench.write_json(args.json, {"benchmark": "batch", "runs": results})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
