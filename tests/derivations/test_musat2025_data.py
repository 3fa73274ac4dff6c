"""musat2025 task generator and depth bound (spec 1.2, 2.2, reconstructions)."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.musat2025.data import (
    RetrievalTask,
    doubling_layers,
    greedy_layers,
    hop_weights,
    min_layers,
    resolve,
)


def test_min_layers_is_ceil_log3_of_2d():
    assert [min_layers(D) for D in (1, 2, 4, 5, 13, 14, 40, 41)] == [1, 2, 2, 3, 3, 4, 4, 5]
    assert min_layers(4) <= doubling_layers(4) <= greedy_layers(4) == 4
    with pytest.raises(ValueError, match="depth D"):
        min_layers(0)


@pytest.mark.parametrize("regime", ["none", "ic_a", "ic_b"])
def test_examples_are_consistent(regime):
    task = RetrievalTask(n_chains=3, depth=4, n_values=8, n_vars=20, regime=regime)
    b = task.sample(np.random.default_rng(0), 64)
    assert b.tokens.shape == (64, task.seq_len) and b.tokens.max() < task.vocab_size
    for n in range(64):
        # following the links from the queried variable reaches the labelled answer
        assert resolve(b.tokens[n], task) == b.answer[n] == b.targets[n, -1]
        assert b.hops[n, -1] == b.query_depth[n]
    if regime == "none":
        assert np.all(b.query_depth == 4) and np.sum(b.targets >= 0) == 64
    if regime == "ic_a":
        sup = b.targets[:, :-1] >= 0
        assert np.all(sup[:, 0::2] == False)  # noqa: E712  (only dst tokens are labelled)
        assert np.all(sup.sum(1) >= 3) and np.all(sup.sum(1) <= 3 * 4)  # every 1-hop dst, some deeper
        assert set(np.unique(b.hops[:, :-1][sup])) == {1, 2, 3, 4}
        every = RetrievalTask(n_chains=3, depth=4, n_values=8, n_vars=20, regime=regime, ic_a_labels="all")
        sup = every.sample(np.random.default_rng(0), 64).targets[:, :-1] >= 0
        assert np.all(sup.sum(1) == 3 * 4)  # every dst token


def test_ic_b_depth_mixture():
    task = RetrievalTask(n_chains=2, depth=3, regime="ic_b", pi=(0.6, 0.3, 0.1))
    d = task.sample(np.random.default_rng(1), 4000).query_depth
    freq = np.bincount(d, minlength=4)[1:] / d.size
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.03)  # 4000 draws: std < 0.008


def test_seeded_and_reproducible():
    t = RetrievalTask()
    a = t.sample(np.random.default_rng(5), 8)
    b = t.sample(np.random.default_rng(5), 8)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.targets, b.targets)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_chains": 10, "depth": 8, "n_vars": 64}, "distinct variables"),
    ({"n_chains": 20, "n_values": 16, "depth": 1}, "distinct values"),
    ({"regime": "mixture"}, "unknown regime"),
    ({"regime": "ic_b", "pi": (0.5, 0.5)}, "pi must be"),
    ({"pi": (0.25,) * 4}, "only used"),
    ({"depth": 0}, "depth must be"),
])
def test_impossible_sizes_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RetrievalTask(**kwargs)


@pytest.mark.parametrize("labels", ["determined", "all"])
def test_hop_weights_match_the_sampled_labels(labels):
    """hop_weights (the R1 mixture) against the hop counts of the supervised labels of 4000 examples."""
    task = RetrievalTask(n_chains=3, depth=3, n_values=8, n_vars=16, regime="ic_a", ic_a_labels=labels)
    b = task.sample(np.random.default_rng(0), 4000)
    h = b.hops[b.targets >= 0]
    got = np.bincount(h, minlength=4)[1:] / h.size
    w = hop_weights(task)
    # 4000 examples x 7-10 labels: standard error < 0.003 per share; 0.01 is > 3 of them
    np.testing.assert_allclose(got, w, atol=0.01)
    # negative control: the two labellings differ by far more than that
    other = hop_weights(RetrievalTask(3, 3, 8, 16, "ic_a", ic_a_labels="all" if labels == "determined" else "determined"))
    assert np.max(np.abs(other - got)) > 0.05
    assert hop_weights(RetrievalTask(3, 3, 8, 16, "none")).tolist() == [0.0, 0.0, 1.0]
    assert hop_weights(RetrievalTask(3, 3, 8, 16, "ic_b", pi=[0.2, 0.3, 0.5])).tolist() == [0.2, 0.3, 0.5]
