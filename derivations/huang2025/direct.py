r"""Direct numpy model of Huang, Liang & Yang (2025): the one-layer transformer, its exact
symmetry reduction, and the inference-time truncated chain of thought.

Spec references are to ``shared/papers/huang2025_even_pairs_parity.md``; each item says
whether it is the paper's (as read in its notes or abstract) or our reconstruction.

* :class:`OneLayerTransformer` (spec 1.4 and the loss of 1.5: the paper as read in its notes;
  zero init of 1.6: reconstructed):
  $\mathtt T_\theta(X) = u^\top \sum_\ell x_\ell \varphi_\ell$,
  $\varphi = \mathrm{softmax}(X^\top W x_L / \lambda)$ over the real positions, with the last
  real token as the query; trained on
  $\sum_L \frac{1}{|I_L|} \sum_{n \in I_L} \log(1 + e^{-y_n \mathtt T_n})$.
* :func:`reduce` / :func:`full_params` (spec 2.2, reconstructed): the 35 scalars
  $(\nu, p_\ell, \kappa, \delta_\ell, P_{\ell L})$ of the $a \leftrightarrow b$-symmetric
  dynamics for the additive embedding, and the inverse on the zero-gauge manifold.
* :func:`ep_token`, :func:`cot_parity`, :func:`cot_parity_accuracy` (spec 1.7a: the paper as
  read in its notes; the explicit algorithm is reconstructed): parity from an even-pairs model by sliding a window of fixed
  length and appending the predicted token.

Index conventions (additive embedding, ``d = 2 + L_max``): token ``a`` is coordinate 0,
``b`` coordinate 1, position $\ell$ (1-based) coordinate $1 + \ell$. ``W[k, q]`` pairs a key
coordinate ``k`` with a query coordinate ``q`` (scores $x_\ell^\top W x_q$).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from derivations.huang2025.data import (
    Dataset,
    Embedding,
    all_strings,
    even_pairs_label,
    make_dataset,
    parity_label,
)
from dynamics.direct import SoftmaxAttention, logistic_loss
from dynamics.validate import int_at_least, nonnegative_float, one_of, positive_float

__all__ = [
    "OneLayerTransformer",
    "reduced_names",
    "cot_parity",
    "cot_parity_accuracy",
    "ep_token",
]

_EMBEDDINGS = ("additive", "joint")


# ------------------------------------------------------------------------------ model
@dataclass(frozen=True)
class OneLayerTransformer:
    r"""One-layer, single-query softmax-attention transformer (spec 1.4, the paper as read in its notes).

    $$ \mathtt T_\theta(X) = u^\top \sum_{\ell=1}^{L} x_\ell\,\varphi_\ell, \qquad
       \varphi = \mathrm{softmax}\bigl(X^\top W x_L / \lambda\bigr), $$

    with identity values, no residual, MLP or LayerNorm; the query is the last real token
    and padded positions are masked out of the softmax. Parameters are
    ``{"u": (d,), "W": (d, d)}``; ``W`` is in learning-rate group ``"attn"``, ``u`` in
    ``"u"``, so the phase-1 boost of spec 1.6 is
    ``Schedule.switch(eta * t0, before={"attn": lam})``.

    Parameters
    ----------
    L_max : int
        Longest sequence (at least 2); sets ``d``.
    embedding : ``"additive"`` or ``"joint"``
        Embedding of spec 1.3, reconstructed: $d = 2 + L_{\max}$ or $d = 2 L_{\max}$.
    lam : float
        Softmax temperature $\lambda > 0$ (not trained).
    init_scale : float
        Standard deviation of the i.i.d. normal initial entries; 0 (default) gives the zero
        initialisation of spec 1.6 (reconstructed).
    """

    L_max: int = 6
    embedding: Embedding = "additive"
    lam: float = 2.0
    init_scale: float = 0.0

    def __post_init__(self) -> None:
        int_at_least("L_max", self.L_max, 2)
        one_of("embedding", self.embedding, _EMBEDDINGS)
        positive_float("lam", self.lam)
        nonnegative_float("init_scale", self.init_scale)

    # -------------------------------------------------------------- configuration
    @property
    def d(self) -> int:
        """Embedding dimension: $2 + L_{\\max}$ (additive) or $2 L_{\\max}$ (joint)."""
        return 2 + self.L_max if self.embedding == "additive" else 2 * self.L_max

    @property
    def groups(self) -> dict[str, str]:
        """Learning-rate groups: ``{"u": "u", "W": "attn"}``."""
        return {"u": "u", "W": "attn"}

    @property
    def attention(self) -> SoftmaxAttention:
        """The attention block, $s_\\ell = x_\\ell^\\top W x_q / \\lambda$, identity values."""
        return SoftmaxAttention(lam=float(self.lam), value=False)

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Zeros (``init_scale = 0``, spec 1.6, reconstructed) or i.i.d. $N(0, \\mathrm{init\\_scale}^2)$."""
        d = self.d
        if self.init_scale == 0:
            return {"u": np.zeros(d), "W": np.zeros((d, d))}  # (d,), (d, d)
        u = self.init_scale * rng.standard_normal(d)  # (d,)
        W = self.init_scale * rng.standard_normal((d, d))  # (d, d)
        return {"u": u, "W": W}

    def _check(self, params: Mapping[str, np.ndarray], data: Dataset) -> None:
        d = self.d
        if data.L_max != self.L_max or data.embedding != self.embedding:
            raise ValueError(
                f"data has L_max={data.L_max}, embedding={data.embedding!r}; the model has "
                f"L_max={self.L_max}, embedding={self.embedding!r}"
            )
        if np.shape(params["u"]) != (d,) or np.shape(params["W"]) != (d, d):
            raise ValueError(
                f"params must be u ({d},) and W ({d}, {d}); got u {np.shape(params['u'])}, "
                f"W {np.shape(params['W'])}"
            )

    # ------------------------------------------------------------- forward / loss
    def _forward(
        self, params: Mapping[str, np.ndarray], data: Dataset
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._check(params, data)
        u = np.asarray(params["u"], dtype=float)  # (d,)
        z, cache = self.attention.forward(data.X, params["W"], query=data.query, mask=data.mask)
        T = z @ u  # (N,)
        cache["z"] = z  # (N, d)
        return T, cache

    def forward(
        self, params: Mapping[str, np.ndarray], data: Dataset
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Outputs, attention patterns and attention outputs (spec 1.4, the paper as read in its notes).

        Returns
        -------
        T : ndarray, shape (N,)
            $\mathtt T_\theta(X^{(n)})$.
        pattern : ndarray, shape (N, L_max)
            $\varphi^{(n)}$, zero on padded positions.
        z : ndarray, shape (N, d)
            $z_n = \sum_\ell \varphi^{(n)}_\ell x^{(n)}_\ell$.
        """
        T, cache = self._forward(params, data)  # (N,)
        return T, cache["pattern"], cache["z"]  # (N,), (N, L_max), (N, d)

    def loss_and_grad(
        self, params: Mapping[str, np.ndarray], data: Dataset
    ) -> tuple[float, dict[str, np.ndarray]]:
        r"""$\mathcal L = \sum_n w_n \log(1 + e^{-y_n \mathtt T_n})$ and its gradients
        (spec 1.5, the paper as read in its notes); the dataset weights $w_n = 1/|I_L|$ make it the sum over lengths of
        the mean loss per length. Gradients by the blocks' backward passes."""
        u = np.asarray(params["u"], dtype=float)  # (d,)
        T, cache = self._forward(params, data)  # (N,)
        loss, g = logistic_loss(T, data.y, data.weight)  # g (N,) = dL/dT
        grad_u = g @ cache["z"]  # (d,)
        grad_z = g[:, None] * u[None, :]  # (N, d)
        grads = self.attention.backward(grad_z, cache)  # W (d, d)
        return loss, {"u": grad_u, "W": grads["W"]}

    # ------------------------------------------------------------------ readouts
    def accuracy(self, params: Mapping[str, np.ndarray], data: Dataset) -> float:
        """Weighted fraction of samples with $y\\,\\mathtt T > 0$."""
        T, _, _ = self.forward(params, data)  # (N,)
        ok = (data.y * T > 0).astype(float)  # (N,)
        return float(np.sum(data.weight * ok) / np.sum(data.weight))

    def accuracy_by_group(self, params: Mapping[str, np.ndarray], data: Dataset) -> dict[int, float]:
        """``{group: plain accuracy}`` (the group is the length, or the CoT step)."""
        T, _, _ = self.forward(params, data)  # (N,)
        ok = (data.y * T > 0).astype(float)  # (N,)
        return {int(g): float(ok[data.group == g].mean()) for g in np.unique(data.group)}

    def observables(self, params: Mapping[str, np.ndarray], data: Dataset) -> dict[str, float]:
        """``accuracy`` (weighted), ``u_norm`` $\\|u\\|$ and ``W_norm`` $\\|W\\|_F$ (spec 2.1, the paper as read in its notes)."""
        acc = self.accuracy(params, data)
        assert isinstance(acc, float)
        return {
            "accuracy": acc,
            "u_norm": float(np.linalg.norm(params["u"])),
            "W_norm": float(np.linalg.norm(params["W"])),
        }

    # ---------------------------------------------------------------- reduction
    def reduce(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        r"""The reduced coordinates of spec 2.2 (reconstructed), in the order of :func:`reduced_names`.

        * $\nu = (u_a + u_b)/2$; $p_\ell = u[1+\ell]$;
        * $\kappa = \bigl((W_{aa} - W_{ab}) + (W_{bb} - W_{ba})\bigr)/2$;
        * $\delta_\ell = (W[1+\ell, a] + W[1+\ell, b])/2$ (key position, query token);
        * $P_{\ell L} = W[1+\ell, 1+L]$, $1 \le \ell \le L \le L_{\max}$ (key position,
          query position).

        On an $a \leftrightarrow b$-symmetric state the logits depend on $W$ only through
        $\kappa m_\ell + \delta_\ell + P_{\ell L}$ up to a per-query constant.

        For the joint embedding, whose reduction is not derived here, the coordinates are the
        generic ``{"norm_u": ||u||, "norm_W": ||W||_F}`` so that it can still be trained and
        recorded.
        """
        if self.embedding != "additive":
            return {"norm_u": float(np.linalg.norm(params["u"])), "norm_W": float(np.linalg.norm(params["W"]))}
        u = np.asarray(params["u"], dtype=float)  # (d,)
        W = np.asarray(params["W"], dtype=float)  # (d, d)
        if u.shape != (self.d,) or W.shape != (self.d, self.d):
            raise ValueError(f"params must be u ({self.d},) and W ({self.d}, {self.d})")
        Lm = self.L_max
        out: dict[str, float] = {"nu": float((u[0] + u[1]) / 2)}
        for ell in range(1, Lm + 1):
            out[f"p{ell}"] = float(u[1 + ell])
        out["kappa"] = float(((W[0, 0] - W[0, 1]) + (W[1, 1] - W[1, 0])) / 2)
        for ell in range(1, Lm + 1):
            out[f"delta{ell}"] = float((W[1 + ell, 0] + W[1 + ell, 1]) / 2)
        for L in range(1, Lm + 1):
            for ell in range(1, L + 1):
                out[f"P{ell}_{L}"] = float(W[1 + ell, 1 + L])
        return out

    def full_params(self, reduced: Mapping[str, float]) -> dict[str, np.ndarray]:
        r"""Inverse of :meth:`reduce` on the zero-gauge manifold (spec 2.2, reconstructed).

        $u_a = u_b = \nu$, $u[1+\ell] = p_\ell$; $W_{aa} = W_{bb} = \kappa/2$,
        $W_{ab} = W_{ba} = -\kappa/2$; $W[1+\ell, a] = W[1+\ell, b] = \delta_\ell$;
        $W[1+\ell, 1+L] = P_{\ell L}$; every other entry 0. Then
        ``reduce(full_params(r)) == r`` and the logits are
        $\mathtt T(m) = \nu + \sum_\ell \varphi_\ell p_\ell$ with
        $\varphi = \mathrm{softmax}((\kappa m_\ell + \delta_\ell + P_{\ell L})/\lambda)$.
        """
        if self.embedding != "additive":
            raise NotImplementedError(
                "the symmetry reduction (spec 2.2) is derived for the additive embedding; "
                f"embedding={self.embedding!r} has no full_params()"
            )
        names = reduced_names(self.L_max)
        if set(reduced) != set(names):
            missing, extra = sorted(set(names) - set(reduced)), sorted(set(reduced) - set(names))
            raise ValueError(f"reduced coordinates mismatch: missing {missing}, unexpected {extra}")
        Lm = self.L_max
        u = np.zeros(self.d)  # (d,)
        W = np.zeros((self.d, self.d))  # (d, d)
        u[0] = u[1] = reduced["nu"]
        kappa = float(reduced["kappa"])
        W[0, 0] = W[1, 1] = kappa / 2
        W[0, 1] = W[1, 0] = -kappa / 2
        for ell in range(1, Lm + 1):
            u[1 + ell] = reduced[f"p{ell}"]
            W[1 + ell, 0] = W[1 + ell, 1] = reduced[f"delta{ell}"]
        for L in range(1, Lm + 1):
            for ell in range(1, L + 1):
                W[1 + ell, 1 + L] = reduced[f"P{ell}_{L}"]
        return {"u": u, "W": W}


def reduced_names(L_max: int) -> tuple[str, ...]:
    """Names of the reduced coordinates (spec 2.2, reconstructed) in :meth:`OneLayerTransformer.reduce`
    order: ``nu, p1..pLmax, kappa, delta1..deltaLmax, P1_1, P1_2, P2_2, P1_3, ...``."""
    rng = range(1, L_max + 1)
    return (
        ("nu",)
        + tuple(f"p{ell}" for ell in rng)
        + ("kappa",)
        + tuple(f"delta{ell}" for ell in rng)
        + tuple(f"P{ell}_{L}" for L in rng for ell in range(1, L + 1))
    )


# --------------------------------------------------------------- truncated CoT (1.7a)
def _ep_tokens(
    model: OneLayerTransformer, params: Mapping[str, np.ndarray], windows: np.ndarray
) -> np.ndarray:
    """EP tokens of a batch of equal-length windows (B, L): 0 (``a``) iff $\\mathtt T > 0$."""
    seqs = list(windows)
    data = make_dataset(
        seqs,
        [even_pairs_label(w) for w in seqs],
        [1.0] * len(seqs),
        [len(w) for w in seqs],
        model.L_max,
        model.embedding,
    )
    T, _, _ = model.forward(params, data)  # (B,)
    return np.where(T > 0, 0, 1).astype(np.int64)  # (B,)


def _cot_bits(
    model: OneLayerTransformer, params: Mapping[str, np.ndarray], words: np.ndarray
) -> np.ndarray:
    """Truncated-CoT parity bits of a batch of strings (B, L) of one length."""
    S = np.asarray(words, dtype=np.int64)  # (B, L)
    if S.ndim != 2 or S.shape[1] < 1:
        raise ValueError(f"need a (B, L) batch of strings, got shape {S.shape}")
    L = S.shape[1]
    if L > model.L_max:
        raise ValueError(f"string length {L} exceeds the model's L_max={model.L_max}")
    if L == 1:
        return S[:, 0].copy()  # (B,)
    c = S[:, -1]  # (B,)
    for _ in range(1, L):
        c = _ep_tokens(model, params, S)  # (B,)  c_k = EP(S_{k-1})
        S = np.concatenate([S[:, 1:], c[:, None]], axis=1)  # (B, L)  S_k
    return c  # (B,)  c_{L-1}


def ep_token(model: OneLayerTransformer, params: Mapping[str, np.ndarray], w: Any) -> int:
    r"""The even-pairs answer as a token (spec 1.7a, reconstructed): 0 (``a``, first = last) if
    $\mathtt T(w) > 0$, else 1 (``b``); for a trained model $w_1 \oplus w_L$."""
    arr = np.asarray(w, dtype=np.int64)  # (L,)
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"w must be a non-empty 1-D string of tokens, got shape {arr.shape}")
    return int(_ep_tokens(model, params, arr[None, :])[0])


def cot_parity(model: OneLayerTransformer, params: Mapping[str, np.ndarray], w: Any) -> int:
    r"""Parity bit of ``w`` by the truncated CoT with an even-pairs model (spec 1.7a, the paper as
    read in its notes; the explicit algorithm is reconstructed).

    $S_0 = w$; for $k = 1..L-1$: $c_k = \mathrm{EP}(S_{k-1})$ (:func:`ep_token`),
    $S_k = (S_{k-1}[2{:}], c_k)$. With an exact EP model $c_k = w_1 \oplus \dots \oplus w_k
    \oplus w_L$, so $c_{L-1} = \bigoplus_i w_i$. For $L = 1$ the bit is $w_1$.

    Returns
    -------
    int
        0 for an even number of ``b`` (label +1), 1 for odd (label -1).
    """
    arr = np.asarray(w, dtype=np.int64)  # (L,)
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"w must be a non-empty 1-D string of tokens, got shape {arr.shape}")
    return int(_cot_bits(model, params, arr[None, :])[0])


def cot_parity_accuracy(
    model: OneLayerTransformer, params: Mapping[str, np.ndarray], L_max: int | None = None
) -> dict[int, float]:
    """Truncated-CoT parity accuracy (spec 1.7a) over all $2^L$ strings of each length
    $L = 2..$``L_max`` (default the model's), the EP calls batched per CoT step."""
    L_max = model.L_max if L_max is None else int(L_max)
    if not 2 <= L_max <= model.L_max:
        raise ValueError(f"L_max must lie in 2..{model.L_max}, got {L_max}")
    out: dict[int, float] = {}
    for L in range(2, L_max + 1):
        words = np.stack(all_strings(L))  # (2^L, L)
        bits = _cot_bits(model, params, words)  # (2^L,)
        truth = np.array([0 if parity_label(w) == 1 else 1 for w in words])  # (2^L,)
        out[L] = float(np.mean(bits == truth))
    return out
