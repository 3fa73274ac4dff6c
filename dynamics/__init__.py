r"""dynamics: reduced gradient flows of small transformers, derived, compiled, integrated and checked.

``import dynamics as dy`` is cheap: it imports none of sympy, scipy or numba. Each name
below is imported from its module the first time it is used, so ``dy.Trajectory`` costs
numpy only and numba loads with the first name that needs it (``dy.solve_batch``,
``dy.sweep``, or compiling a model).

=====================  ==========================================================
name                   what it is (module)
=====================  ==========================================================
``ReducedModel``,      the symbolic model: a loss or a vector field over named
``RowSum``,            coordinates, with tables summed row by row
``Expression``,        (:mod:`dynamics.model`)
``ModelError``
``softplus``,          sympy functions with overflow-safe generated code
``sigmoid``            (:mod:`dynamics.symbolic`)
``compile_model``,     generated, cached, numba-compiled right-hand side, Jacobian
``CompiledModel``      and observables (:mod:`dynamics.codegen`)
``integrate``,         scipy integration of one model (:mod:`dynamics.integrate`,
``Event``,             callable as its function :func:`dynamics.integrate.integrate`)
``IntegrationError``,
``log_grid``
``SolveOptions``,      what a solve is asked to do, and the one event vocabulary
``Crossing``           shared by every solver (:mod:`dynamics.options`)
``Schedule``           piecewise learning-rate factors (:mod:`dynamics.schedule`)
``Trajectory``,        the result type, saved and loaded as ``.npz`` + ``.json``
``flow_time``          (:mod:`dynamics.trajectory`)
``solve_batch``        the compiled batch integrator (:mod:`dynamics.batch`)
``sweep``              one- and two-parameter phase diagrams (:mod:`dynamics.phase`)
``train``              direct numpy training on the same time axis
                       (:mod:`dynamics.direct`)
``Claim``, ``Finding``, a checked statement with its number and tolerance, and a
``check``,             registered explanation of one that does not hold
``check_equal``        (:mod:`dynamics.claims`)
``Derivation``,        what a paper module provides, and run-time registration
``register``           (:mod:`dynamics.registry`)
``VerifyContext``      what a derivation's ``verify`` receives (:mod:`dynamics.verify`)
``loglog_slope``, ...  rates, stages and crossings of a trajectory
                       (:mod:`dynamics.analysis`)
=====================  ==========================================================

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
}

#: submodules reachable as attributes (``dy.batch``) without importing them first
_SUBMODULES = (
    "analysis", "batch", "bench", "claims", "cli", "codegen", "direct", "display", "expression",
    "integrate",
    "model", "options", "parallel", "phase", "registry", "report", "schedule", "symbolic",
    "trajectory", "validate", "verify",
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
