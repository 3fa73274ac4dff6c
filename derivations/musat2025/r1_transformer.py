r"""R1 against the transformer: the reduced model's predictions beside measured emergence (issue 17, item 5).

The reduced model R1 (:mod:`.reduced`, spec 5.2, the spec's proposal) is integrated with each
regime's mixture weights, and its predictions are compared with the steps at which the trained
transformer's heads emerge. This mapping is **our reconstruction** (spec 5.4):

=============================  =====================================================
R1                             transformer
=============================  =====================================================
head $i$ ($a_i$, $p_i$)        the hop-$i$ retrieval head (emergence measured by the
                               caller, e.g. when its ablation effect appears)
class $j$ (needs heads 1..j)   $j$-hop queries
$\pi_j$                        the regime's weight of hop level $j$ (the share of
                               supervised labels at that level)
$n$ (competing keys)           the statements a retrieval head chooses among,
                               ``n_chains * depth``
$V$                            ``n_values``
time $t$                       steps $= c\,t$, one constant $c$ (fitted, below)
=============================  =====================================================

What is predicted (nothing fitted)
    * **Order**: R1's emergence times order the levels within each regime. A transformer pair
      of levels is *resolved* when its steps differ by more than the tie tolerance (default the
      snapshot resolution: closer events cannot be ordered), *tied* otherwise; the claim is the
      fraction of resolved pairs in R1's order, over every regime and seed.
    * **Merging under gaps**: a level with weight 0 gives its head the same equation as the next
      head (both are driven only by the classes that need both), so R1 makes them emerge at
      the same time exactly. Where R1 merges two levels, the transformer's steps must be tied.
    * **Scaling in n** (only when the caller measured it at several $n$): the log-log slope of
      the first level's emergence step against $n$ is R1's slope at the same $n$ and weights.
What is fitted
    One time scale $c$ (steps per unit of R1 time), the ratio of the medians of the first
    level's emergence in the reference regime (the first one given). It only places R1's
    times on the step axis for the figure and the details (predicted against measured medians
    per regime and level); no claim depends on it, because R1 is a gradient flow and the
    transformer is trained with Adam, whose steps are not calibrated to flow time (spec 5.4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from derivations.musat2025.reduced import r1_model
from dynamics.analysis import first_crossing, loglog_slope
from dynamics.claims import Claim, check
from dynamics.integrate import integrate
from dynamics.validate import positive_float

__all__ = ["MERGE_RTOL", "R1Prediction", "r1_predictions", "pair_relations", "compare_r1",
           "figure_r1_transformer"]

#: Relative gap below which two R1 emergence times count as one (merged heads cross together
#: exactly; the smallest separation of unmerged heads in the regimes used is ~20% of t).
MERGE_RTOL = 1e-6


@dataclass(frozen=True)
class R1Prediction:
    """R1's emergence times for one regime: ``times`` (D,), nan where a head never emerges by ``t_max``."""

    weights: tuple[float, ...]
    times: np.ndarray

    def relation(self, i: int, j: int) -> str:
        """``"before"`` (level i first), ``"after"``, ``"merged"`` or ``"never"`` (one never emerges)."""
        ti, tj = float(self.times[i]), float(self.times[j])
        if not (math.isfinite(ti) and math.isfinite(tj)):
            return "never"
        if abs(tj - ti) <= MERGE_RTOL * max(abs(ti), abs(tj)):
            return "merged"
        return "before" if ti < tj else "after"


