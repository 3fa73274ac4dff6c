"""Derivations without packaging (issue 18, item 9): ``dynamics verify FILE.py``,
``dynamics phase FILE.py`` and ``dynamics new NAME``, whose project verifies green at once
and whose own tests pass."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dynamics import registry
from dynamics.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _forget_runtime_registrations():
    """Undo what loading a file does to the process: registrations, sys.path, modules."""
    before, path, modules = dict(registry._RUNTIME), list(sys.path), set(sys.modules)
    yield
    registry._RUNTIME.clear()
    registry._RUNTIME.update(before)
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.split(".")[0] in ("two_derivs", "no_derivation", "broken_deriv", "new_proj",
                                       "dup_deriv"):
            del sys.modules[name]


TWO = '''
from dynamics.claims import check
from dynamics.registry import Derivation
import sympy as sp
from dynamics.model import ReducedModel

def model():
    a = sp.Symbol("a", real=True)
    return ReducedModel.from_loss("{name}", [a], [], a**2 / 2)

def verify_sum(ctx):
    return [check("{name}.sum", "1 + 1 = 2", 2.0, 1.0 + 1.0, tol=0.0, why="exact")]

def verify_product(ctx):
    return [check("{name}-b.product", "2 * 3 = 6", 6.0, 2.0 * 3.0, tol=0.0, why="exact")]

first = Derivation("{name}", "first", model=model, verify=verify_sum)
second = Derivation("{name}-b", "second", model=model, verify=verify_product)
'''


def _summary(out: Path, name: str) -> dict:
    return json.loads((out / name / "summary.json").read_text())


def test_verify_a_file_with_two_derivations(tmp_path, capsys):
    f = tmp_path / "two_derivs.py"
    f.write_text(TWO.format(name="filetwo"))
    out = tmp_path / "out"
    assert main(["verify", str(f), "--out", str(out), "--quiet"]) == 0
    assert _summary(out, "filetwo")["counts"]["pass"] == 1
    assert _summary(out, "filetwo-b")["counts"]["pass"] == 1
    # FILE.py:NAME picks one
    out2 = tmp_path / "out2"
    assert main(["verify", f"{f}:filetwo-b", "--out", str(out2), "--quiet"]) == 0
    assert sorted(p.name for p in out2.iterdir() if p.is_dir()) == ["filetwo-b"]
    # phase needs one derivation: two is a usage error naming them
    code = main(["phase", str(f), "--x", "a=0:1:2", "--out", str(tmp_path / "ph"), "--quiet"])
    assert code == 2 and "filetwo, filetwo-b" in capsys.readouterr().err


def test_verify_refuses_a_bad_file(tmp_path, capsys):
    none = tmp_path / "no_derivation.py"
    none.write_text("x = 1\n")
    broken = tmp_path / "broken_deriv.py"
    broken.write_text("raise RuntimeError('boom at import')\n")
    cases = [(tmp_path / "missing.py", "no such file"),
             (none, "defines no dynamics Derivation"),
             (broken, "fails to import: RuntimeError: boom at import"),
             (Path(f"{none}:other"), "defines no dynamics Derivation")]
    for target, msg in cases:
        assert main(["verify", str(target), "--out", str(tmp_path / "o"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1, err
    assert main(["show", str(none)]) == 2
    # two different files of one module name: the second is refused, not silently replaced
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "dup_deriv.py").write_text(TWO.format(name=f"dup{sub}"))
    assert [d.name for d in registry.load_file(tmp_path / "a" / "dup_deriv.py")] == ["dupa", "dupa-b"]
    with pytest.raises(registry.DerivationFileError, match="already imported from"):
        registry.load_file(tmp_path / "b" / "dup_deriv.py")
    # a registered name is still a name (negative control of the file detection)
    assert not registry.is_file_target("saxe2014")
    assert registry.is_file_target("x/y") and registry.is_file_target("m.py:name")


def _ratio(t: float, s: float, u0: float) -> float:
    u = s / (1.0 + (s / u0 - 1.0) * math.exp(-2.0 * s * t))
    return ((s - u) / (s - u0)) ** 2


def test_new_project_verifies_green_and_its_tests_pass(tmp_path, capsys, monkeypatch):
    assert main(["new", "new-proj", "--dir", str(tmp_path)]) == 0
    pkg = tmp_path / "new_proj"
    names = sorted(p.name for p in pkg.iterdir())
    assert names == sorted(["__init__.py", "reduced.py", "closed_forms.py", "data.py", "direct.py",
                            "claims.py", "findings.py", "verify.py", "test_new_proj.py"])
    text = (pkg / "verify.py").read_text()
    assert "class Settings" in text and "RECONSTRUCTED" in text and "derivation = Derivation(" in text
    assert main(["new", "new-proj", "--dir", str(tmp_path)]) == 2  # never overwrites
    assert main(["new", "9bad", "--dir", str(tmp_path)]) == 2
    capsys.readouterr()

    out = tmp_path / "out"
    assert main(["verify", str(pkg / "verify.py"), "--out", str(out), "--quiet", "--quick"]) == 0
    s = _summary(out, "new-proj")
    assert s["counts"] == {"pass": 2, "finding": 0, "fail": 0}
    assert (out / "new-proj" / "u.png").is_file()
    assert all(c["negative_controls"] and all(n["refuted"] for n in c["negative_controls"])
               for c in s["claims"])
    # negative control: a wrong closed form makes the same project fail
    verify_mod = sys.modules["new_proj.verify"]
    monkeypatch.setattr(verify_mod, "half_time", lambda s, u0: math.log(s / u0 - 1.0) / s)
    assert main(["verify", str(pkg), "--out", str(tmp_path / "bad"), "--quiet", "--quick"]) == 1

    # the phase diagram of the folder starts from its derivation's initial_state (u0 = 1e-3)
    monkeypatch.undo()
    ph = tmp_path / "ph"
    assert main(["phase", str(pkg), "--x", "s=0.5:4:4", "--t-max", "5", "--solver", "integrate",
                 "--workers", "1", "--out", str(ph), "--quiet"]) == 0
    from dynamics.phase import PhaseResult

    res = PhaseResult.load(ph / "phase")
    want = np.array([_ratio(5.0, s, 1e-3) for s in res.x_axis.values])
    # classes: learned iff the closed-form ratio is below 0.1 (0.60, 9e-9, 2e-18, 3e-28: far
    # from the edge); the ratio of the first point, where s - u = 0.38, to the CLI's default
    # rtol 1e-8 amplified by u/(s - u) < 1: 1e-6 relative is 100 times that
    assert res.grid().tolist() == (want < 0.1).astype(int).tolist()
    np.testing.assert_allclose(res.quantities["loss_ratio"][0], want[0], rtol=1e-6)
    # from the generic start 0.01 the first point would be learned instead (ratio 0.064 < 0.1)
    assert res.grid()[0] == 0 and _ratio(5.0, 0.5, 0.01) < 0.1

    # the generated tests pass on their own
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(pkg)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
