"""Independent jobs in local worker processes (training runs, sweeps).

:func:`map_processes` runs ``fn(item)`` for every item in *spawned* worker processes, each
with one BLAS/OpenMP thread (set through the environment before the interpreters start, so
two workers do not fight over threads) and glibc told to keep freed memory (numpy training
loops otherwise fault their temporaries back in at every step). Results come back in the
order of ``items`` and equal a serial run when every job owns its seeded generators. For
sweeps larger than one machine, see the Dask backend (optional extra ``distributed``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["map_processes", "default_workers", "keep_freed_memory", "die_with_parent"]

T = TypeVar("T")
R = TypeVar("R")

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_workers() -> int:
    """Up to 2 workers (the cores of a small machine), never more than the CPUs."""
    return max(1, min(2, os.cpu_count() or 1))


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the OS (worker processes only).

    Training steps allocate temporaries of 0.5-2 MB; by default glibc unmaps them when freed,
    so the next step faults them in again (``benchmarks/bench_musat_step.py`` measures the
    effect, "malloc no-trim"). A no-op where glibc's ``mallopt`` is unavailable.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` (its parent) ends, however it ends.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill this process when its
    parent dies (even by ``kill -9``). As a fallback (other systems, or a failed prctl) a
    daemon thread checks every 0.5 s that the parent is still this process's parent and
    exits at once when it is not. If the parent is already gone, exits now.
    """
    import ctypes
    import threading

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # died before the prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="dynamics-parent-watch", daemon=True).start()


def _worker_init(parent: int | None = None) -> None:
    """Worker start-up: Ctrl-C is the parent's to handle (it stops the pool); die with the
    parent (:func:`die_with_parent`); then :func:`keep_freed_memory`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        die_with_parent(parent)
    keep_freed_memory()


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel the pending jobs, terminate the workers and reap them (no orphans)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


def map_processes(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int | None = None,
    progress: Callable[[int, T, R], None] | None = None,
) -> list[R]:
    """``[fn(x) for x in items]`` in ``workers`` spawned processes (default :func:`default_workers`).

    ``fn`` and the items must be picklable (a module-level function and plain data).
    ``progress(i, item, result)`` is called in the parent as each job finishes. With one
    worker (or one item) everything runs in this process, in order. An exception in a job is
    re-raised here, naming the job's index.

    Ctrl-C (``KeyboardInterrupt`` in this process; the workers ignore SIGINT, so a terminal's
    Ctrl-C to the whole process group reaches only the parent) and a failed job stop the pool
    at once: jobs not yet started are cancelled and the workers are terminated and reaped, so
    nothing keeps running after the exception propagates. Results already passed to
    ``progress`` stay delivered. The workers also die with this process if it is killed
    (``kill -9``, or a signal it does not handle): :func:`die_with_parent`.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    n = min(len(items), workers if workers is not None else default_workers())
    if n <= 1:
        out: list[R] = []
        for i, x in enumerate(items):
            out.append(fn(x))
            if progress is not None:
                progress(i, x, out[-1])
        return out
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})  # read by the spawned interpreters at import
    results: dict[int, R] = {}
    try:
        pool = cf.ProcessPoolExecutor(
            n, mp_context=mp.get_context("spawn"), initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            futs = {pool.submit(fn, x): i for i, x in enumerate(items)}
            for f in cf.as_completed(futs):
                i = futs[f]
                try:
                    results[i] = f.result()
                except Exception as exc:
                    raise RuntimeError(
                        f"job {i} of {len(items)} failed: {type(exc).__name__}: {exc}"
                    ) from exc
                if progress is not None:
                    progress(i, items[i], results[i])
        except BaseException:
            # Ctrl-C (or a failed job): stop now. A plain ``with`` block would wait for every
            # queued job to finish; instead cancel what has not started and end the workers.
            _stop(pool)
            raise
        pool.shutdown(wait=True)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return [results[i] for i in range(len(items))]
