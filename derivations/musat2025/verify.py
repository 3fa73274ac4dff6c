r"""Claims and the registered derivation ``musat2025``.

Checked: the depth lower bound table and the task generator's consistency; the reduced model
R1 (spec 5.2, the spec's proposal, not the paper's): emergence in dependency order with a
curriculum, emergence time ~ n with a curriculum against ~ n^m with hard data only (fitted
log-log exponents with standard errors), merging of stages under a gap in the mixture, and the
learnability boundary in (pi_1, weight decay) from integration and from the eigenvalues of
the Jacobian at the near-zero fixed point; the hand-set constructive circuit; and a small
attention-only transformer trained directly (emergence order across seeds, stages, curriculum,
depth bound). ``musat2025.order-seeds`` and ``musat2025.curriculum`` are registered findings
about our reconstruction (:mod:`.findings`), until issue 17 rebuilds them.

Source tags (``dynamics.claims.SOURCES``): ``paper`` for what the paper states (the layer
bound, "only under an implicit curriculum", "always in a specific sequence"); ``derived`` for
predictions of our own derivations (R1's order, rates, merging and boundary; the bridge from
R1 to the transformer); ``reconstruction`` for checks of what we reconstructed (the task
generator, the hand-set circuit).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import root

from derivations.musat2025.construct import (
    constructive_depth,
    constructive_params,
    query_accuracy_by_depth,
)
from derivations.musat2025.data import RetrievalTask, min_layers, resolve, undetermined_fraction
from derivations.musat2025.experiments import (
    Job,
    TrainConfig,
    TrainingRun,
    emergence_events,
    head_roles,
    order_agreement,
    run_many,
)
from derivations.musat2025.findings import FINDINGS
from derivations.musat2025.reduced import r1_model
from dynamics.analysis import first_crossing, loglog_slope
from dynamics.claims import Claim, check, check_equal
from dynamics.codegen import CompiledModel
from dynamics.integrate import integrate
from dynamics.registry import Derivation
from dynamics.verify import VerifyContext

__all__ = ["Setting", "emergence_times", "claim_order", "claim_scaling", "claim_merge", "claim_boundary",
           "boundary_edge", "verify", "derivation", "SCALING_TOL", "SCALING_WHY"]

LEARNED = 0.9  # final hardest-query accuracy that counts as "learned" (see claim_curriculum)

#: Tolerance of the R1 scaling exponents, and why (both regimes; see :data:`SCALING_WHY`).
SCALING_TOL = 0.15
SCALING_WHY = {
    "curriculum": (
        "Leading order (our derivation; it corrects spec 5.2): before head 1 escapes, a_1' ~ c w e^{a_1} and "
        "w' ~ c e^{a_1} with c = (1 - 1/V) sum_j pi_j n^{-j} ~ pi_1/n, so in the time c t the escape is a "
        "finite-time blow-up whose time does not depend on n: t_1 ~ 1/c ~ n, exponent 1. (The spec's extra "
        "sqrt(2 ln n), from a_1 ~ c^2 t^2/2 reaching ln n without the feedback of a_1 on p_1, would give "
        "1.18 over n = 8..32.) What remains are corrections of relative order 1/n (the pi_2/n^2 and "
        "pi_3/n^3 drive, n - 1 against n, the saturation of p_1): 1/(8 - 1) = 0.14 at the smallest n; in "
        "the early-time estimate sqrt(2 (1 - 1/n))/c they move the exponent by +0.11; reading the crossings off "
        "the output grid (2.3% of t) adds at most 0.02. Tolerance 0.15: "
        "corrections of that size pass, the sqrt(ln n) law and any other integer exponent fail."),
    "hard-only": (
        "Leading order (our derivation; it corrects spec 5.2): with pi_m = 1 every head obeys "
        "a' ~ c w e^{m a}, w' ~ c e^{m a} with c = (1 - 1/V) n^{-m}, a blow-up in the time c t, so "
        "t ~ n^m, exponent m. (The spec's extra sqrt(2 ln n) would give m + 0.18 over n = 8..32.) What "
        "remains are corrections of relative order 1/n, 1/(8 - 1) = 0.14 at the smallest n: the "
        "early-time estimate sqrt(2/(m (1 - 1/n)))/c moves the exponent by -0.04, the saturation of the "
        "p_i after the blow-up by a similar amount that vanishes as n grows (local exponents 2.88, 2.93, "
        "2.97 for n = 8-16, 16-32, 32-64 with m = 3, measured once outside the run). Tolerance 0.15: these "
        "pass, the sqrt(ln n) law and m - 1, m + 1 fail."),
}

RECONSTRUCTED = (
    "the retrieval task format: two-token link statements, shuffled, a query at the end (spec 2.2, reconstructed)",
    "the implicit-curriculum regimes IC-A (all-position supervision) and IC-B (mixture over hops) (spec 3.2, "
    "reconstructed); IC-A as reconstructed supervises statement labels that the preceding tokens do not "
    "determine (see the finding on musat2025.curriculum)",
    "the depth lower bound ceil(log_3(2D)) derivation from Assumption 1 (spec 1.2, reconstructed; the bound "
    "itself is the paper's)",
    "the reduced model R1 (spec 5.2, the spec's proposal); emergence = attention on the correct key crossing 1/2",
    "the constructive circuit (one hop per layer after a previous-token layer; spec 1.3, reconstructed)",
    "the transformer (attention-only, no MLP/LayerNorm; spec 2.2, reconstructed) and its sizes, scaled down to "
    "train in seconds (2 chains of depth 2, 4 values, 8 variables, 3 layers x 2 heads, d_model 32)",
    "structural attention scores, head roles and emergence times (spec 3.3, reconstructed)",
)


@dataclass(frozen=True)
class Setting:
    """Knobs of ``dynamics verify musat2025`` (``--set NAME=VALUE``).

    ``m, V, n, t_max``: the reduced model R1 (heads, answers, competing keys, horizon).
    ``seeds, train_steps``: the transformer runs (IC-B seeds for the emergence order, Adam
    steps per run). ``--quick`` caps them at 5 seeds and 3000 steps, drops the L = 4 run and
    halves the evaluation batch.
    """

    m: int = 3
    V: float = 16.0
    n: float = 8.0
    t_max: float = 1e6
    seeds: int = 8
    train_steps: int = 4000

    def __post_init__(self) -> None:
        if not 1 <= self.m <= 5:
            raise ValueError(f"m must be in 1..5, got {self.m}")
        if not (self.V > 1 and self.n > 1 and self.t_max > 0):
            raise ValueError("V and n must exceed 1 and t_max must be positive")
        if self.seeds < 2:
            raise ValueError(f"seeds must be >= 2 (an order is compared across seeds), got {self.seeds}")
        if self.train_steps < 10:
            raise ValueError(f"train_steps must be >= 10, got {self.train_steps}")


def emergence_times(cm: CompiledModel, params: dict[str, float], t_max: float, m: int) -> list[float]:
    """Times at which each head's correct-key attention p_i first crosses 1/2 (nan if never)."""
    tr = integrate(cm, np.zeros(m + 1), params, t_max=t_max, n_points=800)
    return [first_crossing(tr.t, tr[f"p{i + 1}"], 0.5, "up") for i in range(m)]


