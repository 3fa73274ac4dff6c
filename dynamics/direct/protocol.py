r"""The ``DirectModel`` protocol: what :func:`dynamics.direct.train` needs from a model, and
the checks the trainer applies to what a model returns (parameters, gradients, losses,
observable names), so a broken model fails with a message naming the parameter or step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["DirectModel"]


@runtime_checkable
class DirectModel(Protocol):
    """What :func:`train` needs from a model (structural: no base class to inherit).

    Contract for implementers:

    1. ``init(rng)`` returns fresh parameters ``dict[str, ndarray]`` drawn with ``rng``.
    2. ``loss_and_grad(params, batch)`` returns ``(loss, grads)``, with ``grads`` keyed
       exactly like ``params`` and shaped like them. ``batch`` is the ``data`` given to
       :func:`train` (full batch) or a minibatch drawn from it (see :func:`sample_batch`).
       It must not modify ``params``.
    3. ``reduce(params)`` maps full weights onto the reduced coordinates,
       ``dict[str, float]``, always with the same keys in the same order; these become
       ``Trajectory.names``.
    4. ``groups`` maps parameter names to learning-rate groups (the groups a
       :class:`~dynamics.schedule.Schedule` talks about); parameters not listed are in
       group ``"default"``.
    5. Optionally ``observables(params, batch) -> dict[str, float]``: extra scalars
       recorded next to ``"loss"`` (names must not clash with ``"loss"`` or the reduced
       coordinates).
    6. Several seeds in one loop (``train(..., seeds=S)``): the same methods on a leading
       seed axis. Every parameter array has shape ``(S, ...)`` (as given, or as
       ``init(rng)`` returns it); ``loss_and_grad`` returns the loss of each seed, shape
       ``(S,)``, and gradients shaped like the parameters, seed ``s``'s depending only on
       slice ``s`` of the parameters (and of the batch); ``reduce`` and ``observables``
       return one ``(S,)`` array per name (a ``population_loss`` likewise). One sampler
       call returns the batch of every seed (e.g. ``x`` of shape ``(S, B, N)``), so the
       random stream is not that of ``S`` separate runs; the updates are elementwise, so
       each seed's run is the one a single-seed loop would make from the same batches.
    """

    @property
    def groups(self) -> Mapping[str, str]: ...

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]: ...

    def loss_and_grad(
        self, params: dict[str, np.ndarray], batch: Any
    ) -> tuple[float, dict[str, np.ndarray]]: ...

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]: ...


# ----------------------------------------------- checks that a model keeps the contract
#: The parameter dtypes a trainer keeps as given (anything else is converted to float64).
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_finite_params(params: Mapping[str, Any], where: str) -> dict[str, np.ndarray]:
    if not isinstance(params, Mapping) or not params:
        raise ValueError(f"{where} must be a non-empty dict of arrays, got {type(params).__name__}")
    out: dict[str, np.ndarray] = {}
    for k, v in params.items():
        a = np.array(v, copy=True)
        if a.dtype not in _FLOATS:  # float32 and float64 parameters keep their precision
            a = a.astype(float)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where}: parameter {k!r} has non-finite entries")
        out[str(k)] = a
    return out


def check_grads(grads: Any, params: Mapping[str, np.ndarray], step: int) -> None:
    if not isinstance(grads, Mapping) or set(grads) != set(params):
        keys = sorted(grads) if isinstance(grads, Mapping) else type(grads).__name__
        raise ValueError(
            f"loss_and_grad must return grads with exactly the parameter keys {sorted(params)}, "
            f"got {keys}"
        )
    for k, p in params.items():
        if np.shape(grads[k]) != p.shape:
            raise ValueError(
                f"gradient of {k!r} has shape {np.shape(grads[k])}, parameter has {p.shape}"
            )


def finite_or_raise(loss: float, step: int, what: str) -> None:
    if not math.isfinite(loss):
        raise FloatingPointError(
            f"{what} became non-finite ({loss}) at step {step}; lower the learning rate "
            "or check the model"
        )


def observable_names(
    obs_fn: Callable[..., Mapping[str, float]] | None,
    theta: Any,
    batch: Any,
    names: tuple[str, ...],
) -> tuple[str, ...]:
    """Names of ``model.observables``, checked not to clash with ``"loss"`` or ``names``."""
    if obs_fn is None:
        return ()
    obs_names = tuple(str(k) for k in obs_fn(theta, batch))
    clash = sorted(set(obs_names) & (set(names) | {"loss"}))
    if clash:
        raise ValueError(
            f"model.observables names {clash} clash with 'loss' or reduced coordinates"
        )
    return obs_names

def non_finite(loss: float, k: int, what: str, theta: Mapping[str, np.ndarray]) -> None:
    """Raise for a non-finite loss at step ``k``, naming the parameter that became
    non-finite first if one did (its gradient or step at update ``k - 1`` was non-finite)."""
    for name, v in theta.items():
        if not np.all(np.isfinite(v)):
            raise FloatingPointError(
                f"parameter {name!r} became non-finite at update {k - 1} (a non-finite "
                f"gradient or step), so {what} is non-finite ({loss}) at step {k}; lower the "
                "learning rate or check the model"
            )
    if np.ndim(loss):
        bad = np.flatnonzero(~np.isfinite(loss)).tolist()
        raise FloatingPointError(f"{what} became non-finite at step {k} for seed(s) {bad}; "
                                 "lower the learning rate or check the model")
    finite_or_raise(float(loss), k, what)


def per_seed(n: int) -> Callable[[Any], np.ndarray]:
    """A converter of one value per seed to a float array of shape ``(n,)`` (ValueError else)."""

    def convert(x: Any) -> np.ndarray:
        a = np.asarray(x, dtype=float)
        if a.shape != (n,):
            raise ValueError(f"with seeds={n}, losses, reduced coordinates and observables must "
                             f"have shape ({n},) (one per seed), got shape {a.shape}")
        return a

    return convert


def all_finite(a: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(a)))


def seed_norms(grads: Mapping[str, np.ndarray]) -> np.ndarray:
    """Global gradient norm of each seed: over every parameter and every axis but the first."""
    sq = sum(np.sum(np.square(g).reshape(len(g), -1), axis=1) for g in grads.values())
    return np.sqrt(np.asarray(sq, dtype=float))


