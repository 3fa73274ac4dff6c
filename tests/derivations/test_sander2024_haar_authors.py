"""sander2024 Figs. 5 and 7: the authors' Transformers in numpy (gradients, faithfulness to
their PyTorch operations), the baselines in their MSE normalisation, the order claims."""

from __future__ import annotations

import numpy as np
import pytest

from derivations.sander2024 import claims_authors as ca
from derivations.sander2024.authors_models import AugmentedTransformer, NonAugmentedTransformer
from derivations.sander2024.data import mc_data
from derivations.sander2024.haar_authors import HaarProtocol, gd_baselines, haar_sets, run_job
from dynamics.direct import assert_grad_ok

DATA = mc_data("haar", 3, 5, 7, "fixed", np.random.default_rng(0))


def _ln(o, g, b):
    mu = o.mean(-1, keepdims=True)
    return (o - mu) / np.sqrt(((o - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * g + b


@pytest.mark.parametrize("model", [AugmentedTransformer(3, 1, chunk=3), AugmentedTransformer(3, 2, chunk=4),
                                   NonAugmentedTransformer(3, 3, max_length=10, chunk=4)])
def test_gradients_match_finite_differences_across_chunks(model):
    p = model.init(np.random.default_rng(1))
    assert_grad_ok(lambda q: model.loss_and_grad(q, DATA), p, atol=1e-7, max_entries=5)
    _, g = model.loss_and_grad(p, DATA)
    wrong = dict(g)
    wrong["Wq" if "Wq" in g else "Wq0"] = 0.0 * g["Wq" if "Wq" in g else "Wq0"]  # the query gradient dropped
    with pytest.raises(AssertionError, match="gradient check failed"):
        assert_grad_ok(lambda q: model.loss_and_grad(q, DATA)[0], p, grads=wrong, atol=1e-7, max_entries=5)


def test_augmented_model_is_the_authors_forward_written_plainly():
    """Per position, as augmented.py: out = x + LN(fc_out(sum_t' (q_t . k_t') / sqrt(E) v_t')), final Linear."""
    m = AugmentedTransformer(3, 2)
    p = m.init(np.random.default_rng(2))
    S = DATA.S
    N, n1, d = S.shape
    n, E = n1 - 1, 3 * d
    X = np.concatenate([np.zeros((N, n, d)), S[:, :n], np.concatenate([np.zeros((N, 1, d)), S[:, : n - 1]], 1)], 2)
    for l in range(2):
        q, k, v = (X @ p[f"W{c}{l}"].T + p[f"b{c}{l}"] for c in "qkv")
        out = np.zeros_like(X)
        for t in range(n):
            for s in range(t + 1):
                out[:, t] += np.sum(q[:, t] * k[:, s], axis=1)[:, None] / np.sqrt(E) * v[:, s]
        X = X + _ln(out @ p[f"Wo{l}"].T + p[f"bo{l}"], p[f"g{l}"], p[f"b{l}"])
    assert np.allclose(m.predict(p, S), X @ p["Wf"].T + p["bf"], atol=1e-12)


def test_nonaugmented_model_is_the_authors_forward_written_plainly():
    """As non_augmented.py: tokens (s, s); per head a linear token score times a softmax positional
    score from the same projections; no residual; fc_out, LN, Linear(E, d)."""
    H, d = 2, 3
    m = NonAugmentedTransformer(d, H, max_length=8)
    p = m.init(np.random.default_rng(3))
    S = DATA.S
    N, n = S.shape[0], S.shape[1] - 1
    E = 2 * d
    X = np.concatenate([S[:, :n], S[:, :n]], axis=2)  # (N, n, E)
    q, k, v = ((X @ p[f"W{c}"].T + p[f"b{c}"]).reshape(N, n, H, E) for c in "qkv")
    Pi = p["pos"][:n]
    qp, kp = ((Pi @ p[f"W{c}"].T + p[f"b{c}"]).reshape(n, H, E) for c in "qk")
    out = np.zeros((N, n, E))
    for h in range(H):
        for t in range(n):
            e = np.array([qp[t, h] @ kp[s, h] for s in range(t + 1)]) / np.sqrt(E)
            w = np.exp(e - e.max())
            w /= w.sum()
            for s in range(t + 1):
                out[:, t] += (np.sum(q[:, t, h] * k[:, s, h], axis=1) / np.sqrt(E) * w[s])[:, None] * v[:, s, h]
    y = _ln(out @ p["Wo"].T + p["bo"], p["g"], p["b"])
    assert np.allclose(m.predict(p, S), y @ p["Wf"].T + p["bf"], atol=1e-12)


def test_baselines_are_in_the_authors_normalisation():
    proto = HaarProtocol(d=3, n=6, n_train=64, n_test=32, batch=16, steps=1)
    tr, te = haar_sets(proto)
    b = gd_baselines(tr, te)
    assert b["zero"].shape == (32,)
    c = ca.claim_haar_mse_normalisation(float(np.mean(b["zero"])), 3, 6)
    assert c.passed and c.controls_refuted
    assert not ca.claim_haar_mse_normalisation(float(np.sum(b["zero"][:1])) * 6, 3, 6).passed  # summed
    b_in = gd_baselines(tr, tr)  # fitted and evaluated on one set: each step minimises its own loss
    assert np.mean(b_in["gd_per_position"]) <= np.mean(b_in["gd_shared"]) + 1e-12 < np.mean(b_in["zero"])


def test_resolved_order_and_the_order_claim_with_controls():
    rng = np.random.default_rng(4)
    base = rng.random(1024)
    per = {"a": base, "b": base + 0.05, "c": base + 0.05 + 1e-5 * rng.standard_normal(1024)}
    order = ca.resolved_order(per)
    assert order[0] == "a" and sorted(order[1].split(" ~ ")) == ["b", "c"]
    good = ca.claim_haar_order("aug-layers", ["a", "b ~ c"] if order[1] == "b ~ c" else ["a", "c ~ b"], order,
                               {"reversed": ["b ~ c", "a"]})
    assert good.passed and good.controls_refuted
    assert not ca.claim_haar_order("aug-layers", ["a", "b", "c"], order, {"x": ["a"]}).passed  # unresolved: fails
    held = ca.claim_haar_order("nonaug-heads", order, order, {"same as measured": order})
    assert not held.passed  # a control that holds makes the claim not hold


def test_run_job_is_small_and_refuses_bad_input():
    proto = HaarProtocol(d=2, n=4, n_train=32, n_test=16, batch=8, steps=5)
    r = run_job(("nonaug", 2, proto.__dict__))
    assert r["test_per_seq"].shape == (16,) and np.isfinite(r["test"])
    with pytest.raises(ValueError, match="arch"):
        run_job(("mlp", 1, proto.__dict__))
    with pytest.raises(ValueError, match="batch"):
        HaarProtocol(n_train=16, batch=32)
    with pytest.raises(ValueError, match="parameter"):
        AugmentedTransformer(3, 1).loss_and_grad({}, DATA)
    with pytest.raises(ValueError, match="d = 3"):
        AugmentedTransformer(2, 1).loss_and_grad(AugmentedTransformer(2, 1).init(np.random.default_rng(0)), DATA)