def claim_order(times: list[float]) -> Claim:
    order = [i + 1 for i in np.argsort(times)] if all(np.isfinite(times)) else []
    return check_equal(
        "musat2025.r1-order", "R1 with a curriculum (uniform pi): the stacked heads emerge one by one in "
        "dependency order 1, 2, ..., m.", list(range(1, len(times) + 1)), [int(i) for i in order],
        source="derived", why="exact ordering of the measured emergence times; at n = 8 they are 20-30% of t "
        "apart, ten times the output grid spacing (2.3% of t: 800 log-spaced points over 1e-2..1e6), so no tie "
        "tolerance is needed.",
        details={"emergence_times": times})


def claim_scaling(kind: str, ns: list[float], times: list[float], predicted: float, tol: float, why: str) -> Claim:
    fit = loglog_slope(np.asarray(ns), np.asarray(times))
    return check(
        f"musat2025.r1-scaling.{kind}", f"R1: the emergence time grows like n^{predicted:g} "
        f"({'with a curriculum' if kind == 'curriculum' else 'with hard data only'}): fitted log-log "
        f"exponent over n = {ns} (stderr {fit.stderr:.3f}).", predicted, fit.slope, tol=tol,
        source="derived", why=why, details={"n": ns, "times": times, "stderr": fit.stderr})


def claim_merge(times_gap: list[float]) -> Claim:
    t1, t2, t3 = times_gap[:3]
    return check(
        "musat2025.r1-merge", "R1: a gap in the mixture (pi_2 = 0) merges stages 2 and 3 into one jump: "
        "(t3 - t2)/(t2 - t1).", 0.0, (t3 - t2) / (t2 - t1), tol=1e-6, source="derived",
        why="with pi_2 = 0 heads 2 and 3 enter the loss only through the classes that need both, so they obey "
            "the same equation from the same start and cross 1/2 at the same time exactly (measured: equal to "
            "the last digit); the only spread is rounding in the generated right-hand side, amplified by the "
            "integrator, far below 1e-6 of the stage gap. With the uniform mixture the ratio is about 0.9.",
        details={"times": times_gap})


