"""Hand-written backward passes of dynamics.direct.layers against central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dynamics.direct import (
    Linear,
    SoftmaxAttention,
    assert_grad_ok,
    check_grad,
    cross_entropy,
    logistic_loss,
    mse,
)

Arrays = dict[str, np.ndarray]


def block_loss(
    forward: Callable[[Arrays], tuple[np.ndarray, dict[str, Any]]],
    backward: Callable[[np.ndarray, dict[str, Any]], Arrays],
    probe: np.ndarray,
) -> Callable[[Arrays], tuple[float, Arrays]]:
    """Scalar loss <probe, block(inputs)> and its gradient through the block's backward."""

    def f(p: Arrays) -> tuple[float, Arrays]:
        out, cache = forward(p)
        return float(np.sum(probe * out)), backward(probe, cache)

    return f


def check_block(forward, backward, inputs: Arrays, rng: np.random.Generator, atol: float = 1e-9):
    out, _ = forward(inputs)
    probe = rng.standard_normal(out.shape)
    return assert_grad_ok(block_loss(forward, backward, probe), inputs, atol=atol)


# ------------------------------------------------------------------------ Linear
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
def test_linear_backward_matches_finite_differences(bias: bool, lead: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    lin = Linear(bias=bias)
    p = {"x": rng.standard_normal(lead + (4,)), "W": rng.standard_normal((3, 4))}
    if bias:
        p["b"] = rng.standard_normal(3)
    res = check_block(lambda q: lin.forward(**q), lin.backward, p, rng)
    assert set(res.max_ratio) == set(p)


def test_linear_forward_is_affine_map() -> None:
    rng = np.random.default_rng(2)
    x, W, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    y, _ = Linear().forward(x, W, b)
    np.testing.assert_allclose(y, np.einsum("bti,oi->bto", x, W) + b, rtol=1e-14)


def test_linear_bias_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="needs a bias"):
        Linear(bias=True).forward(np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="got a bias"):
        Linear(bias=False).forward(np.ones((2, 3)), np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match="d_in"):
        Linear(bias=False).forward(np.ones((2, 3)), np.ones((4, 2)))


# --------------------------------------------------------------------- attention
B, T, D = 4, 5, 3

ATTENTION_CASES: dict[str, dict[str, Any]] = {
    "last-token": dict(query=-1, mask=None),
    "chosen-query": dict(query=2, mask=None),
    "per-sample-query+mask": dict(
        query=np.array([1, 4, 2, 0]),
        mask=np.array(
            [
                [True, True, False, False, False],
                [True, True, True, True, True],
                [True, False, True, False, False],
                [True, True, True, False, False],
            ]
        ),
    ),
}


@pytest.mark.parametrize("value", [False, True], ids=["identity-value", "value-matrix"])
@pytest.mark.parametrize("case", list(ATTENTION_CASES))
def test_attention_backward_matches_finite_differences(case: str, value: bool) -> None:
    rng = np.random.default_rng(3)
    att = SoftmaxAttention(lam=0.7, value=value)
    kw = ATTENTION_CASES[case]
    p = {"X": rng.standard_normal((B, T, D)), "W": rng.standard_normal((D, D))}
    if value:
        p["V"] = rng.standard_normal((2, D))
    # The probe loss is O(5), so the central-difference rounding floor u|f|/eps is ~1e-9:
    # atol sits 10x above it; rtol stays at 1e-6.
    res = check_block(lambda q: att.forward(**q, **kw), att.backward, p, rng, atol=1e-8)
    assert set(res.max_ratio) == set(p)


