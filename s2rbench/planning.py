"""Planning a database from a run directory: the (n, m) surface, sample-size plans, exchange rates, backtests.

`s2rbench.laws` holds the numerics on arrays; this module reads a run directory's per-trial rows,
checks that the run is complete and that the question fits the run (a surface question needs
several m), fits the laws, judges whether they describe the data at all, and carries the bootstrap
uncertainty to every planned number. Every planned size says whether, and by what factor, it lies
outside the measured range. The definitions are in docs/planning.md.

Public API (all results are dataclasses with ``to_dict()``):

- `fit_surface_run(run_dir)` -> `SurfaceReport`: the two-variable law, the per-m curves, the
  scratch curve, and whether alpha depends on m.
- `plan(run_dir, target_mae, m=None, cost_sim=None, cost_exp=None)` -> `NPlan` (the n that reaches
  a target at one m) or `CostPlanResult` (the cheapest (n, m) on the surface and the single-axis
  alternatives).
- `equivalence(run_dir, n=None, m=None)` -> `EquivalenceResult`.
- `backtest_run(run_dir)` -> `BacktestResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import laws
from .errors import S2RBenchError
from .sweep.store import Store

__all__ = [
    "RunData",
    "LawCheck",
    "CurveReport",
    "SurfaceReport",
    "NPlan",
    "CostPlanResult",
    "EquivalenceResult",
    "BacktestResult",
    "load_run",
    "fit_surface_run",
    "plan",
    "equivalence",
    "backtest_run",
    "check_positive",
]

#: Default R² below which a law is reported as "does not fit" instead of its parameters.
R2_MIN = 0.90
#: Two-sided p-value thresholds of the residual-pattern flag (both must be met; see `LawCheck`).
RUNS_P = 0.05
LOF_P = 1e-3
#: A residual pattern is only a problem when the worst misfit exceeds this relative size (1%).
RESID_MIN = 0.01
_PERMUTATIONS = 4000


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _jsonable(x: Any) -> Any:
    """Plain Python for JSON: NaN/inf -> None, arrays and tuples -> lists, dicts and dataclasses recursed."""
    if hasattr(x, "to_dict") and not isinstance(x, (pd.DataFrame, pd.Series)):
        return x.to_dict()
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, pd.DataFrame):
        return [_jsonable(r) for r in x.to_dict(orient="records")]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if x is pd.NA or x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


def check_positive(value: Any, name: str, *, allow_inf: bool = False, what: str = "") -> float:
    """A finite number > 0 (inf too with ``allow_inf``), else a one-line `S2RBenchError` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        hint = f"; {what}" if what else ""
        raise S2RBenchError(f"{name} must be a finite number > 0 (got {value!r}){hint}")
    return v


