r"""Direct bridge test (spec 5.3, derived): plain GD on the regression variant against the
$J^2$ form of Eq. 4.

Spec: ``shared/papers/yuksel2026_sparse_attention_markov.md``, sections 3.1-3.2 (Eq. 4 and
the ``--squared`` form of the authors' ``ode.py``) and 5.3. Self-contained (numpy, scipy and
the ``dynamics`` core only).

Regression variant
------------------
Tokens $x \sim \mathcal N(0, I_d)$, i.i.d. over positions. A "sequence" is the window of the
$T$ most recent tokens, stored as ``X[b, l - 1]`` $= x_{t+1-l}$ for lags $l = 1..T$.

* Teacher: $y_t = \sum_j c_j Q_j \sum_{l \in I_j} x_{t+1-l} = \sum_l M_l\, x_{t+1-l}$ with
  disjoint lag sets $I_j$, $M_l = c_j Q_j$ for $l \in I_j$ (0 elsewhere), and
  Frobenius-orthogonal $Q_j$ ($\langle Q_i, Q_j\rangle_F = d\,\delta_{ij}$, so
  $\|Q_j\|_F = \sqrt d$).
* Student, $h$ heads: per head a free position-logit vector $\theta_k \in \mathbb R^T$,
  $s_k = \mathrm{softmax}(\theta_k)$ over the lags, and a free value matrix
  $W_k \in \mathbb R^{d\times d}$; $\hat y_t = \sum_k W_k \sum_l s_k(l)\, x_{t+1-l}
  = \sum_l P_l\, x_{t+1-l}$ with $P_l = \sum_k s_k(l) W_k$.
* Loss, **normalisation**: one half of the squared error of the whole target vector (summed
  over its $d$ coordinates, not averaged), averaged over sequences:
  $\mathcal L = \tfrac12\,\mathbb E\|y - \hat y\|^2$ (population) and
  $\mathcal L_B = \frac1{2B}\sum_b \|y_b - \hat y_b\|^2$ (a batch of $B$ sequences).

Population loss = Eq. 4 exactly. With $R_l = M_l - P_l$,
$y - \hat y = \sum_l R_l x_{t+1-l}$ and $\mathbb E[x_{t+1-l} x_{t+1-l'}^\top] = \delta_{ll'} I_d$,
so

$$ \mathcal L = \tfrac12 \sum_{l=1}^T \Big\| \sum_k s_k(l) W_k - M_l \Big\|_F^2 . $$

Feature coordinates. $u_j = \mathrm{vec}(Q_j)/\sqrt d$ are orthonormal;
$V_k(j) = \langle \mathrm{vec}\, W_k, u_j\rangle$. Since $c_j Q_j = c_j\sqrt d\; U_j$
($U_j = Q_j/\sqrt d$), $M_l = \sum_j G[j, l]\, U_j$ with
$G[j, l] = g_j \mathbf 1[l \in I_j]$ and **$g_j = c_j \sqrt d$** (singleton spans: $G[j, p_j] = g_j$).
Writing $W_k = \sum_j V_k(j) U_j + W_k^\perp$ and using Parseval,
$\mathcal L = \tfrac12\|G - \sum_k V_k s_k^\top\|_F^2 + \tfrac12\sum_l\|\sum_k s_k(l)W_k^\perp\|_F^2$.

Why gradient flow on $(\theta, W)$ is the $J^2$ form of Eq. 4, exactly
--------------------------------------------------------------------------
$\partial\mathcal L/\partial W_k = -\sum_l s_k(l) R_l$ and
$\partial\mathcal L/\partial s_k(l) = -\langle W_k, R_l\rangle_F =: -a_k(l)$. The softmax
Jacobian $J_k = \partial s_k/\partial\theta_k = \mathrm{diag}(s_k) - s_k s_k^\top$ is symmetric,
so $\partial\mathcal L/\partial\theta_k = -J_k a_k$ and the gradient flow is

$$ \dot W_k = \sum_l s_k(l)\, R_l, \qquad \dot\theta_k = J_k a_k, \qquad
   \dot s_k = J_k \dot\theta_k = J_k^2 a_k . $$

Project on $U_j$: $\dot V_k(j) = \sum_l s_k(l) \langle R_l, U_j\rangle = (R s_k)_j$ with
$R = G - \sum_k V_k s_k^\top$ ($K\times T$). The complement obeys
$\dot W_k^\perp = -\sum_l s_k(l) \sum_{k'} s_{k'}(l) W_{k'}^\perp$, which vanishes when
$W^\perp = 0$, so $W^\perp \equiv 0$ is invariant (in particular from $W(0) = 0$); then
$a_k = R^\top V_k$ and

$$ \dot V_k = R\, s_k, \qquad \dot s_k = J_k^2\, R^\top V_k, \qquad \mathcal L = \tfrac12\|R\|_F^2, $$

which is Eq. 4 with the ``--squared`` ($J^2$) attention equation of ``ode.py`` (spec 3.2), no
weight decay. Plain GD with step $\eta$ is the explicit Euler discretisation of the
$(\theta, W)$ flow, so at flow time $t = \eta\cdot\mathrm{step}$ it differs from the flow by
$O(\eta)$ on a fixed horizon (Euler's global error), in $(V, s)$ as well.

Sample mode: one fixed batch is a perturbed Eq. 4
-------------------------------------------------
The empirical loss is $\tfrac12\mathrm{tr}(R_{\rm cat}\Sigma_B R_{\rm cat}^\top)$ with the
batch moment $\Sigma_B$ in place of $I$. $\Sigma_B$ is head-symmetric, so it cannot break the
symmetry between heads (that still comes from $\theta(0)$), but it shifts the escape rates of
the saddles, and the late escapes turn that into a time shift of a fast transition. The
resulting deviation is linear in $\Sigma_B - I$ but large: about
$80\,\sqrt{Td/B}$ r.m.s. at the default setting (measured, see
:func:`claim_bridge_sample`). A batch of $B = 10^5$ windows therefore misses the flow by
O(1) in $V$ around the third drop, and uniform-in-time agreement to a few hundredths needs
$B \gtrsim 10^9$, drawn through :func:`wishart_moments`. Fresh batches at every step average
the noise (the deviation then shrinks with the step as well) but cost $O(BTd)$ per step.

Contents
--------
- :class:`Teacher`, :func:`make_teacher`; :func:`init_student`; :func:`reduce`.
- :func:`population_loss_and_grad` (closed form), :func:`sample_inputs`,
  :func:`sample_loss_and_grad` (empirical MSE, backward on the raw batch),
  :func:`batch_moments` and :func:`moment_loss_and_grad` (the same empirical loss through
  its sufficient statistic, for fixed batches of any size at no per-step cost),
  :func:`wishart_moments` (that statistic drawn from its exact law, for huge batches).
- :func:`train_gd` (full-batch plain GD), :func:`j2_flow` (scipy ``solve_ivp``), both
  returning a :class:`BridgeRun` on the same time grid; :func:`deviation`.
- :class:`BridgeSetting`, :func:`reference_flow`, :func:`bridge_error`,
  :func:`bridge_errors`, :func:`sample_deviation`, :func:`claim_bridge`,
  :func:`claim_bridge_sample`, :func:`bridge_claims`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.integrate import solve_ivp

from dynamics.analysis import loglog_slope
from dynamics.claims import Claim, check
from dynamics.trajectory import Trajectory, flow_time

__all__ = [
    "BridgeRun",
    "BridgeSetting",
    "MC_SENSITIVITY",
    "TOL_CAP",
    "Teacher",
    "batch_moments",
    "bridge_claims",
    "bridge_error",
    "bridge_errors",
    "claim_bridge",
    "claim_bridge_sample",
    "deviation",
    "init_student",
    "j2_flow",
    "make_teacher",
    "moment_loss_and_grad",
    "population_loss_and_grad",
    "reduce",
    "reference_flow",
    "sample_deviation",
    "sample_inputs",
    "sample_loss_and_grad",
    "train_gd",
    "wishart_moments",
]

Mode = Literal["population", "sample"]
Draw = Literal["data", "wishart"]
FlowState = Literal["s", "theta"]


# ------------------------------------------------------------------------------ validation
def _pos_int(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def _pos_float(name: str, v: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(v, int | float | np.floating) and not isinstance(v, bool)
    if not ok or not math.isfinite(float(v)) or float(v) < 0 or (float(v) == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {v!r}")
    return float(v)


def _spans(spans: Any, T: int) -> tuple[tuple[int, ...], ...]:
    try:
        out = tuple(tuple(int(l) for l in span) for span in spans)
        raw = [list(span) for span in spans]
    except TypeError:
        raise ValueError(f"spans must be a sequence of sequences of lags, got {spans!r}") from None
    if not out:
        raise ValueError("spans must hold at least one lag set")
    seen: set[int] = set()
    for j, (span, r) in enumerate(zip(out, raw, strict=True)):
        if not span:
            raise ValueError(f"spans[{j}] is empty")
        if any(isinstance(x, bool) or not isinstance(x, int | np.integer) for x in r):
            raise ValueError(f"spans[{j}] must hold integer lags, got {r!r}")
        bad = [l for l in span if not 1 <= l <= T]
        if bad:
            raise ValueError(f"spans[{j}] has lags {bad} outside 1..T = 1..{T}")
        if len(set(span)) != len(span) or seen & set(span):
            raise ValueError(f"spans must be disjoint sets of distinct lags, got {out}")
        seen |= set(span)
    return out


def _array(name: str, a: Any, shape: tuple[int, ...]) -> np.ndarray:
    v = np.asarray(a, dtype=float)
    if v.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite")
    return v


# -------------------------------------------------------------------------------- teacher
@dataclass(frozen=True, eq=False)
class Teacher:
    r"""The regression teacher $y = \sum_l M_l x_{t+1-l}$ of the bridge test.

    Attributes
    ----------
    Q : ndarray, shape (K, d, d)
        Frobenius-orthogonal pattern matrices, $\langle Q_i, Q_j\rangle_F = d\,\delta_{ij}$.
    c : ndarray, shape (K,)
        Pattern coefficients $c_j$.
    spans : tuple of tuple of int
        Disjoint lag sets $I_j \subset \{1..T\}$ (lag 1 is the most recent token).
    T : int
        Number of lags the student attends over.
    """

    Q: np.ndarray
    c: np.ndarray
    spans: tuple[tuple[int, ...], ...]
    T: int

    def __post_init__(self) -> None:
        T = _pos_int("T", self.T)
        spans = _spans(self.spans, T)
        Q = np.asarray(self.Q, dtype=float)
        if Q.ndim != 3 or Q.shape[1] != Q.shape[2] or Q.shape[0] != len(spans):
            raise ValueError(f"Q must have shape (K, d, d) with K = len(spans) = {len(spans)}, "
                             f"got {Q.shape}")
        d = Q.shape[1]
        gram = np.einsum("iab,jab->ij", Q, Q) / d  # (K, K)
        if not np.allclose(gram, np.eye(len(spans)), atol=1e-10):
            raise ValueError("Q must be Frobenius-orthogonal with ||Q_j||_F = sqrt(d)")
        c = _array("c", self.c, (len(spans),))
        for name, v in (("Q", Q), ("c", c)):
            v.setflags(write=False)
            object.__setattr__(self, name, v)
        object.__setattr__(self, "spans", spans)
        object.__setattr__(self, "T", T)

    @property
    def d(self) -> int:
        return int(self.Q.shape[1])

    @property
    def K(self) -> int:
        return int(self.Q.shape[0])

    @property
    def U(self) -> np.ndarray:
        r"""Orthonormal feature vectors $u_j = \mathrm{vec}(Q_j)/\sqrt d$, shape (K, d*d)."""
        return self.Q.reshape(self.K, -1) / math.sqrt(self.d)

    @property
    def g(self) -> np.ndarray:
        r"""Pattern strengths $g_j = c_j\sqrt d$, shape (K,)."""
        return self.c * math.sqrt(self.d)

    @property
    def G(self) -> np.ndarray:
        r"""Eq. 4's target in feature coordinates, $G[j, l-1] = g_j \mathbf 1[l \in I_j]$, (K, T)."""
        G = np.zeros((self.K, self.T))
        for j, span in enumerate(self.spans):
            G[j, [l - 1 for l in span]] = self.g[j]
        return G

    @property
    def M(self) -> np.ndarray:
        r"""Per-lag teacher matrices $M_l$ (row ``l - 1``), shape (T, d, d)."""
        return np.einsum("jl,jab->lab", self.G / math.sqrt(self.d), self.Q)

    def plateaus(self) -> np.ndarray:
        r"""Eq. 4's plateau levels $\tfrac12\sum_{j>k} \|G_j\|^2$, $k = 0..K$, in decreasing
        order of pattern norm $g_j\sqrt{|I_j|}$ (shape (K + 1,))."""
        norms2 = np.sort(self.g**2 * np.array([len(s) for s in self.spans]))[::-1]
        return 0.5 * np.array([norms2[k:].sum() for k in range(self.K + 1)])


