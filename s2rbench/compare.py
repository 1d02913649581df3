"""Compatibility alias: `s2rbench compare` lives in `s2rbench.analysis.compare` (the comparison) and
`s2rbench.report.compare` (its tables and figure)."""

from __future__ import annotations

from .analysis.compare import FACTORS, SECONDARY, TEST, Comparison, RunEntry, compare
from .report.compare import fit_table, mae_table, plot
