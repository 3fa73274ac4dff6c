r"""What :func:`dynamics.batch.solve_batch` returns: per-point states, statuses, counters and
crossings, and the status codes.

Each point gets a status (:data:`STATUS`, explained by :data:`STATUS_REASON`): ``0`` ok,
``1`` max_steps, ``2`` non-finite (state or derivative became inf/nan, or the Newton matrix
was singular), ``3`` step-size underflow, ``4`` unresolved unstable direction (Rosenbrock
steps that would have damped a strongly growing direction were rejected down to the
smallest step). A failed point keeps the output it reached; the rest of its grid is
``nan``. One bad point never stops the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dynamics.codegen import CompiledModel
from dynamics.options import Crossing
from dynamics.trajectory import Trajectory

__all__ = ["BatchResult", "STATUS", "STATUS_REASON", "OK", "MAX_STEPS", "NON_FINITE", "STEP_UNDERFLOW", "UNSTABLE"]

OK, MAX_STEPS, NON_FINITE, STEP_UNDERFLOW, UNSTABLE = 0, 1, 2, 3, 4
#: Per-point status codes.
STATUS = {
    OK: "ok",
    MAX_STEPS: "max_steps",
    NON_FINITE: "non-finite",
    STEP_UNDERFLOW: "step-size underflow",
    UNSTABLE: "unresolved unstable direction",
}
#: What each failure status means, for error messages (a sweep records this text).
STATUS_REASON = {
    OK: "ok",
    MAX_STEPS: "the step budget (max_steps) ran out; raise max_steps or t_max is too long",
    NON_FINITE: "the state or its derivative became inf/nan (a blow-up, or a singular Newton"
    " matrix); check the parameter values",
    STEP_UNDERFLOW: "the step size fell below the resolution of t (the flow is too fast to"
    " follow); check the parameter values",
    UNSTABLE: "a strongly unstable direction (h Re(lambda) >> 1) could not be followed down to"
    " the smallest step; the parameter values make the flow grow too fast to integrate",
}


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Output of :func:`solve_batch`.

    Attributes
    ----------
    t : ndarray (n_t,)
        The output grid.
    y : ndarray (n_pts, n_t, n)
        States on the grid; ``nan`` after a failure.
    status : ndarray (n_pts,) of int
        :data:`STATUS` codes (0 ok).
    n_steps, n_rhs, n_jac : ndarray (n_pts,) of int
        Step attempts (accepted and rejected), RHS and Jacobian evaluations.
    n_rejected : ndarray (n_pts,) of int
        The rejected step attempts among ``n_steps`` (error too large, a non-finite stage,
        or a Rosenbrock try after DOP853 steps that was not accepted).
    crossings : ndarray (n_pts, n_events)
        First crossing time of each event (``nan`` if none).
    events : tuple of Crossing
    params : ndarray (n_pts, n_p)
        The packed runtime rows used.
    stats : dict
        ``rtol``, ``atol``, ``wall_s``, ``threads``, ``method``.
    """

    cm: CompiledModel
    t: np.ndarray
    y: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray
    n_rhs: np.ndarray
    n_jac: np.ndarray
    n_rejected: np.ndarray
    crossings: np.ndarray
    events: tuple[Crossing, ...]
    params: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the points that reached the final time."""
        return self.status == OK

    def status_names(self) -> list[str]:
        return [STATUS[int(s)] for s in self.status]

    def trajectory(self, i: int) -> Trajectory:
        """Point ``i`` as a :class:`Trajectory` (observables from the generated ``obs``).

        For a failed point only the grid rows reached before the failure are included.
        """
        n_pts = self.y.shape[0]
        if not (-n_pts <= i < n_pts):
            raise IndexError(f"point {i} out of range for {n_pts} points")
        y = self.y[i]
        good = np.all(np.isfinite(y), axis=1)
        k = y.shape[0] if good.all() else int(np.argmin(good))
        yk = np.ascontiguousarray(y[:k])
        p = self.params[i]
        obs = (
            self.cm.observables(yk, p)
            if k
            else {nm: np.empty(0) for nm in self.cm.observable_names}
        )
        m = self.cm.model
        stats = {
            "method": f"batch-{self.stats.get('method', 'auto')}",
            "status": STATUS[int(self.status[i])],
            "reason": STATUS_REASON[int(self.status[i])],
            "nsteps": int(self.n_steps[i]),
            "nfev": int(self.n_rhs[i]),
            "njev": int(self.n_jac[i]),
            "nrejected": int(self.n_rejected[i]),
            "rtol": self.stats.get("rtol"),
            "atol": self.stats.get("atol"),
            "events": {
                e.name: (
                    [float(self.crossings[i, j])] if math.isfinite(self.crossings[i, j]) else []
                )
                for j, e in enumerate(self.events)
            },
        }
        n_par = len(m.params)
        meta = {
            "model": m.name,
            "params": dict(zip(m.param_names, map(float, p[:n_par]), strict=True)),
            "factors": dict(zip(m.group_names, map(float, p[n_par:]), strict=True)),
            "y0": dict(zip(m.state_names, map(float, self.y[i, 0]), strict=True)),
            "backend": self.cm.backend,
            "batch_index": int(i) % n_pts,
        }
        return Trajectory(self.t[:k].copy(), yk, m.state_names, obs, stats, meta)
