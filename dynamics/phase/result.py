"""The result of a sweep: :class:`PhaseResult`, its files (``.npz`` + ``.json``, written
atomically) and the checks made when a file is read back."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dynamics.phase.axis import Axis
from dynamics.trajectory import _npz_json_paths, library_versions, to_jsonable

__all__ = [
    "PhaseResult",
    "PhaseFileError",
    "POINT_PENDING",
    "POINT_DONE",
    "POINT_FAILED",
    "POINT_STATES",
    "FORMAT",
]

# The state of a sweep point, stored per point in the ``status`` array of a phase file.
# (Not the batch solver's status codes: dynamics.batch.OK is 0, a solved point.)
POINT_PENDING, POINT_DONE, POINT_FAILED = 0, 1, 2
# the names used in the file's "counts" (the format's words, unchanged since format 1)
POINT_STATES = {POINT_PENDING: "pending", POINT_DONE: "ok", POINT_FAILED: "failed"}
FORMAT = "dynamics.phase/1"
# the configuration keys that identify a sweep (a resume must match all of them)
_IDENTITY = ("model", "spec", "x", "y", "fixed", "y0", "params", "classify", "t_max",
             "n_points", "rtol", "atol", "schedule", "options")


class PhaseFileError(ValueError):
    """A phase result file that cannot be read, is incomplete, or whose two halves
    (``.npz`` arrays, ``.json`` description) do not belong together."""



@dataclass
class _PointResult:
    index: int
    status: int
    cls: int = -1
    quantities: dict[str, float] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    method: str = ""
    solver: str = ""  # the solver that produced the point ("integrate", "batch")
    fallback: dict[str, str] | None = None  # {"from", "to", "reason"} if the solver fell back



@dataclass
class PhaseResult:
    """Points of a sweep with their classes, measured quantities, status and errors.

    Points are addressed by fractional grid indices ``ix`` (and ``iy`` for 2-D): the base
    grid has integer indices, refinement adds midpoints (``level`` = refinement round, 0 for
    the base grid). ``x``, ``y`` are the axis values, ``classes`` is -1 where a point is
    pending or failed.
    """

    x_axis: Axis
    y_axis: Axis | None
    ix: np.ndarray
    iy: np.ndarray
    level: np.ndarray
    classes: np.ndarray
    status: np.ndarray
    errors: list[str]
    quantities: dict[str, np.ndarray]
    labels: dict[int, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seconds: np.ndarray | None = None

    # ---------------------------------------------------------------- construction
    @classmethod
    def empty(
        cls, x: Axis, y: Axis | None, config: dict[str, Any], labels: dict[int, str]
    ) -> PhaseResult:
        if y is None:
            ix, iy = np.arange(x.n, dtype=float), np.zeros(x.n)
        else:
            gx, gy = np.meshgrid(
                np.arange(x.n, dtype=float), np.arange(y.n, dtype=float), indexing="ij"
            )
            ix, iy = gx.ravel(), gy.ravel()
        n = ix.size
        return cls(
            x,
            y,
            ix,
            iy,
            np.zeros(n, dtype=int),
            np.full(n, -1),
            np.zeros(n, dtype=int),
            [""] * n,
            {},
            labels,
            config,
            np.zeros(n),
        )

    def add_points(self, ix: np.ndarray, iy: np.ndarray, level: int) -> np.ndarray:
        """Append pending points; returns their indices."""
        k = len(ix)
        start = self.n_points
        self.ix = np.concatenate([self.ix, ix])
        self.iy = np.concatenate([self.iy, iy])
        self.level = np.concatenate([self.level, np.full(k, level, dtype=int)])
        self.classes = np.concatenate([self.classes, np.full(k, -1)])
        self.status = np.concatenate([self.status, np.zeros(k, dtype=int)])
        self.errors.extend([""] * k)
        self.seconds = np.concatenate([self._secs(), np.zeros(k)])
        for q in self.quantities:
            self.quantities[q] = np.concatenate([self.quantities[q], np.full(k, np.nan)])
        return np.arange(start, start + k)

    def _secs(self) -> np.ndarray:
        return self.seconds if self.seconds is not None else np.zeros(self.n_points)

    def record(self, r: _PointResult) -> None:
        """Store point ``r.index``'s outcome and count its integration method. A point solved
        by a fallback sets ``config["solver"]`` to the solver that ran it and
        ``config["fallback"]`` to why."""
        i = r.index
        if r.fallback:
            self.config["solver"] = r.solver
            self.config["fallback"] = dict(r.fallback)
        if r.method:  # how many points each integration method solved
            methods = self.config.setdefault("methods", {})
            methods[r.method] = int(methods.get(r.method, 0)) + 1
        self.status[i] = r.status
        self.classes[i] = r.cls if r.status == POINT_DONE else -1
        self.errors[i] = r.error
        secs = self._secs()
        secs[i] = r.seconds
        self.seconds = secs
        for k, v in r.quantities.items():
            if k not in self.quantities:
                self.quantities[k] = np.full(self.n_points, np.nan)
            self.quantities[k][i] = v

    # ------------------------------------------------------------------ properties
    @property
    def n_points(self) -> int:
        return int(self.ix.size)

    @property
    def ndim(self) -> int:
        return 1 if self.y_axis is None else 2

    @property
    def x(self) -> np.ndarray:
        return self.x_axis.value(self.ix)

    @property
    def y(self) -> np.ndarray | None:
        return None if self.y_axis is None else self.y_axis.value(self.iy)

    @property
    def done(self) -> np.ndarray:
        """Boolean mask of points that are done or failed (not pending)."""
        return self.status != POINT_PENDING

    @property
    def complete(self) -> bool:
        return bool(np.all(self.done))

    def grid(self) -> np.ndarray:
        """Classes on the base grid: shape (nx,) or (nx, ny), -1 where pending or failed.

        Indexed ``grid()[i, j]`` = the point at ``x_axis.values[i]``, ``y_axis.values[j]``:
        the first index runs along x. To draw it with x horizontal (``imshow``,
        ``pcolormesh``), pass the transpose, ``grid().T``, as :meth:`plot` does.
        """
        base = self.level == 0
        ix = self.ix[base].astype(int)
        if self.y_axis is None:
            out = np.full(self.x_axis.n, -1)
            out[ix] = self.classes[base]
            return out
        out = np.full((self.x_axis.n, self.y_axis.n), -1)
        out[ix, self.iy[base].astype(int)] = self.classes[base]
        return out

    def label(self, c: int) -> str:
        return self.labels.get(int(c), f"class {int(c)}")

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """``PATH.npz`` (points, classes, status, errors, quantities ``q/<name>``) + ``.json``."""
        arrays: dict[str, np.ndarray] = {
            "ix": self.ix,
            "iy": self.iy,
            "level": self.level,
            "x": self.x,
            "classes": self.classes,
            "status": self.status,
            "seconds": self._secs(),
            "errors": np.array(self.errors if self.errors else [""], dtype=str)[: self.n_points],
            "x_values": self.x_axis.values,
        }
        if self.y_axis is not None:
            arrays["y"] = self.y_axis.value(self.iy)
            arrays["y_values"] = self.y_axis.values
        for k, v in self.quantities.items():
            arrays[f"q/{k}"] = v
        meta = {
            "format": FORMAT,
            "x_axis": self.x_axis.to_dict(),
            "y_axis": None if self.y_axis is None else self.y_axis.to_dict(),
            "labels": {str(k): v for k, v in self.labels.items()},
            "quantities": list(self.quantities),
            "config": self.config,
            "counts": {POINT_STATES[s]: int(np.sum(self.status == s)) for s in POINT_STATES},
        }
        return _save_pair(path, arrays, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PhaseResult:
        """Load what :meth:`save` (or :func:`sweep` with ``out=``) wrote.

        The arrays are checked against the axes and the configuration (a base grid of
        ``nx * ny`` points, indices inside the axes, stored axis values equal to the axes',
        one entry per point in every array), and the ``.json`` description against the one
        stored in the ``.npz``. Raises :class:`PhaseFileError` (a ``ValueError``) naming the
        file for a missing, truncated, foreign or mismatched file.
        """
        npz, js = _npz_json_paths(path)
        remedy = "delete both files (or use another output path) to start the sweep afresh"

        def bad(what: str, f: Path = npz) -> PhaseFileError:
            return PhaseFileError(f"{f}: {what}; {remedy}")

        if not npz.exists():
            if js.exists():
                raise bad(f"the arrays file is missing (only {js.name} exists)", js)
            raise PhaseFileError(f"no phase result {npz} (nor {js.name})")
        try:
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: np.array(data[k]) for k in data.files}
        except Exception as exc:
            raise bad(f"not a readable phase result: damaged, truncated or not written by "
                      f"dynamics ({type(exc).__name__})") from None
        embedded = arrays.pop("meta_json", None)
        meta: Any = None
        if embedded is not None:
            try:
                meta = json.loads(str(embedded))
            except ValueError:
                raise bad("its embedded description is not valid JSON") from None
        side: Any = None
        if js.exists():
            try:
                side = json.loads(js.read_text()).get("meta")
            except (ValueError, OSError, AttributeError) as exc:
                if meta is None:
                    raise bad(f"not a readable phase description ({type(exc).__name__})",
                              js) from None
                side = None  # a damaged sidecar: the npz carries its own description
        elif meta is None:
            raise bad(f"its description {js.name} is missing")
        if meta is None:
            meta = side
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            fmt = meta.get("format") if isinstance(meta, dict) else None
            raise bad(f"not a phase-diagram file (format {fmt!r}, expected {FORMAT!r})",
                      js if embedded is None else npz)
        if isinstance(side, dict) and side is not meta:
            sc, mc = side.get("config", {}), meta.get("config", {})
            diff = [k for k in ("x_axis", "y_axis") if side.get(k) != meta.get(k)]
            if isinstance(sc, dict) and isinstance(mc, dict):
                diff += [k for k in _IDENTITY if sc.get(k) != mc.get(k)]
            if diff:
                raise bad(f"does not belong with {js.name} (they differ in {', '.join(diff)})")
        try:
            xa = Axis(**meta["x_axis"])
            ya = Axis(**meta["y_axis"]) if meta.get("y_axis") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"bad or missing axis description ({type(exc).__name__}: {exc})") from None
        missing = [k for k in ("ix", "iy", "level", "classes", "status", "errors")
                   if k not in arrays]
        if missing:
            raise bad(f"incomplete: no array(s) {missing}")
        n = arrays["ix"].size
        problem = _check_arrays(arrays, xa, ya, meta.get("config", {}), n)
        if problem:
            raise bad(problem)
        errors = [str(e) for e in arrays["errors"]][:n] if n else []
        quantities = {k[2:]: arrays[k].astype(float) for k in arrays if k.startswith("q/")}
        labels_raw = meta.get("labels", {})
        return cls(
            xa,
            ya,
            arrays["ix"].astype(float),
            arrays["iy"].astype(float),
            arrays["level"].astype(int),
            arrays["classes"].astype(int),
            arrays["status"].astype(int),
            errors,
            quantities,
            {int(k): str(v) for k, v in labels_raw.items()} if isinstance(labels_raw, dict) else {},
            dict(meta.get("config") or {}),
            arrays["seconds"].astype(float) if "seconds" in arrays else np.zeros(n),
        )

    def plot(self, path: str | os.PathLike[str] | None = None, quantity: str | None = None) -> Any:
        """Draw the diagram; save to ``path`` if given. Returns the matplotlib figure.

        2-D: the base grid's classes as a ``pcolormesh`` (failed/pending points hatched out
        in grey), refined points as dots in their class colour, a legend of class labels.
        1-D: class vs ``x`` (top) and ``quantity`` (default: the first measured one) vs ``x``.
        """
        from dynamics.phase.plot import plot_result

        return plot_result(self, path, quantity)


def _check_arrays(
    arrays: Mapping[str, np.ndarray], xa: Axis, ya: Axis | None, config: Any, n: int
) -> str | None:
    """What is wrong with a loaded sweep's arrays given its axes and configuration, or None."""
    for k, v in arrays.items():
        if k in ("errors", "x_values", "y_values"):
            continue
        if v.shape != (n,):
            return f"array {k!r} has shape {v.shape}, expected ({n},) (one entry per point)"
    if arrays["errors"].ndim != 1 or arrays["errors"].size < n:
        return f"array 'errors' has {arrays['errors'].size} entries for {n} points"
    try:
        ix, iy = arrays["ix"].astype(float), arrays["iy"].astype(float)
        level, status = arrays["level"].astype(int), arrays["status"].astype(int)
        classes = arrays["classes"].astype(int)
    except (TypeError, ValueError):
        return "non-numeric point arrays"
    ny = 1 if ya is None else ya.n
    if not (np.all(np.isfinite(ix)) and np.all(np.isfinite(iy))):
        return "non-finite grid indices"
    if np.any(ix < 0) or np.any(ix > xa.n - 1) or np.any(iy < 0) or np.any(iy > ny - 1):
        return f"grid indices outside the axes ({xa}" + (f", {ya})" if ya else ")")
    if ya is None and np.any(iy != 0):
        return "a 1-D sweep with y indices"
    if np.any(level < 0) or np.any(~np.isin(status, list(POINT_STATES))):
        return "invalid level or status values"
    if np.any((status == POINT_DONE) & (classes < 0)):
        return "points marked ok without a class"
    base = level == 0
    cells = {(float(a), float(b)) for a, b in zip(ix[base], iy[base], strict=True)}
    expect = {(float(a), float(b)) for a in range(xa.n) for b in range(ny)}
    if int(base.sum()) != xa.n * ny or cells != expect:
        return (f"its {int(base.sum())} base-grid points do not match the axes "
                f"({xa.n} x {ny} = {xa.n * ny} points)")
    for name, ax, idx in (("x", xa, ix), ("y", ya, iy)):
        if ax is None:
            continue
        if name in arrays and not np.allclose(arrays[name], ax.value(idx), rtol=1e-9, atol=0):
            return f"its {name} values do not match the axis {ax}"
        vals = arrays.get(f"{name}_values")
        if vals is not None and (vals.shape != (ax.n,) or not np.allclose(vals, ax.values)):
            return f"its {name} grid values do not match the axis {ax}"
    if isinstance(config, dict):
        for key, ax in (("x", xa), ("y", ya)):
            if key in config and config[key] != (None if ax is None else ax.to_dict()):
                return f"its configured {key} axis differs from the stored axis"
    return None


@functools.cache
def _versions() -> dict[str, str]:
    """:func:`~dynamics.trajectory.library_versions`, read once per process (reading package
    metadata costs milliseconds, and a sweep saves after every chunk)."""
    return library_versions()


def _save_pair(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> tuple[Path, Path]:
    """``PATH.npz`` (with the description embedded) then ``PATH.json``, each written to a
    temporary name private to this process and renamed (so neither an interrupted write nor
    a second process saving to the same path leaves a partial or mixed file)."""
    npz, js = _npz_json_paths(path)
    npz.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: np.asarray(v) for k, v in arrays.items()}
    doc = {
        "format": "dynamics.arrays/1",
        "arrays": sorted(clean),
        "meta": to_jsonable(dict(meta)),
        "versions": _versions(),
    }
    clean["meta_json"] = np.array(json.dumps(doc["meta"]))
    with _atomic(npz) as f:
        np.savez(f, **clean)  # type: ignore[arg-type]
    with _atomic(js) as f:
        f.write(json.dumps(doc, indent=2).encode())
    return npz, js


_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[Any]:
    """A binary file object on a per-process temporary name beside ``target``, renamed to
    ``target`` on success and removed on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{os.getpid()}.tmp",
                               dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary open() would create it
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


