"""A run directory, read once: the stored rows arranged for fitting, and the fits made from them.

Every analysis of a run (the summary at one m, the surface laws, a plan, an equivalence, a backtest,
the report's figures) starts from one `RunData`, so a report opens the store once and fits each law
once: `RunData.cached(key, make)` keeps what was computed from these rows (e.g. the surface report
for one bootstrap setting) for the next question asked of the same object.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError
from ..sweep.store import Store


def check_positive(value: Any, name: str, *, allow_inf: bool = False, what: str = "") -> float:
    """A finite number > 0 (inf too with ``allow_inf``), else a one-line `S2RBenchError` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        hint = f"; {what}" if what else ""
        raise S2RBenchError(f"{name} must be a finite number > 0 (got {value!r}){hint}")
    return v


def extrapolation(value: float, lo: float, hi: float) -> dict[str, Any]:
    """Where ``value`` lies relative to the measured range [lo, hi]: factor >= 1 and direction.

    ``factor`` is value / hi above the range, lo / value below it, and 1 inside; ``direction`` is
    "above", "below" or None. An infinite value has an infinite factor.
    """
    v = float(value)
    if not math.isfinite(v):
        return {"value": v, "measured": [lo, hi], "factor": math.inf, "direction": "above" if v > 0 else None}
    if v > hi * (1 + 1e-9):
        return {"value": v, "measured": [lo, hi], "factor": v / hi, "direction": "above"}
    if v < lo * (1 - 1e-9):
        return {"value": v, "measured": [lo, hi], "factor": lo / v if v > 0 else math.inf, "direction": "below"}
    return {"value": v, "measured": [lo, hi], "factor": 1.0, "direction": None}


