"""Scaling laws of real-world error versus data size, their uncertainty, and what they imply.

A model pretrained on ``n`` simulated samples and fine-tuned on ``m`` real samples has a test MAE
that falls as ``E(n) = D * n**(-alpha) + C``. This module fits that law (and the pure power law,
``C = 0``) to per-trial MAEs, puts bootstrap intervals on its parameters by resampling *trials*
(the unit that is independent: a trial's sizes share a seed and a real split, so its MAEs are
correlated across ``n``), and turns a fit into decisions: how many simulations reach a target
(`plan_n`), the cheapest mix of simulations and experiments on the two-size surface of Mikami et
al. 2022, arXiv 2108.11018 (`fit_surface`, `plan_cost`), what a simulation is worth in real
samples (`equivalent_real`), and whether the law extrapolates at all on the data at hand
(`backtest`).

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
* The point estimate uses `scipy.optimize.least_squares` (bounded trust-region) from a grid of
  starting points and keeps the best, because the offset law has a long curved valley between
  ``alpha`` and ``C``. Bootstrap refits instead run a small vectorised, bound-projected
  Levenberg-Marquardt over all replicates at once, warm-started at the point estimate: a replicate is
  a small perturbation of the data, so it needs no global search, and one batched solve of 1000
  replicates costs milliseconds where 1000 scipy calls cost seconds.
* Intervals are bootstrap percentile intervals over trials. With one trial (or ``n_boot=0``)
  there is nothing to resample: intervals are NaN rather than a misleading zero width.

Only numpy, scipy, pandas and the package's error type are imported, so the module is cheap to use
from analysis code, notebooks and the CLI alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize_scalar

from .errors import S2RBenchError

__all__ = [
    "PurePowerLawFit",
    "PowerLawFit",
    "Plan",
    "SurfaceFit",
    "CostOption",
    "CostPlan",
    "Equivalence",
    "Backtest",
    "fit_power_law",
    "fit_scratch",
    "plan_n",
    "fit_surface",
    "plan_cost",
    "equivalent_real",
    "backtest",
]

#: Upper bound on the exponents alpha and beta. Measured scaling exponents are well below 2; the bound
#: only stops a flat curve from sending an exponent to infinity (the fit is then meaningless anyway).
EXPONENT_MAX = 10.0
#: Lower bound standing in for the strict alpha > 0, beta > 0 (bounds are closed sets).
_EXPONENT_MIN = 1e-6
#: Upper bound on the surface's gamma in normalised units (gamma relative to n**-alpha at mid-grid).
_GAMMA_NORM_MAX = 1e8

# A model maps parameters theta (B, P) and a design X (N, d) to values f (B, N) and df/dtheta (B, N, P).
_Model = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------------------------------
# Models in internal (normalised) parameters
# --------------------------------------------------------------------------------------------------


def _curve_offset(theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = exp(a) * x**-alpha + C with x the size over its geometric mean; theta = (a, alpha, C)."""
    lx = X[:, 0]
    a, al, c = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    ap = np.exp(a - al * lx)
    f = ap + c
    J = np.stack([ap, -ap * lx, np.ones_like(ap)], axis=-1)
    return f, J


def _curve_pure(theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = exp(a) * x**-alpha; theta = (a, alpha)."""
    lx = X[:, 0]
    a, al = theta[:, 0:1], theta[:, 1:2]
    ap = np.exp(a - al * lx)
    J = np.stack([ap, -ap * lx], axis=-1)
    return ap, J


def _surface(theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = exp(a) * (g + x**-alpha) * z**-beta, x = n / geomean(n), z = m / geomean(m); theta = (a, alpha, beta, g)."""
    lx, lz = X[:, 0], X[:, 1]
    a, al, be, g = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3], theta[:, 3:4]
    px = np.exp(-al * lx)
    h = g + px
    f = np.exp(a - be * lz) * h
    J = np.stack([f, -f * px * lx / h, -f * lz, f / h], axis=-1)
    return f, J


# --------------------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------------------


