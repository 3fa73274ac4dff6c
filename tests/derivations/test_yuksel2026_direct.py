"""yuksel2026 minimal transformer (spec 2.1): forward against the formula, hand-written gradients,
symmetric heads at query init 0, AdamW and clipping as in PyTorch, span masses, training."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.yuksel2026.data import Teacher
from derivations.yuksel2026.direct import MinimalTransformer, attention_maps, span_mass
from derivations.yuksel2026.transformer import TrainRecord, evaluate, train
from dynamics.direct import DirectModel, Snapshots, assert_grad_ok, clip_by_global_norm
from dynamics.direct import train as direct_train

SMALL = Teacher(d=5, spans=(1, 2), m=1.5, tau=0.7, seed=3)  # C = 3


@pytest.fixture(scope="module")
def small():
    model = MinimalTransformer.for_teacher(SMALL, length=4, n_heads=2)  # n_pos = 6, D = 11
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(s) for k, s in model.shapes().items()}
    tokens = SMALL.sample(np.random.default_rng(1), 4, length=4)  # (4, 7)
    return model, params, tokens


def naive_logits(model: MinimalTransformer, params, seq: np.ndarray) -> np.ndarray:
    """Spec 2.1 written out with explicit z_u = [e_{x_u}; e_u], for t = C-1..S-1."""
    d, D, S = model.d, model.D, len(seq)
    Z = np.zeros((S, D))
    Z[np.arange(S), seq] = 1.0
    Z[np.arange(S), d + np.arange(S)] = 1.0
    out = []
    for t in range(model.context - 1, S):
        y = np.zeros(d)
        for k in range(model.n_heads):
            a = np.array([(params["W_Q"][k] @ Z[t]) @ Z[u] for u in range(t + 1)]) / math.sqrt(D)
            A = np.exp(a - a.max())
            A /= A.sum()
            y += sum(A[u] * (params["W_V"][k] @ Z[u]) for u in range(t + 1))  # Pi_d W_V z_u
        out.append(y)
    return np.array(out)


# --------------------------------------------------------------------------- forward
def test_model_shapes_and_protocol():
    model = MinimalTransformer.for_teacher(Teacher(), length=20)
    assert (model.n_pos, model.D, model.context, model.n_heads) == (25, 75, 6, 3)
    assert model.shapes() == {"W_Q": (3, 75, 75), "W_V": (3, 50, 75)}
    assert isinstance(model, DirectModel)


def test_forward_matches_the_spec_formula(small):
    model, params, tokens = small
    logits, cache = model.forward(params, tokens[:, :-1])
    assert logits.shape == (4, 4, 5) and cache["attn.pattern"].shape == (4, 4, 2, 6)
    for b in range(4):
        want = naive_logits(model, params, tokens[b, :-1])
        np.testing.assert_allclose(logits[b], want, atol=1e-12)


def test_causal_later_tokens_do_not_change_earlier_logits(small):
    model, params, tokens = small
    x = tokens[:, :-1].copy()
    logits, _ = model.forward(params, x)
    x[:, -1] = (x[:, -1] + 1) % model.d
    logits2, _ = model.forward(params, x)
    np.testing.assert_allclose(logits2[:, :-1], logits[:, :-1], rtol=0, atol=1e-14)
    assert not np.allclose(logits2[:, -1], logits[:, -1])


def test_attention_maps_are_causal_distributions_matching_forward(small):
    model, params, tokens = small
    maps = attention_maps(model, params, tokens[:, :-1])  # (B, H, S, S)
    assert maps.shape == (4, 2, 6, 6)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-12)
    assert np.all(maps[..., np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0.0)
    _, cache = model.forward(params, tokens[:, :-1])
    q0 = model.context - 1
    pattern = cache["attn.pattern"].transpose(0, 2, 1, 3)  # (B, H, T, S)
    np.testing.assert_allclose(maps[:, :, q0:], pattern, atol=1e-14)


def test_window_restricts_attention_to_the_last_tokens(small):
    """window = w: each query sees keys t-w < u <= t only (the learned restricted models of
    Fig. 5); gradients stay exact; window = 0 is the whole causal context."""
    from dataclasses import replace

    model, params, tokens = small
    win = replace(model, window=2)
    maps = attention_maps(win, params, tokens[:, :-1])  # (B, H, S, S)
    t, u = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    assert np.all(maps[..., (u <= t - 2) | (u > t)] == 0.0) and np.allclose(maps.sum(-1), 1.0)
    assert np.all(maps[..., (u > t - 2) & (u <= t) & (t >= 1)] > 0.0)
    assert not np.allclose(maps, attention_maps(model, params, tokens[:, :-1]))  # the control
    assert_grad_ok(lambda p: win.loss_and_grad(p, tokens), params)
    with pytest.raises(ValueError, match="window must be an integer >= 0"):
        replace(model, window=-1)


# -------------------------------------------------------------------------- gradient
def test_loss_and_grad_matches_finite_differences(small):
    model, params, tokens = small
    res = assert_grad_ok(lambda p: model.loss_and_grad(p, tokens), params)
    assert set(res.n_checked) == {"W_Q", "W_V"}
    # shorter sequences (S = 4 < n_pos): unused position rows/columns get zero gradient
    short = tokens[:, :5]
    assert_grad_ok(lambda p: model.loss_and_grad(p, short), params)
    assert np.all(model.loss_and_grad(params, short)[1]["W_Q"][:, model.d + 4 :] == 0.0)


def test_gradcheck_rejects_a_perturbed_gradient(small):
    model, params, tokens = small
    _, grads = model.loss_and_grad(params, tokens)
    bad = {"W_Q": grads["W_Q"], "W_V": grads["W_V"] * 1.01 + 1e-4}
    with pytest.raises(AssertionError, match="W_V"):
        assert_grad_ok(lambda p: model.loss_and_grad(p, tokens)[0], params, grads=bad)


def test_loss_is_the_mean_cross_entropy_of_the_last_positions(small):
    model, params, tokens = small
    loss, _ = model.loss_and_grad(params, tokens)
    lp = model.log_probs(params, tokens)  # (B, N - C, d)
    want = -np.mean(np.take_along_axis(lp, tokens[:, model.context :, None], -1))
    assert abs(loss - want) < 1e-12
    assert lp.shape == (4, tokens.shape[1] - model.context, model.d)


def test_blocks_and_threads_give_the_same_gradient(small, monkeypatch):
    import derivations.yuksel2026.direct as direct

    model, params, _ = small
    tokens = SMALL.sample(np.random.default_rng(2), 9, length=4)
    loss, g = model.loss_and_grad(params, tokens)
    monkeypatch.setattr(direct, "_CHUNK", 2)
    for threads in (1, 3):
        loss2, g2 = model.loss_and_grad(params, tokens, threads=threads)
        assert abs(loss - loss2) < 1e-13
        for k in g:
            np.testing.assert_allclose(g2[k], g[k], atol=1e-14)
    assert not np.array_equal(g2["W_Q"], 0.0)


# ------------------------------------------------------------------------ symmetry
def test_zero_query_init_gives_identical_heads_that_stay_identical():
    """Spec 5.2.4: with W_Q = W_V = 0 the heads are exchangeable and AdamW keeps them equal."""
    model = MinimalTransformer.for_teacher(SMALL, length=4, n_heads=3, query_init=0.0)
    _, p = train(model, SMALL, 8, rng=np.random.default_rng(0), batch=64, record_every=8, n_eval=16)
    assert np.abs(p["W_Q"]).max() > 1e-3 and np.abs(p["W_V"]).max() > 1e-3  # it did move
    for k in (1, 2):
        np.testing.assert_array_equal(p["W_Q"][k], p["W_Q"][0])
        np.testing.assert_array_equal(p["W_V"][k], p["W_V"][0])
    # negative control: a tiny random query init breaks the symmetry
    model2 = MinimalTransformer.for_teacher(SMALL, length=4, n_heads=3, query_init=1e-9)
    _, p2 = train(
        model2, SMALL, 8, rng=np.random.default_rng(0), batch=64, record_every=8, n_eval=16
    )
    assert not np.array_equal(p2["W_Q"][1], p2["W_Q"][0])


def test_init_scales():
    model = MinimalTransformer(d=4, n_pos=5, context=2, query_init=0.3, value_init=0.0)
    p = model.init(np.random.default_rng(0))
    assert 0.25 < np.abs(p["W_Q"]).max() <= 0.3 and np.all(p["W_V"] == 0.0)


# ----------------------------------------------------------------------- optimiser
def test_clipping_bounds_the_global_norm():
    rng = np.random.default_rng(0)
    g = {"a": rng.standard_normal((3, 4)) * 5, "b": rng.standard_normal(7) * 5}
    clipped, norm = clip_by_global_norm(g, 1.0)
    total = math.sqrt(sum(float(np.sum(v**2)) for v in clipped.values()))
    assert norm > 1.0 and total <= 1.0
    np.testing.assert_allclose(total, norm / (norm + 1e-6), rtol=1e-12)  # PyTorch's coefficient
    np.testing.assert_allclose(clipped["a"] / g["a"], total / norm, rtol=1e-12)  # same direction
    small_g = {"a": np.full(4, 0.1)}
    np.testing.assert_array_equal(clip_by_global_norm(small_g, 1.0)[0]["a"], small_g["a"])


class _Given:
    """A model whose gradient is whatever the sampler hands it: the optimiser's update alone."""

    groups: dict[str, str] = {}

    def init(self, rng):  # type: ignore[no-untyped-def]
        raise AssertionError("params are given")

    def loss_and_grad(self, p, g):  # type: ignore[no-untyped-def]
        return 0.0, {"w": g}

    def reduce(self, p):  # type: ignore[no-untyped-def]
        return {"w0": float(p["w"][0])}


