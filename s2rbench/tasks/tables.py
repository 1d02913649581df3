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

from .. import registry
from ..cards import files as data_mod
from ..cards.card import Filter, TableSpec, TaskCard, _where
from ..cards.files import fetch_file
from ..contracts.featurizer import PART_SEP
from ..errors import S2RBenchError
from .transform import transform_frame


@dataclass
class TaskTables:
    """The simulated and real tables in standard columns: input, target, conditions..., group."""

    sim: pd.DataFrame
    real: pd.DataFrame
    conditions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


_ORDERING = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def filter_mask(frame: pd.DataFrame, filters: tuple[Filter, ...], *, where: str) -> np.ndarray:
    """Rows where every `column op value` of the card's filters holds: plain comparisons, no expression is evaluated.

    Numbers compare as numbers (a cell that is not a number never matches an ordering); anything
    else compares as text. A missing cell matches only ``!=`` and ``not_in``.
    """
    keep = np.ones(len(frame), bool)
    for i, f in enumerate(filters):
        if f.column not in frame.columns:
            cols = ", ".join(map(str, frame.columns[:12])) + (" ..." if len(frame.columns) > 12 else "")
            raise S2RBenchError(
                f"{where}: [[filter]] #{i + 1} column {f.column!r} is not in the table (columns: {cols}); "
                "fix `column` in the card"
            )
        col = frame[f.column]
        values = list(f.value) if isinstance(f.value, tuple) else [f.value]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            data = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            present = ~np.isnan(data)
        else:
            text = col.astype("string")
            present = text.notna().to_numpy()
            data = text.fillna("").to_numpy(dtype=object)
            values = ["true" if v is True else "false" if v is False else str(v) for v in values]
            if col.dtype == bool:
                data = np.where(col.to_numpy(), "true", "false").astype(object)
        with np.errstate(invalid="ignore"):
            if f.op in _ORDERING:
                hit = present & _ORDERING[f.op](data, float(values[0]))
            elif f.op == "==":
                hit = present & (data == values[0])
            elif f.op == "!=":
                hit = ~(present & (data == values[0]))
            elif f.op == "in":
                hit = present & np.isin(data, values)
            else:  # not_in
                hit = ~(present & np.isin(data, values))
        keep &= np.asarray(hit, bool)
    return keep


def standardize(frame: pd.DataFrame, spec: TableSpec, *, where: str) -> pd.DataFrame:
    """Map a raw table to standard columns; missing columns and bad targets are one-line errors."""
    return standardize_rows(frame, spec, where=where)[0]


def standardize_rows(frame: pd.DataFrame, spec: TableSpec, *, where: str) -> tuple[pd.DataFrame, np.ndarray]:
    """`standardize`, plus the position in `frame` (0-based data row) of every row it keeps."""
    frame = frame.set_axis(pd.RangeIndex(len(frame)), axis=0)
    if spec.filters:
        frame = frame[filter_mask(frame, spec.filters, where=where)]
    needed = [*spec.input, spec.target, *spec.conditions, *([spec.group] if spec.group else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        cols = ", ".join(map(str, frame.columns[:12])) + (" ..." if len(frame.columns) > 12 else "")
        raise S2RBenchError(
            f"{where}: column(s) {missing} not in the table (columns: {cols}); fix the card's column names"
        )
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
    infinite = np.isinf(target.to_numpy(dtype=float))
    if infinite.any():
        row = int(frame.index[np.flatnonzero(infinite)[0]])
        raise S2RBenchError(
            f"{where}: target column {spec.target!r} has {int(infinite.sum())} infinite value(s) (first at row {row}: "
            f"{frame[spec.target].loc[row]!r}); a model cannot learn from them: fix or remove those rows"
        )
    y = target.to_numpy(dtype=float)
    if spec.converts:  # the card's declared unit conversion of this side: value * scale + offset
        y = y * spec.scale + spec.offset
    out = pd.DataFrame({"input": inputs.to_numpy(dtype=object), "target": y})
    for c in spec.conditions:
        vals = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(vals).all():
            bad = int((~np.isfinite(vals)).sum())
            raise S2RBenchError(
                f"{where}: condition column {c!r} has {bad} missing, infinite or non-numeric value(s); clean the table"
            )
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


def read_side(
    card: TaskCard, side: str, data_dir: str | os.PathLike | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
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
        frame = read_side(card, side, data_dir)[1]
        frame = transform_frame(frame, card.transform, where=f"{card.where} [{side}]")
        out[side] = frame.drop(columns="_row")
    return TaskTables(sim=out["sim"], real=out["real"], conditions=card.sim.conditions)


def load_tables(card: TaskCard, data_dir: str | os.PathLike | None = None) -> TaskTables:
    """Load a card's two tables with the loader it names (``tables`` unless a plugin's)."""
    if card.loader == "tables":
        tables = tables_loader(card, data_dir)
    else:
        tables = registry.get_loader(card.loader)(card, data_dir)
        if card.transform != "none":  # a plugin loader's tables get the card's transform too
            for side in ("sim", "real"):
                setattr(
                    tables, side, transform_frame(getattr(tables, side), card.transform, where=f"{card.where} [{side}]")
                )
    for side in ("sim", "real"):
        frame = getattr(tables, side)
        if len(frame) == 0:
            raise S2RBenchError(f"task {card.name!r}: the {side} table is empty; check the card")
    return tables
