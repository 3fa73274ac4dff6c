r"""Reading recorded runs: the unit that carries each hop level, its emergence, the tables over seeds.

Reconstruction (the paper's metrics were not found; the rules are in :mod:`.ablation`):

* :func:`level_heads` / :func:`emergence_steps`: per run, the unit of each hop level and the
  step at which it emerges, the first snapshot at which it carries its level by ablation, by
  the run's ``TrainConfig.unit`` rule (:func:`uses_sites`: the site rule
  :func:`.ablation.site_levels`, or :func:`.ablation.statement_levels` for IC-A's statement
  labels; else the whole-layer or single-head rule of :func:`.ablation.emergence_from_ablation`);
  :func:`unit_name`, :func:`unit_drop`: a unit's name and its ablation effect over the run;
* three cross-checks of the stacked count: :func:`pattern_stacked` (attention patterns
  alone), :func:`stacked_with_above` (whole layers zeroed with the layers above),
  :func:`stacked_by_layer` (the first reconstruction's whole-layer rule);
* :class:`Emergence` / :func:`emergence_table`: per regime the array of emergence steps over
  seeds, the snapshot resolution and the mixture weight of each hop level: the interface to
  the reduced model R1 (:mod:`.r1_transformer`);
* :func:`accuracy_crossings`, :func:`staircase`: when the $k$-hop query accuracy crosses the
  midpoint between in-context chance $1/C$ and 1, and whether 1-hop comes before 2-hop;
* :func:`head_roles`: each head's attention-pattern role $R^* = \arg\max_R \mathrm{SAS}_R$ at
  the end (spec 3.3), a label for figures; the causal identification is the ablation.

The mapping to the reduced model R1 (spec 5.4): $p_i$ <-> the unit carrying level $i$; class
$j$ <-> queries with $j$ hops; $\pi_j$ <-> the mixture weight of hop level $j$
(:func:`~.data.hop_weights`); model time <-> Adam steps (no calibration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from derivations.musat2025.ablation import (
    CONTEXT_SITE,
    QUERY_SITE,
    emergence_from_ablation,
    site_levels,
    statement_levels,
)
from derivations.musat2025.data import hop_weights
from derivations.musat2025.experiments import TrainingRun
from derivations.musat2025.measure import emergence_time

__all__ = [
    "level_heads",
    "emergence_steps",
    "unit_arrays",
    "unit_name",
    "uses_sites",
    "unit_drop",
    "pattern_stacked",
    "stacked_with_above",
    "stacked_by_layer",
    "Emergence",
    "emergence_table",
    "accuracy_crossings",
    "staircase",
    "head_roles",
]


def unit_arrays(run: TrainingRun) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The ablation accuracies (n, L, U, D) and final lookup scores ``{k: (L, U)}`` of the run's
    ablation units, where its levels are measured (``run.levels_at``: the query's ``lookup{k}``
    or the statements' ``slookup{k}``): ``U = H`` single heads (``unit="head"``) or ``U = 1``,
    all heads of a layer (``unit="layer"``; the layer's score is the sum of its heads' excess
    attention)."""
    D = run.acc.shape[1]
    key = "slookup" if run.levels_at == "statements" else "lookup"
    L, H = run.ablated.shape[1:3]
    look = {k: np.asarray(run.scores[f"{key}{k}"][-1], dtype=float) if f"{key}{k}" in run.scores
            else np.full((L, H), np.nan) for k in range(1, D + 1)}
    if run.config.unit == "head":
        return run.level_ablated, look
    return run.level_ablated_layers[:, :, None, :], {k: v.sum(axis=1, keepdims=True) for k, v in look.items()}


def unit_name(unit: tuple[int, int] | None) -> str:
    """``"layer 2"`` for a whole-layer unit ``(2, -1)``, ``"layer 2 at the query"`` and ``"layer 1 at
    the statements"`` for site units (:data:`.ablation.QUERY_SITE`, :data:`.ablation.CONTEXT_SITE`),
    ``"head (2, 0)"`` for a head, ``"none"``."""
    if unit is None:
        return "none"
    site = {QUERY_SITE: " at the query", CONTEXT_SITE: " at the statements"}.get(unit[1], "")
    return f"layer {unit[0]}{site}" if unit[1] < 0 else f"head ({unit[0]}, {unit[1]})"


def uses_sites(run: TrainingRun) -> bool:
    """Whether :func:`level_heads` identifies ``run``'s units by site (``unit="site"``, with the arrays
    it needs recorded: the site arrays at the query, or the with-layers-above arrays at IC-A's
    statements)."""
    if run.config.unit != "site":
        return False
    if run.levels_at == "statements":
        return run.statement_ablated_above is not None
    return run.site_ablated is not None


