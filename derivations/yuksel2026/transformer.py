r"""Training and measuring the minimal transformer (spec 2.1, 4, 5.2): the trainer the paper
uses (AdamW, global-norm clipping), the validation metrics, one run of the verify suite
(:class:`TfJob`) and the stage analysis of a run (structural stages, loss-drop onsets).

Trainer (spec 2.1): AdamW (decoupled weight decay, PyTorch's update and defaults), global
gradient-norm clipping (PyTorch's ``clip_grad_norm_``), constant learning rate (spec 1.4),
minibatches by reshuffled epochs of a finite set or fresh teacher sequences every step.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivations.yuksel2026.data import Dataset, Teacher
from derivations.yuksel2026.direct import MinimalTransformer, span_mass
from dynamics.direct import record_steps
from dynamics.direct import train as direct_train
from dynamics.validate import (
    generator,
    int_at_least,
    nonnegative_float,
    positive_float,
    positive_int,
)

__all__ = [
    "FIRST_FALL_END",
    "acquisition_steps",
    "XAVIER",
    "TfJob",
    "TrainRecord",
    "boundaries",
    "drop_onsets",
    "evaluate",
    "fitted_fraction",
    "kl_minima_order",
    "loss_drop_onsets",
    "stage_of",
    "stage_sequence",
    "tf_run",
    "train",
]

@dataclass(frozen=True)
class TrainRecord:
    """What :func:`train` recorded, one row per recorded step.

    Attributes
    ----------
    steps : (R,) int
        Recorded steps (the state before that step's update).
    train_loss : (R,)
        Loss of the minibatch drawn at that step (the full set when full batch).
    grad_norm : (R,)
        Global gradient norm of that minibatch before clipping.
    val_loss : (R,)
        Cross-entropy on the validation set.
    val_excess : (R,)
        ``val_loss - teacher_val_ce`` (teacher's cross-entropy on the same set).
    kl : (R, K)
        ``kl[:, k-1]`` $= \\mathrm{KL}(A^*_{1:k} \\| \\text{model})$ on the validation set.
    span_mass : (R, H, K)
        Per-head attention mass per span (:func:`span_mass`; spans oldest first).
    value_alignment : (R, H, K)
        $\\langle \\Pi_d W_V^k \\Pi_d^\\top, Q_j\\rangle_F$.
    wall : (R,)
        Seconds since the start of training.
    teacher_val_ce, teacher_val_entropy : float
        Teacher cross-entropy and mean entropy on the validation set.
    meta : dict
        The configuration.
    """

    steps: np.ndarray
    train_loss: np.ndarray
    grad_norm: np.ndarray
    val_loss: np.ndarray
    val_excess: np.ndarray
    kl: np.ndarray
    span_mass: np.ndarray
    value_alignment: np.ndarray
    wall: np.ndarray
    teacher_val_ce: float
    teacher_val_entropy: float
    meta: dict[str, Any] = field(default_factory=dict)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez`` / :func:`dynamics.trajectory.save_arrays`."""
        names = (
            "steps", "train_loss", "grad_norm", "val_loss", "val_excess", "kl", "span_mass",
            "value_alignment", "wall",
        )
        out = {prefix + n: np.asarray(getattr(self, n)) for n in names}
        out[prefix + "teacher_val_ce"] = np.asarray(self.teacher_val_ce)
        out[prefix + "teacher_val_entropy"] = np.asarray(self.teacher_val_entropy)
        return out


def evaluate(
    model: MinimalTransformer,
    params: Mapping[str, np.ndarray],
    teacher: Teacher,
    tokens: np.ndarray,
) -> dict[str, Any]:
    """Validation metrics of ``params`` on full sequences ``tokens`` (B, N).

    Returns
    -------
    dict
        ``"loss"`` (float), ``"kl"`` (K,) with ``kl[k-1]`` = KL($A^*_{1:k}$ || model),
        ``"span_mass"`` (H, K) and ``"value_alignment"`` (H, K).
    """
    tok = model._sequences(tokens)
    logits, cache = model.forward(params, tok[:, :-1])  # (B, T, d)
    z = logits - logits.max(axis=-1, keepdims=True)
    lq = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # (B, T, d)
    tgt = tok[:, model.context :]  # (B, T)
    loss = float(-np.mean(np.take_along_axis(lq, tgt[..., None], axis=-1)))
    kl = np.array([teacher.kl_to(lq, tok, k) for k in range(1, teacher.K + 1)])
    return {
        "loss": loss,
        "kl": kl,
        "span_mass": span_mass(cache["attn.pattern"], teacher),
        "value_alignment": model.value_alignment(params, teacher),
    }


class _Threaded:
    """The model as :func:`dynamics.direct.train` calls it, with ``threads`` per gradient."""

    def __init__(self, model: MinimalTransformer, threads: int) -> None:
        self.model, self.threads = model, threads

    @property
    def groups(self) -> Mapping[str, str]:
        return self.model.groups

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.model.init(rng)

    def reduce(self, params: Mapping[str, np.ndarray]) -> dict[str, float]:
        return self.model.reduce(params)

    def loss_and_grad(self, params: Mapping[str, np.ndarray], tokens: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        return self.model.loss_and_grad(params, tokens, threads=self.threads)


class _EpochSampler:
    """Minibatches of a finite set by reshuffled epochs (:meth:`Dataset.batches`), one per call."""

    def __init__(self, data: Dataset, batch: int) -> None:
        self.data, self.batch = data, batch
        self.stream: Generator[np.ndarray, None, None] | None = None

    def __call__(self, rng: np.random.Generator, step: int) -> np.ndarray:
        if self.stream is None:
            self.stream = self.data.batches(rng, self.batch)
        return next(self.stream)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


class _OnlineSampler:
    """``batch`` fresh teacher sequences per call. The next batch is drawn in a helper thread
    while the current step computes; the draws stay sequential, so the stream is the same as
    without prefetching (the trainer asks for ``steps + 1`` batches, in order)."""

    def __init__(self, teacher: Teacher, batch: int, length: int, steps: int) -> None:
        self.teacher, self.batch, self.length, self.steps = teacher, batch, length, steps
        self.helper = ThreadPoolExecutor(1)
        self.next: Future[np.ndarray] | None = None

    def __call__(self, rng: np.random.Generator, step: int) -> np.ndarray:
        if self.next is None:
            self.next = self.helper.submit(self.teacher.sample, rng, self.batch, self.length)
        cur = self.next.result()
        self.next = self.helper.submit(self.teacher.sample, rng, self.batch, self.length) if step < self.steps else None
        return cur

    def close(self) -> None:
        self.helper.shutdown(wait=True, cancel_futures=True)


def train(
    model: MinimalTransformer,
    data: Teacher | Dataset,
    steps: int,
    *,
    rng: np.random.Generator,
    lr: float = 0.08,
    weight_decay: float = 0.01,
    batch: int = 3000,
    clip: float | None = 1.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    params: Mapping[str, np.ndarray] | None = None,
    record_every: int = 20,
    eval_set: Dataset | np.ndarray | None = None,
    n_eval: int = 1000,
    callback: Callable[[int, dict[str, Any]], None] | None = None,
    threads: int | None = None,
) -> tuple[TrainRecord, dict[str, np.ndarray]]:
    """Train ``model`` with AdamW and global-norm clipping (the paper's trainer, spec 2.1) through
    the one trainer :func:`dynamics.direct.train`, recording every ``record_every``.

    Parameters
    ----------
    model : MinimalTransformer
    data : Teacher or Dataset
        A :class:`Teacher`: online training, ``batch`` fresh sequences of
        ``n_pos + 1`` tokens every step. A :class:`Dataset`: a finite training set,
        minibatches of ``batch`` by reshuffled epochs (full batch if ``batch >= n``).
    steps : int
        Number of updates.
    rng : numpy.random.Generator
        Draws, in this order: the initial parameters (if ``params`` is None), the
        validation set (if ``eval_set`` is None), then the minibatches.
    lr, weight_decay, betas, eps : AdamW settings (spec 2.1: 0.08, 0.01, PyTorch defaults).
    batch : int
        Sequences per step (default 3000).
    clip : float or None
        Global gradient-norm bound (default 1.0); None disables clipping.
    params : dict, optional
        Initial parameters (copied); default ``model.init(rng)``.
    record_every : int
        Record at steps 0, ``record_every``, ... and at ``steps``.
    eval_set : Dataset or int ndarray (n, N), optional
        Validation sequences (same length as the training sequences); default ``n_eval``
        fresh teacher sequences.
    n_eval : int
        Size of the default validation set.
    callback : callable, optional
        ``callback(step, row)`` after each record, ``row`` a dict of that record's values
        plus ``"params"``, the live parameter dict (copy it to keep a snapshot).
    threads : int, optional
        Threads for each gradient (:meth:`MinimalTransformer.loss_and_grad`); default
        ``min(2, os.cpu_count())``.

    Returns
    -------
    record : TrainRecord
    params : dict of str to ndarray
        The parameters after ``steps`` updates.
    """
    if not isinstance(model, MinimalTransformer):
        raise ValueError(f"model must be a MinimalTransformer, got {type(model).__name__}")
    generator("rng", rng)
    if isinstance(data, Dataset):
        teacher = data.teacher
        seq_len = data.seq_len
    elif isinstance(data, Teacher):
        teacher = data
        seq_len = model.n_pos + 1
    else:
        raise ValueError(f"data must be a Teacher (online) or a Dataset, got {type(data).__name__}")
    if teacher.d != model.d or teacher.C != model.context:
        raise ValueError(
            f"model (d={model.d}, context={model.context}) does not match the teacher "
            f"(d={teacher.d}, C={teacher.C})"
        )
    if seq_len - 1 > model.n_pos:
        raise ValueError(
            f"sequences of {seq_len} tokens need n_pos >= {seq_len - 1}, model has {model.n_pos}"
        )
    int_at_least("steps", steps, 0)
    for name, v in (("batch", batch), ("record_every", record_every), ("n_eval", n_eval)):
        positive_int(name, v)
    positive_float("lr", lr)
    if clip is not None and nonnegative_float("clip", clip) == 0:
        raise ValueError("clip must be > 0 (or None to disable clipping)")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable(step, row)")
    threads = positive_int("threads", min(2, os.cpu_count() or 1) if threads is None else threads)
    steps = int(steps)

    theta = {k: np.array(v, dtype=float) for k, v in (params or model.init(rng)).items()}
    model._check_params(theta)
    if eval_set is None:
        val = teacher.sample(rng, int(n_eval), seq_len - teacher.C)
    else:
        val = eval_set.tokens if isinstance(eval_set, Dataset) else np.asarray(eval_set)
        if isinstance(eval_set, Dataset) and eval_set.teacher is not teacher:
            raise ValueError("eval_set was drawn from a different teacher than the training data")
        val = teacher.check_tokens(val, min_len=teacher.C + 1)
        if val.shape[1] != seq_len:
            raise ValueError(
                f"eval_set sequences have {val.shape[1]} tokens, training sequences {seq_len}"
            )
    teacher_ce = teacher.cross_entropy(val)
    teacher_h = teacher.entropy(val)

    rec = record_steps(steps, int(record_every))
    R, H, K = rec.size, model.n_heads, teacher.K
    out: dict[str, np.ndarray] = {
        "train_loss": np.empty(R), "grad_norm": np.empty(R), "val_loss": np.empty(R),
        "val_excess": np.empty(R), "kl": np.empty((R, K)), "span_mass": np.empty((R, H, K)),
        "value_alignment": np.empty((R, H, K)), "wall": np.empty(R),
    }
    t0 = time.perf_counter()
    i_rec = 0

    def on_record(step: int, params: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        nonlocal i_rec
        ev = evaluate(model, params, teacher, val)
        row = {
            "train_loss": info["batch_loss"], "grad_norm": info["grad_norm"], "val_loss": ev["loss"],
            "val_excess": ev["loss"] - teacher_ce, "kl": ev["kl"], "span_mass": ev["span_mass"],
            "value_alignment": ev["value_alignment"], "wall": time.perf_counter() - t0,
        }
        for key, v in row.items():
            out[key][i_rec] = v
        i_rec += 1
        if callback is not None:
            callback(step, row | {"params": params})  # the live parameters: copy to keep

    sampler = _EpochSampler(data, int(batch)) if isinstance(data, Dataset) else \
        _OnlineSampler(teacher, int(batch), seq_len - teacher.C, steps)
    try:
        _, theta = direct_train(_Threaded(model, int(threads)), theta, None, lr=lr, steps=steps,
                                optimizer="adamw", weight_decay=weight_decay, betas=betas, eps=eps,
                                clip_norm=clip, sampler=sampler, rng=rng, record=rec, callbacks=[on_record])
    finally:
        sampler.close()
    meta = {
        "steps": steps, "lr": float(lr), "weight_decay": float(weight_decay), "batch": int(batch),
        "clip": clip, "betas": [float(b) for b in betas], "eps": float(eps), "record_every": int(record_every),
        "threads": int(threads),
        "online": isinstance(data, Teacher),
        "n_train": data.n if isinstance(data, Dataset) else None, "n_eval": int(val.shape[0]),
        "model": {
            "d": model.d, "n_pos": model.n_pos, "context": model.context,
            "n_heads": model.n_heads, "query_init": model.query_init,
            "value_init": model.value_init,
        },
        "teacher": {
            "d": teacher.d, "spans": list(teacher.spans), "m": teacher.m,
            "reverse": teacher.reverse, "tau": teacher.tau, "orthogonal": teacher.orthogonal,
            "seed": teacher.seed,
        },
    }
    record = TrainRecord(
        rec, out["train_loss"], out["grad_norm"], out["val_loss"], out["val_excess"], out["kl"],
        out["span_mass"], out["value_alignment"], out["wall"], teacher_ce, teacher_h, meta,
    )
    return record, theta


FIRST_FALL_END = 100.0  # the first fall (uniform attention -> newest span) is over by step 100


@dataclass(frozen=True)
class TfJob:
    """One transformer run: ``n`` = 0 means online data; ``keep`` = steps whose parameters
    are kept (attention maps); ``m``, ``spans``, ``reverse`` set the teacher (spec 1.1, 1.2);
    ``window`` > 0 restricts attention to the last ``window`` tokens (the learned restricted
    models of Fig. 5, :class:`MinimalTransformer`); ``keep_all`` keeps the parameters at every
    record and ``keep_best`` those at the lowest validation loss (under the key -1);
    ``query_init`` or ``value_init`` < 0 (:data:`XAVIER`) means Xavier-uniform, $\\sigma = \\sqrt{6/(2D)}$ (PyTorch's
    ``xavier_uniform_`` on a D x D matrix; the paper's "xavier" / "1" of Fig. 4)."""

    name: str
    steps: int
    batch: int
    n: int = 0
    query_init: float = 1e-9
    reverse: bool = False
    every: int = 20
    keep: tuple[int, ...] = ()
    n_eval: int = 1000
    seed: int = 0
    m: float = 1.7
    spans: tuple[int, ...] = (2, 2, 2)
    value_init: float = 0.0
    window: int = 0
    keep_all: bool = False
    keep_best: bool = False


XAVIER = -1.0  #: ``TfJob.query_init`` value meaning Xavier-uniform


def tf_run(job: TfJob) -> tuple[Any, dict[int, dict[str, np.ndarray]]]:
    """Train the run ``job`` describes; returns its :class:`TrainRecord` and the kept parameters."""
    teacher = Teacher(seed=job.seed, reverse=job.reverse, m=job.m, spans=tuple(job.spans))
    D = teacher.d + teacher.C + 19
    xavier = math.sqrt(6.0 / (2 * D))
    qi = xavier if job.query_init == XAVIER else job.query_init
    vi = xavier if job.value_init == XAVIER else job.value_init
    model = MinimalTransformer.for_teacher(teacher, query_init=qi, value_init=vi, window=job.window)
    val = teacher.dataset(np.random.default_rng([job.seed, 12345]), job.n_eval)
    data = teacher if job.n == 0 else teacher.dataset(np.random.default_rng([job.seed, 7]), job.n)
    kept: dict[int, dict[str, np.ndarray]] = {}
    best = [math.inf]

    def keep(step: int, row: dict[str, Any]) -> None:
        if job.keep_all or step in job.keep:
            kept[step] = {k: v.copy() for k, v in row["params"].items()}
        if job.keep_best and row["val_loss"] < best[0]:
            best[0] = row["val_loss"]
            kept[-1] = {k: v.copy() for k, v in row["params"].items()}

    rec, _ = train(model, data, job.steps, rng=np.random.default_rng([job.seed, 1]), batch=job.batch,
                   eval_set=val, record_every=job.every, callback=keep, threads=1)
    return rec, kept


def stage_of(rec: Any, newest_first: bool = True) -> np.ndarray:
    """Structural stage at every record: 1 + the number of older spans held by some head (stage 1:
    every head on the newest, most important span; stage 2: one head has moved to the middle
    span; stage 3: another to the oldest). A head holds the span of its largest attention mass
    when that mass exceeds 0.3 (twice the uniform start's 0.15 per span of 2 lags). Spans oldest
    first; with ``newest_first=False`` (reversed importance) oldest and newest swap roles."""
    sm = rec.span_mass  # (R, H, K)
    K = sm.shape[2]
    top = sm.argmax(axis=2)  # (R, H)
    strong = sm.max(axis=2) > 0.3  # (R, H)
    held = np.stack([((top == j) & strong).any(axis=1) for j in range(K)], axis=1)  # (R, K)
    others = held[:, : K - 1] if newest_first else held[:, 1:]
    return 1 + others.sum(axis=1)


def boundaries(rec: Any) -> list[float]:
    """First recorded steps of structural stages 2 and 3 (nan if not reached): where a head's
    largest span mass first moves to an older span. These fall in the middle of a loss drop;
    they only say which plateau is which (:func:`loss_drop_onsets`), not when a stage ends."""
    st = stage_of(rec)
    out = []
    for k in (2, 3):
        idx = np.nonzero(st >= k)[0]
        out.append(float(rec.steps[idx[0]]) if idx.size else float("nan"))
    return out


def drop_onsets(steps: np.ndarray, excess: np.ndarray, windows: list[tuple[float, float]],
                log: bool = True) -> list[float]:
    r"""Loss-drop onsets: where each plateau ends and the loss starts to drop.

    Definition (the *extrapolated onset*, the tangent construction). On $y = \ln$ (excess
    loss) at the recorded steps, with the per-step decrease rate
    $q_i = -(y_{i+1} - y_i)/(s_{i+1} - s_i)$ of each segment between records:

    1. plateau $k$'s level is $y$ at its flattest segment: the smallest $q_i$ among the
       segments that start inside ``windows[k]`` $= [a_k, b_k)$ (the midpoint of that
       segment, $\bar y_f$);
    2. drop $k$'s steepest segment is the largest $q_i$ after that flattest segment and
       before the next plateau's flattest segment (the end of the run for the last one);
    3. the onset is where the straight line through the steepest segment meets the plateau
       level: $s_* = \bar s_i - (\bar y_f - \bar y_i)/q_i$, with $\bar s_i, \bar y_i$ the
       segment's midpoint.

    It has no threshold and interpolates between records; a plateau's slow creep or its
    record-to-record noise moves the level by a few 1e-3 in $y$, which a steep tangent turns
    into a step or less. ``log=False`` does the same on the excess itself (a variant, for
    the definition's sensitivity). ``nan`` when a window holds no segment or no later drop.
    """
    sv = np.asarray(steps, dtype=float)
    ev = np.asarray(excess, dtype=float)
    y = np.log(np.maximum(ev, 1e-12)) if log else ev
    q = -np.diff(y) / np.diff(sv)  # (R-1,)
    mid_s, mid_y = (sv[1:] + sv[:-1]) / 2, (y[1:] + y[:-1]) / 2
    flats: list[int | None] = []
    for a, b in windows:
        seg = np.nonzero((sv[:-1] >= a) & (sv[:-1] < b))[0] if math.isfinite(a) else np.array([], int)
        flats.append(int(seg[np.argmin(q[seg])]) if seg.size else None)
    out = []
    for k, f in enumerate(flats):
        nxt = flats[k + 1] if k + 1 < len(flats) else None
        seg = np.arange(f + 1, nxt if nxt is not None else q.size) if f is not None else np.array([], int)
        if seg.size == 0 or not np.max(q[seg]) > 0:
            out.append(float("nan"))
            continue
        i = int(seg[np.argmax(q[seg])])
        out.append(float(mid_s[i] - (mid_y[f] - mid_y[i]) / q[i]))
    return out


def loss_drop_onsets(rec: Any, log: bool = True) -> list[float]:
    """Onsets of the drops that end plateaus 1 and 2 (:func:`drop_onsets`): plateau 1 is
    searched from step 100 (after the first fall) to the first structural boundary, plateau 2
    between the two structural boundaries (:func:`boundaries`)."""
    b1, b2 = boundaries(rec)
    end = float(rec.steps[-1]) + 1
    w = [(FIRST_FALL_END, b1 if math.isfinite(b1) else end), (b1, b2 if math.isfinite(b2) else end)]
    return drop_onsets(rec.steps, rec.val_excess, w, log=log)


def stage_sequence(rec: Any, start: int = 100, min_len: int = 3) -> list[int]:
    """Run-length-compressed structural stages after ``start``, keeping runs of at least
    ``min_len`` records."""
    st = stage_of(rec)[rec.steps >= start]
    seq: list[int] = []
    i = 0
    while i < st.size:
        j = i
        while j < st.size and st[j] == st[i]:
            j += 1
        if j - i >= min_len and (not seq or seq[-1] != st[i]):
            seq.append(int(st[i]))
        i = j
    return seq


def kl_minima_order(rec: Any) -> list[int]:
    """Restricted teachers ordered by the step at which KL(A*_{1:k} || model) is smallest."""
    t = [float(rec.steps[int(np.argmin(rec.kl[:, k]))]) for k in range(rec.kl.shape[1])]
    return [int(i) + 1 for i in np.argsort(t, kind="stable")]


def fitted_fraction(rec: Any) -> np.ndarray:
    r"""Fraction of each span's logit scale the heads carry, at every record: (R, K).

    A head with attention mass $s_{kj}$ spread evenly over the $L_j$ positions of span $j$ adds
    $(s_{kj}/L_j) W_V^k e_{x_u}$ per token of that span, and the teacher adds
    $(c_j/\tau) Q_j e_{x_u}$ (spec 2.1, derived), so a full fit has
    $\sum_k s_{kj} \langle W_V^k, Q_j\rangle_F = L_j c_j d / \tau$ ($\|Q_j\|_F^2 = d$); this
    returns the left side over the right (``rec.meta["teacher"]`` gives d, spans, m, reverse, tau).
    It ignores the position part of the values and the mass outside the spans.
    """
    t = rec.meta["teacher"]
    spans = np.asarray(t["spans"], dtype=float)
    K = spans.size
    i = np.arange(K)
    c = float(t["m"]) ** ((K - 1 - i) if t["reverse"] else i)
    full = spans * c * float(t["d"]) / float(t["tau"])  # (K,)
    return np.einsum("rhk,rhk->rk", rec.span_mass, rec.value_alignment) / full


def acquisition_steps(rec: Any, level: float) -> list[float]:
    """Per span (oldest first), the first step (linear interpolation between records) at which
    :func:`fitted_fraction` reaches ``level``: when the heads have taken the span on; nan if never."""
    from dynamics.analysis import first_crossing

    frac = fitted_fraction(rec)
    steps = np.asarray(rec.steps, dtype=float)
    return [float(first_crossing(steps, frac[:, j], level, "up")) for j in range(frac.shape[1])]
