r"""Reduced losses of Sander et al. (2024), derived in sympy by monomial expansion (spec 3.1-3.2, 3.5).

Nothing here is typed in from the spec's boxed formulas: each loss is the expected squared
error of the model's prediction, expanded into phase monomials
(:mod:`derivations.sander2024.monomials`) for commuting unitary $W = \mathrm{diag}(\lambda)$.
The boxed formulas (A1) and (N1) are written out separately (:func:`a1_formula`,
:func:`n1_formula`) only so that tests can compare them with the derivation. The symbols, in
the spec's notation, come first (:func:`diagonal_symbols`, :func:`moduli_symbols`,
:func:`shared_symbols`, :func:`c_symbols`, :func:`pe_row_symbols`).

* Augmented tokens, block-structured linear attention (A0) (derived):
  $\hat s_{t+1} = B\big(\sum_{t'=1}^{t} s_{t'} s_{t'-1}^*\big) A s_t$.
* Non-augmented, diagonal multi-head with positional weights (N0) (derived):
  $\hat s_{n+1,i} = \sum_j p_j \sum_k C_{ik}\,\bar s_{q,k} s_{j,k} s_{j,i}$, $q = n-1$, $C = B^\top A$.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from derivations.sander2024.monomials import MPoly, expected_sq_norm, unitary_state
from dynamics.model import ReducedModel

__all__ = [
    "diagonal_symbols", "moduli_symbols", "shared_symbols", "c_symbols", "pe_row_symbols",
    "augmented_prediction", "augmented_position_loss", "a1_formula", "augmented_shared_model",
    "augmented_diagonal_model", "nonaug_prediction", "nonaug_row_loss", "n1_formula",
]


# ---------------------------------------------------------------------- symbols
def diagonal_symbols(d: int) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    r"""$a_1..a_d$, $b_1..b_d$ (real): the block model (A0) with $A = \mathrm{diag}(a)$,
    $B = \mathrm{diag}(b)$, the variables of (A1) (spec 3.1)."""
    return sp.symbols(f"a1:{d + 1}", real=True), sp.symbols(f"b1:{d + 1}", real=True)


def moduli_symbols(d: int) -> tuple[sp.Symbol, ...]:
    r"""$r_1..r_d > 0$: the moduli $|s_{0,i}|$ of the initial state; (A1)'s weights are
    $w_i = r_i^2$ (spec 3.1)."""
    return sp.symbols(f"r1:{d + 1}", positive=True)


def shared_symbols() -> tuple[sp.Symbol, sp.Symbol]:
    r"""$\alpha, \beta$ (real): $A = \alpha I$, $B = \beta I$ shared by all positions; the
    one-step-GD step is $\eta = \alpha\beta$ (spec 3.1)."""
    alpha, beta = sp.symbols("alpha beta", real=True)
    return alpha, beta


def c_symbols(d: int) -> list[list[sp.Symbol]]:
    r"""$C_{ik}$ (real), $C = B^\top A$: the only combination of the head weights in (N0) and
    (N1) (spec 1.3, 3.2)."""
    return [[sp.Symbol(f"C{i}_{k}", real=True) for k in range(d)] for i in range(d)]


def pe_row_symbols(n: int, name: str = "p") -> tuple[sp.Symbol, ...]:
    r"""$p_0..p_n$ (real): one row of positional weights of (N0), query $q = n-1$, most recent
    key $n$ (spec 3.2 (N1)); named ``{name}0..{name}n``."""
    return sp.symbols(f"{name}0:{n + 1}", real=True)


def augmented_prediction(d: int, t: int, a: Sequence[sp.Expr], b: Sequence[sp.Expr], r: Sequence[sp.Expr]) -> list[MPoly]:
    r"""(A0) with $A = \mathrm{diag}(a)$, $B = \mathrm{diag}(b)$ at a position with $t$ pairs."""
    s = [unitary_state(d, k, r) for k in range(t + 1)]
    out = []
    for i in range(d):
        acc = MPoly(d)
        for tp in range(1, t + 1):
            for k in range(d):
                acc = acc + (s[tp][i] * s[tp - 1][k].conj() * s[t][k]).scale(a[k] * b[i])
        out.append(acc)
    return out


def augmented_position_loss(d: int, t: int, a: Sequence[sp.Expr], b: Sequence[sp.Expr], r: Sequence[sp.Expr]) -> sp.Expr:
    r"""$\ell_t = \mathbb E\lVert\hat s_{t+1} - s_{t+1}\rVert^2$ for (A0), derived by monomial expansion."""
    pred = augmented_prediction(d, t, a, b, r)
    target = unitary_state(d, t + 1, r)
    return sp.expand(expected_sq_norm([p - q for p, q in zip(pred, target, strict=True)]))


def a1_formula(d: int, t: int, a: Sequence[sp.Expr], b: Sequence[sp.Expr], w: Sequence[sp.Expr]) -> sp.Expr:
    r"""The spec's boxed (A1), typed in for comparison only:
    $\sum_i w_i[(t a_i b_i w_i - 1)^2 + t b_i^2 \sum_{k\ne i} a_k^2 w_k^2]$."""
    return sp.Add(*[w[i] * ((t * a[i] * b[i] * w[i] - 1) ** 2
                            + t * b[i] ** 2 * sp.Add(*[a[k] ** 2 * w[k] ** 2 for k in range(d) if k != i]))
                    for i in range(d)])


def augmented_shared_model(d: int = 5, n: int = 50) -> ReducedModel:
    r"""$\mathcal L(\alpha, \beta) = \sum_{t=0}^{n-1}\ell_t(\alpha\mathbf 1, \beta\mathbf 1)$ with
    $s_0 = \mathbf 1/\sqrt d$ (the authors' code), positions sharing $A = \alpha I$, $B = \beta I$
    (spec 3.1) (derived). Observables: ``eta`` $= \alpha\beta$ (the one-step GD step size),
    ``balance`` $= \alpha^2 - \beta^2$ (conserved)."""
    alpha, beta = shared_symbols()
    r = [1 / sp.sqrt(d)] * d
    loss = sp.Add(*[augmented_position_loss(d, t, [alpha] * d, [beta] * d, r) for t in range(n)])
    return ReducedModel.from_loss(
        "sander2024-augmented", [alpha, beta], [], sp.expand(loss),
        observables={"eta": alpha * beta, "balance": alpha**2 - beta**2},
        title=f"Sander et al. 2024: augmented linear attention, shared A = alpha I, B = beta I (d={d}, n={n})",
    )


def augmented_diagonal_model(d: int = 3, t: int = 4) -> ReducedModel:
    r"""Single-position loss $\ell_t(a, b)$ over diagonal $A = \mathrm{diag}(a)$, $B = \mathrm{diag}(b)$,
    $s_0 = \mathbf 1/\sqrt d$ (spec 3.1) (derived)."""
    a, b = diagonal_symbols(d)
    loss = augmented_position_loss(d, t, a, b, [1 / sp.sqrt(d)] * d)
    obs = {f"ab{i + 1}": a[i] * b[i] for i in range(d)}
    return ReducedModel.from_loss(
        "sander2024-augmented-diag", [*a, *b], [], loss, observables=obs,
        title=f"Sander et al. 2024: one position (t={t} pairs), diagonal A, B (d={d})",
    )


def _nonaug_terms(d: int, n: int, i: int, C: Sequence[Sequence[sp.Expr]], p: Sequence[sp.Expr],
                  evaluate: bool) -> dict[tuple[int, ...], list[sp.Expr]]:
    r"""Terms of $\hat s_{n+1,i}$ grouped by monomial: $\bar s_{q,k} s_{j,k} s_{j,i} =
    \lambda_k^{j-q}\lambda_i^{j}$ with coefficient $p_j C_{ik}$ (every factor is one monomial)."""
    q = n - 1
    coefs: dict[tuple[int, ...], list[sp.Expr]] = {}
    for j in range(n + 1):
        for k in range(d):
            e = [0] * d
            e[k] += j - q
            e[i] += j
            coefs.setdefault(tuple(e), []).append(sp.Mul(p[j], C[i][k], evaluate=evaluate))
    return coefs


def nonaug_prediction(d: int, n: int, C: Sequence[Sequence[sp.Expr]], p: Sequence[sp.Expr]) -> list[MPoly]:
    r"""(N0) for the row with last key $n$ and query $q = n-1$, $s_0 = \mathbf 1$ (unit moduli)."""
    return [MPoly(d, {e: sp.Add(*c) for e, c in _nonaug_terms(d, n, i, C, p, True).items()}) for i in range(d)]


def nonaug_row_loss(d: int, n: int, C: Sequence[Sequence[sp.Expr]], p: Sequence[sp.Expr],
                    expand: bool = False) -> sp.Expr:
    r"""$\ell_n = \mathbb E\lVert\hat s_{n+1} - s_{n+1}\rVert^2$ for (N0), derived by monomial expansion.

    The residual's monomials are those of the prediction plus the target $\lambda_i^{n+1}$; the
    loss is the sum of their squared coefficients. It is built from unevaluated sympy nodes, so
    the tens of thousands of terms of a large size are never canonicalised (docs/sander2024.md
    has the cost); ``expand=True`` multiplies it out (for comparing with the closed form).
    """
    squares = []
    for i in range(d):
        coefs = _nonaug_terms(d, n, i, C, p, False)
        target = [0] * d
        target[i] = n + 1
        coefs.setdefault(tuple(target), []).append(sp.Integer(-1))
        squares += [sp.Pow(sp.Add(*c, evaluate=False), 2, evaluate=False) for c in coefs.values()]
    loss = sp.Add(*squares, evaluate=False)
    return sp.expand(loss) if expand else loss


def n1_formula(d: int, n: int, C: Sequence[Sequence[sp.Expr]], p: Sequence[sp.Expr]) -> sp.Expr:
    r"""The spec's boxed (N1), typed in for comparison only:
    $(\sum_{j\ne q}p_j^2)\lVert C\rVert_F^2 + p_q^2\lVert C\mathbf 1\rVert^2 - 2p_n\,\mathrm{tr}\,C + d$."""
    q = n - 1
    CF2 = sp.Add(*[C[i][k] ** 2 for i in range(d) for k in range(d)])
    C1 = sp.Add(*[sp.Add(*[C[i][k] for k in range(d)]) ** 2 for i in range(d)])
    tr = sp.Add(*[C[i][i] for i in range(d)])
    return (sp.Add(*[p[j] ** 2 for j in range(n + 1) if j != q]) * CF2 + p[q] ** 2 * C1
            - 2 * p[n] * tr + d)


def nonaug_names(d: int, H: int, T: int) -> list[str]:
    """Coordinates of the (N0) flow: ``A{h}_{k}``, ``B{h}_{k}`` and the unmasked ``P{t}_{j}`` (0-based)."""
    return ([f"A{h}_{k}" for h in range(H) for k in range(d)] + [f"B{h}_{k}" for h in range(H) for k in range(d)]
            + [f"P{t}_{j}" for t in range(T - 1) for j in range(t + 2)])


def nonaug_model(d: int = 2, H: int = 2, T: int = 4) -> ReducedModel:
    r"""The (N0) population loss $\sum_{t=0}^{T-2} \ell_{t+1}(B^\top A, P_{t,0:t+1})$ as a flow on
    $(A, B, P)$ (commuting unitary $W$, $s_0 = \mathbf 1$) (derived by monomial expansion).

    Meant for small $d, H, T$ (the Hessian is generated symbolically). Observables: ``trC``
    and ``Q`` $= \lVert A\rVert_F^2 + \lVert B\rVert_F^2 - 2\lVert P\rVert_F^2$ (conserved, spec 3.2).
    """
    names = nonaug_names(d, H, T)
    syms = {n: sp.Symbol(n, real=True) for n in names}
    A = [[syms[f"A{h}_{k}"] for k in range(d)] for h in range(H)]
    B = [[syms[f"B{h}_{k}"] for k in range(d)] for h in range(H)]
    C = [[sp.Add(*[B[h][i] * A[h][k] for h in range(H)]) for k in range(d)] for i in range(d)]
    loss = sp.Integer(0)
    for t in range(T - 1):
        p = [syms[f"P{t}_{j}"] for j in range(t + 2)]
        loss += nonaug_row_loss(d, t + 1, C, p)
    Pn = [syms[n] for n in names if n.startswith("P")]
    obs = {
        "trC": sp.Add(*[C[i][i] for i in range(d)]),
        "Q": sp.Add(*[x**2 for row in A + B for x in row]) - 2 * sp.Add(*[x**2 for x in Pn]),
    }
    return ReducedModel.from_loss(
        f"sander2024-n0-d{d}-H{H}-T{T}", [syms[n] for n in names], [], loss, observables=obs,
        title=f"Sander et al. 2024: diagonal multi-head with positional weights (N0), d={d}, H={H}, T={T}",
    )


def n1_rows(d: int, T: int) -> tuple[list[list[sp.Symbol]], list[list[sp.Symbol]], list[sp.Expr]]:
    r"""The derived per-row losses of (N0) for rows $t = 0..T-2$ in symbols $C_{ik}$ and
    $P_{t,j}$. Returns ``(C, P, rows)``, ``P[t]`` the symbols $P_{t,0..t+1}$."""
    C = c_symbols(d)
    P = [list(pe_row_symbols(t + 1, f"P{t}_")) for t in range(T - 1)]
    return C, P, [nonaug_row_loss(d, t + 1, C, P[t]) for t in range(T - 1)]
