"""Piecewise-constant learning-rate factors per parameter group, in flow time.

Both sides use the same object: the integrator integrates piece by piece, and the direct
trainers multiply each group's step by ``schedule.factor(group, t)`` at flow time
``t = lr * step``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Schedule"]


@dataclass(frozen=True)
class Schedule:
    r"""Per-group learning-rate factors that switch at given flow times.

    Piece ``k`` covers ``[breaks[k-1], breaks[k])`` (with ``breaks[-1] = 0`` and the last
    piece open-ended) and multiplies the gradient of every coordinate in group ``g`` by
    ``factors[k].get(g, 1.0)``. Groups not named in a piece get factor 1.

    Examples
    --------
    Attention steps multiplied by $\lambda = 2$ until $t_0 = 10$:

    >>> s = Schedule.switch(10.0, before={"attn": 2.0})
    >>> s.factor("attn", 5.0), s.factor("attn", 10.0), s.factor("u", 5.0)
    (2.0, 1.0, 1.0)
    """

    breaks: tuple[float, ...] = ()
    factors: tuple[Mapping[str, float], ...] = ({},)

    def __post_init__(self) -> None:
        breaks = tuple(float(b) for b in self.breaks)
        factors = tuple(dict(f) for f in self.factors)
        if len(factors) != len(breaks) + 1:
            raise ValueError(
                f"a Schedule with {len(breaks)} break(s) needs {len(breaks) + 1} factor maps, "
                f"got {len(factors)}"
            )
        if any(not math.isfinite(b) or b <= 0 for b in breaks):
            raise ValueError(f"schedule breaks must be positive finite times, got {breaks}")
        if any(b2 <= b1 for b1, b2 in zip(breaks, breaks[1:], strict=False)):
            raise ValueError(f"schedule breaks must be strictly increasing, got {breaks}")
        for f in factors:
            for g, v in f.items():
                if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                    raise ValueError(f"schedule factor for group {g!r} must be finite and >= 0, got {v!r}")
        object.__setattr__(self, "breaks", breaks)
        object.__setattr__(self, "factors", factors)

    @classmethod
    def constant(cls, factors: Mapping[str, float] | None = None) -> Schedule:
        """The same factors for all time (default: every factor 1)."""
        return cls((), (dict(factors or {}),))

    @classmethod
    def switch(
        cls,
        t0: float,
        before: Mapping[str, float],
        after: Mapping[str, float] | None = None,
    ) -> Schedule:
        """Factors ``before`` on ``[0, t0)`` and ``after`` (default all 1) from ``t0`` on."""
        return cls((t0,), (dict(before), dict(after or {})))

    @property
    def groups(self) -> set[str]:
        """Every group named in any piece."""
        return {g for f in self.factors for g in f}

    def check_groups(self, groups: Sequence[str]) -> None:
        """Raise :class:`~dynamics.model.ModelError` if a piece names a group not in ``groups``."""
        unknown = self.groups - set(groups)
        if unknown:
            from dynamics.model import ModelError

            raise ModelError(
                f"schedule names unknown group(s) {sorted(unknown)}; groups: {list(groups)}"
            )

    def piece_index(self, t: float) -> int:
        """Index of the piece that contains flow time ``t``."""
        k = 0
        while k < len(self.breaks) and t >= self.breaks[k]:
            k += 1
        return k

    def factor(self, group: str, t: float) -> float:
        """The factor of ``group`` at flow time ``t``."""
        return float(self.factors[self.piece_index(t)].get(group, 1.0))

    def factor_vector(self, groups: Sequence[str], t: float) -> list[float]:
        """Factors of several groups at time ``t``, in the given order."""
        f = self.factors[self.piece_index(t)]
        return [float(f.get(g, 1.0)) for g in groups]

    def pieces(self, t_start: float, t_end: float) -> list[tuple[float, float, dict[str, float]]]:
        """Split ``[t_start, t_end]`` into ``(a, b, factors)`` intervals of constant factors."""
        if not t_end > t_start:
            raise ValueError(f"need t_end > t_start, got [{t_start}, {t_end}]")
        edges = [t_start] + [b for b in self.breaks if t_start < b < t_end] + [t_end]
        return [
            (a, b, dict(self.factors[self.piece_index(a)]))
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]

    @classmethod
    def parse(cls, spec: str) -> Schedule:
        """A schedule from ``"FACTORS[@T1 FACTORS[@T2 FACTORS ...]]"``.

        ``FACTORS`` is a comma-separated list of ``GROUP=FACTOR`` (possibly empty: every
        factor 1) for the piece that starts at the preceding break. The command line's
        ``--schedule`` uses this form.

        >>> Schedule.parse("attn=2@10").factor("attn", 5.0)
        2.0
        >>> s = Schedule.parse("attn=2, u=0.5 @10 @20 attn=3")
        >>> s.breaks, [dict(f) for f in s.factors]
        ((10.0, 20.0), [{'attn': 2.0, 'u': 0.5}, {}, {'attn': 3.0}])
        """
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError("a schedule spec must be a non-empty string like 'attn=2@10'")
        chunks = spec.split("@")
        breaks: list[float] = []
        factors: list[dict[str, float]] = []
        for k, chunk in enumerate(chunks):
            text = chunk.strip()
            if k > 0:
                head, _, text = text.partition(" ")
                if "," in head or "=" in head:  # "@10,attn=2": a break needs a space after it
                    head, _, rest = head.partition(",")
                    text = rest + " " + text
                try:
                    breaks.append(float(head))
                except ValueError:
                    raise ValueError(
                        f"bad schedule {spec!r}: {head!r} after '@' is not a time"
                    ) from None
            piece: dict[str, float] = {}
            for item in filter(None, (x.strip() for x in text.split(","))):
                g, eq, v = item.partition("=")
                if not eq or not g.strip():
                    raise ValueError(f"bad schedule {spec!r}: {item!r} is not GROUP=FACTOR")
                try:
                    piece[g.strip()] = float(v)
                except ValueError:
                    raise ValueError(f"bad schedule {spec!r}: factor {v!r} is not a number") from None
            factors.append(piece)
        try:
            return cls(tuple(breaks), tuple(factors))
        except ValueError as exc:
            raise ValueError(f"bad schedule {spec!r}: {exc}") from None

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly description."""
        return {"breaks": list(self.breaks), "factors": [dict(f) for f in self.factors]}
