r"""Emergence measurements for the retrieval transformer (spec 3.3, 5.5, reconstructed).

The paper's exact metrics were not found (spec 3.3); these are the spec's reconstruction:

* :func:`snapshot_steps`: the steps at which a run keeps parameter copies (training itself is
  :func:`dynamics.direct.train` with a fresh-sample ``sampler`` and a
  :class:`~dynamics.direct.Snapshots` callback, see :func:`.experiments.run_training`);
* :func:`per_hop_accuracy`: $\mathrm{Acc}_k(t)$ on a held-out batch for every snapshot;
* :func:`link_score` and :func:`readout_score`: structural attention scores (SAS) of two
  candidate relations, per head;
* :func:`query_lookup_score`: attention from the query onto the positions that hold the
  variable its $h$-th lookup matches, in excess of a uniform row (the hop-$h$ score of the
  causal identification, :mod:`.ablation`);
* :func:`statement_lookup_targets`, :func:`statement_lookup_score`, :func:`statement_scores`: the
  same for a reader at a statement's dst position, where IC-A supervises its hop levels (the
  hop-1 lookup is the dst reading its own src, the hop-2 lookup reads the parent statement's dst);
* :func:`head_scores`: both scores for every layer of a model at given parameters;
* :func:`emergence_time`: first (linearly interpolated) step where a series crosses a threshold;
* :func:`kendall_tau`: agreement of two emergence orders (spec 3.3 "order statistics");
* :func:`order_gamma`: the emergence order of the hop levels in one run, ties left out;
* :func:`two_proportion_p`, :func:`sign_test_p`: the one-sided tests of the curriculum and
  intervention claims.

Token layout (see :mod:`derivations.musat2025.data`): statement $i$ is ``[src, dst]`` at
positions $(2i, 2i+1)$, $i = 0..n-1$ with $n = (S-2)/2$; the query ``[?, x]`` is at
positions $(S-2, S-1)$.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from scipy.stats import binom, kendalltau, norm

from derivations.musat2025.data import Batch
from derivations.musat2025.direct import AttentionOnlyTransformer
from dynamics.validate import int_at_least, one_of, positive_int

__all__ = [
    "snapshot_steps",
    "per_hop_accuracy",
    "link_score",
    "statement_chains",
    "chain_score",
    "readout_score",
    "prev_score",
    "query_ancestors",
    "query_hop_score",
    "lookup_targets",
    "query_lookup_score",
    "statement_lookup_targets",
    "statement_lookup_score",
    "head_scores",
    "statement_scores",
    "emergence_time",
    "kendall_tau",
    "order_gamma",
    "two_proportion_p",
    "sign_test_p",
]


def snapshot_steps(
    steps: int, n_snapshots: int, spacing: Literal["log", "linear"] = "log"
) -> np.ndarray:
    """Distinct integer steps in ``[0, steps]``, always including ``0`` and ``steps``.

    ``"log"`` spaces them geometrically over ``[1, steps]`` (plus step 0); duplicates after
    rounding are dropped, so fewer than ``n_snapshots`` may be returned for small ``steps``.
    """
    positive_int("steps", steps)
    int_at_least("n_snapshots", n_snapshots, 2)
    one_of("spacing", spacing, ("log", "linear"))
    if spacing == "log":
        grid = np.concatenate([[0.0], np.geomspace(1.0, steps, n_snapshots - 1)])
    else:
        grid = np.linspace(0.0, steps, n_snapshots)
    return np.unique(np.round(grid).astype(np.int64))


def per_hop_accuracy(
    model: AttentionOnlyTransformer,
    snapshots: Sequence[tuple[int, Mapping[str, np.ndarray]]],
    eval_batch: Batch,
) -> np.ndarray:
    r"""$\mathrm{Acc}_k$ for every snapshot: array (n_snapshots, D), column $k-1$ = hop $k$.

    Accuracy over the supervised positions of ``eval_batch`` with hop count $k$
    (``model.accuracy(..., by_hops=True)``); ``nan`` for a hop count absent from the batch.
    ``D`` is the largest hop count present in ``eval_batch``.
    """
    sup = np.asarray(eval_batch.targets) >= 0
    D = int(np.asarray(eval_batch.hops)[sup].max())
    acc = np.full((len(snapshots), D), np.nan)
    for i, (_, params) in enumerate(snapshots):
        by = model.accuracy(params, eval_batch, by_hops=True)
        assert isinstance(by, dict)
        for h, a in by.items():
            acc[i, h - 1] = a
    return acc


def _check_pattern(pattern: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(pattern, dtype=float)  # (B, H, S, S)
    tok = np.asarray(tokens)  # (B, S)
    if (
        A.ndim != 4
        or tok.ndim != 2
        or A.shape[0] != tok.shape[0]
        or A.shape[2:] != (tok.shape[1],) * 2
    ):
        raise ValueError(
            f"pattern must be (B, H, S, S) and tokens (B, S); got {A.shape} and {tok.shape}"
        )
    if tok.shape[1] < 4 or tok.shape[1] % 2:
        raise ValueError(f"sequence length must be even and >= 4, got {tok.shape[1]}")
    return A, tok


def link_score(
    pattern: np.ndarray, tokens: np.ndarray, target: Literal["dst", "statement"] = "dst"
) -> np.ndarray:
    r"""Parent-link structural attention score per head, shape (H,) (spec 3.3, reconstructed).

    For statement $i$ = ``[s, x]`` (positions $2i, 2i+1$) whose ``src`` $s$ is itself the
    ``dst`` of another statement $j$ (its parent link, ``tokens[2j+1] == s``), the score of the
    pair is the attention from the child's dst position $p = 2i+1$ onto

    * ``target="dst"``: the parent's dst position $2j+1$ (the "same variable token at the
      other statement" relation), or
    * ``target="statement"``: both parent positions $2j$ and $2j+1$ (summed).

    Only *causally reachable* links count: pairs with $j < i$ (the parent written before the
    child). Value-headed statements (hop 1, no parent) and unreachable links are excluded.
    The score is the mean over all counted pairs pooled across the batch; ``nan`` per head if
    no pair exists. A uniform causal row at $p$ gives $1/(p+1)$ (``"dst"``) or $2/(p+1)$.
    """
    A, tok = _check_pattern(pattern, tokens)
    S = tok.shape[1]
    n = (S - 2) // 2
    dst = tok[:, 1 : 2 * n : 2]  # (B, n) dst token of each statement
    src = tok[:, 0 : 2 * n : 2]  # (B, n) src token of each statement
    # match[b, i, j]: statement j is the parent of statement i, written before it
    match = (src[:, :, None] == dst[:, None, :]) & (np.arange(n)[None, :] < np.arange(n)[:, None])[
        None
    ]
    bb, ii, jj = np.nonzero(match)
    if bb.size == 0:
        return np.full(A.shape[1], np.nan)
    rows = A[bb, :, 2 * ii + 1, :]  # (N, H, S)
    score = rows[np.arange(bb.size), :, 2 * jj + 1]  # (N, H)
    if target == "statement":
        score = score + rows[np.arange(bb.size), :, 2 * jj]
    elif target != "dst":
        raise ValueError(f"target must be 'dst' or 'statement', got {target!r}")
    return score.mean(axis=0)


def statement_chains(tokens: np.ndarray) -> np.ndarray:
    """The chain of every statement, int (B, n): the index of its chain's root statement (the value
    statement, whose src is no statement's dst), found by following the links up.

    ``tokens`` (B, S) with statements ``[src, dst]`` at $(2i, 2i + 1)$ for $i < n = (S - 2)/2$.
    """
    tok = np.asarray(tokens)
    if tok.ndim != 2 or tok.shape[1] < 4 or tok.shape[1] % 2:
        raise ValueError(f"tokens must be (B, S) with S even and >= 4, got {tok.shape}")
    n = (tok.shape[1] - 2) // 2
    src, dst = tok[:, 0 : 2 * n : 2], tok[:, 1 : 2 * n : 2]
    parent_hit = src[:, :, None] == dst[:, None, :]  # (B, n, n): j is i's parent
    parent = np.where(parent_hit.any(axis=2), parent_hit.argmax(axis=2), np.arange(n)[None, :])
    root = parent.copy()
    for _ in range(n):  # at most n links up
        root = np.take_along_axis(parent, root, axis=1)
    return root


def chain_score(pattern: np.ndarray, tokens: np.ndarray, readers: np.ndarray | None = None) -> np.ndarray:
    r"""Chain-mate attention score per head, shape (H,) (reconstruction, issue 17).

    Attention from every statement position (src and dst) onto the positions of the earlier
    statements of its own chain (:func:`statement_chains`; its own statement excluded), minus
    what a uniform causal row puts there, averaged over the positions that have such a
    chain-mate (``nan`` if none). Spec 1.3's link and merge heads, which let statements absorb
    the statements they share a variable with before a read-out, score about their attention
    there; a previous-token head (which reads its own statement) scores below 0, and so does
    a head that reads the other chains. ``readers`` (B, n) bool, optional: only the two
    positions of those statements read (IC-A's statements with k-hop labels: the score of one
    level, ``"schain{k}"`` in :func:`statement_scores`). Both count because a link can be made at
    either: a child's src token *is* its parent's dst token, so the src can find the parent by
    identity and the dst then copy it from its own src.
    """
    A, tok = _check_pattern(pattern, tokens)
    S = tok.shape[1]
    n = (S - 2) // 2
    chain = statement_chains(tok)  # (B, n)
    st = np.arange(2 * n) // 2  # statement index of each statement position
    # mate[b, p, q]: q lies in an earlier statement of p's chain (p, q statement positions)
    same = chain[:, st][:, :, None] == chain[:, st][:, None, :]  # (B, 2n, 2n)
    earlier = (st[None, :] < st[:, None])[None]  # (1, 2n, 2n)
    mate = same & earlier
    has = mate.any(axis=2)  # (B, 2n)
    if readers is not None:
        rd = np.asarray(readers, dtype=bool)
        if rd.shape != (tok.shape[0], n):
            raise ValueError(f"readers must be (B, n) = {(tok.shape[0], n)}, got {rd.shape}")
        has = has & np.repeat(rd, 2, axis=1)  # their src and dst positions
    if not has.any():
        return np.full(A.shape[1], np.nan)
    bb, pp = np.nonzero(has)
    rows = A[bb, :, pp, : 2 * n]  # (N, H, 2n)
    t = mate[bb, pp]  # (N, 2n)
    on = (rows * t[:, None, :]).sum(axis=-1)  # (N, H)
    return (on - (t.sum(axis=1) / (pp + 1))[:, None]).mean(axis=0)


def readout_score(pattern: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    r"""Query-readout structural attention score per head, shape (H,) (spec 3.3, reconstructed).

    Attention from the final position $S-1$ (the queried variable $x$) onto the dst position
    $2j+1$ of the statement with ``tokens[2j+1] == x`` (the "query -> statement whose dst
    equals the query variable" relation), averaged over the batch. Examples whose queried
    variable is not any statement's dst are skipped (``nan`` if none remain).
    """
    A, tok = _check_pattern(pattern, tokens)
    S = tok.shape[1]
    dst = tok[:, 1 : S - 2 : 2]  # (B, n)
    hit = dst == tok[:, -1:]  # (B, n)
    bb, jj = np.nonzero(hit)
    if bb.size == 0:
        return np.full(A.shape[1], np.nan)
    return A[bb, :, S - 1, 2 * jj + 1].mean(axis=0)


def prev_score(pattern: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    r"""Previous-token (partner-slot) structural attention score per head, shape (H,) (spec 3.3).

    Attention from every statement's dst position $2i+1$ onto its own src position $2i$
    (the "partner slot in the same statement" relation), averaged over statements and the
    batch. A uniform causal row gives $1/(2i+2)$.
    """
    A, tok = _check_pattern(pattern, tokens)
    n = (tok.shape[1] - 2) // 2
    i = np.arange(n)
    return A[:, :, 2 * i + 1, 2 * i].mean(axis=(0, 2))


def query_ancestors(tokens: np.ndarray, max_hops: int) -> np.ndarray:
    r"""Statement index of the query's $h$-th link, array (B, max_hops) (-1 past the chain's end).

    Column $h-1$ is the statement $j_h$ reached after $h$ lookups from the queried variable
    $x$: $j_1$ has dst $= x$, $j_{h+1}$ has dst $=$ src of $j_h$.
    """
    tok = np.asarray(tokens)  # (B, S)
    B, S = tok.shape
    n = (S - 2) // 2
    dst, src = tok[:, 1 : 2 * n : 2], tok[:, 0 : 2 * n : 2]  # (B, n)
    out = -np.ones((B, max_hops), dtype=np.int64)
    cur = tok[:, -1].copy()  # (B,) current pointer
    alive = np.ones(B, dtype=bool)
    for h in range(max_hops):
        hit = (dst == cur[:, None]) & alive[:, None]  # (B, n)
        alive = hit.any(axis=1)
        j = hit.argmax(axis=1)
        out[alive, h] = j[alive]
        cur = np.where(alive, src[np.arange(B), j], -1)
    return out


def query_hop_score(pattern: np.ndarray, tokens: np.ndarray, hop: int) -> np.ndarray:
    r"""Query hop-$h$ structural attention score per head, shape (H,) (spec 3.3, reconstructed).

    Attention from the final position $S-1$ onto the dst position of the statement $j_h$
    reached after ``hop`` lookups from the queried variable (:func:`query_ancestors`),
    averaged over the examples whose queried chain is at least ``hop`` links long (``nan``
    if none). ``hop=1`` is :func:`readout_score`; ``hop=2`` is what the second hop head of
    the greedy circuit (:mod:`derivations.musat2025.construct`) attends to.
    """
    A, tok = _check_pattern(pattern, tokens)
    if isinstance(hop, bool) or not isinstance(hop, int) or hop < 1:
        raise ValueError(f"hop must be an integer >= 1, got {hop!r}")
    j = query_ancestors(tok, hop)[:, hop - 1]  # (B,)
    bb = np.nonzero(j >= 0)[0]
    if bb.size == 0:
        return np.full(A.shape[1], np.nan)
    return A[bb, :, tok.shape[1] - 1, 2 * j[bb] + 1].mean(axis=0)


def lookup_targets(tokens: np.ndarray, hop: int) -> np.ndarray:
    r"""Positions holding the variable that the query's ``hop``-th lookup matches, bool (B, S).

    Lookup $h$ starts from the variable $a_{h-1}$ reached after $h - 1$ lookups ($a_0$ is the
    queried variable, $a_h$ the src of the statement $j_h$ of :func:`query_ancestors`). The
    targets are the statement positions (the query pair excluded) whose token is $a_{h-1}$:
    the dst position of $j_h$ and, when the chain continues past $a_{h-1}$, the src position of
    the statement that has $a_{h-1}$ as its src (for $h \ge 2$ that is $j_{h-1}$). Both are
    where the lookup can read its answer by content (reconstruction, issue 17): $j_h$'s dst
    holds $j_h$'s src once a previous-token head has copied it, and $j_{h-1}$'s src position
    holds the value side of the chain when $j_h$ is written before it and a link head has
    looked it up (measured: in a trained 2-head IC-B seed one layer-2 head reads $j_2$'s dst when
    $j_2$ comes after $j_1$, the other reads $j_1$'s src when it comes before). Rows of an
    example whose chain is shorter than ``hop`` are all ``False``.
    """
    tok = np.asarray(tokens)
    if isinstance(hop, bool) or not isinstance(hop, int) or hop < 1:
        raise ValueError(f"hop must be an integer >= 1, got {hop!r}")
    B, S = tok.shape
    anc = query_ancestors(tok, hop)  # (B, hop)
    if hop == 1:
        var = tok[:, -1].copy()  # (B,)
        alive = np.ones(B, dtype=bool)
    else:
        j = anc[:, hop - 2]
        alive = (j >= 0) & (anc[:, hop - 1] >= 0)
        var = np.where(alive, tok[np.arange(B), 2 * np.maximum(j, 0)], -1)  # src of j_{h-1}
    alive &= anc[:, hop - 1] >= 0  # the chain has an h-th link
    out = (tok[:, : S - 2] == var[:, None]) & alive[:, None]  # (B, S-2)
    return np.concatenate([out, np.zeros((B, 2), dtype=bool)], axis=1)


def query_lookup_score(pattern: np.ndarray, tokens: np.ndarray, hop: int) -> np.ndarray:
    r"""Hop-$h$ lookup score per head, shape (H,) (reconstruction, issue 17).

    Attention from the final position $S-1$ onto the :func:`lookup_targets` of lookup $h$, minus
    what a uniform causal row puts there (their number over $S$), averaged over the examples
    whose queried chain has at least $h$ links (``nan`` if none). Zero for a head that does not
    look at the matching positions more than uniformly; up to $1 - 1/S$ for one that looks only there.
    """
    A, tok = _check_pattern(pattern, tokens)
    tgt = lookup_targets(tok, hop)  # (B, S)
    bb = np.nonzero(tgt.any(axis=1))[0]
    if bb.size == 0:
        return np.full(A.shape[1], np.nan)
    S = tok.shape[1]
    row = A[bb, :, S - 1, :]  # (N, H, S)
    on = (row * tgt[bb, None, :]).sum(axis=-1)  # (N, H)
    return (on - tgt[bb].sum(axis=1)[:, None] / S).mean(axis=0)


def statement_lookup_targets(tokens: np.ndarray, hop: int) -> np.ndarray:
    r"""Positions a statement's dst reads in its ``hop``-th lookup, bool (B, n, S) (reconstruction, issue 17).

    The reader is the dst position $2i + 1$ of statement $i = 0..n-1$ (``[src, dst]`` at
    $(2i, 2i + 1)$), where IC-A supervises the chain's value. It plays the query's part with
    $j_1 = i$ (:func:`lookup_targets`): lookup 1 reads its own src position $2i$ (the
    previous-token relation: for a value statement the src *is* the answer); lookup $h \ge 2$
    reads the positions before statement $i$ that hold $a_{h-1}$, the src of the ancestor
    $j_{h-1}$ ($j_{g+1}$ has dst $=$ src of $j_g$): $j_h$'s dst and, for $h \ge 3$, $j_{h-1}$'s
    src. For $h = 2$ that is the parent statement's dst (the link relation of :func:`link_score`),
    which holds the value once a previous-token head has copied it there. Rows of a statement
    whose chain has fewer than ``hop`` links above it (or whose targets all come later) are
    all ``False``.
    """
    tok = np.asarray(tokens)
    if isinstance(hop, bool) or not isinstance(hop, int) or hop < 1:
        raise ValueError(f"hop must be an integer >= 1, got {hop!r}")
    B, S = tok.shape
    n = (S - 2) // 2
    src, dst = tok[:, 0 : 2 * n : 2], tok[:, 1 : 2 * n : 2]  # (B, n)
    pos = np.arange(S)
    before = pos[None, :] < 2 * np.arange(n)[:, None]  # (n, S): positions before statement i
    out = np.zeros((B, n, S), dtype=bool)
    if hop == 1:
        out[:, np.arange(n), 2 * np.arange(n)] = True
        return out
    var = src.copy()  # (B, n): a_1, the reader's own src
    for _ in range(hop - 2):  # a_{g+1} = src of the statement whose dst is a_g
        hit = dst[:, None, :] == var[:, :, None]  # (B, n, n)
        var = np.where(hit.any(axis=2), np.take_along_axis(src, hit.argmax(axis=2), axis=1), -1)
    has_link = (dst[:, None, :] == var[:, :, None]).any(axis=2)  # (B, n): j_h exists
    stmt = np.zeros((B, S), dtype=bool)
    stmt[:, : 2 * n] = True
    out = (tok[:, None, :] == var[:, :, None]) & stmt[:, None, :] & before[None] & has_link[:, :, None]
    return out


def statement_lookup_score(pattern: np.ndarray, tokens: np.ndarray, readers: np.ndarray, hop: int) -> np.ndarray:
    r"""Hop-$h$ lookup score per head at statement readers, shape (H,) (reconstruction, issue 17).

    Attention from each reader, the dst position $2i + 1$ of a statement with
    ``readers[b, i]`` (IC-A: a supervised label with $h$ hops), onto its
    :func:`statement_lookup_targets`, minus what a uniform causal row puts there (their number
    over $2i + 2$), averaged over the readers that have targets (``nan`` if none). Zero for a head
    that does not look at them more than uniformly.
    """
    A, tok = _check_pattern(pattern, tokens)
    n = (tok.shape[1] - 2) // 2
    rd = np.asarray(readers, dtype=bool)
    if rd.shape != (tok.shape[0], n):
        raise ValueError(f"readers must be (B, n) = {(tok.shape[0], n)}, got {rd.shape}")
    tgt = statement_lookup_targets(tok, hop)  # (B, n, S)
    bb, ii = np.nonzero(rd & tgt.any(axis=2))
    if bb.size == 0:
        return np.full(A.shape[1], np.nan)
    row = A[bb, :, 2 * ii + 1, :]  # (N, H, S)
    t = tgt[bb, ii]  # (N, S)
    on = (row * t[:, None, :]).sum(axis=-1)  # (N, H)
    return (on - (t.sum(axis=1) / (2 * ii + 2))[:, None]).mean(axis=0)


def statement_scores(
    model: AttentionOnlyTransformer,
    params: Mapping[str, np.ndarray],
    batch: Batch,
    cache: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """``"slookup{h}"`` -> (L, H): :func:`statement_lookup_score` of every head on ``batch``
    (an IC-A batch), the readers of level ``h`` being the dst positions whose label has ``h``
    hops, for every ``h`` among the batch's statement labels; ``"schain{h}"`` -> (L, H): the
    chain-mate score of the same readers (:func:`chain_score` with ``readers``)."""
    if cache is None:
        _, cache = model.forward(params, batch.tokens)
    n = (np.shape(batch.tokens)[1] - 2) // 2
    lab = np.asarray(batch.targets)[:, 1 : 2 * n : 2] >= 0  # (B, n)
    hops = np.asarray(batch.hops)[:, 1 : 2 * n : 2]  # (B, n)
    pats = [cache[f"blocks.{layer}.attn.pattern"] for layer in range(model.n_layers)]
    out: dict[str, np.ndarray] = {}
    for h in np.unique(hops[lab]).tolist():
        rd = lab & (hops == h)
        out[f"slookup{h}"] = np.stack([statement_lookup_score(p, batch.tokens, rd, int(h)) for p in pats])
        out[f"schain{h}"] = np.stack([chain_score(p, batch.tokens, rd) for p in pats])
    return out


def head_scores(
    model: AttentionOnlyTransformer,
    params: Mapping[str, np.ndarray],
    batch: Batch,
    cache: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Structural scores of every head on ``batch``: a dict role -> array (L, H).

    Roles: ``"prev"`` (:func:`prev_score`), ``"link"`` (:func:`link_score`), ``"chain"``
    (:func:`chain_score`),
    ``"hop{h}"`` (:func:`query_hop_score`; ``"hop1"`` is the read-out relation of
    :func:`readout_score`) and ``"lookup{h}"`` (:func:`query_lookup_score`) for
    ``h = 1..max_hops``, with ``max_hops`` the largest query depth
    in ``batch``. ``cache``: the activation cache of ``model.forward(params, batch.tokens)``
    if already computed (saves a forward pass).
    """
    if cache is None:
        _, cache = model.forward(params, batch.tokens)
    pats = [cache[f"blocks.{layer}.attn.pattern"] for layer in range(model.n_layers)]
    out = {
        "prev": np.stack([prev_score(p, batch.tokens) for p in pats]),
        "link": np.stack([link_score(p, batch.tokens) for p in pats]),
        "chain": np.stack([chain_score(p, batch.tokens) for p in pats]),
    }
    for h in range(1, int(np.max(batch.query_depth)) + 1):
        out[f"hop{h}"] = np.stack([query_hop_score(p, batch.tokens, h) for p in pats])
        out[f"lookup{h}"] = np.stack([query_lookup_score(p, batch.tokens, h) for p in pats])
    return out


def emergence_time(
    steps: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, threshold: float
) -> float:
    r"""First step where ``values`` reaches ``threshold``, linearly interpolated.

    With $i$ the first index where $v_i \ge \theta$: returns ``steps[0]`` if $i = 0$, else
    $t_{i-1} + (\theta - v_{i-1})/(v_i - v_{i-1})\,(t_i - t_{i-1})$. ``nan`` if never
    reached (``nan`` values never count as reached).
    """
    t = np.asarray(steps, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.ndim != 1 or t.shape != v.shape or t.size == 0:
        raise ValueError(
            f"steps and values must be 1-d of equal non-zero length, got {t.shape}, {v.shape}"
        )
    above = np.nonzero(v >= threshold)[0]
    if above.size == 0:
        return float("nan")
    i = int(above[0])
    if i == 0 or not np.isfinite(v[i - 1]):
        return float(t[i])
    return float(t[i - 1] + (threshold - v[i - 1]) / (v[i] - v[i - 1]) * (t[i] - t[i - 1]))


def kendall_tau(
    order_a: Sequence[float] | np.ndarray, order_b: Sequence[float] | np.ndarray
) -> float:
    """Kendall's tau-b between two orderings/rankings of the same items (``scipy.stats.kendalltau``).

    Inputs are the ranks (or emergence times) of the same items in the same item order;
    ``nan`` if undefined (e.g. a constant input).
    """
    a = np.asarray(order_a, dtype=float)
    b = np.asarray(order_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or a.size < 2:
        raise ValueError(f"orders must be 1-d of equal length >= 2, got {a.shape}, {b.shape}")
    return float(kendalltau(a, b).statistic)


def order_gamma(times: Sequence[float] | np.ndarray) -> tuple[float, int, int, int]:
    r"""Kendall's tau over the untied pairs of levels $k < k'$ between their emergence times and
    their order (Goodman-Kruskal gamma): ``(gamma, concordant, discordant, tied)``.

    ``times[k-1]`` is the emergence step of level $k$ (``nan``: did not form). Only pairs
    where both levels formed count: concordant when $t_k < t_{k'}$, discordant when
    $t_k > t_{k'}$, tied when equal (the same snapshot: unresolved at the grid's resolution).
    ``gamma`` is ``(c - d)/(c + d)``, ``nan`` without an untied pair; it is 1 exactly when no
    pair is reversed.
    """
    t = np.asarray(times, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"times must be 1-d, got shape {t.shape}")
    c = d = tied = 0
    for i in range(t.size):
        for j in range(i + 1, t.size):
            a, b = t[i], t[j]
            if np.isnan(a) or np.isnan(b):
                continue
            if a < b:
                c += 1
            elif a > b:
                d += 1
            else:
                tied += 1
    gamma = (c - d) / (c + d) if c + d else float("nan")
    return float(gamma), c, d, tied


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    r"""One-sided p-value of the pooled two-proportion z-test that rate 1 exceeds rate 2.

    $z = (\hat p_1 - \hat p_2)/\sqrt{\hat p(1 - \hat p)(1/n_1 + 1/n_2)}$ with the pooled
    $\hat p$, p-value $1 - \Phi(z)$; 0.5 when the pooled rate is 0 or 1 (no difference).
    """
    for name, k, n in (("1", k1, n1), ("2", k2, n2)):
        positive_int(f"n{name}", n)
        if not (isinstance(k, int | np.integer) and 0 <= k <= n):
            raise ValueError(f"k{name} must be an integer in [0, n{name}], got {k!r}")
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 0.5
    z = (k1 / n1 - k2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(norm.sf(z))


def sign_test_p(n_plus: int, n_minus: int) -> float:
    """One-sided sign test: probability of at least ``n_plus`` successes in
    ``n_plus + n_minus`` fair coin flips (1.0 when there is no untied pair)."""
    if n_plus < 0 or n_minus < 0:
        raise ValueError(f"counts must be >= 0, got {n_plus}, {n_minus}")
    n = n_plus + n_minus
    if n == 0:
        return 1.0
    return float(binom.sf(n_plus - 1, n, 0.5))
