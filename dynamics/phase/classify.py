"""Classifiers: what class a trajectory falls in, with a few measured quantities.

Built-in classifiers are frozen dataclasses built from a spec string by
:func:`make_classifier`; any picklable callable following :class:`Classifier` works too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from dynamics.analysis import detect_stages, first_crossing, loglog_slope
from dynamics.trajectory import Trajectory

__all__ = [
    "Classifier",
    "make_classifier",
    "StageClassifier",
    "SlopeClassifier",
    "LearnableClassifier",
    "OrderClassifier",
    "ComponentStageClassifier",
]

# ----------------------------------------------------------------------------- classifiers
Classified = tuple[int, dict[str, float]]


class Classifier(Protocol):
    """What class a trajectory falls in.

    The contract, which the built-in classifiers follow and a user's classifier must
    follow to be used by :func:`dynamics.phase.sweep`:

    1. It is called as ``classifier(tr)`` with the :class:`~dynamics.trajectory.Trajectory`
       of one point on the sweep's output grid (``tr.t``, ``tr.loss``, and coordinates and
       observables by name, ``tr[name]``).
    2. It returns a class id, an ``int >= 0`` (a bool counts as 0 or 1), or ``(class_id,
       quantities)`` with ``quantities`` a mapping of names to floats measured at that
       point (a name missing at some points is NaN there).
    3. It depends on the trajectory only, so the same point gets the same class in any
       process and on a resume.
    4. An exception marks that point failed (its error text starts with ``classify:``);
       the sweep goes on with the other points.
    5. It is picklable (a module-level function or an instance of a module-level class),
       so that worker processes and Dask workers can receive it.
    6. Optionally it has ``labels() -> {class_id: name}`` (legend and summary names) and
       ``observables`` (a tuple of names, checked against the model before any work).
    """

    def __call__(self, tr: Trajectory, /) -> int | tuple[int, Mapping[str, float]]: ...


@dataclass(frozen=True)
class StageClassifier:
    r"""Class = number of loss drops by ``t_max`` (:func:`~dynamics.analysis.detect_stages`).

    A drop is a run where $r = -d\ln L/d\ln t \ge$ ``threshold``; a power-law tail with
    exponent above the threshold counts as one drop. Samples with $t = 0$ or $L \le 0$ are
    left out. Quantities: ``n_drops``, ``n_plateaus``, ``t_last_drop`` (steepest point of
    the last drop, NaN if none), ``final_loss``.
    """

    threshold: float = 0.1
    min_width_decades: float = 0.5
    spec: str = "stage"

    def labels(self) -> dict[int, str]:
        return {k: f"{k} drop" + ("" if k == 1 else "s") for k in range(50)}

    def __call__(self, tr: Trajectory) -> Classified:
        m = (tr.t > 0) & (tr.loss > 0)
        stages = detect_stages(tr.t[m], tr.loss[m], self.threshold, self.min_width_decades)
        drops = [s for s in stages if s.kind == "drop"]
        q = {
            "n_drops": float(len(drops)),
            "n_plateaus": float(len(stages) - len(drops)),
            "t_last_drop": drops[-1].t_peak if drops else math.nan,
            "final_loss": float(tr.loss[-1]),
        }
        return len(drops), q


@dataclass(frozen=True)
class ComponentStageClassifier:
    r"""Class = how many of ``observables`` (loss components, one per thing to be learned)
    have dropped below ``fraction`` of their initial value by ``t_max``.

    The exact stage count when the model exposes its loss per component (per pattern, per
    mode): unlike :class:`StageClassifier`, which reads drops off the total loss and merges
    drops closer than its resolution, two components learned in quick succession still count
    as two stages. Quantities: ``n_dropped`` and ``t_<obs>`` (first time below the level, NaN
    if never). Spec: ``"stage:OBS1,OBS2[,...][:FRACTION]"`` (default fraction 0.5).
    """

    observables: tuple[str, ...]
    fraction: float = 0.5
    spec: str = "stage:"

    def __post_init__(self) -> None:
        if not self.observables or len(set(self.observables)) != len(self.observables):
            raise ValueError(f"stage needs distinct observable names, got {self.observables!r}")
        if not 0 < self.fraction < 1:
            raise ValueError(f"the fraction must be in (0, 1), got {self.fraction:g}")

    def labels(self) -> dict[int, str]:
        n = len(self.observables)
        return {k: f"{k} of {n} dropped" for k in range(n + 1)}

    def __call__(self, tr: Trajectory) -> Classified:
        q: dict[str, float] = {}
        n = 0
        for name in self.observables:
            v = tr[name]
            level = self.fraction * float(v[0])
            dropped = bool(v[-1] < level)
            n += dropped
            q[f"t_{name}"] = first_crossing(tr.t, v, level, "down") if v[0] > 0 else math.nan
        q["n_dropped"] = float(n)
        return n, q


@dataclass(frozen=True)
class SlopeClassifier:
    r"""Late log-log slope $p$ of the loss over the last decade ``(t_max/10, t_max)``.

    Class 0 ``flat`` ($p > -0.1$), 1 ``power law`` ($-2 < p \le -0.1$), 2 ``fast``
    ($p \le -2$ or the loss reached 0 in the window: faster than any power law seen over
    a decade, e.g. exponential). Quantities: ``slope``, ``slope_stderr``, ``final_loss``.
    """

    flat: float = -0.1
    fast: float = -2.0
    spec: str = "slope"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.flat) and math.isfinite(self.fast) and self.fast < self.flat):
            raise ValueError(f"slope bins need finite fast < flat, got {self.fast!r}, {self.flat!r}")

    def labels(self) -> dict[int, str]:
        return {
            0: f"flat (slope > {self.flat:g})",
            1: "power law",
            2: f"fast (slope <= {self.fast:g})",
        }

    def __call__(self, tr: Trajectory) -> Classified:
        t_hi = float(tr.t[-1])
        win = (t_hi / 10.0, t_hi)
        m = (tr.t >= win[0]) & (tr.t <= win[1])
        if np.any(tr.loss[m] <= 0):
            return 2, {
                "slope": -math.inf,
                "slope_stderr": math.nan,
                "final_loss": float(tr.loss[-1]),
            }
        fit = loglog_slope(tr.t, tr.loss, window=win)
        p = float(fit.slope)
        cls = 0 if p > self.flat else (1 if p > self.fast else 2)
        return cls, {
            "slope": p,
            "slope_stderr": float(fit.stderr),
            "final_loss": float(tr.loss[-1]),
        }


@dataclass(frozen=True)
class LearnableClassifier:
    """Class 1 (``learned``) when ``loss(t_max) < fraction * loss(0)``, else 0.

    Quantities: ``loss_ratio`` = loss(t_max)/loss(0), ``t_learn`` (first time the loss
    falls below ``fraction * loss(0)``, NaN if never).
    """

    fraction: float = 0.1
    spec: str = "learnable"

    def __post_init__(self) -> None:
        if not (isinstance(self.fraction, int | float) and 0 < self.fraction < 1):
            raise ValueError(f"the fraction must be in (0, 1), got {self.fraction!r}")

    def labels(self) -> dict[int, str]:
        return {0: "not learned", 1: "learned"}

    def __call__(self, tr: Trajectory) -> Classified:
        l0, l1 = float(tr.loss[0]), float(tr.loss[-1])
        level = self.fraction * l0
        ratio = l1 / l0 if l0 != 0 else math.nan
        return int(l1 < level), {
            "loss_ratio": ratio,
            "t_learn": first_crossing(tr.t, tr.loss, level, "down"),
        }


@dataclass(frozen=True)
class OrderClassifier:
    """Emergence order of ``observables``.

    Observable ``k`` emerges at the first time it crosses ``level`` (upwards, or downwards
    if it starts above); without ``level``, at its half-way point between its initial and
    final value. The class id indexes the ordered sequence of emerged observables (earliest
    first; those that never cross are left out) in a fixed enumeration: all ordered subsets,
    shortest first, then lexicographic; :meth:`labels` names them (``"u1<u2<u3"``).
    Quantities: ``t_<obs>`` (crossing time, NaN if none) and ``rank_<obs>`` (0 = first, NaN
    if it never crosses).
    """

    observables: tuple[str, ...]
    level: float | None = None
    spec: str = "order"

    def __post_init__(self) -> None:
        if not self.observables or len(set(self.observables)) != len(self.observables):
            raise ValueError(f"order needs distinct observable names, got {self.observables!r}")
        if len(self.observables) > 6:
            raise ValueError("order supports at most 6 observables")
        if self.level is not None and not (
            isinstance(self.level, int | float) and math.isfinite(self.level)
        ):
            raise ValueError(f"the level must be a finite number, got {self.level!r}")

    def _sequences(self) -> list[tuple[int, ...]]:
        n = len(self.observables)
        out: list[tuple[int, ...]] = []
        for k in range(n + 1):
            out.extend(itertools.permutations(range(n), k))
        return out

    def labels(self) -> dict[int, str]:
        return {
            i: ("<".join(self.observables[j] for j in s) or "none")
            for i, s in enumerate(self._sequences())
        }

    def __call__(self, tr: Trajectory) -> Classified:
        times = []
        direction: Literal["up", "down"]
        for name in self.observables:
            v = tr[name]
            if self.level is not None:
                lev = self.level
                direction = "up" if v[0] < lev else "down"
            else:
                lev = 0.5 * (v[0] + v[-1])
                direction = "up" if v[-1] >= v[0] else "down"
            times.append(first_crossing(tr.t, v, lev, direction) if v[0] != v[-1] else math.nan)
        emerged = sorted((t, j) for j, t in enumerate(times) if math.isfinite(t))
        seq = tuple(j for _, j in emerged)
        q: dict[str, float] = {}
        for j, name in enumerate(self.observables):
            q[f"t_{name}"] = times[j]
            q[f"rank_{name}"] = float(seq.index(j)) if j in seq else math.nan
        return self._sequences().index(seq), q


def make_classifier(classify: str | Callable[[Trajectory], Any]) -> Classifier:
    """A classifier from a spec string, or ``classify`` itself if callable.

    Strings: ``"stage"`` or ``"stage:OBS1,OBS2[,...][:FRACTION]"``
    (:class:`ComponentStageClassifier`), ``"slope"``, ``"learnable"`` or ``"learnable:FRACTION"``,
    ``"order:OBS1,OBS2[,...]"`` or ``"order:OBS1,OBS2[,...]:LEVEL"``. A callable maps a
    :class:`Trajectory` to an int or to ``(int, {name: float})``; for process or Dask
    workers it must be picklable (a module-level function or class instance).
    """
    if callable(classify):
        return classify
    if not isinstance(classify, str):
        raise ValueError(f"classify must be a string or a callable, got {type(classify).__name__}")
    kind, _, arg = classify.strip().partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "stage" and not arg:
            return StageClassifier()
        if kind == "stage":
            obs, _, frac_s = arg.partition(":")
            names = tuple(o.strip() for o in obs.split(",") if o.strip())
            return ComponentStageClassifier(
                names, float(frac_s) if frac_s.strip() else 0.5, spec=classify.strip()
            )
        if kind == "slope" and not arg:
            return SlopeClassifier()
        if kind == "learnable":
            frac = float(arg) if arg else 0.1
            if not 0 < frac < 1:
                raise ValueError(f"the fraction must be in (0, 1), got {frac:g}")
            return LearnableClassifier(frac, spec=classify.strip())
        if kind == "order" and arg:
            obs, _, lev = arg.partition(":")
            names = tuple(o.strip() for o in obs.split(",") if o.strip())
            return OrderClassifier(
                names, float(lev) if lev.strip() else None, spec=classify.strip()
            )
    except ValueError as exc:
        raise ValueError(f"bad classifier {classify!r}: {exc}") from None
    raise ValueError(
        f"unknown classifier {classify!r}; choose stage[:OBS1,OBS2,...[:FRACTION]], slope, "
        "learnable[:FRACTION], "
        "order:OBS1,OBS2[,...][:LEVEL] or pass a function"
    )


def _classifier_id(c: Callable[..., Any]) -> str:
    """A stable name for the configuration: the spec string of a built-in classifier, else the
    qualified name of the function or of the callable's class."""
    spec = getattr(c, "spec", None)
    if isinstance(spec, str) and type(c).__module__ == __name__:
        return spec
    t: Any = c if hasattr(c, "__qualname__") else type(c)
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', repr(t))}"


def _labels(c: Callable[..., Any]) -> dict[int, str]:
    f = getattr(c, "labels", None)
    if callable(f):
        try:
            return {int(k): str(v) for k, v in f().items()}
        except Exception:  # a user object with an unrelated 'labels'
            return {}
    return {}



def _classify_one(
    classifier: Callable[[Trajectory], Any], tr: Trajectory
) -> tuple[int, dict[str, float]]:
    r = classifier(tr)
    if isinstance(r, tuple):
        if len(r) != 2 or not isinstance(r[1], Mapping):
            raise TypeError("a classifier must return an int or (int, dict of floats)")
        c, q = r
    else:
        c, q = r, {}
    if isinstance(c, bool | np.bool_):
        c = int(c)
    if not isinstance(c, int | np.integer) or int(c) < 0:
        raise TypeError(f"a classifier must return a class id int >= 0, got {c!r}")
    return int(c), {str(k): float(v) for k, v in q.items()}


