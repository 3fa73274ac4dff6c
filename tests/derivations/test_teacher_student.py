"""teacher_student (Saad & Solla 1995): fixed points, the SGD model, each claim with its
negative control, and a short SGD run against the ODEs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivations import saad_solla1995 as ss
from dynamics.direct import assert_grad_ok

S = ss.Settings()


@pytest.fixture(scope="module")
def cm():
    return ss.reduced_model(S.eta, S.sigma2).compile("numpy")


def test_settings_refuse_bad_values_by_name():
    with pytest.raises(ValueError, match="N"):
        ss.Settings(N=0)
    with pytest.raises(ValueError, match="sigma2"):
        ss.Settings(sigma2=-1.0)
    with pytest.raises(ValueError, match="asymptote_window"):
        ss.Settings(alpha_max=50.0, asymptote_window=60.0)


def test_settings_refuse_a_single_seed():
    """The plateau and escape tolerances are the spread over seeds: one seed is refused."""
    with pytest.raises(ValueError, match="seeds"):
        ss.Settings(seeds=1)
    assert ss.Settings(seeds=2).seeds == 2


def test_fixed_points_are_the_plateau_saddle_and_the_specialised_point(cm):
    sad = ss.plateau_point(cm, S)
    fin = ss.asymptotic_point(cm, S)
    c = sad.coords
    assert c["Q11"] == pytest.approx(c["Q22"]) and c["Q12"] < c["Q11"]
    assert sad.unstable_dim == 1 and sad.escape_rate > 0
    assert fin.coords["R11"] > 0.9 and abs(fin.coords["R12"]) < 0.1
    # label noise keeps the error above 0 at finite eta, and below the plateau
    assert 0 < fin.observables["loss"] < sad.observables["loss"]
    col = ss.collapsed_point(cm, S)  # the negative controls' wrong plateau
    assert col.coords["Q12"] == pytest.approx(col.coords["Q11"]) and col.unstable_dim == 3
    assert col.observables["loss"] > sad.observables["loss"]


def test_sgd_gradient_is_the_derivative_of_its_loss():
    rng = np.random.default_rng(0)
    Bq, _ = np.linalg.qr(rng.standard_normal((20, 2)))
    dm = ss.SoftCommittee(math.sqrt(20) * Bq.T, 2, 3, 0.25, 0.1)
    params = dm.init(rng)
    batch = dm.sampler(rng, 0)
    _, grads = dm.loss_and_grad(params, batch)
    assert_grad_ok(lambda p: dm.loss_and_grad(p, batch)[0], params, grads)
    red = dm.reduce(params)
    J = params["J"][1]
    assert red["Q12_1"] == pytest.approx(J[0] @ J[1] / 20) and red["R21_1"] == pytest.approx(J[1] @ dm.B[0] / 20)


def test_short_sgd_run_follows_the_odes_from_its_start(cm):
    """N = 400, 2 seeds, alpha up to 8 (the fall onto the plateau): each order parameter
    within 1.5/sqrt(N) of the flow. The SGD's fluctuation of an overlap grows like
    eta sqrt(alpha / N) E[delta^2]^(1/2), about 0.5/sqrt(N) here (0.4-0.6/sqrt(N) measured
    over 3 runs): 3 times that covers the largest of 7 coordinates at 8 records. The flow
    at half the learning rate (off by ~2.7/sqrt(N)) is refused by the same check."""
    s = ss.Settings(N=400, seeds=2, alpha_max=8.0, asymptote_window=1.0)
    tr = ss.run_sgd(s, 2, np.random.default_rng(3), n_record=8)
    tol = 1.5 / math.sqrt(s.N)
    for k in range(2):
        ys = ss.seed_states(tr, k)
        flow = ss.flow_from(cm, ys[0], tr.t, s)
        fy = np.column_stack([flow[c] for c in ss.COORDS])
        assert np.max(np.abs(ys - fy)) <= tol
        slow = ss.flow_from(cm, ys[0], tr.t, ss.Settings(eta=s.eta / 2))
        sy = np.column_stack([slow[c] for c in ss.COORDS])
        assert np.max(np.abs(ys - sy)) > tol


def _curves(rng, alpha, level, drop_at, tail, noise):
    """Synthetic errors: a plateau at ``level`` until ``drop_at``, then a fall to ``tail``."""
    base = tail + (level - tail) / (1 + np.exp((alpha[None, :] - drop_at[:, None]) / 8.0))
    return base + noise * rng.standard_normal(base.shape)


def test_claims_pass_on_consistent_data_and_refuse_a_wrong_prediction():
    rng = np.random.default_rng(1)
    alpha = np.linspace(0, 360, 361)
    drop = np.array([150.0, 160.0, 170.0, 155.0])
    flow = _curves(rng, alpha, 0.030, drop, 0.0114, 0.0)
    sgd = _curves(rng, alpha, 0.030, drop + rng.normal(0, 5, 4), 0.0114, 0.0005)
    window = (20.0, 90.0)
    c = ss.claim_plateau(alpha, sgd, flow, 0.030, window, controls={"collapsed": 0.0313})
    assert c.passed and c.negative_controls[0]["refuted"]
    # a control the measurement cannot tell from the prediction makes the claim not hold
    assert not ss.claim_plateau(alpha, sgd, flow, 0.030, window, controls={"same": 0.03001}).passed
    assert not ss.claim_plateau(alpha, sgd, flow, 0.0313, window).passed  # 4% off
    # the window's own spread enters the tolerance, not the distance to the prediction
    tilted = flow + 0.002 * (alpha < 60)[None, :]
    assert ss.claim_plateau(alpha, sgd, tilted, 0.030, window).tolerance > 0.002
    level = 0.5 * (0.030 + 0.0114)
    c = ss.claim_escape(alpha, sgd, flow, level, window[0])
    assert c.passed
    late = _curves(rng, alpha, 0.030, drop + 60, 0.0114, 0.0)  # a flow that escapes 60 later
    assert not ss.claim_escape(alpha, sgd, late, level, window[0]).passed
    # the synthetic noise is white: correlation time one record (rate 1 per unit alpha)
    assert ss.claim_asymptote(alpha, sgd, flow, 0.0114, 60.0, 1.0).passed
    assert not ss.claim_asymptote(alpha, sgd, flow, 0.0119, 60.0, 1.0).passed  # 4% off
    # a slow correlation time (few independent values in the window) widens the tolerance
    assert ss.claim_asymptote(alpha, sgd, flow, 0.0114, 60.0, 0.02).tolerance > \
        2 * ss.claim_asymptote(alpha, sgd, flow, 0.0114, 60.0, 1.0).tolerance


def test_dynamics_show_prints_the_field_in_named_terms(capsys, monkeypatch):
    """`dynamics show teacher_student`: each named function defined once, and the whole text
    under 2 kB per definition plus 300 characters per equation (it is 4.0 kB; the field with
    the definitions substituted is 10.7 kB, which the same bound refuses)."""
    import sympy as sp

    from dynamics import registry
    from dynamics.cli import main
    from dynamics.symbolic import defined_functions, inline

    monkeypatch.setitem(registry._RUNTIME, "teacher_student", ss.derivation)
    assert main(["show", "teacher_student"]) == 0
    out = capsys.readouterr().out
    m = ss.derivation.model()
    defs = defined_functions(m.vector_field)
    assert {f.__name__ for f in defs} == {"I3", "I4", "J2"}
    for f in defs:
        assert out.count(sp.sstr(f.definition)) == 1
    bound = 2000 * len(defs) + 300 * m.n_state
    assert len(out) <= bound
    assert sum(len(sp.sstr(inline(f))) for f in m.vector_field) > bound  # negative control


def test_compiled_code_agrees_with_the_independent_numpy_path(cm):
    """The generated numba module (gradient helpers in the Jacobian) against sympy.lambdify:
    equal to rounding (1e-12 absolute on O(1) entries: a few ulps of different evaluation
    orders); the numpy Jacobian at another learning rate is refused by the same check."""
    nb = ss.reduced_model(S.eta, S.sigma2).compile("numba")
    p = nb.pack()
    rng = np.random.default_rng(2)
    for _ in range(3):
        y = np.array([0.5, 0.2, 0.45, 0.3, 0.1, 0.05, 0.35]) + 0.05 * rng.standard_normal(7)
        out = []
        for c, pp in ((nb, p), (cm, p), (cm, cm.pack({"eta": 0.25}))):
            f, J = np.empty(7), np.empty((7, 7))
            c.rhs(0.0, y, pp, c.data, c.bounds, f)
            c.jac(0.0, y, pp, c.data, c.bounds, J)
            out.append((f, J))
        assert np.max(np.abs(out[0][0] - out[1][0])) <= 1e-12
        assert np.max(np.abs(out[0][1] - out[1][1])) <= 1e-12
        assert np.max(np.abs(out[0][1] - out[2][1])) > 1e-12


def test_escape_rate_claim_fits_the_growth_and_refuses_another_rate():
    rng = np.random.default_rng(4)
    alpha = np.linspace(0, 200, 201)
    flow = 0.01 * np.exp(0.027 * alpha)[None, :].repeat(4, axis=0)  # |p| 0.03..0.3 for alpha 41..126
    sgd = flow * np.exp(0.05 * rng.standard_normal(flow.shape))
    c = ss.claim_escape_rate(alpha, sgd, flow, 0.027, 10.0, controls={"collapsed": 0.042})
    assert c.passed and c.negative_controls[0]["refuted"]
    assert c.details["flow_rates"] == pytest.approx([0.027] * 4)
    assert not ss.claim_escape_rate(alpha, sgd, flow, 0.029, 10.0).passed  # 7% off
    with pytest.raises(RuntimeError, match="fewer than 5"):
        ss.claim_escape_rate(alpha, sgd, flow, 0.027, 190.0)
