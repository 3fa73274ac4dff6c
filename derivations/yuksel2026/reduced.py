r"""Equation (4) of Yüksel et al. (2026) and its closed low-dimensional form (spec section 3).

**The full system** (the authors' equation, read from their Fig. 10 notebook). Head
$k = 1..h$ has a value vector $V_k \in \mathbb R^K$ over the $K$ orthonormal teacher features
and an attention distribution $s_k$ on the simplex over $T$ positions. Pattern $j$ sits at
position $p_j$ (singleton intervals, $p_j = j$ by default as in Fig. 10) with strength $g_j$:

.. math::
    P = \sum_k V_k s_k^\top,\quad R = G - P,\quad G_{j p} = g_j [p = p_j],\quad
    \mathcal L = \tfrac12 \lVert R\rVert_F^2 \;(+\tfrac{\lambda}{2}\textstyle\sum_k
    \lVert V_k\rVert^2 + \lVert s_k\rVert^2),

.. math::
    \dot V_k = R s_k - \lambda V_k,\qquad \dot s_k = J_k^{\,m}\,(R^\top V_k - \lambda s_k),
    \qquad J_k = \operatorname{diag}(s_k) - s_k s_k^\top,

with $m = 1$ (``form="replicator"``: the notebook's Eq. 4, the Shahshahani / replicator
gradient flow; its weight decay is ``ode.py``'s $-\lambda J_k s_k$) or $m = 2$
(``form="J2"``: exact gradient flow on softmax logits, ``ode.py --squared``; its weight decay
is $-\lambda J_k^2 s_k$, the logit gradient of the same penalty, where ``ode.py`` uses
$-\lambda J_k s_k$).

**How it is built: as a gradient flow the pipeline derives** (nothing typed in but the loss).
Both forms are plain gradient flows of $\mathcal L$ in coordinates where the simplex geometry
is flat, so :meth:`ReducedModel.from_loss` derives them:

* replicator: $x_k \in \mathbb R^T$ with $s_k = x_k^{\circ 2}/\lVert x_k\rVert^2$ and metric
  $M = 4$ on $x$ (Akin's square-root map: the Shahshahani metric
  $\sum_p \dot s_p^2/s_p$ is $4\sum_p \dot x_p^2$). The loss is homogeneous of degree 0 in
  $x_k$, so $-\partial_x \mathcal L$ is tangent to the sphere, $\lVert x_k\rVert$ is
  conserved (start it at 1: :func:`full_state`), and
  $\dot s_{kp} = s_{kp}(c_{kp} - \bar c_k)$ exactly, with $c_k = -\partial_{s_k}\mathcal L$.
  The map also keeps $s \ge 0$ without clipping.
* J2: logits $\theta_k \in \mathbb R^T$, $s_k = \operatorname{softmax}(\theta_k)$, metric 1:
  $\dot\theta_k = J_k c_k$ and $\dot s_k = J_k \dot\theta_k = J_k^2 c_k$ ($\sum_p\theta_{kp}$
  is conserved).

The loss is a :class:`~dynamics.model.RowSum` over the $T$ positions (table: the one-hot
row of the position) whose per-head inner quantities, the selected coordinate and the
normaliser, are RowSum intermediates, so the generated code loops over positions and its
size grows like $hT$, not $(hT)^2$ (the generic ``from_field`` route with $s$ as state
compiles a dense straight-line Jacobian, not usable at $T = 40$; costs in docs/yuksel2026.md).

**The closed form** (:func:`closed_model`, spec 3.3, derived): when the $T - K$ background
positions of a head start equal they stay equal (they are exchangeable), and per head only
$V_k$, $S_{k,i} = s_k(p_i)$ and the common background mass $\beta_k$ move: $h(2K + 1)$
coordinates, with $T$ entering only through the runtime multiplicity ``nb`` $= T - K$. It is
typed in as the spec writes it (``from_field``), so that the tests check the spec's
derivation against the full system.

Coordinate and observable names shared by both models: ``V{k}_{j}`` (state), observables
``ell{j}`` $= \tfrac12(g_j - \sum_k V_k(j) s_k(p_j))^2$ (pattern $j$'s loss contribution)
and ``att{k}_{j}`` $= s_k(p_j)$. :func:`attention` returns the whole attention profile of a
trajectory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import sympy as sp

from dynamics.codegen import CompiledModel
from dynamics.model import ReducedModel, RowSum
from dynamics.trajectory import Trajectory
from dynamics.validate import nonnegative_float, one_of, positive_float

__all__ = [
    "FORMS",
    "M_DEFAULT",
    "Layout",
    "strengths",
    "eq4_model",
    "closed_model",
    "layout",
    "initial_attention",
    "full_state",
    "closed_state",
    "initial_state",
    "attention",
    "values",
    "params",
]

Form = Literal["replicator", "J2"]
FORMS: tuple[str, ...] = ("replicator", "J2")
M_DEFAULT = 1.7  # the authors' hierarchy ratio: g = (m^2, m, 1) for K = 3 (Fig. 10)
MAX_H, MAX_K, MAX_T = 8, 8, 160  # build-time sizes (compile time grows like h T)


@dataclass(frozen=True)
class Layout:
    """What a model built here is: ``kind`` ``"full"`` (Eq. 4) or ``"closed"`` (spec 3.3),
    its ``form``, sizes and pattern positions (1-based; ``T`` is ``None`` for the closed form,
    where it is the runtime parameter ``nb + K``)."""

    kind: Literal["full", "closed"]
    form: Form
    h: int
    K: int
    T: int | None
    positions: tuple[int, ...]
    weight_decay: bool


# ----------------------------------------------------------------------------- validation
def _int(name: str, v: object, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or not lo <= int(v) <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    return int(v)


def _form(form: object) -> Form:
    return one_of("form", form, FORMS)


def _positions(positions: Sequence[int] | None, K: int, T: int) -> tuple[int, ...]:
    if positions is None:
        return tuple(range(1, K + 1))
    pos = tuple(positions)
    if len(pos) != K:
        raise ValueError(f"positions must give one position per pattern (K = {K}), got {pos!r}")
    for p in pos:
        _int("each position", p, 1, T)
    if len(set(pos)) != K:
        raise ValueError(f"pattern positions must be distinct, got {pos!r}")
    return tuple(int(p) for p in pos)


def strengths(m: float = M_DEFAULT, K: int = 3) -> tuple[float, ...]:
    r"""Geometric pattern strengths $(m^{K-1}, \dots, m, 1)$: pattern 1 is the strongest."""
    K = _int("K", K, 1, MAX_K)
    m = positive_float("m", m)
    return tuple(float(m) ** (K - 1 - j) for j in range(K))


def _defaults(K: int, weight_decay: bool) -> dict[str, float]:
    d = {f"g{j + 1}": g for j, g in enumerate(strengths(M_DEFAULT, K))}
    return d | ({"wd": 0.0} if weight_decay else {})


# ----------------------------------------------------------------------------- the full system
def eq4_model(
    h: int = 3,
    K: int = 3,
    T: int = 40,
    form: str = "replicator",
    *,
    positions: Sequence[int] | None = None,
    weight_decay: bool = False,
) -> ReducedModel:
    r"""The full Eq. 4 for ``h`` heads, ``K`` patterns and ``T`` positions (module docstring).

    State (in this order): ``V{k}_{j}`` ($k = 1..h$, $j = 1..K$), then per head ``x{k}_{p}``
    (replicator, $s = x^2/\lVert x\rVert^2$) or ``th{k}_{p}`` (J2, $s = $ softmax), $p = 1..T$:
    $h(K + T)$ coordinates. Parameters ``g1..gK`` (default $(1.7^{K-1}, \dots, 1)$) and, with
    ``weight_decay``, ``wd`` (default 0); all are runtime inputs. ``positions`` are the
    1-based pattern positions $p_j$ (default $1..K$).
    """
    h = _int("h", h, 1, MAX_H)
    K = _int("K", K, 1, MAX_K)
    T = _int("T", T, K, MAX_T)
    form = _form(form)
    pos = _positions(positions, K, T)
    rep = form == "replicator"
    V = [[sp.Symbol(f"V{k}_{j}", real=True) for j in range(1, K + 1)] for k in range(1, h + 1)]
    X = [[sp.Symbol(f"{'x' if rep else 'th'}{k}_{p}", real=True) for p in range(1, T + 1)]
         for k in range(1, h + 1)]
    g = sp.symbols(f"g1:{K + 1}", positive=True)
    wd = sp.Symbol("wd", nonnegative=True)
    lam = wd if weight_decay else sp.Integer(0)
    onehot = sp.symbols(f"e1:{T + 1}", real=True)  # the row: one-hot of its position
    a = sp.symbols(f"a1:{h + 1}", real=True)  # head k's coordinate at the row's position
    n = sp.symbols(f"n1:{h + 1}", positive=True)  # head k's normaliser

    def weight(z: sp.Expr) -> sp.Expr:  # unnormalised attention weight of a coordinate
        return z**2 if rep else sp.exp(z)

    inter: list[tuple[sp.Symbol, sp.Expr]] = []
    for k in range(h):
        inter.append((a[k], sp.Add(*[onehot[q] * X[k][q] for q in range(T)])))
        inter.append((n[k], sp.Add(*[weight(X[k][q]) for q in range(T)])))
    sig = [weight(a[k]) / n[k] for k in range(h)]  # s_k at the row's position
    resid = [g[j] * onehot[pos[j] - 1] - sp.Add(*[V[k][j] * sig[k] for k in range(h)]) for j in range(K)]
    term = sp.Rational(1, 2) * sp.Add(*[r**2 for r in resid]) + lam / 2 * sp.Add(*[q**2 for q in sig])
    rows = RowSum(term, onehot, np.eye(T), label="positions", intermediates=tuple(inter))
    base = lam / 2 * sp.Add(*[v**2 for vk in V for v in vk])

    norm = [sp.Add(*[weight(X[k][q]) for q in range(T)]) for k in range(h)]
    s_at = [[weight(X[k][pos[j] - 1]) / norm[k] for j in range(K)] for k in range(h)]
    obs: dict[str, sp.Expr] = {}
    for j in range(K):
        obs[f"ell{j + 1}"] = (g[j] - sp.Add(*[V[k][j] * s_at[k][j] for k in range(h)])) ** 2 / 2
    for k in range(h):
        for j in range(K):
            obs[f"att{k + 1}_{j + 1}"] = s_at[k][j]

    state = [v for vk in V for v in vk] + [x for xk in X for x in xk]
    metric = [1] * (h * K) + [4 if rep else 1] * (h * T)
    groups = ["value"] * (h * K) + ["attention"] * (h * T)
    name = f"yuksel2026-eq4-{form}-h{h}-K{K}-T{T}"
    if pos != tuple(range(1, K + 1)):
        name += "-p" + "_".join(map(str, pos))
    if weight_decay:
        name += "-wd"
    return ReducedModel.from_loss(
        name, state, [*g, *([wd] if weight_decay else [])], [base, rows], metric=metric, groups=groups,
        observables=obs, defaults=_defaults(K, weight_decay),
        title=f"Yüksel et al. 2026, Eq. 4 ({form}), h = {h} heads, K = {K} patterns at positions "
              f"{list(pos)}, T = {T} positions",
        description=("gradient flow in square-root coordinates x (s = x^2/|x|^2, metric 4): the "
                     "replicator form of Eq. 4" if rep else
                     "gradient flow in softmax logits th (s = softmax(th)): the J2 form of Eq. 4"),
    )


# ----------------------------------------------------------------------------- closed form
def closed_model(h: int = 3, K: int = 3, form: str = "replicator", *, weight_decay: bool = False) -> ReducedModel:
    r"""The closed form of spec 3.3: state ``V{k}_{j}``, ``S{k}_{i}`` $= s_k(p_i)$ and ``b{k}``
    $= \beta_k$ (the mass of each background position) per head, $h(2K + 1)$ coordinates.

    Parameters ``g1..gK``, ``nb`` $= T - K$ (the background multiplicity, default 37, i.e.
    $T = 40$) and, with ``weight_decay``, ``wd``. The J2 variant applies the centring map
    $u \mapsto (S_i(u_i - \bar u),\ \beta(u^b - \bar u))$, $\bar u = \sum_i S_i u_i + n_b\beta u^b$,
    twice. Observables: ``ell{j}``, ``att{k}_{j}`` and ``mass{k}`` $= \sum_i S_{k,i} + n_b\beta_k$
    (conserved, 1 on the simplex).
    """
    h = _int("h", h, 1, MAX_H)
    K = _int("K", K, 1, MAX_K)
    form = _form(form)
    V = [[sp.Symbol(f"V{k}_{j}", real=True) for j in range(1, K + 1)] for k in range(1, h + 1)]
    S = [[sp.Symbol(f"S{k}_{i}", positive=True) for i in range(1, K + 1)] for k in range(1, h + 1)]
    b = [sp.Symbol(f"b{k}", positive=True) for k in range(1, h + 1)]
    g = sp.symbols(f"g1:{K + 1}", positive=True)
    nb = sp.Symbol("nb", nonnegative=True)
    wd = sp.Symbol("wd", nonnegative=True)
    lam = wd if weight_decay else sp.Integer(0)

    R = [[(g[j] if i == j else 0) - sp.Add(*[V[k][j] * S[k][i] for k in range(h)]) for i in range(K)]
         for j in range(K)]
    rb = [-sp.Add(*[V[k][j] * b[k] for k in range(h)]) for j in range(K)]
    fV, fS, fb = [], [], []
    for k in range(h):
        fV.append([sp.Add(*[R[j][i] * S[k][i] for i in range(K)]) + nb * b[k] * rb[j] - lam * V[k][j]
                   for j in range(K)])
        c = [sp.Add(*[V[k][j] * R[j][i] for j in range(K)]) - lam * S[k][i] for i in range(K)]
        cb = sp.Add(*[V[k][j] * rb[j] for j in range(K)]) - lam * b[k]

        def centre(u: list[sp.Expr], ub: sp.Expr, k: int = k) -> tuple[list[sp.Expr], sp.Expr]:
            bar = sp.Add(*[S[k][i] * u[i] for i in range(K)]) + nb * b[k] * ub
            return [S[k][i] * (u[i] - bar) for i in range(K)], b[k] * (ub - bar)

        u, ub = centre(c, cb)
        if form == "J2":
            u, ub = centre(u, ub)
        fS.append(u)
        fb.append(ub)
    loss = (sp.Add(*[R[j][i] ** 2 for j in range(K) for i in range(K)]) + nb * sp.Add(*[r**2 for r in rb])) / 2
    loss += lam / 2 * sp.Add(*[V[k][j] ** 2 + S[k][j] ** 2 for k in range(h) for j in range(K)])
    loss += lam / 2 * nb * sp.Add(*[bk**2 for bk in b])
    obs: dict[str, sp.Expr] = {}
    for j in range(K):
        obs[f"ell{j + 1}"] = R[j][j] ** 2 / 2
    for k in range(h):
        for j in range(K):
            obs[f"att{k + 1}_{j + 1}"] = S[k][j]
    for k in range(h):
        obs[f"mass{k + 1}"] = sp.Add(*S[k]) + nb * b[k]
    state, field, groups = [], [], []
    for k in range(h):
        state += V[k]
        field += fV[k]
        groups += ["value"] * K
    for k in range(h):
        state += [*S[k], b[k]]
        field += [*fS[k], fb[k]]
        groups += ["attention"] * (K + 1)
    defaults = _defaults(K, weight_decay) | {"nb": 40.0 - K}
    return ReducedModel.from_field(
        f"yuksel2026-closed-{form}-h{h}-K{K}" + ("-wd" if weight_decay else ""), state,
        [*g, nb, *([wd] if weight_decay else [])], field, loss=loss, groups=groups, observables=obs,
        defaults=defaults,
        title=f"Yüksel et al. 2026, Eq. 4 ({form}) closed on equal background positions (spec 3.3), "
              f"h = {h}, K = {K}",
    )


# ----------------------------------------------------------------------------- layouts, states
_NAME = re.compile(
    r"^yuksel2026-(?P<kind>eq4|closed)-(?P<form>replicator|J2)-h(?P<h>\d+)-K(?P<K>\d+)"
    r"(?:-T(?P<T>\d+))?(?:-p(?P<pos>[\d_]+))?(?P<wd>-wd)?$"
)


def layout(model: ReducedModel | CompiledModel | Trajectory) -> Layout:
    """The :class:`Layout` of a model built by :func:`eq4_model` or :func:`closed_model`
    (or of a trajectory integrated from one)."""
    if isinstance(model, Trajectory):
        name = str(model.meta.get("model", ""))
    else:
        name = (model.model if isinstance(model, CompiledModel) else model).name
    mt = _NAME.match(name)
    if mt is None:
        raise ValueError(f"{name!r} is not a model built by eq4_model or closed_model")
    h, K = int(mt["h"]), int(mt["K"])
    full = mt["kind"] == "eq4"
    pos = tuple(int(p) for p in mt["pos"].split("_")) if mt["pos"] else tuple(range(1, K + 1))
    return Layout("full" if full else "closed", mt["form"], h, K, int(mt["T"]) if full else None,  # type: ignore[arg-type]
                  pos, bool(mt["wd"]))


def params(model: ReducedModel | CompiledModel, g: Sequence[float] | None = None, *, T: int | None = None,
           wd: float | None = None) -> dict[str, float]:
    """Runtime parameters for ``model``: strengths ``g`` (default the model's), the background
    multiplicity ``nb = T - K`` of a closed model (``T`` required there, ignored otherwise), and
    ``wd`` for models built with weight decay."""
    lay = layout(model)
    out: dict[str, float] = {}
    if g is not None:
        gv = [float(x) for x in g]
        if len(gv) != lay.K or not all(np.isfinite(x) and x > 0 for x in gv):
            raise ValueError(f"g must be {lay.K} positive finite strengths, got {g!r}")
        out |= {f"g{j + 1}": x for j, x in enumerate(gv)}
    if lay.kind == "closed":
        if T is None:
            raise ValueError("a closed model needs T (its background multiplicity is nb = T - K)")
        out["nb"] = float(_int("T", T, lay.K, 10**6) - lay.K)
    if wd is not None:
        if not lay.weight_decay:
            raise ValueError("this model was built without weight decay (weight_decay=True adds 'wd')")
        wd = nonnegative_float("wd", wd)
        out["wd"] = float(wd)
    return out


def initial_attention(h: int, T: int, eps: float = 1e-6, rng: np.random.Generator | int | None = 0) -> np.ndarray:
    r"""The notebook's start: $s_k = \mathbf 1/T + \varepsilon\,\xi_k$, $\xi \sim N(0, I)$ drawn as
    ``rng.normal(size=(h, T))``, clipped at $10^{-12}$ and renormalised; shape ``(h, T)``.

    ``rng`` is a Generator or a seed (``default_rng(seed)``; 0 is the notebook's). ``eps = 0``
    gives the exactly symmetric start (no draw is made).
    """
    h = _int("h", h, 1, MAX_H)
    T = _int("T", T, 1, 10**6)
    eps = nonnegative_float("eps", eps)
    s = np.full((h, T), 1.0 / T)
    if eps > 0:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        s = np.clip(s + eps * gen.normal(size=(h, T)), 1e-12, None)
        s /= s.sum(axis=1, keepdims=True)
    return s


def _check_s(s: np.ndarray, h: int, T: int) -> np.ndarray:
    s = np.asarray(s, dtype=float)
    if s.shape != (h, T):
        raise ValueError(f"attention must have shape (h, T) = ({h}, {T}), got {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0) or not np.allclose(s.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise ValueError("each head's attention must be positive and sum to 1")
    return s


def _check_V(V: np.ndarray | None, h: int, K: int) -> np.ndarray:
    if V is None:
        return np.zeros((h, K))
    Va = np.asarray(V, dtype=float)
    if Va.shape != (h, K) or not np.all(np.isfinite(Va)):
        raise ValueError(f"V must be a finite array of shape (h, K) = ({h}, {K}), got {Va.shape}")
    return Va


def full_state(model: ReducedModel | CompiledModel, s: np.ndarray, V: np.ndarray | None = None) -> np.ndarray:
    r"""State vector of an :func:`eq4_model` for attention ``s`` ``(h, T)`` and values ``V``
    ``(h, K)`` (default 0): $x = \sqrt s$ (unit norm) or $\theta = \ln s - \overline{\ln s}$."""
    lay = layout(model)
    if lay.kind != "full" or lay.T is None:
        raise ValueError("full_state needs a model from eq4_model (use closed_state for closed_model)")
    s = _check_s(s, lay.h, lay.T)
    Va = _check_V(V, lay.h, lay.K)
    if lay.form == "replicator":
        coords = np.sqrt(s)
    else:
        coords = np.log(s)
        coords -= coords.mean(axis=1, keepdims=True)
    return np.concatenate([Va.ravel(), coords.ravel()])


def closed_state(model: ReducedModel | CompiledModel, s: np.ndarray, V: np.ndarray | None = None,
                 positions: Sequence[int] | None = None) -> np.ndarray:
    r"""State vector of a :func:`closed_model`: the projection of a full state (attention ``s``
    ``(h, T)``, values ``V``) with $S_{k,i} = s_k(p_i)$ and $\beta_k$ the mean of head $k$'s
    background positions (mass preserving; exact when they are equal)."""
    lay = layout(model)
    if lay.kind != "closed":
        raise ValueError("closed_state needs a model from closed_model (use full_state for eq4_model)")
    s = np.asarray(s, dtype=float)
    if s.ndim != 2 or s.shape[0] != lay.h:
        raise ValueError(f"attention must have shape (h, T) with h = {lay.h}, got {s.shape}")
    T = s.shape[1]
    if T <= lay.K:
        raise ValueError(f"need T > K = {lay.K} positions (at least one background position), got T = {T}")
    s = _check_s(s, lay.h, T)
    pos = _positions(positions, lay.K, T)
    Va = _check_V(V, lay.h, lay.K)
    idx = [p - 1 for p in pos]
    bg = np.setdiff1d(np.arange(T), idx)
    S = s[:, idx]
    beta = s[:, bg].mean(axis=1)
    return np.concatenate([Va.ravel(), np.column_stack([S, beta]).ravel()])


def initial_state(model: ReducedModel | CompiledModel, eps: float = 1e-6, rng: np.random.Generator | int | None = 0,
                  *, T: int | None = None) -> np.ndarray:
    """The notebook's start ($V = 0$, :func:`initial_attention`) as a state vector of ``model``:
    itself for a full model, its projection for a closed one (then ``T`` is required). The
    same seed gives the same draw of $\\xi$ for both."""
    lay = layout(model)
    if lay.kind == "full":
        assert lay.T is not None
        if T is not None and T != lay.T:
            raise ValueError(f"T = {T} differs from the model's T = {lay.T}")
        return full_state(model, initial_attention(lay.h, lay.T, eps, rng))
    if T is None:
        raise ValueError("a closed model needs T to draw the full start it projects")
    return closed_state(model, initial_attention(lay.h, T, eps, rng), positions=None)


def _states(x: Trajectory | np.ndarray, n: int) -> np.ndarray:
    Y = np.asarray(x.y if isinstance(x, Trajectory) else x, dtype=float)
    Y = np.atleast_2d(Y)
    if Y.ndim != 2 or Y.shape[1] != n:
        raise ValueError(f"states must have shape (N, {n}), got {Y.shape}")
    return Y


def attention(x: Trajectory | np.ndarray, model: ReducedModel | CompiledModel | None = None) -> np.ndarray:
    r"""Attention profiles along a trajectory (or states ``(N, n)`` with ``model``), shape
    ``(N, h, P)``: all $T$ positions for a full model; $(S_{k,1..K}, \beta_k)$ ($P = K + 1$)
    for a closed one, where the sup norm over the last axis is the sup norm over positions."""
    lay = layout(model if model is not None else x)  # type: ignore[arg-type]
    h, K = lay.h, lay.K
    P = lay.T if lay.kind == "full" else K + 1
    assert P is not None
    Y = _states(x, h * (K + P))
    A = Y[:, h * K:].reshape(-1, h, P)
    if lay.kind == "closed":
        return A.copy()
    if lay.form == "replicator":
        W = A**2
    else:
        W = np.exp(A - A.max(axis=2, keepdims=True))
    return W / W.sum(axis=2, keepdims=True)


def values(x: Trajectory | np.ndarray, model: ReducedModel | CompiledModel | None = None) -> np.ndarray:
    """Value vectors along a trajectory, shape ``(N, h, K)``."""
    lay = layout(model if model is not None else x)  # type: ignore[arg-type]
    P = lay.T if lay.kind == "full" else lay.K + 1
    assert P is not None
    Y = _states(x, lay.h * (lay.K + P))
    return Y[:, : lay.h * lay.K].reshape(-1, lay.h, lay.K).copy()
