"""The trainer's overhead: ``dynamics.direct.train`` against a plain numpy loop (issue 18, item 6).

Run ``python benchmarks/bench_train.py [--quick] [--json FILE] [--steps N] [--profile]``.

Two problems of online SGD, input dimension N = 100, one fresh example per step: a soft
committee machine (student K = 2, teacher M = 2, g(x) = erf(x / sqrt 2): the setting of
Saad & Solla's order-parameter ODEs) and a linear perceptron (the lightest step, where the
trainer's own cost shows most). Both sides use the same model arithmetic, the same sampler
and the same random stream, record the order parameters and the analytic population loss
at the same log-spaced steps, and must give the same result bit for bit:

* **plain**: what a user writes without the package: a ``for`` loop that draws the
  example, calls ``loss_and_grad``, records at the chosen steps and updates
  ``W = W - lr * g``;
* **train**: ``train(model, params, lr=lr, steps=steps, optimizer="sgd",
  sampler=sampler, rng=rng, time=1/N, population_loss=...)`` (online time alpha = step / N,
  the recorded loss the analytic generalisation error).

Each side is timed ``--repeats`` times alternately (round-robin, so a burst of load from
elsewhere hits both alike) and the best is kept. Printed: microseconds per step of each,
the ratio train / plain (target: at most 1.2) and whether the results are identical.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import erf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SQ2 = math.sqrt(2.0)
SQ2PI = math.sqrt(2.0 / math.pi)


@dataclass
class Committee:
    r"""Student $\sum_i g(w_i\cdot x/\sqrt N)$ against a fixed teacher, half squared error."""

    B: np.ndarray  # (M, N) teacher weights
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def N(self) -> int:
        return self.B.shape[1]

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"W": 0.1 * rng.standard_normal((2, self.N))}  # (K, N)

    def sample(self, rng: np.random.Generator, step: int) -> dict[str, np.ndarray]:
        x = rng.standard_normal(self.N)  # (N,)
        y = float(np.sum(erf(self.B @ x / (SQ2 * math.sqrt(self.N)))))
        return {"x": x, "y": y}

    def loss_and_grad(self, params: dict[str, np.ndarray], batch: dict[str, np.ndarray]
                      ) -> tuple[float, dict[str, np.ndarray]]:
        W, x = params["W"], batch["x"]  # (K, N), (N,)
        h = W @ x / math.sqrt(self.N)  # (K,)
        r = float(np.sum(erf(h / SQ2))) - batch["y"]
        dg = SQ2PI * np.exp(-0.5 * h * h)  # (K,)
        gW = np.outer(r * dg, x) / math.sqrt(self.N)  # (K, N)
        return 0.5 * r * r, {"W": gW}

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]:
        W, N = params["W"], self.N
        Q = W @ W.T / N  # (K, K)
        R = W @ self.B.T / N  # (K, M)
        return {"Q11": float(Q[0, 0]), "Q12": float(Q[0, 1]), "Q22": float(Q[1, 1]),
                "R11": float(R[0, 0]), "R12": float(R[0, 1]), "R21": float(R[1, 0]),
                "R22": float(R[1, 1])}

    def population_loss(self, params: dict[str, np.ndarray]) -> float:
        r"""Generalisation error $\epsilon_g$ of erf committees (Saad & Solla 1995, Eq. 3)."""
        W, B, N = params["W"], self.B, self.N
        Q, R, T = W @ W.T / N, W @ B.T / N, B @ B.T / N

        def f(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
            return float(np.sum(np.arcsin(c / np.sqrt(np.outer(1 + a, 1 + b)))))

        q, t = np.diag(Q), np.diag(T)
        return (f(Q, q, q) + f(T, t, t) - 2 * f(R, q, t)) / math.pi


@dataclass
class Perceptron:
    r"""Linear student $w\cdot x/\sqrt N$ against a linear teacher: the lightest online step,
    where the trainer's own per-step cost shows most."""

    w_star: np.ndarray  # (N,)
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def N(self) -> int:
        return self.w_star.size

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"W": 0.1 * rng.standard_normal(self.N)}  # (N,)

    def sample(self, rng: np.random.Generator, step: int) -> dict[str, np.ndarray]:
        x = rng.standard_normal(self.N)  # (N,)
        return {"x": x, "y": float(self.w_star @ x) / math.sqrt(self.N)}

    def loss_and_grad(self, params: dict[str, np.ndarray], batch: dict[str, np.ndarray]
                      ) -> tuple[float, dict[str, np.ndarray]]:
        x = batch["x"]  # (N,)
        r = float(params["W"] @ x) / math.sqrt(self.N) - batch["y"]
        return 0.5 * r * r, {"W": (r / math.sqrt(self.N)) * x}

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]:
        W, N = params["W"], self.N
        return {"Q": float(W @ W) / N, "R": float(W @ self.w_star) / N}

    def population_loss(self, params: dict[str, np.ndarray]) -> float:
        d = params["W"] - self.w_star  # (N,)
        return 0.5 * float(d @ d) / self.N


