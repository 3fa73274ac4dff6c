"""musat2025 R1 against the transformer (issue 17 item 5): the comparison on synthetic emergence arrays,
with negative controls (an order R1 does not predict fails, merged levels apart fail, a wrong n-scaling
fails), the pair bookkeeping, bad input and the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.musat2025.r1_transformer import (
    R1Prediction,
    compare_r1,
    figure_r1_transformer,
    pair_relations,
    r1_predictions,
)

N, V = 12.0, 8.0
RES = 50.0
WEIGHTS = {"uniform": [1 / 3, 1 / 3, 1 / 3], "gap": [0.5, 0.0, 0.5]}


@pytest.fixture(scope="module")
def preds() -> dict[str, R1Prediction]:
    return r1_predictions(WEIGHTS, N, V)


def _synthetic(preds: dict[str, R1Prediction], scale: float = 20.0, n_seeds: int = 6, jitter: float = 10.0,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Steps = scale x R1 time + jitter below the tie tolerance: what R1 predicts, seed by seed."""
    rng = np.random.default_rng(seed)
    return {k: scale * p.times[None, :] + rng.uniform(-jitter, jitter, (n_seeds, p.times.size))
            for k, p in preds.items()}


def test_r1_predictions_order_and_merge(preds: dict[str, R1Prediction]) -> None:
    u, g = preds["uniform"], preds["gap"]
    assert np.all(np.diff(u.times) > 0.1 * u.times[1:])  # separated by > 10%
    assert [u.relation(0, 1), u.relation(1, 2), u.relation(2, 0)] == ["before", "before", "after"]
    assert g.relation(1, 2) == "merged" and g.relation(0, 1) == "before"
    top0 = r1_predictions({"x": [0.5, 0.5, 0.0]}, N, V)["x"]
    assert math.isnan(top0.times[2]) and top0.relation(1, 2) == "never"


def test_steps_in_r1_order_pass(preds: dict[str, R1Prediction]) -> None:
    steps = _synthetic(preds)
    claims = {c.id: c for c in compare_r1(steps, WEIGHTS, RES, n=N, V=V)}
    assert set(claims) == {"musat2025.r1-transformer-order", "musat2025.r1-transformer-merge"}
    assert all(c.passed for c in claims.values()), [str(c) for c in claims.values()]
    d = claims["musat2025.r1-transformer-order"].details
    assert d["counts"]["discordant"] == 0 and d["counts"]["concordant"] == 6 * 3 + 6 * 2
    assert d["counts"]["merged_tied"] == 6
    assert d["fitted_steps_per_r1_time"] == pytest.approx(20.0, rel=0.01)


def test_an_order_r1_does_not_predict_fails(preds: dict[str, R1Prediction]) -> None:
    steps = _synthetic(preds)
    swapped = {k: v.copy() for k, v in steps.items()}
    swapped["uniform"][0, [0, 1]] = swapped["uniform"][0, [1, 0]]  # one seed: level 2 before level 1
    order = compare_r1(swapped, WEIGHTS, RES, n=N, V=V)[0]
    assert not order.passed and order.details["counts"]["discordant"] == 1
    # the later R1 level formed without the earlier one: also against R1
    lone = {k: v.copy() for k, v in steps.items()}
    lone["uniform"][2, 0] = np.nan
    assert not compare_r1(lone, WEIGHTS, RES, n=N, V=V)[0].passed
    # ...whereas the earlier level formed alone agrees with R1
    early = {k: v.copy() for k, v in steps.items()}
    early["uniform"][2, 2] = np.nan
    assert compare_r1(early, WEIGHTS, RES, n=N, V=V)[0].passed


def test_merged_levels_apart_fail_and_ties_are_not_reversals(preds: dict[str, R1Prediction]) -> None:
    steps = _synthetic(preds)
    apart = {k: v.copy() for k, v in steps.items()}
    apart["gap"][:, 2] += 3 * RES  # level 3 well after level 2, as without the gap
    claims = {c.id: c for c in compare_r1(apart, WEIGHTS, RES, n=N, V=V)}
    assert not claims["musat2025.r1-transformer-merge"].passed
    assert claims["musat2025.r1-transformer-order"].passed
    tied = {k: v.copy() for k, v in steps.items()}
    tied["uniform"][:, 1] = tied["uniform"][:, 0] + 0.5 * RES  # closer than the resolution
    order = compare_r1(tied, WEIGHTS, RES, n=N, V=V)[0]
    assert order.passed and order.details["counts"]["tied"] == 6
    # everything tied: nothing resolved, the order claim cannot pass
    flat = {k: np.full_like(v, 100.0) for k, v in steps.items()}
    assert math.isnan(compare_r1(flat, WEIGHTS, RES, n=N, V=V)[0].measured)
    assert not compare_r1(flat, WEIGHTS, RES, n=N, V=V)[0].passed


