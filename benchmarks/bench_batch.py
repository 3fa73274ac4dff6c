"""Batch throughput: many parameter points of the 10-variable logistic flow to t = 1e6.

Run ``python benchmarks/bench_batch.py [--points N] [--json FILE] [--quick]``, or call
:func:`run_benchmark` (what a ``dynamics bench`` command can use).

For the non-stiff and stiff reference problems (``_problems.py``), ``n_points`` parameter
points (``g_i`` in [0.5, 2], ``k`` in [-0.3, 0.6], drawn with a fixed seed; start 0.1
everywhere) are integrated to t = 1e6 at rtol 1e-8, atol 1e-10 on ``log_grid(1e6)``:

* ``dynamics.batch.solve_batch`` on one core (``threads=1``) and on all cores
  (``threads=os.cpu_count()``), the whole batch in one compiled call;
* the baseline, a Python loop of ``solve_ivp(method="LSODA")`` with the hand-written
  lambdified RHS and Jacobian (as in ``bench_solve.py``), timed on a subset of the points
  (``baseline_points``) and reported per solve;
* optionally heyoka (``taylor_adaptive``, tolerance 1e-8, one integrator re-used with new
  state and parameters per point), skipped if heyoka is not installed.

Reported: solves per second for each, ``speedup_vs_solve_ivp_{nonstiff,stiff}`` (baseline
seconds per solve / batch seconds per solve, single core; target >= 100) and
``ratio_vs_heyoka_{nonstiff,stiff}`` (heyoka seconds per solve / ours; > 1 means we are
faster). The final states of the batch and of the baseline must agree to 1e-5 relative on
the subset, otherwise the result has ``same_answer_ok = False`` (the script exits 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

from dynamics.batch import OK, solve_batch  # noqa: E402
from dynamics.integrate import log_grid  # noqa: E402

TARGET_SPEEDUP = 100.0
SAME_ANSWER_RTOL = 1e-5
KIND = {"logistic": "nonstiff", "logistic-stiff": "stiff"}


def parameter_points(prob: P.Problem, n_points: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    names = prob.model.param_names
    pts = []
    for _ in range(n_points):
        d = {nm: float(rng.uniform(0.5, 2.0)) for nm in names if nm.startswith("g_")}
        d["k"] = float(rng.uniform(-0.3, 0.6))
        pts.append(d)
    return pts


def _baseline(
    prob: P.Problem, pts: list[dict[str, float]], grid: np.ndarray
) -> tuple[float, np.ndarray]:
    """Seconds per solve of the Python loop of solve_ivp(LSODA) + lambdify, and final states."""
    fns = [P.handwritten(prob, d) for d in pts]  # lambdify outside the timing
    finals = []
    t0 = time.perf_counter()
    for fun, jac in fns:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol = solve_ivp(
                fun,
                (0.0, P.T_MAX),
                prob.y0,
                method="LSODA",
                t_eval=grid,
                rtol=P.RTOL,
                atol=P.ATOL,
                jac=jac,
            )
        if sol.status != 0:
            raise RuntimeError(f"baseline solve_ivp failed: {sol.message}")
        finals.append(sol.y[:, -1])
    return (time.perf_counter() - t0) / len(pts), np.array(finals)


def _heyoka(
    prob: P.Problem, pts: list[dict[str, float]], grid: np.ndarray
) -> dict[str, Any] | None:
    """Seconds per solve with heyoka's taylor_adaptive (None if heyoka is unavailable)."""
    try:
        import heyoka as hy
        import sympy as sp
    except ImportError:
        return None
    m = prob.model
    state = list(m.state)
    hv = [hy.make_vars(str(s)) for s in state]
    smap: dict[Any, Any] = dict(zip(state, hv, strict=True))
    smap.update({q: hy.par[j] for j, q in enumerate(m.params)})
    rhs = [-sp.diff(prob.textbook_loss, s) for s in state]
    sys_ = [(v, hy.from_sympy(e, smap)) for v, e in zip(hv, rhs, strict=True)]
    t0 = time.perf_counter()
    ta = hy.taylor_adaptive(sys_, prob.y0.copy(), tol=P.RTOL, pars=m.param_vector(None))
    build = time.perf_counter() - t0
    finals = []
    t0 = time.perf_counter()
    for d in pts:
        ta.time = 0.0
        ta.state[:] = prob.y0
        ta.pars[:] = m.param_vector(d)
        res = ta.propagate_grid(grid)
        finals.append(res[-1][-1])
    per = (time.perf_counter() - t0) / len(pts)
    return {"s_per_solve": per, "build_s": build, "finals": np.array(finals)}


