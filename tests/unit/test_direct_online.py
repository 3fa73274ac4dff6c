"""Online training in ``train`` (issue 18, item 6): a fresh-sample sampler reproduces a plain
numpy loop bit for bit, another clock than t = lr * step, an analytic population loss, and
the lazy check of non-finite gradients."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from dynamics import Schedule
from dynamics.direct import Snapshots, record_steps, train

N = 20
Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Perceptron:
    """Linear student w.x/sqrt(N) learning a linear teacher online (half squared error)."""

    w_star: np.ndarray = field(default_factory=lambda: np.ones(N))
    groups: dict[str, str] = field(default_factory=dict)

    def init(self, rng: np.random.Generator) -> Arrays:
        return {"w": 0.1 * rng.standard_normal(N)}

    def sample(self, rng: np.random.Generator, step: int) -> Arrays:
        x = rng.standard_normal(N)  # (N,)
        return {"x": x, "y": float(self.w_star @ x) / math.sqrt(N)}

    def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
        r = float(params["w"] @ batch["x"]) / math.sqrt(N) - batch["y"]
        return 0.5 * r * r, {"w": (r / math.sqrt(N)) * batch["x"]}

    def reduce(self, params: Arrays) -> dict[str, float]:
        w = params["w"]
        return {"Q": float(w @ w) / N, "R": float(w @ self.w_star) / N}

    def population_loss(self, params: Arrays) -> float:
        d = params["w"] - self.w_star
        return 0.5 * float(d @ d) / N


def plain_loop(m: Perceptron, w0: np.ndarray, lr: float, steps: int, rec: np.ndarray, seed: int):
    """What a user writes by hand: the same draws, arithmetic and records."""
    rng = np.random.default_rng(seed)
    w, ys, loss = w0.copy(), [], []
    for k in range(steps + 1):
        batch = m.sample(rng, k)
        _, g = m.loss_and_grad({"w": w}, batch)
        if k in rec:
            ys.append(list(m.reduce({"w": w}).values()))
            loss.append(m.population_loss({"w": w}))
        if k == steps:
            break
        w = w - lr * g["w"]
    return np.array(ys), np.array(loss), w


def test_online_train_equals_the_plain_loop_bit_for_bit():
    m = Perceptron()
    w0 = m.init(np.random.default_rng(0))
    steps, lr = 400, 0.3
    tr, p = train(m, w0, lr=lr, steps=steps, optimizer="sgd", sampler=m.sample,
                  rng=np.random.default_rng(3), time=lambda k: k / N, n_record=20,
                  population_loss=m.population_loss)
    rec = record_steps(steps, "log", 20)
    ys, loss, w = plain_loop(m, w0["w"], lr, steps, rec, seed=3)
    assert np.array_equal(tr.y, ys) and np.array_equal(tr.loss, loss)
    assert np.array_equal(p["w"], w)
    assert np.array_equal(tr.t, rec / N)  # online time alpha = step / N, exactly
    assert np.all(np.isfinite(tr["batch_loss"])) and not np.array_equal(tr["batch_loss"], tr.loss)
    assert tr.meta["train"]["time"].startswith("callable")
    # negative control: another random stream is another run
    ys2, _, _ = plain_loop(m, w0["w"], lr, steps, rec, seed=4)
    assert not np.array_equal(tr.y, ys2)


def test_population_loss_is_recorded_without_a_full_data_pass():
    m = Perceptron()
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, N))
    data = {"x": X, "y": X @ m.w_star / math.sqrt(N)}

    class Rows(Perceptron):
        def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
            r = batch["x"] @ params["w"] / math.sqrt(N) - batch["y"]  # (B,)
            return 0.5 * float(np.mean(r * r)), {"w": batch["x"].T @ r / (r.size * math.sqrt(N))}

    rows = Rows()
    snaps = Snapshots()
    tr, _ = train(rows, rows.init(rng), data, lr=0.2, steps=50, optimizer="sgd", batch_size=8,
                  rng=rng, population_loss=rows.population_loss, callbacks=[snaps], n_record=10)
    want = [rows.population_loss(p) for _, p in snaps]
    np.testing.assert_array_equal(tr.loss, want)
    assert tr.stats["n_loss_evals"] == 50  # one minibatch per update, no full-data pass
    # negative control: without the hook the recorded loss is the full-data loss (another number)
    tr2, _ = train(rows, rows.init(np.random.default_rng(1)), data, lr=0.2, steps=50,
                   optimizer="sgd", batch_size=8, rng=np.random.default_rng(2), n_record=10)
    assert tr2.stats["n_loss_evals"] == 50 + tr2.t.size and "batch_loss" not in tr2.observables


@dataclass(frozen=True)
class Decay:
    """L = w^2 / 2 per coordinate: GD gives w_k = (1 - lr c)^k w_0."""

    groups: dict[str, str] = field(default_factory=dict)

    def init(self, rng: np.random.Generator) -> Arrays:
        return {"w": np.array([1.0])}

    def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
        w = params["w"]
        return 0.5 * float(w @ w), {"w": w.copy()}

    def reduce(self, params: Arrays) -> dict[str, float]:
        return {"w": float(params["w"][0])}


def test_clock_sets_the_time_axis_and_the_schedule_breaks():
    lr, steps = 0.1, 40
    default, _ = train(Decay(), None, None, lr=lr, steps=steps, rng=np.random.default_rng(0),
                       record="all")
    np.testing.assert_array_equal(default.t, np.arange(steps + 1) * lr)
    dt, _ = train(Decay(), None, None, lr=lr, steps=steps, rng=np.random.default_rng(0),
                  record="all", time=0.25)
    np.testing.assert_array_equal(dt.t, np.arange(steps + 1) * 0.25)
    # a factor 0 until t = 2 in the clock t = step / 4 freezes the first 8 updates
    sched = Schedule.switch(2.0, before={"default": 0.0})
    tr, _ = train(Decay(), None, None, lr=lr, steps=steps, rng=np.random.default_rng(0),
                  record="all", time=lambda k: k / 4, schedule=sched)
    k = np.arange(steps + 1)
    want = (1 - lr) ** np.maximum(k - 8, 0)
    np.testing.assert_allclose(tr["w"], want, rtol=1e-12)
    # negative control: read in t = lr * step the break would fall at step 20
    assert not np.allclose(tr["w"], (1 - lr) ** np.maximum(k - 20, 0), rtol=1e-12)


@pytest.mark.parametrize(("kw", "msg"), [
    ({"time": "alpha"}, "time must be 'lr', a positive number"),
    ({"time": -1.0}, "time"),
    ({"time": True}, "time must be"),
    ({"time": lambda k: -k}, "non-decreasing"),
    ({"time": lambda k: "x"}, "must return a number"),
    ({"population_loss": 3.0}, "population_loss must be callable"),
])
def test_bad_online_arguments_are_refused_before_any_step(kw, msg):
    m = Perceptron()
    calls = []
    with pytest.raises(ValueError, match=msg):
        train(m, m.init(np.random.default_rng(0)), lr=0.1, steps=5, optimizer="sgd",
              sampler=lambda rng, k: calls.append(k) or m.sample(rng, k),
              rng=np.random.default_rng(0), **kw)
    assert calls == []


@dataclass(frozen=True)
class NanGrad:
    """Finite loss w^2/2, but a NaN gradient once w < 0.3 (a broken backward pass)."""

    groups: dict[str, str] = field(default_factory=dict)

    def init(self, rng: np.random.Generator) -> Arrays:
        return {"w": np.array(1.0)}

    def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[float, Arrays]:
        w = float(params["w"])
        return 0.5 * w * w, {"w": np.array(w if w > 0.3 else math.nan)}

    def reduce(self, params: Arrays) -> dict[str, float]:
        return {"w": float(params["w"])}


def test_a_non_finite_gradient_names_the_parameter_and_the_update():
    # w: 1 -> 0.5 -> 0.25, whose gradient is NaN: update 2 makes w NaN
    with pytest.raises(FloatingPointError, match=r"parameter 'w' became non-finite at update 2"):
        train(NanGrad(), None, None, lr=0.5, steps=10, rng=np.random.default_rng(0))
    # online, the last update not followed by a loss: caught after the loop
    with pytest.raises(FloatingPointError, match=r"parameter 'w' became non-finite by step 3"):
        train(NanGrad(), None, lr=0.5, steps=3, optimizer="sgd", rng=np.random.default_rng(0),
              sampler=lambda rng, k: None, record=[0])
    # negative control: two updates only (the NaN gradient is never used) train fine
    tr, p = train(NanGrad(), None, None, lr=0.5, steps=2, rng=np.random.default_rng(0))
    assert float(p["w"]) == 0.25


# ------------------------------------------------------------------ seeds in one loop
@dataclass(frozen=True)
class SeedPerceptron:
    """The perceptron on a leading seed axis (DirectModel contract 6); with ``S = None`` the
    single-seed model with the same arithmetic (row sums along the last axis)."""

    S: int | None = None
    groups: dict[str, str] = field(default_factory=dict)

    def sample(self, rng: np.random.Generator, step: int) -> Arrays:
        x = rng.standard_normal((self.S, N))  # (S, N)
        return {"x": x, "y": np.sum(x, axis=-1) / math.sqrt(N)}  # teacher w* = 1

    def init(self, rng: np.random.Generator) -> Arrays:
        return {"w": 0.1 * rng.standard_normal((self.S, N))}

    def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[Any, Arrays]:
        x = batch["x"]  # (S, N) or (N,)
        r = np.sum(params["w"] * x, axis=-1) / math.sqrt(N) - batch["y"]  # (S,) or ()
        g = (r / math.sqrt(N))[..., None] * x
        return 0.5 * r * r, {"w": g}

    def reduce(self, params: Arrays) -> dict[str, Any]:
        w = params["w"]
        return {"Q": np.sum(w * w, axis=-1) / N, "R": np.sum(w, axis=-1) / N}

    def population_loss(self, params: Arrays) -> Any:
        d = params["w"] - 1.0
        return 0.5 * np.sum(d * d, axis=-1) / N


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_seeds_in_one_loop_equal_separate_runs(optimizer):
    S, steps, lr = 3, 150, 0.2
    vec = SeedPerceptron(S)
    p0 = vec.init(np.random.default_rng(0))
    trs, p = train(vec, p0, lr=lr, steps=steps, optimizer=optimizer, sampler=vec.sample,
                   rng=np.random.default_rng(5), seeds=S, n_record=12,
                   population_loss=vec.population_loss, time=lambda k: k / N)
    assert len(trs) == S and trs[0].meta["train"]["seeds"] == S
    rng = np.random.default_rng(5)
    batches = [vec.sample(rng, k) for k in range(steps + 1)]  # the trainer's draws, replayed
    one = SeedPerceptron()
    for s in range(S):
        tr, ps = train(one, {"w": p0["w"][s]}, lr=lr, steps=steps, optimizer=optimizer,
                       sampler=lambda r, k, s=s: {"x": batches[k]["x"][s], "y": batches[k]["y"][s]},
                       rng=np.random.default_rng(0), n_record=12,
                       population_loss=one.population_loss, time=lambda k: k / N)
        assert np.array_equal(trs[s].y, tr.y) and np.array_equal(trs[s].loss, tr.loss)
        assert np.array_equal(trs[s].t, tr.t) and np.array_equal(p["w"][s], ps["w"])
    # negative control: the seeds are different runs
    assert not np.array_equal(trs[0].y, trs[1].y)


def test_seeds_bad_input():
    vec = SeedPerceptron(3)
    kw: dict[str, Any] = dict(lr=0.1, steps=5, optimizer="sgd", sampler=vec.sample,
                              rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="leading seed axis of length 4"):
        train(vec, vec.init(np.random.default_rng(0)), seeds=4, **kw)
    with pytest.raises(ValueError, match="clip_norm is not available with seeds="):
        train(vec, None, seeds=3, clip_norm=1.0, **kw)

    class ScalarLoss(SeedPerceptron):
        def loss_and_grad(self, params: Arrays, batch: Any) -> tuple[Any, Arrays]:
            loss, g = super().loss_and_grad(params, batch)
            return float(np.sum(loss)), g

    with pytest.raises(ValueError, match=r"shape \(3,\) \(one per seed\), got shape \(\)"):
        train(ScalarLoss(3), None, seeds=3, **kw)
    with pytest.raises(ValueError, match="seeds"):
        train(vec, None, seeds=0, **kw)
