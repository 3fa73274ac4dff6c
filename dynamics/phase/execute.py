"""Running sweep points: in this process, in spawned local processes
(:func:`~dynamics.parallel.map_processes`) or on a Dask cluster.

Work goes out in chunks of points sized from a first probe solve so that each task carries
at least about :data:`TARGET_TASK_S` seconds. Workers rebuild the model from its registry
name or its :class:`~dynamics.model.ReducedModel` (pickled sympy) and compile it from the
content-hash disk cache of :mod:`dynamics.codegen`, once per process.
"""

from __future__ import annotations

import math
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics.options import SolveOptions
from dynamics.phase.classify import _classify_one
from dynamics.phase.result import POINT_DONE, POINT_FAILED, PhaseResult, _PointResult
from dynamics.phase.solvers import Solved, Solver, SolverFallbackWarning, get_solver
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory

if TYPE_CHECKING:
    from dynamics.codegen import CompiledModel

TARGET_TASK_S = 0.1
SPAWN_S = 2.0  # below this estimated serial time, local processes cost more than they save

ModelSpec = Any  # str (registry name) or ReducedModel

_MODELS: dict[str, CompiledModel] = {}


def _spec_key(spec: ModelSpec) -> str:
    if isinstance(spec, str):
        return "registry:" + spec
    from dynamics.codegen import model_key

    return f"model:{spec.name}:{model_key(spec)}"


def _compiled(spec: ModelSpec, key: str | None = None) -> CompiledModel:
    """The compiled model of ``spec`` (built once per process, from the disk cache).

    ``key`` is ``_spec_key(spec)`` when the caller has it: a sweep computes it once and
    sends it with every chunk, so a worker receiving a fresh (unpickled) copy of a
    ReducedModel does not hash the whole model again for every chunk.
    """
    key = key or _spec_key(spec)
    cm = _MODELS.get(key)
    if cm is None:
        if isinstance(spec, str):
            from dynamics import registry

            cm = registry.get(spec).model().compile()
        else:
            cm = spec.compile()
        _MODELS[key] = cm
    return cm


def _default_start(spec: ModelSpec, cm: CompiledModel) -> np.ndarray:
    """The registered derivation's ``initial_state`` when it has one, else 0.01 everywhere."""
    if isinstance(spec, str):
        from dynamics import registry

        start = registry.get(spec).initial_state
        if start is not None:
            y0 = np.array(start(cm), dtype=float)
            if y0.shape != (cm.n_state,) or not np.all(np.isfinite(y0)):
                raise ValueError(f"initial_state of {spec!r} must give {cm.n_state} finite numbers")
            return y0
    return np.full(cm.n_state, 0.01)


@dataclass(frozen=True)
class _Work:
    """What is done at every point of a sweep, the same for all: picklable, sent with each
    chunk. ``options`` is the sweep's one :class:`~dynamics.options.SolveOptions` value."""

    spec: ModelSpec  # registry name or ReducedModel (workers compile it)
    classifier: Callable[[Trajectory], Any]
    solver: str | Solver  # "integrate", "batch" (resolved) or a Solver function
    options: SolveOptions
    schedule: Schedule | None = None
    key: str = ""  # _spec_key(spec), computed once by the sweep ("" = compute it)


@dataclass(frozen=True)
class _Task:
    """One chunk of points for a worker: the sweep's work and the chunk's points."""

    work: _Work
    indices: tuple[int, ...]
    y0: np.ndarray  # (k, n_state) initial states
    param_rows: np.ndarray  # (k, n_params) parameter values in the model's order


def _params(cm: CompiledModel, rows: np.ndarray) -> list[dict[str, float]]:
    """Rows of parameter values (model order) as one mapping per point (the solvers' form)."""
    names = cm.model.param_names
    return [dict(zip(names, map(float, r), strict=True)) for r in rows]


def _solve(solver: Solver, cm: CompiledModel, task: _Task, sl: slice) -> Solved:
    """``solver`` on the points ``sl`` of ``task``. Its fallback warning is silenced here:
    the sweep records the fallback and warns once, in the process that runs the sweep."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverFallbackWarning)
        out = solver(cm, task.y0[sl], _params(cm, task.param_rows[sl]), task.work.options,
                     schedule=task.work.schedule)
    if not isinstance(out, Solved):
        raise TypeError(f"a solver must return dynamics.phase.Solved, got {type(out).__name__}")
    return out


def _build(task: _Task) -> tuple[CompiledModel, Solver] | list[_PointResult]:
    """The task's compiled model and solver, or every point recorded as failed."""
    try:
        return _compiled(task.work.spec, task.work.key), get_solver(task.work.solver)[1]
    except Exception as exc:
        msg = f"model build failed: {type(exc).__name__}: {exc}"
        return [_PointResult(i, POINT_FAILED, error=msg) for i in task.indices]


