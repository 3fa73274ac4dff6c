"""yuksel2026 Eq. 4 (full and closed) and its ODE claims, each with a negative control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.yuksel2026 import claims as C
from derivations.yuksel2026 import closed_forms as CF
from derivations.yuksel2026 import experiments as E
from derivations.yuksel2026 import measure as M
from derivations.yuksel2026 import reduced as R
from dynamics.analysis import first_crossing
from dynamics.integrate import integrate
from dynamics.model import ReducedModel

H, K, T = 2, 2, 6  # small sizes for the pointwise checks


# ----------------------------------------------------------------------------- independent Eq. 4
def _G(g: np.ndarray, positions: tuple[int, ...], T: int) -> np.ndarray:
    G = np.zeros((len(g), T))
    G[np.arange(len(g)), np.asarray(positions) - 1] = g
    return G


def _loss(V: np.ndarray, s: np.ndarray, G: np.ndarray, lam: float) -> float:
    Rm = G - V.T @ s
    return 0.5 * float(np.sum(Rm**2)) + lam / 2 * float(np.sum(V**2) + np.sum(s**2))


def _eq4(V: np.ndarray, s: np.ndarray, G: np.ndarray, lam: float, form: str) -> tuple[np.ndarray, np.ndarray]:
    """dV, ds of Eq. 4 written from the spec in numpy (rows: heads)."""
    Rm = G - V.T @ s
    dV = (Rm @ s.T).T - lam * V
    c = V @ Rm - lam * s
    u = s * (c - np.sum(s * c, axis=1, keepdims=True))
    if form == "J2":
        u = s * (u - np.sum(s * u, axis=1, keepdims=True))
    return dV, u


def _random_point(rng: np.random.Generator, h: int, k: int, t: int) -> tuple[np.ndarray, np.ndarray]:
    s = rng.uniform(0.2, 1.0, size=(h, t))
    return rng.normal(size=(h, k)), s / s.sum(axis=1, keepdims=True)


def _velocity_in_s(cm, y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The compiled flow mapped to (dV, ds) by the chain rule of the coordinate map."""
    lay = R.layout(cm)
    dy = cm.f(p)(0.0, y)
    n = lay.h * lay.K
    dV = dy[:n].reshape(lay.h, lay.K)
    z, dz = y[n:].reshape(lay.h, -1), dy[n:].reshape(lay.h, -1)
    s = R.attention(y[None], cm)[0]
    if lay.form == "replicator":  # s = x^2 / |x|^2
        N = np.sum(z**2, axis=1, keepdims=True)
        ds = 2 * z * dz / N - z**2 * 2 * np.sum(z * dz, axis=1, keepdims=True) / N**2
    else:  # s = softmax(theta): ds = J dtheta
        ds = s * (dz - np.sum(s * dz, axis=1, keepdims=True))
    return dV, ds


@pytest.fixture(scope="module")
def small():
    return {f: R.eq4_model(H, K, T, f, weight_decay=True).compile() for f in R.FORMS}


@pytest.fixture(scope="module")
def small_closed():
    return {f: R.closed_model(H, K, f, weight_decay=True).compile() for f in R.FORMS}


