r"""Heads identified by cause: zero-ablation of every head and the hop levels it carries (issue 17).

The paper found its circuits by reading attention maps (spec 1.3, 3.3); the spec proposes a
causal check, "zero each head's output at checkpoints and record $\Delta\mathrm{Acc}_k$". This
module is that check, and the emergence times read off it (reconstruction: the criteria and
their thresholds are ours, configurable through the arguments below and the ``Settings`` of
:mod:`.verify`):

* :func:`ablation_accuracy`: the query accuracy per hop count $k$ of the intact model,
  $a_k$, and with each head's output zeroed in turn, $a_k^{(\ell,h)}$
  (:meth:`~.direct.AttentionOnlyTransformer.forward` with ``head_mask``);
* :func:`layer_ablation_accuracy`: the same with all heads of a layer zeroed together;
* :func:`carrier_heads`: a unit (a head, or a layer's heads together) *carries* hop level $k$
  at a snapshot when $k$-hop queries are learned beyond chance, $a_k \ge \theta = (1 + 1/C)/2$,
  and zeroing the unit removes at least ``frac`` of the above-chance accuracy, $a_k - a_k^{(u)}
  \ge f\,(a_k - 1/C)$;
* :func:`assign_levels`: the hop-$k$ retrieval unit, for $k = 1..D$ in turn: among the units
  that carry level $k$ at the end of training and are not yet assigned a lower level, the one
  whose query attention onto the positions its $k$-th lookup matches is largest (the score
  ``lookup{k}`` of :func:`~.measure.query_lookup_score`, the excess over a uniform row, summed
  over the unit's heads), provided it exceeds ``min_score`` (the caller passes 0: a unit
  that does not look at those positions more than uniformly is no retrieval unit for the
  level, such as the previous-token head every query needs). The pattern names the unit, the
  ablation confirms that it is needed. A unit may carry several levels (the hop-1 unit is
  needed by every query); each level gets its own unit, so stacked levels are distinct units.
  No causal candidate: the level has no unit (it did not form);
* :func:`emergence_from_ablation`: the emergence step of level $k$, the first snapshot at which
  its unit carries it (``nan``: never within the budget). Its resolution is the snapshot
  spacing; two levels at the same snapshot are a tie.

The unit (``TrainConfig.unit``, a setting) is the layer by default, a reconstruction decided on
evidence (issue 17; docs/musat2025.md): with two heads per layer the trained models split the
second lookup over the two heads of one layer by statement order (one head reads $j_2$'s dst
when $j_2$ is written after $j_1$, the other $j_1$'s src, where a link head has put the value,
when $j_2$ comes first). Each then removes about half of the above-chance 2-hop accuracy, on
its half of the examples, and single-head ablation misses the level although the layer's two
heads together carry it. With one head per layer both units coincide.

Chance is in-context chance $1/C$ ($C$ chains, one value each, so $C$ plausible answers).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from derivations.musat2025.data import Batch
from derivations.musat2025.direct import AttentionOnlyTransformer

__all__ = ["ablation_accuracy", "layer_ablation_accuracy", "carrier_heads", "assign_levels", "emergence_from_ablation", "CARRY_FRAC"]

#: Default fraction of the above-chance accuracy a head must carry (see :func:`carrier_heads`):
#: half. A head the circuit cannot do without removes all of it (measured: 0.9-1.1 of the
#: margin for the carrying heads of trained runs); half keeps clear of the sampling noise of an
#: accuracy difference on ~170 queries per hop (standard error ~0.05 against margins of
#: 0.3-0.5) and of heads that only sharpen an answer others carry.
CARRY_FRAC = 0.5


def _query_acc(logits: np.ndarray, batch: Batch, D: int) -> np.ndarray:
    correct = logits[:, -1].argmax(axis=-1) == np.asarray(batch.answer)  # (B,)
    qd = np.asarray(batch.query_depth)
    return np.array([correct[qd == k].mean() if np.any(qd == k) else np.nan for k in range(1, D + 1)])


def _statement_acc(logits: np.ndarray, batch: Batch, D: int) -> np.ndarray:
    tgt = np.asarray(batch.targets)[:, :-1]  # (B, S-1): the statement positions and the marker
    hops = np.asarray(batch.hops)[:, :-1]
    correct = logits[:, :-1].argmax(axis=-1) == tgt
    sup = tgt >= 0
    return np.array([correct[sup & (hops == k)].mean() if np.any(sup & (hops == k)) else np.nan
                     for k in range(1, D + 1)])


#: Where the hop levels are read: the query (every regime's question) or the statements' dst
#: positions (IC-A's statement labels; see :func:`ablation_accuracy`).
_ACCURACY = {"query": _query_acc, "statements": _statement_acc}


def _acc_fn(where: str):  # noqa: ANN202
    if where not in _ACCURACY:
        raise ValueError(f"where must be 'query' or 'statements', got {where!r}")
    return _ACCURACY[where]


def ablation_accuracy(
    model: AttentionOnlyTransformer, params: Mapping[str, np.ndarray], batch: Batch, D: int,
    where: str = "query",
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy per hop count, intact and with each head zeroed.

    ``where="query"``: at the query position of the ``batch`` examples with query depth $k$;
    ``where="statements"``: over the supervised statement (dst) labels with $k$ hops, where IC-A
    asks its easier questions (``batch`` an IC-A batch).

    Returns
    -------
    acc : ndarray (D,)
        Accuracy of hop count $k$ (column $k - 1$; ``nan`` if none).
    ablated : ndarray (L, H, D)
        The same with head $(\\ell, h)$'s output zeroed (all other heads intact).
    """
    fn = _acc_fn(where)
    logits, _ = model.forward(params, batch.tokens)
    acc = fn(logits, batch, D)
    L, H = model.n_layers, model.n_heads
    ablated = np.empty((L, H, D))
    for layer in range(L):
        for h in range(H):
            mask = np.ones((L, H))
            mask[layer, h] = 0.0
            ablated[layer, h] = fn(model.forward(params, batch.tokens, mask)[0], batch, D)
    return acc, ablated


