r"""Where the trainer's batches come from, besides the full data set.

* ``batch_size`` rows of ``data`` per step (:func:`sample_batch`): minibatch SGD/Adam on a
  finite data set;
* a :data:`Sampler`, ``sampler(rng, step) -> batch``: fresh examples every step (online
  training on a generative task, where there is no finite data set to draw rows from).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["Sampler", "sample_batch"]

Sampler = Callable[[np.random.Generator, int], Any]
"""``sampler(rng, step) -> batch``: the batch for update ``step``, drawn with ``rng``."""


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
    n = leading_dim(data)
    idx = rng.choice(n, size=batch_size, replace=False)  # (batch_size,)
    return {k: np.asarray(v)[idx] for k, v in data.items()}


def leading_dim(data: Any) -> int:
    if not isinstance(data, Mapping) or not data:
        raise ValueError(
            "minibatch training needs data with a sample(rng, batch_size) method or a "
            f"non-empty dict of arrays; got {type(data).__name__}"
        )
    sizes = {k: np.shape(v)[0] if np.ndim(v) > 0 else None for k, v in data.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(f"data arrays must share a leading dimension to sample rows, got {sizes}")
    return int(next(iter(sizes.values())))  # type: ignore[arg-type]