def boundary_edge(stable: np.ndarray) -> np.ndarray:
    """Cells where the near-zero fixed point is unstable and a 4-neighbour's is stable: the
    unstable side of the stability boundary, one grid step wide."""
    st = np.asarray(stable, dtype=bool)
    nb = np.zeros_like(st)
    nb[1:] |= st[:-1]
    nb[:-1] |= st[1:]
    nb[:, 1:] |= st[:, :-1]
    nb[:, :-1] |= st[:, 1:]
    return ~st & nb


def claim_boundary(agreement: float, n_cells: int, n_edge: int) -> Claim:
    return check(
        "musat2025.r1-learnability", "R1 with weight decay: the learnability boundary in (pi_1, weight decay) "
        "from integration (the flow leaves the near-zero state by t_max: some head's p_i > 1/2) agrees with "
        "the stability of the near-zero fixed point (Jacobian eigenvalues): fraction of grid cells where "
        "both say the same.", 1.0, agreement, tol=n_edge / n_cells, source="derived",
        why=f"both classify the same bifurcation; they can differ only where the fixed point is unstable "
            f"but so weakly that the flow escapes after t_max: the unstable cells one grid step from the "
            f"stability boundary, {n_edge} of {n_cells} here. Tolerance = that fraction, {n_edge}/{n_cells}.",
        details={"edge_cells": n_edge})


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
        claims.append(check_equal(
            "musat2025.depth-bound", "The paper's layer lower bound t >= log_3(2D) (spec 1.1, read in the "
            f"sciencestack TL;DR) as the smallest integer t: our min_layers (integer arithmetic) for D = {Ds} "
            "against ceil(log_3(2D)) in floating point.", [math.ceil(math.log(2 * D) / math.log(3)) for D in Ds],
            [min_layers(D) for D in Ds], source="paper",
            why="integers compared exactly; 2D is never a power of 3, and log_3(2D) is at least 0.01 from an "
                "integer for these D, far above floating-point error."))
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
        claims.append(claim_scaling("curriculum", ns, cur, 1.0, SCALING_TOL, SCALING_WHY["curriculum"]))
        claims.append(claim_scaling("hard-only", ns, hd, float(s.m), SCALING_TOL, SCALING_WHY["hard-only"]))
        gap = {f"pi{j + 1}": (0.0 if j == 1 else 1.0 / (s.m - 1)) for j in range(s.m)}
        tg = emergence_times(cm, base | gap, s.t_max, s.m)
        if s.m >= 3:
            claims.append(claim_merge(tg))
    with ctx.stage("R1: learnability boundary in (pi_1, weight decay)"):
        p1s = np.linspace(0.0, 1.0, 9)
        wds = np.geomspace(1e-4, 1e-1, 9)
        from dynamics.batch import solve_batch

        learned = np.zeros((p1s.size, wds.size), dtype=bool)
        stable = np.zeros_like(learned)
        cells = []
        for i, p1 in enumerate(p1s):
            mix = {f"pi{j + 1}": 0.0 for j in range(s.m)}
            mix["pi1"] = float(p1)
            mix[f"pi{s.m}"] = mix.get(f"pi{s.m}", 0.0) + float(1 - p1)
            for k, wd in enumerate(wds):
                cells.append((i, k, base | mix | {"wd": float(wd)}))
        # all cells in one call of the compiled batch integrator (dynamics.batch)
        res = solve_batch(cm, np.zeros(s.m + 1), np.stack([cm.pack(c[2]) for c in cells]),
                          np.array([0.0, 1e5]))
        if not res.ok.all():
            raise RuntimeError(f"batch integration failed at {int((~res.ok).sum())} grid cells: "
                               f"{sorted(set(res.status_names()))}")
        for idx, (i, k, params) in enumerate(cells):
            final = cm.observables(res.y[idx, -1:], cm.pack(params))
            # "learns" = leaves the near-zero state: some head's attention crosses 1/2
            learned[i, k] = bool(max(final[f"p{j + 1}"][-1] for j in range(s.m)) > 0.5)
            stable[i, k] = _near_zero_fixed_point_stable(cm, params, s.m)
        agree = float(np.mean(learned == ~stable))
        claims.append(claim_boundary(agree, learned.size, int(boundary_edge(stable).sum())))
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
        ctx.save_figure(
            "r1", fig, caption="Left: R1's attention on the correct key for each head with a uniform curriculum; "
            "the heads cross 1/2 (dotted) one after another in dependency order 1, 2, 3. Middle: emergence time "
            "against the number of competing keys n on log-log axes; the curriculum line has slope about 1, the "
            "hard-only line slope about m = 3. Right: where the flow leaves the near-zero state by t = 1e5 "
            "(green) against weight decay and pi_1; the red line, the fixed point's stability boundary, should "
            "trace the green region's edge.",
            claims=("musat2025.r1-order", "musat2025.r1-scaling.curriculum", "musat2025.r1-scaling.hard-only",
                    "musat2025.r1-learnability"))
    claims += verify_constructive(ctx)
    claims += verify_transformer(ctx, s)
    return claims


