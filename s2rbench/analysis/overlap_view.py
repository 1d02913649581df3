"""MAE and gain on in-pool / out-of-pool test rows, where the run stored them (one small seam).

A test row is *in pool* when its canonical input also occurs in the trial's pretraining set (the
`synth` helper's columns ``mae_in_pool`` / ``mae_out_pool`` in `results.sqlite`, computed by
`s2rbench.overlap`). Where that module or those columns are absent (an older store, a branch without
it) this returns None and the reports say nothing, so `fit` and the report work either way.
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

POOL_COLUMNS = ("mae_in_pool", "mae_out_pool")


def pool_split(rows: pd.DataFrame, m: int | None = None, n_boot: int = 1000) -> Any:
    """The table of `s2rbench.overlap.overlap_summary(rows)` (one row per n) when the rows carry the
    columns, else None."""
    if rows is None or not set(POOL_COLUMNS) <= set(rows.columns) or rows[list(POOL_COLUMNS)].isna().all().all():
        return None
    try:
        overlap = importlib.import_module("s2rbench.overlap")
    except ImportError:
        return None
    return overlap.overlap_table(overlap.overlap_summary(rows, m=m, n_boot=n_boot)) or None


def run_overlap(run_dir: Any, *, m: int | None = None, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """`s2rbench.overlap.overlap_summary` of a run directory's stored rows (at the run's m unless given)."""
    from ..overlap import overlap_summary
    from ..sweep.store import Store

    with Store(run_dir, create=False) as store:
        config = store.get_meta("config") or {}
        rows = store.results()
    if m is None:
        m = (config.get("protocol") or {}).get("m")
    return overlap_summary(rows, m=int(m) if m else None, n_boot=n_boot, seed=seed)
