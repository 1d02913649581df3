"""Bounds on the numbers that size a run, checked before anything is allocated.

Why: ``--sizes 10.5`` became n = 10 without a word, ``--sizes inf`` was a traceback, and
``--trials 99999999999999999999`` grew one process to 24 GB (the plan of units is a list over
trials) before the kernel killed it. Sizes, counts and seeds are integers in stated ranges; the
plan (cells x trials) is bounded before it is built; the memory of each unit is checked by the
executor (`s2rbench.sweep.executors.check_memory`) before it runs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from .errors import S2RBenchError

#: the largest n or m a run accepts (a simulated pool of a billion rows is far beyond any task)
MAX_ROWS = 10**9
#: trials per cell: a card uses 5-50; ten thousand is already days of compute
MAX_TRIALS = 10_000
#: values in one --sizes or --m-grid list
MAX_GRID = 1_000
#: result rows one run may plan (cells x trials); each planned row costs memory before it runs
MAX_PLANNED_ROWS = 10**7
#: seeds are 32-bit (the protocol folds them into a SeedSequence word)
MAX_SEED = 2**32 - 1


def as_int(option: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an integer in [lo, hi], else one line naming the option; 10.0 and "1e3" count as
    integers, 10.5, inf, nan, True and "abc" do not."""
    v: Any = value
    if isinstance(v, bool) or v is None:
        raise S2RBenchError(f"{option} must be an integer in {lo}..{hi}; got {value!r}")
    if isinstance(v, str):
        text = v.strip()
        try:
            v = int(text)
        except ValueError:
            try:
                v = float(text)
            except ValueError:
                raise S2RBenchError(f"{option} must be an integer in {lo}..{hi}; got {value!r}") from None
    if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral):
        f = float(v)
        if not math.isfinite(f) or not f.is_integer():
            raise S2RBenchError(f"{option} must be an integer in {lo}..{hi}; got {value!r}")
        v = int(f)
    if not isinstance(v, numbers.Integral):
        raise S2RBenchError(f"{option} must be an integer in {lo}..{hi}; got {value!r}")
    v = int(v)
    if not lo <= v <= hi:
        raise S2RBenchError(f"{option} must be an integer in {lo}..{hi}; got {v}")
    return v


def check_count(option: str, value: Any, hi: int) -> int:
    return as_int(option, value, 1, hi)


def check_seed(value: Any) -> int:
    return as_int("--seed", value, 0, MAX_SEED)


def check_sizes(values: Iterable[Any] | None, option: str = "--sizes") -> list[int]:
    """A non-empty list of positive integers (at most `MAX_GRID` of them), sorted, without repeats
    (so the order in which a grid is typed does not change a run's identity)."""
    if values is None or isinstance(values, (str, bytes)):
        raise S2RBenchError(f"{option} must be a list of positive integers; got {values!r}")
    out: list[int] = []
    for i, v in enumerate(values):
        if i >= MAX_GRID:
            raise S2RBenchError(f"{option} lists more than {MAX_GRID} values; use a coarser grid")
        out.append(as_int(option, v, 1, MAX_ROWS))
    if not out:
        raise S2RBenchError(f"{option} must list at least one positive integer")
    return sorted(set(out))


def check_plan(n_cells: int, m_values: int, trials: int) -> None:
    rows = int(n_cells) * int(m_values) * int(trials)
    if rows > MAX_PLANNED_ROWS:
        raise S2RBenchError(
            f"this run would plan {rows:,} trials ({n_cells} sizes x {m_values} m values x {trials} trials), "
            f"more than the {MAX_PLANNED_ROWS:,} one run directory holds; use fewer --trials or a coarser grid"
        )


def parse_int_list(value: str | None, option: str) -> list[int] | None:
    """``"16,43,100"`` as integers (see `check_sizes`); None stays None."""
    if value is None:
        return None
    if len(value) > 100_000:
        raise S2RBenchError(f"{option} is {len(value):,} characters long; pass at most {MAX_GRID} values")
    parts = [v for v in value.replace(" ", "").split(",") if v]
    shown = value if len(value) <= 60 else value[:57] + "..."
    rule = f"{option} {shown!r} must be comma-separated integers in 1..{MAX_ROWS}, e.g. 100,1000,10000"
    if not parts:
        raise S2RBenchError(f"{rule}; it lists none")
    for part in parts:
        try:
            as_int(option, part, 1, MAX_ROWS)
        except S2RBenchError:
            raise S2RBenchError(f"{rule}; {part!r} is not one") from None
    return check_sizes(parts, option)
