"""Decisions taken from fitted laws, each written once over rows of parameters.

Every decision is a function of a (B, P) array of parameter rows (see `s2rbench.laws.formula`):
the point estimate is B = 1, the bootstrap interval the same call on the B replicate rows. So the
n that reaches a target (`n_for_target`), the cheapest (n, m) on the surface and its single-axis
alternatives (`cost_options`), the equivalent real samples m' and the simulations one experiment
is worth Δn (`equivalence_rows`) are each one piece of code; `plan_n`, `plan_cost` and
`equivalent_real` wrap them for a fitted law's point estimate, and `s2rbench.analysis` calls the
same functions on the replicates for the intervals.

The cheapest (n, m): at fixed m the minimal n is analytic, so the two-size problem is a 1-D
minimisation of ``cost_sim·n(m) + cost_exp·m`` over m in a bracket. n(m) is decreasing and convex in
m, so the cost is unimodal; a log-spaced grid of 257 nodes per row, zoomed six times around the best
node, resolves log m to ~1e-12 of the bracket for every row at once (no per-row scalar solver).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import S2RBenchError
from .curve import PowerLawFit
from .formula import curve_mae, curve_n_for, sims_per_experiment, surface_m_for, surface_mae, surface_n_for
from .jsonable import jsonable as _jsonable
from .surface import SurfaceFit

__all__ = [
    "CostOption",
    "CostPlan",
    "Equivalence",
    "Plan",
    "argmin_cost",
    "cost_options",
    "equivalence_rows",
    "equivalent_real",
    "interval",
    "n_for_target",
    "plan_cost",
    "plan_n",
]


def interval(values: Any, ci: float) -> tuple[float, float]:
    """Percentile interval over replicates where inf is a legitimate value (unreachable): the bounds
    are the nearest replicates, so an upper bound is inf once more than (1 - ci)/2 of them are inf.
    NaN replicates (fits that failed) are dropped; no replicates -> (nan, nan)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (math.nan, math.nan)
    lo = float(np.percentile(v, 50.0 * (1.0 - ci), method="lower"))
    hi = float(np.percentile(v, 50.0 * (1.0 + ci), method="higher"))
    return (lo, hi)


def finite_rows(P: np.ndarray, width: int) -> np.ndarray:
    """Replicate rows with every parameter finite (failed replicates dropped)."""
    P = np.asarray(P, dtype=float)
    if P.size == 0:
        return np.empty((0, width))
    return P[np.all(np.isfinite(P), axis=1)]


# --------------------------------------------------------------------------------------------------
# n for a target on a curve
# --------------------------------------------------------------------------------------------------


def n_for_target(P: Any, target: Any) -> np.ndarray:
    """Per row (alpha, C, D): the n where the curve reaches ``target``; inf where target <= C."""
    return curve_n_for(P, target)


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
                "target_mae": self.target_mae,
                "reachable": self.reachable,
                "n": self.n,
                "n_ci": self.n_ci,
                "n_ci_upper_unbounded": bool(self.n_ci[1] == math.inf),
                "frac_unreachable": self.frac_unreachable,
                "best_mae": self.best_mae,
                "extrapolation": self.extrapolation,
                "extrapolates": self.extrapolates,
                "n_max_measured": self.n_max_measured,
                "ci": self.ci,
            }
        )


def plan_n(fit: PowerLawFit, target_mae: float) -> Plan:
    """The pretraining size at which the fitted law reaches ``target_mae``: ``n = (D / (target - C))**(1/alpha)``.

    Unreachable (n = inf) when ``target <= C``: no amount of simulated data gets below the floor,
    and ``best_mae`` reports it. The interval comes from the fit's bootstrap replicates (see `Plan`).
    The result always carries the extrapolation factor so that a caller never extrapolates silently.
    """
    if not isinstance(fit, PowerLawFit):
        raise S2RBenchError("plan_n: fit must be a PowerLawFit from fit_power_law")
    t = _check_target(target_mae, "plan_n")
    n = float(n_for_target(fit.params, t)[0])
    boot = finite_rows(fit.boot, 3)
    if len(boot):
        nb = n_for_target(boot, t)
        frac = float(np.mean(np.isinf(nb)))
        n_ci = interval(nb, fit.ci)
    else:
        frac, n_ci = math.nan, (math.nan, math.nan)
    n_max = float(fit.n.max())
    return Plan(
        target_mae=t,
        reachable=bool(math.isfinite(n)),
        n=n,
        n_ci=n_ci,
        frac_unreachable=frac,
        best_mae=float(fit.C),
        extrapolation=n / n_max,
        n_max_measured=n_max,
        ci=fit.ci,
    )


