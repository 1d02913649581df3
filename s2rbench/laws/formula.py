"""The laws' formulas, written once, over rows of parameters.

Every decision (the n for a target, the m for a target, the cheapest (n, m), what a simulation is
worth in real samples, the prediction of a backtest, a figure's curve and band) evaluates these
functions on a (B, P) array of parameter rows: the B bootstrap replicates for an interval, or the
point estimate as B = 1. Writing each formula once is the point: the point estimate and its
interval can no longer disagree because two copies of the algebra drifted apart.

Column conventions (the order of a fit's ``boot`` array):

* curve ``E(n) = D·n^−α + C``: ``(alpha, C, D)``; the scratch curve ``E0(m) = a·m^−b + c`` is the
  same law with ``(b, c, a)``.
* surface ``E(n, m) = δ·(γ + n^−α)·m^−β``: ``(alpha, beta, gamma, delta)``.

Broadcasting: a size argument ``x`` of shape () gives one value per row, shape (B,); an ``x`` whose
first axis has length B (or 1) pairs row b with ``x[b]`` and broadcasts the other axes, so a
common grid for every row is passed as ``grid[None, :]`` and gives (B, G). ``n = inf`` is allowed
(the asymptote); so is ``m = inf`` on the surface (E = 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "CURVE_COLUMNS",
    "CURVE_TEXT",
    "SCRATCH_TEXT",
    "SURFACE_COLUMNS",
    "SURFACE_TEXT",
    "curve_mae",
    "curve_n_for",
    "rows",
    "sims_per_experiment",
    "surface_m_for",
    "surface_mae",
    "surface_n_for",
]

CURVE_COLUMNS = ("alpha", "C", "D")
SURFACE_COLUMNS = ("alpha", "beta", "gamma", "delta")
#: How the laws are written in tables and figures.
CURVE_TEXT = "D·n^−α + C"
SCRATCH_TEXT = "a·m^−b + c"
SURFACE_TEXT = "δ·(γ + n^−α)·m^−β"


def rows(P: Any, width: int) -> np.ndarray:
    """Parameters as a float (B, width) array; one row (a point estimate) may be given flat."""
    a = np.asarray(P, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != width:
        raise ValueError(f"parameter rows must have shape (B, {width}), got {a.shape}")
    return a


def _cols(P: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
    """The columns of P shaped to broadcast against x (see the module docstring)."""
    shape = (P.shape[0],) + (1,) * max(x.ndim - 1, 0)
    return [P[:, i].reshape(shape) for i in range(P.shape[1])]


def _pow_neg(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """x^-e with x = inf giving 0."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return np.where(np.isinf(x), 0.0, np.power(x, -e))


def curve_mae(P: Any, n: Any) -> np.ndarray:
    """``D·n^−α + C`` per row of ``P`` (alpha, C, D)."""
    P = rows(P, 3)
    n = np.asarray(n, dtype=float)
    al, c, d = _cols(P, n)
    return d * _pow_neg(n, al) + c


def curve_n_for(P: Any, target: Any) -> np.ndarray:
    """The size where ``D·n^−α + C = target``: ``(D / (target − C))^(1/α)``; inf where target <= C.

    ``target`` is a scalar or one value per row. On the scratch curve this is m', the real-sample
    count at which training from scratch reaches a given MAE.
    """
    P = rows(P, 3)
    t = np.asarray(target, dtype=float)
    al, c, d = _cols(P, t)
    if t.ndim == 0:
        al, c, d = P[:, 0], P[:, 1], P[:, 2]
    gap = t - c
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = np.power(d / np.where(gap > 0, gap, 1.0), 1.0 / al)
    return np.where(gap > 0, n, np.inf)


def surface_mae(P: Any, n: Any, m: Any) -> np.ndarray:
    """``δ·(γ + n^−α)·m^−β`` per row of ``P`` (alpha, beta, gamma, delta); n = inf and m = inf allowed."""
    P = rows(P, 4)
    n = np.asarray(n, dtype=float)
    m = np.asarray(m, dtype=float)
    ref = n if n.ndim >= m.ndim else m
    al, be, ga, de = _cols(P, ref)
    return de * (ga + _pow_neg(n, al)) * _pow_neg(m, be)


def surface_n_for(P: Any, target: float, m: Any) -> np.ndarray:
    """Smallest n with ``E(n, m) <= target`` at fixed m: ``(t·m^β/δ − γ)^(−1/α)``; inf where none."""
    P = rows(P, 4)
    m = np.asarray(m, dtype=float)
    al, be, ga, de = _cols(P, m)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        q = target * np.power(m, be) / de - ga
        n = np.power(np.where(q > 0, q, 1.0), -1.0 / al)
    return np.where(q > 0, n, np.inf)


def surface_m_for(P: Any, target: float, n: Any) -> np.ndarray:
    """Smallest m with ``E(n, m) <= target`` at fixed n: ``(δ·(γ + n^−α) / t)^(1/β)``."""
    P = rows(P, 4)
    n = np.asarray(n, dtype=float)
    al, be, ga, de = _cols(P, n)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return np.power(de * (ga + _pow_neg(n, al)) / target, 1.0 / be)


def sims_per_experiment(P: Any, n: float, m: float) -> np.ndarray:
    """Δn with ``E(n + Δn, m) = E(n, m + 1)``: ``((γ + n^−α)·(m/(m+1))^β − γ)^(−1/α) − n``; inf when the
    right-hand side is <= γ (one experiment gains more than simulation can still deliver at this m)."""
    P = rows(P, 4)
    al, be, ga = P[:, 0], P[:, 1], P[:, 2]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rhs = (ga + np.power(n, -al)) * (m / (m + 1.0)) ** be
        dn = np.power(np.where(rhs > ga, rhs - ga, 1.0), -1.0 / al) - n
    return np.where(rhs > ga, dn, np.inf)
