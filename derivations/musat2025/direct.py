r"""An attention-only transformer for the retrieval task, trained directly (spec 2.2, 1.3, 3.3, reconstructed).

The paper does not state its architecture (spec 2.1, "Not found"); this is the spec's
recommended reproduction model (section 2.2, reconstructed): learned token and absolute position
embeddings, $L$ layers of $H$ causal softmax heads added to the residual stream, no MLP and
no LayerNorm, and an unembedding onto the $V$ value tokens read at the supervised positions.

$$ x^{(0)}_s = W_E[\mathrm{tok}_s] + W_{pos}[s], \qquad
   x^{(\ell+1)} = x^{(\ell)} + \sum_h A^{(\ell,h)} x^{(\ell)} W_V^{(\ell,h)} W_O^{(\ell,h)}, $$
$$ A^{(\ell,h)} = \mathrm{softmax}\Big(\frac{x W_Q^{(\ell,h)} (x W_K^{(\ell,h)})^\top}{\sqrt{d_h}}
   + \mathrm{mask}_{causal}\Big), \qquad \mathrm{logits}_s = x^{(L)}_s W_U . $$

The loss is the mean cross-entropy over supervised positions (``targets >= 0``) of a
:class:`~derivations.musat2025.data.Batch`. Every gradient is written by hand; the attention
backward is $\partial L/\partial S = A \odot (G - \mathrm{rowsum}(A \odot G))$ with
$G = \partial L/\partial A$ (spec 5.5 notes). Activations are returned in a
TransformerLens-style cache: ``"blocks.{l}.attn.pattern"`` (B, H, S, S) and ``"resid.{l}"``
(B, S, d_model), the residual stream entering layer ``l`` (``"resid.{L}"`` is the final one),
which is what the structural attention scores of spec 3.3 read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivations.musat2025.data import Batch, RetrievalTask
from dynamics.direct.layers import cross_entropy
from dynamics.validate import positive_float, positive_int

__all__ = ["AttentionOnlyTransformer", "TaskData", "evaluation_batch"]


# The contractions below are written as (batched) matrix products: ``np.einsum`` with
# ``optimize=True`` recomputes its contraction path on every call, which dominated the step time
# at these sizes, and the plain einsum C loop is ~10x slower than BLAS.


def _flat(a: np.ndarray) -> np.ndarray:
    """(B, S, n) -> (B S, n)."""
    return a.reshape(-1, a.shape[-1])


def _merge_heads(z: np.ndarray) -> np.ndarray:
    """(B, H, S, e) -> (B, S, H e), heads side by side."""
    B, H, S, e = z.shape
    return z.transpose(0, 2, 1, 3).reshape(B, S, H * e)


def _stack_out(w: np.ndarray) -> np.ndarray:
    """(H, e, d) -> (H e, d), the per-head output maps stacked to match :func:`_merge_heads`."""
    return w.reshape(-1, w.shape[-1])


def _stack_in(w: np.ndarray) -> np.ndarray:
    """(H, d, e) -> (d, H e), the per-head input maps side by side to match :func:`_merge_heads`."""
    return w.transpose(1, 0, 2).reshape(w.shape[1], -1)


def _param_grad(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """sum_{b,s} x[b,s,:] g[b,h,s,:] for every head: (B, S, d), (B, H, S, e) -> (H, d, e)."""
    B, H, S, e = g.shape
    return (_flat(x).T @ _merge_heads(g).reshape(B * S, H * e)).reshape(-1, H, e).transpose(1, 0, 2)


def _precision(params: Mapping[str, np.ndarray]) -> np.dtype:
    """float32 when every parameter is float32, else float64: the precision of a pass."""
    f32 = np.dtype(np.float32)
    return f32 if all(np.asarray(v).dtype == f32 for v in params.values()) else np.dtype(np.float64)


def evaluation_batch(task: RetrievalTask, n: int, rng: np.random.Generator) -> Batch:
    """``n`` fresh examples of ``task`` drawn with ``rng`` (a held-out batch, spec 3.3)."""
    return task.sample(rng, n)


@dataclass(frozen=True)
class TaskData:
    """Online data for :func:`dynamics.direct.train`: fresh examples at every step.

    ``sample(rng, batch_size)`` draws a new :class:`Batch` from ``task``, so minibatch
    training (``batch_size=...``) never repeats an example. The trainer also evaluates the
    "full-data" loss on ``data`` itself at recorded steps; for that,
    :meth:`AttentionOnlyTransformer.loss_and_grad` uses the fixed :attr:`eval_batch`
    (``n_eval`` examples drawn with ``seed``).

    Parameters
    ----------
    task : RetrievalTask
    n_eval : int
        Size of the fixed evaluation batch.
    seed : int
        Seed of the evaluation batch.
    """

    task: RetrievalTask
    n_eval: int = 512
    seed: int = 0
    eval_batch: Batch = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.task, RetrievalTask):
            raise ValueError(f"task must be a RetrievalTask, got {type(self.task).__name__}")
        positive_int("n_eval", self.n_eval)
        eb = evaluation_batch(self.task, self.n_eval, np.random.default_rng(self.seed))
        object.__setattr__(self, "eval_batch", eb)

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """``batch_size`` fresh examples drawn with ``rng``."""
        return self.task.sample(rng, batch_size)


def _as_batch(batch: Batch | TaskData) -> Batch:
    if isinstance(batch, TaskData):
        return batch.eval_batch
    if not isinstance(batch, Batch):
        raise ValueError(f"expected a Batch or TaskData, got {type(batch).__name__}")
    return batch


@dataclass(frozen=True)
class AttentionOnlyTransformer:
    r"""Attention-only causal transformer with hand-written backward (spec 2.2, reconstructed).

    Parameters
    ----------
    vocab_size, seq_len, n_values : int
        From the task (:attr:`RetrievalTask.vocab_size` etc.); the output classes are the
        value tokens ``0..n_values-1``.
    n_layers, n_heads, d_model : int
        Depth $L$, heads per layer $H$ and residual width; $d_h$ = ``d_model // n_heads``.
    init_scale : float
        Standard deviation of the Gaussian initialisation of every weight.
    dtype : {"float64", "float32"}
        Precision of the parameters :meth:`init` draws. The forward and backward passes run in
        the precision of the parameters they are given, so float32 parameters train in float32
        (about 2x faster per step at the verify run's sizes, ``benchmarks/bench_musat_step.py
        --verify-task``)
        and float64 ones, as in the gradient checks, in float64.

    Notes
    -----
    Parameters live in one flat dict: ``"W_E"`` (vocab, d), ``"W_pos"`` (S, d),
    ``"blocks.{l}.attn.W_Q"``, ``"...W_K"``, ``"...W_V"`` (H, d, d_h),
    ``"blocks.{l}.attn.W_O"`` (H, d_h, d) and ``"W_U"`` (d, n_values).
    """

    vocab_size: int
    seq_len: int
    n_values: int
    n_layers: int = 2
    n_heads: int = 2
    d_model: int = 32
    init_scale: float = 0.02
    dtype: str = "float64"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "seq_len", "n_values", "n_layers", "n_heads", "d_model"):
            positive_int(name, getattr(self, name))
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.n_values > self.vocab_size:
            raise ValueError(f"n_values={self.n_values} exceeds vocab_size={self.vocab_size}")
        positive_float("init_scale", self.init_scale)
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")

    @classmethod
    def for_task(cls, task: RetrievalTask, **kwargs: Any) -> AttentionOnlyTransformer:
        """The model sized for ``task`` (vocab, sequence length, values); ``kwargs`` as above."""
        return cls(task.vocab_size, task.seq_len, task.n_values, **kwargs)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def groups(self) -> Mapping[str, str]:
        """All parameters in the ``"default"`` learning-rate group."""
        return {}

    # ------------------------------------------------------------------ parameters
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every parameter, in a fixed order."""
        d, H, e = self.d_model, self.n_heads, self.d_head
        out: dict[str, tuple[int, ...]] = {"W_E": (self.vocab_size, d), "W_pos": (self.seq_len, d)}
        for layer in range(self.n_layers):
            p = f"blocks.{layer}.attn."
            out.update({p + "W_Q": (H, d, e), p + "W_K": (H, d, e), p + "W_V": (H, d, e)})
            out[p + "W_O"] = (H, e, d)
        out["W_U"] = (d, self.n_values)
        return out

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Gaussian weights with standard deviation ``init_scale``."""
        return {k: (self.init_scale * rng.standard_normal(s)).astype(self.dtype) for k, s in self.shapes().items()}

    def _check(self, params: Mapping[str, np.ndarray], tokens: np.ndarray) -> np.ndarray:
        shapes = self.shapes()
        if set(params) != set(shapes):
            raise ValueError(f"params must have keys {sorted(shapes)}, got {sorted(params)}")
        for k, s in shapes.items():
            if np.shape(params[k]) != s:
                raise ValueError(f"param {k!r} must have shape {s}, got {np.shape(params[k])}")
        tok = np.asarray(tokens)  # (B, S)
        if tok.ndim != 2 or tok.shape[1] > self.seq_len or not np.issubdtype(tok.dtype, np.integer):
            raise ValueError(f"tokens must be an int array (B, S<={self.seq_len}), got {tok.shape}")
        if tok.size and (tok.min() < 0 or tok.max() >= self.vocab_size):
            raise ValueError(f"tokens must lie in [0, {self.vocab_size})")
        return tok

    # --------------------------------------------------------------------- forward
    def forward(
        self, params: Mapping[str, np.ndarray], tokens: np.ndarray, head_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits at every position and the activation cache.

        Parameters
        ----------
        params : dict of str to ndarray
        tokens : int ndarray, shape (B, S)
        head_mask : ndarray, shape (L, H) or (L, H, S), optional
            Factor on each head's output ``z`` (0 zeroes the head: the ablation of
            :mod:`.ablation`), or per position with a trailing axis over the ``S`` positions
            (0 zeroes the head's output at that position only: the site ablation); the cache
            keeps the unmasked ``z``. ``None``: all ones.

        Returns
        -------
        logits : ndarray, shape (B, S, n_values)
        cache : dict
            ``"resid.{l}"`` (B, S, d) for ``l = 0..L``; per layer
            ``"blocks.{l}.attn.pattern"`` (B, H, S, S) (rows sum to 1, zero above the
            diagonal), and ``...q``, ``...k``, ``...v``, ``...z`` (B, H, S, d_h).
        """
        tok = self._check(params, tokens)  # (B, S)
        B, S = tok.shape
        LH = (self.n_layers, self.n_heads)
        if head_mask is not None and np.shape(head_mask) not in (LH, LH + (S,)):
            raise ValueError(f"head_mask must have shape {LH} or {LH + (S,)}, got {np.shape(head_mask)}")
        hm = None if head_mask is None else np.asarray(head_mask, dtype=_precision(params))
        if hm is not None and hm.ndim == 2:
            hm = hm[:, :, None]  # (L, H, 1): one factor for every position
        H, e = self.n_heads, self.d_head
        scale = 1.0 / math.sqrt(e)
        dt = _precision(params)
        mask = np.where(np.tril(np.ones((S, S), dtype=bool)), 0.0, -np.inf).astype(dt)  # (S, S) additive
        ones = np.ones((S, 1), dtype=dt)  # (S, 1): row sums as a matrix product (faster than .sum here)
        x = params["W_E"][tok] + params["W_pos"][None, :S]  # (B, S, d)
        cache: dict[str, np.ndarray] = {"resid.0": x}
        for layer in range(self.n_layers):
            p = f"blocks.{layer}.attn."
            w_qkv = np.concatenate(
                [_stack_in(params[p + n]) for n in ("W_Q", "W_K", "W_V")], axis=1
            )  # (d, 3 H e)
            qkv = (_flat(x) @ w_qkv).reshape(B, S, 3, H, e).transpose(2, 0, 3, 1, 4)
            q, k, v = (np.ascontiguousarray(a) for a in qkv)  # (B, H, S, e) each
            scores = q @ k.swapaxes(-1, -2)  # (B, H, S, S)
            scores *= scale
            scores += mask
            scores -= scores.max(axis=-1, keepdims=True)
            A = np.exp(scores)  # (B, H, S, S)
            A /= A @ ones
            z = A @ v  # (B, H, S, e)
            zm = z if hm is None else z * hm[layer][None, :, :, None]
            out = (_flat(_merge_heads(zm)) @ _stack_out(params[p + "W_O"])).reshape(B, S, -1)
            x = x + out  # (B, S, d)
            cache.update({p + "q": q, p + "k": k, p + "v": v, p + "z": z, p + "pattern": A})
            cache[f"resid.{layer + 1}"] = x
        logits = (_flat(x) @ params["W_U"]).reshape(B, S, -1)  # (B, S, V)
        return logits, cache

    def last_logits_zeroed(
        self, params: Mapping[str, np.ndarray], cache: Mapping[str, np.ndarray], start: int, stop: int
    ) -> np.ndarray:
        """Logits at the last position, (B, n_values), with every head's output *at that position*
        zeroed in layers ``start <= l < stop``: the site ablation at the query, recomputing the
        last row only.

        ``cache`` is that of the intact ``forward(params, tokens)``. Under the causal mask no other
        position reads the last one, so every other row of every layer is the cached one; the last
        row keeps its cached residual up to layer ``start``, skips the zeroed layers, and from layer
        ``stop`` on attends with its own recomputed query, key and value (a test checks this
        against :meth:`forward` with a per-position ``head_mask``).
        """
        if not 0 <= start < stop <= self.n_layers:
            raise ValueError(f"need 0 <= start < stop <= {self.n_layers}, got start={start}, stop={stop}")
        e = self.d_head
        x = np.array(cache[f"resid.{start}"][:, -1])  # (B, d): the query's residual entering layer start
        for layer in range(stop, self.n_layers):
            p = f"blocks.{layer}.attn."
            q, k_last, v_last = (np.einsum("bd,hde->bhe", x, params[p + n]) for n in ("W_Q", "W_K", "W_V"))
            k = np.array(cache[p + "k"])  # (B, H, S, e): the other rows are unchanged
            v = np.array(cache[p + "v"])
            k[:, :, -1], v[:, :, -1] = k_last, v_last
            sc = np.einsum("bhe,bhse->bhs", q, k) / math.sqrt(e)
            sc -= sc.max(axis=-1, keepdims=True)
            A = np.exp(sc)
            A /= A.sum(axis=-1, keepdims=True)
            z = np.einsum("bhs,bhse->bhe", A, v)  # (B, H, e)
            x = x + np.einsum("bhe,hed->bd", z, params[p + "W_O"])
        return x @ params["W_U"]

    # ------------------------------------------------------------------------ loss
    def loss_and_grad(
        self, params: Mapping[str, np.ndarray], batch: Batch | TaskData
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy over supervised positions and its gradient for every parameter.

        ``batch`` is a :class:`Batch`, or a :class:`TaskData` (then its ``eval_batch``).
        """
        b = _as_batch(batch)
        logits, cache = self.forward(params, b.tokens)  # (B, S, V)
        tgt = np.asarray(b.targets)  # (B, S)
        sup = tgt >= 0  # (B, S)
        if not sup.any():
            raise ValueError("the batch has no supervised position (targets >= 0)")
        loss, g_sel = cross_entropy(logits[sup], tgt[sup])  # (N, V), computed in float64
        g_logits = np.zeros_like(logits)  # (B, S, V), the parameters' precision
        g_logits[sup] = g_sel
        scale = 1.0 / math.sqrt(self.d_head)
        H, e = self.n_heads, self.d_head
        B, S = b.tokens.shape
        L = self.n_layers
        grads: dict[str, np.ndarray] = {}
        grads["W_U"] = _flat(cache[f"resid.{L}"]).T @ _flat(g_logits)  # (d, V)
        dx = (_flat(g_logits) @ params["W_U"].T).reshape(B, S, -1)  # (B, S, d)
        for layer in reversed(range(L)):
            p = f"blocks.{layer}.attn."
            x = cache[f"resid.{layer}"]  # (B, S, d)
            q, k, v, z, A = (cache[p + n] for n in ("q", "k", "v", "z", "pattern"))
            grads[p + "W_O"] = (_merge_heads(z).reshape(-1, H * e).T @ _flat(dx)).reshape(
                H, e, -1
            )  # (H, e, d)
            dz = (_flat(dx) @ _stack_out(params[p + "W_O"]).T).reshape(B, S, H, e)
            dz = np.ascontiguousarray(dz.transpose(0, 2, 1, 3))  # (B, H, S, e)
            dA = dz @ v.swapaxes(-1, -2)  # (B, H, S, S)
            dv = A.swapaxes(-1, -2) @ dz  # (B, H, S, e)
            dS = A * (dA - (A * dA) @ np.ones((A.shape[-1], 1), dtype=A.dtype))  # (B, H, S, S)
            dq = scale * (dS @ k)  # (B, H, S, e)
            dk = scale * (dS.swapaxes(-1, -2) @ q)  # (B, H, S, e)
            grads[p + "W_Q"] = _param_grad(x, dq)  # (H, d, e)
            grads[p + "W_K"] = _param_grad(x, dk)  # (H, d, e)
            grads[p + "W_V"] = _param_grad(x, dv)  # (H, d, e)
            dqkv = np.concatenate([_merge_heads(dq), _merge_heads(dk), _merge_heads(dv)], axis=-1)
            w_qkv = np.concatenate(
                [_stack_out(params[p + n].swapaxes(-1, -2)) for n in ("W_Q", "W_K", "W_V")]
            )  # (3 H e, d)
            dx = dx + (_flat(dqkv) @ w_qkv).reshape(B, S, -1)  # (B, S, d)
        # scatter-add over tokens as a one-hot product (np.add.at is ~10x slower here)
        onehot = np.zeros((self.vocab_size, B * S), dtype=dx.dtype)  # (vocab, B S)
        onehot[np.asarray(b.tokens).ravel(), np.arange(B * S)] = 1.0
        grads["W_E"] = onehot @ _flat(dx)  # (vocab, d)
        dW_pos = np.zeros_like(params["W_pos"], dtype=dx.dtype)  # (seq_len, d)
        dW_pos[:S] = dx.sum(axis=0)
        grads["W_pos"] = dW_pos
        return float(loss), {k: grads[k] for k in self.shapes()}

    # ------------------------------------------------------------------ summaries
    def reduce(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        r"""Frobenius norms: embeddings, per-layer QK ($\sqrt{|W_Q|^2+|W_K|^2}$) and OV
        ($\sqrt{|W_V|^2+|W_O|^2}$) norms over all heads, and the unembedding."""
        out = {
            "W_E.norm": float(np.linalg.norm(params["W_E"])),
            "W_pos.norm": float(np.linalg.norm(params["W_pos"])),
        }
        for layer in range(self.n_layers):
            p = f"blocks.{layer}.attn."
            qk = np.sqrt(np.sum(params[p + "W_Q"] ** 2) + np.sum(params[p + "W_K"] ** 2))
            ov = np.sqrt(np.sum(params[p + "W_V"] ** 2) + np.sum(params[p + "W_O"] ** 2))
            out[p + "qk_norm"] = float(qk)
            out[p + "ov_norm"] = float(ov)
        out["W_U.norm"] = float(np.linalg.norm(params["W_U"]))
        return out

    def accuracy(
        self, params: Mapping[str, np.ndarray], batch: Batch | TaskData, by_hops: bool = False
    ) -> float | dict[int, float]:
        """Fraction of supervised positions whose argmax logit is the target.

        With ``by_hops=True``, a dict hop count -> accuracy over the supervised positions
        with that hop count (the per-hop accuracy $\\mathrm{Acc}_k$ of spec 3.3).
        """
        b = _as_batch(batch)
        logits, _ = self.forward(params, b.tokens)  # (B, S, V)
        tgt = np.asarray(b.targets)  # (B, S)
        sup = tgt >= 0  # (B, S)
        correct = logits.argmax(axis=-1) == tgt  # (B, S)
        if not by_hops:
            return float(correct[sup].mean())
        hops = np.asarray(b.hops)  # (B, S)
        return {int(h): float(correct[sup & (hops == h)].mean()) for h in np.unique(hops[sup])}
