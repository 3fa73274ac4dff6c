r"""Phase diagrams: sweep one or two parameters, classify every integrated trajectory.

:func:`sweep` integrates a reduced model at every point of a 1-D or 2-D grid of parameter
(or initial-state) values, classifies each trajectory into an integer class with a few
measured quantities, and returns a :class:`PhaseResult` (saved as ``.npz`` + ``.json``
with the description embedded in the ``.npz``; every file written under a
per-process temporary name and renamed; ``OUT.lock`` keeps a second sweep out of ``OUT``).

- **Axes**: :class:`Axis` ``(param, lo, hi, n, log)``, parsed from ``"PARAM=LO:HI:N[:log]"``.
  ``param`` is a model parameter or a state coordinate (then it sets that coordinate of the
  initial state).
- **Classifiers** (strings or any picklable ``Trajectory -> int | (int, dict)``):
  ``"stage"`` (number of loss drops found by :func:`~dynamics.analysis.detect_stages`),
  ``"slope"`` (late log-log slope, binned), ``"learnable[:FRACTION]"`` (loss below
  ``FRACTION`` of its initial value at ``t_max``), ``"order:OBS1,OBS2,...[:LEVEL]"``
  (emergence order of observables). See :func:`make_classifier`.
- **Failures**: a point whose solve or classification raises is recorded with status
  ``FAILED`` and its error text; the sweep goes on.
- **Execution**: in this process (``workers=1``), in spawned local processes
  (:func:`~dynamics.parallel.map_processes`), or on a Dask cluster (``scheduler=`` an address
  or a ``dask.distributed.Client``). Work goes out in chunks of points sized from a first
  probe solve so that each task carries at least about 0.1 s. Workers rebuild the model
  from its registry name or its :class:`~dynamics.model.ReducedModel` (pickled sympy), and
  compile it from the content-hash disk cache of :mod:`dynamics.codegen`, once per process.
- **Resume**: with ``out=``, the file is written before any work and again after every
  finished chunk (atomically), so a second call with the same configuration skips the
  points already done, and Ctrl-C leaves a valid partial file.
- **Refinement**: ``refine=k`` adds ``k`` rounds of midpoints between neighbouring points of
  different class (along each axis).
- **Solvers**: per-point :func:`dynamics.integrate.integrate` by default, or
  ``dynamics.batch.solve_batch`` when that module is importable (``solver="auto"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from dynamics.analysis import detect_stages, first_crossing, loglog_slope
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory, _npz_json_paths, library_versions, to_jsonable

if TYPE_CHECKING:
    from dynamics.codegen import CompiledModel
    from dynamics.model import ReducedModel

__all__ = [
    "Axis",
    "AxisError",
    "PhaseFileError",
    "SweepBusyError",
    "MAX_POINTS",
    "PhaseResult",
    "sweep",
    "make_classifier",
    "StageClassifier",
    "SlopeClassifier",
    "LearnableClassifier",
    "OrderClassifier",
    "ComponentStageClassifier",
    "PENDING",
    "OK",
    "FAILED",
    "integrate_solver",
    "batch_solver",
    "default_solver",
]

PENDING, OK, FAILED = 0, 1, 2
STATUS_NAMES = {PENDING: "pending", OK: "ok", FAILED: "failed"}
FORMAT = "dynamics.phase/1"
TARGET_TASK_S = 0.1
SPAWN_S = 2.0  # below this estimated serial time, local processes cost more than they save
MAX_POINTS = 10**6  # largest sweep (base grid plus refinement) accepted
# the configuration keys that identify a sweep (a resume must match all of them)
_IDENTITY = ("model", "spec", "x", "y", "fixed", "y0", "params", "classify", "t_max",
             "n_points", "rtol", "atol", "schedule")


class AxisError(ValueError):
    """A bad axis specification or an axis naming an unknown parameter."""


class PhaseFileError(ValueError):
    """A phase result file that cannot be read, is incomplete, or whose two halves
    (``.npz`` arrays, ``.json`` description) do not belong together."""


class SweepBusyError(ValueError):
    """Another sweep is writing to the same output path (its lock file is held)."""


# ------------------------------------------------------------------------------------ axes
@dataclass(frozen=True)
class Axis:
    """``n`` values of ``param`` from ``lo`` to ``hi`` (inclusive), geometric if ``log``."""

    param: str
    lo: float
    hi: float
    n: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.param or not isinstance(self.param, str):
            raise AxisError(f"axis needs a parameter name, got {self.param!r}")
        for k in ("lo", "hi"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise AxisError(f"axis {self.param}: {k} must be a finite number, got {v!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise AxisError(f"axis {self.param}: N must be an integer >= 1, got {self.n!r}")
        if self.n > 1 and self.lo == self.hi:
            raise AxisError(
                f"axis {self.param}: LO and HI are equal ({self.lo:g}) with N = {self.n}"
            )
        if self.log and (self.lo <= 0 or self.hi <= 0):
            raise AxisError(
                f"axis {self.param}: a log axis needs LO, HI > 0, got {self.lo:g}, {self.hi:g}"
            )

    @classmethod
    def parse(cls, spec: str) -> Axis:
        """Parse ``"PARAM=LO:HI:N"`` or ``"PARAM=LO:HI:N:log"``."""
        name, sep, rest = str(spec).partition("=")
        name = name.strip()
        parts = [p.strip() for p in rest.split(":")]
        form = "PARAM=LO:HI:N[:log]"
        if not sep or not name or len(parts) not in (3, 4):
            raise AxisError(
                f"bad axis {spec!r}: expected {form}, e.g. s1=0.5:4:8 or lr=1e-3:1:7:log"
            )
        log = False
        if len(parts) == 4:
            if parts[3].lower() not in ("log", "lin"):
                raise AxisError(
                    f"bad axis {spec!r}: the 4th field must be 'log' (or 'lin'), got {parts[3]!r}"
                )
            log = parts[3].lower() == "log"
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise AxisError(f"bad axis {spec!r}: LO and HI must be numbers ({form})") from None
        try:
            n = int(parts[2])
        except ValueError:
            raise AxisError(f"bad axis {spec!r}: N must be an integer ({form})") from None
        return cls(name, lo, hi, n, log)

    def value(self, index: float | np.ndarray) -> np.ndarray:
        """Axis value at a (fractional) grid index, linear in the value (in its log if ``log``)."""
        i = np.asarray(index, dtype=float)
        f = i / (self.n - 1) if self.n > 1 else np.zeros_like(i)
        if self.log:
            return np.exp(math.log(self.lo) + f * (math.log(self.hi) - math.log(self.lo)))
        return self.lo + f * (self.hi - self.lo)

    @property
    def values(self) -> np.ndarray:
        """The ``n`` grid values."""
        return self.value(np.arange(self.n))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return f"{self.param}={self.lo:g}:{self.hi:g}:{self.n}" + (":log" if self.log else "")


# ----------------------------------------------------------------------------- classifiers
Classified = tuple[int, dict[str, float]]


@dataclass(frozen=True)
class StageClassifier:
    r"""Class = number of loss drops by ``t_max`` (:func:`~dynamics.analysis.detect_stages`).

    A drop is a run where $r = -d\ln L/d\ln t \ge$ ``threshold``; a power-law tail with
    exponent above the threshold counts as one drop. Samples with $t = 0$ or $L \le 0$ are
    left out. Quantities: ``n_drops``, ``n_plateaus``, ``t_last_drop`` (steepest point of
    the last drop, NaN if none), ``final_loss``.
    """

    threshold: float = 0.1
    min_width_decades: float = 0.5
    spec: str = "stage"

    def labels(self) -> dict[int, str]:
        return {k: f"{k} drop" + ("" if k == 1 else "s") for k in range(50)}

    def __call__(self, tr: Trajectory) -> Classified:
        m = (tr.t > 0) & (tr.loss > 0)
        stages = detect_stages(tr.t[m], tr.loss[m], self.threshold, self.min_width_decades)
        drops = [s for s in stages if s.kind == "drop"]
        q = {
            "n_drops": float(len(drops)),
            "n_plateaus": float(len(stages) - len(drops)),
            "t_last_drop": drops[-1].t_peak if drops else math.nan,
            "final_loss": float(tr.loss[-1]),
        }
        return len(drops), q


@dataclass(frozen=True)
class ComponentStageClassifier:
    r"""Class = how many of ``observables`` (loss components, one per thing to be learned)
    have dropped below ``fraction`` of their initial value by ``t_max``.

    The exact stage count when the model exposes its loss per component (per pattern, per
    mode): unlike :class:`StageClassifier`, which reads drops off the total loss and merges
    drops closer than its resolution, two components learned in quick succession still count
    as two stages. Quantities: ``n_dropped`` and ``t_<obs>`` (first time below the level, NaN
    if never). Spec: ``"stage:OBS1,OBS2[,...][:FRACTION]"`` (default fraction 0.5).
    """

    observables: tuple[str, ...]
    fraction: float = 0.5
    spec: str = "stage:"

    def __post_init__(self) -> None:
        if not self.observables or len(set(self.observables)) != len(self.observables):
            raise ValueError(f"stage needs distinct observable names, got {self.observables!r}")
        if not 0 < self.fraction < 1:
            raise ValueError(f"the fraction must be in (0, 1), got {self.fraction:g}")

    def labels(self) -> dict[int, str]:
        n = len(self.observables)
        return {k: f"{k} of {n} dropped" for k in range(n + 1)}

    def __call__(self, tr: Trajectory) -> Classified:
        q: dict[str, float] = {}
        n = 0
        for name in self.observables:
            v = tr[name]
            level = self.fraction * float(v[0])
            dropped = bool(v[-1] < level)
            n += dropped
            q[f"t_{name}"] = first_crossing(tr.t, v, level, "down") if v[0] > 0 else math.nan
        q["n_dropped"] = float(n)
        return n, q


@dataclass(frozen=True)
class SlopeClassifier:
    r"""Late log-log slope $p$ of the loss over the last decade ``(t_max/10, t_max)``.

    Class 0 ``flat`` ($p > -0.1$), 1 ``power law`` ($-2 < p \le -0.1$), 2 ``fast``
    ($p \le -2$ or the loss reached 0 in the window: faster than any power law seen over
    a decade, e.g. exponential). Quantities: ``slope``, ``slope_stderr``, ``final_loss``.
    """

    flat: float = -0.1
    fast: float = -2.0
    spec: str = "slope"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.flat) and math.isfinite(self.fast) and self.fast < self.flat):
            raise ValueError(f"slope bins need finite fast < flat, got {self.fast!r}, {self.flat!r}")

    def labels(self) -> dict[int, str]:
        return {
            0: f"flat (slope > {self.flat:g})",
            1: "power law",
            2: f"fast (slope <= {self.fast:g})",
        }

    def __call__(self, tr: Trajectory) -> Classified:
        t_hi = float(tr.t[-1])
        win = (t_hi / 10.0, t_hi)
        m = (tr.t >= win[0]) & (tr.t <= win[1])
        if np.any(tr.loss[m] <= 0):
            return 2, {
                "slope": -math.inf,
                "slope_stderr": math.nan,
                "final_loss": float(tr.loss[-1]),
            }
        fit = loglog_slope(tr.t, tr.loss, window=win)
        p = float(fit.slope)
        cls = 0 if p > self.flat else (1 if p > self.fast else 2)
        return cls, {
            "slope": p,
            "slope_stderr": float(fit.stderr),
            "final_loss": float(tr.loss[-1]),
        }


@dataclass(frozen=True)
class LearnableClassifier:
    """Class 1 (``learned``) when ``loss(t_max) < fraction * loss(0)``, else 0.

    Quantities: ``loss_ratio`` = loss(t_max)/loss(0), ``t_learn`` (first time the loss
    falls below ``fraction * loss(0)``, NaN if never).
    """

    fraction: float = 0.1
    spec: str = "learnable"

    def __post_init__(self) -> None:
        if not (isinstance(self.fraction, int | float) and 0 < self.fraction < 1):
            raise ValueError(f"the fraction must be in (0, 1), got {self.fraction!r}")

    def labels(self) -> dict[int, str]:
        return {0: "not learned", 1: "learned"}

    def __call__(self, tr: Trajectory) -> Classified:
        l0, l1 = float(tr.loss[0]), float(tr.loss[-1])
        level = self.fraction * l0
        ratio = l1 / l0 if l0 != 0 else math.nan
        return int(l1 < level), {
            "loss_ratio": ratio,
            "t_learn": first_crossing(tr.t, tr.loss, level, "down"),
        }


@dataclass(frozen=True)
class OrderClassifier:
    """Emergence order of ``observables``.

    Observable ``k`` emerges at the first time it crosses ``level`` (upwards, or downwards
    if it starts above); without ``level``, at its half-way point between its initial and
    final value. The class id indexes the ordered sequence of emerged observables (earliest
    first; those that never cross are left out) in a fixed enumeration: all ordered subsets,
    shortest first, then lexicographic; :meth:`labels` names them (``"u1<u2<u3"``).
    Quantities: ``t_<obs>`` (crossing time, NaN if none) and ``rank_<obs>`` (0 = first, NaN
    if it never crosses).
    """

    observables: tuple[str, ...]
    level: float | None = None
    spec: str = "order"

    def __post_init__(self) -> None:
        if not self.observables or len(set(self.observables)) != len(self.observables):
            raise ValueError(f"order needs distinct observable names, got {self.observables!r}")
        if len(self.observables) > 6:
            raise ValueError("order supports at most 6 observables")
        if self.level is not None and not (
            isinstance(self.level, int | float) and math.isfinite(self.level)
        ):
            raise ValueError(f"the level must be a finite number, got {self.level!r}")

    def _sequences(self) -> list[tuple[int, ...]]:
        n = len(self.observables)
        out: list[tuple[int, ...]] = []
        for k in range(n + 1):
            out.extend(itertools.permutations(range(n), k))
        return out

    def labels(self) -> dict[int, str]:
        return {
            i: ("<".join(self.observables[j] for j in s) or "none")
            for i, s in enumerate(self._sequences())
        }

    def __call__(self, tr: Trajectory) -> Classified:
        times = []
        direction: Literal["up", "down"]
        for name in self.observables:
            v = tr[name]
            if self.level is not None:
                lev = self.level
                direction = "up" if v[0] < lev else "down"
            else:
                lev = 0.5 * (v[0] + v[-1])
                direction = "up" if v[-1] >= v[0] else "down"
            times.append(first_crossing(tr.t, v, lev, direction) if v[0] != v[-1] else math.nan)
        emerged = sorted((t, j) for j, t in enumerate(times) if math.isfinite(t))
        seq = tuple(j for _, j in emerged)
        q: dict[str, float] = {}
        for j, name in enumerate(self.observables):
            q[f"t_{name}"] = times[j]
            q[f"rank_{name}"] = float(seq.index(j)) if j in seq else math.nan
        return self._sequences().index(seq), q


def make_classifier(classify: str | Callable[[Trajectory], Any]) -> Callable[[Trajectory], Any]:
    """A classifier from a spec string, or ``classify`` itself if callable.

    Strings: ``"stage"`` or ``"stage:OBS1,OBS2[,...][:FRACTION]"``
    (:class:`ComponentStageClassifier`), ``"slope"``, ``"learnable"`` or ``"learnable:FRACTION"``,
    ``"order:OBS1,OBS2[,...]"`` or ``"order:OBS1,OBS2[,...]:LEVEL"``. A callable maps a
    :class:`Trajectory` to an int or to ``(int, {name: float})``; for process or Dask
    workers it must be picklable (a module-level function or class instance).
    """
    if callable(classify):
        return classify
    if not isinstance(classify, str):
        raise ValueError(f"classify must be a string or a callable, got {type(classify).__name__}")
    kind, _, arg = classify.strip().partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "stage" and not arg:
            return StageClassifier()
        if kind == "stage":
            obs, _, frac_s = arg.partition(":")
            names = tuple(o.strip() for o in obs.split(",") if o.strip())
            return ComponentStageClassifier(
                names, float(frac_s) if frac_s.strip() else 0.5, spec=classify.strip()
            )
        if kind == "slope" and not arg:
            return SlopeClassifier()
        if kind == "learnable":
            frac = float(arg) if arg else 0.1
            if not 0 < frac < 1:
                raise ValueError(f"the fraction must be in (0, 1), got {frac:g}")
            return LearnableClassifier(frac, spec=classify.strip())
        if kind == "order" and arg:
            obs, _, lev = arg.partition(":")
            names = tuple(o.strip() for o in obs.split(",") if o.strip())
            return OrderClassifier(
                names, float(lev) if lev.strip() else None, spec=classify.strip()
            )
    except ValueError as exc:
        raise ValueError(f"bad classifier {classify!r}: {exc}") from None
    raise ValueError(
        f"unknown classifier {classify!r}; choose stage[:OBS1,OBS2,...[:FRACTION]], slope, "
        "learnable[:FRACTION], "
        "order:OBS1,OBS2[,...][:LEVEL] or pass a function"
    )


def _classifier_id(c: Callable[..., Any]) -> str:
    """A stable name for the configuration: the spec string of a built-in classifier, else the
    qualified name of the function or of the callable's class."""
    spec = getattr(c, "spec", None)
    if isinstance(spec, str) and type(c).__module__ == __name__:
        return spec
    t: Any = c if hasattr(c, "__qualname__") else type(c)
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', repr(t))}"


