r"""Hand-set weights: a one-hop-per-layer retrieval circuit (our construction, spec 1.3, reconstructed).

This is **our construction**, a reconstruction of the "stacked retrieval heads" of spec
section 1.3; the paper's circuit diagram was not available. No training: every weight is set
by hand, so that an $L$-layer :class:`~derivations.musat2025.direct.AttentionOnlyTransformer`
answers every query of depth $k \le L - 1$ at the query position $S-1$.

Residual stream (one-hot, mutually orthogonal blocks; $T$ = ``vocab_size``)
------------------------------------------------------------------------------
``TOK`` ($T$ dims, the token one-hot, written by ``W_E``), ``SRC`` ($T$ dims, written by
layer 0), pointer blocks ``P_1 .. P_{L-1}`` ($T$ dims each, ``P_l`` written by layer $l$),
``POS`` ($S$ dims, the position one-hot) and one flag dimension ``NOTDST`` (1 at even
positions, i.e. ``src`` tokens and the query marker, and at the query position $S-1$; 0 at
the statement ``dst`` positions $1, 3, \dots, S-3$); both are written by ``W_pos``. So
``d_model`` $= T\,(L+1) + S + 1$, padded with zero dimensions when $H > 1$ heads need
``d_head = d_model / H`` $\ge \max(S, T + 1)$. We write ``P_0`` for ``TOK``.

Layer 0, "previous-token" head
    Position $s$ attends by ``POS`` to $f(s) = s - 1$ if $s$ is odd (a ``dst`` attends to its
    own statement's ``src``), and to $f(s) = s$ if $s$ is even (a ``src`` attends to itself).
    OV copies ``TOK`` into ``SRC``. So a ``dst`` position stores the link's source, and a
    ``src`` position stores its own token: in particular the value statement's ``src``
    position holds (token $v$, ``SRC`` $= v$), a fixed point "$v := v$" (the *absorber*).
Layer $l = 1..L-1$, "hop" head
    The query reads the pointer block ``P_{l-1}`` (``P_0`` = the query's own token) and is
    $q = \beta\,(p, -\textstyle\sum_{x\ \mathrm{variable}} p_x)$; the key of position $t$ is
    $(\mathrm{onehot}(\mathrm{tok}_t), \mathrm{NOTDST}_t)$. The score is
    $\beta\,(p_{\mathrm{tok}_t} - [t\ \text{not a dst}]\,p_{\mathrm{var}})$: a variable pointer
    matches only the ``dst`` position carrying that variable (its ``src`` occurrence is
    cancelled by the flag), and a value pointer $v$ (never a ``dst`` token) matches the value
    statement's ``src`` position. OV copies that position's ``SRC`` into ``P_l``.
Unembedding
    ``W_U`` reads the value coordinates of the last pointer block ``P_{L-1}``.

Choice for pointers that already reached a value: the absorber. Once $v^*$ is reached (after
$k$ hops), every later hop attends to the ``src`` position of $v^*$ and copies $v^*$ again, so
``P_k = ... = P_{L-1}`` $\approx$ onehot($v^*$) and reading the last block is enough. Without the
absorber a value pointer finds no match and spreads its attention over all keys, copying a
mixture of every chain's sources (values included); weighting later pointers less would only
shrink that junk, whereas the absorber removes it, and the read-out margin no longer depends
on $L$.

Margin argument (why attention is effectively hard)
    Every ``SRC`` and pointer vector is a convex combination of token one-hots, hence a
    probability vector $p$ over tokens; let $\varepsilon = 1 - p_{\mathrm{target}}$, so every
    other coordinate is $\le \varepsilon$. In a hop, the correct key scores
    $\ge \beta(1 - 2\varepsilon)$ and every other key $\le \beta\varepsilon$ (a wrong token
    gives $\beta p_t \le \beta\varepsilon$; the ``src`` occurrence of the target variable and the
    query position itself give $\beta(p_x - p_{\mathrm{var}}) \le 0$); with at most $S-1$ wrong
    keys, the off-target attention is $\le (S-1)e^{-\beta(1-3\varepsilon)}$. Layer 0 scores
    $\beta$ vs $0$, so ``SRC`` has error $\varepsilon_0 \le (S-1)e^{-\beta}$, and the pointer
    after a hop has error $\varepsilon_l \le \varepsilon_0 + (S-1)e^{-\beta(1-3\varepsilon_{l-1})}$.
    With $\delta = (S-1)e^{-\beta/2} \le 1/12$, induction ($\varepsilon_{l-1} \le 1/6 \Rightarrow
    1 - 3\varepsilon_{l-1} \ge 1/2$) gives $\varepsilon_l \le 2\delta \le 1/6$ for every $l$,
    with no accumulation over layers. The read-out then sees $\ge 1 - 2\delta$ on $v^*$ and
    $\le 2\delta$ on every other value, so the argmax is right whenever
    $\beta \ge$ :func:`min_beta` $= 2\ln(12(S-1))$. The default $\beta$ makes
    $\delta = 10^{-8}$. ($W_Q$ carries $\beta\sqrt{d_h}$ to undo the model's $1/\sqrt{d_h}$.)

Measured (tests; task ``C=3, D=4, V=8, X=16``)
    Accuracy at $S-1$ is exactly 1 for every $k \le L-1$; for $k > L-1$ it sits at chance,
    $\approx 1/C$ (the leakage in ``P_{L-1}`` is symmetric over the $C$ values present), or
    $\approx 1/V$ at $L = 1$ (no leakage at all). The margin bound is sufficient, not tight:
    $\beta = 6 <$ :func:`min_beta` $\approx 11.4$ is still exact there, $\beta \le 3$ is not.
    Removing the absorber (even positions no longer copy themselves) breaks the depths
    $k < L-1$ (at $L = 4$: $k = 1, 2, 3$ give about 0.27, 0.60, 1.0), as argued above.

Causality and depth
    Under the causal mask a ``dst`` position sees only the statements written before it, and
    the statements are shuffled, so a statement cannot in general fetch its predecessor link:
    pointer doubling over statement positions is not guaranteed. Only the query position (the
    last) sees every statement, so all hops are done there, one per layer, after the
    previous-token layer: $L$ layers give $L - 1$ hops (:func:`constructive_depth`), i.e. depth
    $D$ needs $D + 1$ layers. That is never fewer than the lower bound
    $\lceil\log_3(2D)\rceil$ (:func:`~derivations.musat2025.data.min_layers`), nor than the
    greedy count $D$ of spec 1.2 (which folds the link step into the first hop). How much
    depth the causal mask really costs, and a pointer-doubling circuit that needs
    $1 + \lceil\log_2(k+1)\rceil$ layers when the statements come in chain order, are in
    :mod:`.doubling`.
"""

