"""sweep(): check the request, hold the output's lock, run the grid and its refinement."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics.options import SolveOptions
from dynamics.phase.axis import Axis, AxisError, _check_axis, _unknown
from dynamics.phase.classify import _classifier_id, _labels, make_classifier
from dynamics.phase.execute import (
    _MODELS,
    ModelSpec,
    _compiled,
    _default_start,
    _Runner,
    _spec_key,
    _Work,
)
from dynamics.phase.result import POINT_DONE, POINT_PENDING, PhaseResult
from dynamics.phase.solvers import Solver, check_method, get_solver
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory, _npz_json_paths

if TYPE_CHECKING:
    from dynamics.codegen import CompiledModel
    from dynamics.model import ReducedModel

__all__ = ["sweep", "SweepBusyError", "MAX_POINTS"]

MAX_POINTS = 10**6  # largest sweep (base grid plus refinement) accepted


class SweepBusyError(ValueError):
    """Another sweep is writing to the same output path (its lock file is held)."""



@contextlib.contextmanager
def _out_lock(out: str | os.PathLike[str] | None) -> Iterator[None]:
    """Hold ``OUT.lock`` (``fcntl.flock``) for the sweep; :class:`SweepBusyError` if another
    process holds it. A no-op without ``out`` or where ``fcntl`` is missing."""
    if out is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    npz, _ = _npz_json_paths(out)
    lock = npz.with_suffix(".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ValueError(
            f"cannot write the sweep output {npz} ({exc.strerror or type(exc).__name__}: "
            f"{lock}); choose a writable output path"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SweepBusyError(
                f"{npz}: another sweep is writing to it (lock {lock} is held); wait for it "
                "to finish or use another output path"
            ) from None
        yield
    finally:
        os.close(fd)



def _refine_candidates(res: PhaseResult, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints between points ``h`` apart (in grid index) along an axis, of different class."""
    ok = res.status == POINT_DONE
    where = {
        (float(a), float(b)): int(c)
        for a, b, c in zip(res.ix[ok], res.iy[ok], res.classes[ok], strict=True)
    }
    existing = set(zip(res.ix.tolist(), res.iy.tolist(), strict=True))
    new: set[tuple[float, float]] = set()
    steps = [(h, 0.0)] if res.y_axis is None else [(h, 0.0), (0.0, h)]
    for (a, b), c in where.items():
        for dx, dy in steps:
            nb = (a + dx, b + dy)
            if nb in where and where[nb] != c:
                mid = (a + dx / 2, b + dy / 2)
                if mid not in existing:
                    new.add(mid)
    pts = sorted(new)
    return np.array([p[0] for p in pts], dtype=float), np.array([p[1] for p in pts], dtype=float)


# ----------------------------------------------------------------------------------- sweep
def _model_spec(model: Any) -> tuple[ModelSpec, CompiledModel]:
    from dynamics.codegen import CompiledModel
    from dynamics.model import ReducedModel

    if isinstance(model, str):
        cm = _compiled(model)
        return model, cm
    if isinstance(model, CompiledModel):
        key = _spec_key(model.model)
        _MODELS.setdefault(key, model)
        return model.model, model
    if isinstance(model, ReducedModel):
        return model, _compiled(model)
    raise TypeError(
        f"expected a registry name, ReducedModel or CompiledModel, got {type(model).__name__}"
    )