def _interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    """Percentile interval over replicates where inf is a legitimate value (unreachable): the bounds
    are the nearest replicates, so an upper bound is inf once more than (1 - ci)/2 of them are inf.
    NaN replicates (fits that failed) are dropped; no replicates -> (nan, nan)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (math.nan, math.nan)
    lo = float(np.percentile(v, 50.0 * (1.0 - ci), method="lower"))
    hi = float(np.percentile(v, 50.0 * (1.0 + ci), method="higher"))
    return (lo, hi)


def extrapolation(value: float, lo: float, hi: float) -> dict[str, Any]:
    """Where ``value`` lies relative to the measured range [lo, hi]: factor >= 1 and direction.

    ``factor`` is value / hi above the range, lo / value below it, and 1 inside; ``direction`` is
    "above", "below" or None. An infinite value has an infinite factor.
    """
    v = float(value)
    if not math.isfinite(v):
        return {"value": v, "measured": [lo, hi], "factor": math.inf, "direction": "above" if v > 0 else None}
    if v > hi * (1 + 1e-9):
        return {"value": v, "measured": [lo, hi], "factor": v / hi, "direction": "above"}
    if v < lo * (1 - 1e-9):
        return {"value": v, "measured": [lo, hi], "factor": lo / v if v > 0 else math.inf, "direction": "below"}
    return {"value": v, "measured": [lo, hi], "factor": 1.0, "direction": None}


# --------------------------------------------------------------------------------------------------
# Reading a run directory
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RunData:
    """The stored rows of a run, arranged for fitting.

    ``n`` (sorted, > 0) and ``m`` (sorted) are the sizes that have transfer rows; ``trials`` the trial
    ids present anywhere. ``transfer`` has shape (trials, len(n), len(m)) and ``scratch`` (trials,
    len(m)), NaN where a cell is missing. ``m_default`` is the run's m (the protocol's ``m``).
    ``missing`` counts the (n, m, trial) cells of the protocol that are not stored.
    """

    run_dir: Path
    config: dict[str, Any]
    rows: pd.DataFrame
    n: np.ndarray
    m: np.ndarray
    trials: np.ndarray
    transfer: np.ndarray
    scratch: np.ndarray
    m_default: int
    missing: int
    expected: int

    @property
    def is_surface(self) -> bool:
        return len(self.m) > 1

    @property
    def unit(self) -> str:
        return str((self.config.get("target") or {}).get("unit", "") or "")

    def curve(self, m: float) -> np.ndarray:
        """(trials, len(n)) transfer MAEs at one measured m."""
        j = int(np.flatnonzero(self.m == m)[0])
        return self.transfer[:, :, j]

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "run_dir": str(self.run_dir), "task": c.get("task"), "model": c.get("model"),
            "featurizer": c.get("featurizer"), "unit": self.unit, "n_grid": self.n, "m_grid": self.m,
            "trials": int(len(self.trials)), "m_default": self.m_default,
            "complete": self.missing == 0, "missing_cells": self.missing,
        }


def load_run(run_dir: str | Path, *, allow_incomplete: bool = False) -> RunData:
    """Read RUN_DIR's rows; refuse an incomplete run (fewer rows than the protocol's grid x trials).

    The protocol stored in the run's config names the n grid, the m grid and the trial count; a
    (n, m, trial) cell of that grid (n = 0, the scratch baseline, included) without a row means the
    run is still in progress or was interrupted, and any fit of it would silently use a different
    design than the one configured. ``allow_incomplete`` fits what is there instead.
    """
    run_dir = Path(run_dir)
    with Store(run_dir, create=False) as store:
        config = store.get_meta("config") or {}
        rows = store.results()
    if rows.empty:
        raise S2RBenchError(f"RUN_DIR {run_dir} holds no results yet; run `s2rbench run` first")
    proto = config.get("protocol") or {}
    expected = 0
    missing = 0
    if proto.get("sizes") and proto.get("trials"):
        m_grid = [int(v) for v in (proto.get("m_grid") or [proto.get("m")]) if v is not None]
        want = {(int(n), int(m), int(t)) for n in [0, *proto["sizes"]] for m in m_grid for t in range(int(proto["trials"]))}
        have = set(zip(rows["n"].astype(int), rows["m"].astype(int), rows["trial"].astype(int)))
        expected = len(want)
        missing = len(want - have)
        if missing and not allow_incomplete:
            raise S2RBenchError(
                f"RUN_DIR {run_dir} is incomplete: {missing} of {expected} (n, m, trial) cells of its protocol are missing "
                "(the run is still in progress or was interrupted); let `s2rbench run` finish it (re-running the same "
                "command resumes it), or pass --allow-incomplete to fit what is stored"
            )
    tr = rows[rows["n"] > 0]
    if tr.empty:
        raise S2RBenchError(f"RUN_DIR {run_dir} holds only scratch rows (n = 0); run the sweep over n first")
    ns = np.array(sorted(tr["n"].unique()), dtype=float)
    ms = np.array(sorted(tr["m"].unique()), dtype=float)
    trials = np.array(sorted(rows["trial"].unique()))
    cube = np.full((len(trials), len(ns), len(ms)), np.nan)
    ti = {t: i for i, t in enumerate(trials)}
    ni = {n: i for i, n in enumerate(ns)}
    mi = {m: i for i, m in enumerate(ms)}
    agg = tr.groupby(["trial", "n", "m"])["mae"].mean()
    for (t, n, m), v in agg.items():
        cube[ti[t], ni[float(n)], mi[float(m)]] = v
    scr = np.full((len(trials), len(ms)), np.nan)
    s_rows = rows[(rows["n"] == 0) & rows["m"].isin(ms)]
    for (t, m), v in s_rows.groupby(["trial", "m"])["mae"].mean().items():
        scr[ti[t], mi[float(m)]] = v
    m_default = int(proto.get("m") or ms.max())
    if m_default not in set(ms.astype(int)):
        m_default = int(ms.max())
    return RunData(
        run_dir=run_dir, config=config, rows=rows, n=ns, m=ms, trials=trials, transfer=cube, scratch=scr,
        m_default=m_default, missing=missing, expected=expected,
    )


def _require_surface(data: RunData, question: str, arg: str = "RUN_DIR") -> None:
    if not data.is_surface:
        raise S2RBenchError(
            f"{arg} {data.run_dir} was measured at one m ({int(data.m[0])}), but {question} needs the (n, m) surface "
            "(several m values); rerun it with `s2rbench run TASK --surface` (or --m-grid)"
        )


def _check_m_in_grid(data: RunData, m: Any, arg: str = "--m") -> int:
    mv = check_positive(m, arg)
    if mv not in set(data.m.tolist()):
        grid = ", ".join(str(int(v)) for v in data.m)
        raise S2RBenchError(f"{arg} {m!r} is not a measured m of RUN_DIR (m grid: {grid}); pick one of them")
    return int(mv)


# --------------------------------------------------------------------------------------------------
# Does a law fit at all?
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LawCheck:
    """Whether a fitted law describes the cell means, and if not why.

    - ``r2`` against ``r2_min``: below it the law explains too little of the variation.
    - Residual pattern: the log residuals ``log(mean) - log(fit)`` (the fit is in log space) are
      scanned for runs of equal sign along n (within each m) and along m (within each n); few runs
      mean the law bends the wrong way. ``runs_p`` is the permutation p-value of so few runs
      (smaller of the two directions, doubled). A pattern alone can be noise shared by the trials,
      so the flag also needs the residuals to be large against the trial noise: ``lof_p`` is the
      chi-square lack-of-fit p-value of sum((residual / s.e.)²) on cells - parameters degrees of
      freedom. Flagged when ``runs_p < 0.05`` and ``lof_p < 0.001`` (with one trial, no s.e.:
      ``runs_p < 0.01``) and the worst residual exceeds 1% (a smaller misfit does not matter for
      planning). A 1-D curve with 6 or fewer sizes cannot show a significant pattern: its R² is
      the check.
    - An exponent stuck at its bound means the data are not a power law at all.
    ``adequate`` is False when any ``problems`` are listed; then the parameters mean nothing.
    """

    law: str
    adequate: bool
    problems: list[str]
    r2: float
    r2_min: float
    runs: int | None
    runs_p: float
    lof_chi2_per_dof: float
    lof_p: float
    max_abs_log_residual: float
    signs: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dict(self.__dict__))


def _runs_pvalue(signs: np.ndarray, lines: list[np.ndarray], rng: np.random.Generator) -> tuple[int, float]:
    """Total sign runs along ``lines`` (index arrays into ``signs``) and the permutation p-value of so few."""
    adj = [(ln[i], ln[i + 1]) for ln in lines for i in range(len(ln) - 1)]
    if not adj:
        return 0, math.nan
    a = np.array([p[0] for p in adj])
    b = np.array([p[1] for p in adj])
    obs = int(np.sum(signs[a] != signs[b]))
    runs = obs + sum(1 for ln in lines if len(ln))
    perms = np.argsort(rng.random((_PERMUTATIONS, len(signs))), axis=1)
    sp = signs[perms]
    changes = np.sum(sp[:, a] != sp[:, b], axis=1)
    return runs, float(np.mean(changes <= obs))


def _check_law(
    law: str,
    mean: np.ndarray,
    pred: np.ndarray,
    sem: np.ndarray,
    r2: float,
    n_params: int,
    r2_min: float,
    exponents: dict[str, float],
    axes: tuple[str, ...] = ("n",),
    labels: tuple[np.ndarray, ...] | None = None,
    axis_name: str = "n",
) -> LawCheck:
    """`LawCheck` of cell means ``mean`` (1-D curve, or 2-D (n, m)) against predictions ``pred``."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    pred = np.atleast_1d(np.asarray(pred, dtype=float))
    sem = np.atleast_1d(np.asarray(sem, dtype=float))
    if mean.ndim == 1:
        mean, pred, sem = mean[:, None], pred[:, None], sem[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        res = np.log(mean) - np.log(pred)
        s_log = sem / mean
    ok = np.isfinite(res)
    problems: list[str] = []
    if not math.isfinite(r2):
        problems.append("R² undefined (the cell means do not vary, or too few cells)")
    elif r2 < r2_min:
        problems.append(f"R² = {r2:.3f} is below {r2_min:g}")
    for name, v in exponents.items():
        if v >= 0.99 * laws.EXPONENT_MAX:
            problems.append(f"{name} hit its upper bound {laws.EXPONENT_MAX:g}: the curve is a step, not a power law")
    scale = float(np.nanmax(np.abs(res[ok]))) if ok.any() else math.nan
    # Residuals below a relative 1e-6 (an exact law, solver precision) carry no sign information.
    sig = ok & (np.abs(res) > 1e-6)
    signs_full = np.where(res > 0, 1, -1)
    sign_text: dict[str, str] = {}
    runs: int | None = None
    runs_p = math.nan
    if sig.sum() >= 4:
        flat_index = -np.ones(res.shape, dtype=int)
        flat_index[sig] = np.arange(int(sig.sum()))
        s_flat = signs_full[sig]
        rng = np.random.default_rng(12345)
        ps, rs = [], []
        if "n" in axes:
            lines = [flat_index[:, j][flat_index[:, j] >= 0] for j in range(res.shape[1])]
            r, p = _runs_pvalue(s_flat, lines, rng)
            rs.append(r)
            ps.append(p)
        if "m" in axes and res.shape[1] > 1:
            lines = [flat_index[i, :][flat_index[i, :] >= 0] for i in range(res.shape[0])]
            _, p = _runs_pvalue(s_flat, lines, rng)
            ps.append(p)
        ps = [p for p in ps if math.isfinite(p)]
        if ps:
            runs_p = min(1.0, min(ps) * len(ps))
        runs = rs[0] if rs else None
    for j in range(res.shape[1]):
        key = axis_name if res.shape[1] == 1 or labels is None else f"m={labels[1][j]:g}"
        sign_text[key] = "".join("·" if not sig[i, j] else ("+" if res[i, j] > 0 else "−") for i in range(res.shape[0]))
    okz = ok & np.isfinite(s_log) & (s_log > 0)
    lof = math.nan
    lof_p = math.nan
    dof = int(okz.sum()) - n_params
    if okz.sum() > 0 and dof >= 1:
        from scipy.stats import chi2

        chi = float(np.sum((res[okz] / s_log[okz]) ** 2))
        lof = chi / dof
        lof_p = float(chi2.sf(chi, dof))
    if math.isfinite(runs_p):
        if math.isfinite(lof_p):
            flagged = runs_p < RUNS_P and lof_p < LOF_P
        else:
            flagged = runs_p < 0.01
        flagged = flagged and scale > RESID_MIN
        if flagged:
            patt = "; ".join(f"{k}: {v}" for k, v in sign_text.items())
            problems.append(
                f"systematic residuals: the signs of log(mean/fit) come in long runs ({patt}; runs p = {runs_p:.3g}"
                + (f", residuals {math.sqrt(lof):.1f}x the trial noise, lack-of-fit p = {lof_p:.2g}" if math.isfinite(lof_p) else "")
                + ")"
            )
    return LawCheck(
        law=law, adequate=not problems, problems=problems, r2=float(r2), r2_min=float(r2_min), runs=runs,
        runs_p=runs_p, lof_chi2_per_dof=lof, lof_p=lof_p, max_abs_log_residual=scale, signs=sign_text,
    )


def _sem(Y: np.ndarray) -> np.ndarray:
    """Standard error of the trial mean along axis 0 (NaN with < 2 trials)."""
    import warnings

    cnt = np.sum(np.isfinite(Y), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells with < 2 trials: NaN, handled below
        sd = np.nanstd(Y, axis=0, ddof=1) if Y.shape[0] > 1 else np.full(Y.shape[1:], np.nan)
        return np.where(cnt > 1, sd / np.sqrt(np.maximum(cnt, 1)), np.nan)


# --------------------------------------------------------------------------------------------------
# The laws of a run
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CurveReport:
    """One 1-D law, ``E(n) = D n^-alpha + C`` at one m (or the scratch ``E0(m) = a m^-b + c``)."""

    label: str
    m: float | None
    fit: laws.PowerLawFit | None
    check: LawCheck | None
    error: str | None = None

    @property
    def adequate(self) -> bool:
        return self.fit is not None and self.check is not None and self.check.adequate

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "label": self.label, "m": self.m, "adequate": self.adequate,
                "fit": self.fit.to_dict() if self.fit is not None else None,
                "check": self.check.to_dict() if self.check is not None else None, "error": self.error,
            }
        )