derivation = Derivation(
    name="musat2025",
    title="Musat 2025: stacked attention heads, retrieval depth bound, constructive circuit, transformer emergence, reduced model R1",
    model=r1_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
    findings=FINDINGS,
    initial_state=lambda cm: np.zeros(cm.n_state),  # R1 starts at a = 0, w = 0 (as in verify)
)


# ---------------------------------------------------------------------------------------------
# constructive circuit and the transformer


def claim_constructive(table: dict[int, dict[int, float]]) -> list[Claim]:
    """Exactness up to L-1 hops, and the measured constructive depth (deeper queries fail)."""
    exact = min(a for L, row in table.items() for k, a in row.items() if k <= constructive_depth(L))
    measured = []
    for _L, row in sorted(table.items()):
        k = 0
        while k + 1 in row and row[k + 1] == 1.0:
            k += 1
        measured.append(k)
    return [
        check("musat2025.construct-exact", "The hand-set circuit (no training) answers every query of depth "
              "k <= L-1 at the query position: smallest accuracy over L = 1..5 and those k.", 1.0, exact, tol=0.0,
              source="reconstruction", why="exact: the attention margin argument makes every argmax correct "
              "(construct.py); a single wrong example fails.", details={"accuracy": table}),
        check_equal("musat2025.construct-depth", "Largest depth answered exactly by the L-layer circuit, "
                    "L = 1..5 (L - 1: a previous-token layer, then one hop per layer; never fewer layers than "
                    "the bound ceil(log_3(2D))).", [constructive_depth(L) for L in sorted(table)], measured,
                    source="reconstruction", why="integer; deeper queries must fall below 100% (both ways).",
                    details={"accuracy": table}),
    ]


def verify_constructive(ctx: VerifyContext) -> list[Claim]:
    with ctx.stage("constructive circuit (hand-set weights)"):
        task = RetrievalTask(n_chains=3, depth=4, n_values=8, n_vars=16)
        table: dict[int, dict[int, float]] = {}
        for L in range(1, 6):
            model, params = constructive_params(task, L)
            table[L] = query_accuracy_by_depth(model, params, task, ctx.rng(300 + L), n=1024 if ctx.quick else 2048)
        ctx.config["constructive"] = {"task": "3 chains, depth 4, 8 values, 16 variables", "accuracy": table}
        return claim_constructive(table)


def claim_curriculum(learned: dict[str, bool], final: dict[str, list[float]], n_seeds: int = 1,
                     undetermined: dict[int, float] | None = None) -> Claim:
    """Learns / does not learn per regime (spec 3.1). A registered finding while IC-A is the task as
    reconstructed (:mod:`.findings`); issue 17 replaces it with rates over seeds per regime."""
    details: dict[str, object] = {"final_query_accuracy_by_hop": final}
    if undetermined is not None:
        details["ic_a_undetermined_label_fraction_by_hop"] = undetermined
    return check_equal(
        "musat2025.curriculum", "Transformer: learns the hardest (D-hop) queries within the budget with an "
        "implicit curriculum and not without one (spec 3.1: 'learning occurs only under an implicit "
        "curriculum'), as reconstructed: IC-A (every statement's dst labelled with its chain's value, the query "
        f"always D-hop; 1 seed), IC-B (query depth uniform over 1..D; learned if any of {n_seeds} seeds learns), "
        "none (D-hop queries only; 1 seed).",
        {"ic_a": True, "ic_b": True, "none": False}, learned, source="paper",
        why=f"learned = final D-hop query accuracy >= {LEARNED} on the held-out batch; 0.9 is above the ~0.8 "
            "plateau of the partial shortcut that even 2-layer models reach (measured), so it means the full "
            "retrieval. A yes/no per regime, compared exactly.",
        details=details)


