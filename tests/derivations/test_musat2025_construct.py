"""musat2025 hand-set construction (our one-hop-per-layer circuit, spec 1.3, reconstructed): exact
answers for depths k <= L-1, chance level beyond, negative controls and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.musat2025.construct import (
    constructive_depth,
    constructive_params,
    default_beta,
    min_beta,
    query_accuracy_by_depth,
    query_correct,
    residual_layout,
)
from derivations.musat2025.data import Batch, RetrievalTask, min_layers
from derivations.musat2025.direct import AttentionOnlyTransformer

SMALL = RetrievalTask(n_chains=3, depth=4, n_values=8, n_vars=16)
N_PER_DEPTH = 512
# Negative-control bound for depths k > L-1. After L-1 hops the last pointer still holds a
# variable, and its value coordinates carry only attention leakage, which is (to relative
# O(beta * delta)) the same for the C values present; the argmax is then a present value
# unrelated to the answer, so accuracy ~ 1/C = 1/3 (1/V = 1/8 at L = 1, where nothing leaks).
# With N_CONTROL = 128 examples the binomial sd is ~0.042, so 0.6 sits > 6 sd above chance, yet
# far below the 1.0 a model that really answered those depths would score.
CHANCE_BOUND = 0.6
N_CONTROL = 128
_FIELDS = ("tokens", "targets", "hops", "answer", "query_depth")


def _per_depth_batch(task: RetrievalTask, n: int, seed: int) -> Batch:
    """``n`` examples at every depth 1..D (IC-B with a one-hot mixture), concatenated."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(1, task.depth + 1):
        pi = np.eye(task.depth)[k - 1]
        t = RetrievalTask(task.n_chains, task.depth, task.n_values, task.n_vars, "ic_b", pi)
        parts.append(t.sample(rng, n))
    return Batch(*(np.concatenate([getattr(b, f) for b in parts]) for f in _FIELDS))


def _subset(batch: Batch, mask: np.ndarray | slice) -> Batch:
    return Batch(*(np.asarray(getattr(batch, f))[mask] for f in _FIELDS))


def _every(batch: Batch, step: int) -> np.ndarray:
    """Mask keeping every ``step``-th example."""
    return np.arange(len(batch.answer)) % step == 0


@pytest.fixture(scope="module")
def small_batch() -> Batch:
    return _per_depth_batch(SMALL, N_PER_DEPTH, seed=0)


def _acc_by_depth(model: AttentionOnlyTransformer, params: dict[str, np.ndarray],
                  batch: Batch) -> dict[int, tuple[float, int]]:
    ok = query_correct(model, params, batch)
    d = batch.query_depth
    return {int(k): (float(ok[d == k].mean()), int((d == k).sum())) for k in np.unique(d)}


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_exact_up_to_depth_L_minus_1_and_chance_beyond(L: int, small_batch: Batch) -> None:
    # all N_PER_DEPTH examples at the depths that must be exact, N_CONTROL at the deeper ones
    d = small_batch.query_depth
    rank = np.concatenate([np.arange(N_PER_DEPTH)] * SMALL.depth)
    keep = (d <= constructive_depth(L)) | (rank < N_CONTROL)
    model, params = constructive_params(SMALL, L)
    acc = _acc_by_depth(model, params, _subset(small_batch, keep))
    assert set(acc) == set(range(1, SMALL.depth + 1))
    for k, (a, n) in acc.items():
        if k <= constructive_depth(L):
            assert n >= N_PER_DEPTH
            assert a == 1.0, (L, k, a)
        else:
            assert n >= N_CONTROL
            assert a <= CHANCE_BOUND, (L, k, a)


def test_min_beta_is_enough_and_a_soft_head_is_not(small_batch: Batch) -> None:
    shallow = _subset(small_batch, small_batch.query_depth <= 2)
    model, params = constructive_params(SMALL, 3, beta=min_beta(SMALL.seq_len))
    acc = _acc_by_depth(model, params, shallow)
    assert acc[1][0] == acc[2][0] == 1.0
    # beta = 1: the heads are far from hard (score gap 1 against ~S competitors)
    model, params = constructive_params(SMALL, 3, beta=1.0)
    acc = _acc_by_depth(model, params, _subset(shallow, slice(None, None, 4)))
    assert max(acc[1][0], acc[2][0]) <= CHANCE_BOUND


