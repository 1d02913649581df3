"""A card's target transform (``[target] transform = "none" | "log10" | "log"``).

A property that spans decades (conductivities, viscosities, lifetimes) lets a few extreme rows
dominate an MAE: on a four-decade pair one row added about half of a trial's error. With a declared
transform both tables' targets are transformed when they are loaded, so models train, and laws are
fitted, in the transformed space; each trial also stores ``mae_original``, the MAE of the
back-transformed predictions in the card's original units, so a reader never has to undo a log by
hand. Non-positive values cannot be log-transformed and are refused in one line naming the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError

TRANSFORMS = ("none", "log10", "log")


def forward(y: np.ndarray, how: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if how == "log10":
        return np.log10(y)
    if how == "log":
        return np.log(y)
    return y


def inverse(y: np.ndarray, how: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    with np.errstate(over="ignore"):
        if how == "log10":
            return np.power(10.0, y)
        if how == "log":
            return np.exp(y)
    return y


def transform_frame(frame: pd.DataFrame, how: str, *, where: str) -> pd.DataFrame:
    """`frame` with its target transformed; non-positive targets are one error naming the first rows."""
    if how == "none":
        return frame
    y = frame["target"].to_numpy(dtype=float)
    bad = np.flatnonzero(~(y > 0))
    if len(bad):
        rows = frame["_row"].to_numpy()[bad] if "_row" in frame else bad
        shown = ", ".join(f"row {int(r)} ({y[i]:g})" for r, i in zip(rows[:5], bad[:5]))
        raise S2RBenchError(
            f"{where}: [target] transform = {how!r} needs positive targets, but {len(bad)} are zero or negative "
            f'({shown}{", ..." if len(bad) > 5 else ""}); remove those rows (a [[filter]] with op = ">", value = 0) '
            'or set transform = "none"'
        )
    return frame.assign(target=forward(y, how))


def original_metrics(transform: str, pred: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Per-trial metrics in the card's original units (``mae_original``; None when no transform is declared).

    `pred` and `y` are in the transformed space; both are transformed back before the error is taken.
    """
    if transform in (None, "", "none"):
        return {"mae_original": None}
    err = inverse(pred, transform) - inverse(y, transform)
    mae = float(np.mean(np.abs(err)))
    return {"mae_original": mae if np.isfinite(mae) else None}