def layer_ablation_accuracy(
    model: AttentionOnlyTransformer, params: Mapping[str, np.ndarray], batch: Batch, D: int,
    where: str = "query", above: bool = False,
) -> np.ndarray:
    r"""Accuracy per hop count (``where`` as in :func:`ablation_accuracy`) with all heads of one
    layer zeroed together, (L, D); with ``above``, layer $\ell$ *and every layer above it* (row
    $\ell$): whether the level can still be answered without any computation from layer $\ell$
    up, which a backup head above the unit cannot mask (the redundancy cross-check of
    :func:`~.experiments.stacked_with_above`).

    The unit of the ``"layer"`` identification (see the module doc): a lookup the model splits
    over the heads of one layer by statement order is removed only when they are zeroed together.
    """
    fn = _acc_fn(where)
    L, H = model.n_layers, model.n_heads
    out = np.empty((L, D))
    for layer in range(L):
        mask = np.ones((L, H))
        if above:
            mask[layer:] = 0.0
        else:
            mask[layer] = 0.0
        out[layer] = fn(model.forward(params, batch.tokens, mask)[0], batch, D)
    return out


def carrier_heads(acc: np.ndarray, ablated: np.ndarray, chance: float, frac: float = CARRY_FRAC) -> np.ndarray:
    """Boolean (L, H, D): unit $(\\ell,h)$ carries hop level $k$ (see the module doc).

    ``acc`` (D,) and ``ablated`` (L, H, D) as from :func:`ablation_accuracy` (or (L, 1, D) for
    layer units, :func:`layer_ablation_accuracy`), or with a leading snapshot axis (n, D) and
    (n, L, H, D), giving (n, L, H, D).
    """
    if not 0.0 < chance < 1.0:
        raise ValueError(f"chance must lie in (0, 1), got {chance}")
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"frac must lie in (0, 1], got {frac}")
    a = np.asarray(acc, dtype=float)[..., None, None, :]  # (..., 1, 1, D)
    ab = np.asarray(ablated, dtype=float)  # (..., L, H, D)
    if ab.shape[:-3] != np.shape(acc)[:-1] or ab.shape[-1] != np.shape(acc)[-1]:
        raise ValueError(f"acc {np.shape(acc)} and ablated {ab.shape} do not match")
    learned = a >= 0.5 * (1.0 + chance)
    return np.asarray(learned & (a - ab >= frac * (a - chance)))


