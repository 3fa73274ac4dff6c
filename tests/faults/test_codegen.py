"""Fault injection for the code generator: extreme logits and a damaged or unusable cache.

Classes: (1) generated code at extreme values (softmax logits of 250 and 700 in the
yuksel2026 J2 model, against 1000-digit mpmath); (2) ``DYNAMICS_CACHE_DIR`` is a file;
(3) a truncated generated module; (4) a generated module that does not import;
(5) corrupt numba cache files; (6) an unwritable cache directory.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import sympy as sp

from dynamics.codegen import CacheError, compile_model
from dynamics.codegen import cache as codegen_cache
from dynamics.codegen import emit as codegen_emit
from dynamics.model import ReducedModel
from tests.conftest import rhs_and_jacobian as _eval


def _mp_truth(model: ReducedModel, y, p_values):
    """-grad L / M and its Jacobian from the textbook expressions in 1000-digit mpmath."""
    import mpmath

    loss = model.loss.expand()
    rhs = [-sp.diff(loss, s) / m for s, m in zip(model.state, model.metric, strict=True)]
    jac = [[sp.diff(f, s) for s in model.state] for f in rhs]
    fn = sp.lambdify(list(model.state) + list(model.params), [rhs, jac], modules="mpmath")
    with mpmath.workdps(1000):
        f, J = fn(*[mpmath.mpf(float(v)) for v in list(y) + list(p_values)])
        return np.array([float(v) for v in f]), np.array([[float(v) for v in row] for row in J])


def _close(f, J, f_true, J_true) -> bool:
    return bool(np.allclose(f, f_true, rtol=1e-9, atol=1e-12) and np.allclose(J, J_true, rtol=1e-9, atol=1e-12))


# ----------------------------------------------------------------- (1) extreme logits
@pytest.fixture(scope="module")
def j2():
    from derivations.yuksel2026.reduced import eq4_model

    m = eq4_model(h=1, K=2, T=4, form="J2", weight_decay=True)
    return m, compile_model(m)


_J2_POINTS = [
    [0.3, -0.2, 0.1, -0.4, 0.2, 0.0],
    [0.3, -0.2, 250.0, 249.0, 248.5, 247.0],
    [0.3, -0.2, 250.0, 0.0, 0.0, 0.0],  # saturated: the logit components are ~e^-250
    [0.9, 1.1, 700.0, 699.5, 698.0, 690.0],
    [0.9, 1.1, 700.0, 0.0, -700.0, 3.0],
    [-0.5, 0.7, -700.0, -699.0, -700.5, -702.0],
]


@pytest.mark.parametrize("y", _J2_POINTS)
def test_j2_rhs_and_jacobian_match_mpmath_at_logits_up_to_700(j2, y):
    m, cm = j2
    p = cm.pack({"wd": 0.1})
    f, J = _eval(cm, np.array(y), p)
    f_true, J_true = _mp_truth(m, y, p[: len(m.params)])
    np.testing.assert_allclose(f, f_true, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(J, J_true, rtol=1e-9, atol=1e-12)
    o = cm.observables(np.array([y]), p)
    assert all(np.isfinite(v).all() for v in o.values())


def test_j2_naive_evaluation_is_caught_at_250_and_700(j2):
    """Negative control: the same expressions evaluated without the shift (the numpy backend,
    plain exp) are wrong at 250 (Jacobian) and 700, and the comparison above says so."""
    m, _ = j2
    naive = compile_model(m, "numpy")
    p = naive.pack({"wd": 0.1})
    for y in (_J2_POINTS[1], _J2_POINTS[3]):
        with np.errstate(all="ignore"):
            f, J = _eval(naive, np.array(y), p)
        assert not _close(f, J, *_mp_truth(m, y, p[: len(m.params)]))


# ----------------------------------------------------------------- cache faults
def _small(name: str) -> ReducedModel:
    x = sp.symbols("x1:3", real=True)
    k = sp.Symbol("k", positive=True)
    return ReducedModel.from_loss(name, list(x), [k], k * (x[0] - x[1]) ** 2 / 2 + x[0] ** 4 / 4, defaults={"k": 2.0})


def _forget(cm) -> None:
    """Drop the loaded module, as a new process would not have it."""
    sys.modules.pop(codegen_cache._modname(cm.module_path), None)


def _assert_works(cm) -> None:
    f, _ = _eval(cm, np.array([1.0, 0.5]), cm.pack())
    np.testing.assert_allclose(f, [-(2.0 * 0.5 + 1.0), 2.0 * 0.5])


def _one_warning(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("dynamics: warning: "), err
    assert "Traceback" not in err
    return lines[0]


def test_cache_dir_that_is_a_file_is_named_in_one_line(tmp_path, monkeypatch):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    for target in (f, f / "sub"):
        monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(target))
        with pytest.raises(CacheError) as err:
            compile_model(_small("cache-file"))
        msg = str(err.value)
        assert "\n" not in msg and "DYNAMICS_CACHE_DIR" in msg and str(f) in msg and "is a file" in msg
    assert f.read_text() == "x"


def test_truncated_generated_module_is_regenerated(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(tmp_path))
    m = _small("cache-trunc")
    cm = compile_model(m)
    good = cm.module_path.read_text()
    _forget(cm)
    cm.module_path.write_text(good[: len(good) // 2])
    capfd.readouterr()
    cm2 = compile_model(m)
    line = _one_warning(capfd.readouterr().err)
    assert "incomplete" in line and str(cm.module_path) in line
    assert cm2.build["cache"] == "miss" and cm2.module_path == cm.module_path
    assert cm.module_path.read_text() == good
    _assert_works(cm2)
    # and the next build is a clean hit, with no warning
    _forget(cm2)
    cm3 = compile_model(m)
    assert cm3.build["cache"] == "hit" and capfd.readouterr().err == ""


def test_negative_control_an_intact_module_is_a_silent_hit(tmp_path, monkeypatch, capfd):
    """The hash check passes on the module as written (otherwise every build would warn)."""
    monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(tmp_path))
    m = _small("cache-intact")
    cm = compile_model(m)
    assert codegen_cache._intact(cm.module_path)
    _forget(cm)
    capfd.readouterr()
    assert compile_model(m).build["cache"] == "hit" and capfd.readouterr().err == ""
    text = cm.module_path.read_text()
    cm.module_path.write_text(text.replace("N_PARAMS = 1", "N_PARAMS = 2"))  # same length, altered
    assert not codegen_cache._intact(cm.module_path)


def test_module_that_fails_to_import_is_rewritten(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(tmp_path))
    m = _small("cache-broken")
    cm = compile_model(m)
    good = cm.module_path.read_text()
    _forget(cm)
    cm.module_path.write_text(codegen_emit._with_hash("raise ImportError('a broken cached module')\n"))
    assert codegen_cache._intact(cm.module_path)  # its hash matches: only the import can tell
    capfd.readouterr()
    cm2 = compile_model(m)
    line = _one_warning(capfd.readouterr().err)
    assert "failed to load" in line and "cache-broken" in line
    assert cm.module_path.read_text() == good and cm2.build["cache"] == "miss"
    _assert_works(cm2)


def test_corrupt_numba_cache_files_are_removed_and_rebuilt(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("DYNAMICS_CACHE_DIR", str(tmp_path))
    m = _small("cache-numba")
    cm = compile_model(m)
    files = sorted((tmp_path / "__pycache__").glob(f"{cm.module_path.stem}.*.nb[ic]"))
    assert any(f.suffix == ".nbi" for f in files) and any(f.suffix == ".nbc" for f in files)
    _forget(cm)
    for f in files:
        f.write_bytes(f.read_bytes()[:20] if f.suffix == ".nbc" else b"garbage")
    capfd.readouterr()
    cm2 = compile_model(m)
    line = _one_warning(capfd.readouterr().err)
    assert "failed to load" in line and "rebuilding" in line
    _assert_works(cm2)
    rebuilt = sorted((tmp_path / "__pycache__").glob(f"{cm.module_path.stem}.*.nbi"))
    assert rebuilt and all(f.read_bytes() != b"garbage" for f in rebuilt)


@pytest.mark.parametrize("how", ["proc", "permission"])
def test_unwritable_cache_dir_builds_in_a_temporary_directory(tmp_path, monkeypatch, capfd, how):
    m = _small(f"cache-ro-{how}")
    if how == "proc":  # a real unwritable place (even for root)
        ro = "/proc/dynamics-cache-test"
    else:  # EACCES on every write into the configured directory
        ro = str(tmp_path / "ro")
        real = codegen_cache._write_atomic

        def deny(path, text):
            if str(path).startswith(ro):
                raise PermissionError(13, "Permission denied", str(path))
            real(path, text)

        monkeypatch.setattr(codegen_cache, "_write_atomic", deny)
    monkeypatch.setenv("DYNAMICS_CACHE_DIR", ro)
    capfd.readouterr()
    cm = compile_model(m)
    line = _one_warning(capfd.readouterr().err)
    assert ro in line and "not writable" in line and "temporary directory" in line
    assert not str(cm.module_path).startswith(ro) and cm.module_path.exists()
    assert cm.module_path.parent in codegen_cache._TEMP_CACHE
    _assert_works(cm)
    again = compile_model(m)  # the same process: the module built in the temporary directory
    assert again.module_path == cm.module_path and again.module_path.exists()
    assert capfd.readouterr().err == ""


def test_cli_with_cache_dir_that_is_a_file_prints_one_line_and_exits_2(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    f = tmp_path / "cache-is-a-file"
    f.write_text("x")
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, DYNAMICS_CACHE_DIR=str(f), PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "dynamics", "phase", "saxe2014", "--x", "s1=0.5:4:2", "--t-max", "1",
                        "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and "DYNAMICS_CACHE_DIR" in lines[0] and str(f) in lines[0], r.stderr
    assert f.read_text() == "x"