def test_attention_pattern_is_softmax_of_bilinear_scores() -> None:
    rng = np.random.default_rng(4)
    X, W = rng.standard_normal((B, T, D)), rng.standard_normal((D, D))
    lam = 1.5
    o, cache = SoftmaxAttention(lam=lam).forward(X, W, query=2)
    s = np.einsum("btd,de,be->bt", X, W, X[:, 2]) / lam
    phi = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(cache["pattern"], phi, rtol=1e-13)
    np.testing.assert_allclose(o, np.einsum("bt,btd->bd", phi, X), rtol=1e-13)
    # default query is the last token
    o_last, _ = SoftmaxAttention(lam=lam).forward(X, W)
    o_T, _ = SoftmaxAttention(lam=lam).forward(X, W, query=T - 1)
    np.testing.assert_array_equal(o_last, o_T)


def test_attention_mask_zeroes_pattern_and_matches_truncated_sequence() -> None:
    rng = np.random.default_rng(5)
    X, W = rng.standard_normal((1, T, D)), rng.standard_normal((D, D))
    mask = np.array([[True, True, True, False, False]])
    o, cache = SoftmaxAttention().forward(X, W, query=np.array([2]), mask=mask)
    assert np.all(cache["pattern"][~mask] == 0.0)
    np.testing.assert_allclose(cache["pattern"].sum(axis=1), 1.0, rtol=1e-15)
    o_short, _ = SoftmaxAttention().forward(X[:, :3], W, query=-1)
    np.testing.assert_allclose(o, o_short, rtol=1e-14)


def test_attention_bad_inputs_raise() -> None:
    X, W = np.ones((2, 3, 4)), np.eye(4)
    with pytest.raises(ValueError, match="lam"):
        SoftmaxAttention(lam=0.0)
    with pytest.raises(ValueError, match="needs a value matrix"):
        SoftmaxAttention(value=True).forward(X, W)
    with pytest.raises(ValueError, match="query positions"):
        SoftmaxAttention().forward(X, W, query=3)
    with pytest.raises(ValueError, match="at least one"):
        SoftmaxAttention().forward(X, W, mask=np.array([[True] * 3, [False] * 3]))
    with pytest.raises(ValueError, match="W must have shape"):
        SoftmaxAttention().forward(X, np.eye(3))


# ------------------------------------------------------------------------ losses
def loss_fn(loss, fixed: dict[str, Any], pred_key: str = "pred"):
    def f(p: Arrays) -> tuple[float, Arrays]:
        value, grad = loss(p[pred_key], **fixed)
        return value, {pred_key: grad}

    return f


@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_loss_gradient(weighted: bool) -> None:
    rng = np.random.default_rng(6)
    y = rng.choice([-1.0, 1.0], size=7)
    w = rng.uniform(0.1, 1.0, size=7) if weighted else None
    assert_grad_ok(loss_fn(logistic_loss, {"y": y, "weights": w}), {"pred": rng.standard_normal(7)})


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_gradient(weighted: bool) -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 4, size=6)
    w = rng.uniform(0.1, 1.0, size=6) if weighted else None
    f = loss_fn(cross_entropy, {"labels": labels, "weights": w})
    assert_grad_ok(f, {"pred": rng.standard_normal((6, 4))})


@pytest.mark.parametrize("weighted", [False, True])
def test_mse_gradient(weighted: bool) -> None:
    rng = np.random.default_rng(8)
    target = rng.standard_normal((5, 2, 3))
    w = rng.uniform(0.1, 1.0, size=5) if weighted else None
    assert_grad_ok(
        loss_fn(mse, {"target": target, "weights": w}), {"pred": rng.standard_normal((5, 2, 3))}
    )


def test_losses_match_definitions_and_are_stable_for_large_margins() -> None:
    f = np.array([800.0, -800.0, 0.0])
    y = np.array([1.0, 1.0, -1.0])
    loss, grad = logistic_loss(f, y, weights=np.ones(3))
    assert np.isclose(loss, 800.0 + np.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(grad, [0.0, -1.0, 0.5], atol=1e-300)

    z = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    ce, g = cross_entropy(z, np.array([0, 0]))
    assert np.isclose(ce, 0.5 * 1000.0, rtol=1e-15) and np.all(np.isfinite(g))

    pred, tgt = np.array([[1.0, 2.0], [0.0, 0.0]]), np.zeros((2, 2))
    m, _ = mse(pred, tgt)
    assert m == pytest.approx(0.5 * np.mean([5.0, 0.0]))


def test_loss_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match=r"-1 or \+1"):
        logistic_loss(np.zeros(2), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="labels"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="weights"):
        mse(np.zeros(3), np.zeros(3), weights=np.ones(2))


