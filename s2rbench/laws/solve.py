"""Bounded least squares for the laws: one multi-start solver for point estimates, one batched solver for replicates.

A model maps parameter rows ``theta`` (B, P) and a design ``X`` (N, d) to values (B, N) and their
Jacobian (B, N, P), so every law family is fitted by the same two functions:

* `fit_multistart`: all starts first go through `lm_batch` together (one vectorised solve,
  milliseconds); the best few end points are polished by `scipy.optimize.least_squares`
  (trust-region reflective, bounds), the lowest cost wins. Screening first matters for speed: one
  scipy call costs ~10 ms, so 15 starts x 2 laws x hundreds of fits would dominate any sweep.
* `lm_batch`: a bound-projected Levenberg-Marquardt on B independent problems at once, used for
  bootstrap replicates warm-started at the point estimate: a replicate is a small perturbation of
  the data and needs no global search, and 1000 replicates cost milliseconds where 1000 scipy calls
  cost seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import least_squares

from ..errors import S2RBenchError

#: Upper bound on the exponents alpha and beta. Measured scaling exponents are well below 2; the bound
#: only stops a flat curve from sending an exponent to infinity (the fit is then meaningless anyway).
EXPONENT_MAX = 10.0
#: Lower bound standing in for the strict alpha > 0, beta > 0 (bounds are closed sets).
EXPONENT_MIN = 1e-6
#: Upper bound on the surface's gamma in normalised units (gamma relative to n**-alpha at mid-grid).
GAMMA_NORM_MAX = 1e8

# A model maps parameters theta (B, P) and a design X (N, d) to values f (B, N) and df/dtheta (B, N, P).
Model = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _residuals(
    model: Model, theta: np.ndarray, X: np.ndarray, ty: np.ndarray, w: np.ndarray, space: str
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


def fit_multistart(
    model: Model,
    X: np.ndarray,
    ty: np.ndarray,
    starts: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    space: str,
    n_polish: int = 2,
) -> tuple[np.ndarray, float]:
    """Multi-start bounded least squares; returns (theta, residual sum of squares).

    All starts first run together through the batched solver `lm_batch` (one vectorised solve,
    milliseconds); the ``n_polish`` best end points are then refined by `scipy.optimize.least_squares`
    (trust-region reflective, bounds), and the lowest cost wins. Screening first matters for speed:
    one scipy call costs ~10 ms, so 15 starts x 2 laws x hundreds of fits would dominate the tests
    and any sweep, while the polished answer is the same. ``X`` and ``ty`` hold valid points only.
    """
    starts = np.clip(np.asarray(starts, dtype=float), lo, hi)
    S = len(starts)
    TY = np.broadcast_to(ty, (S, len(ty)))
    W = np.ones((S, len(ty)))
    screened, costs = lm_batch(
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
                    fun,
                    np.clip(x0, lo, hi),
                    jac=jac,
                    bounds=(lo, hi),
                    method="trf",
                    x_scale="jac",
                    ftol=1e-12,
                    xtol=1e-12,
                    gtol=1e-12,
                    max_nfev=2000,
                )
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            continue
        if np.isfinite(res.cost) and res.cost <= best_cost:
            best_theta, best_cost = res.x, float(res.cost)
    if best_theta is None:  # pragma: no cover - every start failed numerically
        raise S2RBenchError("the scaling-law fit did not converge from any start; check the MAEs for outliers")
    return np.asarray(best_theta, dtype=float), 2.0 * best_cost


def lm_batch(
    model: Model,
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


_fit_multistart = fit_multistart
_lm_batch = lm_batch
