r"""The bridge test (spec 5.3, derived): plain GD on the regression variant against the
$J^2$ form of Eq. 4 that the pipeline derives and compiles.

The student and its gradients are :mod:`derivations.yuksel2026.regression` (the module
docstring there derives why gradient flow on $(\theta, W)$ is exactly Eq. 4's $J^2$ form).
Here:

- :func:`gd`: plain GD through the one trainer :func:`dynamics.direct.train`, on the exact
  population gradient, on one fixed batch (through its moment $\Sigma_B$, materialised or
  drawn from its Wishart law) or on a fresh batch every step; time $t = \eta\cdot$ step.
- :func:`flow`: the $J^2$ form of Eq. 4 for the same teacher and start, built by
  :func:`derivations.yuksel2026.reduced.eq4_model` and integrated by
  :func:`dynamics.integrate.integrate`.
- :func:`deviation`: the largest differences of two runs in Eq. 4's coordinates $(V, s)$.
- the measurements behind the claims ``yuksel2026.bridge``, ``yuksel2026.bridge-sample`` and
  ``yuksel2026.bridge-pipeline`` (:func:`bridge_errors`, :func:`sample_deviation`,
  :func:`gradient_flow_deviation`).

Every run is a :class:`dynamics.Trajectory`: GD runs carry the coordinates ``V[k,j]``,
``s[k,l]``; the pipeline's flow its own (``V{k}_{j}``, logits ``th{k}_{p}``); :func:`state`
reads $(V, s)$ from either.

Defaults (:class:`~derivations.yuksel2026.regression.RegressionStudent`: $d = 6$, $T = 8$,
$h = 3$, patterns at lags 1, 2, 3 with $c = (m^2, m, 1)$, $m = 1.7$, logit init $10^{-3}$):
small and fast, with all three stages inside $t \le 300$; the flow's loss falls
36.73 -> 11.67 (by t = 10) -> 3.00 (t ~ 35) -> 0 (t ~ 200), the plateaus
$\tfrac12\sum_{j>k} g_j^2$.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy.integrate import solve_ivp

from derivations.yuksel2026 import reduced as R
from derivations.yuksel2026.regression import (
    Moments,
    Population,
    RegressionStudent,
    _softmax,
    batch_moments,
    population_loss_and_grad,
    sample_inputs,
    wishart_moments,
)
from dynamics.codegen import CompiledModel
from dynamics.direct import train
from dynamics.integrate import integrate
from dynamics.trajectory import Trajectory
from dynamics.validate import generator, int_at_least, one_of, positive_float, positive_int

__all__ = [
    "LRS",
    "bridge_error",
    "bridge_errors",
    "deviation",
    "flow",
    "gd",
    "gradient_flow_deviation",
    "initial_params",
    "reference_flow",
    "sample_deviation",
    "state",
    "t_grid",
]

Draw = Literal["data", "wishart"]
#: Learning rates of the slope fit of ``yuksel2026.bridge`` (each divides the record spacing 1).
LRS: tuple[float, ...] = (0.04, 0.02, 0.01, 0.005)
DEFAULT = RegressionStudent()


def _times(t_record: Any) -> np.ndarray:
    t = np.asarray(t_record, dtype=float)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or t[0] < 0:
        raise ValueError("t_record must be a non-empty 1-D array of finite times >= 0")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t_record must be strictly increasing")
    return t


def _record_steps(t_record: Any, lr: float) -> np.ndarray:
    """The GD steps at the flow times ``t_record`` (each must be a multiple of ``lr``)."""
    t = _times(t_record)
    steps = np.rint(t / lr).astype(np.int64)
    off = np.abs(steps * lr - t)
    if np.any(off > 1e-9 * np.maximum(1.0, t)):
        i = int(np.argmax(off))
        raise ValueError(f"t_record must be multiples of lr = {lr:g} (t = lr * step); "
                         f"t_record[{i}] = {t[i]:g} is not")
    return steps


def t_grid(t_max: float = 300.0, dt: float = 1.0) -> np.ndarray:
    """The recording grid ``0, dt, ..., t_max`` (``t_max`` a multiple of ``dt``)."""
    t_max, dt = positive_float("t_max", t_max), positive_float("dt", dt)
    n = int(round(t_max / dt))
    if abs(n * dt - t_max) > 1e-9 * t_max:
        raise ValueError(f"t_max = {t_max:g} must be a multiple of dt = {dt:g}")
    return np.arange(n + 1) * dt


def initial_params(student: RegressionStudent = DEFAULT) -> dict[str, np.ndarray]:
    """The bridge's start: ``student.init`` with ``default_rng([seed, 1])``."""
    return student.init(np.random.default_rng([student.seed, 1]))


