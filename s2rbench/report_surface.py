"""Compatibility alias: the surface section of a report lives in `s2rbench.report.surface`."""

from __future__ import annotations

from .report.format import format_number
from .report.surface import FIGURES, backtest_split, gain_by_m, surface_figures, surface_markdown
