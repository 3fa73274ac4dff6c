r"""The on-disk cache of generated modules: where, under which key, and recovery from faults.

A generated module is written to ``$DYNAMICS_CACHE_DIR`` (default ``~/.cache/dynamics``)
under a name that hashes the model's symbolic content (:func:`model_key`), and numba compiles
it with ``cache=True``: a second build of the same model, in the same or a new process, skips
differentiation and compilation and imports the cached module.

Faults: a module that is incomplete or altered (its last line is the SHA-256 of the rest), or
that fails to import, is regenerated, and numba cache files that fail to load are removed and
rebuilt (one warning line each). ``DYNAMICS_CACHE_DIR`` (or a parent) that is a file raises
:class:`CacheError` naming it; an unwritable cache directory falls back to a per-process
temporary directory, removed at exit (one warning).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import weakref
from pathlib import Path
from types import ModuleType

import sympy as sp

from dynamics.codegen.emit import (
    _HASH_PREFIX,
    CODEGEN_VERSION,
    NAMED_FUNCTIONS_REVISION,
    generate_source,
)
from dynamics.codegen.lanes import LANE_HELPERS_SOURCE, LANES, MIN_LANE_SIGMOIDS
from dynamics.codegen.shift import _shift_plan, _ShiftPlan
from dynamics.codegen.tables import _row_slots
from dynamics.model import ModelError, ReducedModel
from dynamics.symbolic import SCALAR_HELPERS_SOURCE, defined_functions

__all__ = ["CacheError", "cache_dir", "load_module", "model_key"]


def cache_dir() -> Path:
    """Directory of generated modules: ``$DYNAMICS_CACHE_DIR`` or ``$XDG_CACHE_HOME/dynamics``."""
    env = os.environ.get("DYNAMICS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dynamics"


# model -> {plan: key, None: its own plan}. A ReducedModel is frozen and compares by
# identity, so what is memoised for one object never changes; weak keys let it be freed.
_KEYS: weakref.WeakKeyDictionary[ReducedModel, dict[_ShiftPlan | None, object]] = (
    weakref.WeakKeyDictionary()
)


def model_key(model: ReducedModel, plan: _ShiftPlan | None = None) -> str:
    """Content hash of everything the generated code depends on (of the table values, only
    which blocks they allow to be evaluated at shifted softmax logits).

    Memoised per model object (and plan): the hash writes out the ``srepr`` of every
    expression, which for a large model costs a noticeable fraction of a second, and a sweep
    asks for it once per task. A copy of the model (e.g. unpickled in a worker) is hashed
    once more.
    """
    memo = _KEYS.get(model)
    if memo is None:
        memo = _KEYS.setdefault(model, {})
    if plan is None:
        if None not in memo:
            memo[None] = _shift_plan(model)
        plan = memo[None]  # type: ignore[assignment]
    key = memo.get(plan)
    if key is None:
        key = memo[plan] = _model_key(model, plan)  # type: ignore[arg-type]
    return str(key)


def _model_key(model: ReducedModel, plan: _ShiftPlan) -> str:
    """The hash behind :func:`model_key` (not memoised)."""
    import numba

    h = hashlib.sha256()

    def put(x: object) -> None:
        h.update(repr(x).encode())
        h.update(b"\x00")

    put(("codegen", CODEGEN_VERSION, "numba", numba.__version__))
    # the helpers written into every module: a change to them must not reuse a cached module
    put(("helpers", SCALAR_HELPERS_SOURCE, LANE_HELPERS_SOURCE, LANES, MIN_LANE_SIGMOIDS))
    put((model.name, model.kind, model.state_names, model.param_names, model.groups))
    put([sp.srepr(s) for s in model.state + model.params])
    put([sp.srepr(m) for m in model.metric])
    if model.vector_field is not None:
        put([sp.srepr(f) for f in model.vector_field])
    slots = _row_slots(model)
    for r in slots:
        put(("slot", sp.srepr(r.term), [sp.srepr(s) for s in r.row_symbols],
             [(sp.srepr(z), sp.srepr(e)) for z, e in r.intermediates]))
    for k, e in model.observables.items():
        put(("obs", k, sp.srepr(e.base), [slots.index(r) for r in e.rows]))
    put(("shift", plan))
    named = _named_functions(model, slots)
    if named:  # (absent from models without them, whose keys are unchanged)
        put(("defined", NAMED_FUNCTIONS_REVISION,
             [(f.__name__, sp.srepr(f.definition_args), sp.srepr(f.definition)) for f in named]))
    return h.hexdigest()[:20]


def _named_functions(model: ReducedModel, slots: list) -> list:
    """The named functions (:func:`dynamics.symbolic.define`) the model's expressions use."""
    exprs = list(model.vector_field or ()) + list(model.metric)
    for r in slots:
        exprs += [r.term] + [e for _, e in r.intermediates]
    exprs += [e.base for e in model.observables.values()]
    return defined_functions(exprs)


class CacheError(ModelError):
    """The cache directory cannot be used (one line naming it and the remedy)."""