def test_no_merge_claim_without_a_gap(preds: dict[str, R1Prediction]) -> None:
    steps = {"uniform": _synthetic(preds)["uniform"]}
    claims = compare_r1(steps, {"uniform": WEIGHTS["uniform"]}, RES, n=N, V=V)
    assert [c.id for c in claims] == ["musat2025.r1-transformer-order"]


def test_pair_relations_bookkeeping() -> None:
    p = R1Prediction((0.5, 0.0, 0.5), np.array([10.0, 30.0, 30.0]))
    st = np.array([[100.0, 300.0, 320.0], [300.0, 100.0, np.nan], [np.nan, np.nan, 50.0]])
    r = pair_relations(st, p, tie_tol=50.0)
    assert r["concordant"] == [(0, 0, 1), (0, 0, 2), (1, 0, 2)]  # only the earlier level formed: in order
    assert r["merged_tied"] == [(0, 1, 2)]
    assert r["discordant"] == [(1, 0, 1), (2, 0, 2)]
    assert (1, 1, 2) in r["merged_apart"] and (2, 1, 2) in r["merged_apart"]
    assert r["unformed"] == [(2, 0, 1)]


def test_scaling_in_n(preds: dict[str, R1Prediction]) -> None:
    ns = [8.0, 16.0, 32.0]
    w = WEIGHTS["uniform"]
    r1 = [r1_predictions({"x": w}, x, V)["x"].times[0] for x in ns]
    rng = np.random.default_rng(1)
    good = {x: 30.0 * t * (1 + 0.02 * rng.standard_normal(8)) for x, t in zip(ns, r1, strict=True)}
    steps = _synthetic(preds)
    c = compare_r1(steps, WEIGHTS, RES, n=N, V=V, steps_by_n=good, weights_by_n=w)[-1]
    assert c.id == "musat2025.r1-transformer-scaling" and c.passed, str(c)
    assert c.predicted == pytest.approx(1.0, abs=0.15)
    cubic = {x: 30.0 * r1[0] * (x / 8.0) ** 3 * (1 + 0.02 * rng.standard_normal(8)) for x in ns}
    assert not compare_r1(steps, WEIGHTS, RES, n=N, V=V, steps_by_n=cubic, weights_by_n=w)[-1].passed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"emergence_steps_by_regime": {}}, "emergence_steps_by_regime"),
        ({"weights_by_regime": {"uniform": [1.0, 0.0, 0.0]}}, "same regimes"),
        ({"resolution": 0.0}, "resolution"),
        ({"tie_tol": -1.0}, "tie_tol"),
        ({"emergence_steps_by_regime": {"uniform": np.zeros((2, 2)), "gap": np.zeros((2, 3))}}, r"\(n_seeds, 3\)"),
        ({"emergence_steps_by_regime": {"uniform": -np.ones((2, 3)), "gap": np.zeros((2, 3))}}, "steps >= 0"),
        ({"weights_by_regime": {"uniform": [0.5, 0.5, 0.5], "gap": [0.5, 0.0, 0.5]}}, "sum to 1"),
        ({"n": 1.0}, "exceed 1"),
        ({"steps_by_n": {8.0: [1.0], 16.0: [2.0]}, "weights_by_n": [1 / 3] * 3}, "at least 3"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, match: str) -> None:
    args = {"emergence_steps_by_regime": {k: np.ones((2, 3)) for k in WEIGHTS}, "weights_by_regime": WEIGHTS,
            "resolution": RES} | kwargs
    with pytest.raises(ValueError, match=match):
        compare_r1(args.pop("emergence_steps_by_regime"), args.pop("weights_by_regime"), args.pop("resolution"),
                   **args)


def test_figure(preds: dict[str, R1Prediction], tmp_path) -> None:
    from dynamics.verify import VerifyContext

    ctx = VerifyContext("musat2025", tmp_path, verbose=False)
    steps = _synthetic(preds)
    claims = compare_r1(steps, WEIGHTS, RES, n=N, V=V)
    figure_r1_transformer(ctx, steps, claims)
    assert (tmp_path / "r1_transformer.png").stat().st_size > 1000
    assert set(ctx.figure_info["r1_transformer.png"]["claims"]) == {c.id for c in claims}
