r"""Claims: a predicted value, a measured value, a tolerance with its reason, and a verdict.

Every comparison is two-sided: a claim *holds* when $|m - p| \le \tau$ (``rel=False``) or
$|m - p| \le \tau |p|$ (``rel=True``), elementwise for arrays (the worst element decides).
A non-finite measurement never holds. Non-numeric predictions (an ordering, a label)
hold only on equality, with ``tolerance = 0``.

The verdict has three values (:data:`VERDICTS`):

``"pass"``
    the prediction holds within its tolerance;
``"finding"``
    it does not hold, and this is known and explained: a :class:`Finding` registered for the
    claim's id says what the numbers show, what of our own measurement was ruled out, and
    whether it bears on the paper or only on our reconstruction;
``"fail"``
    it does not hold unexpectedly, or a registered finding's claim now holds (a *stale*
    finding: its explanation no longer describes the numbers, as a strict expected failure
    in pytest).

A finding never changes whether a claim holds: it only explains a claim that does not.

Negative controls. ``check(..., negative_controls=[...])`` (and :func:`check_equal`) also
compares each wrong prediction with the same measurement and tolerance. A control is
*refuted* when its prediction does not hold, which shows that the tolerance tells the
prediction from its alternatives; a control that holds makes the claim itself not hold
(the measurement cannot tell them apart). The outcome of every control is recorded in
:attr:`Claim.negative_controls` and in ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from dynamics.trajectory import to_jsonable

__all__ = [
    "Claim", "Finding", "check", "check_equal", "apply_findings", "Source", "SOURCES",
    "Verdict", "VERDICTS", "tally",
]

Source = Literal["paper", "reconstruction", "derived", "calibration"]
#: Where a claim comes from: ``paper`` (stated in the paper or its notes), ``reconstruction``
#: (a detail we reconstructed), ``derived`` (a consequence we derived, or taken from another
#: paper), ``calibration`` (a model with a closed form, checking the tool itself).
SOURCES: tuple[str, ...] = ("paper", "reconstruction", "derived", "calibration")
Verdict = Literal["pass", "finding", "fail"]
VERDICTS: tuple[str, ...] = ("pass", "finding", "fail")
BearsOn = Literal["paper", "reconstruction"]


@dataclass(frozen=True)
class Finding:
    """A claim registered as known not to hold, with its explanation.

    Attributes
    ----------
    claim : str
        The id of the claim it explains (exact match).
    summary : str
        One sentence: the finding, as it heads the report.
    shows : str
        What the numbers show (the evidence, with the values that matter).
    ruled_out : str
        What of our own measurement was ruled out, and how: the window, the definition, the
        tolerance, the reconstruction choice.
    bears_on : {"paper", "reconstruction"}
        Whether the finding is evidence about the paper's claim, or only about how far our
        reconstruction of its setting reaches.
    """

    claim: str
    summary: str
    shows: str
    ruled_out: str
    bears_on: BearsOn

    def __post_init__(self) -> None:
        for name in ("claim", "summary", "shows", "ruled_out"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"finding {self.claim!r}: {name!r} must not be empty")
        if self.bears_on not in ("paper", "reconstruction"):
            raise ValueError(f"finding {self.claim!r}: bears_on must be 'paper' or 'reconstruction', "
                             f"got {self.bears_on!r}")

    @property
    def text(self) -> str:
        """The whole explanation as one paragraph (``summary.json``'s ``finding`` field)."""
        scope = ("bears on the paper's claim" if self.bears_on == "paper"
                 else "bears only on our reconstruction, not on the paper")
        return (f"{self.summary} What the numbers show: {self.shows} Ruled out: {self.ruled_out} "
                f"This {scope}.")

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "summary": self.summary, "shows": self.shows,
                "ruled_out": self.ruled_out, "bears_on": self.bears_on}


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
        Whether the prediction holds within the tolerance (the verdict also depends on
        :attr:`finding`: see :attr:`verdict`).
    source : {"paper", "reconstruction", "derived", "calibration"}
        Where the claim comes from. ``"reconstruction"`` marks claims whose details were
        reconstructed rather than read in the paper.
    relative : bool
    deviation : float
        The worst |measured - predicted| (relative if ``relative``).
    details : dict
        Anything else worth keeping (fits, windows, per-element values).
    finding : Finding or None
        The registered explanation when the claim is known not to hold (attached by
        :func:`apply_findings`).
    negative_controls : tuple of dict
        One ``{"label", "predicted", "deviation", "refuted"}`` per wrong prediction
        checked with the same measurement and tolerance (module docstring); ``passed``
        requires every one to be refuted.
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
    finding: Finding | None = None
    negative_controls: tuple[dict[str, Any], ...] = ()

    @property
    def controls_refuted(self) -> bool:
        """Whether every negative control was refuted (true when there are none)."""
        return all(c["refuted"] for c in self.negative_controls)

    @property
    def stale(self) -> bool:
        """A registered finding whose claim now holds: its explanation no longer applies."""
        return self.finding is not None and self.passed

    @property
    def verdict(self) -> Verdict:
        """``"pass"``, ``"finding"`` or ``"fail"`` (module docstring)."""
        if self.finding is None:
            return "pass" if self.passed else "fail"
        return "fail" if self.passed else "finding"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in ``summary.json``."""
        f = self.finding
        return to_jsonable({
            "id": self.id, "statement": self.statement, "predicted": self.predicted,
            "measured": self.measured, "tolerance": self.tolerance, "passed": self.passed,
            "verdict": self.verdict, "why": self.why, "source": self.source,
            "relative": self.relative, "deviation": self.deviation, "details": self.details,
            "finding": None if f is None else f.text,
            "finding_parts": None if f is None else f.to_dict(),
            "stale_finding": self.stale,
            "negative_controls": list(self.negative_controls),
        })

    def __str__(self) -> str:
        rel = " (relative)" if self.relative else ""
        head = (f"[{self.verdict.upper()}] {self.id}: predicted {_short(self.predicted)}, measured "
                f"{_short(self.measured)}, tolerance {self.tolerance:g}{rel}")
        if self.negative_controls:
            held = [c["label"] for c in self.negative_controls if not c["refuted"]]
            n = len(self.negative_controls)
            head += (f"; negative controls {n - len(held)}/{n} refuted"
                     + (f" (holding too: {', '.join(map(str, held))})" if held else ""))
        if self.stale:
            assert self.finding is not None
            return head + f"\n    stale finding (the claim now holds): {self.finding.summary}"
        if self.finding is not None:
            return head + f"\n    {self.finding.text}"
        return head


def apply_findings(claims: Sequence[Claim], findings: Sequence[Finding]) -> tuple[list[Claim], list[Finding]]:
    """Attach each registered finding to the claim with its id.

    Returns the claims (with ``finding`` set where one is registered) and the findings whose
    claim did not occur in ``claims`` (a renamed or no longer produced claim: reported, never
    silently dropped). Two findings for one claim id are an error.
    """
    by_id: dict[str, Finding] = {}
    for f in findings:
        if not isinstance(f, Finding):
            raise TypeError(f"expected a Finding, got {type(f).__name__}")
        if f.claim in by_id:
            raise ValueError(f"two findings are registered for claim {f.claim!r}")
        by_id[f.claim] = f
    out = [dataclasses.replace(c, finding=by_id[c.id]) if c.id in by_id else c for c in claims]
    seen = {c.id for c in claims}
    return out, [f for f in findings if f.claim not in seen]


def tally(verdicts: Sequence[str]) -> dict[str, int]:
    """Counts of each verdict, ``{"pass": n, "finding": m, "fail": k}``."""
    return {v: sum(1 for x in verdicts if x == v) for v in VERDICTS}


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
    negative_controls: Mapping[str, Any] | Sequence[Any] | None = None,
) -> Claim:
    """A numeric claim, two-sided: passes iff every ``|measured - predicted| <= tol``
    (times ``|predicted|`` when ``relative``) and every negative control is refuted.

    ``negative_controls``: wrong predictions, as ``{label: prediction}`` or a sequence of
    predictions (labelled by their value); each is checked like ``predicted`` with the
    same measurement and tolerance (module docstring).
    """
    _validate(id, statement, why, source)
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"claim {id!r}: tolerance must be a finite number >= 0, got {tol!r}")
    controls = _controls(id, negative_controls)
    c = _numeric(id, statement, predicted, measured, tol, why, relative, source, details)
    results = []
    for label, wrong in controls:
        w = _numeric(id, statement, wrong, measured, tol, why, relative, source, None)
        results.append({"label": label, "predicted": w.predicted, "deviation": w.deviation,
                        "refuted": not w.passed})
    return _with_controls(c, results)


def _controls(id: str, controls: Mapping[str, Any] | Sequence[Any] | None) -> list[tuple[str, Any]]:
    """``(label, wrong prediction)`` pairs from a mapping or a sequence."""
    if controls is None:
        return []
    if isinstance(controls, Mapping):
        return [(str(k), v) for k, v in controls.items()]
    if isinstance(controls, str | bytes) or not isinstance(controls, Sequence | np.ndarray):
        raise ValueError(f"claim {id!r}: negative_controls must be a mapping {{label: prediction}} or a "
                         f"sequence of predictions, got {type(controls).__name__}")
    return [(_short(v), v) for v in controls]


def _with_controls(c: Claim, results: list[dict[str, Any]]) -> Claim:
    """``c`` with its negative controls recorded; it holds only if all are refuted."""
    if not results:
        return c
    ok = c.passed and all(r["refuted"] for r in results)
    return dataclasses.replace(c, passed=ok, negative_controls=tuple(to_jsonable(results)))


def _numeric(id: str, statement: str, predicted: Any, measured: Any, tol: float, why: str,
             relative: bool, source: Source, details: dict[str, Any] | None) -> Claim:
    """The two-sided numeric comparison behind :func:`check`."""
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
    negative_controls: Mapping[str, Any] | Sequence[Any] | None = None,
) -> Claim:
    """A non-numeric claim (an ordering, a class label, a boolean): passes iff equal, and
    every negative control (a wrong value, see :func:`check`) differs from ``measured``."""
    _validate(id, statement, why, source)
    norm = lambda x: to_jsonable(x)  # noqa: E731  (lists and tuples compare equal)
    passed = norm(predicted) == norm(measured)
    c = Claim(id, statement, norm(predicted), norm(measured), 0.0, why, bool(passed), source,
              False, 0.0 if passed else math.inf, dict(details or {}))
    results = [{"label": label, "predicted": norm(w), "deviation": 0.0 if norm(w) == norm(measured) else math.inf,
                "refuted": norm(w) != norm(measured)} for label, w in _controls(id, negative_controls)]
    return _with_controls(c, results)
