"""Helpers for the Ctrl-C tests: run a script in its own process group, interrupt it like a
terminal does (SIGINT to the whole group), and check that no process of the group is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(script: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Run ``script`` (Python source) with ``tmp_path`` on the path, in a new process group."""
    path = tmp_path / "interrupt_script.py"
    path.write_text(script)
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(tmp_path), *filter(None, [full_env.get("PYTHONPATH")])]
    )
    return subprocess.Popen(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a terminal's program starts with SIGINT at its default; a suite launched in the
        # background (`cmd &` in a non-interactive shell) would hand down SIGINT ignored
        preexec_fn=_default_sigint,
    )


def wait_until(cond: Callable[[], bool], proc: subprocess.Popen[str], timeout: float) -> None:
    """Poll ``cond`` until true; fail (with the script's output) if the script ends first."""
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"script ended early (rc {proc.returncode}):\n{out}\n{err}")
        if time.monotonic() - t0 > timeout:
            interrupt_group(proc, signal.SIGKILL)
            raise AssertionError(f"condition not reached within {timeout} s")
        time.sleep(0.1)


def interrupt_group(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> None:
    """What a terminal's Ctrl-C does: the signal to every process of the foreground group."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def live_in_group(pgid: int) -> list[int]:
    """Pids of the non-zombie processes in process group ``pgid`` (Linux ``/proc``)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(d.name))
    return pids
