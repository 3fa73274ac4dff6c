"""compare: direct runs against the flow, tolerance from their own noise (issue 18 item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dynamics.analysis import compare
from dynamics.trajectory import Trajectory

SIGMA = 0.05  # noise of the synthetic direct runs


def _traj(t: np.ndarray, u: np.ndarray) -> Trajectory:
    return Trajectory(t, u[:, None], ("u",), {"loss": 0.5 * u**2})


def _flow(freq: float = 1.0, shift: float = 0.0) -> Trajectory:
    t = np.linspace(0.0, 10.0, 400)  # the flow on its own, finer grid
    return _traj(t, np.sin(freq * t) + 2.0 + shift)


def _seeds(k: int, bias: float = 0.0, seed: int = 0) -> list[Trajectory]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, 101)  # direct runs recorded every 0.1
    return [_traj(t, np.sin(t) + 2.0 + bias + SIGMA * rng.normal(size=t.size)) for _ in range(k)]


def test_seeds_around_the_flow_pass_and_a_wrong_flow_fails() -> None:
    runs = _seeds(8)
    c = compare(runs, _flow(), "u", negative_controls={"frequency 1.1": _flow(1.1), "shifted": _flow(shift=0.1)})
    assert c.passed, str(c)
    assert c.controls_refuted and [n["label"] for n in c.negative_controls] == ["frequency 1.1", "shifted"]
    assert c.details["runs"] == 8 and c.details["points"] == 101
    # the noise is what the seeds show: sigma / sqrt(k) per point
    assert c.details["typical_noise"]["u"] == pytest.approx(SIGMA / np.sqrt(8), rel=0.3)
    assert "Student-t" in c.why and "8 direct runs" in c.why
    # negative control by hand: a flow off by 3 standard errors everywhere fails
    off = compare(runs, _flow(shift=3 * SIGMA), "u")
    assert not off.passed and off.measured > off.tolerance


def test_bias_of_the_direct_runs_beyond_their_noise_fails() -> None:
    assert not compare(_seeds(8, bias=0.05), _flow(), ["u", "loss"]).passed


def test_a_control_that_holds_fails_the_claim_and_is_recorded(tmp_path: Path) -> None:
    from dynamics.claims import Claim
    from dynamics.model import ReducedModel
    from dynamics.registry import Derivation
    from dynamics.verify import run_verify

    c = compare(_seeds(8), _flow(), "u", negative_controls=[_flow(1.1), _flow(shift=0.001)])
    assert not c.passed and [n["refuted"] for n in c.negative_controls] == [True, False]

    def verify(ctx: object) -> list[Claim]:
        return [c]

    import sympy as sp

    a = sp.Symbol("a", real=True)
    d = Derivation("cmp", "compare", lambda: ReducedModel.from_loss("tiny", [a], [], a**2), verify)
    run_verify(d, tmp_path, verbose=False)
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    rec = summary["claims"][0]["negative_controls"]
    assert [n["refuted"] for n in rec] == [True, False] and summary["counts"]["fail"] == 1
    from dynamics.report import write_index

    html = write_index(tmp_path).read_text()
    assert "Negative controls:</b> control 0 refuted; control 1 <b>NOT refuted</b>" in html


def test_one_run_uses_the_residual_fluctuation_and_catches_a_drift() -> None:
    (run,) = _seeds(1, seed=3)
    ok = compare(run, _flow(), "u", window=(1.0, 9.0))
    assert ok.passed, str(ok)
    assert "von Neumann" in ok.why
    assert ok.details["typical_noise"]["u"] == pytest.approx(SIGMA, rel=0.3)
    t = run.t
    drift = _traj(t, run["u"] + 0.03 * t)  # a slow drift, 0.27 (5 sigma) at the end
    assert not compare(drift, _flow(), "u", window=(1.0, 9.0)).passed


def test_runs_identical_to_the_flow_pass_at_t0() -> None:
    t = np.linspace(0.0, 10.0, 101)
    flow = _traj(t, np.sin(t))
    c = compare([flow, flow], flow, "u")
    assert c.passed and c.measured == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"names": "w"}, "'w' is not in flow"),
        ({"names": []}, "at least one"),
        ({"window": (5.0, 11.0)}, "not inside the common span"),
        ({"window": (5.0, 5.0)}, "lo < hi"),
        ({"window": (5.0, 5.05)}, "holds 1 samples"),
        ({"alpha": 1.0}, "alpha must be in"),
        ({"negative_controls": [1.0]}, "must be Trajectories"),
        ({"direct": []}, "non-empty sequence"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict, match: str) -> None:
    args = {"direct": _seeds(3), "flow": _flow(), "names": "u", **kwargs}
    with pytest.raises(ValueError, match=match):
        compare(**args)