def claim_seed_order(taus: list[float], events: list[str], times: list[dict[str, float]],
                     snapshot_step: float = float("nan"), hop1_first: list[bool] | None = None) -> Claim:
    """The order of the head roles across seeds (spec 3.1). A registered finding while the only roles
    compared are two co-requisites of one circuit (:mod:`.findings`); issue 17 replaces it."""
    worst = min(taus) if taus and all(math.isfinite(t) for t in taus) else float("nan")
    shown = ", ".join(_ROLE_NAMES.get(e, e) for e in events) or "none"
    details: dict[str, object] = {"taus": taus, "events": events, "times": times, "snapshot_step": snapshot_step}
    if hop1_first is not None:
        details["hop1_accuracy_before_every_role"] = hop1_first
    return check(
        "musat2025.order-seeds", "Transformer (IC-B): the heads emerge in the same order in every seed (spec "
        "3.1 'always emerge in a specific sequence'), as measured here: the smallest Kendall tau over the "
        f"{len(taus)} seed pairs that share at least two head roles, over the roles {shown}; a role emerges "
        f"when its best head's attention score first reaches 1/2, on snapshots {snapshot_step:.0f} steps apart "
        "(linearly interpolated, no tie tolerance).", 1.0, worst, tol=0.0, source="paper",
        why="'always the same order' means tau = 1 for every pair; any swap fails.", details=details)


_ROLE_NAMES = {"role:prev": "'prev' (previous-token head)", "role:link": "'link' (parent-link head)",
               "role:hop1": "'hop1' (hop-1 read-out head)", "role:hop2": "'hop2' (hop-2 retrieval head)",
               "role:hop3": "'hop3' (hop-3 retrieval head)"}


def _hop1_first(events: list[dict[str, float]]) -> list[bool]:
    """Per seed with a finite 1-hop accuracy crossing and some role: whether the crossing comes before
    every role's emergence (the 0.5 score then times a sharpening, not the emergence)."""
    out = []
    for e in events:
        roles = [v for k, v in e.items() if k.startswith("role:") and math.isfinite(v)]
        if roles and math.isfinite(e.get("acc:hop1", float("nan"))):
            out.append(bool(e["acc:hop1"] < min(roles)))
    return out


def _staircase(events: list[dict[str, float]]) -> list[bool]:
    """Per seed, whether 1-hop queries emerged before 2-hop ones.

    A stage that never emerges within the budget counts as emerging after it (censored at the
    budget): 1-hop learned and 2-hop not yet is in order; seeds where neither emerged are left out.
    """
    out = []
    for e in events:
        t1, t2 = e["acc:hop1"], e["acc:hop2"]
        if math.isfinite(t1) or math.isfinite(t2):
            out.append(bool(t1 < t2) if math.isfinite(t1) and math.isfinite(t2) else math.isfinite(t1))
    return out


def claim_bridge_order(first_before: list[bool], times: list[dict[str, float]]) -> Claim:
    frac = float(np.mean(first_before)) if first_before else float("nan")
    return check(
        "musat2025.bridge-order", "Bridge to R1 (dependency order): in the transformer the 1-hop queries are "
        "learned before the 2-hop queries, as R1's head 1 (needed by every class) emerges first: fraction of "
        "seeds (a stage is learned when its query accuracy crosses (1 + 1/C)/2; one not reached within the "
        "budget counts as later).", 1.0, frac, tol=0.0, source="derived",
        why="an ordering per seed; every seed must agree (R1 predicts it without exception). The two crossings "
            "are 650-2730 steps apart in the default run, several snapshot intervals, so no tie tolerance is "
            "needed.",
        details={"events": times})


def claim_depth_trained(acc: dict[int, list[float]], chance: float) -> Claim:
    """Where the paper's bound forbids it (L < ceil(log_3(2k))), k-hop queries are not learned."""
    thr = 0.5 * (1.0 + chance)
    cells = [(L, k + 1) for L, row in sorted(acc.items()) for k in range(len(row)) if L < min_layers(k + 1)]
    got = {f"L={L},k={k}": bool(acc[L][k - 1] >= thr) for L, k in cells}
    return check_equal(
        "musat2025.depth-trained",
        f"Transformer (IC-B), L = {min(acc)}..{max(acc)} layers: no model with fewer layers than the paper's "
        f"bound ceil(log_3(2k)) (spec 1.1) learns k-hop queries within the budget, in the cells (L, k) where "
        f"the bound applies: {', '.join(got) or 'none'}.",
        {key: False for key in got}, got, source="paper",
        why=f"learned = final accuracy >= {thr:.2f} (midway between in-context chance and 1); compared exactly "
            "per cell. The full table (and the constructive depth L - 1) is in the details and depth.png.",
        details={"final_accuracy": acc, "constructive_depth": {L: constructive_depth(L) for L in acc}})


