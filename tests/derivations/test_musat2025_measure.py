"""Tests for derivations.musat2025.measure (spec 3.3 emergence measurements)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.musat2025.data import RetrievalTask
from derivations.musat2025.direct import AttentionOnlyTransformer
from derivations.musat2025.measure import (
    emergence_time,
    head_scores,
    kendall_tau,
    link_score,
    lookup_targets,
    per_hop_accuracy,
    prev_score,
    query_ancestors,
    query_hop_score,
    query_lookup_score,
    readout_score,
    snapshot_steps,
    statement_lookup_score,
    statement_lookup_targets,
)
from dynamics.direct import Snapshots, train


def _uniform(B: int, H: int, S: int) -> np.ndarray:
    A = np.tril(np.ones((S, S)))
    A /= A.sum(axis=1, keepdims=True)
    return np.broadcast_to(A, (B, H, S, S)).copy()


def _parent_pairs(tokens: np.ndarray) -> list[tuple[int, int, int]]:
    """(b, i, j) with statement j the parent of statement i and j < i, by a plain loop."""
    n = (tokens.shape[1] - 2) // 2
    out = []
    for b in range(tokens.shape[0]):
        for i in range(n):
            for j in range(i):
                if tokens[b, 2 * j + 1] == tokens[b, 2 * i]:
                    out.append((b, i, j))
    return out


@pytest.fixture
def sample() -> np.ndarray:
    task = RetrievalTask(n_chains=3, depth=3, n_values=6, n_vars=12, regime="ic_a")
    return task.sample(np.random.default_rng(1), 16).tokens


def test_link_score_exact_parent_is_one(sample: np.ndarray) -> None:
    B, S = sample.shape
    A = _uniform(B, 2, S)
    pairs = _parent_pairs(sample)
    assert pairs
    for b, i, j in pairs:
        A[b, :, 2 * i + 1, :] = 0.0
        A[b, :, 2 * i + 1, 2 * j + 1] = 1.0
    np.testing.assert_allclose(link_score(A, sample), [1.0, 1.0])
    # head 1 uniform instead: only head 0 keeps a perfect score
    A[:, 1] = _uniform(B, 1, S)[:, 0]
    s = link_score(A, sample)
    assert s[0] == pytest.approx(1.0) and s[1] < 0.2


def test_link_score_uniform_expected(sample: np.ndarray) -> None:
    B, S = sample.shape
    pairs = _parent_pairs(sample)
    expected = np.mean([1.0 / (2 * i + 2) for _, i, _ in pairs])
    np.testing.assert_allclose(link_score(_uniform(B, 3, S), sample), [expected] * 3)
    np.testing.assert_allclose(
        link_score(_uniform(B, 1, S), sample, target="statement"), [2 * expected]
    )


def test_readout_score(sample: np.ndarray) -> None:
    B, S = sample.shape
    A = _uniform(B, 2, S)
    np.testing.assert_allclose(readout_score(A, sample), [1.0 / S] * 2)
    for b in range(B):
        j = int(np.nonzero(sample[b, 1 : S - 2 : 2] == sample[b, -1])[0][0])
        A[b, 0, S - 1, :] = 0.0
        A[b, 0, S - 1, 2 * j + 1] = 1.0
    np.testing.assert_allclose(readout_score(A, sample), [1.0, 1.0 / S])


def test_emergence_time() -> None:
    t = np.arange(0, 101, 10)
    v = t / 100.0
    assert emergence_time(t, v, 0.55) == pytest.approx(55.0)
    assert emergence_time(t, v, 0.0) == 0.0
    assert np.isnan(emergence_time(t, v, 1.5))
    assert np.isnan(emergence_time(t, np.full(t.shape, np.nan), 0.5))


def test_kendall_tau() -> None:
    assert kendall_tau([0, 1, 2, 3], [0, 1, 2, 3]) == pytest.approx(1.0)
    assert kendall_tau([0, 1, 2, 3], [3, 2, 1, 0]) == pytest.approx(-1.0)
    assert isinstance(kendall_tau([1, 2], [2, 1]), float)


def test_snapshot_steps() -> None:
    s = snapshot_steps(600, 8)
    assert s[0] == 0 and s[-1] == 600 and np.all(np.diff(s) > 0)
    np.testing.assert_array_equal(snapshot_steps(10, 3, "linear"), [0, 5, 10])


def test_short_training_learns_hop_one() -> None:
    task = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_a")
    model = AttentionOnlyTransformer.for_task(
        task, n_layers=2, n_heads=2, d_model=32, init_scale=0.1
    )
    rng = np.random.default_rng(0)
    snapshots = Snapshots()
    train(model, None, None, lr=1e-2, steps=600, optimizer="adam",
          sampler=lambda r, step: task.sample(r, 64), rng=rng, record=snapshot_steps(600, 6),
          callbacks=[snapshots])
    snaps = list(snapshots)
    steps = [s for s, _ in snaps]
    assert steps[0] == 0 and steps[-1] == 600
    eval_batch = task.sample(np.random.default_rng(123), 256)
    acc = per_hop_accuracy(model, snaps, eval_batch)
    assert acc.shape == (len(snaps), 2)
    print("steps", steps)
    print("acc", np.round(acc, 3))
    print(
        "scores",
        {k: np.round(v, 3) for k, v in head_scores(model, snaps[-1][1], eval_batch).items()},
    )
    chance = 1.0 / task.n_values
    assert acc[-1, 0] > chance + 0.2


def _ancestors_by_loop(tokens: np.ndarray, hops: int) -> list[list[int]]:
    """Statement index of each lookup from the queried variable, by a plain loop."""
    n = (tokens.shape[1] - 2) // 2
    out = []
    for b in range(tokens.shape[0]):
        row, x = [], int(tokens[b, -1])
        for _ in range(hops):
            js = [j for j in range(n) if tokens[b, 2 * j + 1] == x]
            if not js:
                row.append(-1)
                x = -1
                continue
            row.append(js[0])
            x = int(tokens[b, 2 * js[0]])
        out.append(row)
    return out


def test_prev_score_exact_and_uniform(sample: np.ndarray) -> None:
    B, S = sample.shape
    n = (S - 2) // 2
    expected = np.mean([1.0 / (2 * i + 2) for i in range(n)])
    np.testing.assert_allclose(prev_score(_uniform(B, 2, S), sample), [expected] * 2)
    A = _uniform(B, 2, S)
    for i in range(n):
        A[:, 0, 2 * i + 1, :] = 0.0
        A[:, 0, 2 * i + 1, 2 * i] = 1.0
    np.testing.assert_allclose(prev_score(A, sample), [1.0, expected])


def test_query_ancestors_matches_loop() -> None:
    task = RetrievalTask(n_chains=3, depth=3, n_values=6, n_vars=12, regime="ic_b")
    b = task.sample(np.random.default_rng(4), 64)
    got = query_ancestors(b.tokens, 4)
    np.testing.assert_array_equal(got, _ancestors_by_loop(b.tokens, 4))
    # a depth-k query has exactly k lookups before reaching the value statement's src
    np.testing.assert_array_equal((got >= 0).sum(axis=1), b.query_depth)


def test_query_hop_score() -> None:
    task = RetrievalTask(n_chains=3, depth=3, n_values=6, n_vars=12, regime="ic_b")
    b = task.sample(np.random.default_rng(5), 64)
    B, S = b.tokens.shape
    anc = query_ancestors(b.tokens, 3)
    A = _uniform(B, 2, S)
    np.testing.assert_allclose(query_hop_score(A, b.tokens, 1), readout_score(A, b.tokens))
    for bb in range(B):
        if anc[bb, 1] >= 0:
            A[bb, 1, S - 1, :] = 0.0
            A[bb, 1, S - 1, 2 * anc[bb, 1] + 1] = 1.0
    np.testing.assert_allclose(query_hop_score(A, b.tokens, 2), [1.0 / S, 1.0])
    assert query_hop_score(A, b.tokens, 1)[1] < 0.1  # the hop-2 head is not a hop-1 head
    with pytest.raises(ValueError, match="hop"):
        query_hop_score(A, b.tokens, 0)


def test_lookup_targets_and_score() -> None:
    """Lookup h's targets are the positions holding the variable it matches: j_h's dst and, for
    h >= 2, j_{h-1}'s src; a head reading either scores 1 - (targets)/S, a uniform one 0."""
    task = RetrievalTask(n_chains=3, depth=3, n_values=6, n_vars=12, regime="ic_b")
    b = task.sample(np.random.default_rng(6), 96)
    B, S = b.tokens.shape
    anc = query_ancestors(b.tokens, 3)
    t2 = lookup_targets(b.tokens, 2)
    for bb in range(B):
        want = set()
        if anc[bb, 1] >= 0:
            want = {2 * anc[bb, 1] + 1, 2 * anc[bb, 0]}  # j_2's dst and j_1's src
        assert set(np.nonzero(t2[bb])[0]) == want
    A = _uniform(B, 3, S)
    for bb in range(B):
        if anc[bb, 1] >= 0:
            A[bb, 1:, S - 1, :] = 0.0
            A[bb, 1, S - 1, 2 * anc[bb, 1] + 1] = 1.0  # head 1 reads j_2's dst
            A[bb, 2, S - 1, 2 * anc[bb, 0]] = 1.0  # head 2 reads j_1's src
    np.testing.assert_allclose(query_lookup_score(A, b.tokens, 2), [0.0, 1 - 2 / S, 1 - 2 / S], atol=1e-12)
    # negative control: a head reading j_1's dst (the first lookup) is no hop-2 reader
    A2 = _uniform(B, 1, S)
    for bb in range(B):
        A2[bb, 0, S - 1, :] = 0.0
        A2[bb, 0, S - 1, 2 * anc[bb, 0] + 1] = 1.0
    assert query_lookup_score(A2, b.tokens, 2)[0] < 0.0 < query_lookup_score(A2, b.tokens, 1)[0]
    with pytest.raises(ValueError, match="hop"):
        lookup_targets(b.tokens, 0)