def unit_drop(run: TrainingRun, unit: tuple[int, int]) -> np.ndarray:
    """(n, D) the level accuracy lost when ``unit`` (from :func:`level_heads`) is zeroed, per snapshot."""
    if uses_sites(run) and run.levels_at == "statements" and unit == level_heads(run)[1][0]:
        assert run.statement_ablated_above is not None  # uses_sites
        return run.level_acc - run.statement_ablated_above[:, unit[0]]  # hop 1: with the layers above
    if unit[1] in (QUERY_SITE, CONTEXT_SITE):
        if run.site_ablated is None:
            raise ValueError("a site unit needs a run recorded with site_ablated")
        col = 2 if unit == level_heads(run)[1][0] else (0 if unit[1] == QUERY_SITE else 1)
        return run.acc - run.site_ablated[:, unit[0], col]
    ablated = unit_arrays(run)[0]
    return run.level_acc - ablated[:, unit[0], max(unit[1], 0)]


def level_heads(run: TrainingRun) -> tuple[np.ndarray, list[tuple[int, int] | None]]:
    """(D,) step at which hop-$k$ retrieval emerges in ``run`` and the unit that carries it
    (:func:`.ablation.emergence_from_ablation` on :func:`unit_arrays` with the run's
    ``carry_frac``; the lookup score must exceed a uniform row's, 0, and each level's unit must
    sit above the previous level's, ``stacked``). A unit is ``(layer, head)``,
    or ``(layer, -1)`` for all heads of a layer; ``nan``/``None``: not within the budget.
    With ``unit="site"`` (:func:`uses_sites`) the units are a layer at the query or at the
    statements, ``(layer, QUERY_SITE)`` or ``(layer, CONTEXT_SITE)``, or a whole layer, by
    :func:`.ablation.site_levels` (the lookup and chain-mate excesses summed over a layer's
    heads); IC-A's levels read at the statements by :func:`.ablation.statement_levels`."""
    if uses_sites(run) and run.levels_at == "statements":
        D = run.acc.shape[1]
        assert run.statement_ablated_layers is not None and run.statement_ablated_above is not None
        look = {k: np.asarray(run.scores[f"slookup{k}"][-1], dtype=float).sum(axis=1) for k in range(1, D + 1)
                if f"slookup{k}" in run.scores}
        chain = {k: np.asarray(run.scores[f"schain{k}"][-1], dtype=float).sum(axis=1) for k in range(1, D + 1)
                 if f"schain{k}" in run.scores}
        return statement_levels(run.steps, run.level_acc, run.statement_ablated_layers, run.statement_ablated_above,
                                run.chance, look, chain, run.config.carry_frac)
    if uses_sites(run):
        assert run.site_ablated is not None  # uses_sites
        D = run.acc.shape[1]
        look = {k: np.asarray(run.scores[f"lookup{k}"][-1], dtype=float).sum(axis=1) for k in range(1, D + 1)}
        return site_levels(run.steps, run.acc, run.site_ablated, run.chance, look,
                           np.asarray(run.scores["chain"][-1], dtype=float).sum(axis=1), run.config.carry_frac,
                           run.ablated_layers)
    ablated, look = unit_arrays(run)
    times, units = emergence_from_ablation(run.steps, run.level_acc, ablated, run.chance, look,
                                           run.config.carry_frac, 0.0, stacked=True)
    if run.config.unit != "head":
        units = [None if u is None else (u[0], -1) for u in units]
    return times, units


def pattern_stacked(run: TrainingRun, min_score: float = 0.5) -> bool:
    r"""Whether the final attention patterns alone show a stacked unit per hop level: layers
    $\ell_1 < \ell_2 < \dots$ whose lookup score for level $k$ (:func:`unit_arrays`) is at least
    ``min_score`` (spec 3.3's SAS threshold, 0.5). The cross-check of :func:`level_heads` without
    the ablation: a circuit whose level is carried redundantly by two units is stacked here but
    has no carrier there."""
    _, look = unit_arrays(run)
    floor = -1
    for k in sorted(look):
        layers = [layer for layer in range(look[k].shape[0]) if layer > floor
                  and np.nanmax(np.nan_to_num(look[k][layer], nan=-1.0)) >= min_score]
        if not layers:
            return False
        floor = layers[0]
    return True


