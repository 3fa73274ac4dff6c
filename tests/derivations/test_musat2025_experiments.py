"""musat2025 training experiments and the transformer/constructive claims (each with a negative control)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from derivations.musat2025 import claims as C
from derivations.musat2025.ablation import CONTEXT_SITE, QUERY_SITE
from derivations.musat2025.construct import constructive_params, query_accuracy_by_depth
from derivations.musat2025.data import RetrievalTask
from derivations.musat2025.experiments import TrainConfig, TrainingRun, run_training
from derivations.musat2025.units import (
    emergence_table,
    head_roles,
    level_heads,
    staircase,
    unit_name,
)


def _synthetic_run(acc: np.ndarray, scores: dict[str, np.ndarray], ablated: np.ndarray | None = None,
                   seed: int = 0, ablated_layers: np.ndarray | None = None, unit: str = "head") -> TrainingRun:
    cfg = TrainConfig(n_layers=2, n_heads=2, n_snapshots=acc.shape[0], steps=100 * (acc.shape[0] - 1), unit=unit)
    steps = np.arange(acc.shape[0]) * 100
    ab = np.repeat(acc[:, None, None, :], 4, axis=1).reshape(-1, 2, 2, acc.shape[1]) if ablated is None else ablated
    abl = np.repeat(acc[:, None, :], 2, axis=1) if ablated_layers is None else ablated_layers
    return TrainingRun(cfg, "ic_b", None, seed, steps, acc, ab, abl, np.zeros(len(steps)), scores, {},
                       np.zeros(10, dtype=int), np.zeros((len(steps), 2, 2, 10, 10)))


def test_config_validation_and_model() -> None:
    cfg = TrainConfig()
    assert cfg.model().n_layers == cfg.depth + 1
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        cfg.with_(n_layer=2)
    assert cfg.with_(n_layers=2).n_layers == 2
    # the learning-rate decay: constant before decay_from * steps, then 8 pieces down towards 0
    assert cfg.schedule() is None
    sch = cfg.with_(steps=800, decay_from=0.5).schedule()
    assert sch is not None and sch.factor("default", cfg.lr * 399) == 1.0
    assert sch.factor("default", cfg.lr * 401) == pytest.approx(1 - 0.5 / 8)
    assert sch.factor("default", cfg.lr * 799) == pytest.approx(0.5 / 8)
    with pytest.raises(ValueError, match="decay_from"):
        cfg.with_(decay_from=1.5)
    with pytest.raises(ValueError, match="dtype"):
        cfg.with_(dtype="float16")
    assert cfg.model().dtype == "float32" and cfg.with_(dtype="float64").model().dtype == "float64"


def test_run_training_records_shapes() -> None:
    cfg = TrainConfig(steps=20, n_snapshots=3, n_eval=64)
    run = run_training(cfg, "ic_b", seed=1)
    assert run.steps.tolist() == [0, 10, 20]
    assert run.acc.shape == (3, cfg.depth) and np.all((run.acc >= 0) & (run.acc <= 1))
    assert run.ablated.shape == (3, cfg.n_layers, cfg.n_heads, cfg.depth)
    assert run.patterns.shape == (3, cfg.n_layers, cfg.n_heads, 10, 10)
    assert np.all(np.isfinite(run.loss)) and np.all(run.loss > 0)
    assert set(run.scores) == {"prev", "link", "chain", "hop1", "hop2", "lookup1", "lookup2"}
    assert run.site_ablated.shape == (3, cfg.n_layers, 3, cfg.depth)
    assert run.ablated_layers.shape == (3, cfg.n_layers, cfg.depth)
    assert run.scores["prev"].shape == (3, cfg.n_layers, cfg.n_heads)
    arrays = run.arrays("x.")
    assert {"x.steps", "x.acc", "x.loss", "x.ablated", "x.score.prev"} <= set(arrays)
    # the recorded accuracies are the model's own on the same held-out batch, intact and ablated
    ev = cfg.task("ic_b").sample(np.random.default_rng(10_000 + 1), cfg.n_eval)
    model = cfg.model()
    by = model.accuracy(run.params, ev, by_hops=True)
    assert isinstance(by, dict)
    np.testing.assert_allclose(run.acc[-1], [by[1], by[2]])
    mask = np.ones((cfg.n_layers, cfg.n_heads))
    mask[1, 0] = 0.0
    pred = model.forward(run.params, ev.tokens, mask)[0][:, -1].argmax(-1) == ev.answer
    np.testing.assert_allclose(run.ablated[-1, 1, 0], [pred[ev.query_depth == k].mean() for k in (1, 2)])
    mask[1] = 0.0  # the whole layer
    pred = model.forward(run.params, ev.tokens, mask)[0][:, -1].argmax(-1) == ev.answer
    np.testing.assert_allclose(run.ablated_layers[-1, 1], [pred[ev.query_depth == k].mean() for k in (1, 2)])
    assert run.loss[-1] == pytest.approx(model.loss_and_grad(run.params, ev)[0])
    # same seed, same run
    again = run_training(cfg, "ic_b", seed=1)
    np.testing.assert_array_equal(again.acc, run.acc)


def test_roles_and_emergence_table() -> None:
    n = 5
    ramp = np.linspace(0.0, 1.0, n)
    flat = np.full(n, 0.2)
    prev = np.stack([np.stack([ramp, flat], -1), np.stack([flat, flat], -1)], 1)  # (n, L=2, H=2)
    hop1 = np.stack([np.stack([flat, ramp], -1), np.stack([flat, flat], -1)], 1)
    hop2 = np.stack([np.stack([flat, flat], -1), np.stack([ramp, flat], -1)], 1)
    acc = np.stack([np.array([0.5, 0.5, 1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5, 1.0, 1.0])], -1)
    ab = np.repeat(acc[:, None, None, :], 4, axis=1).reshape(n, 2, 2, 2).copy()
    ab[2:, 0, 1, :] = 0.5  # head (0, 1) carries both levels from step 200
    ab[3:, 1, 0, 1] = 0.5  # head (1, 0) carries hop 2 from step 300
    sc = {"prev": prev, "hop1": hop1, "hop2": hop2, "lookup1": hop1 - 0.2, "lookup2": hop2 - 0.2}
    runs = [_synthetic_run(acc, sc, ab, seed=s) for s in (0, 1)]
    assert head_roles(runs[0]) == {(0, 0): "prev", (0, 1): "hop1", (1, 0): "hop2"}
    t = emergence_table("IC-B", runs)
    assert t.emergence_steps.tolist() == [[200.0, 300.0], [200.0, 300.0]]
    assert t.resolution == 100.0 and t.seeds == (0, 1) and t.weights.tolist() == [0.5, 0.5]
    assert t.to_json()["emergence_steps"] == [[200.0, 300.0], [200.0, 300.0]]
    with pytest.raises(ValueError, match="one config"):
        emergence_table("x", [runs[0], _synthetic_run(acc[:4], {k: v[:4] for k, v in runs[0].scores.items()})])
    # layer units: zeroing layer 0 removes both levels from step 200, layer 1 hop 2 from step 300; the
    # layer's score is its heads' summed excess
    abl = np.repeat(acc[:, None, :], 2, axis=1).copy()
    abl[2:, 0, :] = 0.5
    abl[3:, 1, 1] = 0.5
    lr = _synthetic_run(acc, sc, None, ablated_layers=abl, unit="layer")
    times, units = level_heads(lr)
    assert units == [(0, -1), (1, -1)] and times.tolist() == [200.0, 300.0]
    assert [unit_name(u) for u in units] == ["layer 0", "layer 1"] and unit_name((1, 0)) == "head (1, 0)"
    # negative control: single heads show no effect there (the split lookup), so no level forms
    assert level_heads(_synthetic_run(acc, sc, None, unit="head"))[1] == [None, None]
    abl[:, 1, 1] = acc[:, 1]  # layer 1 not needed: hop 2 has no unit of its own
    assert level_heads(_synthetic_run(acc, sc, None, ablated_layers=abl, unit="layer"))[1] == [(0, -1), None]
    with pytest.raises(ValueError, match="unit"):
        TrainConfig(unit="heads")


def test_hop_order_claim_two_sided() -> None:
    nan = float("nan")
    good = {"IC-B": np.array([[100.0, 200.0], [100.0, 100.0], [nan, 300.0]])}
    c = C.claim_hop_order(good, 100.0)
    assert c.passed and c.measured == 1.0 and "1 tied" in c.statement
    assert not C.claim_hop_order(good | {"IC-A": np.array([[300.0, 200.0]])}, 100.0).passed  # a reversal
    assert not C.claim_hop_order({"IC-B": np.array([[nan, 200.0], [100.0, 100.0]])}, 100.0).passed  # nothing resolved


def test_bridge_curriculum_and_starve_claims() -> None:
    assert C.claim_bridge_order([True] * 5, [], 100.0).passed
    assert not C.claim_bridge_order([True, True, False], [], 100.0).passed
    good = {"none": [False] * 8, "IC-A": [True] * 5 + [False] * 3, "IC-B": [True] * 3 + [False] * 5}
    claims = C.claim_curriculum(good, {})
    assert [c.id for c in claims] == ["musat2025.curriculum.none", "musat2025.curriculum.IC-A",
                                      "musat2025.curriculum.IC-B"]
    assert all(c.passed for c in claims)
    bad = C.claim_curriculum(good | {"none": [True] + [False] * 7, "IC-B": [True] * 2 + [False] * 6}, {})
    assert [c.passed for c in bad] == [False, True, False]  # a learning control; 5/8 and 2/8 against 1/8
    nan = float("nan")
    u = np.array([100.0, 200.0, 100.0, 300.0, 100.0])
    assert C.claim_starve(2, u, u + 100, 2.5, ([0.5, 0.5], [0.9, 0.1])).passed
    assert C.claim_starve(2, u, np.full(5, nan), 2.5, ([0.5, 0.5], [0.9, 0.1])).passed  # never = later
    assert not C.claim_starve(2, u, u, 2.5, ([0.5, 0.5], [0.9, 0.1])).passed  # no delay
    assert not C.claim_starve(2, u, u - 50, 2.5, ([0.5, 0.5], [0.9, 0.1])).passed  # earlier


def test_depth_trained_claim() -> None:
    chance = 0.5
    ok = {1: [0.5, 0.5], 3: [1.0, 1.0], 4: [1.0, 1.0]}
    c = C.claim_depth_trained(ok, chance)
    assert c.passed and list(c.predicted) == ["L=1,k=2", "L=3,k=1", "L=3,k=2", "L=4,k=1", "L=4,k=2"]
    # a 1-layer model that answered 2-hop queries would beat the bound: must fail
    assert not C.claim_depth_trained(ok | {1: [0.5, 0.9]}, chance).passed
    # a 3-layer model that never learned 2 hops (above the bound, where a circuit exists): must fail
    assert not C.claim_depth_trained(ok | {3: [1.0, 0.6]}, chance).passed
    # L = 2: the bound allows 2 hops, the constructive circuit does not; no prediction there
    assert "L=2,k=2" not in C.claim_depth_trained(ok | {2: [1.0, 0.6]}, chance).predicted


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
    cr = [np.array(x) for x in ([1.0, 2.0], [1.0, nan], [nan, nan], [nan, 3.0], [5.0, 4.0])]
    assert staircase(cr) == [True, True, False, False]


def test_ic_a_levels_are_read_at_the_statements() -> None:
    """An IC-A run records its statement labels' accuracy (intact, each head and each layer zeroed)
    and lookup scores, and its levels are read from them; ``ic_a_levels="query"`` and IC-B runs
    read the query. The recorded numbers are the model's own on a held-out IC-A batch."""
    cfg = TrainConfig(steps=20, n_snapshots=3, n_eval=64)
    run = run_training(cfg, "ic_a", seed=2)
    assert run.levels_at == "statements" and run.level_acc is not run.acc
    assert run.level_acc.shape == (3, cfg.depth) and run.level_ablated_layers.shape == (3, cfg.n_layers, cfg.depth)
    assert {"slookup1", "slookup2"} <= set(run.scores) and run.scores["slookup1"].shape == (3, cfg.n_layers, cfg.n_heads)
    ev = cfg.task("ic_a").sample(np.random.default_rng(20_000 + 2), cfg.n_eval)
    model = cfg.model()
    logits = model.forward(run.params, ev.tokens)[0]
    ok = logits.argmax(-1) == ev.targets
    stmt = (ev.targets >= 0) & (np.arange(ev.tokens.shape[1]) < ev.tokens.shape[1] - 1)
    np.testing.assert_allclose(run.level_acc[-1], [ok[stmt & (ev.hops == k)].mean() for k in (1, 2)])
    mask = np.ones((cfg.n_layers, cfg.n_heads))
    mask[0] = 0.0
    ok0 = model.forward(run.params, ev.tokens, mask)[0].argmax(-1) == ev.targets
    np.testing.assert_allclose(run.level_ablated_layers[-1, 0], [ok0[stmt & (ev.hops == k)].mean() for k in (1, 2)])
    assert {"x.statement_acc", "x.statement_ablated_layers"} <= set(run.arrays("x."))
    # the query's arrays are still recorded, and the other setting reads them
    q = run_training(cfg.with_(ic_a_levels="query"), "ic_a", seed=2)
    assert q.levels_at == "query" and q.level_acc is q.acc and "slookup1" not in q.scores
    np.testing.assert_array_equal(q.acc, run.acc)
    assert run_training(cfg, "ic_b", seed=2).levels_at == "query"
    with pytest.raises(ValueError, match="ic_a_levels"):
        TrainConfig(ic_a_levels="dst")


