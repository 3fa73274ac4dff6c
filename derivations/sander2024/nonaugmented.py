r"""Direct numpy models of Sander et al. (2024), non-augmented tokens: the diagonal multi-head
linear attention with a positional weight matrix (N0) and the PE-only attention of Fig. 6.

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``. Where a
statement comes from is written out: "authors' code" (the repository ``michaelsdr/ical``),
"derived" (a derivation, the spec author's or ours, not quoted from the paper, whose body we
could not read), "reconstruction" (our choice where the sources are silent).

* :class:`DiagonalMultiHead` (spec 1.3 eq. (N0) (authors' ``unitary.py``/``pe_only.py``),
  loss 1.4, authors' theory scripts, init 1.5, authors' ``unitary.py``): at row $t$ (last key
  $n = t+1$, query $q = t$, keys $j = 0..t+1$) the prediction of $s_{t+2}$ is
  $\hat s_i = \sum_j P_{t,j} \sum_k C_{ik}\,\bar s_{q,k}\,s_{j,k}\,s_{j,i}$, $C = B^\top A$.
* :func:`n1_loss` (spec 3.2 eq. (N1), derived): its exact population loss on commuting
  unitary data with unit-modulus $s_0$, a numpy oracle.
* :func:`min_loss_formula`, :func:`conserved`, :func:`head_offdiag_ratio`,
  :func:`c_scale` (spec 3.2, 3.3, 6, derived): global minima, invariants of the gradient
  flow, and the structure of the minimisers.
* :class:`PEOnly`, :func:`pe_only_data`, :func:`pe_only_quadrature`,
  :func:`pe_only_population_loss`, :func:`oscillation_frequency` (spec 3.4; authors'
  ``pe_only.py``, and derived): (N0) with $d = 1$, $a = b = 1$ and only $P$ trained.

Data convention (both models): a mapping with ``"S"``, the sequences $s_0..s_T$ of shape
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

__all__ = [
    "DiagonalMultiHead",
    "PEOnly",
    "C_matrix",
    "c_scale",
    "conserved",
    "head_offdiag_ratio",
    "min_loss_formula",
    "n1_loss",
    "oscillation_frequency",
    "pe_mask",
    "pe_only_data",
    "pe_only_population_loss",
    "pe_only_profile",
    "pe_only_quadrature",
    "train_until",
]

Kind = Literal["unitary", "rotation"]
Reduction = Literal["mean", "sum"]


# ------------------------------------------------------------------------ helpers
def pe_mask(T: int) -> np.ndarray:
    r"""Boolean mask of the effective PE entries (spec 1.3, authors' code): ``P[t, j]`` with
    $t \le T-2$ and $j \le t+1$.

    Returns
    -------
    ndarray of bool, shape (T, T)
    """
    if isinstance(T, bool) or not isinstance(T, int | np.integer) or T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T!r}")
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
        for name in ("d", "H"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if isinstance(self.T, bool) or not isinstance(self.T, int) or self.T < 2:
            raise ValueError(f"T must be an integer >= 2, got {self.T!r}")
        if not (math.isfinite(self.init_scale) and self.init_scale >= 0):
            raise ValueError(f"init_scale must be finite and >= 0, got {self.init_scale!r}")

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


def min_loss_formula(kind: Kind, d: int, H: int, T: int) -> float:
    r"""Global minimum of the population loss of (N0), summed over the $T-1$ rows (spec 3.2,
    3.3; derived, checked numerically).

    * ``"unitary"`` (complex diagonal $W$, unit-modulus $s_0$): $(T-1)(d - \min(H, d))$;
    * ``"rotation"`` (real $2\times 2$ rotation blocks, $s_0 = \mathbf 1$):
      $(T-1)\max(d - 2H, 0)$.
    """
    if kind == "unitary":
        return float((T - 1) * (d - min(H, d)))
    if kind == "rotation":
        return float((T - 1) * max(d - 2 * H, 0))
    raise ValueError(f"kind must be 'unitary' or 'rotation', got {kind!r}")


def n1_loss(C: np.ndarray, P: np.ndarray, T: int) -> float:
    r"""The reduced population loss (N1) of spec 3.2 (derived, checked numerically), summed over rows.

    $$\mathcal L = \sum_{t=0}^{T-2}\Big[\Big(\sum_{j \ne q} p_j^2\Big)\lVert C\rVert_F^2
      + p_q^2\,\lVert C\mathbf 1\rVert^2 - 2\,p_n\,\mathrm{tr}\,C + d\Big],
      \qquad p = P_{t, 0:t+2},\ q = t,\ n = t+1,$$

    the exact loss of (N0) for $W = \mathrm{diag}(e^{i\theta_k})$, $\theta_k$ i.i.d. uniform,
    and unit-modulus $s_0$. A numpy oracle (the sympy derivation is
    :mod:`derivations.sander2024.reduced`).

    Parameters
    ----------
    C : ndarray, shape (d, d)
    P : ndarray, shape (T, T) (only :func:`pe_mask` entries are read)
    T : int
    """
    C = np.asarray(C, dtype=float)  # (d, d)
    P = np.asarray(P, dtype=float)  # (T, T)
    if C.ndim != 2 or C.shape[0] != C.shape[1] or P.shape != (T, T):
        raise ValueError(f"need C (d, d) and P ({T}, {T}); got C {C.shape}, P {P.shape}")
    d = C.shape[0]
    fro2 = float(np.sum(C**2))
    c1 = float(np.sum(C.sum(axis=1) ** 2))  # ||C 1||^2
    tr = float(np.trace(C))
    total = 0.0
    for t in range(T - 1):
        p = P[t, : t + 2]  # (t+2,)
        q, n = t, t + 1
        others = float(np.sum(p**2) - p[q] ** 2)
        total += others * fro2 + p[q] ** 2 * c1 - 2.0 * p[n] * tr + d
    return total


# ---------------------------------------------------------------------- PE-only
@dataclass(frozen=True)
class PEOnly:
    r"""PE-only linear attention (spec 1.3 M-PE-only, 3.4, authors' ``pe_only.py``): (N0) with
    $d = 1$ (complex), one head and $a = b = 1$, so row $t$ predicts
    $\hat s_{t+2} = \sum_{j \le t+1} P_{t,j}\,\bar s_t\, s_j^2$; parameters ``{"P": (T, T)}``
    masked by :func:`pe_mask` (group ``"pe"``).

    Loss: $\frac{1}{Z}\sum_{t=0}^{T-2} \sum_n w_n |\hat s^{(n)}_{t+2} - s^{(n)}_{t+2}|^2$ with
    ``reduction="mean"``: $Z = T-1$, the authors' ``d * mean`` over sequences and rows with
    $d = 1$ (the convention their lr 0.5 and stopping rule ``loss < 1e-3`` refer to), or
    ``reduction="sum"``: $Z = 1$, the theory scripts' sum over rows (equal to
    :class:`DiagonalMultiHead` with ``A = B = [[1]]``).

    Parameters
    ----------
    T : int
        Number of PE rows; sequences have $T+1$ states (the authors use $T = 30$).
    reduction : ``"mean"`` or ``"sum"``
    init_scale : float
        Standard deviation of the normal initial entries; 0 (default) is the authors'
        $P = 0$.
    """

    T: int = 30
    reduction: Reduction = "mean"
    init_scale: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.T, bool) or not isinstance(self.T, int) or self.T < 2:
            raise ValueError(f"T must be an integer >= 2, got {self.T!r}")
        if self.reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {self.reduction!r}")
        if not (math.isfinite(self.init_scale) and self.init_scale >= 0):
            raise ValueError(f"init_scale must be finite and >= 0, got {self.init_scale!r}")

    @property
    def groups(self) -> dict[str, str]:
        """Learning-rate groups: ``{"P": "pe"}``."""
        return {"P": "pe"}

    def init(self, rng: np.random.Generator, scale: float | None = None) -> dict[str, np.ndarray]:
        """Zeros (the authors' init) or i.i.d. $\\mathcal N(0, \\mathrm{scale}^2)$."""
        s = self.init_scale if scale is None else float(scale)
        if s == 0:
            return {"P": np.zeros((self.T, self.T))}  # (T, T)
        return {"P": s * rng.standard_normal((self.T, self.T))}  # (T, T)

    def _P(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        P = np.asarray(params["P"], dtype=float)  # (T, T)
        if P.shape != (self.T, self.T):
            raise ValueError(f"P must have shape ({self.T}, {self.T}), got {P.shape}")
        return P

    def loss_and_grad(
        self, params: Mapping[str, np.ndarray], batch: Any
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss of the class docstring and its hand-written gradient (zero off the mask)."""
        P = self._P(params)
        S, w = _unpack(batch, self.T, 1)  # (N, T+1, 1), (N,)
        T = self.T
        mask = pe_mask(T)  # (T, T)
        Pm = (P * mask)[: T - 1]  # (T-1, T)
        loss, _, dPm = _n0_loss_and_grads(np.ones((1, 1)), Pm, S, w)  # (T-1, T)
        z = float(T - 1) if self.reduction == "mean" else 1.0
        grad_P = np.zeros((T, T))  # (T, T)
        grad_P[: T - 1] = dPm / z
        grad_P *= mask
        return loss / z, {"P": grad_P}

    def reduce(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        """The effective entries ``P{t}_{j}`` (0-based, row-major)."""
        P = self._P(params)
        return {f"P{t}_{j}": float(P[t, j]) for t, j in _pe_names(self.T)}


def pe_only_data(mu: float, T: int, N: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    r"""Monte-Carlo PE-only data (spec 1.1, 3.4, authors' ``pe_only.py``): $s_t = \lambda^t$,
    $t = 0..T$, with $\lambda = e^{i\theta/\mu}$, $\theta \sim U(0, 2\pi)$, $s_0 = 1$, no
    noise.

    Returns
    -------
    dict
        ``"S"``: complex (N, T+1, 1); ``"weight"``: (N,) all $1/N$; ``"theta"``: (N,).
    """
    if not (math.isfinite(mu) and mu > 0):
        raise ValueError(f"mu must be positive and finite, got {mu!r}")
    theta = rng.uniform(0.0, 2.0 * np.pi, size=N)  # (N,)
    return _pe_only_sequences(theta, np.full(N, 1.0 / N), mu, T)


def pe_only_quadrature(
    mu: float, T: int, n: int = 64, rule: Literal["gauss", "uniform"] = "gauss"
) -> dict[str, np.ndarray]:
    r"""Deterministic PE-only data whose weighted means are the population expectations over
    $\theta \sim U(0, 2\pi)$ (spec 3.4).

    The integrands are trigonometric polynomials in $\phi = \theta/\mu$ with integer
    frequencies $|k| \le 2T$, so in $\theta$ they have frequencies $k/\mu$ and are **not**
    $2\pi$-periodic when $\mu > 1$: a uniform grid is then only a midpoint rule
    (error $O(n^{-2})$).

    * ``rule="gauss"`` (default): Gauss-Legendre nodes on $[0, 2\pi)$, exact for
      polynomials of degree $< 2n$; the integrand is entire with phase range
      $\le 2T \cdot 2\pi/\mu$, so the error is at round-off once
      $n \gtrsim 2T\pi/\mu + 10$ (64 nodes suffice for $T \le 30$, $\mu \ge 1$).
    * ``rule="uniform"``: midpoint grid $\theta_m = 2\pi(m + 1/2)/n$, equal weights;
      exact only for $\mu = 1$ and $n > 2T+2$ (full circle).

    Returns
    -------
    dict
        ``"S"``: complex (n, T+1, 1); ``"weight"``: (n,) summing to 1; ``"theta"``: (n,).
    """
    if not (math.isfinite(mu) and mu > 0):
        raise ValueError(f"mu must be positive and finite, got {mu!r}")
    if rule == "gauss":
        x, wx = np.polynomial.legendre.leggauss(n)  # (n,), (n,)
        theta = np.pi * (x + 1.0)  # (n,)
        w = wx / 2.0  # (n,)
    elif rule == "uniform":
        theta = 2.0 * np.pi * (np.arange(n) + 0.5) / n  # (n,)
        w = np.full(n, 1.0 / n)  # (n,)
    else:
        raise ValueError(f"rule must be 'gauss' or 'uniform', got {rule!r}")
    return _pe_only_sequences(theta, w, mu, T)


def _pe_only_sequences(
    theta: np.ndarray, w: np.ndarray, mu: float, T: int
) -> dict[str, np.ndarray]:
    lam = np.exp(1j * theta / mu)  # (N,)
    S = lam[:, None] ** np.arange(T + 1)[None, :]  # (N, T+1)
    return {"S": S[:, :, None], "weight": w, "theta": theta}  # (N, T+1, 1), (N,), (N,)


def pe_only_population_loss(P: np.ndarray, mu: float, reduction: Reduction = "mean") -> float:
    r"""Closed-form population loss of :class:`PEOnly` (spec 3.4, derived), an oracle.

    With $\phi = \theta/\mu \sim U[0, a)$, $a = 2\pi/\mu$, row $t$ has features
    $e^{i(2j - t)\phi}$ and target $e^{i(t+2)\phi}$, so
    $\ell_t = \sum_{j,l} p_j p_l\,\mathrm{Re}\,m(e_j - e_l) - 2\sum_j p_j\,\mathrm{Re}\,
    m(e_j - t - 2) + 1$ with $e_j = 2j - t$ and the moments
    $m(k) = \mathbb E\,e^{ik\phi} = (e^{ika} - 1)/(ika)$, $m(0) = 1$.
    """
    P = np.asarray(P, dtype=float)  # (T, T)
    T = P.shape[0]
    a = 2.0 * np.pi / mu

    def re_m(k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=float)  # (...)
        safe = np.where(k == 0, 1.0, k)  # (...)
        return np.where(k == 0, 1.0, np.sin(safe * a) / (safe * a))  # (...) Re m(k)

    total = 0.0
    for t in range(T - 1):
        p = P[t, : t + 2]  # (t+2,)
        e = 2.0 * np.arange(t + 2) - t  # (t+2,)
        G = re_m(e[:, None] - e[None, :])  # (t+2, t+2)
        b = re_m(e - (t + 2))  # (t+2,)
        total += float(p @ G @ p - 2.0 * p @ b + 1.0)
    return total / (T - 1) if reduction == "mean" else total


def pe_only_profile(P: np.ndarray, t: int | None = None) -> np.ndarray:
    r"""The plotted PE profile of row $t$ (spec 3.4, authors' ``pe_only.py``): ``P[t, :t+1]``,
    the super-diagonal $P_{t,t+1}$ (the main weight) dropped, as the authors' plots of
    ``(P * tril(ones))[:-1, :-1][-1]`` do. Default row $t = T-2$, the last used one.

    Returns
    -------
    ndarray, shape (t+1,)
    """
    P = np.asarray(P, dtype=float)  # (T, T)
    T = P.shape[0]
    t = T - 2 if t is None else int(t)
    if not 0 <= t <= T - 2:
        raise ValueError(f"row t must lie in 0..{T - 2}, got {t}")
    return P[t, : t + 1].copy()  # (t+1,)


def oscillation_frequency(
    profile: np.ndarray, method: Literal["fft", "sign"] = "fft", pad: int = 64
) -> float:
    r"""Dominant frequency of a PE row profile, in cycles per position (spec 3.4, 6.9; the
    measure is ours, the paper's plots are only looked at).

    * ``"fft"`` (default): the profile minus its mean is zero-padded to ``pad`` times its
      length $L$ and the frequency of the largest $|\mathrm{FFT}|$ peak in $(0, 1/2]$ is
      returned (resolution $1/(\mathrm{pad}\,L)$); 0 for a constant profile. A monotone
      ramp reads as about half a cycle over the profile, $\approx 0.7/L$, so on short
      profiles the measure saturates at that floor for large $\mu$.
    * ``"sign"``: the number of sign changes of the profile minus its mean, divided by
      $2(L-1)$ (a cosine of frequency $f$ changes sign about $2f(L-1)$ times); exact zeros
      are skipped. Coarse (steps of $1/(2(L-1))$) but assumption-free.

    Parameters
    ----------
    profile : ndarray, shape (L,), L >= 3
        Typically :func:`pe_only_profile` (super-diagonal dropped, as in the plots).
    method : ``"fft"`` or ``"sign"``
    pad : int
        Zero-padding factor for ``"fft"``.
    """
    x = np.asarray(profile, dtype=float).ravel()  # (L,)
    L = x.size
    if L < 3:
        raise ValueError(f"profile must have at least 3 entries, got {L}")
    y = x - x.mean()  # (L,)
    if method == "sign":
        s = np.sign(y[y != 0])  # (L',)
        return float(np.sum(s[1:] != s[:-1])) / (2.0 * (L - 1))
    if method != "fft":
        raise ValueError(f"method must be 'fft' or 'sign', got {method!r}")
    if np.max(np.abs(y)) <= 1e-12 * max(float(np.max(np.abs(x))), 1e-300):
        return 0.0
    n = int(pad) * L
    spec = np.abs(np.fft.rfft(y, n=n))  # (n//2+1,)
    freqs = np.fft.rfftfreq(n)  # (n//2+1,)
    k = int(np.argmax(spec[1:])) + 1
    return float(freqs[k])


def train_until(
    model: Any,
    params: Mapping[str, np.ndarray],
    data: Any,
    lr: float,
    tol: float = 1e-3,
    max_steps: int = 100_000,
) -> tuple[dict[str, np.ndarray], int, float]:
    r"""Full-batch GD until the loss falls below ``tol`` (the early stopping of
    ``pe_only.py``, spec 1.5, authors' code), at most ``max_steps`` updates.

    The loss is evaluated before each update; the loop stops, without updating, at the
    first state with loss $<$ ``tol`` (the authors' loop does one extra update).

    Returns
    -------
    params : dict of str to ndarray
        The final parameters (copies).
    steps : int
        Number of updates done.
    loss : float
        Loss of the returned parameters.
    """
    theta = {k: np.array(v, dtype=float, copy=True) for k, v in params.items()}
    loss, grads = model.loss_and_grad(theta, data)
    k = 0
    while loss >= tol and k < max_steps:
        for name, g in grads.items():
            theta[name] = theta[name] - lr * g
        k += 1
        loss, grads = model.loss_and_grad(theta, data)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss became non-finite at step {k}; lower lr")
    return theta, k, float(loss)


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
    r"""Full-batch GD on the reduced loss (N1) (:func:`n1_loss`) from ``K`` independent
    initialisations at once, until every run is within ``tol`` of the minimum
    :func:`min_loss_formula` (checked every ``chunk`` steps) or ``max_steps``.

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
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(T, bool) or not isinstance(T, int | np.integer) or T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T!r}")
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


def leverage_offdiag_r2(A: np.ndarray) -> np.ndarray:
    r"""The squared off-diagonal ratio a balanced minimiser would have: with $B = \pm A$ and
    $B^\top A = c I_d$, $A B^\top = c\,UU^\top$ ($U$ an orthonormal basis of the column space
    of $A$), so $r^2 = 1 - \sum_h \ell_h^2 / d$ with the leverage scores
    $\ell_h = \lVert U^\top e_h\rVert^2$ (derived). ``A``: (K, H, d); returns (K,)."""
    U, _ = np.linalg.qr(A)  # (K, H, d)
    lev = np.sum(U**2, axis=2)  # (K, H)
    d = A.shape[2]
    return 1.0 - np.sum(lev**2, axis=1) / d  # (K,)


def haar_offdiag_r2_mean(d: int, H: int) -> float:
    r"""$\mathbb E\,r^2 = (H - d)/(H + 2)$ for $H \ge d$ (derived): the expected squared
    off-diagonal ratio of $AB^\top = c\,UU^\top$ when the column space of $U$ is uniform
    (Haar) on the Grassmannian of $d$-planes in $\mathbb R^H$.

    Why uniform: (N1) depends on $A, B$ only through $C = B^\top A$, invariant under
    $(A, B) \mapsto (OA, OB)$, $O \in O(H)$, and the i.i.d. normal initialisation is
    $O(H)$-invariant, so the law of the trained $(A, B)$ is $O(H)$-invariant. Each leverage
    score is then $\mathrm{Beta}(d/2, (H-d)/2)$, with $\mathbb E\ell = d/H$ and
    $\mathrm{Var}\,\ell = 2d(H-d)/(H^2(H+2))$, so
    $\mathbb E\sum_h\ell_h^2/d = d/H + 2(H-d)/(H(H+2))$ and $\mathbb E r^2 = (H-d)/(H+2)$.
    """
    if H < d:
        raise ValueError(f"need H >= d, got d={d}, H={H}")
    return (H - d) / (H + 2)


def haar_offdiag_r2_sd(d: int, H: int, rng: np.random.Generator, n: int = 100_000) -> float:
    r"""Standard deviation of $r^2 = 1 - \sum_h\ell_h^2/d$ for a Haar-uniform $d$-plane in
    $\mathbb R^H$, by sampling that law exactly (``n`` planes from the QR of Gaussian
    matrices); $n = 10^5$ gives it to about 0.3 %."""
    U, _ = np.linalg.qr(rng.standard_normal((n, H, d)))  # (n, H, d)
    lev = np.sum(U**2, axis=2)  # (n, H)
    return float(np.std(1.0 - np.sum(lev**2, axis=1) / d))


# ------------------------------------------------------- PE-only: steps to the threshold
def _pe_row_moments(
    mu: float, T: int, theta: np.ndarray | None, weights: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Per row $t$ the Gram matrix $G_{jl} = \mathrm{Re}\,\mathbb E\,e^{i(e_l - e_j)\phi}$
    and $b_j = \mathrm{Re}\,\mathbb E\,e^{i(t + 2 - e_j)\phi}$, $e_j = 2j - t$, $\phi =
    \theta/\mu$. Both only need the moments $c_k = \mathrm{Re}\,\mathbb E e^{ik\phi}$,
    $k = 0..2T$: in closed form, $\sin(ka)/(ka)$ with $a = 2\pi/\mu$ (population,
    ``theta=None``), or as weighted means of $\cos(k\theta/\mu)$ over the angles
    ``theta``. $G_t$ is Toeplitz: $G_{jl} = c_{2|l - j|}$, $b_j = c_{2(t + 1 - j)}$."""
    ks = np.arange(2 * T + 1, dtype=float)  # (2T+1,)
    if theta is None:
        x = ks * (2.0 * np.pi / mu)  # (2T+1,)
        c = np.where(ks == 0, 1.0, np.sin(x) / np.where(ks == 0, 1.0, x))  # (2T+1,)
    else:
        phi = np.asarray(theta, dtype=float).ravel() / mu  # (N,)
        w = (np.full(phi.size, 1.0 / phi.size) if weights is None
             else np.asarray(weights, dtype=float) / np.sum(weights))  # (N,)
        c = np.cos(ks[:, None] * phi[None, :]) @ w  # (2T+1,)
    out = []
    for t in range(T - 1):
        j = np.arange(t + 2)  # (t+2,)
        G = c[2 * np.abs(j[None, :] - j[:, None])]  # (t+2, t+2)
        b = c[2 * (t + 1 - j)]  # (t+2,)
        out.append((G, b))
    return out


def pe_only_spectra(
    mu: float, T: int, theta: np.ndarray | None = None, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenvalues $\lambda_i$ and squared projections $\beta_i^2 = (u_i^\top b_t)^2$ of
    every row's quadratic $\ell_t(p) = p^\top G_t p - 2 b_t^\top p + 1$ of :class:`PEOnly`,
    concatenated over rows $t = 0..T-2$ (negative round-off eigenvalues set to 0).
    Population moments (closed form) when ``theta`` is None, else the weighted empirical
    moments of those angles. Returns two arrays of shape (M,), $M = \sum_t (t+2)$."""
    lams, betas = [], []
    for G, b in _pe_row_moments(mu, T, theta, weights):
        lam, U = np.linalg.eigh(G)  # (m,), (m, m)
        lams.append(np.maximum(lam, 0.0))
        betas.append((U.T @ b) ** 2)
    return np.concatenate(lams), np.concatenate(betas)


def pe_only_gd_loss_curve(
    spectra: tuple[np.ndarray, np.ndarray],
    T: int,
    lr: float,
    steps: np.ndarray,
    reduction: Reduction = "mean",
) -> np.ndarray:
    r"""The loss of GD from $P = 0$ on :class:`PEOnly` after ``steps`` updates, in closed
    form (derived) from the row spectra of :func:`pe_only_spectra`. With
    $h = 2\,\mathrm{lr}/Z$ ($Z = T - 1$ for ``"mean"``, 1 for ``"sum"``), row $t$'s
    coordinates along the eigenvectors $u_i$ of $G_t$ move as
    $(\beta_i/\lambda_i)(1 - (1 - h\lambda_i)^k)$, so

    $$ \mathcal L_k = \frac1Z\Big[(T - 1) - \sum_{t,i} \beta_i^2\,
       \frac{1 - (1 - h\lambda_i)^{2k}}{\lambda_i}\Big] $$

    (evaluated with ``expm1``/``log1p``, stable for $\lambda_i \to 0$, where the fraction
    tends to $2hk$).

    Returns
    -------
    ndarray, shape like ``steps``
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    lam, beta2 = spectra  # (M,), (M,)
    Z = float(T - 1) if reduction == "mean" else 1.0
    h = 2.0 * lr / Z
    k = np.asarray(steps, dtype=float)  # (S,)
    x = np.log1p(-h * lam + 0j)  # (M,)  complex when h lam > 1 (an alternating mode)
    frac = np.real(-np.expm1(2.0 * k[..., None] * x))  # (S, M)  1 - (1 - h lam)^{2k}
    pos = lam > 0
    g = np.where(pos, frac / np.where(pos, lam, 1.0), 2.0 * h * k[..., None])  # (S, M)
    return ((T - 1) - g @ beta2) / Z


def pe_only_steps_to(
    spectra: tuple[np.ndarray, np.ndarray],
    T: int,
    lr: float,
    tol: float = 1e-3,
    reduction: Reduction = "mean",
    max_steps: int = 100_000,
) -> int:
    r"""The number of GD updates from $P = 0$ after which the loss first falls below ``tol``
    (the stopping rule of the authors' ``pe_only.py``, counted as :func:`train_until` does),
    from :func:`pe_only_gd_loss_curve` (derived, no training). If every $h\lambda_i < 2$ the
    loss decreases monotonically in $k$ (each factor $(1 - h\lambda_i)^2 < 1$), so the first
    crossing is found by bisection. Returns ``max_steps + 1`` if it is not reached (or if GD
    diverges, $h\lambda_i \ge 2$)."""
    if np.max(2.0 * lr / (T - 1 if reduction == "mean" else 1) * spectra[0]) >= 2.0:
        return max_steps + 1

    def f(k: int) -> float:
        return float(pe_only_gd_loss_curve(spectra, T, lr, np.array([k]), reduction)[0])

    if f(0) < tol:
        return 0
    if f(max_steps) >= tol:
        return max_steps + 1
    lo, hi = 0, max_steps  # f(lo) >= tol, f(hi) < tol
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) < tol:
            hi = mid
        else:
            lo = mid
    return hi
