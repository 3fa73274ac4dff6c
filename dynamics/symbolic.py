r"""Numerically stable sympy functions for losses.

``softplus(x)`` $= \ln(1 + e^x)$ and ``sigmoid(x)`` $= 1/(1+e^{-x})$ differentiate
symbolically like their textbook forms but are printed to overflow-free code: the logistic
loss $\ln(1+e^{-m})$ written as ``softplus(-m)`` stays finite for any margin ``m``, and so
do its gradient and Hessian.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["softplus", "sigmoid", "logistic_loss"]


class sigmoid(sp.Function):  # noqa: N801  (sympy functions are lower-case)
    r"""$\sigma(x) = 1/(1 + e^{-x})$, with $\sigma' = \sigma(1-\sigma) = \sigma(x)\,\sigma(-x)$.

    The derivative is written as $\sigma(x)\sigma(-x)$: $1 - \sigma(x)$ rounds to 0 from
    $x \approx 37$, while $\sigma(-x)$ keeps its relative precision down to $e^{-745}$.
    """

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sigmoid(x) * sigmoid(-x)

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class softplus(sp.Function):  # noqa: N801
    r"""$\operatorname{softplus}(x) = \ln(1 + e^{x})$, with derivative $\sigma(x)$."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.log(2)
        return None

    def _eval_rewrite_as_log(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.log(1 + sp.exp(x))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"


def logistic_loss(margin: sp.Expr) -> sp.Expr:
    r"""$\ell(m) = \ln(1 + e^{-m})$ as ``softplus(-m)``."""
    return softplus(-margin)


# Source of the stable scalar implementations, shared by the generated modules.
SCALAR_HELPERS_SOURCE = '''
def _softplus(x):
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
'''
