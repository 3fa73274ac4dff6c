"""The shared argument checks: each accepts what it should and names what it refuses."""

import numpy as np
import pytest

from dynamics import validate as v


def test_accepts():
    assert v.positive_float("x", 2) == 2.0 and isinstance(v.positive_float("x", np.float32(1)), float)
    assert v.nonnegative_float("x", 0) == 0.0
    assert v.positive_int("n", np.int64(3)) == 3
    assert v.int_at_least("n", 0, 0) == 0
    assert v.one_of("m", "a", "ab") == "a"
    assert v.finite_array("a", [[1, 2]], (None, 2)).shape == (1, 2)
    g = np.random.default_rng(0)
    assert v.generator("rng", g) is g


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: v.positive_float("lr", 0.0), "lr"),
        (lambda: v.positive_float("lr", True), "lr"),
        (lambda: v.positive_float("lr", float("inf")), "lr"),
        (lambda: v.nonnegative_float("wd", -1e-9), "wd"),
        (lambda: v.positive_int("steps", 2.0), "steps"),
        (lambda: v.positive_int("steps", 0), "steps"),
        (lambda: v.int_at_least("depth", 1, 2), ">= 2"),
        (lambda: v.one_of("opt", "sgdd", ("gd", "sgd")), "sgdd"),
        (lambda: v.finite_array("y0", [1, np.nan]), "non-finite"),
        (lambda: v.finite_array("y0", [[1, 2]], (2,)), r"shape \(2\)"),
        (lambda: v.finite_array("y0", ["a"]), "y0"),
    ],
)
def test_refuses_with_name(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_generator_type():
    with pytest.raises(TypeError, match="Generator"):
        v.generator("rng", 0)
