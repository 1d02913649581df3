"""Compatibility alias: `s2rbench suggest` lives in `s2rbench.analysis.suggest`."""

from __future__ import annotations

from .analysis.suggest import *  # noqa: F403
from .analysis.suggest import SuggestResult, suggest  # noqa: F401