def test_stacked_claim_both_ways() -> None:
    full, part = [(1, -1), (2, -1)], [(1, -1), None]
    c = C.claim_stacked("IC-B", [full] * 6 + [part] * 2, "query")
    assert c.passed and c.measured == 0.75 and "6 of 8" in c.statement
    assert not C.claim_stacked("IC-B", [full] * 5 + [part] * 3, "query").passed  # 5/8 is not most enough
    assert not C.claim_stacked("IC-A", [[None, None]] * 8, "statements").passed
    # site units: the text counts the two families, and the cross-checks are reported
    q, st = [(1, QUERY_SITE), (2, QUERY_SITE)], [(2, QUERY_SITE), (1, CONTEXT_SITE)]
    c = C.claim_stacked("IC-B", [q] * 2 + [st] * 5 + [[(2, QUERY_SITE), None]], "query", [True] * 2 + [False] * 6,
                        [False] * 8, [True] * 3 + [False] * 5)
    assert c.passed and c.measured == 7 / 8
    assert "2 of the stacked seeds look the chain up one hop per layer" in c.statement
    assert "5 do the later hops below a read-out" in c.statement and "criterion (each level's layer above the last): 3 of 8" \
        in c.statement and "Cross-checks of the measurement: by the attention patterns alone" \
        in c.statement


