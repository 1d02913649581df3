"""The one-size law ``E(n) = D·n^−α + C`` and the pure power law (C = 0), fitted to per-trial MAEs.

Numerical choices, and why:

* Sizes are divided by their geometric mean before fitting, so the amplitude parameter is the
  excess error at the *middle* of the measured grid. With raw ``n`` the amplitude ``D`` is the error
  at ``n = 1``, far outside the data, and it is almost perfectly correlated with ``alpha``
  (``log D`` moves by ``alpha * log n`` for every change of ``alpha``), which makes the normal
  equations ill-conditioned. ``D`` is converted back to raw ``n`` units on output.
* Residuals are taken in log space by default (``space="log"``): an MAE is a positive scale
  quantity spanning decades across a curve and its noise is roughly proportional to its size, so
  relative residuals weigh every size alike. Linear residuals let the few small-``n`` points (largest
  errors, largest absolute noise) dominate and leave the tail, which is what pins ``C``, nearly
  unweighted. ``space="linear"`` is available for curves with near-zero MAEs.
* The point estimate is a multi-start bounded fit, the replicates one batched warm-started solve
  (`s2rbench.laws.solve`), because the offset law has a long curved valley between ``alpha`` and ``C``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import S2RBenchError
from .common import (
    _aic,
    _boot_counts,
    _check_boot_args,
    _check_space,
    _mae_array,
    _means,
    _percentile_ci,
    _r2,
    _sizes,
    paired_drop,
)
from .formula import curve_mae
from .jsonable import estimates, fit_record
from .jsonable import jsonable as _jsonable
from .solve import EXPONENT_MAX
from .solve import EXPONENT_MIN as _EXPONENT_MIN
from .solve import fit_multistart as _fit_multistart
from .solve import lm_batch as _lm_batch

__all__ = ["EXPONENT_MAX", "PowerLawFit", "PurePowerLawFit", "fit_power_law", "fit_scratch"]


def _curve_offset(theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = exp(a) * x**-alpha + C with x the size over its geometric mean; theta = (a, alpha, C)."""
    lx = X[:, 0]
    a, al, c = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    with np.errstate(over="ignore"):  # a degenerate start overflows; the solver discards it
        ap = np.exp(a - al * lx)
    f = ap + c
    J = np.stack([ap, -ap * lx, np.ones_like(ap)], axis=-1)
    return f, J


