"""Nanoseconds per RHS call: generated numba code vs the numpy backend vs a raw lambdify.

Run ``python benchmarks/bench_rhs.py [--quick] [--json FILE]``.

For each problem (the 10-variable logistic flow, and its 20-variable version whose RHS
has ~300 operations by ``sympy.count_ops``) this measures, in one process:

* ``numba, from njit loop``: an ``@njit`` loop in this script calls the generated ``rhs``
  N times with preallocated arrays (one state coordinate is nudged per iteration and
  the outputs are summed, so nothing can be hoisted out of the loop); total / N. The
  same loop without the call is timed too and reported as loop overhead;
* ``numba, from Python``: the same compiled ``rhs`` called from a Python loop (numba
  dispatcher overhead included), and ``CompiledModel.f(p)(t, y)``, the wrapper scipy
  calls back (allocates the output);
* ``numpy backend``: ``compile(backend="numpy")``, its ``rhs`` called from Python;
* ``raw lambdify``: ``-grad L`` of the textbook loss through ``sympy.lambdify(...,
  modules="numpy")``, called as ``np.array(f(y, p))`` (what a user writes by hand).

Target: under 100 ns per call from compiled code for the ~300-operation RHS.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

TARGET_NS = 100.0
TARGET_PROBLEM = "logistic20"


@numba.njit
def _loop_with_rhs(rhs, y, p, data, bounds, out, n_calls):
    base = y.copy()
    n = y.shape[0]
    acc = 0.0
    for i in range(n_calls):
        k = i % n
        y[k] = base[k] * (1.0 + 1e-12 * (i & 7))
        rhs(0.0, y, p, data, bounds, out)
        acc += out[k]
    return acc


@numba.njit
def _loop_without_rhs(y, p, data, bounds, out, n_calls):
    base = y.copy()
    n = y.shape[0]
    acc = 0.0
    for i in range(n_calls):
        k = i % n
        y[k] = base[k] * (1.0 + 1e-12 * (i & 7))
        out[k] = y[k]
        acc += out[k]
    return acc


def _per_call(fn: Callable[[], Any], calls: int, repeats: int) -> float:
    """Best over ``repeats`` of (time of ``calls`` calls from a Python loop) / ``calls``."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def _per_call_njit(
    loop: Callable[..., float], args: tuple[Any, ...], calls: int, repeats: int
) -> float:
    """Best over ``repeats`` of one njit loop of ``calls`` iterations, divided by ``calls``."""
    loop(*args, 10)  # compile
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        loop(*args, calls)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def run_problem(name: str, n_calls: int, py_calls: int, repeats: int) -> dict[str, Any]:
    prob = P.problem(name)
    cm = prob.model.compile()
    cm_np = prob.model.compile(backend="numpy")
    hand_f, _ = P.handwritten(prob)
    p = cm.pack()
    data, bounds = cm.data, cm.bounds
    n = prob.model.n_state
    # a generic state (all 0.1 is too symmetric to catch index mistakes)
    y = prob.y0 * (1.0 + 0.1 * np.arange(n))
    out = np.empty(n)

    # the three paths must give the same vector
    ref = np.empty(n)
    cm.rhs(0.0, y, p, data, bounds, ref)
    alt = np.empty(n)
    cm_np.rhs(0.0, y, p, cm_np.data, cm_np.bounds, alt)
    for label, v in (("numpy backend", alt), ("raw lambdify", hand_f(0.0, y))):
        err = float(np.max(np.abs(v - ref)) / np.max(np.abs(ref)))
        if not err < 1e-12:
            raise RuntimeError(f"{name}: {label} differs from the numba rhs by {err:.2e}")

    rhs = cm.rhs
    yl = y.copy()
    t_loop = _per_call_njit(_loop_with_rhs, (rhs, yl, p, data, bounds, out), n_calls, repeats)
    yl = y.copy()
    t_empty = _per_call_njit(_loop_without_rhs, (yl, p, data, bounds, out), n_calls, repeats)
    f = cm.f(p)
    np_rhs, np_data, np_bounds = cm_np.rhs, cm_np.data, cm_np.bounds
    slow_calls = max(py_calls // 20, 100)
    timings = {
        "numba, from njit loop": t_loop,
        "numba, from Python (dispatcher)": _per_call(
            lambda: rhs(0.0, y, p, data, bounds, out), py_calls, repeats
        ),
        "numba, CompiledModel.f(p)(t, y)": _per_call(lambda: f(0.0, y), py_calls, repeats),
        "numpy backend, from Python": _per_call(
            lambda: np_rhs(0.0, y, p, np_data, np_bounds, out), slow_calls, repeats
        ),
        "raw lambdify, from Python": _per_call(lambda: hand_f(0.0, y), slow_calls, repeats),
    }
    return {
        "description": prob.description,
        "n_state": n,
        "ops": P.count_rhs_ops(prob.model),
        "ns_per_call": {k: v * 1e9 for k, v in timings.items()},
        "njit_loop_overhead_ns": t_empty * 1e9,
        "n_calls": n_calls,
    }


def report(results: dict[str, Any]) -> None:
    for name, r in results.items():
        ops = r["ops"]
        print(
            f"\n== {name}: {r['description']}; RHS sympy.count_ops = {ops['raw']} "
            f"({ops['after_cse']} after cse)"
        )
        base = r["ns_per_call"]["numba, from njit loop"]
        rows = [[k, f"{v:,.1f}", f"{v / base:,.1f}x"] for k, v in r["ns_per_call"].items()]
        print(P.table(rows, ["path", "ns / call", "vs njit loop"]))
        print(
            f"   (njit loop without the call: {r['njit_loop_overhead_ns']:.1f} ns per iteration; "
            f"N = {r['n_calls']:,})"
        )
    r = results[TARGET_PROBLEM]
    ns = r["ns_per_call"]["numba, from njit loop"]
    print(
        f"\nTarget: under {TARGET_NS:g} ns per call from compiled code for the ~300-operation RHS "
        f"({TARGET_PROBLEM}, count_ops {r['ops']['raw']}): {ns:.1f} ns  "
        f"{P.verdict(ns, TARGET_NS)}"
    )
    for name, r in results.items():
        t = r["ns_per_call"]
        base = t["numba, from njit loop"]
        print(
            f"  {name:12s} ratios to the njit-loop call: numpy backend "
            f"{t['numpy backend, from Python'] / base:,.0f}x, raw lambdify "
            f"{t['raw lambdify, from Python'] / base:,.0f}x, numba from Python "
            f"{t['numba, from Python (dispatcher)'] / base:,.1f}x"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer calls and repeats")
    ap.add_argument("--json", metavar="FILE", help="write the numbers to FILE")
    args = ap.parse_args(argv)
    print(P.machine_line())
    if args.quick:
        n_calls, py_calls, repeats = 10**5, 10**4, 3
    else:
        n_calls, py_calls, repeats = 10**6, 10**5, 7
    results = {name: run_problem(name, n_calls, py_calls, repeats) for name in P.RHS_PROBLEMS}
    report(results)
    if args.json:
        P.write_json(
            args.json,
            {
                "benchmark": "rhs",
                "target_ns": TARGET_NS,
                "target_problem": TARGET_PROBLEM,
                "repeats": repeats,
                "problems": results,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
