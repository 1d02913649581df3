"""What n simulations are worth in real samples at (n, m), and one more experiment in simulations.

`s2rbench.laws.decisions.equivalence_rows` computes the exchange rates on parameter rows; this
module runs it on the point estimate and on the paired surface / scratch replicates (they resample
the same trials) and attaches checks, extrapolation factors and notes.
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
from ..laws.decisions import equivalence_rows
from ..laws.decisions import interval as _interval
from .extrapolates import surface_backtest, with_problem
from .lawcheck import R2_MIN, LawCheck
from .rundata import RunData, _require_surface, check_positive, extrapolation, load_run
from .runlaws import SurfaceReport, _scratch_params, _surface_params, surface_report


@dataclass(frozen=True, eq=False)
class EquivalenceResult:
    """What n simulations are worth in real samples at (n, m), and one experiment in simulations.

    - ``transfer_mae`` = E(n, m) on the fitted surface; ``scratch_mae`` = E0(m) on the scratch curve.
    - ``m_equiv`` (m'): the real-sample count with E0(m') = E(n, m); inf (``reachable`` False) when
      E(n, m) is at or below the scratch floor c. ``equiv_ratio`` = m'/m, ``sims_worth_real`` =
      m' − m: the real samples the n simulations stand in for.
    - ``sims_per_experiment`` (Δn): E(n + Δn, m) = E(n, m + 1); inf when one more experiment gains
      more than any number of simulations can at this m.
    ``*_ci`` are bootstrap intervals over trials (the surface and scratch replicates resample the
    same trials); ``*_extrapolation`` place n, m, m' and n + Δn relative to the measured ranges.
    """

    run: dict[str, Any]
    n: float
    m: float
    transfer_mae: float
    transfer_mae_ci: tuple[float, float]
    scratch_mae: float
    scratch_mae_ci: tuple[float, float]
    m_equiv: float
    m_equiv_ci: tuple[float, float]
    equiv_ratio: float
    equiv_ratio_ci: tuple[float, float]
    sims_worth_real: float
    sims_worth_real_ci: tuple[float, float]
    reachable: bool
    frac_unreachable: float
    sims_per_experiment: float
    sims_per_experiment_ci: tuple[float, float]
    sims_per_experiment_reachable: bool
    n_extrapolation: dict[str, Any]
    m_extrapolation: dict[str, Any]
    m_equiv_extrapolation: dict[str, Any]
    n_plus_dn_extrapolation: dict[str, Any]
    observed_transfer_mae: float
    observed_scratch_mae: float
    surface_check: LawCheck
    scratch_check: LawCheck
    surface_params: dict[str, Any]
    scratch_params: dict[str, Any]
    ci: float
    notes: list[str] = field(default_factory=list)
    backtest: dict[str, Any] | None = None

    @property
    def adequate(self) -> bool:
        return self.surface_check.adequate and self.scratch_check.adequate

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["adequate"] = self.adequate
        return _jsonable(d)


def equivalence_curve(surface: laws.SurfaceFit, scratch: laws.PowerLawFit, n: np.ndarray, m: float) -> np.ndarray:
    """m'(n) at fixed m on the point estimates (inf where unreachable); used by the figures."""
    e_t = surface.predict(np.asarray(n, dtype=float), m)
    return laws.curve_n_for(scratch.params, e_t)