from __future__ import annotations

import math

import numpy as np

from derivations.musat2025.data import Batch, RetrievalTask
from derivations.musat2025.direct import AttentionOnlyTransformer
from dynamics.validate import int_at_least, positive_float

__all__ = [
    "constructive_params",
    "constructive_depth",
    "residual_layout",
    "min_beta",
    "default_beta",
    "query_correct",
    "query_accuracy_by_depth",
]


def _check_task(task: object) -> RetrievalTask:
    if not isinstance(task, RetrievalTask):
        raise ValueError(f"task must be a RetrievalTask, got {type(task).__name__}")
    return task


def constructive_depth(n_layers: int) -> int:
    """Query depth the construction answers exactly with ``n_layers`` layers: ``n_layers - 1``.

    Parameters
    ----------
    n_layers : int
        Number of layers $L \\ge 1$.

    Returns
    -------
    int
        $L - 1$ (layer 0 is the previous-token head, each further layer one hop).
    """
    return int_at_least("n_layers", n_layers, 1) - 1


def min_beta(seq_len: int) -> float:
    r"""Smallest sharpness covered by the margin argument: $2\ln(12(S-1))$.

    Parameters
    ----------
    seq_len : int
        Sequence length $S \ge 2$.

    Returns
    -------
    float
        $\beta$ with $(S-1)e^{-\beta/2} = 1/12$.
    """
    S = int_at_least("seq_len", seq_len, 2)
    return 2.0 * math.log(12.0 * (S - 1))


