"""Generated code: Jacobian vs finite differences, numba vs numpy parity, on-disk cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

from dynamics.codegen import generate_source, model_key
from dynamics.model import ModelError, ReducedModel, RowSum
from dynamics.symbolic import softplus


def _eval(cm, y, p):
    out = np.empty(cm.n_state)
    cm.rhs(0.0, y, p, cm.data, cm.bounds, out)
    J = np.empty((cm.n_state, cm.n_state))
    cm.jac(0.0, y, p, cm.data, cm.bounds, J)
    return out, J


def test_jacobian_matches_central_differences(toy_numba):
    cm = toy_numba
    rng = np.random.default_rng(1)
    p = cm.pack({"s": 1.5, "k": 0.3}, {"attn": 2.0})
    for _ in range(5):
        y = rng.normal(size=3)
        _, J = _eval(cm, y, p)
        Jfd = np.empty_like(J)
        for j in range(3):
            h = 1e-6 * max(1.0, abs(y[j]))
            yp, ym = y.copy(), y.copy()
            yp[j] += h
            ym[j] -= h
            Jfd[:, j] = (_eval(cm, yp, p)[0] - _eval(cm, ym, p)[0]) / (2 * h)
        # central differences have O(h^2) truncation and O(eps/h) round-off: ~1e-9 here
        np.testing.assert_allclose(J, Jfd, rtol=1e-7, atol=1e-9)


def test_wrong_jacobian_is_detected_by_the_same_check(toy_numba):
    """Negative control: a perturbed Jacobian fails the finite-difference comparison."""
    cm = toy_numba
    p = cm.pack()
    y = np.array([0.3, -0.7, 0.2])
    _, J = _eval(cm, y, p)
    J[0, 1] *= 1.001
    Jfd = np.empty_like(J)
    for j in range(3):
        yp, ym = y.copy(), y.copy()
        yp[j] += 1e-6
        ym[j] -= 1e-6
        Jfd[:, j] = (_eval(cm, yp, p)[0] - _eval(cm, ym, p)[0]) / 2e-6
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(J, Jfd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "python"])
def test_backends_agree_with_numba(toy, toy_numba, backend):
    other = toy_numba if backend == "numba" else toy.compile(backend)
    rng = np.random.default_rng(2)
    p = toy_numba.pack({"s": 2.5, "k": 0.2}, {"u": 0.5, "attn": 3.0})
    for _ in range(10):
        y = rng.normal(scale=2.0, size=3)
        f1, J1 = _eval(toy_numba, y, p)
        f2, J2 = _eval(other, y, p)
        np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J1, J2, rtol=1e-12, atol=1e-12)
        o1 = toy_numba.observables(y[None], p)
        o2 = other.observables(y[None], p)
        for k in o1:
            np.testing.assert_allclose(o1[k], o2[k], rtol=1e-12)


def test_row_loop_equals_expanded_sum(toy, toy_numba):
    """The generated loop over table rows equals the explicit sympy sum over rows."""
    y = np.array([0.4, 1.1, -0.3])
    p = toy_numba.pack({"s": 2.0, "k": 0.1})
    subs = dict(zip(toy.state + toy.params, [*y, 2.0, 0.1], strict=True))
    expected = float(toy.loss.expand().subs(subs).rewrite(sp.log).evalf())
    assert toy_numba.observables(y[None], p)["loss"][0] == pytest.approx(expected, rel=1e-13)


def test_schedule_factors_scale_groups(toy_numba):
    y = np.array([0.4, 1.1, -0.3])
    f1, _ = _eval(toy_numba, y, toy_numba.pack())
    f2, _ = _eval(toy_numba, y, toy_numba.pack(None, {"u": 2.0, "attn": 0.0}))
    np.testing.assert_allclose(f2, [2 * f1[0], 2 * f1[1], 0.0])
    with pytest.raises(ModelError, match="unknown group"):
        toy_numba.pack(None, {"nope": 1.0})


def test_softplus_is_stable_at_extreme_margins():
    a = sp.Symbol("a", real=True)
    m = ReducedModel.from_loss("stable", [a], [], softplus(-a))
    cm = m.compile()
    for v in (-800.0, -30.0, 0.0, 30.0, 800.0):
        f, J = _eval(cm, np.array([v]), cm.pack())
        L = cm.observables(np.array([[v]]), cm.pack())["loss"][0]
        assert np.isfinite(f).all() and np.isfinite(J).all() and np.isfinite(L)
    assert cm.observables(np.array([[-800.0]]), cm.pack())["loss"][0] == pytest.approx(800.0)


def test_with_tables_changes_data_without_recompiling(toy_numba):
    y = np.array([0.4, 1.1, -0.3])
    p = toy_numba.pack()
    t0 = toy_numba.model.loss.rows[0].table
    doubled = t0.copy()
    doubled[:, 2] *= 2
    cm2 = toy_numba.with_tables({0: doubled})
    o1 = toy_numba.observables(y[None], p)
    o2 = cm2.observables(y[None], p)
    assert o2["data_loss"][0] == pytest.approx(2 * o1["data_loss"][0], rel=1e-14)
    assert cm2.rhs is toy_numba.rhs


def test_key_ignores_table_values_but_not_terms(toy):
    from tests.conftest import toy_model

    assert model_key(toy) == model_key(toy_model())
    a = sp.Symbol("a", real=True)
    m1 = ReducedModel.from_loss("k", [a], [], a**2)
    m2 = ReducedModel.from_loss("k", [a], [], a**4)
    assert model_key(m1) != model_key(m2)


def test_generated_source_is_readable(toy):
    src = generate_source(toy)
    assert "def rhs(t, y, p, data, bounds, out):" in src
    assert "for r in range(bounds[0], bounds[1]):" in src
    compile(src, "<generated>", "exec")


def test_second_process_loads_from_cache(tmp_path):
    """A build in a new process with the same cache directory is a cache hit."""
    script = textwrap.dedent("""
        import sympy as sp
        from dynamics.model import ReducedModel
        a, b = sp.symbols("a b", real=True)
        s = sp.Symbol("s", positive=True)
        m = ReducedModel.from_loss("cachetest", [a, b], [s], (s - a * b) ** 2 / 2, defaults={"s": 1.0})
        print(m.compile().build["cache"])
    """)
    env = dict(os.environ, DYNAMICS_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    assert runs == ["miss", "hit"]
    assert any(p.suffix == ".nbi" for p in (tmp_path / "__pycache__").iterdir())


def test_unknown_backend(toy):
    with pytest.raises(ModelError, match="unknown backend"):
        toy.compile("fortran")


def test_runtime_shapes_are_checked_before_compiled_code(toy_numba):
    """The compiled functions do no bounds checks, so the Python entry points must."""
    with pytest.raises(ModelError, match="runtime vector"):
        toy_numba.f(np.ones(2))
    with pytest.raises(ModelError, match="states must have shape"):
        toy_numba.observables(np.ones((4, 2)), toy_numba.pack())


def test_chain_rule_codegen_matches_expanded_numpy(toy_chain):
    """RowSums with intermediates: generated chain-rule RHS and Jacobian equal the fully
    expanded sympy derivatives (numpy backend) and central differences."""
    cm = toy_chain.compile()
    cn = toy_chain.compile("numpy")
    assert "JK_0" in cm.module_path.read_text()
    rng = np.random.default_rng(5)
    p = cm.pack({"s": 1.7, "k": 0.3}, {"u": 0.7, "attn": 2.0})
    for _ in range(6):
        y = rng.normal(size=3)
        f1, J1 = _eval(cm, y, p)
        f2, J2 = _eval(cn, y, p)
        np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J1, J2, rtol=1e-11, atol=1e-12)
        Jfd = np.empty_like(J1)
        for j in range(3):
            yp, ym = y.copy(), y.copy()
            yp[j] += 1e-6
            ym[j] -= 1e-6
            Jfd[:, j] = (_eval(cm, yp, p)[0] - _eval(cm, ym, p)[0]) / 2e-6
        np.testing.assert_allclose(J1, Jfd, rtol=1e-7, atol=1e-8)
        o1, o2 = cm.observables(y[None], p), cn.observables(y[None], p)
        for key in o1:
            np.testing.assert_allclose(o1[key], o2[key], rtol=1e-12)


def test_intermediates_validation():
    a, x, z = sp.symbols("a x z", real=True)
    with pytest.raises(ModelError, match="distinct"):
        RowSum(z, (x,), np.ones((2, 1)), intermediates=((z, a), (z, a * x)))
    with pytest.raises(ModelError, match="another intermediate"):
        RowSum(z, (x,), np.ones((2, 1)), intermediates=((z, a), (sp.Symbol("q"), z * 2)))
