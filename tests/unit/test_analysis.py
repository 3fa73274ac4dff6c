"""Tests for dynamics.analysis: each function on data with a known answer, plus negative controls."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize

from dynamics.analysis import (
    Fit,
    Stage,
    cosine,
    cosine_series,
    detect_stages,
    first_crossing,
    linear_fit,
    local_slopes,
    log_derivative,
    log_growth,
    loglog_slope,
    max_margin_direction,
)
from dynamics.trajectory import Trajectory


# ----------------------------------------------------------------------------- linear_fit
def test_linear_fit_recovers_exact_line():
    x = np.linspace(-2.0, 5.0, 11)
    f = linear_fit(x, 3.0 * x - 1.5)
    assert isinstance(f, Fit)
    assert f.slope == pytest.approx(3.0, abs=1e-13)
    assert f.intercept == pytest.approx(-1.5, abs=1e-13)
    assert f.stderr < 1e-13
    assert f.r2 == pytest.approx(1.0, abs=1e-14)
    assert f.n == 11
    assert f.window == (-2.0, 5.0)


def test_linear_fit_window_is_inclusive_and_selects_points():
    x = np.arange(10.0)
    y = np.where(x <= 4, 2.0 * x, 100.0 - x)  # two lines
    f = linear_fit(x, y, window=(0.0, 4.0))
    assert (f.n, f.window) == (5, (0.0, 4.0))
    assert f.slope == pytest.approx(2.0, abs=1e-13)
    g = linear_fit(x, y, window=(5.0, 9.0))
    assert g.slope == pytest.approx(-1.0, abs=1e-13)


def test_linear_fit_stderr_matches_textbook_formula():
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 1.0, 30)
    y = 2.0 * x + rng.normal(0.0, 0.1, x.size)
    f = linear_fit(x, y)
    # scipy.stats.linregress is an independent implementation of the same formula
    from scipy.stats import linregress

    ref = linregress(x, y)
    assert f.slope == pytest.approx(ref.slope, rel=1e-12)
    assert f.intercept == pytest.approx(ref.intercept, rel=1e-12)
    assert f.stderr == pytest.approx(ref.stderr, rel=1e-10)
    assert f.r2 == pytest.approx(ref.rvalue**2, rel=1e-12)


def test_linear_fit_constant_y_has_zero_slope_and_nan_r2():
    f = linear_fit([0.0, 1.0, 2.0], [4.0, 4.0, 4.0])
    assert f.slope == 0.0 and f.stderr == 0.0 and math.isnan(f.r2)


@pytest.mark.parametrize(
    ("x", "y", "window", "match"),
    [
        ([0.0, 1.0, 2.0], [0.0, 1.0], None, "same length"),
        ([0.0, 1.0, np.nan], [0.0, 1.0, 2.0], None, r"x must be finite, but x\[2\]"),
        ([[0.0, 1.0, 2.0]], [[0.0, 1.0, 2.0]], None, "1-D"),
        ([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], (0.0, 1.0), "at least 3"),
        ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], (-1.0, 2.0), "not inside the data range"),
        ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], (0.0, 3.0), "not inside the data range"),
        ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], (2.0, 0.0), "lo < hi"),
        ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], (0.0,), "pair"),
        ([1.0, 1.0, 1.0], [0.0, 1.0, 2.0], None, "all x .* are equal"),
    ],
)
def test_linear_fit_rejects_bad_input(x, y, window, match):
    with pytest.raises(ValueError, match=match):
        linear_fit(x, y, window)


# --------------------------------------------------------------------------- loglog_slope
def test_loglog_slope_of_inverse_time_is_exactly_minus_one():
    t = np.geomspace(1e-1, 1e5, 60)
    f = loglog_slope(t, 7.0 / t, window=(1.0, 1e5))
    assert f.slope == pytest.approx(-1.0, abs=1e-12)
    assert f.intercept == pytest.approx(math.log(7.0), abs=1e-11)
    assert f.window == (1.0, 1e5)
    assert f.n == int(np.sum(t >= 1.0))


def test_loglog_slope_of_negative_power_law_uses_absolute_value():
    t = np.geomspace(1.0, 1e3, 20)
    assert loglog_slope(t, -2.0 * t**0.5).slope == pytest.approx(0.5, abs=1e-12)


def test_loglog_slope_negative_control_inverse_square_is_not_minus_one():
    t = np.geomspace(1.0, 1e3, 40)
    f = loglog_slope(t, t**-2.0)
    assert abs(f.slope - (-1.0)) > 0.05
    assert f.slope == pytest.approx(-2.0, abs=1e-12)


def test_loglog_slope_stderr_covers_truth_on_noisy_power_law():
    rng = np.random.default_rng(1)
    t = np.geomspace(1.0, 1e4, 50)
    f = loglog_slope(t, t**-1.0 * np.exp(rng.normal(0.0, 0.05, t.size)))
    assert abs(f.slope + 1.0) <= 3.0 * f.stderr
    assert 0.0 < f.stderr < 0.01


def test_loglog_slope_stderr_is_calibrated_over_replicates():
    # |slope - truth| <= 1.96 stderr should hold for about 95% of replicates (t with 48 dof)
    rng = np.random.default_rng(2)
    t = np.geomspace(1.0, 1e4, 50)
    noise = rng.normal(0.0, 0.1, (400, t.size))
    fits = [loglog_slope(t, t**-1.0 * np.exp(e)) for e in noise]
    covered = [abs(f.slope + 1.0) <= 1.96 * f.stderr for f in fits]
    assert 0.90 <= np.mean(covered) <= 0.99


def test_loglog_slope_on_trajectory_columns_skipping_t0():
    t = np.concatenate(([0.0], np.geomspace(1e-2, 1e2, 30)))
    loss = 1.0 / (1.0 + t)
    tr = Trajectory(t, np.zeros((t.size, 1)), ("a",), {"loss": loss})
    f = loglog_slope(tr.t, tr.loss, window=(10.0, 100.0))
    assert -1.0 < f.slope < -0.9  # approaching -1 from above
    with pytest.raises(ValueError, match="t must be > 0 .*t_lo > 0"):
        loglog_slope(tr.t, tr.loss)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([1.0, -1.0, 1.0, 1.0]), "one sign"),
        (np.array([1.0, 0.0, 1.0, 1.0]), "nonzero"),
    ],
)
def test_loglog_slope_rejects_mixed_sign_or_zero(y, match):
    with pytest.raises(ValueError, match=match):
        loglog_slope([1.0, 2.0, 3.0, 4.0], y)


# --------------------------------------------------------------------------- local_slopes
def test_local_slopes_tend_to_minus_one():
    t = np.geomspace(1e-3, 1e5, 400)
    fits = local_slopes(t, 1.0 / t + 1.0 / t**2, n_windows=8)
    slopes = np.array([f.slope for f in fits])
    assert len(fits) == 8
    assert np.all(np.diff(slopes) > 0)  # monotone approach from -2 towards -1
    assert slopes[0] < -1.9
    assert abs(slopes[-1] + 1.0) < 0.01
    # windows are consecutive and log-equal, covering the data
    edges = [f.window[0] for f in fits] + [fits[-1].window[1]]
    assert edges[0] == t[0] and edges[-1] == t[-1]
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(1e8) / 8, rtol=1e-12)


def test_local_slopes_of_pure_power_law_are_all_exact():
    t = np.concatenate(([0.0], np.geomspace(1.0, 1e4, 100)))  # t = 0 is skipped
    y = np.where(t > 0, t, 1.0) ** -1.0
    for f in local_slopes(t, y):
        assert f.slope == pytest.approx(-1.0, abs=1e-12)


def test_local_slopes_explicit_windows_and_blocks():
    t = np.geomspace(1.0, 1e4, 100)
    y = t**-0.5
    fits = local_slopes(t, y, windows=[(1.0, 10.0), (10.0, 1e4)])
    assert [f.window for f in fits] == [(1.0, 10.0), (10.0, 1e4)]
    blocks = local_slopes(t, y, points_per_window=30)
    assert [f.n for f in blocks] == [30, 30, 40]  # remainder joins the last block
    assert blocks[0].window == (t[0], t[29]) and blocks[-1].window == (t[60], t[-1])
    assert all(f.slope == pytest.approx(-0.5, abs=1e-12) for f in blocks)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_windows": 3, "points_per_window": 5}, "at most one"),
        ({"n_windows": 0}, "at least 1"),
        ({"points_per_window": 2}, "at least 3"),
        ({"n_windows": 50}, "a fit needs at least 3"),
        ({"windows": [(0.5, 10.0)]}, "not inside"),
    ],
)
def test_local_slopes_rejects_bad_windows(kwargs, match):
    t = np.geomspace(1.0, 1e2, 20)
    with pytest.raises(ValueError, match=match):
        local_slopes(t, 1.0 / t, **kwargs)


# ----------------------------------------------------------------------------- log_growth
def test_log_growth_recovers_logarithmic_norm_growth():
    t = np.geomspace(1.0, 1e6, 50)
    f = log_growth(t, 0.7 * np.log(t) + 2.0, window=(10.0, 1e6))
    assert f.slope == pytest.approx(0.7, abs=1e-12)
    assert f.intercept == pytest.approx(2.0, abs=1e-11)
    assert f.window == (10.0, 1e6)


def test_log_growth_negative_control_sqrt_growth_is_not_logarithmic():
    # for y = c ln t the rate is the same in every decade; for sqrt(t) it is not
    t = np.geomspace(1.0, 1e6, 120)
    early, late = log_growth(t, np.sqrt(t), (1.0, 1e2)), log_growth(t, np.sqrt(t), (1e4, 1e6))
    assert late.slope / early.slope > 10
    lg = 0.7 * np.log(t)
    assert log_growth(t, lg, (1.0, 1e2)).slope == pytest.approx(log_growth(t, lg, (1e4, 1e6)).slope)


def test_log_growth_needs_positive_t():
    with pytest.raises(ValueError, match="t must be > 0"):
        log_growth([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0])


# ------------------------------------------------------------------------- log_derivative
def test_log_derivative_of_power_law_is_exact_on_nonuniform_grid():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0.1, 100.0, 40))
    r = log_derivative(t, 3.0 * t**-1.0)
    np.testing.assert_allclose(r, 1.0, atol=1e-12)
    # negative control: t^-2 has rate 2, not 1
    assert np.all(np.abs(log_derivative(t, t**-2.0) - 1.0) > 0.5)


def test_log_derivative_of_exponential_decay_is_t():
    # -d ln(e^{-t}) / d ln t = t; centred differences are second-order inside
    t = np.geomspace(1e-2, 10.0, 2000)
    r = log_derivative(t, np.exp(-t))
    np.testing.assert_allclose(r[1:-1], t[1:-1], rtol=1e-5)


@pytest.mark.parametrize(
    ("t", "loss", "match"),
    [
        ([0.0, 1.0, 2.0], [1.0, 0.5, 0.2], "t must be > 0"),
        ([1.0, 2.0, 3.0], [1.0, 0.0, 0.2], "loss must be > 0"),
        ([1.0, 2.0, 2.0], [1.0, 0.5, 0.2], "strictly increasing"),
        ([1.0], [1.0], "at least 2"),
    ],
)
def test_log_derivative_rejects_bad_input(t, loss, match):
    with pytest.raises(ValueError, match=match):
        log_derivative(t, loss)


# -------------------------------------------------------------------------- detect_stages
A, K, T1, T2 = 3.0, 4.0, 10.0, 1e4  # two drops by e^-3, sigmoids of width 1/4 in ln t


def _two_drop_loss(t):
    def sig(x):
        return 1.0 / (1.0 + np.exp(-x))

    lt = np.log(t)
    return np.exp(-A * sig(K * (lt - math.log(T1))) - A * sig(K * (lt - math.log(T2))))


def _two_drop_rate(t):
    def dsig(x):
        s = 1.0 / (1.0 + np.exp(-x))
        return s * (1.0 - s)

    lt = np.log(t)
    return A * K * (dsig(K * (lt - math.log(T1))) + dsig(K * (lt - math.log(T2))))


def test_detect_stages_finds_two_transitions_between_plateaus():
    t = np.geomspace(1e-2, 1e7, 3000)
    stages = detect_stages(t, _two_drop_loss(t), threshold=0.1)
    assert [s.kind for s in stages] == ["plateau", "drop", "plateau", "drop", "plateau"]
    assert all(isinstance(s, Stage) for s in stages)
    # stage ends are exact threshold crossings of the analytic rate, to 0.1% in t
    for drop, tc in zip((stages[1], stages[3]), (T1, T2), strict=True):
        lo = scipy.optimize.brentq(
            lambda x: _two_drop_rate(math.exp(x)) - 0.1, math.log(tc) - 3, math.log(tc)
        )
        hi = scipy.optimize.brentq(
            lambda x: _two_drop_rate(math.exp(x)) - 0.1, math.log(tc), math.log(tc) + 3
        )
        assert drop.t_start == pytest.approx(math.exp(lo), rel=1e-3)
        assert drop.t_end == pytest.approx(math.exp(hi), rel=1e-3)
        # steepest point at the sigmoid centre, to one grid step (0.7% in t)
        assert drop.t_peak == pytest.approx(tc, rel=1e-2)
        assert drop.peak_rate == pytest.approx(A * K / 4, rel=1e-3)
        assert drop.loss_start / drop.loss_end == pytest.approx(
            _two_drop_loss(drop.t_start) / _two_drop_loss(drop.t_end), rel=1e-5
        )
    # stages tile the time axis in order
    assert stages[0].t_start == t[0] and stages[-1].t_end == t[-1]
    for a, b in zip(stages, stages[1:], strict=False):
        assert a.t_end == b.t_start and a.loss_end == b.loss_start
    assert stages[2].decades > 1.9 and stages[2].peak_rate < 0.1


def test_detect_stages_negative_control_transition_not_at_wrong_time():
    t = np.geomspace(1e-2, 1e7, 3000)
    drops = [s for s in detect_stages(t, _two_drop_loss(t)) if s.kind == "drop"]
    # a transition claimed at t = 100 (between the true ones) is in no detected drop
    assert not any(d.t_start <= 100.0 <= d.t_end for d in drops)


def test_detect_stages_power_law_is_one_drop_without_spurious_plateaus():
    t = np.geomspace(1.0, 1e6, 500)
    stages = detect_stages(t, 2.0 * t**-1.0)
    assert len(stages) == 1
    (s,) = stages
    assert (s.kind, s.t_start, s.t_end) == ("drop", 1.0, 1e6)
    assert s.peak_rate == pytest.approx(1.0, abs=1e-10)


def test_detect_stages_slow_power_law_is_one_plateau():
    t = np.geomspace(1.0, 1e6, 500)
    stages = detect_stages(t, t**-0.05)
    assert [s.kind for s in stages] == ["plateau"]
    assert stages[0].decades == pytest.approx(6.0)


def test_detect_stages_short_flat_stretch_is_not_a_plateau():
    # two drops only 0.4 decades apart: the rate dips below threshold in between, briefly
    t = np.geomspace(1e-2, 1e6, 3000)
    lt = np.log(t)
    t2 = 10.0 * 10**0.45
    loss = np.exp(
        -3.0 / (1 + np.exp(-16.0 * (lt - math.log(10.0))))
        - 3.0 / (1 + np.exp(-16.0 * (lt - math.log(t2))))
    )
    r = log_derivative(t, loss)
    between = (t > 10.0) & (t < t2)
    assert r[between].min() < 0.1  # the dip exists
    kinds = [s.kind for s in detect_stages(t, loss, min_width_decades=0.5)]
    assert kinds == ["plateau", "drop", "plateau"]
    kinds_fine = [s.kind for s in detect_stages(t, loss, min_width_decades=0.0)]
    assert kinds_fine == ["plateau", "drop", "plateau", "drop", "plateau"]


def test_detect_stages_short_flat_ends_are_not_reported():
    t = np.geomspace(1.0, 1e3, 300)
    loss = np.exp(-3.0 / (1 + np.exp(-4.0 * (np.log(t) - math.log(30.0)))))
    stages = detect_stages(t, loss, min_width_decades=2.0)
    assert [s.kind for s in stages] == ["drop"]
    assert stages[0].t_start > 1.0 and stages[0].t_end < 1e3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 0.0}, "threshold must be > 0"),
        ({"min_width_decades": -1.0}, ">= 0"),
        ({"threshold": "x"}, "number"),
    ],
)
def test_detect_stages_rejects_bad_parameters(kwargs, match):
    t = np.geomspace(1.0, 10.0, 5)
    with pytest.raises(ValueError, match=match):
        detect_stages(t, 1.0 / t, **kwargs)


# ------------------------------------------------------------------------- first_crossing
def test_first_crossing_is_exact_for_linear_data():
    t = np.array([0.0, 0.3, 1.1, 2.0, 3.7])
    y = 5.0 - 2.0 * t
    assert first_crossing(t, y, 2.0) == pytest.approx(1.5, abs=1e-14)
    assert math.isnan(first_crossing(t, y, 2.0, direction="up"))
    assert first_crossing(t, y, 2.0, direction="any") == pytest.approx(1.5, abs=1e-14)
    # ending exactly on the level is a crossing (linear y reaches -2.4 at t = 3.7)
    assert first_crossing(t, y, y[-1]) == t[-1]


def test_first_crossing_picks_first_in_requested_direction():
    t = np.arange(6.0)
    y = np.array([0.0, 2.0, 0.0, 2.0, 0.0, 2.0])
    assert first_crossing(t, y, 1.0, "up") == 0.5
    assert first_crossing(t, y, 1.0, "down") == 1.5
    assert first_crossing(t, y, 1.0, "any") == 0.5


def test_first_crossing_start_exactly_at_level():
    t = np.arange(4.0)
    assert first_crossing(t, [1.0, 0.5, 0.2, 0.1], 1.0, "down") == 0.0
    assert math.isnan(first_crossing(t, [1.0, 0.5, 0.2, 0.1], 1.0, "up"))
    assert first_crossing(t, [1.0, 1.0, 0.5, 0.1], 1.0, "down") == 0.0
    assert first_crossing(t, [1.0, 2.0, 0.5, 0.1], 1.0, "down") == pytest.approx(1 + 1 / 1.5)


def test_first_crossing_touch_is_not_a_crossing_but_pass_through_is():
    t = np.arange(5.0)
    assert math.isnan(first_crossing(t, [2.0, 1.0, 2.0, 3.0, 4.0], 1.0, "any"))
    assert first_crossing(t, [2.0, 1.0, 1.0, 0.0, 0.0], 1.0, "down") == 1.0


def test_first_crossing_never_crossed_returns_nan():
    t = np.arange(4.0)
    assert math.isnan(first_crossing(t, [3.0, 2.0, 1.5, 1.2], 1.0))  # stays above
    assert math.isnan(first_crossing(t, [0.5, 0.4, 0.3, 0.2], 1.0))  # starts below
    assert math.isnan(first_crossing(t, [1.0, 1.0, 1.0, 1.0], 1.0, "any"))  # always on it


def test_first_crossing_of_power_law_loss_on_trajectory():
    t = np.concatenate(([0.0], np.geomspace(1e-2, 1e4, 400)))
    loss = 1.0 / (1.0 + t)
    # loss = 1e-2 at t = 99; piecewise-linear error is second order in the grid step
    assert first_crossing(t, loss, 1e-2) == pytest.approx(99.0, rel=1e-3)


@pytest.mark.parametrize(
    ("t", "y", "level", "direction", "match"),
    [
        ([0.0, 2.0, 1.0], [1.0, 0.0, 1.0], 0.5, "down", "non-decreasing"),
        ([0.0, 1.0], [1.0, 0.0], math.inf, "down", "level must be finite"),
        ([0.0, 1.0], [1.0, 0.0], 0.5, "sideways", "direction"),
        ([0.0, 1.0], [1.0, math.nan], 0.5, "down", "finite"),
    ],
)
def test_first_crossing_rejects_bad_input(t, y, level, direction, match):
    with pytest.raises(ValueError, match=match):
        first_crossing(t, y, level, direction)


# ------------------------------------------------------------------- max_margin_direction
def test_max_margin_two_points_known_answer():
    mm = max_margin_direction([[1.0, 0.0], [0.0, 1.0]], [1, -1])
    assert mm.separable and mm.polished
    np.testing.assert_allclose(mm.u, [1.0, -1.0], atol=1e-12)
    assert mm.norm == pytest.approx(math.sqrt(2.0), abs=1e-12)
    assert mm.margin == pytest.approx(1.0, abs=1e-12)
    assert mm.support.tolist() == [0, 1]
    np.testing.assert_allclose(mm.direction, np.array([1.0, -1.0]) / math.sqrt(2.0), atol=1e-12)
    # negative control: the orthogonal direction (1, 1) is far from the answer
    assert abs(cosine(mm.u, [1.0, 1.0])) < 1e-12


def test_max_margin_duplicates_and_non_support_points():
    X = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [3.0, 0.5], [-0.5, 2.0]]
    y = [1, 1, -1, -1, 1, -1]
    mm = max_margin_direction(X, y)
    np.testing.assert_allclose(mm.u, [1.0, -1.0], atol=1e-10)
    assert mm.margin == pytest.approx(1.0, abs=1e-10)
    assert mm.support.tolist() == [0, 1, 2, 3]


def _primal_slsqp(z, u0):
    res = scipy.optimize.minimize(
        lambda u: u @ u,
        u0,
        jac=lambda u: 2 * u,
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda u: z @ u - 1.0, "jac": lambda u: z}],
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    assert res.success, res.message
    return res.x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_margin_matches_primal_slsqp_on_random_separable_data(seed):
    rng = np.random.default_rng(seed)
    n, d = 40, 5
    w = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    X = X[np.abs(X @ w) > 0.2 * np.linalg.norm(w)]
    y = np.sign(X @ w)
    mm = max_margin_direction(X, y)
    assert mm.separable
    z = y[:, None] * X
    ref = _primal_slsqp(z, 2.0 * w / np.min(z @ w))
    np.testing.assert_allclose(mm.u, ref, atol=1e-6 * np.linalg.norm(ref))
    assert mm.margin == pytest.approx(1.0, abs=1e-9)
    assert np.min(z @ mm.u) >= 1.0 - 1e-9
    assert 1 <= mm.support.size <= d
    # negative control: the generating direction w is not the max-margin direction
    assert cosine(mm.u, w) < 1.0 - 1e-4


def test_max_margin_dual_fallback_when_polish_fails(monkeypatch):
    import dynamics.analysis.directions as analysis

    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 5))
    y = np.where(X @ rng.normal(size=5) > 0, 1, -1)
    exact = max_margin_direction(X, y)
    monkeypatch.setattr(analysis, "_polish", lambda z, support: None)
    dual = max_margin_direction(X, y)
    assert exact.polished and not dual.polished
    assert dual.margin == pytest.approx(1.0, abs=1e-12)  # rescaled to be exactly feasible
    np.testing.assert_allclose(dual.u, exact.u, atol=1e-5 * exact.norm)
    assert dual.norm >= exact.norm - 1e-12  # feasible, so no shorter than the optimum


def test_max_margin_is_scale_covariant():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 3))
    y = np.where(X[:, 0] + 0.3 * X[:, 1] > 0, 1, -1)
    a, b = max_margin_direction(X, y), max_margin_direction(1e3 * X, y)
    np.testing.assert_allclose(b.u, a.u / 1e3, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    ("X", "y"),
    [
        ([[1.0, 0.0], [1.0, 0.0]], [1, -1]),  # same point, opposite labels
        ([[1.0, 1.0], [-1.0, -1.0]], [1, 1]),  # no bias: opposite points, same label
        ([[0.0, 0.0], [1.0, 0.0]], [1, 1]),  # a zero feature vector
    ],
)
def test_max_margin_reports_non_separable(X, y):
    mm = max_margin_direction(X, y)
    assert not mm.separable and mm.u is None and mm.direction is None
    assert math.isnan(mm.norm) and math.isnan(mm.margin) and mm.support.size == 0


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        ([1.0, 2.0], [1, -1], "shape"),
        ([[1.0], [2.0]], [1], "shape"),
        ([[1.0], [2.0]], [1, 0], "-1 or"),
        ([[1.0], [np.inf]], [1, -1], "finite"),
    ],
)
def test_max_margin_rejects_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        max_margin_direction(X, y)


# -------------------------------------------------------------------------------- cosines
def test_cosine_known_values():
    assert cosine([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert cosine([1.0, 1.0], [2.0, 2.0]) == pytest.approx(1.0, abs=1e-15)
    assert cosine([1.0, 1.0], [-3.0, -3.0]) == pytest.approx(-1.0, abs=1e-15)
    assert cosine([3.0, 4.0], [4.0, 3.0]) == pytest.approx(24 / 25, abs=1e-15)
    assert -1.0 <= cosine([1e-3, 1.0], [1e-3, 1.0]) <= 1.0


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([0.0, 0.0], [1.0, 0.0], "zero vector .*a is zero"),
        ([1.0, 0.0], [0.0, 0.0], "zero vector .*b is zero"),
        ([1.0, 0.0], [1.0, 0.0, 0.0], "same shape"),
        ([1.0, np.nan], [1.0, 0.0], "finite"),
    ],
)
def test_cosine_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        cosine(a, b)


def test_cosine_series_tracks_alignment_and_nan_for_zero_rows():
    th = np.linspace(0.0, math.pi, 7)
    U = np.column_stack([np.cos(th), np.sin(th)]) * np.linspace(1.0, 3.0, 7)[:, None]
    U = np.vstack([np.zeros(2), U])
    c = cosine_series(U, [2.0, 0.0])
    assert math.isnan(c[0])
    np.testing.assert_allclose(c[1:], np.cos(th), atol=1e-15)
    for row, ci in zip(U[1:], c[1:], strict=True):
        assert ci == pytest.approx(cosine(row, [2.0, 0.0]), abs=1e-15)


@pytest.mark.parametrize(
    ("U", "b", "match"),
    [
        (np.ones(3), np.ones(3), r"shape \(T, d\)"),
        (np.ones((2, 3)), np.ones(2), "to match U"),
        (np.ones((2, 3)), np.zeros(3), "b is zero"),
    ],
)
def test_cosine_series_rejects_bad_input(U, b, match):
    with pytest.raises(ValueError, match=match):
        cosine_series(U, b)
