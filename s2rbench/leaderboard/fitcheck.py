"""Comparing a submission's stated numbers with the ones its raw trial data give, on any CPU.

Why this module exists: a check that compares fitted parameters digit by digit fails on another
machine. Measured on an AVX-512 CPU with the package versions the entries were made with: the
stated ``D_ci[0]`` of a flat gbdt-stack curve (R² 0.42) came out 0.330 here and 0.347 there, and a
flat ridge curve's α came out 1e-6 on one BLAS kernel and 10 on another. Both curves have no law:
their fits are ill-posed (many parameter sets fit equally well), so which one the optimiser returns
depends on the floating-point path. What the check verifies must be a property of the data:

- **linear statistics** (mean MAE at the largest n, its bootstrap interval, the scratch MAE, the
  gain) are sums of the trial MAEs; every code path agrees to ~1e-12 relative, so they are compared
  tightly (`RTOL_POINT`, `RTOL_INTERVAL` relative plus an absolute floor, `tolerance`);
- **whether there is a law** is `s2rbench.lawcheck.law_verdict` of the recomputed fit; R² is compared
  within `R2_ATOL` (the R² of the best fit is well-defined even when its parameters are not);
- **α, C, D and their intervals** are compared only when the recomputed fit has a law, never for a
  parameter at its bound (α at 1e-6 or 10, C at 0 or at the largest mean MAE: an edge of the search
  box, not an estimate), and with a tolerance taken from the bootstrap spread: a point estimate may
  move by `SPREAD_POINT` of its own 90% interval, an interval endpoint by `SPREAD_INTERVAL` of it.
  For a normal bootstrap distribution the Monte-Carlo standard error of a 5% percentile from 1000
  resamples is ~2% of the 90% width; a code path that sends a few resample fits to another local
  optimum moves an endpoint by a few ranks, i.e. a few percent of the width. 0.10 and 0.25 leave
  room for that and still catch a law whose parameters were edited by a fraction of their spread.

The ranking uses only the linear statistics (and the page shows the stated fit), so a stated fit
that passes within these tolerances cannot move an entry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..lawcheck import law_verdict

#: Relative tolerance for recomputed linear statistics (MAEs, gain).
RTOL_POINT = 1e-6
#: Relative tolerance for the bootstrap interval of a mean (the same resample counts, so also tight).
RTOL_INTERVAL = 1e-6
#: Absolute floor, in units of the curve's largest mean MAE, for quantities in MAE units.
ATOL_MAE_FRACTION = 1e-6
#: Absolute floor for dimensionless quantities (α, gain).
ATOL_UNITLESS = 1e-6
#: R² of the recomputed fit against the stated one.
R2_ATOL = 0.01
#: A point estimate may move by this fraction of its recomputed 90% interval's width.
SPREAD_POINT = 0.10
#: An interval endpoint may move by this fraction of the recomputed interval's width.
SPREAD_INTERVAL = 0.25
#: A value within this relative distance of a bound is "at the bound".
BOUND_RTOL = 1e-4


def tolerance(kind: str, actual: float, scale: float, interval: bool = False) -> float:
    """Allowed |stated - recomputed| of a linear statistic: relative part plus an absolute floor."""
    rtol = RTOL_INTERVAL if interval else RTOL_POINT
    atol = ATOL_MAE_FRACTION * scale if kind == "mae" else ATOL_UNITLESS
    return rtol * abs(actual) + atol


def _fmt(v: Any) -> str:
    return "null" if v is None else f"{v:.6g}"


def _at_bound(name: str, v: float | None, y_max: float) -> bool:
    """Whether a fitted value sits on an edge of the fit's search box (then it is not an estimate)."""
    from ..laws import _EXPONENT_MIN, EXPONENT_MAX

    if v is None or not math.isfinite(v):
        return True
    if name == "alpha":
        return v <= _EXPONENT_MIN * (1 + BOUND_RTOL) + 1e-12 or v >= EXPONENT_MAX * (1 - BOUND_RTOL)
    if name == "C":
        return v <= BOUND_RTOL * y_max or v >= y_max * (1 - BOUND_RTOL)
    return False


def _compare(out: list[str], fname: str, stated: Any, real: Any, tol: float, why: str) -> None:
    if stated is None or real is None:
        if not (stated is None and real is None):
            out.append(f"{fname}: stated {_fmt(stated)} but the raw trial data give {_fmt(real)}; {why}")
        return
    if abs(float(stated) - float(real)) > tol:
        out.append(
            f"{fname}: stated {_fmt(stated)} but the raw trial data give {_fmt(real)} (allowed difference {_fmt(tol)}); {why}"
        )


REGENERATE = "the stated numbers must be the ones recomputed from results — regenerate the file with `s2rbench submit`"

#: (field, kind) of the summary section; all linear in the trial MAEs.
SUMMARY_FIELDS = (
    ("mae_at_largest_n", "mae"),
    ("mae_at_largest_n_ci", "mae"),
    ("scratch_mae", "mae"),
    ("gain_over_scratch", "unitless"),
)


def compare_summary(stated: dict[str, Any], actual: dict[str, Any], scale: float) -> list[str]:
    out: list[str] = []
    for key, kind in SUMMARY_FIELDS:
        s, r = stated.get(key), actual[key]
        if isinstance(r, list):
            for i, (si, ri) in enumerate(zip(s or [None, None], r)):
                _compare(out, f"summary.{key}[{i}]", si, ri, tolerance(kind, float(ri or 0), scale, True), REGENERATE)
        else:
            _compare(out, f"summary.{key}", s, r, tolerance(kind, float(r or 0), scale), REGENERATE)
    return out


def compare_fit(stated: dict[str, Any], actual: dict[str, Any], y_max: float, scale: float) -> list[str]:
    """Problems of a stated fit against the recomputed one (see the module docstring for the rules)."""
    out: list[str] = []
    _compare(out, "fit.r2", stated.get("r2"), actual.get("r2"), R2_ATOL, REGENERATE)
    if out:
        return out
    raw, said = law_verdict(actual), law_verdict(stated)
    if not raw.holds:
        return []  # no law: its parameters are ill-posed and never compared (the page shows "no law")
    if not said.holds:
        return [f"fit: the stated fit has no law ({said.reason}) but the raw trial data give one; {REGENERATE}"]
    degenerate = _at_bound("alpha", actual.get("alpha"), y_max) or (
        actual.get("C") is not None and actual["C"] >= y_max * (1 - BOUND_RTOL)
    )
    for p in ("alpha", "C", "D"):
        ci = actual.get(f"{p}_ci") or [None, None]
        width = abs(ci[1] - ci[0]) if None not in ci else math.inf
        floor = tolerance("unitless" if p == "alpha" else "mae", float(actual.get(p) or 0), scale)
        if not degenerate and not _at_bound(p, actual.get(p), y_max):
            _compare(out, f"fit.{p}", stated.get(p), actual.get(p), SPREAD_POINT * width + floor, REGENERATE)
        s_ci = stated.get(f"{p}_ci") or [None, None]
        for i in (0, 1):
            if ci[i] is None or _at_bound(p, ci[i], y_max):
                continue
            _compare(out, f"fit.{p}_ci[{i}]", s_ci[i], ci[i], SPREAD_INTERVAL * width + floor, REGENERATE)
    return out


def curve_scale(summary: Any) -> tuple[float, float]:
    """(largest mean MAE of the curve, largest single trial MAE): the floors' unit and C's upper bound."""
    means = summary.curve["mean"].to_numpy(dtype=float) if len(summary.curve) else np.array([1.0])
    scale = float(np.nanmax(means))
    return scale, scale