def test_default_size_task_depth_4_at_5_layers() -> None:
    task = RetrievalTask(n_chains=4, depth=4, n_values=16, n_vars=64)  # regime "none": k = 4
    model, params = constructive_params(task, 5)
    batch = task.sample(np.random.default_rng(1), 128)
    assert np.all(batch.query_depth == 4)
    assert query_correct(model, params, batch).all()


@pytest.mark.parametrize("H", [1, 3])
def test_params_have_exactly_the_model_shapes_and_extra_heads_are_zero(H: int) -> None:
    L = 3
    model, params = constructive_params(SMALL, L, n_heads=H)
    assert (model.n_layers, model.n_heads) == (L, H)
    assert (model.vocab_size, model.seq_len, model.n_values) == (
        SMALL.vocab_size, SMALL.seq_len, SMALL.n_values)
    shapes = model.shapes()
    assert list(params) == list(shapes)
    assert {k: v.shape for k, v in params.items()} == shapes
    assert all(np.all(np.isfinite(v)) for v in params.values())
    T, S = SMALL.vocab_size, SMALL.seq_len
    assert model.d_model >= T * (L + 1) + S + 1
    assert model.d_head >= max(S, T + 1)
    for layer in range(L):
        for n in ("W_Q", "W_K", "W_V", "W_O"):
            w = params[f"blocks.{layer}.attn.{n}"]
            assert np.any(w[0])
            assert not np.any(w[1:])


def test_extra_heads_and_padding_do_not_change_the_answer(small_batch: Batch) -> None:
    sub = _subset(small_batch, slice(None, None, 8))
    m1, p1 = constructive_params(SMALL, 3)
    m3, p3 = constructive_params(SMALL, 3, n_heads=2, d_model=2 * m1.d_model)
    l1 = m1.forward(p1, sub.tokens)[0][:, -1]
    l3 = m3.forward(p3, sub.tokens)[0][:, -1]
    np.testing.assert_allclose(l1, l3, atol=1e-12)


def test_hop_attention_is_hard_and_on_the_right_statement() -> None:
    task = SMALL
    model, params = constructive_params(task, 4)
    rng = np.random.default_rng(3)
    batch = RetrievalTask(3, 4, 8, 16, "ic_b", (0.0, 0.0, 1.0, 0.0)).sample(rng, 64)  # k = 3
    _, cache = model.forward(params, batch.tokens)
    S = task.seq_len
    A0 = cache["blocks.0.attn.pattern"][:, 0]  # (B, S, S)
    odd = np.arange(1, S, 2)
    assert np.all(A0[:, odd, odd - 1] > 1 - 1e-12)
    for b in range(batch.tokens.shape[0]):
        tok = batch.tokens[b]
        x = int(tok[-1])
        for layer in range(1, 4):
            row = cache[f"blocks.{layer}.attn.pattern"][b, 0, -1]  # (S,)
            j = int(row.argmax())
            assert row[j] > 1 - 1e-6
            if x >= task.n_values:  # a variable: its dst position
                assert j % 2 == 1 and int(tok[j]) == x and j < S - 1
                x = int(tok[j - 1])
            else:  # a value: the absorbing src position of that value
                assert j % 2 == 0 and int(tok[j]) == x
        assert x == batch.answer[b]


def test_broken_constructions_fail(small_batch: Batch) -> None:
    shallow = _subset(small_batch, (small_batch.query_depth <= 2) & _every(small_batch, 4))
    model, params = constructive_params(SMALL, 3)
    broken = dict(params)
    broken["blocks.0.attn.W_O"] = np.zeros_like(params["blocks.0.attn.W_O"])
    acc = _acc_by_depth(model, broken, shallow)
    # no SRC: every pointer is zero, all value logits tie and argmax says 0 (right w.p. ~1/V)
    assert max(a for a, _ in acc.values()) <= CHANCE_BOUND
    # no absorber (even positions no longer copy their own token into SRC): a pointer that
    # reached its value at hop k < L-1 then copies a prefix average instead of the value
    L = 4
    model, params = constructive_params(SMALL, L)
    broken = dict(params)
    w = params["blocks.0.attn.W_Q"].copy()
    even = np.arange(0, SMALL.seq_len, 2)
    w[0, residual_layout(SMALL, L)["POS"] + even, :] = 0.0
    broken["blocks.0.attn.W_Q"] = w
    depth1 = _subset(small_batch, (small_batch.query_depth == 1) & _every(small_batch, 2))
    assert _acc_by_depth(model, broken, depth1)[1][0] <= CHANCE_BOUND