def _labels(c: Callable[..., Any]) -> dict[int, str]:
    f = getattr(c, "labels", None)
    if callable(f):
        try:
            return {int(k): str(v) for k, v in f().items()}
        except Exception:  # a user object with an unrelated 'labels'
            return {}
    return {}


# --------------------------------------------------------------------------------- solvers
# A solver maps (compiled model, y0 (N, n), parameter values (N, P), t_eval, rtol, atol,
# and the keyword schedule=None or a Schedule) to one Trajectory or exception per point.
Solver = Callable[..., list["Trajectory | Exception"]]


def integrate_solver(
    cm: CompiledModel,
    y0: np.ndarray,
    params: np.ndarray,
    t_eval: np.ndarray,
    rtol: float,
    atol: float,
    schedule: Schedule | None = None,
) -> list[Trajectory | Exception]:
    """One :func:`dynamics.integrate.integrate` per point (``params`` are parameter values)."""
    from dynamics.integrate import integrate

    out: list[Trajectory | Exception] = []
    names = cm.model.param_names
    for yi, pi in zip(y0, params, strict=True):
        try:
            out.append(
                integrate(
                    cm,
                    yi,
                    dict(zip(names, map(float, pi), strict=True)),
                    t_eval=t_eval,
                    rtol=rtol,
                    atol=atol,
                    schedule=schedule,
                )
            )
        except Exception as exc:
            out.append(exc)
    return out


