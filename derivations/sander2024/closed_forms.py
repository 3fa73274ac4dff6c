r"""Closed forms and predictions of Sander et al. (2024): the theory's numbers, each from a
formula or a spectrum, never from training (spec 2, 3.1-3.4, 5).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``. The paper's
body was not read, so every formula here is "derived" (the spec author's derivation or ours,
checked numerically by the tests and by ``dynamics verify sander2024``), unless a docstring
says otherwise.

* Augmented tokens, (A1): the optimal one-step-GD step sizes :func:`eta_star`,
  :func:`eta_star_shared` and the isotropic loss :func:`isotropic_loss`.
* One-step GD baselines on data (spec 2, 5): :func:`one_step_gd_predict`,
  :func:`one_step_gd_loss`, :func:`best_shared_eta`, :func:`per_position_etas`,
  :func:`baselines` (zero predictor, best shared step, best step per position).
* Non-augmented (N0), (N1): :func:`min_loss_formula`, the numpy oracle :func:`n1_loss`,
  and the head-subspace law for $H > d$: :func:`haar_offdiag_r2_mean` $= (H-d)/(H+2)$,
  :func:`haar_offdiag_r2_sd`, :func:`leverage_offdiag_r2`.
* PE-only attention (spec 3.4): :func:`pe_only_population_loss`, and the number of GD steps
  to a loss threshold from the spectrum of the population loss: :func:`pe_only_spectra`,
  :func:`pe_only_gd_loss_curve`, :func:`pe_only_steps_to`.

Conventions are those of :mod:`.data`: ``S`` holds $s_0..s_T$, shape ``(N, T+1, d)``;
position $t$ predicts $s_{t+1}$ from the pairs $(s_{t'-1}, s_{t'})$, $t' \le t$.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from derivations.sander2024.data import (
    SeqData,
    as_seqdata,
    as_states,
    check_positions,
    position_mask,
)
from dynamics.validate import finite_array

__all__ = [
    "baselines",
    "best_shared_eta",
    "eta_star",
    "eta_star_shared",
    "haar_offdiag_r2_mean",
    "haar_offdiag_r2_sd",
    "isotropic_loss",
    "leverage_offdiag_r2",
    "min_loss_formula",
    "n1_loss",
    "one_step_gd_loss",
    "one_step_gd_predict",
    "pe_only_gd_loss_curve",
    "pe_only_population_loss",
    "pe_only_spectra",
    "pe_only_steps_to",
    "per_position_etas",
]

Kind = Literal["unitary", "rotation"]
Reduction = Literal["mean", "sum"]


# ---------------------------------------------------------------------- augmented: (A1)
def eta_star(d: int, t: int) -> float:
    r"""Optimal one-step-GD step for one position with $t$ pairs, commuting unitary $W$,
    $\|s_0\| = 1$ spread evenly: $\eta^\star_t = d/(t + d - 1)$, with loss
    $(d-1)/(t+d-1)$ (spec 3.1 (A1), derived and checked numerically there)."""
    if d < 1 or t < 1:
        raise ValueError(f"need d >= 1 and t >= 1, got d={d}, t={t}")
    return d / (t + d - 1)


def eta_star_shared(d: int, n: int) -> float:
    r"""Optimal step shared by positions $t = 0..n-1$ (spec 3.1, derived):
    $\eta^\star = 3d/(2n + 3d - 4)$, the minimiser of :func:`isotropic_loss`. Here $n$ is
    the number of positions, i.e. ``T`` of the data."""
    if d < 1 or n < 2:
        raise ValueError(f"need d >= 1 and n >= 2, got d={d}, n={n}")
    return 3 * d / (2 * n + 3 * d - 4)


def isotropic_loss(d: int, n: int, eta: float) -> float:
    r"""$\mathcal L(x) = \sum_{t=0}^{n-1}\bigl[(t x - 1)^2 + t(d-1)x^2\bigr]$,
    $x = \eta/d$: the loss of (A0) at $A = \alpha I$, $B = \beta I$, $\eta = \alpha\beta$,
    summed over all positions, for commuting unitary $W$ and $|s_{0,i}|^2 = 1/d$
    (spec 3.1 (A1), derived)."""
    x = float(eta) / d
    t = np.arange(n)  # (n,)
    return float(np.sum((t * x - 1.0) ** 2 + t * (d - 1) * x**2))



# ---------------------------------------------------------------------- one-step GD baselines
def one_step_gd_predict(S: np.ndarray, eta: float) -> np.ndarray:
    r"""One step of GD from $W_0 = 0$ on $\frac12\sum_{t'=1}^{t}\|s_{t'} - W s_{t'-1}\|^2$,
    then $\hat s_{t+1} = \hat W s_t$ (spec 2, derived):

    $$ \hat s_{t+1} = \eta \sum_{t'=1}^{t} s_{t'}\, s_{t'-1}^*\, s_t. $$

    It is the block model (A0) of :mod:`.direct_augmented` at $A = I$, $B = \eta I$.

    Parameters
    ----------
    S : ndarray, shape (N, T + 1, d)
    eta : float

    Returns
    -------
    ndarray, shape (N, T, d)
        Entry ``[:, t]`` predicts $s_{t+1}$ (0 at position 0).
    """
    S = as_states(S)  # (N, T+1, d)
    T = S.shape[1] - 1
    Q = S[:, :T]  # (N, T, d)      queries s_t, t = 0..T-1
    X = S[:, 1:T]  # (N, T-1, d)   values s_{t'}, t' = 1..T-1
    Y = S[:, : T - 1]  # (N, T-1, d)  keys s_{t'-1}
    mask = np.tril(np.ones((T, T - 1)), k=-1)  # (T, T-1)  pair t' = j + 1 in context iff j < t
    G = (Q @ np.swapaxes(Y, 1, 2).conj()) * mask  # (N, T, T-1)  s_{t'-1}^* s_t
    return (G @ X) * float(eta)  # (N, T, d)


def _loss_at(shat: np.ndarray, S: np.ndarray, w: np.ndarray, pos: np.ndarray) -> float:
    """$\\sum_n w_n \\sum_{t \\in P}\\|\\hat s_{t+1} - s_{t+1}\\|^2$ for predictions (N, T, d)."""
    r = shat - S[:, 1:]  # (N, T, d)
    per = np.sum(np.abs(r) ** 2, axis=2)  # (N, T)
    return float((w @ per) @ pos)


def one_step_gd_loss(
    S: np.ndarray,
    weights: np.ndarray,
    eta: float,
    positions: Sequence[int] | None = None,
) -> float:
    r"""$\sum_n w_n \sum_{t \in P}\|\hat s_{t+1} - s_{t+1}\|^2$ for :func:`one_step_gd_predict`
    (spec 2, derived)."""
    S = as_states(S)  # (N, T+1, d)
    w = finite_array("weights", weights, (S.shape[0],))  # (N,)
    pos = position_mask(check_positions(positions), S.shape[1] - 1)  # (T,)
    return _loss_at(one_step_gd_predict(S, eta), S, w, pos)


def best_shared_eta(
    S: np.ndarray, weights: np.ndarray, positions: Sequence[int] | None = None
) -> float:
    r"""The least-squares step shared by all positions in $P$ (spec 3.1, derived):

    $$ \eta = \frac{\mathrm{Re}\sum_n w_n \sum_{t\in P} g_{n,t}^* s_{n,t+1}}
                   {\sum_n w_n \sum_{t\in P} \|g_{n,t}\|^2}, \qquad
       g_{n,t} = \sum_{t'=1}^{t} s_{t'} s_{t'-1}^* s_t. $$

    On exact quadrature data with $\|s_0\| = 1$ and all positions this is
    :func:`eta_star_shared`.
    """
    S = as_states(S)  # (N, T+1, d)
    w = finite_array("weights", weights, (S.shape[0],))  # (N,)
    pos = position_mask(check_positions(positions), S.shape[1] - 1)  # (T,)
    g = one_step_gd_predict(S, 1.0)  # (N, T, d)
    num = np.real(np.sum(g.conj() * S[:, 1:], axis=2))  # (N, T)
    den = np.sum(np.abs(g) ** 2, axis=2)  # (N, T)
    den_tot = float(w @ den @ pos)
    if den_tot == 0.0:
        raise ValueError("no in-context pair at the chosen positions: eta is undetermined")
    return float(w @ num @ pos) / den_tot



def _gd_terms(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per sequence and position: $\|s_{t+1}\|^2$, $g^\top s_{t+1}$, $\|g\|^2$ with
    $g_t = \sum_{t'=1}^{t} s_{t'} s_{t'-1}^\top s_t$ (one GD step at $\eta = 1$); (N, T) each."""
    g = one_step_gd_predict(S, 1.0)  # (N, T, d)
    y = S[:, 1:]  # (N, T, d)
    yy = np.sum(np.abs(y) ** 2, axis=2)  # (N, T)
    gy = np.real(np.sum(g.conj() * y, axis=2))  # (N, T)
    gg = np.sum(np.abs(g) ** 2, axis=2)  # (N, T)
    return yy, gy, gg


def per_position_etas(data: SeqData) -> np.ndarray:
    r"""Least-squares one-step-GD step for each position separately (derived):
    $\eta_t = \sum_n w_n g_{n,t}^\top s_{n,t+1} / \sum_n w_n \|g_{n,t}\|^2$ (0 at
    position 0, which has no pair). Shape (T,)."""
    data = as_seqdata(data, real=True)
    _, gy, gg = _gd_terms(data.S)  # (N, T) each
    num = data.weights @ gy  # (T,)
    den = data.weights @ gg  # (T,)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)  # (T,)


def baselines(data: SeqData, positions: Sequence[int] | None = None) -> dict[str, float]:
    r"""Reference losses on ``data`` at ``positions`` (default all; spec 5, Fig. 5).

    * ``"zero"``: $\hat s_{t+1} = 0$, loss $\sum_n w_n \sum_{t\in P}\|s_{t+1}\|^2$ ($= |P|$
      for unit states);
    * ``"gd_shared"``: one GD step from $W_0 = 0$ with the least-squares step shared by
      the positions in $P$ (:func:`best_shared_eta`,
      :func:`one_step_gd_loss`);
    * ``"gd_per_position"``: the same with the least-squares step of each position
      (:func:`per_position_etas`), loss
      $\sum_{t \in P}\bigl[\mathbb E\|s_{t+1}\|^2 - (\mathbb E\, g_t^\top s_{t+1})^2 /
      \mathbb E\|g_t\|^2\bigr]$.

    By construction ``gd_per_position <= gd_shared <= zero`` (each minimises over a
    larger set, all containing $\eta = 0$).

    Returns
    -------
    dict of str to float
        The three losses and ``"eta_shared"``.
    """
    data = as_seqdata(data, real=True)
    pos = position_mask(check_positions(positions), data.T)  # (T,)
    P = None if positions is None else [int(p) for p in positions]
    yy, gy, gg = _gd_terms(data.S)  # (N, T) each
    w = data.weights  # (N,)
    zero = float(w @ yy @ pos)
    if float(w @ gg @ pos) > 0:
        eta = best_shared_eta(data.S, w, P)
        shared = one_step_gd_loss(data.S, w, eta, P)
    else:  # no in-context pair at these positions: eta is irrelevant
        eta, shared = 0.0, zero
    num, den = w @ gy, w @ gg  # (T,), (T,)
    gain = np.where(den > 0, num**2 / np.where(den > 0, den, 1.0), 0.0)  # (T,)
    per = float((w @ yy - gain) @ pos)
    return {"zero": zero, "gd_shared": shared, "gd_per_position": per, "eta_shared": eta}



# ---------------------------------------------------------------------- non-augmented: (N1)
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
    P : ndarray, shape (T, T) (only :func:`.direct_nonaugmented.pe_mask` entries are read)
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



# ------------------------------------------------------- heads beyond H = d: the Haar law
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


# ------------------------------------------------------- PE-only: loss and steps to a threshold
def pe_only_population_loss(P: np.ndarray, mu: float, reduction: Reduction = "mean") -> float:
    r"""Closed-form population loss of :class:`.direct_pe_only.PEOnly` (spec 3.4, derived), an oracle.

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
    every row's quadratic $\ell_t(p) = p^\top G_t p - 2 b_t^\top p + 1$ of :class:`.direct_pe_only.PEOnly`,
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
    r"""The loss of GD from $P = 0$ on :class:`.direct_pe_only.PEOnly` after ``steps`` updates, in closed
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
    (the stopping rule of the authors' ``pe_only.py``, counted as :func:`.direct_pe_only.train_until` does),
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
