"""Closed-form Gaussian expectations against Monte Carlo, and the teacher-student ODE builder."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dynamics.gaussian import integrals, teacher_student
from dynamics.symbolic import inline

_N_MC = 400_000
_G = {"erf": (lambda x: _erf(x / np.sqrt(2)), lambda x: np.sqrt(2 / np.pi) * np.exp(-x**2 / 2)),
      "linear": (lambda x: x, lambda x: np.ones_like(x)),
      "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float))}


def _erf(x):
    from scipy.special import erf

    return erf(x)


def _cov(rng, n):
    a = rng.normal(size=(n, n))
    return a @ a.T / n + 0.3 * np.eye(n)


def _value(f, *args):
    return float(inline(f(*[sp.Float(a) for a in args])).evalf(16))


def _mc(samples):
    """Mean and its standard error."""
    return samples.mean(), samples.std() / np.sqrt(samples.size)


def _cases(act, C):
    """(name, closed form, Monte Carlo samples) of each expectation available for ``act``."""
    gi = integrals(act)
    rng = np.random.default_rng(7)
    u = rng.multivariate_normal(np.zeros(4), C, size=_N_MC)
    g, dg = _G[act]
    c = C
    out = [
        ("I2", _value(gi.I2, c[0, 0], c[0, 1], c[1, 1]), g(u[:, 0]) * g(u[:, 1])),
        ("J2", _value(gi.J2, c[0, 0], c[0, 1], c[1, 1]), dg(u[:, 0]) * dg(u[:, 1])),
        ("I3", _value(gi.I3, c[0, 0], c[0, 1], c[0, 2], c[1, 2], c[2, 2]), dg(u[:, 0]) * u[:, 1] * g(u[:, 2])),
    ]
    if gi.I4 is not None:
        out.append(("I4", _value(gi.I4, *[c[i, j] for i in range(4) for j in range(i, 4)]),
                    dg(u[:, 0]) * dg(u[:, 1]) * g(u[:, 2]) * g(u[:, 3])))
    return out


@pytest.mark.parametrize("act", ["erf", "linear", "relu"])
def test_closed_forms_agree_with_monte_carlo(act):
    C = _cov(np.random.default_rng(11), 4)
    for name, closed, samples in _cases(act, C):
        mean, se = _mc(samples)
        # 400k samples: the sample mean is within 5 standard errors of the truth (a false
        # alarm has probability 6e-7 per check)
        assert abs(closed - mean) <= 5 * se, (act, name, closed, mean, se)


def test_monte_carlo_check_rejects_a_wrong_closed_form():
    """Negative control: the same comparison refuses I3 of a covariance whose C23 is off by
    0.1, and I4 of one whose C34 is."""
    C = _cov(np.random.default_rng(11), 4)
    gi = integrals("erf")
    cases = dict((n, (v, s)) for n, v, s in _cases("erf", C))
    mean, se = _mc(cases["I3"][1])
    wrong = _value(gi.I3, C[0, 0], C[0, 1], C[0, 2], C[1, 2] + 0.1, C[2, 2])
    assert abs(wrong - mean) > 5 * se
    mean, se = _mc(cases["I4"][1])
    args = [C[i, j] for i in range(4) for j in range(i, 4)]
    args[8] += 0.1
    assert abs(_value(gi.I4, *args) - mean) > 5 * se


def test_builder_refuses_bad_arguments_by_name():
    with pytest.raises(ValueError, match="K"):
        teacher_student(0, 1)
    with pytest.raises(ValueError, match="activation"):
        teacher_student(1, 1, "tanh")
    with pytest.raises(ValueError, match="lr_scaling"):
        teacher_student(1, 1, "relu")  # online needs I4
    with pytest.raises(ValueError, match="lr_scaling"):
        teacher_student(1, 1, lr_scaling="fast")


def test_linear_single_unit_equations_are_the_textbook_ones():
    """K = M = 1, g(x) = x: dR/da = eta (T - R), dQ/da = 2 eta (R - Q) + eta^2 (T - 2R + Q)."""
    m = teacher_student(1, 1, "linear")
    Q, R = m.state
    eta, T, w = m.params
    f = [sp.expand(inline(e).subs(w, 1)) for e in m.vector_field]
    assert sp.simplify(f[0] - (2 * eta * (R - Q) + eta**2 * (T - 2 * R + Q))) == 0
    assert sp.simplify(f[1] - eta * (T - R)) == 0
    # negative control: the same check tells a wrong equation apart
    assert sp.simplify(f[1] - eta * (T - Q)) != 0


def test_builder_field_matches_the_expectations_it_stands_for():
    """K = M = 2, erf, second layer learned, noisy labels: each component of the field at a random point
    against a Monte Carlo estimate of the SGD expectation it is derived from."""
    m = teacher_student(2, 2, "erf", learn_second_layer=True, label_noise=True)
    rng = np.random.default_rng(5)
    C = _cov(rng, 4) * 0.6  # joint covariance of (x1, x2, y1, y2)
    v = np.array([0.8, 1.3])
    w = np.array([1.0, 0.7])
    eta, eta_v, sigma2 = 0.4, 0.3, 0.2
    vals = {"Q11": C[0, 0], "Q12": C[0, 1], "Q22": C[1, 1], "R11": C[0, 2], "R12": C[0, 3],
            "R21": C[1, 2], "R22": C[1, 3], "v1": v[0], "v2": v[1]}
    pars = {"eta": eta, "eta_v": eta_v, "T11": C[2, 2], "T12": C[2, 3], "T22": C[3, 3],
            "w1": w[0], "w2": w[1], "sigma2": sigma2}
    cm = m.compile("numpy")  # sympy.lambdify: the named functions through their definitions
    p = cm.pack(pars)
    f = np.empty(m.n_state)
    y0 = m.state_vector(vals)
    cm.rhs(0.0, y0, p, cm.data, cm.bounds, f)
    field = dict(zip(m.state_names, f, strict=True))
    z = rng.multivariate_normal(np.zeros(4), C, size=_N_MC)
    g, dg = _G["erf"]
    x, y = z[:, :2], z[:, 2:]
    err = g(y) @ w - g(x) @ v  # against the clean teacher (the generalisation error)
    noisy = err + np.sqrt(sigma2) * rng.standard_normal(err.size)  # the training label's
    delta = v * dg(x) * noisy[:, None]
    mc = {"Q11": eta * 2 * delta[:, 0] * x[:, 0] + eta**2 * delta[:, 0] ** 2,
          "Q12": eta * (delta[:, 0] * x[:, 1] + delta[:, 1] * x[:, 0]) + eta**2 * delta[:, 0] * delta[:, 1],
          "Q22": eta * 2 * delta[:, 1] * x[:, 1] + eta**2 * delta[:, 1] ** 2,
          "R11": eta * delta[:, 0] * y[:, 0], "R12": eta * delta[:, 0] * y[:, 1],
          "R21": eta * delta[:, 1] * y[:, 0], "R22": eta * delta[:, 1] * y[:, 1],
          "v1": eta_v * noisy * g(x[:, 0]), "v2": eta_v * noisy * g(x[:, 1])}
    eg_mc, eg_se = _mc(0.5 * err**2)
    eg = cm.observables(y0[None, :], p)["loss"][0]
    assert abs(eg - eg_mc) <= 5 * eg_se
    for k, samples in mc.items():
        mean, se = _mc(samples)
        assert abs(field[k] - mean) <= 5 * se, (k, field[k], mean, se)  # as above: 5 standard errors
    # negative control: the R12 component against R21's samples (indices crossed) is refused
    mean, se = _mc(mc["R21"])
    assert abs(field["R12"] - mean) > 5 * se
