"""Plans from a run: the n that reaches a target at one m, or the cheapest (n, m) on the surface.

The decisions themselves are `s2rbench.laws.decisions` (each written once over parameter rows);
this module chooses the law (the surface at m, or the 1-D law at m), runs the decision on the
point estimate and on the bootstrap replicates, and attaches the checks, the extrapolation factors
and the notes. The definitions are in docs/planning.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import laws
from ..errors import S2RBenchError
from ..laws import jsonable as _jsonable
from ..laws.decisions import finite_rows
from ..laws.decisions import interval as _interval
from ..laws.families import family_n_for
from ..laws.formula import surface_mae, surface_n_for
from .extrapolates import chosen_family_fit, curve_backtest, surface_backtest, with_problem
from .lawcheck import R2_MIN, LawCheck, law_verdict
from .rundata import RunData, _check_m_in_grid, _require_surface, check_positive, extrapolation, load_run
from .runlaws import CurveReport, _curve_params, _surface_params, curve_report, surface_report


@dataclass(frozen=True, eq=False)
class NPlan:
    """The pretraining size n that reaches ``target_mae`` at one m (see docs/planning.md).

    ``law`` says which fit answered: ``"surface"`` (the two-variable law at this m) or ``"curve"``
    (the 1-D law fitted at this m alone). ``n_ci`` is the bootstrap interval (upper bound inf when
    more than (1 - ci)/2 of replicates cannot reach the target). ``best_mae`` is the asymptote at
    this m (C of the curve, δγm^−β of the surface) with its interval. ``n_extrapolation`` says where
    n lies relative to the measured n range. ``alternative`` is the same question answered by the
    other law, when there is one. ``check`` judges the law used; when it is not adequate the
    numbers are reported but should not be trusted.
    """

    run: dict[str, Any]
    target_mae: float
    m: int
    law: str
    reachable: bool
    n: float
    n_ci: tuple[float, float]
    frac_unreachable: float
    best_mae: float
    best_mae_ci: tuple[float, float]
    n_extrapolation: dict[str, Any]
    observed_mae_at_n_max: float
    n_max_measured: float
    scratch_mae: float
    check: LawCheck
    law_params: dict[str, Any]
    ci: float
    alternative: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    family: str = "power"
    backtest: dict[str, Any] | None = None

    @property
    def adequate(self) -> bool:
        return self.check.adequate

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["mode"] = "n"
        d["adequate"] = self.adequate
        d["n_ci_upper_unbounded"] = bool(self.n_ci[1] == math.inf)
        return _jsonable(d)


@dataclass(frozen=True, eq=False)
class CostPlanResult:
    """The cheapest (n, m) reaching ``target_mae`` on the fitted surface, and the alternatives.

    Each option (``cheapest``, ``from_current``, ``more_sims``, ``more_exps``) is a dict with ``n``,
    ``m``, ``cost`` (cost_sim·n + cost_exp·m, everything from zero), ``extra_cost`` (beyond the
    largest measured (n0, m0)), ``reachable``, bootstrap intervals ``n_ci``, ``m_ci``, ``cost_ci``,
    ``extra_cost_ci``, the fitted MAE at the point-estimate sizes across replicates ``mae_ci``, and
    ``n_extrapolation`` / ``m_extrapolation`` relative to the measured ranges.
    """

    run: dict[str, Any]
    target_mae: float
    cost_sim: float
    cost_exp: float
    n0: float
    m0: float
    current_mae_fit: float
    current_mae_observed: float
    n_max: float
    m_max: float
    cheapest: dict[str, Any]
    from_current: dict[str, Any]
    more_sims: dict[str, Any]
    more_exps: dict[str, Any]
    check: LawCheck
    law_params: dict[str, Any]
    ci: float
    notes: list[str] = field(default_factory=list)

    @property
    def adequate(self) -> bool:
        return self.check.adequate

    @property
    def reachable(self) -> bool:
        return bool(self.cheapest["reachable"])

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["mode"] = "cost"
        d["adequate"] = self.adequate
        d["reachable"] = self.reachable
        return _jsonable(d)


def _n_plan_from_curve(
    data: RunData, cr: CurveReport, t: float, m: int, ci: float, *, n_boot: int, seed: int
) -> dict[str, Any]:
    """The n for the target on the 1-D law at m: the power law when it passed its backtest, else the
    family the backtest chose (its n by bisection over rows), else the power law marked as failing."""
    fb = curve_backtest(data, m, n_boot=n_boot, seed=seed)
    bt_info: dict[str, Any] | None = None
    family = "power"
    if fb is not None:
        bt_info = {
            "n_fit": fb.n_fit,
            "n_held": fb.n_held,
            "chosen": fb.chosen,
            "tol": fb.tol,
            "errors": {k: r.get("mean_abs_rel_error") for k, r in fb.results.items()},
            "passed": {k: bool(r.get("passed")) for k, r in fb.results.items()},
        }
        if not fb.passed("power") and fb.chosen is not None:
            family = fb.chosen
    if family == "power":
        p = laws.plan_n(cr.fit, t)
        boot = finite_rows(cr.fit.boot, 3)
        check = cr.check
        if fb is not None and not fb.passed("power"):
            err = fb.results.get("power", {}).get("mean_abs_rel_error")
            check = with_problem(
                check,
                "no law family passed its backtest (fit on the smaller n, predict the largest"
                + (f"; the power law was off by {100 * err:.1f}%" if err is not None else "")
                + ")",
            )
        return {
            "law": "curve",
            "family": "power",
            "reachable": p.reachable,
            "n": p.n,
            "n_ci": p.n_ci,
            "frac_unreachable": p.frac_unreachable,
            "best_mae": p.best_mae,
            "best_mae_ci": _interval(boot[:, 1], ci) if len(boot) else (math.nan, math.nan),
            "check": check,
            "law_params": _curve_params(cr.fit),
            "backtest": bt_info,
        }
    ff = chosen_family_fit(data, m, family, n_boot=n_boot, seed=seed)
    n = float(family_n_for(family, ff.rows, t)[0])
    boot = finite_rows(ff.boot, len(ff.names))
    if len(boot):
        nb = family_n_for(family, boot, t)
        n_ci, frac = _interval(nb, ci), float(np.mean(np.isinf(nb)))
    else:
        n_ci, frac = (math.nan, math.nan), math.nan
    v = law_verdict(ff.to_dict())
    check = (
        cr.check
        if v.holds
        else with_problem(cr.check, f"the {family} law chosen by backtest is no law on every size: {v.reason}")
    )
    if v.holds and not cr.check.adequate:
        check = dataclasses.replace(cr.check, adequate=True, problems=[])
    return {
        "law": "curve",
        "family": family,
        "reachable": math.isfinite(n),
        "n": n,
        "n_ci": n_ci,
        "frac_unreachable": frac,
        "best_mae": 0.0,
        "best_mae_ci": (0.0, 0.0),
        "check": check,
        "law_params": {
            "law": ff.formula,
            **{k: ff.values[k] for k in ff.names},
            **{f"{k}_ci": ff.cis[k] for k in ff.names},
            "r2": ff.r2,
        },
        "backtest": bt_info,
    }


def _surface_bt_info(data: RunData, n_boot: int, ci: float, seed: int) -> dict[str, Any] | None:
    sb = surface_backtest(data, n_boot=n_boot, ci=ci, seed=seed)
    if sb is None:
        return None
    return {"passed": sb["passed"], "mean_abs_rel_error": sb.get("mean_abs_rel_error"), "error": sb.get("error")}


def _surface_check(data: RunData, rep: Any, n_boot: int, ci: float, seed: int) -> LawCheck:
    """The surface law's check, failing also when the surface did not pass its backtest."""
    sb = surface_backtest(data, n_boot=n_boot, ci=ci, seed=seed)
    chk = rep.surface_check
    if sb is not None and not sb["passed"]:
        err = sb.get("mean_abs_rel_error")
        what = sb.get("error") or (f"mean |error| {100 * err:.1f}% on the held-out n" if err is not None else "")
        chk = with_problem(chk, f"the surface law did not pass its backtest ({what})")
    return chk