def default_beta(seq_len: int, delta: float = 1e-8) -> float:
    r"""Sharpness with per-hop error bound $\delta = (S-1)e^{-\beta/2}$: $2\ln((S-1)/\delta)$.

    Parameters
    ----------
    seq_len : int
        Sequence length $S \ge 2$.
    delta : float
        Target bound, in $(0, 1/12]$.

    Returns
    -------
    float
    """
    S = int_at_least("seq_len", seq_len, 2)
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0 < delta <= 1 / 12:
        raise ValueError(f"delta must be a number in (0, 1/12], got {delta!r}")
    return 2.0 * math.log((S - 1) / delta)


def residual_layout(task: RetrievalTask, n_layers: int) -> dict[str, int]:
    """First residual coordinate of every block of the construction (module docstring).

    Parameters
    ----------
    task : RetrievalTask
    n_layers : int

    Returns
    -------
    dict of str to int
        ``"TOK"``, ``"SRC"``, ``"P1"`` .. ``"P{L-1}"`` (each ``vocab_size`` wide, token ``t`` at
        offset ``t``), ``"POS"`` (``seq_len`` wide) and ``"NOTDST"`` (one coordinate).
    """
    task = _check_task(task)
    L = int_at_least("n_layers", n_layers, 1)
    T = task.vocab_size
    out = {"TOK": 0, "SRC": T}
    out.update({f"P{l}": (1 + l) * T for l in range(1, L)})
    out["POS"] = (L + 1) * T
    out["NOTDST"] = out["POS"] + task.seq_len
    return out