def _residuals(
    model: _Model, theta: np.ndarray, X: np.ndarray, ty: np.ndarray, w: np.ndarray, space: str
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted residuals (B, N) and their Jacobian (B, N, P); ``ty`` is log(y) or y, 0 where w == 0."""
    f, J = model(theta, X)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if space == "log":
            r = (np.log(f) - ty) * w
            Jr = J / f[..., None] * w[..., None]
        else:
            r = (f - ty) * w
            Jr = J * w[..., None]
    return r, Jr


def _cost(r: np.ndarray) -> np.ndarray:
    c = 0.5 * np.sum(r * r, axis=-1)
    return np.where(np.isfinite(c), c, np.inf)


def _fit_multistart(
    model: _Model,
    X: np.ndarray,
    ty: np.ndarray,
    starts: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    space: str,
    n_polish: int = 2,
) -> tuple[np.ndarray, float]:
    """Multi-start bounded least squares; returns (theta, residual sum of squares).

    All starts first run together through the batched solver `_lm_batch` (one vectorised solve,
    milliseconds); the ``n_polish`` best end points are then refined by `scipy.optimize.least_squares`
    (trust-region reflective, bounds), and the lowest cost wins. Screening first matters for speed:
    one scipy call costs ~10 ms, so 15 starts x 2 laws x hundreds of fits would dominate the tests
    and any sweep, while the polished answer is the same. ``X`` and ``ty`` hold valid points only.
    """
    starts = np.clip(np.asarray(starts, dtype=float), lo, hi)
    S = len(starts)
    TY = np.broadcast_to(ty, (S, len(ty)))
    W = np.ones((S, len(ty)))
    screened, costs = _lm_batch(
        model, X, TY, W, starts, np.broadcast_to(lo, starts.shape), np.broadcast_to(hi, starts.shape), space
    )
    costs = np.where(np.isfinite(costs), costs, np.inf)
    order = np.argsort(costs, kind="stable")
    w1 = np.ones((1, len(ty)))
    ty2 = ty[None, :]

    def fun(th: np.ndarray) -> np.ndarray:
        r, _ = _residuals(model, th[None, :], X, ty2, w1, space)
        return np.nan_to_num(r[0], nan=1e6, posinf=1e6, neginf=-1e6)

    def jac(th: np.ndarray) -> np.ndarray:
        _, J = _residuals(model, th[None, :], X, ty2, w1, space)
        return np.nan_to_num(J[0], nan=0.0, posinf=0.0, neginf=0.0)

    best_theta, best_cost = None, np.inf
    if np.isfinite(costs[order[0]]):
        best_theta, best_cost = screened[order[0]], float(costs[order[0]])
    for i in order[:n_polish]:
        x0 = screened[i] if np.all(np.isfinite(screened[i])) else starts[i]
        try:
            # Degenerate curves (flat or rising) can overflow inside scipy's trust-region step; the
            # cost comparison below discards any such run, so its floating-point warnings are noise.
            with np.errstate(all="ignore"):
                res = least_squares(
                    fun, np.clip(x0, lo, hi), jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                    ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=2000,
                )
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            continue
        if np.isfinite(res.cost) and res.cost <= best_cost:
            best_theta, best_cost = res.x, float(res.cost)
    if best_theta is None:  # pragma: no cover - every start failed numerically
        raise S2RBenchError("the scaling-law fit did not converge from any start; check the MAEs for outliers")
    return np.asarray(best_theta, dtype=float), 2.0 * best_cost


def _lm_batch(
    model: _Model,
    X: np.ndarray,
    TY: np.ndarray,
    Wt: np.ndarray,
    theta0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    space: str,
    max_iter: int = 100,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Bound-projected Levenberg-Marquardt on B independent problems at once.

    Each replicate b has targets ``TY[b]`` with weights ``Wt[b]`` (0 drops a point) and its own bounds
    ``lo[b]``, ``hi[b]``. A parameter on a bound whose gradient pushes outward is held fixed for the
    step (a simple active set); the step is then clipped into the box. Damping adapts per replicate.
    Returns theta (B, P) and the final cost 0.5 * sum(r**2) (B,); rows that could not be fitted (fewer
    weighted points than parameters, or a non-finite cost) are NaN / inf.
    """
    B, P = theta0.shape
    theta = np.clip(theta0, lo, hi).astype(float).copy()
    r, J = _residuals(model, theta, X, TY, Wt, space)
    cost = _cost(r)
    lam = np.full(B, 1e-3)
    active = np.isfinite(cost)
    eye = np.eye(P)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        th, rr, JJ, c0, lm = theta[idx], r[idx], J[idx], cost[idx], lam[idx]
        lb, ub = lo[idx], hi[idx]
        g = np.einsum("bnp,bn->bp", JJ, rr)
        H = np.einsum("bnp,bnq->bpq", JJ, JJ)
        pinned = ((th <= lb) & (g > 0)) | ((th >= ub) & (g < 0))
        free = ~pinned
        d = np.diagonal(H, axis1=1, axis2=2)
        scale = np.maximum(d, 1e-12 * np.maximum(d.max(axis=1, keepdims=True), 1e-300))
        M = H + (lm[:, None] * scale)[:, :, None] * eye
        M = np.where(free[:, :, None] & free[:, None, :], M, 0.0) + eye * pinned[:, :, None]
        rhs = -(g * free)[..., None]
        try:
            step = np.linalg.solve(M, rhs)[..., 0]
        except np.linalg.LinAlgError:
            step = (np.linalg.pinv(M) @ rhs)[..., 0]
        new = np.clip(th + np.nan_to_num(step), lb, ub)
        rn, Jn = _residuals(model, new, X, TY[idx], Wt[idx], space)
        cn = _cost(rn)
        ok = cn < c0
        sel = idx[ok]
        theta[sel], r[sel], J[sel], cost[sel] = new[ok], rn[ok], Jn[ok], cn[ok]
        lam[idx] = np.where(ok, np.maximum(lm / 3.0, 1e-12), lm * 4.0)
        small_f = ok & ((c0 - cn) <= ftol * c0)
        small_x = ok & np.all(np.abs(new - th) <= xtol * (np.abs(th) + xtol), axis=1)
        tiny = ok & (cn <= 1e-28)
        stuck = ~ok & (lm * 4.0 > 1e12)
        active[idx[small_f | small_x | tiny | stuck]] = False
    bad = ~np.isfinite(cost) | (Wt.sum(axis=1) < P)
    theta[bad] = np.nan
    cost[bad] = np.inf
    return theta, cost


# --------------------------------------------------------------------------------------------------
# Validation and bootstrap helpers
# --------------------------------------------------------------------------------------------------


def _sizes(values: Any, name: str, fname: str) -> np.ndarray:
    """A 1-D float array of distinct positive finite sizes (order kept; callers sort)."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise S2RBenchError(f"{fname}: {name} must be a 1-D array of numbers; pass the sizes as a list or array") from None
    if a.ndim != 1:
        raise S2RBenchError(f"{fname}: {name} must be 1-D (got shape {a.shape}); pass one size per column of mae")
    if not np.all(np.isfinite(a)):
        raise S2RBenchError(f"{fname}: {name} contains NaN or inf; pass finite sizes")
    if np.any(a <= 0):
        raise S2RBenchError(
            f"{fname}: {name} must be > 0 (got min {a.min():g}); drop size 0 (the scratch baseline belongs in fit_scratch)"
        )
    if len(np.unique(a)) != len(a):
        raise S2RBenchError(f"{fname}: {name} has repeated sizes; pass each distinct size once with its trials as rows of mae")
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


def _jsonable(x: Any) -> Any:
    """Plain Python for JSON: floats (NaN/inf -> None), lists for arrays and tuples, dicts recursed."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


# --------------------------------------------------------------------------------------------------
# The one-size law E(n) = D n^-alpha + C
# --------------------------------------------------------------------------------------------------


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
        return self.D * np.power(np.asarray(n, dtype=float), -self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {"alpha": self.alpha, "D": self.D, "alpha_ci": self.alpha_ci, "D_ci": self.D_ci, "r2": self.r2, "aic": self.aic}
        )


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

    def predict(self, n: Any) -> np.ndarray:
        """Predicted mean MAE at size(s) ``n``."""
        return self.D * np.power(np.asarray(n, dtype=float), -self.alpha) + self.C

    def to_dict(self, include_boot: bool = False) -> dict[str, Any]:
        """JSON-ready dict (lists, floats; NaN/inf become None). ``include_boot`` adds the replicates."""
        d: dict[str, Any] = {
            "law": "D*n^-alpha + C" if self.with_offset else "D*n^-alpha",
            "alpha": self.alpha, "C": self.C, "D": self.D,
            "alpha_ci": self.alpha_ci, "C_ci": self.C_ci, "D_ci": self.D_ci,
            "r2": self.r2, "aic": self.aic, "criterion": self.criterion, "better": self.better,
            "pure": self.pure.to_dict(),
            "n": self.n, "mean_mae": self.mean_mae, "n_trials": self.n_trials,
            "n_boot": int(self.boot.shape[0]), "ci": self.ci, "space": self.space,
        }
        if include_boot:
            d["boot"] = self.boot
        return _jsonable(d)


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
    counts: np.ndarray | None | str = "draw",
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
    pred_p = D_p * xs ** (-alpha_p)
    if tb_p is not None:
        boot_p = np.column_stack([tb_p[:, 1], np.exp(tb_p[:, 0] + tb_p[:, 1] * ln_g)])
    else:
        boot_p = np.empty((0, 2))

    K = len(xs)
    small = K - 4 - 1 > 0  # AICc needs N > k + 1 for the larger model (3 parameters + noise variance)
    aic_p = _aic(rss_p, K, 3, small)
    pure = PurePowerLawFit(
        alpha=alpha_p, D=D_p,
        alpha_ci=_percentile_ci(boot_p[:, 0], ci), D_ci=_percentile_ci(boot_p[:, 1], ci),
        r2=_r2(y, pred_p), aic=aic_p,
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
    pred = D * xs ** (-alpha) + C
    return PowerLawFit(
        alpha=alpha, C=C, D=D,
        alpha_ci=_percentile_ci(boot[:, 0], ci), C_ci=_percentile_ci(boot[:, 1], ci), D_ci=_percentile_ci(boot[:, 2], ci),
        r2=_r2(y, pred), n=xs, mean_mae=y, n_trials=T, pure=pure, better=better, boot=boot,
        aic=aic, criterion=criterion, space=space, ci=ci, with_offset=bool(with_offset),
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
        n, mae, n_boot=n_boot, ci=ci, seed=seed, with_offset=with_offset, space=space,
        fname="fit_power_law", xname="n",
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
        m, mae, n_boot=n_boot, ci=ci, seed=seed, with_offset=with_offset, space=space,
        fname="fit_scratch", xname="m",
    )


# --------------------------------------------------------------------------------------------------
# Planning n for a target
# --------------------------------------------------------------------------------------------------


def _check_target(target: Any, fname: str, name: str = "target_mae") -> float:
    try:
        t = float(target)
    except (TypeError, ValueError):
        t = math.nan
    if not math.isfinite(t) or t <= 0:
        raise S2RBenchError(f"{fname}: {name} must be a finite number > 0 (got {target!r})")
    return t


@dataclass(frozen=True, eq=False)
class Plan:
    """How many simulated samples the fitted law needs to reach ``target_mae``.

    - ``n``: the size where ``D n^-alpha + C = target`` (inf when unreachable: target <= C).
    - ``best_mae``: the lowest MAE the law can reach, ``C`` (0 for the pure law).
    - ``n_ci``: percentile interval over bootstrap replicates, an unreachable replicate counting as
      n = inf; so the upper bound is inf once more than (1 - ci)/2 of replicates (5% at ci = 0.90)
      cannot reach the target. Bounds use the nearest replicate (no interpolation across inf).
    - ``frac_unreachable``: the fraction of replicates whose floor C_b is at or above the target.
    - ``extrapolation``: ``n / max measured n``; above 1 the plan extrapolates beyond the data, and
      the further above, the less the law (and its interval) can be trusted.
    """

    target_mae: float
    reachable: bool
    n: float
    n_ci: tuple[float, float]
    frac_unreachable: float
    best_mae: float
    extrapolation: float
    n_max_measured: float
    ci: float

    @property
    def extrapolates(self) -> bool:
        """True when the planned n lies above the largest measured size."""
        return bool(self.extrapolation > 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; inf becomes None, so ``reachable`` and ``n_ci_upper_unbounded`` say which."""
        return _jsonable(
            {
                "target_mae": self.target_mae, "reachable": self.reachable, "n": self.n, "n_ci": self.n_ci,
                "n_ci_upper_unbounded": bool(self.n_ci[1] == math.inf), "frac_unreachable": self.frac_unreachable,
                "best_mae": self.best_mae, "extrapolation": self.extrapolation, "extrapolates": self.extrapolates,
                "n_max_measured": self.n_max_measured, "ci": self.ci,
            }
        )


def _n_for_target(alpha: Any, C: Any, D: Any, target: float) -> np.ndarray:
    """Solve D n^-alpha + C = target for n; inf where target <= C."""
    alpha, C, D = (np.asarray(v, dtype=float) for v in (alpha, C, D))
    gap = target - C
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = np.power(D / np.where(gap > 0, gap, 1.0), 1.0 / alpha)
    return np.where(gap > 0, n, np.inf)


def plan_n(fit: PowerLawFit, target_mae: float) -> Plan:
    """The pretraining size at which the fitted law reaches ``target_mae``: ``n = (D / (target - C))**(1/alpha)``.

    Unreachable (n = inf) when ``target <= C``: no amount of simulated data gets below the floor,
    and ``best_mae`` reports it. The interval comes from the fit's bootstrap replicates (see `Plan`).
    The result always carries the extrapolation factor so that a caller never extrapolates silently.
    """
    if not isinstance(fit, PowerLawFit):
        raise S2RBenchError("plan_n: fit must be a PowerLawFit from fit_power_law")
    t = _check_target(target_mae, "plan_n")
    n = float(_n_for_target(fit.alpha, fit.C, fit.D, t))
    boot = fit.boot[np.all(np.isfinite(fit.boot), axis=1)] if fit.boot.size else fit.boot
    if len(boot):
        nb = _n_for_target(boot[:, 0], boot[:, 1], boot[:, 2], t)
        frac = float(np.mean(np.isinf(nb)))
        lo = float(np.percentile(nb, 50.0 * (1.0 - fit.ci), method="lower"))
        hi = float(np.percentile(nb, 50.0 * (1.0 + fit.ci), method="higher"))
        n_ci = (lo, hi)
    else:
        frac, n_ci = math.nan, (math.nan, math.nan)
    n_max = float(fit.n.max())
    return Plan(
        target_mae=t, reachable=bool(math.isfinite(n)), n=n, n_ci=n_ci, frac_unreachable=frac,
        best_mae=float(fit.C), extrapolation=n / n_max, n_max_measured=n_max, ci=fit.ci,
    )


# --------------------------------------------------------------------------------------------------
# The two-size surface E(n, m) = delta (gamma + n^-alpha) m^-beta
# --------------------------------------------------------------------------------------------------


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

    def predict(self, n: Any, m: Any) -> np.ndarray:
        """Predicted mean MAE at (n, m); arrays broadcast (use ``n[:, None], m[None, :]`` for a grid)."""
        n = np.asarray(n, dtype=float)
        m = np.asarray(m, dtype=float)
        return self.delta * (self.gamma + np.power(n, -self.alpha)) * np.power(m, -self.beta)

    def to_dict(self, include_boot: bool = False) -> dict[str, Any]:
        """JSON-ready dict (lists, floats; NaN/inf become None)."""
        d: dict[str, Any] = {
            "law": "delta*(gamma + n^-alpha)*m^-beta",
            "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "delta": self.delta,
            "alpha_ci": self.alpha_ci, "beta_ci": self.beta_ci, "gamma_ci": self.gamma_ci, "delta_ci": self.delta_ci,
            "r2": self.r2, "r2_ci": self.r2_ci, "n": self.n, "m": self.m, "mean_mae": self.mean_mae,
            "n_trials": self.n_trials, "n_boot": int(self.boot.shape[0]), "ci": self.ci,
        }
        if include_boot:
            d["boot"] = self.boot
        return _jsonable(d)


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
    pred_all = delta * (gamma + np.exp(-alpha * (Xall[:, 0] + ln_gn))) * np.exp(-beta * (Xall[:, 1] + ln_gm))
    r2 = _r2(yall, pred_all)

    counts = _boot_counts(T, n_boot, seed)
    if counts is not None:
        Yb = _means(counts, Y.reshape(T, -1))  # (B, cells)
        valid = np.isfinite(Yb) & (Yb > 0)
        TY = np.where(valid, np.log(np.where(valid, Yb, 1.0)), 0.0)
        B = Yb.shape[0]
        tb, _ = _lm_batch(
            _surface, Xall, TY, valid.astype(float), np.broadcast_to(theta, (B, 4)),
            np.broadcast_to(lo, (B, 4)), np.broadcast_to(hi, (B, 4)), "log",
        )
        boot = to_user(tb)
        fb, _ = _surface(tb, Xall)
        r2b = _r2_rows(np.where(valid, Yb, np.nan), fb)
        r2b[np.isnan(tb[:, 0])] = np.nan
    else:
        boot, r2b = np.empty((0, 4)), np.empty(0)
    return SurfaceFit(
        alpha=alpha, beta=beta, gamma=gamma, delta=delta,
        alpha_ci=_percentile_ci(boot[:, 0], ci), beta_ci=_percentile_ci(boot[:, 1], ci),
        gamma_ci=_percentile_ci(boot[:, 2], ci), delta_ci=_percentile_ci(boot[:, 3], ci),
        r2=r2, r2_ci=_percentile_ci(r2b, ci), n=ns, m=ms, mean_mae=ybar, n_trials=T, boot=boot, ci=ci,
    )


# --------------------------------------------------------------------------------------------------
# Cost planning on the surface
# --------------------------------------------------------------------------------------------------


def _surf_E(s: SurfaceFit, n: float, m: float) -> float:
    """E(n, m) with the limits n = inf (E = delta gamma m^-beta) and m = inf (E = 0) allowed."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        pn = 0.0 if n == math.inf else n ** (-s.alpha)
        pm = 0.0 if m == math.inf else m ** (-s.beta)
    return float(s.delta * (s.gamma + pn) * pm)


def _surf_n_for(s: SurfaceFit, t: float, m: Any) -> np.ndarray:
    """Smallest n with E(n, m) <= t at fixed m: (t m^beta / delta - gamma)^(-1/alpha); inf if none."""
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        q = t * np.power(m, s.beta) / s.delta - s.gamma
        n = np.power(np.where(q > 0, q, 1.0), -1.0 / s.alpha)
    return np.where(q > 0, n, np.inf)


def _surf_m_for(s: SurfaceFit, t: float, n: float) -> float:
    """Smallest m with E(n, m) <= t at fixed n: (delta (gamma + n^-alpha) / t)^(1/beta)."""
    pn = 0.0 if n == math.inf else n ** (-s.alpha)
    with np.errstate(over="ignore"):
        return float((s.delta * (s.gamma + pn) / t) ** (1.0 / s.beta))


def _argmin_cost(s: SurfaceFit, t: float, cs: float, ce: float, m_lo: float, m_hi: float) -> tuple[float, float]:
    """Minimise cs * n(m) + ce * m over m in [m_lo, m_hi] (n(m) the minimal n); returns (n, m).

    A log-spaced grid finds the basin (n(m) is decreasing and convex in m, so the cost is unimodal,
    but the grid also protects against any flat stretch) and a bounded Brent search polishes it.
    The caller guarantees n(m_hi) is finite.
    """
    if not m_hi > m_lo:
        m = m_hi
        return float(_surf_n_for(s, t, m)), float(m)
    u = np.linspace(math.log(m_lo), math.log(m_hi), 2049)
    mm = np.exp(u)
    cost = cs * _surf_n_for(s, t, mm) + ce * mm
    i = int(np.argmin(cost))
    best_u, best_c = u[i], cost[i]
    a, b = u[max(i - 1, 0)], u[min(i + 1, len(u) - 1)]
    if b > a:
        f = lambda v: float(cs * _surf_n_for(s, t, math.exp(v)) + ce * math.exp(v))  # noqa: E731
        res = minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-12 * max(1.0, abs(a))})
        if res.fun < best_c:
            best_u = float(res.x)
    m = math.exp(best_u)
    if i == len(u) - 1 or best_u >= u[-1]:
        m = m_hi  # the optimum sits on the upper limit: report the limit itself, not a grid rounding
    return float(_surf_n_for(s, t, m)), float(m)


@dataclass(frozen=True, eq=False)
class CostOption:
    """One way to reach the target: sizes (n, m), total and extra cost, and how far it extrapolates.

    ``cost = cost_sim * n + cost_exp * m`` (everything from zero); ``extra_cost`` counts only what is
    beyond the current (n0, m0). When unreachable within the limits, the unreachable size is inf,
    costs are inf and ``best_mae`` is the lowest MAE this option can reach. ``extrapolation_n`` and
    ``extrapolation_m`` are n and m over the largest measured sizes of the surface.
    """

    label: str
    reachable: bool
    n: float
    m: float
    cost: float
    extra_cost: float
    best_mae: float
    extrapolation_n: float
    extrapolation_m: float

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dict(self.__dict__))


