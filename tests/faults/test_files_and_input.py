"""Fault injection: output files of verify/bench, trajectory files, plugins, API input.

Each fault class has cases of its own and a negative control, and asserts the documented
behaviour: one clear line (no traceback) and exit 2 for bad usage, a recorded model error
(exit 1) for a broken plugin, one clear error naming the file for a bad saved file, no
partial or temporary file after an interrupted write.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from dynamics import registry
from dynamics.claims import check
from dynamics.cli import main
from dynamics.model import ModelError, ReducedModel
from dynamics.registry import Derivation, DerivationLoadError
from dynamics.report import load_summaries
from dynamics.trajectory import Trajectory, TrajectoryFileError, load_arrays, save_arrays

REPO = Path(__file__).resolve().parents[2]


def _model() -> ReducedModel:
    a = sp.Symbol("a", real=True)
    return ReducedModel.from_loss("tiny", [a], [], a**2 / 2)


def _derivation(name: str, calls: list[str] | None = None) -> Derivation:
    """A derivation whose verify is instant (no solver): one claim that holds."""

    def verify(ctx):  # type: ignore[no-untyped-def]
        if calls is not None:
            calls.append(name)
        return [check(f"{name}.one", "one is one", 1.0, 1.0, tol=1e-12, why="exact")]

    return Derivation(name, f"instant model {name}", _model, verify)


@pytest.fixture
def models(monkeypatch):  # type: ignore[no-untyped-def]
    """Runtime models 'good-a' and 'good-b', plus entry points that fail to import / are not
    Derivations (no installed plugin needed)."""
    calls: list[str] = []
    monkeypatch.setattr(registry, "_RUNTIME", {})
    registry.register(_derivation("good-a", calls))
    registry.register(_derivation("good-b", calls))
    eps = {
        "broken-import": md.EntryPoint("broken-import", "no_such_module_xyz_15:D", registry.GROUP),
        "not-a-derivation": md.EntryPoint("not-a-derivation", "json:dumps", registry.GROUP),
    }
    monkeypatch.setattr(registry, "_entry_points", lambda: eps)
    return calls


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------ corrupt summary.json
@pytest.mark.parametrize("content", [
    b'{"name": "old", "claims": [',          # truncated
    b"\x00\xff\x13 garbage",                 # binary
    b"[1, 2, 3]",                            # JSON, not a summary
    b'{"name": "old", "claims": [{"verdict": "pass"}]}',  # claims without ids
    b"",                                     # empty
])
def test_corrupt_summary_elsewhere_is_skipped_with_a_warning(models, tmp_path, capsys, content):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_bytes(content)
    code = main(["verify", "good-a", "--out", str(tmp_path), "--quiet"])
    cap = capsys.readouterr()
    assert code == 0  # this run's model passed: the stale corrupt file does not change that
    warning = [ln for ln in cap.err.splitlines() if "warning" in ln]
    assert len(warning) == 1 and str(tmp_path / "old" / "summary.json") in warning[0]
    assert "Traceback" not in cap.err
    html = (tmp_path / "index.html").read_text()
    assert "good-a.one" in html  # the report of the run that just finished is there
    assert "summary unreadable" in html and "old" in html  # and notes the skipped file


def test_valid_summaries_load_without_warning(models, tmp_path, capsys):  # negative control
    assert main(["verify", "good-a", "good-b", "--out", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    got = load_summaries(tmp_path)
    assert [s["name"] for s in got] == ["good-a", "good-b"] and not any(s.get("unreadable") for s in got)
    assert "warning" not in capsys.readouterr().err


# ------------------------------------------------------------------ unwritable outputs
def test_out_under_proc_is_one_line_exit_2_before_any_work(models, capsys):
    assert main(["verify", "good-a", "--out", "/proc/dynamics-x", "--quiet"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "/proc/dynamics-x" in line
    assert models == []  # nothing ran


def test_out_name_is_a_file_is_one_line_exit_2_before_any_work(models, tmp_path, capsys):
    (tmp_path / "good-b").write_text("in the way")
    assert main(["verify", "good-a", "good-b", "--out", str(tmp_path), "--quiet"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(tmp_path / "good-b") in line and "not a directory" in line
    assert models == []  # good-a was not run before the problem with good-b was found


def test_out_inside_a_file_is_one_line_exit_2(models, tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["verify", "good-a", "--out", str(f / "sub"), "--quiet"]) == 2
    assert str(f) in _one_line(capsys.readouterr().err)
    assert models == []


def test_writable_out_runs(models, tmp_path, capsys):  # negative control
    assert main(["verify", "good-a", "--out", str(tmp_path / "new" / "dir"), "--quiet"]) == 0
    assert models == ["good-a"]
    assert not [p for p in (tmp_path / "new" / "dir").rglob("*") if ".tmp" in p.name]


@pytest.fixture
def fake_bench(monkeypatch):  # type: ignore[no-untyped-def]
    import dynamics.bench

    ran: list[int] = []

    def run(points, *, quick=False, json_path=None, progress=print):  # type: ignore[no-untyped-def]
        ran.append(points)
        assert json_path is None  # the CLI writes the file itself, atomically
        return {"ratio": 1.5, "points": points}

    monkeypatch.setattr(dynamics.bench, "run", run)
    return ran


@pytest.mark.parametrize("target, words", [
    ("/proc/dynamics-bench.json", "cannot write"),
    ("{tmp}/missing/b.json", "does not exist"),
    ("{tmp}", "is a directory"),
])
def test_bench_json_unwritable_fails_before_the_benchmark(fake_bench, tmp_path, capsys, target, words):
    assert main(["bench", "--quick", "--json", target.format(tmp=tmp_path)]) == 2
    assert words in _one_line(capsys.readouterr().err)
    assert fake_bench == []  # the benchmark never started


def test_bench_json_is_written_atomically(fake_bench, tmp_path, capsys):
    target = tmp_path / "b.json"
    assert main(["bench", "--quick", "--json", str(target)]) == 0
    assert json.loads(target.read_text()) == {"ratio": 1.5, "points": 32}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


def test_bench_json_failed_write_keeps_the_old_file(monkeypatch, tmp_path, capsys):
    import dynamics.bench

    monkeypatch.setattr(dynamics.bench, "run", lambda *a, **k: {"bad": object()})
    target = tmp_path / "b.json"
    target.write_text('{"old": 1}')
    assert main(["bench", "--quick", "--json", str(target)]) == 1
    assert "cannot write --json" in _one_line(capsys.readouterr().err)
    assert target.read_text() == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


# ------------------------------------------------------------------ trajectory files
def _traj() -> Trajectory:
    t = np.linspace(0.0, 1.0, 5)
    return Trajectory(t, np.column_stack([t, -t]), ("a", "b"), {"loss": 1 - t}, {"n": 1}, {"m": "x"})


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _npy(p: Path) -> None:
    with open(p, "wb") as fh:
        np.save(fh, np.zeros(3))


def _foreign_npz(p: Path) -> None:
    with open(p, "wb") as fh:
        np.savez(fh, other=np.zeros(2))


def _newer(p: Path) -> None:
    doc = json.loads(p.read_text())
    doc["format"] = doc["format"].split("/")[0] + "/99"
    p.write_text(json.dumps(doc))


TRAJ_FAULTS = {
    "truncated npz": ("npz", _truncate, "not a readable .npz"),
    "garbage npz": ("npz", lambda p: p.write_bytes(b"not a zip at all" * 8), "not a readable .npz"),
    "npy not npz": ("npz", _npy, "not an .npz archive"),
    "truncated json": ("json", _truncate, "not valid JSON"),
    "binary json": ("json", lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "not valid JSON"),
    "foreign json": ("json", lambda p: p.write_text('{"hello": "world"}'), "field 'names'"),
    "newer version": ("json", _newer, "newer than this dynamics reads"),
    "foreign npz": ("npz", _foreign_npz, "missing array"),
}


@pytest.mark.parametrize("fault", sorted(TRAJ_FAULTS))
def test_bad_trajectory_file_is_one_clear_error_naming_it(tmp_path, fault):
    which, corrupt, words = TRAJ_FAULTS[fault]
    npz, js = _traj().save(tmp_path / "run")
    bad = npz if which == "npz" else js
    corrupt(bad)
    with pytest.raises(TrajectoryFileError) as info:
        Trajectory.load(tmp_path / "run")
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(bad) in msg and words in msg and "\n" not in msg
    assert "pickle" not in msg.lower()


def test_mismatched_trajectory_pair_is_refused(tmp_path):
    _traj().save(tmp_path / "one")
    t = np.linspace(0.0, 1.0, 7)
    Trajectory(t, t[:, None], ("a",), {"loss": t}).save(tmp_path / "two")
    os.replace(tmp_path / "two.npz", tmp_path / "one.npz")  # 7 points, one coordinate
    with pytest.raises(TrajectoryFileError, match="do not form a trajectory"):
        Trajectory.load(tmp_path / "one")


def test_arrays_file_is_not_a_trajectory_and_vice_versa(tmp_path):
    save_arrays(tmp_path / "arr", {"x": np.arange(3)})
    _traj().save(tmp_path / "tr")
    with pytest.raises(TrajectoryFileError, match="load_arrays"):
        Trajectory.load(tmp_path / "arr")
    with pytest.raises(TrajectoryFileError, match="Trajectory.load"):
        load_arrays(tmp_path / "tr")


@pytest.mark.parametrize("fault", ["truncated npz", "garbage npz", "truncated json", "newer version"])
def test_bad_arrays_file_is_one_clear_error_naming_it(tmp_path, fault):
    which, corrupt, words = TRAJ_FAULTS[fault]
    npz, js = save_arrays(tmp_path / "arr", {"x": np.arange(50.0), "y": np.ones((4, 4))}, {"k": 1})
    bad = npz if which == "npz" else js
    corrupt(bad)
    with pytest.raises(TrajectoryFileError) as info:
        load_arrays(tmp_path / "arr")
    assert str(bad) in str(info.value) and words in str(info.value)


def test_arrays_pair_from_different_saves_is_refused(tmp_path):
    save_arrays(tmp_path / "a", {"x": np.zeros(2), "y": np.zeros(2)})
    save_arrays(tmp_path / "b", {"x": np.zeros(2)})
    os.replace(tmp_path / "b.npz", tmp_path / "a.npz")
    with pytest.raises(TrajectoryFileError, match=r"lacks array\(s\) \['y'\]"):
        load_arrays(tmp_path / "a")


def test_good_and_legacy_files_load(tmp_path):  # negative control
    tr = _traj()
    _, js = tr.save(tmp_path / "run")
    doc = json.loads(js.read_text())
    del doc["format"]  # written before the format tag
    js.write_text(json.dumps(doc))
    back = Trajectory.load(tmp_path / "run.json")
    np.testing.assert_array_equal(back.y, tr.y)
    assert back.stats == tr.stats and back.meta == tr.meta
    save_arrays(tmp_path / "arr", {"x": np.arange(3)}, {"k": 1})
    arrays, d = load_arrays(tmp_path / "arr")
    assert arrays["x"].tolist() == [0, 1, 2] and d["meta"] == {"k": 1}


# ------------------------------------------------------------------ atomic output files
def test_saves_use_per_process_temporary_names(tmp_path, monkeypatch):
    from dynamics.verify import run_verify

    renamed: list[tuple[str, str]] = []
    real = os.replace

    def spy(src, dst):  # type: ignore[no-untyped-def]
        renamed.append((Path(src).name, Path(dst).name))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    monkeypatch.setattr(Path, "replace", lambda self, dst: spy(self, dst))
    _traj().save(tmp_path / "tr")
    save_arrays(tmp_path / "arr", {"x": np.zeros(2)})
    run_verify(_derivation("good-a"), tmp_path, verbose=False)

    def fails(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    s = run_verify(Derivation("failing", "raises", _model, fails), tmp_path, verbose=False)
    assert s["error"] == "RuntimeError: boom" and "boom" in (tmp_path / "failing" / "error.txt").read_text()
    dsts = {d for _, d in renamed}
    assert {"tr.npz", "tr.json", "arr.npz", "arr.json", "summary.json", "error.txt"} <= dsts
    for src, dst in renamed:
        assert str(os.getpid()) in src and src.startswith(".") and src != dst
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize("what", ["trajectory", "arrays", "summary"])
def test_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch, what):
    from dynamics import verify as verify_mod

    if what == "summary":
        verify_mod.run_verify(_derivation("good-a"), tmp_path, verbose=False)
        target = tmp_path / "good-a" / "summary.json"
    elif what == "trajectory":
        target = _traj().save(tmp_path / "tr")[1]
    else:
        target = save_arrays(tmp_path / "arr", {"x": np.zeros(2)})[1]
    before = target.read_bytes()

    def interrupted(self, data, *a, **k):  # type: ignore[no-untyped-def]
        with open(self, "w") as fh:
            fh.write(data[:10])  # a partial write, then the process is interrupted
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        if what == "summary":
            verify_mod.run_verify(_derivation("good-a"), tmp_path, verbose=False)
        elif what == "trajectory":
            _traj().save(tmp_path / "tr")
        else:
            save_arrays(tmp_path / "arr", {"x": np.zeros(2)})
    assert target.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


# ------------------------------------------------------------------ plugins
@pytest.mark.parametrize("name, words", [
    ("broken-import", "fails to import: ModuleNotFoundError"),
    ("not-a-derivation", "not a dynamics Derivation"),
])
def test_show_of_a_broken_plugin_is_one_line_exit_1(models, capsys, name, words):
    assert main(["show", name]) == 1
    line = _one_line(capsys.readouterr().err)
    assert name in line and words in line


@pytest.mark.parametrize("name", ["broken-import", "not-a-derivation"])
def test_phase_of_a_broken_plugin_is_one_line_exit_1(models, capsys, tmp_path, name):
    assert main(["phase", name, "--x", "s1=0.5:2:2", "--out", str(tmp_path / "ph"), "--quiet"]) == 1
    assert name in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "ph").exists()  # refused before any work


def test_show_unknown_is_exit_2_and_good_is_exit_0(models, capsys):  # negative controls
    assert main(["show", "nope"]) == 2
    assert "unknown model" in _one_line(capsys.readouterr().err)
    assert main(["show", "good-a"]) == 0


def test_registry_get_raises_derivation_load_error(models):
    with pytest.raises(DerivationLoadError, match="no_such_module_xyz_15"):
        registry.get("broken-import")
    with pytest.raises(DerivationLoadError, match="gives a function"):
        registry.get("not-a-derivation")


def test_verify_all_records_broken_plugins_and_goes_on(models, tmp_path, capsys):
    assert main(["verify", "--out", str(tmp_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert models == ["good-a", "good-b"]  # the good models still ran
    for name in ("broken-import", "not-a-derivation"):
        s = json.loads((tmp_path / name / "summary.json").read_text())
        assert s["passed"] is False and s["claims"] == [] and "cannot be loaded" in s["error"]
        assert f"ERROR   {name}:" in out
    assert "2 pass, 0 findings, 0 fail, 2 model error(s)" in out
    assert "cannot be loaded" in (tmp_path / "index.html").read_text()


def test_list_names_a_broken_plugin_and_lists_the_others(models, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "good-a" in out and "broken-import" in out and "failed to load" in out


def test_broken_plugin_through_the_real_console(tmp_path):
    """A real installed entry point (a dist-info on the path) whose module raises on import."""
    dist = tmp_path / "badplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: badplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[dynamics.derivations]\nbadplugin = badplugin_mod:D\n")
    (tmp_path / "badplugin_mod.py").write_text("raise RuntimeError('plugin is broken')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    r = subprocess.run([sys.executable, "-m", "dynamics.cli", "show", "badplugin"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    line = _one_line(r.stderr)
    assert "badplugin" in line and "RuntimeError: plugin is broken" in line
    r = subprocess.run([sys.executable, "-m", "dynamics.cli", "verify", "badplugin", "--out",
                        str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "1 model error(s) (badplugin)" in r.stdout
    assert json.loads((tmp_path / "out" / "badplugin" / "summary.json").read_text())["error"]


# ------------------------------------------------------------------ API input
@pytest.fixture(scope="module")
def toy_compiled():  # type: ignore[no-untyped-def]
    a, b = sp.symbols("a b", real=True)
    s = sp.Symbol("s", positive=True)
    m = ReducedModel.from_loss("fault-toy", [a, b], [s], (s - a * b) ** 2 / 2, defaults={"s": 1.0})
    return m.compile("numpy")


@pytest.mark.parametrize("y0, params, words", [
    ({"a": "0.1", "b": 0.2}, None, r"initial value of coordinate 'a' must be a number .*got str"),
    ({"a": 0.1, "b": [0.2]}, None, r"coordinate 'b' must be a number .*got list"),
    ([0.1, 1j], None, r"coordinate 'b' must be a number .*got complex"),
    ([0.1, None], None, r"coordinate 'b' must be a number .*got NoneType"),
    ([0.1, np.nan], None, r"coordinate\(s\) \['b'\] is non-finite"),
    ([0.1, 0.2], {"s": "big"}, r"parameter 's' .*must be a number .*got str 'big'"),
    ([0.1, 0.2], {"s": np.array([1.0, 2.0])}, r"parameter 's' .*got ndarray"),
    ([0.1, 0.2], {"s": 1 + 0j}, r"parameter 's' .*got complex"),
])
def test_integrate_names_the_bad_coordinate_or_parameter(toy_compiled, y0, params, words):
    from dynamics.integrate import integrate

    with pytest.raises(ModelError, match=words):
        integrate(toy_compiled, y0, params, t_max=1.0)


def test_pack_names_the_bad_parameter(toy_compiled):
    with pytest.raises(ModelError, match=r"parameter 's' .*got str"):
        toy_compiled.pack({"s": "x"})
    assert toy_compiled.pack({"s": np.float32(2.0)})[0] == 2.0  # negative control


def test_integrate_accepts_good_input(toy_compiled):  # negative control
    from dynamics.integrate import integrate

    tr = integrate(toy_compiled, {"a": 0.1, "b": np.float64(0.2)}, {"s": 2}, t_max=1.0, n_points=5)
    assert tr.names == ("a", "b") and np.all(np.isfinite(tr.y))


def test_same_named_symbols_and_state_param_clash_are_refused():
    a = sp.Symbol("a", real=True)
    with pytest.raises(ModelError, match="same name"):
        ReducedModel.from_loss("m", [a, sp.Symbol("a")], [], a**2)
    with pytest.raises(ModelError, match="share the name"):
        ReducedModel.from_loss("m", [a], [sp.Symbol("a", positive=True)], a**2)
    s1, s2 = sp.Symbol("s"), sp.Symbol("s", positive=True)
    with pytest.raises(ModelError, match="same name"):
        ReducedModel.from_field("m", [a], [s1, s2], [-s1 * s2 * a], loss=a**2)


@pytest.mark.parametrize("loss", [
    lambda a: sp.I * a**2,
    lambda a: 2j * a,
    lambda a: sp.Matrix([a**2, a]),
    lambda a: sp.ImmutableMatrix([[a**2]]),
    lambda a: [[a**2, a]],
    lambda a: sp.Eq(a, 1),
])
def test_complex_matrix_or_relational_loss_is_refused(loss):
    a = sp.Symbol("a", real=True)
    with pytest.raises(ModelError, match="loss"):
        ReducedModel.from_loss("m", [a], [], loss(a))


def test_list_of_loss_terms_is_still_summed():  # negative control: the documented list form
    a = sp.Symbol("a", real=True)
    m = ReducedModel.from_loss("m", [a], [], [a**2, a])
    assert sp.simplify(m.loss.base - (a**2 + a)) == 0


@pytest.mark.parametrize("f, words", [
    (lambda p: (p["w"] ** 2, {"w": 2 * p["w"]}), "scalar loss.*shape \\(3,\\)"),
    (lambda p: ((p["w"] ** 2).sum() * 1j, {"w": 2 * p["w"]}), "real loss"),
    (lambda p: ("loss", {"w": 2 * p["w"]}), "real scalar loss"),
])
def test_check_grad_on_a_non_scalar_loss_is_a_clear_error(f, words):
    from dynamics.direct.gradcheck import check_grad

    with pytest.raises(ValueError, match=words):
        check_grad(f, {"w": np.ones(3)})


def test_check_grad_vector_loss_with_explicit_grads_is_a_clear_error():
    from dynamics.direct.gradcheck import check_grad

    with pytest.raises(ValueError, match="scalar loss"):
        check_grad(lambda p: p["w"] ** 2, {"w": np.ones(3)}, grads={"w": 2 * np.ones(3)})


def test_check_grad_bad_parameter_type_is_named():
    from dynamics.direct.gradcheck import check_grad

    with pytest.raises(ValueError, match=r"parameter 'w' must be a real float array, got str"):
        check_grad(lambda p: (0.0, {"w": p["w"]}), {"w": "abc"})


def test_check_grad_scalar_loss_still_works():  # negative control, and it can fail
    from dynamics.direct.gradcheck import check_grad

    good = check_grad(lambda p: ((p["w"] ** 2).sum(), {"w": 2 * p["w"]}), {"w": np.ones(3)})
    bad = check_grad(lambda p: ((p["w"] ** 2).sum(), {"w": 3 * p["w"]}), {"w": np.ones(3)})
    assert good.ok and not bad.ok


def test_check_grad_accepts_a_zero_d_array_loss():
    from dynamics.direct.gradcheck import check_grad

    res = check_grad(lambda p: (np.asarray((p["w"] ** 2).sum()), {"w": 2 * p["w"]}), {"w": np.ones(2)})
    assert res.ok

