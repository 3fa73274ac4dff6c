"""What a sweep accepts: a swept parameter without a default, initial states as a function
of the swept values, and a model object hashed once (issue 18, items 7 and 8)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import sympy as sp

from dynamics.codegen import CompiledModel, cache, model_key
from dynamics.model import ReducedModel
from dynamics.phase import sweep

T_MAX = 1.0


def no_default_mode() -> ReducedModel:
    """L = (lam - ab)^2/2 + k a^2 b^2 * 0: ``lam`` and ``k`` have no default."""
    a, b = sp.symbols("a b", real=True)
    lam, k = sp.symbols("lam k", positive=True)
    return ReducedModel.from_loss("phase-no-default", [a, b], [lam, k],
                                  (lam - a * b) ** 2 / 2 + k * (a - b) ** 2 / 2,
                                  observables={"u": a * b})


def u_closed(t: float, s: float, u0: float) -> float:
    """Saxe et al.'s logistic u(t) for L = (s - ab)^2/2 from a balanced start u0 = a b."""
    return s / (1.0 + (s / u0 - 1.0) * math.exp(-2.0 * s * t))


def ratio_closed(t: float, s: float, u0: float) -> float:
    return ((s - u_closed(t, s, u0)) / (s - u0)) ** 2


# The loss ratio L(t_max)/L(0) = ((s - u)/(s - u0))^2 of the classifier against the closed
# form. The sweep integrates at rtol 1e-10, so u carries ~1e-10 u of error and the ratio
# 2e-10 u/(s - u) relative; at t_max = 1 and s <= 4, s - u >= 1e-3 s, so <= 1e-6.
RTOL = 1e-6


@pytest.fixture(scope="module")
def model() -> ReducedModel:
    return no_default_mode()


def test_a_parameter_without_default_can_be_swept(model):
    res = sweep(model, "lam=0.5:4:5:log", fixed={"k": 0.7}, classify="learnable", t_max=T_MAX,
                y0=[0.1, 0.1], workers=1, progress=False, rtol=1e-10, atol=1e-12,
                solver="integrate")
    assert res.complete and (res.status == 1).all()
    lams = res.x_axis.values
    # balanced start a = b: k (a - b)^2 stays 0, the flow is Saxe's logistic with s = lam
    want = np.array([ratio_closed(T_MAX, s, 0.01) for s in lams])
    np.testing.assert_allclose(res.quantities["loss_ratio"], want, rtol=RTOL)
    # negative control: had the sweep used the axis' first value everywhere (the placeholder
    # that stands in for the missing default), the ratios would not match
    wrong = np.array([ratio_closed(T_MAX, lams[0], 0.01)] * lams.size)
    assert not np.allclose(res.quantities["loss_ratio"], wrong, rtol=RTOL)


def test_a_missing_parameter_is_named(model):
    with pytest.raises(ValueError, match=r"no value for parameter\(s\) \['k'\].*fixed="):
        sweep(model, "lam=0.5:4:3", t_max=T_MAX, workers=1, progress=False)
    with pytest.raises(ValueError, match=r"\['lam', 'k'\]"):
        sweep(model, "a=0.1:0.2:3", t_max=T_MAX, workers=1, progress=False)


def test_cli_phase_names_a_missing_parameter(tmp_path, capsys, model):
    from dynamics import registry
    from dynamics.cli import main

    registry.register(registry.Derivation("phase-no-default", "t", model=no_default_mode,
                                          verify=lambda ctx: []))
    try:
        code = main(["phase", "phase-no-default", "--x", "lam=0.5:4:3", "--t-max", "1",
                     "--out", str(tmp_path / "o"), "--quiet", "--workers", "1"])
        assert code == 2
        assert "no value for parameter(s) ['k']" in capsys.readouterr().err
    finally:
        registry._RUNTIME.pop("phase-no-default", None)


SEEN: list[object] = []


