r"""Training experiments on the retrieval transformer: runs, head roles, emergence (spec 3.3, 5.5).

Everything here is the spec's reconstruction (the paper's metrics were not found):

* :class:`TrainConfig`: one training setting (task sizes, model sizes, Adam, budget);
* :func:`run_training`: one seeded run in a data regime, recording at every snapshot the
  per-hop accuracy *at the query position* on one held-out batch with query depths uniform
  over $1..D$ (the same batch for every regime, so regimes are compared on the same
  questions), the mean loss on that batch, and every head's structural attention scores;
* :func:`head_roles`: each head's role $R^* = \arg\max_R \mathrm{SAS}_R(T_{end})$, kept only
  when that final score is at least ``min_score`` (spec 3.3);
* :func:`emergence_events`: the times at which roles and per-hop accuracies emerge:
  a role at the first snapshot (interpolated) where its best head's score crosses 1/2, the
  hop-$k$ accuracy when it crosses the midpoint between in-context chance $1/C$ and 1;
* :func:`order_agreement`: Kendall tau between the event orders of two runs;
* :func:`hop1_first`, :func:`staircase`: per seed, whether the 1-hop accuracy crosses before
  every role emerges, and before the 2-hop accuracy (censored at the budget).

The mapping to the reduced model R1 (spec 5.4): $p_i$ <-> the score of the head with role
$i$; class $j$ <-> queries with $j$ hops; $\pi_j$ <-> the IC-B mixture; model time <-> Adam
steps (no calibration: only orders and learns/does-not-learn are compared, not times).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from derivations.musat2025.data import Regime, RetrievalTask
from derivations.musat2025.direct import AttentionOnlyTransformer
from derivations.musat2025.measure import (
    emergence_time,
    head_scores,
    kendall_tau,
    snapshot_steps,
)
from dynamics.direct import Snapshots, train
from dynamics.direct.layers import cross_entropy
from dynamics.parallel import map_processes

__all__ = [
    "TrainConfig",
    "TrainingRun",
    "Job",
    "run_training",
    "run_many",
    "head_roles",
    "emergence_events",
    "order_agreement",
    "hop1_first",
    "staircase",
]


@dataclass(frozen=True)
class TrainConfig:
    """One training setting (spec 2.2, reconstructed, scaled down to train on 2 cores in seconds).

    Parameters
    ----------
    n_chains, depth, n_values, n_vars : int
        Task sizes (:class:`~derivations.musat2025.data.RetrievalTask`).
    n_layers, n_heads, d_model : int
        Model sizes; ``n_layers = depth + 1`` is what the constructive circuit needs.
    init_scale, lr : float
        Gaussian initialisation scale and the Adam learning rate.
    steps, batch_size, n_snapshots : int
        Budget, minibatch size and number of (linearly spaced) snapshots.
    n_eval : int
        Size of the held-out evaluation batch (query depths uniform over $1..D$).
    """

    n_chains: int = 2
    depth: int = 2
    n_values: int = 4
    n_vars: int = 8
    n_layers: int = 3
    n_heads: int = 2
    d_model: int = 32
    init_scale: float = 0.3
    lr: float = 3e-3
    steps: int = 3000
    batch_size: int = 64
    n_snapshots: int = 31
    n_eval: int = 512

    def task(self, regime: Regime = "ic_b", pi: Sequence[float] | None = None) -> RetrievalTask:
        """The task in ``regime`` (``pi`` only for ``"ic_b"``)."""
        return RetrievalTask(self.n_chains, self.depth, self.n_values, self.n_vars, regime, pi)

    def model(self) -> AttentionOnlyTransformer:
        return AttentionOnlyTransformer.for_task(
            self.task(),
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_model=self.d_model,
            init_scale=self.init_scale,
        )

    def with_(self, **changes: object) -> TrainConfig:
        """A copy with ``changes`` (unknown names raise ``ValueError``)."""
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise ValueError(
                f"unknown TrainConfig field(s) {sorted(unknown)}; known: {sorted(asdict(self))}"
            )
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TrainingRun:
    """One run's record.

    Attributes
    ----------
    steps : (n,) int
    acc : (n, D) float, query accuracy per hop count on the held-out batch
    loss : (n,) float, mean query cross-entropy on the held-out batch
    scores : dict role -> (n, L, H) float, structural attention scores
    params : dict, the final parameters
    """

    config: TrainConfig
    regime: str
    pi: tuple[float, ...] | None
    seed: int
    steps: np.ndarray
    acc: np.ndarray
    loss: np.ndarray
    scores: dict[str, np.ndarray]
    params: dict[str, np.ndarray]

    @property
    def chance(self) -> float:
        """In-context chance: the answer is one of the ``n_chains`` values present."""
        return 1.0 / self.config.n_chains

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez``."""
        out = {f"{prefix}steps": self.steps, f"{prefix}acc": self.acc, f"{prefix}loss": self.loss}
        out |= {f"{prefix}score.{k}": v for k, v in self.scores.items()}
        return out


