"""The direct trainer: closed forms for GD, time = lr * step, schedules, Adam/SGD, failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from dynamics import Schedule, Trajectory
from dynamics.direct import (
    DirectModel,
    Linear,
    assert_grad_ok,
    mse,
    record_steps,
    sample_batch,
    train,
)

Arrays = dict[str, np.ndarray]


# ------------------------------------------------------------------------ models
@dataclass(frozen=True)
class Quadratic:
    r"""$L = \tfrac12 a_u \lVert u\rVert^2 + \tfrac12 a_v \lVert v\rVert^2$, groups fast/slow.

    GD with factors $c_u, c_v$ gives $u_k = (1 - \eta c_u a_u)^k u_0$, likewise $v$.
    """

    a_u: float = 1.0
    a_v: float = 0.5
    groups: dict[str, str] = field(default_factory=lambda: {"u": "fast", "v": "slow"})

    def init(self, rng: np.random.Generator) -> Arrays:
        return {"u": rng.standard_normal(2), "v": rng.standard_normal(3)}

    def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
        u, v = params["u"], params["v"]  # (2,), (3,)
        loss = 0.5 * self.a_u * float(u @ u) + 0.5 * self.a_v * float(v @ v)
        return loss, {"u": self.a_u * u, "v": self.a_v * v}

    def reduce(self, params: Arrays) -> dict[str, float]:
        return {"u0": float(params["u"][0]), "v0": float(params["v"][0])}


@dataclass(frozen=True)
class LinearRegression:
    """y = x W^T + b fitted by weighted mean squared error, built from Linear and mse."""

    d_in: int = 4
    d_out: int = 2
    groups: dict[str, str] = field(default_factory=lambda: {"W": "weights", "b": "bias"})
    lin: Linear = Linear(bias=True)

    def init(self, rng: np.random.Generator) -> Arrays:
        return {
            "W": 0.1 * rng.standard_normal((self.d_out, self.d_in)),  # (k, d)
            "b": np.zeros(self.d_out),  # (k,)
        }

    def loss_and_grad(self, params: Arrays, batch: Arrays) -> tuple[float, Arrays]:
        pred, cache = self.lin.forward(batch["x"], params["W"], params["b"])  # (N, k)
        loss, g = mse(pred, batch["y"])  # (N, k)
        grads = self.lin.backward(g, cache)
        return loss, {"W": grads["W"], "b": grads["b"]}

    def reduce(self, params: Arrays) -> dict[str, float]:
        return {"W_norm": float(np.linalg.norm(params["W"])), "b0": float(params["b"][0])}

    def observables(self, params: Arrays, batch: Arrays) -> dict[str, float]:
        return {"max_abs_W": float(np.abs(params["W"]).max())}


def regression_data(rng: np.random.Generator, n: int = 64, d: int = 4, k: int = 2) -> Arrays:
    x = rng.standard_normal((n, d))  # (N, d)
    W = rng.standard_normal((k, d))  # (k, d)
    y = x @ W.T + 0.3 + 0.01 * rng.standard_normal((n, k))  # (N, k)
    return {"x": x, "y": y}


@dataclass(frozen=True)
class RowSampler:
    """Data object with its own sample(rng, batch_size), here with replacement."""

    arrays: Arrays

    def sample(self, rng: np.random.Generator, batch_size: int) -> Arrays:
        idx = rng.integers(0, self.arrays["x"].shape[0], size=batch_size)
        return {k: v[idx] for k, v in self.arrays.items()}

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]


def w0() -> Arrays:
    return {"u": np.array([1.0, -2.0]), "v": np.array([0.5, 1.5, -1.0])}


# ------------------------------------------------------------------ the models
def test_example_models_satisfy_protocol_and_gradcheck() -> None:
    rng = np.random.default_rng(0)
    data = regression_data(rng)
    cases: list[tuple[DirectModel, Arrays, Any]] = [
        (Quadratic(), w0(), None),
        (LinearRegression(), LinearRegression().init(rng), data),
    ]
    for model, params, batch in cases:
        assert isinstance(model, DirectModel)

        def f(p: Arrays, m: DirectModel = model, b: Any = batch) -> tuple[float, Arrays]:
            return m.loss_and_grad(p, b)

        assert_grad_ok(f, params)


# ------------------------------------------------------------------------- GD
def test_gd_on_quadratic_matches_closed_form() -> None:
    m, lr, steps = Quadratic(a_u=1.3, a_v=0.4), 0.05, 300
    tr, final = train(m, w0(), None, lr=lr, steps=steps, record="all")
    k = np.arange(steps + 1)
    u_exact = (1 - lr * m.a_u) ** k * w0()["u"][0]
    v_exact = (1 - lr * m.a_v) ** k * w0()["v"][0]
    np.testing.assert_allclose(tr["u0"], u_exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tr["v0"], v_exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(final["u"], (1 - lr * m.a_u) ** steps * w0()["u"], rtol=1e-12)
    loss_exact = 0.5 * m.a_u * (1 - lr * m.a_u) ** (2 * k) * np.sum(
        w0()["u"] ** 2
    ) + 0.5 * m.a_v * (1 - lr * m.a_v) ** (2 * k) * np.sum(w0()["v"] ** 2)
    np.testing.assert_allclose(tr.loss, loss_exact, rtol=1e-12)


def test_time_is_lr_times_step() -> None:
    lr = 0.037
    tr, _ = train(Quadratic(), w0(), None, lr=lr, steps=1234)
    steps = tr.stats["record_steps"]
    np.testing.assert_array_equal(tr.t, lr * steps.astype(float))
    assert steps[0] == 0 and steps[-1] == 1234
    assert tr.t[-1] == pytest.approx(lr * 1234, rel=1e-15)


def test_default_record_is_log_spaced_unique_and_includes_ends() -> None:
    rec = record_steps(10_000, "log", 50)
    assert rec[0] == 0 and rec[-1] == 10_000
    assert np.all(np.diff(rec) > 0) and rec.size <= 50
    assert rec.dtype.kind == "i"
    # log spacing: ratios of consecutive late records are about constant
    late = rec[rec > 100]
    ratios = late[1:] / late[:-1]
    assert ratios.max() / ratios.min() < 1.1
    assert record_steps(0).tolist() == [0]
    assert record_steps(7, "all").tolist() == list(range(8))
    assert record_steps(10, 4).tolist() == [0, 4, 8, 10]
    assert record_steps(10, np.array([5, 2, 5])).tolist() == [2, 5]


def test_schedule_factor_zero_freezes_group_until_t0() -> None:
    # The slow group's factor is 0 at t = lr*k < t0 = 1.05: updates k = 0..10 (t <= 1.0) do
    # not move v, so v is frozen at steps 0..11 and moves from step 12 on.
    m, lr = Quadratic(), 0.1
    sched = Schedule.switch(1.05, before={"slow": 0.0})
    tr, _ = train(m, w0(), None, lr=lr, steps=40, schedule=sched, record="all")
    k = np.arange(41)
    assert np.all(tr["v0"][:12] == w0()["v"][0])
    assert tr["v0"][12] != w0()["v"][0]
    v_after = (1 - lr * m.a_v) ** np.maximum(k - 11, 0) * w0()["v"][0]
    np.testing.assert_allclose(tr["v0"], v_after, rtol=1e-12)
    # the other group is untouched by the schedule
    np.testing.assert_allclose(tr["u0"], (1 - lr * m.a_u) ** k * w0()["u"][0], rtol=1e-12)


def test_schedule_factor_multiplies_the_group_step() -> None:
    m, lr = Quadratic(), 0.02
    sched = Schedule.constant({"fast": 3.0})
    tr, _ = train(m, w0(), None, lr=lr, steps=50, schedule=sched, record="all")
    k = np.arange(51)
    np.testing.assert_allclose(tr["u0"], (1 - 3.0 * lr * m.a_u) ** k * w0()["u"][0], rtol=1e-12)
    np.testing.assert_allclose(tr["v0"], (1 - lr * m.a_v) ** k * w0()["v"][0], rtol=1e-12)


def test_parameters_missing_from_groups_are_in_default_group() -> None:
    m = Quadratic(groups={"u": "fast"})
    sched = Schedule.constant({"default": 0.0})
    tr, final = train(m, w0(), None, lr=0.1, steps=5, schedule=sched)
    np.testing.assert_array_equal(final["v"], w0()["v"])
    assert not np.allclose(final["u"], w0()["u"])
    assert tr.meta["train"]["groups"] == {"u": "fast", "v": "default"}


# ------------------------------------------------------------------ Adam / SGD
@pytest.mark.parametrize(
    ("optimizer", "lr", "batch_size"),
    [("sgd", 0.05, 8), ("adam", 0.02, None), ("adam", 0.02, 16)],
)
def test_adam_and_sgd_decrease_least_squares_loss(
    optimizer: str, lr: float, batch_size: int | None
) -> None:
    rng = np.random.default_rng(1)
    data = regression_data(rng)
    m = LinearRegression()
    tr, _ = train(
        m,
        m.init(rng),
        data,
        lr=lr,
        steps=400,
        optimizer=optimizer,  # type: ignore[arg-type]
        batch_size=batch_size,
        rng=rng,
    )
    assert tr.loss[-1] < 0.02 * tr.loss[0]
    assert tr.stats["optimizer"] == optimizer


def test_adam_first_step_has_size_lr_per_coordinate() -> None:
    # bias-corrected Adam: m_hat / sqrt(v_hat) = sign(g) on the first step
    lr = 1e-3
    tr, final = train(Quadratic(), w0(), None, lr=lr, steps=1, optimizer="adam", eps=1e-12)
    for k in ("u", "v"):
        np.testing.assert_allclose(final[k], w0()[k] - lr * np.sign(w0()[k]), rtol=1e-9)


def test_sgd_with_whole_data_as_batch_equals_gd() -> None:
    rng = np.random.default_rng(2)
    data = regression_data(rng, n=20)
    m = LinearRegression()
    p0 = m.init(rng)
    gd, pg = train(m, p0, data, lr=0.1, steps=30, record="all")
    sgd, ps = train(
        m, p0, data, lr=0.1, steps=30, optimizer="sgd", batch_size=20, rng=rng, record="all"
    )
    np.testing.assert_allclose(ps["W"], pg["W"], rtol=1e-12)
    np.testing.assert_allclose(sgd.loss, gd.loss, rtol=1e-12)


def test_sgd_uses_data_sample_method() -> None:
    rng = np.random.default_rng(3)
    data = RowSampler(regression_data(rng))
    m = LinearRegression()
    tr, _ = train(m, m.init(rng), data, lr=0.05, steps=300, optimizer="sgd", batch_size=8, rng=rng)
    assert tr.loss[-1] < 0.05 * tr.loss[0]


def test_sample_batch_draws_distinct_rows_of_a_dict() -> None:
    data = {"x": np.arange(10.0)[:, None], "y": np.arange(10)}
    b = sample_batch(data, np.random.default_rng(0), 10)
    assert sorted(b["y"].tolist()) == list(range(10))
    np.testing.assert_array_equal(b["x"][:, 0], b["y"])


# ---------------------------------------------------- trajectory content / io
def test_trajectory_names_observables_stats_and_roundtrip(tmp_path) -> None:
    rng = np.random.default_rng(4)
    data = regression_data(rng)
    m = LinearRegression()
    p0 = m.init(rng)
    p0_copy = {k: v.copy() for k, v in p0.items()}
    tr, final = train(m, p0, data, lr=0.1, steps=50, n_record=10, meta={"seed": 4})
    assert tr.names == ("W_norm", "b0")
    assert set(tr.observables) == {"loss", "max_abs_W"}
    assert len(tr) <= 10
    assert tr.stats["lr"] == 0.1 and tr.stats["steps"] == 50 and tr.stats["wall_time"] >= 0
    assert tr.meta["seed"] == 4 and tr.meta["train"]["optimizer"] == "gd"
    assert tr["W_norm"][-1] == pytest.approx(np.linalg.norm(final["W"]), rel=1e-15)
    assert tr.loss[0] == pytest.approx(m.loss_and_grad(p0_copy, data)[0], rel=1e-15)
    for k in p0:  # initial params are not modified
        np.testing.assert_array_equal(p0[k], p0_copy[k])
    tr.save(tmp_path / "run")
    back = Trajectory.load(tmp_path / "run")
    np.testing.assert_array_equal(back.y, tr.y)
    np.testing.assert_array_equal(back.loss, tr.loss)


def test_params_none_draws_from_model_init_and_progress_bar_runs() -> None:
    tr, _ = train(
        Quadratic(), None, None, lr=0.1, steps=20, rng=np.random.default_rng(5), progress=True
    )
    assert tr["u0"][0] == Quadratic().init(np.random.default_rng(5))["u"][0]


# -------------------------------------------------------------------- failures
def test_diverging_gd_raises_floating_point_error_naming_step() -> None:
    m = Quadratic(a_u=1e200)
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(FloatingPointError, match=r"non-finite .* at step \d+"),
    ):
        train(m, w0(), None, lr=1.0, steps=100)


@dataclass(frozen=True)
class LogLoss:
    """L = log w: the gradient 1/w drives w through 0, where the loss is NaN."""

    groups: dict[str, str] = field(default_factory=dict)

    def init(self, rng: np.random.Generator) -> Arrays:
        return {"w": np.array(0.25)}

    def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
        return float(np.log(params["w"])), {"w": 1.0 / params["w"]}

    def reduce(self, params: Arrays) -> dict[str, float]:
        return {"w": float(params["w"])}


@pytest.mark.parametrize(
    ("optimizer", "bad_step"),
    [("gd", 1), ("adam", 3)],  # gd: 0.25 - 0.1/0.25 < 0; adam: 0.25 - 0.1 k < 0 at k = 3
)
def test_nan_loss_raises_floating_point_error_at_that_step(optimizer: str, bad_step: int) -> None:
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(FloatingPointError, match=f"non-finite \\(nan\\) at step {bad_step};"),
    ):
        train(LogLoss(), {"w": np.array(0.25)}, None, lr=0.1, steps=10, optimizer=optimizer)  # type: ignore[arg-type]


def test_nan_minibatch_loss_raises_floating_point_error() -> None:
    rng = np.random.default_rng(6)
    data = regression_data(rng)
    data["y"][5] = np.nan
    m = LinearRegression()
    with pytest.raises(FloatingPointError, match="step 0"):
        train(m, m.init(rng), data, lr=0.1, steps=10, optimizer="sgd", batch_size=64, rng=rng)


BAD_ARGS: dict[str, tuple[dict[str, Any], str]] = {
    "lr zero": ({"lr": 0.0}, "lr must be"),
    "lr negative": ({"lr": -0.1}, "lr must be"),
    "lr nan": ({"lr": float("nan")}, "lr must be"),
    "steps negative": ({"steps": -1}, "steps must be"),
    "steps float": ({"steps": 2.5}, "steps must be"),
    "unknown optimizer": ({"optimizer": "rmsprop"}, "unknown optimizer"),
    "sgd without batch": ({"optimizer": "sgd"}, "needs a batch_size"),
    "gd with batch": ({"batch_size": 4}, "full batch"),
    "sgd without rng": ({"optimizer": "sgd", "batch_size": 4, "rng": None}, "rng="),
    "batch too large": ({"optimizer": "sgd", "batch_size": 1000}, "exceeds"),
    "batch size zero": ({"optimizer": "sgd", "batch_size": 0}, "batch_size must be"),
    "bad record": ({"record": "sometimes"}, "record must be"),
    "record zero": ({"record": 0}, "k >= 1"),
    "record out of range": ({"record": np.array([0, 99])}, "lie in"),
    "n_record one": ({"n_record": 1}, "n_record"),
    "bad betas": ({"optimizer": "adam", "betas": (1.0, 0.9)}, "betas"),
    "unknown schedule group": ({"schedule": Schedule.constant({"atn": 2.0})}, "atn"),
    "rng not generator": ({"rng": 3}, "Generator"),
}


@pytest.mark.parametrize("case", list(BAD_ARGS))
def test_bad_arguments_raise_value_error(case: str) -> None:
    rng = np.random.default_rng(7)
    data = regression_data(rng)
    m = LinearRegression()
    kwargs: dict[str, Any] = {"lr": 0.1, "steps": 10, "rng": rng}
    over, message = BAD_ARGS[case]
    kwargs.update(over)
    with pytest.raises(ValueError, match=message):
        train(m, m.init(np.random.default_rng(0)), data, **kwargs)


def test_bad_params_and_groups_raise_value_error() -> None:
    bad = w0()
    bad["u"][1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        train(Quadratic(), bad, None, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="not in params"):
        train(Quadratic(groups={"w": "fast"}), w0(), None, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="drawing initial params"):
        train(Quadratic(), None, None, lr=0.1, steps=1)


def test_wrong_gradient_keys_raise_value_error() -> None:
    @dataclass(frozen=True)
    class MissingGrad(Quadratic):
        def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
            loss, g = super().loss_and_grad(params, batch)
            return loss, {"u": g["u"]}

    with pytest.raises(ValueError, match="exactly the parameter keys"):
        train(MissingGrad(), w0(), None, lr=0.1, steps=1)


@pytest.mark.parametrize("optimizer", ["gd", "adam", "adamw"])
def test_float32_parameters_train_in_float32(optimizer: str) -> None:
    """float32 parameters stay float32 through every optimizer (and clipping); the result is
    the float64 run's to float32 rounding (20 steps of a contraction: relative 1e-6 is ~10 ulp;
    a dropped or doubled step changes it by ~lr = 1e-2). Integers are trained as float64."""
    model = Quadratic()
    p64 = {"u": np.array([1.0, -2.0]), "v": np.array([0.5, 0.25, -1.0])}
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    kw = {"weight_decay": 0.1} if optimizer == "adamw" else {}
    clip = None if optimizer == "gd" else 10.0
    _, out64 = train(model, p64, None, lr=1e-2, steps=20, optimizer=optimizer, clip_norm=clip, **kw)
    _, out32 = train(model, p32, None, lr=1e-2, steps=20, optimizer=optimizer, clip_norm=clip, **kw)
    assert {v.dtype for v in out32.values()} == {np.dtype(np.float32)}
    for k in p64:
        np.testing.assert_allclose(out32[k], out64[k], rtol=1e-6, atol=1e-7)
        assert not np.allclose(out32[k], p64[k], rtol=1e-3)  # it moved
    _, out_int = train(model, {"u": np.array([1, 2]), "v": np.array([1, 0, 1])}, None, lr=1e-2, steps=2)
    assert {v.dtype for v in out_int.values()} == {np.dtype(np.float64)}
