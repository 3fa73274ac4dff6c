"""SolveOptions and Crossing: checked when made, round-trip through JSON."""

import json

import numpy as np
import pytest

from dynamics.options import Crossing, SolveOptions, as_crossings


def test_defaults_and_grid():
    o = SolveOptions(t_max=10.0, n_points=5)
    g = o.grid()
    assert g[0] == 0.0 and g[-1] == pytest.approx(10.0) and g.size == 6
    assert SolveOptions(t_eval=[0, 1, 2]).grid().tolist() == [0.0, 1.0, 2.0]
    assert SolveOptions().grid(3.0)[-1] == pytest.approx(3.0)


@pytest.mark.parametrize(
    "kw, word",
    [
        ({"rtol": 0}, "rtol"),
        ({"rtol": 1e-16}, "rtol"),
        ({"atol": float("nan")}, "atol"),
        ({"atol": True}, "atol"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 2.5}, "max_steps"),
        ({"h0": -1.0}, "h0"),
        ({"hmax": float("inf")}, "hmax"),
        ({"t_max": -1.0}, "t_max"),
        ({"t_eval": [0, 2, 1]}, "increasing"),
        ({"t_eval": [0]}, "t_eval"),
        ({"t_eval": [0, float("nan")]}, "non-finite"),
        ({"t_eval": [0, 1], "t_max": 2.0}, "t_max"),
        ({"n_points": 1}, "n_points"),
        ({"method": 3}, "method"),
        ({"events": [("x", 1.0, 2)]}, "direction"),
        ({"events": ["x"]}, "Crossing"),
    ],
)
def test_bad_values_are_named(kw, word):
    with pytest.raises(ValueError, match=word):
        SolveOptions(**kw)


def test_no_time_axis():
    with pytest.raises(ValueError, match="t_max or t_eval"):
        SolveOptions().grid()


def test_crossings():
    assert as_crossings([("a", 1), Crossing("b", 2.0, -1)]) == (Crossing("a", 1.0, 0), Crossing("b", 2.0, -1))
    with pytest.raises(ValueError, match="finite"):
        Crossing("a", float("inf"))
    with pytest.raises(ValueError, match="name"):
        Crossing("", 1.0)


def test_round_trip_json():
    o = SolveOptions(rtol=1e-6, t_eval=[0.0, 0.5, 1.0], events=[("u", 0.5, 1)], max_steps=10)
    back = SolveOptions.from_dict(json.loads(json.dumps(o.to_dict())))
    assert back == o
    assert back != o.replace(rtol=1e-7)
    assert np.array_equal(back.grid(), o.grid())
