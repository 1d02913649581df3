"""Compatibility alias: `s2rbench suggest` lives in `s2rbench.analysis.suggest`."""

from __future__ import annotations

from .analysis.suggest import *
from .analysis.suggest import SuggestResult, suggest
