"""Input validation and the trial bootstrap shared by every law family.

Intervals are bootstrap percentile intervals over *trials*, the unit that is independent: a trial's
sizes share a seed and a real split, so its MAEs are correlated across ``n``. Resampling rows with
replacement is drawing multinomial counts, and counts make every replicate's means one matrix
product (`means`) instead of B resampled copies of the data. With one trial (or ``n_boot=0``) there
is nothing to resample: intervals are NaN rather than a misleading zero width.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import S2RBenchError


def _sizes(values: Any, name: str, fname: str) -> np.ndarray:
    """A 1-D float array of distinct positive finite sizes (order kept; callers sort)."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise S2RBenchError(
            f"{fname}: {name} must be a 1-D array of numbers; pass the sizes as a list or array"
        ) from None
    if a.ndim != 1:
        raise S2RBenchError(f"{fname}: {name} must be 1-D (got shape {a.shape}); pass one size per column of mae")
    if not np.all(np.isfinite(a)):
        raise S2RBenchError(f"{fname}: {name} contains NaN or inf; pass finite sizes")
    if np.any(a <= 0):
        raise S2RBenchError(
            f"{fname}: {name} must be > 0 (got min {a.min():g}); drop size 0 (the scratch baseline belongs in fit_scratch)"
        )
    if len(np.unique(a)) != len(a):
        raise S2RBenchError(
            f"{fname}: {name} has repeated sizes; pass each distinct size once with its trials as rows of mae"
        )
    return a


def _mae_array(values: Any, shape_tail: tuple[int, ...], fname: str) -> np.ndarray:
    """Per-trial MAEs as float with trials first; a single trial may omit the trial axis."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise S2RBenchError(f"{fname}: mae must be an array of numbers (NaN for a missing trial)") from None
    if a.shape == shape_tail:
        a = a[None, ...]
    if a.ndim != len(shape_tail) + 1 or a.shape[1:] != shape_tail:
        raise S2RBenchError(
            f"{fname}: mae has shape {a.shape}, expected (n_trials, {', '.join(map(str, shape_tail))}); one row per trial"
        )
    if np.any(np.isinf(a)):
        raise S2RBenchError(f"{fname}: mae contains inf; use NaN for a missing or failed trial")
    if np.any(a[~np.isnan(a)] < 0):
        raise S2RBenchError(f"{fname}: mae contains negative values; an MAE is >= 0")
    if np.all(np.isnan(a)):
        raise S2RBenchError(f"{fname}: mae is all NaN; there is nothing to fit")
    return a


def _check_boot_args(n_boot: Any, ci: Any, fname: str) -> tuple[int, float]:
    try:
        ci_f = float(ci)
    except (TypeError, ValueError):
        ci_f = float("nan")
    if not 0.0 < ci_f < 1.0:
        raise S2RBenchError(f"{fname}: ci must be in (0, 1) (got {ci!r}); e.g. ci=0.90")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise S2RBenchError(f"{fname}: n_boot must be an integer >= 0 (got {n_boot!r})")
    return int(n_boot), ci_f


def _check_space(space: Any, fname: str) -> str:
    if space not in ("log", "linear"):
        raise S2RBenchError(f"{fname}: space must be 'log' or 'linear' (got {space!r})")
    return str(space)


def _boot_counts(n_trials: int, n_boot: int, seed: int | None) -> np.ndarray | None:
    """How often each trial is drawn in each replicate, shape (B, n_trials); None when no bootstrap.

    Resampling rows with replacement is the same as drawing multinomial counts, and counts let every
    replicate's means be one matrix product instead of materialising B resampled copies of the data.
    """
    if n_boot == 0 or n_trials < 2:
        return None
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_trials, np.full(n_trials, 1.0 / n_trials), size=n_boot).astype(float)


def _means(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """NaN-ignoring weighted means: counts (B, T) times values (T, Q) -> (B, Q); NaN where no data."""
    valid = ~np.isnan(values)
    s = counts @ np.where(valid, values, 0.0)
    k = counts @ valid.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, s / k, np.nan)


def _percentile_ci(v: np.ndarray, ci: float) -> tuple[float, float]:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (math.nan, math.nan)
    lo, hi = np.percentile(v, [50.0 * (1.0 - ci), 50.0 * (1.0 + ci)])
    return (float(lo), float(hi))


def _r2(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination on the (linear) means, ignoring NaN points."""
    ok = np.isfinite(y) & np.isfinite(yhat)
    if ok.sum() < 2:
        return math.nan
    ss_tot = float(np.sum((y[ok] - y[ok].mean()) ** 2))
    if ss_tot == 0.0:
        return math.nan
    return 1.0 - float(np.sum((y[ok] - yhat[ok]) ** 2)) / ss_tot


def _r2_rows(Y: np.ndarray, Yhat: np.ndarray) -> np.ndarray:
    """`_r2` row by row for (B, N) arrays."""
    ok = np.isfinite(Y) & np.isfinite(Yhat)
    cnt = ok.sum(axis=1)
    y0 = np.where(ok, Y, 0.0)
    mu = y0.sum(axis=1) / np.maximum(cnt, 1)
    ss_tot = np.sum(np.where(ok, (Y - mu[:, None]) ** 2, 0.0), axis=1)
    ss_res = np.sum(np.where(ok, (Y - Yhat) ** 2, 0.0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - ss_res / ss_tot
    return np.where((cnt >= 2) & (ss_tot > 0), out, np.nan)


def _aic(rss: float, n_points: int, k: int, small_sample: bool) -> float:
    """Gaussian-likelihood AIC of a least-squares fit, k counting the noise variance too.

    The residual sum of squares is floored at a relative 1e-10 per point so that two exact fits of
    exact data compare by their penalty, not by floating-point noise.
    """
    rss = max(rss, n_points * 1e-20)
    aic = n_points * math.log(rss / n_points) + 2.0 * k
    if small_sample:
        aic += 2.0 * k * (k + 1) / (n_points - k - 1)
    return aic


def paired_drop(first: np.ndarray, last: np.ndarray) -> tuple[float, float, int]:
    """Mean per-trial decrease ``first - last`` (MAE at the smallest minus at the largest size), its
    standard error and the number of trials with both: the evidence that the curve falls at all.

    Paired by trial because a trial's sizes share its real split, so their MAEs are correlated; the
    standard error of the paired difference is the trial-to-trial spread that matters. NaN s.e.
    with fewer than 2 trials.
    """
    d = np.asarray(first, dtype=float) - np.asarray(last, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return math.nan, math.nan, 0
    se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    return float(np.mean(d)), se, int(d.size)


boot_counts = _boot_counts
means = _means
percentile_ci = _percentile_ci
