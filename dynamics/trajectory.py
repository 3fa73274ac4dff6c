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
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.npyio import NpzFile

from dynamics.validate import positive_float

__all__ = [
    "Trajectory",
    "flow_time",
    "library_versions",
    "to_jsonable",
    "save_arrays",
    "load_arrays",
    "TrajectoryFileError",
    "TRAJECTORY_FORMAT",
    "ARRAYS_FORMAT",
]

#: Format tag written to a trajectory's JSON (name/version); :meth:`Trajectory.load` reads
#: this version and earlier ones (files from before the tag existed included).
TRAJECTORY_FORMAT = "dynamics.Trajectory/1"
#: Format tag of :func:`save_arrays` files; :func:`load_arrays` reads this version and older.
ARRAYS_FORMAT = "dynamics.arrays/1"


class TrajectoryFileError(ValueError):
    """A saved trajectory or array file is unreadable, foreign, truncated or from a newer
    format version. The message names the file and what is wrong."""


def flow_time(step: np.ndarray | int | float, lr: float) -> np.ndarray:
    r"""Convert iteration counts to flow time, $t = \eta \cdot \mathrm{step}$.

    This is the only place the conversion lives: gradient descent with step size
    $\eta$ is the explicit Euler discretisation of the gradient flow, so step $k$ sits at
    flow time $\eta k$.
    """
    lr = positive_float("learning rate", lr)
    return np.asarray(step, dtype=float) * lr


def library_versions() -> dict[str, str]:
    """Versions of Python, of this package and of the numerical libraries, for result metadata.

    ``"dynamics"`` is the version of the running package itself (``dynamics.__version__``),
    not read from installed metadata: the distribution is named ``transformer-dynamics``,
    and an unrelated distribution named ``dynamics`` exists.
    """
    import importlib.metadata as md

    from dynamics import __version__

    out = {"python": platform.python_version(), "dynamics": __version__}
    for pkg in ("numpy", "scipy", "sympy", "numba", "matplotlib"):
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


