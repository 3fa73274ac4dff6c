r"""Training experiments on the retrieval transformer: runs, causal head levels, emergence (spec 3.3, 5.5).

Everything here is the spec's reconstruction (the paper's metrics were not found):

* :class:`TrainConfig`: one training setting (task sizes, model sizes, Adam, budget, the
  snapshot grid and the ablation criterion);
* :func:`run_training`: one seeded run in a data regime, recording at every snapshot, on one
  held-out batch with query depths uniform over $1..D$ (the same batch for every regime, so
  regimes are compared on the same questions): the per-hop query accuracy, the same with each
  head zeroed (:mod:`.ablation`), the mean loss, and every head's structural attention scores;
* :func:`emergence_steps`: per run, the step at which hop-$k$ retrieval emerges, the first
  snapshot at which some head carries level $k$ by ablation (:mod:`.ablation`);
* :class:`Emergence` / :func:`emergence_table`: per regime the array of those steps over
  seeds, the snapshot resolution and the mixture weight of each hop level: the interface to
  the reduced model R1 (:mod:`.r1_transformer`);
* :func:`accuracy_crossings`, :func:`staircase`: when the $k$-hop query accuracy crosses the
  midpoint between in-context chance $1/C$ and 1, and whether 1-hop comes before 2-hop;
* :func:`head_roles`: each head's attention-pattern role $R^* = \arg\max_R \mathrm{SAS}_R$ at
  the end (spec 3.3), a label for figures; the causal identification is the ablation.

The mapping to the reduced model R1 (spec 5.4): $p_i$ <-> the head carrying level $i$; class $j$
<-> queries with $j$ hops; $\pi_j$ <-> the mixture weight of hop level $j$
(:func:`~.data.hop_weights`); model time <-> Adam steps (no calibration).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from derivations.musat2025.ablation import (
    CARRY_FRAC,
    CONTEXT_SITE,
    QUERY_SITE,
    ablation_accuracy,
    emergence_from_ablation,
    layer_ablation_accuracy,
    site_ablation_accuracy,
    site_levels,
    statement_levels,
)
from derivations.musat2025.data import Batch, Regime, RetrievalTask, hop_weights
from derivations.musat2025.direct import AttentionOnlyTransformer
from derivations.musat2025.measure import (
    emergence_time,
    head_scores,
    snapshot_steps,
    statement_scores,
)
from dynamics.direct import Snapshots, train
from dynamics.direct.layers import cross_entropy
from dynamics.parallel import map_processes
from dynamics.schedule import Schedule

__all__ = [
    "TrainConfig",
    "TrainingRun",
    "Job",
    "Emergence",
    "run_training",
    "run_many",
    "emergence_steps",
    "level_heads",
    "pattern_stacked",
    "stacked_with_above",
    "stacked_by_layer",
    "unit_arrays",
    "unit_name",
    "uses_sites",
    "unit_drop",
    "emergence_table",
    "accuracy_crossings",
    "staircase",
    "head_roles",
    "probe_example",
]


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
        What is zeroed to find the carrier of a hop level (:func:`level_heads`), a
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


def unit_arrays(run: TrainingRun) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The ablation accuracies (n, L, U, D) and final lookup scores ``{k: (L, U)}`` of the run's
    ablation units, where its levels are measured (``run.levels_at``: the query's ``lookup{k}``
    or the statements' ``slookup{k}``): ``U = H`` single heads (``unit="head"``) or ``U = 1``,
    all heads of a layer (``unit="layer"``; the layer's score is the sum of its heads' excess
    attention)."""
    D = run.acc.shape[1]
    key = "slookup" if run.levels_at == "statements" else "lookup"
    L, H = run.ablated.shape[1:3]
    look = {k: np.asarray(run.scores[f"{key}{k}"][-1], dtype=float) if f"{key}{k}" in run.scores
            else np.full((L, H), np.nan) for k in range(1, D + 1)}
    if run.config.unit == "head":
        return run.level_ablated, look
    return run.level_ablated_layers[:, :, None, :], {k: v.sum(axis=1, keepdims=True) for k, v in look.items()}


def unit_name(unit: tuple[int, int] | None) -> str:
    """``"layer 2"`` for a whole-layer unit ``(2, -1)``, ``"layer 2 at the query"`` and ``"layer 1 at
    the statements"`` for site units (:data:`.ablation.QUERY_SITE`, :data:`.ablation.CONTEXT_SITE`),
    ``"head (2, 0)"`` for a head, ``"none"``."""
    if unit is None:
        return "none"
    site = {QUERY_SITE: " at the query", CONTEXT_SITE: " at the statements"}.get(unit[1], "")
    return f"layer {unit[0]}{site}" if unit[1] < 0 else f"head ({unit[0]}, {unit[1]})"


