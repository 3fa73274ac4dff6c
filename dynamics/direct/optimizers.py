r"""The update rules of :func:`dynamics.direct.train`: GD/SGD, Adam, AdamW, and clipping.

Each optimizer is a small object holding its state (Adam's moments) with one method,
``update(theta, grads, k, lr, factor)``: it changes the parameter dict ``theta`` for update
number ``k = 0, 1, ...`` given the gradients, the learning rate $\eta$ and, per parameter,
the schedule factor ``factor[name]`` $= c_g(t_k)$ of the parameter's group. Keeping the rules here, apart from the loop, lets a test call one update
and compare it with the textbook formula.

The arithmetic is written so that runs of the loops these rules replaced are reproduced
bit for bit: ``Adam`` as the trainer always did it, ``AdamW`` as PyTorch's ``torch.optim.AdamW``
(and the yuksel2026 trainer) does it, and :func:`clip_by_global_norm` as PyTorch's
``clip_grad_norm_``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, Protocol

import numpy as np

__all__ = [
    "GD",
    "Adam",
    "AdamW",
    "UpdateRule",
    "clip_by_global_norm",
    "global_norm",
]

Arrays = dict[str, np.ndarray]
DecayScale = Literal["lr", "schedule"]


class UpdateRule(Protocol):
    """One optimizer: ``update`` changes ``theta`` in place (or rebinds its entries)."""

    def update(
        self,
        theta: Arrays,
        grads: Mapping[str, np.ndarray],
        k: int,
        lr: float,
        factor: Mapping[str, float],
    ) -> None: ...


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    r"""$\lVert g\rVert = \sqrt{\sum_{\text{params}} \sum g^2}$ over all gradient arrays."""
    return math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))


def clip_by_global_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    r"""Scale all gradients by one factor so that their global norm is at most ``max_norm``.

    PyTorch's ``clip_grad_norm_`` rule: every gradient is multiplied by
    $\min\bigl(1, c / (\lVert g\rVert + 10^{-6})\bigr)$, $c$ = ``max_norm`` (the $10^{-6}$
    guards a zero norm, so a clipped norm lands just below $c$).

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays (the inputs are not modified).
    norm : float
        The global norm before clipping.
    """
    norm = global_norm(grads)
    coef = min(1.0, max_norm / (norm + 1e-6))
    return {k: _as_float(g) * coef for k, g in grads.items()}, norm


class GD:
    r"""Plain gradient step $\theta \leftarrow \theta - \eta\, c_g\, g$ (GD and SGD)."""

    def update(
        self,
        theta: Arrays,
        grads: Mapping[str, np.ndarray],
        k: int,
        lr: float,
        factor: Mapping[str, float],
    ) -> None:
        for name, g in grads.items():
            if type(g) is not np.ndarray or g.dtype != theta[name].dtype:  # (else used as is)
                g = np.asarray(g, dtype=theta[name].dtype)
            theta[name] = theta[name] - lr * factor[name] * g


def _as_float(g: object) -> np.ndarray:
    """``g`` as an array of its own float precision (float32 or float64), else float64."""
    a = np.asarray(g)
    return a if a.dtype in (np.float32, np.float64) else a.astype(float)


def _moments(m: Arrays, v: Arrays, name: str, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and second moments of parameter ``name`` (zeros at its first update)."""
    if name not in m:
        m[name] = np.zeros_like(like)
        v[name] = np.zeros_like(like)
    return m[name], v[name]


class Adam:
    r"""Adam with bias correction (Kingma & Ba 2015, Alg. 1).

    At update $k$ ($n = k + 1$):
    $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
    $\theta \leftarrow \theta - \eta c_g\, \hat m / (\sqrt{\hat v} + \epsilon)$ with
    $\hat m = m/(1-\beta_1^n)$, $\hat v = v/(1-\beta_2^n)$. The moments are created as zeros
    at the first update, so one object is one continuous run.
    """

    def __init__(self, betas: tuple[float, float], eps: float) -> None:
        self.b1, self.b2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.m: Arrays = {}
        self.v: Arrays = {}

    def update(
        self,
        theta: Arrays,
        grads: Mapping[str, np.ndarray],
        k: int,
        lr: float,
        factor: Mapping[str, float],
    ) -> None:
        b1, b2, eps = self.b1, self.b2, self.eps
        c1, c2 = 1.0 - b1 ** (k + 1), 1.0 - b2 ** (k + 1)
        for name, g in grads.items():
            g = np.asarray(g, dtype=theta[name].dtype)
            m0, v0 = _moments(self.m, self.v, name, theta[name])
            m = self.m[name] = b1 * m0 + (1.0 - b1) * g
            v = self.v[name] = b2 * v0 + (1.0 - b2) * g * g
            step = (m / c1) / (np.sqrt(v / c2) + eps)
            theta[name] = theta[name] - lr * factor[name] * step


class AdamW:
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's arithmetic.

    At update $k$ ($n = k + 1$), for a parameter with step $\eta c_g$ and decay $\lambda_g$:

    $$ \theta \leftarrow \theta\,(1 - s\,\lambda_g), \quad
       \theta \leftarrow \theta - \frac{\eta c_g}{1-\beta_1^n}\,
       \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^n} + \epsilon}, $$

    with the moments $m, v$ of :class:`Adam` (the decay never enters them). The decay step
    $s$ is ``decay_scale``:

    * ``"lr"`` (default): $s = \eta c_g$, the decay scales with the learning rate, as in
      ``torch.optim.AdamW``, optax and the yuksel2026 trainer;
    * ``"schedule"``: $s = c_g$, the schedule multiplier only, as in Loshchilov & Hutter's
      Algorithm 2 (there $\lambda$ is not multiplied by the learning rate $\alpha$).
    """

    def __init__(
        self,
        betas: tuple[float, float],
        eps: float,
        decay: Mapping[str, float],
        decay_scale: DecayScale,
    ) -> None:
        self.b1, self.b2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.m: Arrays = {}
        self.v: Arrays = {}
        self.decay = dict(decay)
        self.decay_scale = decay_scale

    def update(
        self,
        theta: Arrays,
        grads: Mapping[str, np.ndarray],
        k: int,
        lr: float,
        factor: Mapping[str, float],
    ) -> None:
        b1, b2, eps = self.b1, self.b2, self.eps
        c1, c2 = 1.0 - b1 ** (k + 1), 1.0 - b2 ** (k + 1)
        for name, g in grads.items():
            g = np.asarray(g, dtype=theta[name].dtype)
            m, v = _moments(self.m, self.v, name, theta[name])
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            eta = lr * factor[name]
            s = eta if self.decay_scale == "lr" else factor[name]
            p = theta[name] * (1.0 - s * self.decay[name])
            theta[name] = p - (eta / c1) * m / (np.sqrt(v) / math.sqrt(c2) + eps)
