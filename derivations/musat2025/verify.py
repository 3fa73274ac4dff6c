r"""Claims and the registered derivation ``musat2025`` (work in progress).

Checked in this version: the depth lower bound table and the task generator's consistency,
and the reduced model R1 (spec 5.2, a reconstruction): emergence in dependency order with a
curriculum, emergence time ~ n with a curriculum against ~ n^m with hard data only (fitted
log-log exponents with standard errors), merging of stages under a gap in the mixture, and the
learnability boundary in (pi_1, weight decay) from integration and from the eigenvalues of
the Jacobian at the near-zero fixed point. The direct transformer and its measurements are in
progress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import root

from derivations.musat2025.data import RetrievalTask, min_layers, resolve
from derivations.musat2025.reduced import r1_model
from dynamics.analysis import first_crossing, loglog_slope
from dynamics.claims import Claim, check, check_equal
from dynamics.codegen import CompiledModel
from dynamics.integrate import integrate
from dynamics.registry import Derivation
from dynamics.verify import VerifyContext

__all__ = ["Setting", "emergence_times", "claim_order", "claim_scaling", "claim_merge", "claim_boundary",
           "verify", "derivation"]

RECONSTRUCTED = (
    "the retrieval task format: two-token link statements, shuffled, a query at the end (spec 2.2 [INFER])",
    "the implicit-curriculum regimes IC-A (all-position supervision) and IC-B (mixture over hops) (spec 3.2 [INFER])",
    "the depth lower bound ceil(log_3(2D)) derivation from Assumption 1 (spec 1.2 [INFER])",
    "the reduced model R1 (spec 5.2 [INFER]); emergence = attention on the correct key crossing 1/2",
)


@dataclass(frozen=True)
class Setting:
    m: int = 3
    V: float = 16.0
    n: float = 8.0
    t_max: float = 1e6

    def __post_init__(self) -> None:
        if not 1 <= self.m <= 5:
            raise ValueError(f"m must be in 1..5, got {self.m}")
        if not (self.V > 1 and self.n > 1 and self.t_max > 0):
            raise ValueError("V and n must exceed 1 and t_max must be positive")


def emergence_times(cm: CompiledModel, params: dict[str, float], t_max: float, m: int) -> list[float]:
    """Times at which each head's correct-key attention p_i first crosses 1/2 (nan if never)."""
    tr = integrate(cm, np.zeros(m + 1), params, t_max=t_max, n_points=800)
    return [first_crossing(tr.t, tr[f"p{i + 1}"], 0.5, "up") for i in range(m)]


def claim_order(times: list[float]) -> Claim:
    order = [i + 1 for i in np.argsort(times)] if all(np.isfinite(times)) else []
    return check_equal(
        "musat2025.r1-order", "R1 with a curriculum (uniform pi): the stacked heads emerge one by one in "
        "dependency order 1, 2, ..., m.", list(range(1, len(times) + 1)), [int(i) for i in order],
        source="reconstruction", why="exact ordering of the measured emergence times.",
        details={"emergence_times": times})


def claim_scaling(kind: str, ns: list[float], times: list[float], predicted: float, tol: float, why: str) -> Claim:
    fit = loglog_slope(np.asarray(ns), np.asarray(times))
    return check(
        f"musat2025.r1-scaling.{kind}", f"R1: the emergence time grows like n^{predicted:g} "
        f"({'with a curriculum' if kind == 'curriculum' else 'with hard data only'}): fitted log-log "
        f"exponent over n = {ns} (stderr {fit.stderr:.3f}).", predicted, fit.slope, tol=tol,
        source="reconstruction", why=why, details={"n": ns, "times": times, "stderr": fit.stderr})


