"""The RowSum tables of a model: their fixed order (slots) and their packing into one array.

Generated code reads table ``k`` as the rows ``data[bounds[k]:bounds[k+1]]`` of one array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dynamics.model import ReducedModel, RowSum


def _row_slots(model: ReducedModel) -> list[RowSum]:
    """Every distinct RowSum (by identity) in loss and observables, in a fixed order."""
    slots: list[RowSum] = []
    seen: set[int] = set()
    for e in model.observables.values():
        for r in e.rows:
            if id(r) not in seen:
                seen.add(id(r))
                slots.append(r)
    return slots


def _pack_tables(slots: Sequence[RowSum]) -> tuple[np.ndarray, np.ndarray]:
    kmax = max([len(r.row_symbols) for r in slots] + [1])
    total = sum(r.n_rows for r in slots)
    data = np.zeros((max(total, 1), kmax))
    bounds = np.zeros(len(slots) + 1, dtype=np.int64)
    pos = 0
    for k, r in enumerate(slots):
        data[pos : pos + r.n_rows, : r.table.shape[1]] = r.table
        pos += r.n_rows
        bounds[k + 1] = pos
    return data, bounds
