r"""Claims: a predicted value, a measured value, a tolerance with its reason, and a verdict.

Every comparison is two-sided: a claim passes when $|m - p| \le \tau$ (``rel=False``) or
$|m - p| \le \tau |p|$ (``rel=True``), elementwise for arrays (the worst element decides).
A non-finite measurement never passes. Non-numeric predictions (an ordering, a label)
pass only on equality, with ``tolerance = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from dynamics.trajectory import to_jsonable

__all__ = ["Claim", "check", "check_equal", "Source"]

Source = Literal["paper", "reconstruction", "derived", "calibration"]
SOURCES = ("paper", "reconstruction", "derived", "calibration")


@dataclass(frozen=True)
class Claim:
    """One checked statement.

    Attributes
    ----------
    id : str
        Short stable identifier, e.g. ``"saxe2014.half-time"``.
    statement : str
        One sentence: what is claimed.
    predicted, measured : float, list or str
        The prediction (closed form, the paper's number) and the measurement.
    tolerance : float
        Allowed deviation (absolute, or relative to ``predicted`` if ``relative``).
    why : str
        Why this tolerance: where the error comes from and how large it should be.
    passed : bool
        The verdict.
    source : {"paper", "reconstruction", "derived", "calibration"}
        Where the claim comes from. ``"reconstruction"`` marks claims whose details were
        reconstructed rather than read in the paper.
    relative : bool
    deviation : float
        The worst |measured - predicted| (relative if ``relative``).
    details : dict
        Anything else worth keeping (fits, windows, per-element values).
    """

    id: str
    statement: str
    predicted: Any
    measured: Any
    tolerance: float
    why: str
    passed: bool
    source: Source = "paper"
    relative: bool = False
    deviation: float = math.nan
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in ``summary.json``."""
        return to_jsonable({
            "id": self.id, "statement": self.statement, "predicted": self.predicted,
            "measured": self.measured, "tolerance": self.tolerance, "passed": self.passed,
            "why": self.why, "source": self.source, "relative": self.relative,
            "deviation": self.deviation, "details": self.details,
        })

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def __str__(self) -> str:
        rel = " (relative)" if self.relative else ""
        return (f"[{self.verdict}] {self.id}: predicted {_short(self.predicted)}, measured "
                f"{_short(self.measured)}, tolerance {self.tolerance:g}{rel}")


def _short(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, list | tuple | np.ndarray):
        a = np.asarray(x)
        if a.dtype.kind == "f" and a.size <= 6:
            return "[" + ", ".join(f"{v:.4g}" for v in a.ravel()) + "]"
        if a.size > 6:
            return f"array{a.shape}"
    return str(x)


def _validate(id: str, statement: str, why: str, source: str) -> None:
    if not id or not statement:
        raise ValueError("a claim needs an id and a statement")
    if not why:
        raise ValueError(f"claim {id!r}: the tolerance needs a reason ('why')")
    if source not in SOURCES:
        raise ValueError(f"claim {id!r}: source must be one of {SOURCES}, got {source!r}")


def check(
    id: str,
    statement: str,
    predicted: float | Sequence[float] | np.ndarray,
    measured: float | Sequence[float] | np.ndarray,
    *,
    tol: float,
    why: str,
    relative: bool = False,
    source: Source = "paper",
    details: dict[str, Any] | None = None,
) -> Claim:
    """A numeric claim, two-sided: passes iff every ``|measured - predicted| <= tol``
    (times ``|predicted|`` when ``relative``)."""
    _validate(id, statement, why, source)
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"claim {id!r}: tolerance must be a finite number >= 0, got {tol!r}")
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    try:
        p_b, m_b = np.broadcast_arrays(p, m)
    except ValueError:
        raise ValueError(f"claim {id!r}: predicted shape {p.shape} and measured shape {m.shape} differ") from None
    if not np.all(np.isfinite(p_b)):
        raise ValueError(f"claim {id!r}: the prediction is not finite: {predicted!r}")
    diff = np.abs(m_b - p_b)
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(p_b != 0, diff / np.abs(p_b), np.where(diff == 0, 0.0, np.inf))
    else:
        dev = diff
    finite = bool(np.all(np.isfinite(m_b)))
    worst = float(np.max(dev)) if dev.size else 0.0
    if not finite:
        worst = math.inf
    passed = finite and worst <= tol
    as_out = (lambda a: float(a)) if p.ndim == 0 and m.ndim == 0 else (lambda a: np.asarray(a).tolist())
    return Claim(id, statement, as_out(p), as_out(m), float(tol), why, bool(passed), source,
                 relative, worst, dict(details or {}))


def check_equal(
    id: str,
    statement: str,
    predicted: Any,
    measured: Any,
    *,
    why: str,
    source: Source = "paper",
    details: dict[str, Any] | None = None,
) -> Claim:
    """A non-numeric claim (an ordering, a class label, a boolean): passes iff equal."""
    _validate(id, statement, why, source)
    norm = lambda x: to_jsonable(x)  # noqa: E731  (lists and tuples compare equal)
    passed = norm(predicted) == norm(measured)
    return Claim(id, statement, norm(predicted), norm(measured), 0.0, why, bool(passed), source,
                 False, 0.0 if passed else math.inf, dict(details or {}))
