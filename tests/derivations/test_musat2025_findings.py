"""musat2025 registered findings: well-formed, attached to claims the derivation produces, the
quoted measurement reproduced, listed in the docs; and the labels IC-A asks for (data.determined_labels)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from derivations.musat2025 import claims as C
from derivations.musat2025 import findings as F
from derivations.musat2025 import verify as V
from derivations.musat2025.data import (
    Batch,
    RetrievalTask,
    determined_labels,
    undetermined_fraction,
)
from derivations.musat2025.experiments import TrainConfig
from dynamics.claims import Finding, apply_findings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "musat2025.md"


def test_findings_are_well_formed_and_registered() -> None:
    assert V.derivation.findings == F.FINDINGS
    assert len(F.FINDINGS) == 2
    ids = [f.claim for f in F.FINDINGS]
    assert len(set(ids)) == len(ids)
    source = inspect.getsource(C)
    for f in F.FINDINGS:
        assert isinstance(f, Finding) and f.bears_on == "reconstruction"
        # the claim id is one the derivation produces (a literal id in claims.py)
        assert f'"{f.claim}"' in source, f.claim
        for text in (f.summary, f.shows, f.ruled_out):
            assert len(text.split()) >= 10
        # the evidence quotes numbers
        assert re.search(r"\d", f.shows)
        assert not re.search(r"\[(INFER|READ|REVIEW|MINE-SIM|[RSDCVP])\]", f.text)


def test_findings_attach_and_go_stale() -> None:
    """A failing claim with a registered finding is a 'finding'; the same claim passing is a 'fail'."""
    good = {"ic_a": True, "ic_b": True, "none": False}
    failing = C.claim_curriculum(good | {"ic_a": False}, {})
    passing = C.claim_curriculum(good, {})
    (c1, c2), unmatched = apply_findings([failing, passing], F.FINDINGS)
    assert [f.claim for f in unmatched] == ["musat2025.order-seeds"]
    assert c1.verdict == "finding" and c2.verdict == "fail" and c2.stale
    order = C.claim_seed_order([1.0, -1.0], ["role:hop1", "role:prev"], [], 133.3)
    assert "'prev' (previous-token head)" in order.statement and "133 steps apart" in order.statement
    (c3,), _ = apply_findings([order], F.FINDINGS)
    assert c3.verdict == "finding"
    (c4,), _ = apply_findings([C.claim_seed_order([1.0] * 3, ["role:hop1", "role:prev"], [])], F.FINDINGS)
    assert c4.verdict == "fail"  # if the order held, the finding would be stale


def test_quoted_fraction_is_the_measured_one() -> None:
    """The number in the curriculum finding is what verify measures at the default seed (ctx.rng(500))."""
    undet = undetermined_fraction(TrainConfig().task("ic_a"), np.random.default_rng([0, 500]), 4096)
    assert set(undet) == {1, 2} and undet[1] == 0.0
    assert round(undet[2], 3) == F.IC_A_UNDETERMINED_2HOP
    assert str(F.IC_A_UNDETERMINED_2HOP) in F.FINDINGS[0].shows


def test_determined_labels_by_hand() -> None:
    task = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_a")
    # statements: [x1=4 := x0? no]: chain A: 0 -> 4 -> 5, chain B: 1 -> 6 -> 7; query 7 (2 hops, answer 1)
    q = task.query_token
    toks = np.array([[4, 5, 0, 4, 6, 7, 1, 6, q, 7],   # 5's parent [0,4] comes after it; 7's parent after it
                     [0, 4, 4, 5, 1, 6, 6, 7, q, 7]])  # every parent first
    tg = -np.ones_like(toks)
    tg[:, 1:8:2] = [[0, 0, 1, 1], [0, 0, 1, 1]]
    tg[:, -1] = 1
    b = Batch(toks, tg, np.zeros_like(toks), np.array([1, 1]), np.array([2, 2]))
    det = determined_labels(b, task)
    assert det[0, [1, 3, 5, 7, 9]].tolist() == [False, True, False, True, True]
    assert det[1, [1, 3, 5, 7, 9]].tolist() == [True, True, True, True, True]
    assert not det[:, 0:8:2].any()  # unsupervised positions


@pytest.mark.parametrize("depth", [2, 4])
def test_undetermined_fraction_is_one_minus_one_over_k(depth: int) -> None:
    task = RetrievalTask(n_chains=3, depth=depth, n_values=8, n_vars=20, regime="ic_a")
    n = 1500
    got = undetermined_fraction(task, np.random.default_rng(3), n)
    for k, frac in got.items():
        p = 1.0 - 1.0 / k
        se = np.sqrt(max(p * (1 - p), 1e-12) / (3 * n))  # 3 chains: one k-hop label per chain and example
        assert abs(frac - p) <= 4 * se + 1e-12, (k, frac, p)
    # negative control: a wrong law (1 - 1/k!) differs by far more than the sampling error at k = 3, 4
    if depth == 4:
        assert abs(got[3] - (1 - 1 / 6)) > 0.1 and abs(got[4] - (1 - 1 / 24)) > 0.1


def test_statements_in_chain_order_are_all_determined() -> None:
    """Negative control: with the statements written parents first, nothing is undetermined."""
    task = RetrievalTask(n_chains=2, depth=3, n_values=4, n_vars=8, regime="ic_a")
    b = task.sample(np.random.default_rng(0), 64)
    S = task.seq_len
    n = (S - 2) // 2
    order = np.argsort(b.hops[:, 1 : 2 * n : 2], axis=1, kind="stable")  # (B, n): by hop count
    pairs = b.tokens[:, : 2 * n].reshape(64, n, 2)
    rows = np.arange(64)[:, None]
    toks = b.tokens.copy()
    toks[:, : 2 * n] = pairs[rows, order].reshape(64, 2 * n)
    tg = b.targets.copy()
    tg[:, 1 : 2 * n : 2] = b.targets[:, 1 : 2 * n : 2][rows, order]
    sorted_b = dataclasses.replace(b, tokens=toks, targets=tg)
    det = determined_labels(sorted_b, task)
    assert det[sorted_b.targets >= 0].all()
    assert not determined_labels(b, task)[b.targets >= 0].all()  # shuffled: some are not


def test_docs_findings_section_matches() -> None:
    text = DOCS.read_text()
    assert "## Findings" in text
    section = text.split("## Findings", 1)[1].split("\n## ", 1)[0]
    for f in F.FINDINGS:
        assert f"`{f.claim}`" in section, f.claim
        flat = " ".join(section.split())
        for text in (f.summary, f.shows, f.ruled_out):
            assert " ".join(text.split()) in flat, (f.claim, text[:60])
