"""Build time of a 10-state model: cold (empty cache) and warm (from cache, new process).

Run ``python benchmarks/bench_build.py [--quick] [--json FILE]``.

Every measurement runs in a fresh Python subprocess with ``DYNAMICS_CACHE_DIR`` pointing
at a temporary directory (and ``NUMBA_CACHE_DIR`` unset, so numba's cache sits next to
the generated module in that directory):

* **cold**: the directory is new and empty. Inside the process, after the imports, we
  time ``ReducedModel`` construction + ``compile()`` (sympy differentiation, code
  generation, numba compilation of rhs/jac/obs/obs_batch, writing both caches), and
  ``compile()`` alone;
* **warm**: a *new* process on the same directory. We time ``compile()`` inside the
  process (content hash, import of the cached module, loading numba's cache), and the
  wall time of the whole process as seen from outside (interpreter start-up, all
  imports, build, first call, exit).

For reference, two more processes on the warm directory: one that only makes the imports
(the floor of any process that uses ``dynamics``), and one that imports numpy and numba
only and loads the generated module file directly with ``importlib`` (what a sweep
worker could do without sympy, scipy or ``dynamics``).

What the in-process timings exclude: interpreter start-up and the imports of numpy,
sympy, numba, scipy (``import dynamics.integrate``: every real use makes it, and numba's
first cache load imports ``scipy.linalg`` anyway) and ``dynamics``; they are reported
separately. The first call of the generated ``rhs`` is timed separately too.

Targets: cold under 5 s; warm from cache in a new process under 0.5 s (checked for
``compile()`` after imports, and, as the strictest reading, for the whole process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

TARGET_COLD_S = 5.0
TARGET_WARM_S = 0.5
PROBLEM = "logistic"
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

# A full build: imports, then the timed construction and compile, then one rhs call.
CHILD_BUILD = r"""
import time
t_start = time.perf_counter()
import json, sys
import numpy as np
import sympy
import numba
import dynamics.integrate  # numpy, scipy (scipy.integrate), dynamics
sys.path.insert(0, {bench_dir!r})
import _problems
t_imported = time.perf_counter()
prob = _problems.problem({problem!r})  # builds the sympy ReducedModel
t_model = time.perf_counter()
cm = prob.model.compile()
t_compiled = time.perf_counter()
out = np.empty(prob.model.n_state)
cm.rhs(0.0, prob.y0, cm.pack(), cm.data, cm.bounds, out)
t_called = time.perf_counter()
assert np.all(np.isfinite(out))
print(json.dumps({{
    "imports_s": t_imported - t_start,
    "construct_s": t_model - t_imported,
    "compile_s": t_compiled - t_model,
    "construct_compile_s": t_compiled - t_imported,
    "first_call_s": t_called - t_compiled,
    "inside_s": t_called - t_start,
    "cache": cm.build["cache"],
    "module_path": str(cm.module_path),
    "scipy_linalg_imported": "scipy.linalg" in sys.modules,
}}))
"""

# The same imports and nothing else.
CHILD_IMPORTS = r"""
import time
t_start = time.perf_counter()
import json, sys
import numpy as np
import sympy
import numba
import dynamics.integrate
sys.path.insert(0, {bench_dir!r})
import _problems
print(json.dumps({{"imports_s": time.perf_counter() - t_start}}))
"""

# numpy + numba only, then the generated file imported directly (its numba cache loads).
CHILD_MODULE = r"""
import time
t_start = time.perf_counter()
import importlib.util, json, sys
import numpy as np
import numba
t_imported = time.perf_counter()
# the module name dynamics.codegen.load_module uses: numba's cache refers to it
name = "_dynamics_gen_" + {module_stem!r}.replace("-", "_").replace(".", "_")
spec = importlib.util.spec_from_file_location(name, {module_path!r})
mod = importlib.util.module_from_spec(spec)
sys.modules[name] = mod
spec.loader.exec_module(mod)
t_loaded = time.perf_counter()
out = np.empty(mod.N_STATE)
p = np.ones(mod.N_PARAMS + len(mod.GROUPS))
mod.rhs(0.0, np.full(mod.N_STATE, 0.1), p, np.zeros((1, 1)), np.zeros(1, dtype=np.int64), out)
assert np.all(np.isfinite(out))
print(json.dumps({{"imports_s": t_imported - t_start, "load_s": t_loaded - t_imported,
                   "first_call_s": time.perf_counter() - t_loaded,
                   "sympy_imported": "sympy" in sys.modules,
                   "scipy_imported": "scipy" in sys.modules}}))