def test_site_units_of_a_recorded_run() -> None:
    """``unit="site"`` reads the run's site arrays (:func:`.ablation.site_levels`): a read-out on top
    (layer 1 at the query) with a link at the statements of layer 0; its names and its drop."""
    from derivations.musat2025.units import unit_drop, uses_sites

    n = 3
    acc = np.array([[0.5, 0.5], [1.0, 1.0], [1.0, 1.0]])
    sites = np.repeat(acc[:, None, None, :], 6, axis=1).reshape(n, 2, 3, 2).copy()  # (n, L, 3, D)
    sites[1:, 1, 0, :] = sites[1:, 1, 2, :] = sites[1:, 0, 2, :] = 0.5  # layer 1 reads out at the query
    sites[2:, 0, 1, 1] = 0.5  # layer 0's statements: needed for 2 hops from step 200
    sc = {"lookup1": np.repeat(np.array([[[-0.1, -0.1], [0.4, 0.3]]]), n, axis=0),
          "lookup2": np.full((n, 2, 2), -0.1), "chain": np.repeat(np.array([[[0.2, 0.1], [0.0, 0.0]]]), n, axis=0)}
    run = replace(_synthetic_run(acc, sc, unit="site"), site_ablated=sites)
    assert uses_sites(run)
    times, units = level_heads(run)
    assert units == [(1, QUERY_SITE), (0, CONTEXT_SITE)] and times.tolist() == [100.0, 200.0]
    assert [unit_name(u) for u in units] == ["layer 1 at the query", "layer 0 at the statements"]
    np.testing.assert_allclose(unit_drop(run, units[1])[:, 1], [0.0, 0.0, 0.5])
    np.testing.assert_allclose(unit_drop(run, units[0])[:, 0], [0.0, 0.5, 0.5])
    # negative control: the same run under the whole-layer criterion has no unit (nothing recorded there)
    assert level_heads(replace(run, config=run.config.with_(unit="layer")))[1] == [None, None]
    assert not uses_sites(replace(run, site_ablated=None))
    assert "x.site_ablated" in run.arrays("x.")


