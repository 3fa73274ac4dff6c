r"""Numerically stable sympy functions for losses, and named sub-expressions.

``softplus(x)`` $= \ln(1 + e^x)$ and ``sigmoid(x)`` $= 1/(1+e^{-x})$ differentiate
symbolically like their textbook forms but are printed to overflow-free code: the logistic
loss $\ln(1+e^{-m})$ written as ``softplus(-m)`` stays finite for any margin ``m``, and so
do its gradient and Hessian.

:func:`define` names a sub-expression once, as a sympy function of its arguments (for
example the Gaussian integral $I_3(a, b, c)$ of a teacher-student model). A model written
with it is printed in its terms (:func:`dynamics.display.describe` lists each definition
once), generated code evaluates each distinct application once through a compiled helper,
and its derivatives are named functions too (``I3__d1`` is $\partial I_3/\partial a$), so
an analytic Jacobian stays as short as the field. :func:`inline` substitutes every
definition, for checks.
"""

from __future__ import annotations

import copyreg
import keyword
from collections.abc import Iterable, Sequence
from typing import Any

import sympy as sp
from sympy.core.function import FunctionClass

__all__ = ["softplus", "sigmoid", "logistic_loss", "define", "inline", "DefinedFunction",
           "defined_functions"]


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


class DefinedFunction(sp.Function):
    r"""Base class of the functions made by :func:`define`: an application stays unevaluated.

    Class attributes: ``definition_args`` (the dummy argument symbols), ``definition`` (the
    expression in them), ``latex_name``, ``base`` (the function it derives from, itself for a
    user definition) and ``orders`` (the 1-based argument indices it is differentiated by,
    sorted; ``()`` for a user definition).
    """

    definition_args: tuple[sp.Symbol, ...] = ()
    definition: sp.Expr = sp.Integer(0)
    latex_name: str = ""
    base: Any = None
    orders: tuple[int, ...] = ()

    @classmethod
    def eval(cls, *args: sp.Expr) -> sp.Expr | None:
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return _derivative(type(self), argindex)(*self.args)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return inline(self)._eval_evalf(prec)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"{type(self).latex_name}\left({args}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"{type(self).__name__}({', '.join(printer._print(a) for a in self.args)})"


#: (name, args, definition) -> class, so that defining the same function twice gives one class
_DEFINED: dict[tuple[str, str, str], FunctionClass] = {}
#: (base class, orders) -> derivative class
_DERIVED: dict[tuple[FunctionClass, tuple[int, ...]], FunctionClass] = {}


