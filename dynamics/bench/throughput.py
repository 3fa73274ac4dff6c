r"""The batch benchmark run: throughput against the baselines, first-call times, the report."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from dynamics.bench.problems import (
    ATOL,
    KEYS,
    KIND,
    RTOL,
    SAME_ANSWER_RTOL,
    SOLVE_PROBLEMS,
    T_MAX,
    TARGET_SPEEDUP,
    Problem,
    handwritten,
    parameter_points,
    problem,
)
from dynamics.bench.timing import (
    best_of_interleaved,
    environment,
    loadavg,
    machine_line,
    table,
    verdict,
)

__all__ = ["run", "report", "first_calls", "heyoka_unavailable"]

#: The model whose cold and warm first calls are measured (the 10-variable benchmark).
FIRST_CALL_PROBLEM = "logistic"

_FIRST_CALL = """\
import json, sys, time
import numpy as np
from dynamics.bench.problems import T_MAX, problem
from dynamics.batch import solve_batch
from dynamics.integrate import log_grid
prob = problem(sys.argv[1])
t0 = time.perf_counter()
cm = prob.model.compile()
t1 = time.perf_counter()
rows, grid = np.array([cm.pack({})] * 2), log_grid(T_MAX)
solve_batch(cm, prob.y0, rows, grid)
t2 = time.perf_counter()
solve_batch(cm, prob.y0, rows, grid, threads=int(sys.argv[2]))
t3 = time.perf_counter()
print(json.dumps({"compile_s": t1 - t0, "first_call_s": t2 - t1, "first_call_threads_s": t3 - t2}))
"""


def first_calls(name: str = FIRST_CALL_PROBLEM, threads: int = 2) -> dict[str, Any]:
    """The first ``solve_batch`` call of a new process, cold (a fresh ``DYNAMICS_CACHE_DIR``:
    the per-model kernel is compiled) and warm (a second process on that cache: it is
    loaded), each measured in a subprocess: ``{"cold": {...}, "warm": {...}}`` with
    ``compile_s`` (the model's code), ``first_call_s`` (serial) and
    ``first_call_threads_s`` (the following call with ``threads``), in seconds."""
    import dynamics

    root = os.path.dirname(os.path.dirname(os.path.abspath(dynamics.__file__)))
    out: dict[str, Any] = {"problem": name, "threads": threads}
    with tempfile.TemporaryDirectory(prefix="dynamics-bench-cold-") as d:
        env = dict(os.environ, DYNAMICS_CACHE_DIR=d)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        for kind in ("cold", "warm"):
            proc = subprocess.run([sys.executable, "-c", _FIRST_CALL, name, str(threads)], env=env,
                                  capture_output=True, text=True, check=True)
            out[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _baseline(
    prob: Problem,
    pts: list[dict[str, float]],
    grid: np.ndarray,
    repeats: int = 1,
    with_jacobian: bool = False,
) -> tuple[float, np.ndarray]:
    """Seconds per solve of the Python loop of solve_ivp(LSODA) + lambdify (best of
    ``repeats`` passes), and final states. ``with_jacobian`` also passes the lambdified
    Jacobian (LSODA otherwise builds it by finite differences)."""
    fns: list[tuple[Callable[..., Any], Callable[..., Any] | None]] = []
    for d in pts:  # lambdify outside the timing
        fun, jac = handwritten(prob, d)
        fns.append((fun, jac if with_jacobian else None))
    best = math.inf
    for _ in range(repeats):  # best of, as for our batch timing
        finals, per = _baseline_pass(prob, fns, grid)
        best = min(best, per)
    return best, finals


def _baseline_pass(
    prob: Problem, fns: list[tuple[Callable[..., Any], Callable[..., Any] | None]], grid: np.ndarray
) -> tuple[np.ndarray, float]:
    from scipy.integrate import solve_ivp

    finals = []
    t0 = time.perf_counter()
    for fun, jac in fns:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol = solve_ivp(
                fun,
                (0.0, T_MAX),
                prob.y0,
                method="LSODA",
                t_eval=grid,
                rtol=RTOL,
                atol=ATOL,
                jac=jac,
            )
        if sol.status != 0:
            raise RuntimeError(f"baseline solve_ivp failed: {sol.message}")
        finals.append(sol.y[:, -1])
    return np.array(finals), (time.perf_counter() - t0) / len(fns)


def heyoka_unavailable() -> str | None:
    """Why heyoka cannot be used (``None`` when it can)."""
    try:
        import heyoka  # noqa: F401
    except Exception as exc:  # ImportError, or a broken LLVM install
        return f"heyoka is not importable ({type(exc).__name__}: {exc}); install it to compare"
    return None


def _heyoka(
    prob: Problem, pts: list[dict[str, float]], grid: np.ndarray
) -> tuple[Callable[[], np.ndarray], dict[str, Any]]:
    """heyoka's batch mode (``taylor_adaptive_batch``, SIMD width) on ``pts``: returns one
    pass over the points (returning their final states) and the build facts. The integrator
    is built here, untimed; the caller times the passes beside ours."""
    import heyoka as hy

    m = prob.model
    state = list(m.state)
    hv = [hy.make_vars(str(s)) for s in state]
    smap: dict[Any, Any] = dict(zip(state, hv, strict=True))
    smap.update({q: hy.par[j] for j, q in enumerate(m.params)})
    rhs = [-sp.diff(prob.textbook_loss, s) for s in state]
    sys_ = [(v, hy.from_sympy(e, smap)) for v, e in zip(hv, rhs, strict=True)]
    width = max(1, int(hy.recommended_simd_size()))
    n_batches = max(1, math.ceil(len(pts) / width))
    padded = pts + [pts[-1]] * (n_batches * width - len(pts))
    y0 = np.tile(prob.y0[:, None], (1, width))
    pars = np.array([m.param_vector(d) for d in padded]).T  # (n_p, n_batches * width)
    t0 = time.perf_counter()
    ta = hy.taylor_adaptive_batch(sys_, y0.copy(), tol=RTOL, pars=pars[:, :width].copy())
    build = time.perf_counter() - t0
    tgrid = np.ascontiguousarray(np.tile(grid[:, None], (1, width)))

    def one_pass() -> np.ndarray:
        finals = []
        for b in range(n_batches):
            ta.set_time(0.0)
            ta.state[:] = y0
            ta.pars[:] = pars[:, b * width : (b + 1) * width]
            res = ta.propagate_grid(tgrid)
            finals.append(np.asarray(res[-1])[-1].T)  # (width, n)
        return np.concatenate(finals)[: len(pts)]

    return one_pass, {"build_s": build, "simd_width": width, "points": n_batches * width}


def _run_problem(
    name: str,
    n_points: int,
    baseline_points: int,
    heyoka_points: int,
    repeats: int,
    threads: int,
    progress: Callable[[str], Any],
) -> dict[str, Any]:
    from dynamics.batch import OK, solve_batch
    from dynamics.integrate import log_grid

    kind = KIND[name]
    prob = problem(name)
    cm = prob.model.compile()
    grid = log_grid(T_MAX)
    pts = parameter_points(prob, n_points)
    rows = np.array([cm.pack(d) for d in pts])
    t0 = time.perf_counter()
    solve_batch(cm, prob.y0, rows[:2], grid)  # compile or load the cached kernel
    if threads > 1:
        solve_batch(cm, prob.y0, rows[:2], grid, threads=threads)
    first_call = time.perf_counter() - t0

    def batch(th: int) -> Callable[[], Any]:
        return lambda: solve_batch(cm, prob.y0, rows, grid, rtol=RTOL, atol=ATOL, threads=th)

    runs = {"batch_1thread": batch(1)}
    if threads > 1:
        runs[f"batch_{threads}threads"] = batch(threads)
    why = heyoka_unavailable()
    hy_info: dict[str, Any] = {}
    kh = min(heyoka_points, n_points)
    if why is None:
        progress(f"[{kind}] building heyoka's taylor_adaptive_batch for {kh} point(s)")
        hy_pass, hy_info = _heyoka(prob, pts[:kh], grid)
        hy_finals = hy_pass()  # warm-up (and its answers)
        runs["heyoka"] = hy_pass
        # ours on heyoka's points too: the same points and passes of the same length, so a
        # burst of load is as likely to spoil one side's best pass as the other's (a 256-point
        # pass of ours against 64-point passes of heyoka's favoured heyoka on a busy machine)
        hy_rows = rows[:kh]
        runs["batch_1thread_heyoka_points"] = lambda: solve_batch(
            cm, prob.y0, hy_rows, grid, rtol=RTOL, atol=ATOL
        )
    progress(
        f"[{kind}] {n_points} points with solve_batch"
        + (f", and heyoka on {kh} padded to its SIMD width," if why is None else "")
        + f" timed round-robin, best of {repeats}"
    )
    timing = best_of_interleaved(runs, repeats)
    res = runs["batch_1thread"]()
    t1 = timing["batch_1thread"]["best"]
    t_par = timing[f"batch_{threads}threads"]["best"] if threads > 1 else None
    ours = t1 / n_points
    k = min(baseline_points, n_points)
    progress(f"[{kind}] baseline: Python loop of solve_ivp(LSODA) on {k} points")
    base, base_finals = _baseline(prob, pts[:k], grid, repeats)
    progress(f"[{kind}] stronger baseline: the same loop given the lambdified Jacobian too")
    base_j, base_j_finals = _baseline(prob, pts[:k], grid, repeats, with_jacobian=True)
    rel = np.maximum(
        np.abs(res.y[:k, -1] - base_finals) / np.abs(base_finals),
        np.abs(res.y[:k, -1] - base_j_finals) / np.abs(base_j_finals),
    )
    out: dict[str, Any] = {
        "description": prob.description,
        "n_points": n_points,
        "all_ok": bool(np.all(res.status == OK)),
        "first_call_s": first_call,
        "batch_1thread_s": t1,
        "batch_parallel_s": t_par,
        "threads": threads,
        "solves_per_s_1thread": 1.0 / ours,
        "solves_per_s_parallel": n_points / t_par if t_par else None,
        "parallel_efficiency": t1 / t_par if t_par else None,
        "baseline_points": k,
        "baseline_s_per_solve": base,
        "baseline_solves_per_s": 1.0 / base,
        "speedup_vs_solve_ivp": base / ours,
        "baseline_with_jacobian_s_per_solve": base_j,
        "baseline_with_jacobian_solves_per_s": 1.0 / base_j,
        "speedup_vs_solve_ivp_with_jacobian": base_j / ours,
        "speedup_vs_solve_ivp_all_cores": base * n_points / t_par if t_par else None,
        "mean_steps": float(np.mean(res.n_steps)),
        "mean_rhs": float(np.mean(res.n_rhs)),
        "final_rel_diff_vs_baseline": float(np.max(rel)),
        "same_answer_ok": bool(np.max(rel) <= SAME_ANSWER_RTOL),
        "ratio_vs_heyoka": None,
    }
    if why is None:
        kc = min(kh, k)
        hy_per = timing["heyoka"]["best"] / hy_info["points"]
        ours_hy = timing["batch_1thread_heyoka_points"]["best"] / kh
        out.update(
            heyoka_points=hy_info["points"],
            heyoka_simd_width=hy_info["simd_width"],
            heyoka_s_per_solve=hy_per,
            heyoka_solves_per_s=1.0 / hy_per,
            heyoka_build_s=hy_info["build_s"],
            ours_heyoka_points_s_per_solve=ours_hy,
            ratio_vs_heyoka=hy_per / ours_hy,
            heyoka_final_rel_diff=float(
                np.max(np.abs(hy_finals[:kc] - base_finals[:kc]) / np.abs(base_finals[:kc]))
            ),
        )
    else:
        out["heyoka_reason"] = why
    return out


def run(
    n_points: int = 256,
    *,
    quick: bool = False,
    json_path: str | os.PathLike[str] | None = None,
    progress: Callable[[str], Any] | None = print,
    baseline_points: int | None = None,
    heyoka_points: int | None = None,
    repeats: int | None = None,
    first_call: bool = True,
) -> dict[str, Any]:
    """Run the batch benchmark on both problems; return (and optionally write) the result.

    The result has the flat keys of :data:`KEYS` (``ratio_vs_heyoka_*`` and
    ``parallel_efficiency`` may be ``None``, with ``heyoka_reason`` /
    ``parallel_reason``), ``loadavg_1min_before`` / ``_after``, ``same_answer_ok``, the
    settings, ``environment`` and per-problem detail under ``problems``.

    ``quick`` means one repeat, a 4-point baseline and one heyoka SIMD batch (well under a
    minute with a warm compile cache); by default 5 repeats, 16 baseline points and 64
    heyoka points. Every timing (ours, the baseline's, heyoka's) is the best of the
    repeats; ours (1 and 2 threads) and heyoka's passes are timed round-robin, so a burst of
    load from elsewhere hits them alike. ``progress`` receives the progress lines and the final report
    (``None``: silent). ``first_call``: also measure the cold and warm first call of the
    10-variable model in fresh processes (:func:`first_calls`; keys ``cold_first_call_s``,
    ``cold_first_call_threads_s``, ``warm_first_call_s``, detail under ``first_call``).
    """
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer):
        raise ValueError(f"n_points must be an integer, got {n_points!r}")
    if n_points < 1:
        raise ValueError(f"n_points must be >= 1, got {n_points}")
    for nm, v in (
        ("baseline_points", baseline_points),
        ("heyoka_points", heyoka_points),
        ("repeats", repeats),
    ):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{nm} must be an integer >= 1, got {v!r}")
    n_points = int(n_points)
    say: Callable[[str], Any] = progress if progress is not None else (lambda s: None)
    baseline_points = baseline_points or (4 if quick else 16)
    heyoka_points = heyoka_points or (1 if quick else 64)
    repeats = repeats or (1 if quick else 5)
    threads = min(2, os.cpu_count() or 1)
    load_before = loadavg()
    say(machine_line())
    t_start = time.perf_counter()
    problems = {
        name: _run_problem(name, n_points, baseline_points, heyoka_points, repeats, threads, say)
        for name in SOLVE_PROBLEMS
    }
    result: dict[str, Any] = {}
    for name, r in problems.items():
        result[f"speedup_vs_solve_ivp_{KIND[name]}"] = r["speedup_vs_solve_ivp"]
    for name, r in problems.items():
        # the same sweep on every core (threads) against the single-core Python loop: what a
        # user running a sweep sees; the keys above compare one core with one core
        result[f"speedup_vs_solve_ivp_{KIND[name]}_all_cores"] = r.get(
            "speedup_vs_solve_ivp_all_cores"
        )
    for name, r in problems.items():
        # against the stronger loop (LSODA also given the lambdified Jacobian): extra keys
        result[f"speedup_vs_solve_ivp_{KIND[name]}_with_jacobian"] = r.get(
            "speedup_vs_solve_ivp_with_jacobian"
        )
    for name, r in problems.items():
        result[f"ratio_vs_heyoka_{KIND[name]}"] = r["ratio_vs_heyoka"]
    why = heyoka_unavailable()
    if why is not None:
        result["heyoka_reason"] = why
    if threads > 1:
        t1 = sum(r["batch_1thread_s"] for r in problems.values())
        t2 = sum(r["batch_parallel_s"] for r in problems.values())
        result["parallel_efficiency"] = t1 / t2
    else:
        result["parallel_efficiency"] = None
        result["parallel_reason"] = "one CPU: no 2-thread run"
    if first_call:
        say(f"[first call] {FIRST_CALL_PROBLEM}: cold (fresh cache) and warm, in new processes")
        fc = first_calls(FIRST_CALL_PROBLEM, threads)
        result["first_call"] = fc
        result["cold_first_call_s"] = fc["cold"]["first_call_s"]
        result["cold_first_call_threads_s"] = fc["cold"]["first_call_threads_s"]
        result["warm_first_call_s"] = fc["warm"]["first_call_s"]
    load_after = loadavg()
    result.update(
        {
            "parallel_threads": threads,
            "loadavg_1min_before": load_before,
            "loadavg_1min_after": load_after,
            "cpu_count": os.cpu_count(),
            "same_answer_ok": all(r["same_answer_ok"] and r["all_ok"] for r in problems.values()),
            "benchmark": "batch",
            "n_points": n_points,
            "quick": bool(quick),
            "repeats": repeats,
            "t_max": T_MAX,
            "rtol": RTOL,
            "atol": ATOL,
            "target_speedup": TARGET_SPEEDUP,
            "wall_s": time.perf_counter() - t_start,
            "environment": environment(),
            "problems": problems,
        }
    )
    for name, r in problems.items():
        result[f"solves_per_s_{KIND[name]}"] = r["solves_per_s_1thread"]
    say(report(result))
    if json_path is not None:
        with open(json_path, "w") as fh:
            json.dump(result, fh, indent=2, default=float)
            fh.write("\n")
        say(f"wrote {os.fspath(json_path)}")
    return result


def report(result: dict[str, Any]) -> str:
    """The text report of a :func:`run` result: a table per problem, then the flat keys."""
    rows = []
    for name, r in result["problems"].items():
        sp_par = r["solves_per_s_parallel"]
        rows.append(
            [
                KIND[name],
                r["n_points"],
                f"{r['solves_per_s_1thread']:.0f}",
                f"{sp_par:.0f} ({r['threads']})" if sp_par else "-",
                f"{r['baseline_solves_per_s']:.2f}"
                + (
                    f" / {r['baseline_with_jacobian_solves_per_s']:.2f}"
                    if "baseline_with_jacobian_solves_per_s" in r
                    else ""
                ),
                f"{r['heyoka_solves_per_s']:.0f}" if "heyoka_solves_per_s" in r else "-",
                f"{r['mean_steps']:.0f}",
                f"{r['final_rel_diff_vs_baseline']:.1e}",
            ]
        )
    lines = [
        table(
            rows,
            [
                "problem",
                "points",
                "ours solves/s (1 thread)",
                "(threads)",
                "solve_ivp solves/s (rhs / +jac)",
                "heyoka solves/s",
                "steps",
                "final rel diff",
            ],
        )
    ]
    for key in KEYS:
        v = result[key]
        s = f"{v:.3g}" if v is not None else "null"
        if key.startswith("speedup") and v is not None:
            s += (
                f"  {verdict(v, TARGET_SPEEDUP, lower_is_better=False)} (target {TARGET_SPEEDUP:g})"
            )
        elif key == "parallel_efficiency" and v is not None:
            s += f"  ({result['parallel_threads']} threads over 1; ideal {result['parallel_threads']})"
        elif v is None:
            s += f"  ({result.get('heyoka_reason') or result.get('parallel_reason')})"
        lines.append(f"{key} = {s}")
        if key.startswith("speedup"):
            vj = result.get(f"{key}_with_jacobian")
            if vj is not None:
                lines.append(
                    f"  {key}_with_jacobian = {vj:.3g}  "
                    f"{verdict(vj, TARGET_SPEEDUP, lower_is_better=False)} "
                    "(stronger baseline: LSODA also given the lambdified Jacobian)"
                )
    fc = result.get("first_call")
    if fc:
        c, w = fc["cold"], fc["warm"]
        lines.append(
            f"first call ({fc['problem']}, new process): cold {c['first_call_s']:.1f} s"
            f" + {c['first_call_threads_s']:.1f} s with {fc['threads']} threads"
            f" (model code {c['compile_s']:.1f} s before it); warm {w['first_call_s']:.2f} s"
            f" + {w['first_call_threads_s']:.2f} s"
        )
    lb, la = result["loadavg_1min_before"], result["loadavg_1min_after"]
    if lb is not None:
        lines.append(
            f"load average (1 min): {lb:.2f} before, {la:.2f} after, on {result['cpu_count']} CPUs"
            + ("  (busy machine: timings are noisy)" if max(lb, la) > 0.5 else "")
        )
    lines.append(
        "same answer as the baseline (1e-5 relative, final state): "
        + ("PASS" if result["same_answer_ok"] else "FAIL")
    )
    return "\n".join(lines)