@dataclass(frozen=True, eq=False)
class SurfaceReport:
    """The laws of a surface run: E(n, m), E(n) at each m, E0(m), and whether alpha depends on m.

    ``alpha_vs_m`` holds ``depends_on_m`` (True / False / None when it cannot be judged), a
    ``verdict`` sentence, per-m alpha intervals (``per_m``, with whether the surface's alpha lies
    inside each), pairs of per-m intervals that do not overlap (``disjoint_intervals``), and paired
    bootstrap differences alpha(m) - alpha(m_max) (``paired``): every per-m fit resamples the same
    trials, so replicate b of each is the same resample and the difference has its own interval,
    Bonferroni-widened to level ``paired_ci_level`` so that the verdict holds at ``ci`` family-wise.
    Only m values whose 1-D law fits take part.
    """

    run: dict[str, Any]
    surface: laws.SurfaceFit
    surface_check: LawCheck
    per_m: list[CurveReport]
    scratch: CurveReport
    alpha_vs_m: dict[str, Any]
    n_boot: int
    ci: float

    @property
    def adequate(self) -> bool:
        return self.surface_check.adequate

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "run": self.run, "ci": self.ci, "n_boot": self.n_boot,
                "surface": {**self.surface.to_dict(), "adequate": self.adequate, "check": self.surface_check.to_dict()},
                "per_m": [c.to_dict() for c in self.per_m], "alpha_vs_m": self.alpha_vs_m,
                "scratch": self.scratch.to_dict(),
            }
        )