def sweep(
    model: str | ReducedModel | CompiledModel,
    x: Axis | str,
    y: Axis | str | None = None,
    *,
    fixed: Mapping[str, float] | None = None,
    classify: str | Callable[[Trajectory], Any] = "learnable",
    t_max: float | None = None,
    y0: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    refine: int = 0,
    progress: bool = True,
    n_points: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    solver: str | Solver = "auto",
    schedule: Schedule | None = None,
    options: SolveOptions | None = None,
    initial_state: Callable[[dict[str, float], CompiledModel], Any] | None = None,
) -> PhaseResult:
    """Classify the trajectories of ``model`` over a 1-D or 2-D grid of parameter values.

    Parameters
    ----------
    model : str, ReducedModel or CompiledModel
        A registry name (workers call ``registry.get(name).model()``) or a model (pickled
        to workers; a CompiledModel's own tables are used in this process only).
    x, y : Axis or "PARAM=LO:HI:N[:log]"
        Swept parameters or state coordinates; ``y`` makes the sweep 2-D.
    fixed : mapping
        Values of other parameters or state coordinates (defaults fill the rest).
    classify : str or callable
        See :func:`make_classifier`.
    t_max : float
        Flow time of every solve; output on ``log_grid(t_max, n=n_points)``. Required
        unless ``options`` carries ``t_max`` or ``t_eval``.
    y0 : mapping or sequence, optional
        One initial state for every point. Default (neither ``y0`` nor ``initial_state``):
        the registered derivation's ``initial_state(cm)`` for a registry name, else 0.01 for
        every coordinate.
    out : path, optional
        ``out.npz`` + ``out.json``; written before any work and after every chunk. If it
        exists with the same configuration, the sweep resumes (done points are skipped;
        failed points count as done). A different configuration raises ``ValueError``.
    workers : int, optional
        Local processes (default :func:`~dynamics.parallel.default_workers`); 1 runs here.
    scheduler : str or dask.distributed.Client, optional
        Run on a Dask cluster instead of local processes.
    refine : int
        Rounds of boundary refinement.
    progress : bool
        A tqdm bar on stderr.
    n_points, rtol, atol : optional
        Output points (default 200) and tolerances (default 1e-8, 1e-10): shorthands for
        the fields of ``options``, which is built from them once.
    solver : {"auto", "integrate", "batch"} or Solver
        A function following :class:`~dynamics.phase.solvers.Solver` (picklable for
        workers), or a name: "auto" uses ``dynamics.batch.solve_batch`` when importable. If the batch solver
        cannot run (numba missing, a model not compiled with numba, a kernel that does not
        compile), the points are solved with integrate instead, with a
        :class:`~dynamics.phase.solvers.SolverFallbackWarning`, and the result's
        ``config["solver"]`` / ``config["fallback"]`` say so.
    schedule : Schedule, optional
        Piecewise-constant learning-rate factors per group, the same at every point
        (integrated piece by piece by either solver); part of the configuration.
    options : SolveOptions, optional
        Everything a solve is asked to do (tolerances, step budget, method, output grid,
        crossings), handed unchanged to the solver of every point and stored in
        ``config["options"]``. Give either ``options`` or ``t_max``/``n_points``/``rtol``/
        ``atol``, not both.
    initial_state : callable, optional
        ``initial_state(values, cm) -> state``: the initial state of each point as a function
        of its parameter values, e.g. ``lambda v, cm: {..., "R22": v["d"] / 2}`` when ``d``
        is swept. ``values`` maps every parameter name to its value at that point (swept,
        fixed or default); ``cm`` is the :class:`~dynamics.codegen.CompiledModel` (its
        ``model`` is the ReducedModel). The state is a mapping of every coordinate or a
        sequence in ``cm.model.state_names`` order. State coordinates given in ``fixed`` or
        swept by an axis override what it returns. Called in this process before each
        round's points are sent out; not with ``y0``. Its qualified name is part of the
        configuration (a resume with another function is refused).

    Raises
    ------
    AxisError
        For an axis naming an unknown parameter.
    KeyboardInterrupt
        Re-raised after the points done so far were saved to ``out``.
    """
    xa = Axis.parse(x) if isinstance(x, str) else x
    ya = Axis.parse(y) if isinstance(y, str) else y
    if ya is not None and ya.param == xa.param:
        raise AxisError(f"x and y sweep the same parameter {xa.param!r}")
    if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
        raise ValueError(f"refine must be an integer >= 0, got {refine!r}")
    options = _options(options, t_max=t_max, n_points=n_points, rtol=rtol, atol=atol)
    size = xa.n * (ya.n if ya is not None else 1)
    if size > MAX_POINTS:
        raise ValueError(
            f"a sweep of {size:,} points is larger than the cap of {MAX_POINTS:,} "
            "(dynamics.phase.MAX_POINTS); use fewer points per axis or split the sweep"
        )
    solver_name = get_solver(solver)[0]
    check_method(solver_name, options)
    task_solver = solver if callable(solver) else solver_name
    classifier = make_classifier(classify)
    spec, cm = _model_spec(model)
    m = cm.model
    if schedule is not None:
        if not isinstance(schedule, Schedule):
            raise ValueError(f"schedule must be a dynamics.schedule.Schedule, got {schedule!r}")
        schedule.check_groups(m.group_names)
    pnames, snames = list(m.param_names), list(m.state_names)
    for ax in (xa, ya):
        if ax is not None:
            _check_axis(ax, pnames, snames, m.name)
    used = getattr(classifier, "observables", None)
    if isinstance(used, tuple):  # the built-in stage:/order: classifiers name observables
        known = [*cm.observable_names, *snames]
        unknown = [nm for nm in used if nm not in known]
        if unknown:
            raise ValueError(
                f"classifier {_classifier_id(classifier)!r}: unknown observable(s) {unknown} "
                f"for model {m.name!r}; observables: {list(cm.observable_names)}"
            )
    fixed = dict(fixed or {})
    bad = sorted(set(fixed) - set(pnames) - set(snames))
    if bad:
        raise AxisError(_unknown(bad, pnames, snames, m.name, as_list=True))
    swept = {xa.param} | ({ya.param} if ya else set())
    if swept & set(fixed):
        raise AxisError(f"{sorted(swept & set(fixed))} both swept and fixed")
    if initial_state is not None:
        if not callable(initial_state):
            raise ValueError(f"initial_state must be callable(values, cm), got {initial_state!r:.60}")
        if y0 is not None:
            raise ValueError("give y0 (one start for every point) or initial_state (a start per "
                             "point), not both")
    base_y0 = m.state_vector(y0) if y0 is not None else _default_start(spec, cm)
    base_p = m.param_vector(_base_params(m, fixed, [ax for ax in (xa, ya) if ax is not None]))
    for k, v in fixed.items():
        if k in snames:
            if isinstance(v, bool) or not (isinstance(v, int | float | np.number)
                                           and math.isfinite(float(v))):
                raise ValueError(f"fixed value of {k!r} must be a finite number, got {v!r}")
            base_y0[snames.index(k)] = float(v)
    config = {
        "model": m.name,
        "spec": spec if isinstance(spec, str) else f"ReducedModel {m.name}",
        "x": xa.to_dict(),
        "y": None if ya is None else ya.to_dict(),
        "fixed": {k: float(v) for k, v in fixed.items()},
        "y0": dict(zip(snames, map(float, base_y0), strict=True)),
        "params": dict(zip(pnames, map(float, base_p), strict=True)),
        "classify": _classifier_id(classifier),
        "t_max": float(options.grid()[-1]),
        "n_points": int(options.n_points),
        "rtol": options.rtol,
        "atol": options.atol,
        "schedule": None if schedule is None else schedule.to_dict(),
        "options": options.to_dict(),
        "initial_state": None if initial_state is None else _callable_id(initial_state),
    }
    start = None if initial_state is None else _start_fn(initial_state, cm, {
        snames.index(k): float(v) for k, v in fixed.items() if k in snames})
    labels = _labels(classifier)
    work = _Work(spec, classifier, task_solver, options, schedule, key=_spec_key(spec))

    with _out_lock(out):
        return _sweep_locked(
            xa=xa, ya=ya, config=config, out=out, labels=labels, solver_name=solver_name,
            base_y0=base_y0, base_p=base_p, pnames=pnames, snames=snames, model_name=m.name,
            refine=refine, start=start,
            make_runner=lambda save: _Runner(work, cm, workers=workers, scheduler=scheduler,
                                             progress=progress, save=save),
        )


