r"""What a solve is asked to do, as one frozen value shared by every solver.

:class:`SolveOptions` carries the tolerances, the step budget, the method name, the time
span or output grid and the crossings to locate. It is built once (by the user, or by
:func:`dynamics.phase.sweep` from its keywords) and handed down unchanged to the solver that
runs the points: :func:`dynamics.integrate.integrate`, :func:`dynamics.batch.solve_batch`,
or a :class:`dynamics.phase.Solver`. Each solver checks the method name against its own
methods; everything else is checked here, when the value is made.

:class:`Crossing` is the one event vocabulary: a named coordinate or observable crossing a
level, in a given direction. Both solvers locate crossings; the scipy path additionally
accepts arbitrary event functions (:class:`dynamics.integrate.Event`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dynamics.validate import positive_float

__all__ = ["Crossing", "SolveOptions", "as_crossings"]


@dataclass(frozen=True)
class Crossing:
    """Coordinate or observable ``name`` crossing ``level``.

    ``direction``: +1 upward crossings only, -1 downward only, 0 either. Only the first
    crossing is reported.
    """

    name: str
    level: float
    direction: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a crossing needs a coordinate or observable name, got {self.name!r}")
        if isinstance(self.level, bool) or not isinstance(self.level, int | float | np.floating | np.integer):
            raise ValueError(f"crossing level must be a number, got {self.level!r} for {self.name!r}")
        if not math.isfinite(float(self.level)):
            raise ValueError(f"crossing level must be finite, got {self.level!r} for {self.name!r}")
        if self.direction not in (-1, 0, 1) or isinstance(self.direction, bool):
            raise ValueError(f"crossing direction must be -1, 0 or 1, got {self.direction!r} for {self.name!r}")
        object.__setattr__(self, "level", float(self.level))
        object.__setattr__(self, "direction", int(self.direction))


def as_crossings(events: Iterable[Any] | None) -> tuple[Crossing, ...]:
    """``events`` as a tuple of :class:`Crossing`; each item a Crossing or ``(name, level[,
    direction])``."""
    out: list[Crossing] = []
    for e in events or ():
        if isinstance(e, Crossing):
            out.append(e)
        elif isinstance(e, tuple | list) and len(e) in (2, 3):
            out.append(Crossing(e[0], e[1], *(e[2:])))
        else:
            raise ValueError(f"an event must be a Crossing or (name, level[, direction]), got {e!r}")
    return tuple(out)


@dataclass(frozen=True)
class SolveOptions:
    r"""Tolerances, budget, time axis and crossings of a solve.

    Parameters
    ----------
    rtol, atol : float
        Local error tolerances (positive, finite; ``rtol >= 1e-14``, double precision).
    max_steps : int, optional
        Step budget per point; ``None`` keeps each solver's own default.
    method : str
        Solver method name, checked by the solver that runs it (``"auto"`` everywhere).
    h0, hmax : float, optional
        First step and largest step (positive, finite); ``None`` for the solver's choice.
    t_max : float, optional
        End time; with ``t_eval`` unset the output grid is :func:`dynamics.integrate.log_grid`
        ``(t_max, n=n_points)``.
    t_eval : sequence of float, optional
        Output times, strictly increasing, finite, at least two; the first is the start.
    n_points : int
        Log-spaced output times when only ``t_max`` is given.
    events : sequence of Crossing or (name, level[, direction])
        Crossings to locate (first crossing time per event).
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int | None = None
    method: str = "auto"
    h0: float | None = None
    hmax: float | None = None
    t_max: float | None = None
    t_eval: tuple[float, ...] | None = None
    n_points: int = 200
    events: tuple[Crossing, ...] = field(default=())

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "rtol", positive_float("rtol", self.rtol))
        set_(self, "atol", positive_float("atol", self.atol))
        if self.rtol < 1e-14:
            raise ValueError(f"rtol must be >= 1e-14 (double precision), got {self.rtol!r}")
        if self.max_steps is not None:
            if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int | np.integer) or self.max_steps < 1:
                raise ValueError(f"max_steps must be a positive integer, got {self.max_steps!r}")
            set_(self, "max_steps", int(self.max_steps))
        if not isinstance(self.method, str):
            raise ValueError(f"method must be a string, got {self.method!r}")
        for name in ("h0", "hmax"):
            v = getattr(self, name)
            if v is not None:
                set_(self, name, positive_float(name, v))
        if self.t_max is not None:
            set_(self, "t_max", positive_float("t_max", self.t_max))
        if isinstance(self.n_points, bool) or not isinstance(self.n_points, int | np.integer) or self.n_points < 2:
            raise ValueError(f"n_points must be an integer >= 2, got {self.n_points!r}")
        if self.t_eval is not None:
            try:
                te = np.asarray(self.t_eval, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"t_eval must be a sequence of numbers, got {self.t_eval!r}") from None
            if te.ndim != 1 or te.size < 2:
                raise ValueError(f"t_eval must be a 1-d sequence of at least 2 times, got shape {te.shape}")
            if not np.all(np.isfinite(te)):
                raise ValueError("t_eval contains non-finite values")
            if np.any(np.diff(te) <= 0):
                raise ValueError("t_eval must be strictly increasing")
            if self.t_max is not None and not math.isclose(te[-1], self.t_max, rel_tol=1e-12):
                raise ValueError(f"t_eval ends at {te[-1]!r} but t_max is {self.t_max!r}: give one or make them agree")
            set_(self, "t_eval", tuple(float(x) for x in te))
        set_(self, "events", as_crossings(self.events))

    def replace(self, **changes: Any) -> SolveOptions:
        """A copy with ``changes`` (checked like a new value)."""
        return dataclasses.replace(self, **changes)

    def grid(self, t_max: float | None = None) -> np.ndarray:
        """The output grid: ``t_eval``, else ``log_grid(t_max)`` with ``t_max`` from here or
        from the argument (a solver's default)."""
        if self.t_eval is not None:
            return np.array(self.t_eval)
        end = self.t_max if self.t_max is not None else t_max
        if end is None:
            raise ValueError("no time axis: give t_max or t_eval")
        from dynamics.integrate import log_grid

        return log_grid(end, n=self.n_points)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for result files)."""
        d = dataclasses.asdict(self)
        d["t_eval"] = list(self.t_eval) if self.t_eval is not None else None
        d["events"] = [dataclasses.asdict(e) for e in self.events]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SolveOptions:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["events"] = tuple(Crossing(**e) for e in d.get("events") or ())
        if d.get("t_eval") is not None:
            d["t_eval"] = tuple(d["t_eval"])
        return cls(**d)

