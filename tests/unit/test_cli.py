"""The command line: list, show, verify; exit codes 0/1/2 with one clear line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from dynamics import registry
from dynamics.claims import Finding, check
from dynamics.cli import main
from dynamics.model import ReducedModel
from dynamics.registry import Derivation


def _tiny_model() -> ReducedModel:
    a = sp.Symbol("a", real=True)
    return ReducedModel.from_loss("tiny", [a], [], a**2 / 2)


def _tiny_derivation(name: str, predicted: float, findings: tuple = ()) -> Derivation:
    def verify(ctx):
        from dynamics.integrate import integrate

        tr = integrate(_tiny_model(), [1.0], t_max=1.0, t_min=1e-3, n_points=20)
        ctx.save_trajectory("flow", tr)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot(tr.t, tr["a"])
        ctx.save_figure("flow", fig)
        return [check(f"{name}.decay", "a(1) = exp(-1)", predicted, float(tr["a"][-1]), tol=1e-6,
                      why="LSODA at rtol 1e-8")]

    return Derivation(name, f"tiny test model {name}", _tiny_model, verify, findings=findings)


def _known(name: str) -> Finding:
    return Finding(f"{name}.decay", "a(1) is not 0.5.", "a(1) = 0.368.",
                   "nothing to rule out: a test fixture.", "reconstruction")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(registry, "_RUNTIME", {})
    registry.register(_tiny_derivation("tiny-ok", float(np.exp(-1))))
    registry.register(_tiny_derivation("tiny-bad", 0.5))  # negative control: wrong prediction
    # a registered finding: its claim does not hold (a finding), or now holds (stale: a fail)
    registry.register(_tiny_derivation("tiny-known", 0.5, (_known("tiny-known"),)))
    registry.register(_tiny_derivation("tiny-stale", float(np.exp(-1)), (_known("tiny-stale"),)))
    return registry


def test_list_shows_registered(tiny, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "saxe2014" in out and "tiny-ok" in out


def test_show_prints_equations(capsys):
    assert main(["show", "saxe2014"]) == 0
    out = capsys.readouterr().out
    assert "da1/dt" in out and "s1" in out
    assert main(["show", "saxe2014", "--latex"]) == 0
    assert r"\frac{da_{1}}{dt}" in capsys.readouterr().out


def test_unknown_model_is_one_line_exit_2(capsys):
    assert main(["show", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model 'nope'" in err[0] and "saxe2014" in err[0]
    assert main(["verify", "nope", "--out", "/tmp/x-never"]) == 2


def test_bad_option_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["verify", "--frobnicate"])
    assert e.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["verify", "saxe2014", "--out", str(f)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_verify_writes_report_and_exit_code(tiny, tmp_path):
    assert main(["verify", "tiny-ok", "--out", str(tmp_path), "--quiet"]) == 0
    s = json.loads((tmp_path / "tiny-ok" / "summary.json").read_text())
    assert set(s) >= {"name", "title", "claims", "config", "timings_s", "versions"}
    assert set(s["claims"][0]) >= {"id", "statement", "predicted", "measured", "tolerance", "passed", "why"}
    assert (tmp_path / "tiny-ok" / "flow.png").exists()
    with np.load(tmp_path / "tiny-ok" / "flow.npz") as d:
        assert "t" in d.files and "loss" in d.files
    html = (tmp_path / "index.html").read_text()
    assert "tiny-ok" in html and "data:image/png;base64," in html
    # a failing claim gives exit 1, and the report shows it
    assert main(["verify", "tiny-bad", "--out", str(tmp_path), "--quiet"]) == 1
    html = (tmp_path / "index.html").read_text()
    assert "tiny-bad" in html and "FAIL" in html


@pytest.mark.parametrize(("names", "code", "closing"), [
    (["tiny-ok"], 0, "1 pass, 0 findings, 0 fail"),
    (["tiny-known"], 0, "0 pass, 1 findings, 0 fail"),        # a registered finding: still exit 0
    (["tiny-stale"], 1, "0 pass, 0 findings, 1 fail"),        # its claim now holds: stale, a fail
    (["tiny-bad"], 1, "0 pass, 0 findings, 1 fail"),          # unexpected: a fail
    (["tiny-ok", "tiny-known", "tiny-bad"], 1, "1 pass, 1 findings, 1 fail"),
])
def test_verify_verdicts_and_exit_codes(tiny, tmp_path, capsys, names, code, closing):
    assert main(["verify", *names, "--out", str(tmp_path), "--quiet"]) == code
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith(closing)
    for n in names:
        s = json.loads((tmp_path / n / "summary.json").read_text())
        (c,) = s["claims"]
        assert c["verdict"] in ("pass", "finding", "fail")
        assert s["counts"] == {v: int(c["verdict"] == v) for v in ("pass", "finding", "fail")}
        assert s["passed"] == (c["verdict"] != "fail")
        if n == "tiny-known":
            assert c["verdict"] == "finding" and "a(1) is not 0.5." in c["finding"]
            assert "FINDING tiny-known.decay: a(1) is not 0.5." in out
        if n == "tiny-stale":
            assert c["verdict"] == "fail" and c["stale_finding"] and "stale finding" in out
        if c["verdict"] == "fail":  # the closing lines say what the failing claim compared
            lines = out.splitlines()
            at = next(i for i, line in enumerate(lines) if line.startswith(f"FAIL    {c['id']}:"))
            assert lines[at + 1].strip() == c["statement"].strip()
        else:
            assert not any(line.startswith(f"FAIL    {c['id']}") for line in out.splitlines())
    html = (tmp_path / "index.html").read_text()
    if "tiny-known" in names:
        assert "FINDING" in html and "a(1) is not 0.5." in html


def test_verify_model_error_exits_1_with_its_line(tiny, tmp_path, capsys):
    def broken(ctx):
        raise RuntimeError("the experiment broke")

    registry.register(Derivation("tiny-broken", "raises", _tiny_model, broken))
    assert main(["verify", "tiny-broken", "--out", str(tmp_path), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "ERROR   tiny-broken: RuntimeError: the experiment broke" in out
    assert "1 model error(s)" in out.splitlines()[-1]


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "dynamics.cli", "list"], capture_output=True, text=True)
    assert r.returncode == 0 and "saxe2014" in r.stdout
    r = subprocess.run([sys.executable, "-m", "dynamics.cli", "show", "bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_set_overrides_are_validated(capsys, tmp_path):
    assert main(["verify", "saxe2014", "--set", "s=2", "--out", str(tmp_path)]) == 2
    assert "takes no settings" in capsys.readouterr().err
    assert main(["verify", "huang2025-even-pairs", "--set", "nope=1", "--out", str(tmp_path)]) == 2
    assert "unknown setting" in capsys.readouterr().err
    assert main(["verify", "--set", "lam=1", "--out", str(tmp_path)]) == 2
    assert main(["verify", "huang2025-even-pairs", "--set", "lam", "--out", str(tmp_path)]) == 2
    assert "FIELD=VALUE" in capsys.readouterr().err


def test_phase_end_to_end_writes_npz_json_png(tmp_path, capsys):
    from dynamics.phase import POINT_DONE, PhaseResult

    argv = ["phase", "saxe2014", "--x", "s3=0.75:4.75:5", "--y", "s2=1:2.5:2", "--set", "s1=3",
            "--classify", "order:u1,u2,u3", "--t-max", "30", "--out", str(tmp_path), "--workers", "1",
            "--refine", "1", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "failed" in out and str(tmp_path / "phase.npz") in out
    for f in ("phase.npz", "phase.json", "phase.png"):
        assert (tmp_path / f).stat().st_size > 100, f
    res = PhaseResult.load(tmp_path / "phase")
    assert res.grid().shape == (5, 2) and np.all(res.status == POINT_DONE)
    assert res.n_points > 10  # refinement added midpoints
    # at s2 = 1 (< s1 = 3): u1 first, then u2/u3 by size; s3 = 4.75 > s1 leads
    assert res.label(res.grid()[0, 0]) == "u1<u2<u3" and res.label(res.grid()[-1, 0]) == "u3<u1<u2"
    doc = json.loads((tmp_path / "phase.json").read_text())
    assert doc["meta"]["config"]["fixed"] == {"s1": 3.0} and doc["meta"]["format"] == "dynamics.phase/1"
    assert main(argv) == 0  # rerun: resumes from the file, nothing pending


@pytest.mark.parametrize("extra, words", [
    (["--x", "s1=0:1"], "bad axis 's1=0:1'"),
    (["--x", "q=0:1:3"], "unknown parameter 'q'"),
    (["--x", "s1=0.5:1:3", "--set", "zz=1"], "unknown parameter(s) ['zz']"),
    (["--x", "s1=0.5:1:3", "--set", "s2"], "PARAM=NUMBER"),
    (["--x", "s1=0.5:1:3", "--classify", "bogus"], "unknown classifier 'bogus'"),
    (["--x", "s1=0.5:1:3", "--t-max", "-1"], "--t-max"),
])
def test_phase_usage_errors_are_one_line_exit_2(tmp_path, capsys, extra, words):
    assert main(["phase", "saxe2014", *extra, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_phase_unknown_model_and_no_traceback(tmp_path, capsys):
    assert main(["phase", "nope", "--x", "s1=0:1:3", "--out", str(tmp_path)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    r = subprocess.run([sys.executable, "-m", "dynamics.cli", "phase", "saxe2014", "--x", "s1=0:1:x",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "N must be an integer" in r.stderr


def test_phase_interrupt_exits_130_and_names_the_partial_file(tmp_path, capsys, monkeypatch):
    """Ctrl-C inside ``dynamics phase`` (here a KeyboardInterrupt from the classifier after
    3 points): exit 130, one line naming the partial file, which reloads; the rerun resumes."""
    from dynamics import phase
    from dynamics.phase import POINT_DONE, POINT_PENDING, PhaseResult

    real = phase.execute._classify_one
    seen = []

    def interrupting(classifier, tr):
        if len(seen) == 3:
            raise KeyboardInterrupt
        seen.append(1)
        return real(classifier, tr)

    monkeypatch.setattr(phase.execute, "_classify_one", interrupting)
    argv = ["phase", "saxe2014", "--x", "s1=0.5:3:8", "--classify", "learnable", "--t-max", "30",
            "--out", str(tmp_path), "--workers", "1", "--quiet"]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and str(tmp_path / "phase.npz") in err[0]
    part = PhaseResult.load(tmp_path / "phase")
    assert int((part.status == POINT_DONE).sum()) == 3 and int((part.status == POINT_PENDING).sum()) == 5
    monkeypatch.setattr(phase.execute, "_classify_one", real)
    assert main(argv) == 0
    assert PhaseResult.load(tmp_path / "phase").complete


def test_phase_schedule_flag_matches_the_api_and_bad_specs_are_one_line(tmp_path, capsys):
    """``--schedule 'default=2@0.5'`` gives the sweep of ``sweep(..., schedule=...)``; a bad
    spec or an unknown group exits 2 with one line naming it."""
    from dynamics.phase import PhaseResult, sweep
    from dynamics.schedule import Schedule

    argv = ["phase", "saxe2014", "--x", "s1=0.5:3:5", "--classify", "learnable:0.5", "--t-max",
            "2", "--workers", "1", "--quiet"]
    assert main([*argv, "--schedule", "default=2@0.5", "--out", str(tmp_path / "a")]) == 0
    via_cli = PhaseResult.load(tmp_path / "a" / "phase")
    api = sweep("saxe2014", "s1=0.5:3:5", classify="learnable:0.5", t_max=2.0, workers=1,
                progress=False, schedule=Schedule.switch(0.5, before={"default": 2.0}))
    np.testing.assert_allclose(via_cli.quantities["loss_ratio"], api.quantities["loss_ratio"])
    assert via_cli.config["schedule"] == {"breaks": [0.5], "factors": [{"default": 2.0}, {}]}
    plain = sweep("saxe2014", "s1=0.5:3:5", classify="learnable:0.5", t_max=2.0, workers=1,
                  progress=False)
    assert np.any(np.abs(plain.quantities["loss_ratio"] - api.quantities["loss_ratio"]) > 1e-3)
    capsys.readouterr()
    for spec, words in (("attn=2@1", "unknown group(s) ['attn']"), ("default=2@x", "not a time"),
                        ("default@1", "is not GROUP=FACTOR")):
        assert main([*argv, "--schedule", spec, "--out", str(tmp_path / "b")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err


def test_ctrl_c_outside_a_command_is_one_line_exit_130(monkeypatch, capsys):
    import dynamics.cli as cli

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_main", interrupted)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err.strip() == "dynamics: interrupted"
