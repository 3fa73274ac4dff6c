r"""A compiled model: the generated functions with the model's packed tables.

:func:`compile_model` builds (or loads from the cache) the generated module and returns a
:class:`CompiledModel`, the object every solver takes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from dynamics.codegen.cache import _load_cached, model_key
from dynamics.codegen.numpy_backend import _numpy_functions
from dynamics.codegen.shift import _exp_groups, _invariant, _shift_plan
from dynamics.codegen.tables import _pack_tables, _row_slots
from dynamics.model import ModelError, ReducedModel, RowSum

__all__ = ["Backend", "CompiledModel", "compile_model"]

Backend = Literal["numba", "numpy", "python"]

_GENERATED = ("rhs", "jac", "obs", "obs_batch", "rhs_ode", "jac_ode")


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A reduced model with its compiled functions and packed row tables.

    Attributes
    ----------
    model : ReducedModel
    backend : {"numba", "numpy", "python"}
    rhs, jac, obs, obs_batch : callables
        The generated functions (calling convention in the module docstring).
    rhs_ode, jac_ode : callables
        ``f(y, t, p, data, bounds) -> array``: odeint's convention, compiled end to end.
    data, bounds : ndarray
        The packed RowSum tables and their row ranges.
    module_path : Path or None
        The generated source file (numba and python backends).
    build : dict
        ``{"cache": "hit"|"miss"|"none", "seconds": float, "key": str}``.
    """

    model: ReducedModel
    backend: str
    rhs: Callable[..., None]
    jac: Callable[..., None]
    obs: Callable[..., None]
    obs_batch: Callable[..., None]
    rhs_ode: Callable[..., np.ndarray]
    jac_ode: Callable[..., np.ndarray]
    data: np.ndarray
    bounds: np.ndarray
    module_path: Path | None
    build: dict[str, Any]

    @property
    def n_state(self) -> int:
        return self.model.n_state

    @property
    def observable_names(self) -> tuple[str, ...]:
        return tuple(self.model.observables)

    def pack(self, params: Mapping[str, float] | np.ndarray | None = None,
             factors: Mapping[str, float] | None = None) -> np.ndarray:
        """The runtime vector ``p``: parameter values then one factor per group.

        ``params`` is a mapping (defaults fill the rest) or an already ordered vector;
        ``factors`` maps group names to learning-rate factors (default 1).
        """
        if isinstance(params, np.ndarray):
            pv = np.asarray(params, dtype=float)
            if pv.shape != (len(self.model.params),):
                raise ModelError(f"parameter vector must have shape ({len(self.model.params)},), got {pv.shape}")
            if not np.all(np.isfinite(pv)):
                raise ModelError("parameter vector contains non-finite values")
        else:
            pv = self.model.param_vector(params)
        factors = dict(factors or {})
        groups = self.model.group_names
        unknown = set(factors) - set(groups)
        if unknown:
            raise ModelError(f"learning-rate factor for unknown group(s) {sorted(unknown)}; groups: {list(groups)}")
        fv = np.array([float(factors.get(g, 1.0)) for g in groups])
        return np.concatenate([pv, fv])

    def check_runtime(self, p: np.ndarray) -> np.ndarray:
        """Validate a runtime vector from :meth:`pack` (the compiled code does no bounds checks)."""
        p = np.ascontiguousarray(p, dtype=float)
        size = len(self.model.params) + len(self.model.group_names)
        if p.shape != (size,):
            raise ModelError(f"runtime vector must have shape ({size},) (parameters then group factors; "
                             f"use CompiledModel.pack), got {p.shape}")
        return p

    def f(self, p: np.ndarray) -> Callable[[float, np.ndarray], np.ndarray]:
        """``f(t, y) -> dy/dt`` bound to the runtime vector ``p`` (for scipy).

        ``y`` must have shape ``(n_state,)``: the returned function does not check it.
        """
        p = self.check_runtime(p)
        rhs, data, bounds, n = self.rhs, self.data, self.bounds, self.n_state

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            out = np.empty(n)
            rhs(t, y, p, data, bounds, out)
            return out

        return fun

    def jacobian(self, p: np.ndarray) -> Callable[[float, np.ndarray], np.ndarray]:
        """``J(t, y) -> (n, n)`` bound to the runtime vector ``p`` (``y`` is not checked)."""
        p = self.check_runtime(p)
        jac, data, bounds, n = self.jac, self.data, self.bounds, self.n_state

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            out = np.empty((n, n))
            jac(t, y, p, data, bounds, out)
            return out

        return fun

    def observables(self, Y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
        """All observables along states ``Y`` of shape (T, n)."""
        p = self.check_runtime(p)
        Y = np.ascontiguousarray(np.atleast_2d(np.asarray(Y, dtype=float)))
        if Y.ndim != 2 or Y.shape[1] != self.n_state:
            raise ModelError(f"states must have shape (T, {self.n_state}), got {Y.shape}")
        out = np.empty((Y.shape[0], len(self.observable_names)))
        self.obs_batch(Y, p, self.data, self.bounds, out)
        return {k: out[:, i].copy() for i, k in enumerate(self.observable_names)}

    def with_tables(self, tables: Mapping[int, np.ndarray]) -> CompiledModel:
        """A copy using other numeric tables for some RowSum slots (no recompilation)."""
        slots = _row_slots(self.model)
        new = []
        for k, rs in enumerate(slots):
            new.append(RowSum(rs.term, rs.row_symbols, tables[k], rs.label, rs.intermediates) if k in tables else rs)
        if self.backend != "numpy" and _exp_groups(self.model):
            # the generated code evaluates some tables at shifted softmax logits, which was
            # checked to be exact for the tables it was built with: check the new ones
            plan = _shift_plan(self.model)
            for k in tables:
                for g in plan.rows[k]:
                    if not _invariant(self.model, [new[k].full_term], plan.groups[g], new[k].row_symbols, new[k].table):
                        raise ModelError(
                            f"the new table {k} ({slots[k].label}) changes the loss under a common shift of the softmax "
                            f"logits {[self.model.state_names[i] for i in plan.groups[g]]}, which the generated code "
                            "assumes: compile a model built with this table instead")
        data, bounds = _pack_tables(new)
        return dataclasses.replace(self, data=data, bounds=bounds)


def compile_model(model: ReducedModel, backend: Backend = "numba") -> CompiledModel:
    """Generate, cache and compile ``model`` (see the module docstring)."""
    if backend not in ("numba", "numpy", "python"):
        raise ModelError(f"unknown backend {backend!r}; choose 'numba', 'numpy' or 'python'")
    t0 = time.perf_counter()
    slots = _row_slots(model)
    data, bounds = _pack_tables(slots)
    if backend == "numpy":
        rhs, jac, obs, obs_batch = _numpy_functions(model, slots)
        return CompiledModel(model, backend, rhs, jac, obs, obs_batch, *_ode_wrappers(rhs, jac, model.n_state),
                             data, bounds, None, {"cache": "none", "seconds": time.perf_counter() - t0, "key": ""})
    plan = _shift_plan(model)
    key = model_key(model, plan)
    mod, path, hit = _load_cached(model, plan, key)
    rhs, jac, obs, obs_batch, rhs_ode, jac_ode = (getattr(mod, k) for k in _GENERATED)
    if backend == "python":
        rhs, jac, obs, obs_batch = (f.py_func for f in (rhs, jac, obs, obs_batch))
        rhs_ode, jac_ode = _ode_wrappers(rhs, jac, model.n_state)
    return CompiledModel(model, backend, rhs, jac, obs, obs_batch, rhs_ode, jac_ode, data, bounds, path,
                         {"cache": "hit" if hit else "miss", "seconds": time.perf_counter() - t0, "key": key})


def _ode_wrappers(rhs: Callable[..., None], jac: Callable[..., None],
                  n: int) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    def rhs_ode(y: np.ndarray, t: float, p: np.ndarray, data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        out = np.empty(n)
        rhs(t, y, p, data, bounds, out)
        return out

    def jac_ode(y: np.ndarray, t: float, p: np.ndarray, data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        out = np.empty((n, n))
        jac(t, y, p, data, bounds, out)
        return out

    return rhs_ode, jac_ode
