"""The registry of derivations: short names -> :class:`Derivation`.

Derivations register through the ``dynamics.derivations`` entry-point group (see
``pyproject.toml``), so ``dynamics`` never imports ``derivations`` itself and a user's own
package can add models the CLI then finds. :func:`register` adds one at run time.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata as md
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamics.claims import Claim, Finding
    from dynamics.model import ReducedModel
    from dynamics.verify import VerifyContext

__all__ = [
    "Derivation",
    "DerivationLoadError",
    "SettingsError",
    "DerivationFileError",
    "UnknownModelError",
    "register",
    "names",
    "get",
    "load_file",
    "is_file_target",
]

GROUP = "dynamics.derivations"


class SettingsError(ValueError):
    """A ``--set`` override names an unknown setting or has a bad value."""


class UnknownModelError(KeyError):
    """No derivation is registered under the given name."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown model {self.name!r}; registered models: {', '.join(self.known) or '(none)'}"


class DerivationLoadError(RuntimeError):
    """A registered name whose plugin fails to import, or whose entry point is not a
    :class:`Derivation`. ``str()`` is one line naming the model, the entry point and the cause."""

    def __init__(self, name: str, target: str, problem: str):
        super().__init__(name, target, problem)
        self.name = name
        self.target = target
        self.problem = problem

    def __str__(self) -> str:
        return (f"model {self.name!r} cannot be loaded: entry point {self.target!r} {self.problem} "
                "(fix or uninstall the package that registers it)")


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
    settings : dataclass type, optional
        The derivation's configurable setting (a frozen dataclass with defaults). ``dynamics
        verify NAME --set FIELD=VALUE`` overrides its fields; ``verify`` reads the result from
        ``ctx.settings``.
    initial_state : callable, optional
        ``initial_state(compiled_model) -> ndarray``: the start that tools use when the user
        gives none (``dynamics phase``); without it they fall back to a generic one, which can
        be wrong for a model (e.g. an exactly symmetric start that never leaves a saddle).
    findings : tuple of Finding
        Claims known not to hold, each with its explanation (:class:`dynamics.claims.Finding`).
        :func:`dynamics.verify.run_verify` attaches them by claim id: such a claim's verdict is
        ``"finding"`` while it does not hold and ``"fail"`` (a stale finding) once it does.
    """

    name: str
    title: str
    model: Callable[..., ReducedModel]
    verify: Callable[[VerifyContext], list[Claim]]
    reconstructed: tuple[str, ...] = ()
    settings: type | None = None
    initial_state: Callable[[Any], Any] | None = None
    findings: tuple[Finding, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from dynamics.claims import Finding

        object.__setattr__(self, "findings", tuple(self.findings))
        ids = [f.claim for f in self.findings if isinstance(f, Finding)]
        if len(ids) != len(self.findings):
            raise TypeError(f"derivation {self.name!r}: findings must be dynamics.claims.Finding values")
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"derivation {self.name!r}: two findings for claim(s) {dup}")

    def make_settings(self, overrides: dict[str, str] | None = None) -> Any:
        """The default settings with ``overrides`` (strings, converted to each field's type).

        Raises :class:`SettingsError` naming an unknown field or a value that does not convert.
        """
        overrides = dict(overrides or {})
        if self.settings is None:
            if overrides:
                raise SettingsError(f"model {self.name!r} takes no settings (got {sorted(overrides)})")
            return None
        base = self.settings()
        fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise SettingsError(f"unknown setting(s) {unknown} for model {self.name!r}; settings: {sorted(fields)}")
        values: dict[str, Any] = {}
        for k, raw in overrides.items():
            default = fields[k]
            try:
                if isinstance(default, bool):
                    if raw.lower() not in ("true", "false", "1", "0"):
                        raise ValueError(raw)
                    values[k] = raw.lower() in ("true", "1")
                elif isinstance(default, int):
                    values[k] = int(raw)
                elif isinstance(default, float):
                    values[k] = float(raw)
                    if not math.isfinite(values[k]):
                        raise ValueError(raw)
                elif isinstance(default, str):
                    values[k] = raw
                else:
                    raise SettingsError(f"setting {k!r} of model {self.name!r} cannot be set from the command line")
            except ValueError:
                raise SettingsError(f"setting {k}={raw!r} for model {self.name!r}: expected a {type(default).__name__}") from None
        try:
            return dataclasses.replace(base, **values)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"bad setting for model {self.name!r}: {exc}") from None


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
    """The derivation registered as ``name``.

    Raises :class:`UnknownModelError` if none is, and :class:`DerivationLoadError` if its
    entry point fails to import (any exception of the plugin's import) or does not give a
    :class:`Derivation`.
    """
    if name in _RUNTIME:
        return _RUNTIME[name]
    eps = _entry_points()
    if name not in eps:
        raise UnknownModelError(name, names())
    ep = eps[name]
    try:
        obj = ep.load()
    except Exception as exc:  # a broken plugin: ImportError, SyntaxError, AttributeError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DerivationLoadError(name, ep.value, f"fails to import: {type(exc).__name__}"
                                  + (f": {first}" if first else "")) from exc
    if not isinstance(obj, Derivation):
        raise DerivationLoadError(name, ep.value, f"gives a {type(obj).__name__}, not a dynamics Derivation")
    return obj


# ----------------------------------------------------------- derivations from a file
class DerivationFileError(ValueError):
    """A file given as a model (``dynamics verify FILE.py``) that cannot be used: missing,
    not Python, failing to import, or defining no :class:`Derivation`. One line naming it."""


def is_file_target(target: str) -> bool:
    """Whether a model argument names a file or a folder rather than a registered name:
    it ends in ``.py`` (optionally ``.py:NAME``), contains a path separator, or is an
    existing folder holding ``verify.py``."""
    path = target.rsplit(":", 1)[0] if ".py:" in target else target
    return (path.endswith(".py") or "/" in path or (Path(path).is_dir()
                                                      and (Path(path) / "verify.py").is_file()))


def load_file(target: str | Path) -> tuple[Derivation, ...]:
    """Import a Python file that defines derivations, register them and return them.

    ``target`` is ``FILE.py``, ``FILE.py:NAME`` (only the derivation registered as
    ``NAME``) or a folder (its ``verify.py``: the layout that ``dynamics new`` writes).
    The derivations are the module-level ``derivation`` if it is a :class:`Derivation`,
    else every module-level :class:`Derivation` object (in definition order). Each is
    registered with :func:`register`, so the rest of the process finds it by name.

    The file is imported under a plain module name so that worker processes can import it
    too (functions defined in it can then be sent to them): a file inside a package (its
    folder has ``__init__.py``) as ``folder.stem`` with the folder's parent first on
    ``sys.path`` (relative imports of sibling modules work), any other file as ``stem``
    with its own folder first on ``sys.path``.

    Raises
    ------
    DerivationFileError
        Missing file, not a ``.py`` file, a module name already imported from another file,
        an exception while importing (named with its first line), no derivation in the file,
        or no derivation called ``NAME``.
    """
    text = str(target)
    want = None
    if ".py:" in text:
        text, want = text.rsplit(":", 1)
    path = Path(text)
    if path.is_dir():
        path = path / "verify.py"
    if not path.is_file():
        raise DerivationFileError(f"{text}: no such file (give FILE.py, FILE.py:NAME or a folder "
                                  "with verify.py)")
    if path.suffix != ".py":
        raise DerivationFileError(f"{text}: not a Python file (.py)")
    path = path.resolve()
    package = (path.parent / "__init__.py").is_file() and path.parent.name.isidentifier()
    root = path.parent.parent if package else path.parent
    modname = f"{path.parent.name}.{path.stem}" if package else path.stem
    if not path.stem.isidentifier():
        raise DerivationFileError(f"{text}: {path.stem!r} is not a valid module name; rename the file")
    loaded = sys.modules.get(modname)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() != path:
        raise DerivationFileError(
            f"{text}: a module named {modname!r} is already imported from "
            f"{getattr(loaded, '__file__', None) or '(built in)'}; rename the file or its folder")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        mod = importlib.import_module(modname)
    except Exception as exc:  # the user's file: any error, one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DerivationFileError(f"{text} fails to import: {type(exc).__name__}"
                                  + (f": {first}" if first else "")) from exc
    if Path(getattr(mod, "__file__", "") or "").resolve() != path:
        raise DerivationFileError(f"{text}: importing {modname!r} gave {mod.__file__}, another "
                                  "file of that name earlier on sys.path; rename the file")
    main = getattr(mod, "derivation", None)
    found = ((main,) if isinstance(main, Derivation)
             else tuple(v for v in vars(mod).values() if isinstance(v, Derivation)))
    if not found:
        raise DerivationFileError(
            f"{text} defines no dynamics Derivation: add a module-level "
            "`derivation = Derivation(name=..., title=..., model=..., verify=...)`")
    if want is not None:
        found = tuple(d for d in found if d.name == want)
        if not found:
            raise DerivationFileError(f"{text} defines no derivation named {want!r}")
    for d in found:
        register(d)
    return found

