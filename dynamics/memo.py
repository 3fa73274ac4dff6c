"""Disk memo for slow symbolic derivations.

``memo(name, version, args, fn)`` returns ``fn()``, computing it once per
(name, version, args, sympy version) and keeping the pickled result under
``$DYNAMICS_CACHE_DIR/derived``. A derivation that takes seconds cold then loads in a
fraction of a second in a new process. Bump ``version`` whenever ``fn`` changes.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from typing import TypeVar

import sympy

from dynamics.codegen import cache_dir

__all__ = ["memo"]

T = TypeVar("T")


def memo(name: str, version: str, args: tuple[object, ...], fn: Callable[[], T]) -> T:
    """``fn()``, memoised on disk by ``(name, version, args)``; a corrupt entry is recomputed."""
    key = hashlib.sha256(repr((name, version, args, sympy.__version__)).encode()).hexdigest()[:20]
    path = cache_dir() / "derived" / f"{name}_{key}.pkl"
    if path.exists():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001  (stale or truncated entry: recompute)
            pass
    value = fn()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return value
