"""The laws of one run: E(n) at each m, the surface E(n, m), the scratch curve E0(m), each with its check.

`surface_report(data, ...)` fits them once per `RunData` and bootstrap setting (cached on the run
data), and every question asked of a surface run (plan, equivalence, the report's section and
figures) reads that one report instead of refitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import laws
from ..errors import S2RBenchError
from ..laws import jsonable as _jsonable
from ..laws.decisions import interval as _interval
from ..laws.jsonable import estimates
from .lawcheck import R2_MIN, LawCheck, _check_law
from .rundata import RunData, _require_surface, _sem, load_run


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
                "label": self.label,
                "m": self.m,
                "adequate": self.adequate,
                "fit": self.fit.to_dict() if self.fit is not None else None,
                "check": self.check.to_dict() if self.check is not None else None,
                "error": self.error,
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
                "run": self.run,
                "ci": self.ci,
                "n_boot": self.n_boot,
                "surface": {**self.surface.to_dict(), "adequate": self.adequate, "check": self.surface_check.to_dict()},
                "per_m": [c.to_dict() for c in self.per_m],
                "alpha_vs_m": self.alpha_vs_m,
                "scratch": self.scratch.to_dict(),
            }
        )


def _curve_report(
    label: str,
    m: float | None,
    x: np.ndarray,
    Y: np.ndarray,
    *,
    scratch: bool,
    n_boot: int,
    ci: float,
    seed: int,
    r2_min: float,
) -> CurveReport:
    has = ~np.all(np.isnan(Y), axis=0)
    try:
        fn = laws.fit_scratch if scratch else laws.fit_power_law
        f = fn(x[has], Y[:, has], n_boot=n_boot, ci=ci, seed=seed)
    except S2RBenchError as exc:
        return CurveReport(label=label, m=m, fit=None, check=None, error=str(exc))
    mean = np.nanmean(Y[:, has], axis=0)
    chk = _check_law(
        label,
        mean,
        f.predict(x[has]),
        _sem(Y[:, has]),
        f.r2,
        3,
        r2_min,
        {"b" if scratch else "alpha": f.alpha},
        axes=("n",),
        axis_name="m" if scratch else "n",
        fit=f,
    )
    return CurveReport(label=label, m=m, fit=f, check=chk)


def _alpha_vs_m(per_m: list[CurveReport], surface: laws.SurfaceFit, ci: float) -> dict[str, Any]:
    ok = [c for c in per_m if c.fit is not None]
    rows = [
        {
            "m": c.m,
            "alpha": c.fit.alpha,
            "alpha_ci": c.fit.alpha_ci,
            "adequate": c.adequate,
            "surface_alpha_inside": bool(c.fit.alpha_ci[0] <= surface.alpha <= c.fit.alpha_ci[1])
            if np.all(np.isfinite(c.fit.alpha_ci))
            else None,
        }
        for c in ok
    ]
    out: dict[str, Any] = {
        "per_m": rows,
        "surface_alpha": surface.alpha,
        "surface_alpha_ci": surface.alpha_ci,
        "paired": [],
    }
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
            paired.append(
                {
                    "m": c.m,
                    "m_ref": ref.m,
                    "diff": c.fit.alpha - ref.fit.alpha,
                    "diff_ci": (lo, hi),
                    "excludes_zero": bool(lo > 0 or hi < 0),
                }
            )
    out["paired"] = paired
    disjoint = []
    for i, a in enumerate(good):
        for b in good[i + 1 :]:
            (l1, h1), (l2, h2) = a.fit.alpha_ci, b.fit.alpha_ci
            if np.all(np.isfinite([l1, h1, l2, h2])) and (h1 < l2 or h2 < l1):
                disjoint.append((a.m, b.m))
    out["disjoint_intervals"] = disjoint
    pct = round(100 * ci)
    if paired:
        hits = [p for p in paired if p["excludes_zero"]]
        if hits:
            txt = "; ".join(
                f"α(m={p['m']:g}) − α(m={p['m_ref']:g}) = {p['diff']:+.3g} [{p['diff_ci'][0]:+.3g}, {p['diff_ci'][1]:+.3g}]"
                for p in hits
            )
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
        out["verdict"] = (
            "alpha depends on m: the per-m intervals of "
            + ", ".join(f"m={a:g} and m={b:g}" for a, b in disjoint)
            + " do not overlap"
        )
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
        "E(n, m) = δ·(γ + n^−α)·m^−β",
        surf.mean_mae,
        pred,
        _sem(data.transfer),
        surf.r2,
        4,
        r2_min,
        {"alpha": surf.alpha, "beta": surf.beta},
        axes=("n", "m"),
        labels=(data.n, data.m),
        fit=surf,
    )
    per_m = [_curve_at_m(data, m, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min) for m in data.m]
    scratch = _curve_report(
        "E0(m) (scratch)", None, data.m, data.scratch, scratch=True, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min
    )
    return SurfaceReport(
        run=data.describe(),
        surface=surf,
        surface_check=schk,
        per_m=per_m,
        scratch=scratch,
        alpha_vs_m=_alpha_vs_m(per_m, surf, ci),
        n_boot=n_boot,
        ci=ci,
    )


def fit_surface_run(
    run_dir: str | Path,
    *,
    n_boot: int = 1000,
    ci: float = 0.90,
    seed: int = 0,
    r2_min: float = R2_MIN,
    allow_incomplete: bool = False,
) -> SurfaceReport:
    """Fit the two-variable law, the per-m curves and the scratch curve of a surface run directory.

    Intervals are ``ci`` bootstrap percentile intervals over trials (``n_boot`` resamples, ``seed``).
    Each law carries a `LawCheck`; a law that does not fit says so in ``check.problems``.
    """
    data = load_run(run_dir, allow_incomplete=allow_incomplete)
    return surface_report(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min)


# --------------------------------------------------------------------------------------------------
# Vectorised law arithmetic over bootstrap replicates
# --------------------------------------------------------------------------------------------------


def _surface_params(s: laws.SurfaceFit) -> dict[str, Any]:
    params = estimates(s, ("alpha", "beta", "gamma", "delta", "r2"), interleave=True)
    return {"law": "delta*(gamma + n^-alpha)*m^-beta", **params}


def _curve_params(f: laws.PowerLawFit) -> dict[str, Any]:
    params = estimates(f, ("alpha", "C", "D"), interleave=True)
    return {"law": "D*n^-alpha + C", **params, "r2": f.r2, "better": f.better}


def _scratch_params(f: laws.PowerLawFit) -> dict[str, Any]:
    params = estimates(f, {"a": "D", "b": "alpha", "c": "C"}, interleave=True)
    return {"law": "a*m^-b + c", **params, "r2": f.r2, "better": f.better}


def surface_report(
    data: RunData, *, n_boot: int, ci: float = 0.90, seed: int = 0, r2_min: float = R2_MIN
) -> SurfaceReport:
    """`SurfaceReport` of ``data``, fitted once per (n_boot, ci, seed, r2_min) and cached on the run data."""
    return data.cached(
        ("surface", n_boot, ci, seed, r2_min),
        lambda: _fit_surface_data(data, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min),
    )


def curve_report(
    data: RunData, m: float, *, n_boot: int, ci: float = 0.90, seed: int = 0, r2_min: float = R2_MIN
) -> CurveReport:
    """The 1-D law at one measured m, cached like `surface_report` (a surface report's own per-m fits are reused)."""
    key = ("surface", n_boot, ci, seed, r2_min)
    if key in data._cache:
        for c in data._cache[key].per_m:
            if c.m == float(m):
                return c
    return data.cached(
        ("curve", float(m), n_boot, ci, seed, r2_min),
        lambda: _curve_at_m(data, m, n_boot=n_boot, ci=ci, seed=seed, r2_min=r2_min),
    )


def _curve_at_m(data: RunData, m: float, *, n_boot: int, ci: float, seed: int, r2_min: float) -> CurveReport:
    """The 1-D law E(n) at one measured m: a surface report's per-m fits and `curve_report` are one fit."""
    return _curve_report(
        f"E(n) at m={m:g}",
        float(m),
        data.n,
        data.curve(m),
        scratch=False,
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        r2_min=r2_min,
    )
