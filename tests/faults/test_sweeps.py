"""Fault injection for sweeps (``dynamics phase``): mismatched and damaged phase files,
signals to real sweep processes, two sweeps into one ``--out``, interrupted figure and
result writes, and bad sweep input.

Each class asserts the documented behaviour: one line naming the file or parameter and
exit 2 for bad usage or a bad file, exit 143 (SIGTERM) with a resumable partial file, no
worker left alive after the parent dies, no partial or temporary file. Negative controls
check that the good case still passes each check.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import psutil
import pytest

from dynamics import phase
from dynamics.cli import main
from dynamics.phase import (
    POINT_DONE,
    POINT_FAILED,
    POINT_PENDING,
    Axis,
    PhaseFileError,
    PhaseResult,
    SweepBusyError,
    sweep,
)

sweep_module = importlib.import_module("dynamics.phase.sweep")  # the module, not the function

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                  os.environ.get("PYTHONPATH")]))}


def _result(n: int, fixed: float = 3.0, done: bool = True) -> PhaseResult:
    """An n-point 1-D result over s1 (no solve), as sweep() would write it."""
    xa = Axis("s1", 0.5, 4.0, n)
    config = {"model": "saxe2014", "x": xa.to_dict(), "y": None, "fixed": {"s2": fixed},
              "classify": "learnable", "t_max": 10.0}
    res = PhaseResult.empty(xa, None, config, {0: "not learned", 1: "learned"})
    if done:
        res.status[:] = POINT_DONE
        res.classes[:] = np.arange(n) % 2
    return res


def _one_line_naming(capsys: pytest.CaptureFixture[str], name: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert name in err, err
    return err


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if ".tmp" in p.name)


# ----------------------------------------------------------------- mismatched file pairs
def test_npz_of_one_sweep_next_to_json_of_another_is_refused(tmp_path: Path) -> None:
    _result(4).save(tmp_path / "a" / "phase")
    _result(6).save(tmp_path / "b" / "phase")
    assert PhaseResult.load(tmp_path / "b" / "phase").n_points == 6  # negative control
    shutil.copy(tmp_path / "a" / "phase.npz", tmp_path / "b" / "phase.npz")
    with pytest.raises(PhaseFileError, match=r"phase\.npz.*(x_axis|belong)") as e:
        PhaseResult.load(tmp_path / "b" / "phase")
    assert "\n" not in str(e.value) and "delete" in str(e.value)


def test_same_axes_other_configuration_is_refused(tmp_path: Path) -> None:
    _result(4, fixed=3.0).save(tmp_path / "a" / "phase")
    _result(4, fixed=1.0).save(tmp_path / "b" / "phase")
    shutil.copy(tmp_path / "a" / "phase.json", tmp_path / "b" / "phase.json")
    with pytest.raises(PhaseFileError, match="fixed"):
        PhaseResult.load(tmp_path / "b" / "phase")


def _strip_embedded(npz: Path) -> None:
    """A file as written before the description was embedded in the npz."""
    with np.load(npz) as d:
        arrays = {k: d[k] for k in d.files if k != "meta_json"}
    np.savez(npz, **arrays)


def test_legacy_npz_checked_against_the_axes(tmp_path: Path) -> None:
    _result(4).save(tmp_path / "a" / "phase")
    _result(6).save(tmp_path / "b" / "phase")
    _strip_embedded(tmp_path / "a" / "phase.npz")
    assert PhaseResult.load(tmp_path / "a" / "phase").n_points == 4  # legacy file still loads
    shutil.copy(tmp_path / "a" / "phase.npz", tmp_path / "b" / "phase.npz")
    with pytest.raises(PhaseFileError, match="base-grid points do not match"):
        PhaseResult.load(tmp_path / "b" / "phase")


def test_legacy_npz_with_the_same_size_but_other_values_is_refused(tmp_path: Path) -> None:
    _result(4).save(tmp_path / "a" / "phase")
    other = _result(4)
    other.x_axis = Axis("s1", 1.0, 2.0, 4)
    other.config["x"] = other.x_axis.to_dict()
    other.save(tmp_path / "b" / "phase")
    _strip_embedded(tmp_path / "a" / "phase.npz")
    shutil.copy(tmp_path / "a" / "phase.npz", tmp_path / "b" / "phase.npz")
    with pytest.raises(PhaseFileError, match="x values do not match"):
        PhaseResult.load(tmp_path / "b" / "phase")


def test_arrays_that_disagree_with_the_axes_are_refused(tmp_path: Path) -> None:
    res = _result(5)
    res.ix = res.ix.copy()
    res.ix[-1] = 7.0  # outside the 5-point axis
    res.save(tmp_path / "phase")
    with pytest.raises(PhaseFileError, match="outside the axes"):
        PhaseResult.load(tmp_path / "phase")


def test_resume_from_a_mismatched_pair_is_refused_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _result(4).save(tmp_path / "a" / "phase")
    out = tmp_path / "b"
    _result(6).save(out / "phase")
    shutil.copy(tmp_path / "a" / "phase.npz", out / "phase.npz")
    argv = ["phase", "saxe2014", "--x", "s1=0.5:4:6", "--set", "s2=3", "--t-max", "10",
            "--out", str(out), "--quiet", "--workers", "1"]
    assert main(argv) == 2
    _one_line_naming(capsys, str(out / "phase.npz"))


# -------------------------------------------------------------------- damaged phase files
def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _pickled(p: Path) -> None:
    np.save(open(p, "wb"), np.array([{"a": 1}], dtype=object), allow_pickle=True)


DAMAGE = {
    "truncated npz": ("phase.npz", _truncate),
    "empty npz": ("phase.npz", lambda p: p.write_bytes(b"")),
    "garbage npz": ("phase.npz", lambda p: p.write_bytes(b"\x00garbage" * 50)),
    "pickled npz": ("phase.npz", _pickled),
    "npz missing": ("phase.npz", lambda p: p.unlink()),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_npz_gives_one_line_naming_the_file(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _result(4).save(tmp_path / "phase")
    name, damage = DAMAGE[case]
    damage(tmp_path / name)
    with pytest.raises(PhaseFileError) as e:
        PhaseResult.load(tmp_path / "phase")
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "phase") in msg and "delete" in msg
    assert "pickle" not in msg.lower()


@pytest.mark.parametrize("content", ["{not json", '{"meta": {"format": "dynamics.phase/1"}}',
                                     '{"meta": {"format": "something/1"}}', "[]"])
def test_bad_json_with_a_legacy_npz_names_the_file(tmp_path: Path, content: str) -> None:
    _result(4).save(tmp_path / "phase")
    _strip_embedded(tmp_path / "phase.npz")
    (tmp_path / "phase.json").write_text(content)
    with pytest.raises(PhaseFileError) as e:
        PhaseResult.load(tmp_path / "phase")
    assert "\n" not in str(e.value) and str(tmp_path / "phase") in str(e.value)


def test_npz_without_point_arrays_is_incomplete(tmp_path: Path) -> None:
    _result(4).save(tmp_path / "phase")
    with np.load(tmp_path / "phase.npz") as d:
        arrays = {k: d[k] for k in d.files if k != "status"}
    np.savez(tmp_path / "phase.npz", **arrays)
    with pytest.raises(PhaseFileError, match="incomplete"):
        PhaseResult.load(tmp_path / "phase")


def test_damaged_file_in_out_is_exit_2_with_the_file_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "phase.npz").write_bytes(b"PK\x03\x04 truncated")
    argv = ["phase", "saxe2014", "--x", "s1=0.5:4:3", "--t-max", "10", "--out", str(tmp_path),
            "--quiet", "--workers", "1"]
    assert main(argv) == 2
    assert zipfile.is_zipfile(tmp_path / "phase.npz") is False  # left alone, not overwritten
    _one_line_naming(capsys, "phase.npz")


# --------------------------------------------------------------- atomic, per-process writes
def test_interrupted_saves_keep_the_old_file_and_leave_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _result(4).save(tmp_path / "phase")
    before = (tmp_path / "phase.npz").read_bytes()

    def dies(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dies)
    with pytest.raises(KeyboardInterrupt):
        _result(4, done=False).save(tmp_path / "phase")
    assert (tmp_path / "phase.npz").read_bytes() == before
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    assert PhaseResult.load(tmp_path / "phase").complete


def test_figure_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.figure

    res = _result(4)
    res.plot(tmp_path / "phase.png")
    good = (tmp_path / "phase.png").read_bytes()
    assert good[:4] == b"\x89PNG"
    real = matplotlib.figure.Figure.savefig

    def half_then_kill(self: object, f: object, **kw: object) -> None:
        assert hasattr(f, "write"), "savefig must go to a temporary file, not the target"
        f.write(b"\x89PN")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", half_then_kill)
    with pytest.raises(KeyboardInterrupt):
        res.plot(tmp_path / "phase.png")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", real)
    assert (tmp_path / "phase.png").read_bytes() == good
    assert _leftovers(tmp_path) == []


# ------------------------------------------------------------- two sweeps into one --out
def test_second_sweep_into_the_same_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl

    argv = ["phase", "saxe2014", "--x", "s1=0.5:4:3", "--t-max", "10", "--out", str(tmp_path),
            "--quiet", "--workers", "1"]
    fd = os.open(tmp_path / "phase.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a running sweep holds it
        assert main(argv) == 2
        err = _one_line_naming(capsys, "another sweep")
        assert "phase.lock" in err
        assert not (tmp_path / "phase.npz").exists()
        with pytest.raises(SweepBusyError):
            sweep("saxe2014", "s1=0.5:4:3", t_max=10, out=tmp_path / "phase", workers=1,
                  progress=False)
    finally:
        os.close(fd)
    assert main(argv) == 0  # negative control: free lock, the sweep runs
    assert PhaseResult.load(tmp_path / "phase").complete


def test_unwritable_output_is_a_value_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ValueError, match="cannot write the sweep output.*choose a writable"):
        sweep("saxe2014", "s1=0.5:4:3", t_max=10, out=tmp_path / "file" / "phase",
              workers=1, progress=False)


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--x", "s1=0.5:4:1000000", "--y", "s2=1:2:1000"], "cap"),
        (["--x", "s1=0.5:4:1000001"], "cap"),
        (["--x", "s1=0.5:4:3", "--classify", "order:u1,u2:nan"], "level"),
        (["--x", "s1=0.5:4:3", "--classify", "order:u1,u2:inf"], "level"),
        (["--x", "s1=0.5:4:3", "--classify", "learnable:nan"], "fraction"),
        (["--x", "s1=0.5:4:3", "--classify", "stage:u1,u2:nan"], "fraction"),
    ],
)
def test_bad_sweep_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    t0 = time.perf_counter()
    assert main(["phase", "saxe2014", *extra, "--t-max", "10", "--out", str(tmp_path),
                 "--quiet"]) == 2
    assert time.perf_counter() - t0 < 30  # refused up front, no billion-point allocation
    _one_line_naming(capsys, words)
    assert not (tmp_path / "phase.npz").exists()


def test_cap_is_exact() -> None:
    with pytest.raises(ValueError, match="cap"):
        sweep("saxe2014", Axis("s1", 0.5, 4, 1001), Axis("s2", 1, 2, 1000), t_max=10)
    assert phase.MAX_POINTS == 10**6


@pytest.mark.parametrize(
    ("kw", "name"),
    [({"rtol": -1}, "rtol"), ({"rtol": float("nan")}, "rtol"), ({"atol": 0}, "atol"),
     ({"atol": "1e-9"}, "atol"), ({"n_points": 1}, "n_points")],
)
def test_sweep_api_validates_tolerances(kw: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        sweep("saxe2014", "s1=0.5:4:3", t_max=10, progress=False, workers=1, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("two_d", [False, True])
def test_all_failed_sweep_plots(tmp_path: Path, two_d: bool) -> None:
    xa = Axis("s1", 0.5, 4, 3)
    res = PhaseResult.empty(xa, Axis("s2", 1, 2, 2) if two_d else None, {}, {})
    res.status[:] = POINT_FAILED
    res.errors[:] = ["RuntimeError: boom"] * res.n_points
    res.plot(tmp_path / "phase.png")
    assert (tmp_path / "phase.png").read_bytes()[:4] == b"\x89PNG"


def test_all_failed_2d_sweep_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(tr: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(sweep_module, "make_classifier", lambda c: boom)
    argv = ["phase", "saxe2014", "--x", "s1=0.5:4:2", "--y", "s2=1:2:2", "--t-max", "10",
            "--out", str(tmp_path), "--quiet", "--workers", "1"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "4 failed" in captured.out and "Traceback" not in captured.err
    assert (tmp_path / "phase.png").stat().st_size > 0


# ------------------------------------------------------------------------------ signals
SIGNAL_ARGS = ["phase", "saxe2014", "--x", "s1=0.5:4:1500", "--t-max", "1000", "--quiet",
               "--workers", "2"]


def _start_sweep(out: Path) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """A real ``dynamics phase`` with two worker processes, once both are running. Its
    output goes to files (``OUT.stderr``): a surviving worker holding a pipe would hang the
    test instead of failing it."""
    proc = subprocess.Popen([sys.executable, "-m", "dynamics.cli", *SIGNAL_ARGS, "--out",
                             str(out)], stdout=subprocess.DEVNULL,
                            stderr=open(f"{out}.stderr", "wb"), env=ENV, cwd=REPO)
    parent = psutil.Process(proc.pid)
    t0 = time.monotonic()
    while True:
        workers = [c for c in parent.children(recursive=True)
                   if "spawn_main" in " ".join(c.cmdline()) and "resource_tracker"
                   not in " ".join(c.cmdline())]
        if len(workers) >= 2:
            break
        if proc.poll() is not None or time.monotonic() - t0 > 90:
            proc.kill()
            proc.wait()
            err = Path(f"{out}.stderr").read_text()
            pytest.fail(f"no workers started (rc {proc.returncode}): {err[-2000:]}")
        time.sleep(0.1)
    time.sleep(1.0)  # let the workers start working
    return proc, workers


def _assert_all_gone(procs: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        p.kill()
    assert not alive, f"workers survived their parent: {[p.pid for p in alive]}"


def test_kill_9_of_the_sweep_leaves_no_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc, workers = _start_sweep(tmp_path)
    assert all(w.is_running() for w in workers)  # negative control: they were alive
    # a second sweep into the same --out while the first runs: one line, exit 2
    assert main([*SIGNAL_ARGS, "--out", str(tmp_path)]) == 2
    _one_line_naming(capsys, "another sweep")
    assert proc.poll() is None  # and the first goes on
    proc.kill()
    proc.wait(timeout=30)
    _assert_all_gone(workers)
    res = PhaseResult.load(tmp_path / "phase")  # the last save is a valid file
    assert res.n_points == 1500 and not res.complete


def test_sigterm_saves_stops_and_resumes(tmp_path: Path) -> None:
    proc, workers = _start_sweep(tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    err = Path(f"{tmp_path}.stderr").read_text()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert "partial result" in err and "rerun to resume" in err and "phase.npz" in err
    _assert_all_gone(workers)
    part = PhaseResult.load(tmp_path / "phase")
    assert np.any(part.status == POINT_PENDING)
    done = part.done.copy()
    r = subprocess.run([sys.executable, "-m", "dynamics.cli", *SIGNAL_ARGS, "--out",
                        str(tmp_path)], capture_output=True, text=True, env=ENV, cwd=REPO,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    full = PhaseResult.load(tmp_path / "phase")
    assert full.complete and full.n_points == 1500
    assert np.array_equal(full.classes[done], part.classes[done])
    assert json.loads((tmp_path / "phase.json").read_text())["meta"]["counts"]["ok"] == 1500


def test_ctrl_c_during_start_up_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "_model_spec", interrupted)
    argv = ["phase", "saxe2014", "--x", "s1=0.5:4:3", "--t-max", "10", "--out", str(tmp_path),
            "--quiet"]
    assert main(argv) == 130
    err = _one_line_naming(capsys, "interrupted")
    assert "nothing was written" in err
