r"""Compiled batch integration: many parameter points of one model in one numba call.

:func:`solve_batch` integrates ``n_pts`` initial states / parameter rows of a model over one
output grid. One concept per module:

* :mod:`~dynamics.batch.tableaux`: the methods' coefficients as frozen values
  (:class:`RosenbrockTableau` RODAS4 and Rodas5P, DOP853);
* :mod:`~dynamics.batch.linalg`: LU with partial pivoting and its solve (and their
  straight-line generators);
* :mod:`~dynamics.batch.rosenbrock`: one Rosenbrock stage loop driven by a tableau;
* :mod:`~dynamics.batch.dop853`: the explicit DOP853 step;
* :mod:`~dynamics.batch.dense`: dense output and turning points;
* :mod:`~dynamics.batch.control`: error norm, step-size controller, first step;
* :mod:`~dynamics.batch.events`: the crossing search;
* :mod:`~dynamics.batch.kernel`: the per-point loop (method switching, output, crossings);
* :mod:`~dynamics.batch.specialise`: the per-model module on disk, cached by numba;
* :mod:`~dynamics.batch.result`: :class:`BatchResult` and the status codes;
* :mod:`~dynamics.batch.api`: :func:`solve_batch`.
"""

from dynamics.batch.api import solve_batch
from dynamics.batch.result import (
    MAX_STEPS,
    NON_FINITE,
    OK,
    STATUS,
    STATUS_REASON,
    STEP_UNDERFLOW,
    UNSTABLE,
    BatchResult,
)
from dynamics.options import Crossing

__all__ = [
    "solve_batch",
    "BatchResult",
    "Crossing",
    "STATUS",
    "OK",
    "MAX_STEPS",
    "NON_FINITE",
    "STEP_UNDERFLOW",
    "UNSTABLE",
    "STATUS_REASON",
]
