"""The one "is there a law?" policy, asked by every command, report, figure and leaderboard page.

Why one function: a run for which the table says "no law" must not get a fitted curve in its
figure, an α in `submit`'s summary line or a plan built on it. Every output asks `law_verdict`
and prints parameters only when ``verdict.holds``.

Today's policy is R² >= `R2_MIN` on the mean curve (0.90, as the leaderboard has used). It is
deliberately a function of the fit as a plain mapping (``fit.to_dict()`` or a submission's stored
``fit``), so that a stored entry and a live fit are judged alike.
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



@dataclass(frozen=True)
class LawVerdict:
    """``holds``: the law describes the data; ``reason``: one line saying why not (empty if it holds)."""

    holds: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.holds


def _get(fit: Any, key: str) -> Any:
    if isinstance(fit, dict):
        return fit.get(key)
    return getattr(fit, key, None)


def law_verdict(fit: Any) -> LawVerdict:
    """Whether the fitted 1-D law ``fit`` (a fit object or its ``to_dict()``) describes its curve."""
    if fit is None:
        return LawVerdict(False, "no law could be fitted")
    r2 = _get(fit, "r2")
    if r2 is None or not math.isfinite(float(r2)):
        return LawVerdict(False, "the fit has no finite R²")
    if float(r2) < R2_MIN:
        return LawVerdict(False, f"R² {float(r2):.3f} < {R2_MIN}: the law does not describe the curve")
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

