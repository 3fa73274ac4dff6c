r"""The exact symmetry reduction of the one-layer transformer (spec section 2.2; reconstructed, verified numerically).

With the additive embedding, full enumeration of the strings and an $a \leftrightarrow b$
symmetric start (zero), gradient descent stays on a 35-dimensional manifold
($L_{\max} = 6$): the token score $\nu$ ($u_a = u_b$, multiplicity 2), the position scores
$p_\ell$ (1), the same-token attention bonus $\kappa = \alpha - \beta$ (effective metric 1),
the key-position x query-token scores $\delta_\ell$ (2) and the key-position x query-position
scores $P_{\ell L}$, $\ell \le L$ (1). A string of length $L$ enters only through its match
pattern $m_\ell = [w_\ell = w_L]$:

.. math::
    \mathtt T(m) = \nu + \sum_{\ell \le L} \varphi_\ell(m)\, p_\ell, \qquad
    \varphi_\ell(m) = \frac{\exp((\kappa m_\ell + \delta_\ell + P_{\ell L})/\lambda)}
                           {\sum_{j \le L} \exp((\kappa m_j + \delta_j + P_{jL})/\lambda)},

and the loss is a weighted sum over patterns of $\ln(1 + e^{-y \mathtt T})$. The sum is a
:class:`~dynamics.model.RowSum`: one symbolic row term over a numeric table whose columns are
the pattern $m$, the key-presence mask $e_\ell = [\ell \le L]$, the one-hot $h$ of the length
$L$ (selecting $P_{\ell L}$), the label and the weight. The gradient flow is
$\dot\theta_i = -(s_i/m_i)\, \partial_i \tilde{\mathcal L}$ in $\tau = \eta t$, with
$s_i = \lambda$ for the attention coordinates while $\tau < \eta t_0$ (spec 1.6, 2.2).

The reduction itself is the spec's reconstruction, verified numerically there and in our
tests against full GD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from derivations.huang2025.data import even_pairs_dataset, pattern_table
from dynamics.model import ReducedModel, RowSum
from dynamics.symbolic import softplus

__all__ = ["state_symbols", "state_names", "reduced_model", "u_full", "W_norm2", "pattern_outputs"]


@dataclass(frozen=True)
class Symbols:
    """The reduced coordinates (spec 2.2)."""

    nu: sp.Symbol
    p: tuple[sp.Symbol, ...]
    kappa: sp.Symbol
    delta: tuple[sp.Symbol, ...]
    P: dict[tuple[int, int], sp.Symbol]

    @property
    def state(self) -> list[sp.Symbol]:
        return [self.nu, *self.p, self.kappa, *self.delta, *self.P.values()]


def state_symbols(L_max: int) -> Symbols:
    r"""The reduced coordinates in the order used everywhere: $\nu$, $p_{1..L_{\max}}$,
    $\kappa$, $\delta_{1..L_{\max}}$, $P_{\ell L}$ ($L = 1..L_{\max}$, $\ell = 1..L$)."""
    return Symbols(
        sp.Symbol("nu", real=True),
        sp.symbols(f"p1:{L_max + 1}", real=True),
        sp.Symbol("kappa", real=True),
        sp.symbols(f"delta1:{L_max + 1}", real=True),
        {(l, L): sp.Symbol(f"P{l}_{L}", real=True) for L in range(1, L_max + 1) for l in range(1, L + 1)},
    )


def state_names(L_max: int) -> list[str]:
    return [str(x) for x in state_symbols(L_max).state]


def reduced_model(L_max: int = 6, table: np.ndarray | None = None, lam: float = 2.0,
                  name: str = "huang2025-even-pairs") -> ReducedModel:
    r"""The reduced loss over match patterns (spec 2.2) as a :class:`ReducedModel`.

    ``table`` defaults to the even-pairs patterns of every string of length $1..L_{\max}$
    (63 rows for $L_{\max} = 6$); any a<->b symmetric labelling gives a valid table
    (:func:`derivations.huang2025.data.pattern_table`). ``lam`` is the default of the
    runtime parameter $\lambda$.
    """
    if table is None:
        table = pattern_table(even_pairs_dataset(L_max))
    s = state_symbols(L_max)
    nu, p, kappa, delta, P = s.nu, s.p, s.kappa, s.delta, s.P
    lam_s = sp.Symbol("lambda", positive=True)
    m = sp.symbols(f"m1:{L_max + 1}", real=True)
    e = sp.symbols(f"e1:{L_max + 1}", real=True)
    h = sp.symbols(f"h1:{L_max + 1}", real=True)
    y, w = sp.symbols("y w", real=True)
    # logit of key l: (kappa m_l + delta_l + P_{l L}) / lambda, with P_{lL} picked by the length
    # one-hot; the logits are intermediates, so derivatives go through them by the chain rule
    z = sp.symbols(f"z1:{L_max + 1}", real=True)
    logits = [(kappa * m[l - 1] + delta[l - 1] + sum(h[L - 1] * P[(l, L)] for L in range(l, L_max + 1))) / lam_s
              for l in range(1, L_max + 1)]
    E = [e[l] * sp.exp(z[l]) for l in range(L_max)]
    T = nu + sum(E[l] * p[l] for l in range(L_max)) / sum(E)
    rows = RowSum(w * softplus(-y * T), tuple(m) + tuple(e) + tuple(h) + (y, w), table, label="patterns",
                  intermediates=tuple(zip(z, logits, strict=True)))
    state = s.state
    metric = [2] + [1] * L_max + [1] + [2] * L_max + [1] * len(P)
    groups = ["u"] * (1 + L_max) + ["attn"] * (1 + L_max + len(P))
    obs = {
        "u_norm": sp.sqrt(2 * nu**2 + sum(x**2 for x in p)),
        "W_norm": sp.sqrt(kappa**2 + 2 * sum(x**2 for x in delta) + sum(x**2 for x in P.values())),
    }
    return ReducedModel.from_loss(
        name, state, [lam_s], rows, metric=metric, groups=groups, observables=obs,
        defaults={"lambda": lam},
        title="Huang, Liang & Yang 2025: one-layer transformer on even pairs, exact symmetry reduction (reconstructed)",
    )


def u_full(y: np.ndarray, L_max: int) -> np.ndarray:
    r"""The read-out $u \in \mathbb R^{2 + L_{\max}}$ from reduced states, shape (..., d)."""
    y = np.asarray(y)
    nu = y[..., :1]
    p = y[..., 1 : 1 + L_max]
    return np.concatenate([nu, nu, p], axis=-1)


def W_norm2(y: np.ndarray, L_max: int) -> np.ndarray:  # noqa: N802
    r"""$\lVert W \rVert_F^2 = \kappa^2 + 2\sum\delta^2 + \sum P^2$ on the zero-gauge manifold."""
    y = np.asarray(y)
    k = y[..., 1 + L_max]
    d = y[..., 2 + L_max : 2 + 2 * L_max]
    P = y[..., 2 + 2 * L_max :]
    return k**2 + 2 * np.sum(d**2, axis=-1) + np.sum(P**2, axis=-1)


def pattern_outputs(y: np.ndarray, table: np.ndarray, L_max: int, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""$\mathtt T(m)$, the attention $\varphi(m)$ and the features $z(m)$ for every table row.

    Features are in the additive embedding with the query token ``a`` (the ``b`` copy is the
    token-swapped vector): $z = \sum_\ell \varphi_\ell (E^w_{w_\ell} + E^p_\ell)$.
    Returns T (R,), phi (R, L_max), z (R, 2 + L_max).
    """
    y = np.asarray(y, dtype=float)
    nu = y[0]
    p = y[1 : 1 + L_max]
    kappa = y[1 + L_max]
    delta = y[2 + L_max : 2 + 2 * L_max]
    Pv = y[2 + 2 * L_max :]
    P = np.zeros((L_max, L_max))  # (l, L)
    k = 0
    for L in range(L_max):
        for l in range(L + 1):
            P[l, L] = Pv[k]
            k += 1
    m = table[:, :L_max]  # (R, L_max)
    e = table[:, L_max : 2 * L_max]  # (R, L_max)
    h = table[:, 2 * L_max : 3 * L_max]  # (R, L_max)
    logits = (kappa * m + delta[None, :] + h @ P.T) / lam  # (R, L_max)
    logits = np.where(e > 0, logits, -np.inf)
    logits -= logits.max(axis=1, keepdims=True)
    phi = np.exp(logits)  # (R, L_max)
    phi /= phi.sum(axis=1, keepdims=True)
    T = nu + phi @ p  # (R,)
    z = np.zeros((table.shape[0], 2 + L_max))  # (R, d)
    z[:, 0] = np.sum(phi * m, axis=1)  # same token as the query (a)
    z[:, 1] = np.sum(phi * (1 - m) * e, axis=1)
    z[:, 2:] = phi
    return T, phi, z