def start_u0_scaled(values: dict[str, float], cm: CompiledModel) -> dict[str, float]:
    """Balanced start with u0 = ab = lam / 100 (a function of the swept value)."""
    SEEN.append(cm)
    r = math.sqrt(values["lam"] / 100)
    return {"a": r, "b": r}


def test_initial_state_follows_the_swept_values(model):
    SEEN.clear()
    res = sweep(model, "lam=0.5:4:5", fixed={"k": 0.3}, classify="learnable", t_max=T_MAX,
                workers=1, progress=False, rtol=1e-10, atol=1e-12, initial_state=start_u0_scaled,
                solver="integrate")
    lams = res.x_axis.values
    want = np.array([ratio_closed(T_MAX, s, s / 100) for s in lams])
    np.testing.assert_allclose(res.quantities["loss_ratio"], want, rtol=RTOL)
    # negative control: a start that does not depend on lam (u0 = 0.005) is another curve
    same_start = np.array([ratio_closed(T_MAX, s, 0.005) for s in lams])
    assert not np.allclose(res.quantities["loss_ratio"], same_start, rtol=RTOL)
    assert SEEN and all(isinstance(c, CompiledModel) for c in SEEN)
    assert res.config["initial_state"].endswith("start_u0_scaled")


def test_a_fixed_coordinate_overrides_initial_state(model):
    res = sweep(model, "lam=1:2:2", fixed={"k": 0.0, "b": 0.2}, classify="learnable",
                t_max=T_MAX, workers=1, progress=False, rtol=1e-10, atol=1e-12,
                initial_state=start_u0_scaled, solver="integrate")
    # a = sqrt(lam/100), b = 0.2: unbalanced; with k = 0 the flow conserves a^2 - b^2, so
    # the point differs from the balanced one of the same u0 (compared on the loss ratio)
    balanced = [ratio_closed(T_MAX, s, s / 100) for s in res.x_axis.values]
    assert not np.allclose(res.quantities["loss_ratio"], balanced, rtol=RTOL)


def test_initial_state_bad_input(model):
    with pytest.raises(ValueError, match="y0 .* or initial_state"):
        sweep(model, "lam=1:2:2", fixed={"k": 0.1}, t_max=1.0, y0=[0.1, 0.1],
              initial_state=start_u0_scaled, workers=1, progress=False)
    with pytest.raises(ValueError, match="initial_state must be callable"):
        sweep(model, "lam=1:2:2", fixed={"k": 0.1}, t_max=1.0, initial_state=3,
              workers=1, progress=False)
    with pytest.raises(ValueError, match=r"initial_state\(\{'lam': 1.0, 'k': 0.1\}\).*'nosuch'"):
        sweep(model, "lam=1:2:2", fixed={"k": 0.1}, t_max=1.0, workers=1, progress=False,
              initial_state=lambda v, cm: {"a": 1.0, "nosuch": 1.0})


def test_model_key_is_memoised_per_object(monkeypatch):
    m = no_default_mode()
    calls: list[str] = []
    real = cache._model_key
    monkeypatch.setattr(cache, "_model_key", lambda *a: calls.append("x") or real(*a))
    k = model_key(m)
    assert model_key(m) == k and len(calls) == 1
    # a copy (as unpickled in a worker) has the same key, computed once more
    assert model_key(pickle.loads(pickle.dumps(m))) == k and len(calls) == 2
    # negative control: another model has another key
    assert model_key(no_default_mode().__class__.from_loss(
        "phase-other", list(m.state), list(m.params), m.state[0] ** 2)) != k


def test_a_sweep_over_a_model_object_hashes_it_once(monkeypatch):
    m = no_default_mode()
    calls: list[str] = []
    real = cache._model_key
    monkeypatch.setattr(cache, "_model_key", lambda *a: calls.append("x") or real(*a))
    res = sweep(m, "lam=0.5:4:6", fixed={"k": 0.1}, t_max=1.0, y0=[0.1, 0.1], workers=1,
                progress=False, solver="integrate")
    assert res.complete
    assert len(calls) == 1
