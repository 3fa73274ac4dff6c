r"""The one training loop for small numpy models: GD, SGD, Adam or AdamW, recorded as a
Trajectory.

The trainer speaks the same language as the integrator: time is flow time
$t = \eta \cdot \mathrm{step}$ (:func:`dynamics.trajectory.flow_time`), the state is
recorded in the model's named reduced coordinates (``model.reduce``), and a
:class:`~dynamics.schedule.Schedule` multiplies each parameter's step by its group's factor
at that flow time. So a direct run overlays the reduced gradient flow with no conversion.

Batches come from one of three places: the full ``data`` every step, minibatches of
``batch_size`` rows drawn from ``data``, or a ``sampler(rng, step)`` giving fresh examples
every step (online training). For online learning the clock can be another one than
$\eta\cdot$ step (``time=``, e.g. $\alpha$ = step / N), the recorded loss an analytic
``population_loss``, and ``seeds=S`` runs S seeds in one loop on a leading axis. The model contract lives in :mod:`dynamics.direct.protocol`,
the update rules in :mod:`dynamics.direct.optimizers`, the recording grid and the snapshot
callback in :mod:`dynamics.direct.record`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter
from typing import Any, Literal

import numpy as np

from dynamics.direct.batches import Sampler, leading_dim, sample_batch
from dynamics.direct.optimizers import GD, Adam, AdamW, DecayScale, clip_by_global_norm, global_norm
from dynamics.direct.protocol import (
    DirectModel,
    all_finite,
    check_finite_params,
    check_grads,
    non_finite,
    observable_names,
    per_seed,
    seed_norms,
)
from dynamics.direct.record import Callback, record_steps
from dynamics.direct.timeaxis import TimeSpec, time_function, times
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory
from dynamics.validate import (
    int_at_least,
    nonnegative_float,
    one_of,
    positive_float,
    positive_int,
)

__all__ = ["DirectModel", "Sampler", "sample_batch", "train"]

Optimizer = Literal["gd", "sgd", "adam", "adamw"]
_OPTIMIZERS = ("gd", "sgd", "adam", "adamw")


# -------------------------------------------------------------------------- train
def train(
    model: DirectModel,
    params: Mapping[str, np.ndarray] | None,
    data: Any = None,
    *,
    lr: float,
    steps: int,
    optimizer: Optimizer = "gd",
    schedule: Schedule | None = None,
    batch_size: int | None = None,
    sampler: Sampler | None = None,
    rng: np.random.Generator | None = None,
    record: str | int | Sequence[int] | np.ndarray = "log",
    n_record: int = 200,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float | Mapping[str, float] = 0.0,
    decay_scale: DecayScale = "lr",
    clip_norm: float | None = None,
    callbacks: Sequence[Callback] = (),
    stop_when: Callable[[int, float], bool] | None = None,
    progress: bool = False,
    meta: Mapping[str, Any] | None = None,
    time: TimeSpec = "lr",
    population_loss: Callable[[dict[str, np.ndarray]], float] | None = None,
    seeds: int | None = None,
) -> tuple[Any, dict[str, np.ndarray]]:
    r"""Train ``model`` from ``params`` for ``steps`` updates and record its reduced state.

    Update of parameter $\theta$ in group $g$ at step $k$, flow time $t_k = \eta k$, with
    schedule factor $c_g(t_k)$ (rules in :mod:`dynamics.direct.optimizers`):

    * ``"gd"``: $\theta \leftarrow \theta - \eta\, c_g(t_k)\, \nabla L(\theta)$ on the full
      ``data``;
    * ``"sgd"``: the same with the gradient of a minibatch (``batch_size`` rows of ``data``,
      or one ``sampler`` call);
    * ``"adam"``: $m \leftarrow \beta_1 m + (1-\beta_1) g$,
      $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
      $\theta \leftarrow \theta - \eta\, c_g(t_k)\,\hat m / (\sqrt{\hat v} + \epsilon)$ with
      bias-corrected $\hat m = m / (1-\beta_1^{k+1})$, $\hat v = v/(1-\beta_2^{k+1})$;
    * ``"adamw"``: Adam plus decoupled weight decay
      $\theta \leftarrow \theta(1 - \eta c_g \lambda_g)$ before the Adam step, PyTorch's
      ``AdamW`` (``decay_scale="schedule"``: $\theta(1 - c_g\lambda_g)$, Loshchilov & Hutter's
      form).

    With ``clip_norm`` $= c$, every gradient is first multiplied by
    $\min(1, c/(\lVert g\rVert + 10^{-6}))$, $\lVert g\rVert$ the global norm over all
    parameters (PyTorch's ``clip_grad_norm_``). Adam and AdamW are full batch unless
    ``batch_size`` or ``sampler`` is given.

    Parameters
    ----------
    model : DirectModel
    params : dict of str to ndarray, or None
        Initial parameters (copied, never modified); ``None`` draws ``model.init(rng)``
        (before any batch). float32 and float64 arrays keep their precision through training
        (the optimizers work in it); anything else is converted to float64.
    data : Any
        The full data set, passed as-is to ``model.loss_and_grad`` for full-batch steps
        and for the recorded ``"loss"``. For minibatches it must have a method
        ``sample(rng, batch_size)`` or be a dict of arrays with a common leading
        dimension, whose rows are sampled without replacement (:func:`sample_batch`).
        Must be ``None`` with a ``sampler``.
    lr : float
        Learning rate $\eta > 0$.
    steps : int
        Number of updates ($\ge 0$); the last state is at flow time $\eta \cdot$ ``steps``.
    optimizer : ``"gd"``, ``"sgd"``, ``"adam"`` or ``"adamw"``
    schedule : Schedule, optional
        Per-group step factors in flow time; every group it names must be a group of
        some parameter (``"default"`` for parameters not in ``model.groups``).
    batch_size : int, optional
        Minibatch size: required for ``"sgd"`` without a sampler, optional for ``"adam"``
        and ``"adamw"``, not allowed for ``"gd"``.
    sampler : callable, optional
        ``sampler(rng, step) -> batch``: fresh examples for update ``step`` (online
        training: every example is seen once, as in the ODEs of online SGD). Contract:
        (1) it is called exactly once per update, in step order ``0, 1, ..., steps - 1``,
        with the trainer's ``rng`` as its only source of randomness, and once more at step
        ``steps`` if that step is recorded (after the last update, so the extra draw never
        changes the run); (2) it returns what ``model.loss_and_grad`` and
        ``model.observables`` take as ``batch`` (one example or several); (3) the same
        ``rng`` state gives the same batch, so a run is reproduced by its seed, and a plain
        loop drawing in the same order gives the same result bit for bit. Not with
        ``data`` or ``batch_size``; needs ``rng`` and an optimizer other than ``"gd"``.
        The recorded ``"loss"`` is the loss on that step's batch unless
        ``population_loss`` is given.
    rng : numpy.random.Generator, optional
        Required when sampling (``batch_size`` or ``sampler``) or when ``params`` is
        ``None``. Draw order: ``model.init`` (if ``params`` is None), then the batches.
    record : ``"log"``, ``"all"``, int or array of steps
        When to record, see :func:`~dynamics.direct.record.record_steps`.
    n_record : int
        Target number of records for ``record="log"``.
    betas, eps : Adam / AdamW hyper-parameters.
    weight_decay : float or dict of group to float
        AdamW's $\lambda \ge 0$: one value for every parameter, or one per group (groups
        not named get 0). Only with ``optimizer="adamw"``.
    decay_scale : ``"lr"`` or ``"schedule"``
        Whether AdamW's decay step is $\eta c_g \lambda$ (PyTorch, default) or
        $c_g \lambda$ (Loshchilov & Hutter).
    clip_norm : float, optional
        Bound $c > 0$ on the global gradient norm; ``None`` (default) does not clip.
    callbacks : sequence of callables
        Each is called as ``callback(step, params, info)`` at every recorded step (see
        :class:`~dynamics.direct.record.Callback`); :class:`~dynamics.direct.record.Snapshots`
        keeps parameter copies.
    stop_when : callable, optional
        ``stop_when(step, loss) -> bool``, asked before every update with the loss of the
        batch that update would use (the full-data loss for full-batch training). When it
        returns True, training ends there without that update (early stopping, e.g.
        ``lambda k, loss: loss < tol``); that state is recorded as the last one and
        ``stats["steps_done"]`` counts the updates done.
    progress : bool
        Show a ``tqdm`` progress bar.
    meta : dict, optional
        Extra configuration stored in ``Trajectory.meta`` (next to the trainer's own
        under ``"train"``).
    time : ``"lr"``, float or callable
        The clock of the run (:mod:`dynamics.direct.timeaxis`): ``"lr"`` (default)
        $t = \eta\cdot$ step, the gradient flow's time; a number ``dt``: $t =$ step
        $\cdot$ ``dt`` (``time=1/N`` is online SGD's $\alpha$ = step / N up to rounding);
        a callable ``time(step) -> t`` (``lambda k: k / N`` exactly), finite and
        non-decreasing. It sets the recorded ``t``, the schedule's breaks and the callbacks'
        ``info["t"]``.
    population_loss : callable, optional
        ``population_loss(params) -> float``: the loss recorded as ``"loss"`` at every
        recorded step, e.g. the analytic generalisation error of a teacher-student model,
        in place of the batch loss (``sampler``) or the full-data loss (``batch_size``, then
        no full-data pass is made). With sampled batches the batch loss is recorded too,
        as the observable ``"batch_loss"``. ``stop_when`` still sees the batch loss.

    seeds : int, optional
        Train ``S = seeds`` independent runs in one loop, vectorised over a leading seed
        axis (contract 6 of :class:`~dynamics.direct.protocol.DirectModel`): every parameter array has shape ``(S, ...)``,
        ``loss_and_grad`` returns one loss per seed (shape ``(S,)``), ``reduce``,
        ``observables`` and ``population_loss`` one value per seed, and one ``sampler``
        call (or the full ``data``) serves all seeds. Returns a list of ``S`` trajectories.
        Not with ``batch_size``, ``clip_norm`` or ``stop_when``; callbacks get per-seed
        arrays in ``info``.

    Returns
    -------
    trajectory : Trajectory
        ``t`` $= \eta\cdot$ step at the recorded steps (or the ``time`` clock's); ``names`` the keys of
        ``model.reduce``; observables ``"loss"`` and those of ``model.observables``;
        ``stats`` with ``optimizer, lr, steps, batch_size, wall_time, n_records,
        n_loss_evals, record_steps, steps_done, stopped``. The recorded ``"loss"`` is the full-data loss of the
        state at that step (before its update); with a ``sampler`` it is the loss on that
        step's fresh batch, and ``model.observables`` also sees that batch.
    final_params : dict of str to ndarray
        Parameters after ``steps`` updates.

    Raises
    ------
    ValueError
        For invalid arguments, detected before the first step.
    FloatingPointError
        If the loss becomes non-finite, or a gradient does (caught when it has made a
        parameter non-finite: at the next loss, or after the last update); the message
        names the step, and the parameter for a non-finite gradient.
    """
    # ---------------------------------------------------------- validate up front
    lr = positive_float("lr", lr)
    steps = int_at_least("steps", steps, 0)
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {_OPTIMIZERS}")
    if batch_size is not None:
        batch_size = positive_int("batch_size", batch_size)
    if sampler is not None:
        if not callable(sampler):
            raise ValueError(f"sampler must be callable(rng, step), got {type(sampler).__name__}")
        if batch_size is not None:
            raise ValueError(
                "give either a sampler or a batch_size (rows drawn from data), not both"
            )
        if data is not None:
            raise ValueError("with a sampler, data must be None: the sampler draws every batch")
        if optimizer == "gd":
            raise ValueError("optimizer 'gd' is full batch; use 'sgd' (or 'adam') with a sampler")
    if optimizer == "gd" and batch_size is not None:
        raise ValueError("optimizer 'gd' is full batch; use 'sgd' (or 'adam') for minibatches")
    if optimizer == "sgd" and batch_size is None and sampler is None:
        raise ValueError("optimizer 'sgd' needs a batch_size (or a sampler)")
    minibatch = batch_size is not None
    online = sampler is not None
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if rng is None and (minibatch or online or params is None):
        why = (
            "sampling minibatches"
            if minibatch or online
            else "drawing initial params (params=None)"
        )
        raise ValueError(f"{why} needs rng=np.random.default_rng(seed)")
    if minibatch:
        assert batch_size is not None
        if not callable(getattr(data, "sample", None)):
            n = leading_dim(data)
            if batch_size > n:
                raise ValueError(f"batch_size {batch_size} exceeds the {n} rows of data")
    b1, b2 = (float(b) for b in betas)
    if optimizer in ("adam", "adamw"):
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam betas must lie in [0, 1), got {betas!r}")
        eps = positive_float("eps", eps)
    decay_scale = one_of("decay_scale", decay_scale, ("lr", "schedule"))
    decay_by_group = _check_weight_decay(weight_decay, optimizer)
    if clip_norm is not None:
        clip_norm = positive_float("clip_norm", clip_norm)
    if isinstance(callbacks, str) or not isinstance(callbacks, Sequence):
        raise ValueError(f"callbacks must be a list of callables, got {type(callbacks).__name__}")
    for cb in callbacks:
        if not callable(cb):
            raise ValueError(f"callbacks must be callables(step, params, info), got {cb!r:.60}")
    if stop_when is not None and not callable(stop_when):
        raise ValueError(f"stop_when must be callable(step, loss), got {type(stop_when).__name__}")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be a dynamics.Schedule, got {type(schedule).__name__}")
    rec = record_steps(steps, record, n_record)
    if seeds is not None:
        seeds = positive_int("seeds", seeds)
        for arg, given in (("batch_size", batch_size), ("clip_norm", clip_norm),
                           ("stop_when", stop_when)):
            if given is not None:
                raise ValueError(f"{arg} is not available with seeds= (per-seed minibatches, "
                                 "norms and stopping are not vectorised); use a sampler")
    tfun, time_desc = time_function(time, lr)
    if population_loss is not None and not callable(population_loss):
        raise ValueError(f"population_loss must be callable(params) -> float, got "
                         f"{type(population_loss).__name__}")

    if params is None:
        assert rng is not None
        params = model.init(rng)
    theta = check_finite_params(params, "initial params")
    if seeds is not None:
        bad_axis = {k: v.shape for k, v in theta.items() if v.ndim == 0 or v.shape[0] != seeds}
        if bad_axis:
            raise ValueError(f"with seeds={seeds} every parameter needs a leading seed axis of "
                             f"length {seeds}; got shapes {bad_axis}")
    # a loss or observable as recorded: a float, or with seeds an (S,) array
    val: Callable[[Any], Any] = float if seeds is None else per_seed(seeds)
    isfin: Callable[[Any], bool] = math.isfinite if seeds is None else all_finite

    groups_map = dict(getattr(model, "groups", {}) or {})
    unknown = sorted(set(groups_map) - set(theta))
    if unknown:
        raise ValueError(
            f"model.groups names parameters {unknown} that are not in params {sorted(theta)}"
        )
    group_of = {k: str(groups_map.get(k, "default")) for k in theta}
    present = set(group_of.values())
    sched = schedule if schedule is not None else Schedule.constant()
    missing = sorted(sched.groups - present)
    if missing:
        raise ValueError(
            f"schedule names group(s) {missing} that no parameter belongs to; "
            f"the model's groups are {sorted(present)}"
        )
    if isinstance(decay_by_group, dict):
        bad = sorted(set(decay_by_group) - present)
        if bad:
            raise ValueError(
                f"weight_decay names group(s) {bad} that no parameter belongs to; "
                f"the model's groups are {sorted(present)}"
            )
        decay = {k: decay_by_group.get(group_of[k], 0.0) for k in theta}
    else:
        decay = dict.fromkeys(theta, decay_by_group)

    obs_fn = getattr(model, "observables", None)
    if obs_fn is not None and not callable(obs_fn):
        raise ValueError("model.observables must be a method observables(params, batch)")
    names = tuple(str(k) for k in model.reduce(theta))
    if not names:
        raise ValueError("model.reduce(params) returned no coordinates")
    # online: the observables' names are read at the first record, on that step's batch
    # (drawing a batch here would shift the sampler's random stream)
    obs_names: tuple[str, ...] | None = (
        None if online else observable_names(obs_fn, theta, data, names)
    )

    if optimizer == "adam":
        opt: GD | Adam | AdamW = Adam((b1, b2), eps)
    elif optimizer == "adamw":
        opt = AdamW((b1, b2), eps, decay, decay_scale)
    else:
        opt = GD()

    # -------------------------------------------------------------------- loop
    # Per step only what the step needs: no time unless the schedule has breaks (or a
    # callback is due), step factors per schedule piece computed once, gradients checked
    # lazily (a non-finite gradient makes the parameters, and so the next loss, non-finite:
    # _non_finite then names the parameter and the update; the final state is checked too).
    extra = ("batch_loss",) if population_loss is not None and (online or minibatch) else ()
    sshape = () if seeds is None else (seeds,)
    ys = np.empty((rec.size + 1, len(names), *sshape))  # (R + 1, n[, S]): one spare row
    obs: dict[str, np.ndarray] = {}  # each (R,), allocated at the first record
    n_evals = 0
    i_rec = 0
    rec_list = [int(r) for r in rec]
    next_rec = rec_list[0]
    done: list[int] = []  # the steps recorded
    stopped = False
    t_start = perf_counter()
    breaks = bool(sched.breaks)
    piece_factors: dict[int, dict[str, float]] = {}

    def factors(piece: int) -> dict[str, float]:
        if piece not in piece_factors:
            f = sched.factors[piece]
            piece_factors[piece] = {n: float(f.get(group_of[n], 1.0)) for n in theta}
        return piece_factors[piece]

    fac = factors(0)
    gen: Any = rng  # a Generator whenever a batch is drawn (checked above)

    def record_state(i: int, k: int, full_loss: Any, batch_loss: Any, batch: Any) -> None:
        nonlocal obs_names
        red = model.reduce(theta)
        if tuple(red) != names:
            raise ValueError(f"model.reduce keys changed at step {k}: {tuple(red)} != {names}")
        ys[i] = [val(red[n]) for n in names]
        if obs_names is None:
            obs_names = observable_names(obs_fn, theta, batch, names + extra)
        if not obs:
            obs.update({n: np.full((rec.size + 1, *sshape), np.nan)
                        for n in ("loss",) + extra + obs_names})
        obs["loss"][i] = full_loss
        if extra:
            obs["batch_loss"][i] = batch_loss
        if obs_fn is not None:
            o = obs_fn(theta, batch)
            for n in obs_names:
                obs[n][i] = val(o[n])

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"train[{optimizer}]", unit="step")
    k = 0
    try:
        for k in range(steps + 1):
            recording = k == next_rec
            full_loss: Any = math.nan
            batch_loss: Any = math.nan
            grads: Mapping[str, np.ndarray] | None = None
            batch: Any = data
            if online:
                if k < steps or recording:
                    assert sampler is not None
                    batch = sampler(gen, k)
                    loss, grads = model.loss_and_grad(theta, batch)
                    n_evals += 1
                    batch_loss = full_loss = val(loss)
                    if not isfin(batch_loss):
                        non_finite(batch_loss, k, "the batch loss", theta)
            elif minibatch:
                if recording and population_loss is None:
                    full_loss = val(model.loss_and_grad(theta, data)[0])
                    n_evals += 1
                    if not isfin(full_loss):
                        non_finite(full_loss, k, "the full-data loss", theta)
                if k < steps:
                    assert batch_size is not None
                    loss, grads = model.loss_and_grad(theta, sample_batch(data, gen, batch_size))
                    n_evals += 1
                    batch_loss = val(loss)
                    if not isfin(batch_loss):
                        non_finite(batch_loss, k, "the minibatch loss", theta)
            else:
                loss, grads = model.loss_and_grad(theta, data)
                n_evals += 1
                batch_loss = full_loss = val(loss)
                if not isfin(full_loss):
                    non_finite(full_loss, k, "the loss", theta)
            if k == 0 and grads is not None:
                check_grads(grads, theta, k)
            if stop_when is not None and k < steps and bool(stop_when(k, batch_loss)):
                stopped = True
                if not recording and minibatch and population_loss is None:
                    full_loss = val(model.loss_and_grad(theta, data)[0])
                    n_evals += 1
                    if not isfin(full_loss):
                        non_finite(full_loss, k, "the full-data loss", theta)
                recording = True
            if recording:
                if population_loss is not None:
                    full_loss = val(population_loss(theta))
                    if not isfin(full_loss):
                        non_finite(full_loss, k, "the population loss", theta)
                record_state(i_rec, k, full_loss, batch_loss, batch)
                i_rec += 1
                next_rec = rec_list[i_rec] if i_rec < len(rec_list) else -1
                done.append(k)
                if callbacks:
                    info = {
                        "t": tfun(k),
                        "loss": full_loss,
                        "batch_loss": batch_loss,
                        "grad_norm": math.nan if grads is None else (
                            global_norm(grads) if seeds is None else seed_norms(grads)),
                    }
                    for cb in callbacks:
                        cb(k, theta, info)
            if k == steps or stopped:
                break
            assert grads is not None
            if clip_norm is not None:
                grads, _ = clip_by_global_norm(grads, clip_norm)
            if breaks:
                fac = factors(sched.piece_index(tfun(k)))
            opt.update(theta, grads, k, lr, fac)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for name, v in theta.items():  # an update after the last loss evaluated
        if not np.all(np.isfinite(v)):
            raise FloatingPointError(
                f"parameter {name!r} became non-finite by step {k} (a non-finite gradient "
                "or step); lower the learning rate or check the model"
            )
    wall = perf_counter() - t_start
    n_rec = len(done)
    ys = ys[:n_rec]
    obs = {n: v[:n_rec] for n, v in obs.items()}
    rec = np.array(done, dtype=rec.dtype)

    stats = {
        "optimizer": optimizer,
        "lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "wall_time": wall,
        "n_records": int(rec.size),
        "n_loss_evals": n_evals,
        "record_steps": rec,
        "steps_done": k,
        "stopped": stopped,
    }
    config: dict[str, Any] = {
        "model": type(model).__name__,
        "optimizer": optimizer,
        "lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "schedule": sched.to_dict(),
        "groups": group_of,
        "record": record if isinstance(record, str | int) else "custom",
        "n_record": n_record,
        "time": time_desc,
    }
    if optimizer in ("adam", "adamw"):
        config.update(betas=[b1, b2], eps=eps)
    if optimizer == "adamw":
        config.update(weight_decay=decay_by_group, decay_scale=decay_scale)
    if clip_norm is not None:
        config.update(clip_norm=clip_norm)
    if online:
        config.update(sampler=getattr(sampler, "__qualname__", type(sampler).__name__))
    if population_loss is not None:
        config.update(population_loss=getattr(population_loss, "__qualname__",
                                              type(population_loss).__name__))
    tr_meta: dict[str, Any] = {"train": config}
    tr_meta.update(dict(meta or {}))
    t_rec = times(time, tfun, rec, lr)
    if seeds is not None:
        config.update(seeds=seeds)
        return [Trajectory(t_rec, ys[:, :, j], names, {n: v[:, j] for n, v in obs.items()},
                           dict(stats), {**tr_meta, "seed_index": j}) for j in range(seeds)], theta
    return Trajectory(t_rec, ys, names, obs, stats, tr_meta), theta


def _check_weight_decay(weight_decay: Any, optimizer: str) -> float | dict[str, float]:
    """AdamW's decay as one float or a dict group -> float, all finite and >= 0."""
    if isinstance(weight_decay, Mapping):
        out = {
            str(g): nonnegative_float("weight_decay[" + repr(g) + "]", v)
            for g, v in weight_decay.items()
        }
        used = any(v != 0.0 for v in out.values())
    else:
        out = nonnegative_float("weight_decay", weight_decay)  # type: ignore[assignment]
        used = out != 0.0
    if used and optimizer != "adamw":
        raise ValueError(f"weight_decay needs optimizer='adamw', got optimizer={optimizer!r}")
    return out