def test_adamw_single_and_second_step_by_hand():
    """The update ``train`` uses (dynamics.direct's ``"adamw"``, PyTorch's arithmetic) against
    the formulas, for the two steps where bias correction and decay are easiest to get wrong."""
    lr, wd, (b1, b2), eps = 0.1, 0.5, (0.9, 0.999), 1e-8
    theta0 = np.array([1.0, -2.0, 0.5])
    g1 = np.array([0.3, 0.0, -1e-3])
    g2 = np.array([-0.1, 0.2, 0.4])
    snaps = Snapshots()
    direct_train(_Given(), {"w": theta0.copy()}, None, lr=lr, steps=2, optimizer="adamw", weight_decay=wd,
                 betas=(b1, b2), eps=eps, sampler=lambda rng, k: [g1, g2, g2][k], rng=np.random.default_rng(0),
                 record="all", callbacks=[snaps])
    p1, p2 = snaps.params[1]["w"], snaps.params[2]["w"]
    # first step: m_hat = g, v_hat = g^2; decay multiplies theta by (1 - lr wd), never enters m, v
    want1 = theta0 * (1 - lr * wd) - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(p1, want1, rtol=1e-14)
    assert p1[1] == theta0[1] * (1 - lr * wd)  # zero gradient: pure decoupled decay
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    want2 = want1 * (1 - lr * wd) - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(p2, want2, rtol=1e-13)