def _curve_report(
    label: str, m: float | None, x: np.ndarray, Y: np.ndarray, *, scratch: bool, n_boot: int, ci: float, seed: int, r2_min: float
) -> CurveReport:
    has = ~np.all(np.isnan(Y), axis=0)
    try:
        fn = laws.fit_scratch if scratch else laws.fit_power_law
        f = fn(x[has], Y[:, has], n_boot=n_boot, ci=ci, seed=seed)
    except S2RBenchError as exc:
        return CurveReport(label=label, m=m, fit=None, check=None, error=str(exc))
    mean = np.nanmean(Y[:, has], axis=0)
    chk = _check_law(
        label, mean, f.predict(x[has]), _sem(Y[:, has]), f.r2, 3, r2_min, {"b" if scratch else "alpha": f.alpha},
        axes=("n",), axis_name="m" if scratch else "n",
    )
    return CurveReport(label=label, m=m, fit=f, check=chk)


def _alpha_vs_m(per_m: list[CurveReport], surface: laws.SurfaceFit, ci: float) -> dict[str, Any]:
    ok = [c for c in per_m if c.fit is not None]
    rows = [
        {
            "m": c.m, "alpha": c.fit.alpha, "alpha_ci": c.fit.alpha_ci, "adequate": c.adequate,
            "surface_alpha_inside": bool(c.fit.alpha_ci[0] <= surface.alpha <= c.fit.alpha_ci[1]) if np.all(np.isfinite(c.fit.alpha_ci)) else None,
        }
        for c in ok
    ]
    out: dict[str, Any] = {"per_m": rows, "surface_alpha": surface.alpha, "surface_alpha_ci": surface.alpha_ci, "paired": []}
    good = [c for c in ok if c.adequate]
    if len(good) < 2:
        out["depends_on_m"] = None
        out["verdict"] = "cannot judge whether alpha depends on m: fewer than two m values have an adequate per-m fit"
        return out
    ref = good[-1]
    paired = []
    B = ref.fit.boot.shape[0]
    same_design = all(c.fit.boot.shape[0] == B and c.fit.n_trials == ref.fit.n_trials for c in good)
    # Bonferroni over the k comparisons, so that "depends on m" is a family-wise level-ci statement.
    ci_pair = 1.0 - (1.0 - ci) / max(len(good) - 1, 1)
    out["paired_ci_level"] = ci_pair
    if same_design and B > 0:
        for c in good[:-1]:
            d = c.fit.boot[:, 0] - ref.fit.boot[:, 0]
            lo, hi = _interval(d[np.isfinite(d)], ci_pair)
            paired.append({"m": c.m, "m_ref": ref.m, "diff": c.fit.alpha - ref.fit.alpha, "diff_ci": (lo, hi), "excludes_zero": bool(lo > 0 or hi < 0)})
    out["paired"] = paired
    disjoint = []
    for i, a in enumerate(good):
        for b in good[i + 1 :]:
            (l1, h1), (l2, h2) = a.fit.alpha_ci, b.fit.alpha_ci
            if np.all(np.isfinite([l1, h1, l2, h2])) and (h1 < l2 or h2 < l1):
                disjoint.append((a.m, b.m))
    out["disjoint_intervals"] = disjoint
    pct = int(round(100 * ci))
    if paired:
        hits = [p for p in paired if p["excludes_zero"]]
        if hits:
            txt = "; ".join(f"α(m={p['m']:g}) − α(m={p['m_ref']:g}) = {p['diff']:+.3g} [{p['diff_ci'][0]:+.3g}, {p['diff_ci'][1]:+.3g}]" for p in hits)
            out["depends_on_m"] = True
            out["verdict"] = (
                f"alpha depends on m: {txt} (paired bootstrap interval, {pct}% family-wise, excludes 0); "
                "the surface's single alpha is a compromise"
            )
        else:
            out["depends_on_m"] = False
            out["verdict"] = (
                f"no evidence that alpha depends on m: every paired difference to m={ref.m:g} has an interval "
                f"({pct}% family-wise) containing 0"
            )
    elif disjoint:
        out["depends_on_m"] = True
        out["verdict"] = "alpha depends on m: the per-m intervals of " + ", ".join(f"m={a:g} and m={b:g}" for a, b in disjoint) + " do not overlap"
    elif all(np.all(np.isfinite(c.fit.alpha_ci)) for c in good):
        out["depends_on_m"] = False
        out["verdict"] = f"no evidence that alpha depends on m: the per-m {pct}% intervals overlap"
    else:
        out["depends_on_m"] = None
        out["verdict"] = "cannot judge whether alpha depends on m: no bootstrap intervals (a single trial)"
    return out