def test_pattern_stacked_cross_check() -> None:
    """Stacked by attention alone: a layer reading lookup 1 (>= 0.5) below one reading lookup 2;
    the reverse order, or scores under 0.5, are not."""
    from derivations.musat2025.units import pattern_stacked

    acc = np.full((2, 2), 1.0)
    lo, hi = np.full((2, 2, 2), 0.1), np.full((2, 2, 2), 0.1)
    lo[:, 0, 1] = 0.7  # layer 0 reads lookup 1
    hi[:, 1, 0] = 0.6  # layer 1 reads lookup 2
    assert pattern_stacked(_synthetic_run(acc, {"lookup1": lo, "lookup2": hi}))
    assert pattern_stacked(_synthetic_run(acc, {"lookup1": lo, "lookup2": hi}, unit="layer"))
    assert not pattern_stacked(_synthetic_run(acc, {"lookup1": hi, "lookup2": lo}))  # reversed
    assert not pattern_stacked(_synthetic_run(acc, {"lookup1": lo, "lookup2": hi * 0.5}))  # too weak


def test_stacked_with_above_finds_a_carrier_masked_by_a_backup() -> None:
    """A textbook stacked run whose hop-1 layer has a backup above it: zeroed alone, layer 0 leaves
    1-hop queries answered (no carrier); zeroed with layer 1 above it, they are lost, so the
    cross-check finds both units. Negative control: without the loss, it finds none."""
    from derivations.musat2025.units import stacked_with_above

    n = 3
    acc = np.ones((n, 2))
    lo, hi = np.full((n, 2, 1), -0.1), np.full((n, 2, 1), -0.1)
    lo[:, 0, 0], hi[:, 1, 0] = 0.8, 0.8  # layer 0 reads lookup 1, layer 1 lookup 2
    alone = np.ones((n, 2, 2))
    alone[:, 1, 1] = 0.5  # layer 1 carries hop 2; layer 0 alone carries nothing (a backup above)
    above = alone.copy()
    above[:, 0, :] = 0.5  # layers 0 and 1 together: both levels lost
    run = _synthetic_run(acc, {"lookup1": np.repeat(lo, 2, axis=2), "lookup2": np.repeat(hi, 2, axis=2)},
                         ablated_layers=alone, unit="layer")
    run = replace(run, ablated_above=above)
    assert level_heads(run)[1] == [None, (1, -1)]  # the plain criterion misses hop 1
    assert stacked_with_above(run) is True
    assert stacked_with_above(replace(run, ablated_above=alone)) is False
    assert stacked_with_above(replace(run, ablated_above=None)) is None
    assert "x.ablated_above" in run.arrays("x.")