@dataclass(frozen=True, eq=False)
class CostPlan:
    """The cheapest (n, m) reaching ``target_mae`` on a fitted surface, and the alternatives.

    - ``cheapest``: minimal ``cost_sim * n + cost_exp * m`` over all (n, m) within the limits.
    - ``from_current``: minimal *extra* cost when (n0, m0) are already paid for (n >= n0, m >= m0).
    - ``more_sims``: only more simulations (n at m = m0); ``more_exps``: only more experiments
      (m at n = n0).
    Sizes are continuous; round up for an actual campaign.
    """

    target_mae: float
    cost_sim: float
    cost_exp: float
    n0: float
    m0: float
    current_mae: float
    n_max: float
    m_max: float
    cheapest: CostOption
    from_current: CostOption
    more_sims: CostOption
    more_exps: CostOption

    @property
    def reachable(self) -> bool:
        return self.cheapest.reachable

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "target_mae": self.target_mae, "cost_sim": self.cost_sim, "cost_exp": self.cost_exp,
                "n0": self.n0, "m0": self.m0, "current_mae": self.current_mae, "n_max": self.n_max,
                "m_max": self.m_max, "reachable": self.reachable,
                "cheapest": self.cheapest.to_dict(), "from_current": self.from_current.to_dict(),
                "more_sims": self.more_sims.to_dict(), "more_exps": self.more_exps.to_dict(),
            }
        )


