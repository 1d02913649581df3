"""Does a run's law extrapolate? The backtest verdicts that `plan` and `equivalence` consult.

A plan or an exchange rate is an extrapolation of a fitted law, so it is given only where that law
predicted the held-out largest sizes of this very run (`s2rbench.laws.families.backtest_families`
for the 1-D law at one m, the surface backtest for E(n, m)), holding out the largest n
(`EXTRAPOLATION_HOLDOUT`). Pass rule, the same for both (`s2rbench.laws.families.passes`): every
held-out mean within `BACKTEST_TOL` (10%) of the prediction.
Results are cached on the `RunData`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import S2RBenchError
from ..laws.families import EXTRAPOLATION_HOLDOUT, backtest_families, fit_family, passes
from .lawcheck import LawCheck
from .rundata import RunData


def curve_backtest(data: RunData, m: float, *, n_boot: int, seed: int = 0) -> Any:
    """`FamilyBacktest` of the 1-D law families at one m (None with fewer than 4 sizes)."""
    Y = data.curve(m)
    has = ~np.all(np.isnan(Y), axis=0)
    if has.sum() < 4:
        return None

    def make() -> Any:
        with np.errstate(all="ignore"):
            return backtest_families(data.n[has], Y[:, has], n_boot=n_boot, seed=seed)

    return data.cached(("families", float(m), n_boot, seed), make)


def chosen_family_fit(data: RunData, m: float, family: str, *, n_boot: int, seed: int = 0) -> Any:
    Y = data.curve(m)
    has = ~np.all(np.isnan(Y), axis=0)
    with np.errstate(all="ignore"):
        return data.cached(
            ("family-fit", float(m), family, n_boot, seed),
            lambda: fit_family(family, data.n[has], Y[:, has], n_boot=n_boot, seed=seed),
        )


def surface_backtest(data: RunData, *, n_boot: int, ci: float = 0.90, seed: int = 0) -> dict[str, Any] | None:
    """The surface law's backtest with ``passed`` added (None when the grid is too small)."""
    from .backtest import _surface_backtest

    K = len(data.n)
    if K < 4:
        return None
    k = K - EXTRAPOLATION_HOLDOUT

    def make() -> dict[str, Any] | None:
        try:
            with np.errstate(all="ignore"):
                d = _surface_backtest(data, k, n_boot=n_boot, ci=ci, seed=seed)
        except S2RBenchError as exc:
            return {"passed": False, "error": str(exc)}
        d["passed"] = passes(d["table"])
        return d

    return data.cached(("surface-backtest", n_boot, ci, seed), make)


def with_problem(check: LawCheck, problem: str) -> LawCheck:
    """``check`` with one more problem (so it is no longer adequate)."""
    return dataclasses.replace(check, adequate=False, problems=[*check.problems, problem])