def test_order_gamma_ties_and_unformed_levels() -> None:
    from derivations.musat2025.measure import order_gamma

    nan = float("nan")
    assert order_gamma([100, 200, 300]) == (1.0, 3, 0, 0)
    assert order_gamma([100, 100, 300]) == (1.0, 2, 0, 1)  # a tie is neither order
    assert order_gamma([100, nan, 300])[:3] == (1.0, 1, 0)  # a level that did not form is left out
    # negative control: one reversed pair makes it fail the "always" reading
    g, c, d, _ = order_gamma([200, 100, 300])
    assert d == 1 and g < 1
    assert math.isnan(order_gamma([100, nan])[0]) and math.isnan(order_gamma([100, 100])[0])


def test_two_proportion_and_sign_tests() -> None:
    from scipy.stats import binomtest

    from derivations.musat2025.measure import sign_test_p, two_proportion_p

    # hand value: 5/8 against 0/8, pooled 5/16, z = 0.625 / sqrt(5/16 * 11/16 * 1/4) = 2.697
    assert two_proportion_p(5, 8, 0, 8) == pytest.approx(0.0035, abs=1e-4)
    assert two_proportion_p(3, 8, 0, 8) < 0.05 < two_proportion_p(2, 8, 0, 8)
    assert two_proportion_p(4, 8, 4, 8) == pytest.approx(0.5)  # equal rates: no evidence
    assert two_proportion_p(0, 8, 0, 8) == 0.5 and two_proportion_p(0, 8, 5, 8) > 0.99  # wrong direction
    with pytest.raises(ValueError, match="k1"):
        two_proportion_p(9, 8, 0, 8)
    assert sign_test_p(8, 0) == pytest.approx(1 / 256)
    assert sign_test_p(7, 1) == pytest.approx(binomtest(7, 8, 0.5, alternative="greater").pvalue)
    assert sign_test_p(4, 4) > 0.5 and sign_test_p(0, 0) == 1.0