def _check_positive(value: Any, name: str, fname: str, allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if math.isnan(v) or v <= 0 or (v == math.inf and not allow_inf):
        more = " (inf allowed)" if allow_inf else ""
        raise S2RBenchError(f"{fname}: {name} must be a finite number > 0{more} (got {value!r})")
    return v


def plan_cost(
    surface: SurfaceFit,
    target_mae: float,
    cost_sim: float,
    cost_exp: float,
    n_max: float = math.inf,
    m_max: float = math.inf,
    *,
    n0: float | None = None,
    m0: float | None = None,
) -> CostPlan:
    """Cheapest (n, m) with ``E(n, m) <= target_mae`` on the fitted surface, plus single-axis options.

    At fixed m the minimal n is analytic, ``n(m) = (target m^beta / delta - gamma)^(-1/alpha)``
    (defined where ``target m^beta > delta gamma``), so the two-size problem is a 1-D minimisation of
    ``cost_sim n(m) + cost_exp m`` over m, restricted to n <= ``n_max`` and m <= ``m_max``.
    The current state (n0, m0) defaults to the largest measured sizes. Unreachable means the target is
    below what the surface allows within the limits: ``E(n_max, m_max)`` (with n_max = inf the floor
    is ``delta gamma m^-beta``, so only more real data helps; with m_max = inf any target > 0 is
    reachable). Extrapolation factors say how far each answer lies beyond the measured grid.
    """
    fname = "plan_cost"
    if not isinstance(surface, SurfaceFit):
        raise S2RBenchError(f"{fname}: surface must be a SurfaceFit from fit_surface")
    t = _check_target(target_mae, fname)
    cs = _check_positive(cost_sim, "cost_sim", fname)
    ce = _check_positive(cost_exp, "cost_exp", fname)
    n_max = _check_positive(n_max, "n_max", fname, allow_inf=True)
    m_max = _check_positive(m_max, "m_max", fname, allow_inf=True)
    n0 = float(surface.n.max()) if n0 is None else _check_positive(n0, "n0", fname)
    m0 = float(surface.m.max()) if m0 is None else _check_positive(m0, "m0", fname)
    if n0 > n_max or m0 > m_max:
        raise S2RBenchError(f"{fname}: the current (n0, m0) = ({n0:g}, {m0:g}) exceeds (n_max, m_max); raise the limits")
    nmeas, mmeas = float(surface.n.max()), float(surface.m.max())

    def option(label: str, n: float, m: float, best: float) -> CostOption:
        reach = math.isfinite(n) and math.isfinite(m)
        cost = cs * n + ce * m if reach else math.inf
        extra = cs * max(n - n0, 0.0) + ce * max(m - m0, 0.0) if reach else math.inf
        return CostOption(
            label=label, reachable=reach, n=n, m=m, cost=cost, extra_cost=extra, best_mae=best,
            extrapolation_n=n / nmeas, extrapolation_m=m / mmeas,
        )

    def reaches(best: float, finite_limits: bool) -> bool:
        return best <= t if finite_limits else best < t

    # Cheapest overall.
    best_all = _surf_E(surface, n_max, m_max)
    finite_both = math.isfinite(n_max) and math.isfinite(m_max)
    if reaches(best_all, finite_both):
        m_feas = _surf_m_for(surface, t, n_max)  # below this m even n_max is not enough
        if math.isfinite(m_max):
            m_ref = m_max
        else:
            m_ref = 2.0 * m_feas if m_feas > 0 else mmeas
        n_ref = float(_surf_n_for(surface, t, m_ref))
        if math.isfinite(n_ref):
            c_ref = cs * n_ref + ce * m_ref
            m_hi = min(m_max, c_ref / ce)
            m_lo = max(m_feas, _surf_m_for(surface, t, min(n_max, c_ref / cs)))
            n_c, m_c = _argmin_cost(surface, t, cs, ce, m_lo, m_hi)
            cheapest = option("cheapest", n_c, m_c, best_all)
        else:  # target met only exactly at the corner (n_max, m_max)
            cheapest = option("cheapest", n_max, m_max, best_all)
    else:
        cheapest = option("cheapest", math.inf, math.inf, best_all)

    # Cheapest extension of the current state.
    current = _surf_E(surface, n0, m0)
    if current <= t:
        from_current = option("from_current", n0, m0, best_all)
    elif reaches(best_all, finite_both):
        m_at_n0 = _surf_m_for(surface, t, n0)
        m_lo = max(m0, _surf_m_for(surface, t, n_max))
        m_hi = min(m_max, m_at_n0)
        if m_hi >= m_lo and math.isfinite(float(_surf_n_for(surface, t, m_hi))):
            n_c, m_c = _argmin_cost(surface, t, cs, ce, m_lo, m_hi)
            from_current = option("from_current", max(n_c, n0), m_c, best_all)
        else:
            from_current = option("from_current", math.inf, math.inf, best_all)
    else:
        from_current = option("from_current", math.inf, math.inf, best_all)

    # Single axes.
    best_sims = _surf_E(surface, n_max, m0)
    n_s = float(_surf_n_for(surface, t, m0))
    more_sims = option("more_sims", n_s if n_s <= n_max else math.inf, m0, best_sims)
    best_exps = _surf_E(surface, n0, m_max)
    m_e = _surf_m_for(surface, t, n0)
    more_exps = option("more_exps", n0, m_e if m_e <= m_max else math.inf, best_exps)

    return CostPlan(
        target_mae=t, cost_sim=cs, cost_exp=ce, n0=n0, m0=m0, current_mae=current, n_max=n_max, m_max=m_max,
        cheapest=cheapest, from_current=from_current, more_sims=more_sims, more_exps=more_exps,
    )


# --------------------------------------------------------------------------------------------------
# What simulations are worth
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Equivalence:
    """Exchange rates at one (n, m); see `equivalent_real` for the definitions."""

    n: float
    m: float
    transfer_mae: float
    scratch_mae: float
    m_equiv: float
    equiv_ratio: float
    reachable: bool
    sims_per_experiment: float
    sims_per_experiment_reachable: bool

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dict(self.__dict__))