def run_problem(name: str, n_points: int, baseline_points: int, repeats: int) -> dict[str, Any]:
    prob = P.problem(name)
    cm = prob.model.compile()
    grid = log_grid(P.T_MAX)
    pts = parameter_points(prob, n_points)
    rows = np.array([cm.pack(d) for d in pts])
    t0 = time.perf_counter()
    solve_batch(cm, prob.y0, rows[:2], grid)  # compile or load the cached kernel
    first_call = time.perf_counter() - t0
    threads = max(1, os.cpu_count() or 1)
    if threads > 1:
        solve_batch(cm, prob.y0, rows[:2], grid, threads=threads)
    runs = {
        "batch_1core": lambda: solve_batch(cm, prob.y0, rows, grid, rtol=P.RTOL, atol=P.ATOL),
        "batch_all_cores": lambda: solve_batch(
            cm, prob.y0, rows, grid, rtol=P.RTOL, atol=P.ATOL, threads=threads
        ),
    }
    timing = P.best_of_interleaved(runs, repeats)
    res = runs["batch_1core"]()
    ours = timing["batch_1core"]["best"] / n_points
    ours_par = timing["batch_all_cores"]["best"] / n_points
    k = min(baseline_points, n_points)
    base, base_finals = _baseline(prob, pts[:k], grid)
    rel = np.abs(res.y[:k, -1] - base_finals) / np.abs(base_finals)
    out: dict[str, Any] = {
        "description": prob.description,
        "n_points": n_points,
        "all_ok": bool(np.all(res.status == OK)),
        "first_call_s": first_call,
        "batch_1core_s": timing["batch_1core"]["best"],
        "batch_all_cores_s": timing["batch_all_cores"]["best"],
        "threads": threads,
        "solves_per_s_1core": 1.0 / ours,
        "solves_per_s_all_cores": 1.0 / ours_par,
        "baseline_points": k,
        "baseline_s_per_solve": base,
        "baseline_solves_per_s": 1.0 / base,
        "speedup_vs_solve_ivp": base / ours,
        "speedup_vs_solve_ivp_all_cores": base / ours_par,
        "mean_steps": float(np.mean(res.n_steps)),
        "mean_rhs": float(np.mean(res.n_rhs)),
        "final_rel_diff_vs_baseline": float(np.max(rel)),
        "same_answer_ok": bool(np.max(rel) <= SAME_ANSWER_RTOL),
    }
    hy_res = _heyoka(prob, pts[:k], grid)
    if hy_res is not None:
        out["heyoka_s_per_solve"] = hy_res["s_per_solve"]
        out["heyoka_build_s"] = hy_res["build_s"]
        out["ratio_vs_heyoka"] = hy_res["s_per_solve"] / ours
        out["heyoka_final_rel_diff"] = float(
            np.max(np.abs(hy_res["finals"] - base_finals) / np.abs(base_finals))
        )
    return out


