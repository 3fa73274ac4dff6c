r"""The time axis of a training run: which time $t$ the trainer assigns to step $k$.

By default $t = \eta k$ (:func:`dynamics.trajectory.flow_time`): gradient descent is the
Euler scheme of the gradient flow, so a direct run overlays the flow with no conversion.
Other reductions have their own clock: online SGD in a network of input dimension $N$ is
described by ODEs in $\alpha = k / N$ (Saad & Solla 1995; Biehl & Schwarze 1995), whatever
the learning rate. ``train(..., time=...)`` takes that clock, and uses it for the recorded
``t``, for the schedule's breaks and for the callbacks' ``info["t"]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dynamics.trajectory import flow_time
from dynamics.validate import positive_float

__all__ = ["TimeSpec", "time_function", "times"]

TimeSpec = Any  # "lr", a positive float dt, or a callable step -> t
"""``"lr"`` ($t = \\eta k$), a positive number ``dt`` ($t = k\\,dt$) or ``fn(step) -> t``."""


def time_function(time: TimeSpec, lr: float) -> tuple[Callable[[int], float], str]:
    """``(step -> t, description)`` for ``train(..., time=time)``; ``ValueError`` if invalid.

    A callable is checked at steps 0 and 1: it must return finite numbers, the first not
    above the second (a clock runs forward; the recorded times are checked again).
    """
    if isinstance(time, str):
        if time != "lr":
            raise ValueError(f"time must be 'lr', a positive number dt (t = step * dt) or a "
                             f"callable step -> t, got {time!r}")
        return (lambda k: k * lr), "lr * step"
    if isinstance(time, bool):
        raise ValueError(f"time must be 'lr', a positive number or a callable, got {time!r}")
    if isinstance(time, int | float | np.floating | np.integer):
        dt = positive_float("time", time)
        return (lambda k: k * dt), f"{dt!r} * step"
    if callable(time):
        try:
            t0, t1 = float(time(0)), float(time(1))
        except Exception as exc:
            raise ValueError(f"time(step) must return a number for steps 0 and 1: "
                             f"{type(exc).__name__}: {exc}") from exc
        if not (math.isfinite(t0) and math.isfinite(t1) and t1 >= t0):
            raise ValueError(f"time(step) must be finite and non-decreasing, got time(0) = {t0}, "
                             f"time(1) = {t1}")
        name = getattr(time, "__qualname__", type(time).__name__)
        return (lambda k: float(time(k))), f"callable {name}"
    raise ValueError(f"time must be 'lr', a positive number or a callable, got {type(time).__name__}")


def times(time: TimeSpec, fn: Callable[[int], float], steps: np.ndarray, lr: float) -> np.ndarray:
    """The times of the recorded ``steps``; ``flow_time`` itself for the default clock."""
    if isinstance(time, str):
        return flow_time(steps, lr)
    if not callable(time):
        return np.asarray(steps, dtype=float) * float(time)
    t = np.array([fn(int(k)) for k in steps], dtype=float)
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) >= 0)):
        raise ValueError("time(step) must be finite and non-decreasing over the recorded steps")
    return t
