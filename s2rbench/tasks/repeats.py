"""Repeated inputs: several rows of one table for one canonical input.

Simulated tables repeat inputs (polymorphs of one composition, several force fields); a card says
how they are combined, for `task check`'s comparisons and for pretraining alike, with ``[sim]
aggregate = "keep" | "mean" | "median" | "min" | "max"`` (default keep: every row is a pretraining
row). For formation enthalpies the physically right value is the minimum (the ground state): the
mean of one composition's four entries from −1.78 to +1.43 eV/atom is an outlier no experiment
shows.

Repeated *real* inputs (22 measurements of one oxide) must never straddle the train/test split: a
copy in training makes its twin in the test split easy, and a spurious law appears (every real row
duplicated: scratch MAE fell fourfold, R² 0.95). When a card does not declare a group split, rows
sharing a canonical real input form one group (`repeat_groups`); a table without repeats keeps its
row-wise random split, so only tasks with repeated real inputs see a different split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

AGGREGATES = ("keep", "mean", "median", "min", "max")
_REDUCE = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max}


def repeat_keys(canon: Sequence[Any], conditions: np.ndarray | None = None) -> list[Any]:
    """One key per row: its canonical input, with the row's conditions when the task has any."""
    if conditions is None or conditions.size == 0:
        return list(canon)
    cond = np.round(np.asarray(conditions, dtype=float), 6)
    return [(c, *map(float, row)) for c, row in zip(canon, cond)]


def repeat_counts(keys: Sequence[Any]) -> dict[str, int]:
    """How many keys occur more than once, and how many rows they hold."""
    counts = Counter(keys)
    rep = {k: v for k, v in counts.items() if v > 1}
    return {
        "repeated_inputs": len(rep),
        "rows_of_repeated_inputs": int(sum(rep.values())),
        "max_copies": int(max(rep.values(), default=1)),
    }


def aggregate_index(keys: Sequence[Any], y: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows to keep, their targets): with ``keep`` every row; otherwise the first row of each key,
    carrying the key's aggregated target. Row order is that of first occurrence (deterministic)."""
    y = np.asarray(y, dtype=float)
    if how == "keep":
        return np.arange(len(y)), y
    first: dict[Any, int] = {}
    members: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
        members.setdefault(k, []).append(i)
    idx = np.array(sorted(first.values()), dtype=np.int64)
    reduce = _REDUCE[how]
    vals = np.array([float(reduce(y[members[keys[i]]])) for i in idx], dtype=float)
    return idx, vals


def repeat_groups(canon: Sequence[Any], frame: Any = None, conditions: Sequence[str] = ()) -> np.ndarray | None:
    """Split groups for a random split: rows sharing a canonical input (and, for a task with condition
    columns, the same conditions: one measurement repeated) form one group; None when nothing repeats,
    so the row-wise random split is exactly what it was.

    A task with conditions keeps its documented row-wise split across conditions (chi: one pair at
    several temperatures is several data points; `--split group` holds out whole polymers)."""
    cond = frame[list(conditions)].to_numpy(dtype=float) if conditions and frame is not None else None
    keys = repeat_keys([str(c) for c in canon], cond)
    if len(set(keys)) == len(keys):
        return None
    labels = {k: f"{i}" for i, k in enumerate(dict.fromkeys(keys))}
    return np.asarray([labels[k] for k in keys], dtype=str)


def aggregate_side(side: dict[str, Any], how: str, conditions: Sequence[str]) -> dict[str, Any]:
    """A prepared side (X, y, frame, canon) with repeated inputs combined as the card declares
    (``keep``: unchanged). Rows are keyed by canonical input and conditions; a key keeps its first row's
    features and carries the aggregated target."""
    if how == "keep":
        return side
    frame = side["frame"]
    cond = frame[list(conditions)].to_numpy(dtype=float) if conditions else None
    keys = repeat_keys(side["canon"], cond)
    idx, y = aggregate_index(keys, np.asarray(side["y"], dtype=float), how)
    out_frame = frame.iloc[idx].reset_index(drop=True).assign(target=y)
    return {
        **side,
        "X": side["X"][idx],
        "y": y.astype(side["y"].dtype),
        "frame": out_frame,
        "canon": [side["canon"][i] for i in idx],
    }
