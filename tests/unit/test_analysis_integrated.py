"""Analysis of trajectories as integrated (issue 18 item 4): t = 0, round-off losses, escape."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from dynamics.analysis import detect_stages, escape_time, first_crossing
from dynamics.analysis.stages import LOSS_FLOOR


def _one_drop(t: np.ndarray, t_drop: float = 100.0) -> np.ndarray:
    """exp(-3 sigmoid(4 ln(t / t_drop))): a plateau at 1, a drop at t_drop, a plateau at e^-3."""
    z = 4.0 * (np.log(np.maximum(t, 1e-300)) - math.log(t_drop))
    return np.exp(-3.0 * expit(z))


def test_detect_stages_leaves_out_t0_and_agrees_with_the_curve_without_it() -> None:
    t = np.concatenate(([0.0], np.geomspace(1e-2, 1e6, 400)))
    loss = _one_drop(t)
    with_t0 = detect_stages(t, loss)
    assert with_t0 == detect_stages(t[1:], loss[1:])
    assert [s.kind for s in with_t0] == ["plateau", "drop", "plateau"]


def test_detect_stages_still_rejects_negative_or_repeated_zero_time() -> None:
    t = np.array([0.0, 0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="t must be > 0"):
        detect_stages(t, np.ones(4))
    with pytest.raises(ValueError, match="t must be > 0"):
        detect_stages(np.array([-1.0, 1.0, 2.0, 3.0]), np.ones(4))


def test_detect_stages_clips_round_off_below_zero_at_the_floor() -> None:
    """A loss that converges to 0 and dips to -4e-15 gives its drop, then a plateau at the floor."""
    t = np.concatenate(([0.0], np.geomspace(1e-2, 1e3, 500)))
    loss = np.exp(-t)  # reaches 1e-15 near t = 35, underflows to 0 later
    loss[-40:] = -4e-15  # round-off of an integrator
    stages = detect_stages(t, loss)
    assert [s.kind for s in stages] == ["plateau", "drop", "plateau"]
    floor = LOSS_FLOOR * float(loss.max())
    assert stages[-1].loss_end == pytest.approx(floor)
    # the drop ends where exp(-t) meets the floor, t = -ln(1e-12) = 27.6 (rate leaves 0.1 there)
    assert stages[1].t_end == pytest.approx(-math.log(floor), rel=0.05)


def test_detect_stages_loss_floor_is_a_setting() -> None:
    t = np.geomspace(1e-2, 1e3, 500)
    loss = np.exp(-t)
    a = detect_stages(t, loss, loss_floor=1e-6)
    assert a[1].t_end == pytest.approx(-math.log(1e-6), rel=0.05)


@pytest.mark.parametrize(
    "loss_end, floor, match",
    [
        (-1e-3, LOSS_FLOOR, "negative beyond round-off"),  # negative control: not round-off
        (0.0, 0.0, "loss_floor must be in"),
        (0.0, 1.5, "loss_floor must be in"),
    ],
)
def test_detect_stages_rejects_a_truly_negative_loss_and_bad_floor(
    loss_end: float, floor: float, match: str
) -> None:
    t = np.geomspace(1.0, 10.0, 6)
    loss = np.array([1.0, 0.5, 0.2, 0.1, 0.01, loss_end])
    with pytest.raises(ValueError, match=match):
        detect_stages(t, loss, loss_floor=floor)


def test_detect_stages_all_zero_loss_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive value"):
        detect_stages([0.0, 1.0, 2.0, 3.0], [0.0, 0.0, -1e-16, 0.0])


@pytest.mark.parametrize("t_drop", [30.0, 300.0])
def test_escape_time_after_the_detected_plateau(t_drop: float) -> None:
    """Half the plateau height is crossed where 3 sigmoid(z) = ln 2 - ln(loss_end) (closed form)."""
    t = np.concatenate(([0.0], np.geomspace(1e-2, 1e6, 3000)))
    loss = _one_drop(t, t_drop)
    plateau = detect_stages(t, loss)[0]
    assert plateau.kind == "plateau"
    got = escape_time(t, loss, plateau)
    target = -math.log(0.5 * plateau.loss_end) / 3.0  # sigmoid value at the crossing
    z = math.log(target / (1.0 - target))
    expected = t_drop * math.exp(z / 4.0)
    assert got == pytest.approx(expected, rel=1e-3)
    # negative control: the escape of the other curve is a different time
    other = 30.0 if t_drop == 300.0 else 300.0
    assert abs(got / (other * math.exp(z / 4.0)) - 1.0) > 0.5


def test_escape_time_never_escaping_is_nan_and_bad_input_raises() -> None:
    t = np.geomspace(1e-2, 1e2, 200)
    loss = _one_drop(t, 1e6)  # the drop lies beyond the data
    plateau = detect_stages(t, loss)[0]
    assert math.isnan(escape_time(t, loss, plateau))
    drop = detect_stages(t, _one_drop(t, 1.0))[1]
    with pytest.raises(ValueError, match="plateau must be a Stage of kind 'plateau'"):
        escape_time(t, loss, drop)
    with pytest.raises(ValueError, match="fraction must be in"):
        escape_time(t, loss, plateau, fraction=1.0)


def test_first_crossing_after_skips_an_earlier_crossing() -> None:
    t = np.linspace(0.0, 4.0, 5)
    y = np.array([2.0, 0.0, 2.0, 0.0, 2.0])
    assert first_crossing(t, y, 1.0) == pytest.approx(0.5)
    assert first_crossing(t, y, 1.0, after=1.5) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="after"):
        first_crossing(t, y, 1.0, after=5.0)
