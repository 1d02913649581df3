"""Back-testing a law: fit it on the smaller sizes, predict the held-out larger ones, with intervals.

This is the honest test of a scaling law, because it is the extrapolation the law is used for; an
in-sample R² is not (with 4-7 points a flexible family always fits). `prediction_interval` is the
one rule every backtest (1-D curve, surface, every law family) uses for its intervals: replicate b
refits the law on the trials of resample b *and* takes the held-out means of the same resample, so
the bootstrap distribution of ``(observed_b - predicted_b) - (observed - predicted)`` carries the
uncertainty of the extrapolated curve, the sampling noise of the observed mean and their
correlation through shared trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError
from .common import _boot_counts, _check_boot_args, _mae_array, _means, _sizes
from .curve import PowerLawFit, _fit_curve
from .formula import curve_mae
from .jsonable import jsonable as _jsonable

__all__ = ["Backtest", "backtest", "default_fit_count", "holdout_count", "prediction_interval"]


def prediction_interval(
    obs: np.ndarray, pred: np.ndarray, obs_boot: np.ndarray, pred_boot: np.ndarray, ci: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap prediction interval (lo, hi) for each held-out observed mean; NaN where no replicate is finite."""
    dd = (obs_boot - pred_boot) - (obs - pred)[None, :]
    dd = np.where(np.isfinite(dd), dd, np.nan)
    ok = np.isfinite(dd).any(axis=0)
    lo = np.full(len(obs), np.nan)
    hi = np.full(len(obs), np.nan)
    if ok.any():
        lo[ok] = pred[ok] + np.nanpercentile(dd[:, ok], 50.0 * (1.0 - ci), axis=0)
        hi[ok] = pred[ok] + np.nanpercentile(dd[:, ok], 50.0 * (1.0 + ci), axis=0)
    return lo, hi


def default_fit_count(K: int) -> int:
    """Sizes a backtest fits on by default: half the grid when that leaves the law its 3 points
    (K >= 6), else the 3 smallest (a quick grid of 4 sizes predicts its largest)."""
    return round(0.5 * K) if K >= 6 else 3


def holdout_count(K: int, holdout: Any = None, split: Any = None) -> int:
    """How many of K sizes a backtest fits on: K - ``holdout`` (the largest sizes held out), or
    round(split * K) with the deprecated ``split``, or `default_fit_count`; -1 for a bad value."""
    if split is not None:
        try:
            sp = float(split)
        except (TypeError, ValueError):
            sp = math.nan
        return round(sp * K) if 0.0 < sp < 1.0 else -1
    if holdout is None:
        return default_fit_count(K)
    if isinstance(holdout, bool) or not isinstance(holdout, (int, np.integer)) or holdout < 1:
        return -1
    return K - int(holdout)


@dataclass(frozen=True, eq=False)
class Backtest:
    """A law fitted on the smaller sizes, checked against the larger ones.

    ``table`` has one row per held-out size: ``n``, ``observed`` (mean MAE), ``predicted``,
    ``pi_lo``/``pi_hi`` (bootstrap prediction interval for the observed mean), ``rel_error``
    ((predicted - observed) / observed), ``covered`` (observed inside the interval; NA without a
    bootstrap) and ``extrapolation`` (n over the largest fitted size). ``fit`` is the law fitted on
    the smaller sizes.
    """

    fit: PowerLawFit
    table: pd.DataFrame
    split: float

    @property
    def mean_abs_rel_error(self) -> float:
        return float(np.mean(np.abs(self.table["rel_error"].to_numpy(dtype=float))))

    @property
    def max_abs_rel_error(self) -> float:
        return float(np.max(np.abs(self.table["rel_error"].to_numpy(dtype=float))))

    @property
    def coverage(self) -> float:
        """Fraction of held-out sizes whose observed mean lies in the interval (NaN without a bootstrap)."""
        c = self.table["covered"]
        return float(c.astype("float").mean()) if c.notna().all() else math.nan

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "split": self.split,
                "fit": self.fit.to_dict(),
                "mean_abs_rel_error": self.mean_abs_rel_error,
                "max_abs_rel_error": self.max_abs_rel_error,
                "coverage": self.coverage,
                "table": {c: [None if v is pd.NA else v for v in self.table[c].tolist()] for c in self.table.columns},
            }
        )


def backtest(
    n: Any,
    mae: Any,
    split: float = 0.5,
    *,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int | None = 0,
    with_offset: bool = True,
    space: str = "log",
) -> Backtest:
    """Fit ``E(n)`` on the smallest ``split`` fraction of the sizes and predict the rest.

    This is the honest test of a scaling law: it is the extrapolation the law is used for. The
    prediction interval for each held-out observed mean comes from the same trial resamples that
    refit the law, using the bootstrap distribution of ``(observed_b - predicted_b) - (observed -
    predicted)``; it therefore includes both the uncertainty of the extrapolated curve and the
    sampling noise of the observed mean, and their correlation through shared trials. ``covered``
    is then the test "the discrepancy is consistent with zero at level ci".

    The number of fitted sizes is ``round(split * K)`` of the K sizes with data; it must leave at
    least 3 sizes to fit and 1 to predict.
    """
    fname = "backtest"
    n_boot, ci = _check_boot_args(n_boot, ci, fname)
    xs = _sizes(n, "n", fname)
    Y = _mae_array(mae, (len(xs),), fname)
    order = np.argsort(xs)
    xs, Y = xs[order], Y[:, order]
    has = ~np.all(np.isnan(Y), axis=0)
    xs, Y = xs[has], Y[:, has]
    try:
        sp = float(split)
    except (TypeError, ValueError):
        sp = math.nan
    K = len(xs)
    k = round(sp * K) if 0.0 < sp < 1.0 else -1
    if k < 3 or k > K - 1:
        raise S2RBenchError(
            f"{fname}: split={split!r} of {K} sizes leaves {max(k, 0)} to fit and {K - max(k, 0)} to predict; "
            "need >= 3 and >= 1 (use a split in (0, 1) and measure more sizes)"
        )
    counts = _boot_counts(Y.shape[0], n_boot, seed)
    fit = _fit_curve(
        xs[:k],
        Y[:, :k],
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        with_offset=with_offset,
        space=space,
        fname=fname,
        xname="n",
        counts=counts,
    )
    xt, Yt = xs[k:], Y[:, k:]
    obs = np.nanmean(Yt, axis=0)
    pred = fit.predict(xt)
    if counts is not None and len(fit.boot):
        with np.errstate(invalid="ignore", over="ignore"):
            pb = curve_mae(fit.boot, xt[None, :])
        lo, hi = prediction_interval(obs, pred, _means(counts, Yt), pb, ci)
        covered = pd.array((obs >= lo) & (obs <= hi), dtype="boolean")
    else:
        lo = hi = np.full(len(xt), np.nan)
        covered = pd.array([pd.NA] * len(xt), dtype="boolean")
    table = pd.DataFrame(
        {
            "n": xt,
            "observed": obs,
            "predicted": pred,
            "pi_lo": lo,
            "pi_hi": hi,
            "rel_error": (pred - obs) / obs,
            "covered": covered,
            "extrapolation": xt / xs[k - 1],
        }
    )
    return Backtest(fit=fit, table=table, split=sp)
