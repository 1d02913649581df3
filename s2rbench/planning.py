"""Compatibility alias: the planning API now lives in `s2rbench.analysis` (rundata, lawcheck, runlaws,
plans, equivalence, backtest). ``from s2rbench import planning as pl; pl.plan(...)`` keeps working."""

from __future__ import annotations

from .analysis.backtest import BacktestResult, backtest_run
from .analysis.equivalence import EquivalenceResult, equivalence
from .analysis.lawcheck import LawCheck
from .analysis.plans import CostPlanResult, NPlan, plan
from .analysis.rundata import RunData, check_positive, load_run
from .analysis.runlaws import (
    CurveReport,
    SurfaceReport,
    fit_surface_run,
)

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
