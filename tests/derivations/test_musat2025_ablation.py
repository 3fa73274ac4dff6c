"""musat2025 heads identified by cause (ablation.py): the hand-set circuit's known heads, the
criteria on synthetic records, each with a negative control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.musat2025.ablation import (
    CONTEXT_SITE,
    QUERY_SITE,
    ablation_accuracy,
    assign_levels,
    carrier_heads,
    emergence_from_ablation,
    layer_ablation_accuracy,
    site_ablation_accuracy,
    site_levels,
    statement_levels,
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


def test_site_ablation_of_the_hand_set_circuit() -> None:
    """A per-position head mask: all ones is the plain forward, a layer zeroed at every position is
    the layer mask. The hand-set circuit's layers work at the sites its construction puts them:
    layer 0 (previous token) at the statements only, layers 1 and 2 (the two lookups) at the query
    only; the site criterion names layer 1 at the query hop 1 and layer 2 at the query hop 2."""
    task = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_b")
    b = task.sample(np.random.default_rng(0), 256)
    model, params = constructive_params(task, 3)
    S = b.tokens.shape[1]
    full = model.forward(params, b.tokens)[0]
    np.testing.assert_array_equal(model.forward(params, b.tokens, np.ones((3, 1, S)))[0], full)
    m3, m2 = np.ones((3, 1, S)), np.ones((3, 1))
    m3[1], m2[1] = 0.0, 0.0
    np.testing.assert_array_equal(model.forward(params, b.tokens, m3)[0], model.forward(params, b.tokens, m2)[0])
    with pytest.raises(ValueError, match="head_mask"):
        model.forward(params, b.tokens, np.ones((3, 1, S + 1)))
    sa = site_ablation_accuracy(model, params, b, 2)  # (L, 3, D): query, context, query and above
    assert sa.shape == (3, 3, 2)
    assert sa[0, 0].tolist() == [1.0, 1.0] and np.all(sa[0, 1] < 0.75)  # layer 0 works at the statements
    assert np.all(sa[1:, 0] < 0.75) and sa[1:, 1].tolist() == [[1.0, 1.0]] * 2  # layers 1, 2 at the query
    np.testing.assert_array_equal(sa[2, 2], sa[2, 0])  # the top layer has nothing above it
    sc = head_scores(model, params, b)
    look = {k: sc[f"lookup{k}"].sum(axis=1) for k in (1, 2)}
    t, units = site_levels(np.array([0]), np.array([[1.0, 1.0]]), sa[None], 0.5, look, sc["chain"].sum(axis=1))
    assert units == [(1, QUERY_SITE), (2, QUERY_SITE)] and t.tolist() == [0.0, 0.0]


def test_last_row_recomputation_equals_the_masked_forward() -> None:
    """``last_logits_zeroed`` (the query-site ablation recomputing only the last row) equals the full
    forward with the query's head outputs zeroed in those layers, to float64 rounding; zeroing a
    different range gives different logits (negative control); a bad range is refused by name."""
    from derivations.musat2025.experiments import TrainConfig

    cfg = TrainConfig(n_heads=2, dtype="float64")
    model = cfg.model()
    params = model.init(np.random.default_rng(0))
    b = cfg.task("ic_b").sample(np.random.default_rng(1), 32)
    S = b.tokens.shape[1]
    _, cache = model.forward(params, b.tokens)
    for start, stop in [(0, 1), (1, 2), (2, 3), (0, 3), (1, 3)]:
        mask = np.ones((3, 2, S))
        mask[start:stop, :, -1] = 0.0
        ref = model.forward(params, b.tokens, mask)[0][:, -1]
        np.testing.assert_allclose(model.last_logits_zeroed(params, cache, start, stop), ref, rtol=0, atol=1e-12)
    assert not np.allclose(model.last_logits_zeroed(params, cache, 0, 1), model.last_logits_zeroed(params, cache, 1, 2))
    with pytest.raises(ValueError, match="start"):
        model.last_logits_zeroed(params, cache, 2, 2)


def _site_record(n: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic 'read-out on top' run (L = 3, D = 2, chance 1/2): every level learned from step
    100, layer 2's query site the read-out from step 100, layer 1's statements needed for 2 hops
    only from step 200."""
    steps = np.arange(n) * 100.0
    acc = np.array([[0.5, 0.5]] + [[1.0, 1.0]] * (n - 1))
    ab = np.repeat(acc[:, None, None, :], 3, axis=1).repeat(3, axis=2).copy()  # (n, L, 3, D): no effect
    ab[1:, 2, 0, :] = ab[1:, 2, 2, :] = ab[1:, 1, 2, :] = ab[1:, 0, 2, :] = 0.5  # the read-out
    ab[1:, 0, 1, :] = 0.5  # layer 0 at the statements: previous token, every level needs it
    ab[2:, 1, 1, 1] = 0.5  # layer 1 at the statements: the link, needed for 2 hops only
    return steps, acc, ab