def _learned(run: TrainingRun) -> bool:
    """The hardest queries are answered with accuracy >= LEARNED at the end of the budget."""
    return bool(run.acc[-1, -1] >= LEARNED)


def verify_transformer(ctx: VerifyContext, s: Setting) -> list[Claim]:
    import matplotlib.pyplot as plt

    steps = s.train_steps if not ctx.quick else min(s.train_steps, 3000)
    n_seeds = s.seeds if not ctx.quick else min(s.seeds, 5)
    cfg = TrainConfig(steps=steps, n_eval=256 if ctx.quick else 512, n_snapshots=16 if ctx.quick else 31)
    depths = (1, 2) if ctx.quick else (1, 2, 4)  # L = 3 is the seeds' own depth
    ctx.config["transformer"] = asdict(cfg) | {"seeds": n_seeds, "depth_sweep": sorted({*depths, cfg.n_layers})}
    base = ctx.seed * 1000
    jobs = [Job(cfg, "ic_b", base + i) for i in range(n_seeds)]
    jobs += [Job(cfg, "ic_a", base), Job(cfg, "none", base)]
    jobs += [Job(cfg.with_(n_layers=L), "ic_b", base) for L in depths]
    claims: list[Claim] = []
    with ctx.stage(f"transformer: {len(jobs)} training runs of {cfg.steps} Adam steps ({n_seeds} IC-B seeds, "
                   f"IC-A, none, L = {list(depths)})"):
        def report(i: int, job: Job, run: TrainingRun) -> None:
            ctx.log(f"run {i + 1}/{len(jobs)} done ({job.regime}, seed {job.seed}, L = {job.config.n_layers}): "
                    f"final query accuracy by hop {np.round(run.acc[-1], 3).tolist()}")

        done = run_many(jobs, progress=report)
    seeds = done[:n_seeds]
    runs: dict[str, TrainingRun] = {f"ic_b.seed{i}": r for i, r in enumerate(seeds)}
    runs["ic_a"], runs["none"] = done[n_seeds], done[n_seeds + 1]
    for L, r in zip(depths, done[n_seeds + 2:], strict=True):
        runs[f"depth.L{L}"] = r
    events = [emergence_events(r) for r in seeds]
    roles = [{k: v for k, v in e.items() if k.startswith("role:")} for e in events]
    # every pair of seeds is compared on the roles both have (a head may take no role in a seed)
    pairs = [order_agreement(a, b) for i, a in enumerate(roles) for b in roles[i + 1:]]
    taus = [t for t, common in pairs if len(common) >= 2]
    compared = sorted({k for t, common in pairs if len(common) >= 2 for k in common})
    snapshot_step = float(np.diff(seeds[0].steps).mean())
    claims.append(claim_seed_order(taus, compared, roles, snapshot_step, _hop1_first(events)))
    claims.append(claim_bridge_order(_staircase(events), events))
    learned = {"ic_a": _learned(runs["ic_a"]), "ic_b": any(_learned(r) for r in seeds),
               "none": _learned(runs["none"])}
    final = {"ic_a": runs["ic_a"].acc[-1].tolist(), "none": runs["none"].acc[-1].tolist()}
    final |= {f"ic_b.seed{i}": r.acc[-1].tolist() for i, r in enumerate(seeds)}
    # how many of IC-A's statement labels the preceding tokens determine (data.determined_labels)
    undet = undetermined_fraction(cfg.task("ic_a"), ctx.rng(500), 4096)
    claims.append(claim_curriculum(learned, final, n_seeds, undet))
    ctx.note("IC-A as reconstructed labels every statement's dst with its chain's value, but the statements are "
             "shuffled and attention is causal. Not determined by the tokens up to them, in 4096 IC-A examples: "
             f"{', '.join(f'{v:.3f} of the {k}-hop' for k, v in undet.items())} statement labels (expectation "
             "1 - 1/k). See the finding on musat2025.curriculum.")
    depth_acc = {L: runs[f"depth.L{L}"].acc[-1].tolist() for L in depths} | {cfg.n_layers: seeds[0].acc[-1].tolist()}
    depth_acc = dict(sorted(depth_acc.items()))
    claims.append(claim_depth_trained(depth_acc, seeds[0].chance))
    arrays: dict[str, np.ndarray] = {}
    for key, r in runs.items():
        arrays |= r.arrays(f"{key}.")
    ctx.save_arrays("transformer_runs", arrays, {"config": asdict(cfg), "runs": {
        k: {"regime": r.regime, "seed": r.seed, "n_layers": r.config.n_layers, "roles": {
            f"{lh[0]}.{lh[1]}": role for lh, role in head_roles(r).items()}} for k, r in runs.items()}})
    with ctx.stage("transformer figures"):
        _figure_training(ctx, seeds, runs, events)
        _figure_attention(ctx, seeds[0])
        _figure_depth(ctx, depth_acc, seeds[0].chance)
        plt.close("all")
    ctx.note("Bridge between R1 and the transformer (spec 5.4 mapping): R1's p_i <-> the structural score of the "
             "head with role i; R1's class j <-> j-hop queries; pi <-> the IC-B mixture; 'hard data only' <-> "
             "regime none. Only orders and learns/does-not-learn are compared, not times (Adam steps are not "
             "calibrated to flow time). The gap prediction (a missing middle class merges two stages) needs "
             "depth >= 3, which this budget does not train (2 chains of depth 3 with 4 layers stayed at chance "
             "for 5000 steps in our trials), so it is checked on R1 only.")
    return claims


