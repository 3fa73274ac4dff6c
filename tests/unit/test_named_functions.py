"""Named sub-expressions (dynamics.symbolic.define): display, generated code, Jacobian."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import sympy as sp

from dynamics.codegen import generate_source, model_key
from dynamics.model import ReducedModel, RowSum
from dynamics.symbolic import define, defined_functions, inline, softplus
from tests.conftest import rhs_and_jacobian as _eval

a, b, c, d = sp.symbols("a b c d", real=True)
# Two helpers shaped like Saad & Solla's I3(a, b, c) and I4(a, b, c, d): long enough that an
# expanded field is unreadable, which is what naming them is for.
I3 = define("I3", (a, b, c), 2 / sp.pi / sp.sqrt((1 + a) * (1 + c) - b**2) * (b * (1 + a) - a * c) / (1 + a))
I4 = define("I4", (a, b, c, d), 4 / sp.pi**2 / sp.sqrt((1 + a) * (1 + b) - c**2)
            * sp.asin((a * d - b * c) / sp.sqrt((1 + a) * (1 + b) * (2 + d**2))))


def _field_model(name: str = "named-field") -> ReducedModel:
    """A 3-coordinate field shaped like a committee machine's: each component sums I3 and I4
    over pairs of coordinates (9 + 9 distinct applications), and the loss reuses some."""
    x, y, z = sp.symbols("x y z", real=True)
    eta = sp.Symbol("eta", positive=True)
    s = (x, y, z)
    f = [eta * sp.Add(*[I3(si, u, v) for u in s for v in s])
         - eta**2 * sp.Add(*[I4(si, si, u, v) for u in s for v in s]) for si in s]
    loss = I4(x, x, y, z) + x**2 + y**2 + z**2
    return ReducedModel.from_field(name, [x, y, z], [eta], f, loss=loss, defaults={"eta": 0.5},
                                   observables={"i3": I3(x, y, z)})


def _small_field_model(name: str = "named-small") -> ReducedModel:
    """Three coordinates, five distinct applications of I3 and I4 (some repeated)."""
    x, y, z = sp.symbols("x y z", real=True)
    eta = sp.Symbol("eta", positive=True)
    f = [
        eta * (I3(x, y, z) - I3(z, y, x)) - eta**2 * I4(x, y, z, x),
        eta * (I3(x, x, y) + I3(z, y, x)) + eta**2 * (I4(x, y, z, x) - I4(y, y, z, z)),
        eta * I3(x, y, z) * I3(x, x, y) - z,
    ]
    return ReducedModel.from_field(name, [x, y, z], [eta], f, loss=I4(x, y, z, x) + x**2,
                                   defaults={"eta": 0.5}, observables={"i3": I3(x, y, z)})


def test_define_refuses_bad_input_by_name():
    with pytest.raises(ValueError, match="name"):
        define("exp", (a,), a)
    with pytest.raises(ValueError, match="name"):
        define("f__d1", (a,), a)
    with pytest.raises(ValueError, match="args"):
        define("f", (a, a), a)
    with pytest.raises(ValueError, match=r"not among its args: \['b'\]"):
        define("f", (a,), a * b)
    assert define("I3", (a, b, c), I3.definition) is I3  # the same definition is one class


def test_derivatives_are_named_and_agree_with_the_inlined_definition():
    x = sp.Symbol("x", real=True)
    e = I3(x, x**2, sp.Integer(1) / 3)
    de = sp.diff(e, x)
    assert {f.__name__ for f in defined_functions([de])} == {"I3__d1", "I3__d2"}
    ref = sp.diff(inline(e), x)
    for v in (0.1, 0.4):
        assert float(de.subs(x, v).evalf()) == pytest.approx(float(ref.subs(x, v)), rel=1e-12)
    # mixed second derivatives are one function whatever the order
    assert type(sp.diff(I3(a, b, c), a, b)) is type(sp.diff(I3(a, b, c), b, a))
    assert pickle.loads(pickle.dumps(de)) == de


def test_show_prints_the_field_in_named_terms_with_each_definition_once():
    m = _field_model()
    text = m.describe()
    for f in (I3, I4):
        body = sp.sstr(f.definition)
        assert text.count(body) == 1, f"the definition of {f.__name__} is printed once"
    assert "I3(x, y, z)" in text and "I4(x, x, y, z)" in text
    # Size bound, from the definitions and the number of applications: a 200-character header,
    # each definition once (plus its head), each equation and observable at most 30 characters
    # per distinct application (its arguments and coefficient) plus 40.
    exprs = list(m.vector_field) + [m.observables["i3"].base]
    bound = 200 + sum(len(sp.sstr(f.definition)) + 25 for f in (I3, I4)) \
        + sum(30 * len(e.atoms(I3, I4)) + 40 for e in exprs)
    assert len(text) <= bound, text
    inlined = ReducedModel.from_field("inlined", m.state, m.params, [inline(f) for f in m.vector_field],
                                      loss=inline(m.loss.base), observables={"i3": inline(exprs[-1])})
    assert len(inlined.describe()) > bound, "negative control: the same bound refuses the expanded field"
    latex = m.describe(latex=True)
    assert latex.count(sp.latex(I4.definition)) == 1 and r"I_{3}\left(x, y, z\right)" in latex


def test_generated_code_calls_each_distinct_application_once():
    m = _small_field_model()
    src = generate_source(m)
    rhs = src[src.index("def rhs("):src.index("def jac(")]
    apps = {a for f in m.vector_field for a in f.atoms(I3, I4)}
    calls = re.findall(r"_fn_I[34]\([^)]*\)", rhs)
    assert len(calls) == len(set(calls)) == len(apps) == 5
    assert src.count("def _fn_I3(") == 1 and src.count("def _fn_I4(") == 1
    # the Jacobian takes the partials of each application from one gradient call
    jac = src[src.index("def jac("):src.index("def obs(")]
    assert "_fn_I3__grad(" in jac and "_fn_I3__d1(" not in jac
    # the Jacobian differentiates through them: against central differences of the inlined
    # field, evaluated by the independent numpy backend
    cm = m.compile("numba")
    ref = ReducedModel.from_field("named-small-inlined", m.state, m.params,
                                  [inline(f) for f in m.vector_field], loss=inline(m.loss.base)).compile("numpy")
    p = cm.pack({"eta": 0.7})
    rng = np.random.default_rng(3)
    for _ in range(4):
        y = rng.uniform(0.05, 0.4, size=3)
        f, J = _eval(cm, y, p)
        f_ref, _ = _eval(ref, y, p)
        np.testing.assert_allclose(f, f_ref, rtol=1e-13, atol=1e-15)
        Jfd = np.empty_like(J)
        for j in range(3):
            h = 1e-6
            yp, ym = y.copy(), y.copy()
            yp[j] += h
            ym[j] -= h
            Jfd[:, j] = (_eval(ref, yp, p)[0] - _eval(ref, ym, p)[0]) / (2 * h)
        # central differences: O(h^2) truncation with O(1) third derivatives, O(eps/h) round-off
        np.testing.assert_allclose(J, Jfd, rtol=1e-7, atol=1e-9)
        wrong = J.copy()
        wrong[1, 2] += 1e-3 * abs(J).max()  # negative control: a 0.1% error in one entry is caught
        assert not np.allclose(wrong, Jfd, rtol=1e-7, atol=1e-9)
    obs = np.empty(2)
    cm.obs(y, p, cm.data, cm.bounds, obs)
    assert obs[1] == pytest.approx(float(inline(I3(*m.state)).subs(dict(zip(m.state, y, strict=True)))), rel=1e-13)


def test_the_definition_is_part_of_the_cache_key_and_rowsums_may_use_named_functions():
    x, w = sp.symbols("x w", real=True)
    g1 = define("gk", (a,), sp.tanh(a))
    g2 = define("gk", (a,), sp.tanh(2 * a))
    m1 = ReducedModel.from_loss("named-key", [x], [], g1(x) ** 2)
    m2 = ReducedModel.from_loss("named-key", [x], [], g2(x) ** 2)
    assert model_key(m1) != model_key(m2)
    with pytest.raises(ValueError, match="two different definitions"):
        generate_source(ReducedModel.from_loss("named-two", [x], [], g1(x) ** 2 + g2(x)))
    rows = RowSum(w * softplus(-g1(x) * w), (w,), np.array([[1.0], [-0.5]]))
    cm = ReducedModel.from_loss("named-rows", [x], [], [g1(x) ** 2, rows]).compile("python")
    f, J = _eval(cm, np.array([0.3]), cm.pack())
    t = np.tanh(0.3)
    ref = -(2 * t + sum(-ww * ww / (1 + np.exp(t * ww)) for ww in (1.0, -0.5))) * (1 - t**2)
    assert f[0] == pytest.approx(ref, rel=1e-12)
