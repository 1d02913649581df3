"""Compatibility alias: THE "is there a law?" policy lives in `s2rbench.analysis.lawcheck`."""

from __future__ import annotations

from .analysis.lawcheck import *  # noqa: F403
from .analysis.lawcheck import R2_MIN, LawVerdict, law_verdict  # noqa: F401