def _fit_surface_data(data: RunData, *, n_boot: int, ci: float, seed: int, r2_min: float) -> SurfaceReport:
    _require_surface(data, "the surface fit")
    surf = laws.fit_surface(data.n, data.m, data.transfer, n_boot=n_boot, ci=ci, seed=seed)
    pred = surf.predict(data.n[:, None], data.m[None, :])
    schk = _check_law(
        "E(n, m) = δ·(γ + n^−α)·m^−β", surf.mean_mae, pred, _sem(data.transfer), surf.r2, 4, r2_min,
        {"alpha": surf.alpha, "beta": surf.beta}, axes=("n", "m"), labels=(data.n, data.m),
    )
    per_m = [
        _curve_report(f"E(n) at m={m:g}", float(m), data.n, data.curve(m), scratch=False, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
        for m in data.m
    ]
    scratch = _curve_report("E0(m) (scratch)", None, data.m, data.scratch, scratch=True, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    return SurfaceReport(
        run=data.describe(), surface=surf, surface_check=schk, per_m=per_m, scratch=scratch,
        alpha_vs_m=_alpha_vs_m(per_m, surf, ci), n_boot=n_boot, ci=ci,
    )


def fit_surface_run(
    run_dir: str | Path, *, n_boot: int = 1000, ci: float = 0.90, seed: int = 0, r2_min: float = R2_MIN,
    allow_incomplete: bool = False,
) -> SurfaceReport:
    """Fit the two-variable law, the per-m curves and the scratch curve of a surface run directory.

    Intervals are ``ci`` bootstrap percentile intervals over trials (``n_boot`` resamples, ``seed``).
    Each law carries a `LawCheck`; a law that does not fit says so in ``check.problems``.
    """
    data = load_run(run_dir, allow_incomplete=allow_incomplete)
    return _fit_surface_data(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)


# --------------------------------------------------------------------------------------------------
# Vectorised law arithmetic over bootstrap replicates
# --------------------------------------------------------------------------------------------------


def _surf_params(s: laws.SurfaceFit) -> np.ndarray:
    """(B, 4) bootstrap parameters (alpha, beta, gamma, delta), failed replicates dropped."""
    b = s.boot
    return b[np.all(np.isfinite(b), axis=1)] if b.size else np.empty((0, 4))


def _E(P: np.ndarray, n: Any, m: Any) -> np.ndarray:
    al, be, ga, de = (P[:, i] for i in range(4))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        pn = np.where(np.isinf(n), 0.0, np.power(n, -al))
        return de * (ga + pn) * np.power(m, -be)


def _n_for(P: np.ndarray, t: float, m: Any) -> np.ndarray:
    """Minimal n with E(n, m) <= t, per replicate row of P (m broadcasts with shape (B,) or (B, G))."""
    al, be, ga, de = (P[:, i] for i in range(4))
    m = np.asarray(m, dtype=float)
    if m.ndim == 2:
        al, be, ga, de = al[:, None], be[:, None], ga[:, None], de[:, None]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        q = t * np.power(m, be) / de - ga
        n = np.power(np.where(q > 0, q, 1.0), -1.0 / al)
    return np.where(q > 0, n, np.inf)


def _m_for(P: np.ndarray, t: float, n: Any) -> np.ndarray:
    """Minimal m with E(n, m) <= t at fixed n, per replicate."""
    al, be, ga, de = (P[:, i] for i in range(4))
    n = np.asarray(n, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        pn = np.where(np.isinf(n), 0.0, np.power(n, -al))
        return np.power(de * (ga + pn) / t, 1.0 / be)


def _cheapest_batch(P: np.ndarray, t: float, cs: float, ce: float, m0: float, n_max: float, m_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cheapest (n, m) reaching t for every replicate: a log grid over m, refined once; inf where unreachable."""
    B = len(P)
    if B == 0:
        e = np.empty(0)
        return e, e, e
    best_possible = _E(P, n_max, m_max) if math.isfinite(m_max) else np.zeros(B)
    reach = best_possible <= t
    m_feas = _m_for(P, t, n_max)
    m_ref = np.full(B, m_max) if math.isfinite(m_max) else np.maximum(2.0 * m_feas, m0)
    n_ref = _n_for(P, t, m_ref)
    c_ref = cs * n_ref + ce * m_ref
    reach &= np.isfinite(c_ref)
    m_hi = np.minimum(m_max, c_ref / ce)
    m_lo = _m_for(P, t, np.minimum(n_max, c_ref / cs)) * (1 + 1e-9)
    m_lo = np.minimum(m_lo, m_hi)
    out_n, out_m, out_c = np.full(B, np.inf), np.full(B, np.inf), np.full(B, np.inf)
    if not reach.any():
        return out_n, out_m, out_c
    Pr, lo, hi = P[reach], np.log(m_lo[reach]), np.log(m_hi[reach])
    G = 257
    for _ in range(3):  # grid, then two zooms around the best node
        u = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, G)[None, :]
        mm = np.exp(u)
        cost = cs * _n_for(Pr, t, mm) + ce * mm
        cost = np.where(np.isfinite(cost), cost, np.inf)
        k = np.argmin(cost, axis=1)
        step = (hi - lo) / (G - 1)
        uk = u[np.arange(len(u)), k]
        lo, hi = np.maximum(uk - step, lo), np.minimum(uk + step, hi)
    m_b = np.exp(uk)
    n_b = _n_for(Pr, t, m_b[:, None])[:, 0]
    out_n[reach], out_m[reach], out_c[reach] = n_b, m_b, cs * n_b + ce * m_b
    return out_n, out_m, out_c


# --------------------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------------------


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


def _surface_params(s: laws.SurfaceFit) -> dict[str, Any]:
    return {
        "law": "delta*(gamma + n^-alpha)*m^-beta", "alpha": s.alpha, "alpha_ci": s.alpha_ci, "beta": s.beta,
        "beta_ci": s.beta_ci, "gamma": s.gamma, "gamma_ci": s.gamma_ci, "delta": s.delta, "delta_ci": s.delta_ci,
        "r2": s.r2, "r2_ci": s.r2_ci,
    }


def _curve_params(f: laws.PowerLawFit) -> dict[str, Any]:
    return {
        "law": "D*n^-alpha + C", "alpha": f.alpha, "alpha_ci": f.alpha_ci, "C": f.C, "C_ci": f.C_ci, "D": f.D,
        "D_ci": f.D_ci, "r2": f.r2, "better": f.better,
    }


def _scratch_params(f: laws.PowerLawFit) -> dict[str, Any]:
    return {
        "law": "a*m^-b + c", "a": f.D, "a_ci": f.D_ci, "b": f.alpha, "b_ci": f.alpha_ci, "c": f.C, "c_ci": f.C_ci,
        "r2": f.r2, "better": f.better,
    }


def _n_plan_from_curve(data: RunData, cr: CurveReport, t: float, m: int, ci: float) -> dict[str, Any]:
    p = laws.plan_n(cr.fit, t)
    boot = cr.fit.boot[np.all(np.isfinite(cr.fit.boot), axis=1)] if cr.fit.boot.size else np.empty((0, 3))
    return {
        "law": "curve", "reachable": p.reachable, "n": p.n, "n_ci": p.n_ci, "frac_unreachable": p.frac_unreachable,
        "best_mae": p.best_mae, "best_mae_ci": _interval(boot[:, 1], ci) if len(boot) else (math.nan, math.nan),
        "check": cr.check, "law_params": _curve_params(cr.fit),
    }


def _n_plan_from_surface(s: laws.SurfaceFit, check: LawCheck, t: float, m: int, ci: float) -> dict[str, Any]:
    P1 = np.array([[s.alpha, s.beta, s.gamma, s.delta]])
    n = float(_n_for(P1, t, np.array([float(m)]))[0])
    Pb = _surf_params(s)
    if len(Pb):
        nb = _n_for(Pb, t, np.full(len(Pb), float(m)))
        n_ci, frac = _interval(nb, ci), float(np.mean(np.isinf(nb)))
        floor_ci = _interval(_E(Pb, math.inf, float(m)), ci)
    else:
        n_ci, frac, floor_ci = (math.nan, math.nan), math.nan, (math.nan, math.nan)
    return {
        "law": "surface", "reachable": math.isfinite(n), "n": n, "n_ci": n_ci, "frac_unreachable": frac,
        "best_mae": float(_E(P1, math.inf, float(m))[0]), "best_mae_ci": floor_ci, "check": check,
        "law_params": _surface_params(s),
    }


def _plan_n(data: RunData, t: float, m: int, *, law: str, n_boot: int, ci: float, seed: int, r2_min: float) -> NPlan:
    j = int(np.flatnonzero(data.m == m)[0])
    Y = data.curve(m)
    cr = _curve_report(f"E(n) at m={m}", float(m), data.n, Y, scratch=False, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    answers: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    if cr.fit is not None:
        answers["curve"] = _n_plan_from_curve(data, cr, t, m, ci)
    elif law == "curve" or not data.is_surface:
        raise S2RBenchError(f"RUN_DIR: no law can be fitted at m={m}: {cr.error}")
    else:
        notes.append(f"no 1-D law at m={m}: {cr.error}")
    if data.is_surface and law in ("auto", "surface"):
        try:
            surf = laws.fit_surface(data.n, data.m, data.transfer, n_boot=n_boot, ci=ci, seed=seed)
        except S2RBenchError as exc:
            if law == "surface":
                raise
            notes.append(f"no surface fit: {exc}")
        else:
            pred = surf.predict(data.n[:, None], data.m[None, :])
            chk = _check_law(
                "E(n, m) = δ·(γ + n^−α)·m^−β", surf.mean_mae, pred, _sem(data.transfer), surf.r2, 4, r2_min,
                {"alpha": surf.alpha, "beta": surf.beta}, axes=("n", "m"), labels=(data.n, data.m),
            )
            answers["surface"] = _n_plan_from_surface(surf, chk, t, m, ci)
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
        run=data.describe(), target_mae=t, m=m, law=use, reachable=bool(a["reachable"]), n=float(a["n"]),
        n_ci=a["n_ci"], frac_unreachable=a["frac_unreachable"], best_mae=float(a["best_mae"]),
        best_mae_ci=a["best_mae_ci"], n_extrapolation=extrapolation(a["n"], float(data.n.min()), float(data.n.max())),
        observed_mae_at_n_max=observed, n_max_measured=float(data.n.max()), scratch_mae=scratch, check=a["check"],
        law_params=a["law_params"], ci=ci, alternative=alt, notes=notes,
    )


def _option(opt: laws.CostOption, nb: np.ndarray | None, mb: np.ndarray | None, Pb: np.ndarray, cs: float, ce: float,
            n0: float, m0: float, data: RunData, ci: float) -> dict[str, Any]:
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
    d["mae_ci"] = _interval(_E(Pb, opt.n, opt.m), ci) if (opt.reachable and len(Pb)) else nan2
    d["n_extrapolation"] = extrapolation(opt.n, float(data.n.min()), float(data.n.max()))
    d["m_extrapolation"] = extrapolation(opt.m, float(data.m.min()), float(data.m.max()))
    return d


def _plan_cost(data: RunData, t: float, cs: float, ce: float, *, n_max: float, m_max: float, n_boot: int, ci: float, seed: int, r2_min: float) -> CostPlanResult:
    _require_surface(data, "cost planning (--cost-sim/--cost-exp)")
    surf = laws.fit_surface(data.n, data.m, data.transfer, n_boot=n_boot, ci=ci, seed=seed)
    pred = surf.predict(data.n[:, None], data.m[None, :])
    chk = _check_law(
        "E(n, m) = δ·(γ + n^−α)·m^−β", surf.mean_mae, pred, _sem(data.transfer), surf.r2, 4, r2_min,
        {"alpha": surf.alpha, "beta": surf.beta}, axes=("n", "m"), labels=(data.n, data.m),
    )
    n0, m0 = float(data.n.max()), float(data.m.max())
    if n_max < n0 or m_max < m0:
        raise S2RBenchError(
            f"--n-max/--m-max ({n_max:g}, {m_max:g}) are below the largest measured (n, m) = ({n0:g}, {m0:g}); raise them"
        )
    cp = laws.plan_cost(surf, t, cs, ce, n_max=n_max, m_max=m_max, n0=n0, m0=m0)
    Pb = _surf_params(surf)
    nb, mb, _ = _cheapest_batch(Pb, t, cs, ce, m0, n_max, m_max)
    ns_b = _n_for(Pb, t, np.full(len(Pb), m0))
    ns_b = np.where(ns_b <= n_max, ns_b, np.inf)
    me_b = _m_for(Pb, t, np.full(len(Pb), n0))
    me_b = np.where(me_b <= m_max, me_b, np.inf)
    cheapest = _option(cp.cheapest, nb, mb, Pb, cs, ce, n0, m0, data, ci)
    from_current = _option(cp.from_current, None, None, Pb, cs, ce, n0, m0, data, ci)
    more_sims = _option(cp.more_sims, ns_b, np.full(len(Pb), m0), Pb, cs, ce, n0, m0, data, ci)
    more_exps = _option(cp.more_exps, np.full(len(Pb), n0), me_b, Pb, cs, ce, n0, m0, data, ci)
    more_sims["m_ci"] = more_exps["n_ci"] = (math.nan, math.nan)  # held fixed, no uncertainty
    obs = float(surf.mean_mae[-1, -1])
    notes = []
    if not (math.isfinite(n_max) or math.isfinite(m_max)):
        notes.append("no --n-max/--m-max: any target > 0 is reachable on the fitted surface by adding experiments; see the extrapolation factors")
    if cp.current_mae <= t:
        notes.append(f"the fitted MAE at the largest measured (n, m) = ({n0:g}, {m0:g}) already reaches the target ({cp.current_mae:.4g})")
    return CostPlanResult(
        run=data.describe(), target_mae=t, cost_sim=cs, cost_exp=ce, n0=n0, m0=m0, current_mae_fit=cp.current_mae,
        current_mae_observed=obs, n_max=n_max, m_max=m_max, cheapest=cheapest, from_current=from_current,
        more_sims=more_sims, more_exps=more_exps, check=chk, law_params=_surface_params(surf), ci=ci, notes=notes,
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
        raise S2RBenchError(f"{missing} is missing: cost planning needs both the cost of a simulation and of an experiment")
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
        raise S2RBenchError("--n-max/--m-max (n_max, m_max) limit cost planning only; add --cost-sim and --cost-exp, or drop them")
    data = load_run(run_dir, allow_incomplete=allow_incomplete)
    mm = data.m_default if m is None else _check_m_in_grid(data, m)
    return _plan_n(data, t, mm, law=law, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)


# --------------------------------------------------------------------------------------------------
# equivalence
# --------------------------------------------------------------------------------------------------


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

    @property
    def adequate(self) -> bool:
        return self.surface_check.adequate and self.scratch_check.adequate

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["adequate"] = self.adequate
        return _jsonable(d)


def _m_equiv_batch(e_t: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        gap = e_t - c
        v = np.power(a / np.where(gap > 0, gap, 1.0), 1.0 / b)
    return np.where(gap > 0, v, np.inf)


def _dn_batch(P: np.ndarray, n: float, m: float) -> np.ndarray:
    al, be, ga = P[:, 0], P[:, 1], P[:, 2]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rhs = (ga + n ** (-al)) * (m / (m + 1.0)) ** be
        dn = np.power(np.where(rhs > ga, rhs - ga, 1.0), -1.0 / al) - n
    return np.where(rhs > ga, dn, np.inf)


def equivalence_curve(surface: laws.SurfaceFit, scratch: laws.PowerLawFit, n: np.ndarray, m: float) -> np.ndarray:
    """m'(n) at fixed m on the point estimates (inf where unreachable); used by the figures."""
    e_t = surface.predict(np.asarray(n, dtype=float), m)
    return _m_equiv_batch(e_t, np.full_like(e_t, scratch.D), np.full_like(e_t, scratch.alpha), np.full_like(e_t, scratch.C))


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
        P, S = P[good], S[good]
        e_t = _E(P, n, m)
        e_0 = S[:, 2] * m ** (-S[:, 0]) + S[:, 1]
        meq = _m_equiv_batch(e_t, S[:, 2], S[:, 0], S[:, 1])
        dn = _dn_batch(P, n, m)
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
    obs_0 = float(np.nanmean(data.scratch[:, jm[0]])) if len(jm) and np.isfinite(data.scratch[:, jm[0]]).any() else math.nan
    if math.isfinite(eq.m_equiv) and eq.m_equiv < m:
        notes.append(f"m' < m: at (n={n:g}, m={m:g}) the pretrained model is worse than training from scratch (negative transfer)")
    if not eq.reachable:
        notes.append(f"unreachable: the transfer MAE {eq.transfer_mae:.4g} is at or below the scratch floor c = {sc.C:.4g}; no amount of real data alone matches it")
    return EquivalenceResult(
        run=data.describe(), n=n, m=m, transfer_mae=eq.transfer_mae, transfer_mae_ci=ci_t, scratch_mae=eq.scratch_mae,
        scratch_mae_ci=ci_0, m_equiv=eq.m_equiv, m_equiv_ci=ci_eq, equiv_ratio=eq.equiv_ratio, equiv_ratio_ci=ci_r,
        sims_worth_real=eq.m_equiv - m, sims_worth_real_ci=ci_w, reachable=eq.reachable, frac_unreachable=frac,
        sims_per_experiment=eq.sims_per_experiment, sims_per_experiment_ci=ci_dn,
        sims_per_experiment_reachable=eq.sims_per_experiment_reachable,
        n_extrapolation=extrapolation(n, float(data.n.min()), float(data.n.max())),
        m_extrapolation=extrapolation(m, float(data.m.min()), float(data.m.max())),
        m_equiv_extrapolation=extrapolation(eq.m_equiv, float(data.m.min()), float(data.m.max())),
        n_plus_dn_extrapolation=extrapolation(n + eq.sims_per_experiment, float(data.n.min()), float(data.n.max())),
        observed_transfer_mae=obs_t, observed_scratch_mae=obs_0, surface_check=rep.surface_check,
        scratch_check=rep.scratch.check, surface_params=_surface_params(s), scratch_params=_scratch_params(sc),
        ci=ci, notes=notes,
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
    rep = _fit_surface_data(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)
    return _equivalence(rep, data, float(data.n.max()) if nv is None else nv, float(data.m_default) if mv is None else mv, ci)


# --------------------------------------------------------------------------------------------------
# backtest
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Fit on the smaller part of the n grid, predict the larger part, compare with what was measured.

    ``per_m``: one entry per measured m with the 1-D law's backtest (``table`` rows: n, observed,
    predicted, pi_lo, pi_hi, rel_error, covered, extrapolation) or an ``error``. ``surface``: the
    two-variable law fitted on the smaller n at every m, predicting every held-out (n, m) cell (None
    for a one-m run). ``n_fit`` / ``n_held`` are the n values fitted and predicted.
    """

    run: dict[str, Any]
    split: float
    n_fit: list[float]
    n_held: list[float]
    per_m: list[dict[str, Any]]
    surface: dict[str, Any] | None
    ci: float

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dict(self.__dict__))


def _table_records(tab: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in tab.to_dict(orient="records"):
        out.append({k: (None if v is pd.NA else v) for k, v in rec.items()})
    return out


def _surface_backtest(data: RunData, k: int, *, n_boot: int, ci: float, seed: int) -> dict[str, Any]:
    nf, nh = data.n[:k], data.n[k:]
    Y = data.transfer
    T = Y.shape[0]
    s = laws.fit_surface(nf, data.m, Y[:, :k, :], n_boot=n_boot, ci=ci, seed=seed)
    Yh = Y[:, k:, :].reshape(T, -1)
    NN, MM = np.meshgrid(nh, data.m, indexing="ij")
    nn, mm = NN.ravel(), MM.ravel()
    obs = np.nanmean(Yh, axis=0) if T else np.full(len(nn), np.nan)
    pred = s.predict(nn, mm)
    # The surface's bootstrap resamples trials with these counts (same seed, same trial count), so
    # each replicate's held-out means pair with its parameters, as in `laws.backtest`.
    counts = laws._boot_counts(T, n_boot, seed)
    if counts is not None and len(s.boot):
        ob = laws._means(counts, Yh)
        bt = s.boot
        with np.errstate(invalid="ignore", over="ignore"):
            pb = bt[:, 3:4] * (bt[:, 2:3] + np.power(nn[None, :], -bt[:, 0:1])) * np.power(mm[None, :], -bt[:, 1:2])
        dd = (ob - pb) - (obs - pred)[None, :]
        dd = np.where(np.isfinite(dd), dd, np.nan)
        lo = pred + np.nanpercentile(dd, 50.0 * (1.0 - ci), axis=0)
        hi = pred + np.nanpercentile(dd, 50.0 * (1.0 + ci), axis=0)
        covered: list[Any] = [bool(v) for v in (obs >= lo) & (obs <= hi)]
    else:
        lo = hi = np.full(len(nn), np.nan)
        covered = [None] * len(nn)
    rel = (pred - obs) / obs
    ok = np.isfinite(obs)
    table = [
        {"n": float(a), "m": float(b), "observed": float(o), "predicted": float(p), "pi_lo": float(l), "pi_hi": float(h),
         "rel_error": float(r), "covered": c, "extrapolation": float(a / nf.max())}
        for a, b, o, p, l, h, r, c, keep in zip(nn, mm, obs, pred, lo, hi, rel, covered, ok) if keep
    ]
    cov = [r["covered"] for r in table]
    return {
        "fit": _surface_params(s), "table": table,
        "mean_abs_rel_error": float(np.mean(np.abs(rel[ok]))) if ok.any() else math.nan,
        "max_abs_rel_error": float(np.max(np.abs(rel[ok]))) if ok.any() else math.nan,
        "coverage": float(np.mean(cov)) if cov and all(c is not None for c in cov) else math.nan,
    }


def backtest_run(
    run_dir: str | Path, *, split: float = 0.5, n_boot: int = 1000, ci: float = 0.90, seed: int = 0,
    allow_incomplete: bool = False,
) -> BacktestResult:
    """Fit the laws on the smaller ``split`` fraction of the n grid and predict the MAE at the rest.

    For every measured m the 1-D law E(n) = D n^-alpha + C is backtested (`laws.backtest`); on a
    surface run the two-variable law is too, fitted to the smaller n at every m and predicting every
    held-out cell. Intervals are bootstrap prediction intervals for the observed mean (curve
    uncertainty and trial noise); ``covered`` says whether the observed value fell inside.
    """
    try:
        sp = float(split)
    except (TypeError, ValueError):
        sp = math.nan
    if not 0.0 < sp < 1.0:
        raise S2RBenchError(f"--split (split) must be in (0, 1) (got {split!r}); e.g. 0.5 fits the smaller half of the n grid")
    data = load_run(run_dir, allow_incomplete=allow_incomplete)
    K = len(data.n)
    k = int(round(sp * K))
    if k < 3 or k > K - 1:
        raise S2RBenchError(
            f"RUN_DIR {data.run_dir} has {K} n sizes and --split {sp:g} leaves {k} to fit and {K - k} to predict; the law "
            "needs >= 3 to fit and >= 1 to predict: rerun `s2rbench run` with more --sizes (6 or more for --split 0.5) or change --split"
        )
    per_m = []
    for m in data.m:
        Y = data.curve(m)
        try:
            bt = laws.backtest(data.n, Y, split=k / K, n_boot=n_boot, ci=ci, seed=seed)
        except S2RBenchError as exc:
            per_m.append({"m": float(m), "error": str(exc)})
            continue
        per_m.append(
            {
                "m": float(m), "fit": _curve_params(bt.fit), "table": _table_records(bt.table),
                "mean_abs_rel_error": bt.mean_abs_rel_error, "max_abs_rel_error": bt.max_abs_rel_error,
                "coverage": bt.coverage,
            }
        )
    surf = None
    if data.is_surface:
        try:
            surf = _surface_backtest(data, k, n_boot=n_boot, ci=ci, seed=seed)
        except S2RBenchError as exc:
            surf = {"error": str(exc)}
    return BacktestResult(
        run=data.describe(), split=sp, n_fit=[float(v) for v in data.n[:k]], n_held=[float(v) for v in data.n[k:]],
        per_m=per_m, surface=surf, ci=ci,
    )
