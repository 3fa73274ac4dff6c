"""Reduced models: the flow is -M^-1 grad L, and bad models are rejected with clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dynamics.model import ModelError, ReducedModel, RowSum


def test_rhs_equals_minus_metric_inverse_gradient(toy):
    loss = toy.loss.expand()
    rhs = toy.rhs_expressions()
    for s, m, r in zip(toy.state, toy.metric, rhs, strict=True):
        expected = -sp.diff(loss, s) / m
        pt = {sym: v for sym, v in zip(toy.state + toy.params, [0.3, -0.7, 0.2, 2.0, 0.1], strict=True)}
        assert float(r.subs(pt)) == pytest.approx(float(expected.subs(pt)), rel=1e-12)
        # symbolic identity (sigmoid/softplus kept unevaluated, so simplify to zero)
        assert sp.simplify(r - expected) == 0


def test_field_model_keeps_field():
    x = sp.Symbol("x", real=True)
    r = sp.Symbol("r", positive=True)
    m = ReducedModel.from_field("logistic", [x], [r], [r * x * (1 - x)], loss=(1 - x) ** 2, defaults={"r": 1.0})
    assert m.rhs_expressions()[0] == r * x * (1 - x)
    assert list(m.observables) == ["loss"]


def test_stray_symbol_is_rejected():
    a, z = sp.symbols("a z", real=True)
    with pytest.raises(ModelError, match="neither state nor parameters.*z"):
        ReducedModel.from_loss("bad", [a], [], (a - z) ** 2)


def test_metric_may_not_depend_on_state():
    a = sp.Symbol("a", real=True)
    with pytest.raises(ModelError, match="depends on the state"):
        ReducedModel.from_loss("bad", [a], [], a**2, metric=[a])


@pytest.mark.parametrize("kwargs, match", [
    ({"metric": [1, 2]}, "metric has 2 entries"),
    ({"groups": ["g"] * 3}, "groups has 3 entries"),
    ({"defaults": {"nope": 1.0}}, "unknown parameter 'nope'"),
    ({"observables": {"loss": 1}}, "reserved"),
])
def test_bad_options_are_rejected(kwargs, match):
    a = sp.Symbol("a", real=True)
    with pytest.raises(ModelError, match=match):
        ReducedModel.from_loss("bad", [a], [], a**2, **kwargs)


def test_bad_row_tables_are_rejected():
    a, x = sp.symbols("a x", real=True)
    with pytest.raises(ModelError, match="shape"):
        RowSum(a * x, (x,), np.ones((3, 2)))
    with pytest.raises(ModelError, match="non-finite"):
        RowSum(a * x, (x,), np.array([1.0, np.nan]))
    with pytest.raises(ModelError, match="no rows"):
        RowSum(a * x, (x,), np.ones((0, 1)))


def test_param_vector_names_the_problem(toy):
    assert toy.param_vector({"k": 0.5}).tolist() == [2.0, 0.5]
    with pytest.raises(ModelError, match="unknown parameter.*'q'"):
        toy.param_vector({"q": 1.0})
    with pytest.raises(ModelError, match="not finite"):
        toy.param_vector({"s": float("inf")})
    with pytest.raises(ModelError, match="must be a number"):
        toy.param_vector({"s": "two"})
    a = sp.Symbol("a", real=True)
    p = sp.Symbol("p", positive=True)
    m = ReducedModel.from_loss("nodefault", [a], [p], p * a**2)
    with pytest.raises(ModelError, match="no value for parameter 'p'"):
        m.param_vector()


def test_state_vector_validation(toy):
    assert toy.state_vector({"a": 1, "b": 2, "c": 3}).tolist() == [1, 2, 3]
    with pytest.raises(ModelError, match="missing"):
        toy.state_vector({"a": 1})
    with pytest.raises(ModelError, match="shape"):
        toy.state_vector([1.0, 2.0])
    with pytest.raises(ModelError, match="non-finite"):
        toy.state_vector([1.0, np.nan, 0.0])


def test_describe_lists_equations(toy):
    text = toy.describe()
    assert "da/dt" in text and "sum_data[" in text and "table data: 4 rows" in text
    tex = toy.describe(latex=True)
    assert r"\frac{da}{dt}" in tex and r"\sum_{data}" in tex


def test_same_named_symbols_are_refused_at_construction():
    a = sp.Symbol("a", real=True)
    a_pos = sp.Symbol("a", positive=True)  # a different symbol with the same name
    s = sp.Symbol("s", positive=True)
    with pytest.raises(ModelError, match=r"same name \['a'\]"):
        ReducedModel.from_loss("m", [a, a_pos], [s], s * a * a_pos)
    with pytest.raises(ModelError, match=r"state coordinate and a parameter share the name\(s\) \['a'\]"):
        ReducedModel.from_loss("m", [a], [a_pos], a_pos * a**2)
    with pytest.raises(ModelError, match="symbol named 'a' that is not the declared one"):
        ReducedModel.from_loss("m", [a], [s], s * a_pos**2)
    # negative control: distinct names are fine
    ReducedModel.from_loss("m", [a], [s], s * a**2)


@pytest.mark.parametrize("loss, words", [
    (lambda a, s: sp.I * a**2, "complex"),
    (lambda a, s: (1 + 2j) * a**2, "complex"),
    (lambda a, s: sp.Matrix([a**2, s * a]), "matrix"),
    (lambda a, s: np.array([a**2, s * a]), "matrix"),
    (lambda a, s: a > 1, "real scalar expression"),
    (lambda a, s: sp.oo * a, "non-finite"),
])
def test_loss_must_be_a_real_scalar(loss, words):
    a = sp.Symbol("a", real=True)
    s = sp.Symbol("s", positive=True)
    with pytest.raises(ModelError, match=f"loss .*{words}"):
        ReducedModel.from_loss("m", [a], [s], loss(a, s))
    with pytest.raises(ModelError, match=f"observable 'o' .*{words}"):
        ReducedModel.from_loss("m", [a], [s], a**2, observables={"o": loss(a, s)})


def test_state_and_params_name_the_coordinate_and_what_was_given(toy):
    with pytest.raises(ModelError, match=r"coordinate 'b' must be a number .*got str 'x'"):
        toy.state_vector({"a": 1, "b": "x", "c": 3})
    with pytest.raises(ModelError, match=r"coordinate 'a' must be a number .*got complex"):
        toy.state_vector([1j, 2.0, 3.0])
    with pytest.raises(ModelError, match=r"coordinate\(s\) \['b'\] is non-finite"):
        toy.state_vector({"a": 1, "b": np.inf, "c": 3})
    with pytest.raises(ModelError, match=r"parameter 's' .*must be a number .*got list"):
        toy.param_vector({"s": [1.0, 2.0]})
    with pytest.raises(ModelError, match=r"parameter 's' .*must be a number .*got complex"):
        toy.param_vector({"s": 2j})
    # numpy and sympy reals are numbers
    assert toy.param_vector({"s": np.float32(2.0), "k": sp.Rational(1, 2)}).tolist() == [2.0, 0.5]
    assert toy.state_vector([np.int64(1), 2.0, np.array(3.0)]).tolist() == [1, 2, 3]
