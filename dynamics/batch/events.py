r"""The crossing search: the first time a coordinate or an observable crosses a level.

An event is ``(kind, index, level, direction)``: coordinate ``index`` (``kind`` 0) or
observable ``index`` (``kind`` 1) crossing ``level``, upwards (+1), downwards (-1) or
either (0). In every accepted step each unfound event is tested on the dense output at the
step ends, :data:`N_SAMPLES` interior points and the turning points of the relevant Hermite
cubic(s); the first sign change is refined by bisection to ``1e-13`` relative. On a
Rosenbrock step the interpolant of a coordinate is that cubic, so a double crossing inside
one step is always found; on a DOP853 step (degree-7 dense output) the cubic's turning
points approximate the true ones, and for an observable event the turning points of every
coordinate are sampled. Only the first crossing per event is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

from dynamics.batch.dense import interp, turning_points

__all__ = ["N_SAMPLES", "STATE", "OBSERVABLE", "make_events"]

#: Interior samples of the dense output per step.
N_SAMPLES = 8
#: Event kinds.
STATE, OBSERVABLE = 0, 1


def make_events(obs: Callable[..., None]) -> tuple[Callable[..., float], Callable[..., None]]:
    """``(value, search)`` compiled against the model's ``obs(y, p, data, bounds, out)``.

    ``value(kind, idx, level, y, p, data, bounds, obuf)``: the event function at ``y``.
    ``search(i, t, t_new, h, dense_kind, F, y, ynew, f0, f1, p, data, bounds, ev_kind,
    ev_idx, ev_level, ev_dir, g_prev, found, tcross, samp, obuf, ytmp)``: tests every
    unfound event on the step from ``(t, y)`` to ``(t_new, ynew)`` (dense output ``kind``
    of :func:`dynamics.batch.dense.interp`), writes a crossing into ``tcross[i, e]``, and
    updates ``g_prev`` to the values at ``ynew``.
    """

    @numba.njit(error_model="numpy")
    def value(kind, idx, level, y, p, data, bounds, obuf):
        if kind == STATE:
            return y[idx] - level
        obs(y, p, data, bounds, obuf)
        return obuf[idx] - level

    @numba.njit(error_model="numpy")
    def search(i, t, t_new, h, dense_kind, F, y, ynew, f0, f1, p, data, bounds,
               ev_kind, ev_idx, ev_level, ev_dir, g_prev, found, tcross, samp, obuf, ytmp):
        n = y.shape[0]
        for e in range(ev_kind.shape[0]):
            if found[e]:
                continue
            kind = ev_kind[e]
            idx = ev_idx[e]
            lev = ev_level[e]
            m = 0
            for q in range(N_SAMPLES):
                samp[m] = (q + 1.0) / (N_SAMPLES + 1.0)
                m += 1
            if kind == STATE:
                m = turning_points(y[idx], ynew[idx], h * f0[idx], h * f1[idx], samp, m)
            else:
                for j in range(n):
                    m = turning_points(y[j], ynew[j], h * f0[j], h * f1[j], samp, m)
            samp[m] = 1.0
            m += 1
            for q in range(1, m):  # insertion sort: a dozen samples, no allocation
                v = samp[q]
                r = q - 1
                while r >= 0 and samp[r] > v:
                    samp[r + 1] = samp[r]
                    r -= 1
                samp[r + 1] = v
            ga = g_prev[e]
            sa = 0.0
            d = ev_dir[e]
            for q in range(m):
                sb = samp[q]
                if sb >= 1.0:
                    gb = value(kind, idx, lev, ynew, p, data, bounds, obuf)
                else:
                    interp(dense_kind, F, y, ynew, f0, f1, h, sb, ytmp)
                    gb = value(kind, idx, lev, ytmp, p, data, bounds, obuf)
                up = ga < 0.0 and gb >= 0.0
                down = ga > 0.0 and gb <= 0.0
                if (up and d >= 0) or (down and d <= 0):
                    lo = sa
                    hi = sb
                    glo = ga
                    for _ in range(200):
                        if (hi - lo) * h <= 1e-13 * max(abs(t), abs(t_new)) or hi - lo <= 1e-16:
                            break
                        mid = 0.5 * (lo + hi)
                        interp(dense_kind, F, y, ynew, f0, f1, h, mid, ytmp)
                        gm = value(kind, idx, lev, ytmp, p, data, bounds, obuf)
                        if (glo < 0.0 and gm >= 0.0) or (glo > 0.0 and gm <= 0.0):
                            hi = mid
                        else:
                            lo = mid
                            glo = gm
                    tcross[i, e] = t + hi * h
                    found[e] = True
                    break
                if gb != 0.0:
                    ga = gb
                sa = sb
            g_prev[e] = value(kind, idx, lev, ynew, p, data, bounds, obuf)

    return value, search
