r"""Exact expectations over uniform phases by monomial expansion (spec 3.1, 3.5; derived).

With $\lambda_k = e^{i\theta_k}$, $\theta_k$ iid uniform, $\mathbb E \prod_k \lambda_k^{m_k} =
\mathbf 1[m = 0]$. A quantity that is a polynomial in the $\lambda$'s and their conjugates is
therefore stored as ``{exponent vector: coefficient}`` (a :class:`MPoly`), and
$\mathbb E|X|^2 = \sum_m |c_m|^2$ for $X = \sum_m c_m \lambda^m$: distinct monomials are
orthonormal. Coefficients are sympy expressions in *real* symbols (the model parameters and
the moduli of $s_0$), so conjugation only negates exponents.

For the commuting unitary case, $s_{t,i} = r_i e^{i\varphi_i} \lambda_i^t$. In every model here
each term of output coordinate $i$ carries exactly one factor $e^{i\varphi_i}$, the same as the
target's, so the phases of $s_0$ drop out of every squared error and $s_{0,i}$ can be taken
real ($r_i$).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp

__all__ = ["MPoly", "unitary_state", "expected_sq_norm"]

Exponent = tuple[int, ...]


@dataclass
class MPoly:
    """A Laurent polynomial in unit-modulus variables: ``terms[m] = c`` means $c\\,\\lambda^m$."""

    n_vars: int
    terms: dict[Exponent, sp.Expr] = field(default_factory=dict)

    @classmethod
    def monomial(cls, n_vars: int, exponent: Iterable[int], coef: sp.Expr | float = 1) -> MPoly:
        e = tuple(int(x) for x in exponent)
        if len(e) != n_vars:
            raise ValueError(f"exponent {e} has {len(e)} entries for {n_vars} variables")
        return cls(n_vars, {e: sp.sympify(coef)})

    def __add__(self, other: MPoly) -> MPoly:
        out = dict(self.terms)
        for e, c in other.terms.items():
            out[e] = out.get(e, sp.Integer(0)) + c
        return MPoly(self.n_vars, out)

    def __sub__(self, other: MPoly) -> MPoly:
        return self + other.scale(-1)

    def scale(self, c: sp.Expr | float) -> MPoly:
        c = sp.sympify(c)
        return MPoly(self.n_vars, {e: c * v for e, v in self.terms.items()})

    def __mul__(self, other: MPoly) -> MPoly:
        out: dict[Exponent, sp.Expr] = {}
        for e1, c1 in self.terms.items():
            for e2, c2 in other.terms.items():
                e = tuple(a + b for a, b in zip(e1, e2, strict=True))
                out[e] = out.get(e, sp.Integer(0)) + c1 * c2
        return MPoly(self.n_vars, out)

    def conj(self) -> MPoly:
        """Complex conjugate: exponents negate; coefficients are real expressions."""
        return MPoly(self.n_vars, {tuple(-x for x in e): c for e, c in self.terms.items()})

    def expected_abs2(self) -> sp.Expr:
        r"""$\mathbb E|X|^2 = \sum_m c_m^2$ (real coefficients)."""
        return sp.Add(*[c**2 for c in self.terms.values()])

    def expectation(self) -> sp.Expr:
        """$\\mathbb E X$ = the constant term."""
        return self.terms.get((0,) * self.n_vars, sp.Integer(0))


def unitary_state(d: int, t: int, r: Iterable[sp.Expr]) -> list[MPoly]:
    r"""$s_{t,i} = r_i \lambda_i^t$, one :class:`MPoly` per coordinate (phases of $s_0$ dropped)."""
    rr = list(r)
    if len(rr) != d:
        raise ValueError(f"need {d} moduli, got {len(rr)}")
    out = []
    for i in range(d):
        e = [0] * d
        e[i] = t
        out.append(MPoly.monomial(d, e, rr[i]))
    return out


def expected_sq_norm(residual: list[MPoly]) -> sp.Expr:
    r"""$\mathbb E\lVert X\rVert^2 = \sum_i \mathbb E|X_i|^2$."""
    return sp.Add(*[x.expected_abs2() for x in residual])
