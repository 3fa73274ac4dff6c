"""musat2025 registered findings: well-formed, attached to claims the derivation produces, listed
in the docs; the retired claims gone; and the labels IC-A asks for (data.determined_labels)."""

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
from dynamics.claims import Finding

DOCS = Path(__file__).resolve().parents[2] / "docs" / "musat2025.md"


def test_findings_are_well_formed_and_registered() -> None:
    assert V.derivation.findings == F.FINDINGS
    ids = [f.claim for f in F.FINDINGS]
    assert len(set(ids)) == len(ids)
    source = inspect.getsource(C)
    for f in F.FINDINGS:
        assert isinstance(f, Finding)
        # the claim id is one the derivation produces (a literal id in claims.py)
        assert f'"{f.claim}"' in source, f.claim
        for text in (f.summary, f.shows, f.ruled_out):
            assert len(text.split()) >= 10
        # the evidence quotes numbers
        assert re.search(r"\d", f.shows)
        assert not re.search(r"\[(INFER|READ|REVIEW|MINE-SIM|[RSDCVP])\]", f.text)


def test_retired_claims_are_gone() -> None:
    """Issue 17 replaced musat2025.order-seeds and musat2025.curriculum (and their findings)."""
    source = inspect.getsource(C) + inspect.getsource(V)
    assert '"musat2025.order-seeds"' not in source and '"musat2025.curriculum"' not in source
    assert not {f.claim for f in F.FINDINGS} & {"musat2025.order-seeds", "musat2025.curriculum"}


def test_ic_a_supervises_only_determined_labels() -> None:
    """The default IC-A labels exactly the determined statements; 'all' also the undetermined ones."""
    task = TrainConfig(depth=3, n_vars=8).task("ic_a")
    b = task.sample(np.random.default_rng(5), 256)
    sup = b.targets >= 0
    np.testing.assert_array_equal(determined_labels(b, task), sup)
    assert undetermined_fraction(task, np.random.default_rng(6), 512) == {1: 0.0, 2: 0.0, 3: 0.0}
    everything = dataclasses.replace(task, ic_a_labels="all")
    u = undetermined_fraction(everything, np.random.default_rng(6), 512)
    assert u[1] == 0.0 and u[2] > 0.4 and u[3] > 0.6  # negative control: 1 - 1/k of them are not
    with pytest.raises(ValueError, match="ic_a_labels"):
        dataclasses.replace(task, ic_a_labels="some")


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
    task = RetrievalTask(n_chains=3, depth=depth, n_values=8, n_vars=20, regime="ic_a", ic_a_labels="all")
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
    task = RetrievalTask(n_chains=2, depth=3, n_values=4, n_vars=8, regime="ic_a", ic_a_labels="all")
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
