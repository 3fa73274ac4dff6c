r"""The retrieval problem: multi-hop variable chains among distractor chains (spec 2.2, reconstructed).

The paper's exact format was not available; this is the spec's reconstruction (section 2.2),
labelled so. An example holds ``n_chains`` chains $v_c \to x_{c,1} \to \dots \to x_{c,D}$, each
link written as a two-token statement ``[src, dst]`` ("dst := src"), the value statement
``[v_c, x_{c,1}]`` first in each chain. All statements are shuffled, then a query
``[?, x_{c^*,k}]`` is appended; the answer is $v_{c^*}$, reached by following $k$ links back.

Token ids: values ``0..V-1``, variables ``V..V+X-1``, the query marker ``V+X``.

Regimes (spec 2.2, reconstructed):

* ``"none"``: only maximal-depth queries ($k = D$), loss at the query only;
* ``"ic_a"``: the implicit curriculum by all-position supervision: ``dst`` tokens are
  labelled with their chain's value (hop count = its depth in the chain), plus the query.
  With ``ic_a_labels="determined"`` (the default, reconstruction, issue 17) only the labels
  the preceding tokens determine are supervised (a statement whose ancestor statements all
  come before it), so no label asks for what a causal model cannot know; ``"all"`` labels
  every ``dst`` (the first reconstruction, of which about half the 2-hop labels are not
  determined);
* ``"ic_b"``: the query depth is drawn from a mixture $\pi$ over $\{1..D\}$.

:func:`min_layers` is the depth lower bound $\lceil\log_3(2D)\rceil$ under the paper's
Assumption 1 (spec 1.2; the derivation there is a reconstruction, not the paper's proof).

:func:`determined_labels` tells, for every supervised position, whether the tokens up to it
(all a causal model sees there) contain the links from it back to its label. Under the
causal mask with shuffled statements, IC-A's $k$-hop statement labels are determined only
when its $k - 1$ ancestor statements all come earlier, i.e. when it is the last of the $k$
statements of its chain prefix: a fraction $1/k$ of them (1/2 of the 2-hop labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dynamics.validate import positive_int

__all__ = ["RetrievalTask", "Batch", "min_layers", "greedy_layers", "doubling_layers", "resolve",
           "determined_labels", "undetermined_fraction", "hop_weights"]

Regime = Literal["none", "ic_a", "ic_b"]


def min_layers(D: int) -> int:
    r"""Smallest $t$ with $3^t \ge 2D$, i.e. $\lceil\log_3(2D)\rceil$ (spec 1.2, reconstructed); exact in integers."""
    positive_int("depth D", D)
    t = 0
    while 3**t < 2 * D:
        t += 1
    return t


def greedy_layers(D: int) -> int:
    """One hop per layer: $D$ layers (spec 1.2, for comparison)."""
    min_layers(D)
    return D


def doubling_layers(D: int) -> int:
    r"""Pointer doubling: $\lceil\log_2 D\rceil + 1$ layers (spec 1.2, Wang et al. 2025)."""
    min_layers(D)
    t = 0
    while 2**t < D:
        t += 1
    return t + 1


@dataclass(frozen=True)
class Batch:
    """Sampled examples.

    Attributes
    ----------
    tokens : (B, S) int
    targets : (B, S) int, the value id at supervised positions, -1 elsewhere
    hops : (B, S) int, the hop count of each supervised position (0 elsewhere)
    answer : (B,) int, the queried chain's value
    query_depth : (B,) int
    """

    tokens: np.ndarray
    targets: np.ndarray
    hops: np.ndarray
    answer: np.ndarray
    query_depth: np.ndarray


@dataclass(frozen=True)
class RetrievalTask:
    """Generator of retrieval examples (spec 2.2, reconstructed); every size configurable.

    Parameters
    ----------
    n_chains : int
        Chains per example, the queried one included (the others are distractors).
    depth : int
        Links per chain, $D$ (the maximal query depth).
    n_values, n_vars : int
        Sizes of the value and variable alphabets; values are distinct across the chains of
        an example and variables are drawn without replacement.
    regime : {"none", "ic_a", "ic_b"}
    pi : sequence of float, optional
        Mixture over query depths $1..D$ for ``"ic_b"`` (default uniform).
    ic_a_labels : {"determined", "all"}
        Which ``dst`` labels ``"ic_a"`` supervises (reconstruction, see the module doc).
    """

    n_chains: int = 4
    depth: int = 4
    n_values: int = 16
    n_vars: int = 64
    regime: Regime = "none"
    pi: Sequence[float] | None = None
    ic_a_labels: Literal["determined", "all"] = "determined"

    def __post_init__(self) -> None:
        for name in ("n_chains", "depth", "n_values", "n_vars"):
            positive_int(name, getattr(self, name))
        if self.n_chains * self.depth > self.n_vars:
            raise ValueError(f"{self.n_chains} chains of depth {self.depth} need {self.n_chains * self.depth} "
                             f"distinct variables but n_vars = {self.n_vars}")
        if self.n_chains > self.n_values:
            raise ValueError(f"{self.n_chains} chains need distinct values but n_values = {self.n_values}")
        if self.regime not in ("none", "ic_a", "ic_b"):
            raise ValueError(f"unknown regime {self.regime!r}; choose 'none', 'ic_a' or 'ic_b'")
        if self.ic_a_labels not in ("determined", "all"):
            raise ValueError(f"ic_a_labels must be 'determined' or 'all', got {self.ic_a_labels!r}")
        if self.pi is not None:
            if self.regime != "ic_b":
                raise ValueError("pi is only used by the 'ic_b' regime")
            p = np.asarray(self.pi, dtype=float)
            if p.shape != (self.depth,) or not np.all(np.isfinite(p)) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
                raise ValueError(f"pi must be {self.depth} non-negative numbers summing to 1, got {list(self.pi)}")
            object.__setattr__(self, "pi", tuple(float(x) for x in p))

    @property
    def query_token(self) -> int:
        return self.n_values + self.n_vars

    @property
    def vocab_size(self) -> int:
        return self.n_values + self.n_vars + 1

    @property
    def seq_len(self) -> int:
        return 2 * self.n_chains * self.depth + 2

    def depth_mixture(self) -> np.ndarray:
        """Probabilities of query depths $1..D$ for this regime."""
        if self.regime == "ic_b":
            return np.asarray(self.pi if self.pi is not None else np.full(self.depth, 1.0 / self.depth))
        out = np.zeros(self.depth)
        out[-1] = 1.0
        return out

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        """``batch`` independent examples drawn with ``rng``."""
        positive_int("batch", batch)
        C, D, S = self.n_chains, self.depth, self.seq_len
        B, n = batch, C * D
        qdepth = rng.choice(np.arange(1, D + 1), size=B, p=self.depth_mixture())  # (B,)
        # distinct values per example and variables without replacement (random permutations)
        values = np.argsort(rng.random((B, self.n_values)), axis=1)[:, :C]  # (B, C)
        xs = self.n_values + np.argsort(rng.random((B, self.n_vars)), axis=1)[:, :n]  # (B, n)
        xs = xs.reshape(B, C, D)  # (B, C, D) x_{c,1..D}
        src = np.concatenate([values[:, :, None], xs[:, :, :-1]], axis=2).reshape(B, n)  # (B, n)
        dst = xs.reshape(B, n)  # (B, n)
        chain = np.repeat(np.arange(C), D)  # (n,) chain of each statement, chain-major
        hop = np.tile(np.arange(1, D + 1), C)  # (n,) hop count of each statement's dst
        order = np.argsort(rng.random((B, n)), axis=1)  # (B, n) statement shown at slot i
        rows = np.arange(B)[:, None]  # (B, 1)
        tokens = np.empty((B, S), dtype=np.int64)  # (B, S)
        tokens[:, 0 : 2 * n : 2] = src[rows, order]
        tokens[:, 1 : 2 * n : 2] = dst[rows, order]
        targets = -np.ones((B, S), dtype=np.int64)  # (B, S)
        hops = np.zeros((B, S), dtype=np.int64)  # (B, S)
        if self.regime == "ic_a":
            lab = values[rows, chain[order]]  # (B, n) label of the statement at slot i
            if self.ic_a_labels == "determined":
                # slot of statement (c, h); determined iff it is the last of its chain's first h
                slot = np.argsort(order, axis=1).reshape(B, C, D)  # (B, C, D)
                det = (slot == np.maximum.accumulate(slot, axis=2)).reshape(B, n)  # (B, n) by statement
                lab = np.where(det[rows, order], lab, -1)
            targets[:, 1 : 2 * n : 2] = lab
            hops[:, 1 : 2 * n : 2] = np.where(lab >= 0, hop[order], 0)
        c_star = rng.integers(C, size=B)  # (B,)
        tokens[:, S - 2] = self.query_token
        tokens[:, S - 1] = xs[np.arange(B), c_star, qdepth - 1]
        answer = values[np.arange(B), c_star]  # (B,)
        targets[:, S - 1] = answer
        hops[:, S - 1] = qdepth
        return Batch(tokens, targets, hops, answer, qdepth)


def hop_weights(task: RetrievalTask) -> np.ndarray:
    r"""Expected share of each hop level $1..D$ among the supervised labels of ``task``, (D,).

    ``"none"``: all on $D$; ``"ic_b"``: the query mixture $\pi$; ``"ic_a"``: per example $C$
    statement labels per level (only a fraction $1/k$ of the $k$-hop ones with
    ``ic_a_labels="determined"``: the statement must come last of its chain's first $k$, in
    a uniformly random order) plus the $D$-hop query, normalised. The R1 mixture $\pi_j$.
    """
    if task.regime != "ic_a":
        return task.depth_mixture()
    k = np.arange(1, task.depth + 1)
    w = task.n_chains * (1.0 / k if task.ic_a_labels == "determined" else np.ones(task.depth))
    w[-1] += 1.0
    return w / w.sum()


def resolve(tokens: np.ndarray, task: RetrievalTask) -> int:
    """Answer a query by following the links (the oracle used in tests): the value reached from
    the queried variable."""
    src_of = {int(tokens[2 * i + 1]): int(tokens[2 * i]) for i in range((len(tokens) - 2) // 2)}
    x = int(tokens[-1])
    for _ in range(task.depth + 1):
        if x < task.n_values:
            return x
        x = src_of[x]
    raise ValueError("the chain does not end in a value")


def determined_labels(batch: Batch, task: RetrievalTask) -> np.ndarray:
    """Whether each supervised label is determined by the tokens at or before its position.

    Returns a (B, S) bool array, ``True`` where ``batch.targets >= 0`` and following the
    links back from the token at that position, using only statements written at or before
    it, reaches a value. Elsewhere ``False``. A label that is not determined this way leaves
    at least two values possible (the chain's own value statement is not yet visible), so no
    causal model can be sure of it.
    """
    tok = np.asarray(batch.tokens)
    B, S = tok.shape
    n = (S - 2) // 2
    out = np.zeros((B, S), dtype=bool)
    rows, cols = np.nonzero(np.asarray(batch.targets) >= 0)
    for b, p in zip(rows.tolist(), cols.tolist(), strict=True):
        # statement i = [src, dst] at (2i, 2i+1), written at or before position p
        src_of = {int(tok[b, 2 * i + 1]): int(tok[b, 2 * i]) for i in range(n) if 2 * i + 1 <= p}
        x = int(tok[b, p])
        for _ in range(task.depth + 1):
            if x < task.n_values:
                out[b, p] = True
                break
            if x not in src_of:
                break
            x = src_of[x]
    return out


def undetermined_fraction(task: RetrievalTask, rng: np.random.Generator, n: int) -> dict[int, float]:
    """Fraction of the statement labels (``dst`` positions, the query excluded) with hop count
    $k$ that are *not* determined by the preceding tokens (:func:`determined_labels`), over ``n``
    examples of ``task``, for each $k$ present. For shuffled statements the expectation is
    $1 - 1/k$ (the $k - 1$ ancestors must all precede the statement: it must be the last of
    $k$ statements in a uniformly random order). Only ``"ic_a"``
    supervises statement positions; other regimes give an empty dict."""
    b = task.sample(rng, n)
    det = determined_labels(b, task)
    sup = np.asarray(b.targets) >= 0
    sup[:, -1] = False  # the query sees every statement: always determined
    hops = np.asarray(b.hops)
    return {int(k): float(1.0 - det[sup & (hops == k)].mean()) for k in np.unique(hops[sup])}
