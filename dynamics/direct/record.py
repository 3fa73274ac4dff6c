r"""When the trainer records, and what a caller can collect at those steps.

:func:`record_steps` turns a ``record=`` request into the iteration counts at which
:func:`dynamics.direct.train` records the state; at each of them the trainer also calls every
callback in ``callbacks=`` as ``callback(step, params, info)``. :class:`Snapshots` is the
callback that keeps parameter copies, so a caller needs no loop of its own to get them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from dynamics.validate import int_at_least

__all__ = ["Callback", "Snapshots", "record_steps"]


class Callback(Protocol):
    r"""What the trainer calls at every recorded step.

    Contract:

    1. It is called as ``callback(step, params, info)`` at every recorded step, in order,
       after that step's record and before that step's update (so ``params`` are the
       parameters after ``step`` updates).
    2. ``params`` is the trainer's live parameter dict: read it, copy what you keep, never
       modify it.
    3. ``info`` is a dict with ``"t"`` (flow time $\eta\cdot$ step), ``"loss"`` (the
       recorded loss), ``"batch_loss"`` (the loss of the batch whose gradient drives this
       step's update; equal to ``"loss"`` for full-batch training; NaN if no batch was drawn)
       and ``"grad_norm"`` (the global norm of that gradient before clipping; NaN if none).
    4. Its return value is ignored; an exception stops training and propagates.
    """

    def __call__(self, step: int, params: dict[str, np.ndarray], info: dict[str, Any]) -> None: ...


class Snapshots:
    """A callback that keeps a copy of the parameters at every recorded step.

    Pass it in ``callbacks=[snaps]`` and choose the steps with ``record=``; after training,
    ``snaps.steps`` holds the steps and ``snaps.params`` the copies (the parameters after
    that many updates). Iterating gives ``(step, params)`` pairs in step order.

    Examples
    --------
    >>> snaps = Snapshots()
    >>> snaps(0, {"w": np.zeros(2)}, {})
    >>> [(k, p["w"].tolist()) for k, p in snaps]
    [(0, [0.0, 0.0])]
    """

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.params: list[dict[str, np.ndarray]] = []

    def __call__(self, step: int, params: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        self.steps.append(int(step))
        self.params.append({k: np.array(v, copy=True) for k, v in params.items()})

    def __iter__(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        return iter(zip(self.steps, self.params, strict=True))

    def __len__(self) -> int:
        return len(self.steps)


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
        n_record = int_at_least("n_record", n_record, 2)
        if steps == 0:
            return np.zeros(1, dtype=int)
        logs = np.rint(np.geomspace(1, steps, n_record - 1)).astype(int)
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
