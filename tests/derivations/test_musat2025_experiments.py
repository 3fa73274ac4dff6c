"""musat2025 training experiments and the transformer/constructive claims (each with a negative control)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.musat2025 import claims as C
from derivations.musat2025.construct import constructive_params, query_accuracy_by_depth
from derivations.musat2025.data import RetrievalTask
from derivations.musat2025.experiments import (
    TrainConfig,
    TrainingRun,
    emergence_events,
    head_roles,
    order_agreement,
    run_training,
    staircase,
)


def _synthetic_run(acc: np.ndarray, scores: dict[str, np.ndarray]) -> TrainingRun:
    cfg = TrainConfig(n_layers=2, n_heads=2)
    steps = np.arange(acc.shape[0]) * 100
    return TrainingRun(cfg, "ic_b", None, 0, steps, acc, np.zeros(len(steps)), scores, {})


def test_config_validation_and_model() -> None:
    cfg = TrainConfig()
    assert cfg.model().n_layers == cfg.depth + 1
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        cfg.with_(n_layer=2)
    assert cfg.with_(n_layers=2).n_layers == 2


def test_run_training_records_shapes() -> None:
    cfg = TrainConfig(steps=20, n_snapshots=3, n_eval=64)
    run = run_training(cfg, "ic_b", seed=1)
    assert run.steps.tolist() == [0, 10, 20]
    assert run.acc.shape == (3, cfg.depth) and np.all((run.acc >= 0) & (run.acc <= 1))
    assert np.all(np.isfinite(run.loss)) and np.all(run.loss > 0)
    assert set(run.scores) == {"prev", "link", "hop1", "hop2"}
    assert run.scores["prev"].shape == (3, cfg.n_layers, cfg.n_heads)
    arrays = run.arrays("x.")
    assert {"x.steps", "x.acc", "x.loss", "x.score.prev"} <= set(arrays)
    # the recorded accuracy and loss are the model's own on the same held-out batch
    ev = cfg.task("ic_b").sample(np.random.default_rng(10_000 + 1), cfg.n_eval)
    by = cfg.model().accuracy(run.params, ev, by_hops=True)
    assert isinstance(by, dict)
    np.testing.assert_allclose(run.acc[-1], [by[1], by[2]])
    assert run.loss[-1] == pytest.approx(cfg.model().loss_and_grad(run.params, ev)[0])
    # same seed, same run
    again = run_training(cfg, "ic_b", seed=1)
    np.testing.assert_array_equal(again.acc, run.acc)


def test_roles_events_and_agreement() -> None:
    n = 5
    ramp = np.linspace(0.0, 1.0, n)  # crosses 1/2 at step 200
    late = np.clip(np.linspace(-0.5, 1.0, n), 0, 1)  # crosses 1/2 at step 266.7
    flat = np.full(n, 0.2)
    prev = np.stack([np.stack([ramp, flat], -1), np.stack([flat, flat], -1)], 1)  # (n, L=2, H=2)
    hop1 = np.stack([np.stack([flat, flat], -1), np.stack([flat, late], -1)], 1)
    acc = np.stack([np.linspace(0.5, 1.0, n), np.full(n, 0.5)], -1)  # hop 1 learned, hop 2 not
    run = _synthetic_run(acc, {"prev": prev, "hop1": hop1})
    assert head_roles(run) == {(0, 0): "prev", (1, 1): "hop1"}
    ev = emergence_events(run)
    assert ev["role:prev"] == pytest.approx(200.0) and ev["role:hop1"] == pytest.approx(800 / 3)
    assert ev["acc:hop1"] == pytest.approx(200.0) and math.isnan(ev["acc:hop2"])
    tau, common = order_agreement(ev, {"role:prev": 1.0, "role:hop1": 2.0, "acc:hop1": 0.5})
    assert common == ["acc:hop1", "role:hop1", "role:prev"] and tau < 1
    # reversed order of three events: tau = -1
    tau, _ = order_agreement({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 3.0, "b": 2.0, "c": 1.0})
    assert tau == pytest.approx(-1.0)
    tau, _ = order_agreement({"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0})
    assert tau == 1.0
    assert math.isnan(order_agreement({"a": 1.0}, {"a": 2.0})[0])


def test_seed_order_claim_two_sided() -> None:
    assert C.claim_seed_order([1.0] * 10, ["role:hop1", "role:prev"], []).passed
    assert not C.claim_seed_order([1.0, -1.0], ["role:hop1", "role:prev"], []).passed  # a swap
    assert not C.claim_seed_order([], [], []).passed  # nothing to compare is not a pass


def test_bridge_and_curriculum_claims() -> None:
    assert C.claim_bridge_order([True] * 5, []).passed
    assert not C.claim_bridge_order([True, True, False], []).passed
    good = {"ic_a": True, "ic_b": True, "none": False}
    assert C.claim_curriculum(good, {}).passed
    assert not C.claim_curriculum(good | {"none": True}, {}).passed
    assert not C.claim_curriculum(good | {"ic_a": False}, {}).passed


def test_depth_trained_claim() -> None:
    chance = 0.5
    ok = {1: [0.5, 0.5], 2: [1.0, 0.6], 3: [1.0, 1.0], 4: [1.0, 1.0]}
    c = C.claim_depth_trained(ok, chance)
    assert c.passed and list(c.predicted) == ["L=1,k=2"]
    # a 1-layer model that answered 2-hop queries would beat the bound: must fail
    assert not C.claim_depth_trained(ok | {1: [0.5, 0.9]}, chance).passed


def test_constructive_claims_measured_and_negative_control() -> None:
    task = RetrievalTask(n_chains=3, depth=3, n_values=6, n_vars=12)
    rng = np.random.default_rng(0)
    table = {}
    for L in range(1, 5):
        model, params = constructive_params(task, L)
        table[L] = query_accuracy_by_depth(model, params, task, rng, n=256)
    exact, depth = C.claim_constructive(table)
    assert exact.passed and depth.passed
    # negative control: pretend the 4-layer circuit misses one 3-hop query
    broken = {L: dict(row) for L, row in table.items()}
    broken[4][3] = 1.0 - 1.0 / 256
    e2, d2 = C.claim_constructive(broken)
    assert not e2.passed and not d2.passed
    # and a circuit that claimed an extra hop would fail the depth claim
    lucky = {L: dict(row) for L, row in table.items()}
    lucky[2][2] = 1.0
    assert not C.claim_constructive(lucky)[1].passed


def test_run_many_parallel_equals_serial() -> None:
    from derivations.musat2025.experiments import Job, run_many

    cfg = TrainConfig(steps=10, n_snapshots=2, n_eval=32)
    jobs = [Job(cfg, "ic_b", 3), Job(cfg.with_(n_layers=1), "none", 4)]
    seen: list[int] = []
    par = run_many(jobs, workers=2, progress=lambda i, job, run: seen.append(i))
    ser = run_many(jobs, workers=1)
    assert sorted(seen) == [0, 1]
    for a, b in zip(par, ser, strict=True):
        assert (a.regime, a.seed, a.config.n_layers) == (b.regime, b.seed, b.config.n_layers)
        np.testing.assert_array_equal(a.acc, b.acc)
        np.testing.assert_array_equal(a.params["W_U"], b.params["W_U"])


def test_staircase_censoring() -> None:
    nan = float("nan")
    ev = [{"acc:hop1": 1.0, "acc:hop2": 2.0}, {"acc:hop1": 1.0, "acc:hop2": nan},
          {"acc:hop1": nan, "acc:hop2": nan}, {"acc:hop1": nan, "acc:hop2": 3.0},
          {"acc:hop1": 5.0, "acc:hop2": 4.0}]
    assert staircase(ev) == [True, True, False, False]