def test_statement_lookup_targets_and_score() -> None:
    """A statement's dst reads its own src in lookup 1 and its parent's dst (when written
    before it) in lookup 2, as a plain loop finds them; a head reading exactly there scores
    1 - 1/(2i + 2) at reader i, a uniform head 0, and a previous-token head is no hop-2 reader."""
    task = RetrievalTask(n_chains=3, depth=3, n_values=6, n_vars=12, regime="ic_a")
    b = task.sample(np.random.default_rng(3), 64)
    tok = b.tokens
    B, S = tok.shape
    n = (S - 2) // 2
    t1, t2, t3 = (statement_lookup_targets(tok, h) for h in (1, 2, 3))
    assert t1.shape == (B, n, S)
    for bb in range(B):
        for i in range(n):
            assert set(np.nonzero(t1[bb, i])[0]) == {2 * i}
            par = [j for j in range(n) if tok[bb, 2 * j + 1] == tok[bb, 2 * i]]
            want2 = {2 * par[0] + 1} if par and par[0] < i else set()
            assert set(np.nonzero(t2[bb, i])[0]) == want2
            if par:  # lookup 3: the grandparent's dst and the parent's src, those before i
                gp = [j for j in range(n) if tok[bb, 2 * j + 1] == tok[bb, 2 * par[0]]]
                want3 = ({2 * gp[0] + 1, 2 * par[0]} if gp else set())
                assert set(np.nonzero(t3[bb, i])[0]) == {p for p in want3 if p < 2 * i}
    readers = np.ones((B, n), dtype=bool)
    A = _uniform(B, 3, S)
    for bb in range(B):
        for i in range(n):
            A[bb, 1:, 2 * i + 1, :] = 0.0
            A[bb, 1, 2 * i + 1, 2 * i] = 1.0  # head 1: previous token
            par = np.nonzero(t2[bb, i])[0]
            A[bb, 2, 2 * i + 1, par[0] if par.size else 2 * i + 1] = 1.0  # head 2: parent's dst
    s1 = statement_lookup_score(A, tok, readers, 1)
    s2 = statement_lookup_score(A, tok, readers, 2)
    i_all = np.tile(np.arange(n), B)
    has2 = t2.any(axis=2).ravel()
    np.testing.assert_allclose(s1, [0.0, np.mean(1 - 1 / (2 * i_all + 2)), -np.mean(1 / (2 * i_all + 2))], atol=1e-12)
    np.testing.assert_allclose(s2[2], np.mean(1 - 1 / (2 * i_all[has2] + 2)), atol=1e-12)
    assert abs(s2[0]) < 1e-12 and s2[1] < 0.0  # uniform 0; the previous-token head is no hop-2 reader
    with pytest.raises(ValueError, match="readers"):
        statement_lookup_score(A, tok, readers[:, :1], 1)
    assert np.all(np.isnan(statement_lookup_score(A, tok, np.zeros((B, n), dtype=bool), 1)))


