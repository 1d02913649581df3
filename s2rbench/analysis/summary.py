"""From stored rows to the numbers a user reads: the per-n curve, the scratch baseline, the fitted law.

Everything here is recomputed from the raw per-trial rows of a run directory, so a fit can always be
redone (with another bootstrap size or seed) from what the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError
from ..sweep.store import Store
from .lawcheck import law_verdict


@dataclass
class Summary:
    config: dict[str, Any]
    curve: pd.DataFrame  # n, mean, std, sem, trials
    scratch_mae: float | None
    scratch_std: float | None
    m: int
    fit: Any = None
    fit_error: str | None = None
    matrix: np.ndarray | None = None  # trials x n of MAE
    notes: list[str] = field(default_factory=list)
    n_boot: int = 1000
    seed: int = 0
    rows: pd.DataFrame | None = field(default=None, repr=False)
    _families: Any = field(default=None, repr=False)

    @property
    def families(self) -> Any:
        """`FamilyBacktest` of the law families on this curve (None with fewer than 4 sizes): fit on
        the smaller sizes, predict the held-out largest; computed on first use."""
        if self._families is None:
            if self.matrix is None or self.matrix.shape[1] < 4:
                self._families = False
            else:
                from ..laws.families import backtest_families

                with np.errstate(all="ignore"):
                    self._families = backtest_families(
                        self.curve["n"].to_numpy(dtype=float), self.matrix, n_boot=self.n_boot, seed=self.seed
                    )
        return self._families or None

    @property
    def family_fit(self) -> Any:
        """The family the backtest chose, fitted on every size (`FamilyFit`); None when none extrapolates."""
        bt = self.families
        if bt is None or bt.chosen is None:
            return None
        from ..laws.families import _from_power, fit_family

        if bt.chosen == "power" and self.fit is not None:
            return _from_power(self.fit)
        with np.errstate(all="ignore"):
            return fit_family(
                bt.chosen, self.curve["n"].to_numpy(dtype=float), self.matrix, n_boot=self.n_boot, seed=self.seed
            )

    def families_dict(self) -> dict[str, Any] | None:
        """Per family its backtest error and whether it passed; the chosen family with its parameters."""
        bt = self.families
        if bt is None:
            return None
        ff = self.family_fit
        v = law_verdict(ff.to_dict()) if ff is not None else None
        return {
            **bt.to_dict(),
            "chosen_fit": ff.to_dict() if ff is not None else None,
            "chosen_law": None if v is None else {"holds": v.holds, "reason": v.reason},
        }

    @property
    def largest_n(self) -> int | None:
        return int(self.curve["n"].max()) if len(self.curve) else None

    @property
    def mae_at_largest_n(self) -> float | None:
        return float(self.curve["mean"].iloc[-1]) if len(self.curve) else None

    @property
    def gain(self) -> float | None:
        """Relative error reduction of transfer at the largest n over the scratch baseline."""
        if self.scratch_mae is None or self.mae_at_largest_n is None:
            return None
        return 1.0 - self.mae_at_largest_n / self.scratch_mae

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.config.get("task"),
            "model": self.config.get("model"),
            "featurizer": self.config.get("featurizer"),
            "m": self.m,
            "curve": self.curve.to_dict(orient="list"),
            "scratch_mae": self.scratch_mae,
            "scratch_std": self.scratch_std,
            "mae_at_largest_n": self.mae_at_largest_n,
            "largest_n": self.largest_n,
            "gain_over_scratch": self.gain,
            "fit": self.fit.to_dict() if self.fit is not None else None,
            "fit_error": self.fit_error,
            "law": {"holds": law_verdict(self.fit).holds, "reason": law_verdict(self.fit).reason}
            if self.fit is not None
            else None,
            "families": self.families_dict(),
            "target_space": target_space(self.config),
            "notes": self.notes,
        }


def trial_matrix(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(sizes, trials x sizes MAE matrix, NaN where a cell is missing) from result rows."""
    piv = rows.pivot_table(index="trial", columns="n", values="mae", aggfunc="mean").sort_index(axis=1)
    return piv.columns.to_numpy(dtype=float), piv.to_numpy(dtype=float)


def summarize_rows(
    rows: pd.DataFrame, config: dict[str, Any], *, m: int | None = None, n_boot: int = 1000, seed: int = 0
) -> Summary:
    from ..laws import fit_power_law

    if rows.empty:
        raise S2RBenchError("the run holds no results yet; run `s2rbench run` first")
    if m is None:
        m = int((config.get("protocol") or {}).get("m") or rows["m"].max())
    rows = rows[rows["m"] == m]
    if rows.empty:
        raise S2RBenchError(f"the run holds no results at m={m}; available m: {sorted(set(rows['m']))}")
    scratch = rows[rows["n"] == 0]["mae"]
    curve_rows = rows[rows["n"] > 0]
    curve = (
        curve_rows.groupby("n")["mae"].agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "trials"})
    )
    curve["sem"] = curve["std"] / np.sqrt(curve["trials"].clip(lower=1))
    summary = Summary(
        config=config,
        n_boot=n_boot,
        seed=seed,
        rows=rows,
        curve=curve,
        scratch_mae=float(scratch.mean()) if len(scratch) else None,
        scratch_std=float(scratch.std()) if len(scratch) > 1 else None,
        m=m,
    )
    if len(curve) >= 3:
        n, mat = trial_matrix(curve_rows)
        summary.matrix = mat
        try:
            summary.fit = fit_power_law(n, mat, n_boot=n_boot, seed=seed)
        except S2RBenchError as exc:
            summary.fit_error = str(exc)
    else:
        summary.fit_error = f"only {len(curve)} pretraining size(s) stored; the law needs at least 3"
    return summary


def summarize(run_dir: Any, *, m: int | None = None, n_boot: int = 1000, seed: int = 0) -> Summary:
    """The summary at one m of a run directory, or of a `RunData` already loaded (the store is then not reopened)."""
    from .rundata import RunData

    if isinstance(run_dir, RunData):
        return run_dir.cached(
            ("summary", m, n_boot, seed),
            lambda: summarize_rows(run_dir.rows, run_dir.config, m=m, n_boot=n_boot, seed=seed),
        )
    with Store(run_dir, create=False) as store:
        config = store.get_meta("config") or {}
        rows = store.results()
    return summarize_rows(rows, config, m=m, n_boot=n_boot, seed=seed)


def target_space(config: dict[str, Any]) -> str | None:
    """ "log10(target)" / "log(target)" when the card declares a target transform (the law is then
    fitted on the transformed MAE), else None. The card key is `[target] transform` (none|log10|log)."""
    t = str(((config.get("target") or {}).get("transform")) or "none").lower()
    return None if t in ("none", "") else f"{t}({(config.get('target') or {}).get('name') or 'target'})"