# ----------------------------------------------------------- gradcheck controls
def test_gradcheck_rejects_gradient_scaled_by_one_percent() -> None:
    rng = np.random.default_rng(9)
    lin = Linear()
    p = {
        "x": rng.standard_normal((4, 3)),
        "W": rng.standard_normal((2, 3)),
        "b": rng.standard_normal(2),
    }
    probe = rng.standard_normal((4, 2))
    f = block_loss(lambda q: lin.forward(**q), lin.backward, probe)
    _, good = f(p)
    bad = dict(good, W=1.01 * good["W"])
    res = check_grad(f, p, bad)
    assert not res.ok
    assert res.worst_param == "W"
    assert res.max_ratio["W"] > 1e3  # fails by orders of magnitude, not marginally
    assert res.max_ratio["x"] <= 1.0 and res.max_ratio["b"] <= 1.0
    with pytest.raises(AssertionError, match=r"worst entry W\["):
        assert_grad_ok(f, p, bad)


def test_gradcheck_rejects_transposed_attention_gradient() -> None:
    rng = np.random.default_rng(10)
    att = SoftmaxAttention()
    p = {"X": rng.standard_normal((B, T, D)), "W": rng.standard_normal((D, D))}
    probe = rng.standard_normal((B, D))
    f = block_loss(lambda q: att.forward(**q), att.backward, probe)
    _, good = f(p)
    assert check_grad(f, p, good).ok
    assert not check_grad(f, p, dict(good, W=good["W"].T)).ok


def test_gradcheck_subset_uses_generator_and_counts_entries() -> None:
    rng = np.random.default_rng(11)
    A = rng.standard_normal((6, 6))
    p = {"w": rng.standard_normal((6, 6))}

    def f(q: Arrays) -> tuple[float, Arrays]:
        return float(np.sum(A * q["w"] ** 2)), {"w": 2.0 * A * q["w"]}

    res = check_grad(f, p, max_entries=5, rng=np.random.default_rng(0))
    assert res.ok and res.n_checked == {"w": 5}
    full = check_grad(f, p)
    assert full.ok and full.n_checked == {"w": 36}


def test_gradcheck_does_not_modify_params_and_validates_keys() -> None:
    p = {"w": np.array([1.0, 2.0])}
    before = p["w"].copy()

    def f(q: Arrays) -> float:
        return float(np.sum(q["w"] ** 3))

    assert check_grad(f, p, {"w": 3.0 * before**2}).ok
    np.testing.assert_array_equal(p["w"], before)
    with pytest.raises(ValueError, match="grads keys"):
        check_grad(f, p, {"v": before})
    with pytest.raises(ValueError, match="pass the analytic grads"):
        check_grad(f, p)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"eps": 0.0}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"rtol": -1e-3}, "rtol"),
        ({"atol": float("inf")}, "atol"),
        ({"rtol": 0.0, "atol": 0.0}, "cannot both be 0"),
        ({"max_entries": 0}, "max_entries"),
        ({"max_entries": True}, "max_entries"),
    ],
)
def test_gradcheck_bad_settings_name_the_argument(kwargs: dict[str, Any], name: str) -> None:
    def f(q: Arrays) -> tuple[float, Arrays]:
        return float(np.sum(q["w"] ** 2)), {"w": 2.0 * q["w"]}

    with pytest.raises(ValueError, match=name):
        check_grad(f, {"w": np.ones(2)}, **kwargs)
