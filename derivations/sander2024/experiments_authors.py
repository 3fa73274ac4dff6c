r"""The stages of ``dynamics verify sander2024`` that rerun the authors' own experiments at
their sizes: Fig. 3 (:func:`fig3_authors`, their coded reduced losses, many seeds, compared
with their saved tensors) and Figs. 5 and 7 (:func:`haar_authors`, their architectures on
Haar-orthogonal $W$, against the one-step-GD baselines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from derivations.sander2024.claims_authors import (
    claim_fig3_c,
    claim_fig3_offdiag,
    claim_fig3_ratio,
    claim_fig3_structure,
    small_init_abs_c,
)
from derivations.sander2024.fig3 import AUTHORS_TENSORS, PROTOCOL, Fig3Run, authors_gd, measure
from dynamics.claims import Claim
from dynamics.verify import VerifyContext

if TYPE_CHECKING:
    from derivations.sander2024.verify import Settings

__all__ = ["BASIN_LOSS", "fig3_authors"]

BASIN_LOSS = 0.1
"""Final coded loss below which a seed counts as having reached the zero-loss minimum within the
authors' number of steps, as their saved run did (their tensors give c P_{t,t+1} = 1.0000). The
seeds left out are reported with their numbers: unitary, a seed whose C forms late (loss still
~100 after 100 steps, 0 after 200); rotations, the other end state of the authors' protocol
(P_{t,t}/P_{t,t+1} near 3.7, loss 1.6-1.8, reached after a jump of the conserved Q, a
discrete-GD effect). The kept seeds are below 1e-4."""


def _pick(run: Fig3Run, m: dict[str, np.ndarray], keep: np.ndarray) -> int:
    """A seed for the figure: the first kept seed with c < 0, the sign of the authors' run."""
    idx = np.flatnonzero(keep & (m["c"] < 0))
    return int(idx[0]) if idx.size else int(np.flatnonzero(keep)[0])