def constructive_params(
    task: RetrievalTask,
    n_layers: int,
    *,
    n_heads: int | None = None,
    beta: float | None = None,
    d_model: int | None = None,
) -> tuple[AttentionOnlyTransformer, dict[str, np.ndarray]]:
    r"""Hand-set weights of the one-hop-per-layer circuit (module docstring; our construction).

    Parameters
    ----------
    task : RetrievalTask
        Sizes (vocabulary, sequence length, values); the regime is irrelevant.
    n_layers : int
        $L \ge 1$; queries of depth $k \le L - 1$ are answered exactly.
    n_heads : int, optional
        Heads per layer (default 1). Head 0 carries the circuit; other heads are zero.
    beta : float, optional
        Attention sharpness (score gap of a hard match). Default :func:`default_beta`
        (per-hop error $\le 2\cdot 10^{-8}$). Values below :func:`min_beta` are accepted but
        fall outside the margin argument.
    d_model : int, optional
        Residual width; default the smallest admissible one, $T(L+1) + S + 1$ rounded up so
        that it is a multiple of ``n_heads`` with ``d_model / n_heads`` $\ge \max(S, T+1)$.

    Returns
    -------
    model : AttentionOnlyTransformer
    params : dict of str to ndarray
        Exactly ``model.shapes()``.

    Raises
    ------
    ValueError
        On a non-``RetrievalTask`` task, ``n_layers`` or ``n_heads`` not an integer >= 1,
        ``beta`` not positive finite, or ``d_model`` too small / not divisible.
    """
    task = _check_task(task)
    L = int_at_least("n_layers", n_layers, 1)
    H = 1 if n_heads is None else int_at_least("n_heads", n_heads, 1)
    T, S, V, X = task.vocab_size, task.seq_len, task.n_values, task.n_vars
    if beta is None:
        beta = default_beta(S)
    beta = positive_float("beta", beta)

    lay = residual_layout(task, L)
    tok0, src0, pos0, flag = lay["TOK"], lay["SRC"], lay["POS"], lay["NOTDST"]
    ptr0 = [tok0] + [lay[f"P{l}"] for l in range(1, L)]  # P_0 = TOK, P_l for l = 1..L-1
    d_used = flag + 1
    e_min = max(S, T + 1)  # head width needed by layer 0 (S) and the hop heads (T + 1)
    d_min = max(d_used, H * e_min)
    d_min = -(-d_min // H) * H
    if d_model is None:
        d = d_min
    else:
        d = int_at_least("d_model", d_model, 1)
        if d < d_used or d % H or d // H < e_min:
            raise ValueError(
                f"d_model={d} too small or not divisible: need a multiple of n_heads={H}, "
                f">= {d_used}, with d_model / n_heads >= {e_min} (smallest valid: {d_min})"
            )
    model = AttentionOnlyTransformer.for_task(task, n_layers=L, n_heads=H, d_model=d)
    e = model.d_head
    qscale = beta * math.sqrt(e)  # the model divides scores by sqrt(d_head)

    params = {k: np.zeros(s) for k, s in model.shapes().items()}
    toks = np.arange(T)
    params["W_E"][toks, tok0 + toks] = 1.0
    pos = np.arange(S)
    params["W_pos"][pos, pos0 + pos] = 1.0
    notdst = (pos % 2 == 0) | (pos == S - 1)
    params["W_pos"][pos[notdst], flag] = 1.0

    # layer 0: previous-token head (odd s -> s - 1, even s -> s), copies TOK into SRC
    p = "blocks.0.attn."
    target = np.where(pos % 2 == 1, pos - 1, pos)
    params[p + "W_Q"][0, pos0 + pos, target] = qscale
    params[p + "W_K"][0, pos0 + pos, pos] = 1.0
    params[p + "W_V"][0, tok0 + toks, toks] = 1.0
    params[p + "W_O"][0, toks, src0 + toks] = 1.0

    # layers 1..L-1: hop heads, P_{l-1} -> match dst token -> copy SRC into P_l
    variables = np.arange(V, V + X)
    for layer in range(1, L):
        p = f"blocks.{layer}.attn."
        params[p + "W_Q"][0, ptr0[layer - 1] + toks, toks] = qscale
        params[p + "W_Q"][0, ptr0[layer - 1] + variables, T] = -qscale
        params[p + "W_K"][0, tok0 + toks, toks] = 1.0
        params[p + "W_K"][0, flag, T] = 1.0
        params[p + "W_V"][0, src0 + toks, toks] = 1.0
        params[p + "W_O"][0, toks, ptr0[layer] + toks] = 1.0

    values = np.arange(V)
    params["W_U"][ptr0[L - 1] + values, values] = 1.0
    return model, params


def query_correct(
    model: AttentionOnlyTransformer, params: dict[str, np.ndarray], batch: Batch
) -> np.ndarray:
    """Whether the argmax logit at the query position ``S-1`` is the answer, per example.

    Parameters
    ----------
    model : AttentionOnlyTransformer
    params : dict of str to ndarray
    batch : Batch

    Returns
    -------
    ndarray of bool, shape (B,)
    """
    if not isinstance(batch, Batch):
        raise ValueError(f"batch must be a Batch, got {type(batch).__name__}")
    logits, _ = model.forward(params, batch.tokens)  # (B, S, V)
    return np.asarray(logits[:, -1].argmax(axis=-1) == batch.answer)  # (B,)


def query_accuracy_by_depth(
    model: AttentionOnlyTransformer,
    params: dict[str, np.ndarray],
    task: RetrievalTask,
    rng: np.random.Generator,
    n: int = 2048,
) -> dict[int, float]:
    """Accuracy at the query position for every query depth ``k = 1..D``.

    Examples are drawn IC-B style: a copy of ``task``'s sizes with ``regime="ic_b"`` and a
    uniform mixture over depths, so every depth appears (about ``n / D`` examples each). Only
    the query position ``S-1`` is scored, never the other supervised positions.

    Parameters
    ----------
    model : AttentionOnlyTransformer
    params : dict of str to ndarray
    task : RetrievalTask
    rng : numpy.random.Generator
    n : int
        Total number of examples.

    Returns
    -------
    dict of int to float
        Depth -> accuracy, for the depths drawn (all of ``1..D`` unless ``n`` is tiny).
    """
    task = _check_task(task)
    n = int_at_least("n", n, 1)
    icb = RetrievalTask(task.n_chains, task.depth, task.n_values, task.n_vars, regime="ic_b")
    batch = icb.sample(rng, n)
    ok = query_correct(model, params, batch)  # (n,)
    depth = np.asarray(batch.query_depth)  # (n,)
    return {int(k): float(ok[depth == k].mean()) for k in np.unique(depth)}
