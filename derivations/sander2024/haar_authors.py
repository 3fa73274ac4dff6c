r"""Figs. 5 and 7 with the authors' architectures on Haar-orthogonal $W$, against the
one-step-GD baselines in the authors' MSE normalisation (spec 1.1, 1.3, 1.4, 5).

Spec references are to ``shared/papers/sander2024_in_context_autoregressive.md``; "authors'
code" is ``augmented.py`` / ``non_augmented.py`` of ``michaelsdr/ical``.

* Data (authors' code): $W$ Haar on $O(d)$ (``scipy.stats.ortho_group``), one per
  sequence, $s_0 = \mathbf 1/\sqrt d$, $s_{t+1} = W s_t$, $d = 5$, $n = 50$ positions
  ($s_0..s_{50}$); $2^{14}$ training and $2^{10}$ test sequences, drawn once.
* Training (authors' code): Adam, lr $10^{-2}$, minibatches of 1024, 200 epochs (3200
  updates), the mean squared error over sequences, positions and coordinates. Our minibatches
  are drawn without replacement within an update and independently across updates
  (:func:`dynamics.direct.train`), not epoch by epoch (reconstruction).
* Baselines (spec 5; :func:`gd_baselines`), per test sequence, in the same normalisation
  (mean over positions and coordinates): the zero predictor, one GD step from $W_0 = 0$ with
  the least-squares step shared by all positions, and with one step per position; the steps
  are fitted on the training set and evaluated on the test set, as a trained model is.

:class:`HaarProtocol` holds these settings, the authors' by default; ``dynamics verify`` runs a
smaller protocol (``Settings.haar_*``) and the authors' full one is a documented ``--set``
command (docs/sander2024.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from derivations.sander2024.authors_models import AugmentedTransformer, NonAugmentedTransformer
from derivations.sander2024.closed_forms import (
    best_shared_eta,
    one_step_gd_predict,
    per_position_etas,
)
from derivations.sander2024.data import SeqData, mc_data
from dynamics.direct import train
from dynamics.validate import int_at_least, one_of, positive_float, positive_int

__all__ = ["HaarProtocol", "gd_baselines", "haar_sets", "run_job", "sweep"]


@dataclass(frozen=True)
class HaarProtocol:
    """The Figs. 5 and 7 protocol; defaults are the authors' (module docstring).

    Attributes
    ----------
    d, n : int
        State dimension and number of positions.
    n_train, n_test : int
        Training and test sequences.
    batch, steps : int
        Adam minibatch size and number of updates.
    lr : float
    seed : int
        Seed of the data (shared by every run of a sweep) and of the runs.
    """

    d: int = 5
    n: int = 50
    n_train: int = 2**14
    n_test: int = 2**10
    batch: int = 1024
    steps: int = 3200
    lr: float = 1e-2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("d", "n", "n_train", "n_test", "batch", "steps"):
            positive_int(name, getattr(self, name))
        int_at_least("d", self.d, 2)
        positive_float("lr", self.lr)
        if self.batch > self.n_train:
            raise ValueError(f"batch ({self.batch}) must not exceed n_train ({self.n_train})")


def haar_sets(proto: HaarProtocol) -> tuple[SeqData, SeqData]:
    """The training and test sets of ``proto`` (the same for every run with its seed)."""
    rng = np.random.default_rng([proto.seed, 500])
    return (mc_data("haar", proto.d, proto.n, proto.n_train, "fixed", rng),
            mc_data("haar", proto.d, proto.n, proto.n_test, "fixed", rng))


def _per_sequence_mse(pred: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Mean over positions and coordinates of the squared error, per sequence, (N,)."""
    return np.mean((pred - S[:, 1:]) ** 2, axis=(1, 2))


def gd_baselines(train_set: SeqData, test_set: SeqData) -> dict[str, Any]:
    """Per test sequence, the MSE (authors' normalisation) of the zero predictor and of one GD
    step with the shared and the per-position least-squares steps fitted on ``train_set``.

    Returns
    -------
    dict
        ``"zero"``, ``"gd_shared"``, ``"gd_per_position"``: arrays (N_test,); ``"eta_shared"``
        (float) and ``"eta_per_position"`` (list, position 0 has no pair: 0).
    """
    eta = best_shared_eta(train_set.S, train_set.weights)
    etas = per_position_etas(train_set)  # (n,)
    g = one_step_gd_predict(test_set.S, 1.0)  # (N, n, d)
    return {"zero": _per_sequence_mse(np.zeros_like(g), test_set.S),
            "gd_shared": _per_sequence_mse(eta * g, test_set.S),
            "gd_per_position": _per_sequence_mse(etas[None, :, None] * g, test_set.S),
            "eta_shared": float(eta), "eta_per_position": [float(x) for x in etas]}


def run_job(job: tuple[str, int, dict[str, Any]]) -> dict[str, Any]:
    """Train one model of a sweep: ``job = (arch, size, protocol as a dict)`` with ``arch``
    ``"aug"`` (size = layers, Fig. 5) or ``"nonaug"`` (size = heads, Fig. 7).

    Returns
    -------
    dict
        ``test_per_seq`` (N_test,) MSE per test sequence, ``test``, ``train`` (MSE on the
        whole sets), ``curve`` (training-set MSE at a few steps), ``cpu_s``.
    """
    arch, size, pd = job
    one_of("arch", arch, ("aug", "nonaug"))
    proto = HaarProtocol(**pd)
    size = positive_int("size", size)
    train_set, test_set = haar_sets(proto)
    model: Any = (AugmentedTransformer(proto.d, size) if arch == "aug"
                  else NonAugmentedTransformer(proto.d, size, max_length=max(100, proto.n)))
    t0 = time.process_time()
    rec = sorted({0, proto.steps // 4, proto.steps // 2, proto.steps})
    tr, p = train(model, None, train_set, lr=proto.lr, steps=proto.steps, optimizer="adam", batch_size=proto.batch,
                  rng=np.random.default_rng([proto.seed, 600, 0 if arch == "aug" else 1, size]), record=rec)
    per_seq = _per_sequence_mse(model.predict(p, test_set.S), test_set.S)
    return {"arch": arch, "size": size, "test_per_seq": per_seq, "test": float(per_seq.mean()),
            "train": float(tr.loss[-1]), "curve": {"step": rec, "train_mse": [float(x) for x in tr.loss]},
            "cpu_s": time.process_time() - t0}


def sweep(proto: HaarProtocol, layers: Sequence[int], heads: Sequence[int], workers: int | None = None
          ) -> list[dict[str, Any]]:
    """Every ``("aug", L)`` and ``("nonaug", H)`` run of ``proto`` in worker processes
    (:func:`dynamics.parallel.map_processes`), the costliest first."""
    from dynamics.parallel import map_processes

    jobs = [("aug", int(L), asdict(proto)) for L in layers] + [("nonaug", int(H), asdict(proto)) for H in heads]
    cost = {"aug": 1.0, "nonaug": 1.5}
    order = sorted(range(len(jobs)), key=lambda i: -cost[jobs[i][0]] * jobs[i][1])
    out = map_processes(run_job, [jobs[i] for i in order], workers)
    back: list[dict[str, Any]] = [{} for _ in jobs]
    for i, r in zip(order, out, strict=True):
        back[i] = r
    return back