def fig3_authors(ctx: VerifyContext, s: Settings) -> list[Claim]:
    """Fig. 3 at the authors' sizes and protocol against their saved tensors (spec 3.2, 3.3)."""
    import matplotlib.pyplot as plt

    from derivations.sander2024.closed_forms import haar_offdiag_r2_mean, haar_offdiag_r2_sd

    claims: list[Claim] = []
    # --quick keeps every rotation seed: the ratio's spread over seeds has a long tail (seeds still
    # converging after 1e5 steps), which a handful of seeds misses
    runs = {"unitary": authors_gd("unitary", s.fig3_seeds, ctx.rng(90)),
            "rotation": authors_gd("rotation", s.fig3_rotation_seeds, ctx.rng(91))}
    shown: dict[str, tuple[Fig3Run, int, dict[str, np.ndarray], np.ndarray]] = {}
    info: dict[str, Any] = {}
    for kind, run in runs.items():
        m = measure(run)
        keep = m["loss"] < BASIN_LOSS
        if np.sum(keep) < 2:
            raise RuntimeError(f"fewer than 2 {kind} seeds reached the zero-loss minimum ({np.sum(keep)})")
        abs_c = np.abs(m["c"][keep])
        det = {"protocol": PROTOCOL[kind], "seeds": int(run.A.shape[0]), "in_basin": int(np.sum(keep)),
               "abs_c_mean": float(abs_c.mean()), "abs_c_sd": float(np.std(abs_c, ddof=1)),
               "abs_c_range": [float(abs_c.min()), float(abs_c.max())], "authors": AUTHORS_TENSORS[kind],
               "Q0_mean": float(run.Q0.mean()), "Q_drift_max_in_basin": float(np.max(np.abs(run.Q - run.Q0)[keep])),
               "small_init_abs_c": small_init_abs_c(kind)}
        det["left_out"] = {"count": int(np.sum(~keep)), "loss": m["loss"][~keep].tolist(),
                           "c": m["c"][~keep].tolist(), "ratio": m["ratio"][~keep].tolist(),
                           "Q_drift": (run.Q - run.Q0)[~keep].tolist()}
        info[kind] = det
        claims.append(claim_fig3_c(kind, AUTHORS_TENSORS[kind]["c"], abs_c, details=det))
        claims.append(claim_fig3_structure(
            kind, float(np.mean(m["cP"][keep])), float(np.max(m["others_max"][keep])),
            float(np.max(np.abs(m["loss"][keep]))), float(np.max(m["residual"][keep])),
            details={"cP_spread_max": float(np.max(m["cP_spread"][keep]))},
            offdiag=float(np.max(m["offdiag"][keep])) if kind == "unitary" else None))
        shown[kind] = (run, _pick(run, m, keep), m, keep)
    run, _, m, keep = shown["rotation"]
    ratios = m["ratio"][keep]
    claims.append(claim_fig3_ratio(AUTHORS_TENSORS["rotation"]["ratio"], ratios,
                                   details={"ratios": ratios.tolist(), "distance_from_minus_half": float(np.mean(ratios) + 0.5)}))
    H, k = run.A.shape[1], run.A.shape[2] // 2
    sd = haar_offdiag_r2_sd(k, H, ctx.rng(92))
    r2 = m["offdiag"][keep] ** 2
    claims.append(claim_fig3_offdiag(AUTHORS_TENSORS["rotation"]["offdiag"] ** 2, haar_offdiag_r2_mean(k, H), sd,
                                     details={"our_mean_r2": float(np.mean(r2)), "our_r2": r2.tolist()}))
    ctx.config["fig3_authors"] = info

    fig, ax = plt.subplots(2, 5, figsize=(21, 8.5), layout="constrained",
                           gridspec_kw={"width_ratios": [1, 1, 1, 1.6, 1.4]})
    for row, kind in enumerate(("unitary", "rotation")):
        run, i, m, keep = shown[kind]
        T = run.P.shape[1]
        Pm = np.where(np.triu(np.ones((T, T)), k=2) > 0, 0.0, run.P[i])[:-1, :-1]
        C = run.B[i].T @ run.A[i]
        for a_, M, title in ((ax[row, 0], run.A[i], "A"), (ax[row, 1], run.B[i], "B"), (ax[row, 2], C, "B^T A"),
                             (ax[row, 3], Pm, "P (j > t+1 zeroed, [:-1, :-1])")):
            im = a_.imshow(M, cmap="cividis", interpolation="nearest")
            a_.set_title(f"{kind}: {title}", fontsize=9)
            a_.set(xticks=[], yticks=[])
            fig.colorbar(im, ax=a_, shrink=0.8)
        a_ = ax[row, 4]
        a_.hist(np.abs(m["c"][keep]), bins=12, color="C0", alpha=0.7, label=f"our seeds ({int(np.sum(keep))})")
        a_.axvline(abs(AUTHORS_TENSORS[kind]["c"]), color="k", lw=2, label="authors' saved tensor")
        a_.axvline(info[kind]["small_init_abs_c"], color="gray", ls="--", label="small-init law")
        extra = (f"\nratio P_tt/P_t,t+1: ours {np.mean(m['ratio'][keep]):.5f}, authors' -0.49988"
                 if kind == "rotation" else "")
        a_.set(xlabel="|c|", ylabel="seeds", title=f"{kind}: |c| over seeds{extra}")
        a_.title.set_fontsize(9)
        a_.legend(fontsize=7)
    fig.suptitle("Fig. 3 at the authors' sizes (d = 10, T = 20; top H = 10 unitary, bottom H = 8 rotations): one of "
                 "our seeds with c < 0 as in the authors' run, and |c| over seeds against their saved tensor")
    ctx.save_figure(
        "fig3_authors", fig,
        claims=("sander2024.fig3-unitary-c", "sander2024.fig3-unitary-structure", "sander2024.fig3-rotation-c",
                "sander2024.fig3-rotation-structure", "sander2024.fig3-rotation-ratio",
                "sander2024.fig3-rotation-offdiag"),
        caption="The authors' Fig. 3 rerun with their sizes, loss and protocol. Top (unitary): B^T A = c I and P has "
                "a single non-zero diagonal, the most recent key. Bottom (rotations): B^T A has 2 x 2 blocks of equal "
                "entries and P two adjacent diagonals of opposite sign, ratio -1/2. Right: |c| differs from seed to "
                "seed (it is set by the initialisation through the conserved Q); the authors' value (black) lies "
                "inside our spread, the small-init law (dashed) does not account for their init scale 0.1.")
    ctx.save_arrays("fig3_authors", {f"{kind}_{key}": np.asarray(v) for kind, (_, _, m, _) in shown.items()
                                     for key, v in m.items()}, meta={"protocol": PROTOCOL})
    return claims


def _powers_of_two(top: int) -> tuple[int, ...]:
    out, h = [], 1
    while h <= top:
        out.append(h)
        h *= 2
    return tuple(out)