def _run_task(
    task: _Task, on_point: Callable[[_PointResult], None] | None = None
) -> list[_PointResult]:
    """Solve and classify the points of one chunk one at a time; errors are recorded per point."""
    built = _build(task)
    if isinstance(built, list):
        return built
    cm, solver = built
    out: list[_PointResult] = []
    for k, i in enumerate(task.indices):
        t0 = time.perf_counter()
        solved = _solve(solver, cm, task, slice(k, k + 1))
        pr = _point_result(task, i, solved.results[0], solved)
        pr.seconds = time.perf_counter() - t0
        out.append(pr)
        if on_point is not None:
            on_point(pr)
    return out


def _point_result(task: _Task, i: int, res: Any, solved: Solved) -> _PointResult:
    """Point ``i``'s record from a solver result (a Trajectory, or the exception it failed with)."""
    if isinstance(res, Exception):
        pr = _PointResult(i, POINT_FAILED, error=f"{type(res).__name__}: {res}")
    else:
        try:
            c, q = _classify_one(task.work.classifier, res)
            pr = _PointResult(i, POINT_DONE, c, q)
        except Exception as exc:
            pr = _PointResult(i, POINT_FAILED, error=f"classify: {type(exc).__name__}: {exc}")
        pr.method = str(res.stats.get("method", ""))
    pr.solver, pr.fallback = solved.solver, solved.fallback
    return pr


def _run_task_batched(
    task: _Task, on_point: Callable[[_PointResult], None] | None = None
) -> list[_PointResult]:
    """Like :func:`_run_task`, giving the solver all points of the chunk at once."""
    built = _build(task)
    if isinstance(built, list):
        return built
    cm, solver = built
    t0 = time.perf_counter()
    solved = _solve(solver, cm, task, slice(None))
    if len(solved.results) != len(task.indices):
        raise RuntimeError(f"solver {task.work.solver!r} returned {len(solved.results)} results for "
                           f"{len(task.indices)} points")
    per = (time.perf_counter() - t0) / max(1, len(task.indices))
    out = []
    for i, res in zip(task.indices, solved.results, strict=True):
        t1 = time.perf_counter()
        pr = _point_result(task, i, res, solved)
        pr.seconds = per + time.perf_counter() - t1
        out.append(pr)
        if on_point is not None:
            on_point(pr)
    return out


def _worker_entry(task: _Task) -> list[_PointResult]:
    if task.work.solver == "integrate":
        return _run_task(task)
    return _run_task_batched(task)


