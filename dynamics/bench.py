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

import json
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dynamics.model import ReducedModel
from dynamics.symbolic import softplus

__all__ = [
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


def _loadavg() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


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
    (``None``: silent).
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
    load_before = _loadavg()
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
    load_after = _loadavg()
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
        "loadavg_1min": _loadavg(),
    }


def machine_line() -> str:
    """One line naming the machine, the versions and the current load (timings are noisy
    when the load average approaches the number of cores)."""
    e = environment()
    load = f"{e['loadavg_1min']:.2f}" if e["loadavg_1min"] is not None else "n/a"
    return (
        f"{e['cpu']} ({e['cpu_count']} cores, load {load}); python {e['python']}, "
        f"numpy {e['numpy']}, scipy {e['scipy']}, sympy {e['sympy']}, numba {e['numba']}"
    )


def write_json(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` with the :func:`environment` to ``path`` (prints ``wrote PATH``)."""
    out = {"environment": environment(), **payload}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2, default=float)
        fh.write("\n")
    print(f"wrote {path}")
