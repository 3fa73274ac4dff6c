"""Claims are two-sided, name their tolerance's reason, and fail on non-finite measurements."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dynamics.claims import check, check_equal


def test_two_sided_absolute():
    assert check("c", "s", 1.0, 1.05, tol=0.1, why="w").passed
    assert check("c", "s", 1.0, 0.95, tol=0.1, why="w").passed
    assert not check("c", "s", 1.0, 1.2, tol=0.1, why="w").passed
    assert not check("c", "s", 1.0, 0.8, tol=0.1, why="w").passed


def test_relative_and_arrays():
    c = check("c", "s", [10.0, 100.0], [10.5, 104.0], tol=0.05, relative=True, why="w")
    assert c.passed and c.deviation == pytest.approx(0.05)
    assert not check("c", "s", [10.0, 100.0], [10.5, 106.0], tol=0.05, relative=True, why="w").passed


def test_non_finite_measurement_fails():
    c = check("c", "s", 0.0, math.nan, tol=1.0, why="w")
    assert not c.passed and c.deviation == math.inf
    assert not check("c", "s", [0.0, 0.0], [0.0, np.inf], tol=1.0, why="w").passed


def test_claim_requires_reason_and_valid_tolerance():
    with pytest.raises(ValueError, match="reason"):
        check("c", "s", 0.0, 0.0, tol=1.0, why="")
    with pytest.raises(ValueError, match="tolerance"):
        check("c", "s", 0.0, 0.0, tol=-1.0, why="w")
    with pytest.raises(ValueError, match="source"):
        check("c", "s", 0.0, 0.0, tol=1.0, why="w", source="rumour")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        check("c", "s", [1.0, 2.0], [1.0, 2.0, 3.0], tol=1.0, why="w")


def test_check_equal_and_json():
    assert check_equal("o", "order", ["h1", "h2"], ("h1", "h2"), why="exact").passed
    c = check_equal("o", "order", ["h1", "h2"], ["h2", "h1"], why="exact")
    assert not c.passed
    d = c.to_dict()
    assert set(d) >= {"id", "statement", "predicted", "measured", "tolerance", "passed", "why"}