def run_benchmark(
    n_points: int = 256,
    json_path: str | None = None,
    *,
    baseline_points: int = 16,
    repeats: int = 3,
    verbose: bool = True,
) -> dict[str, Any]:
    """Run both problems; return (and optionally write) the flat summary and per-problem detail.

    The summary keys are ``speedup_vs_solve_ivp_{nonstiff,stiff}``,
    ``ratio_vs_heyoka_{nonstiff,stiff}`` (when heyoka is installed),
    ``solves_per_s_{nonstiff,stiff}`` (single core) and ``same_answer_ok``.
    """
    problems = {
        name: run_problem(name, n_points, baseline_points, repeats) for name in P.SOLVE_PROBLEMS
    }
    summary: dict[str, Any] = {"n_points": n_points}
    for name, r in problems.items():
        kind = KIND[name]
        summary[f"speedup_vs_solve_ivp_{kind}"] = r["speedup_vs_solve_ivp"]
        summary[f"solves_per_s_{kind}"] = r["solves_per_s_1core"]
        if "ratio_vs_heyoka" in r:
            summary[f"ratio_vs_heyoka_{kind}"] = r["ratio_vs_heyoka"]
    summary["same_answer_ok"] = all(r["same_answer_ok"] and r["all_ok"] for r in problems.values())
    result = {
        "benchmark": "batch",
        "t_max": P.T_MAX,
        "rtol": P.RTOL,
        "atol": P.ATOL,
        "target_speedup": TARGET_SPEEDUP,
        "summary": summary,
        "problems": problems,
    }
    if verbose:
        report(result)
    if json_path:
        P.write_json(json_path, result)
    return result


def report(result: dict[str, Any]) -> None:
    rows = []
    for name, r in result["problems"].items():
        rows.append(
            [
                name,
                r["n_points"],
                f"{r['solves_per_s_1core']:.0f}",
                f"{r['solves_per_s_all_cores']:.0f} ({r['threads']})",
                f"{r['baseline_solves_per_s']:.2f}",
                f"{r['speedup_vs_solve_ivp']:.0f}x",
                f"{r['ratio_vs_heyoka']:.2f}" if "ratio_vs_heyoka" in r else "-",
                f"{r['mean_steps']:.0f}",
                f"{r['final_rel_diff_vs_baseline']:.1e}",
            ]
        )
    print(
        P.table(
            rows,
            [
                "problem",
                "points",
                "batch solves/s (1 core)",
                "(all cores)",
                "solve_ivp solves/s",
                "speedup",
                "heyoka s / ours s",
                "steps",
                "final rel diff",
            ],
        )
    )
    s = result["summary"]
    for kind in ("nonstiff", "stiff"):
        v = s[f"speedup_vs_solve_ivp_{kind}"]
        print(
            f"speedup_vs_solve_ivp_{kind} = {v:.1f}  "
            f"{P.verdict(v, TARGET_SPEEDUP, lower_is_better=False)} (target {TARGET_SPEEDUP:g})"
        )
        if f"ratio_vs_heyoka_{kind}" in s:
            print(f"ratio_vs_heyoka_{kind} = {s[f'ratio_vs_heyoka_{kind}']:.2f}")
    if not any(k.startswith("ratio_vs_heyoka") for k in s):
        print("heyoka not installed: ratio_vs_heyoka_* skipped")
    print(
        "same answer as the baseline (1e-5 relative, final state): "
        + ("PASS" if s["same_answer_ok"] else "FAIL")
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--baseline-points", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="best of 1, 4 baseline points")
    ap.add_argument("--json", metavar="FILE", help="write the numbers to FILE")
    args = ap.parse_args(argv)
    print(P.machine_line())
    ok = True
    results = {}
    for n in args.points:
        print(f"\n== {n} parameter points to t = {P.T_MAX:g}, rtol {P.RTOL:g}, atol {P.ATOL:g}")
        r = run_benchmark(
            n,
            None,
            baseline_points=4 if args.quick else args.baseline_points,
            repeats=1 if args.quick else 3,
        )
        results[str(n)] = r
        ok = ok and r["summary"]["same_answer_ok"]
    if args.json:
        P.write_json(args.json, {"benchmark": "batch", "runs": results})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
