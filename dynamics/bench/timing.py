r"""Timing, tables and environment helpers shared by ``dynamics bench`` and ``benchmarks/``."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["loadavg", "best_of", "best_of_interleaved", "table", "verdict", "environment", "machine_line", "write_json"]


def loadavg() -> float | None:
    """The 1-minute load average (``None`` where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def best_of(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Wall time of ``fn()``: best and median of ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best": min(times), "median": statistics.median(times), "repeats": repeats}


def best_of_interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int
) -> dict[str, dict[str, float]]:
    """Like :func:`best_of` for several calls, timed round-robin (one call of each per
    round), so that a burst of load from elsewhere hits every variant alike. No warm-up."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {
        k: {"best": min(v), "median": statistics.median(v), "repeats": repeats}
        for k, v in times.items()
    }


def verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return "PASS" if ok else "MISS"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain left-aligned text table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """Machine and library versions, recorded with every result."""
    import numba
    import scipy

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sympy": sp.__version__,
        "numba": numba.__version__,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_1min": loadavg(),
    }


def machine_line() -> str:
    """One line naming the machine, the versions and the current load (timings are noisy
    when the load average approaches the number of cores)."""
    e = environment()
    load = f"{e['loadavg_1min']:.2f}" if e["loadavg_1min"] is not None else "n/a"
    return (
        f"{e['cpu']} ({e['cpu_count']} cores, load {load}); python {e['python']}, "
        f"numpy {e['numpy']}, scipy {e['scipy']}, sympy {e['sympy']}, numba {e['numba']}"
    )


def write_json(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` with the :func:`environment` to ``path`` (prints ``wrote PATH``)."""
    out = {"environment": environment(), **payload}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2, default=float)
        fh.write("\n")
    print(f"wrote {path}")
