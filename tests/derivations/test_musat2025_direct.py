"""musat2025 direct model: hand-written gradients, causality, attention patterns and training
on an easy retrieval task (spec 2.2, 3.3)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from derivations.musat2025.data import RetrievalTask
from derivations.musat2025.direct import AttentionOnlyTransformer, TaskData, evaluation_batch
from dynamics.direct import DirectModel, assert_grad_ok, train

TINY = RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_a")
EASY = RetrievalTask(n_chains=2, depth=1, n_values=4, n_vars=8, regime="none")


@pytest.fixture(scope="module")
def tiny():
    model = AttentionOnlyTransformer.for_task(
        TINY, n_layers=2, n_heads=2, d_model=8, init_scale=0.5
    )
    params = model.init(np.random.default_rng(0))
    batch = TINY.sample(np.random.default_rng(1), 3)
    return model, params, batch


def test_model_satisfies_direct_model_protocol(tiny):
    model, params, _ = tiny
    assert isinstance(model, DirectModel)
    assert list(model.reduce(params)) == [
        "W_E.norm",
        "W_pos.norm",
        "blocks.0.attn.qk_norm",
        "blocks.0.attn.ov_norm",
        "blocks.1.attn.qk_norm",
        "blocks.1.attn.ov_norm",
        "W_U.norm",
    ]


def test_loss_and_grad_matches_finite_differences(tiny):
    model, params, batch = tiny
    res = assert_grad_ok(lambda p: model.loss_and_grad(p, batch), params)
    assert set(res.n_checked) == set(params)


def test_gradcheck_rejects_a_perturbed_gradient(tiny):
    model, params, batch = tiny
    _, grads = model.loss_and_grad(params, batch)
    bad = dict(grads)
    key = "blocks.0.attn.W_K"
    bad[key] = grads[key] * 1.01 + 1e-4
    with pytest.raises(AssertionError, match=key.replace(".", r"\.")):
        assert_grad_ok(lambda p: model.loss_and_grad(p, batch)[0], params, grads=bad)


def test_causal_mask_later_tokens_do_not_change_earlier_logits(tiny):
    model, params, batch = tiny
    tokens = batch.tokens.copy()  # (B, S)
    logits, _ = model.forward(params, tokens)  # (B, S, V)
    j = tokens.shape[1] // 2
    changed = tokens.copy()  # (B, S)
    changed[:, j:] = (changed[:, j:] + 1) % TINY.vocab_size
    logits2, _ = model.forward(params, changed)  # (B, S, V)
    np.testing.assert_allclose(logits2[:, :j], logits[:, :j], rtol=0, atol=1e-12)
    assert not np.allclose(logits2[:, j:], logits[:, j:])


def test_attention_pattern_rows_sum_to_one_and_vanish_above_diagonal(tiny):
    model, params, batch = tiny
    _, cache = model.forward(params, batch.tokens)
    B, S = batch.tokens.shape
    for layer in range(model.n_layers):
        A = cache[f"blocks.{layer}.attn.pattern"]  # (B, H, S, S)
        assert A.shape == (B, model.n_heads, S, S)
        np.testing.assert_allclose(A.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
        assert np.all(A[..., np.triu_indices(S, k=1)[0], np.triu_indices(S, k=1)[1]] == 0.0)
        assert np.all(A >= 0.0)
    assert cache[f"resid.{model.n_layers}"].shape == (B, S, model.d_model)


def test_accuracy_by_hops_covers_every_supervised_hop(tiny):
    model, params, batch = tiny
    acc = model.accuracy(params, batch, by_hops=True)
    assert isinstance(acc, dict)
    assert set(acc) == set(np.unique(batch.hops[batch.targets >= 0]).tolist())


def test_adam_online_training_solves_the_one_hop_task():
    # init_scale 0.1: from the default 0.02, 2000 steps at lr 1e-2 stayed at chance (measured).
    model = AttentionOnlyTransformer.for_task(EASY, n_layers=2, init_scale=0.1)
    data = TaskData(EASY, n_eval=256)
    t0 = time.perf_counter()
    traj, params = train(
        model,
        None,
        data,
        lr=1e-2,
        steps=800,
        optimizer="adam",
        batch_size=64,
        rng=np.random.default_rng(0),
        record=100,
    )
    wall = time.perf_counter() - t0
    ev = evaluation_batch(EASY, 2000, np.random.default_rng(99))
    acc = model.accuracy(params, ev)
    print(
        f"one-hop task: accuracy {acc:.4f}, final loss {traj.observables['loss'][-1]:.2e}, "
        f"wall {wall:.1f}s"
    )
    assert isinstance(acc, float) and acc > 0.9
    assert traj.observables["loss"][-1] < 0.1 * traj.observables["loss"][0]


def test_float32_parameters_compute_in_float32_and_agree_with_float64(tiny):
    """The passes follow the parameters' precision. Tolerance 1e-4 relative to each gradient's
    largest entry: float32 rounds at 6e-8 per operation and a gradient entry sums ~10^3 products
    (3 examples x 10 positions x 8-wide contractions x 2 layers), so ~1e-5 is expected; a wrong
    backward pass is off by O(1)."""
    model, params, batch = tiny
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    l64, g64 = model.loss_and_grad(params, batch)
    l32, g32 = model.loss_and_grad(p32, batch)
    assert all(g.dtype == np.float32 for g in g32.values())
    assert model.forward(p32, batch.tokens)[0].dtype == np.float32
    assert abs(l32 - l64) <= 1e-4 * abs(l64)
    for k in g64:
        assert np.max(np.abs(g32[k] - g64[k])) <= 1e-4 * np.max(np.abs(g64[k])), k
    # negative control: a float32 gradient of other parameters is not within the tolerance
    other = {k: (v * 1.1).astype(np.float32) for k, v in params.items()}
    g_other = model.loss_and_grad(other, batch)[1]
    assert any(np.max(np.abs(g_other[k] - g64[k])) > 1e-4 * np.max(np.abs(g64[k])) for k in g64)


def test_float32_model_inits_and_trains_in_float32():
    model = AttentionOnlyTransformer.for_task(EASY, n_layers=1, n_heads=1, d_model=8, dtype="float32")
    params = model.init(np.random.default_rng(0))
    assert {v.dtype for v in params.values()} == {np.dtype(np.float32)}
    from dynamics.direct import Snapshots

    snaps = Snapshots()
    train(model, params, None, lr=1e-2, steps=3, optimizer="adam", sampler=lambda rng, k: EASY.sample(rng, 8),
          rng=np.random.default_rng(1), record=[0, 3], callbacks=[snaps])
    assert {v.dtype for _, p in snaps for v in p.values()} == {np.dtype(np.float32)}
    with pytest.raises(ValueError, match="dtype must be"):
        AttentionOnlyTransformer.for_task(EASY, dtype="float16")