def define(name: str, args: Sequence[sp.Symbol] | sp.Symbol, expr: sp.Expr | float, *,
           latex: str | None = None) -> FunctionClass:
    r"""A named symbolic function ``name(args) = expr``, to write a model in its terms.

    Parameters
    ----------
    name : str
        A Python identifier, not a sympy name (``exp``, ``Add``, ...), a keyword or one with
        ``"__"`` (reserved for derivatives) or a leading underscore.
    args : sequence of sympy.Symbol
        The formal arguments, distinct.
    expr : sympy expression
        The definition: its free symbols must be among ``args`` (a named function takes no
        hidden parameters: pass them as arguments). It may use other named functions.
    latex : str, optional
        The LaTeX name (default: ``name`` with a trailing number as a subscript,
        ``I3`` -> ``I_{3}``).

    Returns
    -------
    A sympy function class: ``F = define("I3", (a, b, c), ...)``, then ``F(x, y, z)`` is an
    unevaluated application. Its derivative with respect to argument ``k`` is the named
    function ``NAME__dk`` (higher ones ``NAME__d1_2``, indices sorted), defined by
    differentiating ``expr``. Defining the same name, arguments and expression again returns
    the same class; a model that uses two different definitions of one name is refused when
    it is compiled or shown.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> g = define("g2", (a, b), sp.asin(a / sp.sqrt(1 + b)))
    >>> x = sp.Symbol("x", real=True)
    >>> sp.diff(g(x, 2 * x), x)
    g2__d1(x, 2*x) + 2*g2__d2(x, 2*x)
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name.startswith("_") or "__" in name or hasattr(sp, name) \
            or name in ("softplus", "sigmoid", "logistic_loss", "math", "np", "numba"):
        raise ValueError(f"name must be a Python identifier that is not a sympy or reserved name "
                         f"and has no leading underscore or '__', got {name!r}")
    if isinstance(args, sp.Symbol):
        args = (args,)
    try:
        argt = tuple(args)
    except TypeError:
        raise ValueError(f"args must be a sequence of sympy Symbols, got {args!r:.60}") from None
    if not argt or any(not isinstance(x, sp.Symbol) for x in argt) or len(set(argt)) != len(argt):
        raise ValueError(f"args must be one or more distinct sympy Symbols, got {argt!r:.80}")
    try:
        e = sp.sympify(expr, strict=True)
    except (sp.SympifyError, TypeError) as exc:
        raise ValueError(f"expr of {name!r} must be a sympy expression ({exc})") from None
    if not isinstance(e, sp.Expr) or getattr(e, "is_Matrix", False):
        raise ValueError(f"expr of {name!r} must be a scalar sympy expression, got {type(e).__name__}")
    stray = e.free_symbols - set(argt)
    if stray:
        raise ValueError(f"expr of {name!r} uses symbols that are not among its args: "
                         f"{sorted(map(str, stray))} (pass them as arguments)")
    key = (name, sp.srepr(argt), sp.srepr(e))
    if key not in _DEFINED:
        if latex is None:
            stem = name.rstrip("0123456789")
            latex = f"{stem}_{{{name[len(stem):]}}}" if stem and stem != name else name
        _DEFINED[key] = _make(name, argt, e, latex, None, ())
    return _DEFINED[key]


def _make(name: str, args: tuple[sp.Symbol, ...], e: sp.Expr, latex: str, base: FunctionClass | None,
          orders: tuple[int, ...]) -> FunctionClass:
    cls = FunctionClass(name, (DefinedFunction,), {
        "nargs": len(args), "definition_args": args, "definition": e, "latex_name": latex,
        "orders": orders, "__module__": __name__,
    })
    cls.base = cls if base is None else base
    # lambdify evaluates it through this (the numpy checking backend)
    cls._imp_ = staticmethod(sp.lambdify(args, inline(e), modules="numpy"))
    return cls


def _derivative(cls: FunctionClass, k: int) -> FunctionClass:
    r"""The named function $\partial_k$ ``cls``: one class per (base, sorted orders)."""
    base = cls.base
    orders = tuple(sorted(cls.orders + (k,)))
    if (base, orders) not in _DERIVED:
        args = base.definition_args
        e = sp.diff(base.definition, *[args[i - 1] for i in orders])
        name = f"{base.__name__}__d{'_'.join(map(str, orders))}"
        sub = ",".join(map(str, orders))
        latex = rf"\partial_{{{sub}}}{base.latex_name}"
        _DERIVED[(base, orders)] = _make(name, args, e, latex, base, orders)
    return _DERIVED[(base, orders)]


def _rebuild(base_name: str, args: tuple[sp.Symbol, ...], expr: sp.Expr, latex: str,
             orders: tuple[int, ...]) -> FunctionClass:
    cls = define(base_name, args, expr, latex=latex)
    for k in orders:
        cls = _derivative(cls, k)
    return cls


def _reduce_class(cls: FunctionClass) -> Any:
    if not (isinstance(cls, type) and issubclass(cls, DefinedFunction)) or cls is DefinedFunction:
        return cls.__name__  # pickled by reference, as before
    b = cls.base
    return _rebuild, (b.__name__, b.definition_args, b.definition, b.latex_name, cls.orders)


copyreg.pickle(FunctionClass, _reduce_class)


def defined_functions(exprs: Iterable[sp.Expr]) -> list[FunctionClass]:
    """The named functions used by ``exprs`` and by their definitions, each after those it
    uses (the order helpers are written in); refuses two definitions sharing a name."""
    out: dict[FunctionClass, None] = {}

    def visit(cls: FunctionClass) -> None:
        if cls in out:
            return
        for a in cls.definition.atoms(DefinedFunction):
            visit(type(a))
        out[cls] = None

    for e in exprs:
        for a in sp.sympify(e).atoms(DefinedFunction):
            visit(type(a))
    names: dict[str, FunctionClass] = {}
    for cls in out:
        if names.setdefault(cls.__name__, cls) is not cls:
            raise ValueError(f"two different definitions of the named function {cls.__name__!r} are "
                             "used together; define each name once")
    return list(out)


def inline(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every named-function application replaced by its definition (recursively)."""
    e = sp.sympify(expr)
    while True:
        apps = e.atoms(DefinedFunction)
        if not apps:
            return e
        e = e.xreplace({a: type(a).definition.xreplace(dict(zip(type(a).definition_args, a.args, strict=True)))
                        for a in apps})


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