# ------------------------------------------------------------------------------------- GD
def gd(
    student: RegressionStudent,
    params0: dict[str, np.ndarray],
    *,
    lr: float,
    t_record: Any,
    batch: int | None = None,
    fresh: bool = False,
    draw: Draw = "data",
    rng: np.random.Generator | None = None,
) -> Trajectory:
    r"""Plain GD on $(\theta, W)$ with :func:`dynamics.direct.train`, recorded at the flow
    times ``t_record`` (each a multiple of ``lr``; the run stops at the last).

    ``batch=None``: the exact population gradient. With a ``batch`` size $B$: one fixed batch
    (default; its gradient through the moment $\Sigma_B$, identical to the raw backward up to
    rounding and independent of $B$ in cost), materialised (``draw="data"``) or drawn from its
    exact Wishart law (``"wishart"``, any $B \ge Td$); or with ``fresh=True`` a fresh batch of
    $B$ windows every step (raw backward). ``rng`` (default ``default_rng(0)``) draws the
    batches. The recorded ``loss`` is the loss on the data trained on (population, or the
    fixed batch's); ``population_loss`` is always the population loss.

    Raises ValueError (bad ``lr``, ``t_record``, ``batch`` or ``draw``) before any step, and
    FloatingPointError when the iterates become non-finite (``lr`` too large).
    """
    lr = positive_float("lr", lr)
    steps = _record_steps(t_record, lr)
    one_of("draw", draw, ("data", "wishart"))
    if batch is not None:
        batch = positive_int("batch", batch)
    elif fresh:
        raise ValueError("fresh batches need a batch size")
    if draw == "wishart" and (batch is None or fresh):
        raise ValueError("draw='wishart' needs a fixed batch (a batch size and fresh=False)")
    rng = np.random.default_rng(0) if rng is None else generator("rng", rng)
    data: Any = Population(student.T, student.d)
    optimizer: Literal["gd", "sgd"] = "gd"
    batch_size = None
    if batch is not None and fresh:
        optimizer, batch_size = "sgd", batch
    elif batch is not None:
        X = None if draw == "wishart" else sample_inputs(student, batch, rng)
        data = Moments(wishart_moments(student, batch, rng) if X is None else batch_moments(X, student))
    meta = {"kind": "gd", "lr": lr, "batch": batch, "fresh": bool(fresh) if batch else None,
            "draw": draw if batch and not fresh else None, "h": int(np.shape(params0["theta"])[0])}
    # overflow shows up as a non-finite loss (FloatingPointError below), not as warnings per step
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            tr, _ = train(student, params0, data, lr=lr, steps=int(steps[-1]), optimizer=optimizer,
                          batch_size=batch_size, rng=rng, record=steps, meta=meta)
        except FloatingPointError as exc:
            raise FloatingPointError(f"GD diverged: {exc}; lr = {lr:g} is too large") from None
    return tr


# ------------------------------------------------------------------------------- J2 flow
@functools.lru_cache(maxsize=4)
def _j2_model(h: int, K: int, T: int, positions: tuple[int, ...]) -> CompiledModel:
    return R.eq4_model(h, K, T, "J2", positions=list(positions)).compile()