def batch_solver(
    cm: CompiledModel,
    y0: np.ndarray,
    params: np.ndarray,
    t_eval: np.ndarray,
    rtol: float,
    atol: float,
    schedule: Schedule | None = None,
) -> list[Trajectory | Exception]:
    """``dynamics.batch.solve_batch`` over all points at once (one compiled call), with its
    per-point status: a point with status other than ok becomes an exception naming it.

    If the batch call itself raises (e.g. a model compiled without numba), the points are
    solved by :func:`integrate_solver` instead, so a sweep never depends on the batch solver.
    """
    from dynamics.batch import solve_batch  # type: ignore[import-not-found,unused-ignore]

    names = cm.model.param_names
    try:
        packed = np.stack([cm.pack(dict(zip(names, map(float, p), strict=True))) for p in params])
        res = solve_batch(
            cm,
            np.asarray(y0, dtype=float),
            packed,
            t_eval,
            rtol=rtol,
            atol=atol,
            schedule=schedule,
        )
    except Exception:
        return integrate_solver(cm, y0, params, t_eval, rtol, atol, schedule=schedule)
    out: list[Trajectory | Exception] = []
    status = res.status_names()
    for i in range(len(y0)):
        try:
            tr = res.trajectory(i)
            if int(res.status[i]) != 0:
                reached = f" (reached t = {tr.t[-1]:.6g})" if len(tr) else ""
                reason = tr.stats.get("reason", "")
                out.append(RuntimeError(f"batch solver failed: {status[i]}{reached}"
                                        + (f": {reason}" if reason else "")))
            else:
                out.append(tr)
        except Exception as exc:
            out.append(exc)
    return out


