r"""Direct numpy models of Sander et al. (2024) on augmented tokens: the block-structured
linear attention (A0) and the unconstrained one-layer linear attention (spec 1.2, 1.3).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``. Where a
statement comes from is written out: "authors' code" (the repository ``michaelsdr/ical``),
"derived" (a derivation, the spec author's or ours, not quoted from the paper, whose body we
could not read), "reconstruction" (our choice where the sources are silent).

Conventions (:mod:`.data`). ``S`` holds states $s_0..s_T$, shape ``(N, T + 1, d)``. *Position* $t$
($0 \le t \le T-1$) reads the tokens up to $e_t$ and predicts $s_{t+1}$; its in-context
pairs are $(s_{t'-1}, s_{t'})$, $t' = 1..t$ (position 0 has none). Predictions have shape
``(N, T, d)``, entry ``[:, t]`` predicting $s_{t+1}$. Losses are
$\mathcal L = \sum_n w_n \sum_{t \in P} \|\hat s_{t+1} - s_{t+1}\|^2$ (complex modulus) over
the positions $P$ (default all, as the authors' code trains every position,
``augmented.py``), with the sequence weights of a :class:`~.data.SeqData`.

Parameters are real. For complex data $\partial |r|^2 = 2\,\mathrm{Re}(\bar r\,\partial r)$, so
every gradient below is $2\,\mathrm{Re}$ of a contraction with $\bar r$. Training goes through
:func:`dynamics.direct.train`.

* :func:`augment` (spec 1.2, authors' code): $e_t = (0_d, s_t, s_{t-1})$.
* :class:`BlockLinearAttention` (spec 1.3 (A0), derived):
  $\hat s_{t+1} = B\,\bigl(\sum_{t'=1}^{t} s_{t'} s_{t'-1}^*\bigr) A\,s_t$.
* :class:`LinearAttention` (spec 1.3 M-aug, derived):
  $\hat s_{t+1} = V \Sigma_t K \bar e_t$, $\bar e_t = (s_t, s_{t-1})$,
  $\Sigma_t = \sum_{t' \le t} \bar e_{t'} \bar e_{t'}^*$.
* :func:`block_minimise`: an L-BFGS search for the minimum of the block model's loss (a check
  of a trained end state and a search for other minima, not a training loop).

The one-step-GD predictor and its optimal steps are in :mod:`.closed_forms`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from derivations.sander2024.data import (
    SeqData,
    as_seqdata,
    as_states,
    check_positions,
    position_mask,
)
from dynamics.validate import nonnegative_float, one_of, positive_int

__all__ = [
    "BlockLinearAttention",
    "LinearAttention",
    "augment",
    "block_minimise",
    "block_to_linear",
]

Init = Literal["normal", "identity"]


# ---------------------------------------------------------------------- helpers
def _check_square(M: Any, n: int, name: str, cols: int | None = None) -> np.ndarray:
    cols = n if cols is None else cols
    a = np.asarray(M, dtype=float)  # (n, cols)
    if a.shape != (n, cols):
        raise ValueError(f"parameter {name!r} must have shape ({n}, {cols}), got {a.shape}")
    return a


def _validate_config(model: Any, scales: tuple[str, ...]) -> None:
    """Shared checks of the two attention models' settings (normalises ``positions``)."""
    positive_int("d", model.d)
    object.__setattr__(model, "positions", check_positions(model.positions))
    one_of("scale", model.scale, scales)
    one_of("init_mode", model.init_mode, ("normal", "identity"))
    nonnegative_float("init_scale", model.init_scale)


def _rel_dev_from_identity(M: np.ndarray) -> float:
    r"""$\|M - \bar m I\|_F / \|M\|_F$ with $\bar m$ the mean diagonal (0 for $M = 0$)."""
    n = M.shape[0]
    dev = M - np.trace(M) / n * np.eye(n)  # (n, n)
    nrm = float(np.linalg.norm(M))
    return float(np.linalg.norm(dev)) / nrm if nrm > 0 else 0.0