def stacked_with_above(run: TrainingRun) -> bool | None:
    """Whether every hop level has a layer unit when a layer is zeroed together with every layer
    above it (:func:`.ablation.layer_ablation_accuracy` with ``above=True``), the rest of
    :func:`level_heads` unchanged: the cross-check for redundant carriers. A layer whose level a
    backup head above it can also answer carries nothing alone, but the level is lost without
    it and everything above. ``None`` if the run was recorded without those arrays."""
    ab = run.level_ablated_above
    if ab is None:
        return None
    _, look = unit_arrays(run)
    if run.config.unit == "head":  # layer units: the layer's summed excess
        look = {k: v.sum(axis=1, keepdims=True) for k, v in look.items()}
    _, units = emergence_from_ablation(run.steps, run.level_acc, ab[:, :, None, :], run.chance, look,
                                       run.config.carry_frac, 0.0, stacked=True)
    return all(u is not None for u in units)


def stacked_by_layer(run: TrainingRun) -> bool:
    """Whether every hop level has a unit by the first reconstruction's whole-layer criterion
    (:func:`level_heads` with ``unit="layer"``): the cross-check of the site criterion."""
    return all(u is not None for u in level_heads(replace(run, config=run.config.with_(unit="layer")))[1])


def emergence_steps(run: TrainingRun) -> np.ndarray:
    """(D,) step at which hop-$k$ retrieval emerges in ``run`` (:func:`level_heads`); ``nan``: never."""
    return level_heads(run)[0]


@dataclass(frozen=True)
class Emergence:
    """Measured emergence of hop-$k$ retrieval in one regime, over seeds (the R1 interface).

    Attributes
    ----------
    regime : str
        ``"none"``, ``"IC-A"``, ``"IC-B"`` or a reweighted IC-B (``"IC-B.starve{k}"``, P1').
    weights : (D,) float
        Mixture weight of each hop level in the supervised labels (:func:`~.data.hop_weights`).
    emergence_steps : (n_seeds, D) float
        Step at which hop-$k$ retrieval emerges (column $k - 1$); ``nan``: never within the budget.
    resolution : float
        Steps between snapshots; a time is the first snapshot at or after the emergence.
    budget : int
        Adam steps per run.
    seeds : tuple of int
    """

    regime: str
    weights: np.ndarray
    emergence_steps: np.ndarray
    resolution: float
    budget: int
    seeds: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        return {"regime": self.regime, "weights": self.weights.tolist(), "resolution": self.resolution,
                "budget": self.budget, "seeds": list(self.seeds),
                "emergence_steps": [[None if np.isnan(x) else float(x) for x in row] for row in self.emergence_steps]}


def emergence_table(name: str, runs: Sequence[TrainingRun]) -> Emergence:
    """:class:`Emergence` of ``runs`` (one regime, one config, several seeds) under the label ``name``."""
    if not runs:
        raise ValueError("runs must not be empty")
    cfg = runs[0].config
    if any(r.config != cfg or r.regime != runs[0].regime or r.pi != runs[0].pi for r in runs):
        raise ValueError("runs must share one config and one regime")
    return Emergence(name, hop_weights(cfg.task(runs[0].regime, runs[0].pi)),  # type: ignore[arg-type]
                     np.stack([emergence_steps(r) for r in runs]), cfg.resolution, cfg.steps,
                     tuple(r.seed for r in runs))


def accuracy_crossings(run: TrainingRun) -> np.ndarray:
    """(D,) first step (interpolated) where the $k$-hop query accuracy reaches $(1 + 1/C)/2$; nan: never."""
    thr = 0.5 * (1.0 + run.chance)
    return np.array([emergence_time(run.steps, run.acc[:, k], thr) for k in range(run.acc.shape[1])])


def staircase(crossings: Sequence[np.ndarray]) -> list[bool]:
    """Per seed, whether 1-hop queries emerged before 2-hop ones (:func:`accuracy_crossings`).

    A stage that never emerges within the budget counts as emerging after it (censored at the
    budget): 1-hop learned and 2-hop not yet is in order; seeds where neither emerged are left out.
    """
    out = []
    for c in crossings:
        t1, t2 = float(c[0]), float(c[1])
        if np.isfinite(t1) or np.isfinite(t2):
            out.append(bool(t1 < t2) if np.isfinite(t1) and np.isfinite(t2) else bool(np.isfinite(t1)))
    return out


def head_roles(run: TrainingRun, min_score: float = 0.5) -> dict[tuple[int, int], str]:
    """(layer, head) -> attention-pattern role, for heads whose best final structural score is
    >= ``min_score`` (a label; the causal identification is :mod:`.ablation`)."""
    roles = sorted(run.scores)
    final = np.stack([run.scores[r][-1] for r in roles])  # (R, L, H)
    out: dict[tuple[int, int], str] = {}
    L, H = final.shape[1:]
    for layer in range(L):
        for h in range(H):
            col = np.nan_to_num(final[:, layer, h], nan=-1.0)
            j = int(np.argmax(col))
            if col[j] >= min_score:
                out[(layer, h)] = roles[j]
    return out
