r"""Closed forms and predictions of Yüksel et al. (2026): the numbers the theory (or the paper)
gives before anything is measured.

- :func:`plateau_levels`, :func:`final_loss`: Eq. 4's plateaus $\mathcal L_k = \tfrac12\sum_{j>k}
  g_j^2$ and where $h$ heads end (spec 3.4, derived);
- :data:`T1_G1`: $t_1 g_1$ at $T = 40$ (spec 5.1.5, the spec's simulations, derived);
- :data:`J2_SLOWDOWN`: the $J^2$ flow's slowdown against the replicator flow (spec 3.4, derived);
- :data:`PAPER_BOUNDARIES`, :data:`PAPER_EXCESS`: the minimal transformer's stage boundaries and
  plateau levels read off the paper's figures (spec 4, paper).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["J2_SLOWDOWN", "PAPER_BOUNDARIES", "PAPER_EXCESS", "T1_G1", "final_loss", "plateau_levels"]


T1_G1 = 13.4  # spec 5.1.5, from the spec's own simulations: t_1 g_1 at T = 40 (13.2-13.75 over g_1 in [1.44, 6.25])

#: The spec's sweeps (3.4): the J2 flow is "5-8x slower". As a prediction: that interval, log-centred.
J2_SLOWDOWN = math.sqrt(5.0 * 8.0)

PAPER_BOUNDARIES = (330.0, 575.0)  # Fig. 1 / 6-7 stage boundaries, query init 1e-9 (read off the figure)

PAPER_EXCESS = (0.93, 0.36)  # plateau excess, Fig. 1 and 4-left: ~0.87-1.0 and ~0.35-0.38 (read off the figures)


def plateau_levels(g: Sequence[float]) -> list[float]:
    r"""$\mathcal L_k = \tfrac12\sum_{j > k} g_j^2$ for $k = 0..K$, with patterns in the
    order of decreasing strength (the order in which they are learned)."""
    gs = sorted((float(x) for x in g), reverse=True)
    return [0.5 * sum(x * x for x in gs[k:]) for k in range(len(gs) + 1)]


def final_loss(g: Sequence[float], h: int, K: int) -> float:
    r"""Where Eq. 4 with ``h`` heads ends when only the first ``K`` strengths of ``g`` are
    patterns (the rest 0): $\tfrac12\sum_{j > \min(h, K)} g_j^2$ (the best fit with
    $\min(h, K)$ heads; derived)."""
    return 0.5 * sum(x * x for x in g[min(h, K):])