"""


def run_child(code: str, cache_dir: str) -> dict[str, Any]:
    """Run ``code`` in a new process on ``cache_dir``; add its wall time seen from outside."""
    env = dict(os.environ)
    env["DYNAMICS_CACHE_DIR"] = cache_dir
    env.pop("NUMBA_CACHE_DIR", None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{proc.stderr}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = wall
    if "inside_s" in res:
        res["startup_exit_s"] = wall - res["inside_s"]
    return res


def measure(cold_repeats: int, warm_per_cold: int) -> dict[str, list[dict[str, Any]]]:
    """Cold builds in new empty directories, each followed by warm processes on it."""
    build = CHILD_BUILD.format(bench_dir=BENCH_DIR, problem=PROBLEM)
    imports = CHILD_IMPORTS.format(bench_dir=BENCH_DIR)
    runs: dict[str, list[dict[str, Any]]] = {
        "cold": [],
        "warm": [],
        "imports_only": [],
        "module_only": [],
    }
    for _ in range(cold_repeats):
        with tempfile.TemporaryDirectory(prefix="dynamics-bench-build-") as d:
            r = run_child(build, d)
            if r["cache"] != "miss":
                raise RuntimeError(f"expected a cache miss in an empty directory, got {r['cache']}")
            runs["cold"].append(r)
            path = r["module_path"]
            stem = os.path.splitext(os.path.basename(path))[0]
            module = CHILD_MODULE.format(module_path=path, module_stem=stem)
            for _ in range(warm_per_cold):
                r = run_child(build, d)
                if r["cache"] != "hit":
                    raise RuntimeError(f"expected a cache hit in a new process, got {r['cache']}")
                runs["warm"].append(r)
                runs["imports_only"].append(run_child(imports, d))
                runs["module_only"].append(run_child(module, d))
    return runs


def _stats(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
    xs = [r[key] for r in runs]
    return {"best": min(xs), "median": statistics.median(xs), "max": max(xs)}


def report(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    stages = [
        ("imports_s", "imports (numpy, sympy, numba, scipy, dynamics)"),
        ("construct_s", "ReducedModel construction"),
        ("compile_s", "compile()"),
        ("construct_compile_s", "construction + compile()"),
        ("first_call_s", "first rhs call"),
        ("startup_exit_s", "interpreter start-up + exit"),
        ("process_wall_s", "whole process (wall, from outside)"),
    ]
    summary: dict[str, Any] = {}
    rows = []
    for key, label in stages:
        c, w = _stats(runs["cold"], key), _stats(runs["warm"], key)
        summary[key] = {"cold": c, "warm": w}
        rows.append(
            [
                label,
                f"{c['median']:.3f}",
                f"{c['best']:.3f}",
                f"{w['median']:.3f}",
                f"{w['best']:.3f}",
            ]
        )
    prob = P.problem(PROBLEM)
    print(f"\n== model build: {prob.description} ({prob.model.name}), seconds")
    print(f"   cold runs: {len(runs['cold'])}, warm runs: {len(runs['warm'])} (each a new process)")
    print(P.table(rows, ["stage", "cold median", "cold best", "warm median", "warm best"]))
    linalg = sorted({r["scipy_linalg_imported"] for r in runs["warm"]})
    print(f"   scipy.linalg imported by the end of a warm process: {linalg}")

    imp = _stats(runs["imports_only"], "process_wall_s")
    mod = {k: _stats(runs["module_only"], k) for k in ("imports_s", "load_s", "process_wall_s")}
    summary["imports_only_process_wall_s"] = imp
    summary["module_only"] = mod
    print("\n   reference processes on the warm cache (medians):")
    print(f"   only the imports above:                          {imp['median']:.3f} s wall")
    print(
        f"   numpy+numba, then importlib on the cached file:  {mod['process_wall_s']['median']:.3f} s wall "
        f"(imports {mod['imports_s']['median']:.3f} s, module load {mod['load_s']['median']:.3f} s)"
    )

    cold = summary["construct_compile_s"]["cold"]["median"]
    warm = summary["compile_s"]["warm"]["median"]
    warm_wall = summary["process_wall_s"]["warm"]["median"]
    verdicts = {
        "cold": P.verdict(cold, TARGET_COLD_S),
        "warm": P.verdict(warm, TARGET_WARM_S),
        "warm_whole_process": P.verdict(warm_wall, TARGET_WARM_S),
    }
    print("\nTargets (medians):")
    print(
        f"  cold build (construction + compile, after imports) {cold:6.3f} s < {TARGET_COLD_S:g} s    "
        f"{verdicts['cold']}  (ratio to target {cold / TARGET_COLD_S:.2f})"
    )
    print(
        f"  warm compile() in a new process, after imports     {warm:6.3f} s < {TARGET_WARM_S:g} s  "
        f"{verdicts['warm']}  (ratio to target {warm / TARGET_WARM_S:.2f})"
    )
    print(
        f"  warm whole process (start-up + imports + build)    {warm_wall:6.3f} s < {TARGET_WARM_S:g} s  "
        f"{verdicts['warm_whole_process']}  (ratio to target {warm_wall / TARGET_WARM_S:.2f}; "
        f"the imports alone take {imp['median']:.3f} s)"
    )
    print(f"  cold / warm compile(): {summary['compile_s']['cold']['median'] / warm:.1f}x")
    return {"summary": summary, "verdicts": verdicts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="1 cold and 2 warm runs instead of 3 and 9"
    )
    ap.add_argument("--json", metavar="FILE", help="write the numbers to FILE")
    args = ap.parse_args(argv)
    print(P.machine_line())
    cold_repeats, warm_per_cold = (1, 2) if args.quick else (3, 3)
    runs = measure(cold_repeats, warm_per_cold)
    out = report(runs)
    if args.json:
        P.write_json(
            args.json,
            {
                "benchmark": "build",
                "problem": PROBLEM,
                "targets_s": {"cold": TARGET_COLD_S, "warm": TARGET_WARM_S},
                "runs": runs,
                **out,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
