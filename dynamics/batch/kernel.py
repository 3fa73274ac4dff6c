r"""The per-point loop: steps, method switching, output grid and crossings for one point.

``method="auto"`` switches per step, like LSODA, between DOP853 and Rodas5P, using the
analytic Jacobian as the stiffness test: while ``h ||J||_inf <= RK_STAB`` (well inside
DOP853's real stability interval, ~[-6, 0]) the step is DOP853, otherwise Rodas5P. After
an accepted DOP853 step far inside that limit, the norm is reused for up to
:data:`RHO_REUSE` steps instead of evaluating ``J``. A Rodas5P try right after DOP853 steps
that is rejected, and whose retry would be within DOP853's limit, sends the integrator back
to DOP853 at :data:`RK_SKIP` of its limit for 1, 2, 4, ... steps before the next try
(without this back-off, a DOP853 step growing past the limit and a rejected Rodas5P try
alternated). ``"rodas4"`` / ``"rodas5p"`` use that Rosenbrock method throughout.

A point's status is one of :data:`dynamics.batch.result.STATUS`; a failed point keeps the
output it reached and ``nan`` after.

:func:`make_kernel` builds the loop from a :class:`ModelFunctions` (the model's generated
functions and the helpers to use); the options travel as one :class:`KernelOptions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numba
import numpy as np

from dynamics.batch import dop853, rosenbrock
from dynamics.batch.control import initial_step, step_factor
from dynamics.batch.dense import DOP853_DENSE, HERMITE, RODAS5P_DENSE, dop_interp, interp
from dynamics.batch.events import N_SAMPLES, make_events
from dynamics.batch.linalg import lu, lu_solve
from dynamics.batch.result import MAX_STEPS, NON_FINITE, OK, STEP_UNDERFLOW, UNSTABLE

__all__ = [
    "ModelFunctions",
    "KernelOptions",
    "make_kernel",
    "reference_functions",
    "METHODS",
    "RK_STAB",
    "RK_SKIP",
    "RHO_REUSE",
]

#: DOP853 is used while h ||J||_inf <= this (at 4 the stiff benchmark's global error grew
#: to ~35 tolerances, at 2 it is ~2.5).
RK_STAB = 2.0
#: DOP853 steps taken while a rejected Rodas5P try backs off use this fraction of the limit.
RK_SKIP = 0.75
#: After an accepted DOP853 step with h ||J||_inf <= RK_STAB / 4, the Jacobian's norm is
#: reused (not re-evaluated) for up to this many steps.
RHO_REUSE = 8
#: ``method`` of solve_batch -> kernel mode.
METHODS = {"auto": 3, "rodas4": 1, "rodas5p": 2}
_AUTO = 3


class ModelFunctions(NamedTuple):
    """The compiled functions a kernel is built from.

    ``rhs(t, y, p, data, bounds, out)``, ``jac(t, y, p, data, bounds, out)`` and ``obs(y, p,
    data, bounds, out)`` are the model's (:class:`dynamics.codegen.CompiledModel`);
    ``rhs_hot`` is ``rhs`` for the DOP853 stages (the per-model module passes an inlined
    copy); ``n_state()`` returns the state size as a constant; the rest are the linear
    algebra and the stage combinations (defaults: the table-driven reference functions).
    ``refcount=False`` compiles the step functions without numba's reference counting, which
    every function inlined into them (``rhs_hot``, the stage combinations) must allow: no
    heap arrays.
    """

    rhs: Callable[..., None]
    jac: Callable[..., None]
    obs: Callable[..., None]
    n_state: Callable[[], int]
    rhs_hot: Callable[..., None]
    lu: Callable[..., bool] = lu
    lu_solve: Callable[..., None] = lu_solve
    dop_arg: Callable[..., None] = dop853.dop_arg
    dop_arg_dense: Callable[..., None] = dop853.dop_arg
    dop_new: Callable[..., None] = dop853.dop_new
    dop_err: Callable[..., float] = dop853.dop_err
    dop_dense: Callable[..., None] = dop853.dop_dense
    dop_interp: Callable[..., None] = dop_interp
    ros_arg: Callable[..., None] = rosenbrock.ros_arg
    ros_corr: Callable[..., None] = rosenbrock.ros_corr
    ros_dense: Callable[..., None] = rosenbrock.ros_dense
    refcount: bool = True


def reference_functions(rhs: Callable[..., None], jac: Callable[..., None],
                        obs: Callable[..., None], n: int) -> ModelFunctions:
    """:class:`ModelFunctions` with the reference helpers, for a model of ``n`` states."""
    return ModelFunctions(rhs, jac, obs, numba.njit(lambda: n), rhs)


class KernelOptions(NamedTuple):
    """What one solve asks of the kernel (from :class:`dynamics.options.SolveOptions`)."""

    rtol: float
    atol: float
    max_steps: int
    h0: float  # <= 0: the heuristic
    hmax: float  # inf: none
    mode: int  # METHODS value
    n_obs: int
    ev_kind: np.ndarray  # int64 (n_ev,)
    ev_idx: np.ndarray  # int64 (n_ev,)
    ev_level: np.ndarray  # float64 (n_ev,)
    ev_dir: np.ndarray  # int64 (n_ev,)


def make_kernel(fns: ModelFunctions, name: str = "") -> Callable[..., None]:
    """``solve_point(i, Y0, P, data, bounds, t_eval, opts, Yout, status, counts, tcross)``:
    integrate point ``i`` and write row ``i`` of the outputs (``counts``: step attempts,
    RHS and Jacobian evaluations, rejected attempts).

    ``name`` (the per-model module's name) prefixes the qualified names of the closures
    built here. Numba names a compiled closure by module, qualified name and a counter of
    the compiling process, so without it two models' kernels compiled in two processes
    could carry the same symbol names; loaded together from the cache in a third, the
    second model's entry point would call the first model's steps.
    """
    rhs, jac, n_state, dop_interp_ = fns.rhs, fns.jac, fns.n_state, fns.dop_interp

    @numba.njit(inline="always")
    def n_state_of(y):  # the steps' state size: the model's constant
        return n_state()

    ros_dense = fns.ros_dense
    dop_step, dop_dense_stages = dop853.make_step(
        rhs, fns.rhs_hot, fns.dop_arg, fns.dop_new, fns.dop_err, fns.dop_dense, fns.dop_arg_dense,
        n_state_of, fns.refcount,
    )
    ros_step = rosenbrock.make_step(rhs, fns.lu, fns.lu_solve, fns.ros_arg, fns.ros_corr, n_state_of, fns.refcount)
    event_value, event_search = make_events(fns.obs)

    # inlined (numba IR) into the per-model entry point: as a call, the entry point's LLVM
    # library re-optimised and re-emitted the whole kernel once more (a third of the build)
    @numba.njit(error_model="numpy", inline="always")
    def solve_point(i, Y0, P, data, bounds, t_eval, opts, Yout, status, counts, tcross):
        n = n_state()
        rtol = opts.rtol
        atol = opts.atol
        mode = opts.mode
        n_t = t_eval.shape[0]
        n_ev = opts.ev_kind.shape[0]
        p = P[i].copy()
        y = Y0[i].copy()
        ynew = np.empty(n)
        ytmp = np.empty(n)
        f0 = np.empty(n)
        f1 = np.empty(n)
        dy = np.empty(n)
        J = np.empty((n, n))
        E = np.empty((n, n))
        # stages as the rows of one flat array (DOP853: 12, f_new, 3 dense-output stages)
        Kf = np.empty(16 * n)
        K = Kf.reshape((16, n))
        Ff = np.empty(7 * n)  # dense-output coefficients
        w2 = np.empty(2 * n)
        perm = np.empty(n, dtype=np.int64)
        obuf = np.empty(max(opts.n_obs, 1))
        samp = np.empty(N_SAMPLES + 2 * n + 2)
        g_prev = np.empty(max(n_ev, 1))
        found = np.zeros(max(n_ev, 1), dtype=np.bool_)
        for k in range(n_t):
            for j in range(n):
                Yout[i, k, j] = np.nan
        for e in range(n_ev):
            tcross[i, e] = np.nan
        nst = 0
        nacc = 0
        nrhs = 0
        njac = 0
        t = t_eval[0]
        t_end = t_eval[n_t - 1]
        for j in range(n):
            Yout[i, 0, j] = y[j]
        kout = 1
        rhs(t, y, p, data, bounds, f0)
        nrhs += 1
        st = OK
        for j in range(n):
            if not math.isfinite(y[j]) or not math.isfinite(f0[j]):
                st = NON_FINITE
        for e in range(n_ev):
            g_prev[e] = event_value(opts.ev_kind[e], opts.ev_idx[e], opts.ev_level[e], y, p, data, bounds, obuf)
        h = opts.h0
        if h <= 0.0:
            h = initial_step(y, f0, t, t_end, rtol, atol)
        h = min(h, opts.hmax)
        rejected = False
        nonfinite_attempt = False
        unstable_attempt = False
        switching = mode == _AUTO
        r5 = mode >= 2
        tab = 1 if r5 else 0
        # the last accepted step: method (-1 none, 0 DOP853, 1 Rosenbrock), size, error
        meth_last = -1
        h_last = 0.0
        err_last = 0.0
        rho = 0.0  # ||J||_inf at the last Jacobian, and the steps since
        rho_age = 0
        skip = 0  # explicit steps at the stability limit before the next Rosenbrock try
        backoff = 1
        while st == OK and t < t_end:
            if nst >= opts.max_steps:
                st = MAX_STEPS
                break
            use_rk = False
            if switching and meth_last == 0 and not rejected and rho_age < RHO_REUSE and h * rho <= 0.25 * RK_STAB:
                rho_age += 1
                use_rk = True
            else:
                jac(t, y, p, data, bounds, J)
                njac += 1
                rho_age = 0
            if switching and rho_age == 0:  # a fresh Jacobian: the stiffness test
                rho = 0.0
                for a in range(n):
                    racc = 0.0
                    for b in range(n):
                        racc += abs(J[a, b])
                    rho = max(rho, racc)
                use_rk = h * rho <= RK_STAB
                if not use_rk and skip > 0:
                    skip -= 1
                    h = RK_SKIP * RK_STAB / rho
                    use_rk = True
            last = False
            if t + h >= t_end or t + 1.01 * h >= t_end:
                h = t_end - t
                last = True
            hmin = 1e-14 * max(abs(t), 1e-300) + 1e-300
            if h < 4.0 * 2.220446049250313e-16 * abs(t) or h <= hmin:
                if unstable_attempt:
                    st = UNSTABLE
                elif nonfinite_attempt:
                    st = NON_FINITE
                else:
                    st = STEP_UNDERFLOW
                break
            nst += 1
            if use_rk:
                for j in range(n):
                    Kf[j] = f0[j]
                err = dop_step(t, y, h, p, data, bounds, Kf, K, ytmp, ynew, f1, rtol, atol, w2)
                nrhs += 12
                outcome = rosenbrock.STEP_OK if math.isfinite(err) else rosenbrock.SINGULAR_STEP
            else:
                outcome, err = ros_step(tab, t, y, h, J, E, perm, f0, Kf, K, ytmp, dy, ynew, p, data, bounds, rtol, atol)
                if outcome == rosenbrock.STEP_OK:
                    nrhs += rosenbrock.ROS_STAGES[tab] - 1
                    if not math.isfinite(err):
                        outcome = rosenbrock.SINGULAR_STEP
            if outcome == rosenbrock.UNSTABLE_STEP:
                unstable_attempt = True
                rejected = True
                h *= 0.2
                continue
            if outcome != rosenbrock.STEP_OK:
                nonfinite_attempt = True
                rejected = True
                h *= 0.2
                continue
            if err <= 1.0:
                if not use_rk:
                    rhs(t + h, ynew, p, data, bounds, f1)
                    nrhs += 1
                    good = True
                    for j in range(n):
                        if not math.isfinite(f1[j]):
                            good = False
                    if not good:
                        nonfinite_attempt = True
                        rejected = True
                        h *= 0.2
                        continue
                nonfinite_attempt = False
                unstable_attempt = False
                t_new = t_end if last else t + h
                if r5 and not use_rk and kout < n_t and t_eval[kout] <= t_new:
                    ros_dense(Kf, Ff[: 3 * n])  # Rodas5P grid output (crossings use the Hermite cubic)
                if use_rk and (n_ev > 0 or (kout < n_t and t_eval[kout] <= t_new)):
                    dop_dense_stages(t, y, ynew, f0, f1, h, p, data, bounds, Kf, K, Ff, ytmp)
                    nrhs += 3
                # ---- output grid points in (t, t_new]
                while kout < n_t and t_eval[kout] <= t_new:
                    s = (t_eval[kout] - t) / h
                    if s >= 1.0:
                        for j in range(n):
                            Yout[i, kout, j] = ynew[j]
                    else:
                        if use_rk:
                            dop_interp_(Ff, y, s, Yout[i, kout])
                        else:
                            interp(RODAS5P_DENSE if r5 else HERMITE, Ff, y, ynew, f0, f1, h, s, ytmp)
                            for j in range(n):
                                Yout[i, kout, j] = ytmp[j]
                    kout += 1
                if n_ev > 0:
                    event_search(i, t, t_new, h, DOP853_DENSE if use_rk else HERMITE, Ff, y, ynew, f0, f1,
                                 p, data, bounds, opts.ev_kind, opts.ev_idx, opts.ev_level, opts.ev_dir,
                                 g_prev, found, tcross, samp, obuf, ytmp)
                # ---- accept
                t = t_new
                for j in range(n):
                    y[j] = ynew[j]
                    f0[j] = f1[j]
                meth = 0 if use_rk else 1
                nacc += 1
                hnew = h * step_factor(err, use_rk, r5, meth_last == meth and not rejected,
                                       h / h_last if h_last > 0.0 else 1.0, err_last)
                if rejected:
                    hnew = min(hnew, h)
                if not use_rk:
                    backoff = 1
                rejected = False
                meth_last = meth
                h_last = h
                err_last = err
                h = min(hnew, opts.hmax)
            elif (switching and not use_rk and meth_last == 0
                  and h * step_factor(err, False, r5, False, 1.0, 0.0) * rho <= RK_STAB):
                # a rejected Rosenbrock try after DOP853 steps whose retry DOP853 could take:
                # back to DOP853 for 1, 2, 4, ... steps before trying again
                skip = backoff
                backoff = min(2 * backoff, 64)
            else:
                rejected = True
                h *= step_factor(err, use_rk, r5, False, 1.0, 0.0)
        status[i] = st
        counts[i, 0] = nst
        counts[i, 1] = nrhs
        counts[i, 2] = njac
        counts[i, 3] = nst - nacc

    if name:
        for fn in (n_state_of, dop_step, dop_dense_stages, ros_step, event_value, event_search, solve_point):
            py_func = fn.py_func  # type: ignore[union-attr]  # all are numba dispatchers
            py_func.__qualname__ = f"{name}.{py_func.__qualname__}"
    return solve_point
