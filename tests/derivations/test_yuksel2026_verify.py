"""yuksel2026 verify-level claims, each with a negative control."""

from __future__ import annotations

import numpy as np

from derivations.yuksel2026 import verify as V


def test_pipeline_bridge_claim_two_sided() -> None:
    assert V.claim_pipeline_bridge({"V": 1e-7, "s": 2e-8, "loss": 1e-7}).passed
    assert not V.claim_pipeline_bridge({"V": 0.3, "s": 1e-8, "loss": 1e-7}).passed


def test_heads_patterns_claim_two_sided() -> None:
    pred = np.array([[0.5, 1.945], [0.0, 0.5]])
    assert V.claim_hK(pred + 1e-7, pred).passed
    wrong = pred.copy()
    wrong[1, 1] = 0.0  # two heads fitting three patterns would beat the misspecified level
    assert not V.claim_hK(wrong, pred).passed


def test_pipeline_reproduces_bridge_flow() -> None:
    """The compiled J2 Eq. 4 and the bridge's hand-written flow agree (measured, not assumed)."""
    from derivations.yuksel2026 import bridge as B

    dev = V._pipeline_vs_bridge(B.BridgeSetting(t_max=40.0))
    assert max(dev.values()) < 1e-5
