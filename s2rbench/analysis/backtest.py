"""Backtests of a run: fit the laws on the smaller sizes of the n grid, predict the held-out largest.

The 1-D law at every m (`s2rbench.laws.backtest`) and, on a surface run, the two-variable law
fitted on the smaller n at every m; intervals by the one rule `laws.prediction_interval`. By
default the largest size is held out (``holdout=1``), so a quick grid of 4 sizes fits 3 and
predicts 1; ``split`` (a fraction of the grid) is the old way to say it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import laws
from ..errors import S2RBenchError
from ..laws import jsonable as _jsonable
from ..laws.backtest import prediction_interval
from ..laws.families import backtest_families
from ..laws.formula import surface_mae
from .rundata import RunData, load_run
from .runlaws import _curve_params, _surface_params


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Fit on the smaller part of the n grid, predict the larger part, compare with what was measured.

    ``per_m``: one entry per measured m with the 1-D law's backtest (``table`` rows: n, observed,
    predicted, pi_lo, pi_hi, rel_error, covered, extrapolation) or an ``error``. ``surface``: the
    two-variable law fitted on the smaller n at every m, predicting every held-out (n, m) cell (None
    for a one-m run). ``n_fit`` / ``n_held`` are the n values fitted and predicted.
    """

    run: dict[str, Any]
    split: float
    n_fit: list[float]
    n_held: list[float]
    per_m: list[dict[str, Any]]
    surface: dict[str, Any] | None
    ci: float

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dict(self.__dict__))