def _curve_pure(theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = exp(a) * x**-alpha; theta = (a, alpha)."""
    lx = X[:, 0]
    a, al = theta[:, 0:1], theta[:, 1:2]
    with np.errstate(over="ignore"):
        ap = np.exp(a - al * lx)
    J = np.stack([ap, -ap * lx], axis=-1)
    return ap, J


@dataclass(frozen=True, eq=False)
class PurePowerLawFit:
    """The pure power law ``E(n) = D * n**(-alpha)`` (no floor), fitted to the same means.

    Reported beside the offset law because the two make opposite promises beyond the data: the pure
    law says more simulation always helps, the offset law that the error saturates at ``C``.
    """

    alpha: float
    D: float
    alpha_ci: tuple[float, float]
    D_ci: tuple[float, float]
    r2: float
    aic: float

    def predict(self, n: Any) -> np.ndarray:
        """Predicted mean MAE at size(s) ``n``."""
        return curve_mae([self.alpha, 0.0, self.D], np.asarray(n, dtype=float)[None, ...])[0]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({**estimates(self, ("alpha", "D")), "r2": self.r2, "aic": self.aic})


@dataclass(frozen=True, eq=False)
class PowerLawFit:
    """``E(n) = D * n**(-alpha) + C`` fitted to per-size mean MAEs, with bootstrap intervals.

    - ``alpha``, ``C``, ``D``: point estimates (D in raw-``n`` units: the excess error at n = 1).
    - ``*_ci``: percentile intervals at level ``ci`` from resampling trials; NaN with < 2 trials.
    - ``r2``: R² of the fitted curve on the per-size means (linear scale).
    - ``n``, ``mean_mae``: the sorted sizes that had data and their mean MAE; ``n_trials`` rows of mae.
    - ``pure``: the pure power law (C = 0) fitted to the same means; ``better`` names the law with the
      lower AIC (``criterion`` says AICc or AIC, on the residuals of ``space``); ties go to ``pure``.
    - ``boot``: (B, 3) bootstrap parameters, columns (alpha, C, D), kept so that `plan_n` can carry
      the uncertainty to a planned size; NaN rows are replicates that could not be fitted.
    - With ``with_offset=False`` the primary law *is* the pure law: C = 0 and ``better == "pure"``.
    """

    alpha: float
    C: float
    D: float
    alpha_ci: tuple[float, float]
    C_ci: tuple[float, float]
    D_ci: tuple[float, float]
    r2: float
    n: np.ndarray
    mean_mae: np.ndarray
    n_trials: int
    pure: PurePowerLawFit
    better: str
    boot: np.ndarray
    aic: float
    criterion: str
    space: str
    ci: float
    with_offset: bool
    drop: float = math.nan
    drop_se: float = math.nan
    drop_trials: int = 0

    def predict(self, n: Any) -> np.ndarray:
        """Predicted mean MAE at size(s) ``n``."""
        return curve_mae([self.alpha, self.C, self.D], np.asarray(n, dtype=float)[None, ...])[0]

    @property
    def params(self) -> np.ndarray:
        """The point estimate as one parameter row (alpha, C, D), the B = 1 of every decision."""
        return np.array([[self.alpha, self.C, self.D]])

    def to_dict(self, include_boot: bool = False) -> dict[str, Any]:
        """JSON-ready dict (lists, floats; NaN/inf become None). ``include_boot`` adds the replicates."""
        law_keys = {
            "law": "D*n^-alpha + C" if self.with_offset else "D*n^-alpha",
            **estimates(self, ("alpha", "C", "D")),
            "r2": self.r2,
            "aic": self.aic,
            "criterion": self.criterion,
            "better": self.better,
            "pure": self.pure.to_dict(),
            "n": self.n,
            "mean_mae": self.mean_mae,
        }
        return fit_record(self, law_keys, include_boot, space=self.space)


def _curve_starts(lx: np.ndarray, y: np.ndarray, offset: bool) -> np.ndarray:
    """Starting points: a grid of alpha (and C from 0 to just under min(y)), amplitude by regression."""
    alphas = (0.1, 0.25, 0.5, 1.0, 2.0)
    cs = (0.0, 0.5 * y.min(), 0.9 * y.min()) if offset else (0.0,)
    out = []
    for al in alphas:
        for c in cs:
            v = np.maximum(np.maximum(y - c, 1e-3 * y), 1e-12 * y.max() + 1e-300)
            a = float(np.mean(np.log(v) + al * lx))
            out.append((a, al, c) if offset else (a, al))
    return np.array(out)


def _curve_bounds(y_max: np.ndarray | float, offset: bool) -> tuple[np.ndarray, np.ndarray]:
    y_max = np.asarray(y_max, dtype=float)
    shape = y_max.shape
    lo_list = [np.full(shape, -np.inf), np.full(shape, _EXPONENT_MIN)]
    hi_list = [np.full(shape, np.inf), np.full(shape, EXPONENT_MAX)]
    if offset:
        lo_list.append(np.zeros(shape))
        hi_list.append(np.maximum(y_max, 1e-300))
    return np.stack(lo_list, axis=-1), np.stack(hi_list, axis=-1)


def _fit_one_law(
    lx: np.ndarray,
    y: np.ndarray,
    Yb: np.ndarray | None,
    offset: bool,
    space: str,
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Fit one law to means ``y`` (valid only) and bootstrap means ``Yb`` (B, K, NaN allowed).

    Returns (theta, rss, theta_boot) in internal parameters (a, alpha[, C]).
    """
    model = _curve_offset if offset else _curve_pure
    X = lx[:, None]
    ty = np.log(y) if space == "log" else y
    lo, hi = _curve_bounds(y.max(), offset)
    theta, rss = _fit_multistart(model, X, ty, _curve_starts(lx, y, offset), lo, hi, space)
    if Yb is None:
        return theta, rss, None
    valid = np.isfinite(Yb) & ((Yb > 0) if space == "log" else True)
    with np.errstate(divide="ignore", invalid="ignore"):
        TY = np.where(valid, np.log(np.where(valid, Yb, 1.0)) if space == "log" else Yb, 0.0)
    ymax = np.where(valid, Yb, -np.inf).max(axis=1)
    lob, hib = _curve_bounds(np.where(np.isfinite(ymax), ymax, y.max()), offset)
    theta0 = np.broadcast_to(theta, (Yb.shape[0], theta.size))
    tb, _ = _lm_batch(model, X, TY, valid.astype(float), theta0, lob, hib, space)
    return theta, rss, tb


def _fit_curve(
    x: Any,
    mae: Any,
    *,
    n_boot: int,
    ci: float,
    seed: int | None,
    with_offset: bool,
    space: str,
    fname: str,
    xname: str,
    counts: np.ndarray | str | None = "draw",
) -> PowerLawFit:
    """Shared body of `fit_power_law` and `fit_scratch` (``xname`` names the size axis in errors).

    ``counts`` lets `backtest` pass its own bootstrap draw so that held-out sizes are resampled with
    the same trials as the fitted ones.
    """
    n_boot, ci = _check_boot_args(n_boot, ci, fname)
    space = _check_space(space, fname)
    xs = _sizes(x, xname, fname)
    Y = _mae_array(mae, (len(xs),), fname)
    order = np.argsort(xs)
    xs, Y = xs[order], Y[:, order]
    has = ~np.all(np.isnan(Y), axis=0)
    xs, Y = xs[has], Y[:, has]
    if len(xs) < 3:
        raise S2RBenchError(
            f"{fname}: need at least 3 distinct {xname} sizes with data (got {len(xs)}); measure more sizes"
        )
    y = np.nanmean(Y, axis=0)
    if space == "log" and np.any(y <= 0):
        raise S2RBenchError(f"{fname}: a mean MAE is 0, which log-space fitting cannot take; pass space='linear'")
    T = Y.shape[0]
    if isinstance(counts, str):
        counts = _boot_counts(T, n_boot, seed)
    Yb = _means(counts, Y) if counts is not None else None

    ln_g = float(np.mean(np.log(xs)))
    lx = np.log(xs) - ln_g

    th_p, rss_p, tb_p = _fit_one_law(lx, y, Yb, False, space)
    alpha_p, D_p = float(th_p[1]), float(math.exp(th_p[0] + th_p[1] * ln_g))
    pred_p = curve_mae([alpha_p, 0.0, D_p], xs[None, :])[0]
    if tb_p is not None:
        boot_p = np.column_stack([tb_p[:, 1], np.exp(tb_p[:, 0] + tb_p[:, 1] * ln_g)])
    else:
        boot_p = np.empty((0, 2))

    K = len(xs)
    small = K - 4 - 1 > 0  # AICc needs N > k + 1 for the larger model (3 parameters + noise variance)
    aic_p = _aic(rss_p, K, 3, small)
    pure = PurePowerLawFit(
        alpha=alpha_p,
        D=D_p,
        alpha_ci=_percentile_ci(boot_p[:, 0], ci),
        D_ci=_percentile_ci(boot_p[:, 1], ci),
        r2=_r2(y, pred_p),
        aic=aic_p,
    )
    # With exactly 3 sizes the offset law interpolates them (zero residual), so no criterion can
    # weigh it against the pure law: keep the simpler law and say so.
    criterion = "AICc" if small else ("AIC" if K > 3 else "none (3 sizes: the offset law interpolates)")

    if with_offset:
        th, rss, tb = _fit_one_law(lx, y, Yb, True, space)
        alpha, C, D = float(th[1]), float(th[2]), float(math.exp(th[0] + th[1] * ln_g))
        aic = _aic(rss, K, 4, small)
        better = "offset" if (K > 3 and aic < aic_p) else "pure"
        if tb is not None:
            boot = np.column_stack([tb[:, 1], tb[:, 2], np.exp(tb[:, 0] + tb[:, 1] * ln_g)])
        else:
            boot = np.empty((0, 3))
    else:
        alpha, C, D, aic, better = alpha_p, 0.0, D_p, aic_p, "pure"
        boot = np.column_stack([boot_p[:, 0], np.zeros(len(boot_p)), boot_p[:, 1]]) if len(boot_p) else np.empty((0, 3))
        boot[np.isnan(boot[:, 0]), 1] = np.nan
    pred = curve_mae([alpha, C, D], xs[None, :])[0]
    drop, drop_se, drop_k = paired_drop(Y[:, 0], Y[:, -1])
    return PowerLawFit(
        alpha=alpha,
        C=C,
        D=D,
        alpha_ci=_percentile_ci(boot[:, 0], ci),
        C_ci=_percentile_ci(boot[:, 1], ci),
        D_ci=_percentile_ci(boot[:, 2], ci),
        r2=_r2(y, pred),
        n=xs,
        mean_mae=y,
        n_trials=T,
        pure=pure,
        better=better,
        boot=boot,
        aic=aic,
        criterion=criterion,
        space=space,
        ci=ci,
        with_offset=bool(with_offset),
        drop=drop,
        drop_se=drop_se,
        drop_trials=drop_k,
    )


def fit_power_law(
    n: Any,
    mae: Any,
    *,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int | None = 0,
    with_offset: bool = True,
    space: str = "log",
) -> PowerLawFit:
    """Fit ``E(n) = D * n**(-alpha) + C`` (D > 0, alpha > 0, C >= 0) and the pure law to mean MAEs.

    ``n`` holds the distinct pretraining sizes (> 0, any order); ``mae`` has shape
    ``(n_trials, len(n))`` (a 1-D ``mae`` is one trial) with NaN for a missing trial/size (means ignore NaN; a size with no data
    is dropped). The fit is on the per-size means because the law describes the *expected* error;
    the spread between trials enters through the bootstrap, which resamples whole trial rows (a
    trial's errors are correlated across sizes) and refits, giving percentile intervals at level ``ci``.

    Model choice: the offset and pure laws are compared by AICc on the residuals of ``space`` (plain
    AIC with 4-5 sizes, where AICc is undefined for the 3-parameter law; with exactly 3 sizes the
    offset law interpolates and ``better`` is ``"pure"`` by parsimony); ``better`` is ``"offset"``
    only when the floor earns its extra parameter.

    Raises `S2RBenchError` for fewer than 3 sizes with data, non-positive or repeated sizes, a shape
    mismatch, negative/inf MAEs or all-NaN input.
    """
    return _fit_curve(
        n,
        mae,
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        with_offset=with_offset,
        space=space,
        fname="fit_power_law",
        xname="n",
    )


def fit_scratch(
    m: Any,
    mae: Any,
    *,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int | None = 0,
    with_offset: bool = True,
    space: str = "log",
) -> PowerLawFit:
    """Fit the scratch (no pretraining) learning curve ``E0(m) = a * m**(-b) + c`` over real sizes m.

    This is the same law as `fit_power_law` with the real-data size in place of ``n``, so it is the
    same fit and returns a `PowerLawFit` whose ``D``, ``alpha``, ``C`` are ``a``, ``b``, ``c``.
    ``mae`` has shape ``(n_trials, len(m))``. Used by `equivalent_real` as the yardstick for what a
    pretrained model is worth in real samples.
    """
    return _fit_curve(
        m,
        mae,
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        with_offset=with_offset,
        space=space,
        fname="fit_scratch",
        xname="m",
    )
