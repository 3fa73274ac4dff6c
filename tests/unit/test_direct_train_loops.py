"""The one trainer replaces the derivations' own loops: each test writes the loop it replaces
as a plain reference (the textbook update, a few lines) and the trainer must match it.

* musat2025 ``train_with_snapshots``: minibatch Adam on fresh examples every step, parameter
  snapshots, one continuous Adam state;
* yuksel2026 ``train``: AdamW (PyTorch's decoupled decay) with global-norm clipping, fresh
  batches, training loss and gradient norm recorded every few steps;
* yuksel2026 ``bridge.train_gd``: full-batch GD recorded at chosen steps (and GD on a fresh
  batch every step);
* sander2024 ``nonaugmented.train_until``: full-batch GD until the loss falls below a tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from dynamics import Schedule
from dynamics.direct import Linear, Snapshots, clip_by_global_norm, global_norm, mse, train
from dynamics.direct.optimizers import AdamW

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Regression:
    """y = x W^T + b by mean squared error (Linear + mse), groups weights/bias."""

    d_in: int = 3
    d_out: int = 2
    groups: dict[str, str] = field(default_factory=lambda: {"W": "weights", "b": "bias"})
    lin: Linear = Linear(bias=True)

    def init(self, rng: np.random.Generator) -> Arrays:
        return {
            "W": rng.standard_normal((self.d_out, self.d_in)),  # (k, d)
            "b": rng.standard_normal(self.d_out),  # (k,)
        }

    def loss_and_grad(self, params: Arrays, batch: Arrays) -> tuple[float, Arrays]:
        pred, cache = self.lin.forward(batch["x"], params["W"], params["b"])  # (N, k)
        loss, g = mse(pred, batch["y"])  # (N, k)
        grads = self.lin.backward(g, cache)
        return loss, {"W": grads["W"], "b": grads["b"]}

    def reduce(self, params: Arrays) -> dict[str, float]:
        return {"W00": float(params["W"][0, 0]), "b0": float(params["b"][0])}


W_TRUE = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, -1.0]])  # (k, d)


def fresh(rng: np.random.Generator, n: int = 16) -> Arrays:
    """n fresh examples of the teacher y = x W_TRUE^T + 0.5 + noise."""
    x = rng.standard_normal((n, 3))  # (n, d)
    y = x @ W_TRUE.T + 0.5 + 0.1 * rng.standard_normal((n, 2))  # (n, k)
    return {"x": x, "y": y}


def sampler(rng: np.random.Generator, step: int) -> Arrays:
    return fresh(rng)


def copy(p: Arrays) -> Arrays:
    return {k: v.copy() for k, v in p.items()}


def assert_params_close(a: Arrays, b: Arrays, tol: float = 1e-12) -> None:
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=tol, atol=tol)


# ------------------------------------------------------- musat2025: fresh-sample Adam
def musat_reference(steps: int, keep: set[int], lr: float, seed: int) -> list[tuple[int, Arrays]]:
    """musat2025's loop: init from rng, then one fresh batch and one Adam step per update."""
    model, rng = Regression(), np.random.default_rng(seed)
    theta = model.init(rng)
    b1, b2, eps = 0.9, 0.999, 1e-8
    m = {k: np.zeros_like(v) for k, v in theta.items()}
    v2 = {k: np.zeros_like(v) for k, v in theta.items()}
    out = [(0, copy(theta))]
    for k in range(steps):
        _, grads = model.loss_and_grad(theta, fresh(rng))
        c1, c2 = 1.0 - b1 ** (k + 1), 1.0 - b2 ** (k + 1)
        for name, g in grads.items():
            m[name] = b1 * m[name] + (1.0 - b1) * g
            v2[name] = b2 * v2[name] + (1.0 - b2) * g * g
            theta[name] = theta[name] - lr * (m[name] / c1) / (np.sqrt(v2[name] / c2) + eps)
        if k + 1 in keep:
            out.append((k + 1, copy(theta)))
    return out