def _table_records(tab: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in tab.to_dict(orient="records"):
        out.append({k: (None if v is pd.NA else v) for k, v in rec.items()})
    return out


def _surface_backtest(data: RunData, k: int, *, n_boot: int, ci: float, seed: int) -> dict[str, Any]:
    nf, nh = data.n[:k], data.n[k:]
    Y = data.transfer
    T = Y.shape[0]
    s = laws.fit_surface(nf, data.m, Y[:, :k, :], n_boot=n_boot, ci=ci, seed=seed)
    Yh = Y[:, k:, :].reshape(T, -1)
    NN, MM = np.meshgrid(nh, data.m, indexing="ij")
    nn, mm = NN.ravel(), MM.ravel()
    obs = np.nanmean(Yh, axis=0) if T else np.full(len(nn), np.nan)
    pred = s.predict(nn, mm)
    # The surface's bootstrap resamples trials with these counts (same seed, same trial count), so
    # each replicate's held-out means pair with its parameters, as in `laws.backtest`.
    counts = laws._boot_counts(T, n_boot, seed)
    if counts is not None and len(s.boot):
        with np.errstate(invalid="ignore", over="ignore"):
            pb = surface_mae(s.boot, nn[None, :], mm[None, :])
        lo, hi = prediction_interval(obs, pred, laws._means(counts, Yh), pb, ci)
        covered: list[Any] = [bool(v) for v in (obs >= lo) & (obs <= hi)]
    else:
        lo = hi = np.full(len(nn), np.nan)
        covered = [None] * len(nn)
    rel = (pred - obs) / obs
    ok = np.isfinite(obs)
    table = [
        {
            "n": float(a),
            "m": float(b),
            "observed": float(o),
            "predicted": float(p),
            "pi_lo": float(l),
            "pi_hi": float(h),
            "rel_error": float(r),
            "covered": c,
            "extrapolation": float(a / nf.max()),
        }
        for a, b, o, p, l, h, r, c, keep in zip(nn, mm, obs, pred, lo, hi, rel, covered, ok)
        if keep
    ]
    cov = [r["covered"] for r in table]
    return {
        "fit": _surface_params(s),
        "table": table,
        "mean_abs_rel_error": float(np.mean(np.abs(rel[ok]))) if ok.any() else math.nan,
        "max_abs_rel_error": float(np.max(np.abs(rel[ok]))) if ok.any() else math.nan,
        "coverage": float(np.mean(cov)) if cov and all(c is not None for c in cov) else math.nan,
    }


def backtest_run(
    run_dir: Any,
    *,
    holdout: int | None = None,
    split: float | None = None,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int = 0,
    allow_incomplete: bool = False,
) -> BacktestResult:
    """Fit the laws on the smaller sizes of the n grid and predict the MAE at the ``holdout`` largest.

    The default holds out half the grid when that leaves 3 sizes to fit (6 or more sizes), else all
    but the 3 smallest, so a quick grid of 4 sizes predicts its largest; ``split`` (a fraction of
    the grid to fit on) is the older way to say it. For every measured m the 1-D law
    E(n) = D n^-alpha + C is backtested (`laws.backtest`); on a surface run the two-variable law is
    too, fitted to the smaller n at every m and predicting every held-out cell. Intervals are
    bootstrap prediction intervals for the observed mean (curve uncertainty and trial noise);
    ``covered`` says whether the observed value fell inside. ``run_dir`` may be a loaded `RunData`.
    """
    if split is not None:
        try:
            sp = float(split)
        except (TypeError, ValueError):
            sp = math.nan
        if not 0.0 < sp < 1.0:
            raise S2RBenchError(
                f"--split (split) must be in (0, 1) (got {split!r}); e.g. 0.5 fits the smaller half of the n grid"
            )
    if holdout is not None and (isinstance(holdout, bool) or not isinstance(holdout, (int, np.integer)) or holdout < 1):
        raise S2RBenchError(
            f"--holdout (holdout) must be an integer >= 1 (got {holdout!r}): how many of the largest n to predict"
        )
    data = run_dir if isinstance(run_dir, RunData) else load_run(run_dir, allow_incomplete=allow_incomplete)
    K = len(data.n)
    k = laws.holdout_count(K, holdout=holdout, split=split)
    sp = k / K
    if k < 3 or k > K - 1:
        how = f"--split {split:g}" if split is not None else f"--holdout {holdout if holdout is not None else K - k}"
        raise S2RBenchError(
            f"RUN_DIR {data.run_dir} has {K} n sizes and {how} leaves {max(k, 0)} to fit and {K - max(k, 0)} to predict; the law "
            "needs >= 3 to fit and >= 1 to predict: rerun `s2rbench run` with more --sizes (4 or more) or change --holdout"
        )
    per_m = []
    for m in data.m:
        Y = data.curve(m)
        try:
            bt = laws.backtest(data.n, Y, split=k / K, n_boot=n_boot, ci=ci, seed=seed)
        except S2RBenchError as exc:
            per_m.append({"m": float(m), "error": str(exc)})
            continue
        fam: dict[str, Any] | None = None
        try:
            with np.errstate(all="ignore"):
                fb = backtest_families(data.n, Y, holdout=K - k, n_boot=n_boot, ci=ci, seed=seed)
            fam = {
                "chosen": fb.chosen,
                "tol": fb.tol,
                "families": {
                    f: {
                        kk: r.get(kk)
                        for kk in ("mean_abs_rel_error", "max_abs_rel_error", "coverage", "passed", "error")
                    }
                    for f, r in fb.results.items()
                },
            }
        except S2RBenchError as exc:
            fam = {"error": str(exc)}
        per_m.append(
            {
                "m": float(m),
                "families": fam,
                "fit": _curve_params(bt.fit),
                "table": _table_records(bt.table),
                "mean_abs_rel_error": bt.mean_abs_rel_error,
                "max_abs_rel_error": bt.max_abs_rel_error,
                "coverage": bt.coverage,
            }
        )
    surf = None
    if data.is_surface:
        try:
            surf = _surface_backtest(data, k, n_boot=n_boot, ci=ci, seed=seed)
        except S2RBenchError as exc:
            surf = {"error": str(exc)}
    return BacktestResult(
        run=data.describe(),
        split=sp,
        n_fit=[float(v) for v in data.n[:k]],
        n_held=[float(v) for v in data.n[k:]],
        per_m=per_m,
        surface=surf,
        ci=ci,
    )