def default_solver() -> tuple[str, Solver]:
    """``("batch", batch_solver)`` when ``dynamics.batch.solve_batch`` imports, else integrate."""
    try:
        from dynamics.batch import solve_batch  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return "integrate", integrate_solver
    return "batch", batch_solver


def _get_solver(name: str) -> Solver:
    if name == "auto":
        return default_solver()[1]
    if name == "integrate":
        return integrate_solver
    if name == "batch":
        return batch_solver
    raise ValueError(f"unknown solver {name!r}; choose 'auto', 'integrate' or 'batch'")


# ---------------------------------------------------------------------------- worker side
ModelSpec = Any  # str (registry name) or ReducedModel

_MODELS: dict[str, CompiledModel] = {}


def _spec_key(spec: ModelSpec) -> str:
    if isinstance(spec, str):
        return "registry:" + spec
    from dynamics.codegen import model_key

    return f"model:{spec.name}:{model_key(spec)}"


def _compiled(spec: ModelSpec) -> CompiledModel:
    """The compiled model of ``spec`` (built once per process, from the disk cache)."""
    key = _spec_key(spec)
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
class _Task:
    spec: ModelSpec
    classifier: Callable[[Trajectory], Any]
    solver: str
    t_eval: np.ndarray
    rtol: float
    atol: float
    indices: tuple[int, ...]
    y0: np.ndarray  # (k, n)
    params: np.ndarray  # (k, P)
    schedule: Schedule | None = None


@dataclass
class _PointResult:
    index: int
    status: int
    cls: int = -1
    quantities: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    method: str = ""


def _classify_one(
    classifier: Callable[[Trajectory], Any], tr: Trajectory
) -> tuple[int, dict[str, float]]:
    r = classifier(tr)
    if isinstance(r, tuple):
        if len(r) != 2 or not isinstance(r[1], Mapping):
            raise TypeError("a classifier must return an int or (int, dict of floats)")
        c, q = r
    else:
        c, q = r, {}
    if isinstance(c, bool | np.bool_):
        c = int(c)
    if not isinstance(c, int | np.integer) or int(c) < 0:
        raise TypeError(f"a classifier must return a class id int >= 0, got {c!r}")
    return int(c), {str(k): float(v) for k, v in q.items()}


def _run_task(
    task: _Task, on_point: Callable[[_PointResult], None] | None = None
) -> list[_PointResult]:
    """Solve and classify the points of one chunk; errors are recorded per point."""
    out: list[_PointResult] = []
    try:
        cm = _compiled(task.spec)
        solver = _get_solver(task.solver)
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        return [_PointResult(i, FAILED, error=f"model build failed: {msg}") for i in task.indices]
    for k, i in enumerate(task.indices):
        t0 = time.perf_counter()
        (res,) = solver(
            cm,
            task.y0[k : k + 1],
            task.params[k : k + 1],
            task.t_eval,
            task.rtol,
            task.atol,
            schedule=task.schedule,
        )
        pr = _point_result(task, i, res)
        pr.seconds = time.perf_counter() - t0
        out.append(pr)
        if on_point is not None:
            on_point(pr)
    return out


def _point_result(task: _Task, i: int, res: Any) -> _PointResult:
    """Point ``i``'s record from a solver result (a Trajectory, or the exception it failed with)."""
    if isinstance(res, Exception):
        return _PointResult(i, FAILED, error=f"{type(res).__name__}: {res}")
    try:
        c, q = _classify_one(task.classifier, res)
        pr = _PointResult(i, OK, c, q)
    except Exception as exc:
        pr = _PointResult(i, FAILED, error=f"classify: {type(exc).__name__}: {exc}")
    pr.method = str(res.stats.get("method", ""))
    return pr


def _run_task_batched(
    task: _Task, on_point: Callable[[_PointResult], None] | None = None
) -> list[_PointResult]:
    """Like :func:`_run_task`, giving the solver all points of the chunk at once."""
    try:
        cm = _compiled(task.spec)
        solver = _get_solver(task.solver)
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        return [_PointResult(i, FAILED, error=f"model build failed: {msg}") for i in task.indices]
    t0 = time.perf_counter()
    trs = solver(
        cm, task.y0, task.params, task.t_eval, task.rtol, task.atol, schedule=task.schedule
    )
    per = (time.perf_counter() - t0) / max(1, len(task.indices))
    out = []
    for i, res in zip(task.indices, trs, strict=True):
        t1 = time.perf_counter()
        pr = _point_result(task, i, res)
        pr.seconds = per + time.perf_counter() - t1
        out.append(pr)
        if on_point is not None:
            on_point(pr)
    return out


def _worker_entry(task: _Task) -> list[_PointResult]:
    if task.solver == "integrate":
        return _run_task(task)
    return _run_task_batched(task)


