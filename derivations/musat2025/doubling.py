r"""The log-depth question under a causal mask: the counting, and a pointer-doubling circuit (issue 17, item 4).

Both parts are **our reconstruction**: the paper's Theorem 1 and its constructive circuit were
not available (spec 1.1, 1.2 "Not found").

The counting (Assumption 1, spec 1.2, as an information-flow model)
------------------------------------------------------------------
A chain has statements $s_0, \dots, s_{D-1}$, $s_j = [x_j, x_{j+1}]$ with $x_0 = v$ the value;
statement $s_j$ covers the nodes $\{j, j+1\}$ and the query covers the node $k$. A position
*knows* a contiguous set of nodes, its segment. Under Assumption 1 a position can take in
another position's segment only when the two already share a node (a token), so one layer
replaces every segment by the union of the segments it can see that intersect it
(:func:`flow_layers`). The query is answered after $t$ layers when its segment holds node 0.

* **Every position sees every other** (the bound's setting): a segment takes one neighbour on
  each side per layer, so it at most triples, and the count is exactly
  $\lceil\log_3(2D)\rceil$ for every $D$ (checked against :func:`~.data.min_layers`, $D \le 40$).
* **Causal mask, shuffled statements** (the task here): a position sees only earlier positions.
  When the statements come in chain order, value first, every segment a position can see lies on
  its value side, so a segment at most doubles: the query covers $2^t - 1$ links after $t$
  layers and needs $\lceil\log_2(k+1)\rceil$. No order is worse (exhaustive over every order for
  $D \le 7$, :func:`worst_case_flow_layers`), so the two-sided extension behind the base 3 is the
  assumption the causal, shuffled task breaks; the price is base 2 instead of base 3.

The circuit (hand-set weights; pointer doubling with a fall-back)
-----------------------------------------------------------------
The residual layout is :func:`~.construct.residual_layout` (``TOK``, ``SRC``, pointer blocks
``P_1 .. P_{L-1}``, ``POS``, ``NOTDST``); ``P_0`` is ``SRC``.

Layer 0, previous-token head
    A ``dst`` position copies its statement's ``src`` token into ``SRC``; every other position
    (the ``src`` positions and the query) copies its own token. So a statement's pointer starts
    at its ``src`` (node $j$) and the query's at the queried variable (node $k$).
Layer $l = 1..L-1$, doubling head
    Position $p$ with pointer $P_{l-1}(p) = x$ attends to the ``dst`` position carrying $x$
    (score $\beta$) and copies *that position's pointer* $P_{l-1}$ into $P_l(p)$: it jumps as
    far as that statement already reaches. If that statement comes later (masked), the
    fall-back wins: a self score $\beta/2$ (a ``POS`` match), copying $p$'s own pointer, so the
    pointer stays. A value pointer matches the value statement's ``src`` position (score
    $\beta$; that position keeps its own value in every pointer block, the *absorber*).
    Variable ``src`` occurrences and the query's own token are cancelled by the ``NOTDST`` flag
    (score $\le 0$).
Unembedding
    The value coordinates of ``P_{L-1}`` at the query.

Every score gap is at least $\beta/2$ up to the pointer errors, so with $\beta$ from
:func:`doubling_beta` the attention is hard (the margin argument of :mod:`.construct`, with
$\beta/2$ in place of $\beta$); errors add up over layers, at most $2\delta$ per layer.

What it needs, per instance (:func:`doubling_layers`)
    Pointer $j$ after a layer is the pointer of $s_{j'}$ it points at, if $s_{j'}$ comes before
    $s_j$, else unchanged; the query always sees its target. The circuit answers a $k$-hop query
    with $L$ layers exactly when that recursion brings the query's pointer to the value within
    $L - 1$ steps. In chain order, value first, this is $\lceil\log_2(k+1)\rceil$: the counting's
    worst case, met. With the statements in the opposite order no pointer of a statement ever
    moves, and it needs $k$ (one hop per layer, as :mod:`.construct`). A circuit exact on every
    order with $\lceil\log_2(D+1)\rceil + 1$ layers would have to take in overlapping segments
    of different lengths; we did not build one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from derivations.musat2025.construct import residual_layout
from derivations.musat2025.data import Batch, RetrievalTask
from derivations.musat2025.direct import AttentionOnlyTransformer
from dynamics.validate import int_at_least, one_of, positive_float

__all__ = [
    "flow_layers",
    "worst_case_flow_layers",
    "causal_worst_case",
    "chain_order",
    "doubling_layers",
    "doubling_beta",
    "doubling_params",
    "query_pointer",
    "reorder_queried_chain",
]


def _check_order(order: Sequence[int], k: int) -> tuple[list[int], int]:
    order = [int(o) for o in order]
    if not order or sorted(order) != sorted(set(order)):
        raise ValueError(f"order must be a non-empty sequence of distinct positions, got {order!r}")
    k = int_at_least("k", k, 1)
    if k > len(order):
        raise ValueError(f"k must be at most the number of statements {len(order)}, got {k}")
    return order, k


def flow_layers(order: Sequence[int], k: int, causal: bool = True, max_layers: int = 64) -> int:
    """Layers the query needs under Assumption 1 (module docstring): every position absorbs every
    visible segment that shares a node with its own.

    Parameters
    ----------
    order : sequence of int
        ``order[j]`` = position (any distinct numbers) of statement $s_j$ of the queried chain.
    k : int
        Query depth, $1 \\le k \\le$ ``len(order)``.
    causal : bool
        A position sees only earlier positions (the query sees all); otherwise all see all.

    Returns
    -------
    int
        Smallest $t$ after which the query's segment holds node 0.
    """
    order, k = _check_order(order, k)
    D = len(order)
    seg = [(j, j + 1) for j in range(D)]
    q = (k, k)
    for t in range(max_layers + 1):
        if q[0] == 0:
            return t
        new = []
        for j in range(D):
            lo, hi = seg[j]
            for i in range(D):
                a, b = seg[i]
                if (not causal or order[i] < order[j]) and a <= seg[j][1] and b >= seg[j][0]:
                    lo, hi = min(lo, a), max(hi, b)
            new.append((lo, hi))
        lo, hi = q
        for a, b in seg:
            if a <= q[1] and b >= q[0]:
                lo, hi = min(lo, a), max(hi, b)
        q, seg = (lo, hi), new
    raise RuntimeError(f"no answer within {max_layers} layers")  # cannot happen: one link per layer at least


def worst_case_flow_layers(D: int, causal: bool = True) -> int:
    """:func:`flow_layers` for a $D$-hop query, maximised over all $D!$ statement orders (exhaustive)."""
    D = int_at_least("D", D, 1)
    if D > 8:
        raise ValueError(f"D must be at most 8 (D! orders are enumerated), got {D}")
    return max(flow_layers(p, D, causal) for p in itertools.permutations(range(D)))


def causal_worst_case(k: int) -> int:
    r"""$\lceil\log_2(k+1)\rceil$: the counting under the causal mask (value-first order; module docstring)."""
    k = int_at_least("k", k, 1)
    t = 0
    while 2**t - 1 < k:
        t += 1
    return t


def doubling_layers(order: Sequence[int], k: int) -> int:
    """Doubling layers the circuit needs on one instance (module docstring); add 1 for layer 0.

    Parameters
    ----------
    order : sequence of int
        ``order[j]`` = position of statement $s_j$ of the queried chain.
    k : int
        Query depth.

    Returns
    -------
    int
        Smallest $t$ with the query's pointer at the value after $t$ doubling layers.
    """
    order, k = _check_order(order, k)
    lo = list(range(len(order)))  # statement j points at node j (its src)
    q = k
    t = 0
    while q > 0:
        q = lo[q - 1]  # the query always sees the statement whose dst is node q
        lo = [lo[lo[j] - 1] if lo[j] > 0 and order[lo[j] - 1] < order[j] else lo[j] for j in range(len(lo))]
        t += 1
    return t


def chain_order(tokens: np.ndarray, task: RetrievalTask) -> tuple[list[int], int]:
    """Statement slots of the queried chain, in chain order from the value statement, and $k$.

    Parameters
    ----------
    tokens : ndarray of int, shape (S,)
        One example.
    task : RetrievalTask

    Returns
    -------
    order : list of int
        ``order[j]`` = slot of $s_j$ (the statement whose ``dst`` is $x_{j+1}$), for the links
        from the value up to the queried variable.
    k : int
        The query depth (the number of links followed).
    """
    tok = np.asarray(tokens)
    n = (tok.shape[0] - 2) // 2
    slot_of = {int(tok[2 * i + 1]): i for i in range(n)}
    x, slots = int(tok[-1]), []
    while x >= task.n_values:
        i = slot_of[x]
        slots.append(i)
        x = int(tok[2 * i])
    return slots[::-1], len(slots)


def doubling_beta(seq_len: int, delta: float = 1e-8) -> float:
    r"""Sharpness with per-layer leak $(S-1)e^{-\beta/4} = \delta$: $4\ln((S-1)/\delta)$ (gaps are $\ge \beta/2$)."""
    S = int_at_least("seq_len", seq_len, 2)
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0 < delta <= 1 / 12:
        raise ValueError(f"delta must be a number in (0, 1/12], got {delta!r}")
    return 4.0 * math.log((S - 1) / delta)


def doubling_params(
    task: RetrievalTask, n_layers: int, *, beta: float | None = None
) -> tuple[AttentionOnlyTransformer, dict[str, np.ndarray]]:
    """Hand-set weights of the pointer-doubling circuit (module docstring; our construction).

    Parameters
    ----------
    task : RetrievalTask
        Sizes only.
    n_layers : int
        $L \\ge 1$: layer 0, then $L - 1$ doubling layers.
    beta : float, optional
        Match score; default :func:`doubling_beta` (leak $10^{-8}$ per layer).

    Returns
    -------
    model : AttentionOnlyTransformer
        One head per layer, ``d_model`` $= T(L+1) + S + 1$, ``d_head`` = ``d_model``.
    params : dict of str to ndarray
    """
    if not isinstance(task, RetrievalTask):
        raise ValueError(f"task must be a RetrievalTask, got {type(task).__name__}")
    L = int_at_least("n_layers", n_layers, 1)
    T, S, V, X = task.vocab_size, task.seq_len, task.n_values, task.n_vars
    beta = positive_float("beta", doubling_beta(S) if beta is None else beta)
    lay = residual_layout(task, L)
    tok0, src0, pos0, flag = lay["TOK"], lay["SRC"], lay["POS"], lay["NOTDST"]
    ptr = [src0] + [lay[f"P{l}"] for l in range(1, L)]  # P_0 = SRC
    d = max(flag + 1, T + 1 + S)
    model = AttentionOnlyTransformer.for_task(task, n_layers=L, n_heads=1, d_model=d)
    qscale = beta * math.sqrt(model.d_head)  # the model divides scores by sqrt(d_head)
    params = {k: np.zeros(s) for k, s in model.shapes().items()}
    toks, pos, variables = np.arange(T), np.arange(S), np.arange(V, V + X)
    params["W_E"][toks, tok0 + toks] = 1.0
    params["W_pos"][pos, pos0 + pos] = 1.0
    notdst = (pos % 2 == 0) | (pos == S - 1)
    params["W_pos"][pos[notdst], flag] = 1.0

    p = "blocks.0.attn."  # previous-token head: dst -> its src, everything else -> itself
    target = np.where((pos % 2 == 1) & (pos != S - 1), pos - 1, pos)
    params[p + "W_Q"][0, pos0 + pos, target] = qscale
    params[p + "W_K"][0, pos0 + pos, pos] = 1.0
    params[p + "W_V"][0, tok0 + toks, toks] = 1.0
    params[p + "W_O"][0, toks, src0 + toks] = 1.0

    for layer in range(1, L):  # doubling heads: match the dst carrying the pointer, copy its pointer
        p = f"blocks.{layer}.attn."
        params[p + "W_Q"][0, ptr[layer - 1] + toks, toks] = qscale
        params[p + "W_Q"][0, ptr[layer - 1] + variables, T] = -qscale
        params[p + "W_Q"][0, pos0 + pos, T + 1 + pos] = qscale / 2  # the fall-back: self at beta/2
        params[p + "W_K"][0, tok0 + toks, toks] = 1.0
        params[p + "W_K"][0, flag, T] = 1.0
        params[p + "W_K"][0, pos0 + pos, T + 1 + pos] = 1.0
        params[p + "W_V"][0, ptr[layer - 1] + toks, toks] = 1.0
        params[p + "W_O"][0, toks, ptr[layer] + toks] = 1.0
    params["W_U"][ptr[L - 1] + np.arange(V), np.arange(V)] = 1.0
    return model, params


def query_pointer(cache: dict[str, np.ndarray], task: RetrievalTask, n_layers: int) -> np.ndarray:
    """The token the query's last pointer block holds (argmax), per example, shape (B,), read from the
    cache of ``model.forward`` of the ``n_layers``-layer circuit (``SRC`` when ``n_layers`` is 1)."""
    L = int_at_least("n_layers", n_layers, 1)
    key = f"resid.{L}"
    if key not in cache:
        raise ValueError(f"cache has no {key!r}: not the cache of a {L}-layer forward pass")
    lay = residual_layout(task, L)
    start = lay["SRC" if L == 1 else f"P{L - 1}"]
    return np.asarray(cache[key][:, -1, start: start + task.vocab_size].argmax(axis=-1))


def reorder_queried_chain(batch: Batch, task: RetrievalTask, how: str) -> Batch:
    """The same examples with the queried chain's statements moved into a given order.

    The slots the queried chain occupies are kept; its statements are put into them in chain
    order, value statement first (``how="value_first"``: the counting's worst case, where the
    circuit doubles), or last (``"value_last"``: no statement's pointer can move). Distractor
    statements and the labels at the query are unchanged; other supervised labels are dropped.
    """
    how = one_of("how", how, ("value_first", "value_last"))
    tok = np.array(batch.tokens, copy=True)
    for b in range(tok.shape[0]):
        slots, _ = chain_order(tok[b], task)
        stmts = [(int(tok[b, 2 * i]), int(tok[b, 2 * i + 1])) for i in slots]  # chain order
        if how == "value_last":
            stmts = stmts[::-1]
        for i, (s, dd) in zip(sorted(slots), stmts, strict=True):
            tok[b, 2 * i], tok[b, 2 * i + 1] = s, dd
    targets = -np.ones_like(np.asarray(batch.targets))
    targets[:, -1] = np.asarray(batch.targets)[:, -1]
    hops = np.zeros_like(np.asarray(batch.hops))
    hops[:, -1] = np.asarray(batch.hops)[:, -1]
    return Batch(tok, targets, hops, np.asarray(batch.answer), np.asarray(batch.query_depth))