# --------------------------------------------------------------------------------------------------
# The cheapest (n, m) on the surface, over rows
# --------------------------------------------------------------------------------------------------


def argmin_cost(
    P: Any, t: float, cs: float, ce: float, m_lo: Any, m_hi: Any, passes: int = 6, nodes: int = 257
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: minimise ``cs·n(m) + ce·m`` over m in [m_lo, m_hi] (n(m) the minimal n); returns (n, m).

    The caller guarantees n(m_hi) is finite. An optimum on the upper limit is reported as the limit
    itself, not a grid rounding; an empty bracket (m_hi <= m_lo) answers m_hi.
    """
    P = np.atleast_2d(np.asarray(P, dtype=float))
    B = P.shape[0]
    m_lo = np.broadcast_to(np.asarray(m_lo, dtype=float), (B,))
    m_hi = np.broadcast_to(np.asarray(m_hi, dtype=float), (B,))
    if B == 0:
        return np.empty(0), np.empty(0)
    top = np.log(m_hi)
    lo = np.minimum(np.log(m_lo), top)
    hi = top.copy()
    g = np.linspace(0.0, 1.0, nodes)[None, :]
    uk = hi.copy()
    step = np.zeros(B)
    for _ in range(passes):
        u = lo[:, None] + (hi - lo)[:, None] * g
        mm = np.exp(u)
        cost = cs * surface_n_for(P, t, mm) + ce * mm
        cost = np.where(np.isfinite(cost), cost, np.inf)
        k = np.argmin(cost, axis=1)
        step = (hi - lo) / (nodes - 1)
        uk = u[np.arange(B), k]
        lo, hi = np.maximum(uk - step, lo), np.minimum(uk + step, hi)
    m = np.exp(uk)
    at_top = uk >= top - 1.5 * step
    m = np.where(at_top, m_hi, m)
    return surface_n_for(P, t, m), m


def cost_options(
    P: Any, t: float, cs: float, ce: float, *, n0: float, m0: float, n_max: float, m_max: float, m_measured: float
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per row of surface parameters: the four ways to reach ``t`` as (n, m, best_mae) arrays.

    - ``cheapest``: minimal ``cs·n + ce·m`` with n <= n_max, m <= m_max (reachable where the best
      possible MAE ``E(n_max, m_max)`` is <= t with finite limits, < t with an infinite one);
    - ``from_current``: the cheapest extension of the current (n0, m0) (n >= n0, m >= m0);
    - ``more_sims``: more simulations only (n at m = m0); ``more_exps``: more experiments only (m at n = n0).
    Unreachable options have n = m = inf; ``best_mae`` is the lowest MAE each option can reach.
    """
    P = np.atleast_2d(np.asarray(P, dtype=float))
    B = P.shape[0]
    inf = np.full(B, np.inf)
    best_all = surface_mae(P, n_max, m_max)
    finite_both = math.isfinite(n_max) and math.isfinite(m_max)
    reach = best_all <= t if finite_both else best_all < t

    # cheapest overall
    n_c, m_c = inf.copy(), inf.copy()
    m_feas = surface_m_for(P, t, n_max)  # below this m even n_max is not enough
    if math.isfinite(m_max):
        m_ref = np.full(B, m_max)
    else:
        m_ref = np.where(m_feas > 0, 2.0 * m_feas, m_measured)
    n_ref = surface_n_for(P, t, m_ref)
    c_ref = cs * n_ref + ce * m_ref
    inner = reach & np.isfinite(n_ref)
    corner = reach & ~np.isfinite(n_ref)  # target met only exactly at the corner (n_max, m_max)
    if inner.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            m_hi = np.minimum(m_max, c_ref / ce)
            m_lo = np.maximum(m_feas, surface_m_for(P, t, np.minimum(n_max, c_ref / cs)))
        nn, mm = argmin_cost(P[inner], t, cs, ce, m_lo[inner], m_hi[inner])
        n_c[inner], m_c[inner] = nn, mm
    n_c[corner], m_c[corner] = n_max, m_max

    # cheapest extension of the current state
    n_f, m_f = inf.copy(), inf.copy()
    current = surface_mae(P, n0, m0)
    done = current <= t
    n_f[done], m_f[done] = n0, m0
    m_lo2 = np.maximum(m0, surface_m_for(P, t, n_max))
    m_hi2 = np.minimum(m_max, surface_m_for(P, t, n0))
    ext = ~done & reach & (m_hi2 >= m_lo2) & np.isfinite(surface_n_for(P, t, m_hi2))
    if ext.any():
        nn, mm = argmin_cost(P[ext], t, cs, ce, m_lo2[ext], m_hi2[ext])
        n_f[ext], m_f[ext] = np.maximum(nn, n0), mm

    # single axes
    n_s = surface_n_for(P, t, np.full(B, m0))
    m_e = surface_m_for(P, t, np.full(B, n0))
    return {
        "cheapest": (n_c, m_c, best_all),
        "from_current": (n_f, m_f, best_all),
        "more_sims": (np.where(n_s <= n_max, n_s, np.inf), np.full(B, m0), surface_mae(P, n_max, m0)),
        "more_exps": (np.full(B, n0), np.where(m_e <= m_max, m_e, np.inf), surface_mae(P, n0, m_max)),
    }


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
                "target_mae": self.target_mae,
                "cost_sim": self.cost_sim,
                "cost_exp": self.cost_exp,
                "n0": self.n0,
                "m0": self.m0,
                "current_mae": self.current_mae,
                "n_max": self.n_max,
                "m_max": self.m_max,
                "reachable": self.reachable,
                "cheapest": self.cheapest.to_dict(),
                "from_current": self.from_current.to_dict(),
                "more_sims": self.more_sims.to_dict(),
                "more_exps": self.more_exps.to_dict(),
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
    ``cost_sim n(m) + cost_exp m`` over m, restricted to n <= ``n_max`` and m <= ``m_max``
    (`cost_options` on the point estimate, B = 1).
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
        raise S2RBenchError(
            f"{fname}: the current (n0, m0) = ({n0:g}, {m0:g}) exceeds (n_max, m_max); raise the limits"
        )
    nmeas, mmeas = float(surface.n.max()), float(surface.m.max())
    opts = cost_options(surface.params, t, cs, ce, n0=n0, m0=m0, n_max=n_max, m_max=m_max, m_measured=mmeas)

    def option(label: str) -> CostOption:
        n, m, best = (float(v[0]) for v in opts[label])
        reach = math.isfinite(n) and math.isfinite(m)
        cost = cs * n + ce * m if reach else math.inf
        extra = cs * max(n - n0, 0.0) + ce * max(m - m0, 0.0) if reach else math.inf
        return CostOption(
            label=label,
            reachable=reach,
            n=n,
            m=m,
            cost=cost,
            extra_cost=extra,
            best_mae=best,
            extrapolation_n=n / nmeas,
            extrapolation_m=m / mmeas,
        )

    return CostPlan(
        target_mae=t,
        cost_sim=cs,
        cost_exp=ce,
        n0=n0,
        m0=m0,
        current_mae=float(surface_mae(surface.params, n0, m0)[0]),
        n_max=n_max,
        m_max=m_max,
        cheapest=option("cheapest"),
        from_current=option("from_current"),
        more_sims=option("more_sims"),
        more_exps=option("more_exps"),
    )


# --------------------------------------------------------------------------------------------------
# What simulations are worth
# --------------------------------------------------------------------------------------------------


def equivalence_rows(P: Any, S: Any, n: float, m: float) -> dict[str, np.ndarray]:
    """Per row pair (surface row P[b], scratch row S[b]): transfer MAE E(n, m), scratch MAE E0(m),
    m' with E0(m') = E(n, m) (inf where E(n, m) <= c) and Δn with E(n + Δn, m) = E(n, m + 1)."""
    e_t = surface_mae(P, n, m)
    return {
        "transfer_mae": e_t,
        "scratch_mae": curve_mae(S, m),
        "m_equiv": curve_n_for(S, e_t),
        "sims_per_experiment": sims_per_experiment(P, n, m),
    }


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
    r = {k: float(v[0]) for k, v in equivalence_rows(surface.params, scratch.params, n, m).items()}
    m_eq, dn = r["m_equiv"], r["sims_per_experiment"]
    return Equivalence(
        n=n,
        m=m,
        transfer_mae=r["transfer_mae"],
        scratch_mae=r["scratch_mae"],
        m_equiv=m_eq,
        equiv_ratio=m_eq / m,
        reachable=math.isfinite(m_eq),
        sims_per_experiment=dn,
        sims_per_experiment_reachable=math.isfinite(dn),
    )