# ----------------------------------------------------------------------- span mass
def test_span_mass_of_uniform_attention_is_lagwise_uniform():
    t = Teacher(d=4, spans=(1, 2, 2), seed=0)  # C = 5, lags (4), (2, 3), (0, 1)
    model = MinimalTransformer.for_teacher(t, length=6, n_heads=2, query_init=0.0)
    p = model.init(np.random.default_rng(0))  # W_Q = 0: uniform causal attention
    tok = t.sample(np.random.default_rng(0), 3, length=6)
    _, cache = model.forward(p, tok[:, :-1])
    mass = span_mass(cache["attn.pattern"], t)  # (H, K)
    per_lag = np.mean(1.0 / (np.arange(t.C - 1, model.n_pos) + 1))  # 1/(t+1) averaged over t
    np.testing.assert_allclose(mass, np.tile([1, 2, 2], (2, 1)) * per_lag, rtol=1e-12)
    assert np.all(mass.sum(axis=1) <= 1.0)


def test_span_mass_of_a_lag_pattern():
    t = Teacher(d=3, spans=(2, 2, 2), seed=0)
    B, T, H, S = 2, 4, 3, 9  # queries t = 5..8
    A = np.zeros((B, T, H, S))
    for i in range(T):
        A[:, i, 0, 5 + i - 3] = 1.0  # head 0: lag 3 (middle span)
        A[:, i, 1, 5 + i] = 0.5  # head 1: lags 0 and 1 (newest span)
        A[:, i, 1, 5 + i - 1] = 0.5
        A[:, i, 2, 0] = 1.0  # head 2: position 0, lag 5..8: oldest span only at t = 5
    mass = span_mass(A, t)
    np.testing.assert_allclose(mass, [[0, 1, 0], [0, 0, 1], [0.25, 0, 0]], atol=1e-15)
    with pytest.raises(ValueError, match="q0 must be an integer >= C-1=5"):
        span_mass(A, t, q0=4)


# ------------------------------------------------------------------------ training
def test_short_training_decreases_the_loss_and_records_everything():
    t = Teacher(d=8, spans=(1, 1), m=2.0, tau=0.5, seed=3)
    model = MinimalTransformer.for_teacher(t, length=6, n_heads=2, query_init=1e-3)
    data = t.dataset(np.random.default_rng(1), 400, length=6)
    rows: list[int] = []
    rec, params = train(
        model, data, 60, rng=np.random.default_rng(0), batch=200, lr=0.05, record_every=20,
        n_eval=300, callback=lambda step, row: rows.append(step),
    )
    assert isinstance(rec, TrainRecord)
    np.testing.assert_array_equal(rec.steps, [0, 20, 40, 60])
    assert rows == [0, 20, 40, 60]
    assert abs(rec.val_loss[0] - math.log(8)) < 1e-12  # W_V = 0: uniform prediction
    assert rec.val_loss[-1] < rec.val_loss[0] - 0.4
    np.testing.assert_allclose(rec.val_excess, rec.val_loss - rec.teacher_val_ce, atol=1e-12)
    assert rec.kl.shape == (4, 2) and rec.kl[-1, 1] < rec.kl[0, 1]
    assert rec.span_mass.shape == rec.value_alignment.shape == (4, 2, 2)
    assert np.all(rec.span_mass.sum(-1) <= 1 + 1e-12)
    arrays = rec.arrays("run.")
    assert arrays["run.val_loss"].shape == (4,) and "run.teacher_val_ce" in arrays
    assert rec.meta["n_train"] == 400 and not rec.meta["online"]
    ev = evaluate(model, params, t, data.tokens[:50])
    assert ev["kl"].shape == (2,) and ev["span_mass"].shape == (2, 2)


