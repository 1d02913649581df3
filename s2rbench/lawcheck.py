"""Compatibility alias: THE "is there a law?" policy lives in `s2rbench.analysis.lawcheck`."""

from __future__ import annotations

from .analysis.lawcheck import *
from .analysis.lawcheck import R2_MIN, LawVerdict, law_verdict