class _Runner:
    """Chunks pending points and runs them here, in local processes or on Dask."""

    def __init__(
        self,
        work: _Work,
        cm: CompiledModel,
        *,
        workers: int | None,
        scheduler: Any,
        progress: bool,
        save: Callable[[], None],
    ):
        from dynamics.parallel import default_workers

        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        self.work, self.cm = work, cm
        self.warned_fallback = False
        self.workers = workers if workers is not None else default_workers()
        self.progress, self.save = progress, save
        self.point_s: float | None = None
        self.probe_again = False
        self.client: Any = None
        self.own_client = False
        if scheduler is not None:
            try:
                from dask.distributed import Client
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "scheduler= needs dask.distributed: pip install 'dask[distributed]'"
                ) from exc
            if isinstance(scheduler, Client):
                self.client = scheduler
            else:
                self.client = Client(scheduler)
                self.own_client = True
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or 1)

    def close(self) -> None:
        if self.own_client and self.client is not None:
            self.client.close()
            self.client = None

    def _task(self, idx: np.ndarray, y0s: np.ndarray, ps: np.ndarray) -> _Task:
        return _Task(self.work, tuple(int(i) for i in idx), y0s, ps)

    def run(
        self, res: PhaseResult, todo: np.ndarray, y0s: np.ndarray, ps: np.ndarray, desc: str
    ) -> None:
        from tqdm import tqdm

        bar = tqdm(
            total=int(todo.size), desc=desc, unit="pt", disable=not self.progress, file=sys.stderr
        )
        try:
            start = 0
            # probe: solve points here, timed; the first may include a one-off compilation
            # (batch solver), so the second, if any, sets the time per point
            while self.point_s is None or (start == 1 and start < todo.size and self.probe_again):
                t0 = time.perf_counter()
                self._serial(
                    res,
                    self._task(
                        todo[start : start + 1], y0s[start : start + 1], ps[start : start + 1]
                    ),
                    bar,
                )
                self.point_s = max(time.perf_counter() - t0, 1e-5)
                self.probe_again = start == 0 and self.point_s > 0.02
                start += 1
            rest = todo[start:]
            if rest.size == 0:
                return
            n_work = self.workers
            chunk = max(1, math.ceil(TARGET_TASK_S / self.point_s))
            chunk = min(chunk, max(1, math.ceil(rest.size / n_work)))
            tasks = [
                self._task(
                    rest[a : a + chunk],
                    y0s[start + a : start + a + chunk],
                    ps[start + a : start + a + chunk],
                )
                for a in range(0, rest.size, chunk)
            ]
            if self.client is not None:
                self._used(res, "dask")
                self._dask(res, tasks, bar)
            elif n_work <= 1 or len(tasks) <= 1 or rest.size * self.point_s < SPAWN_S:
                self._used(res, "serial")
                for t in tasks:
                    self._serial(res, t, bar)
            else:
                self._used(res, "processes")
                self._processes(res, tasks, bar)
        finally:
            bar.close()

    @staticmethod
    def _used(res: PhaseResult, how: str) -> None:
        """Record where chunks ran (``config["executors"]``: serial, processes, dask)."""
        used = list(res.config.get("executors", []))
        if how not in used:
            res.config["executors"] = [*used, how]

    def _serial(self, res: PhaseResult, task: _Task, bar: Any) -> None:
        _MODELS.setdefault(self.work.key or _spec_key(self.work.spec), self.cm)

        def on_point(r: _PointResult) -> None:
            self._record(res, r)
            bar.update(1)

        try:
            if task.work.solver == "integrate":
                _run_task(task, on_point)
            else:
                _run_task_batched(task, on_point)
        finally:  # also on KeyboardInterrupt: the points recorded so far are saved
            self.save()

    def _record(self, res: PhaseResult, r: _PointResult) -> None:
        """Record a point; announce a solver fallback once per sweep (the solver's own
        warning is silenced in :func:`_solve`, as it may run in another process)."""
        res.record(r)
        if r.fallback and not self.warned_fallback:
            self.warned_fallback = True
            warnings.warn(
                f"sweep: the {r.fallback['from']} solver could not run, the points are solved "
                f"with {r.fallback['to']}: {r.fallback['reason']}",
                SolverFallbackWarning,
                stacklevel=2,
            )

    def _finish(self, res: PhaseResult, results: list[_PointResult], bar: Any) -> None:
        for r in results:
            self._record(res, r)
        bar.update(len(results))
        self.save()

    def _processes(self, res: PhaseResult, tasks: list[_Task], bar: Any) -> None:
        import pickle

        from dynamics.parallel import map_processes

        try:
            pickle.dumps(tasks[0])
        except Exception as exc:
            raise ValueError(
                f"cannot send the sweep to worker processes ({type(exc).__name__}: {exc}); "
                "use a module-level classifier (and solver) function or workers=1"
            ) from None

        map_processes(
            _worker_entry,
            tasks,
            workers=min(self.workers, len(tasks)),
            progress=lambda i, t, r: self._finish(res, r, bar),
        )

    def _dask(self, res: PhaseResult, tasks: list[_Task], bar: Any) -> None:
        from dask.distributed import as_completed

        futs = self.client.map(_worker_entry, tasks, pure=False)
        try:
            for f in as_completed(futs):
                try:
                    results = f.result()
                except Exception as exc:  # a lost worker: record the chunk as failed
                    task = tasks[futs.index(f)]
                    msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                    results = [
                        _PointResult(i, POINT_FAILED, error=f"task failed: {msg}") for i in task.indices
                    ]
                self._finish(res, results, bar)
        finally:
            for f in futs:
                if not f.done():
                    f.cancel()
