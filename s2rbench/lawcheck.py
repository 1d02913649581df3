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

#: Below this R² on the per-size means, the law does not describe the curve.
R2_MIN = 0.90


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
