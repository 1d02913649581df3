"""Analysis of a run: its data loaded once, the one "is there a law?" policy, plans, equivalence, backtests, comparisons.

Modules: `rundata` (a run directory read once, with a cache of the fits made from it), `summary`
(the curve at one m and its 1-D law), `lawcheck` (THE "is there a law?" policy: `law_verdict`, and
the residual checks `LawCheck`), `runlaws` (the laws of a surface run), `plans`, `equivalence`,
`backtest`, `compare`, `suggest`. The laws themselves (`s2rbench.laws`) take arrays; this layer
reads runs and never formats text (that is `s2rbench.report`).
"""

from __future__ import annotations

import importlib
from typing import Any

from .lawcheck import R2_MIN, LawCheck, LawVerdict, law_verdict
from .rundata import RunData, load_run
from .summary import Summary, summarize, summarize_rows, trial_matrix

__all__ = [
    "R2_MIN",
    "LawCheck",
    "LawVerdict",
    "RunData",
    "Summary",
    "fmt_ci",
    "law_verdict",
    "load_run",
    "summarize",
    "summarize_rows",
    "summary_row",
    "trial_matrix",
]


def __getattr__(name: str) -> Any:
    # `summary_row` and `fmt_ci` format text, which is the report layer's job; these names stay
    # importable from here (the public API before the regrouping) without a static upward import.
    if name in ("summary_row", "fmt_ci"):
        return getattr(importlib.import_module("s2rbench.report.run"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
