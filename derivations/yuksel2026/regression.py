r"""The regression variant of the bridge test (spec 5.3, derived): the numpy student, its
exact population gradient and its empirical (batch) gradients, with hand-written backward.

Spec: ``shared/papers/yuksel2026_sparse_attention_markov.md``, sections 3.1-3.2 (Eq. 4 and
the ``--squared`` form of the authors' ``ode.py``) and 5.3. :mod:`derivations.yuksel2026.bridge`
trains this model with :func:`dynamics.direct.train` and compares it with the pipeline's
$J^2$ flow.

Regression variant
------------------
Tokens $x \sim \mathcal N(0, I_d)$, i.i.d. over positions. A "sequence" is the window of the
$T$ most recent tokens, stored as ``X[b, l - 1]`` $= x_{t+1-l}$ for lags $l = 1..T$.

* Teacher: the one :class:`~derivations.yuksel2026.data.Teacher` with singleton spans and
  Frobenius-orthogonal $Q_j$ ($\langle Q_i, Q_j\rangle_F = d\,\delta_{ij}$); its regression
  target is $y_t = \sum_j c_j Q_j \sum_{l \in I_j} x_{t+1-l} = \sum_l M_l\, x_{t+1-l}$ with
  lag sets $I_j$ (the teacher's lags + 1, patterns in order of importance) and
  $M_l = c_j Q_j$ for $l \in I_j$ (0 elsewhere, up to lag $T$).
* Student, $h$ heads: per head a free position-logit vector $\theta_k \in \mathbb R^T$,
  $s_k = \mathrm{softmax}(\theta_k)$ over the lags, and a free value matrix
  $W_k \in \mathbb R^{d\times d}$; $\hat y_t = \sum_l P_l\, x_{t+1-l}$ with
  $P_l = \sum_k s_k(l) W_k$.
* Loss, **normalisation**: one half of the squared error of the whole target vector (summed
  over its $d$ coordinates, not averaged), averaged over sequences:
  $\mathcal L = \tfrac12\,\mathbb E\|y - \hat y\|^2$ (population) and
  $\mathcal L_B = \frac1{2B}\sum_b \|y_b - \hat y_b\|^2$ (a batch of $B$ sequences).

Population loss = Eq. 4 exactly. With $R_l = M_l - P_l$ and
$\mathbb E[x_{t+1-l} x_{t+1-l'}^\top] = \delta_{ll'} I_d$,
$\mathcal L = \tfrac12 \sum_{l=1}^T \| \sum_k s_k(l) W_k - M_l \|_F^2$. In the orthonormal
feature coordinates $u_j = \mathrm{vec}(Q_j)/\sqrt d$, $V_k(j) = \langle \mathrm{vec}\, W_k,
u_j\rangle$, $M_l = \sum_j G[j, l]\, U_j$ with $G[j, l] = g_j \mathbf 1[l \in I_j]$ and
**$g_j = c_j \sqrt d$**; by Parseval
$\mathcal L = \tfrac12\|G - \sum_k V_k s_k^\top\|_F^2 + \tfrac12\sum_l\|\sum_k s_k(l)W_k^\perp\|_F^2$.

Why gradient flow on $(\theta, W)$ is the $J^2$ form of Eq. 4, exactly: with
$a_k(l) = \langle W_k, R_l\rangle_F$ and the symmetric softmax Jacobian
$J_k = \mathrm{diag}(s_k) - s_k s_k^\top$, the flow is $\dot W_k = \sum_l s_k(l) R_l$,
$\dot\theta_k = J_k a_k$, so $\dot s_k = J_k^2 a_k$. The complement $W^\perp$ obeys a linear
equation that vanishes at $W^\perp = 0$, so $W^\perp \equiv 0$ from $W(0) = 0$, and then
$\dot V_k = R\, s_k$, $\dot s_k = J_k^2 R^\top V_k$, $\mathcal L = \tfrac12\|R\|_F^2$: Eq. 4
with the ``--squared`` ($J^2$) attention equation, no weight decay. Plain GD with step $\eta$
is explicit Euler on the $(\theta, W)$ flow, so at $t = \eta\cdot\mathrm{step}$ it differs
from the flow by $O(\eta)$ on a fixed horizon.

Sample mode: one fixed batch is a perturbed Eq. 4. The empirical loss is
$\tfrac12\mathrm{tr}(R_{\rm cat}\Sigma_B R_{\rm cat}^\top)$ with the batch moment $\Sigma_B$ in
place of $I$ (:func:`moment_loss_and_grad`); $\Sigma_B$ can be drawn from its exact Wishart
law for batches too large to hold (:func:`wishart_moments`). Its Monte-Carlo error shifts the
escape rates of the saddles, which the late escapes turn into a time shift of a fast
transition (see :func:`derivations.yuksel2026.claims.claim_bridge_sample`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivations.yuksel2026.data import Teacher
from dynamics.validate import (
    finite_array,
    int_at_least,
    nonnegative_float,
    positive_float,
    positive_int,
)

__all__ = [
    "Moments",
    "Population",
    "RegressionStudent",
    "batch_moments",
    "moment_loss_and_grad",
    "population_loss_and_grad",
    "regression_teacher",
    "sample_inputs",
    "sample_loss_and_grad",
    "wishart_moments",
]


def regression_teacher(d: int = 6, K: int = 3, m: float = 1.7, seed: int = 0) -> Teacher:
    r"""The bridge's teacher: :class:`Teacher` with ``K`` singleton spans (the most recent
    the most important, $c = (m^{K-1}, \dots, 1)$ by recency) and Frobenius-orthogonal $Q_j$
    drawn as the bridge has always drawn them: the QR of a $d^2 \times K$ Gaussian from
    ``default_rng([seed, 0])``, columns in order of importance, rescaled to
    $\|Q_j\|_F = \sqrt d$ (the draw its sample-mode tolerance was measured on)."""
    d, K = positive_int("d", d), positive_int("K", K)
    if K > d * d:
        raise ValueError(f"need K <= d^2 Frobenius-orthogonal matrices, got K = {K}, d = {d}")
    spans = (1,) * K
    base = Teacher(d=d, spans=spans, m=positive_float("m", m), orthogonal="frobenius",
                   seed=int_at_least("seed", seed, 0))
    q, _ = np.linalg.qr(np.random.default_rng([seed, 0]).standard_normal((d * d, K)))  # (d*d, K)
    by_importance = math.sqrt(d) * q.T.reshape(K, d, d)
    Q = np.empty_like(by_importance)
    Q[list(base.importance)] = by_importance
    return Teacher.with_matrices(Q, d=d, spans=spans, m=m, orthogonal="frobenius", seed=seed)


def _softmax(theta: np.ndarray) -> np.ndarray:
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _cat(P: np.ndarray, d: int) -> np.ndarray:
    """(T, d*d) per-lag matrices -> (d, T*d) block row $[P_1, ..., P_T]$."""
    T = P.shape[0]
    return P.reshape(T, d, d).transpose(1, 0, 2).reshape(d, T * d)


def _uncat(Pc: np.ndarray, T: int) -> np.ndarray:
    """Inverse of :func:`_cat`: (d, T*d) -> (T, d*d)."""
    d = Pc.shape[0]
    return Pc.reshape(d, T, d).transpose(1, 0, 2).reshape(T, d * d)


def _head_grads(s: np.ndarray, Wf: np.ndarray, dP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward through $P_l = \\sum_k s_k(l) W_k$ and the softmax, given dL/dP (T, d*d)."""
    gW = s @ dP  # (h, d*d): dL/dW_k = sum_l s_k(l) dL/dP_l
    gs = Wf @ dP.T  # (h, T):  dL/ds_k(l) = <W_k, dL/dP_l>
    gtheta = s * (gs - np.sum(s * gs, axis=1, keepdims=True))  # J_k gs_k
    return gtheta, gW


