"""yuksel2026 teacher: the sparse-span Markov chain (spec 1.1), its restrictions A*_{1:k} (1.3),
its entropy and KL metrics, finite data sets and the regression variant (1.5, 5.3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from derivations.yuksel2026.data import Dataset, Teacher

SMALL = Teacher(d=5, spans=(1, 2), m=1.5, tau=0.7, seed=3)


def brute_logits(teacher: Teacher, seq: np.ndarray, t: int, k: int | None = None) -> np.ndarray:
    """Spec 1.1 written out for one position: (1/tau) sum_i c_i Q_i sum_{u in span_i} e_{x_u}."""
    spans = range(teacher.K) if k is None else teacher.importance[:k]
    out = np.zeros(teacher.d)
    for i in spans:
        for j in range(teacher.spans[i]):
            u = t - teacher.C + 1 + teacher.starts[i] + j  # window position start_i + j
            e = np.zeros(teacher.d)
            e[seq[u]] = 1.0
            out += teacher.constants[i] * teacher.Q[i] @ e / teacher.tau
    return out


# ------------------------------------------------------------------------ structure
def test_default_structure_matches_spec():
    t = Teacher()
    assert (t.d, t.K, t.C, t.starts) == (50, 3, 6, (0, 2, 4))
    np.testing.assert_allclose(t.constants, [1.0, 1.7, 2.89], rtol=1e-12)
    assert t.importance == (2, 1, 0)  # the newest span is the most important
    assert [t.lags(i) for i in range(3)] == [(4, 5), (2, 3), (0, 1)]


def test_reverse_makes_the_oldest_span_most_important():
    t = Teacher(d=4, spans=(2, 4, 8), reverse=True)
    np.testing.assert_allclose(t.constants, [1.7**2, 1.7, 1.0], rtol=1e-12)
    assert t.importance == (0, 1, 2)
    assert [t.lags(i) for i in range(3)] == [(12, 13), (8, 9, 10, 11), tuple(range(8))]


def test_equal_constants_break_ties_towards_recent_spans():
    assert Teacher(d=3, m=1.0).importance == (2, 1, 0)


def test_spectral_q_are_orthogonal_matrices():
    t = Teacher(d=7, spans=(1, 1, 1), seed=2)
    for q in t.Q:
        np.testing.assert_allclose(q.T @ q, np.eye(7), atol=1e-12)
    assert not np.allclose(t.Q[0], t.Q[1])


def test_frobenius_q_are_orthogonal_in_rd2_with_norm_sqrt_d():
    t = Teacher(d=6, spans=(1, 1, 1, 1), orthogonal="frobenius", seed=2)
    gram = np.einsum("iab,jab->ij", t.Q, t.Q)
    np.testing.assert_allclose(gram, 6.0 * np.eye(4), atol=1e-10)
    # negative control: they are not orthogonal matrices, and spectral draws are not F-orthogonal
    assert not np.allclose(t.Q[0].T @ t.Q[0], np.eye(6), atol=1e-3)
    s = Teacher(d=6, spans=(1, 1, 1, 1), seed=2)
    assert not np.allclose(np.einsum("iab,jab->ij", s.Q, s.Q), 6.0 * np.eye(4), atol=1e-3)


def test_q_depends_on_seed_only():
    np.testing.assert_array_equal(Teacher(d=4, seed=5).Q, Teacher(d=4, seed=5).Q)
    assert not np.allclose(Teacher(d=4, seed=5).Q, Teacher(d=4, seed=6).Q)


# --------------------------------------------------------------------------- logits
def test_logits_shape_and_formula():
    rng = np.random.default_rng(0)
    tok = rng.integers(0, SMALL.d, size=(4, 9))
    z = SMALL.logits(tok)
    assert z.shape == (4, 9 - SMALL.C + 1, SMALL.d)
    for b in range(4):
        for i, t in enumerate(range(SMALL.C - 1, 9)):
            np.testing.assert_allclose(z[b, i], brute_logits(SMALL, tok[b], t), atol=1e-12)


def test_restricted_teacher_keeps_the_k_most_important_spans():
    t = Teacher(d=6, spans=(1, 2, 1), m=1.3, tau=0.5, seed=1)
    tok = np.random.default_rng(1).integers(0, 6, size=(3, 8))
    np.testing.assert_array_equal(t.logits(tok, k=3), t.logits(tok))
    for k in (1, 2):
        z = t.logits(tok, k=k)
        for b in range(3):
            np.testing.assert_allclose(z[b, 0], brute_logits(t, tok[b], t.C - 1, k), atol=1e-12)
        assert not np.allclose(z, t.logits(tok))
    # the most important span alone is the newest one (lag 0), the reversed one the oldest
    only_new = t.logits(tok, k=1)[:, 0]
    np.testing.assert_allclose(only_new, t.constants[2] * t.Q[2][:, tok[:, 3]].T / t.tau)
    r = Teacher(d=6, spans=(1, 2, 1), m=1.3, tau=0.5, seed=1, reverse=True)
    only_old = r.constants[0] * r.Q[0][:, tok[:, 0]].T / r.tau
    np.testing.assert_allclose(r.logits(tok, k=1)[:, 0], only_old)


def test_lag_matrices_reproduce_the_logits():
    t = SMALL
    tok = np.random.default_rng(2).integers(0, t.d, size=(2, 6))
    M = t.lag_matrices(k=1)  # (C, d, d)
    onehot = np.eye(t.d)[tok]  # (B, N, d)
    z = sum(onehot[:, t.C - 1 - lag : 6 - lag] @ M[lag].T for lag in range(t.C)) / t.tau
    np.testing.assert_allclose(z, t.logits(tok, k=1), atol=1e-12)


# ------------------------------------------------------------------------- sampling
def test_sample_shape_prefix_and_range():
    tok = Teacher(d=7).sample(np.random.default_rng(0), 11, length=4)
    assert tok.shape == (11, 6 + 4) and np.issubdtype(tok.dtype, np.integer)
    assert tok.min() >= 0 and tok.max() < 7


def test_sampling_follows_the_teacher_chi_square():
    """Pooled over every autoregressive position, next-token counts per context match n_ctx * p.

    d = 3 and C = 2 give 9 contexts; 20 000 sequences of 4 sampled tokens. The chain is Markov
    of order C, so given the contexts the counts are multinomial and the pooled chi-square has
    9 * 2 = 18 degrees of freedom. p > 1e-3 for the right law (fixed seed); the same counts
    against a wrongly-indexed law (the reversed teacher) must be rejected (p < 1e-6).
    """
    t = Teacher(d=3, spans=(1, 1), m=2.0, tau=1.0, seed=4)
    tok = t.sample(np.random.default_rng(5), 20_000, length=4)  # (n, 6)
    ctx = tok[:, 0:4] + 3 * tok[:, 1:5]  # (n, 4): context (x_{t-1}, x_t) of x_{t+1}
    nxt = tok[:, t.C :]  # (n, 4): x_{t+1}
    counts = np.bincount((3 * ctx + nxt).ravel(), minlength=27).reshape(9, 3).astype(float)
    pairs = np.array([[a, b] for b in range(3) for a in range(3)])  # context c = a + 3 b

    def pvalue(teacher: Teacher) -> float:
        p = np.exp(teacher.log_probs(pairs))[:, 0]  # (9, 3)
        expected = counts.sum(axis=1, keepdims=True) * p
        return float(chisquare(counts.ravel(), expected.ravel(), ddof=9 * 3 - 1 - 18).pvalue)

    assert pvalue(t) > 1e-3
    assert pvalue(Teacher(d=3, spans=(1, 1), m=2.0, tau=1.0, seed=4, reverse=True)) < 1e-6


# -------------------------------------------------------------------------- metrics
def test_entropy_estimate_agrees_with_teacher_cross_entropy_on_a_set():
    """Both have the same expectation; 4 standard errors of the per-sequence CE-minus-entropy."""
    t = Teacher(d=20, seed=1)
    tok = t.sample(np.random.default_rng(0), 3000, length=10)
    h, ce = t.entropy(tok), t.cross_entropy(tok)
    lp = t.log_probs(tok[:, :-1])  # (B, T, d)
    per_seq = -np.take_along_axis(lp, tok[:, t.C :, None], -1)[..., 0].mean(1) + (
        np.exp(lp) * lp
    ).sum(-1).mean(1)
    se = per_seq.std() / np.sqrt(per_seq.size)
    assert abs(h - ce) < 4 * se
    assert 0 < h < np.log(20)
    # restricting the teacher leaves less information: its entropy on the same contexts is larger
    assert t.entropy(tok, k=1) > t.entropy(tok, k=2) > h


def test_default_teacher_entropy_matches_spec():
    """Spec 1.1 (the spec's own simulation): 0.59 nats at tau = 0.1, m = 1.7 (one teacher draw; paper 0.52-0.59)."""
    assert 0.5 < Teacher().expected_entropy(n=1000) < 0.65


def test_kl_to_is_zero_for_the_teacher_itself_and_positive_otherwise():
    t = SMALL
    tok = t.sample(np.random.default_rng(1), 50, length=5)
    full = t.log_probs(tok[:, :-1])  # (B, T, d)
    assert abs(t.kl_to(full, tok)) < 1e-12
    kl1 = t.kl_to(full, tok, k=1)
    p1 = np.exp(t.log_probs(tok[:, :-1], k=1))
    np.testing.assert_allclose(kl1, np.mean(np.sum(p1 * (np.log(p1) - full), -1)), rtol=1e-12)
    assert kl1 > 0.0
    with pytest.raises(ValueError, match=r"model_logprobs must have shape \(50, 5, 5\)"):
        t.kl_to(full[:, 1:], tok)


# ------------------------------------------------------------------------- data sets
def _rows(a: np.ndarray) -> list[tuple[int, ...]]:
    return sorted(tuple(int(v) for v in r) for r in a)


def test_dataset_epochs_visit_every_sequence_once():
    t = SMALL
    data = t.dataset(np.random.default_rng(0), 10, length=3)
    assert (data.n, data.seq_len, data.length) == (10, t.C + 3, 3)
    it = data.batches(np.random.default_rng(1), 4)
    epoch = [next(it) for _ in range(3)]  # 4 + 4 + 2
    assert [len(b) for b in epoch] == [4, 4, 2]
    first = np.concatenate(epoch)
    assert _rows(first) == _rows(data.tokens)
    second = np.concatenate([next(it) for _ in range(3)])
    assert _rows(second) == _rows(data.tokens)
    assert not np.array_equal(first, second)  # reshuffled
    full = data.batches(np.random.default_rng(1), 10)
    np.testing.assert_array_equal(next(full), data.tokens)


def test_dataset_sample_draws_distinct_rows():
    data = SMALL.dataset(np.random.default_rng(0), 10, length=3)
    rows = data.sample(np.random.default_rng(0), 10)
    assert _rows(rows) == _rows(data.tokens)


# ------------------------------------------------------------------------ regression
def test_regression_target_formula():
    t = Teacher(d=4, spans=(2, 1), m=1.5, seed=0)
    x, y = t.regression_batch(np.random.default_rng(0), 3, length=5)
    assert x.shape == (3, t.C + 5 - 1, 4) and y.shape == (3, 5, 4)
    for b in range(3):
        for i, tt in enumerate(range(t.C - 1, t.C + 4)):
            want = sum(
                t.constants[j] * t.Q[j] @ x[b, tt - lag] for j in range(t.K) for lag in t.lags(j)
            )
            np.testing.assert_allclose(y[b, i], want, atol=1e-12)
    np.testing.assert_allclose(t.regression_targets(x, k=2), y, atol=1e-12)
    _, y_noisy = t.regression_batch(np.random.default_rng(0), 3, length=5, noise=0.5)
    assert 0 < np.abs(y_noisy - y).max() < 5


def test_regression_inputs_are_white():
    x, _ = SMALL.regression_batch(np.random.default_rng(0), 4000, length=2)
    flat = x.reshape(-1, SMALL.d)
    np.testing.assert_allclose(flat.T @ flat / len(flat), np.eye(SMALL.d), atol=0.05)


# ----------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d": 0}, "d .vocabulary size. must be an integer >= 1"),
        ({"spans": (2, 0)}, r"span length spans\[1\] must be an integer >= 1"),
        ({"spans": ()}, "at least one span"),
        ({"spans": "22"}, "spans must be a sequence"),
        ({"m": 0.0}, "m .importance ratio. must be a positive finite number"),
        ({"tau": -1.0}, "tau .temperature. must be a positive finite number"),
        ({"orthogonal": "qr"}, "orthogonal must be one of"),
        ({"d": 1, "orthogonal": "frobenius"}, "needs K <= d\\^2"),
        ({"seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_bad_teacher_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Teacher(**kwargs)


def test_bad_tokens_and_arguments_raise():
    t = SMALL
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"token values must lie in \[0, d=5\)"):
        t.logits(np.full((2, 4), 5))
    with pytest.raises(ValueError, match="integer array of shape"):
        t.logits(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="N >= 3 positions"):
        t.logits(np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match=r"k .number of most important spans. must lie in 1..2"):
        t.logits(np.zeros((2, 4), dtype=int), k=0)
    with pytest.raises(ValueError, match="n .number of sequences. must be an integer >= 1"):
        t.sample(rng, 0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        t.sample(0, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="N >= 4 positions"):
        t.entropy(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"x must have shape \(B, N >= 3, d=5\)"):
        t.regression_targets(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        t.regression_batch(rng, 2, noise=-1.0)
    with pytest.raises(ValueError, match="teacher must be a Teacher"):
        Dataset(None, np.zeros((2, 4), dtype=int))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch 11 exceeds the 10 sequences"):
        t.dataset(rng, 10, 2).sample(rng, 11)
