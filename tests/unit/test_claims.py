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


# --------------------------------------------------------------------------- verdicts
from dynamics.claims import Finding, apply_findings, tally  # noqa: E402


def _finding(claim: str = "c", bears_on: str = "paper") -> Finding:
    return Finding(claim, "The rate is slower.", "slope -0.5 over two decades.",
                   "the window (three windows agree) and the tolerance (10x the fit error).",
                   bears_on)  # type: ignore[arg-type]


def test_verdict_pass_and_fail_without_finding():
    assert check("c", "s", 1.0, 1.05, tol=0.1, why="w").verdict == "pass"
    assert check("c", "s", 1.0, 1.5, tol=0.1, why="w").verdict == "fail"


def test_registered_finding_turns_a_failing_claim_into_a_finding():
    bad = check("c", "s", 1.0, 1.5, tol=0.1, why="w")
    (c,), unmatched = apply_findings([bad], [_finding()])
    assert c.verdict == "finding" and not c.passed and not c.stale and unmatched == []
    d = c.to_dict()
    assert d["verdict"] == "finding" and "The rate is slower." in d["finding"]
    assert "Ruled out: the window" in d["finding"] and "bears on the paper" in d["finding"]
    assert "[FINDING]" in str(c) and "What the numbers show" in str(c)


def test_stale_finding_is_a_fail():
    good = check("c", "s", 1.0, 1.05, tol=0.1, why="w")
    (c,), _ = apply_findings([good], [_finding()])
    assert c.passed and c.stale and c.verdict == "fail"
    assert c.to_dict()["stale_finding"] is True and "stale finding" in str(c)


def test_finding_for_another_claim_does_not_apply_and_is_reported():
    bad = check("c", "s", 1.0, 1.5, tol=0.1, why="w")
    (c,), unmatched = apply_findings([bad], [_finding("other")])
    assert c.verdict == "fail" and [f.claim for f in unmatched] == ["other"]


def test_findings_are_validated():
    with pytest.raises(ValueError, match="bears_on"):
        _finding(bears_on="rumour")
    with pytest.raises(ValueError, match="ruled_out"):
        Finding("c", "one sentence", "numbers", " ", "paper")
    with pytest.raises(ValueError, match="two findings"):
        apply_findings([], [_finding(), _finding()])


def test_tally_counts_each_verdict():
    assert tally(["pass", "finding", "pass", "fail"]) == {"pass": 2, "finding": 1, "fail": 1}


# -------------------------------------------------------------------- negative controls
def test_negative_controls_refuted_are_recorded_and_the_claim_holds():
    c = check("c", "s", 1.0, 1.02, tol=0.05, why="w", negative_controls={"double": 2.0, "half": 0.5})
    assert c.passed and c.verdict == "pass" and c.controls_refuted
    assert [n["label"] for n in c.negative_controls] == ["double", "half"]
    assert all(n["refuted"] for n in c.negative_controls)
    assert c.negative_controls[0]["deviation"] == pytest.approx(0.98)
    d = c.to_dict()
    assert d["negative_controls"][1] == {"label": "half", "predicted": 0.5, "deviation": pytest.approx(0.52),
                                         "refuted": True}
    assert "negative controls 2/2 refuted" in str(c)


def test_a_negative_control_that_holds_makes_the_claim_fail():
    """Negative control of the mechanism: a tolerance too wide to tell 1 from 1.04 fails."""
    c = check("c", "s", 1.0, 1.02, tol=0.05, why="w", negative_controls=[1.04, 3.0])
    assert not c.passed and c.verdict == "fail" and not c.controls_refuted
    assert [n["refuted"] for n in c.negative_controls] == [False, True]
    assert "holding too: 1.04" in str(c)
    assert c.to_dict()["passed"] is False


def test_negative_controls_of_array_and_equality_claims():
    c = check("c", "s", [1.0, 2.0], [1.0, 2.1], tol=0.2, why="w", negative_controls={"swapped": [2.0, 1.0]})
    assert c.passed and c.negative_controls[0]["refuted"]
    e = check_equal("o", "order", ["h1", "h2"], ["h1", "h2"], why="exact",
                    negative_controls={"reversed": ["h2", "h1"]})
    assert e.passed and e.negative_controls[0]["refuted"]
    bad = check_equal("o", "order", ["h1", "h2"], ["h1", "h2"], why="exact",
                      negative_controls={"same": ("h1", "h2")})
    assert not bad.passed


def test_negative_controls_bad_input():
    with pytest.raises(ValueError, match="negative_controls must be"):
        check("c", "s", 1.0, 1.0, tol=0.1, why="w", negative_controls="2.0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not finite"):
        check("c", "s", 1.0, 1.0, tol=0.1, why="w", negative_controls=[math.nan])
    with pytest.raises(ValueError, match="shape"):
        check("c", "s", [1.0, 2.0], [1.0, 2.0], tol=0.1, why="w", negative_controls=[[1.0, 2.0, 3.0]])