def uses_sites(run: TrainingRun) -> bool:
    """Whether :func:`level_heads` identifies ``run``'s units by site (``unit="site"``, with the arrays
    it needs recorded: the site arrays at the query, or the with-layers-above arrays at IC-A's
    statements)."""
    if run.config.unit != "site":
        return False
    if run.levels_at == "statements":
        return run.statement_ablated_above is not None
    return run.site_ablated is not None


def unit_drop(run: TrainingRun, unit: tuple[int, int]) -> np.ndarray:
    """(n, D) the level accuracy lost when ``unit`` (from :func:`level_heads`) is zeroed, per snapshot."""
    if uses_sites(run) and run.levels_at == "statements" and unit == level_heads(run)[1][0]:
        assert run.statement_ablated_above is not None  # uses_sites
        return run.level_acc - run.statement_ablated_above[:, unit[0]]  # hop 1: with the layers above
    if unit[1] in (QUERY_SITE, CONTEXT_SITE):
        if run.site_ablated is None:
            raise ValueError("a site unit needs a run recorded with site_ablated")
        col = 2 if unit == level_heads(run)[1][0] else (0 if unit[1] == QUERY_SITE else 1)
        return run.acc - run.site_ablated[:, unit[0], col]
    ablated = unit_arrays(run)[0]
    return run.level_acc - ablated[:, unit[0], max(unit[1], 0)]


def level_heads(run: TrainingRun) -> tuple[np.ndarray, list[tuple[int, int] | None]]:
    """(D,) step at which hop-$k$ retrieval emerges in ``run`` and the unit that carries it
    (:func:`.ablation.emergence_from_ablation` on :func:`unit_arrays` with the run's
    ``carry_frac``; the lookup score must exceed a uniform row's, 0, and each level's unit must
    sit above the previous level's, ``stacked``). A unit is ``(layer, head)``,
    or ``(layer, -1)`` for all heads of a layer; ``nan``/``None``: not within the budget.
    With ``unit="site"`` (:func:`uses_sites`) the units are a layer at the query or at the
    statements, ``(layer, QUERY_SITE)`` or ``(layer, CONTEXT_SITE)``, or a whole layer, by
    :func:`.ablation.site_levels` (the lookup and chain-mate excesses summed over a layer's
    heads); IC-A's levels read at the statements by :func:`.ablation.statement_levels`."""
    if uses_sites(run) and run.levels_at == "statements":
        D = run.acc.shape[1]
        assert run.statement_ablated_layers is not None and run.statement_ablated_above is not None
        look = {k: np.asarray(run.scores[f"slookup{k}"][-1], dtype=float).sum(axis=1) for k in range(1, D + 1)
                if f"slookup{k}" in run.scores}
        return statement_levels(run.steps, run.level_acc, run.statement_ablated_layers, run.statement_ablated_above,
                                run.chance, look, np.asarray(run.scores["chain"][-1], dtype=float).sum(axis=1),
                                run.config.carry_frac)
    if uses_sites(run):
        assert run.site_ablated is not None  # uses_sites
        D = run.acc.shape[1]
        look = {k: np.asarray(run.scores[f"lookup{k}"][-1], dtype=float).sum(axis=1) for k in range(1, D + 1)}
        return site_levels(run.steps, run.acc, run.site_ablated, run.chance, look,
                           np.asarray(run.scores["chain"][-1], dtype=float).sum(axis=1), run.config.carry_frac,
                           run.ablated_layers)
    ablated, look = unit_arrays(run)
    times, units = emergence_from_ablation(run.steps, run.level_acc, ablated, run.chance, look,
                                           run.config.carry_frac, 0.0, stacked=True)
    if run.config.unit != "head":
        units = [None if u is None else (u[0], -1) for u in units]
    return times, units


def pattern_stacked(run: TrainingRun, min_score: float = 0.5) -> bool:
    r"""Whether the final attention patterns alone show a stacked unit per hop level: layers
    $\ell_1 < \ell_2 < \dots$ whose lookup score for level $k$ (:func:`unit_arrays`) is at least
    ``min_score`` (spec 3.3's SAS threshold, 0.5). The cross-check of :func:`level_heads` without
    the ablation: a circuit whose level is carried redundantly by two units is stacked here but
    has no carrier there."""
    _, look = unit_arrays(run)
    floor = -1
    for k in sorted(look):
        layers = [layer for layer in range(look[k].shape[0]) if layer > floor
                  and np.nanmax(np.nan_to_num(look[k][layer], nan=-1.0)) >= min_score]
        if not layers:
            return False
        floor = layers[0]
    return True


