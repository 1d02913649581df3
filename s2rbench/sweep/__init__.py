"""The sweep: protocol (splits and nested subsets), task preparation, units of work, executors,
the store (the single writer) and provenance, and the runner that ties them together.

``from s2rbench.sweep import run, prepare, ...`` keeps working as before the split into modules.
"""

from .prepare import Prepared, prepare
from .runner import RunResult, default_run_dir, run
from .units import LocalExecutor, WorkUnit, full_m, plan_units, run_unit, sim_order_for, split_for

__all__ = [
    "Prepared", "prepare", "RunResult", "default_run_dir", "run",
    "LocalExecutor", "WorkUnit", "full_m", "plan_units", "run_unit", "sim_order_for", "split_for",
]
