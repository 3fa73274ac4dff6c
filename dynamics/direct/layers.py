r"""Building blocks of small models, with hand-written backward passes.

Every block is a final, frozen dataclass holding only configuration (never weights):
parameters are passed to :meth:`forward` explicitly, so a model keeps all of its weights
in one ``dict[str, ndarray]``. The contract of a block is

* ``forward(inputs..., params...) -> (out, cache)``, where ``cache`` is a ``dict`` holding
  what the backward pass needs plus named activations worth looking at (for attention,
  ``cache["pattern"]``);
* ``backward(grad_out, cache) -> grads``, a ``dict`` with the gradient of a scalar loss
  with respect to every parameter and every input, keyed by the argument names of
  :meth:`forward`, given ``grad_out`` $= \partial L / \partial\,\mathrm{out}$.

Losses are the last node of a graph, so they return ``(loss, grad)`` directly, where
``grad`` is $\partial L / \partial\,\mathrm{pred}$ (what a ``backward(1.0, cache)`` would
give). Every loss is a weighted sum over the batch with weights $w_b$ defaulting to
$1/B$ (the mean), so population losses over a weighted table of sequences are one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

__all__ = ["Linear", "SoftmaxAttention", "cross_entropy", "logistic_loss", "mse"]


# ---------------------------------------------------------------------------- helpers
def _weights(weights: Any, batch: int) -> np.ndarray:
    """Per-sample weights of shape (B,), default $1/B$."""
    if batch < 1:
        raise ValueError("a loss needs a non-empty batch")
    if weights is None:
        return np.full(batch, 1.0 / batch)  # (B,)
    w = np.asarray(weights, dtype=float)  # (B,)
    if w.shape != (batch,):
        raise ValueError(f"weights must have shape ({batch},), got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    return w


# ----------------------------------------------------------------------------- Linear
@dataclass(frozen=True)
class Linear:
    r"""Affine map $y = x W^\top + b$ on the last axis, any number of leading axes.

    Parameters
    ----------
    bias : bool
        Whether the block has a bias $b$. With ``bias=False`` pass no ``b``; the
        gradient dict then has no ``"b"`` key.

    Examples
    --------
    >>> import numpy as np
    >>> lin = Linear(bias=False)
    >>> x, W = np.ones((2, 3, 4)), np.ones((5, 4))
    >>> y, cache = lin.forward(x, W)
    >>> y.shape, sorted(lin.backward(np.ones_like(y), cache))
    ((2, 3, 5), ['W', 'x'])
    """

    bias: bool = True

    def forward(
        self, x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        r"""Compute $y = x W^\top + b$.

        Parameters
        ----------
        x : ndarray, shape (..., d_in)
        W : ndarray, shape (d_out, d_in)
        b : ndarray, shape (d_out,), required iff ``bias``

        Returns
        -------
        y : ndarray, shape (..., d_out)
        cache : dict with ``"x"``, ``"W"``
        """
        x = np.asarray(x, dtype=float)  # (..., d_in)
        W = np.asarray(W, dtype=float)  # (d_out, d_in)
        if W.ndim != 2 or x.ndim < 1 or x.shape[-1] != W.shape[1]:
            raise ValueError(
                f"Linear needs x (..., d_in) and W (d_out, d_in); got x {x.shape}, W {W.shape}"
            )
        y = x @ W.T  # (..., d_out)
        if self.bias:
            if b is None:
                raise ValueError("Linear(bias=True).forward needs a bias b")
            b = np.asarray(b, dtype=float)  # (d_out,)
            if b.shape != (W.shape[0],):
                raise ValueError(f"bias must have shape ({W.shape[0]},), got {b.shape}")
            y = y + b  # (..., d_out)
        elif b is not None:
            raise ValueError("Linear(bias=False).forward got a bias; use Linear(bias=True)")
        return y, {"x": x, "W": W}

    def backward(self, grad_out: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
        r"""Gradients ``{"x", "W", "b"}`` given $g = \partial L/\partial y$ of shape (..., d_out).

        $\partial L/\partial W = \sum g^\top x$ over leading axes,
        $\partial L/\partial b = \sum g$, $\partial L/\partial x = g W$.
        """
        x, W = cache["x"], cache["W"]  # (..., d_in), (d_out, d_in)
        g = np.asarray(grad_out, dtype=float)  # (..., d_out)
        if g.shape != x.shape[:-1] + (W.shape[0],):
            raise ValueError(
                f"grad_out must have shape {x.shape[:-1] + (W.shape[0],)}, got {g.shape}"
            )
        g2 = g.reshape(-1, W.shape[0])  # (N, d_out)
        x2 = x.reshape(-1, W.shape[1])  # (N, d_in)
        grads = {"x": g @ W, "W": g2.T @ x2}  # (..., d_in), (d_out, d_in)
        if self.bias:
            grads["b"] = g2.sum(axis=0)  # (d_out,)
        return grads


# ------------------------------------------------------------------ SoftmaxAttention
@dataclass(frozen=True)
class SoftmaxAttention:
    r"""Single-query softmax attention with a merged key-query matrix.

    For each sample $b$ with query token $x_q = X_{b, q_b}$,

    $$ s_l = \frac{x_l^\top W x_q}{\lambda}, \qquad
       \varphi = \mathrm{softmax}_l(s) \text{ over unmasked keys}, \qquad
       o = \sum_l \varphi_l\, v_l, $$

    with values $v_l = V x_l$ (``value=True``) or $v_l = x_l$ (``value=False``).

    Parameters
    ----------
    lam : float
        Temperature $\lambda > 0$.
    value : bool
        Whether a value matrix ``V`` of shape (d_v, d) is used (else identity values).

    Examples
    --------
    >>> import numpy as np
    >>> att = SoftmaxAttention(lam=2.0)
    >>> X, W = np.ones((3, 5, 4)), np.eye(4)
    >>> o, cache = att.forward(X, W)
    >>> o.shape, cache["pattern"].shape, float(cache["pattern"][0].sum())
    ((3, 4), (3, 5), 1.0)
    """

    lam: float = 1.0
    value: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.lam, int | float) and math.isfinite(self.lam) and self.lam > 0):
            raise ValueError(
                f"attention temperature lam must be positive and finite, got {self.lam!r}"
            )

    def forward(
        self,
        X: np.ndarray,
        W: np.ndarray,
        V: np.ndarray | None = None,
        *,
        query: int | np.ndarray = -1,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        r"""Attend from one query position per sample to all (unmasked) keys.

        Parameters
        ----------
        X : ndarray, shape (B, T, d)
            Token embeddings.
        W : ndarray, shape (d, d)
            Merged key-query matrix.
        V : ndarray, shape (d_v, d), required iff ``value``
            Value matrix.
        query : int or int ndarray of shape (B,)
            Query position, shared or per sample; negative values count from the end
            (default ``-1``, the last token).
        mask : bool ndarray of shape (B, T), optional
            ``True`` for keys that may be attended to (for variable-length sequences);
            every row needs at least one ``True``. Default: all keys.

        Returns
        -------
        o : ndarray, shape (B, d_v)
            Attention output ($d_v = d$ without ``V``).
        cache : dict
            ``"pattern"`` $\varphi$ (B, T) (zero on masked keys), ``"scores"`` $s$ (B, T)
            ($-\infty$ on masked keys), ``"query"`` (B,) non-negative query positions,
            and the inputs.
        """
        X = np.asarray(X, dtype=float)  # (B, T, d)
        W = np.asarray(W, dtype=float)  # (d, d)
        if X.ndim != 3:
            raise ValueError(f"attention needs X of shape (B, T, d), got {X.shape}")
        B, T, d = X.shape
        if W.shape != (d, d):
            raise ValueError(f"W must have shape ({d}, {d}), got {W.shape}")
        if self.value:
            if V is None:
                raise ValueError("SoftmaxAttention(value=True).forward needs a value matrix V")
            V = np.asarray(V, dtype=float)  # (d_v, d)
            if V.ndim != 2 or V.shape[1] != d:
                raise ValueError(f"V must have shape (d_v, {d}), got {V.shape}")
        elif V is not None:
            raise ValueError("SoftmaxAttention(value=False).forward got V; use value=True")

        q = np.broadcast_to(np.asarray(query), (B,))  # (B,)
        if not np.issubdtype(q.dtype, np.integer):
            raise ValueError(f"query positions must be integers, got dtype {q.dtype}")
        if np.any(q < -T) or np.any(q >= T):
            raise ValueError(f"query positions must lie in [-{T}, {T}), got {np.asarray(query)}")
        q = np.where(q < 0, q + T, q).astype(np.intp)  # (B,)

        if mask is None:
            keep = np.ones((B, T), dtype=bool)  # (B, T)
        else:
            keep = np.asarray(mask)  # (B, T)
            if keep.dtype != np.bool_ or keep.shape != (B, T):
                raise ValueError(
                    f"mask must be a bool array of shape ({B}, {T}), got {keep.dtype} {keep.shape}"
                )
            if not np.all(keep.any(axis=1)):
                raise ValueError("every row of mask needs at least one attendable key")

        rows = np.arange(B)  # (B,)
        x_q = X[rows, q]  # (B, d)
        u = x_q @ W.T  # (B, d)    u_b = W x_q
        s = np.einsum("btd,bd->bt", X, u) / self.lam  # (B, T)
        s = np.where(keep, s, -np.inf)  # (B, T)
        z = s - s.max(axis=1, keepdims=True)  # (B, T)
        e = np.exp(z)  # (B, T)  exactly 0 on masked keys
        phi = e / e.sum(axis=1, keepdims=True)  # (B, T)
        vals = X if V is None else X @ V.T  # (B, T, d_v)
        o = np.einsum("bt,btv->bv", phi, vals)  # (B, d_v)
        cache = {
            "pattern": phi,
            "scores": s,
            "query": q,
            "X": X,
            "W": W,
            "V": V,
            "x_q": x_q,
            "u": u,
            "values": vals,
        }
        return o, cache

    def backward(self, grad_out: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
        r"""Gradients ``{"X", "W"}`` (and ``"V"``) given $g = \partial L/\partial o$ (B, d_v).

        With $\delta_l = \varphi_l\,(g^\top v_l - \sum_k \varphi_k\, g^\top v_k)$
        (the gradient wrt the scores),

        $$ \partial_W L = \tfrac1\lambda \sum_{b,l} \delta_{bl}\, x_{bl} x_{q_b}^\top, \quad
           \partial_V L = \sum_{b,l} \varphi_{bl}\, g_b x_{bl}^\top, $$

        and $\partial_{x_l} L = \varphi_l V^\top g + \delta_l W x_q / \lambda$, plus
        $W^\top \sum_l \delta_l x_l / \lambda$ at the query position.
        """
        X, W, V = cache["X"], cache["W"], cache["V"]  # (B, T, d), (d, d), (d_v, d) | None
        phi, q, x_q, u = cache["pattern"], cache["query"], cache["x_q"], cache["u"]
        vals = cache["values"]  # (B, T, d_v)
        B, T, d = X.shape
        g = np.asarray(grad_out, dtype=float)  # (B, d_v)
        if g.shape != (B, vals.shape[2]):
            raise ValueError(f"grad_out must have shape {(B, vals.shape[2])}, got {g.shape}")
        dphi = np.einsum("bv,btv->bt", g, vals)  # (B, T)
        ds = phi * (dphi - np.sum(phi * dphi, axis=1, keepdims=True))  # (B, T)
        ds_lam = ds / self.lam  # (B, T)

        gv = g if V is None else g @ V  # (B, d)   V^T g
        dX = phi[:, :, None] * gv[:, None, :]  # (B, T, d)  through the values
        dX += ds_lam[:, :, None] * u[:, None, :]  # (B, T, d)  through the keys
        k_sum = np.einsum("bt,btd->bd", ds_lam, X)  # (B, d)
        np.add.at(dX, (np.arange(B), q), k_sum @ W)  # (B, d)  through the query: W^T k
        grads = {"X": dX, "W": k_sum.T @ x_q}  # (B, T, d), (d, d)
        if V is not None:
            grads["V"] = np.einsum("bt,bv,btk->vk", phi, g, X)  # (d_v, d)
        return grads


# ------------------------------------------------------------------------------ losses
def logistic_loss(
    f: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    r"""Weighted logistic loss of margins and its gradient.

    $$ L = \sum_b w_b \log\bigl(1 + e^{-y_b f_b}\bigr), \qquad
       \frac{\partial L}{\partial f_b} = -w_b\, y_b\, \sigma(-y_b f_b), $$

    computed stably (``np.logaddexp``, ``scipy.special.expit``) for any size of margin.

    Parameters
    ----------
    f : ndarray, shape (B,)
        Model outputs (margins before the label).
    y : ndarray, shape (B,)
        Labels in $\{-1, +1\}$.
    weights : ndarray, shape (B,), optional
        Per-sample weights $w_b$, default $1/B$.

    Returns
    -------
    loss : float
    grad : ndarray, shape (B,)
        $\partial L / \partial f$.
    """
    f = np.asarray(f, dtype=float)  # (B,)
    y = np.asarray(y, dtype=float)  # (B,)
    if f.ndim != 1 or y.shape != f.shape:
        raise ValueError(
            f"logistic_loss needs f and y of the same shape (B,), got {f.shape}, {y.shape}"
        )
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("logistic_loss labels y must be -1 or +1")
    w = _weights(weights, f.size)  # (B,)
    m = y * f  # (B,)  margins
    loss = float(np.sum(w * np.logaddexp(0.0, -m)))
    grad = -w * y * expit(-m)  # (B,)
    return loss, grad


def cross_entropy(
    logits: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    r"""Weighted softmax cross-entropy and its gradient wrt the logits.

    $$ L = -\sum_b w_b \log \mathrm{softmax}(z_b)_{c_b}, \qquad
       \frac{\partial L}{\partial z_b} = w_b\,(\mathrm{softmax}(z_b) - e_{c_b}), $$

    with a max-shifted log-softmax, so large logits do not overflow.

    Parameters
    ----------
    logits : ndarray, shape (B, C)
    labels : int ndarray, shape (B,)
        Class indices in ``[0, C)``.
    weights : ndarray, shape (B,), optional
        Per-sample weights, default $1/B$.

    Returns
    -------
    loss : float
    grad : ndarray, shape (B, C)
    """
    z = np.asarray(logits, dtype=float)  # (B, C)
    c = np.asarray(labels)  # (B,)
    if z.ndim != 2 or c.shape != (z.shape[0],):
        raise ValueError(
            f"cross_entropy needs logits (B, C) and labels (B,), got {z.shape}, {c.shape}"
        )
    if not np.issubdtype(c.dtype, np.integer) or np.any(c < 0) or np.any(c >= z.shape[1]):
        raise ValueError(f"cross_entropy labels must be integers in [0, {z.shape[1]})")
    B = z.shape[0]
    w = _weights(weights, B)  # (B,)
    zs = z - z.max(axis=1, keepdims=True)  # (B, C)
    logp = zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))  # (B, C)
    rows = np.arange(B)  # (B,)
    loss = float(-np.sum(w * logp[rows, c]))
    grad = np.exp(logp)  # (B, C)
    grad[rows, c] -= 1.0
    grad *= w[:, None]  # (B, C)
    return loss, grad


def mse(
    pred: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    r"""Weighted squared error and its gradient wrt the prediction.

    $$ L = \sum_b w_b\, \tfrac12 \lVert \hat y_b - y_b \rVert^2, \qquad
       \frac{\partial L}{\partial \hat y_b} = w_b (\hat y_b - y_b), $$

    the norm running over all axes after the first. With the default $w_b = 1/B$ this is
    half the mean over samples of the squared error.

    Parameters
    ----------
    pred, target : ndarray, shape (B, ...)
    weights : ndarray, shape (B,), optional

    Returns
    -------
    loss : float
    grad : ndarray, same shape as ``pred``
    """
    p = np.asarray(pred, dtype=float)  # (B, ...)
    t = np.asarray(target, dtype=float)  # (B, ...)
    if p.ndim < 1 or p.shape != t.shape:
        raise ValueError(
            f"mse needs pred and target of the same shape (B, ...), got {p.shape}, {t.shape}"
        )
    w = _weights(weights, p.shape[0])  # (B,)
    r = p - t  # (B, ...)
    wb = w.reshape((-1,) + (1,) * (p.ndim - 1))  # (B, 1, ...)
    loss = float(0.5 * np.sum(wb * r * r))
    return loss, wb * r