def test_query_accuracy_by_depth_uses_ic_b_and_the_query_position_only() -> None:
    model, params = constructive_params(SMALL, 3)
    a = query_accuracy_by_depth(model, params, SMALL, np.random.default_rng(5), n=400)
    assert set(a) == {1, 2, 3, 4}
    assert a[1] == a[2] == 1.0 and a[3] <= CHANCE_BOUND and a[4] <= CHANCE_BOUND
    # the regime of the given task is irrelevant (only its sizes are used)
    ic_a = RetrievalTask(3, 4, 8, 16, regime="ic_a")
    b = query_accuracy_by_depth(model, params, ic_a, np.random.default_rng(5), n=400)
    assert a == b
    # the same numbers by hand from the same draw
    batch = RetrievalTask(3, 4, 8, 16, "ic_b").sample(np.random.default_rng(5), 400)
    logits, _ = model.forward(params, batch.tokens)
    ok = logits[:, -1].argmax(-1) == batch.answer
    assert a == {k: float(ok[batch.query_depth == k].mean()) for k in range(1, 5)}


def test_constructive_depth_never_beats_the_lower_bound() -> None:
    for L in range(1, 12):
        assert constructive_depth(L) == L - 1
    for D in range(1, 500):
        layers_needed = D + 1  # smallest L with constructive_depth(L) >= D
        assert constructive_depth(layers_needed) >= D > constructive_depth(layers_needed - 1)
        assert layers_needed >= min_layers(D)
    for L in range(2, 12):
        assert min_layers(constructive_depth(L)) <= L


def test_beta_helpers() -> None:
    S = SMALL.seq_len
    assert (S - 1) * np.exp(-min_beta(S) / 2) == pytest.approx(1 / 12)
    assert (S - 1) * np.exp(-default_beta(S) / 2) == pytest.approx(1e-8)
    assert default_beta(S) > min_beta(S)
    with pytest.raises(ValueError, match="delta"):
        default_beta(S, delta=0.5)
    with pytest.raises(ValueError, match="seq_len"):
        min_beta(1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_layers": 0}, "n_layers"),
        ({"n_layers": 2.0}, "n_layers"),
        ({"n_layers": True}, "n_layers"),
        ({"n_layers": "3"}, "n_layers"),
        ({"n_layers": 2, "n_heads": 0}, "n_heads"),
        ({"n_layers": 2, "beta": 0.0}, "beta"),
        ({"n_layers": 2, "beta": float("inf")}, "beta"),
        ({"n_layers": 2, "beta": float("nan")}, "beta"),
        ({"n_layers": 2, "d_model": 10}, "d_model"),
        ({"n_layers": 2, "n_heads": 2, "d_model": 2 * 102 + 1}, "d_model"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        constructive_params(SMALL, **kwargs)


def test_bad_task_and_other_inputs_raise() -> None:
    with pytest.raises(ValueError, match="RetrievalTask"):
        constructive_params("task", 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_layers"):
        constructive_depth(0)
    model, params = constructive_params(SMALL, 2)
    with pytest.raises(ValueError, match="RetrievalTask"):
        rng = np.random.default_rng(0)
        query_accuracy_by_depth(model, params, None, rng)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must"):
        query_accuracy_by_depth(model, params, SMALL, np.random.default_rng(0), n=0)
    with pytest.raises(ValueError, match="Batch"):
        tokens = SMALL.sample(np.random.default_rng(0), 2).tokens
        query_correct(model, params, tokens)  # type: ignore[arg-type]
