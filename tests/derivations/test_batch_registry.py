"""The compiled batch integrator against scipy at tight tolerance, on every registered model.

Each registered derivation's reduced model is integrated from a seeded small random state
with its default parameters by ``dynamics.batch.solve_batch`` (rtol 1e-8) and by scipy's
``solve_ivp(Radau)`` with the analytic Jacobian at rtol 1e-12; the difference is measured in
units of the batch tolerance (atol + rtol |y|).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dynamics.batch import solve_batch
from dynamics.registry import get, names

RTOL, ATOL = 1e-8, 1e-10
# global error over a few decades of t accumulates to a small multiple of the local
# tolerance (the batch tests' own limit is 10 for single problems); 50 leaves room for the
# 129-coordinate Eq. 4 model while a wrong RHS, Jacobian or step control gives >> 1e3.
LIMIT = 50.0


@pytest.mark.parametrize("name", names())
def test_batch_matches_scipy_on_registered_model(name: str) -> None:
    cm = get(name).model().compile()
    rng = np.random.default_rng(0)
    y0 = 0.1 * rng.standard_normal(cm.n_state) + 0.05
    p = cm.pack()
    t_eval = np.array([0.0, 0.5, 2.0, 10.0])
    res = solve_batch(cm, y0, p, t_eval, rtol=RTOL, atol=ATOL)
    assert res.ok.all(), res.status_names()
    f, J = cm.f(p), cm.jacobian(p)
    ref = solve_ivp(f, (0.0, t_eval[-1]), y0, method="Radau", t_eval=t_eval, jac=J, rtol=1e-12, atol=1e-14)
    assert ref.success, ref.message
    err = np.abs(res.y[0] - ref.y.T) / (ATOL + RTOL * np.abs(ref.y.T))
    assert np.max(err) < LIMIT, f"{name}: batch vs scipy error {np.max(err):.3g} tolerance units"


def test_the_comparison_detects_a_wrong_solution() -> None:
    """Negative control: a 1% change of one parameter is seen far above LIMIT."""
    cm = get("saxe2014").model().compile()
    y0 = np.full(cm.n_state, 0.1)
    p = cm.pack()
    wrong = p.copy()
    wrong[0] *= 1.01
    t_eval = np.array([0.0, 0.5, 2.0, 10.0])
    res = solve_batch(cm, y0, wrong, t_eval, rtol=RTOL, atol=ATOL)
    ref = solve_ivp(cm.f(p), (0.0, 10.0), y0, method="Radau", t_eval=t_eval, jac=cm.jacobian(p),
                    rtol=1e-12, atol=1e-14)
    err = np.abs(res.y[0] - ref.y.T) / (ATOL + RTOL * np.abs(ref.y.T))
    assert np.max(err) > 100 * LIMIT
