r"""Figures of ``musat2025``: what each shows is in its caption (and docs/musat2025.md).

One function per figure group, called by :mod:`.verify` after the claims: the reduced model R1
(:func:`figure_r1`), the trained transformer (:func:`figure_emergence`, :func:`figure_attention`,
:func:`figure_curriculum`) and the depth table (:func:`figure_depth`).
"""

from __future__ import annotations

import math

import numpy as np

from derivations.musat2025.claims import LEARNED
from derivations.musat2025.data import min_layers
from derivations.musat2025.experiments import TrainingRun
from derivations.musat2025.units import Emergence, level_heads, unit_drop, unit_name
from dynamics.trajectory import Trajectory
from dynamics.verify import VerifyContext

__all__ = ["figure_r1", "figure_emergence", "figure_attention", "figure_curriculum", "figure_depth"]


def figure_r1(ctx: VerifyContext, tr: Trajectory, times: list[float], n: float, ns: list[float],
              cur: list[float], hd: list[float], p1s: np.ndarray, wds: np.ndarray, learned: np.ndarray,
              stable: np.ndarray) -> None:
    """R1: the heads' attention with a curriculum, emergence time against n, learnability map."""
    import matplotlib.pyplot as plt

    m = len(times)
    fig, ax = plt.subplots(1, 3, figsize=(16, 4))
    for i in range(m):
        ax[0].plot(tr.t, tr[f"p{i + 1}"], label=f"head {i + 1}")
        if math.isfinite(times[i]):
            ax[0].axvline(times[i], ls=":", color=f"C{i}")
    ax[0].set(xlabel="t", ylabel="attention on the correct key p_i", title=f"R1, uniform curriculum (n = {n:g})")
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


def figure_emergence(ctx: VerifyContext, groups: dict[str, list[TrainingRun]], tables: dict[str, Emergence]) -> None:
    """Per-hop accuracy with emergence times and ablation effects; emergence steps per seed."""
    import matplotlib.pyplot as plt

    # the first IC-B seed in which every level formed (else seed 0)
    r0 = next((r for r, st in zip(groups["IC-B"], tables["IC-B"].emergence_steps, strict=True)
               if np.all(np.isfinite(st))), groups["IC-B"][0])
    times, heads = level_heads(r0)
    D = r0.acc.shape[1]
    fig, ax = plt.subplots(1, 2, figsize=(14, 4.6))
    for k in range(D):
        ax[0].plot(r0.steps, r0.acc[:, k], color=f"C{k}", lw=2, label=f"{k + 1}-hop query accuracy")
        lh = heads[k]
        if lh is not None:
            ax[0].plot(r0.steps, unit_drop(r0, lh)[:, k], color=f"C{k}", ls="--",
                       label=f"drop of {k + 1}-hop accuracy with {unit_name(lh)} zeroed")
        if math.isfinite(times[k]):
            ax[0].axvline(times[k], color=f"C{k}", ls=":", lw=1.5)
            ax[0].annotate(f"hop-{k + 1}: {unit_name(lh)}", (times[k], 0.03 + 0.08 * k), color=f"C{k}", fontsize=8)
    ax[0].axhline(r0.chance, color="gray", lw=0.8, ls="--", label="in-context chance")
    ax[0].set(xlabel="Adam step", ylabel="accuracy / ablation drop", ylim=(-0.05, 1.3),
              title=f"IC-B seed {r0.seed}: accuracy, ablation effect (dashed), emergence (dotted)")
    ax[0].legend(fontsize=7, loc="upper left")
    names = list(tables)
    markers = ("o", "s", "^", "v")
    row = 0
    yt: list[str] = []
    for name in names:
        st = tables[name].emergence_steps
        for i in range(st.shape[0]):
            for k in range(st.shape[1]):
                if math.isfinite(st[i, k]):
                    ax[1].scatter(st[i, k], row, color=f"C{k}", marker=markers[k % 4], s=30, zorder=3,
                                  label=f"hop-{k + 1} unit emerges")
            at = " (stmts)" if groups[name][i].levels_at == "statements" else ""
            yt.append(f"{name}{at} s{tables[name].seeds[i]}")
            row += 1
    for step in r0.steps:
        ax[1].axvline(step, color="0.88", lw=0.5, zorder=0)
    ax[1].set(xlabel=f"Adam step (grey: snapshots, {r0.config.resolution:g} apart)", yticks=range(row),
              xlim=(0, r0.steps[-1]), title="emergence of each hop level's unit, per regime and seed")
    ax[1].set_yticklabels(yt, fontsize=6)
    ax[1].invert_yaxis()
    h, lab = ax[1].get_legend_handles_labels()
    uniq = dict(zip(lab, h, strict=True))
    ax[1].legend(uniq.values(), uniq.keys(), fontsize=7, loc="lower right")
    ctx.save_figure(
        "transformer_emergence", fig, caption="Left: the first IC-B seed in which both hop levels formed. Solid: "
        "query accuracy per hop count; dashed: how "
        "much of it is lost when the unit assigned to that hop level is zeroed (the ablation effect; a unit is a layer's heads "
        "at the query or at the statements, by default); dotted: the "
        "emergence, the first snapshot at which that loss is at least half of the above-chance accuracy. "
        "Right: the emergence step of each hop level's head in every seed of every regime, on the snapshot grid; "
        "a missing marker is a level whose head did not form; rows marked (stmts) read the levels at IC-A's "
        "statement labels, the others at the query. The order claim asks that in no row a hop-2 marker "
        "sits left of the hop-1 marker; the stacked claims count the rows with every marker.",
        claims=("musat2025.order", "musat2025.stacked.IC-A", "musat2025.stacked.IC-B", "musat2025.p1-starve.hop2",
                "musat2025.bridge-order"))


