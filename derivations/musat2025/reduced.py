r"""Reduced model R1 of stacked-head emergence: a nested alignment chain (spec 5.2, the spec's proposal; a reconstruction).

The spec's own proposal, not the paper's: one alignment logit gap $a_i$ per stacked head
($i = 1..m$) and a shared read-out gain $w$. With $n$ competing keys, the attention on the
correct key is $p_i = e^{a_i}/(e^{a_i} + n - 1)$; problem class $j$ needs heads $1..j$, so its
correct-answer signal is $s_j = \prod_{i \le j} p_i$; with $V$ answers, mixture weights $\pi_j$
(the curriculum) and weight decay $\lambda$,

.. math::
    \mathcal L(\mathbf a, w) = \sum_j \pi_j\big[-w s_j + \ln(e^{w s_j} + V - 1)\big]
                               + \tfrac{\lambda}{2}(w^2 + \lVert\mathbf a\rVert^2).

The gradient flow is derived by the pipeline (nothing typed in). Head $i$ *emerges* when
$p_i$ crosses $1/2$, i.e. $a_i = \ln(n-1)$.
"""

from __future__ import annotations

import sympy as sp

from dynamics.model import ReducedModel
from dynamics.symbolic import softplus

__all__ = ["r1_model"]


def r1_model(m: int = 3) -> ReducedModel:
    """R1 with ``m`` stacked heads; parameters ``n``, ``V``, ``pi1..pim``, ``wd`` (runtime inputs)."""
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    a = sp.symbols(f"a1:{m + 1}", real=True)
    w = sp.Symbol("w", real=True)
    n, V = sp.symbols("n V", positive=True)
    pi = sp.symbols(f"pi1:{m + 1}", nonnegative=True)
    wd = sp.Symbol("wd", nonnegative=True)
    p = [sp.exp(ai) / (sp.exp(ai) + n - 1) for ai in a]
    s = [sp.Mul(*p[: j + 1]) for j in range(m)]
    # -w s + ln(e^{w s} + V - 1) = ln(1 + (V - 1) e^{-w s}) = softplus(ln(V - 1) - w s), overflow-free
    loss = sum(pi[j] * softplus(sp.log(V - 1) - w * s[j]) for j in range(m))
    loss += wd / 2 * (w**2 + sum(x**2 for x in a))
    obs = {f"p{i + 1}": p[i] for i in range(m)} | {f"s{j + 1}": s[j] for j in range(m)}
    defaults = {"n": 8.0, "V": 16.0, "wd": 0.0} | {f"pi{j + 1}": 1.0 / m for j in range(m)}
    return ReducedModel.from_loss(
        f"musat2025-r1-m{m}", [*a, w], [n, V, *pi, wd], loss, observables=obs, defaults=defaults,
        title=f"Musat 2025, reduced model R1 (nested alignment chain, m = {m}; reconstruction, spec 5.2)",
    )
