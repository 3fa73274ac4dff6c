"""Fixed points and linear stability (issue 18 item 3) on models with known fixed points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from dynamics.analysis import FixedPoint, fixed_points
from dynamics.claims import check
from dynamics.model import ReducedModel

S = 2.0  # target of the scalar linear network


def _net() -> ReducedModel:
    """L = (s - a b)^2 / 2: a saddle at the origin (eigenvalues +-s), minima on a b = s."""
    a, b = sp.symbols("a b", real=True)
    s = sp.Symbol("s", positive=True)
    return ReducedModel.from_loss("fp-net", [a, b], [s], (s - a * b) ** 2 / 2, defaults={"s": S})


def _two_modes() -> ReducedModel:
    """Two decoupled modes with targets 3 and 1: learning one leaves a saddle at loss 1/2."""
    a1, b1, a2, b2 = sp.symbols("a1 b1 a2 b2", real=True)
    s1, s2 = sp.symbols("s1 s2", positive=True)
    loss = (s1 - a1 * b1) ** 2 / 2 + (s2 - a2 * b2) ** 2 / 2
    return ReducedModel.from_loss("fp-modes", [a1, b1, a2, b2], [s1, s2], loss, defaults={"s1": 3.0, "s2": 1.0})


def _double_well() -> ReducedModel:
    """x' = x - x^3, y' = 1 - y: fixed points (0, 1) saddle, (+-1, 1) stable."""
    x, y = sp.symbols("x y", real=True)
    return ReducedModel.from_field("fp-well", [x, y], [], [x - x**3, 1 - y], loss=x**2)


def test_origin_of_a_linear_network_is_a_saddle_with_the_closed_form_linearisation() -> None:
    fps = fixed_points(_net(), backend="numpy")
    top = fps[0]
    assert isinstance(top, FixedPoint)
    assert np.allclose(top.state, 0.0, atol=1e-12)
    assert top.kind == "saddle" and top.unstable_dim == 1 and top.stable_dim == 1
    # H at 0 is [[0, -s], [-s, 0]]: J = -H has eigenvalues +-s, unstable along (1, 1)/sqrt 2
    assert top.escape_rate == pytest.approx(S, rel=1e-12)
    assert np.allclose(top.eigenvalues, [S, -S], rtol=1e-12)
    assert abs(abs(float(top.unstable_directions[:, 0] @ np.array([1.0, 1.0]))) / math.sqrt(2) - 1) < 1e-12
    assert top.observables["loss"] == pytest.approx(S**2 / 2, rel=1e-12)
    # every other point lies on the manifold of minima a b = s, flat along it
    for q in fps[1:]:
        assert q.coords["a"] * q.coords["b"] == pytest.approx(S, rel=1e-9)
        assert q.kind == "marginal" and q.center_dim == 1 and q.unstable_dim == 0
        assert q.eigenvalues[-1] == pytest.approx(-(q.coords["a"] ** 2 + q.coords["b"] ** 2), rel=1e-9)


def test_plateau_and_escape_are_one_line_claims_and_a_wrong_prediction_fails() -> None:
    top = fixed_points(_net(), guesses=[{"a": 0.1, "b": -0.05}], backend="numpy")[0]
    why = "closed form against a root found to 1e-10 and a 2x2 eigenproblem: 1e-9 absorbs both"
    ok = check("escape", "escape rate of the origin is s", S, top.escape_rate, tol=1e-9, relative=True, why=why)
    assert ok.passed
    # negative controls: the escape rate of a deep network's origin (0) or twice s is refuted
    assert not check("escape", "wrong: 2s", 2 * S, top.escape_rate, tol=1e-9, relative=True, why=why).passed
    assert not check("plateau", "wrong: s^2", S**2, top.observables["loss"], tol=1e-9, relative=True,
                     why=why).passed


def test_equality_subspace_finds_the_symmetric_points_once_each() -> None:
    fps = fixed_points(_net(), subspace=["a - b"], backend="numpy", n_random=24)
    got = sorted(round(q.coords["a"], 9) for q in fps)
    assert got == [round(-math.sqrt(S), 9), 0.0, round(math.sqrt(S), 9)]
    assert all(q.coords["a"] == pytest.approx(q.coords["b"], abs=1e-12) for q in fps)
    same = fixed_points(_net(), subspace=[sp.Eq(sp.Symbol("a", real=True), sp.Symbol("b", real=True))],
                        backend="numpy", n_random=24)
    assert len(same) == 3


def test_fixed_coordinates_find_the_intermediate_plateau_of_two_modes() -> None:
    """With the weak mode held at 0 the strong mode is learnt: the saddle of the second plateau."""
    m = _two_modes()
    cm = m.compile("numpy")
    fps = fixed_points(cm, subspace={"a2": 0.0, "b2": 0.0}, guesses=[[1.0, 1.5, 0.0, 0.0]])
    assert len(fps) == 1
    q = fps[0]
    assert q.coords["a1"] * q.coords["b1"] == pytest.approx(3.0, rel=1e-10)
    assert q.kind == "saddle" and q.unstable_dim == 1 and q.center_dim == 1
    assert q.escape_rate == pytest.approx(1.0, rel=1e-10)  # the weak mode's target
    assert q.observables["loss"] == pytest.approx(0.5, rel=1e-10)  # s2^2 / 2
    # negative control: the escape rate does not equal the strong mode's target
    assert abs(q.escape_rate - 3.0) > 1.0


def test_field_model_double_well_kinds_and_eigenvalues() -> None:
    fps = fixed_points(_double_well(), backend="numpy")
    by_x = {round(q.coords["x"]): q for q in fps}
    assert sorted(by_x) == [-1, 0, 1]
    assert by_x[0].kind == "saddle" and np.allclose(by_x[0].eigenvalues, [1.0, -1.0])
    for x in (-1, 1):
        assert by_x[x].kind == "stable" and np.allclose(by_x[x].eigenvalues, [-1.0, -2.0])
        assert math.isnan(by_x[x].escape_rate)


def test_complex_eigenvalues_of_a_spiral() -> None:
    x, y = sp.symbols("x y", real=True)
    w = sp.Symbol("w", positive=True)
    m = ReducedModel.from_field("fp-spiral", [x, y], [w], [-x - w * y, w * x - y], loss=x**2 + y**2,
                                defaults={"w": 2.0})
    (q,) = fixed_points(m, backend="numpy")
    assert q.kind == "stable" and np.iscomplexobj(q.eigenvalues)
    assert np.allclose(sorted(q.eigenvalues, key=lambda z: z.imag), [-1 - 2j, -1 + 2j])


def test_group_factors_scale_the_eigenvalues_not_the_points() -> None:
    a, b = sp.symbols("a b", real=True)
    m = ReducedModel.from_loss("fp-groups", [a, b], [], (1 - a * b) ** 2 / 2, groups=["fast", "slow"])
    (q,) = fixed_points(m, guesses=[[0.0, 0.0]], factors={"fast": 4.0}, backend="numpy")
    assert np.allclose(q.state, 0.0)
    assert q.escape_rate == pytest.approx(2.0, rel=1e-12)  # sqrt(4 * 1)


def test_no_fixed_point_in_a_non_invariant_subspace() -> None:
    """Negative control: y' = 1 - y never vanishes on y = 0, so nothing is reported."""
    assert fixed_points(_double_well(), subspace={"y": 0.0}, backend="numpy") == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"subspace": {"z": 0.0}}, "unknown coordinate 'z'"),
        ({"subspace": ["a - q"]}, "unknown symbols"),
        ({"subspace": "a - b"}, "subspace must be a mapping"),
        ({"subspace": ["s - 1"]}, "does not involve any coordinate"),
        ({"tol": 0.0}, "tol must be a positive"),
        ({"zero_tol": -1.0}, "zero_tol must be a positive"),
        ({"guesses": [[0.0, 0.0, 0.0]]}, "shape"),
        ({"params": {"t": 1.0}}, "unknown parameter"),
        ({"n_random": -1}, "n_random must be an integer"),
        ({"guesses": [], "n_random": 0}, "at least one guess"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fixed_points(_net(), backend="numpy", **kwargs)
