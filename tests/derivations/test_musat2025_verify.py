"""musat2025 whole verification on tiny training budgets: every claim produced, figures captioned,
files reload; an untrained model passes none of the transformer claims (their negative control)."""

from __future__ import annotations

import pytest

from derivations.musat2025 import verify as V


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="depth"):
        V.Settings(depth=1)
    with pytest.raises(ValueError, match="starve_level"):
        V.Settings(starve_level=3)
    with pytest.raises(ValueError, match="starve_weight"):
        V.Settings(starve_weight=0.6)
    with pytest.raises(ValueError, match="carry_frac"):
        V.Settings(carry_frac=0.0)
    with pytest.raises(ValueError, match="ic_a_labels"):
        V.Settings(ic_a_labels="some")
    with pytest.raises(ValueError, match="decay_from"):
        V.Settings(decay_from=-0.1)
    with pytest.raises(ValueError, match="unit"):
        V.Settings(unit="heads")
    with pytest.raises(ValueError, match="ic_a_levels"):
        V.Settings(ic_a_levels="dst")
    with pytest.raises(ValueError, match="dtype"):
        V.Settings(dtype="float16")
    with pytest.raises(ValueError, match="init_scale"):
        V.Settings(init_scale=0.0)
    assert V.Settings(depth=3).depth == 3
    # --quick keeps the fewest seeds with which the P1' sign test can pass (and 4 could not)
    from derivations.musat2025.measure import sign_test_p

    quick, n_quick, _ = V.transformer_config(V.Settings(), True)
    assert n_quick == V.QUICK_SEEDS == 5 and (quick.steps, quick.n_snapshots) == (4000, 41)
    assert sign_test_p(n_quick, 0) < 0.05 <= sign_test_p(n_quick - 1, 0)
    default = V.transformer_config(V.Settings(), False)[0]
    assert (default.init_scale, default.unit) == (0.15, "site")
    cfg = V.transformer_config(V.Settings(init_scale=0.3, dtype="float64", ic_a_levels="query", unit="layer"), False)[0]
    assert (cfg.init_scale, cfg.dtype, cfg.ic_a_levels, cfg.steps, cfg.unit) == (0.3, "float64", "query", 8000, "layer")


def test_verify_end_to_end_small(tmp_path) -> None:
    from dynamics.registry import get
    from dynamics.trajectory import load_arrays
    from dynamics.verify import run_verify

    d = get("musat2025")
    summary = run_verify(d, tmp_path, quick=True, verbose=False,
                         settings=V.Settings(seeds=2, train_steps=40, n_snapshots=3))
    assert summary["error"] is None
    ids = {c["id"] for c in summary["claims"]}
    transformer = {"musat2025.curriculum.none", "musat2025.curriculum.IC-A", "musat2025.curriculum.IC-B",
                   "musat2025.stacked.IC-A", "musat2025.stacked.IC-B", "musat2025.order", "musat2025.p1-starve.hop2", "musat2025.bridge-order",
                   "musat2025.depth-trained", "musat2025.r1-transformer-order"}
    assert transformer | {"musat2025.construct-exact", "musat2025.r1-learnability"} <= ids
    assert not {"musat2025.order-seeds", "musat2025.curriculum"} & ids
    by_id = {c["id"]: c for c in summary["claims"]}
    # 40 steps learn nothing: no claim that needs learning may pass on an untrained model
    for cid in ("musat2025.curriculum.IC-A", "musat2025.curriculum.IC-B", "musat2025.order",
                "musat2025.stacked.IC-A", "musat2025.stacked.IC-B",
                "musat2025.p1-starve.hop2", "musat2025.depth-trained"):
        assert not by_id[cid]["passed"], cid
    out = tmp_path / "musat2025"
    for fig in ("transformer_emergence.png", "curriculum.png", "attention_maps.png", "depth.png"):
        assert (out / fig).stat().st_size > 1000
    for name in summary["figures"]:
        entry = summary["figure_info"][name]
        assert entry["caption"].strip() and entry["claims"] and set(entry["claims"]) <= ids, name
    arrays, doc = load_arrays(out / "transformer_runs")
    assert arrays["IC-B.seed0.acc"].shape[1] == 2 and arrays["IC-B.seed0.ablated"].shape[1:] == (3, 1, 2)
    assert arrays["IC-B.seed0.ablated_layers"].shape[1:] == (3, 2)
    assert arrays["IC-A.emergence_steps"].shape == (2, 2)
    assert doc["meta"]["config"]["steps"] == 40 and "numpy" in doc["versions"]
    em = summary["config"]["emergence"]
    assert set(em) == {"IC-B", "IC-A", "IC-B.starve2", "none"}
    assert em["IC-B.starve2"]["weights"] == pytest.approx([0.9, 0.1]) and em["none"]["weights"] == [0.0, 1.0]