def claim_merge(times_gap: list[float]) -> Claim:
    t1, t2, t3 = times_gap[:3]
    return check(
        "musat2025.r1-merge", "R1: a gap in the mixture (pi_2 = 0) merges stages 2 and 3 into one jump: "
        "(t3 - t2)/(t2 - t1).", 0.0, (t3 - t2) / (t2 - t1), tol=0.05, source="reconstruction",
        why="without class-2 data head 2 gets no drive of its own until head 3's signal pulls both; the two "
            "crossings then coincide up to the output grid spacing (~1% of t), far below 5% of the stage gap.",
        details={"times": times_gap})


def claim_boundary(agreement: float, n_cells: int) -> Claim:
    return check(
        "musat2025.r1-learnability", "R1 with weight decay: the learnability boundary in (pi_1, weight decay) "
        "from integration (the flow leaves the near-zero state by t_max: some head's p_i > 1/2) agrees with the stability of the near-zero fixed point "
        "(Jacobian eigenvalues): fraction of grid cells where both say the same.", 1.0, agreement,
        tol=0.1, source="reconstruction",
        why=f"both classify the same bifurcation; cells within one grid step of the boundary can differ "
            f"because escape near the bifurcation is slower than t_max: allow 10% of {n_cells} cells.")


def _near_zero_fixed_point_stable(cm: CompiledModel, params: dict[str, float], m: int) -> bool:
    p = cm.pack(params)
    f, J = cm.f(p), cm.jacobian(p)
    sol = root(lambda y: f(0.0, y), np.zeros(m + 1), jac=lambda y: J(0.0, y), method="hybr")
    if not sol.success or np.max(np.abs(sol.x)) > 1.0:
        return False  # no fixed point near the origin: the flow leaves it
    return bool(np.max(np.linalg.eigvals(J(0.0, sol.x)).real) < 0)