@pytest.mark.parametrize("form", R.FORMS)
@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_flow_is_the_projected_gradient(small, form, lam):
    """The derived flow, mapped to (V, s), is Eq. 4: dV = -dL/dV, ds = J^m (-dL/ds), with the
    gradient of L taken by central differences of a numpy loss (independent of sympy)."""
    cm = small[form]
    rng = np.random.default_rng(1)
    g = np.array([2.0, 1.3])
    G = _G(g, (1, 2), T)
    p = cm.pack(R.params(cm, g, wd=lam))
    for _ in range(3):
        V, s = _random_point(rng, H, K, T)
        y = R.full_state(cm, s, V)
        dV, ds = _velocity_in_s(cm, y, p)
        eV, es = _eq4(V, s, G, lam, form)
        np.testing.assert_allclose(dV, eV, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ds, es, rtol=1e-10, atol=1e-12)
        # the formula is the (projected) gradient of the loss
        gV, gs, h = np.zeros_like(V), np.zeros_like(s), 1e-6
        for idx in np.ndindex(V.shape):
            e = np.zeros_like(V)
            e[idx] = h
            gV[idx] = (_loss(V + e, s, G, lam) - _loss(V - e, s, G, lam)) / (2 * h)
        for idx in np.ndindex(s.shape):
            e = np.zeros_like(s)
            e[idx] = h
            gs[idx] = (_loss(V, s + e, G, lam) - _loss(V, s - e, G, lam)) / (2 * h)
        J = [np.diag(sk) - np.outer(sk, sk) for sk in s]
        proj = np.array([(Jk @ Jk if form == "J2" else Jk) @ -gk for Jk, gk in zip(J, gs, strict=True)])
        np.testing.assert_allclose(dV, -gV, rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(ds, proj, rtol=1e-7, atol=1e-8)
        obs = cm.observables(y[None], p)
        assert obs["loss"][0] == pytest.approx(_loss(V, s, G, lam), rel=1e-12)
        Rm = G - V.T @ s
        for j in range(K):
            assert obs[f"ell{j + 1}"][0] == pytest.approx(0.5 * Rm[j, j] ** 2, rel=1e-12)


def test_default_size_flow_and_positions(suite):
    """The T = 40 models (129 coordinates) give Eq. 4 as well, also with far pattern positions."""
    rng = np.random.default_rng(2)
    for h, k, t, pos in ((3, 3, 40, (1, 2, 3)), (2, 2, 6, (6, 3))):
        cm = R.eq4_model(h, k, t, positions=pos).compile()
        assert cm.n_state == h * (k + t) and R.layout(cm).positions == pos
        V, s = _random_point(rng, h, k, t)
        dV, ds = _velocity_in_s(cm, R.full_state(cm, s, V), cm.pack())
        eV, es = _eq4(V, s, _G(np.array(R.strengths(K=k)), pos, t), 0.0, "replicator")
        np.testing.assert_allclose(dV, eV, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ds, es, rtol=1e-9, atol=1e-13)
    # the flow conserves |x_k| = 1 (replicator) along the whole run
    tr = suite.trajectories["rep_h3"]
    x = tr.y[:, 9:].reshape(len(tr.t), 3, 40)
    assert np.max(np.abs(np.sum(x**2, axis=2) - 1)) < 1e-6
    th = suite.trajectories["j2_h3"].y[:, 9:].reshape(-1, 3, 40)
    assert np.max(np.abs(th.sum(axis=2))) < 1e-6  # J2: sum of logits conserved


@pytest.mark.parametrize("form", R.FORMS)
def test_closed_form_is_the_full_flow_on_equal_backgrounds(small, small_closed, form):
    """Pointwise: with equal background positions the full velocity, projected, is the
    closed-form velocity; integrated: the two trajectories agree to integrator tolerance."""
    cf, cc = small[form], small_closed[form]
    rng = np.random.default_rng(3)
    g, lam = [1.9, 1.1], 0.05
    pf, pc = cf.pack(R.params(cf, g, wd=lam)), cc.pack(R.params(cc, g, T=T, wd=lam))
    for _ in range(3):
        V, s = _random_point(rng, H, K, T)
        s[:, K:] = s[:, K:].mean(axis=1, keepdims=True)  # equal backgrounds
        yf, yc = R.full_state(cf, s, V), R.closed_state(cc, s, V)
        dV, ds = _velocity_in_s(cf, yf, pf)
        dc = cc.f(pc)(0.0, yc)
        np.testing.assert_allclose(dc[: H * K], dV.ravel(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dc[H * K:].reshape(H, K + 1), ds[:, : K + 1], rtol=1e-9, atol=1e-12)
        of, oc = cf.observables(yf[None], pf), cc.observables(yc[None], pc)
        for name in ("loss", "ell1", "ell2", "att1_2", "att2_1"):
            assert oc[name][0] == pytest.approx(of[name][0], rel=1e-10)
        assert oc["mass1"][0] == pytest.approx(1.0, abs=1e-12)
    trf = integrate(cf, yf, R.params(cf, g, wd=lam), t_max=100.0, n_points=200, rtol=1e-10, atol=1e-12)
    trc = integrate(cc, yc, R.params(cc, g, T=T, wd=lam), t_max=100.0, n_points=200, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(R.values(trc), R.values(trf), atol=1e-7)
    np.testing.assert_allclose(R.attention(trc), R.attention(trf)[:, :, : K + 1], atol=1e-7)
    np.testing.assert_allclose(trc.loss, trf.loss, atol=1e-7)


def test_initial_conditions():
    """The notebook's draw, eps = 0, the coordinate maps and the closed projection."""
    s = R.initial_attention(3, 40, 1e-6, 0)
    ref = np.clip(np.full((3, 40), 1 / 40) + 1e-6 * np.random.default_rng(0).normal(size=(3, 40)), 1e-12, None)
    np.testing.assert_array_equal(s, ref / ref.sum(axis=1, keepdims=True))
    assert np.array_equal(R.initial_attention(3, 40, 0.0), np.full((3, 40), 1 / 40))
    for form in R.FORMS:
        m = R.eq4_model(H, K, T, form, weight_decay=True)
        s6 = R.initial_attention(H, T, 1e-3, 5)
        y = R.full_state(m, s6)
        np.testing.assert_allclose(R.attention(y[None], m)[0], s6, rtol=1e-12)
        assert np.array_equal(R.values(y[None], m)[0], np.zeros((H, K)))
        np.testing.assert_array_equal(R.initial_state(m, 1e-3, 5), y)
        c = R.closed_model(H, K, form, weight_decay=True)
        yc = R.initial_state(c, 1e-3, 5, T=T)
        np.testing.assert_allclose(yc[H * K:].reshape(H, K + 1),
                                   np.column_stack([s6[:, :K], s6[:, K:].mean(axis=1)]), rtol=1e-14)
    assert R.layout(R.eq4_model(2, 2, 9, "J2", positions=(9, 4))) == R.Layout("full", "J2", 2, 2, 9, (9, 4), False)
    assert R.strengths(1.7, 3) == pytest.approx((2.89, 1.7, 1.0))


def test_validation():
    with pytest.raises(ValueError, match="h must be"):
        R.eq4_model(0)
    with pytest.raises(ValueError, match="h must be"):
        R.eq4_model(True)
    with pytest.raises(ValueError, match="T must be"):
        R.eq4_model(2, 3, 2)
    with pytest.raises(ValueError, match="K must be"):
        R.closed_model(2, 0)
    with pytest.raises(ValueError, match="form must be"):
        R.eq4_model(2, 2, 5, "J3")
    with pytest.raises(ValueError, match="form must be"):
        R.closed_model(2, 2, "softmax")
    with pytest.raises(ValueError, match="distinct"):
        R.eq4_model(2, 2, 5, positions=(3, 3))
    with pytest.raises(ValueError, match="one position per pattern"):
        R.eq4_model(2, 2, 5, positions=(1,))
    with pytest.raises(ValueError, match="each position"):
        R.eq4_model(2, 2, 5, positions=(1, 6))
    m, c = R.eq4_model(H, K, T), R.closed_model(H, K)
    with pytest.raises(ValueError, match="needs T"):
        R.params(c, [1.0, 2.0])
    with pytest.raises(ValueError, match="without weight decay"):
        R.params(m, wd=0.1)
    with pytest.raises(ValueError, match="positive finite strengths"):
        R.params(m, [1.0, -2.0])
    with pytest.raises(ValueError, match="shape"):
        R.full_state(m, np.full((H, T + 1), 1 / (T + 1)))
    with pytest.raises(ValueError, match="sum to 1"):
        R.full_state(m, np.full((H, T), 0.5))
    with pytest.raises(ValueError, match="closed_state"):
        R.full_state(c, np.full((H, T), 1 / T))
    with pytest.raises(ValueError, match="full_state"):
        R.closed_state(m, np.full((H, T), 1 / T))
    with pytest.raises(ValueError, match="eps must be"):
        R.initial_attention(2, 5, -1.0)
    with pytest.raises(ValueError, match="not a model built"):
        R.layout(ReducedModel.from_loss("other", [m.state[0]], [], m.state[0] ** 2))
    with pytest.raises(ValueError, match="eps_sweep"):
        E.ode_suite(eps_sweep=(1e-4, 1e-8, 1e-10))
    with pytest.raises(ValueError, match="T must be"):
        E.ode_suite(T=2)


# ----------------------------------------------------------------------------- claims
@pytest.fixture(scope="module")
def suite():
    return E.ode_suite(quick=True)


def test_suite_claims_pass(suite):
    """Every claim passes on Eq. 4 (the literal argmax reading of the hand-off is not a claim:
    the head recruited at the last drop ends split, so its argmax does not move)."""
    by = {c.id: c for c in suite.claims}
    failing = [str(c) for c in by.values() if not c.passed]
    assert not failing, failing
    assert len(by) == 16 and all(c.why and c.tolerance >= 0 for c in by.values())
    assert "yuksel2026.ode-handoff-argmax" not in by
    ho = by["yuksel2026.ode-handoff"]
    assert ho.measured == [1, 1] and ho.source == "paper"
    # the recruited head at the last drop splits about 0.52 / 0.48 between p_1 and p_3 ...
    split = max(ho.details["final_attention_on_patterns"], key=lambda a: a[2])
    assert split[0] == pytest.approx(0.52, abs=0.02) and split[2] == pytest.approx(0.48, abs=0.02)
    # ... so no head's most attended position changes across that drop, although one is recruited
    before, after = ho.details["argmax_positions_either_side"][1]
    assert before == after and ho.details["recruited_heads"][1] != []
    n = suite.numbers
    assert n["transition_times"] == pytest.approx([4.54, 51.07, 233.8], rel=2e-3)
    assert n["transition_times_eps0"][1] > max(n["t2_eps"])  # eps = 0 exits last (rounding-seeded)
    # the J2 slowdown's tolerance assumes a standard error of the 8-draw mean <= 0.05 in log10
    j2 = by["yuksel2026.ode-j2-slower"]
    assert max(j2.details["stderr_log10"]) <= 0.05 and len(j2.details["t_J2"]) == len(E.J2_SEEDS)


def test_negative_controls(suite):
    trs, n, g = suite.trajectories, suite.numbers, R.strengths()
    main = trs["rep_h3"]
    assert C.claim_plateaus(main, g).passed
    assert not C.claim_plateaus(main, g, levels=CF.plateau_levels((2.89, 1.7, 1.2))[1:3]).passed
    assert not C.claim_final_level(trs["rep_h2"], g, level=CF.plateau_levels(g)[1]).passed
    assert not C.claim_final_level(trs["rep_h1"], g, level=CF.plateau_levels(g)[2]).passed
    assert not C.claim_final_level(main, g, level=0.5).passed
    hs = {h: trs[f"rep_h{h}"] for h in (1, 2, 3)}
    assert not C.claim_drops(hs, predicted=[3, 3, 3]).passed
    far, g_far = trs["rep_far"], n["g_far"]  # quick: strongest pattern at position 3
    assert C.claim_order(far, g_far).passed
    assert not C.claim_order(far, g_far, predicted=C.claim_order(far, g_far).details["order_by_position"]).passed
    by_eps = {e: trs[f"rep_eps{e:.0e}"] for e in n["eps"]}
    assert not C.claim_competitive(by_eps, predicted=0.5).passed
    assert not C.claim_competitive_share(main, g, heads_sharing=1).passed
    assert not C.claim_t1_scaling(n["g1"], n["t1_g1_sweep"], predicted=-0.5).passed
    assert not C.claim_t1_scaling(n["g1"], n["t1_g1_sweep"], predicted=-2.0).passed
    assert not C.claim_t1_g1(n["g1"], n["t1_g1_sweep"], predicted=9.0).passed
    saxe = [n["t1_eps"][n["eps"].index(1e-6)] + math.log(1e-6 / e) / g[0] for e in n["eps"]]
    assert not C.claim_t1_eps(n["eps"], n["t1_eps"], predicted=saxe).passed
    eps_min = min(n["eps"])
    t2_min = M.transition_times(by_eps[eps_min])[1]
    assert not C.claim_symmetric_start(by_eps[eps_min], t2_min, g).passed  # eps > 0 has dropped
    assert not C.claim_symmetric_start(trs["rep_eps0"], t2_min, g, level=0.5).passed
    assert not C.claim_handoff(main, predicted=[3, 3]).passed
    assert not C.claim_handoff(main, predicted=[1, 0]).passed  # the argmax count at the last drop
    t_rep, t_j2 = n["transition_times_by_seed"], n["transition_times_J2_by_seed"]
    assert C.claim_j2_slower(t_rep, t_j2).passed
    assert not C.claim_j2_slower(t_rep, t_j2, slowdown=1.0).passed  # "not slower"
    assert not C.claim_j2_slower(t_rep, t_j2, slowdown=40.0).passed  # one factor T
    assert not C.claim_j2_slower(t_rep, t_j2, slowdown=12.5).passed  # one draw's t_3 ratio
    assert not C.claim_j2_slower(t_rep, t_j2, slowdown=3.0).passed
    assert not C.claim_order(trs["j2_h3"], g, predicted=[3, 2, 1]).passed
    # closed form with the wrong multiplicity (T = 20 instead of 40)
    cc = R.closed_model(3, 3).compile()
    wrong = M.run(cc, T=20, t_max=1e3, n_points=2000)
    assert not C.claim_closed_vs_full(main, wrong).passed
    with pytest.raises(ValueError, match="all learned"):
        C.claim_plateaus(trs["rep_h1"], g)


def test_notebook_euler_claim(suite):
    """The authors' Euler integrator agrees on t_1 (a short run); wrong times fail."""
    eu = M.notebook_euler(steps=2000, record_every=2)  # t <= 10: the first drop only
    t1 = first_crossing(eu["t"], eu["ell"][:, 0], float(eu["ell"][0, 0]) / 2)
    t_flow = suite.numbers["transition_times"]
    assert C.claim_notebook_euler(t_flow[:1], [t1]).passed
    assert not C.claim_notebook_euler(t_flow[:1], [1.05 * t1]).passed
    assert eu["loss"][0] == pytest.approx(CF.plateau_levels(R.strengths())[0])
