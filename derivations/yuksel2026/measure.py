r"""Measurements on integrated Eq. 4 trajectories (spec 3.4, 5.1), and the authors' own
integrator as an independent check.

**Transition time** $t_j$: the first time pattern $j$'s loss contribution
$\ell_j = \tfrac12(g_j - \sum_k V_k(j) s_k(p_j))^2$ falls below half its initial value
(spec 3.4), located by linear interpolation on the output grid (:func:`transition_times`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from derivations.yuksel2026 import reduced as R
from dynamics.analysis import first_crossing
from dynamics.codegen import CompiledModel
from dynamics.integrate import integrate
from dynamics.trajectory import Trajectory

__all__ = ["head_spread", "index_at", "notebook_euler", "run", "transition_times"]


def _K(tr: Trajectory) -> int:
    K = 0
    while f"ell{K + 1}" in tr.observables:
        K += 1
    if K == 0:
        raise ValueError("trajectory has no 'ell1' observable: integrate a yuksel2026 reduced model")
    return K


def transition_times(tr: Trajectory) -> list[float]:
    """$t_j$ for each pattern (``nan`` if $\\ell_j$ never halves within the trajectory)."""
    out = []
    for j in range(1, _K(tr) + 1):
        e = tr[f"ell{j}"]
        out.append(first_crossing(tr.t, e, float(e[0]) / 2, "down"))
    return out


def head_spread(tr: Trajectory) -> np.ndarray:
    r"""$\max_{k,k'} \lVert s_k - s_{k'}\rVert_\infty$ at every output time, shape ``(N,)``."""
    A = R.attention(tr)
    return np.max(A.max(axis=1) - A.min(axis=1), axis=1)


def index_at(tr: Trajectory, t: float) -> int:
    """Index of the first output time >= t (the last one if t is beyond the end)."""
    return min(int(np.searchsorted(tr.t, t)), len(tr.t) - 1)


def run(cm: CompiledModel, *, g: Sequence[float] | None = None, eps: float = 1e-6, seed: int = 0,
        T: int | None = None, t_max: float = 1e4, n_points: int = 3000, rtol: float = 1e-8,
        atol: float = 1e-10) -> Trajectory:
    """Integrate ``cm`` from the notebook's start (:func:`reduced.initial_state`) with
    strengths ``g`` (default the model's); ``T`` is required for a closed model."""
    y0 = R.initial_state(cm, eps, seed, T=T)
    return integrate(cm, y0, R.params(cm, g, T=T), t_max=t_max, n_points=n_points, rtol=rtol, atol=atol)


def notebook_euler(g: Sequence[float] = R.strengths(), h: int = 3, T: int = 40, eps: float = 1e-6,
                   seed: int = 0, dt: float = 0.005, steps: int = 100_000,
                   record_every: int = 20) -> dict[str, np.ndarray]:
    """The authors' Fig. 10 integrator, re-implemented in numpy: explicit Euler with step
    ``dt`` on the replicator form, clipping $s$ at $10^{-12}$ and renormalising after every
    step, patterns at positions $1..K$. Returns ``t`` ``(N,)``, ``loss`` ``(N,)`` and ``ell``
    ``(N, K)``. An independent check of the pipeline, not part of it."""
    gv = np.asarray(g, dtype=float)
    K = gv.size
    if K > T or h < 1 or dt <= 0 or steps < 1 or record_every < 1:
        raise ValueError("need K <= T, h >= 1, dt > 0, steps >= 1 and record_every >= 1")
    G = np.zeros((K, T))
    G[np.arange(K), np.arange(K)] = gv
    V = np.zeros((h, K))
    s = R.initial_attention(h, T, eps, seed)
    ts, losses, ells = [], [], []
    for step in range(steps + 1):
        Rm = G - V.T @ s  # (K, T)
        if step % record_every == 0:
            ts.append(step * dt)
            losses.append(0.5 * float(np.sum(Rm * Rm)))
            ells.append(0.5 * np.diag(Rm[:, :K]) ** 2)
        c = V @ Rm  # (h, T): R^T V_k per head
        sdot = s * (c - np.sum(s * c, axis=1, keepdims=True))
        V = V + dt * (Rm @ s.T).T
        s = np.clip(s + dt * sdot, 1e-12, None)
        s /= s.sum(axis=1, keepdims=True)
    return {"t": np.array(ts), "loss": np.array(losses), "ell": np.array(ells)}
