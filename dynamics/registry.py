"""The registry of derivations: short names -> :class:`Derivation`.

Derivations register through the ``dynamics.derivations`` entry-point group (see
``pyproject.toml``), so ``dynamics`` never imports ``derivations`` itself and a user's own
package can add models the CLI then finds. :func:`register` adds one at run time.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamics.claims import Claim
    from dynamics.model import ReducedModel
    from dynamics.verify import VerifyContext

__all__ = ["Derivation", "UnknownModelError", "register", "names", "get"]

GROUP = "dynamics.derivations"


class UnknownModelError(KeyError):
    """No derivation is registered under the given name."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown model {self.name!r}; registered models: {', '.join(self.known) or '(none)'}"


@dataclass(frozen=True)
class Derivation:
    """What a paper module provides.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"saxe2014"``.
    title : str
        One line for ``dynamics list``.
    model : callable
        ``model(**options) -> ReducedModel``: the default reduced model (used by ``show``).
    verify : callable
        ``verify(ctx) -> list[Claim]``: run every experiment, save trajectories and figures
        through ``ctx`` and return the checked claims.
    reconstructed : tuple of str
        What in this derivation is a reconstruction rather than the paper's text.
    """

    name: str
    title: str
    model: Callable[..., ReducedModel]
    verify: Callable[[VerifyContext], list[Claim]]
    reconstructed: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


_RUNTIME: dict[str, Derivation] = {}


def register(d: Derivation) -> Derivation:
    """Register a derivation at run time (overrides an entry point of the same name)."""
    if not isinstance(d, Derivation):
        raise TypeError(f"expected a Derivation, got {type(d).__name__}")
    _RUNTIME[d.name] = d
    return d


def _entry_points() -> dict[str, md.EntryPoint]:
    return {ep.name: ep for ep in md.entry_points(group=GROUP)}


def names() -> list[str]:
    """All registered names, sorted."""
    return sorted(set(_entry_points()) | set(_RUNTIME))


def get(name: str) -> Derivation:
    """The derivation registered as ``name``; :class:`UnknownModelError` if none."""
    if name in _RUNTIME:
        return _RUNTIME[name]
    eps = _entry_points()
    if name not in eps:
        raise UnknownModelError(name, names())
    obj = eps[name].load()
    if not isinstance(obj, Derivation):
        raise TypeError(f"entry point {name!r} gives {type(obj).__name__}, not a Derivation")
    return obj
