r"""Heads identified by cause: zero-ablation of every head and the hop levels it carries (issue 17).

The paper found its circuits by reading attention maps (spec 1.3, 3.3); the spec proposes a
causal check, "zero each head's output at checkpoints and record $\Delta\mathrm{Acc}_k$". This
module is that check, and the emergence times read off it (reconstruction: the criteria and
their thresholds are ours, configurable through the arguments below and the ``Settings`` of
:mod:`.verify`):

* :func:`ablation_accuracy`: the query accuracy per hop count $k$ of the intact model,
  $a_k$, and with each head's output zeroed in turn, $a_k^{(\ell,h)}$
  (:meth:`~.direct.AttentionOnlyTransformer.forward` with ``head_mask``);
* :func:`layer_ablation_accuracy`: the same with all heads of a layer zeroed together (and
  with every layer above it, ``above=True``);
* :func:`site_ablation_accuracy`: a layer's heads zeroed at one site, the query or every other
  position (the statements), and :func:`site_levels`, the default identification
  (``unit="site"``, issue 17's fourth round): the hop-1 read-out at the query, and for each
  later hop a unit of its own, at the query above it or among the statements below a read-out
  (spec 1.3's link heads); :func:`statement_levels` does the same for IC-A's statement labels.
  The rules below (:func:`assign_levels`) are the first reconstruction's, ``unit="layer"``,
  which sees only lookups at the query, each level's unit above the previous one;
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

The whole-layer unit (``TrainConfig.unit="layer"``) was decided on evidence (issue 17; docs/musat2025.md): with two heads per layer the trained models split the
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

__all__ = ["ablation_accuracy", "layer_ablation_accuracy", "site_ablation_accuracy", "carrier_heads", "assign_levels", "emergence_from_ablation", "site_levels", "statement_levels", "CARRY_FRAC",
           "QUERY_SITE", "CONTEXT_SITE"]

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
    :func:`~.units.stacked_with_above`).

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


#: Columns of :func:`site_ablation_accuracy`: a layer zeroed at the query only, at every other
#: position only (the statements and the marker: the context the query reads), and at the query
#: together with every layer above it at the query.
SITES = ("query", "context", "query_above")


def site_ablation_accuracy(
    model: AttentionOnlyTransformer, params: Mapping[str, np.ndarray], batch: Batch, D: int,
) -> np.ndarray:
    r"""Query accuracy per hop count with each layer's heads zeroed at one *site*, (L, 3, D)
    (reconstruction, issue 17; the columns are :data:`SITES`).

    Column 0, ``"query"``: layer $\ell$'s output zeroed at the query position only, so the
    query reads what the layers below wrote at the statements, but layer $\ell$ adds nothing
    to the query itself. Column 1, ``"context"``: zeroed at every other position only, so the
    query's own attention in layer $\ell$ still works, but what layer $\ell$ computes at the
    statements is gone. Column 2, ``"query_above"``: zeroed at the query in layer $\ell$ and
    every layer above it, which a backup read-out above $\ell$ cannot mask.

    Under the causal mask the query is the last position, so nothing reads its output but
    itself: the two sites split a layer's work into the part done for the query and the part
    done among the statements (where spec 1.3's link and merge heads work before a read-out).
    """
    L, H = model.n_layers, model.n_heads
    S = np.shape(batch.tokens)[1]
    answer, qd = np.asarray(batch.answer), np.asarray(batch.query_depth)

    def acc(last: np.ndarray) -> np.ndarray:  # (B, V) logits at the query -> (D,) accuracy per hop count
        ok = last.argmax(axis=-1) == answer
        return np.array([ok[qd == k].mean() if np.any(qd == k) else np.nan for k in range(1, D + 1)])

    _, cache = model.forward(params, batch.tokens)
    out = np.empty((L, len(SITES), D))
    for layer in range(L):
        out[layer, 0] = acc(model.last_logits_zeroed(params, cache, layer, layer + 1))
        mask = np.ones((L, H, S))
        mask[layer, :, : S - 1] = 0.0
        out[layer, 1] = acc(model.forward(params, batch.tokens, mask)[0][:, -1])
        out[layer, 2] = acc(model.last_logits_zeroed(params, cache, layer, L))
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


#: Unit codes of :func:`site_levels` in a unit ``(layer, code)``: the layer's heads at the query,
#: or at the context (every other position). A whole layer is ``(layer, -1)``, a head ``(layer, h)``.
QUERY_SITE = -2
CONTEXT_SITE = -3


def site_levels(
    steps: np.ndarray, acc: np.ndarray, site_ablated: np.ndarray, chance: float,
    lookup: Mapping[int, np.ndarray], chain: np.ndarray, frac: float = CARRY_FRAC,
    layer_ablated: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, int] | None]]:
    r"""Emergence step and unit of every hop level, identified by where each layer works
    (reconstruction, issue 17; the ``"site"`` unit of :class:`~.experiments.TrainConfig`).

    ``steps`` (n,), ``acc`` (n, D) query accuracy, ``site_ablated`` (n, L, 3, D) from
    :func:`site_ablation_accuracy` at every snapshot, ``lookup[k]`` (L,) every layer's final
    query lookup-$k$ excess (:func:`~.measure.query_lookup_score`, summed over its heads) and
    ``chain`` (L,) its final chain-mate excess (:func:`~.measure.chain_score`);
    ``layer_ablated`` (n, L, D), optional, the accuracy with each whole layer zeroed
    (:func:`layer_ablation_accuracy`). A unit *carries* a level as in :func:`carrier_heads`.
    The levels are assigned in turn:

    * hop 1, the read-out: the layer $r$ whose query site, zeroed together with the query sites
      of the layers above it, removes the 1-hop level (a backup read-out above cannot mask it),
      with the largest lookup-1 excess, which must be positive: unit ``(r, QUERY_SITE)``;
    * hop $k \ge 2$, either

      - a query site that carries level $k$, in a layer above the last query unit, with a
        positive lookup-$k$ excess: the query follows the chain one lookup per layer (the
        greedy circuit of :mod:`.construct`, whose top layer also relays the 1-hop answer, so
        it may carry level $k - 1$ too); the largest excess wins; or, if none,
      - a context site that carries level $k$ but not level $k - 1$ (it is needed for the
        $k$-th hop only, unlike the previous-token work every level needs), with a positive
        chain-mate excess, below a read-out: the query sites of the layers above it, zeroed
        together, remove level $k$. The statements absorb their chain-mates before a read-out
        (spec 1.3's link and merge heads), which then finds the value at the statement it
        reads; the largest excess wins; or, if none,
      - a whole layer (``(layer, -1)``, needs ``layer_ablated``) that carries level $k$ but not
        level $k - 1$, below a read-out as above, with a positive lookup-$k$ excess at the
        query or a positive chain-mate excess: a layer whose work for the $k$-th hop is split
        between the query and the statements (each site alone removes less than ``frac``);
        the larger of the two excesses decides among several.

    A level with no candidate, and every level after it, has no unit (``None``). The
    emergence step of a level is the first snapshot at which its unit carries it (``nan``:
    none). Both families are stacked heads in the paper's sense: each hop level gets a unit
    of its own, confirmed by ablation at the site it works at and by its attention.
    """
    st = np.asarray(steps, dtype=float)
    a = np.asarray(acc, dtype=float)
    ab = np.asarray(site_ablated, dtype=float)
    if ab.ndim != 4 or ab.shape[2] != len(SITES) or ab.shape[0] != a.shape[0] or ab.shape[3] != a.shape[1] \
            or st.shape != (a.shape[0],):
        raise ValueError(f"steps (n,), acc (n, D) and site_ablated (n, L, {len(SITES)}, D) must match; got "
                         f"{st.shape}, {a.shape}, {ab.shape}")
    n, L, _, D = ab.shape
    if layer_ablated is not None:
        la = np.asarray(layer_ablated, dtype=float)
        if la.shape != (n, L, D):
            raise ValueError(f"layer_ablated must be (n, L, D) = {(n, L, D)}, got {la.shape}")
        ab = np.concatenate([ab, la[:, :, None, :]], axis=2)  # column 3: the whole layer
    carry = carrier_heads(a, ab, chance, frac)  # (n, L, 3 or 4, D)
    q, c, qa, whole = 0, 1, 2, 3
    ch = np.nan_to_num(np.asarray(chain, dtype=float), nan=-1.0)
    look = {k: np.nan_to_num(np.asarray(lookup[k], dtype=float), nan=-1.0) for k in range(1, D + 1)}
    units: list[tuple[int, int] | None] = []
    cols: list[tuple[int, int]] = []  # (layer, column of carry) per assigned level
    cand = [(look[1][m], m) for m in range(L) if carry[-1, m, qa, 0] and look[1][m] > 0.0]
    if cand:
        r = max(cand)[1]
        units.append((r, QUERY_SITE))
        cols.append((r, qa))
        last_q = r
        for k in range(2, D + 1):
            fin = carry[-1, :, :, k - 1]  # (L, 3): the units carrying level k at the end
            below = carry[-1, :, :, k - 2]  # (L, 3): ... and level k - 1
            on_q = [(look[k][m], m) for m in range(last_q + 1, L) if fin[m, q] and look[k][m] > 0.0]
            on_c = [(ch[m], m) for m in range(L - 1) if fin[m, c] and not below[m, c] and ch[m] > 0.0
                    and fin[m + 1, qa]]
            if on_q:
                last_q = max(on_q)[1]
                units.append((last_q, QUERY_SITE))
                cols.append((last_q, q))
            elif on_c:
                m = max(on_c)[1]
                units.append((m, CONTEXT_SITE))
                cols.append((m, c))
            elif layer_ablated is not None and (on_w := [
                    (max(look[k][m], ch[m]), m) for m in range(L - 1)
                    if fin[m, whole] and not below[m, whole] and max(look[k][m], ch[m]) > 0.0 and fin[m + 1, qa]]):
                m = max(on_w)[1]
                units.append((m, -1))
                cols.append((m, whole))
            else:
                break
    units += [None] * (D - len(units))
    times = np.full(D, np.nan)
    for k, (m, col) in enumerate(cols):
        hit = np.nonzero(carry[:, m, col, k])[0]
        times[k] = st[hit[0]]
    return times, units


def statement_levels(
    steps: np.ndarray, acc: np.ndarray, layer_ablated: np.ndarray, above_ablated: np.ndarray, chance: float,
    lookup: Mapping[int, np.ndarray], chain: Mapping[int, np.ndarray], frac: float = CARRY_FRAC,
) -> tuple[np.ndarray, list[tuple[int, int] | None]]:
    r"""Emergence step and unit of every hop level read at IC-A's statement labels (reconstruction,
    issue 17; the ``"site"`` unit where the reader is a statement's own dst position).

    ``acc`` (n, D) the statement-label accuracy, ``layer_ablated`` (n, L, D) with each layer
    zeroed, ``above_ablated`` (n, L, D) with each layer and every layer above it zeroed
    (:func:`layer_ablation_accuracy` with ``where="statements"``), ``lookup[k]`` (L,) the final
    statement lookup-$k$ excess (:func:`~.measure.statement_lookup_score`) and ``chain[k]``
    (L,) the chain-mate excess of the same readers, the dst positions with $k$-hop labels
    (:func:`~.measure.chain_score` with ``readers``), both summed over a layer's heads.
    The units are whole layers, ``(layer, -1)``:

    * hop 1: a dst reading its own src (the previous-token relation, the whole lookup for a
      value statement): the layer that, zeroed with every layer above it, removes the 1-hop
      labels, with the largest positive lookup-1 excess. Trained models copy the src into the
      dst in two or three layers at once, so zeroing one of them alone removes nothing;
    * hop $k \ge 2$: a layer not assigned to a lower level that carries level $k$ but not level
      $k - 1$, with a positive
      lookup-$k$ excess (a dst reading its parent's dst) or a positive chain-mate excess at the
      $k$-hop statements' two positions (reading the statements of its chain, e.g. the child's
      src finding its parent's dst by their shared token, which the dst then copies from its
      own src); the larger excess decides among several. A layer whose $k$-hop statements look
      at themselves or at other chains is not a unit.

    Emergence: the first snapshot at which the unit carries its level (in the same ablation
    that found it); ``nan``/``None``: the level has no unit.
    """
    st = np.asarray(steps, dtype=float)
    a = np.asarray(acc, dtype=float)
    lay = np.asarray(layer_ablated, dtype=float)
    abv = np.asarray(above_ablated, dtype=float)
    if a.ndim != 2 or lay.shape != abv.shape or lay.ndim != 3 or lay.shape[0] != a.shape[0] \
            or lay.shape[2] != a.shape[1] or st.shape != (a.shape[0],):
        raise ValueError(f"steps (n,), acc (n, D), layer_ablated and above_ablated (n, L, D) must match; got "
                         f"{st.shape}, {a.shape}, {lay.shape}, {abv.shape}")
    _, L, D = lay.shape
    alone = carrier_heads(a, lay[:, :, None, :], chance, frac)[:, :, 0]  # (n, L, D)
    up = carrier_heads(a, abv[:, :, None, :], chance, frac)[:, :, 0]
    def level(scores: Mapping[int, np.ndarray], k: int) -> np.ndarray:
        return np.nan_to_num(np.asarray(scores[k], dtype=float), nan=-1.0) if k in scores else np.full(L, -1.0)

    look = {k: level(lookup, k) for k in range(1, D + 1)}
    ch = {k: level(chain, k) for k in range(1, D + 1)}
    units: list[tuple[int, int] | None] = []
    found: list[tuple[int, np.ndarray]] = []  # (layer, carrying record) per assigned level
    cand = [(look[1][m], m) for m in range(L) if up[-1, m, 0] and look[1][m] > 0.0]
    if cand:
        r = max(cand)[1]
        units.append((r, -1))
        found.append((r, up))
        for k in range(2, D + 1):
            taken = {u[0] for u in units if u is not None}
            on = [(max(look[k][m], ch[k][m]), m) for m in range(L) if m not in taken
                  and alone[-1, m, k - 1] and not alone[-1, m, k - 2] and max(look[k][m], ch[k][m]) > 0.0]
            if not on:
                break
            m = max(on)[1]
            units.append((m, -1))
            found.append((m, alone))
    units += [None] * (D - len(units))
    times = np.full(D, np.nan)
    for k, (m, carry) in enumerate(found):
        times[k] = st[np.nonzero(carry[:, m, k])[0][0]]
    return times, units