def _sweep_locked(
    *,
    xa: Axis,
    ya: Axis | None,
    config: dict[str, Any],
    out: str | os.PathLike[str] | None,
    labels: dict[int, str],
    solver_name: str,
    base_y0: np.ndarray,
    base_p: np.ndarray,
    pnames: list[str],
    snames: list[str],
    model_name: str,
    refine: int,
    make_runner: Callable[[Callable[[], None]], _Runner],
    start: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PhaseResult:
    """The body of :func:`sweep`, run while holding the output's lock."""
    res: PhaseResult | None = None
    if out is not None and any(p.exists() for p in _npz_json_paths(out)):
        res = PhaseResult.load(out)
        _upgrade_config(res.config)
        new = _jsonish(config)
        diff = sorted(k for k in new if res.config.get(k) != new[k])
        if diff:
            raise ValueError(
                f"{out} holds a sweep with a different configuration ({', '.join(diff)}); "
                "use another output path or delete it"
            )
        res.labels = labels or res.labels
    if res is None:
        res = PhaseResult.empty(xa, ya, config, labels)
    res.config.update(config)
    res.config["solver"] = solver_name
    t_start = time.perf_counter()
    wall0 = float(res.config.get("wall_s", 0.0))

    def save() -> None:
        if out is not None:
            res.config["wall_s"] = wall0 + (time.perf_counter() - t_start)
            res.save(out)

    try:
        save()  # before any work: an unwritable destination is found now
    except OSError as exc:
        raise ValueError(
            f"cannot write the sweep output {_npz_json_paths(out or '')[0]} "
            f"({exc.strerror or type(exc).__name__}); choose a writable output path"
        ) from None
    runner = make_runner(save)
    try:
        for rnd in range(refine + 1):
            if rnd > 0:
                cx, cy = _refine_candidates(res, 2.0 ** -(rnd - 1))
                if cx.size == 0:
                    break
                if res.n_points + cx.size > MAX_POINTS:
                    print(f"dynamics.phase: refinement stopped before round {rnd}: it would "
                          f"pass the cap of {MAX_POINTS:,} points", file=sys.stderr)
                    break
                res.add_points(cx, cy, rnd)
                save()
            todo = np.flatnonzero(res.status == POINT_PENDING)
            if todo.size == 0:
                continue
            y0s = np.tile(base_y0, (todo.size, 1))  # (k, n_state)
            ps = np.tile(base_p, (todo.size, 1))  # (k, n_params)
            axes = [(ax, idx[todo]) for ax, idx in ((xa, res.ix), (ya, res.iy)) if ax is not None]
            for ax, at in axes:
                if ax.param in pnames:
                    ps[:, pnames.index(ax.param)] = ax.value(at)
            if start is not None:  # per point, from its parameters; fixed coordinates win
                y0s = np.array([start(row) for row in ps]).reshape(todo.size, -1)
            for ax, at in axes:
                if ax.param in snames:
                    y0s[:, snames.index(ax.param)] = ax.value(at)
            runner.run(
                res, todo, y0s, ps, desc=f"phase {model_name}" + (f" refine {rnd}" if rnd else "")
            )
    finally:
        runner.close()
        save()
    return res


def _callable_id(fn: Callable[..., Any]) -> str:
    """A function's identity in a sweep's configuration: its module and qualified name."""
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _start_fn(
    initial_state: Callable[[dict[str, float], Any], Any],
    cm: CompiledModel,
    fixed_state: dict[int, float],
) -> Callable[[np.ndarray], np.ndarray]:
    """``row of parameter values -> initial state`` from the user's ``initial_state(values,
    cm)``, checked (every coordinate, finite) and with the fixed state coordinates applied."""
    m = cm.model

    def start(row: np.ndarray) -> np.ndarray:
        values = dict(zip(m.param_names, map(float, row), strict=True))
        try:
            y = m.state_vector(initial_state(values, cm))
        except Exception as exc:
            raise ValueError(f"initial_state({values}) of model {m.name!r} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
        if not np.all(np.isfinite(y)):
            raise ValueError(f"initial_state({values}) of model {m.name!r} gave a non-finite "
                             f"state {y.tolist()}")
        for i, v in fixed_state.items():
            y[i] = v
        return y

    return start


def _base_params(m: ReducedModel, fixed: Mapping[str, float], axes: list[Axis]) -> dict[str, float]:
    """The values that :meth:`ReducedModel.param_vector` needs besides the defaults: the fixed
    parameters, and for a swept parameter without a default its axis' first value (a
    placeholder: every point overwrites it with its own value).

    Raises ``ValueError`` naming every parameter that has no default and is neither fixed
    nor swept.
    """
    swept = {ax.param: float(ax.value(0.0)) for ax in axes if ax.param in m.param_names}
    missing = [p for p in m.param_names if p not in m.defaults and p not in fixed and p not in swept]
    if missing:
        raise ValueError(
            f"no value for parameter(s) {missing} of model {m.name!r} (no default): give them "
            "in fixed= (dynamics phase: --set NAME=VALUE) or sweep them"
        )
    out = {p: v for p, v in swept.items() if p not in m.defaults}
    out.update({k: v for k, v in fixed.items() if k in m.param_names})
    return out


def _options(
    options: SolveOptions | None,
    *,
    t_max: float | None,
    n_points: int | None,
    rtol: float | None,
    atol: float | None,
) -> SolveOptions:
    """The one options value of a sweep: ``options``, or one built from the keywords."""
    given: dict[str, Any] = {k: v for k, v in (("t_max", t_max), ("n_points", n_points),
                                               ("rtol", rtol), ("atol", atol)) if v is not None}
    if options is None:
        if t_max is None:
            raise ValueError("t_max is required (or options= with t_max or t_eval)")
        options = SolveOptions(**given)
    elif not isinstance(options, SolveOptions):
        raise ValueError(f"options must be a dynamics.options.SolveOptions, got {type(options).__name__}")
    elif given:
        raise ValueError(f"give {', '.join(given)} inside options=, not next to it")
    elif options.t_max is None and options.t_eval is None:
        raise ValueError("options needs t_max or t_eval (the time axis of every solve)")
    return options


def _upgrade_config(config: dict[str, Any]) -> None:
    """A file written before sweeps stored their options: its options are the defaults with
    its ``t_max``, ``n_points``, ``rtol`` and ``atol``, so a resume compares like with like."""
    if "options" not in config and config.get("t_max") is not None:
        with contextlib.suppress(TypeError, ValueError):
            config["options"] = SolveOptions(
                t_max=config["t_max"], n_points=config.get("n_points", 200),
                rtol=config.get("rtol", 1e-8), atol=config.get("atol", 1e-10),
            ).to_dict()


def _jsonish(d: Mapping[str, Any]) -> dict[str, Any]:
    from dynamics.trajectory import to_jsonable

    out = to_jsonable(dict(d))
    assert isinstance(out, dict)
    return out


