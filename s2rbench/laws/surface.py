"""The two-size surface ``E(n, m) = δ·(γ + n^−α)·m^−β`` of Mikami et al. 2022 (arXiv 2108.11018).

``gamma`` is the floor that simulation alone cannot remove (the transfer gap), ``beta`` the
real-data exponent. The fit is bounded least squares on the log of the cell means: the surface
spans orders of magnitude, the law is multiplicative in ``m``, and in log space ``delta`` and
``beta`` enter linearly, which makes the problem well conditioned; sizes are normalised by their
geometric means for the same reason as in `s2rbench.laws.curve`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import S2RBenchError
from .common import (
    _boot_counts,
    _check_boot_args,
    _mae_array,
    _means,
    _percentile_ci,
    _r2,
    _r2_rows,
    _sizes,
    paired_drop,
)
from .formula import surface_mae
from .jsonable import estimates, fit_record
from .solve import EXPONENT_MAX
from .solve import EXPONENT_MIN as _EXPONENT_MIN
from .solve import GAMMA_NORM_MAX as _GAMMA_NORM_MAX
from .solve import fit_multistart as _fit_multistart
from .solve import lm_batch as _lm_batch

__all__ = ["SurfaceFit", "fit_surface"]


def _surface(theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = exp(a) * (g + x**-alpha) * z**-beta, x = n / geomean(n), z = m / geomean(m); theta = (a, alpha, beta, g)."""
    lx, lz = X[:, 0], X[:, 1]
    a, al, be, g = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3], theta[:, 3:4]
    px = np.exp(-al * lx)
    h = g + px
    f = np.exp(a - be * lz) * h
    J = np.stack([f, -f * px * lx / h, -f * lz, f / h], axis=-1)
    return f, J


@dataclass(frozen=True, eq=False)
class SurfaceFit:
    """``E(n, m) = delta * (gamma + n**(-alpha)) * m**(-beta)`` (Mikami et al. 2022) fitted to cell means.

    ``gamma`` is the floor that simulation alone cannot remove (in raw-``n`` units: the transfer
    gap), ``beta`` the real-data exponent. ``*_ci`` are bootstrap percentile intervals over trials.
    ``r2`` is the R² on the linear cell means; ``r2_ci`` is the interval of each replicate's R²
    against its own resampled means, which carry extra resampling noise, so it sits a little below
    ``r2``: read it as how stable the fit quality is, not as an interval that must bracket ``r2``.
    ``mean_mae``
    has shape ``(len(n), len(m))`` (NaN for a cell with no data); ``boot`` is (B, 4), columns
    (alpha, beta, gamma, delta), NaN rows for replicates that could not be fitted.
    """

    alpha: float
    beta: float
    gamma: float
    delta: float
    alpha_ci: tuple[float, float]
    beta_ci: tuple[float, float]
    gamma_ci: tuple[float, float]
    delta_ci: tuple[float, float]
    r2: float
    r2_ci: tuple[float, float]
    n: np.ndarray
    m: np.ndarray
    mean_mae: np.ndarray
    n_trials: int
    boot: np.ndarray
    ci: float
    drop: float = math.nan
    drop_se: float = math.nan
    drop_trials: int = 0

    def predict(self, n: Any, m: Any) -> np.ndarray:
        """Predicted mean MAE at (n, m); arrays broadcast (use ``n[:, None], m[None, :]`` for a grid)."""
        n, m = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(m, dtype=float))
        return surface_mae(self.params, n[None, ...], m[None, ...])[0]

    @property
    def params(self) -> np.ndarray:
        """The point estimate as one parameter row (alpha, beta, gamma, delta), the B = 1 of every decision."""
        return np.array([[self.alpha, self.beta, self.gamma, self.delta]])

    def to_dict(self, include_boot: bool = False) -> dict[str, Any]:
        """JSON-ready dict (lists, floats; NaN/inf become None)."""
        law_keys = {
            "law": "delta*(gamma + n^-alpha)*m^-beta",
            **estimates(self, ("alpha", "beta", "gamma", "delta")),
            "r2": self.r2,
            "r2_ci": self.r2_ci,
            "n": self.n,
            "m": self.m,
            "mean_mae": self.mean_mae,
        }
        return fit_record(self, law_keys, include_boot)


