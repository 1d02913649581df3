"""The one "is there a law?" policy, asked by every command, report, figure and leaderboard page.

Why one function: a run for which the table says "no law" must not get a fitted curve in its
figure, an α in `submit`'s summary line or a plan built on it. Every output asks `law_verdict`
and prints parameters only when ``verdict.holds``. It is deliberately a function of the fit as a
plain mapping (``fit.to_dict()`` or a submission's stored ``fit``) as well as of a fit object, so
that a stored entry and a live fit are judged alike; a condition whose inputs a stored fit lacks
(e.g. the paired drop of an entry made before it was recorded) is skipped, never guessed.

R² alone is not a law. With 4-7 sizes a flexible curve through noise can reach R² 0.9 while its
parameters are undetermined (measured: a flat bandgap ridge run, R² 0.972, α = 0.65 [0.26, 9.5],
D up to 3·10¹⁷; a synthetic gbdt-delta run, R² 0.991, whose decrease over the grid is 1.9 s.e.).
A fit is "no law" when any of these holds (thresholds calibrated on the 42 leaderboard entries:
every entry with a law by eye passes, every flat or degenerate one fails):

1. ``R² < R2_MIN`` (0.90, as the leaderboard has used) or R² undefined.
2. A parameter at its bound: an exponent (α, β) within a factor 10 of its lower bound 1e-6
   (`EXPONENT_FLAT`: the curve is flat) or above 0.99 of its upper bound 10 (a step, not a
   power law); an amplitude (D, δ) at 0; the floor C at the top of the data (C >= 0.99 max mean
   MAE: everything is floor). C = 0 and γ = 0 are legitimate answers (no floor), not bounds.
3. A parameter interval spanning orders of magnitude: an exponent's interval wider than a factor
   `EXPONENT_SPAN` (10), or reaching a bound. A planned n scales as gap^(−1/α), so an α known only
   to a factor 10 leaves every extrapolated n undetermined by orders of magnitude; clean entries
   have α intervals within a factor 1.1-1.6 (the widest clean quick one 4.7). An amplitude's
   interval wider than `AMPLITUDE_SPAN` (100): D is the error at n = 1 and carries α's uncertainty
   times log n, a factor 1.1-3 on clean entries; two decades mean the amplitude is not determined
   (degenerate entries: 10¹⁰-10²³⁷).
4. Flat within the trial-to-trial spread: the mean paired decrease from the smallest to the largest
   size is below ``t(0.95, trials − 1)`` standard errors (one-sided 5%, Student's t because with
   4-10 trials the s.e. is itself uncertain), or negative. Whatever the R², a curve whose fall over
   the whole measured range is not distinguishable from zero has no exponent to report.

The surface law E(n, m) is judged by the same rules (α, β, δ, and the decrease over n averaged
over m); a law family (`s2rbench.laws.families`) by its parameters' declared bounds and spans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import laws
from ..laws import jsonable as _jsonable

#: Below this R² on the per-size means, the law does not describe the curve.
R2_MIN = 0.90
#: Two-sided p-value thresholds of the residual-pattern flag (both must be met; see `LawCheck`).
RUNS_P = 0.05
LOF_P = 1e-3
#: A residual pattern is only a problem when the worst misfit exceeds this relative size (1%).
RESID_MIN = 0.01
_PERMUTATIONS = 4000


#: An exponent below this is at its lower bound (1e-6) for every practical purpose: the curve is flat.
EXPONENT_FLAT = 1e-5
#: An exponent's interval may span at most this factor (hi / lo).
EXPONENT_SPAN = 10.0
#: An amplitude's interval may span at most this factor (hi / lo).
AMPLITUDE_SPAN = 100.0
#: One-sided level of the "does the curve fall at all?" test.
DROP_LEVEL = 0.95


@dataclass(frozen=True)
class LawVerdict:
    """``holds``: the law describes the data; ``reason``: one line saying why not (empty if it holds);
    ``reasons``: every condition that failed."""

    holds: bool
    reason: str = ""
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.holds


def _get(fit: Any, key: str) -> Any:
    if isinstance(fit, dict):
        return fit.get(key)
    return getattr(fit, key, None)


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _ci(fit: Any, key: str) -> tuple[float, float]:
    c = _get(fit, key)
    if c is None or len(c) != 2:
        return (math.nan, math.nan)
    return (_f(c[0]), _f(c[1]))


def _g(v: float) -> str:
    return f"{v:.3g}"


def _exponent(name: str, v: float, ci: tuple[float, float], out: list[str]) -> None:
    hi_b = 0.99 * laws.EXPONENT_MAX
    if math.isfinite(v) and v <= EXPONENT_FLAT:
        out.append(f"{name} = {_g(v)} sits at its lower bound: the curve is flat")
    elif math.isfinite(v) and v >= hi_b:
        out.append(
            f"{name} = {_g(v)} sits at its upper bound {laws.EXPONENT_MAX:g}: the curve is a step, not a power law"
        )
    lo, hi = ci
    if math.isfinite(lo) and math.isfinite(hi):
        if lo <= EXPONENT_FLAT or hi >= hi_b:
            out.append(f"{name}'s interval [{_g(lo)}, {_g(hi)}] reaches a bound: the data do not determine {name}")
        elif hi / lo > EXPONENT_SPAN:
            out.append(f"{name}'s interval [{_g(lo)}, {_g(hi)}] spans a factor {_g(hi / lo)} (> {EXPONENT_SPAN:g})")


def _amplitude(name: str, v: float, ci: tuple[float, float], scale: float, out: list[str]) -> None:
    tiny = 1e-12 * (scale if math.isfinite(scale) and scale > 0 else 1.0)
    if math.isfinite(v) and v <= tiny:
        out.append(f"{name} = {_g(v)} sits at its bound 0: the error does not depend on n")
        return
    lo, hi = ci
    if math.isfinite(hi) and math.isfinite(lo):
        span = hi / lo if lo > 0 else math.inf
        if span > AMPLITUDE_SPAN:
            out.append(
                f"{name}'s interval [{_g(lo)}, {_g(hi)}] spans {'orders of magnitude' if span > 1e3 else f'a factor {_g(span)}'} (> {AMPLITUDE_SPAN:g})"
            )


def _flat(fit: Any, out: list[str], axis: str = "n") -> None:
    drop, se, k = _f(_get(fit, "drop")), _f(_get(fit, "drop_se")), _get(fit, "drop_trials")
    if not math.isfinite(drop):
        return
    if drop <= 0:
        out.append(f"the error does not fall from the smallest to the largest {axis} (mean paired change {_g(-drop)})")
        return
    if not math.isfinite(se) or not k or int(k) < 2:
        return
    from scipy.stats import t as student_t

    q = float(student_t.ppf(DROP_LEVEL, int(k) - 1))
    if drop < q * se:
        out.append(
            f"flat within the trial-to-trial spread: the error falls by {_g(drop)} from the smallest to the largest {axis}, "
            f"{_g(drop / se) if se > 0 else '∞'} standard errors (< {_g(q)})"
        )


def law_verdict(fit: Any, *, r2_min: float = R2_MIN, scratch: bool = False) -> LawVerdict:
    """Whether the fitted law ``fit`` (a fit object or its ``to_dict()``; the 1-D curve, the scratch
    curve, the surface or a law family) describes its data; see the module docstring for the rules.
    ``scratch`` names the parameters and the axis as the scratch curve E0(m) = a·m^−b + c does."""
    if fit is None:
        return LawVerdict(False, "no law could be fitted", ("no law could be fitted",))
    out: list[str] = []
    r2 = _f(_get(fit, "r2"))
    if not math.isfinite(r2):
        out.append("R² undefined (the means do not vary, or too few sizes)")
    elif r2 < r2_min:
        out.append(f"R² = {max(r2, 0.0) if r2 > -5e-4 else r2:.3f} is below {r2_min:g}")
    mean = np.asarray(_get(fit, "mean_mae") if _get(fit, "mean_mae") is not None else [], dtype=float)
    ymax = float(np.nanmax(mean)) if mean.size and np.isfinite(mean).any() else math.nan
    params = _get(fit, "params")
    if isinstance(params, dict) and _get(fit, "family") is not None:  # a law family: declared roles
        for name, spec in params.items():
            role = spec.get("role")
            v, ci = _f(spec.get("value")), tuple(_f(c) for c in (spec.get("ci") or (math.nan, math.nan)))
            if role == "exponent":
                _exponent(name, v, ci, out)
            elif role == "amplitude":
                _amplitude(name, v, ci, ymax, out)
            elif role == "floor":
                if math.isfinite(v) and math.isfinite(ymax) and v >= 0.99 * ymax:
                    out.append(
                        f"{name} = {_g(v)} sits at the top of the data: everything is floor, nothing depends on n"
                    )
            elif role == "size":
                lo_b, hi_b = _f(spec.get("lo")), _f(spec.get("hi"))
                if math.isfinite(v) and (v <= lo_b * 1.01 or v >= hi_b * 0.99):
                    out.append(f"{name} = {_g(v)} sits at its bound: the bend lies outside the measured range")
    elif _get(fit, "beta") is not None:  # the surface
        _exponent("α", _f(_get(fit, "alpha")), _ci(fit, "alpha_ci"), out)
        _exponent("β", _f(_get(fit, "beta")), _ci(fit, "beta_ci"), out)
        _amplitude("δ", _f(_get(fit, "delta")), _ci(fit, "delta_ci"), ymax, out)
    else:
        a_, d_, c_, ax_ = ("b", "a", "c", "m") if scratch else ("α", "D", "C", "n")
        _exponent(a_, _f(_get(fit, "alpha")), _ci(fit, "alpha_ci"), out)
        _amplitude(d_, _f(_get(fit, "D")), _ci(fit, "D_ci"), ymax, out)
        c = _f(_get(fit, "C"))
        if math.isfinite(c) and math.isfinite(ymax) and c >= 0.99 * ymax:
            out.append(f"{c_} = {_g(c)} sits at the top of the data: everything is floor, nothing depends on {ax_}")
        if scratch:
            out = [o.replace("depend on n", "depend on m") for o in out]
    _flat(fit, out, "m" if scratch else "n")
    if out:
        return LawVerdict(False, "; ".join(out), tuple(out))
    return LawVerdict(True)


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
    fit: Any = None,
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
    if fit is not None:
        problems.extend(law_verdict(fit, r2_min=r2_min, scratch=axis_name == "m").reasons)
    else:
        if not math.isfinite(r2):
            problems.append("R² undefined (the cell means do not vary, or too few cells)")
        elif r2 < r2_min:
            problems.append(f"R² = {r2:.3f} is below {r2_min:g}")
        for name, v in exponents.items():
            if v >= 0.99 * laws.EXPONENT_MAX:
                problems.append(
                    f"{name} hit its upper bound {laws.EXPONENT_MAX:g}: the curve is a step, not a power law"
                )
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
                + (
                    f", residuals {math.sqrt(lof):.1f}x the trial noise, lack-of-fit p = {lof_p:.2g}"
                    if math.isfinite(lof_p)
                    else ""
                )
                + ")"
            )
    return LawCheck(
        law=law,
        adequate=not problems,
        problems=problems,
        r2=float(r2),
        r2_min=float(r2_min),
        runs=runs,
        runs_p=runs_p,
        lof_chi2_per_dof=lof,
        lof_p=lof_p,
        max_abs_log_residual=scale,
        signs=sign_text,
    )