def figure_attention(ctx: VerifyContext, runs: list[TrainingRun], table: Emergence) -> None:
    """The stacked heads' attention at their emergence, on one deepest query."""
    import matplotlib.pyplot as plt

    r0 = next((r for r, st in zip(runs, table.emergence_steps, strict=True) if np.all(np.isfinite(st))), runs[0])
    times, heads = level_heads(r0)
    cfg = r0.config
    D = cfg.depth
    labels = [str(int(t)) for t in r0.probe]
    panels: list[tuple[int, int | None]] = []
    for k, u in enumerate(heads):
        hs: list[int | None] = [None] if u is None else list(range(cfg.n_heads)) if u[1] < 0 else [u[1]]
        panels += [(k, h) for h in hs]
    fig, ax = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for a, (k, h) in zip(ax[0], panels, strict=True):
        lh = heads[k]
        if lh is None or h is None or not math.isfinite(times[k]):
            a.set_title(f"hop-{k + 1}: did not form", fontsize=9)
            a.axis("off")
            continue
        i = int(np.nonzero(r0.steps == times[k])[0][0])
        a.imshow(r0.patterns[i, lh[0], h], cmap="viridis", vmin=0, vmax=1)
        a.set_title(f"hop-{k + 1} ({unit_name(lh)}): head ({lh[0]}, {h}), step {times[k]:.0f}", fontsize=9)
        a.set_xticks(range(len(labels)), labels, fontsize=6)
        a.set_yticks(range(len(labels)), labels, fontsize=6)
    fig.suptitle(f"{table.regime} seed {r0.seed}: stacked heads at emergence, one {D}-hop query; rows attend to columns")
    ctx.save_figure(
        "attention_maps", fig, caption="The heads of the unit assigned to each hop level (by ablation, "
        ":mod:`ablation`; a layer unit shows each of its heads) at the snapshot where they emerge, on one deepest query (token ids on the axes; the last row is the query). "
        "For a unit at the query look at the last row; for a unit at the statements (a link below the read-out), "
        "at the statement rows, which read the statements of their own chain. The heads are identified by ablation, not by these maps: at emergence "
        "the pattern is often still diffuse (the level is carried before the attention sharpens), and a "
        "later-layer head can read the answer from a position earlier layers have written to (such as the query "
        "marker) rather than from the chain's statement itself.",
        claims=("musat2025.order",))


def figure_curriculum(ctx: VerifyContext, groups: dict[str, list[TrainingRun]]) -> None:
    """Final D-hop accuracy per regime and seed, and the curves."""
    import matplotlib.pyplot as plt

    regimes = [r for r in ("none", "IC-A", "IC-B") if r in groups] + sorted(
        r for r in groups if r.startswith("IC-B.starve"))
    fig, ax = plt.subplots(1, 2, figsize=(13, 4.2))
    for j, reg in enumerate(regimes):
        fin = [r.acc[-1, -1] for r in groups[reg]]
        ax[0].scatter(np.full(len(fin), j) + np.linspace(-0.2, 0.2, len(fin)), fin, color=f"C{j}", s=30)
        for r in groups[reg]:
            ax[1].plot(r.steps, r.acc[:, -1], color=f"C{j}", lw=0.8, alpha=0.6,
                       label=reg if r is groups[reg][0] else None)
        n_l = sum(a >= LEARNED for a in fin)
        ax[0].annotate(f"{n_l}/{len(fin)}", (j, 1.03), ha="center", fontsize=9)
    chance = groups[regimes[0]][0].chance
    for a in ax:
        a.axhline(LEARNED, color="k", lw=0.8, ls="-.")
        a.axhline(chance, color="gray", lw=0.8, ls="--")
    ax[0].set(xticks=range(len(regimes)), ylim=(0, 1.1), ylabel="final D-hop query accuracy",
              title=f"per regime and seed (learned: >= {LEARNED}, dash-dot; chance dashed)")
    ax[0].set_xticklabels(regimes)
    ax[1].set(xlabel="Adam step", ylabel="D-hop query accuracy", title="training curves")
    ax[1].legend(fontsize=8)
    ctx.save_figure(
        "curriculum", fig, caption="Left: the final hardest-query accuracy of every seed in every regime, with the "
        "count of seeds at or above the learned line. Right: the same over training.",
        claims=("musat2025.curriculum.none", "musat2025.curriculum.IC-A", "musat2025.curriculum.IC-B"))


def figure_depth(ctx: VerifyContext, acc: dict[int, list[float]], chance: float) -> None:
    """The hand-set circuit's and the trained models' accuracy against query depth."""
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
    ax[1].set(xlabel="query depth k", ylabel="final accuracy", title="trained (IC-B, best seed per L)",
              xticks=range(1, len(next(iter(acc.values()))) + 1))
    ax[1].legend(fontsize=8)
    ctx.save_figure(
        "depth", fig, caption="Left: the hand-set L-layer circuit answers every query of depth k <= L - 1 "
        "exactly and falls to about chance beyond. Right: trained IC-B models (best seed per L); the 1-layer "
        "model stays at chance on 2-hop queries, which the bound ceil(log_3(2k)) forbids it, while models with "
        "L >= k + 1 layers learn them (in the legend: the largest k the bound allows for each L).",
        claims=("musat2025.construct-exact", "musat2025.construct-depth", "musat2025.depth-trained"))
