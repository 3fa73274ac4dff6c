r"""The PE-only attention of Sander et al. (2024), Fig. 6 (spec 1.3 M-PE-only, 3.4; authors'
``pe_only.py``): the (N0) model with $d = 1$ and only the positional weights trained, its
plotted profile and oscillation frequency, and GD to a loss threshold (through
:func:`dynamics.direct.train`).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``; "authors'
code" is the repository ``michaelsdr/ical``, "derived" a derivation not quoted from the
paper (whose body we could not read). Its data are :func:`.data.pe_only_quadrature` and
:func:`.data.pe_only_data`; the closed-form population loss and the predicted number of GD
steps are in :mod:`.closed_forms`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from derivations.sander2024.direct_nonaugmented import (
    _n0_loss_and_grads,
    _pe_names,
    _unpack,
    pe_mask,
)
from dynamics.direct import train
from dynamics.validate import int_at_least, nonnegative_float, one_of

__all__ = ["PEOnly", "oscillation_frequency", "pe_only_profile", "train_until"]

Reduction = Literal["mean", "sum"]


@dataclass(frozen=True)
class PEOnly:
    r"""PE-only linear attention (spec 1.3 M-PE-only, 3.4, authors' ``pe_only.py``): (N0) with
    $d = 1$ (complex), one head and $a = b = 1$, so row $t$ predicts
    $\hat s_{t+2} = \sum_{j \le t+1} P_{t,j}\,\bar s_t\, s_j^2$; parameters ``{"P": (T, T)}``
    masked by :func:`.direct_nonaugmented.pe_mask` (group ``"pe"``).

    Loss: $\frac{1}{Z}\sum_{t=0}^{T-2} \sum_n w_n |\hat s^{(n)}_{t+2} - s^{(n)}_{t+2}|^2$ with
    ``reduction="mean"``: $Z = T-1$, the authors' ``d * mean`` over sequences and rows with
    $d = 1$ (the convention their lr 0.5 and stopping rule ``loss < 1e-3`` refer to), or
    ``reduction="sum"``: $Z = 1$, the theory scripts' sum over rows (equal to
    :class:`.direct_nonaugmented.DiagonalMultiHead` with ``A = B = [[1]]``).

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
        int_at_least("T", self.T, 2)
        one_of("reduction", self.reduction, ("mean", "sum"))
        nonnegative_float("init_scale", self.init_scale)

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
    ``pe_only.py``, spec 1.5, authors' code), at most ``max_steps`` updates, run by
    :func:`dynamics.direct.train` with ``stop_when``.

    The loss is evaluated before each update; training stops, without updating, at the
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
    tr, theta = train(model, params, data, lr=lr, steps=max_steps, record=[0, max_steps],
                      stop_when=lambda k, loss: loss < tol)
    return theta, int(tr.stats["steps_done"]), float(tr.loss[-1])

