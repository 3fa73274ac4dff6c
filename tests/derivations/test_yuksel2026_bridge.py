"""yuksel2026 direct bridge (spec 5.3): GD on the regression variant against the J2 form of Eq. 4.

Every positive check has a negative control next to it. The hand-written J2 right-hand side
below is a test oracle only: the bridge itself integrates the pipeline's compiled Eq. 4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from derivations.yuksel2026 import bridge as B
from derivations.yuksel2026 import claims as C
from derivations.yuksel2026 import regression as G
from derivations.yuksel2026.data import Teacher
from dynamics.direct import assert_grad_ok, check_grad
from dynamics.trajectory import Trajectory


@pytest.fixture(scope="module")
def student() -> G.RegressionStudent:
    return B.DEFAULT


@pytest.fixture(scope="module")
def errors(student) -> list[dict[str, float]]:
    return B.bridge_errors(student)


def _random_point(student: G.RegressionStudent, h: int = 3, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"theta": rng.standard_normal((h, student.T)),
            "W": rng.standard_normal((h, student.d, student.d))}


def _softmax(theta: np.ndarray) -> np.ndarray:
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------ teacher geometry
def test_teacher_coordinates_and_strength_factor(student):
    d, K = student.d, student.K
    assert isinstance(student.teacher, Teacher) and student.teacher.orthogonal == "frobenius"
    gram = np.einsum("iab,jab->ij", student.Q, student.Q)
    np.testing.assert_allclose(gram, d * np.eye(K), atol=1e-12)  # ||Q_j||_F = sqrt(d), orthogonal
    c = student.teacher.constants[list(student.teacher.importance)]
    np.testing.assert_allclose(c, [1.7**2, 1.7, 1.0])
    # <vec M_l, u_j> is G[j, l], and G[j, p_j] = g_j = c_j sqrt(d) for singleton spans
    proj = student.M.reshape(student.T, -1) @ student.U.T  # (T, K)
    np.testing.assert_allclose(proj.T, student.G, atol=1e-12)
    np.testing.assert_allclose(np.diag(student.G[:, :K]), c * math.sqrt(d), rtol=1e-12)
    assert not np.allclose(np.diag(student.G[:, :K]), c)  # the sqrt(d) factor matters
    np.testing.assert_allclose(student.plateaus(), 0.5 * np.array(
        [np.sum(student.g[k:] ** 2) for k in range(K + 1)]), rtol=1e-12)
    assert student.positions == (1, 2, 3)


def test_one_teacher_regression_targets(student):
    """The student's per-lag matrices M_l are the one Teacher's regression map: y_t from
    Teacher.regression_targets equals sum_l M_l x_{t+1-l} on the same tokens."""
    t = student.teacher
    x = np.random.default_rng(2).standard_normal((5, t.C, t.d))  # one target per sequence
    y = t.regression_targets(x)[:, 0]  # (5, d)
    X = np.zeros((5, student.T, student.d))
    X[:, : t.C] = x[:, ::-1]  # X[b, l - 1] = x_{t+1-l}, lag 1 the newest
    np.testing.assert_allclose(np.einsum("lab,nlb->na", student.M, X), y, rtol=1e-12, atol=1e-12)
    # negative control: the oldest-first order of the tokens is not the window
    assert not np.allclose(np.einsum("lab,nlb->na", student.M[: t.C], x), y)


# --------------------------------------------------------------------------- gradients
def test_gradients_are_exact(student):
    p = _random_point(student)
    X = G.sample_inputs(student, 64, np.random.default_rng(3))
    Sigma = G.batch_moments(X, student)
    fns = {
        "population": lambda q: G.population_loss_and_grad(q, student),
        "sample": lambda q: G.sample_loss_and_grad(q, student, X),
        "moment": lambda q: G.moment_loss_and_grad(q, student, Sigma),
    }
    for f in fns.values():
        # losses ~ 1e2: finite-difference floor ~ 1e-16 * 1e2 / 1e-6 = 1e-8, so atol 1e-7
        assert_grad_ok(f, p, rtol=1e-6, atol=1e-7)
    # negative control: dropping the softmax Jacobian (dL/ds instead of dL/dtheta) is caught
    loss, g = fns["population"](p)
    s = np.exp(p["theta"]) / np.exp(p["theta"]).sum(1, keepdims=True)
    wrong = {"theta": g["theta"] / s, "W": g["W"]}
    assert not check_grad(fns["population"], p, wrong, rtol=1e-6, atol=1e-7).ok


def test_moment_form_equals_raw_backward(student):
    p = _random_point(student, seed=2)
    X = G.sample_inputs(student, 200, np.random.default_rng(4))
    l1, g1 = G.sample_loss_and_grad(p, student, X)
    l2, g2 = G.moment_loss_and_grad(p, student, G.batch_moments(X, student))
    assert l2 == pytest.approx(l1, rel=1e-12)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-10, atol=1e-12)
    # Sigma = I is the population loss
    l3, g3 = G.moment_loss_and_grad(p, student, np.eye(student.T * student.d))
    l4, g4 = G.population_loss_and_grad(p, student)
    assert l3 == pytest.approx(l4, rel=1e-12)
    np.testing.assert_allclose(g3["theta"], g4["theta"], rtol=1e-10, atol=1e-12)
    assert abs(l1 - l4) > 1e-3 * l4  # a finite batch is not the population


# ----------------------------------------------------------------------- loss identities
def test_population_loss_is_eq4(student):
    p = _random_point(student, seed=5)
    loss, _ = G.population_loss_and_grad(p, student)
    Wf = p["W"].reshape(3, -1)
    V, s = Wf @ student.U.T, _softmax(p["theta"])
    red = student.reduce(p)
    assert red["V[1,2]"] == pytest.approx(V[1, 2]) and red["s[2,8]"] == pytest.approx(s[2, 7])
    Wperp = Wf - V @ student.U  # (h, d*d)
    eq4 = 0.5 * np.sum((student.G - V.T @ s) ** 2)
    perp = 0.5 * np.sum((s.T @ Wperp) ** 2)
    assert loss == pytest.approx(eq4 + perp, rel=1e-12)
    assert abs(loss - eq4) > 1.0  # the complement counts when W has one ...
    W_in = (V @ student.U).reshape(p["W"].shape)  # ... and vanishes inside span(u_j)
    inside = {"theta": p["theta"], "W": W_in}
    assert G.population_loss_and_grad(inside, student)[0] == pytest.approx(eq4, rel=1e-12)


def test_population_loss_matches_monte_carlo(student):
    """1/2 E||y - y_hat||^2 over fresh windows equals the closed form within 4 standard
    errors: the per-window losses are i.i.d. with finite variance, so their mean is
    asymptotically normal with SE = std / sqrt(n); at n = 40000 a 4-SE miss has probability
    6e-5 (the seed is fixed, so the test is deterministic)."""
    p = _random_point(student, seed=6)
    loss, _ = G.population_loss_and_grad(p, student)
    X = G.sample_inputs(student, 40_000, np.random.default_rng(7))
    per = np.array([G.sample_loss_and_grad(p, student, X[i:i + 1])[0]
                    for i in range(0, 2000)])  # raw per-window path on a subset
    mean_all = G.sample_loss_and_grad(p, student, X)[0]
    Xf = X.reshape(X.shape[0], -1)
    s = _softmax(p["theta"])
    P = (s.T @ p["W"].reshape(3, -1)).reshape(student.T, student.d, student.d)
    R = student.M - P
    Rc = R.transpose(1, 0, 2).reshape(student.d, -1)
    per_all = 0.5 * np.sum((Xf @ Rc.T) ** 2, axis=1)  # (n,)
    np.testing.assert_allclose(per_all[:2000], per, rtol=1e-12)
    assert per_all.mean() == pytest.approx(mean_all, rel=1e-12)
    se = per_all.std(ddof=1) / math.sqrt(per_all.size)
    assert abs(mean_all - loss) <= 4 * se
    # negative controls: other normalisations (no 1/2, or averaged over the d coordinates)
    assert abs(mean_all - 2 * loss) > 4 * se and abs(mean_all - loss / student.d) > 4 * se


def test_wishart_moments_have_the_batch_law():
    t = G.RegressionStudent(d=2, T=2, K=1)
    rng = np.random.default_rng(8)
    batch, n_draw = 500, 600
    W = np.array([G.wishart_moments(t, batch, rng) for _ in range(n_draw)])
    D = np.array([G.batch_moments(G.sample_inputs(t, batch, rng), t) for _ in range(n_draw)])
    for S in (W, D):
        # entries of Sigma_B: mean delta_ij, variance (1 + delta_ij) / B; 600 draws give the
        # variance to ~6% (sd of a sample variance ~ sqrt(2/600)); allow 25%
        np.testing.assert_allclose(S.mean(0), np.eye(4), atol=5 * math.sqrt(2 / batch / n_draw))
        var = S.var(0, ddof=1) * batch
        np.testing.assert_allclose(var, 1 + np.eye(4), rtol=0.25)
    # negative control: the law at 4x the batch has a clearly smaller variance
    W4 = np.array([G.wishart_moments(t, 4 * batch, rng) for _ in range(n_draw)])
    assert np.all(W4.var(0, ddof=1) * batch < 0.5 * (1 + np.eye(4)))


# ------------------------------------------------------------------------------- the flow
def _handwritten_j2(student, params0, t, state="s"):
    """Test oracle: the J2 form of Eq. 4 typed in by hand, dV_k = R s_k and ds_k = J_k^2 R^T V_k
    (``state="s"``) or dtheta_k = J_k R^T V_k (``"theta"``), integrated by LSODA;
    ``"replicator"`` is ds_k = J_k R^T V_k (a different flow: a negative control)."""
    h, K, T = params0["theta"].shape[0], student.K, student.T
    nV = h * K

    def rhs(_t, y):
        V = y[:nV].reshape(h, K)
        s = _softmax(y[nV:].reshape(h, T)) if state == "theta" else y[nV:].reshape(h, T)
        Rm = student.G - V.T @ s  # (K, T)
        a = V @ Rm  # (h, T): a_k = R^T V_k
        Ja = s * (a - np.sum(s * a, axis=1, keepdims=True))
        if state == "s":
            Ja = s * (Ja - np.sum(s * Ja, axis=1, keepdims=True))
        return np.concatenate([(s @ Rm.T).ravel(), Ja.ravel()])

    V0 = params0["W"].reshape(h, -1) @ student.U.T
    x0 = params0["theta"] if state == "theta" else _softmax(params0["theta"])
    sol = solve_ivp(rhs, (0.0, float(t[-1])), np.concatenate([V0.ravel(), x0.ravel()]), method="LSODA",
                    t_eval=t, rtol=1e-10, atol=1e-12)
    Y = sol.y.T
    V, x = Y[:, :nV].reshape(-1, h, K), Y[:, nV:].reshape(-1, h, T)
    return V, (_softmax(x) if state == "theta" else x)


def test_flow_stages_and_handwritten_oracle(student):
    flow = B.reference_flow(student)
    assert isinstance(flow, Trajectory)
    Ls = student.plateaus()  # 36.73, 11.67, 3.00, 0
    assert flow.loss[0] == pytest.approx(Ls[0], rel=1e-12)
    for k in (1, 2):  # the loss passes through each plateau (within 1%)
        assert np.min(np.abs(flow.loss - Ls[k]) / Ls[k]) < 0.01
    assert flow.loss[-1] < 0.01 * Ls[2]  # all three stages done by t_max
    V, s = B.state(flow)
    np.testing.assert_allclose(s.sum(-1), 1.0, atol=1e-9)
    # the pipeline's compiled J2 model is the hand-written J2 flow, in both the s form
    # (ds = J^2 R^T V) and the theta form (dtheta = J R^T V)
    p0 = B.initial_params(student)
    t = flow.t[:101]
    for form in ("s", "theta"):
        Vh, sh = _handwritten_j2(student, p0, t, form)
        assert max(np.max(np.abs(Vh - V[:101])), np.max(np.abs(sh - s[:101]))) < 1e-6
    # negative controls: the replicator form (J instead of J^2) is a different flow ...
    Vr, _ = _handwritten_j2(student, p0, t, "replicator")
    assert np.max(np.abs(Vr - V[:101])) > 0.1
    # ... and exactly symmetric heads (eps = 0) never leave the first plateau
    sym = B.flow(student, {"theta": np.zeros_like(p0["theta"]), "W": p0["W"]}, B.t_grid()[::10])
    assert np.all(np.abs(sym.loss[sym.t >= 20] - Ls[1]) / Ls[1] < 0.01)


# ------------------------------------------------------------------------- the bridge
def test_gd_error_shrinks_like_lr(errors):
    e = np.array([x["max"] for x in errors])
    lrs = np.array(B.LRS)
    assert np.all(np.diff(e) < 0) and np.all(np.diff(lrs) < 0)
    np.testing.assert_allclose(e[:-1] / e[1:], 2.0, rtol=0.05)  # halving lr halves the error
    assert e[-1] < 0.05
    c = C.claim_bridge(B.LRS, e)
    assert c.passed and c.id == "yuksel2026.bridge" and c.why
    assert c.measured == pytest.approx(1.0, abs=0.05)
    # negative controls: a second-order prediction, and an lr-independent error
    assert not C.claim_bridge(B.LRS, e, predicted=2.0).passed
    assert not C.claim_bridge(B.LRS, np.full(e.size, e[0])).passed


def test_gd_population_run_records(student):
    p0 = B.initial_params(student)
    theta0 = p0["theta"].copy()
    run = B.gd(student, p0, lr=0.02, t_record=[0.0, 1.0, 2.0])
    assert isinstance(run, Trajectory) and run.stats["steps"] == 100
    np.testing.assert_allclose(run["w_perp"], 0.0, atol=1e-12)  # W stays in span(u_j) from W0 = 0
    V, s = B.state(run)
    np.testing.assert_allclose(run["mass[1,0]"], s[:, 1, 0])  # singleton spans
    assert len(run) == 3 and "V[0,0]" in run.names and "s[2,8]" in run.names
    assert run.loss[0] == pytest.approx(student.plateaus()[0])
    np.testing.assert_array_equal(run.loss, run["population_loss"])
    np.testing.assert_array_equal(theta0, p0["theta"])  # inputs untouched


def test_sample_claim_large_batch_passes_small_fails(student, errors):
    big = B.sample_deviation(student)
    euler = big["euler"]
    assert euler == pytest.approx(errors[B.LRS.index(0.01)]["max"], rel=1e-12)
    batch = 10**10
    c = C.claim_bridge_sample(big["max"], batch, euler=euler)
    assert c.passed and c.id == "yuksel2026.bridge-sample", c
    assert big["mc"] < C.MC_SENSITIVITY * math.sqrt(48 / batch)
    # negative control 1: a tolerance that ignores the saddle amplification and the Euler part
    naive = math.sqrt(student.T * student.d / batch)
    assert not C.claim_bridge_sample(big["max"], batch, euler=euler, tol=naive).passed
    # negative control 2: a tiny materialised batch is far from the flow
    tiny = B.sample_deviation(student, 100, draw="data")
    assert tiny["max"] > 1.0
    assert not C.claim_bridge_sample(tiny["max"], 100, euler=tiny["euler"]).passed


def test_fresh_batches_average_the_noise(student):
    fresh = B.sample_deviation(student, 512, fresh=True, t_max=10.0)
    fixed = B.sample_deviation(student, 512, draw="data", t_max=10.0)
    assert fresh["w_perp"] > 0  # sampled gradients leave span(u_j) ...
    assert fresh["mc"] < 0.1  # ... but fresh noise averages over steps
    assert fresh["mc"] < fixed["mc"]


# ---------------------------------------------------------------------------- bad inputs
def test_bad_inputs_raise(student):
    p0 = B.initial_params(student)
    t = [0.0, 1.0]
    cases = [
        (lambda: G.RegressionStudent(T=2), "outside the student's window"),
        (lambda: G.RegressionStudent(d=1, K=2), "K <= d"),
        (lambda: G.RegressionStudent(m=-1.0), "m must be"),
        (lambda: G.RegressionStudent(h=0), "h must be"),
        (lambda: Teacher.with_matrices(np.ones((1, 2, 2)), d=2, spans=(1,), orthogonal="frobenius"),
         "Frobenius-orthogonal"),
        (lambda: G.population_loss_and_grad({"theta": p0["theta"][:, :3], "W": p0["W"]}, student),
         "theta must have shape"),
        (lambda: G.population_loss_and_grad({"theta": p0["theta"], "W": p0["W"][:, :2]}, student),
         "W must have shape"),
        (lambda: B.gd(student, p0, lr=0.0, t_record=t), "lr must be"),
        (lambda: B.gd(student, p0, lr=0.3, t_record=t), "multiples of lr"),
        (lambda: B.gd(student, p0, lr=0.1, t_record=[1.0, 0.0]), "increasing"),
        (lambda: B.gd(student, p0, lr=0.1, t_record=t, draw="other"), "draw"),
        (lambda: B.gd(student, p0, lr=0.1, t_record=t, fresh=True), "batch size"),
        (lambda: B.gd(student, p0, lr=0.1, t_record=t, draw="wishart"), "fixed batch"),
        (lambda: B.gd(student, p0, lr=0.1, t_record=t, batch=99, fresh=True, draw="wishart"), "fixed batch"),
        (lambda: G.wishart_moments(student, 10, np.random.default_rng(0)), "batch must be"),
        (lambda: B.flow(student, {"theta": p0["theta"], "W": p0["W"] + 1.0}, t), "outside span"),
        (lambda: B.t_grid(10.5, 1.0), "multiple of dt"),
        (lambda: C.claim_bridge([0.01, 0.02], [1.0, 2.0]), "at least 3"),
        (lambda: C.claim_bridge([0.01, 0.02, 0.04], [1.0, 0.0, 2.0]), "errors must be"),
        (lambda: C.claim_bridge_sample(0.1, 0, euler=0.0), "batch must be"),
        (lambda: C.claim_bridge_sample(0.1, 10, euler=-1.0), "euler must be"),
    ]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()
    with pytest.raises(FloatingPointError, match="too large"):
        B.gd(student, p0, lr=20.0, t_record=[0.0, 20_000.0])
