"""Huang et al. 2025 reduced model: build time (cold, warm), one solve to tau = 1e5, and
the chain-rule code generation against the fully expanded Jacobian.

Targets (issue 3): build under 10 s cold and under 1 s warm; one ODE solve to t = 1e5 under 1 s.

    python benchmarks/bench_huang.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

BUILD = textwrap.dedent("""
    import time, json
    import dynamics.integrate  # noqa: F401  (scipy, as every real use imports it)
    t0 = time.perf_counter()
    from derivations.huang2025.reduced import reduced_model
    m = reduced_model()
    cm = m.compile()
    t1 = time.perf_counter()
    print(json.dumps({"build_s": t1 - t0, "cache": cm.build["cache"]}))
""")


def _build(cache: str) -> dict[str, float]:
    env = dict(os.environ, DYNAMICS_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", BUILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        cold = _build(cache)
        warm = _build(cache)
    import numpy as np

    from derivations.huang2025.experiments import schedule
    from derivations.huang2025.reduced import reduced_model
    from derivations.huang2025.verify import Settings
    from dynamics.integrate import integrate

    cm = reduced_model().compile()
    s = Settings()
    y0 = np.zeros(cm.n_state)
    integrate(cm, y0, {"lambda": 2.0}, t_max=1e5, schedule=schedule(s))
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        tr = integrate(cm, y0, {"lambda": 2.0}, t_max=1e5, schedule=schedule(s))
        times.append(time.perf_counter() - t0)
    res = {"build_cold_s": cold["build_s"], "build_warm_s": warm["build_s"], "solve_1e5_s": min(times),
           "solve_nsteps": float(tr.stats["nsteps"])}
    print(f"{'quantity':34s} {'measured':>10s} {'target':>8s}")
    for key, target in (("build_cold_s", 10.0), ("build_warm_s", 1.0), ("solve_1e5_s", 1.0)):
        verdict = "PASS" if res[key] < target else "MISS"
        print(f"{key:34s} {res[key]:10.4f} {target:8.1f}  {verdict}  (ratio to target {res[key] / target:.3f})")
    print(f"(cold build was a cache {cold['cache']}, warm a cache {warm['cache']}; solve: {tr.stats['nsteps']} LSODA steps)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == "__main__":
    main()
