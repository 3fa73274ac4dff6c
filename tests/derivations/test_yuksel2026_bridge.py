"""yuksel2026 direct bridge (spec 5.3): GD on the regression variant against the J2 form of Eq. 4.

Every positive check has a negative control next to it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations.yuksel2026 import bridge as B
from dynamics.direct import assert_grad_ok, check_grad


@pytest.fixture(scope="module")
def setting() -> B.BridgeSetting:
    return B.BridgeSetting()


@pytest.fixture(scope="module")
def teacher(setting) -> B.Teacher:
    return setting.teacher()


@pytest.fixture(scope="module")
def errors(setting) -> list[dict[str, float]]:
    return B.bridge_errors(setting)


def _random_point(teacher: B.Teacher, h: int = 3, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"theta": rng.standard_normal((h, teacher.T)),
            "W": rng.standard_normal((h, teacher.d, teacher.d))}


# ------------------------------------------------------------------------ teacher geometry
def test_teacher_coordinates_and_strength_factor(teacher):
    d, K = teacher.d, teacher.K
    gram = np.einsum("iab,jab->ij", teacher.Q, teacher.Q)
    np.testing.assert_allclose(gram, d * np.eye(K), atol=1e-12)  # ||Q_j||_F = sqrt(d), orthogonal
    np.testing.assert_allclose(teacher.c, [1.7**2, 1.7, 1.0])
    # <vec M_l, u_j> is G[j, l], and G[j, p_j] = g_j = c_j sqrt(d) for singleton spans
    proj = teacher.M.reshape(teacher.T, -1) @ teacher.U.T  # (T, K)
    np.testing.assert_allclose(proj.T, teacher.G, atol=1e-12)
    np.testing.assert_allclose(np.diag(teacher.G[:, :K]), teacher.c * math.sqrt(d), rtol=1e-12)
    assert not np.allclose(np.diag(teacher.G[:, :K]), teacher.c)  # the sqrt(d) factor matters
    np.testing.assert_allclose(teacher.plateaus(), 0.5 * np.array(
        [np.sum(teacher.g[k:] ** 2) for k in range(K + 1)]), rtol=1e-12)


# --------------------------------------------------------------------------- gradients
def test_gradients_are_exact(teacher):
    p = _random_point(teacher)
    X = B.sample_inputs(teacher, 64, np.random.default_rng(3))
    Sigma = B.batch_moments(X, teacher)
    fns = {
        "population": lambda q: B.population_loss_and_grad(q["theta"], q["W"], teacher),
        "sample": lambda q: B.sample_loss_and_grad(q["theta"], q["W"], teacher, X),
        "moment": lambda q: B.moment_loss_and_grad(q["theta"], q["W"], teacher, Sigma),
    }
    for f in fns.values():
        # losses ~ 1e2: finite-difference floor ~ 1e-16 * 1e2 / 1e-6 = 1e-8, so atol 1e-7
        assert_grad_ok(f, p, rtol=1e-6, atol=1e-7)
    # negative control: dropping the softmax Jacobian (dL/ds instead of dL/dtheta) is caught
    loss, g = fns["population"](p)
    s = np.exp(p["theta"]) / np.exp(p["theta"]).sum(1, keepdims=True)
    wrong = {"theta": g["theta"] / s, "W": g["W"]}
    assert not check_grad(fns["population"], p, wrong, rtol=1e-6, atol=1e-7).ok


def test_moment_form_equals_raw_backward(teacher):
    p = _random_point(teacher, seed=2)
    X = B.sample_inputs(teacher, 200, np.random.default_rng(4))
    l1, g1 = B.sample_loss_and_grad(p["theta"], p["W"], teacher, X)
    l2, g2 = B.moment_loss_and_grad(p["theta"], p["W"], teacher, B.batch_moments(X, teacher))
    assert l2 == pytest.approx(l1, rel=1e-12)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-10, atol=1e-12)
    # Sigma = I is the population loss
    l3, g3 = B.moment_loss_and_grad(p["theta"], p["W"], teacher, np.eye(teacher.T * teacher.d))
    l4, g4 = B.population_loss_and_grad(p["theta"], p["W"], teacher)
    assert l3 == pytest.approx(l4, rel=1e-12)
    np.testing.assert_allclose(g3["theta"], g4["theta"], rtol=1e-10, atol=1e-12)
    assert abs(l1 - l4) > 1e-3 * l4  # a finite batch is not the population


# ----------------------------------------------------------------------- loss identities
def test_population_loss_is_eq4(teacher):
    p = _random_point(teacher, seed=5)
    loss, _ = B.population_loss_and_grad(p["theta"], p["W"], teacher)
    V, s = B.reduce(p["theta"], p["W"], teacher)
    Wf = p["W"].reshape(3, -1)
    Wperp = Wf - V @ teacher.U  # (h, d*d)
    eq4 = 0.5 * np.sum((teacher.G - V.T @ s) ** 2)
    perp = 0.5 * np.sum((s.T @ Wperp) ** 2)
    assert loss == pytest.approx(eq4 + perp, rel=1e-12)
    assert abs(loss - eq4) > 1.0  # the complement counts when W has one ...
    W_in = (V @ teacher.U).reshape(p["W"].shape)  # ... and vanishes inside span(u_j)
    assert B.population_loss_and_grad(p["theta"], W_in, teacher)[0] == pytest.approx(eq4, rel=1e-12)


def test_population_loss_matches_monte_carlo(teacher):
    """1/2 E||y - y_hat||^2 over fresh windows equals the closed form within 4 standard
    errors: the per-window losses are i.i.d. with finite variance, so their mean is
    asymptotically normal with SE = std / sqrt(n); at n = 40000 a 4-SE miss has probability
    6e-5 (the seed is fixed, so the test is deterministic)."""
    p = _random_point(teacher, seed=6)
    loss, _ = B.population_loss_and_grad(p["theta"], p["W"], teacher)
    X = B.sample_inputs(teacher, 40_000, np.random.default_rng(7))
    per = np.array([B.sample_loss_and_grad(p["theta"], p["W"], teacher, X[i:i + 1])[0]
                    for i in range(0, 2000)])  # raw per-window path on a subset
    mean_all = B.sample_loss_and_grad(p["theta"], p["W"], teacher, X)[0]
    Xf = X.reshape(X.shape[0], -1)
    V, s = B.reduce(p["theta"], p["W"], teacher)
    P = (s.T @ p["W"].reshape(3, -1)).reshape(teacher.T, teacher.d, teacher.d)
    R = teacher.M - P
    Rc = R.transpose(1, 0, 2).reshape(teacher.d, -1)
    per_all = 0.5 * np.sum((Xf @ Rc.T) ** 2, axis=1)  # (n,)
    np.testing.assert_allclose(per_all[:2000], per, rtol=1e-12)
    assert per_all.mean() == pytest.approx(mean_all, rel=1e-12)
    se = per_all.std(ddof=1) / math.sqrt(per_all.size)
    assert abs(mean_all - loss) <= 4 * se
    # negative controls: other normalisations (no 1/2, or averaged over the d coordinates)
    assert abs(mean_all - 2 * loss) > 4 * se and abs(mean_all - loss / teacher.d) > 4 * se


def test_wishart_moments_have_the_batch_law():
    t = B.make_teacher(d=2, T=2, spans=((1,),), rng=np.random.default_rng(0))
    rng = np.random.default_rng(8)
    batch, n_draw = 500, 600
    W = np.array([B.wishart_moments(t, batch, rng) for _ in range(n_draw)])
    D = np.array([B.batch_moments(B.sample_inputs(t, batch, rng), t) for _ in range(n_draw)])
    for S in (W, D):
        # entries of Sigma_B: mean delta_ij, variance (1 + delta_ij) / B; 600 draws give the
        # variance to ~6% (sd of a sample variance ~ sqrt(2/600)); allow 25%
        np.testing.assert_allclose(S.mean(0), np.eye(4), atol=5 * math.sqrt(2 / batch / n_draw))
        var = S.var(0, ddof=1) * batch
        np.testing.assert_allclose(var, 1 + np.eye(4), rtol=0.25)
    # negative control: the law at 4x the batch has a clearly smaller variance
    W4 = np.array([B.wishart_moments(t, 4 * batch, rng) for _ in range(n_draw)])
    assert np.all(W4.var(0, ddof=1) * batch < 0.5 * (1 + np.eye(4)))


# ------------------------------------------------------------------------------- the flow
def test_flow_stages_and_state_forms(setting, teacher):
    flow = B.reference_flow(setting)
    Ls = teacher.plateaus()  # 36.73, 11.67, 3.00, 0
    assert flow.loss[0] == pytest.approx(Ls[0], rel=1e-12)
    for k in (1, 2):  # the loss passes through each plateau (within 1%)
        assert np.min(np.abs(flow.loss - Ls[k]) / Ls[k]) < 0.01
    assert flow.loss[-1] < 0.01 * Ls[2]  # all three stages done by t_max
    np.testing.assert_allclose(flow.s.sum(-1), 1.0, atol=1e-9)
    # the theta form (dtheta = J R^T V) is the same flow as the s form (ds = J^2 R^T V)
    theta0, W0 = setting.init()
    alt = B.j2_flow(teacher, theta0, W0, setting.t_record()[:101], state="theta")
    dev = B.deviation(alt, B.BridgeRun(alt.t, flow.loss[:101], flow.V[:101], flow.s[:101],
                                       flow.mass[:101], flow.w_perp[:101]))
    assert dev["max"] < 1e-6
    # negative control: exactly symmetric heads (eps = 0) never leave the first plateau
    sym = B.j2_flow(teacher, np.zeros_like(theta0), W0, setting.t_record()[::10])
    assert np.all(np.abs(sym.loss[sym.t >= 20] - Ls[1]) / Ls[1] < 0.01)


# ------------------------------------------------------------------------- the bridge
def test_gd_error_shrinks_like_lr(setting, errors):
    e = np.array([x["max"] for x in errors])
    lrs = np.array(setting.lrs)
    assert np.all(np.diff(e) < 0) and np.all(np.diff(lrs) < 0)
    np.testing.assert_allclose(e[:-1] / e[1:], 2.0, rtol=0.05)  # halving lr halves the error
    assert e[-1] < 0.05
    c = B.claim_bridge(setting.lrs, e)
    assert c.passed and c.id == "yuksel2026.bridge" and c.why
    assert c.measured == pytest.approx(1.0, abs=0.05)
    # negative controls: a second-order prediction, and an lr-independent error
    assert not B.claim_bridge(setting.lrs, e, predicted=2.0).passed
    assert not B.claim_bridge(setting.lrs, np.full(e.size, e[0])).passed


def test_gd_population_run_records(setting, teacher):
    theta0, W0 = setting.init()
    run = B.train_gd(teacher, theta0, W0, lr=0.02, t_record=[0.0, 1.0, 2.0])
    assert run.stats["steps"] == 100
    np.testing.assert_allclose(run.w_perp, 0.0, atol=1e-12)  # W stays in span(u_j) from W0 = 0
    np.testing.assert_allclose(run.mass[:, :, 0], run.s[:, :, 0])  # singleton spans
    tr = run.to_trajectory()
    assert len(tr) == 3 and "V[0,0]" in tr.names and "s[2,8]" in tr.names
    assert tr.loss[0] == pytest.approx(teacher.plateaus()[0])
    np.testing.assert_array_equal(theta0, setting.init()[0])  # inputs untouched


def test_sample_claim_large_batch_passes_small_fails(setting, errors):
    big = B.sample_deviation(setting)
    euler = big["euler"]
    assert euler == pytest.approx(errors[setting.lrs.index(setting.sample_lr)]["max"], rel=1e-12)
    c = B.claim_bridge_sample(big["max"], setting.batch, euler=euler)
    assert c.passed and c.id == "yuksel2026.bridge-sample", c
    assert big["mc"] < B.MC_SENSITIVITY * math.sqrt(48 / setting.batch)
    # negative control 1: a tolerance that ignores the saddle amplification and the Euler part
    naive = math.sqrt(setting.T * setting.d / setting.batch)
    assert not B.claim_bridge_sample(big["max"], setting.batch, euler=euler, tol=naive).passed
    # negative control 2: a tiny materialised batch is far from the flow
    tiny = B.sample_deviation(setting, 100, draw="data")
    assert tiny["max"] > 1.0
    assert not B.claim_bridge_sample(tiny["max"], 100, euler=tiny["euler"]).passed


def test_fresh_batches_average_the_noise(setting):
    fresh = B.sample_deviation(setting, 512, fresh=True, t_max=10.0)
    fixed = B.sample_deviation(setting, 512, draw="data", t_max=10.0)
    assert fresh["w_perp"] > 0  # sampled gradients leave span(u_j) ...
    assert fresh["mc"] < 0.1  # ... but fresh noise averages over steps
    assert fresh["mc"] < fixed["mc"]


# ---------------------------------------------------------------------------- bad inputs
def test_bad_inputs_raise(setting, teacher):
    theta0, W0 = setting.init()
    t = [0.0, 1.0]
    cases = [
        (lambda: B.make_teacher(spans=((1,), (1, 2))), "disjoint"),
        (lambda: B.make_teacher(T=4, spans=((5,),)), "outside 1..T"),
        (lambda: B.make_teacher(spans=((1.5,),)), "integer lags"),
        (lambda: B.make_teacher(d=1, spans=((1,), (2,))), "K <= d"),
        (lambda: B.make_teacher(m=-1.0), "m must be"),
        (lambda: B.Teacher(np.ones((1, 2, 2)), np.ones(1), ((1,),), 3), "Frobenius-orthogonal"),
        (lambda: B.population_loss_and_grad(theta0[:, :3], W0, teacher), "theta must have shape"),
        (lambda: B.population_loss_and_grad(theta0, W0[:, :2], teacher), "W must have shape"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.0, t_record=t), "lr must be"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.3, t_record=t), "multiples of lr"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.1, t_record=[1.0, 0.0]), "increasing"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.1, t_record=t, mode="adam"), "mode"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.1, t_record=t, mode="sample"), "batch"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.1, t_record=t, batch=10), "sample mode"),
        (lambda: B.train_gd(teacher, theta0, W0, lr=0.1, t_record=t, mode="sample", batch=99,
                            fresh=True, draw="wishart"), "fixed batch"),
        (lambda: B.wishart_moments(teacher, 10, np.random.default_rng(0)), "batch must be"),
        (lambda: B.j2_flow(teacher, theta0, W0 + 1.0, t), "outside span"),
        (lambda: B.j2_flow(teacher, theta0, W0, t, state="q"), "state"),
        (lambda: B.claim_bridge([0.01, 0.02], [1.0, 2.0]), "at least 3"),
        (lambda: B.claim_bridge([0.01, 0.02, 0.04], [1.0, 0.0, 2.0]), "errors must be"),
        (lambda: B.claim_bridge_sample(0.1, 0, euler=0.0), "batch must be"),
        (lambda: B.claim_bridge_sample(0.1, 10, euler=-1.0), "euler must be"),
        (lambda: B.BridgeSetting(lrs=(0.3,)), "multiples of lr"),
        (lambda: B.BridgeSetting(t_max=10.5), "multiple of dt_record"),
        (lambda: B.BridgeSetting(h=0), "h must be"),
    ]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()
    with pytest.raises(FloatingPointError, match="too large"):
        B.train_gd(teacher, theta0, W0, lr=20.0, t_record=[0.0, 20_000.0])
