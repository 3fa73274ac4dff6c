r"""dynamics: reduced gradient flows of small transformers, derived, compiled, integrated and checked.

``import dynamics as dy`` is cheap: it imports none of sympy, scipy or numba. Each name
below is imported from its module the first time it is used, so ``dy.Trajectory`` costs
numpy only and numba loads with the first name that needs it (``dy.solve_batch``,
``dy.sweep``, or compiling a model).

- the symbolic model (:mod:`dynamics.model`, :mod:`dynamics.symbolic`): ``ReducedModel``,
  ``RowSum``, ``Expression``, ``ModelError``, ``softplus``, ``sigmoid``, ``define``
  (named sub-expressions), ``inline``;
- generated, cached, numba-compiled code (:mod:`dynamics.codegen`): ``compile_model``,
  ``CompiledModel``;
- solving (:mod:`dynamics.integrate`, :mod:`dynamics.options`, :mod:`dynamics.schedule`,
  :mod:`dynamics.batch`, :mod:`dynamics.phase`): ``integrate``, ``Event``,
  ``IntegrationError``, ``log_grid``, ``SolveOptions`` and ``Crossing`` (what a solve is
  asked to do, and the event vocabulary every solver shares), ``Schedule``, ``solve_batch``,
  ``sweep``;
- results and measurements (:mod:`dynamics.trajectory`, :mod:`dynamics.analysis`):
  ``Trajectory``, ``flow_time``, ``loglog_slope``, ``linear_fit``, ``local_slopes``,
  ``log_growth``, ``Fit``, ``detect_stages``, ``Stage``, ``first_crossing``, ``escape_time``,
  ``fixed_points``, ``FixedPoint``, ``compare``;
- direct training (:mod:`dynamics.direct`): ``train``;
- claims and derivations (:mod:`dynamics.claims`, :mod:`dynamics.registry`,
  :mod:`dynamics.verify`): ``Claim``, ``Finding``, ``check``, ``check_equal``,
  ``Derivation``, ``register``, ``VerifyContext``.

``dy.integrate`` is the module :mod:`dynamics.integrate` (so ``import dynamics.integrate``
and ``dy.integrate.Event`` keep working whatever was imported first), and calling it calls
:func:`dynamics.integrate.integrate`. Submodules (``dy.batch``, ``dy.phase``, ...) are also
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first use)
_LAZY: dict[str, str] = {
    "ReducedModel": "dynamics.model",
    "RowSum": "dynamics.model",
    "Expression": "dynamics.model",
    "ModelError": "dynamics.model",
    "softplus": "dynamics.symbolic",
    "sigmoid": "dynamics.symbolic",
    "define": "dynamics.symbolic",
    "inline": "dynamics.symbolic",
    "compile_model": "dynamics.codegen",
    "CompiledModel": "dynamics.codegen",
    "Event": "dynamics.integrate",
    "IntegrationError": "dynamics.integrate",
    "log_grid": "dynamics.integrate",
    "SolveOptions": "dynamics.options",
    "Crossing": "dynamics.options",
    "Schedule": "dynamics.schedule",
    "Trajectory": "dynamics.trajectory",
    "flow_time": "dynamics.trajectory",
    "solve_batch": "dynamics.batch",
    "sweep": "dynamics.phase",
    "train": "dynamics.direct",
    "Claim": "dynamics.claims",
    "Finding": "dynamics.claims",
    "check": "dynamics.claims",
    "check_equal": "dynamics.claims",
    "Derivation": "dynamics.registry",
    "register": "dynamics.registry",
    "VerifyContext": "dynamics.verify",
    "Fit": "dynamics.analysis",
    "Stage": "dynamics.analysis",
    "linear_fit": "dynamics.analysis",
    "loglog_slope": "dynamics.analysis",
    "local_slopes": "dynamics.analysis",
    "log_growth": "dynamics.analysis",
    "detect_stages": "dynamics.analysis",
    "first_crossing": "dynamics.analysis",
    "escape_time": "dynamics.analysis",
    "fixed_points": "dynamics.analysis",
    "FixedPoint": "dynamics.analysis",
    "compare": "dynamics.analysis",
}

#: submodules reachable as attributes (``dy.batch``) without importing them first
_SUBMODULES = (
    "analysis", "batch", "bench", "claims", "cli", "codegen", "direct", "display", "expression",
    "integrate", "model", "options", "parallel", "phase", "registry", "report", "schedule",
    "symbolic", "trajectory", "validate", "verify",
)

__all__ = sorted([*_LAZY, "integrate", "__version__"])


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module on first use (see the module docstring)."""
    if name in _LAZY:
        obj = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        obj = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = obj
    return obj


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
