"""The report reads as a verification: counts and findings at the top, claim cards with the
full values one click away, figures next to the claims they support, no horizontal overflow
at 1280 px in a real browser (headless Chromium)."""

from __future__ import annotations

import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dynamics.claims import Finding, apply_findings, check, check_equal  # noqa: E402
from dynamics.report import find_chromium, layout_problems, write_index  # noqa: E402


def _summary(tmp_path):
    finding = Finding("m.slow", "The rate is slower than predicted.", "slope -0.5 on two decades.",
                      "the window (three agree).", "reconstruction")
    stale = Finding("m.stale", "Was refuted once.", "x.", "y.", "paper")
    claims, _ = apply_findings([
        check("m.long", "A long array measured.", [0.0] * 200, [1e-3 * i for i in range(200)], tol=1.0,
              why="an array of 200 values, of which the report shows a few", source="derived"),
        check("m.slow", "The rate is -1.", -1.0, -0.5, tol=0.1, why="fit error", source="paper"),
        check("m.stale", "Holds now.", 1.0, 1.0, tol=0.1, why="exact", source="paper"),
        check_equal("m.order", "An ordering of " + "many heads, " * 40, ["a"] * 30, ["a"] * 30, why="exact",
                    source="reconstruction"),
    ], [finding, stale])
    d = tmp_path / "m"
    d.mkdir()
    fig, ax = plt.subplots(figsize=(16, 4))
    ax.plot([0, 1], [0, 1])
    fig.savefig(d / "wide.png", dpi=110)
    plt.close(fig)
    return {"name": "m", "title": "a model", "claims": [c.to_dict() for c in claims], "passed": False,
            "counts": {"pass": 2, "finding": 1, "fail": 1}, "figures": ["wide.png"],
            "figure_info": {"wide.png": {"caption": "look at the slope", "claims": ["m.slow"]}},
            "timings_s": {"total": 1.0}, "notes": ["a note " * 50], "config": {"x": list(range(300))}}


def test_report_top_counts_findings_linked_and_figures_next_to_their_claims(tmp_path):
    s = _summary(tmp_path)
    page = write_index(tmp_path, [s]).read_text()
    top = page[:page.index('<h2 id="m"')]
    assert "2 pass" in top and "1 findings" in top and "1 fail" in top
    # the finding, one sentence, linked to its claim; the stale finding listed as a fail
    assert '<a href="#claim-m.slow">m.slow</a>: The rate is slower than predicted.' in top
    assert '<a href="#claim-m.stale">m.stale</a>: stale finding' in top
    assert 'id="claim-m.slow"' in page and "What the numbers show:" in page and "Ruled out:" in page
    assert "our reconstruction only" in page and "Stale finding:" in page
    # the figure comes right after the claim it supports, with its caption
    i_claim, i_fig, i_next = (page.index('id="claim-m.slow"'), page.index("look at the slope"),
                              page.index('id="claim-m.stale"'))
    assert i_claim < i_fig < i_next
    # long arrays abbreviated, the full value one click away
    assert "(200 values)" in page and re.search(r"<details><summary>\[0, 0, 0, 0, \.\.\. \]", page)
    assert json.dumps([1e-3 * i for i in range(200)])[:40] in page
    # every source tag shown
    for tag in ("derived", "paper", "reconstruction"):
        assert f'class="tag {tag}"' in page


def test_report_of_old_summaries_without_verdicts(tmp_path):
    old = {"name": "old", "title": "t", "claims": [
        {"id": "o.a", "statement": "s", "predicted": 1, "measured": 1, "tolerance": 0, "passed": True, "why": "w"},
        {"id": "o.b", "statement": "The rate is one.", "predicted": 1, "measured": 2, "tolerance": 0,
         "passed": False, "why": "w"}]}
    page = write_index(tmp_path, [old]).read_text()
    assert "1 pass" in page and "1 fail" in page
    # the fail line at the top says what was compared; the passing claim is not listed there
    top = page[:page.index('<h2 id="old"')]
    assert "the prediction does not hold: predicted 1, measured 2. The rate is one." in top
    assert "o.a" not in top


_CHROMIUM = find_chromium()
_REQUIRED = os.environ.get("DYNAMICS_REQUIRE_CHROMIUM") == "1"


@pytest.fixture
def chromium():
    if _CHROMIUM is None:
        if _REQUIRED:
            pytest.fail("DYNAMICS_REQUIRE_CHROMIUM=1 but no Chromium is installed")
        pytest.skip("no Chromium (Debian: apt-get install chromium); .ci/run installs it")
    return _CHROMIUM


def test_report_has_no_horizontal_overflow_at_1280px(tmp_path, chromium):
    page = write_index(tmp_path, [_summary(tmp_path)])
    assert layout_problems(page, width=1280, chromium=chromium) == []


def test_layout_check_catches_overflow(tmp_path, chromium):
    """Negative control: a page with a 3000 px unbreakable line must be reported."""
    page = tmp_path / "wide.html"
    page.write_text("<!doctype html><html><body><table><tr><td style='white-space:nowrap'>"
                    + "x" * 600 + "</td></tr></table></body></html>")
    problems = layout_problems(page, width=1280, chromium=chromium)
    assert problems and "wide" in problems[0]
