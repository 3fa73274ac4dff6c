r"""Phase diagrams: sweep one or two parameters, classify every integrated trajectory.

:func:`sweep` integrates a reduced model at every point of a 1-D or 2-D grid of parameter
(or initial-state) values, classifies each trajectory into an integer class with a few
measured quantities, and returns a :class:`PhaseResult` (saved as ``.npz`` + ``.json``
with the description embedded in the ``.npz``; every file written under a
per-process temporary name and renamed; ``OUT.lock`` keeps a second sweep out of ``OUT``).

- **Axes**: :class:`Axis` ``(param, lo, hi, n, log)``, parsed from ``"PARAM=LO:HI:N[:log]"``.
  ``param`` is a model parameter or a state coordinate (then it sets that coordinate of the
  initial state).
- **Classifiers** (strings, or any picklable :class:`Classifier`,
  ``Trajectory -> int | (int, dict)``):
  ``"stage"`` (number of loss drops found by :func:`~dynamics.analysis.detect_stages`),
  ``"slope"`` (late log-log slope, binned), ``"learnable[:FRACTION]"`` (loss below
  ``FRACTION`` of its initial value at ``t_max``), ``"order:OBS1,OBS2,...[:LEVEL]"``
  (emergence order of observables). See :func:`make_classifier`.
- **Failures**: a point whose solve or classification raises is recorded with status
  ``POINT_FAILED`` and its error text; the sweep goes on.
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
- **Options**: one :class:`~dynamics.options.SolveOptions` (tolerances, step budget,
  method, output grid, crossings), built once by :func:`sweep` from its keywords or given
  as ``options=``, reaches every point's solver unchanged and is stored in the result.
- **Solvers** (a :class:`Solver`): ``dynamics.batch.solve_batch`` over a chunk when that
  module is importable (``solver="auto"``), else per-point
  :func:`dynamics.integrate.integrate`. A fallback from batch to integrate happens only
  when the batch solver cannot run; it is warned and recorded in the result.

Layout: :mod:`~dynamics.phase.axis` (axes), :mod:`~dynamics.phase.classify` (classifiers),
:mod:`~dynamics.phase.solvers` (how points are integrated), :mod:`~dynamics.phase.result`
(the result and its files), :mod:`~dynamics.phase.plot`, :mod:`~dynamics.phase.execute`
(serial, local processes, Dask) and :mod:`~dynamics.phase.sweep`.
"""

from __future__ import annotations

from dynamics.phase.axis import Axis, AxisError
from dynamics.phase.classify import (
    Classifier,
    ComponentStageClassifier,
    LearnableClassifier,
    OrderClassifier,
    SlopeClassifier,
    StageClassifier,
    make_classifier,
)
from dynamics.phase.result import (
    FORMAT,
    POINT_DONE,
    POINT_FAILED,
    POINT_PENDING,
    POINT_STATES,
    PhaseFileError,
    PhaseResult,
)
from dynamics.phase.solvers import (
    Solved,
    Solver,
    SolverFallbackWarning,
    batch_solver,
    default_solver,
    get_solver,
    integrate_solver,
)
from dynamics.phase.sweep import MAX_POINTS, SweepBusyError, sweep

__all__ = [
    "Axis",
    "AxisError",
    "PhaseFileError",
    "SweepBusyError",
    "MAX_POINTS",
    "FORMAT",
    "POINT_STATES",
    "PhaseResult",
    "sweep",
    "Classifier",
    "make_classifier",
    "StageClassifier",
    "SlopeClassifier",
    "LearnableClassifier",
    "OrderClassifier",
    "ComponentStageClassifier",
    "POINT_PENDING",
    "POINT_DONE",
    "POINT_FAILED",
    "Solver",
    "Solved",
    "SolverFallbackWarning",
    "get_solver",
    "integrate_solver",
    "batch_solver",
    "default_solver",
]
