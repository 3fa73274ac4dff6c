r"""Figures of ``musat2025``: what each shows is in its caption (and docs/musat2025.md).

One function per figure group, called by :mod:`.verify` after the claims: the reduced model R1
(:func:`figure_r1`), the trained transformer (:func:`figure_training`,
:func:`figure_attention`) and the depth table (:func:`figure_depth`).
"""

from __future__ import annotations

import math

import numpy as np

from derivations.musat2025.claims import LEARNED
from derivations.musat2025.data import min_layers
from derivations.musat2025.experiments import TrainingRun, head_roles
from dynamics.trajectory import Trajectory
from dynamics.verify import VerifyContext

__all__ = ["figure_r1", "figure_training", "figure_attention", "figure_depth"]


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


def figure_training(ctx: VerifyContext, seeds: list[TrainingRun], runs: dict[str, TrainingRun],
                    events: list[dict[str, float]]) -> None:
    """The IC-B seeds' emergence, the emergence events per seed, and the curriculum regimes."""
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


def figure_attention(ctx: VerifyContext, run: TrainingRun) -> None:
    """Every head's attention map after training, on one deepest query."""
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
    ax[1].set(xlabel="query depth k", ylabel="final accuracy", title="trained (IC-B), L = 1..4",
              xticks=range(1, len(next(iter(acc.values()))) + 1))
    ax[1].legend(fontsize=8)
    ctx.save_figure(
        "depth", fig, caption="Left: the hand-set L-layer circuit answers every query of depth k <= L - 1 "
        "exactly and falls to about chance beyond. Right: trained IC-B models; the 1-layer model stays at "
        "chance on 2-hop queries, which the bound ceil(log_3(2k)) forbids it, while deeper models learn them "
        "(in the legend: the largest k the bound allows for each L).",
        claims=("musat2025.construct-exact", "musat2025.construct-depth", "musat2025.depth-trained"))