def _equivalence(rep: SurfaceReport, data: RunData, n: float, m: float, ci: float) -> EquivalenceResult:
    if rep.scratch.fit is None:
        raise S2RBenchError(
            f"RUN_DIR {data.run_dir}: equivalence needs the scratch curve E0(m) fitted at >= 3 m values, but {rep.scratch.error}; "
            "add m values with `s2rbench run TASK --surface --m-grid ...`"
        )
    s, sc = rep.surface, rep.scratch.fit
    eq = laws.equivalent_real(s, sc, n, m)
    sb = sc.boot
    notes: list[str] = []
    B = min(len(s.boot), len(sb))
    if B:
        P = s.boot[:B]
        S = sb[:B]
        good = np.all(np.isfinite(P), axis=1) & np.all(np.isfinite(S), axis=1)
        r = equivalence_rows(P[good], S[good], n, m)
        e_t, e_0, meq, dn = r["transfer_mae"], r["scratch_mae"], r["m_equiv"], r["sims_per_experiment"]
        ci_t, ci_0, ci_eq = _interval(e_t, ci), _interval(e_0, ci), _interval(meq, ci)
        ci_r, ci_w = _interval(meq / m, ci), _interval(meq - m, ci)
        ci_dn = _interval(dn, ci)
        frac = float(np.mean(np.isinf(meq)))
    else:
        nan2 = (math.nan, math.nan)
        ci_t = ci_0 = ci_eq = ci_r = ci_w = ci_dn = nan2
        frac = math.nan
    jn = np.flatnonzero(data.n == n)
    jm = np.flatnonzero(data.m == m)
    obs_t = float(s.mean_mae[jn[0], jm[0]]) if len(jn) and len(jm) else math.nan
    obs_0 = (
        float(np.nanmean(data.scratch[:, jm[0]])) if len(jm) and np.isfinite(data.scratch[:, jm[0]]).any() else math.nan
    )
    if math.isfinite(eq.m_equiv) and eq.m_equiv < m:
        notes.append(
            f"m' < m: at (n={n:g}, m={m:g}) the pretrained model is worse than training from scratch (negative transfer)"
        )
    if not eq.reachable:
        notes.append(
            f"unreachable: the transfer MAE {eq.transfer_mae:.4g} is at or below the scratch floor c = {sc.C:.4g}; no amount of real data alone matches it"
        )
    return EquivalenceResult(
        run=data.describe(),
        n=n,
        m=m,
        transfer_mae=eq.transfer_mae,
        transfer_mae_ci=ci_t,
        scratch_mae=eq.scratch_mae,
        scratch_mae_ci=ci_0,
        m_equiv=eq.m_equiv,
        m_equiv_ci=ci_eq,
        equiv_ratio=eq.equiv_ratio,
        equiv_ratio_ci=ci_r,
        sims_worth_real=eq.m_equiv - m,
        sims_worth_real_ci=ci_w,
        reachable=eq.reachable,
        frac_unreachable=frac,
        sims_per_experiment=eq.sims_per_experiment,
        sims_per_experiment_ci=ci_dn,
        sims_per_experiment_reachable=eq.sims_per_experiment_reachable,
        n_extrapolation=extrapolation(n, float(data.n.min()), float(data.n.max())),
        m_extrapolation=extrapolation(m, float(data.m.min()), float(data.m.max())),
        m_equiv_extrapolation=extrapolation(eq.m_equiv, float(data.m.min()), float(data.m.max())),
        n_plus_dn_extrapolation=extrapolation(n + eq.sims_per_experiment, float(data.n.min()), float(data.n.max())),
        observed_transfer_mae=obs_t,
        observed_scratch_mae=obs_0,
        surface_check=rep.surface_check,
        scratch_check=rep.scratch.check,
        surface_params=_surface_params(s),
        scratch_params=_scratch_params(sc),
        ci=ci,
        notes=notes,
    )


def equivalence(
    run_dir: str | Path,
    n: float | None = None,
    m: float | None = None,
    *,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int = 0,
    r2_min: float = R2_MIN,
    allow_incomplete: bool = False,
) -> EquivalenceResult:
    """How many real samples n simulations are worth at (n, m), and how many simulations one experiment is worth.

    ``n`` defaults to the largest measured n (any n > 0 is allowed; outside the measured range the
    answer carries its extrapolation factor); ``m`` to the run's m and must lie within the measured
    m range (the surface is evaluated between grid points). Needs a surface run with >= 3 m values
    (the scratch curve E0(m) is fitted over m).
    """
    nv = None if n is None else check_positive(n, "--n (n)", what="pass a number of simulated samples")
    mv = None if m is None else check_positive(m, "--m (m)", what="pass a number of real samples")
    data = load_run(run_dir, allow_incomplete=allow_incomplete)
    _require_surface(data, "equivalence (real samples per simulation)")
    if mv is not None and not (data.m.min() * (1 - 1e-12) <= mv <= data.m.max() * (1 + 1e-12)):
        raise S2RBenchError(
            f"--m {m!r} is outside the measured m range {data.m.min():g}..{data.m.max():g} of RUN_DIR; pick an m inside it "
            "(the surface is not extrapolated in m for this question)"
        )
    rep = surface_report(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    sb = surface_backtest(data, n_boot=n_boot, ci=ci, seed=seed)
    if sb is not None and not sb["passed"]:
        err = sb.get("mean_abs_rel_error")
        what = sb.get("error") or (f"mean |error| {100 * err:.1f}% on the held-out n" if err is not None else "")
        rep = dataclasses.replace(
            rep, surface_check=with_problem(rep.surface_check, f"the surface law did not pass its backtest ({what})")
        )
    res = _equivalence(
        rep, data, float(data.n.max()) if nv is None else nv, float(data.m_default) if mv is None else mv, ci
    )
    if sb is not None:
        res = dataclasses.replace(
            res,
            backtest={
                "passed": sb["passed"],
                "mean_abs_rel_error": sb.get("mean_abs_rel_error"),
                "error": sb.get("error"),
            },
        )
    return res


# --------------------------------------------------------------------------------------------------
# backtest
# --------------------------------------------------------------------------------------------------