def _figure_training(ctx: VerifyContext, seeds: list[TrainingRun], runs: dict[str, TrainingRun],
                     events: list[dict[str, float]]) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(13, 4.4))
    r0 = seeds[0]
    for k in range(r0.acc.shape[1]):
        ax[0].plot(r0.steps, r0.acc[:, k], color=f"C{k}", label=f"{k + 1}-hop queries")
        t = events[0].get(f"acc:hop{k + 1}", float("nan"))
        if math.isfinite(t):
            ax[0].axvline(t, color=f"C{k}", ls=":")
    ax[0].axhline(r0.chance, color="gray", lw=0.8, ls="--", label="in-context chance")
    roles = head_roles(r0)
    for j, ((layer, h), role) in enumerate(sorted(roles.items())):
        ax[0].plot(r0.steps, r0.scores[role][:, layer, h], color=f"C{j + 3}", lw=1, ls="-.",
                   label=f"head ({layer},{h}) score '{role}'")
    ax[0].set(xlabel="Adam step", ylabel="accuracy / attention score", title="IC-B, seed 0: emergence (dotted)")
    ax[0].legend(fontsize=7)
    for i, r in enumerate(seeds):
        ax[1].plot(r.steps, r.acc[:, -1], color=f"C{i}", alpha=0.8, label=f"seed {i}: {r.acc.shape[1]}-hop")
        ax[1].plot(r.steps, r.acc[:, 0], color=f"C{i}", alpha=0.5, ls="--")
    ax[1].set(xlabel="Adam step", ylabel="query accuracy", title="all IC-B seeds (dashed: 1-hop, solid: hardest)")
    ax[1].legend(fontsize=7)
    ctx.save_figure(
        "transformer_emergence", fig, caption="Left: IC-B seed 0; the 1-hop query accuracy rises (dotted: where it "
        "crosses midway between chance and 1) before the 2-hop accuracy, and the heads' attention scores "
        "(dash-dot) reach 1/2 only after the 1-hop accuracy has crossed. Right: every IC-B seed learns 1-hop "
        "queries (dashed) before 2-hop queries (solid), and several seeds stall below 0.9 on 2-hop queries.",
        claims=("musat2025.bridge-order", "musat2025.order-seeds"))

    fig, ax = plt.subplots(figsize=(10, 0.45 * len(seeds) + 1.6))
    marks = (("acc:hop1", "C0", "o", "1-hop accuracy crosses"), ("acc:hop2", "C1", "o", "2-hop accuracy crosses"),
             ("role:prev", "C3", "s", "'prev' score reaches 1/2"), ("role:hop1", "C4", "^", "'hop1' score reaches 1/2"),
             ("role:hop2", "C5", "v", "'hop2' score reaches 1/2"))
    for step in r0.steps:
        ax.axvline(step, color="0.85", lw=0.6, zorder=0)
    for key, color, marker, label in marks:
        ys = [i for i, e in enumerate(events) if math.isfinite(e.get(key, float("nan")))]
        ax.scatter([events[i][key] for i in ys], ys, color=color, marker=marker, s=36, label=label, zorder=3)
    ax.set(xlabel="Adam step (grey: snapshots)", ylabel="IC-B seed", yticks=range(len(seeds)),
           xlim=(0, r0.steps[-1]), title="emergence events per seed")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ctx.save_figure(
        "emergence_times", fig, caption="Per IC-B seed, when each event happens, on the snapshot grid (grey lines). "
        "Look at the order of the square ('prev') and the triangle ('hop1'): it changes from seed to seed, and "
        "the two are often one or two snapshot intervals apart; both come after the blue dot (1-hop accuracy), "
        "and the orange dot (2-hop accuracy) comes later still in every seed.",
        claims=("musat2025.order-seeds", "musat2025.bridge-order"))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, r in enumerate(seeds):
        ax.plot(r.steps, r.acc[:, -1], color="C0", lw=0.8, alpha=0.5, label="IC-B, every seed" if i == 0 else None)
    for key, ls, color, label in (("ic_a", "--", "C1", "IC-A"), ("none", ":", "C2", "none (no curriculum)")):
        r = runs[key]
        ax.plot(r.steps, r.acc[:, -1], ls=ls, color=color, lw=1.6, label=label)
    ax.axhline(r0.chance, color="gray", lw=0.8, ls="--", label="in-context chance")
    ax.axhline(LEARNED, color="k", lw=0.8, ls="-.", label=f"learned ({LEARNED})")
    ax.set(xlabel="Adam step", ylabel=f"{r0.acc.shape[1]}-hop query accuracy", title="curriculum regimes")
    ax.legend(fontsize=8)
    ctx.save_figure(
        "curriculum", fig, caption="Hardest-query accuracy per regime: IC-B seeds (thin) rise above chance and "
        "some cross the learned line; IC-A (dashed) stays at chance like no curriculum (dotted), because IC-A as "
        "reconstructed asks for labels the preceding tokens do not determine (see the finding).",
        claims=("musat2025.curriculum",))