# --------------------------------------------------------------------------------------------------
# Reading a run directory
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RunData:
    """The stored rows of a run, arranged for fitting.

    ``n`` (sorted, > 0) and ``m`` (sorted) are the sizes that have transfer rows; ``trials`` the trial
    ids present anywhere. ``transfer`` has shape (trials, len(n), len(m)) and ``scratch`` (trials,
    len(m)), NaN where a cell is missing. ``m_default`` is the run's m (the protocol's ``m``).
    ``missing`` counts the (n, m, trial) cells of the protocol that are not stored.
    """

    run_dir: Path
    config: dict[str, Any]
    rows: pd.DataFrame
    n: np.ndarray
    m: np.ndarray
    trials: np.ndarray
    transfer: np.ndarray
    scratch: np.ndarray
    m_default: int
    missing: int
    expected: int
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key: Any, make: Any) -> Any:
        """``make()`` once per ``key`` for these rows (fits are pure functions of the rows and the key)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def is_surface(self) -> bool:
        return len(self.m) > 1

    @property
    def unit(self) -> str:
        return str((self.config.get("target") or {}).get("unit", "") or "")

    def curve(self, m: float) -> np.ndarray:
        """(trials, len(n)) transfer MAEs at one measured m."""
        j = int(np.flatnonzero(self.m == m)[0])
        return self.transfer[:, :, j]

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "run_dir": str(self.run_dir),
            "task": c.get("task"),
            "model": c.get("model"),
            "featurizer": c.get("featurizer"),
            "unit": self.unit,
            "n_grid": self.n,
            "m_grid": self.m,
            "trials": len(self.trials),
            "m_default": self.m_default,
            "complete": self.missing == 0,
            "missing_cells": self.missing,
        }


def load_run(run_dir: str | Path, *, allow_incomplete: bool = False) -> RunData:
    """Read RUN_DIR's rows; refuse an incomplete run (fewer rows than the protocol's grid x trials).

    The protocol stored in the run's config names the n grid, the m grid and the trial count; a
    (n, m, trial) cell of that grid (n = 0, the scratch baseline, included) without a row means the
    run is still in progress or was interrupted, and any fit of it would silently use a different
    design than the one configured. ``allow_incomplete`` fits what is there instead.
    """
    run_dir = Path(run_dir)
    with Store(run_dir, create=False) as store:
        config = store.get_meta("config") or {}
        rows = store.results()
    if rows.empty:
        raise S2RBenchError(f"RUN_DIR {run_dir} holds no results yet; run `s2rbench run` first")
    proto = config.get("protocol") or {}
    expected = 0
    missing = 0
    if proto.get("sizes") and proto.get("trials"):
        m_grid = [int(v) for v in (proto.get("m_grid") or [proto.get("m")]) if v is not None]
        want = {
            (int(n), int(m), int(t)) for n in [0, *proto["sizes"]] for m in m_grid for t in range(int(proto["trials"]))
        }
        have = set(zip(rows["n"].astype(int), rows["m"].astype(int), rows["trial"].astype(int)))
        expected = len(want)
        missing = len(want - have)
        if missing and not allow_incomplete:
            raise S2RBenchError(
                f"RUN_DIR {run_dir} is incomplete: {missing} of {expected} (n, m, trial) cells of its protocol are missing "
                "(the run is still in progress or was interrupted); let `s2rbench run` finish it (re-running the same "
                "command resumes it), or pass --allow-incomplete to fit what is stored"
            )
    tr = rows[rows["n"] > 0]
    if tr.empty:
        raise S2RBenchError(f"RUN_DIR {run_dir} holds only scratch rows (n = 0); run the sweep over n first")
    ns = np.array(sorted(tr["n"].unique()), dtype=float)
    ms = np.array(sorted(tr["m"].unique()), dtype=float)
    trials = np.array(sorted(rows["trial"].unique()))
    cube = np.full((len(trials), len(ns), len(ms)), np.nan)
    ti = {t: i for i, t in enumerate(trials)}
    ni = {n: i for i, n in enumerate(ns)}
    mi = {m: i for i, m in enumerate(ms)}
    agg = tr.groupby(["trial", "n", "m"])["mae"].mean()
    for (t, n, m), v in agg.items():
        cube[ti[t], ni[float(n)], mi[float(m)]] = v
    scr = np.full((len(trials), len(ms)), np.nan)
    s_rows = rows[(rows["n"] == 0) & rows["m"].isin(ms)]
    for (t, m), v in s_rows.groupby(["trial", "m"])["mae"].mean().items():
        scr[ti[t], mi[float(m)]] = v
    m_default = int(proto.get("m") or ms.max())
    if m_default not in set(ms.astype(int)):
        m_default = int(ms.max())
    return RunData(
        run_dir=run_dir,
        config=config,
        rows=rows,
        n=ns,
        m=ms,
        trials=trials,
        transfer=cube,
        scratch=scr,
        m_default=m_default,
        missing=missing,
        expected=expected,
    )


def _require_surface(data: RunData, question: str, arg: str = "RUN_DIR") -> None:
    if not data.is_surface:
        raise S2RBenchError(
            f"{arg} {data.run_dir} was measured at one m ({int(data.m[0])}), but {question} needs the (n, m) surface "
            "(several m values); rerun it with `s2rbench run TASK --surface` (or --m-grid)"
        )


def _check_m_in_grid(data: RunData, m: Any, arg: str = "--m") -> int:
    mv = check_positive(m, arg)
    if mv not in set(data.m.tolist()):
        grid = ", ".join(str(int(v)) for v in data.m)
        raise S2RBenchError(f"{arg} {m!r} is not a measured m of RUN_DIR (m grid: {grid}); pick one of them")
    return int(mv)


# --------------------------------------------------------------------------------------------------
# Does a law fit at all?
# --------------------------------------------------------------------------------------------------


def _sem(Y: np.ndarray) -> np.ndarray:
    """Standard error of the trial mean along axis 0 (NaN with < 2 trials)."""
    cnt = np.sum(np.isfinite(Y), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells with < 2 trials: NaN, handled below
        sd = np.nanstd(Y, axis=0, ddof=1) if Y.shape[0] > 1 else np.full(Y.shape[1:], np.nan)
        return np.where(cnt > 1, sd / np.sqrt(np.maximum(cnt, 1)), np.nan)
