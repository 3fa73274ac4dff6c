"""The one result type shared by integrated flows and direct training.

A :class:`Trajectory` holds flow time ``t`` (never steps: see :func:`flow_time`), the
state ``y`` in named reduced coordinates, named observables (always including ``loss``)
and free-form solver statistics and configuration. It saves to ``PATH.npz`` (arrays) plus
``PATH.json`` (names, stats, config and library versions) and loads back unchanged.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Trajectory",
    "flow_time",
    "library_versions",
    "to_jsonable",
    "save_arrays",
    "load_arrays",
]


def flow_time(step: np.ndarray | int | float, lr: float) -> np.ndarray:
    r"""Convert iteration counts to flow time, $t = \eta \cdot \mathrm{step}$.

    This is the only place the conversion lives: gradient descent with step size
    $\eta$ is the explicit Euler discretisation of the gradient flow, so step $k$ sits at
    flow time $\eta k$.
    """
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive finite number, got {lr!r}")
    return np.asarray(step, dtype=float) * float(lr)


def library_versions() -> dict[str, str]:
    """Versions of Python and of the numerical libraries, for result metadata."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("dynamics", "numpy", "scipy", "sympy", "numba", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def to_jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays and tuples into JSON-serialisable values.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so that the
    output is strict JSON.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        x = float(obj)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(obj, str | int) or obj is None:
        return obj
    return str(obj)


def _npz_json_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".npz", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".npz"), p.with_name(p.name + ".json")


