r"""Measurements on trajectories: rates, stages, crossing times and max-margin directions.

Pure numpy/scipy functions on plain arrays, so they apply equally to
:class:`~dynamics.trajectory.Trajectory` columns (``tr.t``, ``tr.loss``, ``tr["u"]``) and
to anything else. Every function validates its inputs up front and raises
:class:`ValueError` naming the problem; results are frozen dataclasses.

Contents
--------
- Fits: :func:`linear_fit` (the one OLS routine), :func:`loglog_slope` (power-law exponent,
  $\ln|y|$ on $\ln t$), :func:`local_slopes` (exponents over consecutive log-spaced
  windows), :func:`log_growth` ($y$ on $\ln t$).
- Loss stages: :func:`log_derivative` ($r(t) = -d\ln L/d\ln t$) and :func:`detect_stages`
  (plateaus and drops; takes integrated trajectories: ``t = 0`` left out, a loss at
  round-off clipped at :data:`~dynamics.analysis.stages.LOSS_FLOOR`).
- :func:`first_crossing`: first time a piecewise-linear series crosses a level (optionally
  after a given time); :func:`escape_time`: first fall below a fraction of a plateau.
- :func:`max_margin_direction`: hard-margin (no bias) max-margin direction of labelled
  features, the limit direction of gradient flow on separable logistic-type losses.
- :func:`cosine`, :func:`cosine_series`.
- :func:`fixed_points` (:class:`FixedPoint`): fixed points of a reduced model, optionally in
  a subspace, with eigenvalues, eigenvectors, observables and a classification; the
  height of a plateau (an observable at a saddle) and its escape rate as predictions.
  It takes a model rather than arrays, and is imported on first use (it needs the code
  generator).
- :func:`compare`: a claim that direct runs follow the flow within their own noise (seed
  spread, or the residual's fluctuation for one run), with negative controls.

Modules: :mod:`~dynamics.analysis.fits`, :mod:`~dynamics.analysis.stages`
(stages and crossings), :mod:`~dynamics.analysis.directions` (max margin, cosines),
:mod:`~dynamics.analysis.fixedpoints` (fixed points, linear stability),
:mod:`~dynamics.analysis.direct_vs_flow` (direct against flow).
"""

from __future__ import annotations

import importlib
from typing import Any

from dynamics.analysis.directions import MaxMargin, cosine, cosine_series, max_margin_direction
from dynamics.analysis.fits import Fit, linear_fit, local_slopes, log_growth, loglog_slope
from dynamics.analysis.stages import (
    Stage,
    detect_stages,
    escape_time,
    first_crossing,
    log_derivative,
)

__all__ = [
    "FixedPoint",
    "Fit",
    "MaxMargin",
    "Stage",
    "compare",
    "cosine",
    "cosine_series",
    "detect_stages",
    "escape_time",
    "first_crossing",
    "fixed_points",
    "linear_fit",
    "local_slopes",
    "log_derivative",
    "log_growth",
    "loglog_slope",
    "max_margin_direction",
]


_LAZY = {"FixedPoint": "fixedpoints", "fixed_points": "fixedpoints", "compare": "direct_vs_flow"}


def __getattr__(name: str) -> Any:
    """``fixed_points``, ``FixedPoint`` (they import the code generator) and ``compare``
    (scipy.stats and the claims) on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"dynamics.analysis.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'dynamics.analysis' has no attribute {name!r}")
