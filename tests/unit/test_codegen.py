"""Generated code: Jacobian vs finite differences, numba vs numpy parity, on-disk cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

from dynamics.codegen import LANE_HELPERS_SOURCE, generate_source, load_module, model_key
from dynamics.model import ModelError, ReducedModel, RowSum
from dynamics.symbolic import softplus
from tests.conftest import rhs_and_jacobian as _eval


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


# ----------------------------------------------------------------- sigmoids as lanes
def _margins_model(name: str = "three-margins") -> ReducedModel:
    """Three logistic margins: the RHS and the Jacobian each have three sigmoids."""
    a, b, c = sp.symbols("a b c", real=True)
    g = sp.Symbol("g", positive=True)
    loss = softplus(-g * a * b) + softplus(-a * c) + softplus(-(b + c))
    return ReducedModel.from_loss(name, [a, b, c], [g], loss, defaults={"g": 1.5})


def _exact_sigmoid(x: np.ndarray) -> np.ndarray:
    xl = x.astype(np.longdouble)  # 80-bit here: the reference has 3 more decimal digits
    return np.asarray(1 / (1 + np.exp(-xl)), dtype=np.longdouble)


def _lane_inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([
        np.linspace(-740.0, 740.0, 20_001),
        rng.normal(scale=5.0, size=20_000),
        [0.0, -0.0, 1e-300, -1e-300, 0.5 * np.log(2.0), -0.5 * np.log(2.0), 36.7, -36.7],
    ])


#: Three units in the last place at 1: the reduced argument, the polynomial (truncation below
#: 2e-16, Estrin's scheme rounds a little more than Horner's), 1 + e, the division and the
#: product e * s each round once; measured 5.1e-16.
LANE_RTOL = 3 * np.finfo(float).eps


def _lane_errors(fn) -> tuple[float, float]:
    """Worst relative error over normal results, and worst absolute error over subnormal ones
    (which have no relative precision)."""
    x = _lane_inputs()
    w = x.copy()
    fn(w, w.size)
    exact = _exact_sigmoid(x)
    normal = exact >= np.finfo(float).tiny
    err = np.abs(w - exact)
    return float(np.max(err[normal] / exact[normal])), float(np.max(err[~normal]))


#: Subnormal results: two of the smallest subnormals, as the power of two and the product
#: e * s each round to that grid.
LANE_SUBNORMAL_ATOL = 2 * 5e-324


def test_sigmoid_lanes_are_within_3_ulp_of_the_exact_sigmoid():
    """The vectorised sigmoid of the generated modules (its own exp: reduction, polynomial,
    power of two from the bits) against the sigmoid in 80-bit arithmetic."""
    cm = _margins_model().compile()
    lanes = load_module(cm.module_path)._sigmoid_lanes
    rel, sub = _lane_errors(lanes)
    assert rel < LANE_RTOL and sub <= LANE_SUBNORMAL_ATOL
    # the edges: NaN propagates (the integrator's finiteness checks must see it), the
    # infinities saturate, and far below -744 the result is at most ~1e-323
    w = np.array([np.nan, np.inf, -np.inf, -800.0, 800.0, -1e308, 1e308, 0.0])
    lanes(w, w.size)
    assert np.isnan(w[0])
    assert w[1] == 1.0 and w[4] == 1.0 and w[6] == 1.0
    assert 0.0 <= w[2] < 1e-320 and 0.0 <= w[3] < 1e-320 and 0.0 <= w[5] < 1e-320
    assert w[7] == 0.5


def test_sigmoid_lanes_tolerance_resolves_a_dropped_polynomial_term():
    """Negative control: the same helper with the degree-12 term dropped (a relative change of
    up to ~6e-15 at the ends of the reduced range) fails the 3-ulp bound."""
    import numba

    term = "(2.08767569878681e-09 + 1.6059043836821613e-10 * r)"
    assert LANE_HELPERS_SOURCE.count(term) == 1
    src = LANE_HELPERS_SOURCE.replace(term, "(0.0 + 1.6059043836821613e-10 * r)")
    src = src.replace("cache=True, ", "")
    ns: dict = {"np": np, "numba": numba}
    exec(compile(src, "<lanes-broken>", "exec"), ns)
    rel, _ = _lane_errors(ns["_sigmoid_lanes"])
    assert rel > LANE_RTOL


@pytest.mark.parametrize("backend", ["numpy", "python"])
def test_generated_sigmoid_lanes_agree_with_the_other_backends(backend):
    m = _margins_model()
    src = generate_source(m)
    assert src.count("_sigmoid_lanes(b_w, 8)") == 2  # rhs and jac: 3 sigmoids padded to 8
    cm = m.compile()
    other = m.compile(backend)
    rng = np.random.default_rng(3)
    p = cm.pack({"g": 1.5})
    for scale in (0.5, 3.0, 30.0):
        for _ in range(5):
            y = rng.normal(scale=scale, size=3)
            f1, J1 = _eval(cm, y, p)
            f2, J2 = _eval(other, y, p)
            np.testing.assert_allclose(f1, f2, rtol=1e-13, atol=1e-300)
            np.testing.assert_allclose(J1, J2, rtol=1e-13, atol=1e-300)


def test_a_single_sigmoid_stays_a_scalar_call():
    a = sp.Symbol("a", real=True)
    src = generate_source(ReducedModel.from_loss("one-margin", [a], [], softplus(-a)))
    assert "_sigmoid_lanes(" not in src.split("def rhs(")[1].split("def jac(")[0]
    assert "_sigmoid(" in src.split("def rhs(")[1].split("def jac(")[0]


# ----------------------------------------------------------------- extreme logits (mpmath)
def _mp_truth(model: ReducedModel, y, p_values):
    """-grad L / M and its Jacobian from the textbook expressions (sigmoid and softplus
    rewritten to exp and log) in 1000-digit mpmath arithmetic: no overflow, and the
    cancellations of the textbook forms (down to e^-1400 ~ 1e-608 relative at logits of
    700) are resolved."""
    import mpmath

    loss = model.loss.expand().rewrite(sp.exp).rewrite(sp.log)
    rhs = [-sp.diff(loss, s) / m for s, m in zip(model.state, model.metric, strict=True)]
    jac = [[sp.diff(f, s) for s in model.state] for f in rhs]
    fn = sp.lambdify(list(model.state) + list(model.params), [rhs, jac], modules="mpmath")
    with mpmath.workdps(1000):
        f, J = fn(*[mpmath.mpf(float(v)) for v in list(y) + list(p_values)])
        return np.array([float(v) for v in f]), np.array([[float(v) for v in row] for row in J])


def _assert_matches_truth(f, J, f_true, J_true, rtol=1e-10):
    scale = max(1.0, float(np.max(np.abs(f_true))))
    np.testing.assert_allclose(f, f_true, rtol=rtol, atol=1e-13 * scale)
    jscale = max(1.0, float(np.max(np.abs(J_true))))
    np.testing.assert_allclose(J, J_true, rtol=rtol, atol=1e-13 * jscale)


def _softmax_model(name: str = "softmax3") -> ReducedModel:
    """Three logits x, values v: 1/2 (v . softmax(x) - g)^2 plus the cross-entropy of class 1."""
    x = sp.symbols("x1:4", real=True)
    v = sp.symbols("v1:4", real=True)
    g = sp.Symbol("g", positive=True)
    S = sum(sp.exp(xi) for xi in x)
    pr = [sp.exp(xi) / S for xi in x]
    loss = (sum(vi * pi for vi, pi in zip(v, pr, strict=True)) - g) ** 2 / 2 + sp.log(S) - x[0]
    return ReducedModel.from_loss(name, [*x, *v], [g], loss, defaults={"g": 0.7},
                                  observables={"p1": pr[0], "ce": sp.log(S) - x[0]})


_SOFTMAX_LOGITS = [[0.3, -0.2, 0.1], [250.0, 249.0, 247.5], [700.0, 699.3, 698.1], [700.0, 0.0, -700.0],
                   [-700.0, -699.0, -701.5], [360.0, 0.0, 0.0]]


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_softmax_rhs_and_jacobian_stay_exact_up_to_logits_of_700(backend):
    m = _softmax_model()
    cm = m.compile(backend)
    p = cm.pack({"g": 0.7})
    assert "shifted by their maximum" in generate_source(m)
    for logits in _SOFTMAX_LOGITS:
        y = np.array([*logits, 0.4, -1.1, 2.0])
        f, J = _eval(cm, y, p)
        _assert_matches_truth(f, J, *_mp_truth(m, y, [0.7]))
        o = cm.observables(y[None, :], p)
        lse = np.logaddexp.reduce(np.array(logits)) - logits[0]
        assert np.isfinite(o["ce"][0]) and o["ce"][0] == pytest.approx(lse, rel=1e-12, abs=1e-12)
        assert o["p1"][0] == pytest.approx(np.exp(-lse), rel=1e-12, abs=1e-300)


def test_softmax_truth_catches_the_unshifted_generated_code(tmp_path):
    """Negative control: the same model generated without the max shift goes wrong at 700
    (and already at 250 in the Jacobian), and the mpmath comparison sees it."""
    from dynamics.codegen.shift import _ShiftPlan

    m = _softmax_model("softmax3-unshifted")
    path = tmp_path / "softmax3_unshifted.py"
    path.write_text(generate_source(m, _ShiftPlan()))
    assert "shifted by their maximum" not in path.read_text()
    mod = load_module(path)
    cm = m.compile()
    p = cm.pack({"g": 0.7})
    for logits in ([700.0, 699.3, 698.1], [250.0, 249.0, 247.5]):
        y = np.array([*logits, 0.4, -1.1, 2.0])
        f = np.empty(6)
        J = np.empty((6, 6))
        mod.rhs(0.0, y, p, cm.data, cm.bounds, f)
        mod.jac(0.0, y, p, cm.data, cm.bounds, J)
        with pytest.raises(AssertionError):
            _assert_matches_truth(f, J, *_mp_truth(m, y, [0.7]))


def test_shift_is_not_applied_where_it_would_change_the_result():
    """A loss that is not invariant under a common shift of the logits (a penalty on x1)
    is generated without the shift, and still agrees with mpmath at moderate logits."""
    x = sp.symbols("x1:3", real=True)
    S = sp.exp(x[0]) + sp.exp(x[1])
    m = ReducedModel.from_loss("softmax-penalised", list(x), [], sp.exp(x[0]) / S + x[0] ** 2 / 2)
    assert "shifted by their maximum" not in generate_source(m)
    cm = m.compile()
    y = np.array([3.0, -2.0])
    _assert_matches_truth(*_eval(cm, y, cm.pack()), *_mp_truth(m, y, []))


def _logistic_model() -> ReducedModel:
    a, b = sp.symbols("a b", real=True)
    g = sp.Symbol("g", positive=True)
    return ReducedModel.from_loss("logistic2", [a, b], [g], softplus(-g * a * b) + softplus(-(a - 2 * b)) / 2,
                                  defaults={"g": 1.0})


_LOGISTIC_POINTS = [[0.5, -0.3], [1.0, 700.0], [-1.0, 700.0], [1.0, -700.0], [-1.0, -700.0], [1.0, 250.0],
                    [350.0, -1.0], [700.0, 0.9]]


@pytest.mark.parametrize("backend", ["numba", "python", "numpy"])
def test_logistic_rhs_and_jacobian_stay_exact_at_margins_of_700(backend):
    """Sigmoid factors at margins up to +-1400, including sigma' = sigma(x) sigma(-x) where
    sigma(1 - sigma) would round to 0: relative precision down to ~1e-300."""
    m = _logistic_model()
    cm = m.compile(backend)
    p = cm.pack({"g": 1.0})
    for y in map(np.array, _LOGISTIC_POINTS):
        f, J = _eval(cm, y, p)
        f_true, J_true = _mp_truth(m, y, [1.0])
        np.testing.assert_allclose(f, f_true, rtol=1e-10, atol=1e-320)
        np.testing.assert_allclose(J, J_true, rtol=1e-10, atol=1e-320)


def test_logistic_truth_catches_the_naive_sigmoid_derivative(monkeypatch):
    """Negative control: with the textbook sigma' = sigma (1 - sigma) (the form before the
    fix), the Jacobian evaluated in doubles is 0 at a margin of 700 where the true value is
    ~1e-299, and the comparison above fails."""
    from scipy.special import expit
    from sympy.core.cache import clear_cache

    from dynamics.symbolic import sigmoid

    clear_cache()  # sympy caches derivatives: none may be reused across the patch
    monkeypatch.setattr(sigmoid, "fdiff", lambda self, argindex=1: sigmoid(self.args[0]) * (1 - sigmoid(self.args[0])))
    try:
        m = _logistic_model()
        fn = sp.lambdify(list(m.state) + list(m.params), m.jacobian_base, modules=[{"sigmoid": expit}, "numpy"])
    finally:
        monkeypatch.undo()
        clear_cache()
    y = np.array([1.0, -700.0])
    J = np.array(fn(*y, 1.0), dtype=float)
    _, J_true = _mp_truth(m, y, [1.0])
    assert J[0, 0] == 0.0 and abs(J_true[0, 0]) > 1e-300
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(J, J_true, rtol=1e-10, atol=1e-320)


def test_log_sum_exp_is_evaluated_with_the_max_shift():
    """A log-sum-exp that is not shift-invariant (no logit shift applies) still evaluates at
    logits of 700 (naively exp(700) * e overflows in the sum at ~709)."""
    x = sp.symbols("x1:3", real=True)
    m = ReducedModel.from_loss("lse2", list(x), [], sp.log(sp.exp(x[0]) + sp.exp(x[1])) + x[0] ** 2 / 2)
    src = generate_source(m)
    assert "shifted by their maximum" not in src and "max(" in src.split("def obs(")[1]
    cm = m.compile()
    for y in ([700.0, 709.9], [0.3, -0.1], [-745.0, -700.0]):
        o = cm.observables(np.array([y]), cm.pack())["loss"][0]
        assert o == pytest.approx(np.logaddexp(*y) + y[0] ** 2 / 2, rel=1e-14)


def test_with_tables_refuses_a_table_that_breaks_the_logit_shift():
    """A softmax RowSum selected by one-hot rows is shift-invariant; rows that do not sum to
    one are not, so the compiled (shifted) code cannot be reused with them."""
    x = sp.symbols("x1:3", real=True)
    e = sp.symbols("e1:3", real=True)
    a, nrm = sp.symbols("a n", real=True)
    rs = RowSum(sp.exp(a) / nrm, e, np.eye(2), intermediates=((a, e[0] * x[0] + e[1] * x[1]),
                                                           (nrm, sp.exp(x[0]) + sp.exp(x[1]))))
    m = ReducedModel.from_loss("softmax-rows", list(x), [], [rs, (x[0] - x[1]) ** 2 / 4])
    cm = m.compile()
    assert "shifted by their maximum" in generate_source(m)
    cm.with_tables({0: np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])})  # still one-hot: fine
    with pytest.raises(ModelError, match="common shift of the softmax logits"):
        cm.with_tables({0: 2 * np.eye(2)})


# The generated text of four small models, pinned. A change here changes every user's
# generated modules: it must bump CODEGEN_VERSION (dynamics/codegen/emit.py) and be explained
# in the commit (what the new text does better); a refactor of the generator must leave it.
_PINNED_SOURCES = {
    "toy": "5e1f4711db813869734363dfb4f465b6bedb540cfcdd7dcee2b097b86f159026",  # rows, metric, groups
    "toy_chain": "483367b05beec5b061f15f339aef4b5a09f3ccbedc7038af57681e0ecdb9504e",  # chain rule
    "margins": "de2f25f96d5d6cf003548d29f767b64920b118f079474620408840d0b6d8c5f3",  # sigmoid lanes
    "softmax": "79e79b92f687821c3bf39551fe67867c27cfdc8f3be8d8dc512f1734f37b45b2",  # logit shift, lse
}


@pytest.mark.parametrize("name", sorted(_PINNED_SOURCES))
def test_generated_source_text_is_pinned(name):
    import hashlib

    from dynamics.codegen import CODEGEN_VERSION
    from tests.conftest import toy_chain_model, toy_model

    build = {"toy": toy_model, "toy_chain": toy_chain_model, "margins": _margins_model,
             "softmax": _softmax_model}[name]
    src = generate_source(build())
    assert CODEGEN_VERSION == "7", "CODEGEN_VERSION changed: re-pin the hashes below it"
    assert hashlib.sha256(src.encode()).hexdigest() == _PINNED_SOURCES[name]