def test_fresh_sample_adam_snapshots_match_the_musat_loop() -> None:
    steps, lr = 60, 0.05
    keep = [0, 1, 5, 20, 60]
    ref = musat_reference(steps, set(keep), lr, seed=3)
    snaps = Snapshots()
    tr, final = train(
        Regression(), None, lr=lr, steps=steps, optimizer="adam", sampler=sampler,
        rng=np.random.default_rng(3), record=np.array(keep), callbacks=[snaps],
    )  # fmt: skip
    assert snaps.steps == keep == [s for s, _ in ref]
    for (_, got), (_, want) in zip(snaps, ref, strict=True):
        assert_params_close(got, want)
    assert_params_close(final, ref[-1][1])
    # the snapshots are copies: later updates did not change the first one
    assert not np.allclose(snaps.params[0]["W"], final["W"])
    np.testing.assert_array_equal(tr.stats["record_steps"], keep)


def test_sampler_is_called_once_per_update_in_step_order_plus_a_recorded_last_step() -> None:
    calls: list[int] = []

    def counting(rng: np.random.Generator, step: int) -> Arrays:
        calls.append(step)
        return fresh(rng)

    train(Regression(), None, lr=0.01, steps=5, optimizer="sgd", sampler=counting,
          rng=np.random.default_rng(0), record="all")  # fmt: skip
    assert calls == [0, 1, 2, 3, 4, 5]
    calls.clear()
    train(Regression(), None, lr=0.01, steps=5, optimizer="sgd", sampler=counting,
          rng=np.random.default_rng(0), record=np.array([0, 2]))  # fmt: skip
    assert calls == [0, 1, 2, 3, 4]  # the last step is not recorded: no extra draw


def test_fresh_batches_differ_from_reusing_one_batch() -> None:  # negative control
    one = fresh(np.random.default_rng(9))
    kw: dict[str, Any] = {"lr": 0.05, "steps": 20, "optimizer": "adam"}
    _, online = train(Regression(), None, sampler=sampler, rng=np.random.default_rng(3), **kw)
    _, fixed = train(
        Regression(), None, sampler=lambda rng, k: one, rng=np.random.default_rng(3), **kw
    )
    assert not np.allclose(online["W"], fixed["W"])


