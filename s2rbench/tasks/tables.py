"""A card's two tables in standard columns: input, target, conditions..., group.

The default ``tables`` loader reads the two files a card names; a plugin may register another
loader. Every problem with a table (a missing column, a non-numeric target) is one line naming the
card, the side and the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import files as data_mod
from ..errors import S2RBenchError
from ..contracts.featurizer import PART_SEP
from .card import TableSpec, TaskCard, _where
from .files import fetch_file

@dataclass
class TaskTables:
    """The simulated and real tables in standard columns: input, target, conditions..., group."""

    sim: pd.DataFrame
    real: pd.DataFrame
    conditions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def standardize(frame: pd.DataFrame, spec: TableSpec, *, where: str) -> pd.DataFrame:
    """Map a raw table to standard columns; missing columns and bad targets are one-line errors."""
    return standardize_rows(frame, spec, where=where)[0]


def standardize_rows(frame: pd.DataFrame, spec: TableSpec, *, where: str) -> tuple[pd.DataFrame, np.ndarray]:
    """`standardize`, plus the position in `frame` (0-based data row) of every row it keeps."""
    frame = frame.set_axis(pd.RangeIndex(len(frame)), axis=0)
    if spec.query:
        try:
            frame = frame.query(spec.query)
        except Exception as exc:
            raise S2RBenchError(f"{where}: query {spec.query!r} failed ({exc}); fix `query` in the card") from None
    needed = [*spec.input, spec.target, *spec.conditions, *([spec.group] if spec.group else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        cols = ", ".join(map(str, frame.columns[:12])) + (" ..." if len(frame.columns) > 12 else "")
        raise S2RBenchError(f"{where}: column(s) {missing} not in the table (columns: {cols}); fix the card's column names")
    parts = [frame[c].astype("string").str.strip() for c in spec.input]
    inputs = parts[0]
    for p in parts[1:]:
        inputs = inputs + PART_SEP + p
    target = pd.to_numeric(frame[spec.target], errors="coerce")
    non_numeric = frame[spec.target].notna() & target.isna()
    if non_numeric.any():
        row = int(np.flatnonzero(non_numeric.to_numpy())[0])
        raise S2RBenchError(
            f"{where}: target column {spec.target!r} has {int(non_numeric.sum())} non-numeric value(s) "
            f"(first at row {row}: {frame[spec.target].iloc[row]!r}); clean the table"
        )
    out = pd.DataFrame({"input": inputs.to_numpy(dtype=object), "target": target.to_numpy(dtype=float)})
    for c in spec.conditions:
        vals = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        if np.isnan(vals).any():
            raise S2RBenchError(f"{where}: condition column {c!r} has {int(np.isnan(vals).sum())} missing or non-numeric value(s); clean the table")
        out[c] = vals
    if spec.group:
        out["group"] = frame[spec.group].astype(str).to_numpy()
    missing_input = out["input"].isna()
    nan_target = np.isnan(out["target"].to_numpy())
    if nan_target.any() and not spec.drop_missing_target:
        raise S2RBenchError(
            f"{where}: target column {spec.target!r} has {int(nan_target.sum())} missing value(s); "
            "set drop_missing_target = true in the card to drop those rows, or fill them"
        )
    kept = ~nan_target & ~missing_input.to_numpy()
    out = out[kept].reset_index(drop=True)
    if out.empty:
        raise S2RBenchError(f"{where}: no rows left with a target in column {spec.target!r}; check the card's columns")
    return out, frame.index.to_numpy()[kept]


def read_side(card: TaskCard, side: str, data_dir: str | os.PathLike | None = None) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """One side of a `tables` card: (raw table, standardized table with a `_row` column of raw positions, file)."""
    spec: TableSpec = getattr(card, side)
    path = fetch_file(card, spec.file, data_dir)
    where = f"{_where(card.path, card.name)} [{side}] ({path.name})"
    raw = data_mod.read_table(path, what=where)
    frame, rows = standardize_rows(raw, spec, where=where)
    return raw, frame.assign(_row=rows), path


def tables_loader(card: TaskCard, data_dir: str | os.PathLike | None = None) -> TaskTables:
    """The default loader: read the two files a card names and map their columns."""
    out = {}
    for side in ("sim", "real"):
        out[side] = read_side(card, side, data_dir)[1].drop(columns="_row")
    return TaskTables(sim=out["sim"], real=out["real"], conditions=card.sim.conditions)


def load_tables(card: TaskCard, data_dir: str | os.PathLike | None = None) -> TaskTables:
    """Load a card's two tables with the loader it names (``tables`` unless a plugin's)."""
    if card.loader == "tables":
        tables = tables_loader(card, data_dir)
    else:
        from ..plugins import get_loader

        tables = get_loader(card.loader)(card, data_dir)
    for side in ("sim", "real"):
        frame = getattr(tables, side)
        if len(frame) == 0:
            raise S2RBenchError(f"task {card.name!r}: the {side} table is empty; check the card")
    return tables