@dataclass(frozen=True)
class Population:
    """The population (infinite data) of the regression variant: ``loss_and_grad`` on it is
    the exact population loss; ``sample(rng, B)`` draws ``B`` fresh windows (B, T, d), the
    fresh-batch regime of :func:`dynamics.direct.train`."""

    T: int
    d: int

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        return rng.standard_normal((positive_int("batch", batch), self.T, self.d))


@dataclass(frozen=True, eq=False)
class Moments:
    r"""One fixed batch through its second moment $\Sigma_B$ (T*d, T*d)."""

    Sigma: np.ndarray


@dataclass(frozen=True)
class RegressionStudent:
    r"""The $h$-head position-only student of the regression variant (a
    :class:`dynamics.direct.DirectModel`), with its teacher (:func:`regression_teacher`).

    Parameters ``"theta"`` (h, T) and ``"W"`` (h, d, d). ``init(rng)``: logits
    $\varepsilon\,\mathcal N(0, 1)$ (they break the head symmetry; $\varepsilon = 0$ keeps all
    heads identical forever) and $W = 0$. Batches for :meth:`loss_and_grad`: a
    :class:`Population` (exact population loss), :class:`Moments` (one fixed batch) or raw
    windows (B, T, d). Reduced coordinates ``V[k,j]`` and ``s[k,l]`` (1-based lag ``l``);
    observables ``population_loss``, ``w_perp`` ($\|W^\perp\|_F$ over all heads) and
    ``mass[k,j]`` (attention on pattern ``j``'s lags). Fixed arrays: ``G`` (K, T), Eq. 4's
    target $G[j, l-1] = g_j \mathbf 1[l \in I_j]$; ``Q`` (K, d, d) and the orthonormal features
    ``U`` (K, d*d), $u_j = \mathrm{vec}(Q_j)/\sqrt d$, in order of importance; ``M`` (T, d, d),
    the per-lag teacher matrices $M_l$ (row ``l - 1``).
    """

    d: int = 6
    T: int = 8
    h: int = 3
    K: int = 3
    m: float = 1.7
    eps: float = 1e-3
    seed: int = 0
    teacher: Teacher = field(init=False, repr=False, compare=False)
    G: np.ndarray = field(init=False, repr=False, compare=False)
    Q: np.ndarray = field(init=False, repr=False, compare=False)
    M: np.ndarray = field(init=False, repr=False, compare=False)
    U: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("d", "T", "h", "K"):
            object.__setattr__(self, name, positive_int(name, getattr(self, name)))
        object.__setattr__(self, "eps", nonnegative_float("eps", self.eps))
        teacher = regression_teacher(self.d, self.K, self.m, self.seed)
        lagsets = [tuple(l + 1 for l in teacher.lags(i)) for i in teacher.importance]
        bad = [l for ls in lagsets for l in ls if l > self.T]
        if bad:
            raise ValueError(f"the teacher's lags {bad} lie outside the student's window 1..T = 1..{self.T}")
        g = teacher.constants[list(teacher.importance)] * math.sqrt(self.d)
        G = np.zeros((self.K, self.T))
        for j, ls in enumerate(lagsets):
            G[j, [l - 1 for l in ls]] = g[j]
        Q = teacher.Q[list(teacher.importance)]
        # M_l = sum_j G[j, l] Q_j / sqrt(d) (row l - 1, shape (T, d, d)); u_j = vec(Q_j) / sqrt(d)
        M = np.einsum("jl,jab->lab", G / math.sqrt(self.d), Q)
        U = Q.reshape(self.K, -1) / math.sqrt(self.d)
        for a in (G, Q, M, U):
            a.setflags(write=False)
        for name, v in (("teacher", teacher), ("G", G), ("Q", Q), ("M", M), ("U", U)):
            object.__setattr__(self, name, v)

    # ------------------------------------------------------------------ teacher geometry
    @property
    def g(self) -> np.ndarray:
        r"""Pattern strengths $g_j = c_j\sqrt d$ in order of importance, shape (K,)."""
        return self.G.max(axis=1)

    @property
    def positions(self) -> tuple[int, ...]:
        """The lag of each pattern (1-based, order of importance)."""
        return tuple(int(np.argmax(row)) + 1 for row in self.G)

    def plateaus(self) -> np.ndarray:
        r"""Eq. 4's plateau levels $\tfrac12\sum_{j>k} \|G_j\|^2$, $k = 0..K$ (shape (K + 1,))."""
        norms2 = np.sort(np.sum(self.G**2, axis=1))[::-1]
        return 0.5 * np.array([norms2[k:].sum() for k in range(self.K + 1)])

    # ------------------------------------------------------------------ DirectModel
    @property
    def groups(self) -> dict[str, str]:
        return {}

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"theta": self.eps * rng.standard_normal((self.h, self.T)),
                "W": np.zeros((self.h, self.d, self.d))}

    def check(self, params: Any, finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(theta, W)`` of ``params`` as float arrays, shapes (h', T) and (h', d, d); finite
        unless ``finite=False`` (the trainer's steps: it checks the start and every gradient)."""
        th, w = np.asarray(params["theta"], dtype=float), np.asarray(params["W"], dtype=float)
        if th.ndim != 2 or th.shape[1] != self.T:
            raise ValueError(f"theta must have shape (h, T) = (h, {self.T}), got {th.shape}")
        if w.shape != (th.shape[0], self.d, self.d):
            raise ValueError(f"W must have shape {(th.shape[0], self.d, self.d)}, got {w.shape}")
        if finite:
            finite_array("theta", th)
            finite_array("W", w)
        return th, w

    def loss_and_grad(self, params: Any, batch: Any) -> tuple[float, dict[str, np.ndarray]]:
        if isinstance(batch, Population):
            return population_loss_and_grad(params, self, _checked=True)
        if isinstance(batch, Moments):
            return moment_loss_and_grad(params, self, batch.Sigma, _checked=True)
        return sample_loss_and_grad(params, self, batch, _checked=True)

    def reduce(self, params: Any) -> dict[str, float]:
        th, w = self.check(params)
        V, s = w.reshape(th.shape[0], -1) @ self.U.T, _softmax(th)
        out = {f"V[{k},{j}]": float(V[k, j]) for k in range(V.shape[0]) for j in range(self.K)}
        return out | {f"s[{k},{l + 1}]": float(s[k, l]) for k in range(s.shape[0]) for l in range(self.T)}

    def observables(self, params: Any, batch: Any) -> dict[str, float]:
        th, w = self.check(params)
        h = th.shape[0]
        Wf, s = w.reshape(h, -1), _softmax(th)
        R = self.M.reshape(self.T, -1) - s.T @ Wf
        out = {"population_loss": 0.5 * float(np.sum(R * R)),
               "w_perp": float(np.linalg.norm(Wf - (Wf @ self.U.T) @ self.U))}
        mass = s @ (self.G > 0).T.astype(float)  # (h, K)
        return out | {f"mass[{k},{j}]": float(mass[k, j]) for k in range(h) for j in range(self.K)}


def population_loss_and_grad(params: Any, student: RegressionStudent, *, _checked: bool = False) -> tuple[float, dict[str, np.ndarray]]:
    r"""Exact population loss $\tfrac12\sum_l\|\sum_k s_k(l)W_k - M_l\|_F^2$ and its gradient
    ``{"theta": -J_k a_k, "W": -sum_l s_k(l) R_l}`` (module docstring)."""
    th, w = student.check(params, finite=not _checked)
    h = th.shape[0]
    s, Wf = _softmax(th), w.reshape(h, -1)
    R = student.M.reshape(student.T, -1) - s.T @ Wf  # (T, d*d): R_l = M_l - P_l
    gtheta, gW = _head_grads(s, Wf, -R)
    return 0.5 * float(np.sum(R * R)), {"theta": gtheta, "W": gW.reshape(w.shape)}


def sample_inputs(student: RegressionStudent, batch: int, rng: np.random.Generator) -> np.ndarray:
    r"""``batch`` independent token windows, ``X[b, l - 1]`` $= x_{t+1-l} \sim \mathcal N(0, I_d)$;
    shape (B, T, d)."""
    return Population(student.T, student.d).sample(rng, batch)


def _check_X(X: Any, student: RegressionStudent) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    if x.ndim != 3 or x.shape[1:] != (student.T, student.d) or x.shape[0] < 1:
        raise ValueError(f"X must have shape (B, T, d) = (B, {student.T}, {student.d}), got {x.shape}")
    return x


def sample_loss_and_grad(params: Any, student: RegressionStudent, X: Any, *, _checked: bool = False) -> tuple[float, dict[str, np.ndarray]]:
    r"""Empirical MSE $\frac1{2B}\sum_b\|y_b - \hat y_b\|^2$ on the windows ``X`` (B, T, d) with
    its hand-written backward: $y_b = M_{\rm cat} x_b$, $\hat y_b = P_{\rm cat} x_b$,
    $\partial\mathcal L_B/\partial P_{\rm cat} = -\frac1B \sum_b e_b x_b^\top$, then through
    $P_l = \sum_k s_k(l) W_k$ and the softmax."""
    th, w = student.check(params, finite=not _checked)
    x = _check_X(X, student)
    B, T, d = x.shape
    h = th.shape[0]
    s, Wf = _softmax(th), w.reshape(h, -1)
    xf = x.reshape(B, T * d)  # (B, T*d)
    Rc = _cat(student.M.reshape(T, -1) - s.T @ Wf, d)  # (d, T*d): M_cat - P_cat
    e = xf @ Rc.T  # (B, d): y - y_hat
    dP = _uncat(-(e.T @ xf) / B, T)  # (T, d*d)
    gtheta, gW = _head_grads(s, Wf, dP)
    return 0.5 * float(np.sum(e * e)) / B, {"theta": gtheta, "W": gW.reshape(w.shape)}


def batch_moments(X: Any, student: RegressionStudent) -> np.ndarray:
    r"""Second moment $\Sigma_B = \frac1B\sum_b x_b x_b^\top$ of the flattened windows,
    shape (T*d, T*d): the sufficient statistic of the empirical loss (the targets are a
    noiseless linear function of $x_b$)."""
    x = _check_X(X, student)
    xf = x.reshape(x.shape[0], -1)
    return (xf.T @ xf) / x.shape[0]


def wishart_moments(student: RegressionStudent, batch: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw $\Sigma_B$ of ``batch`` Gaussian windows from its exact law, without the windows:
    $B\,\Sigma_B \sim \mathrm{Wishart}_n(B, I)$, $n = Td$, drawn by Bartlett's decomposition
    $A A^\top$ ($A$ lower triangular, $A_{ii}^2 \sim \chi^2_{B-i+1}$, $A_{ij} \sim \mathcal N(0, 1)$
    below the diagonal) at $O(n^3)$ cost for any ``batch >= n``."""
    n = student.T * student.d
    batch = int_at_least("batch", batch, n)
    A = np.tril(rng.standard_normal((n, n)), -1)
    A[np.diag_indices(n)] = np.sqrt(rng.chisquare(batch - np.arange(n)))
    return (A @ A.T) / batch


def moment_loss_and_grad(params: Any, student: RegressionStudent, Sigma: Any, *, _checked: bool = False) -> tuple[float, dict[str, np.ndarray]]:
    r"""The empirical loss through its moment, $\tfrac12\mathrm{tr}(R_{\rm cat}\Sigma_B R_{\rm cat}^\top)$,
    $\partial\mathcal L_B/\partial P_{\rm cat} = -R_{\rm cat}\Sigma_B$: equal to
    :func:`sample_loss_and_grad` up to rounding for ``Sigma = batch_moments(X)``; ``Sigma = I``
    gives the population loss."""
    th, w = student.check(params, finite=not _checked)
    T, d = student.T, student.d
    S = Sigma if _checked else finite_array("Sigma", Sigma, (T * d, T * d))
    h = th.shape[0]
    s, Wf = _softmax(th), w.reshape(h, -1)
    Rc = _cat(student.M.reshape(T, -1) - s.T @ Wf, d)  # (d, T*d)
    RS = Rc @ S  # (d, T*d)
    gtheta, gW = _head_grads(s, Wf, _uncat(-RS, T))
    return 0.5 * float(np.sum(RS * Rc)), {"theta": gtheta, "W": gW.reshape(w.shape)}