def equivalent_real(surface: SurfaceFit, scratch: PowerLawFit, n: float, m: float) -> Equivalence:
    """What pretraining on n simulations is worth in real samples, and what one experiment is worth in simulations.

    Definitions, at the point (n, m) of the fitted transfer surface ``E(n, m)``:

    - ``transfer_mae = E(n, m)``; ``scratch_mae = E0(m)`` with the scratch curve
      ``E0(m) = a m^-b + c`` from `fit_scratch` (a, b, c = its D, alpha, C).
    - ``m_equiv`` (m'): the real-sample count at which a model trained from scratch matches the
      transfer model, ``E0(m') = E(n, m)``, i.e. ``m' = (a / (E(n, m) - c))^(1/b)``. It is inf
      (``reachable`` False) when ``E(n, m) <= c``: no amount of real data alone gets there.
      ``equiv_ratio = m' / m`` is the effective multiplier pretraining puts on the real data.
    - ``sims_per_experiment`` (Δn): the number of extra simulations that gains as much as one extra
      real sample, ``E(n + Δn, m) = E(n, m + 1)``, i.e.
      ``Δn = ((gamma + n^-alpha) (m / (m + 1))^beta - gamma)^(-1/alpha) - n``; inf (and
      ``sims_per_experiment_reachable`` False) when the right-hand side is <= gamma, i.e. when the
      gain of one experiment exceeds everything simulation can still deliver at this m.

    Both curves must use the same real-size units and the same test set; the rates are point
    estimates and, like every extrapolation of a fitted law, are only as good as its range.
    """
    fname = "equivalent_real"
    if not isinstance(surface, SurfaceFit):
        raise S2RBenchError(f"{fname}: surface must be a SurfaceFit from fit_surface")
    if not isinstance(scratch, PowerLawFit):
        raise S2RBenchError(f"{fname}: scratch must be a PowerLawFit from fit_scratch")
    n = _check_positive(n, "n", fname)
    m = _check_positive(m, "m", fname)
    e_t = _surf_E(surface, n, m)
    a, b, c = scratch.D, scratch.alpha, scratch.C
    e_0 = float(a * m ** (-b) + c)
    if e_t > c:
        with np.errstate(over="ignore"):
            m_eq = float((a / (e_t - c)) ** (1.0 / b))
    else:
        m_eq = math.inf
    g = surface.gamma
    rhs = (g + n ** (-surface.alpha)) * (m / (m + 1.0)) ** surface.beta
    if rhs > g:
        with np.errstate(over="ignore"):
            dn = float((rhs - g) ** (-1.0 / surface.alpha) - n)
    else:
        dn = math.inf
    return Equivalence(
        n=n, m=m, transfer_mae=e_t, scratch_mae=e_0, m_equiv=m_eq, equiv_ratio=m_eq / m,
        reachable=math.isfinite(m_eq), sims_per_experiment=dn, sims_per_experiment_reachable=math.isfinite(dn),
    )


