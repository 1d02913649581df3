"""Axis conventions shared by every figure: readable size ticks, enough labels on a log MAE axis, titles that fit.

Measured sizes label the size axis (a reader looks up "what was measured"), in a compact form
(300, 3k, 30k, 1M) so that seven sizes of a full grid never collide; a log MAE axis usually spans
less than a decade, where matplotlib would print one or two labels, so minor ticks are labelled
too (1-9 within a decade, 2 and 5 over a few decades); titles are wrapped to the figure's width.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np


def size_label(v: float) -> str:
    """300, 2k, 30k, 1.5M: at most four characters for a sample size (two significant digits from 1,000 up)."""
    v = float(v)
    if not math.isfinite(v):
        return "∞"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            # two significant digits, never in exponent form (100,000 is "100k", not "1e+02k")
            return f"{float(f'{v / div:.2g}'):g}{suf}"
    return f"{v:.3g}"


def size_ticks(ax: Any, values: Any, axis: str = "x") -> None:
    """Ticks at the measured sizes with compact labels, no minor labels; thinned if they would crowd."""
    from matplotlib.ticker import NullFormatter, NullLocator

    v = np.unique(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_minor_locator(NullLocator())
    a.set_minor_formatter(NullFormatter())
    keep = [v[0]] if len(v) else []
    for x in v[1:]:  # on a log axis labels closer than a factor 1.6 crowd at the default font size
        if x / keep[-1] >= 1.6:
            keep.append(x)
    (ax.set_xticks if axis == "x" else ax.set_yticks)(keep, [size_label(x) for x in keep])


def mae_axis(ax: Any, axis: str = "y") -> None:
    """Plain labels on a log MAE axis, with labelled minor ticks when it spans few decades."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

    a = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    fmt = FuncFormatter(lambda x, _: f"{x:.3g}")
    a.set_major_formatter(fmt)
    if decades < 1.0:  # within a decade: evenly spaced round values, 4-7 of them
        ticks = [
            t for t in MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi) if lo <= t <= hi and t > 0
        ]
        a.set_major_locator(FixedLocator(ticks))
        a.set_minor_locator(NullLocator())
        a.set_minor_formatter(NullFormatter())
        if axis == "y":
            ax.set_ylim(lo, hi)
        else:
            ax.set_xlim(lo, hi)
    elif decades < 3.0:
        a.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        a.set_minor_formatter(fmt)
    else:
        a.set_minor_formatter(NullFormatter())
    ax.tick_params(axis=axis, which="minor", labelsize=7)


def title(ax: Any, text: str, width: int = 78, fontsize: float = 8.5) -> None:
    """A title wrapped to ``width`` characters per line, so that it is never cut off."""
    lines = []
    for part in str(text).split("\n"):
        lines.extend(textwrap.wrap(part, width, break_on_hyphens=False) or [""])
    ax.set_title("\n".join(lines), fontsize=fontsize)
