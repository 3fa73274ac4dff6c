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
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import root

from derivations.musat2025.construct import (
    constructive_depth,
    constructive_params,
    query_accuracy_by_depth,
)
from derivations.musat2025.data import RetrievalTask, min_layers, resolve
from derivations.musat2025.experiments import (
    Job,
    TrainConfig,
    TrainingRun,
    emergence_events,
    head_roles,
    order_agreement,
    run_many,
)
from derivations.musat2025.reduced import r1_model
from dynamics.analysis import first_crossing, loglog_slope
from dynamics.claims import Claim, check, check_equal
from dynamics.codegen import CompiledModel
from dynamics.integrate import integrate
from dynamics.registry import Derivation
from dynamics.verify import VerifyContext

__all__ = ["Setting", "emergence_times", "claim_order", "claim_scaling", "claim_merge", "claim_boundary",
           "verify", "derivation"]

LEARNED = 0.9  # final hardest-query accuracy that counts as "learned" (see claim_curriculum)

RECONSTRUCTED = (
    "the retrieval task format: two-token link statements, shuffled, a query at the end (spec 2.2 [INFER])",
    "the implicit-curriculum regimes IC-A (all-position supervision) and IC-B (mixture over hops) (spec 3.2 [INFER])",
    "the depth lower bound ceil(log_3(2D)) derivation from Assumption 1 (spec 1.2 [INFER])",
    "the reduced model R1 (spec 5.2 [INFER]); emergence = attention on the correct key crossing 1/2",
    "the constructive circuit (one hop per layer after a previous-token layer; spec 1.3 [INFER])",
    "the transformer (attention-only, no MLP/LayerNorm; spec 2.2 [INFER]) and its sizes, scaled down to "
    "train in seconds (2 chains of depth 2, 4 values, 8 variables, 3 layers x 2 heads, d_model 32)",
    "structural attention scores, head roles and emergence times (spec 3.3 [INFER])",
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


def claim_curriculum(learned: dict[str, bool], final: dict[str, list[float]]) -> Claim:
    return check_equal(
        "musat2025.curriculum", "Transformer: learns the hardest (D-hop) queries within the budget with an "
        "implicit curriculum (IC-A all-position supervision, IC-B uniform mixture) and not without one "
        "(spec 3.1: 'learning occurs only under an implicit curriculum').",
        {"ic_a": True, "ic_b": True, "none": False}, learned, source="paper",
        why=f"learned = final D-hop query accuracy >= {LEARNED} in some run of the regime (IC-B: any of the "
            "seeds); 0.9 is above the ~0.8 plateau of the partial shortcut that even 2-layer models reach "
            "(measured), so it means the full retrieval. A yes/no per regime, compared exactly.",
        details={"final_query_accuracy_by_hop": final})


def claim_seed_order(taus: list[float], events: list[str], times: list[dict[str, float]]) -> Claim:
    worst = min(taus) if taus and all(math.isfinite(t) for t in taus) else float("nan")
    return check(
        "musat2025.order-seeds", f"Transformer (IC-B): the heads emerge in the same order in every seed (spec "
        f"3.1 'always emerge in a specific sequence'), over the head roles {events}: smallest Kendall tau "
        f"over the {len(taus)} seed pairs that share at least two roles.", 1.0, worst, tol=0.0, source="paper",
        why="'always the same order' means tau = 1 for every pair; any swap fails. A role emerges when its "
            "best head's structural score first reaches 1/2.", details={"taus": taus, "events": events,
                                                                        "times": times})


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
        "seeds (a stage not reached within the budget counts as later).", 1.0, frac, tol=0.0, source="derived",
        why="an ordering per seed; every seed must agree (R1 predicts it without exception).",
        details={"events": times})


def claim_depth_trained(acc: dict[int, list[float]], chance: float) -> Claim:
    """Where the paper's bound forbids it (L < ceil(log_3(2k))), k-hop queries are not learned."""
    thr = 0.5 * (1.0 + chance)
    cells = [(L, k + 1) for L, row in sorted(acc.items()) for k in range(len(row)) if L < min_layers(k + 1)]
    got = {f"L={L},k={k}": bool(acc[L][k - 1] >= thr) for L, k in cells}
    return check_equal(
        "musat2025.depth-trained", "Transformer (IC-B), L = 1..4 layers: no model with fewer layers than the "
        "bound ceil(log_3(2k)) (spec 1.2) learns k-hop queries within the budget (cells where the bound applies).",
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
    claims.append(claim_seed_order(taus, compared, roles))
    claims.append(claim_bridge_order(_staircase(events), events))
    learned = {"ic_a": _learned(runs["ic_a"]), "ic_b": any(_learned(r) for r in seeds),
               "none": _learned(runs["none"])}
    final = {"ic_a": runs["ic_a"].acc[-1].tolist(), "none": runs["none"].acc[-1].tolist()}
    final |= {f"ic_b.seed{i}": r.acc[-1].tolist() for i, r in enumerate(seeds)}
    claims.append(claim_curriculum(learned, final))
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

    fig, ax = plt.subplots(1, 3, figsize=(17, 4.2))
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
    ax[1].set(xlabel="Adam step", ylabel="query accuracy", title="all seeds (dashed: 1-hop, solid: hardest)")
    ax[1].legend(fontsize=7)
    for key, ls in (("ic_b.seed0", "-"), ("ic_a", "--"), ("none", ":")):
        r = runs[key]
        ax[2].plot(r.steps, r.acc[:, -1], ls=ls, label=f"{key.split('.')[0]}: hardest queries")
    ax[2].axhline(r0.chance, color="gray", lw=0.8, ls="--")
    ax[2].set(xlabel="Adam step", ylabel="query accuracy", title="curriculum against none")
    ax[2].legend(fontsize=8)
    ctx.save_figure("transformer_emergence", fig)


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
    ctx.save_figure("attention_maps", fig)


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
    ctx.save_figure("depth", fig)
