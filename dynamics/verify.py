"""Running a derivation's verification: the context it writes through, and the summary."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from dynamics.claims import Claim, apply_findings, tally
from dynamics.registry import Derivation
from dynamics.trajectory import Trajectory, library_versions, save_arrays, to_jsonable

__all__ = ["VerifyContext", "run_verify", "record_error", "output_dir_problem"]


def output_dir_problem(path: Path) -> str | None:
    """Why results cannot be written into directory ``path`` (creating it and its parents if
    needed), or None when they can: checked by creating and removing a probe file, so a
    read-only directory, a path under ``/proc`` or an existing file in the way is found
    before any work starts."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{path} exists and is not a directory (remove it or choose another --out)"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create output directory {path}: {exc.strerror or exc} (choose another --out)"
    probe = path / f".write-probe.{os.getpid()}.tmp"
    try:
        probe.write_bytes(b"")
    except OSError as exc:
        return f"cannot write into output directory {path}: {exc.strerror or exc} (choose another --out)"
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    return None


def _write_atomic(path: Path, text: str) -> None:
    """Write ``path`` through a per-process temporary name in its directory, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    """``OUT/NAME/summary.json``, atomically."""
    _write_atomic(out_dir / "summary.json", json.dumps(summary, indent=2))


def record_error(name: str, out_root: Path, error: str, *, title: str = "") -> dict[str, Any]:
    """Write and return the summary of a model that could not run at all (e.g. its plugin
    fails to load): no claims, ``passed`` false and ``error`` set, so the report and the
    exit code count it as a model error while the other models go on."""
    out_dir = Path(out_root) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "name": name,
        "title": title,
        "claims": [],
        "config": {},
        "timings_s": {"total": 0.0},
        "versions": library_versions(),
        "passed": False,
        "counts": tally([]),
        "error": error,
        "unmatched_findings": [],
        "figures": [],
        "figure_info": {},
        "trajectories": [],
        "reconstructed": [],
        "notes": [],
    }
    _write_summary(out_dir, summary)
    return summary


class VerifyContext:
    """What a derivation's ``verify`` receives.

    Attributes
    ----------
    name : str
    out_dir : Path
        ``OUT/NAME``: figures, trajectories and ``summary.json`` go here.
    quick : bool
        Smaller settings, same claims.
    seed : int
        Base seed; use :meth:`rng` for generators.
    config : dict
        Fill with the configuration used (written to ``summary.json``).
    timings : dict
        Seconds per stage (filled by :meth:`stage`).
    settings : dataclass instance or None
        The derivation's settings with any ``--set`` overrides applied.
    claims : list of Claim
        Claims kept even if a later stage raises: a derivation that appends its claims
        here as it computes them (``claims = ctx.claims`` ... ``return claims``), or
        yields them from a generator, loses none of them to an error in a later stage;
        :func:`run_verify` reports them next to the error.
    failed_stage : str or None
        The label of the innermost :meth:`stage` an exception left, if any.
    """

    def __init__(
        self,
        name: str,
        out_dir: Path,
        *,
        quick: bool = False,
        seed: int = 0,
        verbose: bool = True,
        settings: Any = None,
    ) -> None:
        self.name = name
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.quick = quick
        self.seed = seed
        self.verbose = verbose
        self.config: dict[str, Any] = {"quick": quick, "seed": seed}
        self.timings: dict[str, float] = {}
        self.figures: list[str] = []
        self.figure_info: dict[str, dict[str, Any]] = {}
        self.trajectories: list[str] = []
        self.notes: list[str] = []
        self.settings = settings
        self.claims: list[Claim] = []
        self.failed_stage: str | None = None

    def log(self, msg: str) -> None:
        """One progress line on stderr."""
        if self.verbose:
            print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """Time a stage, printing a line when it starts and when it ends."""
        self.log(f"{label} ...")
        t0 = time.perf_counter()
        try:
            yield
        except BaseException:
            if self.failed_stage is None:  # the innermost stage sees the exception first
                self.failed_stage = label
            raise
        finally:
            dt = time.perf_counter() - t0
            self.timings[label] = self.timings.get(label, 0.0) + dt
            self.log(f"{label}: {dt:.1f} s")

    def rng(self, offset: int = 0) -> np.random.Generator:
        """A generator seeded from ``seed`` and ``offset``."""
        return np.random.default_rng([self.seed, offset])

    def save_trajectory(self, key: str, traj: Trajectory) -> Path:
        """Save as ``OUT/NAME/KEY.npz`` + ``.json``."""
        npz, _ = traj.save(self.out_dir / key)
        self.trajectories.append(npz.name)
        return npz

    def save_arrays(
        self, key: str, arrays: Mapping[str, Any], meta: Mapping[str, Any] | None = None
    ) -> Path:
        """Save named arrays as ``OUT/NAME/KEY.npz`` + ``.json`` (meta and library versions);
        reload with :func:`dynamics.trajectory.load_arrays`."""
        npz, _ = save_arrays(self.out_dir / key, arrays, meta)
        self.trajectories.append(npz.name)
        return npz

    def save_figure(self, key: str, fig: Any, *, caption: str = "", claims: Sequence[str] = ()) -> Path:
        """Save a matplotlib figure as ``OUT/NAME/KEY.png`` (atomically) and close it.

        Parameters
        ----------
        caption : str
            What to look at in the figure; shown under it in the report.
        claims : sequence of str
            Ids of the claims the figure supports: the report shows it next to them.
        """
        import matplotlib.pyplot as plt

        path = self.out_dir / f"{key}.png"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
            tmp.replace(path)
        finally:
            plt.close(fig)
            tmp.unlink(missing_ok=True)
        self.figures.append(path.name)
        self.figure_info[path.name] = {"caption": caption, "claims": list(claims)}
        return path

    def note(self, text: str) -> None:
        """A remark shown in the report (what is reconstructed, what was seen)."""
        self.notes.append(text)


def run_verify(
    d: Derivation,
    out_root: Path,
    *,
    quick: bool = False,
    seed: int = 0,
    verbose: bool = True,
    settings: Any = None,
) -> dict[str, Any]:
    """Run ``d.verify`` and write ``OUT/NAME/summary.json``; return the summary.

    The derivation's registered findings are attached to its claims by id (see
    :mod:`dynamics.claims` for the three verdicts). The summary's ``passed`` is true when
    the model ran, returned claims and none of them is a ``"fail"``; ``counts`` holds the
    number of claims per verdict. An exception inside the derivation is recorded as an
    ``error`` in the summary (and counts as a failure) instead of aborting the other models;
    the claims computed before it are kept and reported with their verdicts (those in
    ``ctx.claims`` and those a generator ``verify`` yielded), and the error names the
    stage that raised. A stale ``error.txt`` from an earlier run is removed first, so the
    folder's error file always belongs to this run.
    """
    import matplotlib

    matplotlib.use("Agg")
    ctx = VerifyContext(
        d.name, Path(out_root) / d.name, quick=quick, seed=seed, verbose=verbose, settings=settings
    )
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        ctx.config["settings"] = dataclasses.asdict(settings)
    (ctx.out_dir / "error.txt").unlink(missing_ok=True)  # a stale one from an earlier run
    t0 = time.perf_counter()
    error = None
    try:
        returned = d.verify(ctx)
        # a generator's claims are kept as they come; a returned list adds those not
        # already in ctx.claims (a derivation may return ctx.claims itself)
        for c in returned if isinstance(returned, Iterator) else list(returned):
            if not any(c is k for k in ctx.claims):
                ctx.claims.append(c)
    except Exception as exc:  # recorded, reported, counted as failure
        error = f"{type(exc).__name__}: {exc}"
        if ctx.failed_stage is not None:
            error += f" (in stage {ctx.failed_stage!r})"
        ctx.log(f"ERROR {error}")
        _write_atomic(ctx.out_dir / "error.txt", traceback.format_exc())
    claims = list(ctx.claims)
    ctx.timings["total"] = time.perf_counter() - t0
    claims, unmatched = apply_findings(claims, d.findings)
    for c in claims:
        ctx.log(str(c))
        if c.verdict == "fail":  # a failing line says what was compared
            ctx.log(f"    {c.statement}")
    for f in unmatched:
        ctx.log(f"registered finding for {f.claim!r}, which this run did not produce")
    counts = tally([c.verdict for c in claims])
    summary = {
        "name": d.name,
        "title": d.title,
        "claims": [c.to_dict() for c in claims],
        "config": to_jsonable(ctx.config),
        "timings_s": to_jsonable(ctx.timings),
        "versions": library_versions(),
        "passed": error is None and bool(claims) and counts["fail"] == 0,
        "counts": counts,
        "error": error,
        "unmatched_findings": [f.to_dict() for f in unmatched],
        "figures": ctx.figures,
        "figure_info": ctx.figure_info,
        "trajectories": ctx.trajectories,
        "reconstructed": list(d.reconstructed),
        "notes": ctx.notes,
    }
    if error is None and not claims:
        summary["error"] = "the derivation returned no claims"
    _write_summary(ctx.out_dir, summary)
    return summary