def make_teacher(
    d: int = 6,
    T: int = 8,
    spans: Sequence[Sequence[int]] = ((1,), (2,), (3,)),
    m: float = 1.7,
    c: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
) -> Teacher:
    r"""A teacher with random Frobenius-orthogonal $Q_j$ (Gram-Schmidt in $\mathbb R^{d^2}$,
    rescaled to $\|Q_j\|_F = \sqrt d$, as the ``small_init`` config of spec 1.2).

    Parameters
    ----------
    d, T : int
        Token dimension and number of lags.
    spans : sequence of sequences of int
        Disjoint lag sets $I_j$ (1-based lags). Default: singletons at lags 1, 2, 3.
    m : float
        Ratio of the geometric coefficients when ``c`` is not given:
        $c_j = m^{K-1-j}$, so the first listed span is the most important (with the
        default spans the most recent lag, as in the teacher of spec 1.1:
        $c = (m^2, m, 1)$, $g = c\sqrt d$).
    c : sequence of float, optional
        Explicit coefficients $c_j$ (overrides ``m``).
    rng : numpy.random.Generator, optional
        Draws the $Q_j$ (default ``default_rng(0)``).
    """
    d = _pos_int("d", d)
    T = _pos_int("T", T)
    sp = _spans(spans, T)
    K = len(sp)
    if K > d * d:
        raise ValueError(f"need K <= d^2 Frobenius-orthogonal matrices, got K = {K}, d = {d}")
    if c is None:
        m = _pos_float("m", m)
        coef = np.array([m ** (K - 1 - j) for j in range(K)])
    else:
        coef = _array("c", c, (K,))
    rng = np.random.default_rng(0) if rng is None else rng
    q, _ = np.linalg.qr(rng.standard_normal((d * d, K)))  # (d*d, K), orthonormal columns
    Q = math.sqrt(d) * q.T.reshape(K, d, d)
    return Teacher(Q, coef, sp, T)


