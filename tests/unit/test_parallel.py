"""dynamics.parallel: process map equals the serial map, errors name the job."""

from __future__ import annotations

import os

import pytest

from dynamics.parallel import map_processes


def _square_with_env(x: int) -> tuple[int, str | None]:
    if x < 0:
        raise ValueError("negative input")
    return x * x, os.environ.get("OPENBLAS_NUM_THREADS")


def test_map_processes_matches_serial_and_sets_one_thread() -> None:
    seen: list[int] = []
    par = map_processes(_square_with_env, [3, 1, 2], workers=2, progress=lambda i, x, r: seen.append(i))
    assert [r[0] for r in par] == [9, 1, 4] and sorted(seen) == [0, 1, 2]
    assert all(r[1] == "1" for r in par)  # workers run with one BLAS thread
    assert [r[0] for r in map_processes(_square_with_env, [3, 1, 2], workers=1)] == [9, 1, 4]


def test_map_processes_errors() -> None:
    with pytest.raises(RuntimeError, match="job 1 of 2 failed: ValueError: negative input"):
        map_processes(_square_with_env, [1, -1], workers=2)
    with pytest.raises(ValueError, match="workers"):
        map_processes(_square_with_env, [1], workers=0)
