r"""Direct training of a small numpy model by GD, SGD or Adam, recorded as a Trajectory.

The trainer speaks the same language as the integrator: time is flow time
$t = \eta \cdot \mathrm{step}$ (:func:`dynamics.trajectory.flow_time`), the state is
recorded in the model's named reduced coordinates (``model.reduce``), and a
:class:`~dynamics.schedule.Schedule` multiplies each parameter's step by its group's factor
at that flow time. So a direct run overlays the reduced gradient flow with no conversion.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory, flow_time

__all__ = ["DirectModel", "record_steps", "sample_batch", "train"]

Optimizer = Literal["gd", "sgd", "adam"]
_OPTIMIZERS = ("gd", "sgd", "adam")


@runtime_checkable
class DirectModel(Protocol):
    """What :func:`train` needs from a model (structural: no base class to inherit).

    Contract for implementers:

    1. ``init(rng)`` returns fresh parameters ``dict[str, ndarray]`` drawn with ``rng``.
    2. ``loss_and_grad(params, batch)`` returns ``(loss, grads)``, with ``grads`` keyed
       exactly like ``params`` and shaped like them. ``batch`` is the ``data`` given to
       :func:`train` (full batch) or a minibatch drawn from it (see :func:`sample_batch`).
       It must not modify ``params``.
    3. ``reduce(params)`` maps full weights onto the reduced coordinates,
       ``dict[str, float]``, always with the same keys in the same order; these become
       ``Trajectory.names``.
    4. ``groups`` maps parameter names to learning-rate groups (the groups a
       :class:`~dynamics.schedule.Schedule` talks about); parameters not listed are in
       group ``"default"``.
    5. Optionally ``observables(params, batch) -> dict[str, float]``: extra scalars
       recorded next to ``"loss"`` (names must not clash with ``"loss"`` or the reduced
       coordinates).
    """

    @property
    def groups(self) -> Mapping[str, str]: ...

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]: ...

    def loss_and_grad(
        self, params: dict[str, np.ndarray], batch: Any
    ) -> tuple[float, dict[str, np.ndarray]]: ...

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]: ...


# ------------------------------------------------------------------------ helpers
def record_steps(
    steps: int, record: str | int | Sequence[int] | np.ndarray = "log", n_record: int = 200
) -> np.ndarray:
    """The iteration counts at which :func:`train` records the state.

    Parameters
    ----------
    steps : int
        Number of updates; states exist at steps ``0..steps``.
    record : ``"log"``, ``"all"``, int or array of ints
        ``"log"``: step 0 and about ``n_record - 1`` log-spaced steps in ``[1, steps]``
        (unique integers, so fewer early on), always including ``steps``.
        ``"all"``: every step. An int ``k``: every ``k``-th step plus ``steps``.
        An array: exactly those steps (sorted, duplicates removed).
    n_record : int
        Target number of records for ``"log"`` (at least 2).

    Returns
    -------
    ndarray of int, sorted and unique.

    Examples
    --------
    >>> record_steps(1000, "log", 5).tolist()
    [0, 1, 10, 100, 1000]
    >>> record_steps(10, 4).tolist()
    [0, 4, 8, 10]
    """
    if isinstance(record, str):
        if record == "all":
            return np.arange(steps + 1)
        if record != "log":
            raise ValueError(
                f"record must be 'log', 'all', an int or an array of steps, got {record!r}"
            )
        if isinstance(n_record, bool) or not isinstance(n_record, int | np.integer) or n_record < 2:
            raise ValueError(f"n_record must be an integer >= 2, got {n_record!r}")
        if steps == 0:
            return np.zeros(1, dtype=int)
        logs = np.rint(np.geomspace(1, steps, int(n_record) - 1)).astype(int)
        return np.unique(np.concatenate([[0], logs, [steps]]))
    if isinstance(record, bool):
        raise ValueError(
            f"record must be 'log', 'all', an int or an array of steps, got {record!r}"
        )
    if isinstance(record, int | np.integer):
        if record < 1:
            raise ValueError(f"record every k steps needs k >= 1, got {record}")
        return np.unique(np.concatenate([np.arange(0, steps + 1, int(record)), [steps]]))
    arr = np.asarray(record)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"record steps must be a non-empty 1-D array of integers, got {record!r}")
    if arr.min() < 0 or arr.max() > steps:
        raise ValueError(
            f"record steps must lie in [0, steps={steps}], got {arr.min()}..{arr.max()}"
        )
    return np.unique(arr)


def sample_batch(data: Any, rng: np.random.Generator, batch_size: int) -> Any:
    """Draw a minibatch from ``data`` for SGD (and minibatch Adam).

    ``data`` either has a method ``sample(rng, batch_size)`` returning the batch object
    that ``loss_and_grad`` accepts, or is a mapping of arrays with a common leading
    dimension ``N``: then ``batch_size`` distinct rows are drawn uniformly without
    replacement (fresh each step) and the same keys are returned holding those rows.
    """
    sample = getattr(data, "sample", None)
    if callable(sample):
        return sample(rng, batch_size)
    n = _leading_dim(data)
    idx = rng.choice(n, size=batch_size, replace=False)  # (batch_size,)
    return {k: np.asarray(v)[idx] for k, v in data.items()}


def _leading_dim(data: Any) -> int:
    if not isinstance(data, Mapping) or not data:
        raise ValueError(
            "minibatch training needs data with a sample(rng, batch_size) method or a "
            f"non-empty dict of arrays; got {type(data).__name__}"
        )
    sizes = {k: np.shape(v)[0] if np.ndim(v) > 0 else None for k, v in data.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(f"data arrays must share a leading dimension to sample rows, got {sizes}")
    return int(next(iter(sizes.values())))  # type: ignore[arg-type]


def _check_finite_params(params: Mapping[str, Any], where: str) -> dict[str, np.ndarray]:
    if not isinstance(params, Mapping) or not params:
        raise ValueError(f"{where} must be a non-empty dict of arrays, got {type(params).__name__}")
    out: dict[str, np.ndarray] = {}
    for k, v in params.items():
        a = np.array(v, dtype=float, copy=True)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where}: parameter {k!r} has non-finite entries")
        out[str(k)] = a
    return out


def _check_grads(grads: Any, params: Mapping[str, np.ndarray], step: int) -> None:
    if not isinstance(grads, Mapping) or set(grads) != set(params):
        keys = sorted(grads) if isinstance(grads, Mapping) else type(grads).__name__
        raise ValueError(
            f"loss_and_grad must return grads with exactly the parameter keys {sorted(params)}, "
            f"got {keys}"
        )
    for k, p in params.items():
        if np.shape(grads[k]) != p.shape:
            raise ValueError(
                f"gradient of {k!r} has shape {np.shape(grads[k])}, parameter has {p.shape}"
            )


def _finite_or_raise(loss: float, step: int, what: str) -> None:
    if not math.isfinite(loss):
        raise FloatingPointError(
            f"{what} became non-finite ({loss}) at step {step}; lower the learning rate "
            "or check the model"
        )


# -------------------------------------------------------------------------- train
def train(
    model: DirectModel,
    params: Mapping[str, np.ndarray] | None,
    data: Any,
    *,
    lr: float,
    steps: int,
    optimizer: Optimizer = "gd",
    schedule: Schedule | None = None,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
    record: str | int | Sequence[int] | np.ndarray = "log",
    n_record: int = 200,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    progress: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> tuple[Trajectory, dict[str, np.ndarray]]:
    r"""Train ``model`` from ``params`` for ``steps`` updates and record its reduced state.

    Update of parameter $\theta$ in group $g$ at step $k$, flow time $t_k = \eta k$, with
    schedule factor $c_g(t_k)$:

    * ``"gd"``: $\theta \leftarrow \theta - \eta\, c_g(t_k)\, \nabla L(\theta)$ on the full
      ``data``;
    * ``"sgd"``: the same with the gradient of a minibatch of ``batch_size`` rows;
    * ``"adam"``: $m \leftarrow \beta_1 m + (1-\beta_1) g$,
      $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
      $\theta \leftarrow \theta - \eta\, c_g(t_k)\,\hat m / (\sqrt{\hat v} + \epsilon)$ with
      bias-corrected $\hat m = m / (1-\beta_1^{k+1})$, $\hat v = v/(1-\beta_2^{k+1})$;
      full batch unless ``batch_size`` is given.

    Parameters
    ----------
    model : DirectModel
    params : dict of str to ndarray, or None
        Initial parameters (copied, never modified); ``None`` draws ``model.init(rng)``.
    data : Any
        The full data set, passed as-is to ``model.loss_and_grad`` for full-batch steps
        and for the recorded ``"loss"``. For minibatches it must have a method
        ``sample(rng, batch_size)`` or be a dict of arrays with a common leading
        dimension, whose rows are sampled without replacement (:func:`sample_batch`).
    lr : float
        Learning rate $\eta > 0$.
    steps : int
        Number of updates ($\ge 0$); the last state is at flow time $\eta \cdot$ ``steps``.
    optimizer : ``"gd"``, ``"sgd"`` or ``"adam"``
    schedule : Schedule, optional
        Per-group step factors in flow time; every group it names must be a group of
        some parameter (``"default"`` for parameters not in ``model.groups``).
    batch_size : int, optional
        Minibatch size: required for ``"sgd"``, optional for ``"adam"``, not allowed
        for ``"gd"``.
    rng : numpy.random.Generator, optional
        Required when sampling minibatches or when ``params`` is ``None``.
    record : ``"log"``, ``"all"``, int or array of steps
        When to record, see :func:`record_steps`.
    n_record : int
        Target number of records for ``record="log"``.
    betas, eps : Adam hyper-parameters.
    progress : bool
        Show a ``tqdm`` progress bar.
    meta : dict, optional
        Extra configuration stored in ``Trajectory.meta`` (next to the trainer's own
        under ``"train"``).

    Returns
    -------
    trajectory : Trajectory
        ``t`` $= \eta\cdot$ step at the recorded steps; ``names`` the keys of
        ``model.reduce``; observables ``"loss"`` (full-data loss of the state at that
        step, before its update) and those of ``model.observables``; ``stats`` with
        ``optimizer, lr, steps, batch_size, wall_time, n_records, record_steps``.
    final_params : dict of str to ndarray
        Parameters after ``steps`` updates.

    Raises
    ------
    ValueError
        For invalid arguments, detected before the first step.
    FloatingPointError
        If the loss or a gradient becomes non-finite; the message names the step.
    """
    # ---------------------------------------------------------- validate up front
    if (
        isinstance(lr, bool)
        or not isinstance(lr, int | float)
        or not (math.isfinite(lr) and lr > 0)
    ):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    lr = float(lr)
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    steps = int(steps)
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {_OPTIMIZERS}")
    if batch_size is not None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        batch_size = int(batch_size)
    if optimizer == "gd" and batch_size is not None:
        raise ValueError("optimizer 'gd' is full batch; use 'sgd' (or 'adam') for minibatches")
    if optimizer == "sgd" and batch_size is None:
        raise ValueError("optimizer 'sgd' needs a batch_size")
    minibatch = batch_size is not None
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if rng is None and (minibatch or params is None):
        why = "sampling minibatches" if minibatch else "drawing initial params (params=None)"
        raise ValueError(f"{why} needs rng=np.random.default_rng(seed)")
    if minibatch:
        assert batch_size is not None
        if not callable(getattr(data, "sample", None)):
            n = _leading_dim(data)
            if batch_size > n:
                raise ValueError(f"batch_size {batch_size} exceeds the {n} rows of data")
    b1, b2 = (float(b) for b in betas)
    if optimizer == "adam":
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam betas must lie in [0, 1), got {betas!r}")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"Adam eps must be positive and finite, got {eps!r}")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be a dynamics.Schedule, got {type(schedule).__name__}")
    rec = record_steps(steps, record, n_record)

    if params is None:
        assert rng is not None
        params = model.init(rng)
    theta = _check_finite_params(params, "initial params")

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
    group_names = sorted(present)

    obs_fn = getattr(model, "observables", None)
    if obs_fn is not None and not callable(obs_fn):
        raise ValueError("model.observables must be a method observables(params, batch)")
    names = tuple(str(k) for k in model.reduce(theta))
    if not names:
        raise ValueError("model.reduce(params) returned no coordinates")
    obs_names: tuple[str, ...] = ()
    if obs_fn is not None:
        obs_names = tuple(str(k) for k in obs_fn(theta, data))
        clash = sorted(set(obs_names) & (set(names) | {"loss"}))
        if clash:
            raise ValueError(
                f"model.observables names {clash} clash with 'loss' or reduced coordinates"
            )

    # -------------------------------------------------------------------- loop
    ys = np.empty((rec.size, len(names)))  # (R, n)
    obs = {k: np.empty(rec.size) for k in ("loss",) + obs_names}  # each (R,)
    m = {k: np.zeros_like(v) for k, v in theta.items()} if optimizer == "adam" else {}
    v2 = {k: np.zeros_like(v) for k, v in theta.items()} if optimizer == "adam" else {}
    n_evals = 0
    i_rec = 0
    t_start = time.perf_counter()

    def record_state(i: int, k: int, full_loss: float) -> None:
        red = model.reduce(theta)
        if tuple(red) != names:
            raise ValueError(f"model.reduce keys changed at step {k}: {tuple(red)} != {names}")
        ys[i] = [float(red[n]) for n in names]
        obs["loss"][i] = full_loss
        if obs_fn is not None:
            o = obs_fn(theta, data)
            for n in obs_names:
                obs[n][i] = float(o[n])

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"train[{optimizer}]", unit="step")
    try:
        for k in range(steps + 1):
            recording = i_rec < rec.size and rec[i_rec] == k
            full_loss = math.nan
            if minibatch:
                if recording:
                    full_loss = float(model.loss_and_grad(theta, data)[0])
                    n_evals += 1
                    _finite_or_raise(full_loss, k, "the full-data loss")
                if k == steps:
                    grads: Mapping[str, np.ndarray] = {}
                else:
                    assert rng is not None and batch_size is not None
                    batch = sample_batch(data, rng, batch_size)
                    loss, grads = model.loss_and_grad(theta, batch)
                    n_evals += 1
                    _finite_or_raise(float(loss), k, "the minibatch loss")
            else:
                loss, grads = model.loss_and_grad(theta, data)
                n_evals += 1
                full_loss = float(loss)
                _finite_or_raise(full_loss, k, "the loss")
            if recording:
                record_state(i_rec, k, full_loss)
                i_rec += 1
            if k == steps:
                break
            if k == 0:
                _check_grads(grads, theta, k)
            for name, g in grads.items():
                if not np.all(np.isfinite(g)):
                    raise FloatingPointError(f"gradient of {name!r} became non-finite at step {k}")

            t = float(flow_time(k, lr))
            fac = dict(zip(group_names, sched.factor_vector(group_names, t), strict=True))
            if optimizer == "adam":
                c1, c2 = 1.0 - b1 ** (k + 1), 1.0 - b2 ** (k + 1)
                for name, g in grads.items():
                    g = np.asarray(g, dtype=float)
                    m[name] = b1 * m[name] + (1.0 - b1) * g
                    v2[name] = b2 * v2[name] + (1.0 - b2) * g * g
                    step_ = (m[name] / c1) / (np.sqrt(v2[name] / c2) + eps)
                    theta[name] = theta[name] - lr * fac[group_of[name]] * step_
            else:
                for name, g in grads.items():
                    theta[name] = theta[name] - lr * fac[group_of[name]] * np.asarray(
                        g, dtype=float
                    )
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t_start

    stats = {
        "optimizer": optimizer,
        "lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "wall_time": wall,
        "n_records": int(rec.size),
        "n_loss_evals": n_evals,
        "record_steps": rec,
    }
    config = {
        "model": type(model).__name__,
        "optimizer": optimizer,
        "lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "schedule": sched.to_dict(),
        "groups": group_of,
        "record": record if isinstance(record, str | int) else "custom",
        "n_record": n_record,
    }
    if optimizer == "adam":
        config.update(betas=[b1, b2], eps=eps)
    tr_meta: dict[str, Any] = {"train": config}
    tr_meta.update(dict(meta or {}))
    traj = Trajectory(flow_time(rec, lr), ys, names, obs, stats, tr_meta)
    return traj, theta