def _weights(name: str, w: Any, D: int | None = None) -> np.ndarray:
    a = np.asarray(w, dtype=float)
    if a.ndim != 1 or a.size < 1 or (D is not None and a.size != D):
        raise ValueError(f"weights_by_regime[{name!r}] must be {D or 'D'} numbers, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or not np.isclose(a.sum(), 1.0):
        raise ValueError(f"weights_by_regime[{name!r}] must be non-negative and sum to 1, got {a.tolist()}")
    return a


def r1_predictions(weights_by_regime: Mapping[str, Sequence[float]], n: float, V: float,
                   t_max: float = 1e7) -> dict[str, R1Prediction]:
    """Integrate R1 (m = D heads) with each regime's weights; emergence = $p_i$ crossing 1/2.

    Parameters
    ----------
    weights_by_regime : mapping of str to sequence of float
        Per regime, the weights of hop levels 1..D (non-negative, sum 1).
    n, V : float
        Competing keys and answers (> 1).
    t_max : float
        Horizon; a head not emerged by then is ``nan``.
    """
    if not isinstance(weights_by_regime, Mapping) or not weights_by_regime:
        raise ValueError("weights_by_regime must be a non-empty mapping of regime -> weights")
    n, V, t_max = positive_float("n", n), positive_float("V", V), positive_float("t_max", t_max)
    if n <= 1 or V <= 1:
        raise ValueError(f"n and V must exceed 1, got n={n}, V={V}")
    ws = {k: _weights(k, w) for k, w in weights_by_regime.items()}
    D = len(next(iter(ws.values())))
    for k, w in ws.items():
        _weights(k, w, D)
    cm = r1_model(D).compile()
    out = {}
    for k, w in ws.items():
        params = {"n": n, "V": V} | {f"pi{j + 1}": float(w[j]) for j in range(D)}
        tr = integrate(cm, np.zeros(D + 1), params, t_max=t_max, n_points=4000, t_min=1e-2)
        times = np.array([first_crossing(tr.t, tr[f"p{i + 1}"], 0.5, "up") for i in range(D)])
        out[k] = R1Prediction(tuple(float(x) for x in w), times)
    return out


def pair_relations(steps: np.ndarray, pred: R1Prediction, tie_tol: float) -> dict[str, list[tuple[int, int, int]]]:
    """Classify every (seed, level i < level j) against R1.

    Returns lists of ``(seed, i, j)`` (0-based levels) under ``"concordant"``, ``"discordant"``,
    ``"tied"`` (R1 orders them, the transformer's steps are within ``tie_tol``), ``"merged_tied"``,
    ``"merged_apart"`` (R1 merges them) and ``"unformed"`` (a level never formed in that seed, or
    R1 never makes it emerge). A pair where only the later R1 level formed is discordant.
    """
    out: dict[str, list[tuple[int, int, int]]] = {k: [] for k in (
        "concordant", "discordant", "tied", "merged_tied", "merged_apart", "unformed")}
    S, D = steps.shape
    for s in range(S):
        for i in range(D):
            for j in range(i + 1, D):
                rel = pred.relation(i, j)
                a, b = steps[s, i], steps[s, j]
                if rel == "never" or (math.isnan(a) and math.isnan(b)):
                    out["unformed"].append((s, i, j))
                    continue
                first, second = (i, j) if rel in ("before", "merged") else (j, i)
                sa, sb = steps[s, first], steps[s, second]
                if rel == "merged":
                    ok = math.isfinite(sa) and math.isfinite(sb) and abs(sb - sa) <= tie_tol
                    out["merged_tied" if ok else "merged_apart"].append((s, i, j))
                elif math.isnan(sa):  # R1's later level formed without R1's earlier one
                    out["discordant"].append((s, i, j))
                elif math.isnan(sb):
                    out["concordant"].append((s, i, j))
                elif sb - sa > tie_tol:
                    out["concordant"].append((s, i, j))
                elif sa - sb > tie_tol:
                    out["discordant"].append((s, i, j))
                else:
                    out["tied"].append((s, i, j))
    return out


def _time_scale(steps: Mapping[str, np.ndarray], preds: Mapping[str, R1Prediction]) -> float:
    ref = next(iter(steps))
    med = np.nanmedian(steps[ref][:, 0]) if np.isfinite(steps[ref][:, 0]).any() else math.nan
    t1 = float(preds[ref].times[0])
    return float(med / t1) if math.isfinite(med) and math.isfinite(t1) and t1 > 0 else math.nan


def compare_r1(
    emergence_steps_by_regime: Mapping[str, Any],
    weights_by_regime: Mapping[str, Sequence[float]],
    resolution: float,
    *,
    n: float = 8.0,
    V: float = 16.0,
    tie_tol: float | None = None,
    steps_by_n: Mapping[float, Any] | None = None,
    weights_by_n: Sequence[float] | None = None,
    t_max: float = 1e7,
) -> list[Claim]:
    """R1's order, merging and (optionally) n-scaling predictions against measured emergence.

    Parameters
    ----------
    emergence_steps_by_regime : mapping of str to array (n_seeds, D)
        Per regime, the step at which each hop level's head emerged; ``nan`` = never formed.
        The first regime is the reference of the fitted time scale.
    weights_by_regime : mapping of str to sequence of float
        Per regime (same keys), the weights of hop levels 1..D.
    resolution : float
        Steps between snapshots (the emergence steps are known to this precision).
    n, V : float
        R1's competing keys and answers: ``n_chains * depth`` and ``n_values`` of the task.
    tie_tol : float, optional
        Steps within which two emergences count as tied; default ``resolution``.
    steps_by_n : mapping of float to array (n_seeds,), optional
        First-level emergence steps measured at several $n$ (at least 3), with the mixture
        ``weights_by_n``; adds the scaling claim.
    t_max : float
        R1 horizon.

    Returns
    -------
    list of Claim
        ``musat2025.r1-transformer-order``; ``musat2025.r1-transformer-merge`` when R1 merges
        some pair in some regime; ``musat2025.r1-transformer-scaling`` when ``steps_by_n``.
    """
    if not isinstance(emergence_steps_by_regime, Mapping) or not emergence_steps_by_regime:
        raise ValueError("emergence_steps_by_regime must be a non-empty mapping of regime -> (n_seeds, D) array")
    if not isinstance(weights_by_regime, Mapping) or set(weights_by_regime) != set(emergence_steps_by_regime):
        raise ValueError("weights_by_regime must have the same regimes as emergence_steps_by_regime")
    resolution = positive_float("resolution", resolution)
    tie = resolution if tie_tol is None else float(tie_tol)
    if not (math.isfinite(tie) and tie >= 0):
        raise ValueError(f"tie_tol must be a finite number >= 0, got {tie_tol!r}")
    steps: dict[str, np.ndarray] = {}
    for k, a in emergence_steps_by_regime.items():
        arr = np.asarray(a, dtype=float)
        D = len(np.asarray(weights_by_regime[k]))
        if arr.ndim != 2 or arr.shape[1] != D or arr.shape[0] < 1:
            raise ValueError(f"emergence_steps_by_regime[{k!r}] must be (n_seeds, {D}), got shape {arr.shape}")
        if np.any(np.isinf(arr)) or np.any(arr[np.isfinite(arr)] < 0):
            raise ValueError(f"emergence_steps_by_regime[{k!r}] must hold steps >= 0 or nan")
        steps[k] = arr
    preds = r1_predictions(weights_by_regime, n, V, t_max)
    rel = {k: pair_relations(steps[k], preds[k], tie) for k in steps}
    count = {c: sum(len(r[c]) for r in rel.values()) for c in next(iter(rel.values()))}
    c_fit = _time_scale(steps, preds)
    details: dict[str, Any] = {
        "counts": count, "tie_tol": tie, "weights": {k: p.weights for k, p in preds.items()}, "resolution": resolution, "n": n, "V": V,
        "r1_times": {k: p.times.tolist() for k, p in preds.items()},
        "r1_relations": {k: {f"{i + 1}-{j + 1}": p.relation(i, j) for i in range(len(p.times))
                             for j in range(i + 1, len(p.times))} for k, p in preds.items()},
        "fitted_steps_per_r1_time": c_fit,
        "median_steps": {k: [float(np.median(c[np.isfinite(c)])) if np.isfinite(c).any() else math.nan
                             for c in a.T] for k, a in steps.items()},
        "pairs": {k: {c: v for c, v in r.items() if v} for k, r in rel.items()},
    }
    resolved = count["concordant"] + count["discordant"]
    frac = count["concordant"] / resolved if resolved else math.nan
    claims = [check(
        "musat2025.r1-transformer-order", "R1 against the transformer, order: over every regime, seed and pair "
        "of hop levels that R1 orders, the fraction of pairs resolved in the transformer (steps more than the "
        f"tie tolerance {tie:g} apart, or only one formed) that emerge in R1's order "
        f"({count['concordant']} in order, {count['discordant']} reversed, {count['tied']} tied).",
        1.0, frac, tol=0.0, source="derived",
        why="R1 is deterministic and orders the levels without exception, so every resolved pair must agree "
            "(one reversal fails); pairs closer than the tie tolerance (the snapshot resolution: closer "
            "events cannot be ordered) are left out and counted.",
        details=details, negative_controls={"the reverse order (hop k+1 before hop k)": 0.0})]
    merged = count["merged_tied"] + count["merged_apart"]
    if merged:
        claims.append(check(
            "musat2025.r1-transformer-merge", "R1 against the transformer, merging under gaps: where a hop "
            "level has weight 0, R1 makes its head emerge together with the next level's; fraction of those "
            f"pairs (over seeds where both formed or one did) tied in the transformer, within {tie:g} steps.",
            1.0, count["merged_tied"] / merged, tol=0.0, source="derived",
            why="R1's merged heads obey one equation and cross at the same instant, so every such pair must "
                "be tied; the tie tolerance is the snapshot resolution (events in adjacent snapshots cannot be "
                "told apart).", details=details,
            negative_controls={"no merging (the pairs resolved, as with the gap filled)": 0.0}))
    if steps_by_n is not None:
        claims.append(_scaling_claim(steps_by_n, weights_by_n, V, resolution, t_max))
    return claims


def _scaling_claim(steps_by_n: Mapping[float, Any], weights: Sequence[float] | None, V: float,
                   resolution: float, t_max: float) -> Claim:
    if not isinstance(steps_by_n, Mapping) or len(steps_by_n) < 3:
        raise ValueError("steps_by_n must map at least 3 values of n to arrays of first-level steps")
    if weights is None:
        raise ValueError("weights_by_n is needed with steps_by_n")
    ns = sorted(float(x) for x in steps_by_n)
    med = np.array([np.nanmedian(np.asarray(steps_by_n[x], dtype=float)) for x in sorted(steps_by_n)])
    if not np.all(np.isfinite(med)) or np.any(med <= 0):
        raise ValueError("steps_by_n: every n needs at least one seed whose first level formed")
    r1 = [r1_predictions({"x": weights}, x, V, t_max)["x"].times[0] for x in ns]
    predicted = loglog_slope(np.array(ns), np.array(r1)).slope
    fit = loglog_slope(np.array(ns), med)
    rng = np.random.default_rng(0)  # bootstrap over seeds: the spread of the measured slope
    boot = []
    for _ in range(200):
        m = [np.nanmedian(rng.choice(np.asarray(steps_by_n[x], dtype=float), len(steps_by_n[x])))
             for x in sorted(steps_by_n)]
        if np.all(np.isfinite(m)) and np.all(np.asarray(m) > 0):
            boot.append(loglog_slope(np.array(ns), np.array(m)).slope)
    sd = float(np.std(boot)) if len(boot) > 1 else math.inf
    quant = 2 * resolution / float(med.min()) / math.log(ns[-1] / ns[0])
    tol = 2 * sd + quant
    return check(
        "musat2025.r1-transformer-scaling", f"R1 against the transformer, scaling in n: log-log slope of the "
        f"median first-level emergence step against n = {ns}.", predicted, fit.slope, tol=tol, source="derived",
        why=f"two bootstrap standard deviations of the measured slope over seeds (2 x {sd:.3f}) plus the largest "
            f"slope change the snapshot grid can make ({quant:.3f}: a median moved by one resolution at the "
            "smallest step, over the log range of n); R1's own 1/n corrections are in the prediction, which is "
            "R1's slope at the same n.", details={"n": ns, "median_steps": med.tolist(), "r1_times": r1})


def figure_r1_transformer(ctx: Any, emergence_steps_by_regime: Mapping[str, Any], claims: Sequence[Claim]) -> None:
    """Per regime, every seed's emergence step by hop level beside R1's times on the fitted step axis."""
    import matplotlib.pyplot as plt

    order = next(c for c in claims if c.id == "musat2025.r1-transformer-order")
    det = order.details
    c_fit, tie = det["fitted_steps_per_r1_time"], det["tie_tol"]
    regimes = list(emergence_steps_by_regime)
    fig, ax = plt.subplots(1, len(regimes), figsize=(4.2 * len(regimes), 3.8), squeeze=False, sharey=True)
    finite = [x for k in regimes for x in np.asarray(emergence_steps_by_regime[k], dtype=float).ravel()
              if math.isfinite(x)] + [t * c_fit for ts in det["r1_times"].values() for t in ts
                                      if math.isfinite(t * c_fit)]
    top = 1.08 * max(finite) if finite else 1.0  # where "never formed" is drawn
    for a, k in zip(ax[0], regimes, strict=True):
        st = np.asarray(emergence_steps_by_regime[k], dtype=float)
        D = st.shape[1]
        for s in range(st.shape[0]):
            x = np.arange(1, D + 1) + 0.04 * (s - st.shape[0] / 2)
            a.plot(x, st[s], "o-", color="0.6", alpha=0.6, ms=4, lw=0.8)
            never = np.isnan(st[s])
            a.plot(x[never], np.full(int(never.sum()), top), "x", color="0.3", ms=6,
                   label="never formed (seed)" if s == 0 and never.any() else None)
        r1 = np.asarray(det["r1_times"][k]) * c_fit
        a.plot(np.arange(1, D + 1), r1, "rs--", ms=7, label="R1 x fitted scale")
        a.set(xlabel="hop level", title=f"{k}: weights {np.round(det.get('weights', {}).get(k, []), 2).tolist()}"
              if det.get("weights") else k, xticks=range(1, D + 1))
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    ax[0][0].set_ylabel(f"emergence step (seeds grey; ties within {tie:g})")
    ids = tuple(c.id for c in claims)
    ctx.save_figure(
        "r1_transformer", fig, caption="Per regime, the step at which each hop level's head emerged in every "
        "seed (grey lines, one per seed; crosses at the top: never formed within the budget) and R1's emergence times (red squares) placed on the step axis by the "
        "one fitted scale (the reference regime's first level). R1 predicts the order of the levels and, where "
        "a level has weight 0, that two levels coincide; read the slopes of the grey lines against the red "
        "ones, not the absolute heights of other regimes (Adam steps are not calibrated to flow time).",
        claims=ids)