# ---------------------------------------------------------------------------------- result
@dataclass
class PhaseResult:
    """Points of a sweep with their classes, measured quantities, status and errors.

    Points are addressed by fractional grid indices ``ix`` (and ``iy`` for 2-D): the base
    grid has integer indices, refinement adds midpoints (``level`` = refinement round, 0 for
    the base grid). ``x``, ``y`` are the axis values, ``classes`` is -1 where a point is
    pending or failed.
    """

    x_axis: Axis
    y_axis: Axis | None
    ix: np.ndarray
    iy: np.ndarray
    level: np.ndarray
    classes: np.ndarray
    status: np.ndarray
    errors: list[str]
    quantities: dict[str, np.ndarray]
    labels: dict[int, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seconds: np.ndarray | None = None

    # ---------------------------------------------------------------- construction
    @classmethod
    def empty(
        cls, x: Axis, y: Axis | None, config: dict[str, Any], labels: dict[int, str]
    ) -> PhaseResult:
        if y is None:
            ix, iy = np.arange(x.n, dtype=float), np.zeros(x.n)
        else:
            gx, gy = np.meshgrid(
                np.arange(x.n, dtype=float), np.arange(y.n, dtype=float), indexing="ij"
            )
            ix, iy = gx.ravel(), gy.ravel()
        n = ix.size
        return cls(
            x,
            y,
            ix,
            iy,
            np.zeros(n, dtype=int),
            np.full(n, -1),
            np.zeros(n, dtype=int),
            [""] * n,
            {},
            labels,
            config,
            np.zeros(n),
        )

    def add_points(self, ix: np.ndarray, iy: np.ndarray, level: int) -> np.ndarray:
        """Append pending points; returns their indices."""
        k = len(ix)
        start = self.n_points
        self.ix = np.concatenate([self.ix, ix])
        self.iy = np.concatenate([self.iy, iy])
        self.level = np.concatenate([self.level, np.full(k, level, dtype=int)])
        self.classes = np.concatenate([self.classes, np.full(k, -1)])
        self.status = np.concatenate([self.status, np.zeros(k, dtype=int)])
        self.errors.extend([""] * k)
        self.seconds = np.concatenate([self._secs(), np.zeros(k)])
        for q in self.quantities:
            self.quantities[q] = np.concatenate([self.quantities[q], np.full(k, np.nan)])
        return np.arange(start, start + k)

    def _secs(self) -> np.ndarray:
        return self.seconds if self.seconds is not None else np.zeros(self.n_points)

    def record(self, r: _PointResult) -> None:
        i = r.index
        if r.method:  # how many points each integration method solved
            methods = self.config.setdefault("methods", {})
            methods[r.method] = int(methods.get(r.method, 0)) + 1
        self.status[i] = r.status
        self.classes[i] = r.cls if r.status == OK else -1
        self.errors[i] = r.error
        secs = self._secs()
        secs[i] = r.seconds
        self.seconds = secs
        for k, v in r.quantities.items():
            if k not in self.quantities:
                self.quantities[k] = np.full(self.n_points, np.nan)
            self.quantities[k][i] = v

    # ------------------------------------------------------------------ properties
    @property
    def n_points(self) -> int:
        return int(self.ix.size)

    @property
    def ndim(self) -> int:
        return 1 if self.y_axis is None else 2

    @property
    def x(self) -> np.ndarray:
        return self.x_axis.value(self.ix)

    @property
    def y(self) -> np.ndarray | None:
        return None if self.y_axis is None else self.y_axis.value(self.iy)

    @property
    def done(self) -> np.ndarray:
        """Boolean mask of points that are OK or FAILED."""
        return self.status != PENDING

    @property
    def complete(self) -> bool:
        return bool(np.all(self.done))

    def grid(self) -> np.ndarray:
        """Classes on the base grid: shape (nx,) or (nx, ny), -1 where pending or failed."""
        base = self.level == 0
        ix = self.ix[base].astype(int)
        if self.y_axis is None:
            out = np.full(self.x_axis.n, -1)
            out[ix] = self.classes[base]
            return out
        out = np.full((self.x_axis.n, self.y_axis.n), -1)
        out[ix, self.iy[base].astype(int)] = self.classes[base]
        return out

    def label(self, c: int) -> str:
        return self.labels.get(int(c), f"class {int(c)}")

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """``PATH.npz`` (points, classes, status, errors, quantities ``q/<name>``) + ``.json``."""
        arrays: dict[str, np.ndarray] = {
            "ix": self.ix,
            "iy": self.iy,
            "level": self.level,
            "x": self.x,
            "classes": self.classes,
            "status": self.status,
            "seconds": self._secs(),
            "errors": np.array(self.errors if self.errors else [""], dtype=str)[: self.n_points],
            "x_values": self.x_axis.values,
        }
        if self.y_axis is not None:
            arrays["y"] = self.y_axis.value(self.iy)
            arrays["y_values"] = self.y_axis.values
        for k, v in self.quantities.items():
            arrays[f"q/{k}"] = v
        meta = {
            "format": FORMAT,
            "x_axis": self.x_axis.to_dict(),
            "y_axis": None if self.y_axis is None else self.y_axis.to_dict(),
            "labels": {str(k): v for k, v in self.labels.items()},
            "quantities": list(self.quantities),
            "config": self.config,
            "counts": {STATUS_NAMES[s]: int(np.sum(self.status == s)) for s in STATUS_NAMES},
        }
        return _save_pair(path, arrays, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PhaseResult:
        """Load what :meth:`save` (or :func:`sweep` with ``out=``) wrote.

        The arrays are checked against the axes and the configuration (a base grid of
        ``nx * ny`` points, indices inside the axes, stored axis values equal to the axes',
        one entry per point in every array), and the ``.json`` description against the one
        stored in the ``.npz``. Raises :class:`PhaseFileError` (a ``ValueError``) naming the
        file for a missing, truncated, foreign or mismatched file.
        """
        npz, js = _npz_json_paths(path)
        remedy = "delete both files (or use another output path) to start the sweep afresh"

        def bad(what: str, f: Path = npz) -> PhaseFileError:
            return PhaseFileError(f"{f}: {what}; {remedy}")

        if not npz.exists():
            if js.exists():
                raise bad(f"the arrays file is missing (only {js.name} exists)", js)
            raise PhaseFileError(f"no phase result {npz} (nor {js.name})")
        try:
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: np.array(data[k]) for k in data.files}
        except Exception as exc:
            raise bad(f"not a readable phase result: damaged, truncated or not written by "
                      f"dynamics ({type(exc).__name__})") from None
        embedded = arrays.pop("meta_json", None)
        meta: Any = None
        if embedded is not None:
            try:
                meta = json.loads(str(embedded))
            except ValueError:
                raise bad("its embedded description is not valid JSON") from None
        side: Any = None
        if js.exists():
            try:
                side = json.loads(js.read_text()).get("meta")
            except (ValueError, OSError, AttributeError) as exc:
                if meta is None:
                    raise bad(f"not a readable phase description ({type(exc).__name__})",
                              js) from None
                side = None  # a damaged sidecar: the npz carries its own description
        elif meta is None:
            raise bad(f"its description {js.name} is missing")
        if meta is None:
            meta = side
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            fmt = meta.get("format") if isinstance(meta, dict) else None
            raise bad(f"not a phase-diagram file (format {fmt!r}, expected {FORMAT!r})",
                      js if embedded is None else npz)
        if isinstance(side, dict) and side is not meta:
            sc, mc = side.get("config", {}), meta.get("config", {})
            diff = [k for k in ("x_axis", "y_axis") if side.get(k) != meta.get(k)]
            if isinstance(sc, dict) and isinstance(mc, dict):
                diff += [k for k in _IDENTITY if sc.get(k) != mc.get(k)]
            if diff:
                raise bad(f"does not belong with {js.name} (they differ in {', '.join(diff)})")
        try:
            xa = Axis(**meta["x_axis"])
            ya = Axis(**meta["y_axis"]) if meta.get("y_axis") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"bad or missing axis description ({type(exc).__name__}: {exc})") from None
        missing = [k for k in ("ix", "iy", "level", "classes", "status", "errors")
                   if k not in arrays]
        if missing:
            raise bad(f"incomplete: no array(s) {missing}")
        n = arrays["ix"].size
        problem = _check_arrays(arrays, xa, ya, meta.get("config", {}), n)
        if problem:
            raise bad(problem)
        errors = [str(e) for e in arrays["errors"]][:n] if n else []
        quantities = {k[2:]: arrays[k].astype(float) for k in arrays if k.startswith("q/")}
        labels_raw = meta.get("labels", {})
        return cls(
            xa,
            ya,
            arrays["ix"].astype(float),
            arrays["iy"].astype(float),
            arrays["level"].astype(int),
            arrays["classes"].astype(int),
            arrays["status"].astype(int),
            errors,
            quantities,
            {int(k): str(v) for k, v in labels_raw.items()} if isinstance(labels_raw, dict) else {},
            dict(meta.get("config") or {}),
            arrays["seconds"].astype(float) if "seconds" in arrays else np.zeros(n),
        )

    # ---------------------------------------------------------------------- plot
    def plot(self, path: str | os.PathLike[str] | None = None, quantity: str | None = None) -> Any:
        """Draw the diagram; save to ``path`` if given. Returns the matplotlib figure.

        2-D: the base grid's classes as a ``pcolormesh`` (failed/pending points hatched out
        in grey), refined points as dots in their class colour, a legend of class labels.
        1-D: class vs ``x`` (top) and ``quantity`` (default: the first measured one) vs ``x``.
        """
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.colors import BoundaryNorm, ListedColormap
        from matplotlib.patches import Patch

        ok = self.status == OK
        present = sorted({int(c) for c in self.classes[ok]})
        cmap_base = plt.get_cmap("tab10" if len(present) <= 10 else "tab20")
        colour = {c: cmap_base(k % cmap_base.N) for k, c in enumerate(present)}
        handles = [Patch(color=colour[c], label=self.label(c)) for c in present]
        if np.any(self.status == FAILED):
            handles.append(Patch(color="0.6", label="failed"))
        title = f"{self.config.get('model', '')}: {self.config.get('classify', '')}"
        xa = self.x_axis
        if self.y_axis is None:
            fig, ax = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
            order = np.argsort(self.x)
            xs, cs, st = self.x[order], self.classes[order], self.status[order]
            for c in present:
                m = (cs == c) & (st == OK)
                ax[0].scatter(xs[m], cs[m], color=colour[c], s=18, zorder=3)
            ax[0].step(xs[st == OK], cs[st == OK], where="mid", color="0.5", lw=1)
            bad = st == FAILED
            if np.any(bad):
                ax[0].scatter(xs[bad], np.full(bad.sum(), -0.5), marker="x", color="0.4")
            ax[0].set(ylabel="class", title=title)
            ax[0].set_yticks(present, [self.label(c)[:18] for c in present], fontsize=7)
            if handles:
                ax[0].legend(handles=handles, fontsize=8, loc="best")
            qname = quantity or next(iter(self.quantities), None)
            if qname is not None:
                qv = self.quantities[qname][order]
                ax[1].plot(xs[st == OK], qv[st == OK], "o-", ms=3)
                ax[1].set(ylabel=qname)
            ax[1].set(xlabel=xa.param)
            if xa.log:
                ax[1].set_xscale("log")
        else:
            ya = self.y_axis
            fig, ax0 = plt.subplots(figsize=(7, 5.5))
            g = self.grid()
            xs, ys = xa.values, ya.values
            idx = np.full(g.shape, np.nan)
            for k, c in enumerate(present):
                idx[g == c] = k
            ax0.set_facecolor("0.6")
            if present:
                cm = ListedColormap([colour[c] for c in present])
                norm = BoundaryNorm(np.arange(len(present) + 1) - 0.5, len(present))
                ax0.pcolormesh(
                    _edges(xs, xa.log),
                    _edges(ys, ya.log),
                    np.ma.masked_invalid(idx).T,
                    cmap=cm,
                    norm=norm,
                    shading="flat",
                )
            else:  # nothing succeeded: an all-grey diagram over the axes' extent
                ex, ey = _edges(xs, xa.log), _edges(ys, ya.log)
                ax0.set(xlim=(ex[0], ex[-1]), ylim=(ey[0], ey[-1]))
                ax0.text(0.5, 0.5, "no point succeeded", transform=ax0.transAxes,
                         ha="center", va="center")
            ref = (self.level > 0) & ok
            if np.any(ref):
                px, py = self.x[ref], ya.value(self.iy[ref])
                ax0.scatter(
                    px,
                    py,
                    c=[colour[int(c)] for c in self.classes[ref]],
                    s=14,
                    edgecolors="k",
                    linewidths=0.4,
                    zorder=3,
                )
            ax0.set(xlabel=xa.param, ylabel=ya.param, title=title)
            if xa.log:
                ax0.set_xscale("log")
            if ya.log:
                ax0.set_yscale("log")
            if handles:
                ax0.legend(handles=handles, fontsize=8, loc="best")
        fig.tight_layout()
        if path is not None:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fmt = target.suffix.lstrip(".").lower() or "png"
            try:
                with _atomic(target) as f:  # a killed run never leaves a partial figure
                    fig.savefig(f, dpi=110, format=fmt)
            finally:
                plt.close(fig)
        return fig