def _figure_attention(ctx: VerifyContext, run: TrainingRun) -> None:
    import matplotlib.pyplot as plt

    cfg = run.config
    model = cfg.model()
    batch = cfg.task("ic_b", [0.0] * (cfg.depth - 1) + [1.0]).sample(np.random.default_rng(7), 1)
    _, cache = model.forward(run.params, batch.tokens)
    L, H = cfg.n_layers, cfg.n_heads
    fig, ax = plt.subplots(L, H, figsize=(3.4 * H, 3.2 * L), squeeze=False)
    roles = head_roles(run)
    labels = [str(int(t)) for t in batch.tokens[0]]
    for layer in range(L):
        for h in range(H):
            a = ax[layer, h]
            a.imshow(cache[f"blocks.{layer}.attn.pattern"][0, h], cmap="viridis", vmin=0, vmax=1)
            a.set_title(f"layer {layer} head {h}: {roles.get((layer, h), '-')}", fontsize=9)
            a.set_xticks(range(len(labels)), labels, fontsize=6)
            a.set_yticks(range(len(labels)), labels, fontsize=6)
    fig.suptitle("attention maps after training (IC-B, seed 0) on one deepest query; rows attend to columns")
    ctx.save_figure(
        "attention_maps", fig, caption="Every head of IC-B seed 0 after training, on one deepest query (rows "
        "attend to columns, token ids on the axes). Look for the previous-token head (each dst row puts its mass "
        "one column to the left, on its own src) and, in the last row of a later layer, the read-out head "
        "(the query attends to the statement holding the queried variable); the titles give the role "
        "assigned from the structural scores.", claims=("musat2025.order-seeds",))


def _figure_depth(ctx: VerifyContext, acc: dict[int, list[float]], chance: float) -> None:
    import matplotlib.pyplot as plt

    table = ctx.config["constructive"]["accuracy"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for L, row in sorted(table.items()):
        ax[0].plot(sorted(row), [row[k] for k in sorted(row)], "o-", label=f"L = {L}")
    ax[0].set(xlabel="query depth k", ylabel="accuracy", title="hand-set circuit: exact up to k = L - 1",
              xticks=sorted(next(iter(table.values()))))
    ax[0].legend(fontsize=8)
    for L, row in sorted(acc.items()):
        ax[1].plot(range(1, len(row) + 1), row, "o-", label=f"L = {L} (bound allows k <= "
                   f"{max(k for k in range(1, 41) if min_layers(k) <= L)})")
    ax[1].axhline(chance, color="gray", ls="--", lw=0.8, label="in-context chance")
    ax[1].set(xlabel="query depth k", ylabel="final accuracy", title="trained (IC-B), L = 1..4",
              xticks=range(1, len(next(iter(acc.values()))) + 1))
    ax[1].legend(fontsize=8)
    ctx.save_figure(
        "depth", fig, caption="Left: the hand-set L-layer circuit answers every query of depth k <= L - 1 "
        "exactly and falls to about chance beyond. Right: trained IC-B models; the 1-layer model stays at "
        "chance on 2-hop queries, which the bound ceil(log_3(2k)) forbids it, while deeper models learn them "
        "(in the legend: the largest k the bound allows for each L).",
        claims=("musat2025.construct-exact", "musat2025.construct-depth", "musat2025.depth-trained"))