def plain_loop(model: Committee, params: dict[str, np.ndarray], lr: float, steps: int,
               rec: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loop a user writes: returns (recorded reduced coordinates, recorded loss, final W)."""
    W = params["W"].copy()
    ys = np.empty((rec.size, len(model.reduce(params))))
    loss_rec = np.empty(rec.size)
    i = 0
    nxt = int(rec[0])
    for k in range(steps + 1):
        batch = model.sample(rng, k)
        loss, g = model.loss_and_grad({"W": W}, batch)
        if k == nxt:
            ys[i] = list(model.reduce({"W": W}).values())
            loss_rec[i] = model.population_loss({"W": W})
            i += 1
            nxt = int(rec[i]) if i < rec.size else -1
        if k == steps:
            break
        W = W - lr * g["W"]
    return ys, loss_rec, W


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2000 steps, 3 repeats")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default 20000)")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per side (default 7)")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--profile", action="store_true", help="cProfile one train run")
    args = ap.parse_args(argv)
    from dynamics.direct import record_steps, train

    steps = args.steps or (2000 if args.quick else 20000)
    repeats = args.repeats or (3 if args.quick else 7)
    N = 100
    B = np.eye(2, N) * math.sqrt(N)  # (M, N): T = B B^T / N = I
    w_star = np.ones(N)
    problems = {"committee": (Committee(B), 0.5), "perceptron": (Perceptron(w_star), 0.5)}
    rec = record_steps(steps, "log", 200)

    def runners(model: Any, lr: float) -> dict[str, Callable[[], tuple[np.ndarray, ...]]]:
        params0 = model.init(np.random.default_rng(1))

        def run_plain() -> tuple[np.ndarray, ...]:
            return plain_loop(model, params0, lr, steps, rec, np.random.default_rng(7))

        def run_train() -> tuple[np.ndarray, ...]:
            tr, p = train(model, params0, lr=lr, steps=steps, optimizer="sgd",
                          sampler=model.sample, rng=np.random.default_rng(7), time=1.0 / N,
                          population_loss=model.population_loss)
            return tr.y, tr.loss, p["W"]

        return {"plain": run_plain, "train": run_train}

    if args.profile:
        import cProfile
        import pstats

        run = runners(*problems["perceptron"])["train"]
        cProfile.runctx("run()", globals(), {"run": run}, "/tmp/bench_train.prof")
        pstats.Stats("/tmp/bench_train.prof").sort_stats("tottime").print_stats(15)
        return 0
    load0 = os.getloadavg()[0]
    result: dict[str, Any] = {"steps": steps, "records": int(rec.size), "repeats": repeats}
    ok = True
    print(f"online SGD, N = {N}, one fresh example per step, {steps} steps, {rec.size} records, "
          f"best of {repeats} (round-robin)")
    print(f"{'problem':11s} {'plain us/step':>14s} {'train us/step':>14s} {'ratio':>7s}  same result")
    for pname, (model, lr) in problems.items():
        fns = runners(model, lr)
        best = {"plain": math.inf, "train": math.inf}
        out = {}
        for _ in range(repeats):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                out[name] = fn()
                best[name] = min(best[name], time.perf_counter() - t0)
        same = all(np.array_equal(a, b) for a, b in zip(out["plain"], out["train"], strict=True))
        us = {k: v / steps * 1e6 for k, v in best.items()}
        ratio = best["train"] / best["plain"]
        ok = ok and same
        print(f"{pname:11s} {us['plain']:14.1f} {us['train']:14.1f} {ratio:7.3f}  "
              f"{'bit for bit' if same else 'DIFFERENT'}")
        result[pname] = {"us_per_step_plain": us["plain"], "us_per_step_train": us["train"],
                         "ratio": ratio, "same_result": same}
    worst = max(result[p]["ratio"] for p in problems)
    print(f"ratio train / plain (worst) = {worst:.3f}  {'PASS' if worst <= 1.2 else 'MISS'} "
          "(target 1.2)")
    result["loadavg"] = [load0, os.getloadavg()[0]]
    print(f"load average (1 min): {load0:.2f} before, {os.getloadavg()[0]:.2f} after, "
          f"on {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
