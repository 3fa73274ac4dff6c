r"""The authors' Fig. 3 at their sizes: GD on their coded reduced losses, many seeds at once,
and the numbers of their saved tensors (spec 3.2, 3.3, 5 Fig. 3, 7).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``; "authors'
code" means the repository ``michaelsdr/ical`` (``unitary.py``, ``orthogonal.py``).

* :func:`coded_loss_and_grad`: the reduced losses exactly as the authors coded them, batched
  over seeds, with hand-written gradients. Per PE row $t = 0..T-2$ (keys $j = 0..t+1$, query
  $q = t$, last key $n = t+1$) and $C = B^\top A$:

  - ``"unitary"`` (``unitary.py``): $\lVert p\rVert^2\lVert C\rVert_F^2 + p_q^2\lVert
    C\mathbf 1\rVert^2 - 2p_n\,\mathrm{tr}\,C + d$ (it counts $p_q^2\lVert C\rVert_F^2$
    twice against the exact (N1); same minimisers, spec 3.2);
  - ``"rotation"`` (``orthogonal.py``): $p_q^2\tau_1 + (\sum_{j\ne q}p_j^2)\tau_2 +
    2\tau_3 p_q\sum_{j\ne q}p_j + [(\sum_{j\ne q}p_j)^2 - \sum_{j\ne q}p_j^2]\tau_4 -
    2p_n\,\mathrm{tr}\,C + d$ with $\tau_1 = \lVert C\mathbf 1\rVert^2$, $\tau_2 =
    \lVert C\rVert_F^2$, $\tau_3 = \sum_i r_i f_i$ ($r$ the row sums of $C$, $f$ those of
    $C\odot E$, $E$ the in-plane off-diagonal pattern $(2m, 2m+1)$, $(2m+1, 2m)$) and
    $\tau_4 = \lVert C\odot E\rVert_F^2$ (spec 3.3).

  The total is the sum over rows, with no $1/T$ (authors' code).
* :func:`authors_gd`: the authors' protocol (authors' code): entries of $A, B$ ($H\times d$)
  and $P$ ($T\times T$) i.i.d. $0.1\,\mathcal N(0,1)$, plain GD, lr 0.01 for 100 steps
  (unitary, $H = d = 10$, $T = 20$) or lr $10^{-3}$ for $10^5$ steps (rotations, $d = 10$,
  $H = 8$, $T = 20$). The authors drew one initialisation from ``jax.random.PRNGKey(0)``;
  we cannot draw the same numbers, so we run ``K`` seeds of the same law
  (reconstruction: numpy's generator in place of JAX's) and compare the authors' single
  draw with the spread over seeds.
* :func:`measure`: what the figure shows, per seed: $c$ with $B^\top A \approx c\,\Pi$
  ($\Pi = I$ or $\mathrm{blockdiag}(J_2)$), the relative residual, $c\,P_{t,t+1}$, the PE
  ratio $P_{t,t}/P_{t,t+1}$, the largest other effective PE entry and the off-diagonal ratio
  of $AB^\top$.
* :data:`AUTHORS_TENSORS`: the numbers the spec computed from the authors' saved
  ``tensors/{A,B,P}_{unitary,orthogonal}.npy`` (spec 3.2, 3.3; the tensors themselves are
  not in this repository).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np

from dynamics.validate import (
    finite_array,
    generator,
    int_at_least,
    one_of,
    positive_float,
    positive_int,
)

__all__ = ["AUTHORS_TENSORS", "PROTOCOL", "Fig3Run", "authors_gd", "coded_loss_and_grad", "measure",
           "plane_pattern", "projector"]

Kind = Literal["unitary", "rotation"]

AUTHORS_TENSORS: dict[str, dict[str, float]] = {
    "unitary": {"c": -1.2018, "P_last": -0.83208, "cP": 1.0000, "offdiag": 5.5e-8, "others_max": 4e-10},
    "rotation": {"c": -1.2895, "P_last": -0.77552, "P_diag": 0.38767, "ratio": -0.49988,
                 "offdiag": 0.59, "others_max": 2.1e-7},
}
r"""The spec's readings of the authors' saved tensors (spec 3.2 unitary: $B^\top A = -1.2018\,I$,
$P_{t,t+1} = -0.83208$, other entries below $4\cdot10^{-10}$, off-diagonal ratio of $AB^\top$
$5.5\cdot10^{-8}$; spec 3.3 rotations: $B^\top A = -1.2895\,\mathrm{blockdiag}(J_2)$,
$P_{t,t+1} = -0.77552$, $P_{t,t} = 0.38767$, ratio $-0.49988$, others below
$2.1\cdot10^{-7}$, off-diagonal ratio 0.59)."""

PROTOCOL: dict[str, dict[str, Any]] = {
    "unitary": {"d": 10, "H": 10, "T": 20, "lr": 0.01, "steps": 100, "alpha": 0.1},
    "rotation": {"d": 10, "H": 8, "T": 20, "lr": 1e-3, "steps": 100_000, "alpha": 0.1},
}
"""The authors' settings (authors' code ``unitary.py``, ``orthogonal.py``)."""


def plane_pattern(d: int) -> np.ndarray:
    r"""$E$: ones at $(2m, 2m+1)$ and $(2m+1, 2m)$, the in-plane off-diagonal entries of
    $d/2$ rotation planes ($d$ even), shape (d, d)."""
    if positive_int("d", d) % 2:
        raise ValueError(f"d must be even for rotation planes, got {d}")
    E = np.zeros((d, d))
    i = np.arange(0, d, 2)
    E[i, i + 1] = 1.0
    E[i + 1, i] = 1.0
    return E


def projector(kind: Kind, d: int) -> np.ndarray:
    r"""$\Pi$ of the optimum $B^\top A = c\,\Pi$: $I$ (unitary) or $I + E =
    \mathrm{blockdiag}(J_2)$ (rotations), shape (d, d)."""
    one_of("kind", kind, ("unitary", "rotation"))
    return np.eye(d) if kind == "unitary" else np.eye(d) + plane_pattern(d)


def _masks(T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effective entries of P's rows 0..T-2 (j <= t+1), the query keys (j = t) and the last
    keys (j = t+1), each (T-1, T)."""
    eff = np.tril(np.ones((T - 1, T)), k=1)  # (T-1, T)
    return eff, np.eye(T - 1, T), np.eye(T - 1, T, k=1)


