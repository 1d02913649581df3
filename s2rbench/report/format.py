"""THE number formatter of every table, command and figure label, and the JSON converter.

One place decides how a number reads, so the CLI, the report and the leaderboard cannot print one
value three ways ("1.2e+03" here, "1,200" there): `num` for a value, `ci` for an interval alone,
`vci` for "value [lo, hi]". Rules, chosen for what the numbers are: '—' for missing (None, NaN),
'∞' for an unreachable size, '0' below 1e-12 (solver noise around an exact zero, never "-0"),
thousands separators from 1,000 up to 10⁷ (sample sizes and costs are read as counts), and
``digits`` significant digits otherwise (exponents, MAEs, and amplitudes like D = 6.8e+09 that a
row of digits would hide). `r2` prints R² with three decimals and never "-0.000".
"""

from __future__ import annotations

import math
from typing import Any

from ..laws.jsonable import _jsonable, jsonable

__all__ = ["_jsonable", "ci", "format_number", "jsonable", "num", "pct", "r2", "vci"]


def num(v: Any, digits: int = 3) -> str:
    """One number as every output prints it (see the module docstring)."""
    if v is None:
        return "—"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if abs(v) < 1e-12:
        return "0"
    if 1000 <= abs(v) < 1e7:
        return f"{v:,.0f}"
    s = f"{v:.{digits}g}"
    return "0" if s in ("-0", "0") else s


format_number = num


def _missing(c: Any) -> bool:
    return c is None or (isinstance(c, float) and math.isnan(c))


def ci(interval: Any, digits: int = 3) -> str:
    """ "[lo, hi]", or '' when the interval is missing (one trial, no bootstrap)."""
    if interval is None or any(_missing(c) for c in interval):
        return ""
    return f"[{num(interval[0], digits)}, {num(interval[1], digits)}]"


def vci(v: Any, interval: Any = None, digits: int = 3) -> str:
    """ "value [lo, hi]"; just the value when there is no interval; '—' for a missing value."""
    s = num(v, digits)
    if s == "—":
        return s
    c = ci(interval, digits)
    return f"{s} {c}" if c else s


def pct(v: Any, digits: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage ('—' when missing)."""
    if _missing(v) or (isinstance(v, float) and math.isinf(v)):
        return "—"
    s = f"{100 * float(v):+.{digits}f}%" if signed else f"{100 * float(v):.{digits}f}%"
    return s.replace("-0.0%", "0.0%").replace("+-", "-")


def r2(v: Any) -> str:
    """R² with three decimals; never "-0.000" (a fit no better than the mean reads 0.000)."""
    if _missing(v):
        return "—"
    v = float(v)
    if not math.isfinite(v):
        return "—"
    s = f"{v:.3f}"
    return "0.000" if s == "-0.000" else s