# --------------------------------------------------------------------------------------------------
# Back-testing the extrapolation
# --------------------------------------------------------------------------------------------------


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
                "split": self.split, "fit": self.fit.to_dict(), "mean_abs_rel_error": self.mean_abs_rel_error,
                "max_abs_rel_error": self.max_abs_rel_error, "coverage": self.coverage,
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
    k = int(round(sp * K)) if 0.0 < sp < 1.0 else -1
    if k < 3 or k > K - 1:
        raise S2RBenchError(
            f"{fname}: split={split!r} of {K} sizes leaves {max(k, 0)} to fit and {K - max(k, 0)} to predict; "
            "need >= 3 and >= 1 (use a split in (0, 1) and measure more sizes)"
        )
    counts = _boot_counts(Y.shape[0], n_boot, seed)
    fit = _fit_curve(
        xs[:k], Y[:, :k], n_boot=n_boot, ci=ci, seed=seed, with_offset=with_offset, space=space,
        fname=fname, xname="n", counts=counts,
    )
    xt, Yt = xs[k:], Y[:, k:]
    obs = np.nanmean(Yt, axis=0)
    pred = fit.predict(xt)
    if counts is not None and len(fit.boot):
        ob = _means(counts, Yt)
        bt = fit.boot
        with np.errstate(invalid="ignore", over="ignore"):
            pb = bt[:, 2:3] * np.power(xt[None, :], -bt[:, 0:1]) + bt[:, 1:2]
        dd = (ob - pb) - (obs - pred)[None, :]
        dd = np.where(np.isfinite(dd), dd, np.nan)
        ql = np.nanpercentile(dd, 50.0 * (1.0 - ci), axis=0)
        qh = np.nanpercentile(dd, 50.0 * (1.0 + ci), axis=0)
        lo, hi = pred + ql, pred + qh
        covered = pd.array((obs >= lo) & (obs <= hi), dtype="boolean")
    else:
        lo = hi = np.full(len(xt), np.nan)
        covered = pd.array([pd.NA] * len(xt), dtype="boolean")
    table = pd.DataFrame(
        {
            "n": xt, "observed": obs, "predicted": pred, "pi_lo": lo, "pi_hi": hi,
            "rel_error": (pred - obs) / obs, "covered": covered, "extrapolation": xt / xs[k - 1],
        }
    )
    return Backtest(fit=fit, table=table, split=sp)
