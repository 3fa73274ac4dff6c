r""":func:`solve_batch`: many parameter points of one model in one compiled call.

The loop over points and steps, the linear algebra, the dense output and the crossing
search all run in compiled code that calls the model's generated ``rhs``/``jac``/``obs``
directly (:mod:`dynamics.batch.kernel`, built per model by
:mod:`dynamics.batch.specialise`), so no Python runs per step or per point.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dynamics.batch.events import OBSERVABLE, STATE
from dynamics.batch.kernel import METHODS, KernelOptions
from dynamics.batch.result import OK, BatchResult
from dynamics.batch.specialise import wrapper_module
from dynamics.codegen import CompiledModel
from dynamics.options import Crossing, SolveOptions, as_crossings
from dynamics.schedule import Schedule
from dynamics.validate import positive_int

__all__ = ["solve_batch", "DEFAULT_MAX_STEPS"]

#: Step attempts per point when neither ``options`` nor ``max_steps`` sets a budget.
DEFAULT_MAX_STEPS = 100_000
_KEYWORDS = ("rtol", "atol", "max_steps", "events", "h0", "hmax", "method")


def _options(options: SolveOptions | None, given: dict[str, Any]) -> SolveOptions:
    """``options`` with the old keywords merged in (an error if both set one field)."""
    given = {k: v for k, v in given.items() if v is not None}
    if options is None:
        return SolveOptions(**given)
    if not isinstance(options, SolveOptions):
        raise ValueError(f"options must be a dynamics.options.SolveOptions, got {type(options).__name__}")
    both = sorted(given)
    if both:
        raise ValueError(f"{', '.join(both)} given both in options and as keywords: give each once")
    return options


def _model(model: Any) -> CompiledModel:
    if isinstance(model, CompiledModel):
        return model
    from dynamics.model import ReducedModel

    if isinstance(model, ReducedModel):
        return model.compile("numba")
    raise ValueError(f"model must be a CompiledModel or a ReducedModel, got {type(model).__name__}")


def _rows(cm: CompiledModel, params: Any) -> np.ndarray:
    """Packed rows from rows, one mapping or a sequence of mappings (names of parameters
    and of groups, the latter as learning-rate factors)."""
    groups = set(cm.model.group_names)

    def pack(m: Mapping[str, float]) -> np.ndarray:
        return cm.pack({k: v for k, v in m.items() if k not in groups},
                       {k: v for k, v in m.items() if k in groups})

    if isinstance(params, Mapping):
        return pack(params)
    if isinstance(params, Sequence) and params and all(isinstance(m, Mapping) for m in params):
        return np.array([pack(m) for m in params])
    return np.asarray(params, dtype=float)


def _events(cm: CompiledModel, evs: tuple[Crossing, ...]) -> tuple[np.ndarray, ...]:
    names, onames = cm.model.state_names, cm.observable_names
    kind = np.zeros(len(evs), dtype=np.int64)
    idx = np.zeros(len(evs), dtype=np.int64)
    for k, e in enumerate(evs):
        if e.name in names:
            kind[k], idx[k] = STATE, names.index(e.name)
        elif e.name in onames:
            kind[k], idx[k] = OBSERVABLE, onames.index(e.name)
        else:
            raise ValueError(
                f"event on unknown name {e.name!r}; coordinates: {list(names)}, observables: {list(onames)}"
            )
    level = np.array([e.level for e in evs], dtype=float)
    direction = np.array([e.direction for e in evs], dtype=np.int64)
    return kind, idx, level, direction


def _scaled(cm: CompiledModel, P: np.ndarray, factors: Mapping[str, float]) -> np.ndarray:
    """Rows ``P`` with each group's factor column multiplied by ``factors[group]``."""
    if not factors:
        return P
    out = P.copy()
    n_par = len(cm.model.params)
    for j, g in enumerate(cm.model.group_names):
        out[:, n_par + j] *= float(factors.get(g, 1.0))
    return out


