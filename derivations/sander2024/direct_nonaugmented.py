r"""Direct numpy model of Sander et al. (2024) on non-augmented tokens: the diagonal multi-head
linear attention with a positional weight matrix (N0), its readouts, and GD on the reduced loss
(N1) for many initialisations at once.

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``. Where a
statement comes from is written out: "authors' code" (the repository ``michaelsdr/ical``),
"derived" (a derivation, the spec author's or ours, not quoted from the paper, whose body we
could not read), "reconstruction" (our choice where the sources are silent).

* :class:`DiagonalMultiHead` (spec 1.3 eq. (N0) (authors' ``unitary.py``/``pe_only.py``),
  loss 1.4, authors' theory scripts, init 1.5, authors' ``unitary.py``): at row $t$ (last key
  $n = t+1$, query $q = t$, keys $j = 0..t+1$) the prediction of $s_{t+2}$ is
  $\hat s_i = \sum_j P_{t,j} \sum_k C_{ik}\,\bar s_{q,k}\,s_{j,k}\,s_{j,i}$, $C = B^\top A$.
  Training goes through :func:`dynamics.direct.train`.
* :func:`C_matrix`, :func:`conserved`, :func:`head_offdiag_ratio`, :func:`c_scale`
  (spec 3.2, 3.3, 6, derived): invariants of the gradient flow and the structure of the
  minimisers, read from parameters.
* :func:`n1_gd_batch`, :func:`offdiag_ratio_batch` (spec 3.2, derived): full-batch GD on the
  closed-form (N1) loss from ``K`` initialisations at once (the law of the head subspace for
  $H > d$ needs hundreds of seeds). It is GD on the reduced loss, vectorised over seeds, with
  a stop at convergence, not a training loop of a direct model.

The closed forms ((N1) as a numpy oracle, the minimum loss, the $(H-d)/(H+2)$ law) are in
:mod:`.closed_forms`; the PE-only special case is :mod:`.direct_pe_only`.

Data convention: a mapping with ``"S"``, the sequences $s_0..s_T$ of shape
``(N, T+1, d)`` (complex for unitary $W$, real for rotation blocks or Haar $W$), and
optionally ``"weight"``, sample weights of shape ``(N,)`` (uniform if absent). Any object
with attributes ``S`` and ``weight`` works too. Losses are *weighted means* over sequences,
$\sum_n w_n \ell_n / \sum_n w_n$, so a minibatch of rows (``dynamics.direct.sample_batch``)
is again a valid batch.

Masking: ``P`` has shape ``(T, T)`` as in the authors' code; row $t \le T-2$ uses
``P[t, :t+2]`` and the last row ``T-1`` is never used (it would predict $s_{T+1}$). The
used ("effective") entries are :func:`pe_mask`; every other entry is multiplied by 0 in the
forward pass and gets an exactly zero gradient, so it never moves under GD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from derivations.sander2024.closed_forms import min_loss_formula
from dynamics.validate import int_at_least, nonnegative_float, positive_int

__all__ = [
    "DiagonalMultiHead",
    "C_matrix",
    "c_scale",
    "conserved",
    "head_offdiag_ratio",
    "n1_gd_batch",
    "offdiag_ratio_batch",
    "pe_mask",
]

Kind = Literal["unitary", "rotation"]


# ------------------------------------------------------------------------ helpers
def pe_mask(T: int) -> np.ndarray:
    r"""Boolean mask of the effective PE entries (spec 1.3, authors' code): ``P[t, j]`` with
    $t \le T-2$ and $j \le t+1$.

    Returns
    -------
    ndarray of bool, shape (T, T)
    """
    int_at_least("T", T, 2)
    t = np.arange(T)[:, None]  # (T, 1)
    j = np.arange(T)[None, :]  # (1, T)
    return (j <= t + 1) & (t <= T - 2)  # (T, T)


def _pe_names(T: int) -> list[tuple[int, int]]:
    """Effective PE entries ``(t, j)`` in row-major order."""
    return [(t, j) for t in range(T - 1) for j in range(t + 2)]


def _unpack(batch: Any, T: int, d: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Sequences ``(N, T+1, d)`` and normalised weights ``(N,)`` from a batch."""
    if isinstance(batch, Mapping):
        S = batch["S"]
        w = batch.get("weight")
    else:
        S = batch.S
        w = getattr(batch, "weight", None)
    S = np.asarray(S)  # (N, T+1, d)
    if S.ndim == 2:
        S = S[:, :, None]  # (N, T+1, 1)
    if S.ndim != 3 or S.shape[1] != T + 1 or (d is not None and S.shape[2] != d):
        want = f"(N, {T + 1}, {d if d is not None else 'd'})"
        raise ValueError(f"sequences S must have shape {want}, got {S.shape}")
    N = S.shape[0]
    w = np.full(N, 1.0 / N) if w is None else np.asarray(w, dtype=float)  # (N,)
    if w.shape != (N,):
        raise ValueError(f"weight must have shape ({N},), got {w.shape}")
    total = float(w.sum())
    if not (math.isfinite(total) and total > 0):
        raise ValueError(f"weights must have a positive finite sum, got {total}")
    return S, w / total  # (N, T+1, d), (N,)


def _n0_loss_and_grads(
    C: np.ndarray, Pm: np.ndarray, S: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Loss of (N0) summed over rows, and its gradients wrt ``C`` and the used PE rows.

    $\mathcal L = \sum_n w_n \sum_{t=0}^{T-2} \lVert \hat s^{(n)}_{t} - s^{(n)}_{t+2}\rVert^2$
    with $\hat s_{t,i} = \sum_k C_{ik}\,\bar s_{t,k}\, M_{t,k,i}$ and
    $M_{t,k,i} = \sum_j P_{t,j} s_{j,k} s_{j,i}$.

    Parameters
    ----------
    C : (d, d) real. Pm : (T-1, T) real, masked rows 0..T-2 of P.
    S : (N, T+1, d) real or complex. w : (N,) weights summing to 1.

    Returns
    -------
    loss, dL/dC (d, d), dL/dPm (T-1, T)
    """
    T = S.shape[1] - 1
    X = S[:, :T, :]  # (N, T, d)      keys s_0..s_{T-1}
    Qc = np.conj(S[:, : T - 1, :])  # (N, T-1, d)   conjugated queries s_t, t = 0..T-2
    Y = S[:, 2:, :]  # (N, T-1, d)    targets s_{t+2}
    M = np.einsum("tj,njk,nji->ntki", Pm, X, X, optimize=True)  # (N, T-1, d, d)
    s_hat = np.einsum("ik,ntk,ntki->nti", C, Qc, M, optimize=True)  # (N, T-1, d)
    R = s_hat - Y  # (N, T-1, d)
    loss = float(np.einsum("n,nti->", w, np.abs(R) ** 2))
    G = 2.0 * w[:, None, None] * np.conj(R)  # (N, T-1, d)  dL = Re sum G * d s_hat
    dC = np.real(np.einsum("nti,ntk,ntki->ik", G, Qc, M, optimize=True))  # (d, d)
    E = G[:, :, None, :] * Qc[:, :, :, None] * C.T[None, None, :, :]  # (N, T-1, d, d) [n,t,k,i]
    dPm = np.real(np.einsum("ntki,njk,nji->tj", E, X, X, optimize=True))  # (T-1, T)
    return loss, dC, dPm


# -------------------------------------------------------------------------- model N0
@dataclass(frozen=True)
class DiagonalMultiHead:
    r"""Diagonal multi-head linear attention with a positional weight matrix, eq. (N0) of
    spec 1.3 (authors' ``unitary.py``, ``pe_only.py``; the query convention derived).

    $$\hat s_{t+2} = \sum_{h=1}^{H}\sum_{j=0}^{t+1} P_{t,j}\,
      \big(\bar s_t^\top \mathrm{diag}(a_h)\, s_j\big)\,\mathrm{diag}(b_h)\, s_j,
      \qquad t = 0..T-2,$$

    i.e. $\hat s_{t+2,i} = \sum_j P_{t,j}\sum_k C_{ik}\,\bar s_{t,k}\, s_{j,k}\, s_{j,i}$ with
    $C = B^\top A$: the previous token $s_t$ is the query, $s_{t+1}$ the most recent key.
    Loss (spec 1.4, the theory scripts' convention, authors' code): the sum over rows
    $t = 0..T-2$ of the weighted mean over sequences of $\lVert\hat s_{t+2} - s_{t+2}\rVert^2$.

    Parameters ``{"A": (H, d), "B": (H, d), "P": (T, T)}``, all real; only the entries of
    :func:`pe_mask` of ``P`` act. Groups: ``A`` and ``B`` in ``"heads"``, ``P`` in ``"pe"``.

    Parameters
    ----------
    d : int
        Token dimension.
    H : int
        Number of heads.
    T : int
        Number of PE rows; sequences have ``T + 1`` states $s_0..s_T$ and ``T - 1`` rows
        are predicted.
    init_scale : float
        Standard deviation of the i.i.d. normal initial entries of ``A``, ``B``, ``P``
        (0.1 in the authors' ``unitary.py``/``orthogonal.py``, spec 1.5, authors' code).
    """

    d: int = 2
    H: int = 2
    T: int = 4
    init_scale: float = 0.1

    def __post_init__(self) -> None:
        positive_int("d", self.d)
        positive_int("H", self.H)
        int_at_least("T", self.T, 2)
        nonnegative_float("init_scale", self.init_scale)

    # -------------------------------------------------------------- configuration
    @property
    def groups(self) -> dict[str, str]:
        """Learning-rate groups: ``{"A": "heads", "B": "heads", "P": "pe"}``."""
        return {"A": "heads", "B": "heads", "P": "pe"}

    @property
    def mask(self) -> np.ndarray:
        """:func:`pe_mask` of ``T``, shape (T, T)."""
        return pe_mask(self.T)

    def init(self, rng: np.random.Generator, scale: float | None = None) -> dict[str, np.ndarray]:
        r"""I.i.d. $\mathcal N(0, \mathrm{scale}^2)$ entries for ``A``, ``B`` and all of ``P``
        (masked entries included, as in the authors' code; they never move).
        ``scale`` defaults to ``init_scale`` (0.1, spec 1.5, authors' code)."""
        s = self.init_scale if scale is None else float(scale)
        A = s * rng.standard_normal((self.H, self.d))  # (H, d)
        B = s * rng.standard_normal((self.H, self.d))  # (H, d)
        P = s * rng.standard_normal((self.T, self.T))  # (T, T)
        return {"A": A, "B": B, "P": P}

    def _check(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        A = np.asarray(params["A"], dtype=float)  # (H, d)
        B = np.asarray(params["B"], dtype=float)  # (H, d)
        P = np.asarray(params["P"], dtype=float)  # (T, T)
        H, d, T = self.H, self.d, self.T
        if A.shape != (H, d) or B.shape != (H, d) or P.shape != (T, T):
            raise ValueError(
                f"params must be A ({H}, {d}), B ({H}, {d}), P ({T}, {T}); got "
                f"A {A.shape}, B {B.shape}, P {P.shape}"
            )
        return A, B, P

    # ------------------------------------------------------------- forward / loss
    def predict(self, params: Mapping[str, np.ndarray], batch: Any) -> np.ndarray:
        r"""Predictions $\hat s_{t+2}$ of every row, eq. (N0).

        Returns
        -------
        ndarray, shape (N, T-1, d), same dtype kind as the sequences.
        """
        A, B, P = self._check(params)
        S, _ = _unpack(batch, self.T, self.d)  # (N, T+1, d)
        T = self.T
        C = B.T @ A  # (d, d)
        Pm = (P * self.mask)[: T - 1]  # (T-1, T)
        X = S[:, :T, :]  # (N, T, d)
        M = np.einsum("tj,njk,nji->ntki", Pm, X, X, optimize=True)  # (N, T-1, d, d)
        Qc = np.conj(S[:, : T - 1, :])  # (N, T-1, d)
        return np.einsum("ik,ntk,ntki->nti", C, Qc, M, optimize=True)  # (N, T-1, d)

    def loss_and_grad(
        self, params: Mapping[str, np.ndarray], batch: Any
    ) -> tuple[float, dict[str, np.ndarray]]:
        r"""$\mathcal L = \sum_{t=0}^{T-2} \sum_n w_n \lVert\hat s^{(n)}_{t+2} -
        s^{(n)}_{t+2}\rVert^2$ (spec 1.4, authors' theory scripts) and its hand-written gradient.

        With $G_C = \partial\mathcal L/\partial C$: $\nabla_A = B\,G_C$,
        $\nabla_B = A\,G_C^\top$; $\nabla_P$ is zero outside :func:`pe_mask`.
        """
        A, B, P = self._check(params)
        S, w = _unpack(batch, self.T, self.d)  # (N, T+1, d), (N,)
        T = self.T
        mask = self.mask  # (T, T)
        Pm = (P * mask)[: T - 1]  # (T-1, T)
        C = B.T @ A  # (d, d)
        loss, dC, dPm = _n0_loss_and_grads(C, Pm, S, w)  # (d, d), (T-1, T)
        grad_P = np.zeros((T, T))  # (T, T)
        grad_P[: T - 1] = dPm
        grad_P *= mask
        return loss, {"A": B @ dC, "B": A @ dC.T, "P": grad_P}  # (H, d), (H, d), (T, T)

    # ---------------------------------------------------------------- readouts
    def reduce(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Every entry of ``A`` and ``B`` and the effective entries of ``P``, named
        ``A{h}_{k}``, ``B{h}_{k}``, ``P{t}_{j}`` (0-based) in that order: the full
        coordinates, so that a GD run can be compared entry by entry with a reduced model
        written in the same coordinates (spec 3.5)."""
        A, B, P = self._check(params)
        out: dict[str, float] = {}
        for h in range(self.H):
            for k in range(self.d):
                out[f"A{h}_{k}"] = float(A[h, k])
        for h in range(self.H):
            for k in range(self.d):
                out[f"B{h}_{k}"] = float(B[h, k])
        for t, j in _pe_names(self.T):
            out[f"P{t}_{j}"] = float(P[t, j])
        return out

    def reduced_names(self) -> tuple[str, ...]:
        """Keys of :meth:`reduce`, in order."""
        return (
            tuple(f"A{h}_{k}" for h in range(self.H) for k in range(self.d))
            + tuple(f"B{h}_{k}" for h in range(self.H) for k in range(self.d))
            + tuple(f"P{t}_{j}" for t, j in _pe_names(self.T))
        )

    def observables(self, params: Mapping[str, np.ndarray], batch: Any) -> dict[str, float]:
        r"""``offdiag_ratio`` (:func:`head_offdiag_ratio`) and ``Q``
        ($\lVert A\rVert_F^2 + \lVert B\rVert_F^2 - 2\lVert P_{\rm eff}\rVert_F^2$,
        :func:`conserved`)."""
        return {"offdiag_ratio": head_offdiag_ratio(params), "Q": conserved(params)["Q"]}


# ------------------------------------------------------------ structure and formulas
def C_matrix(params: Mapping[str, np.ndarray]) -> np.ndarray:
    r"""$C = B^\top A$, the only combination of the head weights in (N0) (spec 1.3).

    Returns
    -------
    ndarray, shape (d, d)
    """
    A = np.asarray(params["A"], dtype=float)  # (H, d)
    B = np.asarray(params["B"], dtype=float)  # (H, d)
    return B.T @ A  # (d, d)


def head_offdiag_ratio(params: Mapping[str, np.ndarray]) -> float:
    r"""$\lVert\mathrm{offdiag}(AB^\top)\rVert_F / \lVert AB^\top\rVert_F$ (spec 3.2, 6.3,
    derived): 0 iff the heads are bi-orthogonal, $\langle a_h, b_{h'}\rangle = 0$ for
    $h \ne h'$; 0 for a zero matrix."""
    A = np.asarray(params["A"], dtype=float)  # (H, d)
    B = np.asarray(params["B"], dtype=float)  # (H, d)
    G = A @ B.T  # (H, H)
    total = float(np.linalg.norm(G))
    if total == 0.0:
        return 0.0
    off = G - np.diag(np.diag(G))  # (H, H)
    return float(np.linalg.norm(off)) / total


def c_scale(params: Mapping[str, np.ndarray], kind: Kind = "unitary") -> float:
    r"""The scale $c$ of the minimiser's $C = B^\top A$ (spec 3.2, 3.3, derived).

    ``"unitary"``: $C = c\,\Pi$ with $\Pi$ an orthogonal projector, so
    $c = \lVert C\rVert_F^2 / \mathrm{tr}\,C$. ``"rotation"``:
    $C = c\,\mathrm{blockdiag}(J_2, \dots)$ restricted to the served planes, so
    $c = \lVert C\rVert_F^2 / (2\,\mathrm{tr}\,C)$. At the minimum $c\,P_{t,t+1} = 1$.
    """
    C = C_matrix(params)  # (d, d)
    tr = float(np.trace(C))
    if tr == 0.0:
        return math.nan
    fro2 = float(np.sum(C**2))
    if kind == "unitary":
        return fro2 / tr
    if kind == "rotation":
        return fro2 / (2.0 * tr)
    raise ValueError(f"kind must be 'unitary' or 'rotation', got {kind!r}")


def conserved(params: Mapping[str, np.ndarray]) -> dict[str, float]:
    r"""Quantities conserved by the gradient flow of (N0) on *any* data (spec 3.2, 6.5,
    derived; GD drifts by $O(\eta)$).

    They come from the continuous symmetries of the model:

    * $(A, B) \mapsto (GA, G^{-\top}B)$, $G \in GL(H)$, leaves $C = B^\top A$ unchanged:
      $D = AA^\top - BB^\top$ is conserved (entries ``D{h}_{g}``, $h \le g$);
    * $(A, P) \mapsto (\gamma A, P/\gamma)$ and $(B, P) \mapsto (\gamma B, P/\gamma)$:
      ``QA`` $= \lVert A\rVert_F^2 - \lVert P_{\rm eff}\rVert_F^2$ and
      ``QB`` $= \lVert B\rVert_F^2 - \lVert P_{\rm eff}\rVert_F^2$ are conserved, hence the
      spec's ``Q`` $= \lVert A\rVert_F^2 + \lVert B\rVert_F^2 - 2\lVert P_{\rm eff}\rVert_F^2$
      (``QA - QB = tr D``, so one of them is redundant).

    $P_{\rm eff}$ is ``P`` restricted to :func:`pe_mask`.

    Returns
    -------
    dict of str to float
        ``Q``, ``QA``, ``QB``, then ``D{h}_{g}`` for $0 \le h \le g < H$.
    """
    A = np.asarray(params["A"], dtype=float)  # (H, d)
    B = np.asarray(params["B"], dtype=float)  # (H, d)
    P = np.asarray(params["P"], dtype=float)  # (T, T)
    p2 = float(np.sum((P * pe_mask(P.shape[0])) ** 2))
    a2, b2 = float(np.sum(A**2)), float(np.sum(B**2))
    out = {"Q": a2 + b2 - 2.0 * p2, "QA": a2 - p2, "QB": b2 - p2}
    D = A @ A.T - B @ B.T  # (H, H)
    for h in range(D.shape[0]):
        for g in range(h, D.shape[0]):
            out[f"D{h}_{g}"] = float(D[h, g])
    return out


# ------------------------------------------------------- heads beyond H = d (many seeds)
def n1_gd_batch(
    d: int,
    H: int,
    T: int,
    K: int,
    rng: np.random.Generator,
    scale: float = 0.05,
    lr: float = 0.05,
    tol: float = 1e-10,
    chunk: int = 250,
    max_steps: int = 20_000,
) -> dict[str, np.ndarray]:
    r"""Full-batch GD on the reduced loss (N1) (:func:`.closed_forms.n1_loss`) from ``K`` independent
    initialisations at once, until every run is within ``tol`` of the minimum
    :func:`.closed_forms.min_loss_formula` (checked every ``chunk`` steps) or ``max_steps``.

    Initial $A, B \in \mathbb R^{H \times d}$ and the effective PE entries are i.i.d.
    $\mathcal N(0, \mathrm{scale}^2)$, as :meth:`DiagonalMultiHead.init`. The gradient is
    the exact form of spec 3.2: $G_C = \sum_t (2 S_t C + 2 p_{t,q}^2 C\mathbf 1\mathbf 1^\top
    - 2 p_{t,n} I)$, $\nabla_A = B G_C$, $\nabla_B = A G_C^\top$, and per PE entry
    $2 p \lVert C\rVert_F^2$ ($j \ne q, n$), $2 p_q \lVert C\mathbf 1\rVert^2$,
    $2 p_n \lVert C\rVert_F^2 - 2\,\mathrm{tr}\,C$.

    Returns
    -------
    dict
        ``A``, ``B`` (K, H, d); ``P`` (K, T-1, T) (row $t$ uses entries $0..t+1$);
        ``loss`` (K,); ``steps`` (int); ``converged`` (K,) bool.
    """
    for name, v in (("d", d), ("H", H), ("K", K)):
        positive_int(name, v)
    int_at_least("T", T, 2)
    mask = pe_mask(T)[: T - 1].astype(float)  # (T-1, T)
    q = np.eye(T - 1, T)  # (T-1, T)   p_{t,t}: the query key
    n = np.eye(T - 1, T, k=1)  # (T-1, T)   p_{t,t+1}: the most recent key
    other = mask - q - n  # (T-1, T)
    A = scale * rng.standard_normal((K, H, d))  # (K, H, d)
    B = scale * rng.standard_normal((K, H, d))  # (K, H, d)
    P = scale * rng.standard_normal((K, T - 1, T)) * mask  # (K, T-1, T)
    eye = np.eye(d)  # (d, d)
    ones = np.ones((d, d))  # (d, d)
    floor = min_loss_formula("unitary", d, H, T)

    def loss_of(A: np.ndarray, B: np.ndarray, P: np.ndarray) -> np.ndarray:
        C = np.einsum("khi,khj->kij", B, A)  # (K, d, d)
        fro = np.sum(C**2, axis=(1, 2))  # (K,)
        c1 = np.sum(C.sum(axis=2) ** 2, axis=1)  # (K,)
        tr = np.trace(C, axis1=1, axis2=2)  # (K,)
        S = np.sum(P**2 * (other + n), axis=(1, 2))  # (K,)
        pq2 = np.sum(P**2 * q, axis=(1, 2))  # (K,)
        pn = np.sum(P * n, axis=(1, 2))  # (K,)
        return S * fro + pq2 * c1 - 2.0 * pn * tr + (T - 1) * d  # (K,)

    steps = 0
    loss = loss_of(A, B, P)
    while steps < max_steps and np.max(loss - floor) > tol:
        for _ in range(chunk):
            C = np.einsum("khi,khj->kij", B, A)  # (K, d, d)
            fro = np.sum(C**2, axis=(1, 2))  # (K,)
            c1 = np.sum(C.sum(axis=2) ** 2, axis=1)  # (K,)
            tr = np.trace(C, axis1=1, axis2=2)  # (K,)
            S = np.sum(P**2 * (other + n), axis=(1, 2))  # (K,)   sum over j != q
            pq2 = np.sum(P**2 * q, axis=(1, 2))  # (K,)
            pn = np.sum(P * n, axis=(1, 2))  # (K,)
            GC = (2.0 * S[:, None, None] * C + 2.0 * pq2[:, None, None] * (C @ ones)
                  - 2.0 * pn[:, None, None] * eye)  # (K, d, d)
            gA = np.einsum("khi,kij->khj", B, GC)  # (K, H, d)
            gB = np.einsum("khj,kij->khi", A, GC)  # (K, H, d)
            gP = (2.0 * P * (other + n) * fro[:, None, None] + 2.0 * P * q * c1[:, None, None]
                  - 2.0 * n * tr[:, None, None])  # (K, T-1, T)
            A, B, P = A - lr * gA, B - lr * gB, P - lr * gP
        steps += chunk
        loss = loss_of(A, B, P)
        if not np.all(np.isfinite(loss)):
            raise FloatingPointError("n1_gd_batch diverged; lower lr")
    return {"A": A, "B": B, "P": P, "loss": loss, "steps": steps,
            "converged": loss - floor <= tol}


def offdiag_ratio_batch(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    r""":func:`head_offdiag_ratio` for a batch: $A, B$ of shape (K, H, d); returns (K,)."""
    M = np.einsum("khi,kgi->khg", A, B)  # (K, H, H)   A B^T
    diag = np.einsum("khh->kh", M)  # (K, H)
    off2 = np.sum(M**2, axis=(1, 2)) - np.sum(diag**2, axis=1)  # (K,)
    return np.sqrt(np.maximum(off2, 0.0) / np.sum(M**2, axis=(1, 2)))  # (K,)