def verify(ctx: VerifyContext) -> list[Claim]:
    import matplotlib.pyplot as plt

    s = ctx.settings if isinstance(ctx.settings, Setting) else Setting()
    claims: list[Claim] = []
    with ctx.stage("task generator and depth bound"):
        task = RetrievalTask(n_chains=4, depth=6, regime="ic_a")
        b = task.sample(ctx.rng(0), 256)
        correct = float(np.mean([resolve(b.tokens[i], task) == b.answer[i] for i in range(256)]))
        claims.append(check("musat2025.generator", "Every generated query resolves, by following the links, "
                            "to its labelled answer (256 IC-A examples, 4 chains of depth 6).", 1.0, correct,
                            tol=0.0, source="reconstruction", why="exact: the oracle follows the statements."))
        Ds = [1, 2, 4, 5, 13, 14, 40, 41]
        claims.append(check_equal("musat2025.depth-bound", "The layer lower bound ceil(log_3(2D)) (spec 1.2) "
                                  f"for D = {Ds}.", [1, 2, 2, 3, 3, 4, 4, 5], [min_layers(D) for D in Ds],
                                  source="reconstruction", why="integer arithmetic (smallest t with 3^t >= 2D)."))
    with ctx.stage("reduced model R1: derive and compile"):
        cm = r1_model(s.m).compile()
        ctx.config["build"] = cm.build
    base = {"n": s.n, "V": s.V}
    hard = {f"pi{j + 1}": (1.0 if j == s.m - 1 else 0.0) for j in range(s.m)}
    with ctx.stage("R1: order, scaling in n, merging"):
        times = emergence_times(cm, base, s.t_max, s.m)
        claims.append(claim_order(times))
        ns = [8.0, 16.0, 32.0]
        cur = [emergence_times(cm, {"n": n, "V": s.V}, s.t_max, s.m)[0] for n in ns]
        hd = [emergence_times(cm, {"n": n, "V": s.V} | hard, 1e8, s.m)[s.m - 1] for n in ns]
        claims.append(claim_scaling(
            "curriculum", ns, cur, 1.0, 0.15,
            "t_1 ~ (n / pi_1) sqrt(2 ln n) to leading order (spec 5.2): the sqrt(ln n) factor and the n-1 vs n "
            "difference move the local exponent by about 0.1 over n = 8..32."))
        claims.append(claim_scaling(
            "hard-only", ns, hd, float(s.m), 0.3,
            "t ~ n^m sqrt(2 ln n) to leading order (spec 5.2): the log factor and finite-n corrections lower "
            "the local exponent by up to ~0.2 at n = 8..32 (it approaches m as n grows)."))
        gap = {f"pi{j + 1}": (0.0 if j == 1 else 1.0 / (s.m - 1)) for j in range(s.m)}
        tg = emergence_times(cm, base | gap, s.t_max, s.m)
        if s.m >= 3:
            claims.append(claim_merge(tg))
    with ctx.stage("R1: learnability boundary in (pi_1, weight decay)"):
        p1s = np.linspace(0.0, 1.0, 9)
        wds = np.geomspace(1e-4, 1e-1, 9)
        learned = np.zeros((p1s.size, wds.size), dtype=bool)
        stable = np.zeros_like(learned)
        for i, p1 in enumerate(p1s):
            mix = {f"pi{j + 1}": 0.0 for j in range(s.m)}
            mix["pi1"] = float(p1)
            mix[f"pi{s.m}"] = mix.get(f"pi{s.m}", 0.0) + float(1 - p1)
            for k, wd in enumerate(wds):
                params = base | mix | {"wd": float(wd)}
                tr = integrate(cm, np.zeros(s.m + 1), params, t_max=1e5, n_points=100)
                # "learns" = leaves the near-zero state: some head's attention crosses 1/2
                learned[i, k] = bool(max(tr[f"p{j + 1}"][-1] for j in range(s.m)) > 0.5)
                stable[i, k] = _near_zero_fixed_point_stable(cm, params, s.m)
        agree = float(np.mean(learned == ~stable))
        claims.append(claim_boundary(agree, learned.size))
        np.savez(ctx.out_dir / "learnability.npz", pi1=p1s, wd=wds, learned=learned, stable=stable)
    with ctx.stage("figures"):
        tr = integrate(cm, np.zeros(s.m + 1), base, t_max=200.0, n_points=400, t_min=1e-1)
        fig, ax = plt.subplots(1, 3, figsize=(16, 4))
        for i in range(s.m):
            ax[0].plot(tr.t, tr[f"p{i + 1}"], label=f"head {i + 1}")
            if math.isfinite(times[i]):
                ax[0].axvline(times[i], ls=":", color=f"C{i}")
        ax[0].set(xlabel="t", ylabel="attention on the correct key p_i", title=f"R1, uniform curriculum (n = {s.n:g})")
        ax[0].legend(fontsize=8)
        ax[1].loglog(ns, cur, "o-", label="curriculum: first head")
        ax[1].loglog(ns, hd, "s-", label="hard only: all heads")
        ax[1].set(xlabel="competing keys n", ylabel="emergence time", title="emergence time against n")
        ax[1].legend(fontsize=8)
        ax[2].imshow(learned.T, origin="lower", aspect="auto", cmap="Greens",
                     extent=(p1s[0], p1s[-1], math.log10(wds[0]), math.log10(wds[-1])))
        ax[2].contour(p1s, np.log10(wds), (~stable).T.astype(float), levels=[0.5], colors="r")
        ax[2].set(xlabel="pi_1 (rest of the mass on the hardest class)", ylabel="log10 weight decay",
                  title="leaves the near-zero state by t = 1e5 (green);\nred: fixed-point stability boundary")
        ctx.save_figure("r1", fig)
    ctx.note("Work in progress: the direct attention-only transformer, its per-head emergence measurements and "
             "the constructive circuit are not checked yet in this version.")
    return claims


derivation = Derivation(
    name="musat2025",
    title="Musat 2025: stacked attention heads, retrieval depth bound, reduced model R1 (in progress)",
    model=r1_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
)
