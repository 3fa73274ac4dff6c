r"""Data for Huang, Liang & Yang (2025): strings, labels, embeddings, CoT sequences, and the
match-pattern table of the exact symmetry reduction.

Tokens are integers, ``0`` for ``a`` and ``1`` for ``b``. Spec references are to
``shared/papers/huang2025_even_pairs_parity.md``.

* Even pairs (spec 1.1): $y = +1$ iff $w_1 = w_L$ (equivalently the number of ``ab`` and
  ``ba`` is even). Parity: $y = +1$ iff the number of ``b`` is even. The sign convention is a
  reconstruction.
* The training set is every string of lengths $1..L_{\max}$ (reconstructed), each length weighted by
  $1/|I_L|$ (spec 1.2, 1.5).
* Embeddings (spec 1.3, reconstructed): ``"additive"``, $x_\ell = E^w_{w_\ell} + E^p_\ell$
  with $d = 2 + L_{\max}$ (the default), or ``"joint"``, a one-hot of the (token, position)
  pair with $d = 2 L_{\max}$.
* CoT training sequences (spec 1.7b, reconstructed): prefixes
  $(w_1..w_{L_0}, c_1..c_{k-1})$ with target $c_k = c_{k-1} \oplus w_k$, $c_0 = w_{L_0}$, and
  label $y = +1$ iff $w_k = c_{k-1}$.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dynamics.validate import int_at_least

__all__ = [
    "Dataset", "all_strings", "even_pairs_label", "parity_label", "embed", "make_dataset",
    "even_pairs_dataset", "parity_dataset", "cot_sequences", "cot_dataset", "match_pattern",
    "pattern_table", "PATTERN_COLUMNS",
]

Embedding = Literal["additive", "joint"]


def all_strings(L: int) -> list[np.ndarray]:
    """All $2^L$ strings of length ``L`` over {0, 1}, in lexicographic order."""
    return [np.array(w, dtype=np.int64) for w in itertools.product((0, 1), repeat=L)]


def even_pairs_label(w: np.ndarray) -> int:
    """+1 iff the first token equals the last (spec 1.1)."""
    return 1 if w[0] == w[-1] else -1


def parity_label(w: np.ndarray) -> int:
    """+1 iff the number of ``b`` (token 1) is even."""
    return 1 if int(np.sum(w)) % 2 == 0 else -1


def embed(w: np.ndarray, L_max: int, embedding: Embedding = "additive") -> np.ndarray:
    """Token embeddings of one string, shape (len(w), d)."""
    L = len(w)
    if not 1 <= L <= L_max:
        raise ValueError(f"string length {L} outside 1..L_max={L_max}")
    if embedding == "additive":
        X = np.zeros((L, 2 + L_max))  # (L, d)
        X[np.arange(L), w] = 1.0
        X[np.arange(L), 2 + np.arange(L)] = 1.0
    elif embedding == "joint":
        X = np.zeros((L, 2 * L_max))  # (L, d)
        X[np.arange(L), 2 * np.arange(L) + w] = 1.0
    else:
        raise ValueError(f"unknown embedding {embedding!r}; choose 'additive' or 'joint'")
    return X


@dataclass(frozen=True)
class Dataset:
    """Padded sequences with per-sample weights.

    Attributes
    ----------
    tokens : (N, L_max) int, -1 beyond each length
    X : (N, L_max, d) embeddings, zero beyond each length
    mask : (N, L_max) bool, True on real positions
    query : (N,) int, index of the last real position (the query)
    y : (N,) labels in {-1, +1}
    weight : (N,) sample weights (1/|I_L| per length by default)
    group : (N,) int, an integer tag (the length, or the CoT step)
    """

    tokens: np.ndarray
    X: np.ndarray
    mask: np.ndarray
    query: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    group: np.ndarray
    L_max: int
    embedding: str

    def __len__(self) -> int:
        return int(self.y.size)

    def subset(self, keep: np.ndarray) -> Dataset:
        return Dataset(self.tokens[keep], self.X[keep], self.mask[keep], self.query[keep], self.y[keep],
                       self.weight[keep], self.group[keep], self.L_max, self.embedding)


def make_dataset(seqs: Sequence[np.ndarray], labels: Sequence[int], weights: Sequence[float],
                 groups: Sequence[int], L_max: int, embedding: Embedding = "additive") -> Dataset:
    """Pad and embed sequences."""
    N = len(seqs)
    if not (N == len(labels) == len(weights) == len(groups)) or N == 0:
        raise ValueError("seqs, labels, weights and groups must be non-empty and of equal length")
    d = 2 + L_max if embedding == "additive" else 2 * L_max
    tokens = -np.ones((N, L_max), dtype=np.int64)
    X = np.zeros((N, L_max, d))
    mask = np.zeros((N, L_max), dtype=bool)
    for n, w in enumerate(seqs):
        L = len(w)
        tokens[n, :L] = w
        X[n, :L] = embed(w, L_max, embedding)
        mask[n, :L] = True
    return Dataset(tokens, X, mask, mask.sum(1) - 1, np.asarray(labels, dtype=float),
                   np.asarray(weights, dtype=float), np.asarray(groups, dtype=np.int64), L_max, embedding)


def _length_dataset(L_max: int, label: Callable[[np.ndarray], int], embedding: Embedding,
                    lengths: Sequence[int]) -> Dataset:
    seqs, ys, ws, gs = [], [], [], []
    for L in lengths:
        strings = all_strings(L)
        for w in strings:
            seqs.append(w)
            ys.append(label(w))
            ws.append(1.0 / len(strings))
            gs.append(L)
    return make_dataset(seqs, ys, ws, gs, L_max, embedding)


def even_pairs_dataset(L_max: int = 6, embedding: Embedding = "additive",
                       include_length_1: bool = True) -> Dataset:
    """Every string of lengths 1..L_max (or 2..L_max) with even-pairs labels."""
    int_at_least("L_max", L_max, 2)
    return _length_dataset(L_max, even_pairs_label, embedding, range(1 if include_length_1 else 2, L_max + 1))


def parity_dataset(L_max: int = 6, embedding: Embedding = "additive") -> Dataset:
    """Every string of lengths 1..L_max with parity labels."""
    int_at_least("L_max", L_max, 2)
    return _length_dataset(L_max, parity_label, embedding, range(1, L_max + 1))


def cot_sequences(L0: int) -> list[tuple[np.ndarray, int, int]]:
    """CoT training prefixes (spec 1.7b, reconstructed): ``(tokens, label, step k)`` for every
    $w \\in \\{0,1\\}^{L_0}$ and $k = 1..L_0-1$; label +1 iff $w_k = c_{k-1}$."""
    int_at_least("L0", L0, 2)
    out = []
    for w in all_strings(L0):
        c = [int(w[-1])]  # c_0 = w_{L0}
        for k in range(1, L0):
            prefix = np.concatenate([w, np.array(c[1:], dtype=np.int64)])
            y = 1 if w[k - 1] == c[-1] else -1
            out.append((prefix, y, k))
            c.append(c[-1] ^ int(w[k - 1]))
    return out


def cot_dataset(L0: int = 4, reg_weight: float = 0.1, reg_lengths: Sequence[int] = (1, 2, 3, 4),
                L_max: int | None = None, embedding: Embedding = "additive") -> Dataset:
    """$\\mathcal L_{\\rm CoT} + $ ``reg_weight`` $\\cdot$ even-pairs loss on ``reg_lengths``
    (spec 1.7b, reconstructed). Each CoT step $k$ is a group with weight $1/2^{L_0}$ per sequence; even-pairs
    sequences carry group $-L$ and weight ``reg_weight``$/2^L$."""
    L_max = L_max if L_max is not None else 2 * L0 - 2
    if 2 * L0 - 2 > L_max:
        raise ValueError(f"CoT prefixes reach length {2 * L0 - 2} > L_max={L_max}")
    seqs, ys, ws, gs = [], [], [], []
    for w, y, k in cot_sequences(L0):
        seqs.append(w)
        ys.append(y)
        ws.append(1.0 / 2**L0)
        gs.append(k)
    if reg_weight > 0:
        for L in reg_lengths:
            if not 1 <= L <= L_max:
                raise ValueError(f"regulariser length {L} outside 1..{L_max}")
            for w in all_strings(L):
                seqs.append(w)
                ys.append(even_pairs_label(w))
                ws.append(reg_weight / 2**L)
                gs.append(-L)
    return make_dataset(seqs, ys, ws, gs, L_max, embedding)


def match_pattern(w: np.ndarray) -> np.ndarray:
    r"""$m_\ell = [w_\ell = w_L]$ for every position (so $m_L = 1$)."""
    return (np.asarray(w) == w[-1]).astype(np.int64)


# columns of the pattern table: m1..m_Lmax, e1..e_Lmax (key present), h1..h_Lmax (length one-hot), y, weight
def PATTERN_COLUMNS(L_max: int) -> list[str]:  # noqa: N802
    return ([f"m{i}" for i in range(1, L_max + 1)] + [f"e{i}" for i in range(1, L_max + 1)]
            + [f"h{i}" for i in range(1, L_max + 1)] + ["y", "w"])


def pattern_table(data: Dataset) -> np.ndarray:
    r"""The exact reduction's rows (spec 2.2): one per distinct (match pattern, length, label),
    with the summed sample weights.

    A row is ``(m_1..m_Lmax, e_1..e_Lmax, h_1..h_Lmax, y, weight)``: $m$ the match pattern
    (zero-padded), $e_\ell = [\ell \le L]$, $h$ the one-hot of the length $L$. The reduction
    needs the data to be closed under swapping ``a`` and ``b`` with the same label; this is
    checked, and a dataset that breaks it (parity without CoT) is rejected.
    """
    L_max = data.L_max
    rows: dict[tuple[int, ...], float] = {}
    seen: dict[tuple[int, ...], float] = {}
    for n in range(len(data)):
        L = int(data.query[n]) + 1
        w = data.tokens[n, :L]
        key = tuple(int(v) for v in w) + (int(data.y[n]),)
        seen[key] = seen.get(key, 0.0) + float(data.weight[n])
        m = np.zeros(L_max, dtype=np.int64)
        m[:L] = match_pattern(w)
        e = np.zeros(L_max, dtype=np.int64)
        e[:L] = 1
        h = np.zeros(L_max, dtype=np.int64)
        h[L - 1] = 1
        r = tuple(int(v) for v in np.concatenate([m, e, h])) + (int(data.y[n]),)
        rows[r] = rows.get(r, 0.0) + float(data.weight[n])
    for key, wt in seen.items():
        swapped = tuple(1 - v for v in key[:-1]) + (key[-1],)
        if abs(seen.get(swapped, 0.0) - wt) > 1e-12:
            raise ValueError("the data is not symmetric under swapping a and b with equal labels and "
                             "weights, so the match-pattern reduction does not apply (e.g. parity labels)")
    return np.array([list(r) + [wt] for r, wt in sorted(rows.items())], dtype=float)
