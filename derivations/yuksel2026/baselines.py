r"""Fig. 5's learned baselines (spec 1.3, 4): the *learned* restricted models against which the paper
measures the early-stopped student, run with ``--set baselines=true``.

The authors train, on the same training set as the student, copies of the student that see only the
newest $\sum_{i<k} L_i$ tokens ("4-gram", "8-gram", "12-gram" for spans (4, 4, 4): $k$ = 1, 2, 3 spans)
and log $\mathrm{KL}(\text{learned}_k \,\|\, \text{student})$ on the validation set. Fig. 5: the best
validation step of the runs on n = 600 / 2000 / 9000 sequences coincides with the smallest KL to the
1-span / 2-span / full learned model.

Here (reconstruction, documented in ``RECONSTRUCTED``): the learned $k$-span model is the minimal
transformer with attention masked to the newest $k$ spans (:class:`MinimalTransformer`, ``window``),
trained on the same set with the same trainer, batch and number of steps as the student's run (the
authors: 2000 steps before the student's), keeping its final parameters. Only the restricted models
(k < K) are compared: with the same seed the learned full model would be the student itself at the
end of its run, whose KL to the student's path falls to 0 by construction; an independently seeded
one is one more run of the student's size (budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from derivations.yuksel2026.data import Teacher
from derivations.yuksel2026.direct import MinimalTransformer
from derivations.yuksel2026.transformer import TfJob

__all__ = ["BASELINE_RUNS", "baseline_jobs", "closest_at_best", "learned_kl"]

#: The student runs (names in :func:`~derivations.yuksel2026.tf_suite.tf_jobs`) that get learned baselines.
BASELINE_RUNS = ("n600", "n2000")


def _windows(job: TfJob) -> list[int]:
    """Tokens seen by the learned 1..K-1-span models: the newest spans' lengths, summed."""
    newest_first = list(job.spans)[::-1]
    return [int(sum(newest_first[:k])) for k in range(1, len(newest_first))]


def baseline_jobs(student: TfJob) -> list[TfJob]:
    """The learned 1..K-1-span models of the student run ``student`` (same set, batch, steps, seed)."""
    return [TfJob(f"{student.name}-learned{k}", student.steps, student.batch, n=student.n, every=student.steps,
                  seed=student.seed, m=student.m, spans=student.spans, reverse=student.reverse,
                  query_init=student.query_init, value_init=student.value_init, window=w, keep=(student.steps,),
                  n_eval=student.n_eval)
            for k, w in enumerate(_windows(student), start=1)]


def learned_kl(student: TfJob, kept: Mapping[int, Mapping[str, np.ndarray]],
               learned: list[Mapping[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    r"""$\mathrm{KL}(\text{learned}_k \,\|\, \text{student at each kept step})$ on the run's validation set.

    Parameters
    ----------
    student : TfJob
        The student run (its teacher, validation set and model are rebuilt from it).
    kept : mapping step -> params
        The student's parameters at its records (``keep_all``).
    learned : list of params
        Final parameters of the learned 1..K-1-span models (:func:`baseline_jobs`, in order).

    Returns
    -------
    steps : (R,) int
    kl : (R, K - 1)
        ``kl[:, k-1]``: KL to the learned k-span model.
    """
    teacher = Teacher(seed=student.seed, reverse=student.reverse, m=student.m, spans=tuple(student.spans))
    val = teacher.dataset(np.random.default_rng([student.seed, 12345]), student.n_eval).tokens
    model = MinimalTransformer.for_teacher(teacher)
    steps = np.array(sorted(kept))
    if len(learned) != teacher.K - 1:
        raise ValueError(f"need {teacher.K - 1} learned models, got {len(learned)}")
    refs = [MinimalTransformer.for_teacher(teacher, window=w).log_probs(p, val)
            for w, p in zip(_windows(student), learned, strict=True)]
    out = np.empty((steps.size, len(refs)))
    for i, s in enumerate(steps):
        lq = model.log_probs(kept[int(s)], val)
        for k, lp in enumerate(refs):
            out[i, k] = float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))
    return steps, out


def closest_at_best(steps: np.ndarray, kl: np.ndarray, rec: Any) -> int:
    """The learned restricted model (1..K-1 spans) closest to the student at its best validation record."""
    best = int(rec.steps[int(np.argmin(rec.val_loss))])
    i = int(np.searchsorted(steps, best))
    return int(np.argmin(kl[i])) + 1