def _values_in_span(student: RegressionStudent, params0: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    th, w = student.check(params0)
    Wf = w.reshape(th.shape[0], -1)
    V0 = Wf @ student.U.T
    perp = float(np.linalg.norm(Wf - V0 @ student.U))
    if perp > 1e-12 * (1.0 + float(np.linalg.norm(Wf))):
        raise ValueError(f"W0 has a component of norm {perp:.3g} outside span(u_j); the "
                         "reduced J2 flow needs W0 in span(u_j) (e.g. W0 = 0)")
    return th, V0


def flow(student: RegressionStudent, params0: dict[str, np.ndarray], t_record: Any, *,
         rtol: float = 1e-10, atol: float = 1e-12) -> Trajectory:
    r"""The $J^2$ form of Eq. 4, $\dot V_k = R s_k$, $\dot s_k = J_k^2 R^\top V_k$, for the
    student's teacher, from $V(0)$ = the $u_j$-coordinates of ``W`` and
    $s(0) = \mathrm{softmax}(\theta)$ of ``params0``: the pipeline's
    :func:`~derivations.yuksel2026.reduced.eq4_model` (form ``"J2"``, patterns at the teacher's
    lags, strengths $g$) integrated by :func:`dynamics.integrate.integrate` at the tight
    tolerances of a reference. ``W`` must lie in $\mathrm{span}(u_j)$ (e.g. 0): the complement
    then stays 0 and is not part of Eq. 4."""
    th, V0 = _values_in_span(student, params0)
    t = _times(t_record)
    cm = _j2_model(th.shape[0], student.K, student.T, student.positions)
    y0 = R.full_state(cm, _softmax(th), V0)
    return integrate(cm, y0, R.params(cm, list(student.g)), t_eval=t, rtol=positive_float("rtol", rtol),
                     atol=positive_float("atol", atol))


def state(tr: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 4's values ``V`` (N, h, K) and attention ``s`` (N, h, T) along a GD run or a
    pipeline flow."""
    if "V[0,0]" not in tr.names:
        return R.values(tr), R.attention(tr)
    iv = [i for i, n in enumerate(tr.names) if n.startswith("V[")]
    js = [i for i, n in enumerate(tr.names) if n.startswith("s[")]
    h = 1 + max(int(tr.names[i][2:].split(",")[0]) for i in iv)
    return tr.y[:, iv].reshape(len(tr), h, -1), tr.y[:, js].reshape(len(tr), h, -1)


def _population_loss(tr: Trajectory) -> np.ndarray:
    return tr["population_loss"] if "population_loss" in tr.observables else tr.loss


def deviation(a: Trajectory, b: Trajectory) -> dict[str, float]:
    r"""Largest absolute differences over the common recording grid: ``"V"`` (over
    $V_k(j)$), ``"s"`` (over all $s_k(l)$), ``"max"`` (the larger of the two) and
    ``"loss"`` (population loss). The grids must be equal."""
    if a.t.shape != b.t.shape or not np.allclose(a.t, b.t, rtol=1e-12, atol=1e-12):
        raise ValueError("the two runs must be recorded on the same time grid")
    (Va, sa), (Vb, sb) = state(a), state(b)
    if Va.shape != Vb.shape or sa.shape != sb.shape:
        raise ValueError(f"the runs have different shapes: V {Va.shape} vs {Vb.shape}, s {sa.shape} vs {sb.shape}")
    dV, ds = float(np.max(np.abs(Va - Vb))), float(np.max(np.abs(sa - sb)))
    return {"V": dV, "s": ds, "max": max(dV, ds),
            "loss": float(np.max(np.abs(_population_loss(a) - _population_loss(b))))}


# --------------------------------------------------------------------------- measurements
@functools.lru_cache(maxsize=8)
def reference_flow(student: RegressionStudent = DEFAULT, t_max: float = 300.0, dt: float = 1.0) -> Trajectory:
    """:func:`flow` from :func:`initial_params` on :func:`t_grid`, cached (arrays read-only)."""
    tr = flow(student, initial_params(student), t_grid(t_max, dt))
    for arr in (tr.t, tr.y, *tr.observables.values()):
        arr.setflags(write=False)
    return tr


def _head(tr: Trajectory, n: int) -> Trajectory:
    return Trajectory(tr.t[:n], tr.y[:n], tr.names, {k: v[:n] for k, v in tr.observables.items()},
                      tr.stats, tr.meta)


def bridge_error(lr: float, student: RegressionStudent = DEFAULT, t_max: float = 300.0,
                 dt: float = 1.0) -> dict[str, float]:
    r"""Population GD at step ``lr`` against the $J^2$ flow: :func:`deviation` over
    $t = \eta\cdot\mathrm{step}$ on the grid (``"max"`` is what ``yuksel2026.bridge`` uses),
    plus ``"wall_s"`` of the GD run."""
    run = gd(student, initial_params(student), lr=lr, t_record=t_grid(t_max, dt))
    return deviation(run, reference_flow(student, t_max, dt)) | {"wall_s": float(run.stats["wall_time"])}


def bridge_errors(student: RegressionStudent = DEFAULT, lrs: Sequence[float] = LRS, t_max: float = 300.0,
                  dt: float = 1.0) -> list[dict[str, float]]:
    """:func:`bridge_error` for every learning rate of ``lrs``."""
    return [bridge_error(lr, student, t_max, dt) for lr in lrs]


def sample_deviation(
    student: RegressionStudent = DEFAULT,
    batch: int = 10**10,
    *,
    lr: float = 0.01,
    fresh: bool = False,
    draw: Draw = "wishart",
    seed: int = 0,
    t_max: float | None = None,
) -> dict[str, float]:
    r"""Sample-mode GD (``batch`` windows, step ``lr``; one fixed batch drawn by ``draw``,
    or fresh every step) against the $J^2$ flow, on the reference grid up to ``t_max``
    (default its end). The batches come from ``default_rng([student.seed, 2, seed])``.

    Returns :func:`deviation` (``"max"`` is what ``yuksel2026.bridge-sample`` uses), plus
    ``"euler"`` (population GD at the same ``lr`` against the flow), ``"mc"`` (sample GD
    against population GD at the same ``lr``: the Monte-Carlo part alone), ``"w_perp"``
    (largest $\|W^\perp\|_F$, zero for the flow) and ``"wall_s"`` of the sample run.
    """
    ref = reference_flow(student)
    t_rec = ref.t if t_max is None else ref.t[ref.t <= positive_float("t_max", t_max) + 1e-9]
    p0 = initial_params(student)
    rng = np.random.default_rng([student.seed, 2, int_at_least("seed", seed, 0)])
    run = gd(student, p0, lr=lr, t_record=t_rec, batch=batch, fresh=fresh, draw="data" if fresh else draw, rng=rng)
    pop = gd(student, p0, lr=lr, t_record=t_rec)
    ref = _head(ref, t_rec.size)
    return deviation(run, ref) | {"euler": deviation(pop, ref)["max"], "mc": deviation(run, pop)["max"],
                                  "w_perp": float(np.max(run["w_perp"])), "wall_s": float(run.stats["wall_time"])}


def gradient_flow_deviation(student: RegressionStudent = DEFAULT, t_max: float = 300.0,
                            dt: float = 1.0) -> dict[str, float]:
    r"""The pipeline's $J^2$ flow (:func:`reference_flow`) against the gradient flow of the
    regression model itself: $(\theta, W)$ integrated by scipy's LSODA (rtol 1e-10) with the
    model's own exact population gradient as the right-hand side. Two independent routes to
    the same trajectory (the symbolic derivation of Eq. 4 vs. the hand-written backward pass of
    the model it reduces): :func:`deviation` over the grid."""
    p0 = initial_params(student)
    th, w = student.check(p0)
    shapes = (th.shape, w.shape)
    n = th.size

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        p = {"theta": y[:n].reshape(shapes[0]), "W": y[n:].reshape(shapes[1])}
        g = population_loss_and_grad(p, student)[1]
        return -np.concatenate([g["theta"].ravel(), g["W"].ravel()])

    t = t_grid(t_max, dt)
    sol = solve_ivp(rhs, (0.0, float(t[-1])), np.concatenate([th.ravel(), w.ravel()]), method="LSODA",
                    t_eval=t, rtol=1e-10, atol=1e-12)
    if not sol.success or sol.y.shape[1] != t.size:
        raise RuntimeError(f"gradient_flow_deviation: solve_ivp failed: {sol.message}")
    rows = [student.reduce({"theta": y[:n].reshape(shapes[0]), "W": y[n:].reshape(shapes[1])}) for y in sol.y.T]
    names = tuple(rows[0])
    loss = [population_loss_and_grad({"theta": y[:n].reshape(shapes[0]), "W": y[n:].reshape(shapes[1])},
                                     student)[0] for y in sol.y.T]
    direct = Trajectory(t, np.array([[r[k] for k in names] for r in rows]), names, {"loss": np.array(loss)})
    dev = deviation(direct, reference_flow(student, t_max, dt))
    return {k: dev[k] for k in ("V", "s", "loss")}