def stacked_with_above(run: TrainingRun) -> bool | None:
    """Whether every hop level has a layer unit when a layer is zeroed together with every layer
    above it (:func:`.ablation.layer_ablation_accuracy` with ``above=True``), the rest of
    :func:`level_heads` unchanged: the cross-check for redundant carriers. A layer whose level a
    backup head above it can also answer carries nothing alone, but the level is lost without
    it and everything above. ``None`` if the run was recorded without those arrays."""
    ab = run.level_ablated_above
    if ab is None:
        return None
    _, look = unit_arrays(run)
    if run.config.unit == "head":  # layer units: the layer's summed excess
        look = {k: v.sum(axis=1, keepdims=True) for k, v in look.items()}
    _, units = emergence_from_ablation(run.steps, run.level_acc, ab[:, :, None, :], run.chance, look,
                                       run.config.carry_frac, 0.0, stacked=True)
    return all(u is not None for u in units)


def stacked_by_layer(run: TrainingRun) -> bool:
    """Whether every hop level has a unit by the first reconstruction's whole-layer criterion
    (:func:`level_heads` with ``unit="layer"``): the cross-check of the site criterion."""
    return all(u is not None for u in level_heads(replace(run, config=run.config.with_(unit="layer")))[1])


def emergence_steps(run: TrainingRun) -> np.ndarray:
    """(D,) step at which hop-$k$ retrieval emerges in ``run`` (:func:`level_heads`); ``nan``: never."""
    return level_heads(run)[0]


@dataclass(frozen=True)
class Emergence:
    """Measured emergence of hop-$k$ retrieval in one regime, over seeds (the R1 interface).

    Attributes
    ----------
    regime : str
        ``"none"``, ``"IC-A"``, ``"IC-B"`` or a reweighted IC-B (``"IC-B.starve{k}"``, P1').
    weights : (D,) float
        Mixture weight of each hop level in the supervised labels (:func:`~.data.hop_weights`).
    emergence_steps : (n_seeds, D) float
        Step at which hop-$k$ retrieval emerges (column $k - 1$); ``nan``: never within the budget.
    resolution : float
        Steps between snapshots; a time is the first snapshot at or after the emergence.
    budget : int
        Adam steps per run.
    seeds : tuple of int
    """

    regime: str
    weights: np.ndarray
    emergence_steps: np.ndarray
    resolution: float
    budget: int
    seeds: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        return {"regime": self.regime, "weights": self.weights.tolist(), "resolution": self.resolution,
                "budget": self.budget, "seeds": list(self.seeds),
                "emergence_steps": [[None if np.isnan(x) else float(x) for x in row] for row in self.emergence_steps]}


def emergence_table(name: str, runs: Sequence[TrainingRun]) -> Emergence:
    """:class:`Emergence` of ``runs`` (one regime, one config, several seeds) under the label ``name``."""
    if not runs:
        raise ValueError("runs must not be empty")
    cfg = runs[0].config
    if any(r.config != cfg or r.regime != runs[0].regime or r.pi != runs[0].pi for r in runs):
        raise ValueError("runs must share one config and one regime")
    return Emergence(name, hop_weights(cfg.task(runs[0].regime, runs[0].pi)),  # type: ignore[arg-type]
                     np.stack([emergence_steps(r) for r in runs]), cfg.resolution, cfg.steps,
                     tuple(r.seed for r in runs))


def accuracy_crossings(run: TrainingRun) -> np.ndarray:
    """(D,) first step (interpolated) where the $k$-hop query accuracy reaches $(1 + 1/C)/2$; nan: never."""
    thr = 0.5 * (1.0 + run.chance)
    return np.array([emergence_time(run.steps, run.acc[:, k], thr) for k in range(run.acc.shape[1])])


def staircase(crossings: Sequence[np.ndarray]) -> list[bool]:
    """Per seed, whether 1-hop queries emerged before 2-hop ones (:func:`accuracy_crossings`).

    A stage that never emerges within the budget counts as emerging after it (censored at the
    budget): 1-hop learned and 2-hop not yet is in order; seeds where neither emerged are left out.
    """
    out = []
    for c in crossings:
        t1, t2 = float(c[0]), float(c[1])
        if np.isfinite(t1) or np.isfinite(t2):
            out.append(bool(t1 < t2) if np.isfinite(t1) and np.isfinite(t2) else bool(np.isfinite(t1)))
    return out


def head_roles(run: TrainingRun, min_score: float = 0.5) -> dict[tuple[int, int], str]:
    """(layer, head) -> attention-pattern role, for heads whose best final structural score is
    >= ``min_score`` (a label; the causal identification is :mod:`.ablation`)."""
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