def _check(kind: str, A: Any, B: Any, P: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    one_of("kind", kind, ("unitary", "rotation"))
    A = finite_array("A", A)
    B = finite_array("B", B)
    P = finite_array("P", P)
    if A.ndim != 3 or B.shape != A.shape:
        raise ValueError(f"A and B must have one shape (K, H, d), got {A.shape} and {B.shape}")
    K, _, d = A.shape
    if P.ndim != 3 or P.shape[0] != K or P.shape[2] != P.shape[1] or P.shape[1] < 2:
        raise ValueError(f"P must have shape (K, T, T) with T >= 2 and K = {K}, got {P.shape}")
    if kind == "rotation":
        plane_pattern(d)
    return A, B, P


def coded_loss_and_grad(kind: Kind, A: Any, B: Any, P: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    r"""The authors' coded reduced loss (module docstring) of each seed and its gradient.

    Parameters
    ----------
    kind : ``"unitary"`` or ``"rotation"``
    A, B : ndarray, shape (K, H, d)
    P : ndarray, shape (K, T, T)
        Row $t \le T-2$ uses entries $0..t+1$; the others have zero gradient (authors' code).

    Returns
    -------
    loss : ndarray, shape (K,)
    grads : dict with ``"A"``, ``"B"``, ``"P"`` of the shapes of the inputs
    """
    A, B, P = _check(kind, A, B, P)
    K, _, d = A.shape
    T = P.shape[1]
    eff, qm, nm = _masks(T)
    R = P[:, : T - 1, :] * eff  # (K, T-1, T)   effective rows
    C = np.swapaxes(B, 1, 2) @ A  # (K, d, d)
    r = C.sum(axis=2)  # (K, d)   row sums
    t1 = np.sum(r**2, axis=1)  # (K,)   ||C 1||^2
    t2 = np.sum(C**2, axis=(1, 2))  # (K,)
    tr = np.trace(C, axis1=1, axis2=2)  # (K,)
    pq = np.sum(R * qm, axis=2)  # (K, T-1)   p_{t,t}
    pn = np.sum(R * nm, axis=2)  # (K, T-1)   p_{t,t+1}
    ones = np.ones((d, d))
    eye = np.eye(d)
    if kind == "unitary":
        a2 = np.sum(R**2, axis=(1, 2))  # (K,)   sum_t ||p_t||^2
        a1 = np.sum(pq**2, axis=1)  # (K,)
        loss = a2 * t2 + a1 * t1 - 2.0 * tr * np.sum(pn, axis=1) + (T - 1) * d
        G = (2.0 * a2[:, None, None] * C + 2.0 * a1[:, None, None] * (C @ ones)
             - 2.0 * np.sum(pn, axis=1)[:, None, None] * eye)  # (K, d, d)
        gR = (2.0 * R * t2[:, None, None] + 2.0 * R * qm * t1[:, None, None]
              - 2.0 * nm * tr[:, None, None])  # (K, T-1, T)
    else:
        E = plane_pattern(d)
        CE = C * E  # (K, d, d)
        f = CE.sum(axis=2)  # (K, d)
        t3 = np.sum(r * f, axis=1)  # (K,)
        t4 = np.sum(CE**2, axis=(1, 2))  # (K,)
        Rx = R * (eff - qm)  # (K, T-1, T)   keys j != q
        u = Rx.sum(axis=2)  # (K, T-1)
        S = np.sum(Rx**2, axis=2)  # (K, T-1)
        a1 = np.sum(pq**2, axis=1)
        a2 = np.sum(S, axis=1)
        a3 = np.sum(2.0 * pq * u, axis=1)
        a4 = np.sum(u**2 - S, axis=1)
        a5 = np.sum(pn, axis=1)
        loss = a1 * t1 + a2 * t2 + a3 * t3 + a4 * t4 - 2.0 * a5 * tr + (T - 1) * d
        dt3 = f[:, :, None] * ones + r[:, :, None] * E  # (K, d, d)
        G = (2.0 * a1[:, None, None] * (C @ ones) + 2.0 * a2[:, None, None] * C + a3[:, None, None] * dt3
             + 2.0 * a4[:, None, None] * CE - 2.0 * a5[:, None, None] * eye)  # (K, d, d)
        g_q = 2.0 * pq * t1[:, None] + 2.0 * t3[:, None] * u  # (K, T-1)
        g_x = (2.0 * Rx * t2[:, None, None] + 2.0 * (t3[:, None] * pq)[:, :, None]
               + 2.0 * t4[:, None, None] * (u[:, :, None] - Rx) - 2.0 * nm * tr[:, None, None])  # (K, T-1, T)
        gR = g_q[:, :, None] * qm + g_x * (eff - qm)
    gP = np.zeros_like(P)
    gP[:, : T - 1, :] = gR * eff
    return loss, {"A": B @ G, "B": A @ np.swapaxes(G, 1, 2), "P": gP}


@dataclass(frozen=True)
class Fig3Run:
    """Result of :func:`authors_gd`.

    Attributes
    ----------
    kind : str
    A, B : ndarray, shape (K, H, d)
        Final parameters of every seed.
    P : ndarray, shape (K, T, T)
    loss : ndarray, shape (K,)
        Final coded loss.
    steps, lr : the GD protocol.
    Q0, Q : ndarray, shape (K,)
        $\\lVert A\\rVert^2 + \\lVert B\\rVert^2 - 2\\lVert P_{\\rm eff}\\rVert^2$ at the start and
        the end (conserved by the flow, O(lr) drift under GD).
    """

    kind: str
    A: np.ndarray
    B: np.ndarray
    P: np.ndarray
    loss: np.ndarray
    steps: int
    lr: float
    Q0: np.ndarray
    Q: np.ndarray


def _Q(A: np.ndarray, B: np.ndarray, P: np.ndarray) -> np.ndarray:
    T = P.shape[1]
    eff, _, _ = _masks(T)
    return (np.sum(A**2, axis=(1, 2)) + np.sum(B**2, axis=(1, 2))
            - 2.0 * np.sum((P[:, : T - 1] * eff) ** 2, axis=(1, 2)))


def authors_gd(kind: Kind, K: int, rng: np.random.Generator, *, steps: int | None = None, lr: float | None = None,
               d: int | None = None, H: int | None = None, T: int | None = None,
               alpha: float | None = None) -> Fig3Run:
    """Plain GD on :func:`coded_loss_and_grad` from ``K`` i.i.d. ``alpha * N(0, 1)``
    initialisations at once; every argument left ``None`` takes the authors' value
    (:data:`PROTOCOL`). The draw order is A, B, P of all seeds (reconstruction: numpy in place
    of the authors' ``jax.random.PRNGKey(0)``)."""
    one_of("kind", kind, ("unitary", "rotation"))
    rng = generator("rng", rng)
    K = positive_int("K", K)
    pr = PROTOCOL[kind]
    steps = int_at_least("steps", pr["steps"] if steps is None else steps, 0)
    lr = positive_float("lr", pr["lr"] if lr is None else lr)
    d = positive_int("d", pr["d"] if d is None else d)
    H = positive_int("H", pr["H"] if H is None else H)
    T = int_at_least("T", pr["T"] if T is None else T, 2)
    alpha = positive_float("alpha", pr["alpha"] if alpha is None else alpha)
    if kind == "rotation":
        plane_pattern(d)
    A = alpha * rng.standard_normal((K, H, d))
    B = alpha * rng.standard_normal((K, H, d))
    P = alpha * rng.standard_normal((K, T, T))
    Q0 = _Q(A, B, P)
    _gd_seeds(A, B, P, lr, steps, kind == "rotation")  # compiled, seeds on the cores in parallel
    loss, _ = coded_loss_and_grad(kind, A, B, P)
    if not np.all(np.isfinite(loss)):
        raise FloatingPointError(f"authors_gd({kind!r}) diverged; lower lr")
    return Fig3Run(kind, A, B, P, loss, steps, lr, Q0, _Q(A, B, P))


@numba.njit(cache=True, error_model="numpy")
def _gd_steps(A: np.ndarray, B: np.ndarray, P: np.ndarray, lr: float, steps: int, rot: bool) -> None:  # pragma: no cover
    """``steps`` GD updates of one seed in place, the gradient of :func:`coded_loss_and_grad`
    written out with loops (the in-plane partner of coordinate i is i ^ 1)."""
    H, d = A.shape
    T = P.shape[0]
    C = np.empty((d, d))
    G = np.empty((d, d))
    r = np.empty(d)
    f = np.empty(d)
    u = np.empty(T)
    gA = np.empty((H, d))
    gB = np.empty((H, d))
    gP = np.zeros((T, T))
    for _ in range(steps):
        for i in range(d):
            for k in range(d):
                acc = 0.0
                for h in range(H):
                    acc += B[h, i] * A[h, k]
                C[i, k] = acc
        t1 = t2 = tr = t3 = t4 = 0.0
        for i in range(d):
            acc = 0.0
            for k in range(d):
                acc += C[i, k]
                t2 += C[i, k] * C[i, k]
            r[i] = acc
            t1 += acc * acc
            tr += C[i, i]
            if rot:
                f[i] = C[i, i ^ 1]
                t3 += acc * f[i]
                t4 += f[i] * f[i]
        a1 = a2 = a3 = a4 = a5 = 0.0
        for t in range(T - 1):
            pq = P[t, t]
            a1 += pq * pq
            a5 += P[t, t + 1]
            ss = 0.0
            uu = 0.0
            for j in range(t + 2):
                if rot and j == t:
                    continue
                ss += P[t, j] * P[t, j]
                uu += P[t, j]
            u[t] = uu
            a2 += ss
            if rot:
                a3 += 2.0 * pq * uu
                a4 += uu * uu - ss
        for i in range(d):
            for k in range(d):
                g = 2.0 * a1 * r[i] + 2.0 * a2 * C[i, k]
                if i == k:
                    g -= 2.0 * a5
                if rot:
                    g += a3 * f[i]
                    if k == (i ^ 1):
                        g += a3 * r[i] + 2.0 * a4 * C[i, k]
                G[i, k] = g
        for h in range(H):
            for k in range(d):
                acc = 0.0
                acc2 = 0.0
                for i in range(d):
                    acc += B[h, i] * G[i, k]
                    acc2 += A[h, i] * G[k, i]
                gA[h, k] = acc
                gB[h, k] = acc2
        for t in range(T - 1):
            pq = P[t, t]
            for j in range(t + 2):
                p = P[t, j]
                if not rot:
                    g = 2.0 * p * t2
                    if j == t:
                        g += 2.0 * pq * t1
                elif j == t:
                    g = 2.0 * pq * t1 + 2.0 * t3 * u[t]
                else:
                    g = 2.0 * p * t2 + 2.0 * t3 * pq + 2.0 * t4 * (u[t] - p)
                if j == t + 1:
                    g -= 2.0 * tr
                gP[t, j] = g
        for h in range(H):
            for k in range(d):
                A[h, k] -= lr * gA[h, k]
                B[h, k] -= lr * gB[h, k]
        for t in range(T - 1):
            for j in range(t + 2):
                P[t, j] -= lr * gP[t, j]


@numba.njit(cache=True, parallel=True)
def _gd_seeds(A: np.ndarray, B: np.ndarray, P: np.ndarray, lr: float, steps: int, rot: bool) -> None:  # pragma: no cover
    """:func:`_gd_steps` for every seed, in parallel threads (independent runs)."""
    for k in numba.prange(A.shape[0]):
        _gd_steps(A[k], B[k], P[k], lr, steps, rot)


def measure(run: Fig3Run) -> dict[str, np.ndarray]:
    r"""Per seed: ``c`` ($\langle C, \Pi\rangle/\lVert\Pi\rVert^2$), ``residual``
    ($\lVert C - c\Pi\rVert/\lVert C\rVert$), ``cP`` (mean over rows of $c\,P_{t,t+1}$),
    ``cP_spread`` (max over rows of $|c\,P_{t,t+1} - 1|$), ``ratio`` (mean over rows of
    $P_{t,t}/P_{t,t+1}$), ``others_max`` (largest effective entry that is neither $P_{t,t+1}$
    nor, for rotations, $P_{t,t}$), ``offdiag`` (off-diagonal norm ratio of $AB^\top$) and
    ``loss``; each an array of shape (K,)."""
    A, B, P = run.A, run.B, run.P
    K, H, d = A.shape
    T = P.shape[1]
    Pi = projector(run.kind, d)  # type: ignore[arg-type]
    C = np.swapaxes(B, 1, 2) @ A  # (K, d, d)
    c = np.sum(C * Pi, axis=(1, 2)) / np.sum(Pi**2)  # (K,)
    resid = np.linalg.norm(C - c[:, None, None] * Pi, axis=(1, 2)) / np.linalg.norm(C, axis=(1, 2))
    eff, qm, nm = _masks(T)
    R = P[:, : T - 1] * eff  # (K, T-1, T)
    pn = np.sum(R * nm, axis=2)  # (K, T-1)
    pq = np.sum(R * qm, axis=2)  # (K, T-1)
    keep = eff - nm - (qm if run.kind == "rotation" else 0.0)
    M = A @ np.swapaxes(B, 1, 2)  # (K, H, H)   A B^T
    dg = np.einsum("khh->kh", M)
    off = np.sqrt(np.maximum(np.sum(M**2, axis=(1, 2)) - np.sum(dg**2, axis=1), 0.0)) / np.linalg.norm(M, axis=(1, 2))
    return {"c": c, "residual": resid, "cP": np.mean(c[:, None] * pn, axis=1),
            "cP_spread": np.max(np.abs(c[:, None] * pn - 1.0), axis=1), "ratio": np.mean(pq / pn, axis=1),
            "others_max": np.max(np.abs(R * keep), axis=(1, 2)), "offdiag": off, "loss": run.loss}