def _pair_forward(
    S: np.ndarray, A: np.ndarray, B: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    r"""(A0) at every position: $\hat s_{t+1} = c_t\,B \sum_{t'=1}^{t} s_{t'}
    (s_{t'-1}^* A s_t)$. ``c`` (T,) is the per-position scale. Returns predictions
    (N, T, d) and the cache of the backward pass."""
    T = S.shape[1] - 1
    Q = S[:, :T]  # (N, T, d)      queries s_t, t = 0..T-1
    X = S[:, 1:T]  # (N, T-1, d)   values s_{t'}, t' = 1..T-1
    Y = S[:, : T - 1]  # (N, T-1, d)  keys s_{t'-1}
    # mask[t, j] = 1 iff the pair t' = j + 1 is in context at position t, i.e. j < t
    mc = np.tril(np.ones((T, T - 1)), k=-1) * c[:, None]  # (T, T-1)
    U = Q @ A.T  # (N, T, d)       A s_t
    G = (U @ np.swapaxes(Y, 1, 2).conj()) * mc  # (N, T, T-1)  c_t s_{t'-1}^* A s_t
    O = G @ X  # (N, T, d)          c_t M_t A s_t
    shat = O @ B.T  # (N, T, d)
    return shat, {"Q": Q, "X": X, "Y": Y, "mc": mc, "O": O}


def _pair_backward(
    Rb: np.ndarray, B: np.ndarray, cache: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    r"""Gradients of $2\,\mathrm{Re}\sum \bar R \cdot \hat s$ for :func:`_pair_forward`,
    given ``Rb`` (N, T, d) $= w_n\,[t \in P]\,\bar r$."""
    d = B.shape[0]
    Q, X, Y, mc, O = cache["Q"], cache["X"], cache["Y"], cache["mc"], cache["O"]
    gB = 2.0 * np.real(Rb.reshape(-1, d).T @ O.reshape(-1, d))  # (d, d)
    H = Rb @ B  # (N, T, d)                 d/dO
    Gb = (H @ np.swapaxes(X, 1, 2)) * mc  # (N, T, T-1)   d/dG (before the mask)
    P = Gb @ Y.conj()  # (N, T, d)
    gA = 2.0 * np.real(P.reshape(-1, d).T @ Q.reshape(-1, d))  # (d, d)
    return {"A": gA, "B": gB}


def _sq_loss(
    shat: np.ndarray, S: np.ndarray, w: np.ndarray, pos: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, per-position expected losses (T,) and ``Rb`` = w [t in P] conj(r) (N, T, d)."""
    r = shat - S[:, 1:]  # (N, T, d)
    per = np.sum(np.abs(r) ** 2, axis=2)  # (N, T)
    by_pos = w @ per  # (T,)
    Rb = (w[:, None, None] * pos[None, :, None]) * r.conj()  # (N, T, d)
    return float(by_pos @ pos), by_pos, Rb


# ---------------------------------------------------------------------- tokens
def augment(S: np.ndarray) -> np.ndarray:
    r"""Augmented tokens $e_t = (0_d, s_t, s_{t-1})$, $s_{-1} = 0$ (spec 1.2, authors'
    ``augmented.py``).

    Parameters
    ----------
    S : ndarray, shape (N, T + 1, d)

    Returns
    -------
    E : ndarray, shape (N, T + 1, 3d)
        Same dtype as ``S``. The first block is the scratch pad the model writes its
        prediction into; the code compares it with the middle block of $e_{t+1}$.
    """
    S = as_states(S)  # (N, T+1, d)
    N, T1, d = S.shape
    E = np.zeros((N, T1, 3 * d), dtype=S.dtype)  # (N, T+1, 3d)
    E[:, :, d : 2 * d] = S
    E[:, 1:, 2 * d :] = S[:, :-1]
    return E


# ---------------------------------------------------------------------- (A0) model
@dataclass(frozen=True)
class BlockLinearAttention:
    r"""Block-structured linear attention, model (A0) of spec 1.3 (derived).

    $$ \hat s_{t+1} = c_t \sum_{t'=1}^{t} \bigl(s_{t'-1}^* A\, s_t\bigr)\, B\, s_{t'}
       = c_t\, B\, \Bigl(\sum_{t'=1}^{t} s_{t'} s_{t'-1}^*\Bigr) A\, s_t, $$

    i.e. the one-layer linear attention on augmented tokens with only the value block
    $V_1 = B$ and the key-query block $K_{21} = A$ kept; it is one left/right
    preconditioned GD step on $\frac12\sum_{t'}\|s_{t'} - W s_{t'-1}\|^2$ from $W_0 = 0$
    (spec 2), plain GD iff $A = \alpha I$, $B = \beta I$ ($\eta = \alpha\beta$).
    Position 0 has no pair and predicts 0 (its loss is $\|s_1\|^2$).

    Parameters
    ----------
    d : int
        State dimension; parameters are ``{"A": (d, d), "B": (d, d)}``, real.
    positions : sequence of int, optional
        Positions $t$ in the loss; default all $0..T-1$ (the authors' code trains every position).
    scale : ``"none"`` or ``"1/t"``
        $c_t = 1$ or $c_t = 1/t$ ($c_0$ irrelevant). Whether the paper normalises the
        attention is unknown (spec 1.3); ``"none"`` (default) is our reconstruction.
    init_mode : ``"normal"`` or ``"identity"``
        Initial $A, B$: iid $\mathrm{init\_scale}\cdot N(0, 1)$ (the authors' theory
        scripts use 0.1, authors' ``unitary.py``) or $\mathrm{init\_scale}\cdot I$.
    init_scale : float

    Notes
    -----
    With random-phase $s_0$ the trained $A$, $B$ stay isotropic and the model is one GD step.
    With the authors' fixed $s_0 = \mathbf 1/\sqrt d$ the pair $t' = 1$ exposes the known
    $s_0$, and GD leaves isotropy for $A, B = a I + c (J - I)$, $c < 0$, below every single GD
    step: the registered finding on claim ``sander2024.block-equals-gd.fixed``
    (:mod:`.findings`, numbers in docs/sander2024.md).
    """

    d: int
    positions: Sequence[int] | None = None
    scale: Literal["none", "1/t"] = "none"
    init_mode: Init = "normal"
    init_scale: float = 0.1

    def __post_init__(self) -> None:
        _validate_config(self, ("none", "1/t"))

    @property
    def groups(self) -> dict[str, str]:
        """Learning-rate groups: ``{"A": "A", "B": "B"}``."""
        return {"A": "A", "B": "B"}

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial ``{"A", "B"}`` per ``init_mode`` (``rng`` unused for ``"identity"``)."""
        d, s = self.d, float(self.init_scale)
        if self.init_mode == "identity":
            return {"A": s * np.eye(d), "B": s * np.eye(d)}  # (d, d), (d, d)
        A = s * rng.standard_normal((d, d))  # (d, d)
        B = s * rng.standard_normal((d, d))  # (d, d)
        return {"A": A, "B": B}

    def _c(self, T: int) -> np.ndarray:
        c = np.ones(T)  # (T,)
        if self.scale == "1/t":
            c[1:] = 1.0 / np.arange(1, T)
        return c

    def _params(self, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        return _check_square(params["A"], self.d, "A"), _check_square(params["B"], self.d, "B")

    def _states(self, S: Any) -> np.ndarray:
        S = as_states(S)  # (N, T+1, d)
        if S.shape[2] != self.d:
            raise ValueError(f"the data have d={S.shape[2]}, the model d={self.d}")
        return S

    def predict(self, params: Mapping[str, Any], S: Any) -> np.ndarray:
        r"""Predictions $\hat s_{t+1}$ at every position, shape (N, T, d) (spec 1.3 (A0))."""
        A, B = self._params(params)  # (d, d), (d, d)
        S = self._states(S)  # (N, T+1, d)
        shat, _ = _pair_forward(S, A, B, self._c(S.shape[1] - 1))  # (N, T, d)
        return shat

    def position_losses(self, params: Mapping[str, Any], data: SeqData) -> np.ndarray:
        r"""$\mathbb E\|\hat s_{t+1} - s_{t+1}\|^2$ for every position $t = 0..T-1$, (T,)."""
        data = as_seqdata(data)
        S = self._states(data.S)  # (N, T+1, d)
        shat = self.predict(params, S)  # (N, T, d)
        _, by_pos, _ = _sq_loss(shat, S, data.weights, np.ones(data.T))  # (T,)
        return by_pos

    def loss_and_grad(
        self, params: Mapping[str, Any], data: SeqData
    ) -> tuple[float, dict[str, np.ndarray]]:
        r"""$\mathcal L = \sum_n w_n \sum_{t \in P}\|\hat s_{t+1} - s_{t+1}\|^2$ and its
        hand-written gradients (real $A$, $B$; $2\,\mathrm{Re}$ of the complex
        contractions)."""
        data = as_seqdata(data)
        A, B = self._params(params)  # (d, d), (d, d)
        S = self._states(data.S)  # (N, T+1, d)
        T = data.T
        pos = position_mask(self.positions, T)  # (T,)
        shat, cache = _pair_forward(S, A, B, self._c(T))  # (N, T, d)
        loss, _, Rb = _sq_loss(shat, S, data.weights, pos)  # Rb (N, T, d)
        return loss, _pair_backward(Rb, B, cache)

    def reduce(self, params: Mapping[str, Any]) -> dict[str, float]:
        r"""``{"alpha": mean diag A, "beta": mean diag B}``: the isotropic coordinates
        $A \approx \alpha I$, $B \approx \beta I$ of spec 3.1."""
        A, B = self._params(params)  # (d, d), (d, d)
        return {"alpha": float(np.trace(A) / self.d), "beta": float(np.trace(B) / self.d)}

    def observables(self, params: Mapping[str, Any], data: Any = None) -> dict[str, float]:
        r"""``eta`` $= \alpha\beta$ (the GD step when isotropic) and ``A_dev``, ``B_dev``:
        $\|M - \bar m I\|_F / \|M\|_F$, the distance from isotropy."""
        A, B = self._params(params)  # (d, d), (d, d)
        r = self.reduce(params)
        return {
            "eta": r["alpha"] * r["beta"],
            "A_dev": _rel_dev_from_identity(A),
            "B_dev": _rel_dev_from_identity(B),
        }


# ---------------------------------------------------------------------- M-aug model
@dataclass(frozen=True)
class LinearAttention:
    r"""Unconstrained one-layer linear attention on augmented tokens (spec 1.3 M-aug,
    derived).

    $T(e)_t = e_t + \sum_{t' \le t} (e_{t'}^* W^{KQ} e_t)\, W^{PV} e_{t'}$ read on its first
    block; only the $d \times 2d$ block $V$ of $W^{PV}$ and the $2d \times 2d$ block $K$ of
    $W^{KQ}$ acting on $\bar e_t = (s_t, s_{t-1})$ matter:

    $$ \hat s_{t+1} = c_t\, V\, \Sigma_t\, K\, \bar e_t, \qquad
       \Sigma_t = \sum_{t'=0}^{t} \bar e_{t'} \bar e_{t'}^*. $$

    The block model is the special case $V = [B, 0]$, $K = [[0, 0], [A, 0]]$
    (:func:`block_to_linear`). With fixed $s_0$ this model can beat one-step GD (spec 3.1
    caveat).

    Parameters
    ----------
    d : int
        Parameters are ``{"V": (d, 2d), "K": (2d, 2d)}``, real.
    positions : sequence of int, optional
        Positions in the loss; default all.
    scale : ``"none"`` or ``"1/(t+1)"``
        $c_t = 1$ (default, reconstruction) or one over the number of tokens attended to.
    init_mode : ``"normal"`` or ``"identity"``
        iid $\mathrm{init\_scale}\cdot N(0,1)$ entries, or the block embedding of
        $A = B = \mathrm{init\_scale}\cdot I$.
    init_scale : float
    """

    d: int
    positions: Sequence[int] | None = None
    scale: Literal["none", "1/(t+1)"] = "none"
    init_mode: Init = "normal"
    init_scale: float = 0.1

    def __post_init__(self) -> None:
        _validate_config(self, ("none", "1/(t+1)"))

    @property
    def groups(self) -> dict[str, str]:
        """Learning-rate groups: ``{"V": "V", "K": "K"}``."""
        return {"V": "V", "K": "K"}

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial ``{"V", "K"}`` per ``init_mode`` (``rng`` unused for ``"identity"``)."""
        d, s = self.d, float(self.init_scale)
        if self.init_mode == "identity":
            return block_to_linear(s * np.eye(d), s * np.eye(d))
        V = s * rng.standard_normal((d, 2 * d))  # (d, 2d)
        K = s * rng.standard_normal((2 * d, 2 * d))  # (2d, 2d)
        return {"V": V, "K": K}

    def _params(self, params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        d = self.d
        return _check_square(params["V"], d, "V", 2 * d), _check_square(params["K"], 2 * d, "K")

    def _states(self, S: Any) -> np.ndarray:
        S = as_states(S)  # (N, T+1, d)
        if S.shape[2] != self.d:
            raise ValueError(f"the data have d={S.shape[2]}, the model d={self.d}")
        return S

    def _forward(
        self, V: np.ndarray, K: np.ndarray, S: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        T = S.shape[1] - 1
        d = self.d
        E = np.zeros((S.shape[0], T, 2 * d), dtype=S.dtype)  # (N, T, 2d)  ebar_t, t = 0..T-1
        E[:, :, :d] = S[:, :T]
        E[:, 1:, d:] = S[:, : T - 1]
        c = np.ones(T) if self.scale == "none" else 1.0 / np.arange(1, T + 1)  # (T,)
        mc = np.tril(np.ones((T, T))) * c[:, None]  # (T, T)   t' <= t
        U = E @ K.T  # (N, T, 2d)            K ebar_t
        G = (U @ np.swapaxes(E, 1, 2).conj()) * mc  # (N, T, T)   c_t ebar_{t'}^* K ebar_t
        O = G @ E  # (N, T, 2d)              c_t Sigma_t K ebar_t
        shat = O @ V.T  # (N, T, d)
        return shat, {"E": E, "mc": mc, "O": O}

    def predict(self, params: Mapping[str, Any], S: Any) -> np.ndarray:
        r"""Predictions $\hat s_{t+1}$ at every position, shape (N, T, d)."""
        V, K = self._params(params)  # (d, 2d), (2d, 2d)
        shat, _ = self._forward(V, K, self._states(S))  # (N, T, d)
        return shat

    def position_losses(self, params: Mapping[str, Any], data: SeqData) -> np.ndarray:
        r"""$\mathbb E\|\hat s_{t+1} - s_{t+1}\|^2$ for every position, (T,)."""
        data = as_seqdata(data)
        S = self._states(data.S)  # (N, T+1, d)
        _, by_pos, _ = _sq_loss(self.predict(params, S), S, data.weights, np.ones(data.T))
        return by_pos  # (T,)

    def loss_and_grad(
        self, params: Mapping[str, Any], data: SeqData
    ) -> tuple[float, dict[str, np.ndarray]]:
        r"""$\mathcal L = \sum_n w_n \sum_{t \in P}\|\hat s_{t+1} - s_{t+1}\|^2$ and its
        hand-written gradients with respect to the real $V$, $K$."""
        data = as_seqdata(data)
        V, K = self._params(params)  # (d, 2d), (2d, 2d)
        S = self._states(data.S)  # (N, T+1, d)
        pos = position_mask(self.positions, data.T)  # (T,)
        shat, cache = self._forward(V, K, S)  # (N, T, d)
        loss, _, Rb = _sq_loss(shat, S, data.weights, pos)  # Rb (N, T, d)
        E, mc, O = cache["E"], cache["mc"], cache["O"]
        d2 = 2 * self.d
        gV = 2.0 * np.real(Rb.reshape(-1, self.d).T @ O.reshape(-1, d2))  # (d, 2d)
        H = Rb @ V  # (N, T, 2d)                      d/dO
        Gb = (H @ np.swapaxes(E, 1, 2)) * mc  # (N, T, T)   d/dG (before the mask)
        P = Gb @ E.conj()  # (N, T, 2d)
        gK = 2.0 * np.real(P.reshape(-1, d2).T @ E.reshape(-1, d2))  # (2d, 2d)
        return loss, {"V": gV, "K": gK}

    def reduce(self, params: Mapping[str, Any]) -> dict[str, float]:
        r"""``{"alpha": mean diag K_21, "beta": mean diag V_1}`` (the block coordinates)."""
        V, K = self._params(params)  # (d, 2d), (2d, 2d)
        d = self.d
        return {
            "alpha": float(np.trace(K[d:, :d]) / d),
            "beta": float(np.trace(V[:, :d]) / d),
        }

    def observables(self, params: Mapping[str, Any], data: Any = None) -> dict[str, float]:
        r"""``eta`` $= \alpha\beta$ and ``off_block``: the Frobenius norm of $V, K$ outside
        the blocks $V_1 = B$, $K_{21} = A$, relative to the whole."""
        V, K = self._params(params)  # (d, 2d), (2d, 2d)
        d = self.d
        r = self.reduce(params)
        total = float(np.sum(V**2) + np.sum(K**2))
        inside = float(np.sum(V[:, :d] ** 2) + np.sum(K[d:, :d] ** 2))
        off = math.sqrt(max(total - inside, 0.0) / total) if total > 0 else 0.0
        return {"eta": r["alpha"] * r["beta"], "off_block": off}


def block_to_linear(A: np.ndarray, B: np.ndarray) -> dict[str, np.ndarray]:
    r"""Embed block parameters into :class:`LinearAttention`: $V = [B, 0]$,
    $K = [[0, 0], [A, 0]]$ (spec 1.3, derived); both models then predict the same."""
    A = np.asarray(A, dtype=float)  # (d, d)
    B = np.asarray(B, dtype=float)  # (d, d)
    d = A.shape[0]
    if A.shape != (d, d) or B.shape != (d, d):
        raise ValueError(f"A and B must be square of equal size, got {A.shape} and {B.shape}")
    V = np.zeros((d, 2 * d))  # (d, 2d)
    V[:, :d] = B
    K = np.zeros((2 * d, 2 * d))  # (2d, 2d)
    K[d:, :d] = A
    return {"V": V, "K": K}



# ---------------------------------------------------------------------- polishing
def block_minimise(
    model: BlockLinearAttention,
    data: SeqData,
    params: Mapping[str, Any],
    diagonal: bool = False,
) -> tuple[dict[str, np.ndarray], float, float]:
    r"""Minimise the loss of :class:`BlockLinearAttention` from ``params`` with L-BFGS
    (``scipy``, gtol $10^{-12}$): a check that a GD end state is a minimum, and, from random
    starts, a search for lower minima. With ``diagonal=True`` only the diagonals of $A$ and
    $B$ move (basis-diagonal parameters, spec 3.1 (A1)); their off-diagonal entries are set
    to 0.

    Returns
    -------
    params : dict
        ``{"A": (d, d), "B": (d, d)}`` at the end.
    loss : float
    grad_max : float
        Largest absolute gradient entry there (of the moving entries).
    """
    from scipy.optimize import minimize

    d = model.d
    A0 = _check_square(params["A"], d, "A")  # (d, d)
    B0 = _check_square(params["B"], d, "B")  # (d, d)

    def unpack(x: np.ndarray) -> dict[str, np.ndarray]:
        if diagonal:
            return {"A": np.diag(x[:d]), "B": np.diag(x[d:])}
        return {"A": x[: d * d].reshape(d, d), "B": x[d * d :].reshape(d, d)}

    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, g = model.loss_and_grad(unpack(x), data)
        if diagonal:
            return loss, np.concatenate([np.diag(g["A"]), np.diag(g["B"])])
        return loss, np.concatenate([g["A"].ravel(), g["B"].ravel()])

    x0 = (np.concatenate([np.diag(A0), np.diag(B0)]) if diagonal
          else np.concatenate([A0.ravel(), B0.ravel()]))
    res = minimize(f, x0, jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000})
    loss, g = f(res.x)
    return unpack(res.x), float(loss), float(np.max(np.abs(g)))
