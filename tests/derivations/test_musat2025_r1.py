"""musat2025 reduced model R1 (spec 5.2, a reconstruction): each claim with a negative control."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derivations.musat2025 import claims as C
from derivations.musat2025 import verify as V
from derivations.musat2025.reduced import r1_model


@pytest.fixture(scope="module")
def cm():
    return r1_model(3).compile()


def test_r1_flow_is_the_derived_gradient(cm):
    """The generated RHS equals -grad L computed independently by sympy at a random point."""
    m = cm.model
    y = np.array([0.3, -0.2, 0.5, 1.1])
    vals = {"n": 6.0, "V": 10.0, "pi1": 0.2, "pi2": 0.3, "pi3": 0.5, "wd": 0.01}
    subs = dict(zip(m.state, y, strict=True)) | {sp.Symbol(k, positive=True): v for k, v in vals.items() if k in ("n", "V")}
    subs |= {sp.Symbol(k, nonnegative=True): v for k, v in vals.items() if k not in ("n", "V")}
    loss = m.loss.expand().rewrite(sp.log)
    grad = np.array([float(-sp.diff(loss, s).subs(subs)) for s in m.state])
    np.testing.assert_allclose(cm.f(cm.pack(vals))(0.0, y), grad, rtol=1e-10)


def test_order_and_merge(cm):
    t = V.emergence_times(cm, {"n": 8.0}, 1e5, 3)
    assert C.claim_order(t).passed
    assert not C.claim_order([t[1], t[0], t[2]]).passed
    tg = V.emergence_times(cm, {"n": 8.0, "pi1": 0.5, "pi2": 0.0, "pi3": 0.5}, 1e5, 3)
    assert C.claim_merge(tg).passed
    assert not C.claim_merge(t).passed  # with uniform pi the stages stay apart


def test_scaling_exponents(cm):
    ns = [8.0, 16.0, 32.0]
    cur = [V.emergence_times(cm, {"n": n}, 1e6, 3)[0] for n in ns]
    hard = {"pi1": 0.0, "pi2": 0.0, "pi3": 1.0}
    hd = [V.emergence_times(cm, {"n": n} | hard, 1e8, 3)[2] for n in ns]
    tol = C.SCALING_TOL
    assert C.claim_scaling("curriculum", ns, cur, 1.0, tol, "w").passed
    assert C.claim_scaling("hard-only", ns, hd, 3.0, tol, "w").passed
    assert not C.claim_scaling("curriculum", ns, cur, 3.0, tol, "w").passed  # not n^m with a curriculum
    assert not C.claim_scaling("hard-only", ns, hd, 1.0, tol, "w").passed
    # the spec's extra sqrt(2 ln n) factor (exponent + 0.18 over n = 8..32) is rejected too
    extra = float(np.log(np.sqrt(np.log(32) / np.log(8))) / np.log(4))
    assert extra > tol
    assert not C.claim_scaling("curriculum", ns, cur, 1.0 + extra, tol, "w").passed


def test_boundary_claim_two_sided():
    assert C.claim_boundary(1.0, 81, 6).passed and C.claim_boundary(1 - 6 / 81, 81, 6).passed
    assert not C.claim_boundary(1 - 7 / 81, 81, 6).passed  # one disagreement more than the edge holds
    assert not C.claim_boundary(0.99, 81, 0).passed  # no boundary in the grid: exact agreement


def test_boundary_edge_cells():
    stable = np.zeros((4, 4), dtype=bool)
    stable[0, 2:] = True  # stable corner
    edge = V.boundary_edge(stable)
    assert edge.sum() == 3 and edge[0, 1] and edge[1, 2] and edge[1, 3]
    assert not (edge & stable).any()
    assert V.boundary_edge(np.zeros((3, 3), dtype=bool)).sum() == 0


def test_settings_validation():
    with pytest.raises(ValueError, match="m must be"):
        V.Settings(m=9)
    with pytest.raises(ValueError, match="seeds must be"):
        V.Settings(seeds=1)
    with pytest.raises(ValueError, match="train_steps"):
        V.Settings(train_steps=0)