# ------------------------------------------------- yuksel2026: AdamW with clipping
def yuksel_reference(
    steps: int, every: int, lr: float, wd: float, clip: float | None, seed: int
) -> tuple[Arrays, list[tuple[int, float, float]]]:
    """yuksel2026's loop: PyTorch AdamW, clip_grad_norm_, a fresh batch at every step
    including the last, (step, batch loss, grad norm before clipping) every ``every`` steps."""
    model, rng = Regression(), np.random.default_rng(seed)
    theta = model.init(rng)
    b1, b2, eps = 0.9, 0.999, 1e-8
    m = {k: np.zeros_like(v) for k, v in theta.items()}
    v = {k: np.zeros_like(p) for k, p in theta.items()}
    rows = []
    for step in range(steps + 1):
        loss, grads = model.loss_and_grad(theta, fresh(rng))
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        if clip is not None:
            grads = {k: g * min(1.0, clip / (norm + 1e-6)) for k, g in grads.items()}
        if step % every == 0 or step == steps:
            rows.append((step, loss, norm))
        if step == steps:
            break
        n = step + 1
        for k, g in grads.items():
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g**2
            m_hat, v_hat = m[k] / (1 - b1**n), v[k] / (1 - b2**n)
            theta[k] = theta[k] - lr * wd * theta[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta, rows


class Rows:
    """Callback recording (step, batch loss, grad norm), as yuksel2026's TrainRecord does."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float]] = []

    def __call__(self, step: int, params: Arrays, info: dict[str, Any]) -> None:
        self.rows.append((step, info["batch_loss"], info["grad_norm"]))


def run_adamw(
    steps: int, every: int, lr: float, wd: Any, clip: float | None, seed: int, **kw: Any
) -> tuple[Arrays, list[tuple[int, float, float]]]:
    rows = Rows()
    _, final = train(
        Regression(), None, lr=lr, steps=steps, optimizer="adamw", weight_decay=wd,
        clip_norm=clip, sampler=sampler, rng=np.random.default_rng(seed), record=every,
        callbacks=[rows], **kw,
    )  # fmt: skip
    return final, rows.rows


@pytest.mark.parametrize("clip", [None, 0.5])
def test_adamw_with_clipping_matches_the_yuksel_loop(clip: float | None) -> None:
    steps, every, lr, wd = 45, 10, 0.05, 0.1
    want, want_rows = yuksel_reference(steps, every, lr, wd, clip, seed=5)
    got, got_rows = run_adamw(steps, every, lr, wd, clip, seed=5)
    assert_params_close(got, want)
    assert [r[0] for r in got_rows] == [r[0] for r in want_rows] == [0, 10, 20, 30, 40, 45]
    np.testing.assert_allclose(np.array(got_rows), np.array(want_rows), rtol=1e-12, atol=1e-12)


def test_adamw_update_is_pytorchs_arithmetic() -> None:
    # yuksel2026's AdamW.step, in place: decay first, then the bias-corrected Adam step
    rng = np.random.default_rng(0)
    p0, g = rng.standard_normal(4), rng.standard_normal(4)
    lr, wd, (b1, b2), eps = 0.08, 0.01, (0.9, 0.999), 1e-8
    p, m, v = p0.copy(), np.zeros(4), np.zeros(4)
    for n in (1, 2):
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * g * g
        p *= 1.0 - lr * wd
        p -= (lr / (1.0 - b1**n)) * m / (np.sqrt(v) / math.sqrt(1.0 - b2**n) + eps)
    opt, theta = AdamW((b1, b2), eps, {"w": wd}, "lr"), {"w": p0.copy()}
    for k in (0, 1):
        opt.update(theta, {"w": g}, k, lr, {"w": 1.0})
    np.testing.assert_array_equal(theta["w"], p)  # bit for bit


def test_weight_decay_on_and_off_differ_and_zero_decay_is_adam() -> None:  # negative control
    on, _ = run_adamw(30, 10, 0.05, 0.1, None, seed=1)
    off, _ = run_adamw(30, 10, 0.05, 0.0, None, seed=1)
    assert not np.allclose(on["W"], off["W"])
    _, adam = train(Regression(), None, lr=0.05, steps=30, optimizer="adam", sampler=sampler,
                    rng=np.random.default_rng(1))  # fmt: skip
    assert_params_close(off, adam)


def test_weight_decay_per_group_and_decay_scale_schedule() -> None:
    # decay only the weights group; Loshchilov & Hutter's form: decay c_g * lambda, not
    # lr * c_g * lambda. Reference: Adam moments plus the decoupled decay by hand.
    lr, lam, c_w, steps = 0.05, 0.2, 0.5, 25
    sched = Schedule.constant({"weights": c_w})
    model, rng = Regression(), np.random.default_rng(2)
    theta = model.init(rng)
    fac, decay = {"W": c_w, "b": 1.0}, {"W": lam, "b": 0.0}
    m = {k: np.zeros_like(v) for k, v in theta.items()}
    v = {k: np.zeros_like(p) for k, p in theta.items()}
    for step in range(steps):
        _, grads = model.loss_and_grad(theta, fresh(rng))
        n = step + 1
        for k, g in grads.items():
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g**2
            adam = (m[k] / (1 - 0.9**n)) / (np.sqrt(v[k] / (1 - 0.999**n)) + 1e-8)
            theta[k] = theta[k] - fac[k] * decay[k] * theta[k] - lr * fac[k] * adam
    _, got = train(
        model, None, lr=lr, steps=steps, optimizer="adamw", weight_decay={"weights": lam},
        decay_scale="schedule", schedule=sched, sampler=sampler, rng=np.random.default_rng(2),
    )  # fmt: skip
    assert_params_close(got, theta)
    _, lr_scaled = train(
        model, None, lr=lr, steps=steps, optimizer="adamw", weight_decay={"weights": lam},
        schedule=sched, sampler=sampler, rng=np.random.default_rng(2),
    )  # fmt: skip
    assert not np.allclose(lr_scaled["W"], got["W"])  # negative control: the two forms differ


def test_clipping_changes_the_step_only_when_the_norm_exceeds_the_bound() -> None:
    model, p0 = Regression(), Regression().init(np.random.default_rng(4))
    data = fresh(np.random.default_rng(5), n=32)
    norm = global_norm(model.loss_and_grad(p0, data)[1])
    assert norm > 1.0
    _, plain = train(model, p0, data, lr=0.01, steps=1)
    _, loose = train(model, p0, data, lr=0.01, steps=1, clip_norm=10 * norm)
    _, tight = train(model, p0, data, lr=0.01, steps=1, clip_norm=0.5 * norm)
    for k in p0:
        np.testing.assert_array_equal(loose[k], plain[k])
        # clipped: the step is scaled by c / (|g| + 1e-6) ~ 0.5
        np.testing.assert_allclose(tight[k] - p0[k], 0.5 * (plain[k] - p0[k]), rtol=1e-6)
    clipped, n = clip_by_global_norm({"a": np.array([3.0, 4.0])}, 1.0)
    assert n == 5.0 and global_norm(clipped) == pytest.approx(1.0, rel=1e-6)


# --------------------------------------------- yuksel2026 bridge: full-batch GD records
def test_full_batch_gd_recorded_at_chosen_steps_matches_the_bridge_loop() -> None:
    model, lr, rec = Regression(), 0.1, np.array([0, 3, 10, 40])
    p0 = model.init(np.random.default_rng(6))
    data = fresh(np.random.default_rng(7), n=50)
    theta, ys, losses = copy(p0), [], []
    for step in range(rec[-1] + 1):
        loss, grads = model.loss_and_grad(theta, data)
        if step in rec:
            ys.append([theta["W"][0, 0], theta["b"][0]])
            losses.append(loss)
        if step == rec[-1]:
            break
        for k, g in grads.items():
            theta[k] -= lr * g
    tr, final = train(model, p0, data, lr=lr, steps=int(rec[-1]), record=rec)
    np.testing.assert_allclose(tr.y, np.array(ys), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tr.loss, losses, rtol=1e-12)
    np.testing.assert_allclose(tr.t, lr * rec, rtol=1e-15)
    assert_params_close(final, theta)


def test_gd_on_a_fresh_batch_every_step_matches_the_bridge_fresh_mode() -> None:
    model, lr, steps = Regression(), 0.05, 30
    p0 = model.init(np.random.default_rng(8))
    rng, theta = np.random.default_rng(9), copy(p0)
    for _ in range(steps):
        _, grads = model.loss_and_grad(theta, fresh(rng))
        for k, g in grads.items():
            theta[k] -= lr * g
    _, final = train(model, p0, lr=lr, steps=steps, optimizer="sgd", sampler=sampler,
                     rng=np.random.default_rng(9), record=[0, steps - 1])  # fmt: skip
    assert_params_close(final, theta)


# ------------------------------------------- sander2024: GD with early stopping
def until_reference(model: Regression, p0: Arrays, data: Arrays, lr: float, tol: float,
                    max_steps: int) -> tuple[Arrays, int, float]:  # fmt: skip
    """sander2024's loop: stop, without updating, at the first state with loss < tol."""
    theta = copy(p0)
    loss, grads = model.loss_and_grad(theta, data)
    k = 0
    while loss >= tol and k < max_steps:
        for name, g in grads.items():
            theta[name] = theta[name] - lr * g
        k += 1
        loss, grads = model.loss_and_grad(theta, data)
    return theta, k, loss


@pytest.mark.parametrize("max_steps", [500, 20])  # stops early / runs out of steps
def test_early_stopping_matches_the_train_until_loop(max_steps: int) -> None:
    model, lr, tol = Regression(), 0.1, 0.02
    p0 = model.init(np.random.default_rng(10))
    data = fresh(np.random.default_rng(11), n=40)
    want, k, loss = until_reference(model, p0, data, lr, tol, max_steps)
    tr, got = train(model, p0, data, lr=lr, steps=max_steps, record=[0, max_steps],
                    stop_when=lambda step, loss: loss < tol)  # fmt: skip
    assert_params_close(got, want)
    assert tr.stats["steps_done"] == k and tr.stats["stopped"] == (k < max_steps)
    assert tr.stats["record_steps"].tolist() == [0, k]
    assert tr.loss[-1] == pytest.approx(loss, rel=1e-12)
    assert tr.t[-1] == pytest.approx(lr * k, rel=1e-15)
    if k < max_steps:
        assert loss < tol <= tr.loss[0]


def test_early_stop_with_minibatches_records_the_full_data_loss() -> None:
    model = Regression()
    p0 = model.init(np.random.default_rng(12))
    data = fresh(np.random.default_rng(13), n=40)
    tr, final = train(model, p0, data, lr=0.05, steps=100, optimizer="sgd", batch_size=8,
                      rng=np.random.default_rng(0), record=10,
                      stop_when=lambda step, loss: step == 15)  # fmt: skip
    assert tr.stats["record_steps"].tolist() == [0, 10, 15]
    assert tr.loss[-1] == pytest.approx(model.loss_and_grad(final, data)[0], rel=1e-15)


# ---------------------------------------------------------------- callbacks
def test_callbacks_see_every_recorded_step_after_its_record() -> None:
    seen: list[tuple[int, float, float, float]] = []

    def cb(step: int, params: Arrays, info: dict[str, Any]) -> None:
        seen.append((step, info["t"], info["loss"], float(params["b"][0])))

    data = fresh(np.random.default_rng(1), n=20)
    tr, _ = train(Regression(), Regression().init(np.random.default_rng(0)), data, lr=0.1,
                  steps=12, record=4, callbacks=[cb])  # fmt: skip
    assert [s[0] for s in seen] == [0, 4, 8, 12]
    np.testing.assert_array_equal([s[1] for s in seen], tr.t)
    np.testing.assert_array_equal([s[2] for s in seen], tr.loss)
    np.testing.assert_array_equal([s[3] for s in seen], tr["b0"])


# -------------------------------------------------------------------- bad input
class Counting(Regression):
    """Regression that counts its gradient calls (none may happen before a ValueError)."""

    calls: list[int] = []

    def loss_and_grad(self, params: Arrays, batch: Arrays) -> tuple[float, Arrays]:
        self.calls.append(1)
        return super().loss_and_grad(params, batch)


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "negative weight_decay": ({"optimizer": "adamw", "weight_decay": -0.1}, "weight_decay"),
    "nan weight_decay": ({"optimizer": "adamw", "weight_decay": float("nan")}, "weight_decay"),
    "negative group decay": ({"optimizer": "adamw", "weight_decay": {"bias": -1.0}}, "bias"),
    "decay of unknown group": ({"optimizer": "adamw", "weight_decay": {"atn": 0.1}}, "atn"),
    "decay without adamw": ({"optimizer": "adam", "weight_decay": 0.1}, "adamw"),
    "bad decay_scale": ({"optimizer": "adamw", "decay_scale": "epoch"}, "decay_scale"),
    "clip_norm zero": ({"clip_norm": 0.0}, "clip_norm"),
    "clip_norm negative": ({"clip_norm": -1.0}, "clip_norm"),
    "clip_norm nan": ({"clip_norm": float("nan")}, "clip_norm"),
    "sampler not callable": ({"optimizer": "sgd", "sampler": 3, "data": None}, "sampler"),
    "sampler and batch_size": (
        {"optimizer": "sgd", "sampler": sampler, "batch_size": 4, "data": None}, "not both"
    ),
    "sampler and data": ({"optimizer": "adam", "sampler": sampler}, "data must be None"),
    "sampler with gd": ({"optimizer": "gd", "sampler": sampler, "data": None}, "sgd"),
    "sampler without rng": (
        {"optimizer": "sgd", "sampler": sampler, "data": None, "rng": None}, "rng="
    ),
    "callback not callable": ({"callbacks": [3]}, "callbacks"),
    "callbacks a function": ({"callbacks": sampler}, "callbacks"),
    "stop_when not callable": ({"stop_when": 0.01}, "stop_when"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_raise_value_error_before_the_first_step(case: str) -> None:
    over, message = BAD[case]
    kwargs: dict[str, Any] = {
        "data": fresh(np.random.default_rng(0)), "lr": 0.1, "steps": 5,
        "rng": np.random.default_rng(1),
    }  # fmt: skip
    kwargs.update(over)
    model = Counting()
    model.calls.clear()
    with pytest.raises(ValueError, match=message):
        train(model, Regression().init(np.random.default_rng(0)), **kwargs)
    assert model.calls == []
