"""One solve to t = 1e6 of the 10-variable logistic gradient flow and of its stiff variant.

Run ``python benchmarks/bench_solve.py [--quick] [--json FILE] [--profile]``.

Compared side by side in one process, all at rtol 1e-8, atol 1e-10, on the same output
grid (``log_grid(1e6)``: t = 0 and 200 log-spaced times from 1e-2 to 1e6):

* ``solve_ivp LSODA + lambdify``: the baseline a user writes by hand (textbook loss,
  ``-grad L`` and its Jacobian from ``sympy.lambdify(..., modules="numpy")``);
* ``solve_ivp LSODA + numba``: the same solver with the generated RHS and Jacobian;
* ``odeint + lambdify``: ODEPACK's LSODA loop in Fortran with the hand-written RHS;
* ``odeint + numba (raw)``: ``scipy.integrate.odeint`` called directly with the generated
  functions and no wrapper: the floor of the default path;
* ``dynamics.integrate``: the package's default method (odeint/LSODA), returning a
  Trajectory with observables.

Timings are the best of N calls after one warm-up call (the median is recorded too),
taken round-robin over the variants so that load from elsewhere hits all of them alike.
The final states of ``dynamics.integrate`` and of the baseline must agree to 1e-5
relative, or the script exits with status 1. Target: ``dynamics.integrate`` at least 10x
faster than the baseline on both problems.

Where the time of ``dynamics.integrate`` goes is printed under each table: the raw odeint
call, the wrapper around it (the difference of two best-of-N times), and an estimate of
the Python callbacks (calls x cost per call, measured here). ``--profile`` adds a
cProfile of ``dynamics.integrate``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.integrate import odeint, solve_ivp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

from dynamics.codegen import CompiledModel  # noqa: E402
from dynamics.integrate import integrate, log_grid  # noqa: E402

TARGET_SPEEDUP = 10.0
SAME_ANSWER_RTOL = 1e-5
BASELINE = "solve_ivp LSODA + lambdify"
OURS = "dynamics.integrate"

Solver = Callable[[], dict[str, Any]]


def solvers(prob: P.Problem, cm: CompiledModel) -> dict[str, Solver]:
    """Each variant as a zero-argument call returning the output states and counters."""
    p = cm.pack()
    grid = log_grid(P.T_MAX)
    y0 = prob.y0
    hand_f, hand_j = P.handwritten(prob)
    nb_f, nb_j = cm.f(p), cm.jacobian(p)

    def ivp(fun: Callable[..., Any], jac: Callable[..., Any]) -> Solver:
        def run() -> dict[str, Any]:
            sol = solve_ivp(
                fun,
                (0.0, P.T_MAX),
                y0,
                method="LSODA",
                t_eval=grid,
                rtol=P.RTOL,
                atol=P.ATOL,
                jac=jac,
            )
            if sol.status != 0:
                raise RuntimeError(f"solve_ivp failed: {sol.message}")
            return {"y": sol.y.T, "nfev": sol.nfev, "njev": sol.njev, "nsteps": None}

        return run

    def ode(fun: Callable[..., Any], jac: Callable[..., Any]) -> Solver:
        def f(y: np.ndarray, t: float) -> np.ndarray:
            return fun(t, y)

        def J(y: np.ndarray, t: float) -> np.ndarray:
            return jac(t, y)

        def run() -> dict[str, Any]:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # odeint reports failure only as a warning
                y, info = odeint(
                    f,
                    y0,
                    grid,
                    Dfun=J,
                    rtol=P.RTOL,
                    atol=P.ATOL,
                    full_output=True,
                    mxstep=1_000_000,
                )
            return {
                "y": y,
                "nfev": int(info["nfe"][-1]),
                "njev": int(info["nje"][-1]),
                "nsteps": int(info["nst"][-1]),
            }

        return run

    def ours() -> dict[str, Any]:
        tr = integrate(cm, y0, t_max=P.T_MAX, rtol=P.RTOL, atol=P.ATOL)
        s = tr.stats
        return {"y": tr.y, "t": tr.t, "nfev": s["nfev"], "njev": s["njev"], "nsteps": s["nsteps"]}

    return {
        BASELINE: ivp(hand_f, hand_j),
        "solve_ivp LSODA + numba": ivp(nb_f, nb_j),
        "odeint + lambdify": ode(hand_f, hand_j),
        "odeint + numba (raw)": ode(nb_f, nb_j),
        OURS: ours,
    }


def callback_cost(cm: CompiledModel, y: np.ndarray, calls: int = 20_000) -> dict[str, float]:
    """Seconds per Python-level call of the RHS and Jacobian wrappers that odeint calls back."""
    p = cm.pack()
    f, J = cm.f(p), cm.jacobian(p)
    out = {}
    for key, fn in (("rhs", f), ("jac", J)):
        fn(0.0, y)
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(0.0, y)
        out[key] = (time.perf_counter() - t0) / calls
    return out


def run_problem(name: str, repeats: int) -> dict[str, Any]:
    prob = P.problem(name)
    cm = prob.model.compile()
    runs = solvers(prob, cm)
    grid = log_grid(P.T_MAX)
    answers = {label: fn() for label, fn in runs.items()}  # warm-up calls, answers checked
    yref = answers[BASELINE]["y"]
    timings = P.best_of_interleaved(runs, repeats)
    variants: dict[str, Any] = {}
    for label, res in answers.items():
        if "t" in res and not np.array_equal(res["t"], grid):
            raise RuntimeError(f"{label} returned a different output grid")
        y = res["y"]
        variants[label] = {
            **timings[label],
            "nfev": res["nfev"],
            "njev": res["njev"],
            "nsteps": res["nsteps"],
            "final_rel_diff": float(np.max(np.abs(y[-1] - yref[-1]) / np.abs(yref[-1]))),
            "path_rel_diff": float(np.max(np.abs(y - yref) / (np.abs(yref) + P.ATOL))),
        }
    base = variants[BASELINE]["best"]
    for v in variants.values():
        v["speedup"] = base / v["best"]
    cost = callback_cost(cm, yref[-1])
    o = variants[OURS]
    breakdown = {
        "callback_rhs_s_per_call": cost["rhs"],
        "callback_jac_s_per_call": cost["jac"],
        "callbacks_estimate_s": o["nfev"] * cost["rhs"] + o["njev"] * cost["jac"],
        "raw_odeint_s": variants["odeint + numba (raw)"]["best"],
        "integrate_wrapper_s": o["best"] - variants["odeint + numba (raw)"]["best"],
    }
    return {
        "description": prob.description,
        "final_state_baseline": yref[-1].tolist(),
        "variants": variants,
        "breakdown": breakdown,
    }


def profile_integrate(name: str, calls: int, top: int = 12) -> str:
    """cProfile of ``calls`` calls of ``dynamics.integrate`` on problem ``name``: the
    functions with the most own time, then the most cumulative time (which shows the
    wrapper's pieces: grid, parameter and name handling, stdout capture, observables)."""
    prob = P.problem(name)
    cm = prob.model.compile()
    integrate(cm, prob.y0, t_max=P.T_MAX)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        integrate(cm, prob.y0, t_max=P.T_MAX)
    prof.disable()
    parts = [
        f"cProfile of {calls} x dynamics.integrate on {name!r} "
        "(the profiler inflates per-call Python costs)"
    ]
    for key, n in (("tottime", top), ("cumulative", 2 * top)):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(n)
        text = buf.getvalue()
        parts.append(f"-- sorted by {key}:\n" + text[text.find("   ncalls") :].rstrip())
    return "\n".join(parts)


def report(results: dict[str, Any]) -> bool:
    """Print tables, ratios and verdicts; return whether the same-answer check passed."""
    ok = True
    for name, r in results.items():
        print(
            f"\n== {name}: {r['description']}, to t = {P.T_MAX:g}, rtol {P.RTOL:g}, atol {P.ATOL:g}"
        )
        rows = []
        for label, v in r["variants"].items():
            rows.append(
                [
                    label,
                    f"{v['best'] * 1e3:.3f}",
                    f"{v['median'] * 1e3:.3f}",
                    v["nfev"],
                    v["njev"],
                    "-" if v["nsteps"] is None else v["nsteps"],
                    f"{v['speedup']:.1f}x",
                    f"{v['final_rel_diff']:.1e}",
                ]
            )
        print(
            P.table(
                rows,
                [
                    "variant",
                    "best ms",
                    "median ms",
                    "nfev",
                    "njev",
                    "steps",
                    "vs baseline",
                    "final rel diff",
                ],
            )
        )
        b = r["breakdown"]
        print(
            f"   dynamics.integrate: {r['variants'][OURS]['best'] * 1e3:.3f} ms = raw odeint "
            f"{b['raw_odeint_s'] * 1e3:.3f} ms + wrapper {b['integrate_wrapper_s'] * 1e3:.3f} ms; "
            f"Python callbacks ~{b['callbacks_estimate_s'] * 1e3:.3f} ms "
            f"({b['callback_rhs_s_per_call'] * 1e6:.2f} us/rhs, {b['callback_jac_s_per_call'] * 1e6:.2f} us/jac)"
        )
        diff = r["variants"][OURS]["final_rel_diff"]
        if not diff <= SAME_ANSWER_RTOL:
            ok = False
            print(
                f"   SAME-ANSWER CHECK FAILED: final states differ by {diff:.2e} > {SAME_ANSWER_RTOL:g}"
            )
    print(f"\nTarget: {OURS} at least {TARGET_SPEEDUP:g}x faster than {BASELINE}")
    for name, r in results.items():
        s = r["variants"][OURS]["speedup"]
        base_ms = r["variants"][BASELINE]["best"] * 1e3
        ours_ms = r["variants"][OURS]["best"] * 1e3
        print(
            f"  {name:15s} {base_ms:8.3f} ms / {ours_ms:7.3f} ms = {s:5.1f}x  "
            f"{P.verdict(s, TARGET_SPEEDUP, lower_is_better=False)}"
        )
    print(
        f"Same answer (final state, max relative difference <= {SAME_ANSWER_RTOL:g}): "
        + ("PASS" if ok else "FAIL")
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="best of 5 instead of 20")
    ap.add_argument("--json", metavar="FILE", help="write the numbers to FILE")
    ap.add_argument("--profile", action="store_true", help="cProfile dynamics.integrate")
    args = ap.parse_args(argv)
    print(P.machine_line())
    repeats = 5 if args.quick else 20
    results = {name: run_problem(name, repeats) for name in P.SOLVE_PROBLEMS}
    ok = report(results)
    profiles = {}
    if args.profile:
        for name in P.SOLVE_PROBLEMS:
            profiles[name] = profile_integrate(name, calls=repeats)
            print("\n" + profiles[name])
    if args.json:
        P.write_json(
            args.json,
            {
                "benchmark": "solve",
                "t_max": P.T_MAX,
                "rtol": P.RTOL,
                "atol": P.ATOL,
                "repeats": repeats,
                "target_speedup": TARGET_SPEEDUP,
                "problems": results,
                "same_answer_ok": ok,
                "profiles": profiles,
            },
        )
    if not ok:
        print("FAILED: dynamics.integrate does not give the baseline's answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