def _intact(path: Path) -> bool:
    """Whether the generated module at ``path`` is complete (its content hash matches)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return False
    i = text.rfind("\n" + _HASH_PREFIX)
    if i < 0 or not text.endswith("\n"):
        return False
    body, digest = text[: i + 1], text[i + 1 + len(_HASH_PREFIX) : -1]
    return hashlib.sha256(body.encode()).hexdigest() == digest


def _warn(msg: str) -> None:
    print(f"dynamics: warning: {msg}", file=sys.stderr, flush=True)


def _cache_root() -> Path:
    """:func:`cache_dir`, created; :class:`CacheError` if it (or a parent) is a file."""
    d = cache_dir()
    var = "DYNAMICS_CACHE_DIR" if os.environ.get("DYNAMICS_CACHE_DIR") else "the default cache directory"
    for q in (d, *d.parents):
        if q.exists() and not q.is_dir():
            raise CacheError(f"{var} {str(d)!r} cannot be used: {str(q)!r} is a file, not a directory; "
                             "set DYNAMICS_CACHE_DIR to a directory (or unset it)")
    return d


_TEMP_CACHE: list[Path] = []


def _temp_cache() -> Path:
    """A per-process temporary cache directory (removed at exit), for an unwritable cache."""
    if not _TEMP_CACHE:
        import atexit
        import shutil
        import tempfile

        d = Path(tempfile.mkdtemp(prefix="dynamics-cache-"))
        atexit.register(shutil.rmtree, d, True)
        _TEMP_CACHE.append(d)
    return _TEMP_CACHE[0]


def _clear_numba_cache(path: Path) -> None:
    """Remove numba's cache files (index and data) of the generated module at ``path``."""
    pyc = path.parent / "__pycache__"
    for f in pyc.glob(f"{path.stem}.*.nb[ic]") if pyc.is_dir() else ():
        try:
            f.unlink()
        except FileNotFoundError:
            pass


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_module(path: str | os.PathLike[str]) -> ModuleType:
    """Import a generated module from its file (what sweep workers do)."""
    path = Path(path)
    modname = _modname(path)
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import generated module {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[modname]
        raise
    return mod


def _modname(path: Path) -> str:
    return "_dynamics_gen_" + path.stem.replace("-", "_").replace(".", "_")


def _load_cached(model: ReducedModel, plan: _ShiftPlan, key: str) -> tuple[ModuleType, Path, bool]:
    """The generated module of ``model`` from the cache: written if missing, rewritten if
    incomplete (content hash) or if it fails to import; numba's cache files of a module
    that fails to load are removed and rebuilt. An unwritable cache directory falls back to
    a temporary one (one warning line). Returns (module, path, cache hit)."""
    name = f"{model.name.replace('-', '_').replace('.', '_')}_{key}.py"
    root = _cache_root()
    path = root / name
    source: list[str] = []

    def src() -> str:
        if not source:
            source.append(generate_source(model, plan))
        return source[0]

    def write(p: Path) -> Path:
        try:
            _write_atomic(p, src())
            return p
        except OSError as exc:
            if p.parent in _TEMP_CACHE:
                raise CacheError(f"cannot write generated code to the temporary directory {str(p.parent)!r}: "
                                 f"{exc.strerror or exc}") from exc
            _warn(f"cache directory {str(p.parent)!r} is not writable ({exc.strerror or exc}); building model "
                  f"{model.name!r} in a temporary directory (set DYNAMICS_CACHE_DIR to a writable directory "
                  "to keep builds)")
            return write(_temp_cache() / name)

    loaded = sys.modules.get(_modname(path))
    loaded_file = getattr(loaded, "__file__", None)
    if loaded is not None and loaded_file:
        return loaded, Path(loaded_file), True  # (possibly from a temporary directory)
    hit, fresh = False, False
    if path.exists() and not _intact(path):
        _warn(f"cached module {str(path)!r} is incomplete or altered; regenerating it")
        path, fresh = write(path), True
    elif path.exists():
        hit = True
    else:
        path, fresh = write(path), True
    try:
        return load_module(path), path, hit
    except Exception as exc:  # noqa: BLE001  (corrupt numba cache, or a module that does not import)
        first = exc
    # recovery: numba's cache files first (the module itself may be intact), then the module
    stale = (path.parent / "__pycache__").is_dir() and any((path.parent / "__pycache__").glob(f"{path.stem}.*.nb[ic]"))
    if fresh and not stale:
        raise ModelError(f"generated code for model {model.name!r} failed to compile ({path}): "
                         f"{type(first).__name__}: {first}") from first
    _warn(f"cached build of model {model.name!r} failed to load ({type(first).__name__}: {first}); rebuilding it")
    _clear_numba_cache(path)
    try:
        return load_module(path), path, False
    except Exception as exc:  # noqa: BLE001
        first = exc
    if not fresh:
        _clear_numba_cache(path)
        path = write(path)
        try:
            return load_module(path), path, False
        except Exception as exc:  # noqa: BLE001
            first = exc
    raise ModelError(f"generated code for model {model.name!r} failed to compile ({path}): "
                     f"{type(first).__name__}: {first}") from first