def run_training(
    cfg: TrainConfig, regime: Regime, seed: int, pi: Sequence[float] | None = None
) -> TrainingRun:
    """Train one model from ``seed`` on fresh data of ``regime`` and record it (see module doc)."""
    task = cfg.task(regime, pi)
    model = cfg.model()
    ev_task = cfg.task("ic_b")
    ev = ev_task.sample(np.random.default_rng(10_000 + seed), cfg.n_eval)
    # evaluate the query only: an IC-B batch supervises exactly the query position
    # one continuous Adam run on a fresh minibatch every step (init drawn first, then the
    # batches, from the same generator), parameter copies at linearly spaced snapshots
    snapshots = Snapshots()
    train(model, None, None, lr=cfg.lr, steps=cfg.steps, optimizer="adam",
          sampler=lambda rng, step: task.sample(rng, cfg.batch_size), rng=np.random.default_rng(seed),
          record=snapshot_steps(cfg.steps, cfg.n_snapshots, "linear"), callbacks=[snapshots])
    snaps = list(snapshots)
    n, D = len(snaps), cfg.depth
    acc = np.full((n, D), np.nan)
    loss = np.empty(n)
    scores: dict[str, list[np.ndarray]] = {}
    sup = ev.targets >= 0  # (B, S): the query position only, for an IC-B batch
    tgt = ev.targets[sup]
    hops = ev.hops[sup]
    for i, (_, params) in enumerate(snaps):
        logits, cache = model.forward(params, ev.tokens)  # one forward for all three records
        sel = logits[sup]  # (N, V)
        correct = sel.argmax(axis=-1) == tgt
        for h in range(1, D + 1):
            if np.any(hops == h):
                acc[i, h - 1] = correct[hops == h].mean()
        loss[i] = cross_entropy(sel, tgt)[0]
        for role, s in head_scores(model, params, ev, cache).items():
            scores.setdefault(role, []).append(s)
    return TrainingRun(
        cfg,
        regime,
        None if pi is None else tuple(float(x) for x in pi),
        seed,
        np.array([s for s, _ in snaps]),
        acc,
        loss,
        {k: np.stack(v) for k, v in scores.items()},
        snaps[-1][1],
    )


@dataclass(frozen=True)
class Job:
    """Arguments of one :func:`run_training` call."""

    config: TrainConfig
    regime: Regime
    seed: int
    pi: tuple[float, ...] | None = None


def _run_job(job: Job) -> TrainingRun:
    return run_training(job.config, job.regime, job.seed, job.pi)


def run_many(
    jobs: Sequence[Job], workers: int | None = None,
    progress: Callable[[int, Job, TrainingRun], None] | None = None,
) -> list[TrainingRun]:
    """Run independent trainings in worker processes (:func:`dynamics.parallel.map_processes`:
    spawned, one BLAS thread each, default up to 2). Results come back in the order of
    ``jobs`` and equal running them one by one (each run owns its seeded generators).
    ``progress(i, job, run)`` is called as each run finishes."""
    return map_processes(_run_job, jobs, workers, progress)


def head_roles(run: TrainingRun, min_score: float = 0.5) -> dict[tuple[int, int], str]:
    """(layer, head) -> role, for heads whose best final structural score is >= ``min_score``."""
    roles = sorted(run.scores)
    final = np.stack([run.scores[r][-1] for r in roles])  # (R, L, H)
    out: dict[tuple[int, int], str] = {}
    L, H = final.shape[1:]
    for layer in range(L):
        for h in range(H):
            col = np.nan_to_num(final[:, layer, h], nan=-1.0)
            j = int(np.argmax(col))
            if col[j] >= min_score:
                out[(layer, h)] = roles[j]
    return out


def emergence_events(run: TrainingRun, min_score: float = 0.5) -> dict[str, float]:
    """Event name -> emergence step (``nan`` if it never happens within the budget).

    ``"role:{R}"`` for every role held by some head at the end (:func:`head_roles`): the first
    step where the best such head's score reaches 1/2; ``"acc:hop{k}"`` for every hop count:
    the first step where the query accuracy reaches $(1 + 1/C)/2$.
    """
    out: dict[str, float] = {}
    for (layer, h), role in sorted(head_roles(run, min_score).items()):
        t = emergence_time(run.steps, run.scores[role][:, layer, h], 0.5)
        key = f"role:{role}"
        out[key] = t if key not in out or not math.isfinite(out[key]) else min(out[key], t)
    thr = 0.5 * (1.0 + run.chance)
    for k in range(run.acc.shape[1]):
        out[f"acc:hop{k + 1}"] = emergence_time(run.steps, run.acc[:, k], thr)
    return out


def order_agreement(a: dict[str, float], b: dict[str, float]) -> tuple[float, list[str]]:
    """Kendall tau between two runs' emergence orders over the events both have (finite).

    Returns ``(tau, events)``; ``nan`` when fewer than two common events.
    """
    common = sorted(k for k in set(a) & set(b) if math.isfinite(a[k]) and math.isfinite(b[k]))
    if len(common) < 2:
        return float("nan"), common
    return kendall_tau([a[k] for k in common], [b[k] for k in common]), common


def hop1_first(events: list[dict[str, float]]) -> list[bool]:
    """Per seed with a finite 1-hop accuracy crossing and some role: whether the crossing comes before
    every role's emergence (the 0.5 score then times a sharpening, not the emergence)."""
    out = []
    for e in events:
        roles = [v for k, v in e.items() if k.startswith("role:") and math.isfinite(v)]
        if roles and math.isfinite(e.get("acc:hop1", float("nan"))):
            out.append(bool(e["acc:hop1"] < min(roles)))
    return out


def staircase(events: list[dict[str, float]]) -> list[bool]:
    """Per seed, whether 1-hop queries emerged before 2-hop ones.

    A stage that never emerges within the budget counts as emerging after it (censored at the
    budget): 1-hop learned and 2-hop not yet is in order; seeds where neither emerged are left out.
    """
    out = []
    for e in events:
        t1, t2 = e["acc:hop1"], e["acc:hop2"]
        if math.isfinite(t1) or math.isfinite(t2):
            out.append(bool(t1 < t2) if math.isfinite(t1) and math.isfinite(t2) else math.isfinite(t1))
    return out

