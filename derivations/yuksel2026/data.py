r"""The teacher of Yüksel et al. (2026): a high-order Markov chain whose spans of past tokens
carry geometrically different weights (spec 1.1, the authors' code), and its regression variant (1.5, 5.3).

Vocabulary $\{0, \dots, d-1\}$ (the paper's $1..d$ shifted to 0-based). The context of
order $C = \sum_i L_i$ is cut into $K$ contiguous spans; span $i$ (``i = 0`` is the
**oldest**) covers the window positions $[\mathrm{start}_i, \mathrm{start}_i + L_i)$ of
$x_{t-C+1}, \dots, x_t$, with $\mathrm{start}_i = \sum_{i'<i} L_{i'}$. In terms of the lag
$\ell = t - u$ of a key position $u$ behind the query $t$ (lag 0 is $x_t$ itself), span
$i$ holds the lags $C-1-\mathrm{start}_i-L_i+1, \dots, C-1-\mathrm{start}_i$; for spans
(2, 2, 2): span 0 = lags {4, 5} = $\{x_{t-5}, x_{t-4}\}$, span 1 = lags {2, 3}, span 2 = lags
{0, 1} = $\{x_{t-1}, x_t\}$. The transition law (spec 1.1, the authors' ``VectorARModel``):

$$ P(x_{t+1} = \cdot \mid x_{\le t}) = \mathrm{softmax}\Big(\frac1\tau \sum_{i=0}^{K-1}
   c_i\, Q_i \sum_{u \in \mathrm{span}_i} e_{x_u}\Big), \qquad c_i = m^i
   \ (\text{reversed: } c_i = m^{K-1-i}), $$

with independent random orthogonal $Q_i \in \mathbb R^{d\times d}$. ``logits`` below already
include the factor $1/\tau$. Sequences start with $C$ i.i.d. uniform tokens, then ``length``
tokens are sampled autoregressively (total length $C + $ ``length``; spec 1.1, the authors' code).

The **restricted teacher** $A^*_{1:k}$ (spec 1.3, the authors' ``with_lag_restriction(k)``) keeps only
the $k$ most important spans (largest $c_i$; ties, which only occur for $m = 1$, go to the
more recent span, a choice of ours) and applies the same softmax. The per-position metrics
(:meth:`Teacher.entropy`, :meth:`Teacher.cross_entropy`, :meth:`Teacher.kl_to`) average over
the positions $t = C-1, \dots, N-2$ of a sequence of $N$ tokens, i.e. the ``length``
predictions of $x_{t+1}$ that the student's loss uses (spec 2.1).

The regression variant (:meth:`Teacher.regression_batch`) draws i.i.d. $\mathcal N(0, I_d)$
tokens at every position, not the autoregressive recursion of the authors'
``GaussianARRegression`` (the authors' code): that recursion is explosive (total lag norm
$\sum_i c_i L_i \approx 11 \gg 1$ at the defaults), and i.i.d. whitened inputs are the choice
that makes the reduced flow (spec Eq. 4) the exact population gradient flow
(**reconstruction**, spec 1.5 and 5.3, derived).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dynamics.validate import (
    finite_array,
    generator,
    int_at_least,
    nonnegative_float,
    one_of,
    positive_float,
    positive_int,
)

__all__ = ["Dataset", "Teacher"]

Orthogonal = Literal["spectral", "frobenius"]
_ORTHOGONAL = ("spectral", "frobenius")


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """Stable log-softmax over the last axis."""
    zs = z - z.max(axis=-1, keepdims=True)  # (..., d)
    return zs - np.log(np.exp(zs).sum(axis=-1, keepdims=True))


def _spectral_orthogonal(rng: np.random.Generator, K: int, d: int) -> np.ndarray:
    """``K`` random orthogonal matrices: SVD of a Gaussian with the singular values set to 1."""
    g = rng.standard_normal((K, d, d))  # (K, d, d)
    u, _, vt = np.linalg.svd(g)  # (K, d, d) each
    return u @ vt  # (K, d, d)


def _frobenius_orthogonal(rng: np.random.Generator, K: int, d: int) -> np.ndarray:
    r"""``K`` matrices with $\langle Q_i, Q_j\rangle_F = d\,\delta_{ij}$: Gram-Schmidt (QR) of
    $K$ Gaussian vectors in $\mathbb R^{d^2}$, each rescaled to norm $\sqrt d$."""
    g = rng.standard_normal((d * d, K))  # (d^2, K)
    q, r = np.linalg.qr(g)  # (d^2, K), (K, K)
    q = q * np.sign(np.diag(r))[None, :]  # the Gram-Schmidt signs (positive diag of r)
    return math.sqrt(d) * q.T.reshape(K, d, d)  # (K, d, d)


@dataclass(frozen=True)
class Teacher:
    r"""The sparse-span Markov teacher (spec 1.1, the authors' code).

    Parameters
    ----------
    d : int
        Vocabulary size (default 50).
    spans : sequence of int
        Span lengths $L_0, \dots, L_{K-1}$, oldest first (default (2, 2, 2)).
    m : float
        Ratio of the geometric importance constants $c_i = m^i$ (default 1.7).
    reverse : bool
        Reversed importance $c_i = m^{K-1-i}$: the oldest span is the most important.
    tau : float
        Sampling temperature (default 0.1, the paper-time value; spec 1.1, 1.4).
    orthogonal : ``"spectral"`` or ``"frobenius"``
        ``"spectral"`` (the paper default): each $Q_i$ is a random orthogonal matrix, the SVD
        of a Gaussian with all singular values set to 1, so $Q_i^\top Q_i = I$.
        ``"frobenius"`` (config ``small_init``): Gram-Schmidt of the $\mathrm{vec}(Q_i)$ in
        $\mathbb R^{d^2}$, rescaled to $\|Q_i\|_F = \sqrt d$, so
        $\langle Q_i, Q_j\rangle_F = d\,\delta_{ij}$ (needs $K \le d^2$).
    seed : int
        Seed of the draw of the $Q_i$.

    Attributes
    ----------
    Q : ndarray, shape (K, d, d)
        The matrices $Q_i$, oldest span first.
    """

    d: int = 50
    spans: tuple[int, ...] = (2, 2, 2)
    m: float = 1.7
    reverse: bool = False
    tau: float = 0.1
    orthogonal: Orthogonal = "spectral"
    seed: int = 0
    Q: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        d = positive_int("d (vocabulary size)", self.d)
        if isinstance(self.spans, str | bytes) or not isinstance(self.spans, Sequence):
            raise ValueError(f"spans must be a sequence of positive integers, got {self.spans!r}")
        if len(self.spans) == 0:
            raise ValueError("spans must hold at least one span length")
        spans = tuple(positive_int(f"span length spans[{i}]", L) for i, L in enumerate(self.spans))
        m = positive_float("m (importance ratio)", self.m)
        tau = positive_float("tau (temperature)", self.tau)
        if not isinstance(self.reverse, bool | np.bool_):
            raise ValueError(f"reverse must be a bool, got {self.reverse!r}")
        one_of("orthogonal", self.orthogonal, _ORTHOGONAL)
        int_at_least("seed", self.seed, 0)
        K = len(spans)
        if self.orthogonal == "frobenius" and K > d * d:
            raise ValueError(
                f"frobenius-orthogonal Q needs K <= d^2 spans, got K={K} > d^2={d * d}"
            )
        for name, v in (("d", d), ("spans", spans), ("m", m), ("tau", tau)):
            object.__setattr__(self, name, v)
        object.__setattr__(self, "reverse", bool(self.reverse))
        object.__setattr__(self, "seed", int(self.seed))
        rng = np.random.default_rng(self.seed)
        draw = _spectral_orthogonal if self.orthogonal == "spectral" else _frobenius_orthogonal
        Q = draw(rng, K, d)  # (K, d, d)
        Q.setflags(write=False)
        object.__setattr__(self, "Q", Q)

    @classmethod
    def with_matrices(cls, Q: object, **kwargs: object) -> Teacher:
        """The teacher of ``kwargs`` with the given matrices ``Q`` (K, d, d), oldest span first,
        instead of the draw from ``seed``; they must satisfy the ``orthogonal`` condition. The
        regression bridge uses it to keep the draw its tolerances were measured on
        (:func:`derivations.yuksel2026.regression.regression_teacher`)."""
        t = cls(**kwargs)  # type: ignore[arg-type]
        Qa = finite_array("Q", Q, (t.K, t.d, t.d)).copy()
        if t.orthogonal == "frobenius":
            gram, want, what = np.einsum("iab,jab->ij", Qa, Qa) / t.d, np.eye(t.K), "Frobenius-orthogonal with ||Q_j||_F = sqrt(d)"
        else:
            gram, want, what = np.einsum("iba,ibc->iac", Qa, Qa), np.broadcast_to(np.eye(t.d), Qa.shape), "orthogonal matrices"
        if not np.allclose(gram, want, atol=1e-10):
            raise ValueError(f"Q must be {what}")
        Qa.setflags(write=False)
        object.__setattr__(t, "Q", Qa)
        return t

    # ------------------------------------------------------------------ structure
    @property
    def K(self) -> int:
        """Number of spans."""
        return len(self.spans)

    @property
    def C(self) -> int:
        """Order of the chain (context length) $C = \\sum_i L_i$."""
        return int(sum(self.spans))

    @property
    def starts(self) -> tuple[int, ...]:
        """Window offset $\\mathrm{start}_i = \\sum_{i'<i} L_{i'}$ of each span, oldest first."""
        return tuple(int(s) for s in np.cumsum((0,) + self.spans[:-1]))

    @property
    def constants(self) -> np.ndarray:
        """Importance constants $c_i$ (K,), oldest span first: $m^i$, or $m^{K-1-i}$ reversed."""
        i = np.arange(self.K)
        return self.m ** ((self.K - 1 - i) if self.reverse else i)

    @property
    def importance(self) -> tuple[int, ...]:
        """Span indices from the most to the least important (ties: the more recent first)."""
        c = self.constants
        return tuple(sorted(range(self.K), key=lambda i: (-c[i], -i)))

    def lags(self, i: int) -> tuple[int, ...]:
        """Lags $\\ell = t - u$ of span ``i`` (0 = the current token $x_t$), increasing."""
        if not _is_int(i) or not 0 <= int(i) < self.K:
            raise ValueError(f"span index must be an integer in [0, {self.K}), got {i!r}")
        hi = self.C - 1 - self.starts[int(i)]
        return tuple(range(hi - self.spans[int(i)] + 1, hi + 1))

    def _restricted(self, k: int | None) -> tuple[int, ...]:
        """The spans of $A^*_{1:k}$ in index order (all for ``k=None``), so that ``k=K`` sums
        exactly like the full teacher."""
        if k is None:
            return tuple(range(self.K))
        if not _is_int(k) or not 1 <= int(k) <= self.K:
            raise ValueError(
                f"k (number of most important spans) must lie in 1..{self.K}, got {k!r}"
            )
        return tuple(sorted(self.importance[: int(k)]))

    def lag_matrices(self, k: int | None = None) -> np.ndarray:
        r"""The linear map of each lag, $M_\ell = c_j Q_j$ for $\ell$ in span $j$ (else 0).

        Returns
        -------
        ndarray, shape (C, d, d)
            ``M[l]`` for lags ``l = 0..C-1`` (no $1/\tau$): the regression target is
            $y_t = \sum_\ell M_\ell x_{t-\ell}$ and the logits are
            $\frac1\tau\sum_\ell M_\ell e_{x_{t-\ell}}$. With ``k``, only the spans of
            $A^*_{1:k}$.
        """
        M = np.zeros((self.C, self.d, self.d))  # (C, d, d)
        c = self.constants
        for i in self._restricted(k):
            M[list(self.lags(i))] = c[i] * self.Q[i]
        return M

    # ------------------------------------------------------------------ validation
    def check_tokens(self, tokens: object, min_len: int | None = None) -> np.ndarray:
        """Validate an int token array (B, N) with ``N >= min_len`` (default C) and values in
        ``[0, d)``; returns it as an ndarray."""
        tok = np.asarray(tokens)
        need = self.C if min_len is None else min_len
        if tok.ndim != 2 or not np.issubdtype(tok.dtype, np.integer):
            raise ValueError(
                f"tokens must be an integer array of shape (B, N), got dtype {tok.dtype} and "
                f"shape {tok.shape}"
            )
        if tok.shape[1] < need:
            raise ValueError(f"tokens must have N >= {need} positions, got shape {tok.shape}")
        if tok.size and (tok.min() < 0 or tok.max() >= self.d):
            raise ValueError(
                f"token values must lie in [0, d={self.d}), got {tok.min()}..{tok.max()}"
            )
        return tok

    # ------------------------------------------------------------------ the chain
    def logits(self, tokens: np.ndarray, k: int | None = None) -> np.ndarray:
        r"""Next-token logits (with the $1/\tau$) of $A^*$ or $A^*_{1:k}$ at every position
        $t = C-1, \dots, N-1$.

        Parameters
        ----------
        tokens : int ndarray, shape (B, N), N >= C
        k : int, optional
            Keep only the ``k`` most important spans (default: all, the full teacher).

        Returns
        -------
        ndarray, shape (B, N - C + 1, d)
            ``out[:, i]`` is the logit vector for $x_{t+1}$ at $t = C - 1 + i$.
        """
        tok = self.check_tokens(tokens)
        B, N = tok.shape
        T = N - self.C + 1
        out = np.zeros((B, T, self.d))  # (B, T, d)
        c = self.constants
        for i in self._restricted(k):
            Qt = (c[i] / self.tau) * self.Q[i].T  # (d_in, d_out): row x is c_i Q_i e_x / tau
            s = self.starts[i]
            for j in range(self.spans[i]):
                out += Qt[tok[:, s + j : s + j + T]]  # (B, T, d)
        return out

    def log_probs(self, tokens: np.ndarray, k: int | None = None) -> np.ndarray:
        """Log of the next-token distribution, same positions and shape as :meth:`logits`."""
        return _log_softmax(self.logits(tokens, k))

    def sample(self, rng: np.random.Generator, n: int, length: int = 20) -> np.ndarray:
        """``n`` sequences: C i.i.d. uniform tokens, then ``length`` autoregressive tokens.

        Returns
        -------
        int ndarray, shape (n, C + length)
        """
        rng = generator("rng", rng)
        n = positive_int("n (number of sequences)", n)
        if not _is_int(length) or int(length) < 0:
            raise ValueError(f"length must be a non-negative integer, got {length!r}")
        C, d = self.C, self.d
        tok = np.empty((n, C + int(length)), dtype=np.int64)  # (n, N)
        tok[:, :C] = rng.integers(0, d, size=(n, C))
        for t in range(C, C + int(length)):
            z = self.logits(tok[:, t - C : t])[:, 0]  # (n, d)
            p = np.exp(z - z.max(axis=1, keepdims=True))  # (n, d)
            cdf = np.cumsum(p, axis=1)  # (n, d)
            u = rng.random(n) * cdf[:, -1]  # (n,)
            tok[:, t] = np.minimum((cdf < u[:, None]).sum(axis=1), d - 1)
        return tok

    def dataset(self, rng: np.random.Generator, n: int, length: int = 20) -> Dataset:
        """A fixed training (or validation) set of ``n`` sampled sequences."""
        return Dataset(self, self.sample(rng, n, length))

    # ------------------------------------------------------------------ metrics
    def _loss_positions(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens without the last one: their logits are the loss positions C-1..N-2."""
        tok = self.check_tokens(tokens, min_len=self.C + 1)
        return tok[:, :-1]

    def entropy(self, tokens: np.ndarray, k: int | None = None) -> float:
        r"""Mean entropy (nats) of the next-token distribution over the loss positions
        $t = C-1..N-2$ of ``tokens`` (B, N).

        On sequences sampled from the teacher this estimates the teacher's expected
        cross-entropy (the floor of the student's loss) with less variance than
        :meth:`cross_entropy`; both have the same expectation.
        """
        lp = self.log_probs(self._loss_positions(tokens), k)  # (B, T, d)
        return float(-np.mean(np.sum(np.exp(lp) * lp, axis=-1)))

    def cross_entropy(self, tokens: np.ndarray, k: int | None = None) -> float:
        r"""The teacher's cross-entropy on a given set: mean of $-\log p(x_{t+1} \mid x_{\le t})$
        over the loss positions $t = C-1..N-2$ of ``tokens`` (B, N).

        Subtract it from the student's loss on the same set to get the excess loss.
        """
        tok = self.check_tokens(tokens, min_len=self.C + 1)
        lp = self.log_probs(tok[:, :-1], k)  # (B, T, d)
        tgt = tok[:, self.C :]  # (B, T)
        return float(-np.mean(np.take_along_axis(lp, tgt[..., None], axis=-1)))

    def expected_entropy(self, n: int = 4000, length: int = 20, seed: int = 0) -> float:
        """Monte-Carlo estimate of the teacher's expected cross-entropy per position:
        :meth:`entropy` on ``n`` fresh sequences drawn with ``default_rng(seed)``."""
        return self.entropy(self.sample(np.random.default_rng(seed), n, length))

    def kl_to(self, model_logprobs: np.ndarray, tokens: np.ndarray, k: int | None = None) -> float:
        r"""$\mathrm{KL}(A^*_{1:k} \,\|\, \text{model})$, averaged over batch and the loss
        positions (spec 1.3, the authors' code).

        Parameters
        ----------
        model_logprobs : ndarray, shape (B, N - C, d)
            The student's log-probabilities for $x_{t+1}$ at $t = C-1..N-2$.
        tokens : int ndarray, shape (B, N)
        k : int, optional
            Number of most important spans of the reference (default: the full teacher).
        """
        x = self._loss_positions(tokens)
        lq = np.asarray(model_logprobs, dtype=float)
        want = (x.shape[0], x.shape[1] - self.C + 1, self.d)
        if lq.shape != want:
            raise ValueError(f"model_logprobs must have shape {want} (B, N - C, d), got {lq.shape}")
        lp = self.log_probs(x, k)  # (B, T, d)
        return float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))

    # ------------------------------------------------------------------ regression
    def regression_targets(self, x: np.ndarray, k: int | None = None) -> np.ndarray:
        r"""Noise-free targets $y_t = \sum_j c_j Q_j \sum_{\ell \in \mathrm{span}_j} x_{t-\ell}$
        at $t = C-1, \dots, N-1$ (no $1/\tau$; spec 1.5, the authors' code; 5.3, derived).

        Parameters
        ----------
        x : ndarray, shape (B, N, d), N >= C
        k : int, optional
            Only the spans of $A^*_{1:k}$.

        Returns
        -------
        ndarray, shape (B, N - C + 1, d)
        """
        x = np.asarray(x, dtype=float)
        if x.ndim != 3 or x.shape[2] != self.d or x.shape[1] < self.C:
            raise ValueError(f"x must have shape (B, N >= {self.C}, d={self.d}), got {x.shape}")
        B, N, d = x.shape
        T = N - self.C + 1
        y = np.zeros((B, T, d))  # (B, T, d)
        c = self.constants
        for i in self._restricted(k):
            s = self.starts[i]
            win = x[:, s : s + T]  # (B, T, d)
            for j in range(1, self.spans[i]):
                win = win + x[:, s + j : s + j + T]
            y += (c[i] * win.reshape(-1, d) @ self.Q[i].T).reshape(B, T, d)
        return y

    def regression_batch(
        self, rng: np.random.Generator, n: int, length: int = 20, noise: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Regression variant: i.i.d. $\mathcal N(0, I_d)$ tokens and their linear targets.

        **Reconstruction** (spec 1.5 and 5.3, derived): tokens are i.i.d. over positions, not
        generated by the autoregressive recursion (which would explode); this is the choice
        under which spec Eq. 4 is the exact population gradient flow.

        Parameters
        ----------
        rng : numpy.random.Generator
        n : int
            Number of sequences.
        length : int
            Number of targets per sequence (like the ``length`` of :meth:`sample`).
        noise : float
            Standard deviation $\sigma$ of additive noise $\varepsilon \sim
            \mathcal N(0, \sigma^2 I / d)$ on the targets (the code's ``sigma_err``), default 0.

        Returns
        -------
        x : ndarray, shape (n, C + length - 1, d)
            Inputs at positions ``0..C+length-2``.
        y : ndarray, shape (n, length, d)
            $y_t$ for $t = C-1, \dots, C+length-2$ (the target "$x_{t+1}$").
        """
        rng = generator("rng", rng)
        n = positive_int("n (number of sequences)", n)
        length = positive_int("length", length)
        noise = nonnegative_float("noise", noise)
        x = rng.standard_normal((n, self.C + length - 1, self.d))  # (n, N, d)
        y = self.regression_targets(x)  # (n, length, d)
        if noise > 0:
            y = y + (noise / math.sqrt(self.d)) * rng.standard_normal(y.shape)
        return x, y


@dataclass(frozen=True)
class Dataset:
    """A fixed, finite set of teacher sequences (spec 1.1: ``number.train`` = 9000).

    Parameters
    ----------
    teacher : Teacher
        The teacher the sequences were drawn from (for excess loss and KL).
    tokens : int ndarray, shape (n, N)
        The sequences, N >= C + 1.
    """

    teacher: Teacher
    tokens: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.teacher, Teacher):
            raise ValueError(f"teacher must be a Teacher, got {type(self.teacher).__name__}")
        tok = self.teacher.check_tokens(self.tokens, min_len=self.teacher.C + 1)
        if tok.shape[0] < 1:
            raise ValueError("a Dataset needs at least one sequence")
        object.__setattr__(self, "tokens", tok)

    @property
    def n(self) -> int:
        """Number of sequences."""
        return int(self.tokens.shape[0])

    @property
    def seq_len(self) -> int:
        """Tokens per sequence, N."""
        return int(self.tokens.shape[1])

    @property
    def length(self) -> int:
        """Predicted positions per sequence, N - C."""
        return self.seq_len - self.teacher.C

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """``batch`` distinct sequences drawn uniformly (the ``sample`` hook of
        :func:`dynamics.direct.sample_batch`)."""
        rng = generator("rng", rng)
        batch = positive_int("batch", batch)
        if batch > self.n:
            raise ValueError(f"batch {batch} exceeds the {self.n} sequences of the data set")
        return self.tokens[rng.choice(self.n, size=batch, replace=False)]

    def batches(
        self, rng: np.random.Generator, batch: int
    ) -> Generator[np.ndarray, None, None]:
        """Endless minibatches by reshuffled epochs.

        Each epoch is a fresh permutation cut into consecutive chunks of ``batch``; the last
        chunk of an epoch is smaller when ``batch`` does not divide ``n`` (PyTorch's
        ``drop_last=False``). With ``batch >= n`` every batch is the whole set, in order.
        """
        rng = generator("rng", rng)
        batch = positive_int("batch", batch)
        if batch >= self.n:
            while True:
                yield self.tokens
        while True:
            perm = rng.permutation(self.n)
            for s in range(0, self.n, batch):
                yield self.tokens[perm[s : s + batch]]