# --------------------------------------------------------------------------------- files
def _check_arrays(
    arrays: Mapping[str, np.ndarray], xa: Axis, ya: Axis | None, config: Any, n: int
) -> str | None:
    """What is wrong with a loaded sweep's arrays given its axes and configuration, or None."""
    for k, v in arrays.items():
        if k in ("errors", "x_values", "y_values"):
            continue
        if v.shape != (n,):
            return f"array {k!r} has shape {v.shape}, expected ({n},) (one entry per point)"
    if arrays["errors"].ndim != 1 or arrays["errors"].size < n:
        return f"array 'errors' has {arrays['errors'].size} entries for {n} points"
    try:
        ix, iy = arrays["ix"].astype(float), arrays["iy"].astype(float)
        level, status = arrays["level"].astype(int), arrays["status"].astype(int)
        classes = arrays["classes"].astype(int)
    except (TypeError, ValueError):
        return "non-numeric point arrays"
    ny = 1 if ya is None else ya.n
    if not (np.all(np.isfinite(ix)) and np.all(np.isfinite(iy))):
        return "non-finite grid indices"
    if np.any(ix < 0) or np.any(ix > xa.n - 1) or np.any(iy < 0) or np.any(iy > ny - 1):
        return f"grid indices outside the axes ({xa}" + (f", {ya})" if ya else ")")
    if ya is None and np.any(iy != 0):
        return "a 1-D sweep with y indices"
    if np.any(level < 0) or np.any(~np.isin(status, list(STATUS_NAMES))):
        return "invalid level or status values"
    if np.any((status == OK) & (classes < 0)):
        return "points marked ok without a class"
    base = level == 0
    cells = {(float(a), float(b)) for a, b in zip(ix[base], iy[base], strict=True)}
    expect = {(float(a), float(b)) for a in range(xa.n) for b in range(ny)}
    if int(base.sum()) != xa.n * ny or cells != expect:
        return (f"its {int(base.sum())} base-grid points do not match the axes "
                f"({xa.n} x {ny} = {xa.n * ny} points)")
    for name, ax, idx in (("x", xa, ix), ("y", ya, iy)):
        if ax is None:
            continue
        if name in arrays and not np.allclose(arrays[name], ax.value(idx), rtol=1e-9, atol=0):
            return f"its {name} values do not match the axis {ax}"
        vals = arrays.get(f"{name}_values")
        if vals is not None and (vals.shape != (ax.n,) or not np.allclose(vals, ax.values)):
            return f"its {name} grid values do not match the axis {ax}"
    if isinstance(config, dict):
        for key, ax in (("x", xa), ("y", ya)):
            if key in config and config[key] != (None if ax is None else ax.to_dict()):
                return f"its configured {key} axis differs from the stored axis"
    return None