def test_statement_chains_and_chain_score(sample: np.ndarray) -> None:
    """Chains against a plain loop; a head reading only earlier chain-mates scores 1 minus the
    uniform share, a uniform head 0, a previous-token head below 0 (negative control)."""
    from derivations.musat2025.measure import chain_score, statement_chains

    tok = sample
    B, S = tok.shape
    n = (S - 2) // 2
    chains = statement_chains(tok)
    for b in range(B):
        src, dst = tok[b, 0 : 2 * n : 2].tolist(), tok[b, 1 : 2 * n : 2].tolist()
        for i in range(n):
            j = i
            while src[j] in dst:  # up to the value statement
                j = dst.index(src[j])
            assert chains[b, i] == j
    mate = np.zeros((B, 1, S, S))
    share = []
    for b in range(B):
        for p in range(2 * n):
            m = [q for q in range(2 * n) if q // 2 < p // 2 and chains[b, q // 2] == chains[b, p // 2]]
            mate[b, 0, p, m or [p]] = 1.0 / len(m or [p])
            if m:
                share.append(len(m) / (p + 1))
        mate[b, 0, 2 * n:, 0] = 1.0
    np.testing.assert_allclose(chain_score(mate, tok), [1.0 - np.mean(share)])
    uniform = np.tril(np.ones((S, S)))
    uniform /= uniform.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(chain_score(np.broadcast_to(uniform, (B, 1, S, S)), tok), [0.0], atol=1e-12)
    prev = np.zeros((B, 1, S, S))
    prev[:, 0, np.arange(S), np.maximum(np.arange(S) - 1, 0)] = 1.0
    assert chain_score(prev, tok)[0] < -0.1


def test_chain_score_at_chosen_readers(sample: np.ndarray) -> None:
    """Readers restrict the score to the two positions of the chosen statements: a head whose rows
    there read their own position (a layer-local transform, not a link) scores below 0, while one
    whose rows read every earlier chain-mate scores 1 minus the uniform share; a wrong shape is
    refused by name."""
    from derivations.musat2025.measure import chain_score, statement_chains

    tok = sample
    B, S = tok.shape
    n = (S - 2) // 2
    chains = statement_chains(tok)
    readers = np.zeros((B, n), dtype=bool)
    readers[:, n - 1] = True  # the last statement: positions 2n - 2 and 2n - 1
    self_att = np.zeros((B, 1, S, S))
    self_att[:, 0, np.arange(S), np.arange(S)] = 1.0
    mate = self_att.copy()
    share = []
    for b in range(B):
        m = [q for q in range(2 * (n - 1)) if chains[b, q // 2] == chains[b, n - 1]]
        for p in (2 * n - 2, 2 * n - 1):
            if m:
                mate[b, 0, p] = 0.0
                mate[b, 0, p, m] = 1.0 / len(m)
                share.append(len(m) / (p + 1))
    np.testing.assert_allclose(chain_score(mate, tok, readers), [1.0 - np.mean(share)])
    assert chain_score(self_att, tok, readers)[0] == pytest.approx(-np.mean(share))
    with pytest.raises(ValueError, match="readers"):
        chain_score(mate, tok, readers[:, :-1])
