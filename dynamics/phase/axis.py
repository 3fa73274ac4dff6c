"""Sweep axes: :class:`Axis` (``"PARAM=LO:HI:N[:log]"``) and the check that an axis (or a
fixed value) names a parameter or state coordinate of the model."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Axis", "AxisError"]


class AxisError(ValueError):
    """A bad axis specification or an axis naming an unknown parameter."""



# ------------------------------------------------------------------------------------ axes
@dataclass(frozen=True)
class Axis:
    """``n`` values of ``param`` from ``lo`` to ``hi`` (inclusive), geometric if ``log``."""

    param: str
    lo: float
    hi: float
    n: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.param or not isinstance(self.param, str):
            raise AxisError(f"axis needs a parameter name, got {self.param!r}")
        for k in ("lo", "hi"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise AxisError(f"axis {self.param}: {k} must be a finite number, got {v!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise AxisError(f"axis {self.param}: N must be an integer >= 1, got {self.n!r}")
        if self.n > 1 and self.lo == self.hi:
            raise AxisError(
                f"axis {self.param}: LO and HI are equal ({self.lo:g}) with N = {self.n}"
            )
        if self.log and (self.lo <= 0 or self.hi <= 0):
            raise AxisError(
                f"axis {self.param}: a log axis needs LO, HI > 0, got {self.lo:g}, {self.hi:g}"
            )

    @classmethod
    def parse(cls, spec: str) -> Axis:
        """Parse ``"PARAM=LO:HI:N"`` or ``"PARAM=LO:HI:N:log"``."""
        name, sep, rest = str(spec).partition("=")
        name = name.strip()
        parts = [p.strip() for p in rest.split(":")]
        form = "PARAM=LO:HI:N[:log]"
        if not sep or not name or len(parts) not in (3, 4):
            raise AxisError(
                f"bad axis {spec!r}: expected {form}, e.g. s1=0.5:4:8 or lr=1e-3:1:7:log"
            )
        log = False
        if len(parts) == 4:
            if parts[3].lower() not in ("log", "lin"):
                raise AxisError(
                    f"bad axis {spec!r}: the 4th field must be 'log' (or 'lin'), got {parts[3]!r}"
                )
            log = parts[3].lower() == "log"
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise AxisError(f"bad axis {spec!r}: LO and HI must be numbers ({form})") from None
        try:
            n = int(parts[2])
        except ValueError:
            raise AxisError(f"bad axis {spec!r}: N must be an integer ({form})") from None
        return cls(name, lo, hi, n, log)

    def value(self, index: float | np.ndarray) -> np.ndarray:
        """Axis value at a (fractional) grid index, linear in the value (in its log if ``log``)."""
        i = np.asarray(index, dtype=float)
        f = i / (self.n - 1) if self.n > 1 else np.zeros_like(i)
        if self.log:
            return np.exp(math.log(self.lo) + f * (math.log(self.hi) - math.log(self.lo)))
        return self.lo + f * (self.hi - self.lo)

    @property
    def values(self) -> np.ndarray:
        """The ``n`` grid values."""
        return self.value(np.arange(self.n))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return f"{self.param}={self.lo:g}:{self.hi:g}:{self.n}" + (":log" if self.log else "")


def _listing(names: Sequence[str], limit: int = 12) -> str:
    """``['a', 'b', ...]`` for an error message, cut to ``limit`` names with the count (a
    model may have a hundred state coordinates)."""
    names = list(names)
    if len(names) <= limit:
        return str(names)
    head = ", ".join(repr(x) for x in names[: limit - 2])
    tail = ", ".join(repr(x) for x in names[-2:])
    return f"[{head}, ..., {tail}] ({len(names)} in all)"


def _unknown(
    bad: Sequence[str],
    params: Sequence[str],
    state: Sequence[str],
    model: str,
    as_list: bool = False,
) -> str:
    """The message for names that are neither parameters nor state coordinates, with the
    closest known names as a suggestion (``as_list``: name them as a list even if one)."""
    import difflib

    if len(bad) == 1 and not as_list:
        what = f"unknown parameter {bad[0]!r}"
    else:
        what = f"unknown parameter(s) {list(bad)}"
    msg = f"{what} for model {model!r}; parameters: {_listing(params)}"
    if state:
        msg += f", state coordinates: {_listing(state)}"
    known = [*params, *state]
    near = sorted({m for b in bad for m in difflib.get_close_matches(b, known, n=3, cutoff=0.5)})
    if near:
        msg += f" (did you mean {' or '.join(repr(m) for m in near)}?)"
    return msg


def _check_axis(ax: Axis, params: Sequence[str], state: Sequence[str], model: str) -> None:
    if ax.param not in params and ax.param not in state:
        raise AxisError(_unknown([ax.param], params, state, model))

