r"""The minimal transformer's runs of ``dynamics verify yuksel2026`` and the measurements behind the
``yuksel2026.tf-...`` claims (spec 4, 5.2): the Fig. 1 run and the sample sizes of Fig. 5 at the
paper's batch, and the sweeps of Fig. 4 (query init, importance ratio m) and the reversed-importance
run with spans (2, 4, 8) of Figs. 8-9 at a smaller batch of fresh sequences (``Settings.sweep_batch``).

The sweeps ask for an *order* (which init or ratio is slower, which span is learned first), not for
the paper's step counts, so they run at a batch of 500 fresh sequences (online data, as the init-0
run): one step costs about a sixth of the paper's batch of 3000. ``--set sweep_batch=3000 --set
sweep_n=9000`` runs them in the paper's setting (docs/yuksel2026.md gives its numbers).
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from derivations.yuksel2026.baselines import (
    BASELINE_RUNS,
    baseline_jobs,
    closest_at_best,
    learned_kl,
)
from derivations.yuksel2026.claims_transformer import (
    ACQUIRED,
    BASIN,
    BOUNDARY_SPREAD,
    claim_tf_boundary,
    claim_tf_competitive,
    claim_tf_cooperative,
    claim_tf_early_stopping,
    claim_tf_early_stopping_learned,
    claim_tf_init0,
    claim_tf_init_order,
    claim_tf_levels,
    claim_tf_m_order,
    claim_tf_reversed,
    claim_tf_reversed_order,
    claim_tf_stages,
    claim_tf_value_alignment,
)
from derivations.yuksel2026.closed_forms import PAPER_BOUNDARIES, PAPER_EXCESS
from derivations.yuksel2026.figures import figure_sweeps, figures_tf
from derivations.yuksel2026.transformer import (
    XAVIER,
    TfJob,
    acquisition_steps,
    boundaries,
    fitted_fraction,
    kl_minima_order,
    loss_drop_onsets,
    stage_of,
    stage_sequence,
    tf_run,
)
from dynamics.analysis import first_crossing
from dynamics.claims import Claim
from dynamics.verify import VerifyContext

__all__ = ["INIT_SWEEP", "LEVEL_12", "LEVEL_END", "M_SWEEP", "crossing", "sweep_claims", "sweep_jobs", "tf_jobs", "verify_transformer"]

#: Fig. 4 left (``init-ablation``): query init scales (name, sigma, steps), largest first; value
#: init 0; XAVIER = Xavier-uniform. Each run stops ~60 steps after its first boundary.
INIT_SWEEP = (("xavier", XAVIER, 300), ("1e-3", 1e-3, 400), ("1e-6", 1e-6, 560), ("1e-9", 1e-9, 700))
#: Fig. 4 right (``mc-ablation``): importance ratios (the paper's 1, 1.3, 1.5 and the default 1.7)
#: and steps; the configuration's default init, Xavier-uniform query and value (a reconstruction).
M_SWEEP = ((1.0, 300), (1.3, 320), (1.5, 500), (1.7, 560))
#: Between the paper's plateau levels 0.93 and 0.36 (their geometric mean): crossing it ends plateau 1.
LEVEL_12 = math.sqrt(PAPER_EXCESS[0] * PAPER_EXCESS[1])
#: Below every intermediate plateau of the m sweep (the paper's 0.36 at m = 1.7, 0.45 at 1.5, 0.5 at 1.3).
LEVEL_END = 0.25


def sweep_jobs(batch: int, n: int) -> list[TfJob]:
    """The runs of Fig. 4 (``--set sweeps=true``): the query-init sweep and the m sweep."""
    out = [TfJob(f"init-{name}", steps, batch, n=n, query_init=q) for name, q, steps in INIT_SWEEP]
    out += [TfJob(f"m-{m:g}", steps, batch, n=n, m=m, query_init=XAVIER, value_init=XAVIER) for m, steps in M_SWEEP]
    return out


def crossing(rec: Any, level: float) -> float:
    """First step (linear interpolation between records) at which the excess validation loss
    falls below ``level``; nan if it never does."""
    return float(first_crossing(np.asarray(rec.steps, float), np.asarray(rec.val_excess, float), level, "down"))


def tf_jobs(quick: bool, sweep_batch: int = 500, sweep_n: int = 0, sweeps: bool = False,
            baselines: bool = False) -> list[TfJob]:
    """The runs, longest first (two workers finish together); ``sweep_batch`` and ``sweep_n`` set
    the sweeps' batch and training-set size (0: fresh sequences); ``sweeps`` adds Fig. 4's
    (:func:`sweep_jobs`), ``baselines`` Fig. 5's learned restricted models
    (:func:`~derivations.yuksel2026.baselines.baseline_jobs`; the n = 600 and 2000 runs then keep
    their parameters at every record)."""
    q = quick
    # --quick: the main run is the same Fig. 1 run stopped at step 800 (both drop onsets, ~370
    # and ~580, and the structural stage 3 from ~740 are inside; a smaller batch would move the
    # stages away from the paper's steps); shorter n2000 and sweep runs
    main_steps = 800 if q else 1000
    jobs = [
        TfJob("main", main_steps, 3000, n=9000, keep=(200, 500, main_steps)),
        TfJob("n2000", 500 if q else 700, 2000, n=2000, every=10),
        TfJob("init0", 200 if q else 600, 500, query_init=0.0),
        TfJob("reversed248", 700 if q else 800, sweep_batch, n=sweep_n, reverse=True, spans=(2, 4, 8)),
        TfJob("n600", 300, 600, n=600, every=10),
    ]
    if baselines:
        jobs = [replace(j, keep_all=True) if j.name in BASELINE_RUNS else j for j in jobs]
        jobs += [b for j in jobs if j.name in BASELINE_RUNS for b in baseline_jobs(j)]
    if sweeps:
        jobs += sweep_jobs(sweep_batch, sweep_n)
    if sweeps or baselines:
        jobs.sort(key=lambda j: -j.steps * j.batch * sum(j.spans) ** 2)
    return jobs


def verify_transformer(ctx: VerifyContext, sweep_batch: int = 500, sweep_n: int = 0,
                       sweeps: bool = False, baselines: bool = False) -> list[Claim]:
    """The minimal transformer's runs (:func:`tf_jobs`, two worker processes) and the
    ``yuksel2026.tf-...`` claims on them; ``sweeps`` adds Fig. 4's sweeps and their claims,
    ``baselines`` Fig. 5's learned restricted models and theirs."""
    from dynamics.parallel import map_processes

    jobs = tf_jobs(ctx.quick, sweep_batch, sweep_n, sweeps, baselines)
    ctx.config["transformer_jobs"] = [j.__dict__ for j in jobs]
    with ctx.stage(f"minimal transformer: {len(jobs)} runs ({', '.join(j.name for j in jobs)})"):
        def report(i: int, job: TfJob, res: Any) -> None:
            rec = res[0]
            ctx.log(f"{job.name} done: {job.steps} steps in {rec.wall[-1]:.0f} s, final excess "
                    f"{rec.val_excess[-1]:.3f}")

        out = dict(zip([j.name for j in jobs], map_processes(tf_run, jobs, progress=report), strict=True))
    recs = {k: v[0] for k, v in out.items()}
    arrays: dict[str, np.ndarray] = {}
    for k, r in recs.items():
        arrays |= r.arrays(f"{k}.")
    ctx.save_arrays("transformer_runs", arrays, {"jobs": [j.__dict__ for j in jobs]})
    claims: list[Claim] = []
    main = recs["main"]
    claims.append(claim_tf_stages(stage_sequence(main), kl_minima_order(main)))
    st = stage_of(main)
    levels = []
    for stage in (1, 2):
        idx = np.nonzero((st == stage) & (main.steps >= 100))[0]  # after the first drop
        levels.append(float(main.val_excess[idx[idx.size // 2]]) if idx.size else float("nan"))
    claims.append(claim_tf_levels(levels))
    bounds = boundaries(main)
    onsets = loss_drop_onsets(main)
    sub = SimpleNamespace(steps=main.steps[::2], val_excess=main.val_excess[::2], span_mass=main.span_mass[::2])
    det = {"onsets": onsets, "paper": list(PAPER_BOUNDARIES), "structural_boundaries": bounds,
           "onsets_tangent_on_excess": loss_drop_onsets(main, log=False), "onsets_records_every_40": loss_drop_onsets(sub),
           "record_every": int(main.steps[1] - main.steps[0]),
           "tolerance_parts": {k: list(v) for k, v in BOUNDARY_SPREAD.items()}}
    claims += [claim_tf_boundary(k, onsets[k - 1], details=det) for k in (1, 2)]
    b1 = onsets[0] if math.isfinite(onsets[0]) else float(main.steps[-1])
    i_pre = int(np.searchsorted(main.steps, 0.8 * b1))
    sm = main.span_mass[i_pre]  # (H, K)
    spread = float(np.max(sm.max(axis=0) - sm.min(axis=0)))
    claims.append(claim_tf_competitive(spread, bool(np.all(sm.argmax(axis=1) == main.span_mass.shape[2] - 1))))
    idx2 = np.nonzero(st == 2)[0]
    mid2 = main.span_mass[idx2[idx2.size // 2]] if idx2.size else main.span_mass[-1]
    claims.append(claim_tf_cooperative(sorted(mid2.argmax(axis=1).tolist()),
                                       sorted(main.span_mass[-1].argmax(axis=1).tolist())))
    r0 = recs["init0"]
    sm0 = r0.span_mass[-1]
    claims.append(claim_tf_init0(float(r0.val_excess[-1]), float(np.max(sm0.max(axis=0) - sm0.min(axis=0))),
                                 levels[0]))
    rv = recs["reversed248"]
    acq = acquisition_steps(rv, ACQUIRED)
    order = [int(j) for j in np.argsort(acq)] if all(map(math.isfinite, acq)) else []
    det = {"acquisition_steps": acq, "level": ACQUIRED, "run": "reversed248",
           "fitted_fraction_end": fitted_fraction(rv)[-1].round(3).tolist()}
    claims.append(claim_tf_reversed(order[0] if order else -1, details=det))
    claims.append(claim_tf_reversed_order(order, details=det))
    i_mid2 = int(idx2[idx2.size // 2]) if idx2.size else main.steps.size - 1
    claims.append(claim_tf_value_alignment(
        [main.value_alignment[i_mid2], main.value_alignment[-1]], [main.span_mass[i_mid2], main.span_mass[-1]],
        [f"the middle of plateau 2 (step {int(main.steps[i_mid2])})", f"the end (step {int(main.steps[-1])})"],
        details={"fitted_fraction_end": fitted_fraction(main)[-1].round(3).tolist()}))
    es = []
    for key in ("n600", "n2000", "main"):
        r = recs[key]
        i = int(np.argmin(r.val_loss))
        es.append(int(stage_of(r)[i]))
    claims.append(claim_tf_early_stopping(es, [600, 2000, 9000]))
    ctx.config["transformer"] = {"boundaries": onsets, "structural_boundaries": bounds, "plateau_excess": levels,
                                 "best_val_steps": {k: int(recs[k].steps[int(np.argmin(recs[k].val_loss))])
                                                    for k in ("n600", "n2000", "main")}}
    with ctx.stage("figures (transformer)"):
        figures_tf(ctx, recs, out["main"][1], onsets, bounds)
    if sweeps:
        claims += sweep_claims(ctx, recs)
    if baselines:
        claims.append(learned_baseline_claim(ctx, {j.name: j for j in jobs}, out))
    return claims


def learned_baseline_claim(ctx: VerifyContext, jobs: dict[str, TfJob], out: dict[str, Any]) -> Claim:
    """``tf-early-stopping-learned`` on the runs of ``--set baselines=true``; the KL curves are saved."""
    kl_min: list[float] = []
    basins: list[tuple[float, float]] = []
    det: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for rung, name in enumerate(BASELINE_RUNS, start=1):
        rec = out[name][0]
        learned = [out[b.name][1][b.steps] for b in baseline_jobs(jobs[name])]
        steps, kl = learned_kl(jobs[name], out[name][1], learned)
        kl_min.append(float(steps[int(np.argmin(kl[:, rung - 1]))]))
        ok = rec.steps[rec.val_excess <= (1 + BASIN) * float(np.min(rec.val_excess))]
        basins.append((float(ok.min()), float(ok.max())))
        best = int(rec.steps[int(np.argmin(rec.val_loss))])
        det[name] = {"best_step": best, "rung": rung, "kl_at_best": kl[int(np.searchsorted(steps, best))].round(4).tolist(),
                     "kl_min_step_per_learned_model": [int(steps[int(np.argmin(kl[:, k]))]) for k in range(kl.shape[1])],
                     "closest_learned_at_best": closest_at_best(steps, kl, rec)}
        arrays |= {f"{name}.steps": steps, f"{name}.kl_learned": kl}
    ctx.save_arrays("learned_baselines", arrays, {"runs": list(BASELINE_RUNS)})
    ctx.config["learned_baselines"] = det
    every = int(jobs[BASELINE_RUNS[0]].every)
    return claim_tf_early_stopping_learned(kl_min, basins, [jobs[n].n for n in BASELINE_RUNS], every, details=det)


def sweep_claims(ctx: VerifyContext, recs: dict[str, Any]) -> list[Claim]:
    """Fig. 4's claims on the sweep runs (``init-...``, ``m-...`` of :func:`sweep_jobs`) and their figure."""
    names = [name for name, _, _ in INIT_SWEEP]
    init_steps = [crossing(recs[f"init-{n}"], LEVEL_12) for n in names]
    ms = [m for m, _ in M_SWEEP]
    m_steps = [crossing(recs[f"m-{m:g}"], LEVEL_END) for m in ms]
    ctx.config["sweeps"] = {"init_crossing_steps": dict(zip(names, init_steps, strict=True)), "level_12": LEVEL_12,
                            "m_crossing_steps": {f"{m:g}": t for m, t in zip(ms, m_steps, strict=True)},
                            "level_end": LEVEL_END}
    init0 = recs["init0"]
    det = {"init0_final_excess": float(init0.val_excess[-1]), "init0_steps": int(init0.steps[-1])}
    claims = [claim_tf_init_order(names, init_steps, details=det), claim_tf_m_order(ms, m_steps, LEVEL_END)]
    with ctx.stage("figure (sweeps)"):
        figure_sweeps(ctx, {k: recs[k] for k in ["init0", *[f"init-{n}" for n in names], *[f"m-{m:g}" for m in ms]]},
                      LEVEL_12, LEVEL_END)
    return claims
