r"""Autoregressive sequences $s_{t+1} = W s_t$ with a random context matrix $W$ per
sequence, by Monte Carlo or by exact quadrature over the angles (spec 1.1, 3.5).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``. Where a
statement comes from is written out: "authors' code" (the repository ``michaelsdr/ical``),
"derived" (a derivation, the spec author's or ours, not quoted from the paper, whose body we
could not read), "reconstruction" (our choice where the sources are silent).

Every generator returns ``S`` of shape ``(N, T + 1, d)`` holding the states
$s_0, \dots, s_T$ of ``N`` sequences: complex for ``kind="unitary"``, real otherwise.
Three laws of $W$ (:func:`sample_W`):

* ``"unitary"``: $W = \mathrm{diag}(e^{i\theta_1}, \dots, e^{i\theta_d})$, $\theta_k$ iid
  $U[0, 2\pi)$ (spec 1.1, 3.1-3.2, derived; commuting, $Q = I$);
* ``"rotation"``: $W = \mathrm{blockdiag}(R(\theta_1), \dots, R(\theta_{d/2}))$ with
  $2 \times 2$ rotations, $\theta_m$ iid $U[0, 2\pi)$ (spec 1.1, 3.3, derived);
* ``"haar"``: Haar measure on $O(d)$ via ``scipy.stats.ortho_group`` (spec 1.1, authors'
  ``augmented.py``; non-commuting).

A :class:`SeqData` couples ``S`` with per-sequence weights summing to 1: uniform for
Monte Carlo (:func:`mc_data`), the quadrature weights for the exact grid
(:func:`quadrature_data`), so that every loss is $\sum_n w_n\,\ell(S_n)$ either way.
:func:`as_states`, :func:`as_seqdata`, :func:`check_positions` and :func:`position_mask`
check these conventions for every model and baseline of the package. The PE-only data
(:func:`pe_only_data`, :func:`pe_only_quadrature`, spec 3.4) are scalar sequences
$s_t = e^{it\theta/\mu}$.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import ortho_group

from dynamics.validate import one_of, positive_float, positive_int

__all__ = [
    "KINDS",
    "MAX_GRID",
    "S0_MODES",
    "SeqData",
    "as_seqdata",
    "as_states",
    "check_positions",
    "default_n_phase",
    "expect",
    "initial_state",
    "mc_data",
    "pe_only_data",
    "pe_only_quadrature",
    "position_mask",
    "quadrature",
    "quadrature_data",
    "sample_W",
    "sequences",
    "unit_quadrature",
]

KINDS: tuple[str, ...] = ("unitary", "rotation", "haar")
S0_MODES: tuple[str, ...] = ("fixed", "random_phase")
MAX_GRID = 2_000_000
"""Largest quadrature grid :func:`quadrature` builds (number of sequences)."""


# ---------------------------------------------------------------------- validation
def _check_kind(kind: str, d: int) -> None:
    """``kind`` one of :data:`KINDS` and ``d`` a positive integer, even for rotation blocks."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    positive_int("d", d)
    if kind == "rotation" and d % 2 != 0:
        raise ValueError(f"kind='rotation' needs an even d (2x2 rotation blocks), got d={d}")


def _rotation_blocks(angles: np.ndarray, d: int) -> np.ndarray:
    """Block-diagonal rotations from angles of shape (N, d/2); returns (N, d, d)."""
    N = angles.shape[0]
    c, s = np.cos(angles), np.sin(angles)  # (N, d/2), (N, d/2)
    W = np.zeros((N, d, d))  # (N, d, d)
    idx = np.arange(0, d, 2)  # (d/2,)
    W[:, idx, idx] = c
    W[:, idx, idx + 1] = -s
    W[:, idx + 1, idx] = s
    W[:, idx + 1, idx + 1] = c
    return W


