"""Direct training of small numpy models with hand-written backward passes.

* :mod:`~dynamics.direct.layers`: ``Linear``, ``SoftmaxAttention`` and the losses
  ``logistic_loss``, ``cross_entropy``, ``mse``, each with its backward pass.
* :mod:`~dynamics.direct.gradcheck`: ``check_grad`` / ``assert_grad_ok`` against central
  finite differences.
* :mod:`~dynamics.direct.train`: ``train``, the one training loop (GD, SGD, Adam, AdamW;
  gradient clipping; full data, minibatches or a fresh-sample ``sampler``; per-group
  schedules in flow time; early stopping), returning a :class:`~dynamics.Trajectory`.
* :mod:`~dynamics.direct.protocol`: the ``DirectModel`` contract and its checks.
* :mod:`~dynamics.direct.batches`: ``sample_batch`` and the ``Sampler`` type.
* :mod:`~dynamics.direct.optimizers`: the update rules and ``clip_by_global_norm``.
* :mod:`~dynamics.direct.record`: ``record_steps``, the ``Callback`` protocol and the
  ``Snapshots`` callback (parameter copies at the recorded steps).
* :mod:`~dynamics.direct.timeaxis`: the clock of a run (``train(..., time=...)``).
"""

from dynamics.direct.gradcheck import GradCheckResult, assert_grad_ok, check_grad
from dynamics.direct.layers import Linear, SoftmaxAttention, cross_entropy, logistic_loss, mse
from dynamics.direct.optimizers import clip_by_global_norm, global_norm
from dynamics.direct.record import Callback, Snapshots, record_steps
from dynamics.direct.train import DirectModel, Sampler, sample_batch, train

__all__ = [
    "Callback",
    "DirectModel",
    "GradCheckResult",
    "Linear",
    "Sampler",
    "Snapshots",
    "SoftmaxAttention",
    "assert_grad_ok",
    "check_grad",
    "clip_by_global_norm",
    "cross_entropy",
    "global_norm",
    "logistic_loss",
    "mse",
    "record_steps",
    "sample_batch",
    "train",
]