# -------------------------------------------------------------------------------- student
def _softmax(theta: np.ndarray) -> np.ndarray:
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _check_student(theta: Any, W: Any, teacher: Teacher) -> tuple[np.ndarray, np.ndarray]:
    th = np.asarray(theta, dtype=float)
    if th.ndim != 2 or th.shape[1] != teacher.T:
        raise ValueError(f"theta must have shape (h, T) = (h, {teacher.T}), got {th.shape}")
    w = _array("W", W, (th.shape[0], teacher.d, teacher.d))
    if not np.all(np.isfinite(th)):
        raise ValueError("theta must be finite")
    return th, w


def init_student(
    teacher: Teacher, h: int = 3, eps: float = 1e-3, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Small random logits $\theta \sim \varepsilon\,\mathcal N(0, 1)$ (they break the head
    symmetry; $\varepsilon = 0$ keeps all heads identical forever) and $W = 0$.

    Returns ``theta`` (h, T) and ``W`` (h, d, d).
    """
    h = _pos_int("h", h)
    eps = _pos_float("eps", eps, allow_zero=True)
    rng = np.random.default_rng(0) if rng is None else rng
    return eps * rng.standard_normal((h, teacher.T)), np.zeros((h, teacher.d, teacher.d))


def reduce(theta: Any, W: Any, teacher: Teacher) -> tuple[np.ndarray, np.ndarray]:
    r"""Eq. 4 coordinates: $V_k(j) = \langle \mathrm{vec}\, W_k, u_j\rangle$, shape (h, K), and
    $s_k = \mathrm{softmax}(\theta_k)$, shape (h, T)."""
    th, w = _check_student(theta, W, teacher)
    return w.reshape(w.shape[0], -1) @ teacher.U.T, _softmax(th)


def _head_grads(s: np.ndarray, Wf: np.ndarray, dP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward through $P_l = \\sum_k s_k(l) W_k$ and the softmax, given dL/dP (T, d*d)."""
    gW = s @ dP  # (h, d*d): dL/dW_k = sum_l s_k(l) dL/dP_l
    gs = Wf @ dP.T  # (h, T):  dL/ds_k(l) = <W_k, dL/dP_l>
    gtheta = s * (gs - np.sum(s * gs, axis=1, keepdims=True))  # J_k gs_k
    return gtheta, gW


def _pop(s: np.ndarray, Wf: np.ndarray, Mf: np.ndarray) -> tuple[float, np.ndarray]:
    R = Mf - s.T @ Wf  # (T, d*d): R_l = M_l - P_l
    return 0.5 * float(np.sum(R * R)), R


def population_loss_and_grad(
    theta: Any, W: Any, teacher: Teacher
) -> tuple[float, dict[str, np.ndarray]]:
    r"""Exact population loss $\tfrac12\sum_l\|\sum_k s_k(l)W_k - M_l\|_F^2$ and its gradient.

    Parameters
    ----------
    theta : array_like, shape (h, T)
        Position logits.
    W : array_like, shape (h, d, d)
        Value matrices.
    teacher : Teacher

    Returns
    -------
    loss : float
    grads : dict
        ``{"theta": (h, T), "W": (h, d, d)}``: $-J_k a_k$ and $-\sum_l s_k(l) R_l$.
    """
    th, w = _check_student(theta, W, teacher)
    h = th.shape[0]
    s, Wf = _softmax(th), w.reshape(h, -1)
    loss, R = _pop(s, Wf, teacher.M.reshape(teacher.T, -1))
    gtheta, gW = _head_grads(s, Wf, -R)
    return loss, {"theta": gtheta, "W": gW.reshape(w.shape)}


def sample_inputs(teacher: Teacher, batch: int, rng: np.random.Generator) -> np.ndarray:
    r"""``batch`` independent token windows, ``X[b, l - 1]`` $= x_{t+1-l} \sim \mathcal N(0, I_d)$;
    shape (B, T, d)."""
    batch = _pos_int("batch", batch)
    return rng.standard_normal((batch, teacher.T, teacher.d))


def _check_X(X: Any, teacher: Teacher) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    if x.ndim != 3 or x.shape[1:] != (teacher.T, teacher.d) or x.shape[0] < 1:
        raise ValueError(f"X must have shape (B, T, d) = (B, {teacher.T}, {teacher.d}), got {x.shape}")
    return x


def _cat(P: np.ndarray, d: int) -> np.ndarray:
    """(T, d*d) per-lag matrices -> (d, T*d) block row $[P_1, ..., P_T]$."""
    T = P.shape[0]
    return P.reshape(T, d, d).transpose(1, 0, 2).reshape(d, T * d)


def _uncat(Pc: np.ndarray, T: int) -> np.ndarray:
    """Inverse of :func:`_cat`: (d, T*d) -> (T, d*d)."""
    d = Pc.shape[0]
    return Pc.reshape(d, T, d).transpose(1, 0, 2).reshape(T, d * d)


def sample_loss_and_grad(
    theta: Any, W: Any, teacher: Teacher, X: Any
) -> tuple[float, dict[str, np.ndarray]]:
    r"""Empirical MSE $\frac1{2B}\sum_b\|y_b - \hat y_b\|^2$ on the windows ``X`` (B, T, d),
    targets from the teacher, with its hand-written backward pass.

    Forward: $y_b = M_{\rm cat}\, x_b$, $\hat y_b = P_{\rm cat}\, x_b$ with
    $x_b = \mathrm{vec}$ of the window (length $Td$) and $P_{\rm cat} = [P_1, \dots, P_T]$.
    Backward: $\partial\mathcal L_B/\partial P_{\rm cat} = -\frac1B \sum_b e_b x_b^\top$,
    $e_b = y_b - \hat y_b$; then through $P_l = \sum_k s_k(l) W_k$ and the softmax.
    Same return convention as :func:`population_loss_and_grad`.
    """
    th, w = _check_student(theta, W, teacher)
    x = _check_X(X, teacher)
    B, T, d = x.shape
    h = th.shape[0]
    s, Wf = _softmax(th), w.reshape(h, -1)
    xf = x.reshape(B, T * d)  # (B, T*d)
    Rc = _cat(teacher.M.reshape(T, -1) - s.T @ Wf, d)  # (d, T*d): M_cat - P_cat
    e = xf @ Rc.T  # (B, d): y - y_hat
    loss = 0.5 * float(np.sum(e * e)) / B
    dP = _uncat(-(e.T @ xf) / B, T)  # (T, d*d)
    gtheta, gW = _head_grads(s, Wf, dP)
    return loss, {"theta": gtheta, "W": gW.reshape(w.shape)}


def batch_moments(X: Any, teacher: Teacher) -> np.ndarray:
    r"""Second moment $\Sigma_B = \frac1B\sum_b x_b x_b^\top$ of the flattened windows,
    shape (T*d, T*d): the sufficient statistic of the empirical loss (the targets are a
    noiseless linear function of $x_b$)."""
    x = _check_X(X, teacher)
    xf = x.reshape(x.shape[0], -1)
    return (xf.T @ xf) / x.shape[0]


def wishart_moments(teacher: Teacher, batch: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw $\Sigma_B$ of ``batch`` Gaussian windows from its exact law, without the windows.

    For i.i.d. $x_b \sim \mathcal N(0, I_n)$ ($n = Td$), $B\,\Sigma_B$ is
    $\mathrm{Wishart}_n(B, I)$; Bartlett's decomposition draws it as $A A^\top$ with $A$
    lower triangular, $A_{ii}^2 \sim \chi^2_{B-i+1}$ and $A_{ij} \sim \mathcal N(0, 1)$
    below the diagonal. So this has the distribution of
    ``batch_moments(sample_inputs(teacher, batch, rng), teacher)`` at $O(n^3)$ cost, for any
    ``batch >= n`` (e.g. $10^9$ windows, which could not be held in memory).
    """
    n = teacher.T * teacher.d
    batch = _pos_int("batch", batch, minimum=n)
    A = np.tril(rng.standard_normal((n, n)), -1)
    A[np.diag_indices(n)] = np.sqrt(rng.chisquare(batch - np.arange(n)))
    return (A @ A.T) / batch


def moment_loss_and_grad(
    theta: Any, W: Any, teacher: Teacher, Sigma: Any
) -> tuple[float, dict[str, np.ndarray]]:
    r"""The empirical loss of :func:`sample_loss_and_grad` through its moment,
    $\mathcal L_B = \tfrac12\mathrm{tr}(R_{\rm cat}\Sigma_B R_{\rm cat}^\top)$ with
    $R_{\rm cat} = M_{\rm cat} - P_{\rm cat}$, and
    $\partial\mathcal L_B/\partial P_{\rm cat} = -R_{\rm cat}\Sigma_B$. Equal to it up to
    rounding for ``Sigma = batch_moments(X, teacher)``; ``Sigma = I`` gives the population
    loss."""
    th, w = _check_student(theta, W, teacher)
    T, d = teacher.T, teacher.d
    S = _array("Sigma", Sigma, (T * d, T * d))
    h = th.shape[0]
    s, Wf = _softmax(th), w.reshape(h, -1)
    Rc = _cat(teacher.M.reshape(T, -1) - s.T @ Wf, d)  # (d, T*d)
    RS = Rc @ S  # (d, T*d)
    loss = 0.5 * float(np.sum(RS * Rc))
    gtheta, gW = _head_grads(s, Wf, _uncat(-RS, T))
    return loss, {"theta": gtheta, "W": gW.reshape(w.shape)}


# ------------------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class BridgeRun:
    r"""A GD run or a flow on the recording grid, in Eq. 4 coordinates.

    Attributes
    ----------
    t : ndarray, shape (n,)
        Flow time ($t = \eta\cdot\mathrm{step}$ for GD).
    loss : ndarray, shape (n,)
        Population loss at the recorded state (also for sample-mode GD).
    V : ndarray, shape (n, h, K)
        $V_k(j)$.
    s : ndarray, shape (n, h, T)
        Attention $s_k(l)$ (column ``l - 1``).
    mass : ndarray, shape (n, h, K)
        Attention on each pattern's lags, $s_k(I_j) = \sum_{l\in I_j} s_k(l)$.
    w_perp : ndarray, shape (n,)
        $\|W^\perp\|_F$ over all heads: the value component outside $\mathrm{span}(u_j)$
        (0 in population mode from $W(0) = 0$; nonzero for sample-mode GD).
    stats, meta : dict
        Run statistics (steps, wall time, solver counters) and configuration.
    """

    t: np.ndarray
    loss: np.ndarray
    V: np.ndarray
    s: np.ndarray
    mass: np.ndarray
    w_perp: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_trajectory(self) -> Trajectory:
        """The shared result type: coordinates ``V[k,j]`` and ``s[k,l]`` (1-based ``l``),
        observables ``loss``, ``mass[k,j]`` and ``w_perp``."""
        n, h, K = self.V.shape
        T = self.s.shape[2]
        names = [f"V[{k},{j}]" for k in range(h) for j in range(K)]
        names += [f"s[{k},{l + 1}]" for k in range(h) for l in range(T)]
        y = np.concatenate([self.V.reshape(n, -1), self.s.reshape(n, -1)], axis=1)
        obs = {"loss": self.loss, "w_perp": self.w_perp}
        obs |= {f"mass[{k},{j}]": self.mass[:, k, j] for k in range(h) for j in range(K)}
        return Trajectory(self.t, y, tuple(names), obs, self.stats, self.meta)


def _masses(s: np.ndarray, teacher: Teacher) -> np.ndarray:
    return np.stack([s[..., [l - 1 for l in span]].sum(axis=-1) for span in teacher.spans], -1)


def _record_steps(t_record: Any, lr: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t_record, dtype=float)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or t[0] < 0:
        raise ValueError("t_record must be a non-empty 1-D array of finite times >= 0")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t_record must be strictly increasing")
    steps = np.rint(t / lr).astype(np.int64)
    off = np.abs(steps * lr - t)
    if np.any(off > 1e-9 * np.maximum(1.0, t)):
        i = int(np.argmax(off))
        raise ValueError(f"t_record must be multiples of lr = {lr:g} (t = lr * step); "
                         f"t_record[{i}] = {t[i]:g} is not")
    return t, steps


# ------------------------------------------------------------------------------------- GD
def train_gd(
    teacher: Teacher,
    theta0: Any,
    W0: Any,
    *,
    lr: float,
    t_record: Any,
    mode: Mode = "population",
    batch: int | None = None,
    fresh: bool = False,
    draw: Draw = "data",
    rng: np.random.Generator | None = None,
) -> BridgeRun:
    r"""Full-batch plain GD on $(\theta, W)$, recorded at flow times ``t_record``.

    Parameters
    ----------
    teacher : Teacher
    theta0, W0 : array_like, shapes (h, T) and (h, d, d)
        Initial parameters (not modified).
    lr : float
        Step size $\eta$; step $n$ sits at flow time $t = \eta n$.
    t_record : array_like, shape (n,)
        Strictly increasing flow times, each a multiple of ``lr``; the run stops at the last.
    mode : ``"population"`` or ``"sample"``
        Gradient of the exact population loss, or of the empirical MSE on ``batch`` windows.
    batch : int
        Batch size $B$ (sample mode only).
    fresh : bool
        Sample mode: a fresh batch every step (raw backward, :func:`sample_loss_and_grad`),
        or one fixed batch drawn once (default; its gradient through the moment
        $\Sigma_B$, :func:`moment_loss_and_grad`, identical to the raw backward up to
        rounding and independent of $B$ in cost).
    draw : ``"data"`` or ``"wishart"``
        Fixed batch only: materialise the $B$ windows and take their moment
        (:func:`batch_moments`), or draw the moment from its exact Wishart law
        (:func:`wishart_moments`, same distribution, any $B \ge Td$ at no cost).
    rng : numpy.random.Generator, optional
        Draws the batches (default ``default_rng(0)``).

    Returns
    -------
    BridgeRun
        ``stats`` holds ``steps`` and ``wall_s``; ``meta`` the settings. The recorded
        ``loss`` is the population loss; sample mode adds ``stats["batch_loss"]``, the
        empirical loss at each recorded step (fixed batch only).

    Raises
    ------
    ValueError
        Bad shapes, ``lr``, ``t_record``, ``mode``, ``batch`` or ``draw``.
    FloatingPointError
        The iterates became non-finite (``lr`` too large).
    """
    th, w = _check_student(theta0, W0, teacher)
    lr = _pos_float("lr", lr)
    if mode not in ("population", "sample"):
        raise ValueError(f"mode must be 'population' or 'sample', got {mode!r}")
    t, steps = _record_steps(t_record, lr)
    if mode == "sample":
        batch = _pos_int("batch", batch)
    elif batch is not None:
        raise ValueError("batch is only used in sample mode")
    if fresh and mode != "sample":
        raise ValueError("fresh batches need mode='sample'")
    if draw not in ("data", "wishart"):
        raise ValueError(f"draw must be 'data' or 'wishart', got {draw!r}")
    if draw == "wishart" and (mode != "sample" or fresh):
        raise ValueError("draw='wishart' needs mode='sample' with a fixed batch (fresh=False)")
    rng = np.random.default_rng(0) if rng is None else rng
    T, d, h = teacher.T, teacher.d, th.shape[0]
    U, Mf = teacher.U, teacher.M.reshape(T, -1)
    Sigma: np.ndarray | None = None
    if mode == "sample" and not fresh:
        assert batch is not None
        if draw == "wishart":
            Sigma = wishart_moments(teacher, batch, rng)
        else:
            Sigma = batch_moments(sample_inputs(teacher, batch, rng), teacher)
    Mc = _cat(Mf, d)
    theta, Wf = th.copy(), w.reshape(h, -1).copy()
    n = t.size
    loss, V = np.empty(n), np.empty((n, h, teacher.K))
    S, wp, bl = np.empty((n, h, T)), np.empty(n), np.empty(n)
    t0 = time.perf_counter()
    # overflow is caught below (FloatingPointError), not warned about step by step
    with np.errstate(over="ignore", invalid="ignore"):
        step, i = 0, 0
        while True:
            s = _softmax(theta)
            if step == steps[i]:
                loss[i] = _pop(s, Wf, Mf)[0]
                V[i] = Wf @ U.T
                S[i] = s
                wp[i] = float(np.linalg.norm(Wf - V[i] @ U))
                if Sigma is not None:
                    Rc = Mc - _cat(s.T @ Wf, d)
                    bl[i] = 0.5 * float(np.sum((Rc @ Sigma) * Rc))
                i += 1
                if i == n:
                    break
            if mode == "population":
                dP = -(Mf - s.T @ Wf)
            elif Sigma is not None:
                dP = _uncat(-(Mc - _cat(s.T @ Wf, d)) @ Sigma, T)
            else:
                assert batch is not None
                xf = rng.standard_normal((batch, T * d))
                e = xf @ (Mc - _cat(s.T @ Wf, d)).T  # (B, d)
                dP = _uncat(-(e.T @ xf) / batch, T)
            gtheta, gW = _head_grads(s, Wf, dP)
            theta -= lr * gtheta
            Wf -= lr * gW
            step += 1
            if step % 100 == 0 and not (np.all(np.isfinite(theta)) and np.all(np.isfinite(Wf))):
                raise FloatingPointError(f"GD diverged by step {step} (t = {step * lr:g}); lr = {lr:g} "
                                         "is too large")
        if not (np.all(np.isfinite(loss)) and np.all(np.isfinite(V))):
            raise FloatingPointError(f"GD diverged (lr = {lr:g} is too large)")
    stats: dict[str, Any] = {"steps": int(steps[-1]), "wall_s": time.perf_counter() - t0}
    if Sigma is not None:
        stats["batch_loss"] = bl.tolist()
    meta = {"kind": "gd", "mode": mode, "lr": lr, "batch": batch,
            "fresh": bool(fresh) if mode == "sample" else None,
            "draw": draw if mode == "sample" and not fresh else None, "h": h}
    return BridgeRun(flow_time(steps, lr), loss, V, S, _masses(S, teacher), wp, stats, meta)


# ------------------------------------------------------------------------------- J2 flow
def _j2_rhs(
    G: np.ndarray, h: int, K: int, T: int, state: FlowState
) -> Callable[[float, np.ndarray], np.ndarray]:
    nV = h * K

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        V = y[:nV].reshape(h, K)
        s = y[nV:].reshape(h, T) if state == "s" else _softmax(y[nV:].reshape(h, T))
        R = G - V.T @ s  # (K, T)
        dV = s @ R.T  # (h, K): dV_k = R s_k
        a = V @ R  # (h, T): a_k = R^T V_k
        Ja = s * (a - np.sum(s * a, axis=1, keepdims=True))  # J_k a_k = dtheta_k/dt
        if state == "s":
            Ja = s * (Ja - np.sum(s * Ja, axis=1, keepdims=True))  # J_k^2 a_k = ds_k/dt
        return np.concatenate([dV.ravel(), Ja.ravel()])

    return rhs


def j2_flow(
    teacher: Teacher,
    theta0: Any,
    W0: Any,
    t_record: Any,
    *,
    state: FlowState = "s",
    method: str = "LSODA",
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> BridgeRun:
    r"""Integrate the $J^2$ form of Eq. 4, $\dot V_k = R s_k$, $\dot s_k = J_k^2 R^\top V_k$,
    from $V(0) = $ the $u_j$-coordinates of ``W0`` and $s(0) = \mathrm{softmax}(\theta_0)$
    (see the module docstring for why this is gradient flow on $(\theta, W)$ exactly).

    Parameters
    ----------
    teacher : Teacher
    theta0, W0 : array_like, shapes (h, T) and (h, d, d)
        Initial logits and values. ``W0`` must lie in $\mathrm{span}(u_j)$ (e.g. 0): the
        complement is then 0 for all time and is not integrated.
    t_record : array_like, shape (n,)
        Strictly increasing output times, starting at 0 or later.
    state : ``"s"`` or ``"theta"``
        Integrate $(V, s)$ with $\dot s = J^2 R^\top V$ (the ``ode.py --squared`` system,
        default) or $(V, \theta)$ with $\dot\theta = J R^\top V$ (the same flow through the
        chain rule; a check of the derivation).
    method : str
        A ``scipy.integrate.solve_ivp`` method (``"LSODA"``, ``"RK45"``, ``"DOP853"``, ...).
    rtol, atol : float
        Solver tolerances (tight by default: the flow is the reference).

    Returns
    -------
    BridgeRun
        ``w_perp`` is 0; ``stats`` has ``nfev``, ``wall_s``, ``method``.

    Raises
    ------
    ValueError
        Bad shapes, times or state; ``W0`` with a component outside $\mathrm{span}(u_j)$.
    RuntimeError
        The solver failed.
    """
    th, w = _check_student(theta0, W0, teacher)
    if state not in ("s", "theta"):
        raise ValueError(f"state must be 's' or 'theta', got {state!r}")
    rtol = _pos_float("rtol", rtol)
    atol = _pos_float("atol", atol)
    t = np.asarray(t_record, dtype=float)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or t[0] < 0:
        raise ValueError("t_record must be a non-empty 1-D array of finite times >= 0")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t_record must be strictly increasing")
    h, K, T = th.shape[0], teacher.K, teacher.T
    Wf = w.reshape(h, -1)
    V0 = Wf @ teacher.U.T
    perp = float(np.linalg.norm(Wf - V0 @ teacher.U))
    if perp > 1e-12 * (1.0 + float(np.linalg.norm(Wf))):
        raise ValueError(f"W0 has a component of norm {perp:.3g} outside span(u_j); the "
                         "reduced J2 flow needs W0 in span(u_j) (e.g. W0 = 0)")
    x0 = _softmax(th) if state == "s" else th
    y0 = np.concatenate([V0.ravel(), x0.ravel()])
    t0 = time.perf_counter()
    sol = solve_ivp(_j2_rhs(teacher.G, h, K, T, state), (0.0, float(t[-1])), y0, method=method,
                    t_eval=t, rtol=rtol, atol=atol)
    if not sol.success or sol.y.shape[1] != t.size or not np.all(np.isfinite(sol.y)):
        raise RuntimeError(f"j2_flow: solve_ivp ({method}) failed: {sol.message}")
    Y = sol.y.T  # (n, h*K + h*T)
    V = Y[:, : h * K].reshape(-1, h, K)
    x = Y[:, h * K:].reshape(-1, h, T)
    S = x if state == "s" else _softmax(x)
    R = teacher.G[None] - np.einsum("nhk,nht->nkt", V, S)
    loss = 0.5 * np.sum(R * R, axis=(1, 2))
    stats = {"nfev": int(sol.nfev), "wall_s": time.perf_counter() - t0, "method": method,
             "rtol": rtol, "atol": atol}
    meta = {"kind": "j2_flow", "state": state, "h": h}
    return BridgeRun(t, loss, V, S, _masses(S, teacher), np.zeros(t.size), stats, meta)


def deviation(a: BridgeRun, b: BridgeRun) -> dict[str, float]:
    r"""Largest absolute differences over the common recording grid: ``"V"`` (over
    $V_k(j)$), ``"s"`` (over all $s_k(l)$), ``"max"`` (the larger of the two) and
    ``"loss"``. The grids must be equal."""
    if a.t.shape != b.t.shape or not np.allclose(a.t, b.t, rtol=1e-12, atol=1e-12):
        raise ValueError("the two runs must be recorded on the same time grid")
    if a.V.shape != b.V.shape or a.s.shape != b.s.shape:
        raise ValueError(f"the runs have different shapes: V {a.V.shape} vs {b.V.shape}, "
                         f"s {a.s.shape} vs {b.s.shape}")
    dV = float(np.max(np.abs(a.V - b.V)))
    ds = float(np.max(np.abs(a.s - b.s)))
    return {"V": dV, "s": ds, "max": max(dV, ds), "loss": float(np.max(np.abs(a.loss - b.loss)))}


# ------------------------------------------------------------------------- bridge setting
@dataclass(frozen=True)
class BridgeSetting:
    r"""Defaults of the bridge test: small and fast, all three stages inside ``t_max``.

    With these defaults the flow's loss falls 36.73 -> 11.67 (by t = 10) -> 3.00 (t ~ 35)
    -> 0 (t ~ 200), the plateaus $\tfrac12\sum_{j>k} g_j^2$.

    Attributes
    ----------
    d, T, h : int
        Token dimension, lags, heads.
    spans : tuple of tuple of int
        Lag sets (default singletons at lags 1, 2, 3).
    m : float
        Coefficient ratio, $c = (m^2, m, 1)$, $g = c\sqrt d$ (about (7.08, 4.16, 2.45)).
    eps : float
        Logit init scale (breaks the head symmetry).
    seed : int
        Seeds the teacher's $Q_j$, the init and the sample-mode batch.
    t_max, dt_record : float
        Horizon and recording interval (every learning rate must divide ``dt_record``).
    lrs : tuple of float
        Learning rates of the slope fit.
    batch : int
        Batch size of the sample-mode claim (one fixed batch).
    sample_lr : float
        Learning rate of the sample-mode run.
    sample_draw : ``"data"`` or ``"wishart"``
        How the fixed batch is drawn (see :func:`train_gd`); the default $B = 10^{10}$ needs
        ``"wishart"``.
    """

    d: int = 6
    T: int = 8
    h: int = 3
    spans: tuple[tuple[int, ...], ...] = ((1,), (2,), (3,))
    m: float = 1.7
    eps: float = 1e-3
    seed: int = 0
    t_max: float = 300.0
    dt_record: float = 1.0
    lrs: tuple[float, ...] = (0.04, 0.02, 0.01, 0.005)
    batch: int = 10**10
    sample_lr: float = 0.01
    sample_draw: Draw = "wishart"

    def __post_init__(self) -> None:
        for name in ("d", "T", "h"):
            _pos_int(name, getattr(self, name))
        _pos_int("seed", self.seed, minimum=0)
        _pos_int("batch", self.batch)
        object.__setattr__(self, "spans", _spans(self.spans, self.T))
        object.__setattr__(self, "lrs", tuple(self.lrs))
        for name in ("m", "t_max", "dt_record", "sample_lr"):
            _pos_float(name, getattr(self, name))
        _pos_float("eps", self.eps, allow_zero=True)
        if not self.lrs:
            raise ValueError("lrs must hold at least one learning rate")
        for lr in (*self.lrs, self.sample_lr):
            _pos_float("lr", lr)
            _record_steps(np.array([0.0, self.dt_record]), lr)
        if abs(round(self.t_max / self.dt_record) * self.dt_record - self.t_max) > 1e-9 * self.t_max:
            raise ValueError(f"t_max = {self.t_max:g} must be a multiple of dt_record = "
                             f"{self.dt_record:g}")
        if self.sample_draw not in ("data", "wishart"):
            raise ValueError(f"sample_draw must be 'data' or 'wishart', got {self.sample_draw!r}")

    def teacher(self) -> Teacher:
        return make_teacher(self.d, self.T, self.spans, self.m,
                            rng=np.random.default_rng([self.seed, 0]))

    def init(self) -> tuple[np.ndarray, np.ndarray]:
        """``(theta0, W0)``: logits ``eps * N(0, 1)``, values 0."""
        return init_student(self.teacher(), self.h, self.eps, np.random.default_rng([self.seed, 1]))

    def t_record(self) -> np.ndarray:
        n = int(round(self.t_max / self.dt_record))
        return np.arange(n + 1) * self.dt_record


@functools.lru_cache(maxsize=8)
def reference_flow(setting: BridgeSetting = BridgeSetting()) -> BridgeRun:
    """The $J^2$ flow of ``setting`` on its recording grid (LSODA, rtol 1e-10), cached
    (arrays read-only)."""
    theta0, W0 = setting.init()
    run = j2_flow(setting.teacher(), theta0, W0, setting.t_record())
    for a in (run.t, run.loss, run.V, run.s, run.mass, run.w_perp):
        a.setflags(write=False)
    return run


def _head(run: BridgeRun, n: int) -> BridgeRun:
    return BridgeRun(run.t[:n], run.loss[:n], run.V[:n], run.s[:n], run.mass[:n],
                     run.w_perp[:n], run.stats, run.meta)


def bridge_error(lr: float, setting: BridgeSetting = BridgeSetting()) -> dict[str, float]:
    r"""Population-mode GD at step ``lr`` against the $J^2$ flow: the largest deviation over
    the recorded times $t = \eta\cdot\mathrm{step}$, as :func:`deviation` (``"max"`` is the
    number the bridge claim uses), plus ``"wall_s"`` of the GD run."""
    theta0, W0 = setting.init()
    gd = train_gd(setting.teacher(), theta0, W0, lr=lr, t_record=setting.t_record())
    return deviation(gd, reference_flow(setting)) | {"wall_s": float(gd.stats["wall_s"])}


def bridge_errors(setting: BridgeSetting = BridgeSetting()) -> list[dict[str, float]]:
    """:func:`bridge_error` for every learning rate of ``setting.lrs``."""
    return [bridge_error(lr, setting) for lr in setting.lrs]


def sample_deviation(
    setting: BridgeSetting = BridgeSetting(),
    batch: int | None = None,
    *,
    lr: float | None = None,
    fresh: bool = False,
    draw: Draw | None = None,
    seed: int = 0,
    t_max: float | None = None,
) -> dict[str, float]:
    r"""Sample-mode GD against the $J^2$ flow.

    Parameters
    ----------
    setting : BridgeSetting
    batch : int, optional
        Batch size (default ``setting.batch``).
    lr : float, optional
        Step (default ``setting.sample_lr``).
    fresh : bool
        Fresh batch every step (raw backward) instead of one fixed batch.
    draw : ``"data"`` or ``"wishart"``, optional
        Fixed batch: how it is drawn (default ``setting.sample_draw``; ignored if ``fresh``).
    seed : int
        Batch seed (combined with ``setting.seed``).
    t_max : float, optional
        Shorter horizon (a multiple of ``setting.dt_record``).

    Returns
    -------
    dict
        As :func:`deviation` (``"max"`` is what the sample claim uses), plus ``"euler"``
        (population GD at the same ``lr`` against the flow), ``"mc"`` (sample GD against
        population GD at the same ``lr``: the Monte-Carlo part alone), ``"w_perp"`` (largest
        $\|W^\perp\|_F$, zero for the flow) and ``"wall_s"`` of the sample run.
    """
    batch = setting.batch if batch is None else _pos_int("batch", batch)
    lr = setting.sample_lr if lr is None else _pos_float("lr", lr)
    how: Draw = setting.sample_draw if draw is None else draw
    t_rec = setting.t_record()
    if t_max is not None:
        t_rec = t_rec[t_rec <= _pos_float("t_max", t_max) + 1e-9]
    teacher = setting.teacher()
    theta0, W0 = setting.init()
    rng = np.random.default_rng([setting.seed, 2, _pos_int("seed", seed, minimum=0)])
    gd = train_gd(teacher, theta0, W0, lr=lr, t_record=t_rec, mode="sample", batch=batch,
                  fresh=fresh, draw="data" if fresh else how, rng=rng)
    pop = train_gd(teacher, theta0, W0, lr=lr, t_record=t_rec)
    flow = _head(reference_flow(setting), t_rec.size)
    return deviation(gd, flow) | {"euler": deviation(pop, flow)["max"],
                                  "mc": deviation(gd, pop)["max"],
                                  "w_perp": float(np.max(gd.w_perp)),
                                  "wall_s": float(gd.stats["wall_s"])}


# --------------------------------------------------------------------------------- claims
#: Sensitivity of the trajectory to the batch's Monte-Carlo error, in units of
#: $\sqrt{Td/B}$: the tolerance of :func:`claim_bridge_sample` is
#: ``MC_SENSITIVITY * sqrt(T * d / B)`` plus the Euler error (see there).
MC_SENSITIVITY = 400.0
#: Largest tolerance :func:`claim_bridge_sample` grants (linear response must be small).
TOL_CAP = 0.25


def claim_bridge(
    lrs: Sequence[float], errors: Sequence[float], *, predicted: float = 1.0, tol: float = 0.15
) -> Claim:
    r"""``yuksel2026.bridge``: GD-vs-flow error $\propto \eta^{p}$ with $p = 1$.

    Parameters
    ----------
    lrs : sequence of float
        At least 3 distinct learning rates.
    errors : sequence of float
        The matching :func:`bridge_error` ``"max"`` values (positive).
    predicted : float
        Predicted log-log slope (1: Euler). Pass 2 for a negative control.
    tol : float
        Absolute tolerance on the slope.

    Returns
    -------
    Claim
        Measured: the OLS slope of $\ln e$ on $\ln\eta$; ``details`` hold the errors, the
        slope standard error and the successive ratios $e(\eta_{i+1})/e(\eta_i)$.
    """
    lr = np.asarray(lrs, dtype=float)
    err = np.asarray(errors, dtype=float)
    if lr.ndim != 1 or lr.shape != err.shape:
        raise ValueError(f"lrs and errors must be 1-D of equal length, got shapes {lr.shape} "
                         f"and {err.shape}")
    if not (np.all(np.isfinite(lr)) and np.all(lr > 0)):
        raise ValueError(f"learning rates must be positive and finite, got {lr.tolist()}")
    if lr.size < 3 or np.unique(lr).size != lr.size:
        raise ValueError(f"need at least 3 distinct learning rates, got {lr.tolist()}")
    if not (np.all(np.isfinite(err)) and np.all(err > 0)):
        raise ValueError(f"errors must be positive and finite, got {err.tolist()}")
    order = np.argsort(lr)
    fit = loglog_slope(lr[order], err[order])
    ratios = (err[order][1:] / err[order][:-1]).tolist()
    return check(
        "yuksel2026.bridge",
        "Plain GD on the regression variant (position logits + value matrices, exact population "
        "gradient) follows the J2 form of Eq. 4 at t = lr * step: the largest deviation in "
        f"(V, s) over the horizon shrinks like lr^{predicted:g} (log-log slope over lr = "
        f"{lr[order].tolist()}).",
        predicted, fit.slope, tol=tol, source="derived",
        why="GD is explicit Euler on the (theta, W) gradient flow, whose global error on a fixed "
            "horizon is C lr + O(lr^2); the O(lr) correction bends the fitted slope by about "
            "the spread of the successive error ratios around 2 (a few percent here); 0.15 "
            "allows that, while an lr-independent error (a wrong flow: slope 0) or a "
            "second-order one (slope 2) misses by >= 0.85.",
        details={"lrs": lr[order].tolist(), "errors": err[order].tolist(),
                 "stderr": fit.stderr, "r2": fit.r2, "ratios": ratios},
    )


def claim_bridge_sample(
    dev: float,
    batch: int,
    *,
    euler: float,
    T: int = 8,
    d: int = 6,
    tol: float | None = None,
    details: dict[str, Any] | None = None,
) -> Claim:
    r"""``yuksel2026.bridge-sample``: sample-mode GD on one fixed batch of $B$ windows stays
    within its Monte-Carlo tolerance of the $J^2$ flow.

    Predicted deviation 0; default tolerance
    $\tau = \min\big(S\sqrt{Td/B} + e_{\rm Euler},\ \tau_{\max}\big)$ with
    $S$ = ``MC_SENSITIVITY`` = 400 and $\tau_{\max}$ = ``TOL_CAP`` = 0.25.

    Why. The empirical loss is $\tfrac12\mathrm{tr}(R_{\rm cat}\Sigma_B R_{\rm cat}^\top)$:
    Eq. 4 with $I$ replaced by the batch moment $\Sigma_B$, whose entries carry Monte-Carlo
    error $1/\sqrt B$ ($\sqrt{2/B}$ on the diagonal, $\approx 2\sqrt{Td/B}$ in operator
    norm). The trajectory responds linearly to $\Sigma_B - I$, but the response is large: a
    fixed batch shifts the rates of the saddle escapes (stages 2 and 3), and a rate change
    $\delta\lambda/\lambda$ becomes a time shift $t_{\rm escape}\,\delta\lambda/\lambda$ of a
    fast transition. Measured against population GD at the same step on 104 independent
    Wishart draws of the default setting (24 at $B = 10^8$, each also at $B = 10^{10}$ and at
    both $\eta = 0.04$ and $0.01$; 80 at $B = 10^9$, $\eta = 0.04$), the sensitivity
    $\mathrm{dev}\cdot\sqrt{B/Td}$ is the same per draw at every $B$ and both steps (linear
    response), with r.m.s. about 80, 95% quantile about 150 and largest 208. $S = 400$ is
    about 5 r.m.s. and twice the largest seen. The population-GD (Euler) error at the same
    step is added by the triangle inequality. The tolerance is capped at 0.25 (small against the
    pattern strengths $g \ge 2.45$ and attention in [0, 1]): beyond that the deviation is
    no longer a small linear response, so a batch that would need more fails.

    Parameters
    ----------
    dev : float
        Measured largest deviation in $(V, s)$ from the flow
        (``sample_deviation(...)["max"]``).
    batch : int
        The batch size $B$ used.
    euler : float
        Population-GD error at the same step (``sample_deviation(...)["euler"]``), >= 0.
    T, d : int
        Lags and token dimension (default: the bridge setting).
    tol : float, optional
        Override the tolerance (e.g. a negative control).
    details : dict, optional
        Extra details to keep.
    """
    batch = _pos_int("batch", batch)
    T, d = _pos_int("T", T), _pos_int("d", d)
    euler = _pos_float("euler", euler, allow_zero=True)
    mc = MC_SENSITIVITY * math.sqrt(T * d / batch)
    tau = min(mc + euler, TOL_CAP) if tol is None else _pos_float("tol", tol, allow_zero=True)
    return check(
        "yuksel2026.bridge-sample",
        f"Sample-mode GD (one fixed batch of B = {batch:.3g} windows, empirical MSE with "
        "hand-written backward) stays close to the J2 form of Eq. 4 at t = lr * step: largest "
        "deviation in (V, s) over the horizon.",
        0.0, float(dev), tol=tau, source="derived",
        why=f"Monte-Carlo error of the batch moment Sigma_B (entries ~ 1/sqrt(B)) moves the "
            f"trajectory linearly, amplified by the saddle escapes (a rate change becomes a time "
            f"shift of a fast transition): sensitivity dev * sqrt(B/Td) is B- and lr-independent, "
            f"rms ~80 and at most 208 over 104 independent draws, so {MC_SENSITIVITY:g} * "
            f"sqrt(Td/B) = "
            f"{mc:.3g}, plus the population-GD (Euler) error {euler:.3g} at the same step; "
            f"capped at {TOL_CAP:g}, beyond which the response is no longer small.",
        details={"batch": batch, "mc_tolerance": mc, "euler": euler, "cap": TOL_CAP}
        | dict(details or {}),
    )


def bridge_claims(setting: BridgeSetting = BridgeSetting()) -> list[Claim]:
    """Both bridge claims for ``setting`` (about 5 s with the defaults)."""
    errs = bridge_errors(setting)
    c1 = claim_bridge(setting.lrs, [e["max"] for e in errs])
    sd = sample_deviation(setting)
    c2 = claim_bridge_sample(sd["max"], setting.batch, euler=sd["euler"], T=setting.T,
                             d=setting.d, details={"mc_part": sd["mc"], "w_perp": sd["w_perp"],
                                                   "draw": setting.sample_draw,
                                                   "lr": setting.sample_lr})
    return [c1, c2]
