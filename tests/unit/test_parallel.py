"""dynamics.parallel: process map equals the serial map, errors name the job."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dynamics.parallel import map_processes

from . import _interrupt


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


def _parent_watch(x: int) -> tuple[int, bool, int]:
    import ctypes
    import signal
    import threading

    sig = ctypes.c_int(0)
    ctypes.CDLL("libc.so.6").prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    names = {t.name for t in threading.enumerate()}
    return os.getppid(), "dynamics-parent-watch" in names, sig.value == signal.SIGKILL


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="prctl is Linux-only")
def test_workers_are_set_to_die_with_their_parent() -> None:
    """Each worker has PR_SET_PDEATHSIG = SIGKILL and a watchdog thread on this process
    (the kill -9 case itself: tests/faults/test_sweeps.py)."""
    out = map_processes(_parent_watch, [0, 1], workers=2)
    assert all(r == (os.getpid(), True, True) for r in out), out
    # negative control: this (test) process has no watchdog thread
    assert _parent_watch(0)[1] is False


def test_map_processes_errors() -> None:
    with pytest.raises(RuntimeError, match="job 1 of 2 failed: ValueError: negative input"):
        map_processes(_square_with_env, [1, -1], workers=2)
    with pytest.raises(ValueError, match="workers"):
        map_processes(_square_with_env, [1], workers=0)


# ------------------------------------------------------------------------------- Ctrl-C
JOBS = '''
import os, sys, time

def slow(x):
    time.sleep(0.4)
    return x
'''

MAIN = '''
import sys
from dynamics.parallel import map_processes
import jobs

if __name__ == "__main__":
    try:
        map_processes(jobs.slow, list(range(60)), workers=2,
                      progress=lambda i, x, r: print("done", i, flush=True))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print("finished", flush=True)
'''


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_ctrl_c_stops_the_pool_at_once_and_leaves_no_worker(tmp_path: Path) -> None:
    """SIGINT to the process group (a terminal's Ctrl-C) ends the map promptly: without the
    explicit stop, leaving the pool's ``with`` block waited for all 60 jobs (12 s of work on
    2 workers); the workers ignore SIGINT and are terminated and reaped by the parent."""
    (tmp_path / "jobs.py").write_text(JOBS)
    proc = _interrupt.start(MAIN, tmp_path)
    lines: list[str] = []

    def first_job_done() -> bool:
        line = proc.stdout.readline() if proc.stdout else ""
        lines.append(line)
        return line.startswith("done")

    _interrupt.wait_until(first_job_done, proc, timeout=120)
    t0 = time.monotonic()
    _interrupt.interrupt_group(proc)
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in out and "finished" not in out
    assert out.count("done") + sum(line.count("done") for line in lines) < 60
    # 58+ jobs x 0.4 s / 2 workers would be >= 11 s; a prompt stop takes well under 5
    assert elapsed < 5.0, f"took {elapsed:.1f} s to stop"
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 10
    while _interrupt.live_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _interrupt.live_in_group(proc.pid) == []
