"""musat2025 heads identified by cause (ablation.py): the hand-set circuit's known heads, the
criteria on synthetic records, each with a negative control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.musat2025.ablation import (
    ablation_accuracy,
    assign_levels,
    carrier_heads,
    emergence_from_ablation,
    layer_ablation_accuracy,
)
from derivations.musat2025.construct import constructive_params
from derivations.musat2025.data import RetrievalTask
from derivations.musat2025.measure import head_scores


def test_ablation_of_the_hand_set_circuit_finds_its_stacked_heads() -> None:
    """The hand-set 3-layer circuit (layer 0 previous-token, layer 1 hop 1, layer 2 hop 2; the last
    layer also relays the 1-hop answer to the read-out): every head is needed by both levels, and the
    attention pattern names layer 1 the hop-1 head and layer 2 the hop-2 head."""
    task = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_b")
    batch = task.sample(np.random.default_rng(0), 256)
    model, params = constructive_params(task, 3)
    acc, ablated = ablation_accuracy(model, params, batch, 2)
    assert acc.tolist() == [1.0, 1.0] and ablated.shape == (3, 1, 2)
    carry = carrier_heads(acc, ablated, chance=0.5)  # (L, H, D)
    assert carry.all()
    sc = head_scores(model, params, batch)
    assert assign_levels(carry, {1: sc["hop1"], 2: sc["hop2"]}) == [(1, 0), (2, 0)]
    # the lookup scores (excess over uniform on the matched positions) name the same units, stacked
    look = {1: sc["lookup1"], 2: sc["lookup2"]}
    assert assign_levels(carry, look, 0.0, stacked=True) == [(1, 0), (2, 0)]
    # one head per layer: zeroing a layer is zeroing its head
    np.testing.assert_array_equal(layer_ablation_accuracy(model, params, batch, 2), ablated[:, 0])
    # negative control: the 2-layer circuit answers 1 hop only; level 2 has no head
    m2, p2 = constructive_params(task, 2)
    acc2, ab2 = ablation_accuracy(m2, p2, batch, 2)
    assert acc2[0] == 1.0 and acc2[1] < 0.75
    sc2 = head_scores(m2, p2, batch)
    assert assign_levels(carrier_heads(acc2, ab2, 0.5), {1: sc2["hop1"], 2: sc2["hop2"]}) == [(1, 0), None]
    # masking with ones is the plain forward; a wrong mask shape is refused
    full, _ = model.forward(params, batch.tokens)
    np.testing.assert_array_equal(model.forward(params, batch.tokens, np.ones((3, 1)))[0], full)
    with pytest.raises(ValueError, match="head_mask"):
        model.forward(params, batch.tokens, np.ones((2, 1)))


def test_carrier_criterion_both_ways() -> None:
    acc = np.array([1.0, 0.8])
    ab = np.array([[[0.5, 0.5]], [[0.99, 0.66]], [[1.0, 0.64]]])  # (L=3, H=1, D=2)
    c = carrier_heads(acc, ab, chance=0.5)
    # half the margin: 0.25 for hop 1, 0.15 for hop 2
    assert c[:, 0, 0].tolist() == [True, False, False]
    assert c[:, 0, 1].tolist() == [True, False, True]
    # an unlearned level (accuracy below the midpoint) has no carrier however big the drop
    assert not carrier_heads(np.array([0.7, 0.7]), np.zeros((3, 1, 2)), chance=0.5).any()
    with pytest.raises(ValueError, match="chance"):
        carrier_heads(acc, ab, chance=1.0)
    with pytest.raises(ValueError, match="frac"):
        carrier_heads(acc, ab, chance=0.5, frac=0.0)


def test_levels_are_distinct_heads_chosen_by_pattern() -> None:
    carry = np.zeros((3, 2, 2), dtype=bool)
    carry[1, 1, :] = True  # the hop-1 head, needed by both levels
    carry[2, 0, 1] = True  # a layer-2 head needed by 2-hop queries
    carry[0, 0, :] = True  # a previous-token head, needed by both, attends elsewhere
    hop1 = np.zeros((3, 2))
    hop1[1, 1] = 0.9
    hop2 = np.zeros((3, 2))
    hop2[2, 0] = 0.8
    hop2[1, 1] = 0.95  # highest hop-2 score, but already the hop-1 head
    assert assign_levels(carry, {1: hop1, 2: hop2}) == [(1, 1), (2, 0)]
    # the layer-2 head removed: the previous-token head carries level 2 too, but its query row does
    # not look at the 2nd statement more than uniformly (score 0.05 < 1/10), so level 2 has no head
    hop2[0, 0] = 0.05
    carry3 = carry.copy()
    carry3[2, 0, 1] = False
    assert assign_levels(carry3, {1: hop1, 2: hop2}, min_score=0.1) == [(1, 1), None]
    assert assign_levels(carry3, {1: hop1, 2: hop2}) == [(1, 1), (0, 0)]  # without the floor it would
    # stacked: a level's unit must sit above the previous level's; a layer-0 carrier with the
    # highest hop-2 score is refused then, and the layer-2 head named (negative control: not stacked)
    hop2[0, 0] = 0.9
    assert assign_levels(carry, {1: hop1, 2: hop2}) == [(1, 1), (0, 0)]
    assert assign_levels(carry, {1: hop1, 2: hop2}, stacked=True) == [(1, 1), (2, 0)]
    assert assign_levels(carry3, {1: hop1, 2: hop2}, stacked=True) == [(1, 1), None]
    hop2[0, 0] = 0.05
    # no causal candidate left for level 2: it did not form
    carry2 = carry.copy()
    carry2[2, 0, 1] = carry2[0, 0, 1] = False
    assert assign_levels(carry2, {1: hop1, 2: hop2}) == [(1, 1), None]


def test_emergence_is_the_first_carrying_snapshot() -> None:
    steps = np.array([0, 100, 200, 300])
    acc = np.array([[0.5, 0.5], [1.0, 0.5], [1.0, 0.9], [1.0, 1.0]])
    ab = np.repeat(acc[:, None, None, :], 2, axis=1).repeat(1, axis=2)  # (n, L=2, H=1, D): no effect
    ab = ab.copy()
    ab[1:, 0, 0, :] = 0.5  # layer 0 carries both levels from step 100
    ab[2:, 1, 0, 1] = 0.5  # layer 1 carries hop 2 from step 200
    scores = {1: np.array([[0.9], [0.1]]), 2: np.array([[0.2], [0.8]])}
    t, heads = emergence_from_ablation(steps, acc, ab, 0.5, scores)
    assert heads == [(0, 0), (1, 0)] and t.tolist() == [100.0, 200.0]
    # negative control: the layer-1 head's effect removed, hop 2 has no head of its own
    ab2 = ab.copy()
    ab2[:, 1, 0, 1] = acc[:, 1]
    t2, heads2 = emergence_from_ablation(steps, acc, ab2, 0.5, scores)
    assert heads2 == [(0, 0), None] and t2[0] == 100.0 and math.isnan(t2[1])


def test_statement_accuracy_and_bad_where() -> None:
    """``where="statements"`` scores the supervised statement labels per hop count (the query
    excluded), ``"query"`` the query; anything else is refused by name."""
    task = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_a")
    model, params = constructive_params(task, 3)
    b = task.sample(np.random.default_rng(4), 128)
    acc, ab = ablation_accuracy(model, params, b, 2, "statements")
    ok = model.forward(params, b.tokens)[0].argmax(-1) == b.targets
    stmt = (b.targets >= 0) & (np.arange(b.tokens.shape[1]) < b.tokens.shape[1] - 1)
    np.testing.assert_allclose(acc, [ok[stmt & (b.hops == k)].mean() for k in (1, 2)])
    assert ab.shape == (3, model.n_heads, 2)
    lab = layer_ablation_accuracy(model, params, b, 2, "statements")
    assert lab.shape == (3, 2)
    # the circuit's statement positions absorb the pointers (construct.py): exact, and they need the
    # previous-token layer 0
    assert acc.tolist() == [1.0, 1.0] and np.all(lab[0] < 0.75)
    q = ablation_accuracy(model, params, b, 2)[0]
    assert np.isnan(q[0]) and q[1] == 1.0  # IC-A asks only 2-hop queries
    with pytest.raises(ValueError, match="where must be"):
        ablation_accuracy(model, params, b, 2, "dst")


def test_layer_ablation_with_the_layers_above() -> None:
    """Zeroing layer l with every layer above it: row L-1 equals zeroing the top layer alone, row 0
    zeroes every head; the hand-set circuit loses 2-hop queries as soon as layer 2 goes."""
    task = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_b")
    model, params = constructive_params(task, 3)
    b = task.sample(np.random.default_rng(8), 256)
    alone = layer_ablation_accuracy(model, params, b, 2)
    above = layer_ablation_accuracy(model, params, b, 2, above=True)
    np.testing.assert_array_equal(above[-1], alone[-1])
    allzero = ablation_accuracy(model, params, b, 2)[0] * 0 + _zeroed(model, params, b)
    np.testing.assert_allclose(above[0], allzero)
    assert np.all(above[1:, 1] < 0.75) and not np.array_equal(above, alone)


def _zeroed(model, params, b) -> np.ndarray:  # noqa: ANN001
    logits = model.forward(params, b.tokens, np.zeros((model.n_layers, model.n_heads)))[0]
    ok = logits[:, -1].argmax(-1) == b.answer
    return np.array([ok[b.query_depth == k].mean() for k in (1, 2)])
