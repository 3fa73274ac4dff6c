"""Direct training of small numpy models with hand-written backward passes.

* :mod:`~dynamics.direct.layers`: ``Linear``, ``SoftmaxAttention`` and the losses
  ``logistic_loss``, ``cross_entropy``, ``mse``, each with its backward pass.
* :mod:`~dynamics.direct.gradcheck`: ``check_grad`` / ``assert_grad_ok`` against central
  finite differences.
* :mod:`~dynamics.direct.train`: the ``DirectModel`` protocol and ``train`` (GD, SGD,
  Adam; per-group schedules in flow time), returning a :class:`~dynamics.Trajectory`.
"""

from dynamics.direct.gradcheck import GradCheckResult, assert_grad_ok, check_grad
from dynamics.direct.layers import Linear, SoftmaxAttention, cross_entropy, logistic_loss, mse
from dynamics.direct.train import DirectModel, record_steps, sample_batch, train

__all__ = [
    "DirectModel",
    "GradCheckResult",
    "Linear",
    "SoftmaxAttention",
    "assert_grad_ok",
    "check_grad",
    "cross_entropy",
    "logistic_loss",
    "mse",
    "record_steps",
    "sample_batch",
    "train",
]