@dataclass(frozen=True)
class Trajectory:
    """Time series of a reduced state and its observables.

    Parameters
    ----------
    t : ndarray, shape (T,)
        Flow time, non-decreasing.
    y : ndarray, shape (T, n)
        State in the reduced coordinates ``names``.
    names : tuple of str
        Coordinate names, ``len(names) == n``.
    observables : dict of str to ndarray of shape (T,)
        Named scalar observables; ``"loss"`` is required.
    stats : dict
        Solver or trainer statistics (number of steps, RHS evaluations, method, ...).
    meta : dict
        Configuration that produced the trajectory (model, parameters, schedule, ...).

    Examples
    --------
    >>> import numpy as np
    >>> tr = Trajectory(np.array([0.0, 1.0]), np.zeros((2, 1)), ("a",),
    ...                 {"loss": np.array([1.0, 0.5])})
    >>> tr["a"].shape, tr.loss[-1]
    ((2,), 0.5)
    """

    t: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    observables: dict[str, np.ndarray]
    stats: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.t, dtype=float)
        y = np.asarray(self.y, dtype=float)
        names = tuple(str(n) for n in self.names)
        if t.ndim != 1:
            raise ValueError(f"Trajectory.t must be 1-D, got shape {t.shape}")
        if y.ndim == 1 and len(names) == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape != (t.size, len(names)):
            raise ValueError(
                f"Trajectory.y must have shape (len(t), len(names)) = ({t.size}, {len(names)}), "
                f"got {y.shape}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"Trajectory coordinate names must be unique, got {names}")
        if t.size > 1 and np.any(np.diff(t) < 0):
            raise ValueError("Trajectory.t must be non-decreasing")
        obs: dict[str, np.ndarray] = {}
        for k, v in self.observables.items():
            a = np.asarray(v, dtype=float)
            if a.shape != t.shape:
                raise ValueError(f"observable {k!r} has shape {a.shape}, expected {t.shape}")
            obs[str(k)] = a
        if "loss" not in obs:
            raise ValueError("a Trajectory needs a 'loss' observable")
        clash = set(obs) & set(names)
        if clash:
            raise ValueError(f"observable names clash with coordinate names: {sorted(clash)}")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "observables", obs)
        object.__setattr__(self, "stats", dict(self.stats))
        object.__setattr__(self, "meta", dict(self.meta))

    # ------------------------------------------------------------------ access
    @property
    def loss(self) -> np.ndarray:
        """The ``loss`` observable, shape (T,)."""
        return self.observables["loss"]

    def __len__(self) -> int:
        return int(self.t.size)

    def __getitem__(self, name: str) -> np.ndarray:
        """A coordinate (column of ``y``) or an observable, by name."""
        if name in self.observables:
            return self.observables[name]
        try:
            return self.y[:, self.names.index(name)]
        except ValueError:
            known = list(self.names) + list(self.observables)
            raise KeyError(f"unknown coordinate or observable {name!r}; known: {known}") from None

    def keys(self) -> list[str]:
        """All coordinate and observable names."""
        return list(self.names) + list(self.observables)

    def at(self, t: float | np.ndarray, name: str) -> np.ndarray:
        """Linear interpolation of ``name`` at flow time(s) ``t`` (inside the time span)."""
        t = np.asarray(t, dtype=float)
        if np.any(t < self.t[0]) or np.any(t > self.t[-1]):
            raise ValueError(f"time outside the trajectory span [{self.t[0]}, {self.t[-1]}]")
        return np.interp(t, self.t, self[name])

    def select(self, names: Sequence[str]) -> np.ndarray:
        """Stack named coordinates/observables as columns, shape (T, len(names))."""
        return np.column_stack([self[n] for n in names])

    # --------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.npz`` (arrays ``t``, ``y``, ``loss``, every coordinate and observable)
        and ``PATH.json`` (names, stats, meta, library versions). Returns both paths.

        Files are written to a temporary name and renamed, so an interrupted save never
        leaves a truncated file behind.
        """
        npz, js = _npz_json_paths(path)
        npz.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"t": self.t, "y": self.y}
        for i, n in enumerate(self.names):
            arrays[f"coord/{n}"] = self.y[:, i]
        for k, v in self.observables.items():
            arrays[k if k == "loss" else f"obs/{k}"] = v
        tmp = npz.with_name(npz.name + ".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, npz)
        doc = {
            "format": "dynamics.Trajectory/1",
            "names": list(self.names),
            "observables": list(self.observables),
            "stats": to_jsonable(self.stats),
            "meta": to_jsonable(self.meta),
            "versions": library_versions(),
        }
        tmpj = js.with_name(js.name + ".tmp")
        tmpj.write_text(json.dumps(doc, indent=2))
        os.replace(tmpj, js)
        return npz, js

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trajectory:
        """Load a trajectory written by :meth:`save` (give ``PATH``, ``PATH.npz`` or ``PATH.json``)."""
        npz, js = _npz_json_paths(path)
        if not npz.exists():
            raise FileNotFoundError(f"no trajectory data file {npz}")
        if not js.exists():
            raise FileNotFoundError(f"no trajectory metadata file {js}")
        doc = json.loads(js.read_text())
        with np.load(npz) as data:
            obs = {
                k: np.array(data["loss" if k == "loss" else f"obs/{k}"]) for k in doc["observables"]
            }
            t = np.array(data["t"])
            y = np.array(data["y"])
        return cls(
            t, y, tuple(doc["names"]), obs, dict(doc.get("stats", {})), dict(doc.get("meta", {}))
        )


def save_arrays(
    path: str | os.PathLike[str],
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write named arrays to ``PATH.npz`` and ``meta`` plus library versions to ``PATH.json``.

    For results that are not a :class:`Trajectory` (training runs, sweeps, tables). Both
    files are written to a temporary name and renamed, so an interrupted save never leaves a
    truncated file. Reload with :func:`load_arrays`.
    """
    npz, js = _npz_json_paths(path)
    npz.parent.mkdir(parents=True, exist_ok=True)
    clean: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype == object:
            raise ValueError(f"array {k!r} has dtype object; only numeric/str arrays can be saved")
        clean[k] = a
    tmp = npz.with_name(npz.name + ".tmp.npz")
    np.savez(tmp, **clean)  # type: ignore[arg-type]
    os.replace(tmp, npz)
    doc = {
        "format": "dynamics.arrays/1",
        "arrays": sorted(clean),
        "meta": to_jsonable(dict(meta or {})),
        "versions": library_versions(),
    }
    tmpj = js.with_name(js.name + ".tmp")
    tmpj.write_text(json.dumps(doc, indent=2))
    os.replace(tmpj, js)
    return npz, js


def load_arrays(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load what :func:`save_arrays` wrote: ``(arrays, doc)`` with ``doc["meta"]`` and versions."""
    npz, js = _npz_json_paths(path)
    for p in (npz, js):
        if not p.exists():
            raise FileNotFoundError(f"no saved result file {p}")
    doc = json.loads(js.read_text())
    with np.load(npz) as data:
        arrays = {k: np.array(data[k]) for k in data.files}
    return arrays, doc