# ------------------------------------------------------------------------ sampling
def sample_W(kind: str, d: int, N: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw ``N`` context matrices $W$ (spec 1.1).

    Parameters
    ----------
    kind : ``"unitary"``, ``"rotation"`` or ``"haar"``
        ``"unitary"``: complex diagonal $\mathrm{diag}(e^{i\theta_k})$, $\theta_k$ iid
        $U[0, 2\pi)$ (derived: the law under which the authors' reduced losses are
        population losses, spec 3.2). ``"rotation"``: real block-diagonal $2 \times 2$
        rotations by iid $U[0, 2\pi)$ angles (derived, spec 3.3); ``d`` must be even.
        ``"haar"``: Haar-orthogonal $O(d)$ by ``scipy.stats.ortho_group`` drawn with
        ``rng``, authors' ``augmented.py``; these do not commute.
    d, N : int
        Dimension and number of matrices (both >= 1).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (N, d, d)
        Complex for ``"unitary"``, real otherwise.
    """
    _check_kind(kind, d)
    positive_int("N", N)
    if kind == "unitary":
        theta = rng.uniform(0.0, 2.0 * np.pi, size=(N, d))  # (N, d)
        W = np.zeros((N, d, d), dtype=complex)  # (N, d, d)
        k = np.arange(d)  # (d,)
        W[:, k, k] = np.exp(1j * theta)
        return W
    if kind == "rotation":
        theta = rng.uniform(0.0, 2.0 * np.pi, size=(N, d // 2))  # (N, d/2)
        return _rotation_blocks(theta, d)  # (N, d, d)
    if d == 1:
        return rng.choice([-1.0, 1.0], size=(N, 1, 1))  # (N, 1, 1)  Haar on O(1)
    W = ortho_group.rvs(dim=d, size=N, random_state=rng)  # (N, d, d) or (d, d) if N == 1
    return np.asarray(W, dtype=float).reshape(N, d, d)  # (N, d, d)


def initial_state(
    kind: str, d: int, N: int, mode: str = "fixed", rng: np.random.Generator | None = None
) -> np.ndarray:
    r"""Initial states $s_0$ with $\|s_0\| = 1$ (spec 1.1).

    Parameters
    ----------
    kind : ``"unitary"``, ``"rotation"`` or ``"haar"``
    d, N : int
    mode : ``"fixed"`` or ``"random_phase"``
        ``"fixed"``: $s_0 = \mathbf 1/\sqrt d$ for every sequence, as in the authors'
        ``augmented.py``, authors' code. ``"random_phase"`` (reconstruction): a rotation-invariant law,
        ``"unitary"``: $s_{0,k} = e^{i\varphi_k}/\sqrt d$ with $\varphi_k$ iid
        $U[0, 2\pi)$; ``"rotation"``: each 2-block of $\mathbf 1/\sqrt d$ rotated by an iid
        uniform angle; ``"haar"``: a uniform random unit vector.
    rng : numpy.random.Generator, optional
        Required for ``"random_phase"``.

    Returns
    -------
    ndarray, shape (N, d)
        Complex for ``"unitary"``, real otherwise.
    """
    _check_kind(kind, d)
    positive_int("N", N)
    one_of("s0_mode", mode, S0_MODES)
    dtype = complex if kind == "unitary" else float
    if mode == "fixed":
        return np.full((N, d), 1.0 / math.sqrt(d), dtype=dtype)  # (N, d)
    if rng is None:
        raise ValueError("initial_state(mode='random_phase') needs a numpy Generator rng")
    if kind == "unitary":
        phi = rng.uniform(0.0, 2.0 * np.pi, size=(N, d))  # (N, d)
        return np.exp(1j * phi) / math.sqrt(d)  # (N, d)
    if kind == "rotation":
        psi = rng.uniform(0.0, 2.0 * np.pi, size=(N, d // 2))  # (N, d/2)
        return _rotate_blocks(psi, d)  # (N, d)
    x = rng.standard_normal((N, d))  # (N, d)
    return x / np.linalg.norm(x, axis=1, keepdims=True)  # (N, d)


def _rotate_blocks(psi: np.ndarray, d: int) -> np.ndarray:
    """$R(\\psi_m)\\,(1, 1)/\\sqrt d$ per 2-block, from angles (N, d/2); returns (N, d)."""
    c, s = np.cos(psi), np.sin(psi)  # (N, d/2), (N, d/2)
    x = np.empty((psi.shape[0], d))  # (N, d)
    x[:, 0::2] = (c - s) / math.sqrt(d)
    x[:, 1::2] = (s + c) / math.sqrt(d)
    return x


def _roll_out(W: np.ndarray, s0: np.ndarray, T: int) -> np.ndarray:
    """States $s_t = W^t s_0$, t = 0..T, from W (N, d, d) and s0 (N, d); returns (N, T+1, d)."""
    N, d = s0.shape
    S = np.empty((N, T + 1, d), dtype=np.result_type(W, s0))  # (N, T+1, d)
    S[:, 0] = s0
    for t in range(T):
        S[:, t + 1] = np.einsum("nij,nj->ni", W, S[:, t])  # (N, d)
    return S


def sequences(
    kind: str,
    d: int,
    T: int,
    N: int,
    s0_mode: str = "fixed",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    r"""Monte-Carlo sequences $s_{t+1} = W s_t$, one $W$ per sequence (spec 1.1).

    Parameters
    ----------
    kind : ``"unitary"``, ``"rotation"`` or ``"haar"``
        Law of $W$, see :func:`sample_W`.
    d, T, N : int
        Dimension, number of transitions ($T + 1$ states) and number of sequences.
    s0_mode : ``"fixed"`` or ``"random_phase"``
        Law of $s_0$, see :func:`initial_state`.
    rng : numpy.random.Generator
        Required (draws $W$, and $s_0$ in ``"random_phase"`` mode).

    Returns
    -------
    S : ndarray, shape (N, T + 1, d)
        $S_{n,t} = s_t$ of sequence $n$; complex for ``"unitary"``. Noiseless, so
        $\|s_t\| = \|s_0\| = 1$.
    """
    positive_int("T", T)
    if rng is None:
        raise ValueError("sequences() needs a numpy Generator rng")
    W = sample_W(kind, d, N, rng)  # (N, d, d)
    s0 = initial_state(kind, d, N, s0_mode, rng)  # (N, d)
    return _roll_out(W, s0, T)  # (N, T+1, d)


# ---------------------------------------------------------------------- quadrature
def default_n_phase(kind: str) -> int:
    r"""Phase-grid size that makes :func:`quadrature` exact in the $s_0$ phases (derived).

    The losses of the augmented models (:mod:`.direct_augmented`) are, in each phase, trigonometric
    polynomials of degree at most 3 (``"unitary"``: every monomial of a prediction has
    phase exponents in $\{-1, 0, 1, 2\}$, so differences lie in $[-3, 3]$) or 6
    (``"rotation"``: a product of three states, squared). The grid needs one more point.
    """
    if kind == "unitary":
        return 4
    if kind == "rotation":
        return 7
    raise ValueError(f"no exact quadrature for kind {kind!r}; use Monte Carlo (sequences)")


def quadrature(
    kind: str,
    d: int,
    T: int,
    n_angles: int,
    s0_mode: str = "fixed",
    n_phase: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact quadrature over the angles of $W$ (spec 3.5, 6, derived).

    The independent angles ($d$ of them for ``"unitary"``, $d/2$ for ``"rotation"``) run over
    the uniform tensor grid $\theta = 2\pi k / n$, $k = 0..n-1$, $n$ = ``n_angles``, with
    equal weights. Since $\frac1n \sum_k e^{i m 2\pi k/n} = \mathbf 1[n \mid m]$, the
    weighted sum is the exact expectation of every trigonometric polynomial whose degree in
    each angle is below ``n_angles``.

    Degrees of the losses of :mod:`.direct_augmented`, derived (the gradients have the same):

    * ``"unitary"``: block model at most $3T - 4$, unconstrained linear attention at most
      $3T - 3$ (only $T$ for diagonal $A, B$): ``n_angles >= 3 * T`` is always exact;
    * ``"rotation"``: at most $6T - 8$ and $6T - 6$: ``n_angles >= 6 * T`` is always exact.

    With ``s0_mode="random_phase"`` the phases of $s_0$ (one per coordinate for
    ``"unitary"``, one per 2-block for ``"rotation"``, as in :func:`initial_state`) are put
    on a second uniform grid of ``n_phase`` points each, tensored with the first; this is
    exact for degree below ``n_phase`` in each phase (default :func:`default_n_phase`,
    enough for the augmented models). For ``"unitary"`` with ``n_phase >= 4`` the phases
    cancel every monomial pair of high $\theta$-degree: ``n_angles >= T`` is then exact for
    the block model (derived) and, checked numerically at $T = 6$ against a finer grid, for
    the unconstrained linear attention (``n_angles = T - 1`` is not).

    Parameters
    ----------
    kind : ``"unitary"`` or ``"rotation"``
        ``"haar"`` has no finite exact rule here; use Monte Carlo.
    d, T : int
        Dimension and number of transitions.
    n_angles : int
        Grid points per angle (>= 1).
    s0_mode : ``"fixed"`` or ``"random_phase"``
    n_phase : int, optional
        Grid points per phase angle (``"random_phase"`` only).

    Returns
    -------
    S : ndarray, shape (G, T + 1, d)
        One sequence per grid point; complex for ``"unitary"``.
    weights : ndarray, shape (G,)
        All equal to $1/G$.

    Raises
    ------
    ValueError
        For ``"haar"``, invalid sizes, or a grid of more than :data:`MAX_GRID` points.
    """
    _check_kind(kind, d)
    if kind == "haar":
        raise ValueError(
            "no exact quadrature for Haar-orthogonal W; use sequences(...) (Monte Carlo)"
        )
    positive_int("T", T)
    positive_int("n_angles", n_angles)
    one_of("s0_mode", s0_mode, S0_MODES)
    m = d if kind == "unitary" else d // 2  # number of independent angles
    axes = [int(n_angles)] * m
    if s0_mode == "random_phase":
        n_ph = default_n_phase(kind) if n_phase is None else n_phase
        positive_int("n_phase", n_ph)
        axes += [int(n_ph)] * m
    elif n_phase is not None:
        raise ValueError("n_phase is only used with s0_mode='random_phase'")
    G = math.prod(axes)
    if G > MAX_GRID:
        raise ValueError(
            f"quadrature grid of {' x '.join(map(str, axes))} = {G} points exceeds "
            f"{MAX_GRID}; lower d or n_angles (or n_phase), or use Monte Carlo (sequences)"
        )
    grids = np.meshgrid(*[2.0 * np.pi * np.arange(n) / n for n in axes], indexing="ij")
    ang = np.stack([g.reshape(-1) for g in grids], axis=1)  # (G, m) or (G, 2m)
    theta = ang[:, :m]  # (G, m)
    if kind == "unitary":
        W = np.zeros((G, d, d), dtype=complex)  # (G, d, d)
        k = np.arange(d)  # (d,)
        W[:, k, k] = np.exp(1j * theta)
        if s0_mode == "fixed":
            s0 = np.full((G, d), 1.0 / math.sqrt(d), dtype=complex)  # (G, d)
        else:
            s0 = np.exp(1j * ang[:, m:]) / math.sqrt(d)  # (G, d)
    else:
        W = _rotation_blocks(theta, d)  # (G, d, d)
        if s0_mode == "fixed":
            s0 = np.full((G, d), 1.0 / math.sqrt(d))  # (G, d)
        else:
            s0 = _rotate_blocks(ang[:, m:], d)  # (G, d)
    S = _roll_out(W, s0, T)  # (G, T+1, d)
    weights = np.full(G, 1.0 / G)  # (G,)
    return S, weights


def expect(f_values: np.ndarray, weights: np.ndarray) -> Any:
    r"""Weighted expectation $\sum_n w_n f_n$ over the leading axis.

    Parameters
    ----------
    f_values : ndarray, shape (N, ...)
        Values of $f$ on the ``N`` sequences (real or complex).
    weights : ndarray, shape (N,)
        Quadrature or Monte-Carlo weights (summing to 1).

    Returns
    -------
    float or complex for scalar ``f``, else ndarray of shape ``f_values.shape[1:]``.
    """
    f = np.asarray(f_values)  # (N, ...)
    w = np.asarray(weights, dtype=float)  # (N,)
    if w.ndim != 1 or f.ndim < 1 or f.shape[0] != w.shape[0]:
        raise ValueError(
            f"weights (N,) must match the leading axis of f_values; got {w.shape} and {f.shape}"
        )
    out = np.tensordot(w, f, axes=(0, 0))  # f.shape[1:]
    return out.item() if out.ndim == 0 else out


# ---------------------------------------------------------------------- data object
@dataclass(frozen=True, eq=False)
class SeqData:
    r"""Sequences with weights: the ``data`` a model of :mod:`.direct_augmented` trains on.

    Attributes
    ----------
    S : ndarray, shape (N, T + 1, d)
        States $s_0..s_T$ per sequence (complex or real).
    weights : ndarray, shape (N,)
        Non-negative, summing to 1 (uniform for Monte Carlo, quadrature weights otherwise).
    """

    S: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        S = np.asarray(self.S)  # (N, T+1, d)
        w = np.asarray(self.weights, dtype=float)  # (N,)
        if S.ndim != 3 or S.shape[0] < 1 or S.shape[1] < 2 or S.shape[2] < 1:
            raise ValueError(f"S must have shape (N, T+1, d) with N, T, d >= 1, got {S.shape}")
        if not np.issubdtype(S.dtype, np.number) or not np.all(np.isfinite(S)):
            raise ValueError("S must be a finite numeric array")
        if w.shape != (S.shape[0],):
            raise ValueError(f"weights must have shape ({S.shape[0]},), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must be finite, non-negative and sum to 1 (sum {w.sum()!r})")
        object.__setattr__(self, "S", S)
        object.__setattr__(self, "weights", w)

    @classmethod
    def uniform(cls, S: np.ndarray) -> SeqData:
        """Monte-Carlo data: weights $1/N$."""
        S = np.asarray(S)  # (N, T+1, d)
        return cls(S, np.full(S.shape[0], 1.0 / S.shape[0]))

    @property
    def N(self) -> int:
        """Number of sequences."""
        return int(self.S.shape[0])

    @property
    def T(self) -> int:
        """Number of transitions (the sequences hold $T + 1$ states)."""
        return int(self.S.shape[1] - 1)

    @property
    def d(self) -> int:
        """Dimension of the states."""
        return int(self.S.shape[2])

    @property
    def is_complex(self) -> bool:
        """Whether the states are complex."""
        return bool(np.iscomplexobj(self.S))

    def sample(self, rng: np.random.Generator, batch_size: int) -> SeqData:
        """A minibatch with uniform weights (for SGD / minibatch Adam).

        Rows are drawn without replacement when the weights are uniform, else with
        replacement and probabilities ``weights`` (an unbiased estimate either way).
        """
        positive_int("batch_size", batch_size)
        w = self.weights  # (N,)
        if np.allclose(w, w[0]):
            if batch_size > self.N:
                raise ValueError(f"batch_size {batch_size} exceeds the {self.N} sequences")
            idx = rng.choice(self.N, size=batch_size, replace=False)  # (B,)
        else:
            idx = rng.choice(self.N, size=batch_size, replace=True, p=w)  # (B,)
        return SeqData.uniform(self.S[idx])


def mc_data(
    kind: str,
    d: int,
    T: int,
    N: int,
    s0_mode: str = "fixed",
    rng: np.random.Generator | None = None,
) -> SeqData:
    """:func:`sequences` wrapped as :class:`SeqData` with uniform weights (spec 1.1)."""
    return SeqData.uniform(sequences(kind, d, T, N, s0_mode, rng))


def quadrature_data(
    kind: str,
    d: int,
    T: int,
    n_angles: int,
    s0_mode: str = "fixed",
    n_phase: int | None = None,
) -> SeqData:
    """:func:`quadrature` wrapped as :class:`SeqData` (spec 3.5, derived)."""
    S, w = quadrature(kind, d, T, n_angles, s0_mode, n_phase)  # (G, T+1, d), (G,)
    return SeqData(S, w)


def unit_quadrature(kind: str, d: int, T: int, n_angles: int) -> dict[str, np.ndarray]:
    r"""Exact quadrature data with unit-modulus $s_0 = \mathbf 1$, the normalisation of the (N0)
    theory (spec 3.2), in the batch form of :mod:`.direct_nonaugmented`: ``{"S", "weight"}``."""
    S, w = quadrature(kind, d, T, n_angles)  # (G, T+1, d): s_0 = 1/sqrt(d)
    return {"S": S * np.sqrt(d), "weight": w}


# ---------------------------------------------------------------------- conventions
def as_states(S: Any) -> np.ndarray:
    """States ``S`` checked to have shape (N, T+1, d) with N, T, d >= 1."""
    S = np.asarray(S)  # (N, T+1, d)
    if S.ndim != 3 or S.shape[1] < 2 or S.shape[0] < 1 or S.shape[2] < 1:
        raise ValueError(f"S must have shape (N, T+1, d) with N, T, d >= 1, got {S.shape}")
    return S


def as_seqdata(data: Any, real: bool = False) -> SeqData:
    """``data`` checked to be a :class:`SeqData` (real sequences only if ``real``)."""
    if not isinstance(data, SeqData):
        raise TypeError(
            f"data must be a SeqData (see sander2024.data.mc_data / quadrature_data), "
            f"got {type(data).__name__}"
        )
    if real and data.is_complex:
        raise ValueError("this model takes real sequences (kind='haar' or 'rotation'), got complex ones")
    return data


def check_positions(positions: Any) -> tuple[int, ...] | None:
    """``positions`` as a sorted tuple of distinct non-negative integers (None: all positions)."""
    if positions is None:
        return None
    pos = tuple(positions)
    if not pos:
        raise ValueError("positions must be None (all) or a non-empty list of positions")
    for p in pos:
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 0:
            raise ValueError(f"positions must be non-negative integers, got {positions!r}")
    if len(set(pos)) != len(pos):
        raise ValueError(f"positions must be distinct, got {positions!r}")
    return tuple(sorted(int(p) for p in pos))


def position_mask(positions: Sequence[int] | None, T: int) -> np.ndarray:
    """Indicator (T,) of the positions in a loss (None: all of ``0..T-1``)."""
    if positions is None:
        return np.ones(T)  # (T,)
    if max(positions) >= T:
        raise ValueError(
            f"positions {tuple(positions)} out of range: the data have T={T}, positions 0..{T - 1}"
        )
    mask = np.zeros(T)  # (T,)
    mask[list(positions)] = 1.0
    return mask


# ---------------------------------------------------------------------- PE-only data
def pe_only_data(mu: float, T: int, N: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    r"""Monte-Carlo PE-only data (spec 1.1, 3.4, authors' ``pe_only.py``): $s_t = \lambda^t$,
    $t = 0..T$, with $\lambda = e^{i\theta/\mu}$, $\theta \sim U(0, 2\pi)$, $s_0 = 1$, no
    noise.

    Returns
    -------
    dict
        ``"S"``: complex (N, T+1, 1); ``"weight"``: (N,) all $1/N$; ``"theta"``: (N,).
    """
    positive_float("mu", mu)
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
    positive_float("mu", mu)
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