def _tmp_name(path: Path) -> Path:
    """A per-process temporary name next to ``path`` (hidden, so never taken for a result)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:  # a file object: numpy appends no suffix
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = _tmp_name(path)
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_REMEDY = "delete it (and its .npz/.json partner) and rerun what wrote it"


def _read_doc(js: Path, expect: str) -> dict[str, Any]:
    """The JSON half of a saved pair, with its format tag checked against ``expect``
    (``"dynamics.Trajectory"`` or ``"dynamics.arrays"``); a missing tag is an old file."""
    try:
        doc = json.loads(js.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrajectoryFileError(
            f"{js}: not valid JSON ({exc}); the file is truncated or was not written by dynamics: {_REMEDY}"
        ) from None
    except OSError as exc:
        raise TrajectoryFileError(f"{js}: cannot be read: {exc.strerror or exc}") from None
    if not isinstance(doc, dict):
        raise TrajectoryFileError(f"{js}: expected a JSON object, got {type(doc).__name__}: {_REMEDY}")
    fmt = doc.get("format")
    if fmt is None:
        return doc  # written before the format tag existed
    current = TRAJECTORY_FORMAT if expect == "dynamics.Trajectory" else ARRAYS_FORMAT
    name, _, ver = str(fmt).partition("/")
    if name != expect:
        hint = (" (a saved-arrays file: read it with dynamics.trajectory.load_arrays)"
                if name == "dynamics.arrays" else
                " (a trajectory: read it with Trajectory.load)" if name == "dynamics.Trajectory" else "")
        raise TrajectoryFileError(f"{js}: format {fmt!r} is not {current!r}{hint}")
    try:
        version = int(ver)
    except ValueError:
        raise TrajectoryFileError(f"{js}: unreadable format version in {fmt!r}") from None
    supported = int(current.partition("/")[2])
    if version > supported:
        raise TrajectoryFileError(
            f"{js}: format version {version} is newer than this dynamics reads ({supported}); "
            "upgrade dynamics to load it"
        )
    return doc


def _read_npz(npz: Path, keys: Sequence[str] | None) -> dict[str, np.ndarray]:
    """Arrays ``keys`` (all when None) of ``npz``, never unpickling; one clear error otherwise."""
    try:
        data = np.load(npz, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # numpy suggests pickle for any file that is neither npy nor zip: not the problem here
        raise TrajectoryFileError(
            f"{npz}: not a readable .npz archive (truncated, corrupt or not written by dynamics; "
            f"{type(exc).__name__}): {_REMEDY}"
        ) from None
    if not isinstance(data, NpzFile):
        raise TrajectoryFileError(f"{npz}: holds a single array, not an .npz archive: {_REMEDY}")
    with data:
        files = list(data.files)
        want = files if keys is None else list(keys)
        missing = [k for k in want if k not in files]
        if missing:
            raise TrajectoryFileError(
                f"{npz}: missing array(s) {missing} (has {files}); the .npz and .json do not "
                f"belong together or the file is foreign: {_REMEDY}"
            )
        try:
            return {k: np.array(data[k]) for k in want}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise TrajectoryFileError(
                f"{npz}: an array cannot be read (truncated or corrupt archive; "
                f"{type(exc).__name__}): {_REMEDY}"
            ) from None


def _str_list(doc: dict[str, Any], key: str, js: Path) -> list[str]:
    v = doc.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TrajectoryFileError(
            f"{js}: field {key!r} must be a list of names, got {v!r:.80}; "
            f"not a dynamics trajectory file: {_REMEDY}"
        )
    return v


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
        _write_npz_atomic(npz, arrays)
        doc = {
            "format": TRAJECTORY_FORMAT,
            "names": list(self.names),
            "observables": list(self.observables),
            "stats": to_jsonable(self.stats),
            "meta": to_jsonable(self.meta),
            "versions": library_versions(),
        }
        _write_text_atomic(js, json.dumps(doc, indent=2))
        return npz, js

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trajectory:
        """Load a trajectory written by :meth:`save` (give ``PATH``, ``PATH.npz`` or ``PATH.json``).

        Raises
        ------
        FileNotFoundError
            If either file is missing.
        TrajectoryFileError
            (a ``ValueError``) naming the file and the problem: not JSON / not an npz
            (truncated or foreign), a different format or a newer format version, missing
            fields or arrays, or arrays that do not form a trajectory.
        """
        npz, js = _npz_json_paths(path)
        if not npz.exists():
            raise FileNotFoundError(f"no trajectory data file {npz}")
        if not js.exists():
            raise FileNotFoundError(f"no trajectory metadata file {js}")
        doc = _read_doc(js, "dynamics.Trajectory")
        names = _str_list(doc, "names", js)
        observables = _str_list(doc, "observables", js)
        keys = {"t": "t", "y": "y"}
        keys.update({f"obs:{k}": "loss" if k == "loss" else f"obs/{k}" for k in observables})
        data = _read_npz(npz, list(dict.fromkeys(keys.values())))
        obs = {k: data[keys[f"obs:{k}"]] for k in observables}
        stats, meta = doc.get("stats", {}), doc.get("meta", {})
        if not isinstance(stats, dict) or not isinstance(meta, dict):
            raise TrajectoryFileError(f"{js}: 'stats' and 'meta' must be JSON objects: {_REMEDY}")
        try:
            return cls(data["t"], data["y"], tuple(names), obs, dict(stats), dict(meta))
        except ValueError as exc:
            raise TrajectoryFileError(f"{npz}: the saved arrays do not form a trajectory ({exc}): {_REMEDY}") from None


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
    _write_npz_atomic(npz, clean)
    doc = {
        "format": ARRAYS_FORMAT,
        "arrays": sorted(clean),
        "meta": to_jsonable(dict(meta or {})),
        "versions": library_versions(),
    }
    _write_text_atomic(js, json.dumps(doc, indent=2))
    return npz, js


def load_arrays(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load what :func:`save_arrays` wrote: ``(arrays, doc)`` with ``doc["meta"]`` and versions.

    Raises :class:`FileNotFoundError` if a file is missing and :class:`TrajectoryFileError`
    (a ``ValueError``) naming the file when it is truncated, foreign, of another format or
    a newer format version, or when the .npz lacks arrays the .json lists.
    """
    npz, js = _npz_json_paths(path)
    for p in (npz, js):
        if not p.exists():
            raise FileNotFoundError(f"no saved result file {p}")
    doc = _read_doc(js, "dynamics.arrays")
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise TrajectoryFileError(f"{js}: 'meta' must be a JSON object, got {type(meta).__name__}: {_REMEDY}")
    listed = doc.get("arrays")
    if listed is not None:
        listed = _str_list(doc, "arrays", js)
    arrays = _read_npz(npz, None)
    if listed is not None and set(listed) - set(arrays):
        raise TrajectoryFileError(
            f"{npz}: lacks array(s) {sorted(set(listed) - set(arrays))} that {js.name} lists; the "
            f"two files do not belong together: {_REMEDY}"
        )
    return arrays, doc
