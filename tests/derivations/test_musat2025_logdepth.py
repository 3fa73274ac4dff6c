"""musat2025 log-depth question (issue 17 item 4, our reconstruction): the information-flow counting
(two-sided gives ceil(log_3(2D)), causal gives ceil(log_2(D+1))), the hand-set pointer-doubling
circuit (exact where the counting says, not one layer earlier), negative controls, bad input."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from derivations.musat2025.data import RetrievalTask, min_layers
from derivations.musat2025.doubling import (
    causal_worst_case,
    chain_order,
    doubling_layers,
    doubling_params,
    flow_layers,
    query_pointer,
    reorder_queried_chain,
    worst_case_flow_layers,
)
from derivations.musat2025.logdepth import circuit_table, claims_logdepth, predicted_pointer

SMALL = RetrievalTask(n_chains=3, depth=4, n_values=8, n_vars=16)


@pytest.fixture(scope="module")
def table() -> dict:
    return circuit_table(SMALL, range(1, SMALL.depth + 2), np.random.default_rng(11), 96)


def test_two_sided_counting_is_the_papers_bound_and_causal_is_base_2() -> None:
    assert [flow_layers(range(D), D, causal=False) for D in range(1, 41)] == [min_layers(D) for D in range(1, 41)]
    # two-sided: the order does not matter
    rng = np.random.default_rng(0)
    for D in (5, 9, 14):
        assert flow_layers(rng.permutation(D), D, causal=False) == min_layers(D)
    assert [worst_case_flow_layers(D) for D in range(1, 7)] == [causal_worst_case(D) for D in range(1, 7)]
    assert [causal_worst_case(k) for k in range(1, 9)] == [1, 2, 2, 3, 3, 3, 3, 4]
    # the worst case is the value-first order; the causal counting exceeds the paper's bound from D = 4
    assert all(flow_layers(range(D), D) == causal_worst_case(D) for D in range(1, 30))
    assert worst_case_flow_layers(4) == 3 > min_layers(4) == 2


def test_doubling_recursion_between_the_counting_and_one_hop_per_layer() -> None:
    for k in range(1, 12):
        assert doubling_layers(range(k), k) == causal_worst_case(k)  # value first: doubling
        assert doubling_layers(range(k, 0, -1), k) == k  # value last: one hop per layer
    for D in range(1, 7):
        for p in itertools.permutations(range(D)):
            assert flow_layers(p, D) <= doubling_layers(p, D) <= D


def test_chain_order_and_reordering() -> None:
    b = SMALL.sample(np.random.default_rng(2), 32)  # regime none: k = D
    for how in ("value_first", "value_last"):
        r = reorder_queried_chain(b, SMALL, how)
        np.testing.assert_array_equal(r.answer, b.answer)
        for i in range(32):
            order, k = chain_order(r.tokens[i], SMALL)
            assert k == SMALL.depth and sorted(order) == sorted(chain_order(b.tokens[i], SMALL)[0])
            assert order == (sorted(order) if how == "value_first" else sorted(order)[::-1])
            # only the queried chain's slots changed
            changed = np.nonzero(r.tokens[i] != b.tokens[i])[0] // 2
            assert set(changed.tolist()) <= set(order)


def test_circuit_is_exact_where_counted_and_its_pointer_is_predicted(table: dict) -> None:
    claims = {c.id: c for c in claims_logdepth(table, SMALL.depth)}
    assert all(c.passed for c in claims.values()), [str(c) for c in claims.values() if not c.passed]
    for how, row in table.items():
        for L, r in row["by_L"].items():
            assert r["pointer_ok"].all()
            assert r["correct"][row["need"] <= L].all()
            if L < max(row["need"]):  # instances needing more are not answered reliably
                assert not r["correct"][row["need"] > L].all(), (how, L)
    assert claims["musat2025.logdepth-depth"].measured["value_first"] == [2, 3, 3, 4]


def test_wrong_tables_fail_the_claims(table: dict) -> None:
    bad = {how: dict(row, need=row["need"] - 1) for how, row in table.items()}  # a layer fewer counted
    by_id = {c.id: c for c in claims_logdepth(bad, SMALL.depth)}
    assert not by_id["musat2025.logdepth-exact"].passed
    wrong = {how: dict(row, by_L=dict(row["by_L"])) for how, row in table.items()}
    r = wrong["value_first"]["by_L"][3]
    wrong["value_first"]["by_L"][3] = {"correct": np.ones_like(r["correct"]),  # pretends L = 3 answers k = 4
                                       "pointer_ok": np.zeros_like(r["pointer_ok"])}
    by_id = {c.id: c for c in claims_logdepth(wrong, SMALL.depth)}
    assert not by_id["musat2025.logdepth-depth"].passed
    assert not by_id["musat2025.logdepth-pointer"].passed


def test_circuit_without_the_fall_back_breaks() -> None:
    """Negative control: remove the self score beta/2; a pointer whose statement comes later then
    spreads its attention and the query reads junk."""
    task = dataclasses.replace(SMALL, regime="ic_b")
    batch = reorder_queried_chain(task.sample(np.random.default_rng(4), 128), task, "value_last")
    L = 4
    model, params = doubling_params(task, L)
    broken = dict(params)
    for layer in range(1, L):
        w = params[f"blocks.{layer}.attn.W_Q"].copy()
        w[0, :, SMALL.vocab_size + 1:] = 0.0
        broken[f"blocks.{layer}.attn.W_Q"] = w
    ok = [predicted_pointer(t, task, L) for t in batch.tokens]
    good = query_pointer(model.forward(params, batch.tokens)[1], task, L)
    bad = query_pointer(model.forward(broken, batch.tokens)[1], task, L)
    assert np.array_equal(good, ok)
    assert np.mean(bad == ok) < 0.9


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: flow_layers([], 1), "order"),
        (lambda: flow_layers([0, 0], 1), "order"),
        (lambda: flow_layers([0, 1], 3), "k must"),
        (lambda: flow_layers([0, 1], 0), "k must"),
        (lambda: doubling_layers([1, 0], 0), "k must"),
        (lambda: worst_case_flow_layers(9), "D must"),
        (lambda: worst_case_flow_layers(0), "D must"),
        (lambda: causal_worst_case(0), "k must"),
        (lambda: doubling_params("task", 2), "RetrievalTask"),
        (lambda: doubling_params(SMALL, 0), "n_layers"),
        (lambda: doubling_params(SMALL, 2, beta=-1.0), "beta"),
        (lambda: reorder_queried_chain(SMALL.sample(np.random.default_rng(0), 2), SMALL, "sideways"), "how"),
        (lambda: query_pointer({}, SMALL, 2), "cache"),
    ],
)
def test_bad_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