def _run(mod: Any, cm: CompiledModel, opts: KernelOptions, threads: int,
         Y0: np.ndarray, P: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """One pass of the compiled entry point over all points (fresh output arrays); with
    ``threads > 1``, Python threads take chunks of points and run them without the GIL."""
    n_pts, n = Y0.shape
    Yout = np.empty((n_pts, T.size, n))
    status = np.zeros(n_pts, dtype=np.int64)
    counts = np.zeros((n_pts, 4), dtype=np.int64)
    tcross = np.empty((n_pts, opts.ev_kind.shape[0]))
    args = (np.ascontiguousarray(Y0), np.ascontiguousarray(P), cm.data, cm.bounds,
            np.ascontiguousarray(T), opts, Yout, status, counts, tcross)
    workers = min(threads, n_pts)
    if workers <= 1:
        mod.solve_serial(0, n_pts, *args)
        return Yout, status, counts, tcross
    # a few chunks per thread: small enough to balance uneven points, large enough that the
    # per-call dispatch (argument checks under the GIL) stays negligible
    chunk = -(-n_pts // (4 * workers))
    lock = threading.Lock()
    nxt = [0]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with lock:
                    lo = nxt[0]
                    nxt[0] = lo + chunk
                if lo >= n_pts:
                    return
                mod.solve_serial(lo, min(lo + chunk, n_pts), *args)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    pool = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors:
        raise errors[0]
    return Yout, status, counts, tcross


def solve_batch(
    model: Any,
    y0: np.ndarray | Sequence[float] | Sequence[Sequence[float]],
    params: Any,
    t_eval: np.ndarray | Sequence[float] | None = None,
    *,
    options: SolveOptions | None = None,
    threads: int = 1,
    schedule: Schedule | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int | None = None,
    events: Sequence[Crossing | tuple[str, float] | tuple[str, float, int]] | None = None,
    h0: float | None = None,
    hmax: float | None = None,
    method: str | None = None,
) -> BatchResult:
    r"""Integrate many points of one model to the grid ``t_eval``.

    Parameters
    ----------
    model : CompiledModel or ReducedModel
        A ReducedModel is compiled with the numba backend; a CompiledModel must be.
    y0 : array (n_pts, n) or (n,)
        Initial states (a single row is used for every point).
    params : array (n_pts, n_p) or (n_p,), mapping, or sequence of mappings
        Packed runtime rows (:meth:`CompiledModel.pack`: parameters then group factors), or
        values by name (parameters; group names give learning-rate factors), packed here.
    t_eval : array (n_t,), optional
        Strictly increasing output times, ``t_eval[0]`` the initial time; ``n_t >= 2``.
        Default: ``options.grid()``.
    options : SolveOptions, optional
        Tolerances (``rtol >= 1e-14``), ``max_steps`` (default 100000 step attempts per
        point), ``method`` (``"auto"``: DOP853 on non-stiff steps, Rodas5P on stiff ones;
        ``"rodas4"``, ``"rodas5p"``: that method on every step), ``h0``/``hmax`` and the
        crossings to locate (``events``: coordinates or observables).
    threads : int
        Points are shared out to this many threads (compiled code without the GIL).
    schedule : Schedule, optional
        Piecewise-constant learning-rate factors, integrated piece by piece as
        :func:`dynamics.integrate.integrate` does: every piece restarts the solver at its
        break with each group's factor multiplied by the piece's. Counters are summed over
        the pieces, a crossing is the first over all pieces, and a point that fails in one
        piece stays failed (``nan`` after). ``stats["pieces"]`` is the number of pieces.
    rtol, atol, max_steps, events, h0, hmax, method
        The same fields as keywords (merged into ``options``; an error if both give one).

    Returns
    -------
    BatchResult
    """
    t_start = time.perf_counter()
    cm = _model(model)
    opt = _options(options, dict(rtol=rtol, atol=atol, max_steps=max_steps, events=events,
                                 h0=h0, hmax=hmax, method=method))
    if opt.method not in METHODS:
        raise ValueError(f"unknown method {opt.method!r}; choose one of {list(METHODS)}")
    threads = positive_int("threads", threads)
    n = cm.n_state
    n_p = len(cm.model.params) + len(cm.model.group_names)
    Y0 = np.asarray(y0, dtype=float)
    P = _rows(cm, params)
    if Y0.ndim not in (1, 2) or Y0.shape[-1] != n:
        raise ValueError(f"y0 must have shape (n_pts, {n}) or ({n},), got {Y0.shape}")
    if P.ndim not in (1, 2) or P.shape[-1] != n_p:
        raise ValueError(
            f"params must have shape (n_pts, {n_p}) or ({n_p},) (packed rows: "
            f"parameters then group factors, see CompiledModel.pack), got {P.shape}"
        )
    sizes = {a.shape[0] for a in (Y0, P) if a.ndim == 2}
    if len(sizes) > 1:
        raise ValueError(f"y0 and params have different numbers of points: {Y0.shape[0]} vs {P.shape[0]}")
    n_pts = sizes.pop() if sizes else 1
    if n_pts < 1:
        raise ValueError("need at least one point")
    # fresh writable C arrays (a read-only view would compile another specialisation)
    Y0 = np.array(np.broadcast_to(Y0, (n_pts, n)), dtype=float, order="C")
    P = np.array(np.broadcast_to(P, (n_pts, n_p)), dtype=float, order="C")
    for label, arr in (("y0 contains", Y0), ("params contain", P)):
        bad = np.nonzero(~np.isfinite(arr).all(axis=1))[0]
        if bad.size:
            raise ValueError(f"{label} non-finite values (rows {bad[:5].tolist()})")
    if t_eval is None:
        T = np.array(opt.grid(), dtype=float, order="C")
    else:
        if opt.t_eval is not None:
            raise ValueError("t_eval given both in options and as an argument: give it once")
        T = np.array(t_eval, dtype=float, order="C")
    if T.ndim != 1 or T.size < 2:
        raise ValueError(f"t_eval must be a 1-d array of at least 2 times, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError("t_eval contains non-finite values")
    if np.any(np.diff(T) <= 0):
        raise ValueError("t_eval must be strictly increasing")
    evs = as_crossings(opt.events)
    kopts = KernelOptions(
        opt.rtol, opt.atol,
        opt.max_steps if opt.max_steps is not None else DEFAULT_MAX_STEPS,
        opt.h0 if opt.h0 is not None else 0.0,
        opt.hmax if opt.hmax is not None else math.inf,
        METHODS[opt.method], len(cm.observable_names), *_events(cm, evs),
    )
    schedule = schedule if schedule is not None else Schedule.constant()
    schedule.check_groups(cm.model.group_names)
    mod = wrapper_module(cm)
    pieces = schedule.pieces(float(T[0]), float(T[-1]))
    if len(pieces) == 1:
        Yout, status, counts, tcross = _run(mod, cm, kopts, threads, Y0, _scaled(cm, P, pieces[0][2]), T)
    else:
        Yout = np.full((n_pts, T.size, n), np.nan)
        status = np.zeros(n_pts, dtype=np.int64)
        counts = np.zeros((n_pts, 4), dtype=np.int64)
        tcross = np.full((n_pts, len(evs)), np.nan)
        y_start = Y0
        for a, b, factors in pieces:
            inside = np.flatnonzero((T >= a) & (T <= b))
            sub = T[inside]
            lead = sub.size == 0 or sub[0] > a  # the break itself is not an output time
            if lead:
                sub = np.concatenate([[a], sub])
            if sub[-1] < b:
                sub = np.concatenate([sub, [b]])
            y_p, st_p, c_p, tc_p = _run(mod, cm, kopts, threads, y_start, _scaled(cm, P, factors), sub)
            vals = y_p[:, 1:, :] if lead else y_p
            vals = vals[:, : inside.size, :]
            ok = status == OK  # a point that failed before keeps its status and its nan
            Yout[np.ix_(np.flatnonzero(ok), inside)] = vals[ok]
            counts[ok] += c_p[ok]
            status[ok] = st_p[ok]
            first = ok[:, None] & np.isnan(tcross) & ~np.isnan(tc_p)
            tcross[first] = tc_p[first]
            y_start = np.ascontiguousarray(y_p[:, -1, :])
            bad = ~np.isfinite(y_start).all(axis=1)
            y_start[bad] = 0.0  # failed points: any finite start; their results are ignored
    stats = {
        "method": opt.method,
        "rtol": opt.rtol,
        "atol": opt.atol,
        "threads": threads,
        "pieces": len(pieces),
        "wall_s": time.perf_counter() - t_start,
    }
    return BatchResult(cm, T, Yout, status, counts[:, 0].copy(), counts[:, 1].copy(),
                       counts[:, 2].copy(), counts[:, 3].copy(), tcross, evs, P, stats)