def haar_authors(ctx: VerifyContext, s: Settings) -> list[Claim]:
    """Figs. 5 and 7: the authors' architectures on Haar W at their sizes (d = 5, n = 50), trained
    with the protocol of ``s`` (``haar_*``; the authors' full protocol is a ``--set`` command),
    against the one-step-GD baselines in the authors' MSE normalisation (spec 1.3, 5)."""
    import matplotlib.pyplot as plt

    from derivations.sander2024.claims_authors import (
        claim_haar_mse_normalisation,
        claim_haar_order,
        resolved_order,
    )
    from derivations.sander2024.haar_authors import HaarProtocol, gd_baselines, haar_sets, sweep

    steps = s.haar_steps if not ctx.quick else max(1, s.haar_steps // 2)
    batch = s.haar_batch if not ctx.quick else max(1, s.haar_batch // 2)  # --quick: a quarter of the work
    proto = HaarProtocol(n_train=s.haar_train, batch=batch, steps=steps, seed=ctx.seed)
    layers = tuple(range(1, s.haar_layers + 1))
    heads = _powers_of_two(s.haar_heads)
    train_set, test_set = haar_sets(proto)
    base = gd_baselines(train_set, test_set)
    runs = sweep(proto, layers, heads)
    names = {"zero": "zero", "gd_shared": "GD shared step", "gd_per_position": "GD per position"}
    aug = {f"L={r['size']}": r["test_per_seq"] for r in runs if r["arch"] == "aug"}
    non = {f"H={r['size']}": r["test_per_seq"] for r in runs if r["arch"] == "nonaug"}
    per_seq_aug = {**aug, **{names[k]: base[k] for k in names}}
    measured_aug = resolved_order(per_seq_aug)
    pred_aug = [f"L={L}" for L in reversed(layers)] + ["GD per position", "GD shared step", "zero"]
    one_gd = [f"L={L}" for L in reversed(layers) if L > 1] + ["GD per position", "L=1 ~ GD shared step", "zero"]
    no_depth = [" ~ ".join(f"L={L}" for L in layers), "GD per position", "GD shared step", "zero"]
    means = {k: float(np.mean(v)) for k, v in per_seq_aug.items()}
    info = {"protocol": proto.__dict__, "test_mse": means, "eta_shared": base["eta_shared"],
            "runs": [{k: v for k, v in r.items() if k != "test_per_seq"} for r in runs]}
    claims = [claim_haar_mse_normalisation(float(np.mean(base["zero"])), proto.d, proto.n),
              claim_haar_order("aug-layers", pred_aug, measured_aug,
                               {"one layer = one GD step (the commuting theory)": one_gd,
                                "depth does not help": no_depth if len(layers) > 1 else one_gd}, details=info)]
    claimed = [H for H in heads if H <= proto.d]  # the commuting theory predicts gains up to H = d only
    per_seq_non = {**{f"H={H}": non[f"H={H}"] for H in claimed}, "zero": base["zero"]}
    measured_non = resolved_order(per_seq_non)
    pred_non = [f"H={H}" for H in reversed(claimed)] + ["zero"]
    sat = [" ~ ".join(f"H={H}" for H in claimed), "zero"]
    info_non = {"test_mse": {k: float(np.mean(v)) for k, v in {**non, **{names[k]: base[k] for k in names}}.items()},
                "heads": list(heads)}
    claims.append(claim_haar_order("nonaug-heads", pred_non, measured_non,
                                   {"saturated from H = 1": sat if len(claimed) > 1 else ["zero", "H=1"]},
                                   details=info_non))
    ctx.config["haar_authors"] = {**info, "nonaug_test_mse": info_non["test_mse"]}

    fig, ax = plt.subplots(1, 3, figsize=(17, 4.6), layout="constrained")
    for a_, d_, xs, xlabel, title in ((ax[0], aug, layers, "layers L", "Fig. 5: augmented tokens"),
                                      (ax[1], non, heads, "heads H", "Fig. 7: non-augmented tokens")):
        keys = [f"{xlabel[0].upper() if xlabel[0] == 'l' else 'H'}={x}" for x in xs]
        m = [float(np.mean(d_[k])) for k in keys]
        se = [2 * float(np.std(d_[k], ddof=1) / np.sqrt(d_[k].size)) for k in keys]
        a_.errorbar(xs, m, yerr=se, fmt="o-", capsize=3, label="trained, test MSE (2 SE)")
        for k, style in (("zero", ":"), ("gd_shared", "-."), ("gd_per_position", "--")):
            v = float(np.mean(base[k]))
            a_.axhline(v, ls=style, color="gray", lw=1)
            a_.text(xs[0], v, f" {names[k]} {v:.3f}", fontsize=7, va="bottom")
        a_.set(xscale="log" if xlabel.startswith("heads") else "linear", yscale="log", xticks=list(xs),
               xticklabels=[str(x) for x in xs], xlabel=xlabel, ylabel="test MSE (authors' nn.MSELoss)",
               title=f"{title}, Haar O({proto.d}), n = {proto.n}")
        a_.xaxis.set_minor_formatter(plt.NullFormatter())
        a_.legend(fontsize=7, loc="center right")
    for r in runs:
        ax[2].plot(r["curve"]["step"], r["curve"]["train_mse"], "o-" if r["arch"] == "aug" else "s--",
                   label=f"{'L' if r['arch'] == 'aug' else 'H'}={r['size']}")
    ax[2].set(yscale="log", xlabel="Adam update", ylabel="training MSE",
              title=f"training (batch {proto.batch}, {proto.n_train} sequences, lr {proto.lr:g})")
    ax[2].legend(fontsize=7, ncol=2)
    ctx.save_figure(
        "haar_authors", fig,
        claims=("sander2024.haar-mse-normalisation", "sander2024.haar-aug-layers", "sander2024.haar-nonaug-heads"),
        caption="The authors' Fig. 5 and Fig. 7 models on non-commuting Haar W at their sizes (d = 5, n = 50), "
                "test MSE in their normalisation against the zero predictor and one GD step (shared or per-position "
                "step, fitted on the training set; error bars 2 standard errors over the test sequences). Left: "
                "where one layer lies against the GD baselines (below both in our runs) and whether each added "
                "layer lowers the loss. Middle: the loss against the number of heads (claimed for H <= d). "
                "Right: the training curves, to judge whether a size is still improving (the verify protocol is "
                "shorter than the authors' 200 epochs).")
    return claims