@functools.cache
def _versions() -> dict[str, str]:
    """:func:`~dynamics.trajectory.library_versions`, read once per process (reading package
    metadata costs milliseconds, and a sweep saves after every chunk)."""
    return library_versions()


def _save_pair(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> tuple[Path, Path]:
    """``PATH.npz`` (with the description embedded) then ``PATH.json``, each written to a
    temporary name private to this process and renamed (so neither an interrupted write nor
    a second process saving to the same path leaves a partial or mixed file)."""
    npz, js = _npz_json_paths(path)
    npz.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: np.asarray(v) for k, v in arrays.items()}
    doc = {
        "format": "dynamics.arrays/1",
        "arrays": sorted(clean),
        "meta": to_jsonable(dict(meta)),
        "versions": _versions(),
    }
    clean["meta_json"] = np.array(json.dumps(doc["meta"]))
    with _atomic(npz) as f:
        np.savez(f, **clean)  # type: ignore[arg-type]
    with _atomic(js) as f:
        f.write(json.dumps(doc, indent=2).encode())
    return npz, js


_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[Any]:
    """A binary file object on a per-process temporary name beside ``target``, renamed to
    ``target`` on success and removed on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{os.getpid()}.tmp",
                               dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary open() would create it
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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


def _edges(v: np.ndarray, log: bool) -> np.ndarray:
    if v.size == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return np.exp(e) if log else e


# ------------------------------------------------------------------------------ refinement
def _refine_candidates(res: PhaseResult, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints between points ``h`` apart (in grid index) along an axis, of different class."""
    ok = res.status == OK
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


def _listing(names: Sequence[str], limit: int = 12) -> str:
    """``['a', 'b', ...]`` for an error message, cut to ``limit`` names with the count (a
    model may have a hundred state coordinates)."""
    names = list(names)
    if len(names) <= limit:
        return str(names)
    head = ", ".join(repr(x) for x in names[: limit - 2])
    tail = ", ".join(repr(x) for x in names[-2:])
    return f"[{head}, ..., {tail}] ({len(names)} in all)"


def _unknown(
    bad: Sequence[str],
    params: Sequence[str],
    state: Sequence[str],
    model: str,
    as_list: bool = False,
) -> str:
    """The message for names that are neither parameters nor state coordinates, with the
    closest known names as a suggestion (``as_list``: name them as a list even if one)."""
    import difflib

    if len(bad) == 1 and not as_list:
        what = f"unknown parameter {bad[0]!r}"
    else:
        what = f"unknown parameter(s) {list(bad)}"
    msg = f"{what} for model {model!r}; parameters: {_listing(params)}"
    if state:
        msg += f", state coordinates: {_listing(state)}"
    known = [*params, *state]
    near = sorted({m for b in bad for m in difflib.get_close_matches(b, known, n=3, cutoff=0.5)})
    if near:
        msg += f" (did you mean {' or '.join(repr(m) for m in near)}?)"
    return msg


def _check_axis(ax: Axis, params: Sequence[str], state: Sequence[str], model: str) -> None:
    if ax.param not in params and ax.param not in state:
        raise AxisError(_unknown([ax.param], params, state, model))


