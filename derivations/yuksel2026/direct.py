r"""The minimal transformer of Yüksel et al. (2026) in numpy, with its hand-written backward pass
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
spec 5.2.4). Training and the validation metrics are in :mod:`derivations.yuksel2026.transformer`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from derivations.yuksel2026.data import Dataset, Teacher
from dynamics.validate import generator, nonnegative_float, positive_int

__all__ = [
    "MinimalTransformer",
    "attention_maps",
    "span_mass",
]


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
    window : int
        0 (default): each query attends to its whole causal context. ``w > 0``: only to the
        last ``w`` tokens (keys $t - w < u \le t$): the *learned restricted model* that sees
        the newest spans only (the authors' ``NgramTransformerDecoder``, the "4-gram" ...
        baselines of Fig. 5; they run the student on windows of ``w`` tokens with positions
        relative to the window, here the student keeps absolute positions and masks the older
        keys: a reconstruction, the same hypothesis class with per-query position logits).

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
    window: int = 0

    def __post_init__(self) -> None:
        for name in ("d", "n_pos", "context", "n_heads"):
            object.__setattr__(self, name, positive_int(name, getattr(self, name)))
        if isinstance(self.window, bool) or not isinstance(self.window, int | np.integer) or self.window < 0:
            raise ValueError(f"window must be an integer >= 0 (0: the whole causal context), got {self.window!r}")
        object.__setattr__(self, "window", int(self.window))
        if self.context > self.n_pos:
            raise ValueError(
                f"context C={self.context} exceeds n_pos={self.n_pos}: no query position t >= C-1"
            )
        object.__setattr__(self, "query_init", nonnegative_float("query_init", self.query_init))
        object.__setattr__(self, "value_init", nonnegative_float("value_init", self.value_init))

    @classmethod
    def for_teacher(cls, teacher: Teacher, length: int = 20, **kwargs: Any) -> MinimalTransformer:
        """The model for ``teacher`` sequences of ``C + length`` tokens
        (``n_pos = C + length - 1``)."""
        if not isinstance(teacher, Teacher):
            raise ValueError(f"teacher must be a Teacher, got {type(teacher).__name__}")
        length = positive_int("length", length)
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
        generator("rng", rng)
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
        if self.window:  # and keys u <= t - window, outside the window
            causal |= np.arange(S)[None, :] <= (q0 + i)[:, None] - self.window
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
        threads = positive_int("threads", threads)
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
    if isinstance(q0, bool) or not isinstance(q0, int | np.integer) or q0 < teacher.C - 1 or q0 + T != S:
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
