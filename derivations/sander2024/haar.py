r"""Non-commuting Haar-orthogonal $W$: a multi-layer linear attention on augmented tokens and
small layer / head sweeps against the one-step-GD baselines (spec 1.1, 1.3 M-torch-aug, 5
Figs. 5 and 7).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``. Where a
statement comes from is written out: "authors' code" (the repository ``michaelsdr/ical``),
"derived" (a derivation, the spec author's or ours, not quoted from the paper, whose body we
could not read), "reconstruction" (our choice where the sources are silent).

* :class:`MultiLayerLinearAttention`: a **simplified** version of M-torch-aug (spec 1.3;
  authors' ``augmented.py``, simplified: a reconstruction). Kept: augmented tokens, $L$ residual layers of
  causal linear attention (no softmax), prediction read from the scratch block. Dropped:
  the biases, the $1/\sqrt E$ score scale (absorbed in $K_l$), the LayerNorm on each
  attention output, the separate Q/K/V/``fc_out`` matrices (merged into $K_l = W_Q^\top
  W_K$ and $V_l = W_{\mathrm{out}} W_V$) and the final ``Linear(E, 3d)`` head (we read
  the first block of the last residual stream).
* The references of the sweeps are :func:`.closed_forms.baselines` (spec 5, Fig. 5): the zero
  predictor, the best shared-step one-step GD and the per-position-step one-step GD on the
  same data.
* :func:`sweep_layers`, :func:`sweep_heads` (spec 5, Figs. 5 and 7; the authors' sweeps
  are not in their repository, so nothing here is compared with paper numbers): Adam at lr
  $10^{-2}$, full batch, on Monte-Carlo Haar data with $s_0 = \mathbf 1/\sqrt d$; train
  and independent-test losses.

Conventions follow :mod:`.data` and :mod:`.direct_augmented`: ``S`` holds $s_0..s_T$, shape ``(N, T + 1, d)``;
position $t = 0..T-1$ predicts $s_{t+1}$; losses are
$\sum_n w_n \sum_{t \in P}\|\hat s_{t+1} - s_{t+1}\|^2$ over the positions $P$ (default all).
Data are real here (Haar $O(d)$).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from derivations.sander2024.closed_forms import baselines
from derivations.sander2024.data import SeqData, as_seqdata, check_positions, mc_data, position_mask
from derivations.sander2024.direct_augmented import augment
from derivations.sander2024.direct_nonaugmented import DiagonalMultiHead
from dynamics.direct import train
from dynamics.validate import nonnegative_float, positive_int

__all__ = [
    "MultiLayerLinearAttention",
    "SweepResult",
    "sweep_heads",
    "sweep_layers",
]


# ---------------------------------------------------------------------- model
@dataclass(frozen=True)
class MultiLayerLinearAttention:
    r"""$L$ residual layers of causal linear attention on augmented tokens (spec 1.3
    M-torch-aug, authors' ``augmented.py``, simplified (reconstruction), see the module docstring).

    Tokens $x^{(0)}_t = e_t = (0_d, s_t, s_{t-1}) \in \mathbb R^{3d}$ (:func:`augment`),
    $t = 0..T-1$. Layer $l = 0..L-1$:

    $$ x^{(l+1)}_t = x^{(l)}_t + \sum_{t' \le t}
       \bigl(x^{(l)\top}_{t'} K_l\, x^{(l)}_t\bigr)\, V_l\, x^{(l)}_{t'}, $$

    with full $K_l, V_l \in \mathbb R^{3d \times 3d}$ and no normalisation. The prediction
    of $s_{t+1}$ is the first $d$ coordinates (the scratch block) of $x^{(L)}_t$. For
    $L = 1$ this is :class:`~.direct_augmented.LinearAttention` with $V = (V_0)_{1,23}$,
    $K = (K_0)_{23,23}$ (derived): the scratch block is 0 in the input.

    Loss: $\sum_n w_n \sum_{t \in P}\|\hat s_{t+1} - s_{t+1}\|^2$ (weighted mean over
    sequences, sum over positions).

    Parameters
    ----------
    d : int
        State dimension; parameters ``{"K0", "V0", ..., "K{L-1}", "V{L-1}"}``, each
        ``(3d, 3d)``, real.
    L : int
        Number of layers.
    init_scale : float
        Initial entries iid $\mathrm{init\_scale}\cdot\mathcal N(0, 1)$ (reconstruction).
    positions : sequence of int, optional
        Positions in the loss; default all $0..T-1$ (the authors' code trains every position).
    """

    d: int
    L: int = 1
    init_scale: float = 0.1
    positions: Sequence[int] | None = None

    def __post_init__(self) -> None:
        positive_int("d", self.d)
        positive_int("L", self.L)
        nonnegative_float("init_scale", self.init_scale)
        object.__setattr__(self, "positions", check_positions(self.positions))

    @property
    def D(self) -> int:
        """Token dimension $3d$."""
        return 3 * self.d

    @property
    def groups(self) -> dict[str, str]:
        """Learning-rate groups: every ``K{l}`` in ``"K"``, every ``V{l}`` in ``"V"``."""
        out: dict[str, str] = {}
        for l in range(self.L):
            out[f"K{l}"] = "K"
            out[f"V{l}"] = "V"
        return out

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial ``{"K{l}", "V{l}"}``, iid ``init_scale * N(0, 1)`` entries."""
        D, s = self.D, float(self.init_scale)
        out: dict[str, np.ndarray] = {}
        for l in range(self.L):
            out[f"K{l}"] = s * rng.standard_normal((D, D))  # (3d, 3d)
            out[f"V{l}"] = s * rng.standard_normal((D, D))  # (3d, 3d)
        return out

    def _params(self, params: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
        D = self.D
        out = []
        for l in range(self.L):
            K = np.asarray(params[f"K{l}"], dtype=float)  # (3d, 3d)
            V = np.asarray(params[f"V{l}"], dtype=float)  # (3d, 3d)
            if K.shape != (D, D) or V.shape != (D, D):
                raise ValueError(
                    f"K{l}, V{l} must have shape ({D}, {D}), got {K.shape} and {V.shape}"
                )
            out.append((K, V))
        return out

    def _states(self, S: Any) -> np.ndarray:
        S = np.asarray(S)  # (N, T+1, d)
        if S.ndim != 3 or S.shape[1] < 2 or S.shape[2] != self.d:
            raise ValueError(f"S must have shape (N, T+1, {self.d}) with T >= 1, got {S.shape}")
        if np.iscomplexobj(S):
            raise ValueError("MultiLayerLinearAttention takes real sequences")
        return S

    def _forward(
        self, layers: list[tuple[np.ndarray, np.ndarray]], S: np.ndarray
    ) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
        """Final stream (N, T, 3d) and one cache per layer."""
        T = S.shape[1] - 1
        X = augment(S)[:, :T].astype(float)  # (N, T, 3d)   e_0..e_{T-1}
        mask = np.tril(np.ones((T, T)))  # (T, T)   t' <= t
        caches = []
        for K, V in layers:
            U = X @ K.T  # (N, T, 3d)             K x_t
            A = (U @ np.swapaxes(X, 1, 2)) * mask  # (N, T, T)   x_{t'}^T K x_t
            Y = A @ X  # (N, T, 3d)               sum_t' A[t, t'] x_{t'}
            caches.append({"X": X, "U": U, "A": A, "Y": Y})
            X = X + Y @ V.T  # (N, T, 3d)
        return X, caches

    def predict(self, params: Mapping[str, Any], S: Any) -> np.ndarray:
        r"""Predictions $\hat s_{t+1}$, $t = 0..T-1$, shape (N, T, d)."""
        X, _ = self._forward(self._params(params), self._states(S))  # (N, T, 3d)
        return X[:, :, : self.d]  # (N, T, d)

    def position_losses(self, params: Mapping[str, Any], data: SeqData) -> np.ndarray:
        r"""$\sum_n w_n\|\hat s_{t+1} - s_{t+1}\|^2$ for every position, shape (T,)."""
        data = as_seqdata(data, real=True)
        r = self.predict(params, data.S) - data.S[:, 1:]  # (N, T, d)
        return np.asarray(data.weights @ np.sum(r**2, axis=2))  # (T,)

    def loss_and_grad(
        self, params: Mapping[str, Any], data: SeqData
    ) -> tuple[float, dict[str, np.ndarray]]:
        r"""Loss and its hand-written gradient, back through every layer.

        Per layer, with $\bar X$ the upstream gradient of $X^{(l+1)}$:
        $\nabla V = \sum \bar X^\top Y$, $\bar Y = \bar X V$, $\bar A = (\bar Y X^\top)
        \odot M$, $\nabla K = \sum (\bar A X)^\top X$ and
        $\bar X^{(l)} = \bar X + A^\top \bar Y + \bar A^\top (X K^\top) + \bar A X K$.
        """
        data = as_seqdata(data, real=True)
        layers = self._params(params)
        S = self._states(data.S)  # (N, T+1, d)
        T, d, D = data.T, self.d, self.D
        pos = position_mask(self.positions, T)  # (T,)
        Xf, caches = self._forward(layers, S)  # (N, T, 3d)
        r = Xf[:, :, :d] - S[:, 1:]  # (N, T, d)
        wp = data.weights[:, None] * pos[None, :]  # (N, T)
        loss = float(np.sum(wp * np.sum(r**2, axis=2)))
        G = np.zeros_like(Xf)  # (N, T, 3d)   dL/dX^{(L)}
        G[:, :, :d] = 2.0 * wp[:, :, None] * r
        mask = np.tril(np.ones((T, T)))  # (T, T)
        grads: dict[str, np.ndarray] = {}
        for l in range(self.L - 1, -1, -1):
            K, V = layers[l]
            X, U, A, Y = (caches[l][k] for k in ("X", "U", "A", "Y"))
            grads[f"V{l}"] = G.reshape(-1, D).T @ Y.reshape(-1, D)  # (3d, 3d)
            Yb = G @ V  # (N, T, 3d)                dL/dY
            Ab = (Yb @ np.swapaxes(X, 1, 2)) * mask  # (N, T, T)   dL/dA
            Ub = Ab @ X  # (N, T, 3d)               dL/dU
            grads[f"K{l}"] = Ub.reshape(-1, D).T @ X.reshape(-1, D)  # (3d, 3d)
            G = G + np.swapaxes(A, 1, 2) @ Yb + np.swapaxes(Ab, 1, 2) @ U + Ub @ K  # (N, T, 3d)
        return loss, {k: grads[k] for k in params}

    def reduce(self, params: Mapping[str, Any]) -> dict[str, float]:
        r"""Frobenius norms ``K{l}_norm``, ``V{l}_norm`` of every layer (generic scalars; the
        Haar problem has no known reduced coordinates)."""
        out: dict[str, float] = {}
        for l, (K, V) in enumerate(self._params(params)):
            out[f"K{l}_norm"] = float(np.linalg.norm(K))
            out[f"V{l}_norm"] = float(np.linalg.norm(V))
        return out


# ---------------------------------------------------------------------- sweeps
@dataclass(frozen=True)
class SweepResult:
    r"""Final losses of a sweep.

    Attributes
    ----------
    values : tuple of int
        The swept sizes (layers or heads).
    train, test : ndarray, shape (len(values),)
        Final loss on the training set and on an independent test set.
    baselines_train, baselines_test : dict of str to float
        :func:`.closed_forms.baselines` on the same positions of the same sets.
    """

    values: tuple[int, ...]
    train: np.ndarray
    test: np.ndarray
    baselines_train: dict[str, float]
    baselines_test: dict[str, float]


def _haar_sets(
    d: int, T: int, N: int, N_test: int | None, rng: np.random.Generator
) -> tuple[SeqData, SeqData]:
    train_set = mc_data("haar", d, T, N, "fixed", rng)
    test_set = mc_data("haar", d, T, N if N_test is None else N_test, "fixed", rng)
    return train_set, test_set


def sweep_layers(
    d: int = 3,
    T: int = 8,
    N: int = 256,
    layers: Sequence[int] = (1, 2, 3),
    steps: int = 1500,
    rng: np.random.Generator | None = None,
    lr: float = 1e-2,
    N_test: int | None = None,
    init_scale: float = 0.1,
) -> SweepResult:
    r""":class:`MultiLayerLinearAttention` for each $L$ in ``layers``, trained by full-batch
    Adam (lr $10^{-2}$, authors' ``augmented.py``) on ``N`` Monte-Carlo Haar sequences with
    $s_0 = \mathbf 1/\sqrt d$, all positions in the loss (spec 5, Fig. 5; the authors'
    sweep is not public, so no target numbers). The test set has ``N_test`` (default
    ``N``) independent sequences."""
    if rng is None:
        raise ValueError("sweep_layers needs rng=np.random.default_rng(seed)")
    train_set, test_set = _haar_sets(d, T, N, N_test, rng)
    tr, te = [], []
    for L in layers:
        model = MultiLayerLinearAttention(d, positive_int("L", L), init_scale)
        _, p = train(
            model, None, train_set, lr=lr, steps=steps, optimizer="adam", rng=rng, record=[0, steps]
        )
        tr.append(model.loss_and_grad(p, train_set)[0])
        te.append(model.loss_and_grad(p, test_set)[0])
    return SweepResult(
        tuple(int(v) for v in layers),
        np.array(tr),  # (len(layers),)
        np.array(te),  # (len(layers),)
        baselines(train_set),
        baselines(test_set),
    )


def sweep_heads(
    d: int = 3,
    T: int = 8,
    N: int = 256,
    heads: Sequence[int] = (1, 2, 4, 8),
    steps: int = 1500,
    rng: np.random.Generator | None = None,
    lr: float = 1e-2,
    N_test: int | None = None,
    init_scale: float = 0.1,
) -> SweepResult:
    r""":class:`~.direct_nonaugmented.DiagonalMultiHead` (non-augmented, spec 1.3 (N0)) for each
    $H$ in ``heads``, trained by full-batch Adam (lr $10^{-2}$) on Monte-Carlo Haar data
    with $s_0 = \mathbf 1/\sqrt d$ (spec 5, Fig. 7; no target numbers).

    Its loss has rows $t = 0..T-2$ predicting $s_{t+2}$, i.e. the augmented positions
    $1..T-1$; the baselines are :func:`.closed_forms.baselines` at those positions (the one-step GD
    predictor of $s_{t+2}$ uses the pairs up to $s_{t+1}$, which (N0) also sees)."""
    if rng is None:
        raise ValueError("sweep_heads needs rng=np.random.default_rng(seed)")
    train_set, test_set = _haar_sets(d, T, N, N_test, rng)
    batch_tr = {"S": train_set.S, "weight": train_set.weights}
    batch_te = {"S": test_set.S, "weight": test_set.weights}
    tr, te = [], []
    for H in heads:
        model = DiagonalMultiHead(d=d, H=positive_int("H", H), T=T, init_scale=init_scale)
        _, p = train(
            model, None, batch_tr, lr=lr, steps=steps, optimizer="adam", rng=rng, record=[0, steps]
        )
        tr.append(model.loss_and_grad(p, batch_tr)[0])
        te.append(model.loss_and_grad(p, batch_te)[0])
    rows = tuple(range(1, T))
    return SweepResult(
        tuple(int(v) for v in heads),
        np.array(tr),  # (len(heads),)
        np.array(te),  # (len(heads),)
        baselines(train_set, rows),
        baselines(test_set, rows),
    )