def test_full_batch_training_is_deterministic_and_ignores_the_batch_order():
    t = SMALL
    model = MinimalTransformer.for_teacher(t, length=4, n_heads=2)
    data = t.dataset(np.random.default_rng(1), 20, length=4)
    kw = {"batch": 50, "record_every": 5, "eval_set": data}
    r1, p1 = train(model, data, 5, rng=np.random.default_rng(0), **kw)
    r2, p2 = train(model, data, 5, rng=np.random.default_rng(0), **kw)
    np.testing.assert_array_equal(p1["W_Q"], p2["W_Q"])
    # full batch: the recorded train loss is the loss on the whole training set (= eval set here)
    np.testing.assert_allclose(r1.train_loss, r1.val_loss, atol=1e-12)


def test_online_training_draws_init_validation_then_fresh_batches_from_rng():
    """The prefetching helper thread must not change the order of the draws."""
    t = SMALL
    model = MinimalTransformer.for_teacher(t, length=4, n_heads=2, query_init=0.1)
    rec, _ = train(model, t, 3, rng=np.random.default_rng(7), batch=40, record_every=1, n_eval=30)
    rng = np.random.default_rng(7)
    p0 = model.init(rng)
    val = t.sample(rng, 30, length=4)
    first = t.sample(rng, 40, length=4)
    assert rec.train_loss[0] == model.loss_and_grad(p0, first)[0]
    assert abs(rec.val_loss[0] - evaluate(model, p0, t, val)["loss"]) < 1e-15
    assert rec.meta["online"] and len(set(rec.train_loss.tolist())) == 4  # fresh batches
    rec2, _ = train(model, t, 3, rng=np.random.default_rng(7), batch=40, record_every=1, n_eval=30)
    np.testing.assert_array_equal(rec2.train_loss, rec.train_loss)


# ----------------------------------------------------------------------- bad inputs
def test_bad_model_settings_raise():
    with pytest.raises(ValueError, match="n_heads must be an integer >= 1"):
        MinimalTransformer(n_heads=0)
    with pytest.raises(ValueError, match="context C=30 exceeds n_pos=25"):
        MinimalTransformer(context=30)
    with pytest.raises(ValueError, match="query_init must be a finite number >= 0"):
        MinimalTransformer(query_init=-1e-9)


def test_bad_params_and_tokens_raise(small):
    model, params, tokens = small
    with pytest.raises(ValueError, match=r"param 'W_V' must have shape \(2, 5, 11\)"):
        model.loss_and_grad({"W_Q": params["W_Q"], "W_V": params["W_V"][:, :4]}, tokens)
    with pytest.raises(ValueError, match="params must have exactly the keys"):
        model.loss_and_grad({"W_Q": params["W_Q"]}, tokens)
    with pytest.raises(ValueError, match=r"token values must lie in \[0, d=5\)"):
        model.loss_and_grad(params, tokens + 5)
    with pytest.raises(ValueError, match="sequences must have between 4 and 7 positions"):
        model.loss_and_grad(params, np.zeros((2, 8), dtype=int))


def test_bad_training_arguments_raise(small):
    model, _, _ = small
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="does not match the teacher"):
        train(model, Teacher(d=6, spans=(1, 2)), 1, rng=rng)
    with pytest.raises(ValueError, match="batch must be an integer >= 1"):
        train(model, SMALL, 1, rng=rng, batch=0)
    with pytest.raises(ValueError, match="data must be a Teacher"):
        train(model, np.zeros((3, 7), dtype=int), 1, rng=rng)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        train(model, SMALL, 1, rng=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eval_set sequences have 5 tokens"):
        train(model, SMALL, 1, rng=rng, eval_set=np.zeros((3, 5), dtype=int))
    with pytest.raises(ValueError, match="lr must be a positive"):
        train(model, SMALL, 1, rng=rng, lr=0.0)
