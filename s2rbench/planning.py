"""Compatibility alias: the planning API now lives in `s2rbench.analysis` (rundata, lawcheck, runlaws,
plans, equivalence, backtest). ``from s2rbench import planning as pl; pl.plan(...)`` keeps working."""

from __future__ import annotations

from .analysis.backtest import BacktestResult, _surface_backtest, _table_records, backtest_run
from .analysis.equivalence import EquivalenceResult, _equivalence, equivalence, equivalence_curve
from .analysis.lawcheck import LOF_P, R2_MIN, RESID_MIN, RUNS_P, LawCheck, _check_law, _runs_pvalue
from .analysis.plans import CostPlanResult, NPlan, _finite_limit, _plan_cost, _plan_n, plan
from .analysis.rundata import RunData, _check_m_in_grid, _require_surface, _sem, check_positive, extrapolation, load_run
from .analysis.runlaws import (
    CurveReport,
    SurfaceReport,
    _alpha_vs_m,
    _curve_params,
    _curve_report,
    _fit_surface_data,
    _scratch_params,
    _surface_params,
    fit_surface_run,
    surface_report,
)
from .laws.decisions import interval as _interval
from .laws.jsonable import _jsonable

__all__ = [
    "BacktestResult",
    "CostPlanResult",
    "CurveReport",
    "EquivalenceResult",
    "LawCheck",
    "NPlan",
    "RunData",
    "SurfaceReport",
    "backtest_run",
    "check_positive",
    "equivalence",
    "fit_surface_run",
    "load_run",
    "plan",
]