def sweep(
    model: str | ReducedModel | CompiledModel,
    x: Axis | str,
    y: Axis | str | None = None,
    *,
    fixed: Mapping[str, float] | None = None,
    classify: str | Callable[[Trajectory], Any] = "learnable",
    t_max: float,
    y0: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    refine: int = 0,
    progress: bool = True,
    n_points: int = 200,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    solver: str = "auto",
    schedule: Schedule | None = None,
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
        Flow time of every solve; output on ``log_grid(t_max, n=n_points)``.
    y0 : mapping or sequence, optional
        Initial state; default the registered derivation's ``initial_state`` (for a registry
        name), else 0.01 for every coordinate.
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
    solver : {"auto", "integrate", "batch"}
        "auto" uses ``dynamics.batch.solve_batch`` when importable.
    schedule : Schedule, optional
        Piecewise-constant learning-rate factors per group, the same at every point
        (integrated piece by piece by either solver); part of the configuration.

    Raises
    ------
    AxisError
        For an axis naming an unknown parameter.
    KeyboardInterrupt
        Re-raised after the points done so far were saved to ``out``.
    """
    from dynamics.integrate import log_grid

    xa = Axis.parse(x) if isinstance(x, str) else x
    ya = Axis.parse(y) if isinstance(y, str) else y
    if ya is not None and ya.param == xa.param:
        raise AxisError(f"x and y sweep the same parameter {xa.param!r}")
    if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
        raise ValueError(f"refine must be an integer >= 0, got {refine!r}")
    if not (isinstance(t_max, int | float) and math.isfinite(t_max) and t_max > 0):
        raise ValueError(f"t_max must be a positive finite number, got {t_max!r}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not (
            math.isfinite(tol) and tol > 0
        ):
            raise ValueError(f"{name} must be a positive finite number, got {tol!r}")
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    size = xa.n * (ya.n if ya is not None else 1)
    if size > MAX_POINTS:
        raise ValueError(
            f"a sweep of {size:,} points is larger than the cap of {MAX_POINTS:,} "
            "(dynamics.phase.MAX_POINTS); use fewer points per axis or split the sweep"
        )
    _get_solver(solver)
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
    base_y0 = m.state_vector(y0) if y0 is not None else _default_start(spec, cm)
    base_p = m.param_vector({k: v for k, v in fixed.items() if k in pnames})
    for k, v in fixed.items():
        if k in snames:
            base_y0[snames.index(k)] = float(v)
    solver_name = default_solver()[0] if solver == "auto" else solver
    config = {
        "model": m.name,
        "spec": spec if isinstance(spec, str) else f"ReducedModel {m.name}",
        "x": xa.to_dict(),
        "y": None if ya is None else ya.to_dict(),
        "fixed": {k: float(v) for k, v in fixed.items()},
        "y0": dict(zip(snames, map(float, base_y0), strict=True)),
        "params": dict(zip(pnames, map(float, base_p), strict=True)),
        "classify": _classifier_id(classifier),
        "t_max": float(t_max),
        "n_points": int(n_points),
        "rtol": float(rtol),
        "atol": float(atol),
        "schedule": None if schedule is None else schedule.to_dict(),
    }
    t_eval = log_grid(float(t_max), n=n_points)
    labels = _labels(classifier)

    with _out_lock(out):
        return _sweep_locked(
            xa, ya, config, out, labels, solver_name, t_eval, base_y0, base_p, pnames, snames,
            m.name, refine,
            lambda save: _Runner(spec, cm, classifier, solver_name, t_eval, rtol, atol,
                                 workers, scheduler, progress, save, schedule),
        )


def _sweep_locked(
    xa: Axis,
    ya: Axis | None,
    config: dict[str, Any],
    out: str | os.PathLike[str] | None,
    labels: dict[int, str],
    solver_name: str,
    t_eval: np.ndarray,
    base_y0: np.ndarray,
    base_p: np.ndarray,
    pnames: list[str],
    snames: list[str],
    model_name: str,
    refine: int,
    make_runner: Callable[[Callable[[], None]], _Runner],
) -> PhaseResult:
    """The body of :func:`sweep`, run while holding the output's lock."""
    res: PhaseResult | None = None
    if out is not None and any(p.exists() for p in _npz_json_paths(out)):
        res = PhaseResult.load(out)
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
            todo = np.flatnonzero(res.status == PENDING)
            if todo.size == 0:
                continue
            y0s = np.tile(base_y0, (todo.size, 1))
            ps = np.tile(base_p, (todo.size, 1))
            for ax, idx in ((xa, res.ix), (ya, res.iy)):
                if ax is None:
                    continue
                vals = ax.value(idx[todo])
                if ax.param in pnames:
                    ps[:, pnames.index(ax.param)] = vals
                else:
                    y0s[:, snames.index(ax.param)] = vals
            runner.run(
                res, todo, y0s, ps, desc=f"phase {model_name}" + (f" refine {rnd}" if rnd else "")
            )
    finally:
        runner.close()
        save()
    return res


def _jsonish(d: Mapping[str, Any]) -> dict[str, Any]:
    from dynamics.trajectory import to_jsonable

    out = to_jsonable(dict(d))
    assert isinstance(out, dict)
    return out


class _Runner:
    """Chunks pending points and runs them here, in local processes or on Dask."""

    def __init__(
        self,
        spec: ModelSpec,
        cm: CompiledModel,
        classifier: Callable[[Trajectory], Any],
        solver: str,
        t_eval: np.ndarray,
        rtol: float,
        atol: float,
        workers: int | None,
        scheduler: Any,
        progress: bool,
        save: Callable[[], None],
        schedule: Schedule | None = None,
    ):
        from dynamics.parallel import default_workers

        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        self.spec, self.cm, self.classifier, self.solver = spec, cm, classifier, solver
        self.t_eval, self.rtol, self.atol = t_eval, rtol, atol
        self.schedule = schedule
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
        return _Task(
            self.spec,
            self.classifier,
            self.solver,
            self.t_eval,
            self.rtol,
            self.atol,
            tuple(int(i) for i in idx),
            y0s,
            ps,
            self.schedule,
        )

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
        _MODELS.setdefault(_spec_key(self.spec), self.cm)

        def on_point(r: _PointResult) -> None:
            res.record(r)
            bar.update(1)

        try:
            if task.solver == "integrate":
                _run_task(task, on_point)
            else:
                _run_task_batched(task, on_point)
        finally:  # also on KeyboardInterrupt: the points recorded so far are saved
            self.save()

    def _finish(self, res: PhaseResult, results: list[_PointResult], bar: Any) -> None:
        for r in results:
            res.record(r)
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
                "use a module-level classifier function or workers=1"
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
                        _PointResult(i, FAILED, error=f"task failed: {msg}") for i in task.indices
                    ]
                self._finish(res, results, bar)
        finally:
            for f in futs:
                if not f.done():
                    f.cancel()