def _n_plan_from_surface(s: laws.SurfaceFit, check: LawCheck, t: float, m: int, ci: float) -> dict[str, Any]:
    n = float(surface_n_for(s.params, t, float(m))[0])
    Pb = finite_rows(s.boot, 4)
    if len(Pb):
        nb = surface_n_for(Pb, t, float(m))
        n_ci, frac = _interval(nb, ci), float(np.mean(np.isinf(nb)))
        floor_ci = _interval(surface_mae(Pb, math.inf, float(m)), ci)
    else:
        n_ci, frac, floor_ci = (math.nan, math.nan), math.nan, (math.nan, math.nan)
    return {
        "law": "surface",
        "reachable": math.isfinite(n),
        "n": n,
        "n_ci": n_ci,
        "frac_unreachable": frac,
        "best_mae": float(surface_mae(s.params, math.inf, float(m))[0]),
        "best_mae_ci": floor_ci,
        "check": check,
        "law_params": _surface_params(s),
    }


def _plan_n(data: RunData, t: float, m: int, *, law: str, n_boot: int, ci: float, seed: int, r2_min: float) -> NPlan:
    j = int(np.flatnonzero(data.m == m)[0])
    Y = data.curve(m)
    cr = curve_report(data, m, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    answers: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    if cr.fit is not None:
        answers["curve"] = _n_plan_from_curve(data, cr, t, m, ci, n_boot=n_boot, seed=seed)
    elif law == "curve" or not data.is_surface:
        raise S2RBenchError(f"RUN_DIR: no law can be fitted at m={m}: {cr.error}")
    else:
        notes.append(f"no 1-D law at m={m}: {cr.error}")
    if data.is_surface and law in ("auto", "surface"):
        try:
            rep = surface_report(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
        except S2RBenchError as exc:
            if law == "surface":
                raise
            notes.append(f"no surface fit: {exc}")
        else:
            answers["surface"] = _n_plan_from_surface(
                rep.surface, _surface_check(data, rep, n_boot, ci, seed), t, m, ci
            )
            answers["surface"]["backtest"] = _surface_bt_info(data, n_boot, ci, seed)
    elif law == "surface":
        _require_surface(data, "--law surface")
    if law == "auto":
        use = "surface" if "surface" in answers and answers["surface"]["check"].adequate else "curve"
        if use == "curve" and "curve" not in answers:
            use = "surface"
        if use == "curve" and "surface" in answers:
            notes.append("the surface law does not fit this run; the plan uses the 1-D law at this m")
    else:
        use = law
    a = answers[use]
    other = next((answers[k] for k in answers if k != use), None)
    alt = None
    if other is not None:
        alt = {k: (v.to_dict() if isinstance(v, LawCheck) else v) for k, v in other.items()}
        alt["n_extrapolation"] = extrapolation(other["n"], float(data.n.min()), float(data.n.max()))
    means = np.nanmean(Y, axis=0)
    scratch = float(np.nanmean(data.scratch[:, j])) if np.isfinite(data.scratch[:, j]).any() else math.nan
    if math.isfinite(scratch) and scratch <= t:
        notes.append(f"the scratch model (no simulations, m={m}) already reaches the target: MAE {scratch:.4g}")
    observed = float(means[np.isfinite(means)][-1])
    if observed <= t:
        notes.append(f"the largest measured n already reaches the target (observed MAE {observed:.4g})")
    return NPlan(
        run=data.describe(),
        target_mae=t,
        m=m,
        law=use,
        reachable=bool(a["reachable"]),
        n=float(a["n"]),
        n_ci=a["n_ci"],
        frac_unreachable=a["frac_unreachable"],
        best_mae=float(a["best_mae"]),
        best_mae_ci=a["best_mae_ci"],
        n_extrapolation=extrapolation(a["n"], float(data.n.min()), float(data.n.max())),
        observed_mae_at_n_max=observed,
        n_max_measured=float(data.n.max()),
        scratch_mae=scratch,
        check=a["check"],
        law_params=a["law_params"],
        ci=ci,
        alternative=alt,
        notes=notes,
        family=a.get("family", "surface"),
        backtest=a.get("backtest"),
    )


def _option(
    opt: laws.CostOption,
    nb: np.ndarray | None,
    mb: np.ndarray | None,
    Pb: np.ndarray,
    cs: float,
    ce: float,
    n0: float,
    m0: float,
    data: RunData,
    ci: float,
) -> dict[str, Any]:
    """A `laws.CostOption` as a dict, with replicate intervals when the replicate sizes ``nb``, ``mb`` are given."""
    d = opt.to_dict()
    d["n"], d["m"], d["cost"], d["extra_cost"] = opt.n, opt.m, opt.cost, opt.extra_cost
    d.pop("extrapolation_n", None)
    d.pop("extrapolation_m", None)
    nan2 = (math.nan, math.nan)
    if len(Pb) and nb is not None and mb is not None:
        cb = np.where(np.isfinite(nb) & np.isfinite(mb), cs * nb + ce * mb, np.inf)
        xb = np.where(np.isfinite(cb), cs * np.maximum(nb - n0, 0) + ce * np.maximum(mb - m0, 0), np.inf)
        d["n_ci"], d["m_ci"], d["cost_ci"], d["extra_cost_ci"] = (_interval(v, ci) for v in (nb, mb, cb, xb))
        d["frac_unreachable"] = float(np.mean(~np.isfinite(cb)))
    d["mae_ci"] = _interval(surface_mae(Pb, opt.n, opt.m), ci) if (opt.reachable and len(Pb)) else nan2
    d["n_extrapolation"] = extrapolation(opt.n, float(data.n.min()), float(data.n.max()))
    d["m_extrapolation"] = extrapolation(opt.m, float(data.m.min()), float(data.m.max()))
    return d


def _plan_cost(
    data: RunData,
    t: float,
    cs: float,
    ce: float,
    *,
    n_max: float,
    m_max: float,
    n_boot: int,
    ci: float,
    seed: int,
    r2_min: float,
) -> CostPlanResult:
    _require_surface(data, "cost planning (--cost-sim/--cost-exp)")
    rep = surface_report(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    surf, chk = rep.surface, _surface_check(data, rep, n_boot, ci, seed)
    n0, m0 = float(data.n.max()), float(data.m.max())
    if n_max < n0 or m_max < m0:
        raise S2RBenchError(
            f"--n-max/--m-max ({n_max:g}, {m_max:g}) are below the largest measured (n, m) = ({n0:g}, {m0:g}); raise them"
        )
    cp = laws.plan_cost(surf, t, cs, ce, n_max=n_max, m_max=m_max, n0=n0, m0=m0)
    Pb = finite_rows(surf.boot, 4)
    rows = laws.cost_options(Pb, t, cs, ce, n0=n0, m0=m0, n_max=n_max, m_max=m_max, m_measured=float(surf.m.max()))
    opts = {
        label: _option(getattr(cp, label), rows[label][0], rows[label][1], Pb, cs, ce, n0, m0, data, ci)
        for label in ("cheapest", "from_current", "more_sims", "more_exps")
    }
    cheapest, from_current, more_sims, more_exps = (
        opts[k] for k in ("cheapest", "from_current", "more_sims", "more_exps")
    )
    more_sims["m_ci"] = more_exps["n_ci"] = (math.nan, math.nan)  # held fixed, no uncertainty
    obs = float(surf.mean_mae[-1, -1])
    notes = []
    if not (math.isfinite(n_max) or math.isfinite(m_max)):
        notes.append(
            "no --n-max/--m-max: any target > 0 is reachable on the fitted surface by adding experiments; see the extrapolation factors"
        )
    if cp.current_mae <= t:
        notes.append(
            f"the fitted MAE at the largest measured (n, m) = ({n0:g}, {m0:g}) already reaches the target ({cp.current_mae:.4g})"
        )
    return CostPlanResult(
        run=data.describe(),
        target_mae=t,
        cost_sim=cs,
        cost_exp=ce,
        n0=n0,
        m0=m0,
        current_mae_fit=cp.current_mae,
        current_mae_observed=obs,
        n_max=n_max,
        m_max=m_max,
        cheapest=cheapest,
        from_current=from_current,
        more_sims=more_sims,
        more_exps=more_exps,
        check=chk,
        law_params=_surface_params(surf),
        ci=ci,
        notes=notes,
    )


def _finite_limit(v: Any) -> bool:
    try:
        return not math.isinf(float(v))
    except (TypeError, ValueError):
        return True


def plan(
    run_dir: str | Path,
    target_mae: float,
    m: int | None = None,
    cost_sim: float | None = None,
    cost_exp: float | None = None,
    *,
    n_max: float = math.inf,
    m_max: float = math.inf,
    law: str = "auto",
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int = 0,
    r2_min: float = R2_MIN,
    allow_incomplete: bool = False,
) -> NPlan | CostPlanResult:
    """Plan sample sizes from RUN_DIR for a target MAE.

    Without costs: the n that reaches ``target_mae`` at ``m`` (default the run's m, which must be a
    measured m) -> `NPlan`. ``law`` "auto" uses the surface when the run has several m and the
    surface fits, else the 1-D law at m; "surface" or "curve" forces one. With ``cost_sim`` and
    ``cost_exp`` (both, cost per simulated / per real sample): the cheapest (n, m) on the fitted
    surface and the single-axis alternatives from the largest measured (n, m) -> `CostPlanResult`
    (needs a surface run; ``n_max``/``m_max`` cap the sizes).
    """
    t = check_positive(target_mae, "--target-mae (target_mae)", what="pass the MAE to reach, in the task's unit")
    if law not in ("auto", "surface", "curve"):
        raise S2RBenchError(f"--law (law) must be 'auto', 'surface' or 'curve' (got {law!r})")
    if (cost_sim is None) != (cost_exp is None):
        missing = "--cost-exp (cost_exp)" if cost_exp is None else "--cost-sim (cost_sim)"
        raise S2RBenchError(
            f"{missing} is missing: cost planning needs both the cost of a simulation and of an experiment"
        )
    if cost_sim is not None:
        cs = check_positive(cost_sim, "--cost-sim (cost_sim)", what="pass the cost of one simulated sample")
        ce = check_positive(cost_exp, "--cost-exp (cost_exp)", what="pass the cost of one real sample (experiment)")
        if m is not None:
            raise S2RBenchError("--m (m) does not apply to cost planning, which chooses m itself; drop --m")
        n_max = check_positive(n_max, "--n-max (n_max)", allow_inf=True)
        m_max = check_positive(m_max, "--m-max (m_max)", allow_inf=True)
        data = load_run(run_dir, allow_incomplete=allow_incomplete)
        return _plan_cost(data, t, cs, ce, n_max=n_max, m_max=m_max, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    if _finite_limit(n_max) or _finite_limit(m_max):
        raise S2RBenchError(
            "--n-max/--m-max (n_max, m_max) limit cost planning only; add --cost-sim and --cost-exp, or drop them"
        )
    data = load_run(run_dir, allow_incomplete=allow_incomplete)
    mm = data.m_default if m is None else _check_m_in_grid(data, m)
    return _plan_n(data, t, mm, law=law, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)


# --------------------------------------------------------------------------------------------------
# equivalence
# --------------------------------------------------------------------------------------------------