def assign_levels(carry_final: np.ndarray, hop_scores: Mapping[int, np.ndarray],
                  min_score: float = 0.0, stacked: bool = False) -> list[tuple[int, int] | None]:
    """The unit of each hop level $k = 1..D$ (see the module doc), ``None`` where none qualifies.

    ``carry_final`` (L, H, D): :func:`carrier_heads` at the last snapshot; ``hop_scores[k]``
    (L, H): the final lookup score of every unit. ``stacked``: the unit of level $k$ must sit in
    a later layer than that of level $k - 1$ (when that level has one): the $k$-th lookup at the
    query matches the variable the $(k-1)$-th returns, so it can only read it above it. Without
    this a layer-0 head that attends to src positions in general (the query knows only its own
    token there) was named the hop-2 unit in one of four one-head seeds.
    """
    carry = np.asarray(carry_final, dtype=bool)
    if carry.ndim != 3:
        raise ValueError(f"carry_final must be (L, H, D), got {carry.shape}")
    taken: set[tuple[int, int]] = set()
    out: list[tuple[int, int] | None] = []
    for k in range(1, carry.shape[2] + 1):
        sc = np.nan_to_num(np.asarray(hop_scores[k], dtype=float), nan=-1.0)
        floor = out[-1][0] if stacked and out and out[-1] is not None else -1
        cand = [(float(sc[lh]), lh) for lh in zip(*np.nonzero(carry[:, :, k - 1]), strict=True)
                if (int(lh[0]), int(lh[1])) not in taken and float(sc[lh]) > min_score and int(lh[0]) > floor]
        if not cand:
            out.append(None)
            continue
        best = max(cand)[1]
        head = (int(best[0]), int(best[1]))
        taken.add(head)
        out.append(head)
    return out


def emergence_from_ablation(
    steps: np.ndarray, acc: np.ndarray, ablated: np.ndarray, chance: float,
    hop_scores: Mapping[int, np.ndarray], frac: float = CARRY_FRAC, min_score: float = 0.0,
    stacked: bool = False,
) -> tuple[np.ndarray, list[tuple[int, int] | None]]:
    """Emergence step of every hop level and its head.

    ``steps`` (n,), ``acc`` (n, D), ``ablated`` (n, L, H, D), ``hop_scores[k]`` (L, H) final
    structural scores. Returns ``(times, heads)``: ``times`` (D,) the first snapshot step at
    which level $k$'s head (:func:`assign_levels`) carries it, ``nan`` if the level has no head.
    """
    st = np.asarray(steps, dtype=float)
    carry = carrier_heads(acc, ablated, chance, frac)  # (n, L, H, D)
    if carry.shape[0] != st.shape[0]:
        raise ValueError(f"steps ({st.shape[0]}) and snapshots ({carry.shape[0]}) differ in length")
    heads = assign_levels(carry[-1], hop_scores, min_score, stacked)
    out = np.full(carry.shape[-1], np.nan)
    for k, head in enumerate(heads):
        if head is not None:
            hit = np.nonzero(carry[:, head[0], head[1], k])[0]
            out[k] = st[hit[0]]
    return out, heads
