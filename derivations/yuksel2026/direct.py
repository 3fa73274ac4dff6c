r"""The minimal transformer of Yüksel et al. (2026) in numpy, its AdamW trainer and its metrics
(spec 2.1, read from the authors' code: ``conf/experiments/full_disection.yaml``, ``src/model.py``).

Model. The input at position $u$ is $z_u = [e_{x_u}; e_u] \in \mathbb R^D$, $D = d + P$ with $P$
= ``n_pos`` input positions (token one-hot and absolute-position one-hot, no learned
embedding). One layer of $H$ heads, each on the full dimension, no key projection:

$$ a^k_{t,u} = \frac{(W_Q^k z_t)^\top z_u}{\sqrt D}, \qquad
   A^k_{t,\cdot} = \mathrm{softmax}_{u \le t}(a^k_{t,\cdot}), \qquad
   \hat y_t = \Pi_d \sum_{k=1}^H \sum_{u \le t} A^k_{t,u}\, W_V^k z_u , $$

with $\Pi_d = [I_d\ 0]$ the frozen identity decoder. Only the first $d$ rows of each
$W_V^k \in \mathbb R^{D\times D}$ reach $\hat y$, so the other rows get zero gradient and never
matter; ``"W_V"`` is stored as those rows only, $\Pi_d W_V^k$, shape (H, d, D). (Under AdamW
the dropped rows would only decay from their initial value; they are 0 at the paper's value
init.) ``"W_Q"`` is (H, D, D) with ``W_Q[k, r, c]`` the weight from query coordinate ``c`` to
key coordinate ``r``, so $a^k_{t,u} = z_u^\top W_Q^k z_t / \sqrt D$.

Loss. Cross-entropy of $\mathrm{softmax}(\hat y_t)$ against $x_{t+1}$, averaged over the batch
and the query positions $t = C-1, \dots, S-1$ of a sequence of $S+1$ tokens (with the
default $S = P = C + 19$: the last 20 positions; the first $C-1$ outputs, inside the burn-in,
are dropped; spec 2.1). Only these queries are computed for the loss.

Speed. All four blocks of $W_Q$ act on one-hot inputs, so the logits are gathers from two
small tables (key token by query token and query index; key position by query token and
query index) and their gradients one ``np.bincount`` and one sparse one-hot scatter; the
value path is a row gather, three batched matrix products (forward, ``dA``, ``dvals``) and
a sparse scatter. No ``einsum`` or ``np.add.at``. The batch is processed in blocks of
``_CHUNK`` sequences so that every intermediate array stays cache-sized. Every operation
treats heads identically, so heads that start equal stay bitwise equal (``query_init = 0``,
spec 5.2.4). Measured on the 2-core development machine (shared, float64): one step
(``loss_and_grad``, clipping, AdamW) at the paper size B = 3000, N = 26, D = 75, H = 3 takes
about 210 ms with ``threads=1`` and 115-165 ms with ``threads=2``; at B = 500 about 55 and
30 ms. Drawing 3000 fresh teacher sequences takes about 40 ms (done in a helper thread
during the step when training online). A paper-default online run of 1000 steps, evaluated
on 2000 sequences every 20 steps, took 190 s. ``OPENBLAS_NUM_THREADS`` makes no difference:
the matrix products are small.

Trainer (spec 2.1): AdamW (decoupled weight decay, PyTorch's update and defaults), global
gradient-norm clipping (PyTorch's ``clip_grad_norm_``), constant learning rate (spec 1.4),
minibatches by reshuffled epochs of a finite set or fresh teacher sequences every step.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from derivations.yuksel2026.teacher import Dataset, Teacher

__all__ = [
    "AdamW",
    "MinimalTransformer",
    "TrainRecord",
    "attention_maps",
    "clip_grad_norm",
    "evaluate",
    "span_mass",
    "train",
]


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _nonneg_float(name: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    x = float(v)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return x


# ============================================================================= model
_CHUNK = 256  # sequences per block: keeps every intermediate array cache-sized


@dataclass(frozen=True)
class _Tables:
    """The parameters rearranged for inputs of S positions and queries q0..S-1 (T of them)."""

    q0: int
    S: int
    tok: np.ndarray  # (H d d T,): [head, key token, query token, query index]
    pos: np.ndarray  # (d T, H S): [query token, query index] -> [head, key position]
    val: np.ndarray  # (H d S, d): [head, token, position] -> rows of W_V^k z

    @property
    def T(self) -> int:
        return self.S - self.q0


@dataclass(frozen=True)
class _Block:
    """Forward activations and token indices of one block of sequences."""

    logits: np.ndarray  # (b, T, d)
    pattern: np.ndarray  # (b, T, H, S)
    vals: np.ndarray  # (b, H S, d): W_V^k z_u for every head and key
    idx_tok: np.ndarray  # (b, T, H, S) into _Tables.tok
    idx_query: np.ndarray  # (b T,) rows of _Tables.pos
    idx_val: np.ndarray  # (b H S,) rows of _Tables.val


def _scatter_rows(index: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """``out[r] = sum of values[j] over j with index[j] = r``: (J,), (J, m) -> (n_rows, m).

    A sparse one-hot product (one nonzero per column), much faster than ``np.add.at``.
    """
    J = index.size
    onehot = sp.csr_matrix((np.ones(J), (index, np.arange(J))), shape=(n_rows, J))
    return np.asarray(onehot @ values)


@dataclass(frozen=True)
class MinimalTransformer:
    r"""One attention layer on one-hot token and position inputs (spec 2.1, the authors' code).

    Parameters
    ----------
    d : int
        Vocabulary size (default 50).
    n_pos : int
        Number of input positions $P$ (default 25 = $C$ + 20 - 1); $D = d + P$.
    context : int
        Teacher order $C$: queries $t \ge C-1$ carry the loss.
    n_heads : int
        Number of heads $H$ (default 3).
    query_init : float
        $W_Q \sim U(-\sigma, \sigma)$ with $\sigma$ = ``query_init`` (default $10^{-9}$, the
        headline run; 0 gives exactly symmetric heads).
    value_init : float
        $W_V \sim U(-\sigma_V, \sigma_V)$ (default 0: $W_V = 0$).

    Notes
    -----
    Parameters: ``"W_Q"`` (H, D, D) and ``"W_V"`` (H, d, D) (see the module docstring for
    why ``W_V`` keeps only its first $d$ rows).
    """

    d: int = 50
    n_pos: int = 25
    context: int = 6
    n_heads: int = 3
    query_init: float = 1e-9
    value_init: float = 0.0

    def __post_init__(self) -> None:
        for name in ("d", "n_pos", "context", "n_heads"):
            v = getattr(self, name)
            if not _is_int(v) or int(v) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
            object.__setattr__(self, name, int(v))
        if self.context > self.n_pos:
            raise ValueError(
                f"context C={self.context} exceeds n_pos={self.n_pos}: no query position t >= C-1"
            )
        object.__setattr__(self, "query_init", _nonneg_float("query_init", self.query_init))
        object.__setattr__(self, "value_init", _nonneg_float("value_init", self.value_init))

    @classmethod
    def for_teacher(cls, teacher: Teacher, length: int = 20, **kwargs: Any) -> MinimalTransformer:
        """The model for ``teacher`` sequences of ``C + length`` tokens
        (``n_pos = C + length - 1``)."""
        if not isinstance(teacher, Teacher):
            raise ValueError(f"teacher must be a Teacher, got {type(teacher).__name__}")
        if not _is_int(length) or int(length) < 1:
            raise ValueError(f"length must be an integer >= 1, got {length!r}")
        return cls(teacher.d, teacher.C + int(length) - 1, teacher.C, **kwargs)

    @property
    def D(self) -> int:
        """Input dimension $D = d + P$."""
        return self.d + self.n_pos

    @property
    def groups(self) -> Mapping[str, str]:
        """Every parameter in the ``"default"`` learning-rate group."""
        return {}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of each parameter."""
        H, d, D = self.n_heads, self.d, self.D
        return {"W_Q": (H, D, D), "W_V": (H, d, D)}

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """$W_Q \\sim U(\\pm$ ``query_init``$)$, $W_V \\sim U(\\pm$ ``value_init``$)$
        (exact zeros at scale 0)."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        out = {}
        for (name, shape), s in zip(
            self.shapes().items(), (self.query_init, self.value_init), strict=True
        ):
            out[name] = rng.uniform(-s, s, size=shape) if s > 0 else np.zeros(shape)
        return out

    # ---------------------------------------------------------------- validation
    def _check_params(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        shapes = self.shapes()
        if not isinstance(params, Mapping) or set(params) != set(shapes):
            keys = sorted(params) if isinstance(params, Mapping) else type(params).__name__
            raise ValueError(f"params must have exactly the keys {sorted(shapes)}, got {keys}")
        for k, s in shapes.items():
            if np.shape(params[k]) != s:
                raise ValueError(f"param {k!r} must have shape {s}, got {np.shape(params[k])}")
        return np.asarray(params["W_Q"], dtype=float), np.asarray(params["W_V"], dtype=float)

    def _check_tokens(self, tokens: object, min_len: int, max_len: int, what: str) -> np.ndarray:
        tok = np.asarray(tokens)
        if tok.ndim != 2 or not np.issubdtype(tok.dtype, np.integer) or tok.shape[0] < 1:
            raise ValueError(
                f"{what} must be a non-empty integer array (B, S), got dtype {tok.dtype} and "
                f"shape {tok.shape}"
            )
        if not min_len <= tok.shape[1] <= max_len:
            raise ValueError(
                f"{what} must have between {min_len} and {max_len} positions (n_pos="
                f"{self.n_pos}, context={self.context}), got shape {tok.shape}"
            )
        if tok.min() < 0 or tok.max() >= self.d:
            raise ValueError(
                f"token values must lie in [0, d={self.d}), got {tok.min()}..{tok.max()}"
            )
        return tok

    def _sequences(self, tokens: object) -> np.ndarray:
        """Full sequences (B, S + 1), C <= S <= n_pos: inputs plus the targets."""
        return self._check_tokens(tokens, self.context + 1, self.n_pos + 1, "sequences")

    # ------------------------------------------------------------------- forward
    def _tables(self, W: np.ndarray, V: np.ndarray, S: int, q0: int) -> _Tables:
        r"""Rearrange $W_Q$, $W_V$ into the gather tables of :class:`_Tables`.

        With $z_u = [e_{x_u}; e_u]$ the logit $z_u^\top W z_t$ is the sum of four blocks,
        $W[x_u, x_t] + W[x_u, d+t] + W[d+u, x_t] + W[d+u, d+t]$ (key row, query column): the
        first two depend on the key token (table ``tok``), the last two on the key position
        (table ``pos``). The value of key $u$ is $W_V[:, x_u] + W_V[:, d+u]$ (table ``val``).
        """
        d, H = self.d, self.n_heads
        T = S - q0
        Wtt = W[:, :d, :d]  # (H, key token, query token)
        Wtp = W[:, :d, d + q0 : d + S]  # (H, key token, query index)
        Wpt = W[:, d : d + S, :d]  # (H, key position, query token)
        Wpp = W[:, d : d + S, d + q0 : d + S]  # (H, key position, query index)
        tok = (Wtt[:, :, :, None] + Wtp[:, :, None, :]).reshape(-1)  # (H d d T,)
        pos = Wpt.transpose(2, 0, 1)[:, None] + Wpp.transpose(2, 0, 1)[None]  # (d, T, H, S)
        Vt = V[:, :, :d].transpose(0, 2, 1)  # (H, token, d_out)
        Vp = V[:, :, d : d + S].transpose(0, 2, 1)  # (H, position, d_out)
        val = (Vt[:, :, None, :] + Vp[:, None, :, :]).reshape(H * d * S, d)  # (H d S, d)
        return _Tables(q0, S, tok, pos.reshape(d * T, H * S), val)

    def _block(self, tabs: _Tables, x: np.ndarray) -> _Block:
        """Forward pass of one block of input tokens ``x`` (b, S)."""
        d, H = self.d, self.n_heads
        b, S = x.shape
        q0, T = tabs.q0, tabs.T
        i = np.arange(T)  # (T,)
        xq = x[:, q0:] * T + i  # (b, T): query token and index
        k = np.arange(H)[:, None]  # (H, 1)
        idx_tok = (k * (d * d * T) + x[:, None, :] * (d * T))[:, None] + xq[:, :, None, None]
        s = np.take(tabs.tok, idx_tok)  # (b, T, H, S)
        idx_query = xq.reshape(-1)  # (b T,)
        s += np.take(tabs.pos, idx_query, axis=0).reshape(b, T, H, S)
        s *= 1.0 / math.sqrt(self.D)
        causal = np.arange(S)[None, :] > (q0 + i)[:, None]  # (T, S): key u after query t
        s += np.where(causal, -np.inf, 0.0)[:, None, :]  # (T, 1, S)
        s -= s.max(axis=-1, keepdims=True)
        A = np.exp(s, out=s)  # (b, T, H, S)
        A /= A.sum(axis=-1, keepdims=True)
        idx_val = ((k * d + x[:, None, :]) * S + np.arange(S)).reshape(-1)  # (b H S,)
        vals = np.take(tabs.val, idx_val, axis=0).reshape(b, H * S, d)  # (b, H S, d)
        logits = A.reshape(b, T, H * S) @ vals  # (b, T, d)
        return _Block(logits, A, vals, idx_tok, idx_query, idx_val)

    def _run(
        self, W: np.ndarray, V: np.ndarray, x: np.ndarray, q0: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Logits (B, T, d) and pattern (B, T, H, S) of inputs ``x`` (B, S), block by block."""
        B, S = x.shape
        tabs = self._tables(W, V, S, q0)
        logits = np.empty((B, tabs.T, self.d))  # (B, T, d)
        A = np.empty((B, tabs.T, self.n_heads, S))  # (B, T, H, S)
        for c in range(0, B, _CHUNK):
            blk = self._block(tabs, x[c : c + _CHUNK])
            logits[c : c + _CHUNK] = blk.logits
            A[c : c + _CHUNK] = blk.pattern
        return logits, A

    def forward(
        self, params: Mapping[str, np.ndarray], inputs: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits at the loss queries and the attention pattern.

        Parameters
        ----------
        params : dict of str to ndarray
        inputs : int ndarray, shape (B, S), C <= S <= n_pos
            Input tokens $x_0..x_{S-1}$.

        Returns
        -------
        logits : ndarray, shape (B, S - C + 1, d)
            $\\hat y_t$ for $t = C-1, \\dots, S-1$ (predicting $x_{t+1}$).
        cache : dict
            ``"attn.pattern"`` (B, S - C + 1, H, S): $A^k_{t,u}$ in (batch, query, head, key)
            order, zero for $u > t$.
        """
        W, V = self._check_params(params)
        x = self._check_tokens(inputs, self.context, self.n_pos, "inputs")
        logits, A = self._run(W, V, x, self.context - 1)
        return logits, {"attn.pattern": A}

    def log_probs(self, params: Mapping[str, np.ndarray], tokens: np.ndarray) -> np.ndarray:
        """Log-probabilities (B, N - C, d) at the loss positions of full sequences (B, N), in
        the layout of :meth:`Teacher.kl_to`."""
        tok = self._sequences(tokens)
        logits, _ = self.forward(params, tok[:, :-1])
        z = logits - logits.max(axis=-1, keepdims=True)  # (B, T, d)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    def attention_maps(self, params: Mapping[str, np.ndarray], inputs: np.ndarray) -> np.ndarray:
        """Full causal attention maps for figures: every query $t = 0..S-1$.

        Parameters
        ----------
        inputs : int ndarray, shape (B, S), 1 <= S <= n_pos

        Returns
        -------
        ndarray, shape (B, H, S, S)
            ``maps[b, k, t, u]`` $= A^k_{t,u}$ (rows sum to 1, zero above the diagonal).
        """
        W, V = self._check_params(params)
        x = self._check_tokens(inputs, 1, self.n_pos, "inputs")
        _, A = self._run(W, V, x, 0)
        return np.ascontiguousarray(A.transpose(0, 2, 1, 3))

    # ------------------------------------------------------------------ backward
    def _accumulate(
        self, tabs: _Tables, tok: np.ndarray, w: float
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Loss and table gradients of the sequences ``tok`` (b, S + 1), each loss term weighted
        ``w``: ``(loss, g_tok, g_pos, g_val)`` shaped like ``tabs.tok``, ``.pos``, ``.val``."""
        d, H, C = self.d, self.n_heads, self.context
        S, T = tabs.S, tabs.T
        g_tok = np.zeros(H * d * d * T)  # (H d d T,)
        g_pos = np.zeros((d * T, H * S))  # (d T, H S)
        g_val = np.zeros((H * d * S, d))  # (H d S, d)
        scale = 1.0 / math.sqrt(self.D)
        loss = 0.0
        for c in range(0, tok.shape[0], _CHUNK):
            x = tok[c : c + _CHUNK, :S]  # (b, S)
            tgt = tok[c : c + _CHUNK, C:, None]  # (b, T, 1)
            b = x.shape[0]
            blk = self._block(tabs, x)
            # cross-entropy and its gradient w (softmax - onehot(target)), max-shifted
            z = blk.logits - blk.logits.max(axis=-1, keepdims=True)  # (b, T, d)
            dy = np.exp(z)  # (b, T, d)
            sz = dy.sum(axis=-1, keepdims=True)  # (b, T, 1)
            loss -= w * float(np.sum(np.take_along_axis(z, tgt, axis=-1) - np.log(sz)))
            dy *= w / sz
            np.put_along_axis(dy, tgt, np.take_along_axis(dy, tgt, axis=-1) - w, axis=-1)
            # value path: logits = A @ vals
            A2 = blk.pattern.reshape(b, T, H * S)  # (b, T, H S)
            dvals = A2.transpose(0, 2, 1) @ dy  # (b, H S, d)
            g_val += _scatter_rows(blk.idx_val, dvals.reshape(-1, d), H * d * S)
            # softmax backward, then the logit tables
            dA = (dy @ blk.vals.transpose(0, 2, 1)).reshape(b, T, H, S)  # (b, T, H, S)
            dA -= (blk.pattern * dA).sum(axis=-1, keepdims=True)
            dA *= blk.pattern
            dA *= scale  # gradient wrt the raw logits z_u^T W z_t
            g_tok += np.bincount(
                blk.idx_tok.reshape(-1), weights=dA.reshape(-1), minlength=g_tok.size
            )
            g_pos += _scatter_rows(blk.idx_query, dA.reshape(b * T, H * S), d * T)
        return loss, g_tok, g_pos, g_val

    def loss_and_grad(
        self, params: Mapping[str, np.ndarray], tokens: np.ndarray | Dataset, threads: int = 1
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy over batch and loss queries, and its exact gradient.

        Parameters
        ----------
        params : dict of str to ndarray
        tokens : int ndarray, shape (B, S + 1), C <= S <= n_pos, or a :class:`Dataset`
            Full sequences: inputs ``tokens[:, :S]``, targets ``tokens[:, C:]``.
        threads : int
            Split the batch over this many threads (numpy releases the GIL in the heavy
            operations: about 1.7x faster with 2 on 2 free cores). The result is deterministic
            for a given ``threads``; different values differ by rounding only.

        Returns
        -------
        loss : float
        grads : dict with ``"W_Q"`` (H, D, D) and ``"W_V"`` (H, d, D)
        """
        if isinstance(tokens, Dataset):
            tokens = tokens.tokens
        if not _is_int(threads) or int(threads) < 1:
            raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
        W, V = self._check_params(params)
        tok = self._sequences(tokens)
        d, H, C = self.d, self.n_heads, self.context
        q0 = C - 1
        B, S = tok.shape[0], tok.shape[1] - 1
        T = S - q0
        tabs = self._tables(W, V, S, q0)
        w = 1.0 / (B * T)  # every loss term's weight
        n = min(int(threads), -(-B // _CHUNK))  # no more parts than blocks
        if n == 1:
            loss, g_tok, g_pos, g_val = self._accumulate(tabs, tok, w)
        else:
            cuts = np.linspace(0, B, n + 1).astype(int)
            with ThreadPoolExecutor(n) as pool:
                futures = [
                    pool.submit(self._accumulate, tabs, tok[a:b], w)
                    for a, b in zip(cuts[:-1], cuts[1:], strict=True)
                ]
                parts = [f.result() for f in futures]  # summed in a fixed order
            loss = sum(p[0] for p in parts)
            g_tok = np.sum([p[1] for p in parts], axis=0)
            g_pos = np.sum([p[2] for p in parts], axis=0)
            g_val = np.sum([p[3] for p in parts], axis=0)
        g_tok4 = g_tok.reshape(H, d, d, T)  # (H, key token, query token, query index)
        g_pos4 = g_pos.reshape(d, T, H, S)  # (query token, query index, H, key position)
        dW = np.zeros((H, self.D, self.D))  # (H, key coordinate, query coordinate)
        dW[:, :d, :d] = g_tok4.sum(axis=3)
        dW[:, :d, d + q0 : d + S] = g_tok4.sum(axis=2)
        dW[:, d : d + S, :d] = g_pos4.sum(axis=1).transpose(1, 2, 0)
        dW[:, d : d + S, d + q0 : d + S] = g_pos4.sum(axis=0).transpose(1, 2, 0)
        g_val4 = g_val.reshape(H, d, S, d)  # (H, token, position, d_out)
        dV = np.zeros((H, d, self.D))  # (H, d_out, D)
        dV[:, :, :d] = g_val4.sum(axis=2).transpose(0, 2, 1)
        dV[:, :, d : d + S] = g_val4.sum(axis=1).transpose(0, 2, 1)
        return float(loss), {"W_Q": dW, "W_V": dV}

    # ------------------------------------------------------------------ summaries
    def reduce(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Frobenius norms of ``W_Q`` and ``W_V`` per head (``W_Q.0``, ..., ``W_V.0``, ...)."""
        W, V = self._check_params(params)
        out = {f"W_Q.{k}": float(np.linalg.norm(W[k])) for k in range(self.n_heads)}
        out |= {f"W_V.{k}": float(np.linalg.norm(V[k])) for k in range(self.n_heads)}
        return out

    def value_alignment(self, params: Mapping[str, np.ndarray], teacher: Teacher) -> np.ndarray:
        r"""$\langle \Pi_d W_V^k \Pi_d^\top, Q_j\rangle_F$ per head and span: (H, K)
        (spec 4, Fig. B: the value block aligns with $Q$ of the span its head attends)."""
        _, V = self._check_params(params)
        if teacher.d != self.d:
            raise ValueError(f"teacher.d={teacher.d} differs from the model's d={self.d}")
        Vt = V[:, :, : self.d].reshape(self.n_heads, -1)  # (H, d^2)
        return Vt @ teacher.Q.reshape(teacher.K, -1).T  # (H, K)


def attention_maps(
    model: MinimalTransformer, params: Mapping[str, np.ndarray], tokens: np.ndarray
) -> np.ndarray:
    """Full causal attention maps (B, H, S, S) of ``model`` on input tokens (B, S), for
    figures; see :meth:`MinimalTransformer.attention_maps`."""
    return model.attention_maps(params, tokens)


def span_mass(pattern: np.ndarray, teacher: Teacher, q0: int | None = None) -> np.ndarray:
    r"""Per-head attention mass on each span, averaged over the batch and the queries.

    For query $t$ and span $j$ with lags $\ell \in I_j$ (:meth:`Teacher.lags`; lag 0 is
    $x_t$), the mass is $\sum_{\ell \in I_j} A^k_{t,t-\ell}$; it is averaged over the batch
    and the queries $t = q_0, q_0+1, \dots$ of ``pattern``.

    Parameters
    ----------
    pattern : ndarray, shape (B, T, H, S)
        Attention in (batch, query, head, key) order, query $i$ at position $t = q_0 + i$
        (the ``"attn.pattern"`` of :meth:`MinimalTransformer.forward`).
    teacher : Teacher
    q0 : int, optional
        Position of the first query (default $C - 1$: the loss queries).

    Returns
    -------
    ndarray, shape (H, K)
        ``mass[k, j]``, spans in the teacher's order (oldest first); each row sums to <= 1.
    """
    A = np.asarray(pattern, dtype=float)
    if A.ndim != 4:
        raise ValueError(f"pattern must have shape (B, T, H, S), got {A.shape}")
    B, T, H, S = A.shape
    q0 = teacher.C - 1 if q0 is None else q0
    if not _is_int(q0) or q0 < teacher.C - 1 or q0 + T != S:
        raise ValueError(
            f"q0 must be an integer >= C-1={teacher.C - 1} with q0 + T = S; got q0={q0!r} for "
            f"pattern shape {A.shape}"
        )
    Abar = A.mean(axis=0)  # (T, H, S)
    i = np.arange(T)
    out = np.zeros((H, teacher.K))
    for j in range(teacher.K):
        for lag in teacher.lags(j):
            out[:, j] += Abar[i, :, q0 + i - lag].mean(axis=0)
    return out


# ========================================================================= optimiser
def clip_grad_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    r"""Global-norm clipping as PyTorch's ``clip_grad_norm_``.

    $n = \sqrt{\sum_p \|g_p\|^2}$; every gradient is multiplied by
    $\min(1, \text{max\_norm} / (n + 10^{-6}))$.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays (the input is not modified).
    norm : float
        The global norm before clipping.
    """
    c = _nonneg_float("max_norm", max_norm)
    if c == 0:
        raise ValueError("max_norm must be > 0")
    norm = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))
    coef = min(1.0, c / (norm + 1e-6))
    return {k: np.asarray(g, dtype=float) * coef for k, g in grads.items()}, norm


class AdamW:
    r"""AdamW with decoupled weight decay, PyTorch's update rule.

    At step $n = 1, 2, \dots$ for each parameter $\theta$ with gradient $g$:

    $$ \theta \leftarrow \theta (1 - \eta\lambda), \quad
       m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
       \quad \theta \leftarrow \theta - \eta\,\frac{m/(1-\beta_1^n)}
       {\sqrt{v/(1-\beta_2^n)} + \epsilon}. $$

    Parameters
    ----------
    lr : float
        $\eta > 0$.
    weight_decay : float
        $\lambda \ge 0$ (decoupled: it never enters $m$ or $v$).
    betas : (float, float)
    eps : float
    """

    def __init__(
        self,
        lr: float,
        weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.lr = _nonneg_float("lr", lr)
        if self.lr == 0:
            raise ValueError("lr must be > 0")
        self.weight_decay = _nonneg_float("weight_decay", weight_decay)
        if len(betas) != 2 or not all(0 <= float(b) < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _nonneg_float("eps", eps)
        if self.eps == 0:
            raise ValueError("eps must be > 0")
        self.n = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update ``params`` in place with ``grads`` (same keys and shapes)."""
        if set(grads) != set(params):
            raise ValueError(f"grads keys {sorted(grads)} differ from params keys {sorted(params)}")
        b1, b2 = self.betas
        self.n += 1
        c1 = 1.0 - b1**self.n
        c2 = 1.0 - b2**self.n
        for k, p in params.items():
            g = np.asarray(grads[k], dtype=float)
            if g.shape != p.shape:
                raise ValueError(f"gradient of {k!r} has shape {g.shape}, parameter has {p.shape}")
            if k not in self.m:
                self.m[k] = np.zeros_like(p)
                self.v[k] = np.zeros_like(p)
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p *= 1.0 - self.lr * self.weight_decay
            p -= (self.lr / c1) * m / (np.sqrt(v) / math.sqrt(c2) + self.eps)


# =========================================================================== trainer
@dataclass(frozen=True)
class TrainRecord:
    """What :func:`train` recorded, one row per recorded step.

    Attributes
    ----------
    steps : (R,) int
        Recorded steps (the state before that step's update).
    train_loss : (R,)
        Loss of the minibatch drawn at that step (the full set when full batch).
    grad_norm : (R,)
        Global gradient norm of that minibatch before clipping.
    val_loss : (R,)
        Cross-entropy on the validation set.
    val_excess : (R,)
        ``val_loss - teacher_val_ce`` (teacher's cross-entropy on the same set).
    kl : (R, K)
        ``kl[:, k-1]`` $= \\mathrm{KL}(A^*_{1:k} \\| \\text{model})$ on the validation set.
    span_mass : (R, H, K)
        Per-head attention mass per span (:func:`span_mass`; spans oldest first).
    value_alignment : (R, H, K)
        $\\langle \\Pi_d W_V^k \\Pi_d^\\top, Q_j\\rangle_F$.
    wall : (R,)
        Seconds since the start of training.
    teacher_val_ce, teacher_val_entropy : float
        Teacher cross-entropy and mean entropy on the validation set.
    meta : dict
        The configuration.
    """

    steps: np.ndarray
    train_loss: np.ndarray
    grad_norm: np.ndarray
    val_loss: np.ndarray
    val_excess: np.ndarray
    kl: np.ndarray
    span_mass: np.ndarray
    value_alignment: np.ndarray
    wall: np.ndarray
    teacher_val_ce: float
    teacher_val_entropy: float
    meta: dict[str, Any] = field(default_factory=dict)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez`` / :func:`dynamics.trajectory.save_arrays`."""
        names = (
            "steps", "train_loss", "grad_norm", "val_loss", "val_excess", "kl", "span_mass",
            "value_alignment", "wall",
        )
        out = {prefix + n: np.asarray(getattr(self, n)) for n in names}
        out[prefix + "teacher_val_ce"] = np.asarray(self.teacher_val_ce)
        out[prefix + "teacher_val_entropy"] = np.asarray(self.teacher_val_entropy)
        return out


def evaluate(
    model: MinimalTransformer,
    params: Mapping[str, np.ndarray],
    teacher: Teacher,
    tokens: np.ndarray,
) -> dict[str, Any]:
    """Validation metrics of ``params`` on full sequences ``tokens`` (B, N).

    Returns
    -------
    dict
        ``"loss"`` (float), ``"kl"`` (K,) with ``kl[k-1]`` = KL($A^*_{1:k}$ || model),
        ``"span_mass"`` (H, K) and ``"value_alignment"`` (H, K).
    """
    tok = model._sequences(tokens)
    logits, cache = model.forward(params, tok[:, :-1])  # (B, T, d)
    z = logits - logits.max(axis=-1, keepdims=True)
    lq = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # (B, T, d)
    tgt = tok[:, model.context :]  # (B, T)
    loss = float(-np.mean(np.take_along_axis(lq, tgt[..., None], axis=-1)))
    kl = np.array([teacher.kl_to(lq, tok, k) for k in range(1, teacher.K + 1)])
    return {
        "loss": loss,
        "kl": kl,
        "span_mass": span_mass(cache["attn.pattern"], teacher),
        "value_alignment": model.value_alignment(params, teacher),
    }


def train(
    model: MinimalTransformer,
    data: Teacher | Dataset,
    steps: int,
    *,
    rng: np.random.Generator,
    lr: float = 0.08,
    weight_decay: float = 0.01,
    batch: int = 3000,
    clip: float | None = 1.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    params: Mapping[str, np.ndarray] | None = None,
    record_every: int = 20,
    eval_set: Dataset | np.ndarray | None = None,
    n_eval: int = 1000,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
    threads: int | None = None,
) -> tuple[TrainRecord, dict[str, np.ndarray]]:
    """Train ``model`` with AdamW and global-norm clipping, recording every ``record_every``.

    Parameters
    ----------
    model : MinimalTransformer
    data : Teacher or Dataset
        A :class:`Teacher`: online training, ``batch`` fresh sequences of
        ``n_pos + 1`` tokens every step. A :class:`Dataset`: a finite training set,
        minibatches of ``batch`` by reshuffled epochs (full batch if ``batch >= n``).
    steps : int
        Number of updates.
    rng : numpy.random.Generator
        Draws, in this order: the initial parameters (if ``params`` is None), the
        validation set (if ``eval_set`` is None), then the minibatches.
    lr, weight_decay, betas, eps : AdamW settings (spec 2.1: 0.08, 0.01, PyTorch defaults).
    batch : int
        Sequences per step (default 3000).
    clip : float or None
        Global gradient-norm bound (default 1.0); None disables clipping.
    params : dict, optional
        Initial parameters (copied); default ``model.init(rng)``.
    record_every : int
        Record at steps 0, ``record_every``, ... and at ``steps``.
    eval_set : Dataset or int ndarray (n, N), optional
        Validation sequences (same length as the training sequences); default ``n_eval``
        fresh teacher sequences.
    n_eval : int
        Size of the default validation set.
    callback : callable, optional
        ``callback(step, row)`` after each record, ``row`` a dict of that record's values
        plus ``"params"``, the live parameter dict (copy it to keep a snapshot).
    threads : int, optional
        Threads for each gradient (:meth:`MinimalTransformer.loss_and_grad`); default
        ``min(2, os.cpu_count())``.

    Returns
    -------
    record : TrainRecord
    params : dict of str to ndarray
        The parameters after ``steps`` updates.
    """
    if not isinstance(model, MinimalTransformer):
        raise ValueError(f"model must be a MinimalTransformer, got {type(model).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(data, Dataset):
        teacher = data.teacher
        seq_len = data.seq_len
    elif isinstance(data, Teacher):
        teacher = data
        seq_len = model.n_pos + 1
    else:
        raise ValueError(f"data must be a Teacher (online) or a Dataset, got {type(data).__name__}")
    if teacher.d != model.d or teacher.C != model.context:
        raise ValueError(
            f"model (d={model.d}, context={model.context}) does not match the teacher "
            f"(d={teacher.d}, C={teacher.C})"
        )
    if seq_len - 1 > model.n_pos:
        raise ValueError(
            f"sequences of {seq_len} tokens need n_pos >= {seq_len - 1}, model has {model.n_pos}"
        )
    if not _is_int(steps) or int(steps) < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    for name, v in (("batch", batch), ("record_every", record_every), ("n_eval", n_eval)):
        if not _is_int(v) or int(v) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if clip is not None and _nonneg_float("clip", clip) == 0:
        raise ValueError("clip must be > 0 (or None to disable clipping)")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable(step, row)")
    if threads is None:
        threads = min(2, os.cpu_count() or 1)
    if not _is_int(threads) or int(threads) < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    opt = AdamW(lr, weight_decay, betas, eps)
    steps = int(steps)

    theta = {k: np.array(v, dtype=float) for k, v in (params or model.init(rng)).items()}
    model._check_params(theta)
    if eval_set is None:
        val = teacher.sample(rng, int(n_eval), seq_len - teacher.C)
    else:
        val = eval_set.tokens if isinstance(eval_set, Dataset) else np.asarray(eval_set)
        if isinstance(eval_set, Dataset) and eval_set.teacher is not teacher:
            raise ValueError("eval_set was drawn from a different teacher than the training data")
        val = teacher.check_tokens(val, min_len=teacher.C + 1)
        if val.shape[1] != seq_len:
            raise ValueError(
                f"eval_set sequences have {val.shape[1]} tokens, training sequences {seq_len}"
            )
    teacher_ce = teacher.cross_entropy(val)
    teacher_h = teacher.entropy(val)

    if isinstance(data, Dataset):
        stream: Generator[np.ndarray, None, None] = data.batches(rng, int(batch))
    else:
        length = seq_len - teacher.C

        def _online() -> Generator[np.ndarray, None, None]:
            # the next batch is drawn in a helper thread while the current step computes;
            # draws stay sequential, so the stream is the same as without prefetching
            with ThreadPoolExecutor(1) as helper:
                nxt = helper.submit(teacher.sample, rng, int(batch), length)
                for _ in range(steps):
                    cur = nxt.result()
                    nxt = helper.submit(teacher.sample, rng, int(batch), length)
                    yield cur
                yield nxt.result()

        stream = _online()

    rec = np.unique(np.concatenate([np.arange(0, steps + 1, int(record_every)), [steps]]))
    R, H, K = rec.size, model.n_heads, teacher.K
    out: dict[str, np.ndarray] = {
        "train_loss": np.empty(R), "grad_norm": np.empty(R), "val_loss": np.empty(R),
        "val_excess": np.empty(R), "kl": np.empty((R, K)), "span_mass": np.empty((R, H, K)),
        "value_alignment": np.empty((R, H, K)), "wall": np.empty(R),
    }
    t0 = time.perf_counter()
    i_rec = 0
    try:
        for step in range(steps + 1):
            loss, grads = model.loss_and_grad(theta, next(stream), threads=int(threads))
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss became non-finite ({loss}) at step {step}"
                )
            clipped, norm = clip_grad_norm(grads, clip) if clip is not None else (grads, math.nan)
            if clip is None:
                norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            if i_rec < R and rec[i_rec] == step:
                ev = evaluate(model, theta, teacher, val)
                row = {
                    "train_loss": loss, "grad_norm": norm, "val_loss": ev["loss"],
                    "val_excess": ev["loss"] - teacher_ce, "kl": ev["kl"],
                    "span_mass": ev["span_mass"], "value_alignment": ev["value_alignment"],
                    "wall": time.perf_counter() - t0,
                }
                for key, v in row.items():
                    out[key][i_rec] = v
                i_rec += 1
                if callback is not None:
                    callback(step, row | {"params": theta})  # the live parameters: copy to keep
            if step < steps:
                opt.step(theta, clipped)
    finally:
        stream.close()
    meta = {
        "steps": steps, "lr": float(lr), "weight_decay": float(weight_decay), "batch": int(batch),
        "clip": clip, "betas": list(opt.betas), "eps": opt.eps, "record_every": int(record_every),
        "threads": int(threads),
        "online": isinstance(data, Teacher),
        "n_train": data.n if isinstance(data, Dataset) else None, "n_eval": int(val.shape[0]),
        "model": {
            "d": model.d, "n_pos": model.n_pos, "context": model.context,
            "n_heads": model.n_heads, "query_init": model.query_init,
            "value_init": model.value_init,
        },
        "teacher": {
            "d": teacher.d, "spans": list(teacher.spans), "m": teacher.m,
            "reverse": teacher.reverse, "tau": teacher.tau, "orthogonal": teacher.orthogonal,
            "seed": teacher.seed,
        },
    }
    record = TrainRecord(
        rec, out["train_loss"], out["grad_norm"], out["val_loss"], out["val_excess"], out["kl"],
        out["span_mass"], out["value_alignment"], out["wall"], teacher_ce, teacher_h, meta,
    )
    return record, theta