def fit_surface(
    n: Any,
    m: Any,
    mae: Any,
    *,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int | None = 0,
) -> SurfaceFit:
    """Fit ``E(n, m) = delta * (gamma + n**(-alpha)) * m**(-beta)`` to all (n, m) cells at once.

    ``mae`` has shape ``(n_trials, len(n), len(m))``, NaN for missing cells. The fit is bounded least
    squares on the log of the cell means (alpha, beta, delta > 0, gamma >= 0): the surface spans
    orders of magnitude, the law is multiplicative in ``m``, and in log space ``delta`` and ``beta``
    enter linearly, which makes the problem well conditioned; sizes are normalised by their geometric
    means internally for the same reason as in `fit_power_law`. Starting points are a grid over alpha
    and gamma with beta and delta from regression; intervals come from resampling trials.

    Needs at least 3 distinct n and 2 distinct m with data and 5 cells with data.
    """
    fname = "fit_surface"
    n_boot, ci = _check_boot_args(n_boot, ci, fname)
    ns = _sizes(n, "n", fname)
    ms = _sizes(m, "m", fname)
    Y = _mae_array(mae, (len(ns), len(ms)), fname)
    on, om = np.argsort(ns), np.argsort(ms)
    ns, ms, Y = ns[on], ms[om], Y[:, on][:, :, om]
    T = Y.shape[0]
    ybar = _means(np.ones((1, T)), Y.reshape(T, -1)).reshape(len(ns), len(ms))
    cell = np.isfinite(ybar)
    if cell.any(axis=1).sum() < 3 or cell.any(axis=0).sum() < 2 or cell.sum() < 5:
        raise S2RBenchError(
            f"{fname}: need data at >= 3 distinct n, >= 2 distinct m and >= 5 cells "
            f"(got {cell.any(axis=1).sum()} n, {cell.any(axis=0).sum()} m, {cell.sum()} cells); measure more sizes"
        )
    if np.any(ybar[cell] <= 0):
        raise S2RBenchError(f"{fname}: a cell's mean MAE is 0, which the log-space surface fit cannot take")
    ln_gn = float(np.mean(np.log(ns)))
    ln_gm = float(np.mean(np.log(ms)))
    LX, LZ = np.meshgrid(np.log(ns) - ln_gn, np.log(ms) - ln_gm, indexing="ij")
    Xall = np.column_stack([LX.ravel(), LZ.ravel()])
    yall = ybar.ravel()
    ok = np.isfinite(yall)
    X, y = Xall[ok], yall[ok]
    ly = np.log(y)

    # Starts: beta from the average log-log slope over m, delta by regression, grid over alpha, gamma.
    slope = np.polyfit(X[:, 1], ly, 1)[0] if np.ptp(X[:, 1]) > 0 else -0.5
    be0 = float(np.clip(-slope, 0.05, 5.0))
    starts = []
    for al in (0.2, 0.5, 1.0, 2.0):
        for g in (0.0, 0.3, 3.0):
            a0 = float(np.mean(ly - np.log(g + np.exp(-al * X[:, 0])) + be0 * X[:, 1]))
            starts.append((a0, al, be0, g))
    lo = np.array([-np.inf, _EXPONENT_MIN, _EXPONENT_MIN, 0.0])
    hi = np.array([np.inf, EXPONENT_MAX, EXPONENT_MAX, _GAMMA_NORM_MAX])
    theta, _ = _fit_multistart(_surface, X, ly, np.array(starts), lo, hi, "log")

    def to_user(th: np.ndarray) -> np.ndarray:
        th = np.atleast_2d(th)
        a, al, be, g = th[:, 0], th[:, 1], th[:, 2], th[:, 3]
        return np.column_stack([al, be, g * np.exp(-al * ln_gn), np.exp(a + al * ln_gn + be * ln_gm)])

    alpha, beta, gamma, delta = (float(v) for v in to_user(theta)[0])
    NN, MM = np.meshgrid(ns, ms, indexing="ij")
    pred_all = surface_mae([alpha, beta, gamma, delta], NN.ravel()[None, :], MM.ravel()[None, :])[0]
    r2 = _r2(yall, pred_all)

    # the decrease from the smallest to the largest n, averaged over m, paired by trial
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        first, last = np.nanmean(Y[:, 0, :], axis=1), np.nanmean(Y[:, -1, :], axis=1)
    drop, drop_se, drop_k = paired_drop(first, last)
    counts = _boot_counts(T, n_boot, seed)
    if counts is not None:
        Yb = _means(counts, Y.reshape(T, -1))  # (B, cells)
        valid = np.isfinite(Yb) & (Yb > 0)
        TY = np.where(valid, np.log(np.where(valid, Yb, 1.0)), 0.0)
        B = Yb.shape[0]
        tb, _ = _lm_batch(
            _surface,
            Xall,
            TY,
            valid.astype(float),
            np.broadcast_to(theta, (B, 4)),
            np.broadcast_to(lo, (B, 4)),
            np.broadcast_to(hi, (B, 4)),
            "log",
        )
        boot = to_user(tb)
        fb, _ = _surface(tb, Xall)
        r2b = _r2_rows(np.where(valid, Yb, np.nan), fb)
        r2b[np.isnan(tb[:, 0])] = np.nan
    else:
        boot, r2b = np.empty((0, 4)), np.empty(0)
    return SurfaceFit(
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        delta=delta,
        alpha_ci=_percentile_ci(boot[:, 0], ci),
        beta_ci=_percentile_ci(boot[:, 1], ci),
        gamma_ci=_percentile_ci(boot[:, 2], ci),
        delta_ci=_percentile_ci(boot[:, 3], ci),
        r2=r2,
        r2_ci=_percentile_ci(r2b, ci),
        n=ns,
        m=ms,
        mean_mae=ybar,
        n_trials=T,
        boot=boot,
        ci=ci,
        drop=drop,
        drop_se=drop_se,
        drop_trials=drop_k,
    )
