r"""Gaussian expectations in closed form, and the online-SGD ODEs of a teacher-student network.

Order-parameter equations of online learning are expectations over jointly Gaussian local
fields $(u, v, w, z)$ of zero mean and covariance $C$ (entries ``C11``, ``C12``, ...). For an
activation $g$ this module gives, as named sympy functions (:func:`dynamics.symbolic.define`)
of the covariance entries,

* $I_2 = \mathbb E[g(u)\,g(v)]$, arguments $(C_{11}, C_{12}, C_{22})$;
* $J_2 = \mathbb E[g'(u)\,g'(v)]$, arguments $(C_{11}, C_{12}, C_{22})$;
* $I_3 = \mathbb E[g'(u)\,v\,g(w)]$, arguments $(C_{11}, C_{12}, C_{13}, C_{23}, C_{33})$
  (it does not depend on $C_{22}$);
* $I_4 = \mathbb E[g'(u)\,g'(v)\,g(w)\,g(z)]$, the ten entries
  $(C_{11}, C_{12}, C_{13}, C_{14}, C_{22}, C_{23}, C_{24}, C_{33}, C_{34}, C_{44})$,

for ``"erf"`` ($g(x) = \operatorname{erf}(x/\sqrt2)$: Saad & Solla 1995, Biehl & Schwarze
1995), ``"linear"`` ($g(x) = x$: the covariances themselves) and ``"relu"`` ($I_2$, $J_2$ and
$I_3$ from the arc-cosine kernel and Stein's lemma; $I_4$ has no closed form, being a
four-dimensional orthant integral). Each is checked against Monte Carlo in
``tests/unit/test_gaussian.py``.

:func:`teacher_student` derives from them the ODEs of online SGD for a two-layer network
$\sigma(\xi) = \sum_i v_i\, g(J_i\cdot\xi/\sqrt N)$ learning a teacher
$\tau(\xi) = \sum_n w_n\, g(B_n\cdot\xi/\sqrt N)$ with the squared error
$\tfrac12(\sigma-\tau)^2$, one fresh Gaussian input $\xi \in \mathbb R^N$ per step, the first
layer updated with $\eta$ and the second (if it learns) with $\eta_v/N$, in the time
$\alpha = \mathrm{step}/N$ for $N\to\infty$. The order parameters are
$Q_{ik} = J_i\cdot J_k/N$, $R_{in} = J_i\cdot B_n/N$ (state), $T_{nm} = B_n\cdot B_m/N$ and $w_n$
(parameters), and $v_i$ (state if it learns, else the parameter 1):

.. math::
    \frac{dR_{in}}{d\alpha} = \eta\,\mathbb E[\delta_i y_n],\quad
    \frac{dQ_{ik}}{d\alpha} = \eta\,\mathbb E[\delta_i x_k + \delta_k x_i]
        + \eta^2\,\mathbb E[\delta_i\delta_k],\quad
    \frac{dv_i}{d\alpha} = \eta_v\,\mathbb E[(\tau - \sigma)\,g(x_i)],

with $\delta_i = v_i\, g'(x_i)(\tau - \sigma)$; the loss observable is the generalisation
error $\epsilon_g = \tfrac12\mathbb E[(\sigma-\tau)^2]$.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dynamics.symbolic import define

__all__ = ["ACTIVATIONS", "GaussianIntegrals", "integrals", "teacher_student"]

ACTIVATIONS = ("erf", "linear", "relu")

_C = {k: sp.Symbol(f"C{k}", real=True) for k in ("11", "12", "13", "14", "22", "23", "24", "33", "34", "44")}
_ARGS2 = (_C["11"], _C["12"], _C["22"])
_ARGS3 = (_C["11"], _C["12"], _C["13"], _C["23"], _C["33"])
_ARGS4 = tuple(_C[k] for k in ("11", "12", "13", "14", "22", "23", "24", "33", "34", "44"))


@dataclass(frozen=True)
class GaussianIntegrals:
    """The closed forms of one activation: ``g`` and ``dg`` (sympy functions of one
    argument), and ``I2``, ``J2``, ``I3``, ``I4`` taking the covariance entries in the order
    of the module docstring (each ``None`` where no closed form exists)."""

    activation: str
    g: Callable[[sp.Expr], sp.Expr]
    dg: Callable[[sp.Expr], sp.Expr]
    I2: Callable[..., sp.Expr]
    J2: Callable[..., sp.Expr]
    I3: Callable[..., sp.Expr]
    I4: Callable[..., sp.Expr] | None


def _erf() -> GaussianIntegrals:
    c = _C
    a11, a22, a33, a44 = 1 + c["11"], 1 + c["22"], 1 + c["33"], 1 + c["44"]
    I2 = define("I2", _ARGS2, 2 / sp.pi * sp.asin(c["12"] / sp.sqrt((1 + c["11"]) * (1 + c["22"]))))
    J2 = define("J2", _ARGS2, 2 / sp.pi / sp.sqrt((1 + c["11"]) * (1 + c["22"]) - c["12"] ** 2))
    lam3 = a11 * a33 - c["13"] ** 2
    I3 = define("I3", _ARGS3, 2 / sp.pi / sp.sqrt(lam3) * (c["23"] * a11 - c["12"] * c["13"]) / a11)
    lam4 = a11 * a22 - c["12"] ** 2
    lam0 = (lam4 * c["34"] - c["23"] * c["24"] * a11 - c["13"] * c["14"] * a22
            + c["12"] * c["13"] * c["24"] + c["12"] * c["14"] * c["23"])
    lam1 = lam4 * a33 - c["23"] ** 2 * a11 - c["13"] ** 2 * a22 + 2 * c["12"] * c["13"] * c["23"]
    lam2 = lam4 * a44 - c["24"] ** 2 * a11 - c["14"] ** 2 * a22 + 2 * c["12"] * c["14"] * c["24"]
    I4 = define("I4", _ARGS4, 4 / sp.pi**2 / sp.sqrt(lam4) * sp.asin(lam0 / sp.sqrt(lam1 * lam2)))
    return GaussianIntegrals(
        "erf", lambda x: sp.erf(x / sp.sqrt(2)), lambda x: sp.sqrt(2 / sp.pi) * sp.exp(-x**2 / 2),
        I2, J2, I3, I4)


def _linear() -> GaussianIntegrals:
    return GaussianIntegrals(
        "linear", lambda x: x, lambda x: sp.Integer(1),
        lambda c11, c12, c22: c12, lambda c11, c12, c22: sp.Integer(1),
        lambda c11, c12, c13, c23, c33: c23,
        lambda c11, c12, c13, c14, c22, c23, c24, c33, c34, c44: c34)


def _relu() -> GaussianIntegrals:
    c = _C
    # E[relu(u) relu(v)] = (s1 s2 / 2pi)(sin t + (pi - t) cos t), cos t = rho (the arc-cosine
    # kernel of order 1); E[H(u) H(v)] = (pi - t) / 2pi (Sheppard's formula).
    I2 = define("I2relu", _ARGS2, (sp.sqrt(c["11"] * c["22"] - c["12"] ** 2)
                                   + c["12"] * (sp.pi - sp.acos(c["12"] / sp.sqrt(c["11"] * c["22"])))) / (2 * sp.pi))
    J2 = define("J2relu", _ARGS2, (sp.pi - sp.acos(c["12"] / sp.sqrt(c["11"] * c["22"]))) / (2 * sp.pi))
    # Stein's lemma on v: E[H(u) v relu(w)] = C12 E[delta(u) relu(w)] + C23 E[H(u) H(w)], and
    # E[delta(u) relu(w)] = sqrt(C11 C33 - C13^2) / (2 pi C11) (w given u = 0 has that variance).
    I3 = define("I3relu", _ARGS3, c["12"] * sp.sqrt(c["11"] * c["33"] - c["13"] ** 2) / (2 * sp.pi * c["11"])
                + c["23"] * (sp.pi - sp.acos(c["13"] / sp.sqrt(c["11"] * c["33"]))) / (2 * sp.pi))
    return GaussianIntegrals(
        "relu", lambda x: sp.Max(x, 0), lambda x: sp.Heaviside(x), I2, J2, I3, None)


_BUILDERS: dict[str, Callable[[], GaussianIntegrals]] = {"erf": _erf, "linear": _linear, "relu": _relu}


def integrals(activation: str) -> GaussianIntegrals:
    """The closed-form Gaussian expectations of ``activation`` (one of :data:`ACTIVATIONS`)."""
    if activation not in _BUILDERS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return _BUILDERS[activation]()


def teacher_student(K: int, M: int, activation: str = "erf", *, lr_scaling: str = "online",
                    learn_second_layer: bool = False, label_noise: bool = False,
                    name: str | None = None, defaults: Mapping[str, float] | None = None) -> Any:
    r"""The order-parameter ODEs of online SGD, student with ``K`` hidden units, teacher ``M``.

    Parameters
    ----------
    K, M : int
        Hidden units of the student and of the teacher, at least 1.
    activation : {"erf", "linear", "relu"}
        $g$ of both networks.
    lr_scaling : {"online", "small"}
        ``"online"``: per-step rates $\eta$ (first layer) and $\eta_v/N$ (second), time
        $\alpha = \mathrm{step}/N$, keeping the $\eta^2\,\mathbb E[\delta_i\delta_k]$ term (the
        input noise of a single example per step). ``"small"``: its $\eta \to 0$ limit,
        without that term (gradient flow on $\epsilon_g$, in time $\eta\alpha$ if
        $\eta = 1$). ReLU has no closed $I_4$, so only ``"small"``.
    learn_second_layer : bool
        Whether $v_i$ are state coordinates (group ``"second"``, rate parameter ``eta_v``)
        or the constant 1 (a soft committee machine).
    label_noise : bool
        Whether the training labels carry additive Gaussian noise of variance ``sigma2`` (a
        parameter, default 0): it adds $\eta^2 v_i v_k \sigma^2 J_2(x_i, x_k)$ to
        $dQ_{ik}/d\alpha$ (so it acts only with ``"online"``); $\epsilon_g$ is measured
        against the clean teacher.
    name : str, optional
        Model name (default ``ts-K{K}M{M}-{activation}``).
    defaults : mapping, optional
        Parameter defaults overriding the ones below.

    Returns
    -------
    ReducedModel
        A field model in the time $\alpha$: state ``Q11, Q12, ..., QKK, R11, ..., RKM`` (then
        ``v1..vK``), parameters ``eta`` (then ``eta_v``), ``T11, T12, ..., TMM``,
        ``w1..wM`` (then ``sigma2``) with defaults $\eta = 0.5$, $\eta_v = 0.5$, $T = I$,
        $w = 1$, $\sigma^2 = 0$; the loss is
        $\epsilon_g$. The field is written with the named functions of :func:`integrals`.
    """
    from dynamics.model import ReducedModel
    from dynamics.validate import positive_int

    K = positive_int("K", K)
    M = positive_int("M", M)
    if lr_scaling not in ("online", "small"):
        raise ValueError(f"lr_scaling must be 'online' or 'small', got {lr_scaling!r}")
    for flag, val in (("learn_second_layer", learn_second_layer), ("label_noise", label_noise)):
        if not isinstance(val, bool):
            raise ValueError(f"{flag} must be a bool, got {val!r}")
    gi = integrals(activation)
    if lr_scaling == "online" and gi.I4 is None:
        raise ValueError(f"lr_scaling='online' needs I4, which has no closed form for activation "
                         f"{activation!r}; use lr_scaling='small'")

    def sym(s: str, **kw: bool) -> sp.Symbol:
        return sp.Symbol(s, real=True, **kw)

    Q = {(i, k): sym(f"Q{i + 1}{k + 1}") for i in range(K) for k in range(i, K)}
    R = {(i, n): sym(f"R{i + 1}{n + 1}") for i in range(K) for n in range(M)}
    T = {(n, m): sym(f"T{n + 1}{m + 1}") for n in range(M) for m in range(n, M)}
    w = [sym(f"w{n + 1}") for n in range(M)]
    eta = sp.Symbol("eta", positive=True)
    eta_v = sp.Symbol("eta_v", positive=True)
    sigma2 = sp.Symbol("sigma2", nonnegative=True)
    v: list[sp.Expr] = [sym(f"v{i + 1}") for i in range(K)] if learn_second_layer else [sp.Integer(1)] * K

    # fields: ("x", i) student, ("y", n) teacher
    def cov(a: tuple[str, int], b: tuple[str, int]) -> sp.Symbol:
        if a[0] == b[0]:
            tab = Q if a[0] == "x" else T
            return tab[(min(a[1], b[1]), max(a[1], b[1]))]
        i, n = (a[1], b[1]) if a[0] == "x" else (b[1], a[1])
        return R[(i, n)]

    xs = [("x", i) for i in range(K)]
    ys = [("y", n) for n in range(M)]
    # the output fields with their second-layer weights: tau - sigma = sum_j c_j g(f_j)
    out = [(wn, y) for wn, y in zip(w, ys, strict=True)] + [(-vi, x) for vi, x in zip(v, xs, strict=True)]

    def i2(a: tuple[str, int], b: tuple[str, int]) -> sp.Expr:
        return gi.I2(cov(a, a), cov(a, b), cov(b, b))

    def i3(a: tuple[str, int], b: tuple[str, int], c: tuple[str, int]) -> sp.Expr:
        return gi.I3(cov(a, a), cov(a, b), cov(a, c), cov(b, c), cov(c, c))

    def i4(a: tuple[str, int], b: tuple[str, int], c: tuple[str, int], d: tuple[str, int]) -> sp.Expr:
        assert gi.I4 is not None
        return gi.I4(cov(a, a), cov(a, b), cov(a, c), cov(a, d), cov(b, b), cov(b, c), cov(b, d),
                     cov(c, c), cov(c, d), cov(d, d))

    def e_delta_times(i: int, f: tuple[str, int]) -> sp.Expr:
        """E[delta_i f] = v_i sum_j c_j I3(x_i, f, f_j)."""
        return v[i] * sp.Add(*[cj * i3(xs[i], f, fj) for cj, fj in out])

    field: dict[sp.Symbol, sp.Expr] = {}
    for (i, k), q in Q.items():
        rhs = eta * (e_delta_times(i, xs[k]) + e_delta_times(k, xs[i]))
        if lr_scaling == "online":
            # I4 is symmetric in its last two fields: each unordered pair once
            rhs += eta**2 * v[i] * v[k] * sp.Add(*[(1 if j == l else 2) * out[j][0] * out[l][0]
                                                   * i4(xs[i], xs[k], out[j][1], out[l][1])
                                                   for j in range(len(out)) for l in range(j, len(out))])
            if label_noise:
                rhs += eta**2 * v[i] * v[k] * sigma2 * gi.J2(cov(xs[i], xs[i]), cov(xs[i], xs[k]), cov(xs[k], xs[k]))
        field[q] = rhs
    for (i, n), r in R.items():
        field[r] = eta * e_delta_times(i, ys[n])
    if learn_second_layer:
        for i in range(K):
            field[v[i]] = eta_v * sp.Add(*[cj * i2(xs[i], fj) for cj, fj in out])
    eg = sp.Rational(1, 2) * sp.Add(*[(1 if j == l else 2) * out[j][0] * out[l][0] * i2(out[j][1], out[l][1])
                                      for j in range(len(out)) for l in range(j, len(out))])
    state = list(field)
    params = [eta] + ([eta_v] if learn_second_layer else []) + list(T.values()) + w
    params += [sigma2] if label_noise else []
    defs = {"eta": 0.5, **({"eta_v": 0.5} if learn_second_layer else {}), **({"sigma2": 0.0} if label_noise else {})}
    defs |= {str(t): float(n == m) for (n, m), t in T.items()} | {str(x): 1.0 for x in w}
    defs |= dict(defaults or {})
    groups = {s: ("second" if learn_second_layer and s in v else "default") for s in state}
    return ReducedModel.from_field(
        name or f"ts-K{K}M{M}-{activation}", state, params, [field[s] for s in state], loss=eg,
        groups=groups, defaults=defs,
        title=f"online SGD, {activation} soft committee: student K={K}, teacher M={M}"
              + (", second layer learned" if learn_second_layer else ""),
        description="order parameters Q (student), R (student-teacher) in time alpha = step/N")
