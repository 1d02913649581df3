"""Reports: the run's page and figures (`run`), the surface section (`surface`), the comparison's
tables and figure (`compare`), and THE number formatter and JSON converter (`format`)."""

from __future__ import annotations

from .format import jsonable, num, vci
from .run import fmt_ci, markdown, plot, summary_row, write_report

__all__ = ["fmt_ci", "jsonable", "markdown", "num", "plot", "summary_row", "vci", "write_report"]
