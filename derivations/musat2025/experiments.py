r"""Training experiments on the retrieval transformer: settings, seeded runs and their records (spec 3.3, 5.5).

Everything here is the spec's reconstruction (the paper's metrics were not found):

* :class:`TrainConfig`: one training setting (task sizes, model sizes, Adam, budget, the
  snapshot grid and the ablation criterion);
* :func:`run_training`: one seeded run in a data regime, recording at every snapshot, on one
  held-out batch with query depths uniform over $1..D$ (the same batch for every regime, so
  regimes are compared on the same questions): the per-hop query accuracy, the same with each
  head, layer or layer site zeroed (:mod:`.ablation`), the mean loss, and every head's
  structural attention scores, in a :class:`TrainingRun`;
* :func:`run_many`: independent runs in worker processes.

What the records say (which unit carries each hop level, when it emerges, the tables over
seeds that R1 is compared with) is read in :mod:`.units`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from derivations.musat2025.ablation import (
    CARRY_FRAC,
    ablation_accuracy,
    layer_ablation_accuracy,
    site_ablation_accuracy,
)
from derivations.musat2025.data import Batch, Regime, RetrievalTask
from derivations.musat2025.direct import AttentionOnlyTransformer
from derivations.musat2025.measure import head_scores, snapshot_steps, statement_scores
from dynamics.direct import Snapshots, train
from dynamics.direct.layers import cross_entropy
from dynamics.parallel import map_processes
from dynamics.schedule import Schedule

__all__ = ["TrainConfig", "TrainingRun", "Job", "run_training", "run_many", "probe_example"]


#: Constant pieces of the linear learning-rate decay (:meth:`TrainConfig.schedule`).
DECAY_PIECES = 8


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
        Budget, minibatch size and number of (linearly spaced) snapshots; the emergence
        resolution is ``steps / (n_snapshots - 1)``.
    n_eval : int
        Size of the held-out evaluation batch (query depths uniform over $1..D$).
    carry_frac : float
        Fraction of the above-chance accuracy a head must carry (:mod:`.ablation`).
    ic_a_labels : {"determined", "all"}
        Which statement labels IC-A supervises (:class:`~.data.RetrievalTask`).
    decay_from : float
        Fraction of ``steps`` after which the learning rate decays linearly towards 0, in
        :data:`DECAY_PIECES` constant pieces (reconstruction; 1: constant ``lr``). Constant Adam
        at ``lr = 3e-3`` leaves the trained model jumping between a solved and a half-solved
        2-hop task (loss spikes from 0.01 to 0.3 late in training); the decay lets it settle.
    unit : {"site", "layer", "head"}
        What is zeroed to find the carrier of a hop level (:func:`.units.level_heads`), a
        reconstruction: a layer's heads at one site, the query or the statements
        (``"site"``, the default: :func:`.ablation.site_levels`, which recognises both the
        query-side lookups and the statement-side link heads of spec 1.3), all heads of a
        layer together (``"layer"``, the query-side lookups only) or one head (``"head"``).
        Levels read at IC-A's statements have no query site: there ``"site"`` uses
        :func:`.ablation.statement_levels` (whole layers, hop 1 found with the layers above).
    dtype : {"float32", "float64"}
        Precision of training and of the snapshot measurements (the model's ``dtype``). float32
        (default) is about 2x faster per step at these sizes; float64 is what the gradient
        checks use. Its rounding (relative 1e-7 per operation) is far below Adam's step noise.
    ic_a_levels : {"statements", "query"}
        Where an IC-A run's hop levels are measured (reconstruction): at the statements' dst
        positions, where IC-A supervises its 1..D-hop labels (default), or at the query like
        every other regime. IC-A asks only D-hop questions at the query, so there its 1-hop
        level cannot be learned and no stacked pair can be found.
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
    carry_frac: float = CARRY_FRAC
    ic_a_labels: str = "determined"
    decay_from: float = 1.0
    unit: str = "site"
    ic_a_levels: str = "statements"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if not 0.0 <= self.decay_from <= 1.0:
            raise ValueError(f"decay_from must lie in [0, 1], got {self.decay_from}")
        if self.unit not in ("site", "layer", "head"):
            raise ValueError(f"unit must be 'site', 'layer' or 'head', got {self.unit!r}")
        if self.ic_a_levels not in ("statements", "query"):
            raise ValueError(f"ic_a_levels must be 'statements' or 'query', got {self.ic_a_levels!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    def task(self, regime: Regime = "ic_b", pi: Sequence[float] | None = None) -> RetrievalTask:
        """The task in ``regime`` (``pi`` only for ``"ic_b"``)."""
        return RetrievalTask(self.n_chains, self.depth, self.n_values, self.n_vars, regime, pi,
                             self.ic_a_labels)  # type: ignore[arg-type]

    def model(self) -> AttentionOnlyTransformer:
        return AttentionOnlyTransformer.for_task(
            self.task(),
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_model=self.d_model,
            init_scale=self.init_scale,
            dtype=self.dtype,
        )

    def schedule(self) -> Schedule | None:
        """The learning-rate schedule of ``decay_from`` (``None``: constant), in flow time ``lr * step``:
        factor 1 before ``decay_from * steps``, then ``1 - (i + 1/2)/P`` on piece ``i`` of ``P``
        equal pieces up to ``steps`` (the midpoint of a linear decay to 0)."""
        if self.decay_from >= 1.0:
            return None
        P = DECAY_PIECES
        t0 = self.decay_from * self.steps
        breaks = [self.lr * (t0 + i * (self.steps - t0) / P) for i in range(P)]
        factors: list[dict[str, float]] = [{}] + [{"default": 1.0 - (i + 0.5) / P} for i in range(P)]
        if breaks[0] <= 0.0:
            breaks, factors = breaks[1:], factors[1:]
        return Schedule(tuple(breaks), tuple(factors))

    @property
    def resolution(self) -> float:
        """Steps between snapshots: the resolution of every emergence time."""
        return self.steps / (self.n_snapshots - 1)

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
    r"""One run's record.

    Attributes
    ----------
    steps : (n,) int
    acc : (n, D) float, query accuracy per hop count on the held-out batch
    ablated : (n, L, H, D) float, the same with each head's output zeroed
    ablated_layers : (n, L, D) float, the same with all heads of each layer zeroed
    loss : (n,) float, mean query cross-entropy on the held-out batch
    scores : dict role -> (n, L, H) float, structural attention scores
    params : dict, the final parameters
    probe : (S,) int, one fixed deepest query (:func:`probe_example`)
    patterns : (n, L, H, S, S) float, every head's attention on ``probe`` at every snapshot
    levels_at : ``"query"`` or ``"statements"``, where the hop levels are measured
        (:attr:`TrainConfig.ic_a_levels`; only IC-A runs can be ``"statements"``)
    statement_acc, statement_ablated, statement_ablated_layers : ``acc``, ``ablated`` and
        ``ablated_layers`` over the supervised statement labels of a held-out IC-A batch
        (:func:`.ablation.ablation_accuracy` with ``where="statements"``; lookup scores
        ``scores["slookup{k}"]``), recorded when the levels are read there (else ``None``).
        ``level_acc``, ``level_ablated``, ``level_ablated_layers``: the arrays the levels are read from.
    ablated_above, statement_ablated_above : (n, L, D) float or None, the accuracy with layer
        $\ell$ and every layer above it zeroed (:func:`.ablation.layer_ablation_accuracy` with
        ``above=True``), at the query and at the statements; ``level_ablated_above`` the one the
        levels are read from (``None`` in runs recorded without it).
    site_ablated : (n, L, 3, D) float or None, the query accuracy with each layer zeroed at the
        query only, at the context only, and at the query with the layers above it
        (:func:`.ablation.site_ablation_accuracy`; ``None`` in runs recorded without it).
    """

    config: TrainConfig
    regime: str
    pi: tuple[float, ...] | None
    seed: int
    steps: np.ndarray
    acc: np.ndarray
    ablated: np.ndarray
    ablated_layers: np.ndarray
    loss: np.ndarray
    scores: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    probe: np.ndarray
    patterns: np.ndarray
    levels_at: str = "query"
    statement_acc: np.ndarray | None = None
    statement_ablated: np.ndarray | None = None
    statement_ablated_layers: np.ndarray | None = None
    ablated_above: np.ndarray | None = None
    statement_ablated_above: np.ndarray | None = None
    site_ablated: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.levels_at not in ("query", "statements"):
            raise ValueError(f"levels_at must be 'query' or 'statements', got {self.levels_at!r}")
        if self.levels_at == "statements" and (self.statement_acc is None or self.statement_ablated is None
                                               or self.statement_ablated_layers is None):
            raise ValueError("levels read at the statements need the statement arrays")

    def _levels(self, query: np.ndarray, statements: np.ndarray | None) -> np.ndarray:
        return statements if self.levels_at == "statements" and statements is not None else query

    @property
    def level_acc(self) -> np.ndarray:
        """(n, D) the accuracy the hop levels are read from (``levels_at``)."""
        return self._levels(self.acc, self.statement_acc)

    @property
    def level_ablated(self) -> np.ndarray:
        """(n, L, H, D) the same with each head zeroed."""
        return self._levels(self.ablated, self.statement_ablated)

    @property
    def level_ablated_layers(self) -> np.ndarray:
        """(n, L, D) the same with each layer's heads zeroed."""
        return self._levels(self.ablated_layers, self.statement_ablated_layers)

    @property
    def level_ablated_above(self) -> np.ndarray | None:
        """(n, L, D) the same with each layer and every layer above it zeroed, or ``None``."""
        if self.levels_at == "statements":
            return self.statement_ablated_above
        return self.ablated_above

    @property
    def chance(self) -> float:
        """In-context chance: the answer is one of the ``n_chains`` values present."""
        return 1.0 / self.config.n_chains

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez``."""
        out = {f"{prefix}steps": self.steps, f"{prefix}acc": self.acc, f"{prefix}loss": self.loss,
               f"{prefix}ablated": self.ablated, f"{prefix}ablated_layers": self.ablated_layers}
        out |= {f"{prefix}score.{k}": v for k, v in self.scores.items()}
        for name in ("statement_acc", "statement_ablated", "statement_ablated_layers", "ablated_above",
                     "statement_ablated_above", "site_ablated"):  # the optional records, where present
            if getattr(self, name) is not None:
                out[f"{prefix}{name}"] = getattr(self, name)
        return out


def probe_example(cfg: TrainConfig) -> np.ndarray:
    """One fixed example with a deepest query (generator seed 7), whose attention maps a run keeps."""
    return cfg.task("ic_b", [0.0] * (cfg.depth - 1) + [1.0]).sample(np.random.default_rng(7), 1).tokens[0]


def run_training(
    cfg: TrainConfig, regime: Regime, seed: int, pi: Sequence[float] | None = None
) -> TrainingRun:
    """Train one model from ``seed`` on fresh data of ``regime`` and record it (see module doc)."""
    task = cfg.task(regime, pi)
    model = cfg.model()
    ev = cfg.task("ic_b").sample(np.random.default_rng(10_000 + seed), cfg.n_eval)
    # one continuous Adam run on a fresh minibatch every step (init drawn first, then the
    # batches, from the same generator), parameter copies at linearly spaced snapshots
    snapshots = Snapshots()
    train(model, None, None, lr=cfg.lr, steps=cfg.steps, optimizer="adam", schedule=cfg.schedule(),
          sampler=lambda rng, step: task.sample(rng, cfg.batch_size), rng=np.random.default_rng(seed),
          record=snapshot_steps(cfg.steps, cfg.n_snapshots, "linear"), callbacks=[snapshots])
    snaps = list(snapshots)
    n, D = len(snaps), cfg.depth
    acc = np.full((n, D), np.nan)
    ablated = np.full((n, cfg.n_layers, cfg.n_heads, D), np.nan)
    ablated_layers = np.full((n, cfg.n_layers, D), np.nan)
    loss = np.empty(n)
    scores: dict[str, list[np.ndarray]] = {}
    sup = ev.targets >= 0  # (B, S): the query position only, for an IC-B batch
    probe = probe_example(cfg)
    S = probe.size
    patterns = np.empty((n, cfg.n_layers, cfg.n_heads, S, S))
    at_statements = regime == "ic_a" and cfg.ic_a_levels == "statements"
    if at_statements:  # IC-A's own labels, held out (a different generator from ``ev``)
        ev_s = task.sample(np.random.default_rng(20_000 + seed), cfg.n_eval)
        s_acc, s_abl = acc.copy(), ablated.copy()
        s_abl_layers = ablated_layers.copy()
        s_above = ablated_layers.copy()
    above = ablated_layers.copy()
    sites = np.full((n, cfg.n_layers, 3, D), np.nan)

    def ablate(params: dict[str, np.ndarray], batch: Batch, where: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Intact, each head zeroed, each layer zeroed, each layer zeroed with those above it."""
        a, ab = ablation_accuracy(model, params, batch, D, where)
        ab_layers = ab[:, 0] if cfg.n_heads == 1 else layer_ablation_accuracy(model, params, batch, D, where)
        return a, ab, ab_layers, layer_ablation_accuracy(model, params, batch, D, where, above=True)

    for i, (_, params) in enumerate(snaps):
        _, pc = model.forward(params, probe[None])
        patterns[i] = np.stack([pc[f"blocks.{layer}.attn.pattern"][0] for layer in range(cfg.n_layers)])
        acc[i], ablated[i], ablated_layers[i], above[i] = ablate(params, ev, "query")
        sites[i] = site_ablation_accuracy(model, params, ev, D)
        logits, cache = model.forward(params, ev.tokens)
        loss[i] = cross_entropy(logits[sup], ev.targets[sup])[0]
        for role, sc in head_scores(model, params, ev, cache).items():
            scores.setdefault(role, []).append(sc)
        if at_statements:
            s_acc[i], s_abl[i], s_abl_layers[i], s_above[i] = ablate(params, ev_s, "statements")
            for role, sc in statement_scores(model, params, ev_s).items():
                scores.setdefault(role, []).append(sc)
    run = TrainingRun(
        cfg, regime, None if pi is None else tuple(float(x) for x in pi), seed,
        np.array([s for s, _ in snaps]), acc, ablated, ablated_layers, loss,
        {k: np.stack(v) for k, v in scores.items()}, snaps[-1][1], probe, patterns, ablated_above=above,
        site_ablated=sites,
    )
    if at_statements:
        run = replace(run, levels_at="statements", statement_acc=s_acc, statement_ablated=s_abl,
                      statement_ablated_layers=s_abl_layers, statement_ablated_above=s_above)
    return run


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