def test_site_levels_read_out_on_top_with_negative_controls() -> None:
    steps, acc, ab = _site_record()
    look = {1: np.array([-0.2, -0.1, 0.8]), 2: np.array([-0.3, -0.1, -0.3])}
    chain = np.array([-0.3, 0.25, 0.05])
    t, units = site_levels(steps, acc, ab, 0.5, look, chain)
    assert units == [(2, QUERY_SITE), (1, CONTEXT_SITE)] and t.tolist() == [100.0, 200.0]
    # negative controls: each condition removed in turn leaves hop 2 without a unit
    t2, u2 = site_levels(steps, acc, ab, 0.5, look, np.array([-0.3, -0.05, 0.05]))  # no chain-mate attention
    assert u2 == [(2, QUERY_SITE), None] and math.isnan(t2[1])
    ab3 = ab.copy()
    ab3[2:, 1, 1, 0] = 0.5  # layer 1's statements needed for 1 hop too: not a hop-2 unit of its own
    assert site_levels(steps, acc, ab3, 0.5, look, chain)[1] == [(2, QUERY_SITE), None]
    ab5 = ab.copy()
    ab5[2:, 1, 1, 1], ab5[2:, 2, 1, 1] = 1.0, 0.5  # the top layer's statements: no read-out above reads them
    assert site_levels(steps, acc, ab5, 0.5, look, np.array([-0.3, -0.1, 0.5]))[1] == [(2, QUERY_SITE), None]
    ab4 = ab.copy()
    ab4[:, 2, :, :] = acc[:, None, :]  # layer 2 is no read-out, and nothing else reads out at the query
    assert site_levels(steps, acc, ab4, 0.5, look, chain)[1] == [None, None]
    # hop 1 needs a positive lookup-1 excess at the read-out
    assert site_levels(steps, acc, ab, 0.5, {1: -np.abs(look[1]), 2: look[2]}, chain)[1] == [None, None]
    with pytest.raises(ValueError, match="site_ablated"):
        site_levels(steps, acc, ab[:, :, :2], 0.5, look, chain)


def test_site_levels_redundant_read_out_is_found_with_the_layers_above() -> None:
    """Greedy circuit with a backup: layer 2 can also answer 1-hop queries, so zeroing layer 1's
    query site alone keeps them, but zeroing it with layer 2's removes them; layer 2's query site is
    the hop-2 lookup. The site criterion finds both where single-layer zeroing finds no hop-1 unit."""
    steps = np.array([0.0, 100.0])
    acc = np.array([[1.0, 1.0], [1.0, 1.0]])
    ab = np.ones((2, 3, 3, 2))
    ab[:, 0, 1, :] = 0.5  # previous token at the statements
    ab[:, 0, 2, :] = ab[:, 1, 2, :] = 0.5  # the query sites of layers 0-2 or 1-2 zeroed: no answer
    ab[:, 1, 0, 1] = ab[:, 2, 0, 1] = 0.5  # layer 1's or layer 2's query site alone: 2 hops lost
    ab[:, 2, 2, 1] = 0.5
    look = {1: np.array([-0.1, 0.8, 0.3]), 2: np.array([-0.2, -0.1, 0.7])}
    t, units = site_levels(steps, acc, ab, 0.5, look, np.array([-0.3, 0.0, 0.0]))
    assert units == [(1, QUERY_SITE), (2, QUERY_SITE)] and t.tolist() == [0.0, 0.0]
    # negative control: no lookup-2 excess above the read-out, and no statement unit: no hop-2 unit
    assert site_levels(steps, acc, ab, 0.5, {1: look[1], 2: -np.abs(look[2])}, np.zeros(3))[1] == \
        [(1, QUERY_SITE), None]


def test_statement_levels_redundant_copy_and_link_with_negative_controls() -> None:
    """IC-A's levels at the statements: layers 0 and 1 both copy a dst's src (zeroing either alone
    keeps the 1-hop labels; zeroing layer 0 with those above removes them), layer 1 alone is needed
    for the 2-hop labels from step 200 and reads the parent's dst."""
    steps = np.arange(4) * 100.0
    acc = np.array([[0.5, 0.5]] + [[1.0, 1.0]] * 3)
    alone = np.repeat(acc[:, None, :], 3, axis=1).copy()  # (n, L, D): no effect
    alone[2:, 1, 1] = 0.5  # layer 1: the link, 2-hop labels only
    above = alone.copy()
    above[1:, 0, :] = 0.5  # layers 0-2 zeroed: nothing left
    above[2:, 1, 1] = 0.5
    look = {1: np.array([0.7, 0.4, -0.1]), 2: np.array([-0.1, 0.6, -0.1])}
    chain = {2: np.array([-0.2, -0.1, -0.2])}
    t, units = statement_levels(steps, acc, alone, above, 0.5, look, chain)
    assert units == [(0, -1), (1, -1)] and t.tolist() == [100.0, 200.0]
    # a chain-mate reading is evidence as well as the parent's dst
    assert statement_levels(steps, acc, alone, above, 0.5, {1: look[1], 2: -np.abs(look[2])},
                            {2: np.array([-0.2, 0.1, -0.2])})[1] == [(0, -1), (1, -1)]
    # negative controls: no attention evidence; layer 1 needed by the 1-hop labels too; no src copy
    assert statement_levels(steps, acc, alone, above, 0.5, {1: look[1], 2: -np.abs(look[2])}, chain)[1] == \
        [(0, -1), None]
    both = alone.copy()
    both[2:, 1, 0] = 0.5
    assert statement_levels(steps, acc, both, above, 0.5, look, chain)[1] == [(0, -1), None]
    assert statement_levels(steps, acc, alone, above, 0.5, {1: -np.abs(look[1]), 2: look[2]}, chain)[1] == \
        [None, None]
    # the hop-1 layer is not a unit of its own for hop 2, even if zeroing it alone removes only 2 hops
    own = alone.copy()
    own[2:, 0, 1], own[2:, 1, 1] = 0.5, 1.0
    assert statement_levels(steps, acc, own, above, 0.5, {1: look[1], 2: np.array([0.6, -0.1, -0.1])},
                            chain)[1] == [(0, -1), None]
    with pytest.raises(ValueError, match="must match"):
        statement_levels(steps, acc, alone, above[:, :2], 0.5, look, chain)
