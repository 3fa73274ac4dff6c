r"""Argument checks shared by the library and the derivations.

Each function checks one kind of value, returns it in its canonical type, and raises
``ValueError`` (``TypeError`` for a wrong kind of object where that is clearer) with a message
that names the argument and shows the value. Use them at the top of a public function, so
bad input fails before any work with a message a user can act on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "positive_float",
    "nonnegative_float",
    "positive_int",
    "int_at_least",
    "one_of",
    "generator",
    "finite_array",
]

_REALS = (int, float, np.integer, np.floating)


def positive_float(name: str, v: Any) -> float:
    """``v`` as a float; it must be a finite number > 0."""
    if isinstance(v, bool) or not isinstance(v, _REALS) or not (math.isfinite(float(v)) and float(v) > 0):
        raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    return float(v)


def nonnegative_float(name: str, v: Any) -> float:
    """``v`` as a float; it must be a finite number >= 0."""
    if isinstance(v, bool) or not isinstance(v, _REALS) or not (math.isfinite(float(v)) and float(v) >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


def int_at_least(name: str, v: Any, lo: int) -> int:
    """``v`` as an int; it must be an integer (not a bool, not a float) >= ``lo``."""
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def positive_int(name: str, v: Any) -> int:
    """``v`` as an int; it must be an integer >= 1."""
    return int_at_least(name, v, 1)


def one_of(name: str, v: Any, choices: Iterable[Any]) -> Any:
    """``v`` unchanged; it must be one of ``choices``."""
    choices = tuple(choices)
    if v not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {v!r}")
    return v


def generator(name: str, rng: Any) -> np.random.Generator:
    """``rng`` unchanged; it must be a ``numpy.random.Generator`` (every random function in
    the project takes one)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def finite_array(name: str, a: Any, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """``a`` as a float array, all finite, with ``shape`` (``None`` entries match any size)."""
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(a).__name__}") from None
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == n for s, n in zip(shape, arr.shape, strict=True))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr
